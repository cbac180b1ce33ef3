//! Calls between our native engine and the real `@telnyx/webrtc` SDK in Chromium, through the
//! simulator's signaling as Telnyx routes a call to `sip:<user>@sip.telnyx.com`: our WebRTC stack
//! (str0m, Opus, our DTLS and ICE roles) against one we did not write, with the SDP passing
//! through untouched until a socket drop makes the simulator anchor the media.
//!
//! Audio both ways is proven by tone detection on each side: the engine's fake microphone plays
//! 880 Hz and the browser's remote stream must carry it; Chromium's fake microphone plays a
//! 660 Hz WAV made here and the engine's fake speaker must play it. Every frame the engine sends
//! is checked in strict mode, and the simulator must find nothing in either client.

mod common;

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use common::{Browser, PageServer, Sim, TIMEOUT};
use serde_json::json;
use softphone_core::call::{CallId, EngineCommand, EngineUpdate, HangupCause, SdkState};
use softphone_core::secret::Secret;
use softphone_media::{AudioSystem, FakeAudioSpec};
use softphone_native_engine::{ConnectionChange, NativeEngine, NativeEngineConfig, NativeEngineEvent};
use softphone_sim::{SignalingConfig, SimulatorConfig};
use tokio::sync::mpsc::Receiver;

const ENGINE_HZ: f64 = 880.0;
const BROWSER_HZ: f64 = 660.0;

/// A 16-bit mono 48 kHz WAV of a `hz` sine at -12 dBFS, `seconds` long (Chromium loops it).
fn tone_wav(path: &Path, hz: f64, seconds: u32) {
    let rate = 48_000u32;
    let samples: Vec<i16> = (0..rate * seconds)
        .map(|n| (0.25 * (std::f64::consts::TAU * hz * f64::from(n) / f64::from(rate)).sin() * 32_767.0) as i16)
        .collect();
    let data_len = (samples.len() * 2) as u32;
    let mut bytes = Vec::with_capacity(44 + data_len as usize);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data_len).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&1u16.to_le_bytes()); // mono
    bytes.extend_from_slice(&rate.to_le_bytes());
    bytes.extend_from_slice(&(rate * 2).to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_len.to_le_bytes());
    for sample in samples {
        bytes.extend_from_slice(&sample.to_le_bytes());
    }
    std::fs::write(path, bytes).expect("the microphone's WAV is written");
}

/// The engine, logged in as its own SIP user.
struct Engine {
    engine: NativeEngine,
    events: Receiver<NativeEngineEvent>,
    audio: AudioSystem,
    sip_user: String,
}

/// The browser, logged in as another SIP user.
struct Sdk {
    browser: Browser,
    sip_user: String,
    _page: PageServer,
    _microphone: tempfile::TempDir,
}

struct Both {
    sim: Sim,
    engine: Engine,
    sdk: Sdk,
}

fn login(sim: &Sim, name: &str) -> (String, String) {
    let credential = sim.running.state().create_credential(format!("cross-engine-{name}"), None, None, None);
    let token = sim.running.state().mint_login_token(&credential.id, SystemTime::now()).expect("the credential exists");
    (credential.sip_username, token)
}

async fn both() -> Both {
    let signaling = SignalingConfig {
        answer_delay: Duration::from_millis(100),
        no_answer_timeout: Duration::from_secs(20),
        reattach_window: Duration::from_secs(20),
        ..SignalingConfig::default()
    };
    let sim = Sim::start(SimulatorConfig { signaling, ..SimulatorConfig::default() }).await;
    sim.running.switchboard().audit().set_strict(true);

    let microphone = tempfile::tempdir().expect("a folder for the browser's microphone");
    let wav = microphone.path().join("tone.wav");
    tone_wav(&wav, BROWSER_HZ, 10);
    let page = PageServer::start().await;
    let browser = Browser::open_with(&page, &[format!("--use-file-for-fake-audio-capture={}", wav.display())]).await;
    let (sdk_user, sdk_token) = login(&sim, "sdk");
    browser.connect(&sim.ws_url(), &sdk_token).await;
    browser.wait_for_event("telnyx.ready", |event| event["type"] == "ready").await;

    let (engine_user, engine_token) = login(&sim, "engine");
    let audio = AudioSystem::fake(FakeAudioSpec::tone(ENGINE_HZ as f32)).expect("fake audio");
    let config = NativeEngineConfig::new(sim.ws_url(), Secret::new(engine_token), Vec::new());
    let (engine, mut events) = NativeEngine::start(config, audio.clone()).await.expect("the engine starts");
    next_event(&mut events, "ready", |event| {
        matches!(event, NativeEngineEvent::Connection(ConnectionChange::Ready)).then_some(())
    })
    .await;
    Both {
        sim,
        engine: Engine { engine, events, audio, sip_user: engine_user },
        sdk: Sdk { browser, sip_user: sdk_user, _page: page, _microphone: microphone },
    }
}

