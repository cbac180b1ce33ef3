//! The real SDK's frames are the specification of the simulator's strict mode.
//!
//! One browser works through everything the app does with a call (outbound with custom
//! headers, early media, hold, DTMF, a socket drop while held and the recovery, unhold, hangup;
//! inbound answered with the caller's headers, inbound declined; busy), with the simulator in
//! strict mode. The test then checks, both ways, that `crates/sim/fixtures/sdk-frame-shapes.json`
//! is what this SDK sends: strict mode found nothing in its frames, and every key path of the
//! fixture was sent in this run.
//!
//! When the pinned SDK changes, record the fixture again:
//! `SOFTPHONE_RECORD_SDK_SHAPES=1 cargo test -p softphone-conformance --test sdk_frame_shapes`.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Browser, PageServer, Sim, TIMEOUT};
use serde_json::{Value, json};
use softphone_sim::signaling::frame_shapes::FrameShapes;
use softphone_sim::{SignalingConfig, SimulatorConfig};
use softphone_telnyx::rtc::SDK_PROTOCOL_VERSION;

const TONE: &str = "+15555550100";
const BUSY: &str = "+15555550102";
const EARLY_MEDIA: &str = "+15555550105";

async fn dial(browser: &Browser, number: &str, extra: Value) -> String {
    let id = browser
        .call_harness("return window.harness.dial(arguments[0], arguments[1])", vec![json!(number), extra])
        .await;
    id.as_str().expect("call id").to_owned()
}

async fn act(browser: &Browser, action: &str, id: &str) {
    browser.call_harness(&format!("window.harness.{action}(arguments[0])"), vec![json!(id)]).await;
}

async fn dtmf(sim: &Sim, browser: &Browser, id: &str, digit: &str) {
    let before = sim_call(sim, id).await["dtmf"].as_str().unwrap_or_default().to_owned();
    browser.call_harness("window.harness.dtmf(arguments[0], arguments[1])", vec![json!(id), json!(digit)]).await;
    let wanted = format!("{before}{digit}");
    sim.wait_for_call(id, "got the digit", |call| call["dtmf"] == wanted.as_str()).await;
}

async fn sim_call(sim: &Sim, id: &str) -> Value {
    sim.wait_for_call(id, "known", |_| true).await
}

/// The socket drops; the SDK recovers the call and shows it `state` again.
async fn drop_and_recover(sim: &Sim, browser: &Browser, id: &str, state: &str) {
    let before_drop = browser.events().await.len();
    let reattached = sim_call(sim, id).await["reattached"].as_u64().unwrap_or(0);
    sim.control("/control/sessions/all/drop", json!({})).await;
    let recovering = browser.wait_for_call_state_after(id, "recovering", before_drop).await;
    browser.wait_for_call_state_after(id, state, recovering).await;
    sim.wait_for_call(id, "reattached", |call| call["reattached"].as_u64() == Some(reattached + 1)).await;
}

async fn hang_up_here(sim: &Sim, browser: &Browser, id: &str) {
    act(browser, "hangup", id).await;
    sim.wait_for_call(id, "ended", |call| call["state"] == "ended").await;
}

/// The simulator rings the browser; returns the call id once the SDK shows it ringing.
async fn ring(sim: &Sim, browser: &Browser, body: Value) -> String {
    let started = sim.control("/control/calls/inbound", body).await;
    let id = started["call_id"].as_str().expect("call id").to_owned();
    browser.wait_for_call_state(&id, "ringing").await;
    id
}

fn fixture_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/sim/fixtures/sdk-frame-shapes.json")
}

