//! The native session against the simulator, with tokens minted over the simulator's REST API as
//! the app's account mints them: a start while token minting fails says why, goes on trying and
//! comes up once minting works; a dial while no engine runs fails its call with a sentence; a
//! short-lived token is replaced before it lapses, and calls placed after its lapse connect.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use common::{MIC_HZ, TONE, far_end_hears, next_connection, state, until_sim};
use softphone_core::call::{CallId, EngineCommand, EngineUpdate, SdkState};
use softphone_core::ipc::{ErrorCode, IpcError, LoginTokenGrant};
use softphone_core::secret::Secret;
use softphone_media::{AudioSystem, FakeAudioSpec};
use softphone_native_engine::{
    ConnectionChange, NativeEngineEvent, NativeSession, SessionConfig, SessionStart, Supervision, TokenFuture,
    TokenSource,
};
use softphone_sim::{FaultSpec, RunningSimulator, SimulatorConfig};
use softphone_telnyx::{CredentialId, RetryPolicy, TelnyxApi, TelnyxConfig};
use softphone_wake::test_support::{SideNamespace, ip, run_in_new_network_namespace};
use tokio::sync::mpsc::Receiver;

const API_KEY: &str = "KEY_native_session_test";

/// Tokens minted over the simulator's REST API for one telephony credential, as the app's account
/// mints them; counts what it minted.
struct RestTokens {
    api: TelnyxApi,
    credential: CredentialId,
    signaling_url: String,
    /// The STUN/TURN servers each grant names (Telnyx always names some).
    ice_servers: Vec<softphone_core::ipc::IceServer>,
    minted: AtomicU32,
}

impl TokenSource for RestTokens {
    fn login_token(&self) -> TokenFuture<'_, Result<LoginTokenGrant, IpcError>> {
        Box::pin(async move {
            let token = self.api.mint_login_token(&Secret::new(API_KEY), &self.credential).await?;
            self.minted.fetch_add(1, Ordering::SeqCst);
            Ok(LoginTokenGrant {
                login_token: token.jwt().expose().to_owned(),
                expires_at_unix: token.expires_at().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs()),
                signaling_url: self.signaling_url.clone(),
                ice_servers: self.ice_servers.clone(),
            })
        })
    }

    fn forget_login_token(&self) -> TokenFuture<'_, ()> {
        Box::pin(async {})
    }
}

async fn simulator(token_ttl: Duration) -> RunningSimulator {
    common::simulator_with(SimulatorConfig {
        api_keys: vec![API_KEY.to_owned()],
        token_ttl,
        ..SimulatorConfig::default()
    })
    .await
}

fn rest_tokens(sim: &RunningSimulator) -> Arc<RestTokens> {
    rest_tokens_naming(sim, Vec::new())
}

/// [`rest_tokens`] whose grants name `ice_servers`.
fn rest_tokens_naming(sim: &RunningSimulator, ice_servers: Vec<softphone_core::ipc::IceServer>) -> Arc<RestTokens> {
    let api = TelnyxApi::new(TelnyxConfig {
        base_url: sim.base_url(),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_millis(500),
        retry: RetryPolicy {
            max_attempts: 1,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            max_retry_after: Duration::from_millis(100),
        },
    })
    .expect("a Telnyx client");
    let credential = sim.state().create_credential("native-session-tests".into(), None, None, None);
    Arc::new(RestTokens {
        api,
        credential: CredentialId::new(credential.id),
        signaling_url: sim.ws_url(),
        ice_servers,
        minted: AtomicU32::new(0),
    })
}

fn quick_supervision() -> SessionConfig {
    SessionConfig {
        timings: common::timings(),
        supervision: Supervision {
            start_retry_first: Duration::from_millis(200),
            start_retry_max: Duration::from_millis(400),
            relogin_first: Duration::from_millis(200),
            relogin_max: Duration::from_millis(400),
            token_retry: Duration::from_secs(1),
            clock_check: Duration::from_millis(200),
            ..Supervision::default()
        },
        ..SessionConfig::default()
    }
}

