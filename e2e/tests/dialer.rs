//! The dialer and the calls panel: a number is checked as it is typed, dialing shows the call
//! the shell reports, hanging up ends it, and the call log keeps it.

mod common;

use common::App;
use fantoccini::Locator;

/// WebDriver's Enter key.
const ENTER: &str = "\u{E007}";

#[tokio::test]
async fn dialing_a_valid_number_shows_the_call_and_hang_up_ends_it_in_the_log() {
    let app = App::launch().await;
    app.find("#section-dialer").await;

    // The simulator's no-answer number: it rings for 30 s, long enough to look at the call.
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    // Typed as bare digits, the number is grouped in the field as it grows.
    app.type_into("#dial-number", "5555550103").await;
    let check = app.wait_for_text("#dial-check", |text| text.starts_with("Valid")).await;
    assert_eq!(check, "Valid: +1 555-555-0103");
    assert_eq!(field_value(&app).await, "(555) 555-0103");
    app.type_into("#dial-number", ENTER).await;

    let state = app.wait_for_text("#calls-panel .call-state", |text| !text.is_empty()).await;
    assert_eq!(state, "Dialing");
    let number = app.find("#calls-panel .call-number").await.text().await.expect("number");
    assert_eq!(number, "+1 555-555-0103");
    let card = app.find("#calls-panel .call-card").await;
    let id = card.attr("id").await.expect("id").expect("a call card has an id");
    assert!(id.starts_with("call-"), "{id}");
    app.screenshot("dialer-dialing").await;

    app.find(&format!("#{id} .hangup")).await.click().await.expect("hang up");
    let ended = app.wait_for_text(&format!("#{id} .call-state"), |text| text.starts_with("Ended")).await;
    assert!(ended.len() > "Ended: ".len(), "an ended call says why: {ended}");
    app.find(&format!("#{id} .dismiss")).await;

    app.open("calls").await;
    app.wait_for_count("#call-log .log-row", |count| count == 1).await;
    let row = app.find("#call-log .log-row").await.text().await.expect("row text");
    assert!(row.contains("+1 555-555-0103"), "{row}");
    assert!(row.contains("Redial"), "{row}");
    app.screenshot("calls-log").await;

    // Dismissed, the call leaves the panel but stays in the log.
    app.find(&format!("#{id} .dismiss")).await.click().await.expect("dismiss");
    app.wait_for_count("#calls-panel", |count| count == 0).await;
    app.find("#filter-missed").await.click().await.expect("missed filter");
    app.find("#call-log-empty").await;
    app.find("#filter-outbound").await.click().await.expect("outbound filter");
    app.wait_for_count("#call-log .log-row", |count| count == 1).await;

    // Back in the dialer, the number is among the recent ones; a click puts it in the field.
    app.open("dialer").await;
    let recent = app.wait_for_text(".recent-numbers", |text| text.contains("+1 555-555-0103")).await;
    assert_eq!(recent.matches("555-555-0103").count(), 1, "listed once: {recent}");
    app.screenshot("dialer-recent").await;
    app.find(".recent-number").await.click().await.expect("recent number");
    app.wait_for_text("#dial-check", |text| text == "Valid: +1 555-555-0103").await;
    assert_eq!(field_value(&app).await, "+1 555-555-0103");

    app.close().await;
}

/// What the dialer's number field holds.
async fn field_value(app: &App) -> String {
    let field = app.find("#dial-number").await;
    field.prop("value").await.expect("value").unwrap_or_default()
}

#[tokio::test]
async fn an_invalid_number_shows_why_and_places_no_call() {
    let app = App::launch().await;
    app.find("#section-dialer").await;

    app.type_into("#dial-number", "12").await;
    let check = app.wait_for_text("#dial-check", |text| text.contains("too short")).await;
    assert!(check.starts_with("The phone number is too short"), "{check}");
    app.find("#dial-call").await.click().await.expect("call");
    // The shell refuses it with the same sentence, so it is shown once.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(app.client.find(Locator::Css("#dial-error")).await.is_err(), "the sentence is not repeated");
    app.wait_for_text("#dial-check", |text| text.contains("too short")).await;
    app.screenshot("dialer-invalid").await;
    assert!(app.client.find(Locator::Css(".call-card")).await.is_err(), "no call was placed");

    app.close().await;
}
