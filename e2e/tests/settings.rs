//! Settings: what is configured, never the values.

mod common;

use common::App;

#[tokio::test]
async fn settings_show_demo_mode_and_the_keychain_state() {
    let app = App::launch().await;
    app.open("settings").await;

    let mode = app.wait_for_text("#settings-mode", |text| !text.is_empty()).await;
    assert!(mode.starts_with("Demo mode"), "{mode}");
    let keychain = app.wait_for_text("#settings-keychain", |text| !text.is_empty()).await;
    assert!(["Available", "Not available", "Locked"].iter().any(|state| keychain.starts_with(state)), "{keychain}");
    assert_eq!(app.find("#settings-api-key").await.text().await.expect("text"), "Not set");
    assert_eq!(app.find("#settings-connection-id").await.text().await.expect("text"), "Not set");
    let api_key = app.find("#api-key").await;
    assert_eq!(api_key.attr("type").await.expect("type"), Some("password".into()), "the key is never shown");
    app.screenshot("settings").await;

    app.close().await;
}
