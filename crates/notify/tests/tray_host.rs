//! Whether tray icons are shown, against a real D-Bus: a private session bus on which this test
//! plays the panel, owning the StatusNotifierWatcher name and letting it go.

use std::time::Duration;

use softphone_notify::test_support::PrivateBus;
use softphone_notify::{NotifyError, STATUS_NOTIFIER_WATCHER, watch_tray_host};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(5);

async fn next(changes: &mut mpsc::UnboundedReceiver<bool>) -> bool {
    tokio::time::timeout(WAIT, changes.recv()).await.expect("a change within 5 s").expect("the watch runs")
}

async fn panel(bus: &PrivateBus) -> zbus::Connection {
    let connection =
        zbus::connection::Builder::address(bus.address()).expect("an address").build().await.expect("joins");
    connection.request_name(STATUS_NOTIFIER_WATCHER).await.expect("owns the watcher name");
    connection
}

/// Follows `bus`'s tray watcher; what it says arrives on the receiver.
fn watch(bus: &PrivateBus) -> (tokio::task::JoinHandle<Result<(), NotifyError>>, mpsc::UnboundedReceiver<bool>) {
    let (sender, changes) = mpsc::unbounded_channel();
    let address = bus.address().to_owned();
    let watch = tokio::spawn(async move {
        watch_tray_host(Some(&address), move |present| {
            let _ = sender.send(present);
        })
        .await
    });
    (watch, changes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_that_comes_and_goes_is_followed() {
    let bus = PrivateBus::start().expect("dbus-daemon starts (Debian package dbus)");
    let (watch, mut changes) = watch(&bus);

    assert!(!next(&mut changes).await, "no panel yet: no tray");
    let first = panel(&bus).await;
    assert!(next(&mut changes).await, "the panel's watcher came");
    drop(first);
    assert!(!next(&mut changes).await, "the panel went away");
    let _second = panel(&bus).await;
    assert!(next(&mut changes).await, "a new panel");
    watch.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panel_already_there_is_seen_at_once() {
    let bus = PrivateBus::start().expect("dbus-daemon starts (Debian package dbus)");
    let _panel = panel(&bus).await;
    let (watch, mut changes) = watch(&bus);
    assert!(next(&mut changes).await);
    watch.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_bus_is_a_coded_error() {
    let error = watch_tray_host(Some("unix:path=/nonexistent/bus"), |_| {}).await.expect_err("no bus there");
    assert_eq!(error.code(), "NoSessionBus", "{error}");
}
