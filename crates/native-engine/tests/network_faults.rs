//! Network faults against the real simulator on 127.0.0.1, with fake audio devices (the
//! engine's microphone plays 880 Hz, the simulator's tone number 440 Hz):
//!
//! - socket drops at random moments of active calls: each call must come back (`Recovering`,
//!   then `Reconnected`, then `Active`) with audio both ways on new media. The figure is printed;
//!   the goal is at least 99 of 100. `NETWORK_DROPS` sets the count (default 20, the full run is
//!   `NETWORK_DROPS=100 cargo test -p softphone-native-engine --test network_faults -- --nocapture`),
//!   `NETWORK_SEED` replays a run (the seed is printed);
//! - the simulator stops answering pings: the engine says it is reconnecting, the call is being
//!   recovered (never dropped silently), and both come back when pings are answered again;
//! - a punt: the connection is reported closed with a sentence and the call ends saying why;
//! - token minting answering 429, 500 or too slowly: minting fails with a coded error after its
//!   bounded retries while the engine and its call go on; the next token is accepted.

use std::time::{Duration, SystemTime};

use softphone_core::call::{CallId, EngineCommand, EngineUpdate, SdkState};
use softphone_core::secret::Secret;
use softphone_media::{AudioSystem, FakeAudioSpec};
use softphone_native_engine::{ConnectionChange, NativeEngine, NativeEngineConfig, NativeEngineEvent};
use softphone_sim::signaling::CallView;
use softphone_sim::{FaultSpec, RunningSimulator, SignalingConfig, Simulator, SimulatorConfig};
use softphone_telnyx::rtc::{Backoff, RtcTimings};
use softphone_telnyx::{CredentialId, RetryPolicy, TelnyxApi, TelnyxConfig, TelnyxErrorCode};
use tokio::sync::mpsc::Receiver;

/// The longest any expected event may take.
const WAIT: Duration = Duration::from_secs(10);
const MIC_HZ: f32 = 880.0;
const SIM_TONE_HZ: f32 = 440.0;
const TONE: &str = "+15555550100";
const API_KEY: &str = "KEY_network_faults_test";
/// Drops in the default (CI) run.
const DEFAULT_DROPS: u64 = 20;

async fn simulator() -> RunningSimulator {
    let signaling = SignalingConfig {
        ping_interval: Duration::from_millis(500),
        answer_delay: Duration::from_millis(50),
        no_answer_timeout: Duration::from_secs(2),
        early_media_duration: Duration::from_millis(100),
        hangup_after: Duration::from_secs(600),
        reattach_window: Duration::from_secs(10),
    };
    let config = SimulatorConfig { signaling, api_keys: vec![API_KEY.to_owned()], ..SimulatorConfig::default() };
    let sim = Simulator::start(config).await.expect("the simulator starts");
    // Whatever the faults, every frame the engine sends must be one the real SDK could send.
    sim.switchboard().audit().set_strict(true);
    sim
}

/// The engine said nothing the real SDK would not have said through all the faults.
fn spoke_like_the_sdk(sim: &RunningSimulator) {
    let findings = sim.switchboard().audit().findings();
    assert_eq!(findings.total, 0, "the simulator found: {:#?}", findings.findings);
}

fn timings() -> RtcTimings {
    RtcTimings {
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(5),
        idle_ping_after: Duration::from_secs(1),
        ping_timeout: Duration::from_secs(1),
        backoff: Backoff { initial: Duration::from_millis(100), max: Duration::from_millis(400), jitter: 0.1 },
        max_reconnect_attempts: 20,
        bye_wait: Duration::from_secs(1),
    }
}

struct Phone {
    engine: NativeEngine,
    events: Receiver<NativeEngineEvent>,
    audio: AudioSystem,
    credential: String,
}

async fn ready_phone(sim: &RunningSimulator) -> Phone {
    let credential = sim.state().create_credential("network-faults".into(), None, None, None);
    let token = sim.state().mint_login_token(&credential.id, SystemTime::now()).expect("the credential exists");
    let audio = AudioSystem::fake(FakeAudioSpec::tone(MIC_HZ)).expect("fake audio");
    let mut config = NativeEngineConfig::new(sim.ws_url(), Secret::new(token), Vec::new());
    config.timings = timings();
    let (engine, mut events) = NativeEngine::start(config, audio.clone()).await.expect("the engine starts");
    next_connection(&mut events, "ready", |change| matches!(change, ConnectionChange::Ready))
        .await
        .expect("the engine logs in");
    Phone { engine, events, audio, credential: credential.id }
}