fn sdk_version() -> String {
    let package = Path::new(env!("CARGO_MANIFEST_DIR")).join("../node_modules/@telnyx/webrtc/package.json");
    let text = std::fs::read_to_string(&package).expect("the SDK is installed (scripts/setup.sh)");
    let package: Value = serde_json::from_str(&text).expect("package.json");
    format!("@telnyx/webrtc {}", package["version"].as_str().expect("version"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recorded_frame_shapes_are_exactly_what_the_sdk_sends() {
    // Pings every second, so every run has the SDK's ping frames whatever its length.
    let signaling = SignalingConfig {
        ping_interval: Duration::from_secs(1),
        answer_delay: Duration::from_millis(300),
        early_media_duration: Duration::from_millis(500),
        ..SignalingConfig::default()
    };
    let sim = Sim::start(SimulatorConfig { signaling, ..SimulatorConfig::default() }).await;
    let audit = sim.running.switchboard().audit();
    let recording = std::env::var_os("SOFTPHONE_RECORD_SDK_SHAPES").is_some();
    audit.set_strict(!recording);
    let page = PageServer::start().await;
    let browser = Browser::open(&page).await;
    let token = sim.mint_token().await;
    browser.connect(&sim.ws_url(), &token).await;
    browser.wait_for_event("telnyx.ready", |event| event["type"] == "ready").await;

    // Every kind of frame in each of its variants, so that a key is required only where the SDK
    // always sends it: with and without custom headers, recovered while held and while active.
    let headers = json!({ "customHeaders": [{ "name": "X-Lead-Id", "value": "42" }], "callerName": "Front desk" });
    let id = dial(&browser, TONE, headers).await;
    browser.wait_for_call_state(&id, "active").await;
    act(&browser, "hold", &id).await;
    browser.wait_for_call_state(&id, "held").await;
    dtmf(&sim, &browser, &id, "1").await;
    drop_and_recover(&sim, &browser, &id, "held").await;
    act(&browser, "unhold", &id).await;
    sim.wait_for_call(&id, "active again", |call| call["state"] == "active").await;
    dtmf(&sim, &browser, &id, "2").await;
    hang_up_here(&sim, &browser, &id).await;

    let id = dial(&browser, TONE, json!({})).await;
    browser.wait_for_call_state(&id, "active").await;
    dtmf(&sim, &browser, &id, "3").await;
    drop_and_recover(&sim, &browser, &id, "active").await;
    act(&browser, "hold", &id).await;
    sim.wait_for_call(&id, "held", |call| call["state"] == "held").await;
    act(&browser, "unhold", &id).await;
    sim.wait_for_call(&id, "active again", |call| call["state"] == "active").await;
    hang_up_here(&sim, &browser, &id).await;

    // Early media, then answered; hung up here. Busy.
    let id = dial(&browser, EARLY_MEDIA, json!({})).await;
    browser.wait_for_call_state(&id, "active").await;
    hang_up_here(&sim, &browser, &id).await;
    let id = dial(&browser, BUSY, json!({})).await;
    browser.wait_for_call_state(&id, "hangup").await;

    // Inbound with the caller's headers: answered, DTMF, held, unheld, hung up here.
    let id = ring(
        &sim,
        &browser,
        json!({ "from": "+15551234567", "caller_name": "Ada Lead",
        "custom_headers": [{ "name": "X-Campaign", "value": "spring" }] }),
    )
    .await;
    act(&browser, "answer", &id).await;
    browser.wait_for_call_state(&id, "active").await;
    dtmf(&sim, &browser, &id, "4").await;
    act(&browser, "hold", &id).await;
    sim.wait_for_call(&id, "held", |call| call["state"] == "held").await;
    act(&browser, "unhold", &id).await;
    sim.wait_for_call(&id, "active again", |call| call["state"] == "active").await;
    hang_up_here(&sim, &browser, &id).await;

    // Inbound without headers: answered, recovered after a drop, hung up here.
    let id = ring(&sim, &browser, json!({ "from": "+15557654321" })).await;
    act(&browser, "answer", &id).await;
    browser.wait_for_call_state(&id, "active").await;
    drop_and_recover(&sim, &browser, &id, "active").await;
    hang_up_here(&sim, &browser, &id).await;

    // Inbound, declined.
    let id = ring(&sim, &browser, json!({ "from": "+15557654322" })).await;
    hang_up_here(&sim, &browser, &id).await;

    // The SDK's pings answer the server's (every second here): wait for one, whatever the timing.
    let deadline = Instant::now() + TIMEOUT;
    while !audit.observed().kinds.contains_key("telnyx_rtc.ping") {
        assert!(Instant::now() < deadline, "the SDK never sent a ping");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut observed = audit.observed();
    if recording {
        observed.sdk = sdk_version();
        observed.regenerate =
            "SOFTPHONE_RECORD_SDK_SHAPES=1 cargo test -p softphone-conformance --test sdk_frame_shapes".to_owned();
        let text = serde_json::to_string_pretty(&observed).expect("shapes serialize") + "\n";
        std::fs::write(fixture_path(), text).expect("the fixture is written");
        eprintln!("recorded {} kinds of frame from {}", observed.kinds.len(), observed.sdk);
        return;
    }

    let fixture = FrameShapes::sdk();
    assert_eq!(fixture.sdk, sdk_version(), "the fixture was recorded from another SDK: record it again");
    assert_eq!(
        fixture.sdk,
        format!("@telnyx/webrtc {SDK_PROTOCOL_VERSION}"),
        "the native engine speaks the protocol of the SDK pinned in package.json (softphone_telnyx::rtc::SDK_PROTOCOL_VERSION)"
    );
    let findings = audit.findings();
    assert_eq!(findings.total, 0, "the SDK sent frames the fixture does not allow: {:#?}", findings.findings);
    let mut unseen = Vec::new();
    for (kind, shape) in &fixture.kinds {
        for path in shape.paths.keys() {
            if !observed.kinds.get(kind).is_some_and(|seen| seen.paths.contains_key(path)) {
                unseen.push(format!("{kind} {path}"));
            }
        }
    }
    assert!(unseen.is_empty(), "the fixture has key paths this SDK no longer sends: {unseen:#?}");
}
