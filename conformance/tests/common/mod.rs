//! The real SDK in headless Chromium (via chromedriver), a page server for the harness, and the
//! simulator in-process. Everything listens on 127.0.0.1 and stops when dropped.

#![allow(dead_code, reason = "each test file uses a different part")]

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};
use softphone_sim::{RunningSimulator, Simulator, SimulatorConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub const TIMEOUT: Duration = Duration::from_secs(20);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("in the workspace").to_path_buf()
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// Serves the harness page and the SDK bundle from node_modules (installed by scripts/setup.sh).
pub struct PageServer {
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PageServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PageServer {
    pub async fn start() -> PageServer {
        let bundle = workspace_root().join("node_modules/@telnyx/webrtc/lib/bundle.js");
        assert!(bundle.is_file(), "{} missing: run scripts/setup.sh (npm ci)", bundle.display());
        let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("page");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("page server binds");
        let url = format!("http://{}/", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else { return };
                let (bundle, page) = (bundle.clone(), page.clone());
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 8192];
                    let read = stream.read(&mut buffer).await.unwrap_or(0);
                    let request = String::from_utf8_lossy(&buffer[..read]);
                    let path = request.split_whitespace().nth(1).unwrap_or("/");
                    let (file, kind) = match path {
                        "/" | "/index.html" => (page.join("index.html"), "text/html"),
                        "/harness.js" => (page.join("harness.js"), "text/javascript"),
                        "/bundle.js" => (bundle, "text/javascript"),
                        _ => (PathBuf::new(), ""),
                    };
                    let response = match tokio::fs::read(&file).await {
                        Ok(body) => {
                            let mut head = format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                                body.len()
                            )
                            .into_bytes();
                            head.extend(body);
                            head
                        }
                        Err(_) => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
                    };
                    let _ = stream.write_all(&response).await;
                });
            }
        });
        PageServer { url, task }
    }
}

/// chromedriver, stopped with SIGTERM when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

/// Headless Chromium with a fake microphone (a beep) and the harness page loaded.
pub struct Browser {
    pub client: Client,
    _profile: tempfile::TempDir,
    _driver: Driver,
}

impl Browser {
    pub async fn open(page: &PageServer) -> Browser {
        Browser::open_with(page, &[]).await
    }

    /// [`Browser::open`] with more Chromium switches (e.g. `--use-file-for-fake-audio-capture=`).
    pub async fn open_with(page: &PageServer, switches: &[String]) -> Browser {
        let loaded = "return typeof TelnyxWebRTC === 'object' && !!window.harness";
        Browser::open_url_with(&page.url, loaded, switches).await
    }

    /// Opens `url` and waits (up to [`TIMEOUT`]) until `loaded_script` returns `true` in the page.
    pub async fn open_url(url: &str, loaded_script: &str) -> Browser {
        Browser::open_url_with(url, loaded_script, &[]).await
    }