/// Dials the tone number and waits until the far end hears the agent.
async fn call_with_audio(
    sim: &RunningSimulator,
    session: &NativeSession,
    events: &mut Receiver<NativeEngineEvent>,
    n: u32,
) {
    let call_id = CallId(common::uuid_like(&format!("session-call-{n}")));
    session.send(EngineCommand::Dial { call_id: call_id.clone(), number: TONE.to_owned(), caller_number: None });
    common::next_update(events, &call_id, "active", state(SdkState::Active)).await;
    until_sim(sim, &call_id.0, "the agent heard at the far end", |call| far_end_hears(call, MIC_HZ)).await;
    session.send(EngineCommand::Hangup { call_id: call_id.clone() });
    common::next_update(events, &call_id, "ended", |update| matches!(update, EngineUpdate::Ended { .. })).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_without_tokens_says_why_fails_dials_and_comes_up_once_tokens_are_minted() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let tokens = rest_tokens(&sim);
    // Token minting fails (Telnyx has trouble) until the fault is cleared.
    sim.state()
        .push_fault(&FaultSpec {
            status: Some(503),
            delay_ms: None,
            count: Some(1_000),
            retry_after_secs: Some(0),
            ..FaultSpec::default()
        })
        .expect("a fault queued");
    let audio = AudioSystem::fake(FakeAudioSpec::tone(MIC_HZ)).expect("fake audio");
    let SessionStart { session, mut events, first_start } =
        NativeSession::start(Arc::clone(&tokens) as Arc<dyn TokenSource>, audio, quick_supervision()).await;
    let error = first_start.expect_err("no token, no engine");
    assert_eq!(error.code, ErrorCode::TelnyxUnavailable, "{error:?}");
    next_connection(&mut events, "connecting", |change| matches!(change, ConnectionChange::Connecting)).await;
    let said = next_connection(&mut events, "why it did not start", |change| {
        matches!(change, ConnectionChange::StartFailed { .. })
    })
    .await;
    assert!(matches!(&said, ConnectionChange::StartFailed { message } if message == &error.message), "{said:?}");

    // A dial meanwhile fails its call at once, with a sentence, instead of waiting.
    let early = CallId(common::uuid_like("session-early"));
    session.send(EngineCommand::Dial { call_id: early.clone(), number: TONE.to_owned(), caller_number: None });
    let failed =
        common::next_update(&mut events, &early, "failed", |update| matches!(update, EngineUpdate::Failed { .. }))
            .await;
    assert!(matches!(&failed, EngineUpdate::Failed { message } if message.contains("not connected")), "{failed:?}");

    // Telnyx is back: the session starts by itself, and calls work.
    sim.state().clear_faults();
    next_connection(&mut events, "ready after the retries", |change| matches!(change, ConnectionChange::Ready)).await;
    assert!(session.engine().is_some(), "an engine runs");
    call_with_audio(&sim, &session, &mut events, 0).await;
    session.shutdown().await;
    common::spoke_like_the_sdk(&sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_lived_token_is_replaced_before_it_lapses_and_calls_connect_after_its_lapse() {
    // Tokens live 6 s; the session replaces each at three quarters of its life.
    let sim = simulator(Duration::from_secs(6)).await;
    let tokens = rest_tokens(&sim);
    let audio = AudioSystem::fake(FakeAudioSpec::tone(MIC_HZ)).expect("fake audio");
    let SessionStart { session, mut events, first_start } =
        NativeSession::start(Arc::clone(&tokens) as Arc<dyn TokenSource>, audio, quick_supervision()).await;
    first_start.expect("the engine starts");
    next_connection(&mut events, "ready", |change| matches!(change, ConnectionChange::Ready)).await;
    assert_eq!(tokens.minted.load(Ordering::SeqCst), 1);

    // Past the first token's lapse.
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert!(tokens.minted.load(Ordering::SeqCst) >= 2, "a new token was minted before the first lapsed");
    // The refreshes logged in again without a word to the agent: no failed login on the way.
    while let Ok(event) = events.try_recv() {
        assert!(
            !matches!(
                event,
                NativeEngineEvent::Connection(ConnectionChange::LoginFailed { .. } | ConnectionChange::Closed { .. })
            ),
            "{event:?}"
        );
    }
    call_with_audio(&sim, &session, &mut events, 1).await;
    session.shutdown().await;
    common::spoke_like_the_sdk(&sim);
    sim.shutdown().await;
}

/// The SDK's signaling timings: a dead socket is noticed only when an idle ping (after 20 s of
/// silence) goes 5 s unanswered. Anything sooner than that after a freeze is the wake's doing.
fn sdk_timings_with_quick_supervision(sleep_check: Duration) -> SessionConfig {
    let mut config = quick_supervision();
    config.timings = softphone_telnyx::rtc::RtcTimings::default();
    config.supervision.sleep_check = sleep_check;
    config
}

/// Ready again after the freeze, with the call `call_id` reattached (Active) and audio both ways
/// on new media; returns how long from `since`.
async fn back_with_the_call(
    sim: &RunningSimulator,
    events: &mut Receiver<NativeEngineEvent>,
    call_id: &CallId,
    since: std::time::Instant,
) -> Duration {
    common::next_update(events, call_id, "recovering", state(SdkState::Recovering)).await;
    common::next_update(events, call_id, "active again", state(SdkState::Active)).await;
    let took = since.elapsed();
    until_sim(sim, &call_id.0, "the call reattached with audio", |call| {
        call.reattached == 1 && call.media_connected && far_end_hears(call, MIC_HZ)
    })
    .await;
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wake_reconnects_at_once_reattaches_the_call_and_an_inbound_call_rings_after_it() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let tokens = rest_tokens(&sim);
    let audio = AudioSystem::fake(FakeAudioSpec::tone(MIC_HZ)).expect("fake audio");
    let config = sdk_timings_with_quick_supervision(Duration::from_secs(3600));
    let SessionStart { session, mut events, first_start } =
        NativeSession::start(Arc::clone(&tokens) as Arc<dyn TokenSource>, audio, config).await;
    first_start.expect("the engine starts");
    next_connection(&mut events, "ready", |change| matches!(change, ConnectionChange::Ready)).await;
    let call_id = CallId(common::uuid_like("wake-call"));
    session.send(EngineCommand::Dial { call_id: call_id.clone(), number: TONE.to_owned(), caller_number: None });
    common::next_update(&mut events, &call_id, "active", state(SdkState::Active)).await;
    until_sim(&sim, &call_id.0, "the agent heard", |call| far_end_hears(call, MIC_HZ)).await;

    // The laptop sleeps: its socket goes silent, open. It wakes.
    assert_eq!(sim.switchboard().freeze_sessions("all").expect("frozen"), 1);
    let woke = std::time::Instant::now();
    session.wake().await;
    let took = back_with_the_call(&sim, &mut events, &call_id, woke).await;
    eprintln!("woke -> the call active again: {} ms", took.as_millis());

    // Someone calls right after: it rings.
    let inbound = sim
        .switchboard()
        .start_inbound(softphone_sim::signaling::InboundCall { from: "+14155550177".into(), ..Default::default() })
        .expect("the simulator rings the phone");
    common::next_update(&mut events, &CallId(inbound.call_id), "the ringing call", |update| {
        matches!(update, EngineUpdate::Incoming { .. })
    })
    .await;
    session.shutdown().await;
    common::spoke_like_the_sdk(&sim);
    sim.shutdown().await;
}

/// The wall clock the next test moves ahead, as a suspend does (the monotonic clock stops).
static SLEPT_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn wall_clock_after_sleeps() -> std::time::SystemTime {
    std::time::SystemTime::now() + Duration::from_millis(SLEPT_MS.load(Ordering::SeqCst))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_wake_signal_the_jump_of_the_wall_clock_says_the_computer_slept() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let tokens = rest_tokens(&sim);
    let audio = AudioSystem::fake(FakeAudioSpec::tone(MIC_HZ)).expect("fake audio");
    let mut config = sdk_timings_with_quick_supervision(Duration::from_millis(200));
    config.wall_clock = wall_clock_after_sleeps;
    let SessionStart { session, mut events, first_start } =
        NativeSession::start(Arc::clone(&tokens) as Arc<dyn TokenSource>, audio, config).await;
    first_start.expect("the engine starts");
    next_connection(&mut events, "ready", |change| matches!(change, ConnectionChange::Ready)).await;
    let call_id = CallId(common::uuid_like("clock-call"));
    session.send(EngineCommand::Dial { call_id: call_id.clone(), number: TONE.to_owned(), caller_number: None });
    common::next_update(&mut events, &call_id, "active", state(SdkState::Active)).await;

    assert_eq!(sim.switchboard().freeze_sessions("all").expect("frozen"), 1);
    let slept = std::time::Instant::now();
    SLEPT_MS.fetch_add(3_600_000, Ordering::SeqCst);
    let took = back_with_the_call(&sim, &mut events, &call_id, slept).await;
    eprintln!("clock jump -> the call active again: {} ms", took.as_millis());
    session.shutdown().await;
    sim.shutdown().await;
}

/// A session on `tokens` with the network watcher wired to it as the shell wires it, and a call
/// named `name` to the tone number up with the far end hearing the agent.
struct WatchedCall {
    session: NativeSession,
    events: Receiver<NativeEngineEvent>,
    speaker: AudioSystem,
    call_id: CallId,
    changes: Arc<AtomicU32>,
    watcher: tokio::task::JoinHandle<Result<(), softphone_wake::NetworkWatchError>>,
}

async fn call_with_the_network_watched(sim: &RunningSimulator, tokens: Arc<RestTokens>, name: &str) -> WatchedCall {
    let audio = AudioSystem::fake(FakeAudioSpec::tone(MIC_HZ)).expect("fake audio");
    let speaker = audio.clone();
    // The SDK's own timings: a dead socket would take 25 s to notice by its pings.
    let config = sdk_timings_with_quick_supervision(Duration::from_secs(3600));
    let SessionStart { session, mut events, first_start } =
        NativeSession::start(tokens as Arc<dyn TokenSource>, audio, config).await;
    first_start.expect("the engine starts");
    next_connection(&mut events, "ready", |change| matches!(change, ConnectionChange::Ready)).await;
    let changes = Arc::new(AtomicU32::new(0));
    let watcher = {
        let (session, changes) = (session.clone(), Arc::clone(&changes));
        tokio::spawn(softphone_wake::watch_network(move |change| {
            eprintln!("the network changed: {change:?}");
            changes.fetch_add(1, Ordering::SeqCst);
            let session = session.clone();
            tokio::spawn(async move { session.wake().await });
        }))
    };
    // The start-up listing is no change.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let call_id = CallId(common::uuid_like(name));
    session.send(EngineCommand::Dial { call_id: call_id.clone(), number: TONE.to_owned(), caller_number: None });
    common::next_update(&mut events, &call_id, "active", state(SdkState::Active)).await;
    until_sim(sim, &call_id.0, "the agent heard", |call| far_end_hears(call, MIC_HZ)).await;
    WatchedCall { session, events, speaker, call_id, changes, watcher }
}

impl WatchedCall {
    /// After the address changed (at `changed`): one re-registration, and the call back with
    /// audio both ways on new media; returns how long that took. Ends the session.
    async fn back_after_the_change(mut self, sim: &RunningSimulator, changed: std::time::Instant) -> Duration {
        next_connection(&mut self.events, "re-registering", |change| {
            matches!(change, ConnectionChange::Reconnecting { .. })
        })
        .await;
        let took = back_with_the_call(sim, &mut self.events, &self.call_id, changed).await;
        // The agent hears the far end on the new media too.
        common::until_speaker_plays(&self.speaker, common::SIM_TONE_HZ).await;
        assert_eq!(self.changes.load(Ordering::SeqCst), 1, "one change, one re-registration");
        self.watcher.abort();
        self.session.shutdown().await;
        took
    }
}

/// Runs in the network namespace [`a_call_survives_an_address_change`] makes: the laptop's
/// interface (one end of a veth pair) has an address; mid-call it trades it for another, as when Wi-Fi
/// moves to another network. The network watcher is wired to the session as the shell wires it.
/// The simulator and its media listen on loopback here, so the old path does not break by
/// itself: what is tested is that the change alone re-registers at once and the call comes back
/// on new media with audio both ways (a dead old path is the frozen-socket test's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run inside a network namespace by a_call_survives_an_address_change"]
async fn in_a_namespace_the_address_changes_mid_call() {
    ip(&["link", "set", "lo", "up"]);
    ip(&["link", "add", "softphone0", "type", "veth", "peer", "name", "softphone1"]);
    ip(&["addr", "add", "10.77.0.2/24", "dev", "softphone0"]);
    ip(&["link", "set", "softphone0", "up"]);
    let sim = simulator(Duration::from_secs(3600)).await;
    let call = call_with_the_network_watched(&sim, rest_tokens(&sim), "address-change-call").await;

    // Another network: the old address goes, a new one comes.
    let changed = std::time::Instant::now();
    ip(&["addr", "add", "10.77.1.3/24", "dev", "softphone0"]);
    ip(&["addr", "del", "10.77.0.2/24", "dev", "softphone0"]);
    let took = call.back_after_the_change(&sim, changed).await;
    eprintln!("address change -> the call active again: {} ms", took.as_millis());
    sim.shutdown().await;
}

#[test]
fn a_call_survives_an_address_change() {
    run_in_new_network_namespace("in_a_namespace_the_address_changes_mid_call");
}

/// Runs in the network namespace [`a_call_survives_its_old_path_dying_with_the_address`] makes.
/// The simulator lives in a second namespace across a veth pair, as Telnyx lives across the
/// laptop's network: it listens, and its media answers, on 10.77.0.1 (and is reachable on
/// 10.77.1.1 too). The laptop starts on 10.77.0.2; mid-call it moves to 10.77.1.3 with a default
/// route through 10.77.1.1, as on another Wi-Fi. Nothing reaches the old address any more, so the
/// old socket and the old media are dead without anyone saying so: the change alone must bring
/// the call back, on a new socket and new media, with audio both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run inside a network namespace by a_call_survives_its_old_path_dying_with_the_address"]
async fn in_a_namespace_the_old_path_dies_with_the_address_mid_call() {
    ip(&["link", "set", "lo", "up"]);
    let side = SideNamespace::start();
    ip(&["link", "add", "softphone0", "type", "veth", "peer", "name", "softphone1"]);
    ip(&["link", "set", "softphone1", "netns", &side.pid().to_string()]);
    side.ip(&["link", "set", "lo", "up"]);
    side.ip(&["addr", "add", "10.77.0.1/24", "dev", "softphone1"]);
    side.ip(&["addr", "add", "10.77.1.1/24", "dev", "softphone1"]);
    side.ip(&["link", "set", "softphone1", "up"]);
    ip(&["addr", "add", "10.77.0.2/24", "dev", "softphone0"]);
    ip(&["link", "set", "softphone0", "up"]);
    ip(&["route", "add", "default", "via", "10.77.0.1"]);
    let beside = side.runtime();
    // Telnyx names its STUN/TURN servers with every token: the simulator's, beside.
    let turn = beside
        .spawn(async {
            let config = softphone_sim::turn::TurnConfig {
                listen: "10.77.0.1:3478".parse().expect("an address"),
                ..softphone_sim::turn::TurnConfig::default()
            };
            softphone_sim::turn::TurnServer::start(config).expect("the STUN/TURN server starts beside")
        })
        .await
        .expect("the STUN/TURN server starts beside");
    let stun = softphone_core::ipc::IceServer {
        urls: vec![format!("stun:{}", turn.local_addr())],
        username: None,
        credential: None,
    };
    let sim = beside
        .spawn(simulator_with_config(SimulatorConfig {
            listen: "10.77.0.1:0".parse().expect("an address"),
            media_ip: "10.77.0.1".parse().expect("an address"),
            api_keys: vec![API_KEY.to_owned()],
            token_ttl: Duration::from_secs(3600),
            ..SimulatorConfig::default()
        }))
        .await
        .expect("the simulator starts beside");
    let call = call_with_the_network_watched(&sim, rest_tokens_naming(&sim, vec![stun]), "old-path-dies-call").await;

    // Another network: the old address goes, and with it every packet of the old socket and media.
    let changed = std::time::Instant::now();
    ip(&["addr", "add", "10.77.1.3/24", "dev", "softphone0"]);
    ip(&["addr", "del", "10.77.0.2/24", "dev", "softphone0"]);
    ip(&["route", "replace", "default", "via", "10.77.1.1"]);
    let took = call.back_after_the_change(&sim, changed).await;
    eprintln!("address change, old path dead -> the call active again: {} ms", took.as_millis());
    let sessions = sim.switchboard().sessions();
    assert_eq!(sessions.len(), 1, "the same session, not a second one: {sessions:?}");
    beside.spawn(async move { sim.shutdown().await }).await.expect("the simulator stops");
    drop(turn);
    beside.shutdown_background();
}

#[test]
fn a_call_survives_its_old_path_dying_with_the_address() {
    run_in_new_network_namespace("in_a_namespace_the_old_path_dies_with_the_address_mid_call");
}

async fn simulator_with_config(config: SimulatorConfig) -> RunningSimulator {
    common::simulator_with(config).await
}
