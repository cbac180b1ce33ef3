//! What the engine's simulator tests share: a simulator with test timings, a logged-in engine
//! with fake audio, and bounded waits for engine events, the simulator's view and the speaker.
#![allow(dead_code, reason = "each test file uses its own part")]

use std::time::{Duration, SystemTime};

use softphone_core::call::{CallId, EngineCommand, EngineUpdate, SdkState};
use softphone_core::secret::Secret;
use softphone_media::{AudioSystem, CallMediaOptions, FakeAudioSpec};
use softphone_native_engine::{ConnectionChange, NativeEngine, NativeEngineConfig, NativeEngineEvent};
use softphone_sim::signaling::{CallView, InboundCall};
use softphone_sim::{RunningSimulator, SignalingConfig, Simulator, SimulatorConfig};
use softphone_telnyx::rtc::{Backoff, RtcTimings};
use tokio::sync::mpsc::Receiver;

/// The longest any expected event may take.
pub const WAIT: Duration = Duration::from_secs(10);
/// What the engine's fake microphone plays.
pub const MIC_HZ: f32 = 880.0;
/// What the simulator's tone number plays.
pub const SIM_TONE_HZ: f32 = 440.0;
pub const TONE: &str = "+15555550100";
pub const BUSY: &str = "+15555550102";
pub const NO_ANSWER: &str = "+15555550103";
pub const REJECT: &str = "+15555550104";

pub async fn simulator(token_ttl: Duration) -> RunningSimulator {
    simulator_with(SimulatorConfig { token_ttl, ..SimulatorConfig::default() }).await
}

/// A strict simulator with test timings, otherwise as `config` says.
pub async fn simulator_with(config: SimulatorConfig) -> RunningSimulator {
    let signaling = SignalingConfig {
        ping_interval: Duration::from_millis(500),
        answer_delay: Duration::from_millis(50),
        no_answer_timeout: Duration::from_secs(2),
        early_media_duration: Duration::from_millis(100),
        hangup_after: Duration::from_secs(60),
        reattach_window: Duration::from_secs(10),
    };
    let sim = Simulator::start(SimulatorConfig { signaling, ..config }).await.expect("the simulator starts");
    // Every frame the engine sends is checked against what the real SDK sends.
    sim.switchboard().audit().set_strict(true);
    sim
}

/// The engine said nothing the real SDK would not have said, and nothing Telnyx would have
/// acted on otherwise (a 0.0.0.0 hold, a forgotten hold after a recovery, no common codec).
pub fn spoke_like_the_sdk(sim: &RunningSimulator) {
    let findings = sim.switchboard().audit().findings();
    assert!(findings.strict, "the simulator checks frames");
    assert_eq!(findings.total, 0, "the simulator found: {:#?}", findings.findings);
}

/// A login token for a new telephony credential, as `issue_login_token` would get it.
pub fn login_token(sim: &RunningSimulator) -> (String, Secret) {
    let credential = sim.state().create_credential("native-engine-tests".into(), None, None, None);
    let token = sim.state().mint_login_token(&credential.id, SystemTime::now()).expect("the credential exists");
    (credential.id, Secret::new(token))
}

pub fn timings() -> RtcTimings {
    RtcTimings {
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(5),
        idle_ping_after: Duration::from_secs(2),
        ping_timeout: Duration::from_secs(1),
        backoff: Backoff { initial: Duration::from_millis(100), max: Duration::from_millis(400), jitter: 0.1 },
        max_reconnect_attempts: 20,
        bye_wait: Duration::from_secs(1),
    }
}

pub struct Phone {
    pub engine: NativeEngine,
    pub events: Receiver<NativeEngineEvent>,
    pub audio: AudioSystem,
}

pub async fn ready_phone(sim: &RunningSimulator) -> Phone {
    ready_phone_with(sim, CallMediaOptions::default()).await
}

/// A logged-in engine whose calls' media is set up as `media` says (codecs, candidates).
pub async fn ready_phone_with(sim: &RunningSimulator, media: CallMediaOptions) -> Phone {
    let (_, token) = login_token(sim);
    let audio = AudioSystem::fake(FakeAudioSpec::tone(MIC_HZ)).expect("fake audio");
    let mut config = NativeEngineConfig::new(sim.ws_url(), token, Vec::new());
    config.timings = timings();
    config.media = media;
    let (engine, mut events) = NativeEngine::start(config, audio.clone()).await.expect("the engine starts");
    next_connection(&mut events, "ready", |change| matches!(change, ConnectionChange::Ready)).await;
    Phone { engine, events, audio }
}

pub async fn next_event<T>(
    events: &mut Receiver<NativeEngineEvent>,
    what: &str,
    pick: impl Fn(&NativeEngineEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} within {WAIT:?}"))
            .unwrap_or_else(|| panic!("the engine stopped before {what}"));
        if let Some(found) = pick(&event) {
            return found;
        }
    }
}

