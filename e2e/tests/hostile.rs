//! Hostile input in the real window (issue 8): the demo simulator switched to hostile mode
//! (malformed, 1.5 MiB, duplicated, stale and unknown frames after every real one; see
//! `softphone_sim::signaling::hostile`). The app keeps running, stays "Ready", and what it shows
//! about calls stays true: an outbound call goes active and ends, an inbound call rings once,
//! is answered and ends when the caller hangs up, and the call log holds exactly those two.

mod common;

use common::{App, hang_up_as_caller, http, ring_from, until_sim};
use serde_json::json;

async fn set_hostile(app: &App, enabled: bool) {
    let url = format!("{}/control/hostile", app.simulator_url().await);
    let response = http().post(&url).json(&json!({ "enabled": enabled })).send().await.expect("POST /control/hostile");
    assert!(response.status().is_success(), "hostile mode refused: {}", response.status());
}

#[tokio::test]
async fn hostile_frames_leave_the_app_ready_and_its_calls_true() {
    let app = App::launch().await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    set_hostile(&app, true).await;

    // Outbound, from the dialer, to the tone number.
    app.type_into("#dial-number", "+15555550100").await;
    app.find("#dial-call").await.click().await.expect("call");
    app.wait_for_text("#calls-panel .call-state", |text| text == "Active").await;
    until_sim(&app, "the outbound call", |call| call["state"] == "active").await;
    app.find("#calls-panel .hangup").await.click().await.expect("hang up");
    app.wait_for_text("#calls-panel .call-state", |text| text.starts_with("Ended")).await;
    until_sim(&app, "the outbound call's end", |call| !call["end"].is_null()).await;
    app.find("#calls-panel .dismiss").await.click().await.expect("dismiss");
    app.wait_for_count("#calls-panel", |count| count == 0).await;

    // Inbound: one ringing call (duplicated and replayed invites are not new calls).
    let call_id = ring_from(&app, "+14155550142", "Hostile Caller").await;
    app.wait_for_text("#calls-panel .call-state", |text| text == "Ringing").await;
    app.wait_for_count("#calls-panel .call-state", |count| count == 1).await;
    app.find("#calls-panel .answer").await.click().await.expect("answer");
    app.wait_for_text("#calls-panel .call-state", |text| text == "Active").await;
    until_sim(&app, "the answered inbound call", |call| call["id"] == call_id.as_str() && call["state"] == "active")
        .await;
    app.screenshot("hostile-inbound-active").await;
    hang_up_as_caller(&app, &call_id).await;
    app.wait_for_text("#calls-panel .call-state", |text| text.starts_with("Ended")).await;
    app.find("#calls-panel .dismiss").await.click().await.expect("dismiss");
    app.wait_for_count("#calls-panel", |count| count == 0).await;

    // Whatever was replayed since, the window shows no ghost call and the connection is up.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(app.wait_for_count("#calls-panel", |_| true).await, 0, "no ghost call");
    let state = app.wait_for_text("#connection-state", |_| true).await;
    assert_eq!(state, "Ready", "the connection stayed up");

    app.open("calls").await;
    app.wait_for_count("#call-log .log-row", |count| count == 2).await;
    let log = app.wait_for_text("#call-log", |_| true).await;
    assert!(log.contains("+1 415-555-0142") || log.contains("Hostile Caller"), "the inbound call is logged: {log}");
    app.screenshot("hostile-call-log").await;

    // (The call log's lead filter, on these two rows: a lead's name shows only that lead's calls.)
    app.find("#call-log .log-lead .lead-calls").await.click().await.expect("the lead's name");
    app.wait_for_count("#call-log .log-row", |count| count == 1).await;
    let chip = app.wait_for_text("#filter-lead-clear", |text| !text.is_empty()).await;
    assert!(chip.starts_with("Evelyn Patel"), "{chip}");
    app.screenshot("call-log-one-lead").await;
    app.find("#filter-lead-clear").await.click().await.expect("every lead again");
    app.wait_for_count("#call-log .log-row", |count| count == 2).await;
    set_hostile(&app, false).await;
    app.close().await;
}
