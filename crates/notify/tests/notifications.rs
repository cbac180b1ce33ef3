//! Call notifications against a real D-Bus: a private session bus and the recording notification
//! daemon (tests/support/notification_daemon.py) that this test starts and stops by pid. The daemon
//! records what a desktop would show and clicks buttons the way a user would.

use std::process::Command;
use std::time::Duration;

use softphone_notify::test_support::{DaemonOptions, NotifyRecord, PrivateBus, Record, RecordingDaemon};
use softphone_notify::{
    CallAction, CloseReason, IncomingCallNotice, NotificationAction, NotificationEvent, NotificationId, Notifier,
    NotifyError,
};
use tokio::sync::mpsc::UnboundedReceiver;

/// Upper bound for anything to arrive; a healthy run takes milliseconds.
const WAIT: Duration = Duration::from_secs(5);

fn ada(call_id: &str) -> IncomingCallNotice {
    IncomingCallNotice {
        call_id: call_id.into(),
        caller_name: Some("LOVELACE A".into()),
        number_display: "+1 415-555-0100".into(),
        lead_name: Some("Ada Lovelace".into()),
        company: Some("Analytical Engines Ltd".into()),
    }
}

struct Desktop {
    daemon: RecordingDaemon,
    bus: PrivateBus,
}

fn desktop_with(options: &DaemonOptions) -> Desktop {
    let bus = PrivateBus::start().expect("dbus-daemon starts (Debian package dbus)");
    let daemon = RecordingDaemon::start_with(&bus, options).expect("notification daemon starts (python3-dbus)");
    Desktop { daemon, bus }
}

fn desktop() -> Desktop {
    desktop_with(&DaemonOptions::default())
}

async fn notifier(desktop: &Desktop) -> (Notifier, UnboundedReceiver<NotificationEvent>) {
    let notifier = Notifier::connect_to(desktop.bus.address()).await.expect("connects to the private bus");
    let events = notifier.take_events().expect("first take");
    (notifier, events)
}

async fn next_event(events: &mut UnboundedReceiver<NotificationEvent>) -> NotificationEvent {
    tokio::time::timeout(WAIT, events.recv()).await.expect("an event within 5 s").expect("listener alive")
}

