//! Inbound calls an agent never misses, in the real window: each scenario starts a private D-Bus
//! session bus and (unless it tests its absence) the recording notification daemon, and gives the
//! app that bus as `DBUS_SESSION_BUS_ADDRESS`. The demo simulator rings the app; the daemon
//! records what a desktop would show and clicks its buttons the way the agent would.

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{App, Launch};
use fantoccini::Locator;
use softphone_notify::test_support::{NotifyRecord, PrivateBus, Record, RecordingDaemon};

/// The first demo lead, on the simulator's tone number.
const LEAD: &str = "Evelyn Patel";
const LEAD_COMPANY: &str = "Copperfield Printing";
const LEAD_NUMBER: &str = "+15555550100";

/// A desktop session: a private bus, with or without a notification daemon on it.
struct Desktop {
    daemon: Option<RecordingDaemon>,
    bus: PrivateBus,
}

impl Desktop {
    fn with_daemon() -> Desktop {
        let bus = PrivateBus::start().expect("dbus-daemon starts (Debian package dbus)");
        let daemon = RecordingDaemon::start(&bus).expect("the notification daemon starts (python3-dbus)");
        Desktop { daemon: Some(daemon), bus }
    }

    fn without_daemon() -> Desktop {
        Desktop { daemon: None, bus: PrivateBus::start().expect("dbus-daemon starts (Debian package dbus)") }
    }

    fn daemon(&self) -> &RecordingDaemon {
        self.daemon.as_ref().expect("this desktop has a notification daemon")
    }

    /// The app on this desktop's bus, connected to the demo simulator.
    async fn launch_app(&self) -> App {
        let app = App::launch_with(Launch::on_bus(&self.bus)).await;
        app.wait_for_text("#connection-state", |text| text == "Ready").await;
        app
    }

