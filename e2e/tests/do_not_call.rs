//! Do-not-call in the real window: a list imported from a CSV file; a listed number typed by hand
//! is flagged as it is typed and never reaches the simulator; a lead marked do-not-call cannot be
//! called from its card nor by its number; the list and the mark survive a restart.

mod common;

use common::{App, until_sim};

/// The numbers of two sample leads (softphone_core::demo_leads, Abigail Ellison and Abigail
/// Fischer), which libphonenumber calls valid.
const LISTED_NUMBER: &str = "(305) 555-0124";
const MARKED_LEAD: &str = "Abigail Fischer";
const MARKED_NUMBER: &str = "+1 213-555-0109";
/// The simulator's tone number.
const TONE_NUMBER: &str = "+15555550100";

#[tokio::test]
async fn listed_and_marked_numbers_are_refused_whoever_dials_them() {
    let app = App::launch().await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    let list = app.data_home.path().join("do-not-call.csv");
    std::fs::write(&list, format!("Phone\n{LISTED_NUMBER}\nnot a number\n")).expect("list written");

    app.open("leads").await;
    app.find("#dnc-open").await.click().await.expect("open the do-not-call import");
    app.type_into("#dnc-path", list.to_str().expect("utf-8 path")).await;
    app.find("#dnc-run").await.click().await.expect("import");
    let report = app.wait_for_text(".dnc-report", |text| text.contains("added")).await;
    assert!(report.starts_with("1 added to the do-not-call list, 0 already on it, 1 rejected."), "{report}");
    assert!(report.contains("Line 3"), "the bad row is named by its line: {report}");
    app.screenshot("do-not-call-import").await;

    // The agent types the listed number by hand: the dialer says so before the call...
    app.open("dialer").await;
    app.type_into("#dial-number", LISTED_NUMBER).await;
    let check = app.wait_for_text("#dial-check", |text| text.contains("do-not-call")).await;
    assert_eq!(check, "This number is on the do-not-call list; it is never dialled.");
    app.screenshot("do-not-call-dial-refused").await;
    // ...and Call dials nothing: the next call the agent places reaches the simulator, this one
    // never did.
    app.find("#dial-call").await.click().await.expect("call");
    app.find("#dial-number").await.clear().await.expect("clear the field");
    app.type_into("#dial-number", TONE_NUMBER).await;
    app.wait_for_text("#dial-check", |text| text.starts_with("Valid")).await;
    app.find("#dial-call").await.click().await.expect("call");
    until_sim(&app, "the call after the refused one", |call| call["to"] == TONE_NUMBER).await;
    let dialled: Vec<String> =
        common::sim_calls(&app).await.iter().map(|call| call["to"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(dialled, [TONE_NUMBER], "the listed number never reached the simulator");
    app.find("#calls-panel .hangup").await.click().await.expect("hang up");
    app.wait_for_text("#calls-panel .call-state", |text| text.starts_with("Ended")).await;

    // A lead marked do-not-call: its Call button says so and stays off.
    app.open("leads").await;
    app.type_into("#lead-search", MARKED_LEAD).await;
    app.wait_for_count("#lead-results .lead-row", |count| count == 1).await;
    app.find("#lead-results .lead-row").await.click().await.expect("open the lead");
    app.wait_for_text("#lead-detail .detail-name", |text| text == MARKED_LEAD).await;
    app.find("#lead-do-not-call").await.click().await.expect("mark do-not-call");
    app.wait_for_text("#lead-call", |text| text == "Do not call").await;
    let enabled = app.find("#lead-call").await.is_enabled().await.expect("enabled?");
    assert!(!enabled, "the Call button of a marked lead is off");
    app.screenshot("do-not-call-lead-marked").await;
    // And the shell refuses its number, typed by hand.
    app.open("dialer").await;
    app.find("#dial-number").await.clear().await.expect("clear the field");
    app.type_into("#dial-number", MARKED_NUMBER).await;
    let check = app.wait_for_text("#dial-check", |text| text.contains("do-not-call")).await;
    assert_eq!(check, "This lead is marked do-not-call; it is never dialled.");

    // After a restart the mark and the list are still there.
    let data = app.quit().await;
    let app = App::launch_in(data).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    app.open("leads").await;
    app.type_into("#lead-search", MARKED_LEAD).await;
    app.wait_for_count("#lead-results .lead-row", |count| count == 1).await;
    app.find("#lead-results .lead-row").await.click().await.expect("open the lead");
    app.wait_for_text("#lead-call", |text| text == "Do not call").await;
    let checked = app.find("#lead-do-not-call").await.prop("checked").await.expect("checked?");
    assert_eq!(checked.as_deref(), Some("true"), "the mark survives a restart");
    app.open("dialer").await;
    app.find("#dial-number").await.clear().await.expect("clear the field");
    app.type_into("#dial-number", LISTED_NUMBER).await;
    let check = app.wait_for_text("#dial-check", |text| text.contains("do-not-call")).await;
    assert!(check.contains("do-not-call list"), "the list survives a restart: {check}");
    app.close().await;
}