pub async fn next_connection(
    events: &mut Receiver<NativeEngineEvent>,
    what: &str,
    wanted: impl Fn(&ConnectionChange) -> bool,
) -> ConnectionChange {
    next_event(events, what, |event| match event {
        NativeEngineEvent::Connection(change) if wanted(change) => Some(change.clone()),
        _ => None,
    })
    .await
}

pub async fn next_update(
    events: &mut Receiver<NativeEngineEvent>,
    call: &CallId,
    what: &str,
    wanted: impl Fn(&EngineUpdate) -> bool,
) -> EngineUpdate {
    next_event(events, what, |event| match event {
        NativeEngineEvent::Call { call_id, update } if call_id == call && wanted(update) => Some(update.clone()),
        _ => None,
    })
    .await
}

pub fn state(wanted: SdkState) -> impl Fn(&EngineUpdate) -> bool {
    move |update| matches!(update, EngineUpdate::State { state } if *state == wanted)
}

pub fn sim_call(sim: &RunningSimulator, call_id: &str) -> Option<CallView> {
    sim.switchboard().calls().into_iter().find(|call| call.id == call_id)
}

/// Waits until the simulator's view of the call satisfies `check`.
pub async fn until_sim(
    sim: &RunningSimulator,
    call_id: &str,
    what: &str,
    check: impl Fn(&CallView) -> bool,
) -> CallView {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(call) = sim_call(sim, call_id).filter(|call| check(call)) {
            return call;
        }
        assert!(tokio::time::Instant::now() < deadline, "the simulator never saw {what}: {:?}", sim_call(sim, call_id));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The simulator's far end hears a tone near `hz`.
pub fn far_end_hears(call: &CallView, hz: f32) -> bool {
    let heard = call.heard.as_ref().and_then(|heard| heard["dominant_hz"].as_f64());
    heard.is_some_and(|heard| (heard - f64::from(hz)).abs() < 15.0)
}

/// Waits until the engine's fake speaker plays a tone near `hz`.
pub async fn until_speaker_plays(audio: &AudioSystem, hz: f32) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let analysis = audio.speaker_analysis();
        if analysis.as_ref().and_then(|a| a.dominant_hz).is_some_and(|heard| (heard - hz).abs() < 15.0) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the speaker never played {hz} Hz: {analysis:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn until_speaker_silent(audio: &AudioSystem) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let analysis = audio.speaker_analysis();
        if analysis.as_ref().is_none_or(|a| a.dominant_hz.is_none()) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the speaker kept playing: {analysis:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn dial(phone: &mut Phone, number: &str) -> CallId {
    let call_id = CallId(uuid_like(number));
    phone
        .engine
        .execute(EngineCommand::Dial { call_id: call_id.clone(), number: number.to_owned(), caller_number: None })
        .await
        .expect("the invite is accepted");
    call_id
}

/// A call id unique enough for one test run.
pub fn uuid_like(seed: &str) -> String {
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos();
    format!("{nanos:x}-{}", seed.trim_start_matches('+'))
}

/// The simulator rings the phone with `call`; the engine answers it. Returns the call once
/// Active, with audio both ways.
pub async fn answered_inbound(sim: &RunningSimulator, phone: &mut Phone, call: InboundCall) -> CallId {
    let started = sim.switchboard().start_inbound(call).expect("the simulator rings the phone");
    let call_id = CallId(started.call_id.clone());
    next_update(&mut phone.events, &call_id, "the invite", |u| matches!(u, EngineUpdate::Incoming { .. })).await;
    phone.engine.execute(EngineCommand::Answer { call_id: call_id.clone() }).await.expect("answer");
    next_update(&mut phone.events, &call_id, "active", state(SdkState::Active)).await;
    until_sim(sim, &call_id.0, "the engine's microphone", |call| far_end_hears(call, MIC_HZ)).await;
    until_speaker_plays(&phone.audio, SIM_TONE_HZ).await;
    call_id
}

/// The simulator drops the socket; the call goes Recovering, then Active again with audio both
/// ways on its `reattached`-th recovery.
pub async fn drop_and_recover(sim: &RunningSimulator, phone: &mut Phone, call_id: &CallId, reattached: u32) {
    sim.switchboard().drop_sessions("all").expect("the simulator drops the socket");
    next_update(&mut phone.events, call_id, "recovering", state(SdkState::Recovering)).await;
    next_update(&mut phone.events, call_id, "active after the reattach", state(SdkState::Active)).await;
    until_sim(sim, &call_id.0, "the reattached media", |call| {
        call.reattached == reattached && call.media_connected && far_end_hears(call, MIC_HZ)
    })
    .await;
    until_speaker_plays(&phone.audio, SIM_TONE_HZ).await;
}

/// The agent hangs up; returns the end the engine reports.
pub async fn hang_up(phone: &mut Phone, call_id: &CallId) -> EngineUpdate {
    phone.engine.execute(EngineCommand::Hangup { call_id: call_id.clone() }).await.expect("hang up");
    next_update(&mut phone.events, call_id, "ended", |u| matches!(u, EngineUpdate::Ended { .. })).await
}
