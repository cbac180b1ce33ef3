//! The UI's webview call engine (`ui/src/engine`, Rust compiled to wasm) driving the real SDK in
//! headless Chromium against the simulator, wired to the shell's real call state machine by the
//! engine harness page (`ui/engine-harness.html`, `ui/src/bin/engine-harness.rs`).
//!
//! The harness plays the shell: agent actions go into `CallMachine`, its engine commands go to
//! `WebviewEngine`, the engine's updates go back into the machine. The page is served under the
//! app's Content-Security-Policy (from src-tauri/tauri.conf.json) with `Object.prototype` frozen,
//! as Tauri serves the app's window. Every test builds the harness with trunk first (once per run).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use common::{Browser, Sim, TIMEOUT};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use softphone_sim::SimulatorConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const TONE: &str = "+15555550100";
const BUSY: &str = "+15555550102";
const VOICEMAIL: &str = "+15555550112";
/// The greeting the harness serves at `/greeting/{name}.wav`: this long, at this pitch.
const GREETING_SECS: f32 = 1.5;
const GREETING_HZ: f32 = 700.0;

/// A 16-bit 8 kHz mono PCM WAV of [`GREETING_SECS`] of [`GREETING_HZ`].
fn greeting_wav() -> Vec<u8> {
    let samples: Vec<i16> = (0..(8_000.0 * GREETING_SECS) as usize)
        .map(|n| (0.3 * f32::from(i16::MAX) * (std::f32::consts::TAU * GREETING_HZ * n as f32 / 8_000.0).sin()) as i16)
        .collect();
    let data_len = (samples.len() * 2) as u32;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&8_000u32.to_le_bytes());
    wav.extend_from_slice(&16_000u32.to_le_bytes()); // bytes a second
    wav.extend_from_slice(&2u16.to_le_bytes()); // block align
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for sample in samples {
        wav.extend_from_slice(&sample.to_le_bytes());
    }
    wav
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("in the workspace").to_path_buf()
}

/// `trunk build engine-harness.html --offline` into `<target>/engine-harness-dist`, once per test
/// binary run (trunk and cargo skip what is up to date).
fn harness_dist() -> &'static Path {
    static DIST: OnceLock<PathBuf> = OnceLock::new();
    DIST.get_or_init(|| {
        let exe = std::env::current_exe().expect("test binary path");
        // <target>/debug/deps/webview_engine-<hash> -> <target>/engine-harness-dist
        let target = exe.ancestors().nth(3).expect("the test binary lives in <target>/<profile>/deps");
        let dist = target.join("engine-harness-dist");
        let started = Instant::now();
        let output = Command::new("trunk")
            .current_dir(workspace_root().join("ui"))
            .args(["build", "engine-harness.html", "--offline", "--dist"])
            .arg(&dist)
            .output()
            .unwrap_or_else(|error| panic!("trunk did not start ({error}): run scripts/setup.sh"));
        assert!(
            output.status.success(),
            "trunk build engine-harness.html failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        eprintln!("engine harness built with trunk in {:.1} s", started.elapsed().as_secs_f64());
        dist
    })
}

/// The app's CSP from tauri.conf.json, with the hashes of the page's inline scripts added to
/// `script-src` (Tauri does the same for the app's assets), and the simulator's websocket added
/// to `connect-src` (the signaling socket the app's CSP must allow).
fn content_security_policy(html: &str) -> String {
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("src-tauri/tauri.conf.json")).expect("tauri.conf.json"),
    )
    .expect("tauri.conf.json is JSON");
    let directives = config["app"]["security"]["csp"].as_object().expect("app.security.csp is an object");
    let hashes: Vec<String> = inline_scripts(html)
        .map(|script| {
            format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script.as_bytes())))
        })
        .collect();
    directives
        .iter()
        .map(|(name, value)| {
            let value = value.as_str().expect("CSP directives are strings");
            match name.as_str() {
                "script-src" => format!("{name} {value} {}", hashes.join(" ")),
                "connect-src" => format!("{name} {value} ws://127.0.0.1:*"),
                _ => format!("{name} {value}"),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The bodies of `<script>` elements without `src`.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.split("<script").skip(1).filter_map(|rest| {
        let (attributes, rest) = rest.split_once('>')?;
        let (body, _) = rest.split_once("</script>")?;
        (!attributes.contains("src=")).then_some(body)
    })
}

/// Serves the built harness, and `/token`: a `LoginTokenGrant` minted by the simulator, as the
/// shell's `issue_login_token` would answer.
struct HarnessServer {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HarnessServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HarnessServer {
    async fn start(dist: &Path, sim: Arc<Sim>) -> HarnessServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("harness server binds");
        let url = format!("http://{}/", listener.local_addr().expect("addr"));
        let dist = dist.to_path_buf();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else { return };
                let (dist, sim) = (dist.clone(), sim.clone());
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 8192];
                    let read = stream.read(&mut buffer).await.unwrap_or(0);
                    let request = String::from_utf8_lossy(&buffer[..read]).into_owned();
                    let target = request.split_whitespace().nth(1).unwrap_or("/");
                    let path = target.split('?').next().unwrap_or("/");
                    let response = respond(&dist, &sim, path).await;
                    let _ = stream.write_all(&response).await;
                });
            }
        });
        HarnessServer { url, task }
    }
}

