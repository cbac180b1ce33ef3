//! Settings: what is configured, never the values.

mod common;

use common::{App, script_number, until_sim, until_speaker_plays};

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

#[tokio::test]
async fn the_default_region_reads_national_numbers_and_survives_a_restart() {
    let app = App::launch().await;
    app.open("settings").await;
    let region = app.find("#settings-region").await;
    region.select_by_value("GB").await.expect("choose the United Kingdom");
    // The test devices are listed for the microphone, speaker and ringer.
    app.wait_for_text("#settings-microphone", |text| text.contains("Fake microphone")).await;
    app.find("#save-settings").await.click().await.expect("save");
    app.wait_for_text("#settings-saved", |text| text == "Saved").await;
    app.screenshot("settings-calling").await;

    app.open("dialer").await;
    app.type_into("#dial-number", "020 7946 0958").await;
    let check = app.wait_for_text("#dial-check", |text| text.starts_with("Valid")).await;
    assert_eq!(check, "Valid: +44 20 7946 0958");

    let data = app.quit().await;
    let app = App::launch_in(data).await;
    app.open("settings").await;
    let chosen = app.find("#settings-region").await.prop("value").await.expect("value");
    assert_eq!(chosen.as_deref(), Some("GB"), "the region is remembered");
    app.close().await;
}

#[tokio::test]
async fn a_wrong_api_key_is_refused_with_telnyxs_reason_and_nothing_is_stored() {
    // A Telnyx stand-in that knows one key; the app validates against it before storing.
    let telnyx = softphone_sim::Simulator::start(softphone_sim::SimulatorConfig::default()).await.expect("simulator");
    let app = App::launch_with(common::Launch {
        env: vec![("SOFTPHONE_TELNYX_API_URL".into(), telnyx.base_url())],
        ..common::Launch::default()
    })
    .await;
    app.open("settings").await;
    app.type_into("#api-key", "KEY_not_the_right_one").await;
    app.type_into("#connection-id", "1567510696929005999").await;
    app.find("#save-credentials").await.click().await.expect("save");
    let sentence = app.wait_for_text("#settings-error", |text| !text.is_empty()).await;
    assert!(sentence.contains("API key"), "the agent reads that the key was refused: {sentence}");
    assert!(!sentence.contains("KEY_not_the_right_one"), "the key is never echoed: {sentence}");
    assert_eq!(app.find("#settings-api-key").await.text().await.expect("text"), "Not set", "nothing was stored");
    let field = app.find("#api-key").await.prop("value").await.expect("value").unwrap_or_default();
    assert_eq!(field, "KEY_not_the_right_one", "the agent can correct what they typed");
    app.screenshot("settings-wrong-key").await;
    app.close().await;
    telnyx.shutdown().await;
}

#[tokio::test]
async fn the_teams_own_disposition_is_added_in_settings_and_offered_after_a_call() {
    let app = App::launch().await;
    app.open("settings").await;
    app.wait_for_count("#disposition-settings .disposition", |count| count == 7).await;
    // A standard code cannot be added again as a custom one: the reason is shown.
    app.type_into("#new-disposition", "callback").await;
    app.find("#add-disposition").await.click().await.expect("add");
    let refused = app.wait_for_text("#disposition-error", |text| !text.is_empty()).await;
    assert!(refused.to_lowercase().contains("standard"), "{refused}");
    app.find("#new-disposition").await.clear().await.expect("clear");
    app.type_into("#new-disposition", "Demo booked").await;
    app.find("#add-disposition").await.click().await.expect("add");
    app.wait_for_text("#disposition-settings .disposition.custom .disposition-label", |text| text == "Demo booked")
        .await;
    app.wait_for_count("#disposition-error", |count| count == 0).await;
    app.screenshot("settings-dispositions").await;

    // After a call, the wrap-up form offers it, and the call log keeps it.
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    app.open("dialer").await;
    app.type_into("#dial-number", "+15555550100\u{E007}").await;
    app.wait_for_text("#calls-panel .call-state", |text| text == "Active").await;
    app.find("#calls-panel .hangup").await.click().await.expect("hang up");
    let form = app.find("#calls-panel .wrap-up-disposition").await;
    form.select_by_value("Demo booked").await.expect("the custom disposition is offered");
    app.find("#calls-panel .wrap-up-save").await.click().await.expect("save");
    app.wait_for_count("#calls-panel", |count| count == 0).await;
    app.open("calls").await;
    app.wait_for_text("#call-log .log-row .log-disposition", |text| text == "Demo booked").await;

    // Removed, it is no longer offered; the call keeps it.
    app.open("settings").await;
    app.find("#disposition-settings .remove-disposition").await.click().await.expect("remove");
    app.wait_for_count("#disposition-settings .disposition.custom", |count| count == 0).await;
    app.open("calls").await;
    app.wait_for_text("#call-log .log-row .log-disposition", |text| text == "Demo booked").await;
    app.close().await;
}

