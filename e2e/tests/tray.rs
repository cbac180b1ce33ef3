//! The tray icon, as a desktop panel shows it. Each scenario starts a private session bus with a
//! StatusNotifierWatcher on it (tests/support/tray_host.py: the part of a panel that tray icons
//! register with), gives the app that bus, then reads the tray menu the panel would show and
//! clicks its entries the way the agent would (com.canonical.dbusmenu, as the panel does).

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{App, Launch};
use fantoccini::Locator;
use serde_json::Value;
use softphone_notify::test_support::{
    PYTHON, PrivateBus, RecordingDaemon, SUPPORT_DIR, call_test_interface, first_line,
};

/// The first demo lead, on the simulator's tone number.
const LEAD_NUMBER: &str = "+15555550100";

const STATUS_READY: &str = "Status: Ready";
const DO_NOT_DISTURB: &str = "Do not disturb";
const SHOW_OR_HIDE: &str = "Show or hide the window";
const QUIT: &str = "Quit Softphone";

/// The panel's side of the tray on a private bus; stopped by its pid when dropped.
struct TrayHost {
    process: Child,
    address: String,
}

impl TrayHost {
    fn start(bus: &PrivateBus) -> TrayHost {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/tray_host.py");
        let mut process = Command::new(PYTHON)
            .arg(script)
            .args(["--address", bus.address()])
            .env("PYTHONPATH", SUPPORT_DIR)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the tray host starts (python3-dbus, python3-gi)");
        let stdout = process.stdout.take().expect("piped");
        // Owned before waiting, so a host that never gets ready is still stopped by its pid.
        let host = TrayHost { process, address: bus.address().to_owned() };
        let ready = first_line(stdout, "the tray host owning org.kde.StatusNotifierWatcher")
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(ready.trim(), "READY", "the tray host owns org.kde.StatusNotifierWatcher");
        host
    }

    fn call(&self, method: &str, args: &[String]) -> std::io::Result<String> {
        call_test_interface(&self.address, "org.kde.StatusNotifierWatcher", "/StatusNotifierWatcher", method, args)
    }

    /// What the panel shows now: the registered items, their properties and menus.
    fn snapshot(&self) -> Value {
        let json = self.call("Snapshot", &[]).unwrap_or_else(|error| panic!("the tray host's snapshot: {error}"));
        serde_json::from_str(&json).unwrap_or_else(|error| panic!("the snapshot {json:?}: {error}"))
    }

    /// The agent clicks the tray menu's entry `label`.
    fn click(&self, label: &str) {
        if let Err(error) = self.call("Click", &[format!("string:{label}")]) {
            panic!("clicking {label:?} in the tray menu: {error}");
        }
    }

