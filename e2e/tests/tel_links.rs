//! `tel:` links: the app started with one opens the dialer on the number, and a link clicked while
//! the app runs (a second `softphone tel:...`) is handed to the running window, which the second
//! launch leaves at once. The hand-over goes over the D-Bus session bus, so each scenario gives
//! the app a private one.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{App, Launch};
use softphone_notify::test_support::PrivateBus;

/// How long a second launch may take to hand its link over and exit.
const HAND_OVER_TIMEOUT: Duration = Duration::from_secs(15);

/// `softphone <link>` run as a desktop would, next to the running `app` on `bus`; it must exit
/// by itself, successfully.
async fn open_link(app: &App, bus: &PrivateBus, link: &str) {
    let home = app.data_home.path();
    let mut second = tokio::process::Command::new(common::app_binary())
        .arg(link)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("DBUS_SESSION_BUS_ADDRESS", bus.address())
        .env("SOFTPHONE_FAKE_AUDIO", common::FAKE_AUDIO)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the app binary starts");
    let status = match tokio::time::timeout(HAND_OVER_TIMEOUT, second.wait()).await {
        Ok(status) => status.expect("the second launch's exit status"),
        Err(_) => {
            let _ = second.kill().await;
            panic!("`softphone {link}` did not exit within {HAND_OVER_TIMEOUT:?}: it did not find the running app");
        }
    };
    assert!(status.success(), "`softphone {link}` failed: {status}");
}

async fn dialer_number(app: &App, accept: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + common::UI_TIMEOUT;
    let mut last = None;
    while std::time::Instant::now() < deadline {
        if let Ok(field) = app.client.find(fantoccini::Locator::Css("#dial-number")).await {
            last = field.prop("value").await.ok().flatten();
            if last.as_deref().is_some_and(&accept) {
                return last.unwrap_or_default();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the dialer never showed the expected number; last seen: {last:?}\n{}", app.log_tail());
}

#[tokio::test]
async fn a_tel_link_at_start_or_while_running_opens_the_dialer_on_the_number() {
    let bus = PrivateBus::start().expect("dbus-daemon starts (Debian package dbus)");
    let app = App::launch_with(Launch { args: vec!["tel:+14155550199".into()], ..Launch::on_bus(&bus) }).await;
    let shown = dialer_number(&app, |number| !number.is_empty()).await;
    assert_eq!(shown, "+1 415-555-0199", "the link the app was started with");

    // The agent was elsewhere in the app when the link was clicked.
    app.open("leads").await;
    open_link(&app, &bus, "tel:+14155550100").await;
    app.find("#section-dialer").await;
    let shown = dialer_number(&app, |number| number != "+1 415-555-0199").await;
    assert_eq!(shown, "+1 415-555-0100");
    let check = app.wait_for_text("#dial-check", |text| text.starts_with("Valid")).await;
    assert_eq!(check, "Valid: +1 415-555-0100");
    app.screenshot("tel-link-dialer").await;

    // callto: works the same way.
    open_link(&app, &bus, "callto:+14155550123").await;
    dialer_number(&app, |number| number == "+1 415-555-0123").await;

    // A link with a number that cannot be called: the dialer says why; nothing crashes.
    open_link(&app, &bus, "tel:12").await;
    let shown = dialer_number(&app, |number| number == "12").await;
    assert_eq!(shown, "12", "an invalid number is shown as the link gave it");
    let check = app.wait_for_text("#dial-check", |text| text.contains("too short")).await;
    assert!(check.starts_with("The phone number is too short"), "{check}");
    assert!(app.client.find(fantoccini::Locator::Css(".call-card")).await.is_err(), "no call was placed");
    app.screenshot("tel-link-invalid").await;

    // Still the same, working window.
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    app.close().await;
}