/// The next event `pick` accepts, or why there was none.
async fn next_event<T>(
    events: &mut Receiver<NativeEngineEvent>,
    what: &str,
    mut pick: impl FnMut(&NativeEngineEvent) -> Option<T>,
) -> Result<T, String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .map_err(|_| format!("no {what} within {WAIT:?}"))?
            .ok_or_else(|| format!("the engine stopped before {what}"))?;
        if let Some(found) = pick(&event) {
            return Ok(found);
        }
    }
}

async fn next_connection(
    events: &mut Receiver<NativeEngineEvent>,
    what: &str,
    wanted: impl Fn(&ConnectionChange) -> bool,
) -> Result<ConnectionChange, String> {
    next_event(events, what, |event| match event {
        NativeEngineEvent::Connection(change) if wanted(change) => Some(change.clone()),
        _ => None,
    })
    .await
}

/// The next update of `call` that `wanted` accepts; an `Ended`/`Failed` update of that call
/// before it is an error (the call was lost), unless `wanted` accepts it.
async fn next_update(
    events: &mut Receiver<NativeEngineEvent>,
    call: &CallId,
    what: &str,
    wanted: impl Fn(&EngineUpdate) -> bool,
) -> Result<EngineUpdate, String> {
    let mut lost = None;
    let found = next_event(events, what, |event| match event {
        NativeEngineEvent::Call { call_id, update } if call_id == call => {
            if wanted(update) {
                Some(Some(update.clone()))
            } else if matches!(update, EngineUpdate::Ended { .. } | EngineUpdate::Failed { .. }) {
                lost = Some(format!("{update:?}"));
                Some(None)
            } else {
                None
            }
        }
        _ => None,
    })
    .await?;
    found.ok_or_else(|| format!("the call ended while waiting for {what}: {}", lost.unwrap_or_default()))
}

fn state(wanted: SdkState) -> impl Fn(&EngineUpdate) -> bool {
    move |update| matches!(update, EngineUpdate::State { state } if *state == wanted)
}

fn ended(update: &EngineUpdate) -> bool {
    matches!(update, EngineUpdate::Ended { .. } | EngineUpdate::Failed { .. })
}

fn sim_call(sim: &RunningSimulator, call_id: &str) -> Option<CallView> {
    sim.switchboard().calls().into_iter().find(|call| call.id == call_id)
}

async fn until_sim(
    sim: &RunningSimulator,
    call_id: &str,
    what: &str,
    check: impl Fn(&CallView) -> bool,
) -> Result<CallView, String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(call) = sim_call(sim, call_id).filter(|call| check(call)) {
            return Ok(call);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("the simulator never saw {what}: {:?}", sim_call(sim, call_id)));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn far_end_hears(call: &CallView, hz: f32) -> bool {
    let heard = call.heard.as_ref().and_then(|heard| heard["dominant_hz"].as_f64());
    heard.is_some_and(|heard| (heard - f64::from(hz)).abs() < 15.0)
}

async fn until_speaker_plays(audio: &AudioSystem, hz: f32) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let analysis = audio.speaker_analysis();
        if analysis.as_ref().and_then(|a| a.dominant_hz).is_some_and(|heard| (heard - hz).abs() < 15.0) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("the speaker never played {hz} Hz: {analysis:?}"));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A deterministic generator (xorshift64*), so a run can be replayed by its seed.
struct Dice(u64);

impl Dice {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound.max(1)
    }
}

fn new_call_id(n: u64) -> CallId {
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    CallId(format!("{nanos:x}-fault-{n}"))
}

/// Dials the tone number and waits for the call to be active with audio both ways.
async fn active_call(phone: &mut Phone, n: u64) -> Result<CallId, String> {
    let call_id = new_call_id(n);
    phone
        .engine
        .execute(EngineCommand::Dial { call_id: call_id.clone(), number: TONE.to_owned(), caller_number: None })
        .await
        .map_err(|error| format!("dial: {error}"))?;
    next_update(&mut phone.events, &call_id, "active", state(SdkState::Active)).await?;
    Ok(call_id)
}