async fn respond(dist: &Path, sim: &Sim, path: &str) -> Vec<u8> {
    let ok = |kind: &str, extra: String, body: Vec<u8>| {
        let mut head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        head.extend(body);
        head
    };
    let not_found = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec();
    match path {
        "/" | "/index.html" => {
            let html = tokio::fs::read_to_string(dist.join("index.html")).await.expect("trunk wrote index.html");
            let csp = format!("Content-Security-Policy: {}\r\n", content_security_policy(&html));
            ok("text/html", csp, html.into_bytes())
        }
        "/token" => {
            let token = sim.mint_token().await;
            let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
            let grant = json!({
                "login_token": token,
                "expires_at_unix": now + sim.running.state().token_ttl().as_secs(),
                "signaling_url": sim.ws_url(),
                "ice_servers": [],
            });
            ok("application/json", String::new(), grant.to_string().into_bytes())
        }
        _ if path.starts_with("/greeting/") && path.ends_with(".wav") => ok("audio/wav", String::new(), greeting_wav()),
        _ => {
            let relative = path.trim_start_matches('/');
            if relative.split('/').any(|part| part == ".." || part.is_empty()) {
                return not_found;
            }
            let kind = match Path::new(relative).extension().and_then(|ext| ext.to_str()) {
                Some("js") => "text/javascript",
                Some("wasm") => "application/wasm",
                Some("css") => "text/css",
                _ => "application/octet-stream",
            };
            match tokio::fs::read(dist.join(relative)).await {
                Ok(body) => ok(kind, String::new(), body),
                Err(_) => not_found,
            }
        }
    }
}

/// The harness page in Chromium with the engine started and logged in (`SessionEvent::Ready`).
struct Harness {
    browser: Browser,
    sim: Arc<Sim>,
    _server: HarnessServer,
}

impl Harness {
    async fn start(config: SimulatorConfig) -> Harness {
        let dist = harness_dist();
        let sim = Arc::new(Sim::start(config).await);
        let server = HarnessServer::start(dist, sim.clone()).await;
        let browser = Browser::open_url(&server.url, "return !!(window.wasmBindings && window.TelnyxWebRTC)").await;
        let harness = Harness { browser, sim, _server: server };
        let available = harness.browser.eval("return window.wasmBindings.harness_webrtc_available()").await;
        assert_eq!(available, json!(true), "webrtc_available() sees RTCPeerConnection in Chromium");
        let started = harness
            .browser
            .eval_async(
                "const done = arguments[0]; window.wasmBindings.harness_start().then(() => done('ok'), e => done(String(e)));",
                vec![],
            )
            .await;
        assert_eq!(started, json!("ok"), "the engine starts");
        harness.wait_for("the session to be ready", |record| is_session(record, "Ready")).await;
        harness
    }

    async fn log(&self) -> Vec<Value> {
        match self.browser.eval("return window.wasmBindings.harness_log()").await {
            Value::Array(records) => records,
            other => panic!("harness_log: {other}"),
        }
    }

