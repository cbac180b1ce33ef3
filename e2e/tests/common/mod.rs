//! Launching the real app through tauri-driver, and the helpers every scenario uses.
#![allow(dead_code, reason = "each scenario file compiles this module and uses some of it")]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use serde_json::json;

/// How long a scenario waits for something the agent would see, before failing.
pub const UI_TIMEOUT: Duration = Duration::from_secs(20);

/// A running app: tauri-driver (which starts WebKitWebDriver, which starts the app) plus a
/// WebDriver session on it, with a throw-away data/config/cache home.
pub struct App {
    pub client: Client,
    pub data_home: tempfile::TempDir,
    _driver: DriverProcess,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("e2e sits in the workspace").to_path_buf()
}

/// The app binary with the UI embedded (built with `--features custom-protocol`).
pub fn app_binary() -> PathBuf {
    let path = std::env::var_os("SOFTPHONE_APP_BIN").map(PathBuf::from).unwrap_or_else(|| {
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"));
        target.join("debug").join("softphone")
    });
    assert!(
        path.is_file(),
        "app binary {} not found: run scripts/test.sh, or build it with \
         `cargo build -p softphone --features custom-protocol` after `trunk build` in ui/",
        path.display()
    );
    path
}

pub fn screenshot_dir() -> PathBuf {
    std::env::var_os("E2E_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target").join("e2e-shots"))
}

/// What the fake microphone plays in every scenario (the simulator's numbers play 440 Hz).
pub const FAKE_AUDIO: &str = "mic=tone:880";

/// An HTTP client for the simulator's control API (loopback, bounded).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("an HTTP client")
}

/// A rectangle of the app's window, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Area {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// How to start the app, beyond the defaults.
#[derive(Default)]
pub struct Launch {
    /// The data of an earlier run (a restart); fresh directories when `None`.
    pub data_home: Option<tempfile::TempDir>,
    /// Extra environment for the app (e.g. `DBUS_SESSION_BUS_ADDRESS`, `SOFTPHONE_TELNYX_API_URL`).
    pub env: Vec<(String, String)>,
    /// Command-line arguments for the app (e.g. a `tel:` link).
    pub args: Vec<String>,
    /// Another app binary than [`app_binary`] (e.g. an installed copy an update replaces).
    pub binary: Option<PathBuf>,
}

impl App {
    /// The app on fresh, empty data, config and cache directories.
    pub async fn launch() -> App {
        App::launch_with(Launch::default()).await
    }

    /// The app on the data of an earlier run (its `data_home`): a restart.
    pub async fn launch_in(data_home: tempfile::TempDir) -> App {
        App::launch_with(Launch { data_home: Some(data_home), ..Launch::default() }).await
    }