    /// Waits (without blocking the runtime) for a record the daemon made that `matches`.
    async fn until_recorded(&self, app: &App, what: &str, matches: impl Fn(&Record) -> bool) -> Record {
        let deadline = Instant::now() + common::UI_TIMEOUT;
        loop {
            let records = self.daemon().records();
            if let Some(record) = records.iter().find(|record| matches(record)) {
                return record.clone();
            }
            assert!(
                Instant::now() < deadline,
                "the notification daemon never recorded {what}; it recorded {records:#?}\n{}",
                app.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn until_notified(&self, app: &App, summary: &str) -> NotifyRecord {
        let record = self
            .until_recorded(
                app,
                summary,
                |record| matches!(record, Record::Notify(notify) if notify.summary == summary),
            )
            .await;
        let Record::Notify(notify) = record else { unreachable!("matched a Notify") };
        notify
    }

    async fn until_closed(&self, app: &App, id: u32) {
        let what = format!("CloseNotification({id})");
        self.until_recorded(
            app,
            &what,
            |record| matches!(record, Record::CloseNotification { id: closed, .. } if *closed == id),
        )
        .await;
    }

    /// The `Notify` calls whose summary starts with `prefix`.
    fn notified(&self, prefix: &str) -> Vec<NotifyRecord> {
        self.daemon().notifications().into_iter().filter(|notify| notify.summary.starts_with(prefix)).collect()
    }
}

/// The incoming-call notification for the lead, checked for what the agent sees on it.
async fn incoming_notification(desktop: &Desktop, app: &App) -> NotifyRecord {
    let shown = desktop.until_notified(app, &format!("Incoming call: {LEAD}")).await;
    assert!(shown.body.contains(LEAD_COMPANY), "the lead's company is on the notification: {:?}", shown.body);
    assert_eq!(shown.action_keys(), ["default", "answer", "decline"]);
    assert_eq!(shown.action_label("answer"), Some("Answer"));
    assert_eq!(shown.action_label("decline"), Some("Decline"));
    assert_eq!(shown.expire_timeout, 0, "a ringing call's notification does not expire");
    assert_eq!(shown.hints["urgency"], 2, "critical");
    shown
}

#[tokio::test]
async fn a_lead_calling_is_one_notification_and_answer_on_it_connects_the_call() {
    let desktop = Desktop::with_daemon();
    let app = desktop.launch_app().await;

    let call_id = common::ring_from(&app, LEAD_NUMBER, "Front desk").await;
    let shown = incoming_notification(&desktop, &app).await;
    assert!(shown.body.contains("Caller ID: Front desk"), "{:?}", shown.body);
    app.wait_for_text("#calls-panel .call-state", |text| text == "Ringing").await;
    app.find("#ringing-banner").await;
    assert!(
        app.client.find(Locator::Css("#ringing-banner-why")).await.is_err(),
        "notifications work, so the banner does not say they are unavailable"
    );
    assert_eq!(desktop.notified("Incoming call").len(), 1, "one notification per ringing call");

    desktop.daemon().invoke(shown.id, "answer").expect("the agent clicks Answer");
    app.wait_for_text("#calls-panel .call-state", |text| text == "Active").await;
    common::until_sim(&app, "the call answered", |call| call["id"] == call_id.as_str() && call["state"] == "active")
        .await;
    desktop.until_closed(&app, shown.id).await;
    app.wait_for_count("#ringing-banner", |count| count == 0).await;
    app.screenshot("notification-answered").await;

    app.find("#calls-panel .hangup").await.click().await.expect("hang up");
    common::until_sim(&app, "the hang-up", |call| call["id"] == call_id.as_str() && !call["end"].is_null()).await;
    assert!(desktop.notified("Missed call").is_empty(), "an answered call is not missed");
    app.close().await;
}

/// logind's `PrepareForSleep(sleeping)`, as systemd-logind emits it around a suspend, on `bus`.
fn logind_says(bus: &PrivateBus, sleeping: bool) {
    let sent = std::process::Command::new("dbus-send")
        .arg(format!("--bus={}", bus.address()))
        .args(["--type=signal", "/org/freedesktop/login1", "org.freedesktop.login1.Manager.PrepareForSleep"])
        .arg(format!("boolean:{sleeping}"))
        .status()
        .expect("dbus-send runs (Debian package dbus)");
    assert!(sent.success(), "dbus-send: {sent}");
}

/// Waits until the app's log has a line containing `text`.
async fn until_logged(app: &App, text: &str) {
    let deadline = Instant::now() + common::UI_TIMEOUT;
    while !app.log_text().contains(text) {
        assert!(Instant::now() < deadline, "the app never logged {text:?}\n{}", app.log_tail());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The laptop sleeps with the app running and wakes: the socket went silent meanwhile (the
/// simulator freezes the session, as a sleeping computer's socket is neither closed nor
/// answered). On logind's wake signal (a stand-in: the private bus is the system bus here) the
/// app re-registers at once, and a call three seconds later rings, with its notification. Without
/// the wake the silent socket would be noticed only after 25 s of unanswered pings.
#[tokio::test]
async fn after_a_wake_the_phone_registers_again_at_once_and_the_next_call_rings() {
    let desktop = Desktop::with_daemon();
    let mut launch = Launch::on_bus(&desktop.bus);
    launch.env.push(("SOFTPHONE_SYSTEM_BUS_ADDRESS".into(), desktop.bus.address().into()));
    let app = App::launch_with(launch).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    until_logged(&app, "watching logind's sleep signals").await;

    logind_says(&desktop.bus, true);
    let url = format!("{}/control/sessions/all/freeze", app.simulator_url().await);
    let frozen: serde_json::Value = common::http().post(&url).send().await.expect("freeze").json().await.expect("JSON");
    assert_eq!(frozen["sessions"], 1, "{frozen}");
    logind_says(&desktop.bus, false);
    until_logged(&app, "woke up: reconnecting now").await;
    until_logged(&app, "telnyx_rtc socket reopened").await;

    tokio::time::sleep(Duration::from_secs(3)).await;
    common::ring_from(&app, LEAD_NUMBER, "Front desk").await;
    incoming_notification(&desktop, &app).await;
    app.wait_for_text("#calls-panel .call-state", |text| text == "Ringing").await;
    app.screenshot("ringing-after-wake").await;
    app.close().await;
}

#[tokio::test]
async fn decline_on_the_notification_tells_the_caller_busy() {
    let desktop = Desktop::with_daemon();
    let app = desktop.launch_app().await;

    let call_id = common::ring_from(&app, LEAD_NUMBER, "Front desk").await;
    let shown = incoming_notification(&desktop, &app).await;
    desktop.daemon().invoke(shown.id, "decline").expect("the agent clicks Decline");

    let call =
        common::until_sim(&app, "the decline", |call| call["id"] == call_id.as_str() && !call["end"].is_null()).await;
    assert_eq!(call["end"]["cause"], "USER_BUSY", "{call}");
    app.wait_for_text("#calls-panel .call-state", |text| text.contains("Declined")).await;
    desktop.until_closed(&app, shown.id).await;
    assert!(desktop.notified("Missed call").is_empty(), "a declined call gets no missed-call notice");
    app.close().await;
}

#[tokio::test]
async fn a_caller_who_hangs_up_first_leaves_a_missed_call_notice_and_a_badge_on_calls() {
    let desktop = Desktop::with_daemon();
    let app = desktop.launch_app().await;
    assert!(app.client.find(Locator::Css("#missed-badge")).await.is_err(), "nothing missed yet");

    let call_id = common::ring_from(&app, LEAD_NUMBER, "Front desk").await;
    let shown = incoming_notification(&desktop, &app).await;
    app.wait_for_text("#calls-panel .call-state", |text| text == "Ringing").await;
    common::hang_up_as_caller(&app, &call_id).await;

    desktop.until_closed(&app, shown.id).await;
    let missed = desktop.until_notified(&app, &format!("Missed call: {LEAD}")).await;
    assert_eq!(missed.action_keys(), ["default", "call-back"]);
    assert_eq!(missed.hints["urgency"], 1, "a missed call is not urgent");
    assert_eq!(desktop.notified("Incoming call").len(), 1, "the ringing notification was not shown again");
    let badge = app.wait_for_text("#missed-badge", |text| !text.is_empty()).await;
    assert_eq!(badge, "1");
    app.screenshot("missed-badge").await;

    // Opening the call log shows the missed call, and the badge goes: the agent has seen it.
    app.open("calls").await;
    let row = app.wait_for_text("#call-log .log-row.state-missed", |text| !text.is_empty()).await;
    assert!(row.contains(LEAD), "the missed call names the lead: {row}");
    app.wait_for_count("#missed-badge", |count| count == 0).await;

    // Call back on the missed-call notification dials the caller, on the lead.
    desktop.daemon().invoke(missed.id, "call-back").expect("the agent clicks Call back");
    let active = "#calls-panel .call-card.view-active";
    app.wait_for_text(&format!("{active} .call-lead"), |text| text == LEAD).await;
    let direction = app.find(&format!("{active} .call-direction")).await.text().await.expect("direction");
    assert_eq!(direction, "OUTGOING", "as painted (upper case)");
    let number = app.find(&format!("{active} .call-number")).await.text().await.expect("number");
    assert_eq!(number, "+1 555-555-0100");
    let far_end = common::until_sim(&app, "the call back", |call| call["to"] == LEAD_NUMBER).await;
    assert_eq!(far_end["direction"], "outbound", "{far_end}");
    app.screenshot("missed-called-back").await;
    app.close().await;
}

#[tokio::test]
async fn a_callback_that_comes_due_is_a_notification_whose_call_back_dials_the_lead() {
    let desktop = Desktop::with_daemon();
    let app = desktop.launch_app().await;
    // A call to the lead, wrapped up as a callback due in two seconds.
    app.type_into("#dial-number", LEAD_NUMBER).await;
    app.find("#dial-call").await.click().await.expect("call");
    app.wait_for_text("#calls-panel .call-state", |text| text == "Active").await;
    app.find("#calls-panel .hangup").await.click().await.expect("hang up");
    app.wait_for_text("#calls-panel .call-state", |text| text.starts_with("Ended")).await;
    let saved = app
        .client
        .execute_async(
            "const done = arguments[0];
             const invoke = window.__TAURI__.core.invoke;
             invoke('get_calls')
               .then((snapshot) => invoke('wrap_up_call', { callId: snapshot.calls[0].call_id, disposition: 'callback',
                                                            note: '', callbackAtMs: Date.now() + 2000 }))
               .then(() => done(true), (error) => done(JSON.stringify(error)));",
            vec![],
        )
        .await
        .expect("the wrap-up answers");
    assert_eq!(saved, serde_json::json!(true), "the callback was saved");

    let due = desktop.until_notified(&app, &format!("Callback due: {LEAD}")).await;
    assert_eq!(due.action_keys(), ["default", "call-back"]);
    desktop.daemon().invoke(due.id, "call-back").expect("the agent clicks Call back");
    let active = "#calls-panel .call-card.view-active";
    app.wait_for_text(&format!("{active} .call-lead"), |text| text == LEAD).await;
    let calls = common::sim_calls(&app).await;
    assert_eq!(
        calls.iter().filter(|call| call["to"] == LEAD_NUMBER).count(),
        2,
        "the call, then the callback: {calls:?}"
    );
    app.screenshot("callback-called-back").await;
    app.close().await;
}

#[tokio::test]
async fn do_not_disturb_declines_a_call_without_a_popup_and_logs_it_as_missed() {
    let desktop = Desktop::with_daemon();
    let app = desktop.launch_app().await;

    app.find("#dnd-toggle").await.click().await.expect("turn Do Not Disturb on");
    app.wait_for_text("#dnd-toggle", |text| text == "Do not disturb: on").await;
    let call_id = common::ring_from(&app, LEAD_NUMBER, "Front desk").await;

    let call =
        common::until_sim(&app, "the call declined", |call| call["id"] == call_id.as_str() && !call["end"].is_null())
            .await;
    assert_eq!(call["end"]["cause"], "USER_BUSY", "{call}");
    let badge = app.wait_for_text("#missed-badge", |text| !text.is_empty()).await;
    assert_eq!(badge, "1", "the declined call counts as missed");
    assert!(app.client.find(Locator::Css("#ringing-banner")).await.is_err(), "it did not ring in the window");
    assert!(desktop.notified("Incoming call").is_empty(), "no popup while Do Not Disturb is on");
    app.screenshot("do-not-disturb-missed").await;

    app.open("calls").await;
    let row = app.wait_for_text("#call-log .log-row.state-missed", |text| !text.is_empty()).await;
    assert!(row.contains(LEAD), "{row}");

    // Off again, the next call rings with a popup.
    app.find("#dnd-toggle").await.click().await.expect("turn Do Not Disturb off");
    app.wait_for_text("#dnd-toggle", |text| text == "Do not disturb: off").await;
    common::ring_from(&app, LEAD_NUMBER, "Front desk").await;
    incoming_notification(&desktop, &app).await;
    app.close().await;
}

#[tokio::test]
async fn without_a_notification_service_the_window_banner_rings_and_says_why() {
    let desktop = Desktop::without_daemon();
    let app = desktop.launch_app().await;

    let call_id = common::ring_from(&app, LEAD_NUMBER, "Front desk").await;
    let banner = app.wait_for_text("#ringing-banner", |text| text.contains("Incoming call")).await;
    assert!(banner.contains("Front desk"), "the banner names the caller: {banner}");
    let why = app.find("#ringing-banner-why").await.text().await.expect("the banner's explanation");
    assert!(why.contains("no notification service is running"), "{why}");
    app.screenshot("ringing-banner-no-notifications").await;

    app.find("#ringing-banner .banner-decline").await.click().await.expect("decline from the banner");
    let call =
        common::until_sim(&app, "the decline", |call| call["id"] == call_id.as_str() && !call["end"].is_null()).await;
    assert_eq!(call["end"]["cause"], "USER_BUSY", "{call}");
    app.wait_for_count("#ringing-banner", |count| count == 0).await;
    app.close().await;
}

fn unix_ns_now() -> u64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).expect("the clock is after 1970");
    u64::try_from(since_epoch.as_nanos()).expect("fits until 2554")
}

/// A log line's UTC timestamp (`2026-11-23T18:38:02.589327Z ...`, as tracing writes it) in
/// nanoseconds since the Unix epoch.
fn log_line_unix_ns(line: &str) -> Option<u64> {
    let stamp = line.split_whitespace().next()?.strip_suffix('Z')?;
    let (date, time) = stamp.split_once('T')?;
    let mut date = date.split('-').map(str::parse::<i64>);
    let (year, month, day) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let (clock, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut clock = clock.split(':').map(str::parse::<i64>);
    let (hour, minute, second) = (clock.next()?.ok()?, clock.next()?.ok()?, clock.next()?.ok()?);
    let nanos: i64 = format!("{fraction:0<9}").get(..9)?.parse().ok()?;
    // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second;
    u64::try_from(seconds * 1_000_000_000 + nanos).ok()
}

/// When the simulator sent each inbound call's invite on the socket, from the app's log (the
/// simulator logs `inbound call call_id=...` right after pushing the invite).
fn invites_sent(log: &str) -> std::collections::HashMap<String, u64> {
    log.lines()
        .filter(|line| line.contains("inbound call call_id="))
        .filter_map(|line| {
            let call_id = line.split("call_id=").nth(1)?.split_whitespace().next()?.trim_matches('"').to_owned();
            Some((call_id, log_line_unix_ns(line)?))
        })
        .collect()
}

#[test]
fn log_timestamps_are_read_as_unix_time() {
    assert_eq!(log_line_unix_ns("1970-01-01T00:00:01.5Z  INFO x"), Some(1_500_000_000));
    // `date -u -d 2026-11-23T18:38:02.589327Z +%s%N`
    assert_eq!(log_line_unix_ns("2026-11-23T18:38:02.589327Z  INFO x"), Some(1_795_459_082_589_327_000));
    assert_eq!(log_line_unix_ns("2024-02-29T12:00:00.000000Z"), Some(1_709_208_000_000_000_000));
    assert_eq!(log_line_unix_ns("not a log line"), None);
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let rank = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |duration: Duration| duration.as_secs_f64() * 1e3;
    println!(
        "{what}: n={} p50={:.1} ms p99={:.1} ms max={:.1} ms",
        samples.len(),
        ms(percentile(&samples, 0.50)),
        ms(percentile(&samples, 0.99)),
        ms(*samples.last().expect("at least one sample"))
    );
}

/// Benchmark, not a check: how long from the simulator sending the invite on the app's socket
/// (its `inbound call` log line, written right after) to the notification daemon receiving
/// `Notify`, over CALLS (default 200) inbound calls, one at a time, each declined on its
/// notification before the next rings. Also from the control request (before the simulator
/// builds its media offer). All wall-clock times on this machine (the daemon stamps
/// `received_unix_ns`). Prints figures, asserts none.
///
/// `SOFTPHONE_APP_BIN=... xvfb-run -a cargo test -p softphone-e2e --test notifications -- --ignored --nocapture`
#[tokio::test]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn bench_inbound_invite_to_notify() {
    let calls: usize = std::env::var("CALLS").ok().and_then(|value| value.parse().ok()).unwrap_or(200);
    let desktop = Desktop::with_daemon();
    let app = desktop.launch_app().await;
    let summary = format!("Incoming call: {LEAD}");

    let mut rung = Vec::with_capacity(calls);
    let mut to_notify = Vec::with_capacity(calls);
    let mut control_round_trips = Vec::with_capacity(calls);
    for call in 0..calls {
        let asked_ns = unix_ns_now();
        let asked = Instant::now();
        let call_id = common::ring_from(&app, LEAD_NUMBER, "Front desk").await;
        control_round_trips.push(asked.elapsed());
        let shown = loop {
            let shown = desktop.notified(&summary);
            if shown.len() > call {
                break shown[call].clone();
            }
            assert!(asked.elapsed() < common::UI_TIMEOUT, "call {call} was never notified\n{}", app.log_tail());
            // The daemon stamps the time it received `Notify`: polling slower costs no accuracy,
            // and leaves the two cores to the app.
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        to_notify.push(Duration::from_nanos(shown.received_unix_ns.saturating_sub(asked_ns)));
        rung.push((call_id.clone(), shown.received_unix_ns));
        desktop.daemon().invoke(shown.id, "decline").expect("decline on the notification");
        common::until_sim(&app, "the decline", |sim_call| {
            sim_call["id"] == call_id.as_str() && !sim_call["end"].is_null()
        })
        .await;
        desktop.until_closed(&app, shown.id).await;
    }
    let invites = invites_sent(&app.log_text());
    let invite_to_notify: Vec<Duration> = rung
        .iter()
        .filter_map(|(call_id, notified_ns)| {
            Some(Duration::from_nanos(notified_ns.saturating_sub(*invites.get(call_id)?)))
        })
        .collect();
    report("invite sent on the socket -> Notify received by the daemon", invite_to_notify);
    report("control request sent -> Notify received by the daemon", to_notify);
    report("control request round trip (invite pushed before the reply)", control_round_trips);
    app.close().await;
}