/// One drop at `delay` into an active call; `Ok` when the call came back with audio both ways.
async fn drop_and_recover(
    phone: &mut Phone,
    sim: &RunningSimulator,
    call_id: &CallId,
    delay: Duration,
) -> Result<(), String> {
    tokio::time::sleep(delay).await;
    let reattached_before = sim_call(sim, &call_id.0).map_or(0, |call| call.reattached);
    let dropped = sim.switchboard().drop_sessions("all").map_err(|error| format!("drop: {error}"))?;
    if dropped != 1 {
        return Err(format!("the simulator dropped {dropped} sessions, not 1"));
    }
    next_update(&mut phone.events, call_id, "recovering", state(SdkState::Recovering)).await?;
    next_connection(&mut phone.events, "reconnected", |c| matches!(c, ConnectionChange::Reconnected)).await?;
    next_update(&mut phone.events, call_id, "active after the reattach", state(SdkState::Active)).await?;
    until_sim(sim, &call_id.0, "the engine's microphone on the new media", |call| {
        call.reattached > reattached_before && call.media_connected && call.end.is_none() && far_end_hears(call, MIC_HZ)
    })
    .await?;
    if phone.engine.call_stats(call_id).is_none() {
        return Err("the engine has no media for the recovered call".into());
    }
    until_speaker_plays(&phone.audio, SIM_TONE_HZ).await
}

