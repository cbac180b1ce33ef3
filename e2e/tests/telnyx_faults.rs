//! Telnyx misbehaving, as the agent sees it, with real credentials (a private keychain and the
//! simulator as Telnyx, see `common::RealAccount`):
//!
//! - token minting answers 500 at start-up: the status bar says Error and why, and the phone
//!   gets ready by itself once Telnyx answers again;
//! - the socket drops during an active call: the call stays on screen and comes back (the
//!   simulator sees it reattached with audio), never ended silently;
//! - a punt: the status bar says why the phone is signed out and the call shows that it ended;
//! - a call that outlives its login token: the app logs in again with a fresh one before it
//!   lapses, so a drop long after the first token expired is still recovered.

mod common;

use std::time::{Duration, Instant};

use common::App;
use serde_json::{Value, json};
use softphone_sim::FaultSpec;

/// The simulator's tone number, ringing the app as an inbound caller.
const TONE_NUMBER: &str = "+15555550100";

fn sim_call(account: &common::RealAccount, call_id: &str) -> Value {
    let call = account.sim.switchboard().calls().into_iter().find(|call| call.id == call_id);
    serde_json::to_value(call).expect("a call view serializes")
}

fn hears(call: &Value, hz: f64) -> bool {
    call["heard"]["dominant_hz"].as_f64().is_some_and(|heard| (heard - hz).abs() < 15.0)
}

