//! The voicemail greeting recorded in the app: from the microphone (the fake one plays 880 Hz),
//! listened to on the speaker, then dropped into a call an answering machine took: the machine
//! records it (880 Hz, for as long as it was recorded), and the call ends by itself when it has
//! played. (That the greeting, not the live microphone, is sent is shown with a 700 Hz greeting in
//! `dial_twenty.rs` and the engine's tests.)

mod common;

use common::{App, until_sim, until_speaker_plays};

/// The simulator's answering machine.
const VOICEMAIL: &str = "+15555550112";

#[tokio::test]
async fn a_greeting_recorded_from_the_microphone_is_played_back_and_left_on_a_voicemail() {
    let app = App::launch().await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    app.open("lists").await;
    app.wait_for_text("#greeting-none", |text| text.starts_with("No greeting yet")).await;
    app.find("#greeting-record").await.click().await.expect("record");
    app.wait_for_text("#greeting-recording", |text| text.ends_with("0:02")).await;
    app.screenshot("greeting-recording").await;
    app.find("#greeting-record-stop").await.click().await.expect("stop and save");
    let saved = app.wait_for_text("#greeting-status", |text| text.starts_with("Recorded")).await;
    assert!(saved.starts_with("Recorded \"my-greeting\" (0:0"), "{saved}");
    app.wait_for_text("#greeting-chosen", |text| text.starts_with("my-greeting")).await;

    // Listened to on the speaker: the microphone's 880 Hz, as recorded.
    app.find("#greeting-play").await.click().await.expect("play");
    until_speaker_plays(&app, 880.0, "the greeting played back").await;
    app.screenshot("greeting-recorded").await;

    // Left on a voicemail: the machine records the greeting.
    app.open("dialer").await;
    app.type_into("#dial-number", VOICEMAIL).await;
    app.find("#dial-call").await.click().await.expect("call");
    let call = until_sim(&app, "the call", |call| call["to"] == VOICEMAIL).await;
    let id = call["id"].as_str().expect("its id").to_owned();
    app.wait_for_text(&format!("#call-{id} .call-state"), |text| text == "Active").await;
    until_sim(&app, "the beep", |call| call["id"] == id.as_str() && !call["voicemail"].is_null()).await;
    app.find(&format!("#call-{id} .voicemail-drop")).await.click().await.expect("drop voicemail");
    let ended =
        until_sim(&app, "the hangup after the greeting", |call| call["id"] == id.as_str() && !call["end"].is_null())
            .await;
    let message = &ended["voicemail"];
    let heard = message["dominant_hz"].as_f64().unwrap_or_else(|| panic!("nothing recorded: {ended}"));
    assert!((heard - 880.0).abs() < 15.0, "the recorded greeting: {ended}");
    assert!(message["recorded_ms"].as_u64().unwrap_or(0) >= 1_500, "{ended}");
    app.close().await;
}