async fn hang_up(phone: &mut Phone, call_id: &CallId) -> Result<(), String> {
    phone
        .engine
        .execute(EngineCommand::Hangup { call_id: call_id.clone() })
        .await
        .map_err(|error| format!("hang up: {error}"))?;
    next_update(&mut phone.events, call_id, "ended", ended).await.map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_drops_at_random_moments_of_active_calls_are_recovered_with_audio() {
    let drops: u64 = std::env::var("NETWORK_DROPS").ok().and_then(|n| n.parse().ok()).unwrap_or(DEFAULT_DROPS);
    let seed: u64 = std::env::var("NETWORK_SEED").ok().and_then(|n| n.parse().ok()).unwrap_or_else(|| {
        use std::hash::BuildHasher;
        std::collections::hash_map::RandomState::new().hash_one(drops)
    });
    let mut dice = Dice(seed.max(1));
    let sim = simulator().await;
    let mut phone = ready_phone(&sim).await;
    let mut recovered = 0;
    let mut failures = Vec::new();
    let started = std::time::Instant::now();
    for n in 0..drops {
        // From the moment the call is active to well into it (media may still be connecting).
        let delay = Duration::from_millis(dice.below(1500));
        let outcome = match active_call(&mut phone, n).await {
            Ok(call_id) => {
                let recovery = drop_and_recover(&mut phone, &sim, &call_id, delay).await;
                let hung_up = hang_up(&mut phone, &call_id).await;
                recovery.and(hung_up)
            }
            Err(error) => Err(format!("the call did not start: {error}")),
        };
        match outcome {
            Ok(()) => recovered += 1,
            Err(reason) => {
                failures.push(format!("drop {n} at {delay:?}: {reason}"));
                // A fresh phone for the next drop, so one failure does not cascade.
                phone.engine.shutdown().await;
                phone = ready_phone(&sim).await;
            }
        }
    }
    eprintln!(
        "network faults: {recovered}/{drops} calls recovered with audio after a socket drop \
         (NETWORK_SEED={seed}, {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    for failure in &failures {
        eprintln!("  {failure}");
    }
    assert!(recovered * 100 >= drops * 99, "{recovered}/{drops} recovered (goal 99%):\n{}", failures.join("\n"));
    phone.engine.shutdown().await;
    spoke_like_the_sdk(&sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_pings_are_reported_and_the_call_comes_back_when_they_are_answered() {
    let sim = simulator().await;
    let mut phone = ready_phone(&sim).await;
    let call_id = active_call(&mut phone, 0).await.expect("an active call");
    until_speaker_plays(&phone.audio, SIM_TONE_HZ).await.expect("audio before the fault");

    sim.switchboard().set_answer_pings(false);
    // The engine notices the silence and says so: the connection is reconnecting and the call
    // is being recovered, not ended.
    let change =
        next_connection(&mut phone.events, "reconnecting", |c| matches!(c, ConnectionChange::Reconnecting { .. }))
            .await
            .expect("the silence is reported");
    assert_eq!(change, ConnectionChange::Reconnecting { attempt: 1 });
    next_update(&mut phone.events, &call_id, "recovering", state(SdkState::Recovering))
        .await
        .expect("the call is shown as recovering");

    sim.switchboard().set_answer_pings(true);
    next_connection(&mut phone.events, "reconnected", |c| matches!(c, ConnectionChange::Reconnected))
        .await
        .expect("back when the simulator answers again");
    next_update(&mut phone.events, &call_id, "active again", state(SdkState::Active)).await.expect("the call is back");
    until_sim(&sim, &call_id.0, "audio on the recovered call", |call| {
        call.reattached >= 1 && call.end.is_none() && far_end_hears(call, MIC_HZ)
    })
    .await
    .expect("the far end hears the agent again");
    until_speaker_plays(&phone.audio, SIM_TONE_HZ).await.expect("the agent hears the far end again");
    hang_up(&mut phone, &call_id).await.expect("hang up");
    phone.engine.shutdown().await;
    spoke_like_the_sdk(&sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_punt_closes_the_connection_with_a_sentence_and_ends_the_call_with_a_cause() {
    let sim = simulator().await;
    let mut phone = ready_phone(&sim).await;
    let call_id = active_call(&mut phone, 0).await.expect("an active call");

    assert_eq!(sim.switchboard().punt("all").expect("the simulator punts"), 1);
    let mut closed = None;
    let mut call_end = None;
    while closed.is_none() || call_end.is_none() {
        let event = tokio::time::timeout(WAIT, phone.events.recv())
            .await
            .expect("the engine reports the punt")
            .expect("the engine reports before it stops");
        match event {
            NativeEngineEvent::Connection(ConnectionChange::Closed { message }) => closed = Some(message),
            NativeEngineEvent::Call { call_id: id, update } if id == call_id && ended(&update) => {
                call_end = Some(update)
            }
            _ => {}
        }
    }
    let message = closed.flatten().expect("the closed connection says why");
    assert!(message.contains("signed this phone out"), "{message}");
    // The call is not dropped silently: it ends with a cause, or fails with a sentence.
    match call_end {
        Some(EngineUpdate::Failed { message }) => assert!(message.contains("signed this phone out"), "{message}"),
        Some(EngineUpdate::Ended { .. }) => {}
        other => panic!("the call ends with a cause: {other:?}"),
    }
    phone.engine.shutdown().await;

    // A new login (what the shell does once the agent is back) works on the same simulator.
    let phone = ready_phone(&sim).await;
    phone.engine.shutdown().await;
    spoke_like_the_sdk(&sim);
    sim.shutdown().await;
}

fn fault(status: Option<u16>, delay_ms: Option<u64>) -> FaultSpec {
    FaultSpec { status, delay_ms, count: Some(100), retry_after_secs: Some(0), ..FaultSpec::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_token_minting_leaves_the_call_up_and_the_next_token_is_accepted() {
    let sim = simulator().await;
    let mut phone = ready_phone(&sim).await;
    let call_id = active_call(&mut phone, 0).await.expect("an active call");
    let api = TelnyxApi::new(TelnyxConfig {
        base_url: sim.base_url(),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_millis(300),
        retry: RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            max_retry_after: Duration::from_millis(100),
        },
    })
    .expect("a Telnyx client");
    let key = Secret::new(API_KEY);
    let credential = CredentialId::new(phone.credential.clone());

    for (spec, code) in [
        (fault(Some(429), None), TelnyxErrorCode::TelnyxUnavailable),
        (fault(Some(500), None), TelnyxErrorCode::TelnyxUnavailable),
        (fault(None, Some(2_000)), TelnyxErrorCode::TelnyxTimedOut),
    ] {
        sim.state().push_fault(&spec).expect("a fault queued");
        let error = api.mint_login_token(&key, &credential).await.expect_err("minting fails while the fault lasts");
        assert_eq!(error.code(), code, "{spec:?}: {error}");
        assert!(!error.to_string().contains(API_KEY), "the key never appears in messages: {error}");
        // The engine and its call are untouched by a failed refresh.
        assert!(sim_call(&sim, &call_id.0).is_some_and(|call| call.end.is_none()), "{spec:?}: the call is up");
        sim.state().clear_faults();

        let token = api.mint_login_token(&key, &credential).await.expect("minting works once the simulator does");
        phone.engine.refresh_token(token.jwt().clone()).await.expect("the engine accepts the next token");
    }
    until_sim(&sim, &call_id.0, "audio after the refreshes", |call| call.end.is_none() && far_end_hears(call, MIC_HZ))
        .await
        .expect("the call still carries audio");
    until_speaker_plays(&phone.audio, SIM_TONE_HZ).await.expect("the agent still hears the far end");
    hang_up(&mut phone, &call_id).await.expect("hang up");
    phone.engine.shutdown().await;
    spoke_like_the_sdk(&sim);
    sim.shutdown().await;
}
