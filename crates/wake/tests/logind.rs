//! The watcher against a logind stand-in: a private bus the test starts, on which the test emits
//! `PrepareForSleep` from logind's object as systemd-logind does around a suspend.

use std::time::Duration;

use softphone_notify::test_support::PrivateBus;
use softphone_wake::{Power, SleepWatchError, watch_logind};
use tokio::sync::mpsc;

async fn emit_prepare_for_sleep(stand_in: &zbus::Connection, sleeping: bool) {
    stand_in
        .emit_signal(
            None::<&str>,
            "/org/freedesktop/login1",
            "org.freedesktop.login1.Manager",
            "PrepareForSleep",
            &sleeping,
        )
        .await
        .expect("signal emitted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sleep_and_wake_are_heard_from_logind_and_other_signals_are_not() {
    let bus = PrivateBus::start().expect("dbus-daemon starts (Debian package dbus)");
    let (heard, mut power) = mpsc::unbounded_channel();
    let address = bus.address().to_owned();
    tokio::spawn(async move {
        let _ = watch_logind(Some(&address), move |event| {
            let _ = heard.send(event);
        })
        .await;
    });
    let stand_in = zbus::connection::Builder::address(bus.address())
        .expect("address")
        .build()
        .await
        .expect("the stand-in connects");
    // The watcher subscribes asynchronously: emit until the first signal is heard.
    let first = loop {
        emit_prepare_for_sleep(&stand_in, true).await;
        if let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(200), power.recv()).await {
            break event;
        }
    };
    assert_eq!(first, Power::GoingToSleep);
    // Another object's signal of the same name is not logind's.
    stand_in
        .emit_signal(None::<&str>, "/org/example/other", "org.freedesktop.login1.Manager", "PrepareForSleep", &false)
        .await
        .expect("signal emitted");
    emit_prepare_for_sleep(&stand_in, false).await;
    let mut after = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(500), power.recv()).await {
        after.push(event);
    }
    // (More GoingToSleep may come first: the subscription loop above may have sent a few.)
    assert_eq!(after.last(), Some(&Power::Woke), "{after:?}");
    assert_eq!(after.iter().filter(|event| **event == Power::Woke).count(), 1, "the other object's signal: {after:?}");
}

#[tokio::test]
async fn without_a_bus_it_says_why() {
    let error = watch_logind(Some("unix:path=/nonexistent/bus"), |_| {}).await.expect_err("no bus");
    assert!(matches!(error, SleepWatchError::NoBus(_)), "{error:?}");
    assert!(error.to_string().starts_with("No system bus"), "{error}");
}