    async fn open_url_with(url: &str, loaded_script: &str, switches: &[String]) -> Browser {
        let port = free_port();
        let driver = Driver(
            Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver starts (Debian chromium-driver)"),
        );
        let deadline = Instant::now() + TIMEOUT;
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            "--allow-loopback-in-peer-connection",
            "--autoplay-policy=no-user-gesture-required",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ]
        .map(str::to_owned)
        .to_vec();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.extend(switches.iter().cloned());
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": args },
        });
        let client = ClientBuilder::native()
            .capabilities(capabilities.as_object().expect("object").clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a chromedriver session");
        client.goto(url).await.expect("harness page loads");
        let browser = Browser { client, _profile: profile, _driver: driver };
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let loaded = browser.eval(loaded_script).await;
            if loaded == json!(true) {
                break;
            }
            assert!(Instant::now() < deadline, "the page at {url} never loaded: {loaded_script} gave {loaded}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        browser
    }

    /// `new TelnyxRTC({host, login_token, iceServers: []}).connect()` in the page.
    pub async fn connect(&self, host: &str, login_token: &str) {
        self.call_harness(
            "window.harness.connect(arguments[0])",
            vec![json!({ "host": host, "loginToken": login_token })],
        )
        .await;
    }

    pub async fn eval(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap_or_else(|error| panic!("{script}: {error}"))
    }

    pub async fn call_harness(&self, script: &str, args: Vec<Value>) -> Value {
        self.client.execute(script, args).await.unwrap_or_else(|error| panic!("{script}: {error}"))
    }

    /// Async script: the last argument is the callback.
    pub async fn eval_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.client.execute_async(script, args).await.unwrap_or_else(|error| panic!("{script}: {error}"))
    }

    /// What the browser plays from call `id`, measured for ~300 ms: (level dBFS, dominant Hz).
    pub async fn remote_audio(&self, id: &str) -> (f64, f64) {
        let measured = self
            .eval_async(
                "const [id, done] = arguments; window.harness.measureRemoteAudio(id).then(done, e => done({error: String(e)}));",
                vec![json!(id)],
            )
            .await;
        let level = measured["levelDbfs"].as_f64().unwrap_or_else(|| panic!("no level: {measured}"));
        (level, measured["dominantHz"].as_f64().unwrap_or(0.0))
    }

    pub async fn events(&self) -> Vec<Value> {
        match self.eval("return window.harness.events").await {
            Value::Array(events) => events,
            other => panic!("events: {other}"),
        }
    }

    /// Waits for the first event matching `accept`, failing with the whole event log.
    pub async fn wait_for_event(&self, what: &str, accept: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let events = self.events().await;
            if let Some(found) = events.iter().find(|event| accept(event)) {
                return found.clone();
            }
            assert!(Instant::now() < deadline, "no {what} within {TIMEOUT:?}; events: {events:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the SDK to show call `id` in `state` after the event at index `after`; returns
    /// that event's index.
    pub async fn wait_for_call_state_after(&self, id: &str, state: &str, after: usize) -> usize {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let events = self.events().await;
            let found = events
                .iter()
                .enumerate()
                .skip(after)
                .find(|(_, event)| event["type"] == "callUpdate" && event["id"] == id && event["state"] == state);
            if let Some((at, _)) = found {
                return at;
            }
            assert!(Instant::now() < deadline, "call {id} never {state} after event {after}: {events:#?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until call `id` reaches SDK state `state`.
    pub async fn wait_for_call_state(&self, id: &str, state: &str) -> Value {
        self.wait_for_event(&format!("call {id} {state}"), |event| {
            event["type"] == "callUpdate" && event["id"] == id && event["state"] == state
        })
        .await
    }
}

/// The simulator on 127.0.0.1 with a REST client for minting tokens and the control API.
pub struct Sim {
    pub running: RunningSimulator,
    pub http: reqwest::Client,
}

impl Sim {
    pub async fn start(config: SimulatorConfig) -> Sim {
        let running = Simulator::start(config).await.expect("simulator starts");
        Sim { running, http: reqwest::Client::new() }
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/", self.running.local_addr())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.running.base_url(), path)
    }

    /// A login token minted the way the app does it: create a credential, then mint.
    pub async fn mint_token(&self) -> String {
        let key = format!("Bearer {}", softphone_sim::DEFAULT_API_KEY);
        let credential: Value = self
            .http
            .post(self.url("/v2/telephony_credentials"))
            .header("Authorization", &key)
            .json(&json!({ "connection_id": "conformance" }))
            .send()
            .await
            .expect("create credential")
            .json()
            .await
            .expect("credential JSON");
        let id = credential["data"]["id"].as_str().expect("credential id").to_owned();
        let response = self
            .http
            .post(self.url(&format!("/v2/telephony_credentials/{id}/token")))
            .header("Authorization", &key)
            .send()
            .await
            .expect("mint token");
        assert_eq!(response.status().as_u16(), 201);
        response.text().await.expect("JWT")
    }

    pub async fn control(&self, path: &str, body: Value) -> Value {
        let response = self.http.post(self.url(path)).json(&body).send().await.expect("control request");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "POST {path} -> {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub async fn calls(&self) -> Value {
        self.http.get(self.url("/control/calls")).send().await.expect("calls").json().await.expect("calls JSON")
    }

    /// Waits (up to [`TIMEOUT`]) until the simulator's view of call `id` satisfies `accept`.
    pub async fn wait_for_call(&self, id: &str, what: &str, accept: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let calls = self.calls().await;
            let call = calls["calls"].as_array().and_then(|calls| calls.iter().find(|call| call["id"] == id).cloned());
            if let Some(call) = call.filter(|call| accept(call)) {
                return call;
            }
            assert!(Instant::now() < deadline, "the simulator's call {id} never {what}: {calls:#}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A browser whose SDK logged in to a fresh simulator and reached `telnyx.ready`.
pub async fn ready() -> (Sim, PageServer, Browser) {
    let sim = Sim::start(Default::default()).await;
    let page = PageServer::start().await;
    let browser = Browser::open(&page).await;
    let token = sim.mint_token().await;
    browser.connect(&sim.ws_url(), &token).await;
    browser.wait_for_event("telnyx.ready", |event| event["type"] == "ready").await;
    (sim, page, browser)
}