    /// Waits for the first log record matching `accept`, failing with the whole log.
    async fn wait_for(&self, what: &str, accept: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let log = self.log().await;
            if let Some(found) = log.iter().find(|record| accept(record)) {
                return found.clone();
            }
            assert!(Instant::now() < deadline, "no {what} within {TIMEOUT:?}; log: {log:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the machine's snapshot shows call `id` in `view`; returns that call.
    async fn wait_for_view(&self, id: &str, view: &str) -> Value {
        let snapshot = self
            .wait_for(&format!("call {id} {view}"), |record| {
                record["type"] == "snapshot" && call_in(record, id).is_some_and(|call| call["view"] == view)
            })
            .await;
        call_in(&snapshot, id).expect("the call").clone()
    }

    /// One agent action, a `CallEvent` in the shell's JSON.
    async fn agent(&self, event: Value) {
        let answer = self
            .browser
            .call_harness(
                "try { window.wasmBindings.harness_agent(arguments[0]); return 'ok'; } catch (e) { return String(e); }",
                vec![event.clone()],
            )
            .await;
        assert_eq!(answer, json!("ok"), "agent action {event}");
    }

    /// The SDK states the engine reported for call `id`, in order.
    async fn reported_states(&self, id: &str) -> Vec<String> {
        self.log()
            .await
            .iter()
            .filter(|record| record["type"] == "update" && record["call_id"] == id)
            .filter_map(|record| record["update"]["state"].as_str().map(str::to_owned))
            .collect()
    }

    /// Nothing the engine reported was refused by the machine, and the page saw no CSP violation.
    async fn assert_clean(&self) {
        let log = self.log().await;
        let rejections: Vec<_> = log.iter().filter(|record| record["type"] == "rejection").collect();
        assert!(rejections.is_empty(), "the machine refused: {rejections:#?}");
        let violations = self.browser.eval("return window.cspViolations").await;
        assert_eq!(violations, json!([]), "Content-Security-Policy violations");
    }

    async fn sim_call(&self, id: &str, what: &str, accept: impl Fn(&Value) -> bool) -> Value {
        self.sim.wait_for_call(id, what, accept).await
    }
}

fn is_session(record: &Value, event: &str) -> bool {
    record["type"] == "session" && record["event"].as_str().is_some_and(|text| text.starts_with(event))
}

fn call_in<'a>(snapshot: &'a Value, id: &str) -> Option<&'a Value> {
    snapshot["calls"]["calls"].as_array()?.iter().find(|call| call["call_id"] == id)
}

fn dial(call_id: &str, number: &str) -> Value {
    json!({ "kind": "dial", "call_id": call_id, "remote": { "number": number, "name": null }, "lead_id": null })
}