async fn next_event<T>(
    events: &mut Receiver<NativeEngineEvent>,
    what: &str,
    pick: impl Fn(&NativeEngineEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("the engine never reported {what}"))
            .unwrap_or_else(|| panic!("the engine stopped before {what}"));
        if let Some(found) = pick(&event) {
            return found;
        }
    }
}

async fn engine_state(engine: &mut Engine, call: &CallId, state: SdkState) {
    next_event(&mut engine.events, &format!("{state:?}"), |event| match event {
        NativeEngineEvent::Call { call_id, update: EngineUpdate::State { state: got } }
            if call_id == call && *got == state =>
        {
            Some(())
        }
        _ => None,
    })
    .await;
}

async fn engine_ended(engine: &mut Engine, call: &CallId) -> HangupCause {
    next_event(&mut engine.events, "the end", |event| match event {
        NativeEngineEvent::Call { call_id, update: EngineUpdate::Ended { cause, .. } } if call_id == call => {
            Some(cause.clone())
        }
        _ => None,
    })
    .await
}

async fn engine_execute(engine: &Engine, command: EngineCommand) {
    let what = format!("{command:?}");
    engine.engine.execute(command).await.unwrap_or_else(|error| panic!("{what}: {error}"));
}

/// Both ways at once: the browser plays the engine's 880 Hz, the engine's speaker the
/// browser's 660 Hz.
async fn audio_both_ways(both: &Both, sdk_call: &str, when: &str) {
    let deadline = Instant::now() + TIMEOUT;
    let (mut browser_ok, mut engine_ok) = (false, false);
    let (mut last_browser, mut last_engine) = ((0.0, 0.0), None);
    while !(browser_ok && engine_ok) {
        if !browser_ok {
            last_browser = both.sdk.browser.remote_audio(sdk_call).await;
            browser_ok = last_browser.0 > -50.0 && (last_browser.1 - ENGINE_HZ).abs() < 25.0;
        }
        if !engine_ok {
            last_engine = both.engine.audio.speaker_analysis();
            engine_ok = last_engine
                .as_ref()
                .and_then(|heard| heard.dominant_hz)
                .is_some_and(|hz| (f64::from(hz) - BROWSER_HZ).abs() < 15.0);
        }
        assert!(
            Instant::now() < deadline,
            "{when}: the browser heard {last_browser:?} (wants {ENGINE_HZ} Hz), the engine {last_engine:?} (wants {BROWSER_HZ} Hz)"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the browser hears silence from the call (the engine holds it).
async fn browser_hears_silence(browser: &Browser, sdk_call: &str) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let (level, hz) = browser.remote_audio(sdk_call).await;
        if level < -50.0 {
            return;
        }
        assert!(Instant::now() < deadline, "the browser kept hearing {hz:.0} Hz at {level:.1} dBFS");
    }
}

/// The SDK dials the engine's SIP user; returns both legs' call ids once the engine rings.
async fn sdk_calls_the_engine(both: &mut Both) -> (String, CallId) {
    let number = format!("sip:{}@sip.telnyx.com", both.engine.sip_user);
    let sdk_call = both.sdk.browser.call_harness("return window.harness.dial(arguments[0])", vec![json!(number)]).await;
    let sdk_call = sdk_call.as_str().expect("call id").to_owned();
    let engine_call = next_event(&mut both.engine.events, "the invite", |event| match event {
        NativeEngineEvent::Call { call_id, update: EngineUpdate::Incoming { .. } } => Some(call_id.clone()),
        _ => None,
    })
    .await;
    (sdk_call, engine_call)
}

async fn sdk_act(browser: &Browser, action: &str, id: &str) {
    browser.call_harness(&format!("window.harness.{action}(arguments[0])"), vec![json!(id)]).await;
}

/// The id of the call ringing in the browser (the callee's leg has an id of its own).
async fn sdk_ringing_call(browser: &Browser) -> String {
    let ringing = browser
        .wait_for_event("an inbound call ringing", |event| {
            event["type"] == "callUpdate" && event["state"] == "ringing" && event["direction"] == "inbound"
        })
        .await;
    ringing["id"].as_str().expect("call id").to_owned()
}

fn sessid_of(sim: &Sim, sip_user: &str) -> String {
    let sessions = sim.running.switchboard().sessions();
    sessions.iter().find(|s| s.sip_username == sip_user && s.connected).expect("the client is connected").sessid.clone()
}

/// Who recovers the call after a socket drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recovers {
    /// Both legs: the first drop, when the simulator anchors the media the two shared.
    Both,
    /// Only the SDK, whose socket dropped: the media is anchored already.
    OnlySdk,
}

