//! Updates end to end, on Linux, through the real tauri-plugin-updater:
//!
//! - a local feed offers 0.1.1 (a real build of the app with that version, signed with a key
//!   made for this run); the app finds it at start and says so in the status bar;
//! - while a call is up the update waits (the button is disabled, and the shell refuses too);
//! - between calls the agent installs it: the app replaces its own binary, restarts into 0.1.1,
//!   and comes back with its data and its account, logged in, without the agent doing anything;
//! - a payload signed with another key is refused with a sentence, and nothing changes;
//! - an update the app cannot write says why, stays on offer, and the app goes on.
//!
//! The app runs from a copy of its binary in a directory of the test's own (the "installed"
//! app the update replaces). The 0.1.1 payload is built by scripts/test.sh
//! (`TAURI_CONFIG='{"version":"0.1.1"}'`) into `$CARGO_TARGET_DIR/update-payload/`.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{App, Launch, RealAccount};
use softphone_release::{Feed, PlatformPayload, UpdateKeys, sign_update};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The simulator's tone number, ringing the app as an inbound caller.
const TONE_NUMBER: &str = "+15555550100";

/// The app built as version 0.1.1, the update's payload.
fn payload_0_1_1() -> PathBuf {
    let path = std::env::var_os("SOFTPHONE_UPDATE_PAYLOAD").map(PathBuf::from).unwrap_or_else(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
        target.join("update-payload").join("softphone-0.1.1")
    });
    assert!(
        path.is_file(),
        "the 0.1.1 payload {} is missing: scripts/test.sh builds it (scripts/build-update-payload.sh)",
        path.display()
    );
    path
}

/// A copy of the app binary in a directory of its own: the installed app an update replaces.
fn install_app() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let installed = dir.path().join("softphone");
    std::fs::copy(common::app_binary(), &installed).expect("the app binary is copied");
    (dir, installed)
}

/// A feed on loopback offering 0.1.1 (payload signed with `signature`): `/latest.json` and the
/// payload at `/softphone-0.1.1`, over plain HTTP (debug builds accept it; release builds want
/// https). Returns its base URL; it stops with the test's runtime.
async fn serve_feed(payload: Vec<u8>, signature: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("its address"));
    let mut feed = Feed {
        version: "0.1.1".into(),
        notes: "Calls ring after the laptop wakes.\nThe tray keeps the phone.".into(),
        pub_date: "2026-12-07T12:00:00Z".into(),
        platforms: Default::default(),
    };
    let url = format!("{base}/softphone-0.1.1");
    feed.platforms.insert("linux-x86_64".into(), PlatformPayload { url, signature });
    let feed_json = std::sync::Arc::new(feed.to_json().into_bytes());
    let payload = std::sync::Arc::new(payload);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (feed_json, payload) = (feed_json.clone(), payload.clone());
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&request).lines().next().unwrap_or_default().to_owned();
                let (status, kind, body): (&str, &str, &[u8]) = if line.starts_with("GET /latest.json") {
                    ("200 OK", "application/json", &feed_json)
                } else if line.starts_with("GET /softphone-0.1.1") {
                    ("200 OK", "application/octet-stream", &payload)
                } else {
                    ("404 Not Found", "text/plain", b"not here")
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(body).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    base
}

fn env_for_updates(feed_base: &str, keys: &UpdateKeys, first_check_ms: u64) -> Vec<(String, String)> {
    vec![
        ("SOFTPHONE_UPDATE_FEED".into(), format!("{feed_base}/latest.json")),
        ("SOFTPHONE_UPDATE_PUBKEY".into(), keys.public_key_for_config.clone()),
        ("SOFTPHONE_UPDATE_FIRST_CHECK_MS".into(), first_check_ms.to_string()),
    ]
}