fn on_call(kind: &str, call_id: &str) -> Value {
    json!({ "kind": kind, "call_id": call_id })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_to_the_tone_number_goes_active_holds_sends_digits_and_hangs_up_through_the_machine() {
    let harness = Harness::start(SimulatorConfig::default()).await;
    // The shell chooses the call id; the SDK must carry exactly that id to Telnyx.
    let id = "6c1f3a52-0d7e-4b8a-9f21-5d0c8e7a4b13";
    let started = Instant::now();
    harness.agent(dial(id, TONE)).await;
    let active = harness.wait_for_view(id, "active").await;
    eprintln!("dial -> active through the machine: {} ms", started.elapsed().as_millis());
    assert_eq!(active["direction"], "outbound");
    assert_eq!(active["remote"]["number"], TONE);
    harness.sim_call(id, "went active under the shell's id", |call| call["state"] == "active").await;
    let states = harness.reported_states(id).await;
    let trying = states.iter().position(|state| state == "trying");
    let active_at = states.iter().position(|state| state == "active");
    assert!(trying.is_some() && trying < active_at, "trying before active: {states:?}");

    harness.agent(on_call("hold", id)).await;
    harness.wait_for_view(id, "held").await;
    harness.sim_call(id, "held", |call| call["state"] == "held").await;
    harness.agent(on_call("resume", id)).await;
    harness.sim_call(id, "active again", |call| call["state"] == "active").await;
    let resumed = harness.wait_for_view(id, "active").await;
    assert!(resumed["answered_at"].is_number(), "{resumed}");

    harness.agent(json!({ "kind": "send_digits", "call_id": id, "digits": "15#" })).await;
    let call = harness.sim_call(id, "got the digits", |call| call["dtmf"] == "15#").await;
    assert_eq!(call["dtmf"], "15#");

    harness.agent(on_call("hangup", id)).await;
    let ended = harness.wait_for_view(id, "ended").await;
    assert_eq!(ended["end"]["outcome"], "completed", "{ended}");
    assert_eq!(ended["end"]["cause"], "NORMAL_CLEARING", "{ended}");
    let far_end = harness.sim_call(id, "ended", |call| call["state"] == "ended").await;
    assert_eq!(far_end["end"]["cause"], "NORMAL_CLEARING", "{far_end:#}");

    let commands: Vec<String> = harness
        .log()
        .await
        .iter()
        .filter(|record| record["type"] == "command")
        .map(|record| record["command"]["kind"].as_str().unwrap_or("?").to_owned())
        .collect();
    assert_eq!(commands, ["dial", "hold", "unhold", "send_digits", "hangup"]);
    harness.assert_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_greeting_replaces_the_sdk_calls_microphone_and_the_answering_machine_records_it() {
    let harness = Harness::start(SimulatorConfig::default()).await;
    let id = "9a7d3c21-5e64-4f0b-8c2d-71e9b4a0f5c6";
    harness.agent(dial(id, VOICEMAIL)).await;
    harness.wait_for_view(id, "active").await;
    // The agent waits for the beep, mutes (the greeting is sent anyway) and drops the greeting.
    harness.sim_call(id, "the beep", |call| !call["voicemail"].is_null()).await;
    harness.agent(json!({ "kind": "set_muted", "call_id": id, "muted": true })).await;
    harness.agent(json!({ "kind": "drop_voicemail", "call_id": id, "greeting": "/greetings/main-greeting.wav" })).await;
    harness.wait_for_view(id, "leaving_voicemail").await;
    // The SDK call hangs up when the greeting has played; the machine lets it go without a wrap-up.
    let far_end = harness.sim_call(id, "the hangup after the greeting", |call| call["state"] == "ended").await;
    let message = &far_end["voicemail"];
    let heard = message["dominant_hz"].as_f64().expect("the machine recorded a tone");
    assert!((heard - f64::from(GREETING_HZ)).abs() < 15.0, "the greeting was recorded: {far_end:#}");
    let recorded = message["recorded_ms"].as_u64().expect("recorded");
    assert!(recorded >= 1_300, "the whole greeting was recorded: {far_end:#}");
    harness
        .wait_for("the call gone from the machine", |record| {
            record["type"] == "snapshot" && call_in(record, id).is_none() && record["calls"]["calls"].is_array()
        })
        .await;
    harness.assert_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_busy_number_reaches_the_machine_as_busy_with_sip_486() {
    let harness = Harness::start(SimulatorConfig::default()).await;
    let id = "0e4d9b6a-3f58-4c2e-8a17-b2c6f0d93e41";
    harness.agent(dial(id, BUSY)).await;
    let ended = harness.wait_for_view(id, "ended").await;
    assert_eq!(ended["end"]["outcome"], "busy", "{ended}");
    assert_eq!(ended["end"]["cause"], "USER_BUSY", "{ended}");
    assert_eq!(ended["end"]["sip_code"], 486, "{ended}");
    harness.assert_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbound_call_is_announced_to_the_machine_answered_and_ended_by_the_far_end() {
    let harness = Harness::start(SimulatorConfig::default()).await;
    let started = harness
        .sim
        .control("/control/calls/inbound", json!({ "from": "+15551234567", "caller_name": "Ada Lead" }))
        .await;
    let id = started["call_id"].as_str().expect("call id").to_owned();
    let incoming = harness
        .wait_for("the incoming call", |record| {
            record["type"] == "update" && record["call_id"] == id.as_str() && record["update"]["kind"] == "incoming"
        })
        .await;
    assert_eq!(incoming["update"]["remote"], json!({ "number": "+15551234567", "name": "Ada Lead" }));
    let ringing = harness.wait_for_view(&id, "ringing").await;
    assert_eq!(ringing["direction"], "inbound");

    harness.agent(on_call("answer", &id)).await;
    harness.wait_for_view(&id, "active").await;
    harness.sim_call(&id, "answered", |call| call["state"] == "active").await;

    harness
        .sim
        .control(&format!("/control/calls/{id}/hangup"), json!({ "cause": "NORMAL_CLEARING", "cause_code": 16 }))
        .await;
    let ended = harness.wait_for_view(&id, "ended").await;
    assert_eq!(ended["end"]["outcome"], "completed", "{ended}");
    harness.assert_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_token_is_refreshed_on_the_live_socket_and_calls_still_work() {
    // Tokens live 125 s, so the SDK warns (120 s before expiry) 5 s after login.
    let config = SimulatorConfig { token_ttl: Duration::from_secs(125), ..SimulatorConfig::default() };
    let harness = Harness::start(config).await;
    harness.wait_for("the expiry warning", |record| is_session(record, "TokenExpiringSoon")).await;
    let refreshed = harness.wait_for("the refreshed token", |record| is_session(record, "TokenRefresh")).await;
    assert!(is_session(&refreshed, "TokenRefreshed"), "{refreshed}");
    // Refreshed on the live socket: still the one session, still connected.
    let sessions: Value = harness
        .sim
        .http
        .get(harness.sim.url("/control/sessions"))
        .send()
        .await
        .expect("sessions")
        .json()
        .await
        .expect("sessions JSON");
    let sessions = sessions["sessions"].as_array().expect("a list of sessions");
    assert_eq!(sessions.len(), 1, "{sessions:#?}");
    assert_eq!(sessions[0]["connected"], true, "{sessions:#?}");

    let id = "9a7e2c41-58b3-4f0d-a6e2-3c1b7d9f0a55";
    harness.agent(dial(id, TONE)).await;
    harness.wait_for_view(id, "active").await;
    harness.agent(on_call("hangup", id)).await;
    harness.wait_for_view(id, "ended").await;
    harness.assert_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_recovered_after_a_socket_drop_stays_the_same_call_and_still_hangs_up() {
    let harness = Harness::start(SimulatorConfig::default()).await;
    let id = "3d5b8e20-7c41-4a9f-b6d3-0f2e9a1c7b84";
    harness.agent(dial(id, TONE)).await;
    harness.wait_for_view(id, "active").await;

    harness.sim.control("/control/sessions/all/drop", json!({})).await;
    harness.wait_for_view(id, "reconnecting").await;
    harness
        .sim_call(id, "reattached", |call| {
            call["reattached"].as_u64().unwrap_or(0) >= 1 && call["media_connected"] == true
        })
        .await;
    // The machine shows the same call active again (the SDK made a new Call object for it).
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let log = harness.log().await;
        let reconnecting_at = log.iter().position(|record| {
            record["type"] == "snapshot" && call_in(record, id).is_some_and(|call| call["view"] == "reconnecting")
        });
        let active_again = reconnecting_at.is_some_and(|at| {
            log[at..].iter().any(|record| {
                record["type"] == "snapshot" && call_in(record, id).is_some_and(|call| call["view"] == "active")
            })
        });
        if active_again {
            break;
        }
        assert!(Instant::now() < deadline, "the call never became active again: {log:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Commands reach the recovered call: the hangup ends it at the far end.
    harness.agent(on_call("hangup", id)).await;
    let ended = harness.wait_for_view(id, "ended").await;
    assert_eq!(ended["end"]["outcome"], "completed", "{ended}");
    let far_end = harness.sim_call(id, "ended", |call| call["state"] == "ended").await;
    assert_eq!(far_end["end"]["cause"], "NORMAL_CLEARING", "{far_end:#}");
    harness.assert_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_rtc_peer_connection_the_sdk_still_loads_and_the_engine_refuses_to_start() {
    // Debian's WebKitGTK: no RTCPeerConnection at all. The page must still load (the SDK bundle
    // included), and the engine must say so at start instead of failing at the first call.
    let sim = Arc::new(Sim::start(SimulatorConfig::default()).await);
    let server = HarnessServer::start(harness_dist(), sim.clone()).await;
    let browser = Browser::open_url(
        &format!("{}?no-webrtc", server.url),
        "return !!(window.wasmBindings && window.TelnyxWebRTC && window.TelnyxWebRTC.TelnyxRTC)",
    )
    .await;
    let available = browser.eval("return window.wasmBindings.harness_webrtc_available()").await;
    assert_eq!(available, json!(false), "webrtc_available() without RTCPeerConnection");
    let started = browser
        .eval_async(
            "const done = arguments[0]; window.wasmBindings.harness_start().then(() => done('ok'), e => done(String(e)));",
            vec![],
        )
        .await;
    let started = started.as_str().expect("a string").to_owned();
    assert!(started.starts_with("NoWebrtc: This window has no WebRTC"), "{started}");
    let sessions: Value =
        sim.http.get(sim.url("/control/sessions")).send().await.expect("sessions").json().await.expect("JSON");
    assert_eq!(sessions["sessions"], json!([]), "no signaling session was opened");
}

/// The legs of one call session as the simulator's control API lists them, with what each hears.
async fn legs_of(sim: &Sim, session: &str) -> Vec<Value> {
    let legs: Value =
        sim.http.get(sim.url("/control/legs")).send().await.expect("legs").json().await.expect("legs JSON");
    legs.as_array().into_iter().flatten().filter(|leg| leg["call_session_id"] == session).cloned().collect()
}

fn leg_hears(leg: &Value, hz: f64) -> bool {
    leg["heard"]["dominant_hz"].as_f64().is_some_and(|heard| (heard - hz).abs() < 15.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blind_transfer_acts_on_the_leg_the_sdk_names_and_the_machine_ends_the_call_as_transferred() {
    const BILLING: &str = "+15555550177";
    let harness = Harness::start(SimulatorConfig::default()).await;
    let board = harness.sim.running.switchboard();
    board.script_number(BILLING, softphone_sim::signaling::Behaviour::Tone);
    board.script_tone(BILLING, 660.0);
    let started = harness
        .sim
        .control(
            "/control/calls/inbound",
            json!({ "from": "+15551234567", "caller_name": "Ada Lead", "playback": { "kind": "tone", "hz": 523 } }),
        )
        .await;
    let id = started["call_id"].as_str().expect("call id").to_owned();
    // The SDK read the ids from the invite (`call.telnyxIDs`); the engine told the machine.
    let named = harness
        .wait_for("the leg's ids", |record| {
            record["type"] == "update" && record["call_id"] == id.as_str() && record["update"]["kind"] == "leg"
        })
        .await;
    assert_eq!(named["update"]["leg"]["call_control_id"], format!("v3:cc-{id}"), "{named}");
    harness.wait_for_view(&id, "ringing").await;
    harness.agent(on_call("answer", &id)).await;
    harness.wait_for_view(&id, "active").await;

    harness.agent(json!({ "kind": "transfer", "call_id": id, "to": BILLING })).await;
    let transferring = harness.wait_for_view(&id, "transferring").await;
    assert_eq!(transferring["control"]["transfer_to"], BILLING);
    let asked = harness.wait_for("the transfer command", |record| record["type"] == "call_control").await;
    let leg: softphone_core::call::TelnyxLeg =
        serde_json::from_value(asked["command"]["leg"].clone()).expect("the command names the leg");
    // What the shell's adapter does: the caller's leg is the other one of the session.
    let api = softphone_telnyx::TelnyxApi::new(softphone_telnyx::TelnyxConfig {
        base_url: harness.sim.running.base_url(),
        ..softphone_telnyx::TelnyxConfig::default()
    })
    .expect("client");
    let key = softphone_core::secret::Secret::new(softphone_sim::DEFAULT_API_KEY);
    let caller = api.other_leg(&key, "conformance", &leg).await.expect("active calls").expect("the caller's leg");
    api.transfer(&key, &caller, BILLING, 30).await.expect("Telnyx takes the transfer");

    let ended = harness.wait_for_view(&id, "ended").await;
    assert_eq!(ended["end"]["outcome"], "transferred", "{ended}");
    assert_eq!(ended["end"]["transferred_to"], BILLING, "{ended}");
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let legs = legs_of(&harness.sim, &leg.call_session_id).await;
        let role = |name: &str| legs.iter().find(|leg| leg["role"] == name).cloned().unwrap_or_default();
        if leg_hears(&role("customer"), 660.0) && leg_hears(&role("transfer_target"), 523.0) {
            break;
        }
        assert!(Instant::now() < deadline, "the caller and billing never heard each other: {legs:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    harness.assert_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consult_merged_through_the_sdk_is_a_three_way_call_and_each_far_party_hears_the_other() {
    const BILLING: &str = "+15555550177";
    let harness = Harness::start(SimulatorConfig::default()).await;
    let board = harness.sim.running.switchboard();
    board.script_number(BILLING, softphone_sim::signaling::Behaviour::Tone);
    board.script_tone(BILLING, 660.0);
    let started = harness
        .sim
        .control("/control/calls/inbound", json!({ "from": "+15551234567", "playback": { "kind": "tone", "hz": 523 } }))
        .await;
    let caller = started["call_id"].as_str().expect("call id").to_owned();
    harness.wait_for_view(&caller, "ringing").await;
    harness.agent(on_call("answer", &caller)).await;
    harness.wait_for_view(&caller, "active").await;
    harness.agent(on_call("hold", &caller)).await;
    harness.wait_for_view(&caller, "held").await;
    // The consult call: the SDK learns its leg from `ringing` (`telnyxIDs`).
    let colleague = "5b2e8c14-7a90-4f3d-b6e1-2c9d0a4f8e73";
    harness.agent(dial(colleague, BILLING)).await;
    let active = harness.wait_for_view(colleague, "active").await;
    assert_eq!(active["control"]["available"], true, "the SDK named the consult leg: {active}");

    harness.agent(json!({ "kind": "merge", "call_id": caller, "consult": colleague })).await;
    harness.wait_for_view(&caller, "merging").await;
    let asked = harness.wait_for("the conference command", |record| record["type"] == "call_control").await;
    let leg: softphone_core::call::TelnyxLeg =
        serde_json::from_value(asked["command"]["leg"].clone()).expect("the caller's call's leg");
    let consult_leg: softphone_core::call::TelnyxLeg =
        serde_json::from_value(asked["command"]["consult_leg"].clone()).expect("the consult leg");
    // What the shell's adapter does.
    let api = softphone_telnyx::TelnyxApi::new(softphone_telnyx::TelnyxConfig {
        base_url: harness.sim.running.base_url(),
        ..softphone_telnyx::TelnyxConfig::default()
    })
    .expect("client");
    let key = softphone_core::secret::Secret::new(softphone_sim::DEFAULT_API_KEY);
    let caller_far = api.other_leg(&key, "conformance", &leg).await.expect("calls").expect("the caller's leg");
    let billing_far = api.other_leg(&key, "conformance", &consult_leg).await.expect("calls").expect("billing's leg");
    let conference = api.create_conference(&key, &caller_far, &format!("softphone-{caller}")).await.expect("created");
    api.join_conference(&key, &conference, &leg.call_control_id).await.expect("the agent joins");
    api.join_conference(&key, &conference, &billing_far).await.expect("billing joins");
    harness.agent(json!({ "kind": "merged", "call_id": caller, "consult": colleague })).await;

    harness
        .wait_for("the agent back, in the conference", |record| {
            record["type"] == "snapshot"
                && call_in(record, &caller)
                    .is_some_and(|call| call["view"] == "active" && call["control"]["conference"] == true)
        })
        .await;
    harness.wait_for_view(colleague, "ended").await;
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let legs = legs_of(&harness.sim, &leg.call_session_id).await;
        let billing = legs_of(&harness.sim, &consult_leg.call_session_id).await;
        let role =
            |legs: &[Value], name: &str| legs.iter().find(|leg| leg["role"] == name).cloned().unwrap_or_default();
        let (caller_hears, billing_hears) = (role(&legs, "customer"), role(&billing, "customer"));
        let tones = |leg: &Value| -> Vec<f64> {
            leg["heard"]["tones_hz"].as_array().into_iter().flatten().filter_map(Value::as_f64).collect()
        };
        let has = |leg: &Value, hz: f64| tones(leg).iter().any(|tone| (tone - hz).abs() < 15.0);
        // The browser's fake microphone beeps; the far parties hear each other (and it).
        if has(&caller_hears, 660.0) && has(&billing_hears, 523.0) && role(&legs, "agent")["room"].is_string() {
            break;
        }
        assert!(Instant::now() < deadline, "the three-way call never formed: {legs:#?} {billing:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    harness.assert_clean().await;
}

/// Carries out a Call Control command the harness logged, as the shell's adapter does.
async fn carry_out_logged(harness: &Harness, kind: &str) -> Value {
    let command = harness
        .wait_for(&format!("the {kind} command"), |record| {
            record["type"] == "call_control" && record["command"]["kind"] == kind
        })
        .await["command"]
        .clone();
    let leg: softphone_core::call::TelnyxLeg = serde_json::from_value(command["leg"].clone()).expect("a leg");
    let api = softphone_telnyx::TelnyxApi::new(softphone_telnyx::TelnyxConfig {
        base_url: harness.sim.running.base_url(),
        ..softphone_telnyx::TelnyxConfig::default()
    })
    .expect("client");
    let key = softphone_core::secret::Secret::new(softphone_sim::DEFAULT_API_KEY);
    let caller = api.other_leg(&key, "conformance", &leg).await.expect("calls").expect("the caller's leg");
    match kind {
        "start_hold_music" => {
            let url = command["url"].as_str().expect("the music's address");
            api.start_hold_music(&key, &caller, url).await.expect("music");
        }
        "stop_hold_music" => api.stop_playback(&key, &caller).await.expect("stopped"),
        "start_recording" => api.start_recording(&key, &caller).await.expect("recording"),
        "stop_recording" => api.stop_recording(&key, &caller).await.expect("saved"),
        other => panic!("not carried out here: {other}"),
    }
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_music_and_a_recording_act_on_the_caller_of_an_sdk_call() {
    let harness = Harness::start(SimulatorConfig::default()).await;
    let music = format!("{}/media/hold-music.wav", harness.sim.running.base_url());
    harness.agent(json!({ "kind": "set_hold_music", "on": true, "url": music })).await;
    let started = harness
        .sim
        .control("/control/calls/inbound", json!({ "from": "+15551234567", "playback": { "kind": "tone", "hz": 523 } }))
        .await;
    let id = started["call_id"].as_str().expect("call id").to_owned();
    harness.wait_for_view(&id, "ringing").await;
    harness.agent(on_call("answer", &id)).await;
    harness.wait_for_view(&id, "active").await;
    let session = format!("sess-{id}");
    let caller_hears = |hz: f64| {
        let sim = Arc::clone(&harness.sim);
        let session = session.clone();
        async move {
            let deadline = Instant::now() + TIMEOUT;
            loop {
                let legs = legs_of(&sim, &session).await;
                // The SDK's held call may still send its fake microphone: any tone heard counts.
                let heard = |leg: &Value| {
                    leg["heard"]["tones_hz"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_f64)
                        .any(|tone| (tone - hz).abs() < 15.0)
                };
                if legs.iter().any(|leg| leg["role"] == "customer" && heard(leg)) {
                    return;
                }
                assert!(Instant::now() < deadline, "the caller never heard {hz} Hz: {legs:#?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };

    // Held through the SDK: the machine asks for the music; the caller hears it.
    harness.agent(on_call("hold", &id)).await;
    harness.wait_for_view(&id, "held").await;
    carry_out_logged(&harness, "start_hold_music").await;
    caller_hears(392.0).await;
    harness.agent(on_call("resume", &id)).await;
    carry_out_logged(&harness, "stop_hold_music").await;
    harness.wait_for_view(&id, "active").await;

    // Recorded: the caller on channel A.
    harness.agent(on_call("record", &id)).await;
    carry_out_logged(&harness, "start_recording").await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    harness.agent(on_call("stop_recording", &id)).await;
    carry_out_logged(&harness, "stop_recording").await;
    harness.agent(on_call("hangup", &id)).await;
    harness.wait_for_view(&id, "ended").await;
    harness
        .wait_for("the recordings to keep", |record| {
            record["type"] == "call_control" && record["command"]["kind"] == "keep_recordings"
        })
        .await;
    let saved = harness.sim.running.switchboard().recordings();
    assert_eq!(saved.len(), 1, "{saved:?}");
    let mut reader = hound::WavReader::new(std::io::Cursor::new(saved[0].wav.to_vec())).expect("a WAV");
    assert_eq!(reader.spec().channels, 2);
    let samples: Vec<f32> = reader.samples::<i16>().map(|s| f32::from(s.expect("sample")) / 32_768.0).collect();
    let caller_channel: Vec<f32> = samples.iter().step_by(2).copied().skip(8 * 600).collect();
    let heard = softphone_voice::analysis::dominant_hz(&caller_channel, 8_000).expect("the caller's tone");
    assert!((heard - 523.0).abs() < 10.0, "channel A is the caller: {heard}");
    harness.assert_clean().await;
}
