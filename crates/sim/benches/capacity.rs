//! How many signaling sessions and calls the simulator holds on loopback, and how fast calls set up.
//!
//! Run: `cargo bench -p softphone-sim --bench capacity` (release). `SESSIONS=2000 CALLS=100` change
//! the sizes (defaults 1000 sessions, 100 concurrent calls). Every client is a websocket on
//! 127.0.0.1 speaking telnyx_rtc as the SDK does; each call carries a real SDP offer from a media
//! peer and goes login -> invite -> answer -> bye. Prints figures; asserts nothing about time.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use softphone_sim::media::{MediaSession, Playback};
use softphone_sim::signaling::SignalingConfig;
use softphone_sim::{Simulator, SimulatorConfig};
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const TONE: &str = "+15555550100";
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

struct Client {
    ws: Socket,
    next_id: u64,
}

impl Client {
    async fn connect(url: &str) -> Result<Client, String> {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.map_err(|e| e.to_string())?;
        Ok(Client { ws, next_id: 0 })
    }

    async fn send(&mut self, frame: Value) -> Result<(), String> {
        self.ws.send(Message::text(frame.to_string())).await.map_err(|e| e.to_string())
    }

    /// Sends a request and waits for its reply, acking server requests on the way.
    async fn request(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next_id += 1;
        let id = format!("bench-{}", self.next_id);
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await?;
        self.wait(|frame| frame["id"] == id.as_str()).await
    }

    async fn wait(&mut self, accept: impl Fn(&Value) -> bool) -> Result<Value, String> {
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            let message = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .map_err(|_| "timed out".to_owned())?
                .ok_or("socket closed")?
                .map_err(|e| e.to_string())?;
            let Message::Text(text) = message else { continue };
            let frame: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            if let (Some(method), Some(id)) = (frame["method"].as_str(), frame.get("id")) {
                let ack = !matches!(method, "telnyx_rtc.clientReady" | "telnyx_rtc.ping");
                if ack {
                    self.send(json!({"jsonrpc": "2.0", "id": id, "result": {"method": method}})).await?;
                }
            }
            if accept(&frame) {
                return Ok(frame);
            }
        }
    }

    async fn login(&mut self, token: &str) -> Result<String, String> {
        let reply = self.request("login", json!({"login_token": token, "reconnection": false})).await?;
        let sessid = reply["result"]["sessid"].as_str().ok_or(format!("login refused: {reply}"))?.to_owned();
        self.wait(|frame| frame["method"] == "telnyx_rtc.clientReady").await?;
        let reged = self.request("telnyx_rtc.gatewayState", json!({})).await?;
        if reged["result"]["params"]["state"] != "REGED" {
            return Err(format!("not registered: {reged}"));
        }
        Ok(sessid)
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1).and_then(|kib| kib.parse::<f64>().ok()))
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

async fn mint_token(base_url: &str) -> String {
    let http = reqwest::Client::new();
    let key = format!("Bearer {}", softphone_sim::DEFAULT_API_KEY);
    let credential: Value = http
        .post(format!("{base_url}/v2/telephony_credentials"))
        .header("Authorization", &key)
        .json(&json!({"connection_id": "bench"}))
        .send()
        .await
        .expect("credential")
        .json()
        .await
        .expect("json");
    let id = credential["data"]["id"].as_str().expect("id");
    http.post(format!("{base_url}/v2/telephony_credentials/{id}/token"))
        .header("Authorization", &key)
        .send()
        .await
        .expect("token")
        .text()
        .await
        .expect("jwt")
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let sessions = env_number("SESSIONS", 1000);
        let calls = env_number("CALLS", 100).min(sessions);
        let config = SimulatorConfig {
            signaling: SignalingConfig { answer_delay: Duration::ZERO, ..SignalingConfig::default() },
            ..SimulatorConfig::default()
        };
        let sim = Simulator::start(config).await.expect("simulator");
        let url = format!("ws://{}/", sim.local_addr());
        let token = mint_token(&sim.base_url()).await;
        let rss_before = rss_mib();

        // Sessions: connect and log in, all at once.
        let started = Instant::now();
        let logins = futures_util::future::join_all((0..sessions).map(|_| {
            let (url, token) = (url.clone(), token.clone());
            tokio::spawn(async move {
                let begun = Instant::now();
                let mut client = Client::connect(&url).await?;
                let sessid = client.login(&token).await?;
                Ok::<_, String>((client, sessid, begun.elapsed()))
            })
        }))
        .await;
        let mut clients = Vec::new();
        let mut login_times = Vec::new();
        let mut failures = 0;
        for login in logins {
            match login {
                Ok(Ok((client, sessid, took))) => {
                    clients.push((client, sessid));
                    login_times.push(took);
                }
                _ => failures += 1,
            }
        }
        login_times.sort();
        println!(
            "sessions: {} of {sessions} logged in and registered in {:.2} s ({failures} failed); login p50 {:?} p99 {:?}; RSS {:.0} -> {:.0} MiB",
            clients.len(),
            started.elapsed().as_secs_f64(),
            percentile(&login_times, 0.5),
            percentile(&login_times, 0.99),
            rss_before,
            rss_mib(),
        );

        // Calls: `calls` of those sessions each call the tone number at once.
        let started = Instant::now();
        let outcomes = futures_util::future::join_all(clients.drain(..calls).enumerate().map(|(n, (mut client, sessid))| {
            tokio::spawn(async move {
                let (media, offer) = MediaSession::offer(Playback::Silence).map_err(|e| e.to_string())?;
                let call_id = format!("bench-call-{n}");
                let begun = Instant::now();
                client
                    .request(
                        "telnyx_rtc.invite",
                        json!({"sessid": sessid, "sdp": offer, "dialogParams": {"callID": call_id, "destination_number": TONE}}),
                    )
                    .await?;
                let answer = client.wait(|frame| frame["method"] == "telnyx_rtc.answer").await?;
                let setup = begun.elapsed();
                media.accept_answer(answer["params"]["sdp"].as_str().unwrap_or_default()).map_err(|e| e.to_string())?;
                let bye = client
                    .request(
                        "telnyx_rtc.bye",
                        json!({"sessid": sessid, "cause": "NORMAL_CLEARING", "causeCode": 16, "dialogParams": {"callID": call_id}}),
                    )
                    .await?;
                if bye.get("result").is_none() {
                    return Err(format!("bye refused: {bye}"));
                }
                drop(media);
                Ok::<_, String>(setup)
            })
        }))
        .await;
        let mut setups: Vec<Duration> = outcomes.iter().filter_map(|o| o.as_ref().ok()?.as_ref().ok().copied()).collect();
        let failed = outcomes.len() - setups.len();
        setups.sort();
        println!(
            "calls: {} of {calls} concurrent invite -> answer -> bye completed in {:.2} s ({failed} failed); setup p50 {:?} p99 {:?}; RSS {:.0} MiB",
            setups.len(),
            started.elapsed().as_secs_f64(),
            percentile(&setups, 0.5),
            percentile(&setups, 0.99),
            rss_mib(),
        );
        drop(clients);
        sim.shutdown().await;
    });
}