    pub async fn launch_with(launch: Launch) -> App {
        assert!(std::env::var_os("DISPLAY").is_some(), "the e2e suite needs an X display: run it under xvfb-run");
        let application = launch.binary.clone().unwrap_or_else(app_binary);
        let data_home = launch.data_home.unwrap_or_else(|| tempfile::tempdir().expect("temp dir"));
        let capabilities = json!({
            "browserName": "wry",
            "tauri:options": { "application": application, "args": launch.args },
        });
        let capabilities = capabilities.as_object().expect("object").clone();
        // Twice at most: twice in clean-clone runs, on a cold machine, tauri-driver dropped the
        // new-session request unanswered ("IncompleteMessage") and the app never started. Not
        // understood yet (LEARNINGS, session 15); tauri-driver's own output now reaches the log.
        // A fresh driver on fresh ports gets a second try; an app that cannot start fails both.
        let mut attempt = 1;
        let (client, driver) = loop {
            let port = free_port();
            let native_port = free_port();
            let driver = Command::new("tauri-driver")
                .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
                .env("XDG_DATA_HOME", data_home.path().join("data"))
                .env("XDG_CONFIG_HOME", data_home.path().join("config"))
                .env("XDG_CACHE_HOME", data_home.path().join("cache"))
                // The login item goes to $HOME/.config/autostart (tauri-plugin-autostart ignores
                // XDG_CONFIG_HOME): a home of the scenario's own, never the tester's.
                .env("HOME", data_home.path().join("home"))
                .env("RUST_LOG", "info")
                .env("SOFTPHONE_FAKE_AUDIO", FAKE_AUDIO)
                // The scenario's own environment comes last, so it can override the defaults above.
                .envs(launch.env.iter().map(|(key, value)| (key.as_str(), value.as_str())))
                .stdout(Stdio::inherit())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("tauri-driver starts (scripts/setup.sh installs it)");
            let driver = DriverProcess { driver, application: application.clone() };
            // tauri-driver listens at once, but forwards the new session to WebKitWebDriver, which
            // it starts beside it: asked before that one listens, it drops the request. Both ports.
            wait_for_port(port).await;
            wait_for_port(native_port).await;
            let session = ClientBuilder::native()
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await;
            match session {
                Ok(client) => break (client, driver),
                Err(error) if attempt == 1 => {
                    eprintln!("e2e: no WebDriver session on the first try ({error}); a fresh tauri-driver tries again");
                    drop(driver);
                    attempt += 1;
                }
                Err(error) => panic!("a WebDriver session on the app: {error}"),
            }
        };
        App { client, data_home, _driver: driver }
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        match self.client.wait().at_most(UI_TIMEOUT).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(error) => {
                panic!("{css} did not appear within {UI_TIMEOUT:?}: {error}\n{}", self.failure_report().await)
            }
        }
    }

    /// Waits until the text of `css` satisfies `accept`, returning it.
    pub async fn wait_for_text(&self, css: &str, accept: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + UI_TIMEOUT;
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = element.text().await
            {
                if accept(&text) {
                    return text;
                }
                last = text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{css} never showed the expected text; last seen: {last:?}\n{}", self.failure_report().await);
    }

    /// Waits until the number of elements matching `css` satisfies `accept`, returning it.
    pub async fn wait_for_count(&self, css: &str, accept: impl Fn(usize) -> bool) -> usize {
        let deadline = Instant::now() + UI_TIMEOUT;
        let mut last = 0;
        while Instant::now() < deadline {
            if let Ok(elements) = self.client.find_all(Locator::Css(css)).await {
                last = elements.len();
                if accept(last) {
                    return last;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{css} never matched the expected number of elements; last seen: {last}\n{}",
            self.failure_report().await
        );
    }

    /// Types `text` into the field `css` (clicking it first, as an agent would), and waits until
    /// the field shows it, as an agent looks before clicking on. WebKitWebDriver's key presses
    /// reach the page after the command returns: CI once clicked Call while the last digit was
    /// still on its way, and dialed one digit short. Letters and digits are compared (fields may
    /// format what is typed); text with a special key (Enter) acts on its own and is not waited for.
    pub async fn type_into(&self, css: &str, text: &str) {
        let significant = |text: &str| text.chars().filter(|c| c.is_alphanumeric()).count();
        let field = self.find(css).await;
        field.click().await.expect("focus the field");
        let value = async || field.prop("value").await.ok().flatten().unwrap_or_default();
        let expected = significant(&value().await) + significant(text);
        field.send_keys(text).await.unwrap_or_else(|error| panic!("typing into {css}: {error}"));
        if text.chars().any(|c| ('\u{E000}'..='\u{F8FF}').contains(&c)) {
            return;
        }
        let deadline = Instant::now() + UI_TIMEOUT;
        while significant(&value().await) < expected {
            if Instant::now() > deadline {
                panic!("{css} never showed {text:?}: {:?}\n{}", value().await, self.failure_report().await);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Opens a section from the sidebar and waits for its page.
    pub async fn open(&self, slug: &str) {
        self.find(&format!("#nav-{slug}")).await.click().await.expect("click the section");
        self.find(&format!("#section-{slug}")).await;
    }

    pub async fn screenshot(&self, scenario: &str) {
        // Let WebKit paint what the DOM already holds: two animation frames.
        self.client
            .execute_async(
                "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done()));",
                vec![],
            )
            .await
            .expect("the page paints");
        // The app's X11 window as the agent sees it (ImageMagick's `import`). WebKitWebDriver's
        // own screenshot never returns when WebKit paints without accelerated compositing,
        // which is how the app paints on Linux (LEARNINGS 2026-12-04).
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{scenario}.png"));
        let window = self.x11_window();
        let captured = Command::new("import")
            .args(["-window", &window])
            .arg(&path)
            .status()
            .expect("import runs (ImageMagick; scripts/setup.sh installs it)");
        assert!(captured.success(), "the window {window} could not be captured: {captured}");
        eprintln!("screenshot: {}", path.display());
    }

    /// The app's visible X11 window (the root window if none is found).
    pub fn x11_window(&self) -> String {
        let windows = Command::new("xdotool")
            .args(["search", "--onlyvisible", "--pid", &self.app_pid().to_string()])
            .output()
            .expect("xdotool runs (scripts/setup.sh installs it)");
        // The largest: a tooltip (the pointer left over a button with a title) is a visible
        // window of the app too.
        let area = |window: &str| -> u64 {
            let geometry = Command::new("xdotool").args(["getwindowgeometry", "--shell", window]).output();
            let text = geometry.map(|output| String::from_utf8_lossy(&output.stdout).into_owned()).unwrap_or_default();
            let value =
                |key: &str| -> u64 { text.lines().find_map(|line| line.strip_prefix(key)?.parse().ok()).unwrap_or(0) };
            value("WIDTH=") * value("HEIGHT=")
        };
        let listed = String::from_utf8_lossy(&windows.stdout).into_owned();
        let window = listed.split_whitespace().max_by_key(|window| area(window)).map(String::from);
        window.unwrap_or_else(|| "root".to_owned())
    }

    /// The pixels (RGB, row by row) the X server shows in `area` of the app's window, in window
    /// coordinates: what the agent sees there, read without WebDriver.
    pub fn pixels_in(&self, area: Area) -> Vec<u8> {
        let Area { x, y, width, height } = area;
        let output = Command::new("import")
            .args(["-window", &self.x11_window(), "-crop", &format!("{width}x{height}+{x}+{y}"), "+repage", "rgb:-"])
            .output()
            .expect("import runs (ImageMagick; scripts/setup.sh installs it)");
        assert!(
            output.status.success(),
            "the window could not be captured: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }

    /// Where `css` is drawn in the window (the webview fills the window, at scale 1 under Xvfb).
    pub async fn area_of(&self, css: &str) -> Area {
        let (x, y, width, height) = self.find(css).await.rectangle().await.expect("the element's rectangle");
        let round = |value: f64| value.round().max(0.0) as u32;
        Area { x: round(x), y: round(y), width: round(width), height: round(height) }
    }

    /// Types keys into the app's window as the X server's keyboard (xdotool names, e.g.
    /// `alt+e`): reaches the window without WebDriver.
    pub fn press_keys(&self, keys: &str) {
        let window = self.x11_window();
        let focused = Command::new("xdotool").args(["windowfocus", "--sync", &window]).status().expect("xdotool runs");
        assert!(focused.success(), "the window {window} could not be focused");
        let pressed = Command::new("xdotool").args(["key", "--clearmodifiers", keys]).status().expect("xdotool runs");
        assert!(pressed.success(), "xdotool could not press {keys}");
    }

    /// Ends the session (which closes the app); dropping the rest stops tauri-driver.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }

    /// Closes the app and hands back its data directories, for [`App::launch_in`].
    pub async fn quit(self) -> tempfile::TempDir {
        let _ = self.client.close().await;
        drop(self._driver);
        self.data_home
    }

    /// Closes the window from its title bar, as the agent would (the window manager's
    /// WM_DELETE_WINDOW), waits for the app to shut down by itself, and hands back its data
    /// directories for [`App::launch_in`]. Unlike [`App::quit`] (the app is killed), the app
    /// runs its exit path, e.g. saving the window's position and size.
    pub async fn close_window_and_wait(self) -> tempfile::TempDir {
        let pid = self.app_pid();
        self.close_window();
        let deadline = Instant::now() + UI_TIMEOUT;
        while Path::new(&format!("/proc/{pid}")).exists() {
            assert!(Instant::now() < deadline, "the app (pid {pid}) did not exit after its window was closed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.quit().await
    }

    /// Clicks the window's title-bar close button, as the window manager passes it on
    /// (WM_DELETE_WINDOW); what closing does is the app's to decide.
    pub fn close_window(&self) {
        let pid = self.app_pid();
        let windows = Command::new("xdotool")
            .args(["search", "--pid", &pid.to_string()])
            .output()
            .expect("xdotool runs (scripts/setup.sh installs it)");
        let windows: Vec<String> =
            String::from_utf8_lossy(&windows.stdout).split_whitespace().map(String::from).collect();
        assert!(!windows.is_empty(), "the app (pid {pid}) has no X11 window");
        let closed = Command::new("/usr/bin/python3")
            .arg(workspace_root().join("e2e/tests/support/close_window.py"))
            .args(&windows)
            .status()
            .expect("python3 runs the close script");
        assert!(closed.success(), "the close request could not be sent: {closed}");
    }

    /// Drives the window the app shows now: after the app made its window again (it had
    /// released it), WebDriver's session still points at the one that is gone.
    pub async fn follow_window(&self) {
        let deadline = Instant::now() + UI_TIMEOUT;
        loop {
            if let Ok(handles) = self.client.windows().await
                && let Some(handle) = handles.into_iter().last()
                && self.client.switch_to_window(handle).await.is_ok()
                && self.client.find(Locator::Css("#connection-state")).await.is_ok()
            {
                return;
            }
            assert!(Instant::now() < deadline, "WebDriver never reached the app's new window\n{}", self.log_tail());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The app's process: the descendant of tauri-driver running the app binary.
    pub fn app_pid(&self) -> u32 {
        self._driver.app_pid().expect("the app runs under tauri-driver")
    }

    /// The window's WebKit web process: the child of the app whose name WebKit gives it (the
    /// kernel cuts names to 15 bytes).
    pub fn web_process(&self) -> Option<u32> {
        web_processes_of(self.app_pid()).into_iter().next()
    }

    /// Everything the app logged so far (its daily log files).
    pub fn log_text(&self) -> String {
        log_text_in(self.data_home.path())
    }

    /// What the agent would have seen when a step failed: the window captured to
    /// `FAILED-<time>.png`, the page's visible text, and the app's last log lines. The text and
    /// the log are in the message, so CI's output shows them without the screenshot.
    pub async fn failure_report(&self) -> String {
        let stamp =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_millis());
        let dir = screenshot_dir();
        let path = dir.join(format!("FAILED-{stamp}.png"));
        let captured = std::fs::create_dir_all(&dir).is_ok()
            && Command::new("import")
                .args(["-window", &self.x11_window()])
                .arg(&path)
                .status()
                .is_ok_and(|status| status.success());
        let screenshot =
            if captured { format!("window: {}", path.display()) } else { "window: not captured".to_owned() };
        // A dead web process never answers; the page's text is then left out.
        let page = tokio::time::timeout(
            Duration::from_secs(5),
            self.client.execute(
                "if (!document.body) return '';
                 const active = document.activeElement;
                 const focus = `focus: ${active ? (active.id ? '#' + active.id : active.tagName) : 'none'}, the page ${document.hasFocus() ? 'has' : 'lacks'} the focus`;
                 return focus + ' | ' + document.body.innerText;",
                vec![],
            ),
        )
        .await;
        let page = match page {
            Ok(Ok(text)) => {
                let text = text.as_str().unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ");
                let cut: String = text.chars().take(1500).collect();
                format!("page text: {cut}")
            }
            Ok(Err(error)) => format!("page text: not read ({error})"),
            Err(_) => "page text: not read (the page did not answer within 5 s)".to_owned(),
        };
        format!("{screenshot}\n{page}\n{}", self.log_tail())
    }

    /// The app's last log lines, newest last, for a failure message.
    pub fn log_tail(&self) -> String {
        let log = self.log_text();
        let lines: Vec<&str> = log.lines().collect();
        format!("app log (last lines):\n{}", lines[lines.len().saturating_sub(25)..].join("\n"))
    }

    /// The demo simulator's base URL, as the app logged it at start-up.
    pub async fn simulator_url(&self) -> String {
        simulator_url_in(self.data_home.path()).await
    }
}

impl Launch {
    /// The app on `bus` as its D-Bus session bus (notifications, the single-instance hand-over),
    /// on fresh directories.
    pub fn on_bus(bus: &softphone_notify::test_support::PrivateBus) -> Launch {
        Launch { env: vec![("DBUS_SESSION_BUS_ADDRESS".into(), bus.address().into())], ..Launch::default() }
    }
}

/// A command of the shell, from the page as the window calls it; a refusal comes back as
/// `{"failed": error}`.
pub async fn invoke(app: &App, command: &str, args: serde_json::Value) -> serde_json::Value {
    app.client
        .execute_async(
            "const done = arguments[2];
             window.__TAURI__.core.invoke(arguments[0], arguments[1]).then(done, (e) => done({ failed: e }));",
            vec![serde_json::json!(command), args],
        )
        .await
        .unwrap_or_else(|error| panic!("{command}: {error}"))
}

/// Leads may be called at any hour (the calling hours' rule has its own tests).
pub async fn call_at_any_hour(app: &App) {
    app.client
        .execute_async(
            "const done = arguments[0];
             const invoke = window.__TAURI__.core.invoke;
             invoke('get_settings')
               .then((settings) => invoke('save_settings', { settings: { ...settings, calling_hours: { start_minute: 0, end_minute: 1440 } } }))
               .then(() => done(true), (error) => done(JSON.stringify(error)));",
            vec![],
        )
        .await
        .map(|answer| assert_eq!(answer, serde_json::json!(true), "the settings were saved"))
        .expect("the settings were saved");
}

/// The demo simulator plays `behaviour` (a directory word: tone, busy, voicemail...) for `number`.
pub async fn script_number(app: &App, number: &str, behaviour: &str) {
    let url = format!("{}/control/numbers/{number}", app.simulator_url().await);
    let answer = http().put(&url).json(&serde_json::json!({ "behaviour": behaviour })).send().await.expect("PUT");
    assert!(answer.status().is_success(), "scripting {number} as {behaviour}: {}", answer.status());
}

/// Waits until the speaker (the fake one measures what it plays) plays about `hz`.
pub async fn until_speaker_plays(app: &App, hz: f64, what: &str) {
    let deadline = std::time::Instant::now() + UI_TIMEOUT;
    let mut last = serde_json::Value::Null;
    while std::time::Instant::now() < deadline {
        last = app
            .client
            .execute("return window.__TAURI__.core.invoke('get_audio_meter').then((meter) => meter.heard_hz);", vec![])
            .await
            .expect("the audio meter answers");
        if last.as_f64().is_some_and(|heard| (heard - hz).abs() < 15.0) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{what}: the speaker never played {hz} Hz; last heard {last}");
}

/// The demo simulator's calls, as its control API lists them.
pub async fn sim_calls(app: &App) -> Vec<serde_json::Value> {
    let url = format!("{}/control/calls", app.simulator_url().await);
    let response = http().get(&url).send().await.unwrap_or_else(|error| panic!("GET {url}: {error}"));
    let body: serde_json::Value = response.json().await.expect("the control API answers JSON");
    body["calls"].as_array().cloned().unwrap_or_default()
}

/// Waits until one of the simulator's calls satisfies `check`, and returns it.
pub async fn until_sim(app: &App, what: &str, check: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = Instant::now() + UI_TIMEOUT;
    loop {
        let calls = sim_calls(app).await;
        if let Some(call) = calls.iter().find(|call| check(call)) {
            return call.clone();
        }
        assert!(Instant::now() < deadline, "the simulator never saw {what}: {calls:?}\n{}", app.log_tail());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The simulator calls the app from `from` (E.164), as a caller would; returns the call's id.
pub async fn ring_from(app: &App, from: &str, caller_name: &str) -> String {
    ring_through(&app.simulator_url().await, from, caller_name).await
}

/// Like [`ring_from`], through the simulator at `simulator_url` (an app without a window yet).
pub async fn ring_through(simulator_url: &str, from: &str, caller_name: &str) -> String {
    let url = format!("{simulator_url}/control/calls/inbound");
    let response = http()
        .post(&url)
        .json(&json!({ "from": from, "caller_name": caller_name }))
        .send()
        .await
        .unwrap_or_else(|error| panic!("POST {url}: {error}"));
    assert!(response.status().is_success(), "the simulator could not ring the app: {}", response.status());
    let started: serde_json::Value = response.json().await.expect("the control API answers JSON");
    started["call_id"].as_str().expect("a call id").to_owned()
}

/// The caller hangs up call `call_id` (normal clearing).
pub async fn hang_up_as_caller(app: &App, call_id: &str) {
    let url = format!("{}/control/calls/{call_id}/hangup", app.simulator_url().await);
    let response =
        http().post(&url).json(&json!({})).send().await.unwrap_or_else(|error| panic!("POST {url}: {error}"));
    assert!(response.status().is_success(), "the simulator could not hang up {call_id}: {}", response.status());
}

/// tauri-driver, stopped with SIGTERM when dropped (also when a scenario panics): SIGKILL would
/// orphan the WebKitWebDriver it started. The app goes with the WebDriver session; one whose
/// session already ended (its web process was killed) would outlive it, so it is ended too.
struct DriverProcess {
    driver: Child,
    /// The binary it runs as the app.
    application: PathBuf,
}

impl DriverProcess {
    /// The descendant of tauri-driver running the app binary.
    fn app_pid(&self) -> Option<u32> {
        let binary = std::fs::canonicalize(&self.application).ok()?;
        let parents: std::collections::HashMap<u32, u32> =
            processes().into_iter().map(|process| (process.pid, process.ppid)).collect();
        let descends_from_driver = |mut pid: u32| {
            while let Some(&parent) = parents.get(&pid) {
                if parent == self.driver.id() {
                    return true;
                }
                pid = parent;
            }
            false
        };
        parents
            .keys()
            .copied()
            .filter(|&pid| descends_from_driver(pid))
            .find(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == binary))
    }
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        let app = self.app_pid();
        let born = app.and_then(start_time);
        let _ = Command::new("kill").args(["-TERM", &self.driver.id().to_string()]).status();
        let _ = self.driver.wait();
        let Some(app) = app else { return };
        // Still the same process (same start time, not a reused pid): a moment to exit, then ended.
        let same_process = || born.is_some() && start_time(app) == born;
        let deadline = Instant::now() + Duration::from_secs(3);
        while same_process() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if same_process() {
            let _ = Command::new("kill").args(["-KILL", &app.to_string()]).status();
        }
    }
}

/// A process's start time (field 22 of `/proc/PID/stat`, after the parenthesised name).
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(19)).map(str::to_owned)
}

async fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing listened on port {port} within 20 s (tauri-driver, or the WebKitWebDriver it starts)");
}

/// gnome-keyring-daemon on the private bus, stopped by pid when dropped.
pub struct Keyring(Child);

impl Drop for Keyring {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

/// An unlocked login keyring (in `dir`) serving org.freedesktop.secrets on `bus`.
pub fn start_keyring(bus: &softphone_notify::test_support::PrivateBus, dir: &Path) -> Keyring {
    let mut child = Command::new("gnome-keyring-daemon")
        .args(["--foreground", "--unlock", "--components=secrets"])
        .env("DBUS_SESSION_BUS_ADDRESS", bus.address())
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_RUNTIME_DIR", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gnome-keyring-daemon starts (Debian package gnome-keyring)");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), b"e2e-keyring-password")
        .expect("unlock password");
    let keyring = Keyring(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let owned = Command::new("dbus-send")
            .args([
                "--session",
                "--dest=org.freedesktop.DBus",
                "--print-reply",
                "--reply-timeout=1000",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .env("DBUS_SESSION_BUS_ADDRESS", bus.address())
            .output()
            .expect("dbus-send runs");
        if String::from_utf8_lossy(&owned.stdout).contains("boolean true") {
            return keyring;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("gnome-keyring did not claim org.freedesktop.secrets within 10 s");
}

/// What `secret-tool` finds in the keyring for one of the app's items.
pub fn keychain_item(bus: &softphone_notify::test_support::PrivateBus, service: &str, account: &str) -> String {
    let lookup = Command::new("secret-tool")
        .args(["lookup", "service", service, "username", account])
        .env("DBUS_SESSION_BUS_ADDRESS", bus.address())
        .output()
        .expect("secret-tool runs (Debian package libsecret-tools)");
    String::from_utf8_lossy(&lookup.stdout).into_owned()
}

/// "Real credentials": a private D-Bus bus with an unlocked gnome-keyring, a keychain service of
/// this run's own, and a simulator standing in for Telnyx that accepts only this run's random API
/// key. Fields drop in order: the simulator, the keyring, then the bus.
pub struct RealAccount {
    pub sim: softphone_sim::RunningSimulator,
    pub keyring: Keyring,
    pub bus: softphone_notify::test_support::PrivateBus,
    /// The keyring's files.
    pub dir: tempfile::TempDir,
    /// `SOFTPHONE_KEYCHAIN_SERVICE` for the app.
    pub service: String,
    pub api_key: String,
    pub connection_id: String,
}

impl RealAccount {
    /// Starts the bus, the keyring and the simulator; `run` (random hex) makes the values unique.
    pub async fn start(run: &str) -> RealAccount {
        RealAccount::start_with_token_ttl(run, softphone_sim::DEFAULT_TOKEN_TTL).await
    }

    /// [`RealAccount::start`] with login tokens that expire `token_ttl` after they are minted.
    pub async fn start_with_token_ttl(run: &str, token_ttl: Duration) -> RealAccount {
        let dir = tempfile::tempdir().expect("temp dir");
        let bus = softphone_notify::test_support::PrivateBus::start().expect("a private D-Bus bus (package dbus)");
        let keyring = start_keyring(&bus, dir.path());
        let api_key = format!("KEY_canary_{run}");
        let config = softphone_sim::SimulatorConfig {
            api_keys: vec![api_key.clone()],
            token_ttl,
            ..softphone_sim::SimulatorConfig::default()
        };
        let sim = softphone_sim::Simulator::start(config).await.expect("the simulator starts");
        RealAccount {
            sim,
            keyring,
            bus,
            dir,
            service: format!("io.agentsoftphone.e2e.{run}"),
            connection_id: format!("conn_canary_{}", &run[..run.len().min(16)]),
            api_key,
        }
    }

    /// The app on this bus and keychain service, with the simulator as Telnyx.
    pub fn launch(&self, data_home: Option<tempfile::TempDir>, log_filter: &str) -> Launch {
        Launch {
            data_home,
            env: vec![
                ("DBUS_SESSION_BUS_ADDRESS".into(), self.bus.address().into()),
                ("SOFTPHONE_KEYCHAIN_SERVICE".into(), self.service.clone()),
                ("SOFTPHONE_TELNYX_API_URL".into(), self.sim.base_url()),
                ("SOFTPHONE_TELNYX_RTC_URL".into(), self.sim.ws_url()),
                ("RUST_LOG".into(), log_filter.into()),
            ],
            args: Vec::new(),
            binary: None,
        }
    }

    /// The agent enters the key and the connection id in Settings; waits until the app uses the
    /// account and its engine is logged in.
    pub async fn save_in_settings(&self, app: &App) {
        app.open("settings").await;
        app.wait_for_text("#settings-keychain", |text| text.starts_with("Available")).await;
        app.type_into("#api-key", &self.api_key).await;
        app.type_into("#connection-id", &self.connection_id).await;
        app.find("#save-credentials").await.click().await.expect("save the credentials");
        app.wait_for_text("#settings-mode", |text| text == "Telnyx account").await;
        app.wait_for_text("#settings-api-key", |text| text == "Configured").await;
        app.wait_for_text("#connection-state", |text| text == "Ready").await;
    }
}

/// The simulator (as Telnyx) rings the app from `from`; the agent answers in the window. Returns
/// the call's id.
pub async fn ring_and_answer(app: &App, account: &RealAccount, from: &str) -> String {
    let started = account
        .sim
        .switchboard()
        .start_inbound(softphone_sim::signaling::InboundCall { from: from.into(), ..Default::default() })
        .expect("the simulator rings the app");
    app.wait_for_text("#calls-panel .call-state", |text| text == "Ringing").await;
    app.find("#calls-panel .answer").await.click().await.expect("answer");
    app.wait_for_text("#calls-panel .call-state", |text| text == "Active").await;
    started.call_id
}

/// 32 random hex digits (std's hasher keys are random per process).
pub fn random_hex() -> String {
    use std::hash::BuildHasher;
    let state = std::collections::hash_map::RandomState::new();
    format!("{:016x}{:016x}", state.hash_one(1u8), state.hash_one(2u8))
}

/// A small deterministic generator (xorshift64*), so a failing order of events can be replayed
/// by its seed (the soak and crash-safety suites print theirs).
pub struct Dice(u64);

impl Dice {
    pub fn new(seed: u64) -> Dice {
        Dice(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A whole number in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n.max(1))
    }
}

/// A running process as `/proc/PID/stat` gives it.
struct Process {
    pid: u32,
    ppid: u32,
    name: String,
}

/// Every process on the machine.
fn processes() -> Vec<Process> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let (head, rest) = stat.rsplit_once(')')?;
            let ppid = rest.split_whitespace().nth(1)?.parse::<u32>().ok()?;
            let name = head.split_once('(')?.1.to_owned();
            Some(Process { pid, ppid, name })
        })
        .collect()
}

/// A process's PSS, its private memory (`Private_Clean` + `Private_Dirty`) and the part of its PSS
/// backed by files (`Pss_File`: the code and data of the libraries it has touched), in KiB, from
/// `/proc/PID/smaps_rollup`. PSS splits shared pages among every process mapping them, so it
/// changes when other WebKit instances start or stop on the machine; private memory does not.
pub fn memory_kib(pid: u32) -> Option<(u64, u64, u64)> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = rollup.lines().find(|line| line.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some((field("Pss:")?, field("Private_Clean:")? + field("Private_Dirty:")?, field("Pss_File:")?))
}

/// The app's log, from the data home it was started with.
pub fn log_text_in(data_home: &Path) -> String {
    let log_dir = data_home.join("data/io.agentsoftphone.desktop/logs");
    std::fs::read_dir(&log_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.file_name().to_string_lossy().starts_with("softphone.log"))
                .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The demo simulator's base URL, as the app started with `data_home` logged it.
pub async fn simulator_url_in(data_home: &Path) -> String {
    let deadline = Instant::now() + UI_TIMEOUT;
    loop {
        let log = log_text_in(data_home);
        let url = log
            .lines()
            .filter(|line| line.contains("built-in simulator is listening"))
            .filter_map(|line| line.split("simulator=").nth(1))
            .filter_map(|rest| rest.split_whitespace().next())
            .next_back();
        if let Some(url) = url {
            return url.to_owned();
        }
        assert!(Instant::now() < deadline, "the app never logged its simulator's address");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The app process started with `data_home` (found by its environment), if it runs.
pub fn app_pid_in(data_home: &Path) -> Option<u32> {
    let wanted = format!("XDG_DATA_HOME={}", data_home.join("data").display());
    processes().into_iter().filter(|process| process.name == "softphone").map(|process| process.pid).find(|pid| {
        std::fs::read(format!("/proc/{pid}/environ"))
            .is_ok_and(|environ| environ.split(|byte| *byte == 0).any(|entry| entry == wanted.as_bytes()))
    })
}

/// The WebKit web processes of the app process `app_pid` (the kernel cuts names to 15 bytes).
pub fn web_processes_of(app_pid: u32) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|process| process.ppid == app_pid && process.name == "WebKitWebProces")
        .map(|process| process.pid)
        .collect()
}

/// `root` and every process below it (the app's WebKit web and network processes), root first.
pub fn process_tree(root: u32) -> Vec<u32> {
    let all = processes();
    let mut tree = vec![root];
    let mut next = 0;
    while next < tree.len() {
        let parent = tree[next];
        tree.extend(all.iter().filter(|process| process.ppid == parent).map(|process| process.pid));
        next += 1;
    }
    tree
}