    /// Waits until the newest tray item satisfies `check`, and returns it.
    async fn until_item(&self, app: &App, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + common::UI_TIMEOUT;
        loop {
            let snapshot = self.snapshot();
            if let Some(item) = snapshot["items"].as_array().and_then(|items| items.last()).filter(|item| check(item)) {
                return item.clone();
            }
            assert!(Instant::now() < deadline, "the tray never showed {what}: {snapshot:#}\n{}", app.log_tail());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the tray menu's status line reads `status` (e.g. "Status: In call").
    async fn until_status(&self, app: &App, status: &str) -> Value {
        self.until_item(app, status, |item| entry(item, status).is_some()).await
    }
}

impl Drop for TrayHost {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The labels of the menu entries the agent sees (visible ones; separators as "-").
fn labels(item: &Value) -> Vec<String> {
    menu(item)
        .iter()
        .filter(|entry| entry["visible"] == true)
        .map(|entry| if entry["type"] == "separator" { "-".to_owned() } else { text(&entry["label"]) })
        .collect()
}

fn menu(item: &Value) -> Vec<Value> {
    item["menu"].as_array().cloned().unwrap_or_default()
}

fn entry(item: &Value, label: &str) -> Option<Value> {
    menu(item).into_iter().find(|entry| entry["label"] == label)
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn do_not_disturb_is_ticked(item: &Value) -> bool {
    entry(item, DO_NOT_DISTURB).is_some_and(|entry| entry["toggle_state"] == 1)
}

/// Whether the app has a window on screen (mapped), as the X server says.
fn window_on_screen(app: &App) -> bool {
    pid_has_window_on_screen(app.app_pid())
}

fn pid_has_window_on_screen(pid: u32) -> bool {
    let windows = Command::new("xdotool")
        .args(["search", "--onlyvisible", "--pid", &pid.to_string()])
        .output()
        .expect("xdotool runs (scripts/setup.sh installs it)");
    !String::from_utf8_lossy(&windows.stdout).trim().is_empty()
}

async fn until_window_on_screen(app: &App, on_screen: bool) {
    let deadline = Instant::now() + common::UI_TIMEOUT;
    while window_on_screen(app) != on_screen {
        let state = if on_screen { "shown" } else { "hidden" };
        assert!(Instant::now() < deadline, "the window was never {state}\n{}", app.log_tail());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A desktop session of the scenario's own: its bus, a panel showing tray icons, and a
/// notification service recording what it shows.
struct Desktop {
    bus: PrivateBus,
    tray: TrayHost,
    notifications: RecordingDaemon,
}

impl Desktop {
    fn start() -> Desktop {
        let bus = PrivateBus::start().expect("dbus-daemon starts (Debian package dbus)");
        let tray = TrayHost::start(&bus);
        let notifications = RecordingDaemon::start(&bus).expect("the notification daemon starts");
        Desktop { bus, tray, notifications }
    }
}

/// The app on `bus`, releasing a window 300 ms after it went out of sight (the app waits 2 min:
/// an agent between calls keeps the window).
fn on_bus(bus: &PrivateBus) -> Launch {
    let mut launch = Launch::on_bus(bus);
    launch.env.push(("SOFTPHONE_WINDOW_RELEASE_AFTER_MS".into(), "300".into()));
    launch
}

async fn until_process_gone(app: &App, pid: u32, what: &str) {
    let deadline = Instant::now() + common::UI_TIMEOUT;
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "{what} (pid {pid}) never ended\n{}", app.log_tail());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const STILL_RUNNING: &str = "Softphone is still running";

#[tokio::test]
async fn a_closed_window_leaves_the_phone_in_the_tray_and_a_call_brings_it_back_ringing() {
    let Desktop { bus, tray, notifications } = Desktop::start();
    let app = App::launch_with(on_bus(&bus)).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    tray.until_status(&app, STATUS_READY).await;
    let web_process = app.web_process().expect("the window's web process");

    // The agent closes the window: the app goes on in the tray, without its web process, and
    // says so once.
    app.close_window();
    until_window_on_screen(&app, false).await;
    until_process_gone(&app, web_process, "the closed window's web process").await;
    assert!(Path::new(&format!("/proc/{}", app.app_pid())).exists(), "the app still runs");
    let told = notifications.wait_for_notify(|notify| notify.summary == STILL_RUNNING, common::UI_TIMEOUT);
    assert!(told.is_some(), "the agent is told the phone is still running: {:?}", notifications.notifications());
    tray.until_status(&app, STATUS_READY).await;

    // A call rings: the popup, and the window back on the ringing call.
    common::ring_from(&app, LEAD_NUMBER, "Front desk").await;
    let popup = notifications.wait_for_notify(|notify| notify.summary.starts_with("Incoming call"), common::UI_TIMEOUT);
    assert!(popup.is_some(), "the call pops up: {:?}", notifications.notifications());
    until_window_on_screen(&app, true).await;
    app.follow_window().await;
    app.wait_for_text("#ringing-banner", |text| text.contains("Incoming call")).await;
    app.screenshot("tray-window-back-on-a-ringing-call").await;
    app.find("#ringing-banner .banner-answer").await.click().await.expect("answer from the banner");
    app.wait_for_text("#calls-panel .call-state", |text| text == "Active").await;
    tray.until_status(&app, "Status: In call").await;

    // Closed during the call, the window is only hidden; the call goes on. Once it ends, the
    // hidden window is released.
    let web_process = app.web_process().expect("the new window's web process");
    app.close_window();
    until_window_on_screen(&app, false).await;
    let call = common::sim_calls(&app).await;
    assert!(call.iter().any(|call| call["end"].is_null()), "the call goes on with the window closed: {call:?}");
    assert!(Path::new(&format!("/proc/{web_process}")).exists(), "kept while the call is up");
    let call_id = call.iter().find(|call| call["end"].is_null()).and_then(|call| call["id"].as_str()).expect("id");
    common::hang_up_as_caller(&app, call_id).await;
    until_process_gone(&app, web_process, "the hidden window's web process after the call").await;
    tray.until_status(&app, STATUS_READY).await;
    let told = notifications.notifications().into_iter().filter(|notify| notify.summary == STILL_RUNNING).count();
    assert_eq!(told, 1, "told once, not at every close");
    app.close().await;
}

#[tokio::test]
async fn started_at_login_it_waits_in_the_tray_ready_and_a_call_opens_the_window() {
    let Desktop { bus, tray, notifications } = Desktop::start();
    let app = App::launch_with(on_bus(&bus)).await;
    app.open("settings").await;
    app.find("#settings-start-at-login").await.click().await.expect("tick start at login");
    app.find("#settings-start-in-tray").await.click().await.expect("tick wait in the tray");
    app.find("#save-settings").await.click().await.expect("save");
    app.wait_for_text("#settings-saved", |text| text == "Saved").await;
    let data_home = app.quit().await;

    // The login item starts the app. WebDriver's session waits for a window, which the app in
    // the tray does not make: the scenario watches the app from outside meanwhile.
    let data_path = data_home.path().to_owned();
    let mut launch = on_bus(&bus);
    launch.data_home = Some(data_home);
    launch.args = vec!["--autostart".into()];
    let earlier_starts = common::log_text_in(&data_path).matches("softphone started").count();
    let earlier_icons = tray.snapshot()["registrations"].as_u64().unwrap_or(0);
    let launching = tokio::spawn(App::launch_with(launch));
    let deadline = Instant::now() + common::UI_TIMEOUT;
    while common::log_text_in(&data_path).matches("softphone started").count() == earlier_starts {
        assert!(Instant::now() < deadline, "the app was never started at login");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deadline = Instant::now() + common::UI_TIMEOUT;
    let pid = loop {
        let snapshot = tray.snapshot();
        let ready = snapshot["registrations"].as_u64().unwrap_or(0) > earlier_icons
            && snapshot["items"]
                .as_array()
                .and_then(|items| items.last().cloned())
                .is_some_and(|item| entry(&item, STATUS_READY).is_some());
        if let Some(pid) = common::app_pid_in(&data_path).filter(|_| ready) {
            break pid;
        }
        assert!(Instant::now() < deadline, "the tray never said Ready\n{}", common::log_text_in(&data_path));
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Ready in the tray: this start's simulator is the last one logged.
    let simulator = common::simulator_url_in(&data_path).await;
    assert!(!pid_has_window_on_screen(pid), "no window at login\n{}", common::log_text_in(&data_path));
    assert_eq!(common::web_processes_of(pid), Vec::<u32>::new(), "no web process in the tray");

    // A call: the popup, then the window, on the ringing call.
    common::ring_through(&simulator, LEAD_NUMBER, "Front desk").await;
    let popup = notifications.wait_for_notify(|notify| notify.summary.starts_with("Incoming call"), common::UI_TIMEOUT);
    assert!(popup.is_some(), "the call pops up: {:?}", notifications.notifications());
    let app = tokio::time::timeout(common::UI_TIMEOUT, launching)
        .await
        .expect("WebDriver's session began with the window")
        .expect("the launch did not panic");
    until_window_on_screen(&app, true).await;
    app.follow_window().await;
    app.wait_for_text("#ringing-banner", |text| text.contains("Incoming call")).await;
    app.find("#ringing-banner .banner-decline").await.click().await.expect("decline from the banner");
    app.wait_for_count("#ringing-banner", |count| count == 0).await;
    app.close().await;
}

#[tokio::test]
async fn without_a_panel_showing_the_tray_closing_the_window_quits() {
    let bus = PrivateBus::start().expect("dbus-daemon starts (Debian package dbus)");
    let app = App::launch_with(on_bus(&bus)).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    // No StatusNotifierWatcher on this bus: an icon would be shown nowhere, so the app quits.
    app.close_window_and_wait().await;
}

#[tokio::test]
async fn the_tray_menu_tells_the_status_and_its_do_not_disturb_turns_calls_away() {
    let Desktop { bus, tray, notifications } = Desktop::start();
    let app = App::launch_with(on_bus(&bus)).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;

    let item = tray.until_status(&app, STATUS_READY).await;
    assert_eq!(labels(&item), [STATUS_READY, "-", DO_NOT_DISTURB, SHOW_OR_HIDE, QUIT]);
    assert_eq!(item["properties"]["Status"], "Active", "the icon is shown: {item:#}");
    assert!(!text(&item["properties"]["IconName"]).is_empty(), "the icon has a picture: {item:#}");
    let status = entry(&item, STATUS_READY).expect("the status line");
    assert_eq!(status["enabled"], false, "the status line is information, not a button");
    let dnd = entry(&item, DO_NOT_DISTURB).expect("the Do Not Disturb entry");
    assert_eq!(dnd["toggle_type"], "checkmark");
    assert_eq!(dnd["toggle_state"], 0, "Do Not Disturb starts off");
    assert_eq!(tray.snapshot()["registrations"], 1, "one tray icon");

    // Do Not Disturb from the tray: the window and the tray say so, and a caller hears busy.
    tray.click(DO_NOT_DISTURB);
    app.wait_for_text("#dnd-toggle", |text| text == "Do not disturb: on").await;
    let item = tray.until_status(&app, "Status: Do not disturb").await;
    assert!(do_not_disturb_is_ticked(&item), "the entry is ticked: {item:#}");
    let call_id = common::ring_from(&app, LEAD_NUMBER, "Front desk").await;
    let call =
        common::until_sim(&app, "the call declined", |call| call["id"] == call_id.as_str() && !call["end"].is_null())
            .await;
    assert_eq!(call["end"]["cause"], "USER_BUSY", "{call}");
    assert_eq!(app.wait_for_text("#missed-badge", |text| !text.is_empty()).await, "1", "logged as missed");
    assert!(app.client.find(Locator::Css("#ringing-banner")).await.is_err(), "it did not ring in the window");
    let popups: Vec<_> = notifications
        .notifications()
        .into_iter()
        .filter(|notify| notify.summary.starts_with("Incoming call"))
        .collect();
    assert!(popups.is_empty(), "no popup while Do Not Disturb is on: {popups:?}");
    app.screenshot("tray-do-not-disturb").await;

    // Off again from the tray.
    tray.click(DO_NOT_DISTURB);
    app.wait_for_text("#dnd-toggle", |text| text == "Do not disturb: off").await;
    let item = tray.until_status(&app, STATUS_READY).await;
    assert!(!do_not_disturb_is_ticked(&item), "the tick is gone: {item:#}");

    // A call: the tray says so while it lasts.
    app.open("dialer").await;
    app.type_into("#dial-number", LEAD_NUMBER).await;
    app.find("#dial-call").await.click().await.expect("call");
    app.wait_for_text("#calls-panel .call-state", |text| text == "Active").await;
    tray.until_status(&app, "Status: In call").await;
    app.find("#calls-panel .hangup").await.click().await.expect("hang up");
    tray.until_status(&app, STATUS_READY).await;
    app.close().await;
}

#[tokio::test]
async fn the_tray_hides_and_brings_back_the_window_and_quits_and_the_next_start_keeps_do_not_disturb() {
    let bus = PrivateBus::start().expect("dbus-daemon starts (Debian package dbus)");
    let tray = TrayHost::start(&bus);
    let app = App::launch_with(on_bus(&bus)).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    tray.until_status(&app, STATUS_READY).await;
    assert!(window_on_screen(&app), "the window starts on screen");

    // Hidden with no call up, the window is released with its web process, and made again.
    let web_process = app.web_process().expect("the window's web process");
    tray.click(SHOW_OR_HIDE);
    until_window_on_screen(&app, false).await;
    until_process_gone(&app, web_process, "the hidden window's web process").await;
    tray.click(SHOW_OR_HIDE);
    until_window_on_screen(&app, true).await;
    app.follow_window().await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;

    tray.click(DO_NOT_DISTURB);
    tray.until_item(&app, "Do Not Disturb ticked", do_not_disturb_is_ticked).await;

    // Quit from the tray: the app ends by itself and its icon leaves the panel.
    let pid = app.app_pid();
    tray.click(QUIT);
    let deadline = Instant::now() + common::UI_TIMEOUT;
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "the app (pid {pid}) did not quit from the tray\n{}", app.log_tail());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deadline = Instant::now() + common::UI_TIMEOUT;
    while tray.snapshot()["items"].as_array().is_some_and(|items| !items.is_empty()) {
        assert!(Instant::now() < deadline, "the icon stayed in the panel: {:#}", tray.snapshot());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let data_home = app.quit().await;

    // The next start remembers Do Not Disturb, in the tray as in the window.
    let mut launch = on_bus(&bus);
    launch.data_home = Some(data_home);
    let app = App::launch_with(launch).await;
    app.wait_for_text("#dnd-toggle", |text| text == "Do not disturb: on").await;
    let item = tray.until_status(&app, "Status: Do not disturb").await;
    assert!(do_not_disturb_is_ticked(&item), "ticked after the restart: {item:#}");
    assert_eq!(tray.snapshot()["items"].as_array().map(Vec::len), Some(1), "one icon after the restart");
    app.close().await;
}

/// Milliseconds since the Unix epoch, on the machine's clock (the page's `performance.timeOrigin`
/// is on the same clock).
fn epoch_ms() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |since| since.as_secs_f64() * 1e3)
}

/// When the page painted the User Timing mark `name` (ui/src/paint_marks.rs), in epoch ms.
async fn painted_at(app: &App, name: &str) -> f64 {
    let deadline = Instant::now() + common::UI_TIMEOUT;
    loop {
        let at = app
            .client
            .execute(
                "const mark = performance.getEntriesByName(arguments[0])[0];
                 return mark ? performance.timeOrigin + mark.startTime : null;",
                vec![serde_json::json!(name)],
            )
            .await
            .ok()
            .and_then(|value| value.as_f64());
        if let Some(at) = at {
            return at;
        }
        assert!(Instant::now() < deadline, "the page never painted {name}\n{}", app.log_tail());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// PSS of the app and every process under it, in MiB, and by process name.
fn pss_mib(app: &App) -> (f64, String) {
    let tree = common::process_tree(app.app_pid());
    let mut total = 0;
    let mut parts = Vec::new();
    for pid in tree {
        if let Some((pss, private, _)) = common::memory_kib(pid) {
            total += pss;
            let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            parts.push(format!("{} {:.0}, private {:.0}", name.trim(), pss as f64 / 1024.0, private as f64 / 1024.0));
        }
    }
    (total as f64 / 1024.0, parts.join(", "))
}

async fn release_the_window(app: &App) {
    let web_process = app.web_process().expect("the window's web process");
    app.close_window();
    until_window_on_screen(app, false).await;
    until_process_gone(app, web_process, "the released window's web process").await;
}

fn report(what: &str, mut samples: Vec<f64>) {
    samples.sort_by(f64::total_cmp);
    let rank = |fraction: f64| samples[((samples.len() as f64 * fraction).ceil() as usize).clamp(1, samples.len()) - 1];
    println!("{what}: n={} p50={:.0} ms p99={:.0} ms max={:.0} ms", samples.len(), rank(0.5), rank(0.99), rank(1.0));
}

/// The window released into the tray: memory with the window open and in the tray, and how long
/// the agent waits for the window: an inbound call → the window painted with the ringing call;
/// the tray's Show → the window painted with the connection's state. `TRAY_BENCH_RUNS` (default
/// 10) of each. Run: `SOFTPHONE_APP_BIN=… xvfb-run -a cargo test -p softphone-e2e --test tray
/// bench_ -- --ignored --nocapture`. Figures only: no timing is asserted.
#[tokio::test]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn bench_tray_memory_and_window_latency() {
    let runs: usize = std::env::var("TRAY_BENCH_RUNS").ok().and_then(|runs| runs.parse().ok()).unwrap_or(10);
    let Desktop { bus, tray, notifications } = Desktop::start();
    let app = App::launch_with(on_bus(&bus)).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    tray.until_status(&app, STATUS_READY).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let open = pss_mib(&app);
    release_the_window(&app).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let in_tray = pss_mib(&app);

    let (mut inbound, mut popup, mut shown) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs {
        let rang = epoch_ms();
        let call_id = common::ring_from(&app, LEAD_NUMBER, &format!("Caller {run}")).await;
        until_window_on_screen(&app, true).await;
        app.follow_window().await;
        inbound.push(painted_at(&app, paint_marks::RINGING_SHOWN).await - rang);
        let popped = notifications
            .wait_for_notify(|notify| notify.body.contains(&format!("Caller {run}")), common::UI_TIMEOUT)
            .expect("the popup");
        popup.push(popped.received_unix_ns as f64 / 1e6 - rang);
        common::hang_up_as_caller(&app, &call_id).await;
        app.wait_for_count("#ringing-banner", |count| count == 0).await;
        release_the_window(&app).await;

        let clicked = epoch_ms();
        tray.click(SHOW_OR_HIDE);
        until_window_on_screen(&app, true).await;
        app.follow_window().await;
        shown.push(painted_at(&app, paint_marks::STATE_SHOWN).await - clicked);
        release_the_window(&app).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let in_tray_after = pss_mib(&app);
    println!("\ntray benchmark ({runs} runs; app {}):", common::app_binary().display());
    for (when, (total, parts)) in
        [("window open", open), ("in the tray", in_tray), ("in the tray after the runs", in_tray_after)]
    {
        println!("PSS of all processes, {when}: {total:.0} MiB ({parts})");
    }
    report("inbound call -> window painted with the ringing call", inbound);
    report("inbound call -> popup shown", popup);
    report("tray Show -> window painted with the connection state", shown);
    app.close().await;
}

/// The tray's memory as an agent has it: logged in to a Telnyx account (the simulator runs in this
/// test, not in the app as in demo mode). Run as the benchmark above.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn bench_tray_memory_on_an_account() {
    let account = common::RealAccount::start(&common::random_hex()).await;
    let tray = TrayHost::start(&account.bus);
    let app = App::launch_with(account.launch(None, "info")).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    account.save_in_settings(&app).await;
    let data_home = app.quit().await;
    // The next morning: the account from the keychain, no simulator in the app.
    let mut launch = account.launch(Some(data_home), "info");
    launch.env.push(("SOFTPHONE_WINDOW_RELEASE_AFTER_MS".into(), "300".into()));
    let app = App::launch_with(launch).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    tray.until_status(&app, STATUS_READY).await;
    let log = app.log_text();
    let this_start = &log[log.rfind("softphone started").unwrap_or(0)..];
    assert!(!this_start.contains("built-in simulator is listening"), "on the account, no simulator runs in the app");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let open = pss_mib(&app);
    release_the_window(&app).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let in_tray = pss_mib(&app);
    println!("\ntray memory on an account (app {}):", common::app_binary().display());
    for (when, (total, parts)) in [("window open", open), ("in the tray", in_tray)] {
        println!("PSS of all processes, {when}: {total:.0} MiB ({parts})");
    }
    app.close().await;
}

/// The tray over a working hour: an inbound call every `TRAY_SOAK_CALL_EVERY_S` (default 60 s),
/// answered in the window that comes up, talked for 5 s, hung up by the caller; then the window is
/// closed into the tray. With the window released between calls (the default: released 300 ms
/// after it is closed) or kept (`TRAY_SOAK_KEEP_WINDOW=1`: only hidden). PSS of all processes is
/// printed every 10 minutes and at the end, in the tray. `TRAY_SOAK_MINUTES` (default 60). Run:
/// `SOFTPHONE_APP_BIN=… xvfb-run -a cargo test -p softphone-e2e --test tray bench_tray_soak --
/// --ignored --nocapture`. Figures only: nothing is asserted but that every call rang and ended.
#[tokio::test]
#[ignore = "benchmark (an hour): run with --ignored --nocapture"]
async fn bench_tray_soak() {
    let setting = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let minutes = setting("TRAY_SOAK_MINUTES", 60);
    let call_every = Duration::from_secs(setting("TRAY_SOAK_CALL_EVERY_S", 60));
    let keep_window = setting("TRAY_SOAK_KEEP_WINDOW", 0) == 1;
    let Desktop { bus, tray, notifications: _notifications } = Desktop::start();
    let mut launch = Launch::on_bus(&bus);
    let release_after = if keep_window { "86400000" } else { "300" };
    launch.env.push(("SOFTPHONE_WINDOW_RELEASE_AFTER_MS".into(), release_after.into()));
    let app = App::launch_with(launch).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    tray.until_status(&app, STATUS_READY).await;
    let mode = if keep_window { "window kept (hidden)" } else { "window released" };
    let close = |app: &App| {
        let web_process = app.web_process();
        app.close_window();
        web_process
    };
    let web_process = close(&app);
    soak_settle(&app, web_process, keep_window).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (start_pss, start_parts) = pss_mib(&app);
    println!(
        "\ntray soak, {mode}, {minutes} min, a call every {call_every:?} (app {}):",
        common::app_binary().display()
    );
    println!("  0 min, 0 calls: {start_pss:.0} MiB ({start_parts})");
    let began = Instant::now();
    let end = began + Duration::from_secs(minutes * 60);
    let mut next_sample = began + Duration::from_secs(600);
    let mut calls = 0u32;
    while Instant::now() < end {
        let due = Instant::now() + call_every;
        let call_id = common::ring_from(&app, LEAD_NUMBER, &format!("Soak caller {calls}")).await;
        until_window_on_screen(&app, true).await;
        app.follow_window().await;
        app.find("#calls-panel .answer").await.click().await.expect("answer");
        app.wait_for_text("#calls-panel .call-state", |text| text == "Active").await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        common::hang_up_as_caller(&app, &call_id).await;
        app.wait_for_text("#calls-panel .call-state", |text| text.starts_with("Ended")).await;
        calls += 1;
        let web_process = close(&app);
        soak_settle(&app, web_process, keep_window).await;
        if Instant::now() >= next_sample {
            let (pss, parts) = pss_mib(&app);
            println!("  {} min, {calls} calls: {pss:.0} MiB ({parts})", began.elapsed().as_secs() / 60);
            next_sample += Duration::from_secs(600);
        }
        tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (pss, parts) = pss_mib(&app);
    println!("  end, {} min, {calls} calls, in the tray: {pss:.0} MiB ({parts})", began.elapsed().as_secs() / 60);
    app.close().await;
}

/// The window closed in the soak: out of sight, and released unless it is kept.
async fn soak_settle(app: &App, web_process: Option<u32>, keep_window: bool) {
    until_window_on_screen(app, false).await;
    if !keep_window && let Some(web_process) = web_process {
        until_process_gone(app, web_process, "the released window's web process").await;
    }
}

/// The marks of ui/src/paint_marks.rs.
mod paint_marks {
    pub const RINGING_SHOWN: &str = "ringing-shown";
    pub const STATE_SHOWN: &str = "state-shown";
}