/// Cuts one client's socket; the call is recovered and audio flows both ways again.
async fn drop_and_recover(both: &mut Both, sip_user: &str, calls: (&CallId, &str), recovers: Recovers, when: &str) {
    let (engine_call, sdk_call) = calls;
    let before = both.sdk.browser.events().await.len();
    let reattached = both.sim.wait_for_call(sdk_call, "known", |_| true).await["reattached"].as_u64().unwrap_or(0);
    let dropped = both.sim.running.switchboard().drop_sessions(&sessid_of(&both.sim, sip_user)).expect("dropped");
    assert_eq!(dropped, 1);
    if recovers == Recovers::Both {
        engine_state(&mut both.engine, engine_call, SdkState::Recovering).await;
        engine_state(&mut both.engine, engine_call, SdkState::Active).await;
    }
    let recovering = both.sdk.browser.wait_for_call_state_after(sdk_call, "recovering", before).await;
    both.sdk.browser.wait_for_call_state_after(sdk_call, "active", recovering).await;
    both.sim
        .wait_for_call(sdk_call, "reattached", |call| {
            call["reattached"].as_u64() > Some(reattached) && call["media_connected"] == true
        })
        .await;
    audio_both_ways(both, sdk_call, when).await;
}

fn nothing_found(sim: &Sim) {
    let findings = sim.running.switchboard().audit().findings();
    assert_eq!(findings.total, 0, "the simulator found: {:#?}", findings.findings);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_calls_the_sdk_holds_sends_dtmf_and_survives_a_drop_on_each_side() {
    let mut both = both().await;
    let engine_call = CallId(format!("cross-{}", std::process::id()));
    let number = format!("sip:{}@sip.telnyx.com", both.sdk.sip_user);
    engine_execute(&both.engine, EngineCommand::Dial { call_id: engine_call.clone(), number, caller_number: None })
        .await;
    let sdk_call = sdk_ringing_call(&both.sdk.browser).await;
    sdk_act(&both.sdk.browser, "answer", &sdk_call).await;
    both.sdk.browser.wait_for_call_state(&sdk_call, "active").await;
    engine_state(&mut both.engine, &engine_call, SdkState::Active).await;
    audio_both_ways(&both, &sdk_call, "after the answer").await;

    // Hold from the engine: it sends silence while held, then talks again.
    engine_execute(&both.engine, EngineCommand::Hold { call_id: engine_call.clone() }).await;
    engine_state(&mut both.engine, &engine_call, SdkState::Held).await;
    browser_hears_silence(&both.sdk.browser, &sdk_call).await;
    engine_execute(&both.engine, EngineCommand::Unhold { call_id: engine_call.clone() }).await;
    engine_state(&mut both.engine, &engine_call, SdkState::Active).await;
    audio_both_ways(&both, &sdk_call, "after the engine resumed").await;

    // Hold from the SDK, and back.
    let before = both.sdk.browser.events().await.len();
    sdk_act(&both.sdk.browser, "hold", &sdk_call).await;
    let held = both.sdk.browser.wait_for_call_state_after(&sdk_call, "held", before).await;
    both.sim.wait_for_call(&sdk_call, "held", |call| call["state"] == "held").await;
    sdk_act(&both.sdk.browser, "unhold", &sdk_call).await;
    both.sdk.browser.wait_for_call_state_after(&sdk_call, "active", held).await;
    audio_both_ways(&both, &sdk_call, "after the SDK resumed").await;

    // DTMF each way reaches Telnyx on the sender's leg.
    engine_execute(&both.engine, EngineCommand::SendDigits { call_id: engine_call.clone(), digits: "12".into() }).await;
    both.sim.wait_for_call(&engine_call.0, "the engine's digits", |call| call["dtmf"] == "12").await;
    both.sdk.browser.call_harness("window.harness.dtmf(arguments[0], '3#')", vec![json!(sdk_call)]).await;
    both.sim.wait_for_call(&sdk_call, "the SDK's digits", |call| call["dtmf"] == "3#").await;

    let engine_user = both.engine.sip_user.clone();
    let calls = (&engine_call, sdk_call.as_str());
    drop_and_recover(&mut both, &engine_user, calls, Recovers::Both, "after the engine's socket dropped").await;
    let sdk_user = both.sdk.sip_user.clone();
    drop_and_recover(&mut both, &sdk_user, calls, Recovers::OnlySdk, "after the SDK's socket dropped").await;
    let call = both.sim.wait_for_call(&engine_call.0, "known", |_| true).await;
    assert_eq!(call["reattached"], 1, "the engine's leg was recovered once, on its own drop: {call:#}");

    engine_execute(&both.engine, EngineCommand::Hangup { call_id: engine_call.clone() }).await;
    assert_eq!(engine_ended(&mut both.engine, &engine_call).await, HangupCause::NormalClearing);
    let hangup = both.sdk.browser.wait_for_call_state(&sdk_call, "hangup").await;
    assert_eq!(hangup["cause"], "NORMAL_CLEARING", "{hangup}");
    nothing_found(&both.sim);
    both.engine.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_calls_the_engine_and_hangs_up() {
    let mut both = both().await;
    let (sdk_call, engine_call) = sdk_calls_the_engine(&mut both).await;
    engine_execute(&both.engine, EngineCommand::Answer { call_id: engine_call.clone() }).await;
    engine_state(&mut both.engine, &engine_call, SdkState::Active).await;
    both.sdk.browser.wait_for_call_state(&sdk_call, "active").await;
    audio_both_ways(&both, &sdk_call, "after the engine answered").await;

    sdk_act(&both.sdk.browser, "hangup", &sdk_call).await;
    assert_eq!(engine_ended(&mut both.engine, &engine_call).await, HangupCause::NormalClearing);
    nothing_found(&both.sim);
    both.engine.engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_to_a_sip_user_nobody_is_logged_in_as_fails_with_the_cause() {
    let mut both = both().await;
    let engine_call = CallId(format!("nobody-{}", std::process::id()));
    let number = "sip:gencrednobodyhere@sip.telnyx.com".to_owned();
    engine_execute(&both.engine, EngineCommand::Dial { call_id: engine_call.clone(), number, caller_number: None })
        .await;
    let cause = engine_ended(&mut both.engine, &engine_call).await;
    assert_eq!(cause, HangupCause::UserNotRegistered);
    // The engine declining a call from the SDK is the SDK's USER_BUSY.
    let (sdk_call, engine_call) = sdk_calls_the_engine(&mut both).await;
    engine_execute(&both.engine, EngineCommand::Hangup { call_id: engine_call }).await;
    let hangup = both.sdk.browser.wait_for_call_state(&sdk_call, "hangup").await;
    assert_eq!((&hangup["cause"], &hangup["sipCode"]), (&json!("USER_BUSY"), &json!(486)), "{hangup}");
    nothing_found(&both.sim);
    both.engine.engine.shutdown().await;
}
