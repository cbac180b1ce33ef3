//! Calls through the real SDK against the simulator: states, causes, audio both ways, hold,
//! DTMF, and recovery after the socket drops. The numbers are the simulator's directory.

mod common;

use std::time::{Duration, Instant};

use common::{Browser, Sim, TIMEOUT, ready};
use serde_json::{Value, json};

const TONE: &str = "+15555550100";
const BUSY: &str = "+15555550102";

async fn dial(browser: &Browser, number: &str) -> String {
    let id = browser.call_harness("return window.harness.dial(arguments[0])", vec![json!(number)]).await;
    id.as_str().expect("call id").to_owned()
}

async fn inbound_bytes(browser: &Browser, id: &str) -> u64 {
    browser
        .eval_async(
            "const [id, done] = arguments; window.harness.inboundBytes(id).then(done, () => done(0));",
            vec![json!(id)],
        )
        .await
        .as_u64()
        .unwrap_or(0)
}

/// Waits until the browser plays a tone near `hz` from the call.
async fn wait_for_remote_tone(browser: &Browser, id: &str, hz: f64) -> (f64, f64) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let (level, dominant) = browser.remote_audio(id).await;
        if level > -50.0 && (dominant - hz).abs() < 25.0 {
            return (level, dominant);
        }
        assert!(
            Instant::now() < deadline,
            "the browser never played {hz} Hz: level {level:.1} dBFS at {dominant:.0} Hz"
        );
    }
}

/// Waits until the simulator's media hears the browser's fake microphone.
async fn wait_until_sim_hears_the_browser(sim: &Sim, id: &str) -> Value {
    sim.wait_for_call(id, "heard the browser", |call| {
        call["heard"]["packets_received"].as_u64().unwrap_or(0) > 25
            && call["heard"]["level_dbfs"].as_f64().unwrap_or(-200.0) > -60.0
    })
    .await["heard"]
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbound_call_to_the_tone_number_is_active_with_audio_both_ways() {
    let (sim, _page, browser) = ready().await;
    let id = dial(&browser, TONE).await;
    browser.wait_for_call_state(&id, "active").await;

    let (level, hz) = wait_for_remote_tone(&browser, &id, 440.0).await;
    eprintln!("browser plays {hz:.0} Hz at {level:.1} dBFS");
    assert!(inbound_bytes(&browser, &id).await > 1000, "the SDK's stats show audio received");
    let heard = wait_until_sim_hears_the_browser(&sim, &id).await;
    eprintln!("simulator hears {heard}");

    browser.call_harness("window.harness.hangup(arguments[0])", vec![json!(id)]).await;
    let ended = sim.wait_for_call(&id, "ended", |call| call["state"] == "ended").await;
    assert_eq!(ended["end"]["cause"], "NORMAL_CLEARING", "{ended:#}");
    browser.wait_for_call_state(&id, "destroy").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_busy_number_ends_the_call_with_user_busy_486() {
    let (_sim, _page, browser) = ready().await;
    let id = dial(&browser, BUSY).await;
    let hangup = browser.wait_for_call_state(&id, "hangup").await;
    assert_eq!(hangup["cause"], "USER_BUSY", "{hangup}");
    assert_eq!(hangup["causeCode"], 17, "{hangup}");
    assert_eq!(hangup["sipCode"], 486, "{hangup}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbound_call_rings_is_answered_and_carries_audio_both_ways() {
    let (sim, _page, browser) = ready().await;
    let started = sim
        .control(
            "/control/calls/inbound",
            json!({ "from": "+15551234567", "caller_name": "Ada Lead", "playback": { "kind": "tone", "hz": 660 } }),
        )
        .await;
    let id = started["call_id"].as_str().expect("call id").to_owned();
    let ringing = browser.wait_for_call_state(&id, "ringing").await;
    assert_eq!(ringing["direction"], "inbound");
    assert_eq!(ringing["remoteNumber"], "+15551234567");

    browser.call_harness("window.harness.answer(arguments[0])", vec![json!(id)]).await;
    browser.wait_for_call_state(&id, "active").await;
    wait_for_remote_tone(&browser, &id, 660.0).await;
    wait_until_sim_hears_the_browser(&sim, &id).await;

    // The far end hangs up with a cause; the SDK reports it.
    sim.control(
        &format!("/control/calls/{id}/hangup"),
        json!({ "cause": "NORMAL_CLEARING", "cause_code": 16, "sip_code": 200 }),
    )
    .await;
    let hangup = browser.wait_for_call_state(&id, "hangup").await;
    assert_eq!(hangup["cause"], "NORMAL_CLEARING", "{hangup}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_unhold_and_dtmf_reach_the_far_end() {
    let (sim, _page, browser) = ready().await;
    let id = dial(&browser, TONE).await;
    browser.wait_for_call_state(&id, "active").await;

    browser.call_harness("window.harness.hold(arguments[0])", vec![json!(id)]).await;
    browser.wait_for_call_state(&id, "held").await;
    sim.wait_for_call(&id, "held", |call| call["state"] == "held").await;

    browser.call_harness("window.harness.unhold(arguments[0])", vec![json!(id)]).await;
    sim.wait_for_call(&id, "active again", |call| call["state"] == "active").await;

    browser.call_harness("window.harness.dtmf(arguments[0], '1')", vec![json!(id)]).await;
    browser.call_harness("window.harness.dtmf(arguments[0], '5#')", vec![json!(id)]).await;
    let call = sim.wait_for_call(&id, "got the digits", |call| call["dtmf"] == "15#").await;
    assert_eq!(call["dtmf"], "15#");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_socket_mid_call_recovers_the_same_call_with_audio() {
    let (sim, _page, browser) = ready().await;
    let id = dial(&browser, TONE).await;
    browser.wait_for_call_state(&id, "active").await;
    wait_for_remote_tone(&browser, &id, 440.0).await;

    sim.control("/control/sessions/all/drop", json!({})).await;
    browser.wait_for_call_state(&id, "recovering").await;
    let recovered = sim
        .wait_for_call(&id, "reattached", |call| {
            call["reattached"].as_u64().unwrap_or(0) >= 1 && call["media_connected"] == true
        })
        .await;
    assert_eq!(recovered["state"], "active", "{recovered:#}");

    // The SDK shows the same call id active again after recovering, and audio flows again.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let events = browser.events().await;
        let of_call = |event: &&Value| event["type"] == "callUpdate" && event["id"] == id.as_str();
        let recovering_at = events.iter().position(|event| of_call(&event) && event["state"] == "recovering");
        let active_after = recovering_at
            .is_some_and(|at| events[at..].iter().any(|event| of_call(&event) && event["state"] == "active"));
        if active_after {
            break;
        }
        assert!(Instant::now() < deadline, "the call never became active again: {events:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = inbound_bytes(&browser, &id).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(inbound_bytes(&browser, &id).await > before, "audio flows on the recovered call");
}
