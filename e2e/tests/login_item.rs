//! Starting at login, as the agent meets it: the login item (an XDG autostart entry in the
//! scenario's own $HOME) appears after the first login to a Telnyx account, Settings turns it off
//! and on, and demo mode never adds one.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::App;

/// The entry tauri-plugin-autostart writes for the product name.
fn login_item(app: &App) -> PathBuf {
    app.data_home.path().join("home/.config/autostart/Softphone.desktop")
}

async fn until_login_item(app: &App, present: bool) {
    let deadline = Instant::now() + common::UI_TIMEOUT;
    while login_item(app).exists() != present {
        let what = if present { "appeared" } else { "went" };
        assert!(Instant::now() < deadline, "the login item never {what}\n{}", app.log_tail());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn save_settings(app: &App) {
    app.find("#save-settings").await.click().await.expect("save");
    app.wait_for_text("#settings-saved", |text| text == "Saved").await;
}

async fn ticked(app: &App, css: &str) -> bool {
    app.find(css).await.prop("checked").await.expect("checked").as_deref() == Some("true")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_telnyx_login_starts_the_app_at_login_and_settings_turn_it_off_and_on() {
    let account = common::RealAccount::start(&common::random_hex()).await;
    let app = App::launch_with(account.launch(None, "info")).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    assert!(!login_item(&app).exists(), "demo mode adds no login item");

    account.save_in_settings(&app).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    until_login_item(&app, true).await;
    let entry = std::fs::read_to_string(login_item(&app)).expect("the login item reads");
    let binary = std::fs::canonicalize(common::app_binary()).expect("the app binary");
    let exec = entry.lines().find(|line| line.starts_with("Exec=")).unwrap_or_else(|| panic!("an Exec line: {entry}"));
    assert!(exec.contains(&*binary.to_string_lossy()), "the entry starts this binary: {exec}");
    assert!(exec.ends_with("--autostart"), "and says it was started at login: {exec}");

    // Settings shows it, and turns it off and on again.
    app.open("settings").await;
    app.find("#settings-start-at-login").await;
    assert!(ticked(&app, "#settings-start-at-login").await, "Settings shows the login item on");
    app.client
        .execute("document.querySelector('#settings-start-at-login').scrollIntoView({ block: 'center' });", vec![])
        .await
        .expect("scroll to the login item");
    app.screenshot("settings-start-at-login").await;
    app.find("#settings-start-at-login").await.click().await.expect("untick");
    save_settings(&app).await;
    until_login_item(&app, false).await;
    app.find("#settings-start-at-login").await.click().await.expect("tick");
    save_settings(&app).await;
    until_login_item(&app, true).await;

    // Off stays off after a restart, even though the account logs in again.
    app.find("#settings-start-at-login").await.click().await.expect("untick");
    save_settings(&app).await;
    until_login_item(&app, false).await;
    let data_home = app.quit().await;
    let app = App::launch_with(account.launch(Some(data_home), "info")).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    app.open("settings").await;
    app.find("#settings-start-at-login").await;
    assert!(!ticked(&app, "#settings-start-at-login").await, "the agent's choice holds");
    assert!(!login_item(&app).exists(), "no login item comes back by itself");
    app.close().await;
}