/// Waits for the app process started with `data_home` to be one other than `old_pid`, running.
async fn until_relaunched(data_home: &Path, old_pid: u32, log: impl Fn() -> String) -> u32 {
    let deadline = Instant::now() + common::UI_TIMEOUT;
    loop {
        if let Some(pid) = common::app_pid_in(data_home)
            && pid != old_pid
            && !Path::new(&format!("/proc/{old_pid}")).exists()
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "the app did not restart into the update\n{}", log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The log lines written since the app last said it started as `version`.
fn log_since_start_as(data_home: &Path, version: &str) -> Option<String> {
    let log = common::log_text_in(data_home);
    let marker = format!("softphone started version={version}");
    log.rfind(&marker).map(|at| log[at..].to_owned())
}

/// Clicks the status bar's notice, and waits until Settings → Updates has been scrolled into
/// view (a click while the page still scrolls would land elsewhere).
async fn open_updates_from_the_notice(app: &App) {
    app.find("#update-notice").await.click().await.expect("the notice opens Settings");
    let deadline = Instant::now() + common::UI_TIMEOUT;
    loop {
        let in_view = app
            .client
            .execute(
                "const section = document.getElementById('settings-updates');
                 if (!section) return false;
                 const box = section.getBoundingClientRect();
                 return box.top >= 0 && box.bottom <= window.innerHeight;",
                vec![],
            )
            .await
            .ok()
            .and_then(|value| value.as_bool())
            .unwrap_or(false);
        if in_view {
            return;
        }
        assert!(Instant::now() < deadline, "Settings → Updates never came into view");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Ends a process this test started (the app restarted into the update, outside tauri-driver).
fn stop(pid: u32) {
    let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_installs_between_calls_with_consent_and_the_app_comes_back_on_it_logged_in() {
    let payload = std::fs::read(payload_0_1_1()).expect("the payload is read");
    let keys = UpdateKeys::generate(None).expect("a key pair for this run");
    let signature = sign_update(&keys.secret_key_file, None, &payload, "softphone-0.1.1", "0.1.1").expect("signed");
    let feed = serve_feed(payload.clone(), signature).await;
    let (_install_dir, installed) = install_app();
    let account = RealAccount::start(&common::random_hex()).await;
    let launch = |data_home| {
        let mut launch = account.launch(data_home, "info");
        launch.env.extend(env_for_updates(&feed, &keys, 1000));
        launch.binary = Some(installed.clone());
        launch
    };

    let app = App::launch_with(launch(None)).await;
    app.wait_for_text("#app-version", |text| text == "v0.1.0").await;
    account.save_in_settings(&app).await;
    // Found at start, without the agent asking.
    app.wait_for_text("#update-notice", |text| text == "Update 0.1.1 available").await;

    // A call is up: the update waits for it.
    common::ring_and_answer(&app, &account, TONE_NUMBER).await;
    open_updates_from_the_notice(&app).await;
    app.wait_for_text("#update-status", |text| text == "Version 0.1.1 is ready to install.").await;
    let notes = app.wait_for_text("#update-notes", |text| text.contains("Calls ring after the laptop wakes.")).await;
    assert!(notes.contains("The tray keeps the phone."), "{notes}");
    let install = app.find("#update-install").await;
    assert_eq!(install.prop("disabled").await.expect("read").as_deref(), Some("true"), "no install during a call");
    app.wait_for_text("#update-waits", |text| text.contains("finish this call first")).await;
    let refused = common::invoke(&app, "install_update", serde_json::json!({})).await;
    assert_eq!(refused["failed"]["code"], "CallRefused", "the shell refuses too: {refused}");
    app.screenshot("update-waits-for-the-call").await;
    app.find("#calls-panel .hangup").await.click().await.expect("hang up");
    app.wait_for_text("#calls-panel .call-state", |text| text.starts_with("Ended")).await;

    // Between calls, the agent agrees: installed, and the app restarts into it.
    let old_pid = app.app_pid();
    let before = std::fs::read(&installed).expect("the installed app");
    assert_ne!(before, payload);
    app.find("#update-install").await.click().await.expect("install");
    let data_home = app.data_home.path().to_owned();
    let new_pid = until_relaunched(&data_home, old_pid, || common::log_text_in(&data_home)).await;
    assert!(std::fs::read(&installed).expect("the installed app") == payload, "the binary is the update's");
    let deadline = Instant::now() + common::UI_TIMEOUT;
    let relaunched = loop {
        if let Some(log) = log_since_start_as(&data_home, "0.1.1")
            && log.contains("state=Ready")
        {
            break log;
        }
        assert!(Instant::now() < deadline, "0.1.1 never got ready\n{}", common::log_text_in(&data_home));
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        relaunched.contains("account ready demo=false") && !relaunched.contains("built-in simulator is listening"),
        "the account, not demo mode, came back:\n{relaunched}"
    );
    let installed_log = common::log_text_in(&data_home);
    assert!(installed_log.contains("update installed; restarting into it"), "{installed_log}");
    // The restarted app runs outside tauri-driver: stopped here, and opened again under it to
    // look at its window.
    stop(new_pid);
    let data_home = app.quit().await;

    let app = App::launch_with(launch(Some(data_home))).await;
    app.wait_for_text("#app-version", |text| text == "v0.1.1").await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    app.open("settings").await;
    app.wait_for_text("#settings-mode", |text| text == "Telnyx account").await;
    app.wait_for_text("#update-status", |text| text == "This is the newest version.").await;
    app.open("calls").await;
    app.wait_for_text("#call-log", |text| text.contains("+1 555-555-0100")).await;
    app.screenshot("update-came-back-on-0.1.1").await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_signed_with_another_key_is_refused_and_nothing_changes() {
    let payload = std::fs::read(payload_0_1_1()).expect("the payload is read");
    let keys = UpdateKeys::generate(None).expect("the app's key for this run");
    let impostor = UpdateKeys::generate(None).expect("another key");
    let signature = sign_update(&impostor.secret_key_file, None, &payload, "softphone-0.1.1", "0.1.1").expect("signed");
    let feed = serve_feed(payload, signature).await;
    let (_install_dir, installed) = install_app();
    let before = std::fs::read(&installed).expect("the installed app");
    let mut launch = Launch::default();
    // The first look waits: the agent asks.
    launch.env.extend(env_for_updates(&feed, &keys, 600_000));
    launch.binary = Some(installed.clone());
    let app = App::launch_with(launch).await;
    let pid = app.app_pid();
    app.open("settings").await;
    app.wait_for_text("#update-status", |text| text.contains("looks for updates when it starts")).await;
    app.find("#update-check").await.click().await.expect("check");
    app.wait_for_text("#update-notice", |text| text == "Update 0.1.1 available").await;
    app.find("#update-install").await.click().await.expect("install");
    let said = app.wait_for_text("#update-status", |text| text.contains("not signed")).await;
    assert_eq!(
        said,
        "The download of version 0.1.1 is not signed with this app's update key, so it was not installed. \
         Your version stays as it is."
    );
    let offered = app.client.find_all(fantoccini::Locator::Css("#update-install")).await.expect("read").len();
    assert_eq!(offered, 0, "a payload that failed its signature is not offered again");
    app.screenshot("update-refused-bad-signature").await;
    assert!(std::fs::read(&installed).expect("the installed app") == before, "the binary is untouched");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(app.app_pid(), pid, "the app did not restart");
    app.wait_for_text("#app-version", |text| text == "v0.1.0").await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    app.close().await;
}

/// Keeps a file immutable (`chattr +i`: not even root may replace it) until dropped.
struct Immutable(PathBuf);

impl Immutable {
    fn make(path: &Path) -> Immutable {
        let made = std::process::Command::new("chattr").arg("+i").arg(path).status().expect("chattr runs (e2fsprogs)");
        assert!(made.success(), "{} could not be made immutable", path.display());
        Immutable(path.to_owned())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_that_cannot_be_written_says_why_and_the_app_goes_on() {
    let payload = std::fs::read(payload_0_1_1()).expect("the payload is read");
    let keys = UpdateKeys::generate(None).expect("a key pair for this run");
    let signature = sign_update(&keys.secret_key_file, None, &payload, "softphone-0.1.1", "0.1.1").expect("signed");
    let feed = serve_feed(payload, signature).await;
    let (_install_dir, installed) = install_app();
    let before = std::fs::read(&installed).expect("the installed app");
    let mut launch = Launch::default();
    launch.env.extend(env_for_updates(&feed, &keys, 1000));
    launch.binary = Some(installed.clone());
    let app = App::launch_with(launch).await;
    let pid = app.app_pid();
    app.wait_for_text("#update-notice", |text| text == "Update 0.1.1 available").await;
    // The installed app cannot be replaced (as an install the agent may not write to).
    let _locked = Immutable::make(&installed);
    open_updates_from_the_notice(&app).await;
    app.find("#update-install").await.click().await.expect("install");
    let said = app.wait_for_text("#update-status", |text| text.contains("could not be installed")).await;
    assert!(
        said.starts_with("Version 0.1.1 could not be installed (") && said.ends_with("Your version stays as it is."),
        "{said}"
    );
    app.wait_for_text("#update-install", |text| text == "Install 0.1.1 and restart").await;
    app.screenshot("update-could-not-be-written").await;
    assert!(std::fs::read(&installed).expect("the installed app") == before, "the binary is untouched");
    assert_eq!(app.app_pid(), pid, "the app did not restart");
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    app.close().await;
}