fn shown(desktop: &Desktop, id: NotificationId) -> NotifyRecord {
    desktop.daemon.wait_for_notify(|record| record.id == id.0, WAIT).expect("the daemon recorded the notification")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ringing_call_is_an_urgent_persistent_popup_with_answer_and_decline() {
    let desktop = desktop();
    let (notifier, _events) = notifier(&desktop).await;
    assert!(notifier.capabilities().actions && notifier.capabilities().body, "{:?}", notifier.capabilities());

    let id = notifier.show_incoming_call(&ada("call-1")).await.expect("shown");

    let record = shown(&desktop, id);
    assert_eq!(record.summary, "Incoming call: Ada Lovelace");
    assert_eq!(record.body, "+1 415-555-0100\nAnalytical Engines Ltd\nCaller ID: LOVELACE A");
    assert_eq!(record.action_keys(), ["default", "answer", "decline"]);
    assert_eq!(record.action_label("answer"), Some("Answer"));
    assert_eq!(record.action_label("decline"), Some("Decline"));
    assert_eq!(record.expire_timeout, 0, "never expires while ringing");
    assert_eq!(record.hints["urgency"], 2, "critical");
    assert_eq!(record.hint_types["urgency"], "y", "urgency is a byte, as the specification says");
    assert_eq!(record.hints["category"], "call.incoming");
    assert_eq!(record.hints["resident"], true, "stays up after a click until the call changes");
    assert_eq!(record.hints["desktop-entry"], "io.agentsoftphone.desktop");
    assert_eq!(record.hints["suppress-sound"], true, "the app rings itself");
    assert_eq!(record.app_name, "Softphone");
    assert_eq!(desktop.daemon.notifications().len(), 1, "exactly one popup per ring");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_decline_and_body_click_come_back_for_their_call() {
    let desktop = desktop();
    let (notifier, mut events) = notifier(&desktop).await;
    let first = notifier.show_incoming_call(&ada("call-1")).await.expect("shown");
    let second = notifier.show_incoming_call(&ada("call-2")).await.expect("shown");
    assert_ne!(first, second);

    for (id, key, call_id, action) in [
        (second, "answer", "call-2", CallAction::Answer),
        (first, "decline", "call-1", CallAction::Decline),
        (first, "default", "call-1", CallAction::Open),
    ] {
        desktop.daemon.invoke(id.0, key).expect("click");
        assert_eq!(
            next_event(&mut events).await,
            NotificationEvent::Action(NotificationAction { call_id: call_id.into(), action, notification: id }),
            "{key} on {call_id}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn information_is_a_plain_popup_whose_click_comes_back_under_its_topic() {
    let desktop = desktop();
    let (notifier, mut events) = notifier(&desktop).await;
    let id = notifier
        .show_information("tray", "Softphone is still running", "Calls ring here & in the tray.")
        .await
        .expect("shown");

    let record = shown(&desktop, id);
    assert_eq!(record.summary, "Softphone is still running");
    assert_eq!(record.body, "Calls ring here & in the tray.", "as written: this server reads no markup");
    assert_eq!(record.action_keys(), ["default"], "no buttons, a click opens the window");
    assert_eq!(record.hints["urgency"], 1);
    assert_eq!(record.hint_types["urgency"], "y");
    assert_eq!(record.expire_timeout, -1, "goes away as the desktop decides");
    assert_eq!(record.app_name, "Softphone");

    desktop.daemon.invoke(id.0, "default").expect("click");
    assert_eq!(
        next_event(&mut events).await,
        NotificationEvent::Action(NotificationAction {
            call_id: "tray".into(),
            action: CallAction::Open,
            notification: id
        }),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_in_the_first_millisecond_is_not_lost() {
    // The daemon clicks Answer right after answering Notify, before the app could subscribe if it
    // subscribed after sending (notify-rust's order, which loses this click).
    let desktop = desktop_with(&DaemonOptions { click_on_notify: Some("answer".into()), ..DaemonOptions::default() });
    let (notifier, mut events) = notifier(&desktop).await;
    for call in 0..20 {
        let call_id = format!("call-{call}");
        let id = notifier.show_incoming_call(&ada(&call_id)).await.expect("shown");
        assert_eq!(
            next_event(&mut events).await,
            NotificationEvent::Action(NotificationAction { call_id, action: CallAction::Answer, notification: id })
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answered_call_closes_its_popup() {
    let desktop = desktop();
    let (notifier, mut events) = notifier(&desktop).await;
    let id = notifier.show_incoming_call(&ada("call-1")).await.expect("shown");
    desktop.daemon.invoke(id.0, "answer").expect("click Answer");
    assert!(matches!(next_event(&mut events).await, NotificationEvent::Action(_)));

    notifier.close_call("call-1").await.expect("closed");
    assert!(desktop.daemon.wait_for_close(id.0, WAIT), "the daemon was asked to close {id:?}");
    notifier.close_call("call-1").await.expect("closing again does nothing");
    notifier.close(id).await.expect("closing an id the daemon no longer has is not an error");

    // The app's own close is not reported back as an event; the next event is the next call's.
    let next = notifier.show_incoming_call(&ada("call-2")).await.expect("shown");
    desktop.daemon.dismiss(next.0).expect("dismiss");
    assert_eq!(
        next_event(&mut events).await,
        NotificationEvent::Closed { call_id: "call-2".into(), notification: next, reason: CloseReason::Dismissed }
    );
    let closes = desktop.daemon.records().into_iter().filter(|r| matches!(r, Record::CloseNotification { .. }));
    assert_eq!(closes.count(), 2, "close_call once (the second found nothing), close(id) once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updating_a_ringing_call_replaces_its_popup() {
    let desktop = desktop();
    let (notifier, _events) = notifier(&desktop).await;
    let mut notice = ada("call-1");
    notice.lead_name = None;
    notice.company = None;
    let id = notifier.show_incoming_call(&notice).await.expect("shown");
    // The lead lookup finished after the popup went up.
    let updated = notifier.show_incoming_call(&ada("call-1")).await.expect("updated");
    assert_eq!(updated, id, "same popup");

    let records = desktop.daemon.notifications();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].summary, "Incoming call: LOVELACE A");
    assert_eq!(records[0].body, "+1 415-555-0100\nNo matching lead");
    assert_eq!(records[1].replaces_id, id.0);
    assert_eq!(records[1].summary, "Incoming call: Ada Lovelace");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_due_stays_until_the_agent_calls_back() {
    let desktop = desktop();
    let (notifier, mut events) = notifier(&desktop).await;
    let due = notifier.show_callback_due(&ada("callback-7")).await.expect("shown");
    let record = shown(&desktop, due);
    assert_eq!(record.summary, "Callback due: Ada Lovelace");
    assert_eq!(record.hints["category"], "x-softphone.callback");
    assert_eq!(record.hints["urgency"], 1);
    assert_eq!(record.action_keys(), ["default", "call-back"]);
    assert_eq!(record.expire_timeout, 0, "a promise does not time out");

    desktop.daemon.invoke(due.0, "call-back").expect("click Call back");
    assert_eq!(
        next_event(&mut events).await,
        NotificationEvent::Action(NotificationAction {
            call_id: "callback-7".into(),
            action: CallAction::CallBack,
            notification: due
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_call_closes_the_ringing_popup_and_leaves_a_missed_call_notice() {
    let desktop = desktop();
    let (notifier, mut events) = notifier(&desktop).await;
    let ringing = notifier.show_incoming_call(&ada("call-1")).await.expect("shown");
    let missed = notifier.show_missed_call(&ada("call-1")).await.expect("missed shown");
    assert_ne!(missed, ringing);

    let records = desktop.daemon.records();
    assert!(
        matches!(records.as_slice(), [Record::Notify(_), Record::CloseNotification { id, .. }, Record::Notify(_)] if *id == ringing.0),
        "ring, close, missed: {records:#?}"
    );
    let record = shown(&desktop, missed);
    assert_eq!(record.summary, "Missed call: Ada Lovelace");
    assert_eq!(record.hints["category"], "call.unanswered");
    assert_eq!(record.hints["urgency"], 1);
    assert_eq!(record.action_keys(), ["default", "call-back"]);
    assert_eq!(record.expire_timeout, -1, "the desktop decides how long it stays");

    desktop.daemon.invoke(missed.0, "call-back").expect("click Call back");
    assert_eq!(
        next_event(&mut events).await,
        NotificationEvent::Action(NotificationAction {
            call_id: "call-1".into(),
            action: CallAction::CallBack,
            notification: missed
        })
    );
    // Not resident: the click also closes it, as GNOME Shell and dunst do.
    assert!(matches!(
        next_event(&mut events).await,
        NotificationEvent::Closed { reason: CloseReason::Dismissed, notification, .. } if notification == missed
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_escaped_for_servers_that_read_markup() {
    let capabilities = ["actions", "body", "body-markup"].map(String::from).to_vec();
    let desktop = desktop_with(&DaemonOptions { capabilities, ..DaemonOptions::default() });
    let (notifier, _events) = notifier(&desktop).await;
    assert!(notifier.capabilities().body_markup);
    let mut notice = ada("call-1");
    notice.company = Some("Smith & <Sons>".into());
    let id = notifier.show_incoming_call(&notice).await.expect("shown");
    assert!(shown(&desktop, id).body.contains("Smith &amp; &lt;Sons&gt;"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_notification_service_on_the_bus_is_its_own_error() {
    let bus = PrivateBus::start().expect("dbus-daemon starts");
    match Notifier::connect_to(bus.address()).await {
        Err(error @ NotifyError::NoNotificationService { .. }) => {
            assert_eq!(error.code(), "NoNotificationService");
            assert!(error.to_string().contains("ServiceUnknown"), "{error}");
        }
        other => panic!("expected NoNotificationService, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_bus_at_all_is_no_session_bus() {
    let bus = PrivateBus::start().expect("dbus-daemon starts");
    let nowhere = format!("unix:path={}", bus.dir().join("no-such-socket").display());
    match Notifier::connect_to(&nowhere).await {
        Err(error @ NotifyError::NoSessionBus { .. }) => assert_eq!(error.code(), "NoSessionBus"),
        other => panic!("expected NoSessionBus, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_that_goes_away_turns_into_a_coded_error() {
    let desktop = desktop();
    let (notifier, _events) = notifier(&desktop).await;
    let Desktop { daemon, bus } = desktop;
    drop(daemon); // killed by pid: the desktop's notification service crashed
    // The bus drops the name asynchronously; the next Notify after that finds nobody.
    let mut result = notifier.show_incoming_call(&ada("call-1")).await;
    for _ in 0..100 {
        if result.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        result = notifier.show_incoming_call(&ada("call-1")).await;
    }
    assert!(matches!(result, Err(NotifyError::NoNotificationService { .. })), "{result:?}");
    drop(bus);
}

/// `Notifier::connect` reads `DBUS_SESSION_BUS_ADDRESS`. Setting it is unsafe in edition 2024 (and
/// forbidden here), so the scenario runs in a child process of this test binary with the variable set.
#[test]
fn connect_uses_the_session_bus_of_the_environment() {
    let desktop = desktop();
    let child = |address: &str, expect: &str| {
        let output = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", "scenario_connect_from_environment", "--include-ignored", "--nocapture"])
            .env("DBUS_SESSION_BUS_ADDRESS", address)
            .env("SOFTPHONE_NOTIFY_EXPECT", expect)
            .output()
            .expect("scenario runs");
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success() && text.contains("SCENARIO-OK"), "scenario {expect}:\n{text}");
    };
    child(desktop.bus.address(), "shown");
    assert_eq!(desktop.daemon.notifications().len(), 1, "the child's notice reached this daemon");
    child(&format!("unix:path={}", desktop.bus.dir().join("nothing").display()), "NoSessionBus");
}

#[tokio::test]
#[ignore = "run by connect_uses_the_session_bus_of_the_environment in a child process"]
async fn scenario_connect_from_environment() {
    let Ok(expect) = std::env::var("SOFTPHONE_NOTIFY_EXPECT") else {
        return; // only in the child, never against the developer's own desktop
    };
    match (expect.as_str(), Notifier::connect().await) {
        ("shown", Ok(notifier)) => {
            notifier.show_incoming_call(&ada("call-env")).await.expect("shown");
        }
        ("NoSessionBus", Err(NotifyError::NoSessionBus { .. })) => {}
        (expect, other) => panic!("expected {expect}, got {other:?}"),
    }
    println!("SCENARIO-OK");
}