/// Waits until the simulator hears the agent's microphone (880 Hz) on `call_id`.
async fn until_far_end_hears_the_agent(account: &common::RealAccount, call_id: &str) {
    let deadline = Instant::now() + common::UI_TIMEOUT;
    while !hears(&sim_call(account, call_id), 880.0) {
        assert!(Instant::now() < deadline, "no audio before the drop: {}", sim_call(account, call_id));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// After a drop: the call never shows as ended, and comes back Active, reattached (more often
/// than `reattached_before`), the far end hearing the agent again.
async fn until_recovered(app: &App, account: &common::RealAccount, call_id: &str, reattached_before: u64) {
    let deadline = Instant::now() + common::UI_TIMEOUT;
    loop {
        let state = app.find("#calls-panel .call-state").await.text().await.unwrap_or_default();
        assert!(!state.starts_with("Ended"), "the call was lost with the drop: {state}\n{}", app.log_tail());
        let call = sim_call(account, call_id);
        let back = call["reattached"].as_u64().unwrap_or(0) > reattached_before
            && call["media_connected"] == json!(true)
            && call["end"].is_null()
            && hears(&call, 880.0);
        if back && state == "Active" {
            break;
        }
        assert!(Instant::now() < deadline, "the call never came back: {state}, {call}\n{}", app.log_tail());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telnyx_faults_are_shown_truthfully_and_recovered_from() {
    let account = common::RealAccount::start(&common::random_hex()).await;
    let app = App::launch_with(account.launch(None, "info")).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    account.save_in_settings(&app).await;
    let data_home = app.quit().await;

    // Start-up while token minting fails: the app says so, then recovers on its own.
    let failing = FaultSpec {
        status: Some(500),
        delay_ms: None,
        count: Some(1000),
        retry_after_secs: None,
        ..FaultSpec::default()
    };
    account.sim.state().push_fault(&failing).expect("a fault queued");
    let app = App::launch_with(account.launch(Some(data_home), "info")).await;
    app.wait_for_text("#connection-state", |text| text == "Error").await;
    let reason = app.wait_for_text("#connection-reason", |text| !text.is_empty()).await;
    assert!(reason.contains("Telnyx"), "the status bar says what failed: {reason}");
    app.screenshot("telnyx-faults-minting-fails").await;
    account.sim.state().clear_faults();
    let recovering = Instant::now();
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    eprintln!("telnyx faults: ready {:?} after token minting answered again", recovering.elapsed());

    // A socket drop mid-call: the call is recovered, not hung up.
    let call_id = common::ring_and_answer(&app, &account, TONE_NUMBER).await;
    until_far_end_hears_the_agent(&account, &call_id).await;
    let reattached_before = sim_call(&account, &call_id)["reattached"].as_u64().unwrap_or(0);
    assert_eq!(account.sim.switchboard().drop_sessions("all").expect("the simulator drops the socket"), 1);
    until_recovered(&app, &account, &call_id, reattached_before).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;

    // A punt: signed out, said in the status bar; the call shows it ended.
    assert_eq!(account.sim.switchboard().punt("all").expect("the simulator punts"), 1);
    app.wait_for_text("#connection-state", |text| text == "Error").await;
    let reason = app.wait_for_text("#connection-reason", |text| !text.is_empty()).await;
    assert!(reason.contains("signed this phone out"), "{reason}");
    let state = app.wait_for_text("#calls-panel .call-state", |text| text != "Active").await;
    assert!(state.starts_with("Ended") || state.contains("Failed"), "the call shows it ended: {state}");
    app.screenshot("telnyx-faults-punted").await;
    app.close().await;
}

/// Login tokens of this simulator lapse this long after they are minted (Telnyx: 24 hours).
const SHORT_TOKEN_TTL: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_longer_than_its_login_token_still_recovers_from_a_drop() {
    let account = common::RealAccount::start_with_token_ttl(&common::random_hex(), SHORT_TOKEN_TTL).await;
    let app = App::launch_with(account.launch(None, "info")).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    account.save_in_settings(&app).await;
    let logged_in = Instant::now();

    // The call lasts more than twice the token's life: it stays up all along.
    let call_id = common::ring_and_answer(&app, &account, TONE_NUMBER).await;
    while logged_in.elapsed() < SHORT_TOKEN_TTL * 2 + Duration::from_secs(1) {
        let state = app.find("#calls-panel .call-state").await.text().await.unwrap_or_default();
        assert_eq!(state, "Active", "the call stays up while its token is replaced\n{}", app.log_tail());
        assert_eq!(app.find("#connection-state").await.text().await.unwrap_or_default(), "Ready");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let refreshes = app.log_text().matches("login token refreshed").count();
    assert!(refreshes >= 2, "the app logged in again before each token lapsed ({refreshes} times)\n{}", app.log_tail());

    // Long after the first token expired, the socket drops: the reconnection logs in with the
    // current token (an expired one would be refused and the call lost) and the call comes back.
    let reattached_before = sim_call(&account, &call_id)["reattached"].as_u64().unwrap_or(0);
    assert_eq!(account.sim.switchboard().drop_sessions("all").expect("the simulator drops the socket"), 1);
    until_recovered(&app, &account, &call_id, reattached_before).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    app.screenshot("telnyx-faults-token-outlived").await;
    app.find("#calls-panel .hangup").await.click().await.expect("hang up");
    app.wait_for_text("#calls-panel .call-state", |text| text.starts_with("Ended")).await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_lapsed_while_the_socket_was_down_is_replaced_and_the_call_comes_back() {
    let account = common::RealAccount::start(&common::random_hex()).await;
    let app = App::launch_with(account.launch(None, "info")).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    account.save_in_settings(&app).await;
    let call_id = common::ring_and_answer(&app, &account, TONE_NUMBER).await;
    until_far_end_hears_the_agent(&account, &call_id).await;

    // The laptop slept: its token lapsed (the app's timers did not run) and the socket died.
    let reattached_before = sim_call(&account, &call_id)["reattached"].as_u64().unwrap_or(0);
    account.sim.state().expire_tokens_now();
    assert_eq!(account.sim.switchboard().drop_sessions("all").expect("the simulator drops the socket"), 1);

    // The reconnection's login is refused; the app mints a new token and the call comes back.
    until_recovered(&app, &account, &call_id, reattached_before).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    let log = app.log_text();
    assert!(log.contains("expired"), "the refusal was the lapsed token:\n{}", app.log_tail());
    app.screenshot("telnyx-faults-token-lapsed").await;
    app.find("#calls-panel .hangup").await.click().await.expect("hang up");
    app.wait_for_text("#calls-panel .call-state", |text| text.starts_with("Ended")).await;
    app.close().await;
}