#[tokio::test]
async fn the_chosen_ringtone_is_previewed_and_rings_the_next_incoming_call() {
    let app = App::launch().await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    app.open("settings").await;
    app.wait_for_text("#settings-ringtone", |text| text.contains("Classic") && text.contains("Pulse")).await;
    app.find("#settings-ringtone").await.select_by_value("pulse").await.expect("choose Pulse");
    app.find("#settings-ringtone-preview").await.click().await.expect("preview");
    // Pulse beeps at 1200 Hz; the classic ringtone never does.
    until_speaker_plays(&app, 1200.0, "the preview").await;
    app.find("#save-settings").await.click().await.expect("save");
    app.wait_for_text("#settings-saved", |text| text == "Saved").await;
    app.screenshot("settings-ringtone").await;

    let call_id = common::ring_from(&app, "+14155550123", "Ringtone Check").await;
    app.wait_for_text(&format!("#call-{call_id} .call-state"), |text| text == "Ringing").await;
    until_speaker_plays(&app, 1200.0, "the incoming call").await;
    app.find(&format!("#call-{call_id} .decline")).await.click().await.expect("decline");
    app.wait_for_text(&format!("#call-{call_id} .call-state"), |text| text.starts_with("Ended")).await;
    app.close().await;
}

#[tokio::test]
async fn the_accounts_numbers_become_caller_ids_and_a_call_presents_the_local_one() {
    let app = App::launch().await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    // A San Francisco number that answers with a tone.
    script_number(&app, "+14155550177", "tone").await;

    app.open("settings").await;
    app.find("#settings-account-numbers").await.click().await.expect("use my Telnyx numbers");
    let deadline = std::time::Instant::now() + common::UI_TIMEOUT;
    let listed = async || app.find("#settings-caller-numbers").await.prop("value").await.ok().flatten();
    while listed().await.as_deref() != Some("+12125550142\n+14155550142\n+13125550142") {
        assert!(std::time::Instant::now() < deadline, "the account's numbers never came: {:?}", listed().await);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.find("#save-settings").await.click().await.expect("save");
    app.wait_for_text("#settings-saved", |text| text == "Saved").await;
    app.screenshot("settings-caller-numbers").await;

    app.open("dialer").await;
    app.type_into("#dial-number", "(415) 555-0177").await;
    app.wait_for_text("#dial-check", |text| text.starts_with("Valid")).await;
    app.find("#dial-call").await.click().await.expect("call");
    let presented = app.wait_for_text("#calls-panel .call-caller-number", |text| !text.is_empty()).await;
    assert_eq!(presented, "from +1 415-555-0142", "the number sharing the callee's area code");
    let call = until_sim(&app, "the call", |call| call["to"] == "+14155550177").await;
    assert_eq!(call["from"], "+14155550142", "the INVITE carried it: {call}");
    app.wait_for_text("#calls-panel .call-state", |text| text == "Active").await;
    app.screenshot("call-local-presence").await;
    app.close().await;
}
