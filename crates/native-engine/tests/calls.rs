//! The native engine against the real simulator on 127.0.0.1: signaling, media with fake audio
//! devices, and the updates the state machine would get. Audio is proven by tone detection on
//! both sides: the engine's fake microphone plays 880 Hz and the simulator's media hears it; the
//! simulator plays 440 Hz and the engine's fake speaker measures it. Every wait is bounded.

mod common;

use std::time::{Duration, SystemTime};

use common::{
    BUSY, MIC_HZ, NO_ANSWER, Phone, REJECT, SIM_TONE_HZ, TONE, answered_inbound, dial, drop_and_recover, far_end_hears,
    hang_up, login_token, next_connection, next_update, ready_phone, sim_call, simulator, spoke_like_the_sdk, state,
    timings, until_sim, until_speaker_plays, until_speaker_silent,
};
use softphone_core::call::{CallId, EngineCommand, EngineUpdate, HangupCause, Party, SdkState};
use softphone_core::secret::Secret;
use softphone_media::{AudioSystem, FakeAudioSpec};
use softphone_native_engine::{ConnectionChange, NativeEngine, NativeEngineConfig};
use softphone_sim::signaling::{Hangup, InboundCall};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_call_has_two_way_audio_holds_sends_dtmf_and_hangs_up() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let mut phone = ready_phone(&sim).await;
    let call_id = dial(&mut phone, TONE).await;
    next_update(&mut phone.events, &call_id, "trying", state(SdkState::Trying)).await;
    next_update(&mut phone.events, &call_id, "active", state(SdkState::Active)).await;

    until_sim(&sim, &call_id.0, "the engine's 880 Hz microphone", |call| far_end_hears(call, MIC_HZ)).await;
    until_speaker_plays(&phone.audio, SIM_TONE_HZ).await;

    phone.engine.execute(EngineCommand::Hold { call_id: call_id.clone() }).await.expect("hold");
    next_update(&mut phone.events, &call_id, "held", state(SdkState::Held)).await;
    until_sim(&sim, &call_id.0, "hold", |call| call.hold_state == Some("held")).await;
    until_speaker_silent(&phone.audio).await;
    phone.engine.execute(EngineCommand::Unhold { call_id: call_id.clone() }).await.expect("unhold");
    next_update(&mut phone.events, &call_id, "active again", state(SdkState::Active)).await;
    until_speaker_plays(&phone.audio, SIM_TONE_HZ).await;

    phone
        .engine
        .execute(EngineCommand::SendDigits { call_id: call_id.clone(), digits: "12#".into() })
        .await
        .expect("dtmf");
    until_sim(&sim, &call_id.0, "the digits", |call| call.dtmf == "12#").await;

    phone.engine.execute(EngineCommand::SetMuted { call_id: call_id.clone(), muted: true }).await.expect("mute");
    until_sim(&sim, &call_id.0, "silence while muted", |call| {
        call.heard.as_ref().is_some_and(|heard| heard["dominant_hz"].is_null())
    })
    .await;
    phone.engine.execute(EngineCommand::SetMuted { call_id: call_id.clone(), muted: false }).await.expect("unmute");
    until_sim(&sim, &call_id.0, "the microphone again", |call| far_end_hears(call, MIC_HZ)).await;

    phone.engine.execute(EngineCommand::Hangup { call_id: call_id.clone() }).await.expect("hang up");
    let ended = next_update(&mut phone.events, &call_id, "ended", |u| matches!(u, EngineUpdate::Ended { .. })).await;
    assert!(matches!(ended, EngineUpdate::Ended { cause: HangupCause::NormalClearing, .. }), "{ended:?}");
    until_sim(&sim, &call_id.0, "the end", |call| call.end.is_some()).await;
    assert!(phone.engine.call_stats(&call_id).is_none(), "the call's media is gone after the hangup");
    phone.engine.shutdown().await;
    spoke_like_the_sdk(&sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_no_answer_and_reject_end_with_their_causes() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let mut phone = ready_phone(&sim).await;
    for (number, cause) in
        [(BUSY, HangupCause::UserBusy), (NO_ANSWER, HangupCause::NoAnswer), (REJECT, HangupCause::CallRejected)]
    {
        let call_id = dial(&mut phone, number).await;
        let ended =
            next_update(&mut phone.events, &call_id, "the end", |u| matches!(u, EngineUpdate::Ended { .. })).await;
        let EngineUpdate::Ended { cause: got, .. } = ended else { unreachable!() };
        assert_eq!(got, cause, "calling {number}");
        assert!(phone.engine.call_stats(&call_id).is_none(), "no media left for {number}");
    }
    phone.engine.shutdown().await;
    spoke_like_the_sdk(&sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_call_rings_is_answered_with_audio_and_hung_up_by_the_caller() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let mut phone = ready_phone(&sim).await;
    let started = sim
        .switchboard()
        .start_inbound(InboundCall {
            from: "+14155550123".into(),
            caller_name: Some("Ada Lovelace".into()),
            ..Default::default()
        })
        .expect("the simulator rings the phone");
    let call_id = CallId(started.call_id.clone());
    let incoming =
        next_update(&mut phone.events, &call_id, "the invite", |u| matches!(u, EngineUpdate::Incoming { .. })).await;
    assert_eq!(
        incoming,
        EngineUpdate::Incoming { remote: Party { number: "+14155550123".into(), name: Some("Ada Lovelace".into()) } }
    );
    phone.engine.execute(EngineCommand::Answer { call_id: call_id.clone() }).await.expect("answer");
    next_update(&mut phone.events, &call_id, "active", state(SdkState::Active)).await;
    until_sim(&sim, &call_id.0, "the engine's microphone", |call| far_end_hears(call, MIC_HZ)).await;
    until_speaker_plays(&phone.audio, SIM_TONE_HZ).await;

    sim.switchboard().hang_up(&call_id.0, Hangup::default()).expect("the caller hangs up");
    let ended = next_update(&mut phone.events, &call_id, "ended", |u| matches!(u, EngineUpdate::Ended { .. })).await;
    let EngineUpdate::Ended { cause, .. } = ended else { unreachable!() };
    assert_eq!(cause, HangupCause::NormalClearing);
    until_speaker_silent(&phone.audio).await;
    phone.engine.shutdown().await;
    spoke_like_the_sdk(&sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declining_an_inbound_call_tells_the_caller_user_busy() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let mut phone = ready_phone(&sim).await;
    let started = sim
        .switchboard()
        .start_inbound(InboundCall { from: "+14155550124".into(), ..Default::default() })
        .expect("the simulator rings the phone");
    let call_id = CallId(started.call_id.clone());
    next_update(&mut phone.events, &call_id, "the invite", |u| matches!(u, EngineUpdate::Incoming { .. })).await;
    phone.engine.execute(EngineCommand::Hangup { call_id: call_id.clone() }).await.expect("decline");
    let call = until_sim(&sim, &call_id.0, "the decline", |call| call.end.is_some()).await;
    let end = serde_json::to_value(call.end.expect("ended")).unwrap();
    assert_eq!(end["cause"], "USER_BUSY", "{end}");
    phone.engine.shutdown().await;
    spoke_like_the_sdk(&sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_socket_mid_call_is_recovered_with_audio() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let mut phone = ready_phone(&sim).await;
    let call_id = dial(&mut phone, TONE).await;
    next_update(&mut phone.events, &call_id, "active", state(SdkState::Active)).await;
    until_speaker_plays(&phone.audio, SIM_TONE_HZ).await;

    let dropped = sim.switchboard().drop_sessions("all").expect("the simulator drops the socket");
    assert_eq!(dropped, 1);
    next_update(&mut phone.events, &call_id, "recovering", state(SdkState::Recovering)).await;
    next_connection(&mut phone.events, "reconnected", |c| matches!(c, ConnectionChange::Reconnected)).await;
    next_update(&mut phone.events, &call_id, "active after the reattach", state(SdkState::Active)).await;
    let call = until_sim(&sim, &call_id.0, "the reattached media", |call| {
        call.reattached == 1 && call.media_connected && far_end_hears(call, MIC_HZ)
    })
    .await;
    assert!(call.end.is_none(), "the call survived the drop");
    until_speaker_plays(&phone.audio, SIM_TONE_HZ).await;
    phone.engine.execute(EngineCommand::Hangup { call_id: call_id.clone() }).await.expect("hang up");
    next_update(&mut phone.events, &call_id, "ended", |u| matches!(u, EngineUpdate::Ended { .. })).await;
    phone.engine.shutdown().await;
    spoke_like_the_sdk(&sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_token_on_the_live_socket_keeps_the_call() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let (credential, token) = login_token(&sim);
    let audio = AudioSystem::fake(FakeAudioSpec::tone(MIC_HZ)).expect("fake audio");
    let mut config = NativeEngineConfig::new(sim.ws_url(), token, Vec::new());
    config.timings = timings();
    let (engine, mut events) = NativeEngine::start(config, audio.clone()).await.expect("the engine starts");
    next_connection(&mut events, "ready", |c| matches!(c, ConnectionChange::Ready)).await;
    let mut phone = Phone { engine, events, audio };
    let call_id = dial(&mut phone, TONE).await;
    next_update(&mut phone.events, &call_id, "active", state(SdkState::Active)).await;

    let fresh = sim.state().mint_login_token(&credential, SystemTime::now()).expect("a new token");
    phone.engine.refresh_token(Secret::new(fresh)).await.expect("the login with the new token is accepted");
    // The call goes on: media still flows both ways and nothing ended it.
    until_sim(&sim, &call_id.0, "audio after the refresh", |call| far_end_hears(call, MIC_HZ)).await;
    until_speaker_plays(&phone.audio, SIM_TONE_HZ).await;
    assert!(sim_call(&sim, &call_id.0).is_some_and(|call| call.end.is_none()), "the call is still up");
    phone.engine.shutdown().await;
    spoke_like_the_sdk(&sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_token_is_refused_with_a_sentence() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let audio = AudioSystem::fake(FakeAudioSpec::default()).expect("fake audio");
    let mut config = NativeEngineConfig::new(sim.ws_url(), Secret::new("eyJ.not-a-token.x"), Vec::new());
    config.timings = timings();
    let (engine, mut events) = NativeEngine::start(config, audio).await.expect("the socket opens");
    let refused =
        next_connection(&mut events, "login failure", |c| matches!(c, ConnectionChange::LoginFailed { .. })).await;
    let ConnectionChange::LoginFailed { message } = refused else { unreachable!() };
    assert!(message.contains("Telnyx refused the login"), "{message}");
    assert!(!message.contains("not-a-token"), "the token never appears in messages: {message}");
    engine.shutdown().await;
    spoke_like_the_sdk(&sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbound_call_has_audio_with_telnyx_ice_servers_configured() {
    // What the app does with real credentials: Telnyx's STUN/TURN servers in the config, here
    // with the simulator (on loopback) standing in for Telnyx.
    let sim = simulator(Duration::from_secs(3600)).await;
    let (_, token) = login_token(&sim);
    let audio = AudioSystem::fake(FakeAudioSpec::tone(MIC_HZ)).expect("fake audio");
    let ice = vec![softphone_core::ipc::IceServer {
        urls: vec!["stun:stun.telnyx.com:3478".into()],
        username: None,
        credential: None,
    }];
    let mut config = NativeEngineConfig::new(sim.ws_url(), token, ice);
    config.timings = timings();
    let (engine, mut events) = NativeEngine::start(config, audio.clone()).await.expect("the engine starts");
    next_connection(&mut events, "ready", |change| matches!(change, ConnectionChange::Ready)).await;
    let mut phone = Phone { engine, events, audio };
    let started = sim
        .switchboard()
        .start_inbound(InboundCall { from: "+14155550125".into(), ..Default::default() })
        .expect("the simulator rings the phone");
    let call_id = CallId(started.call_id.clone());
    next_update(&mut phone.events, &call_id, "the invite", |u| matches!(u, EngineUpdate::Incoming { .. })).await;
    phone.engine.execute(EngineCommand::Answer { call_id: call_id.clone() }).await.expect("answer");
    until_sim(&sim, &call_id.0, "the engine's microphone", |call| far_end_hears(call, MIC_HZ)).await;
    until_speaker_plays(&phone.audio, SIM_TONE_HZ).await;
    phone.engine.shutdown().await;
    spoke_like_the_sdk(&sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbound_call_through_the_turn_relay_has_two_way_audio() {
    // As a network that lets nothing through but the TURN server: relay-only media, every
    // packet through the simulator's TURN server.
    let sim = simulator(Duration::from_secs(3600)).await;
    let turn = softphone_sim::turn::TurnServer::start(softphone_sim::turn::TurnConfig::default()).expect("turn");
    let (_, token) = login_token(&sim);
    let audio = AudioSystem::fake(FakeAudioSpec::tone(MIC_HZ)).expect("fake audio");
    let ice = vec![softphone_core::ipc::IceServer {
        urls: vec![turn.turn_url()],
        username: Some(softphone_sim::turn::DEFAULT_TURN_USERNAME.into()),
        credential: Some(softphone_sim::turn::DEFAULT_TURN_PASSWORD.into()),
    }];
    let mut config = NativeEngineConfig::new(sim.ws_url(), token, ice);
    config.timings = timings();
    config.media.candidates = softphone_media::CandidatePolicy::RelayOnly;
    let (engine, mut events) = NativeEngine::start(config, audio.clone()).await.expect("the engine starts");
    next_connection(&mut events, "ready", |change| matches!(change, ConnectionChange::Ready)).await;
    let mut phone = Phone { engine, events, audio };
    let call_id = dial(&mut phone, TONE).await;
    next_update(&mut phone.events, &call_id, "active", state(SdkState::Active)).await;
    until_sim(&sim, &call_id.0, "the engine's 880 Hz microphone", |call| far_end_hears(call, MIC_HZ)).await;
    until_speaker_plays(&phone.audio, SIM_TONE_HZ).await;
    // str0m reports the chosen pair with its statistics, once a second.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let route = loop {
        let stats = phone.engine.call_stats(&call_id).expect("the call's media");
        if stats.route.is_some() || tokio::time::Instant::now() > deadline {
            break stats.route;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(route.as_deref(), Some("relay"));
    let relayed = turn.stats();
    assert!(relayed.relayed_to_peers > 0 && relayed.relayed_to_clients > 0, "{relayed:?}");
    phone.engine.execute(EngineCommand::Hangup { call_id: call_id.clone() }).await.expect("hang up");
    next_update(&mut phone.events, &call_id, "ended", |u| matches!(u, EngineUpdate::Ended { .. })).await;
    phone.engine.shutdown().await;
    spoke_like_the_sdk(&sim);
    sim.shutdown().await;
}

/// Telnyx's FreeSWITCH reads a `0.0.0.0` connection address as the RFC 2543 hold method and
/// stops sending (the simulator does the same): an inbound answer and a reattach must name a
/// real candidate, or the agent hears nothing from the moment the call is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_and_a_reattach_name_a_real_address_so_the_far_end_keeps_sending() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let mut phone = ready_phone(&sim).await;
    let call = InboundCall { from: "+14155550125".into(), ..Default::default() };
    let call_id = answered_inbound(&sim, &mut phone, call).await;
    spoke_like_the_sdk(&sim);

    drop_and_recover(&sim, &mut phone, &call_id, 1).await;
    spoke_like_the_sdk(&sim);
    hang_up(&mut phone, &call_id).await;
    phone.engine.shutdown().await;
    sim.shutdown().await;
}

/// Telnyx keeps a held call held across a socket drop. The SDK says so in its attach
/// (`wasHeldBeforeRecovery`) and shows the call held; so must the engine, or the agent sees
/// Active while the customer hears hold music. One Resume brings the call back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_held_when_the_socket_dropped_comes_back_held_and_resumes_with_one_action() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let mut phone = ready_phone(&sim).await;
    let call_id = dial(&mut phone, TONE).await;
    next_update(&mut phone.events, &call_id, "active", state(SdkState::Active)).await;
    phone.engine.execute(EngineCommand::Hold { call_id: call_id.clone() }).await.expect("hold");
    next_update(&mut phone.events, &call_id, "held", state(SdkState::Held)).await;

    sim.switchboard().drop_sessions("all").expect("the simulator drops the socket");
    next_update(&mut phone.events, &call_id, "recovering", state(SdkState::Recovering)).await;
    let after = next_update(&mut phone.events, &call_id, "back after the reattach", |u| {
        matches!(u, EngineUpdate::State { state: SdkState::Held | SdkState::Active })
    })
    .await;
    assert_eq!(after, EngineUpdate::State { state: SdkState::Held }, "the recovered call shows held, as Telnyx has it");
    let call = until_sim(&sim, &call_id.0, "the reattach", |call| call.reattached == 1 && call.media_connected).await;
    assert_eq!(call.hold_state, Some("held"), "Telnyx still holds the call");
    spoke_like_the_sdk(&sim);

    phone.engine.execute(EngineCommand::Unhold { call_id: call_id.clone() }).await.expect("resume");
    next_update(&mut phone.events, &call_id, "active", state(SdkState::Active)).await;
    until_sim(&sim, &call_id.0, "the call resumed with audio", |call| {
        call.hold_state == Some("active") && far_end_hears(call, MIC_HZ)
    })
    .await;
    until_speaker_plays(&phone.audio, SIM_TONE_HZ).await;
    hang_up(&mut phone, &call_id).await;
    spoke_like_the_sdk(&sim);
    phone.engine.shutdown().await;
    sim.shutdown().await;
}

/// The answering machine of the simulator's directory.
const VOICEMAIL: &str = "+15555550112";

/// A WAV of `seconds` of a `hz` sine, as an agent's recorded greeting.
fn greeting_wav(dir: &std::path::Path, hz: f32, seconds: f32) -> std::path::PathBuf {
    let path = dir.join("greeting.wav");
    let tone = softphone_media::dsp::analysis::sine(hz, 0.3, softphone_media::SAMPLE_RATE, seconds);
    softphone_media::dsp::tones::write_wav(&path, &tone).expect("WAV written");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_greeting_is_what_the_answering_machine_records_and_then_the_call_hangs_up() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let mut phone = ready_phone(&sim).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let greeting = greeting_wav(dir.path(), 700.0, 1.5);
    let call_id = dial(&mut phone, VOICEMAIL).await;
    next_update(&mut phone.events, &call_id, "active", state(SdkState::Active)).await;
    // The machine's greeting, then its beep; the agent drops the greeting once it records.
    until_speaker_plays(&phone.audio, 480.0).await;
    until_sim(&sim, &call_id.0, "the beep", |call| call.voicemail.is_some()).await;
    // Muted meanwhile: the greeting is sent anyway.
    phone.engine.execute(EngineCommand::SetMuted { call_id: call_id.clone(), muted: true }).await.expect("mute");
    let dropped = EngineCommand::PlayVoicemail { call_id: call_id.clone(), greeting: greeting.display().to_string() };
    phone.engine.execute(dropped).await.expect("the greeting plays");
    let ended = next_update(&mut phone.events, &call_id, "the hangup after the greeting", |u| {
        matches!(u, EngineUpdate::Ended { .. })
    })
    .await;
    assert!(matches!(ended, EngineUpdate::Ended { cause: HangupCause::NormalClearing, .. }), "{ended:?}");
    let call = until_sim(&sim, &call_id.0, "the end", |call| call.end.is_some()).await;
    let message = call.voicemail.expect("the machine recorded a message");
    let heard_hz = message["dominant_hz"].as_f64().expect("a tone was recorded");
    assert!((heard_hz - 700.0).abs() < 15.0, "the greeting's 700 Hz, never the 880 Hz microphone: {message}");
    let recorded_ms = message["recorded_ms"].as_u64().expect("recorded");
    assert!((1_300..=1_700).contains(&recorded_ms), "the whole 1.5 s greeting and nothing after it: {message}");
    spoke_like_the_sdk(&sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_greeting_that_cannot_be_read_hangs_up_rather_than_leave_the_call_open() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let mut phone = ready_phone(&sim).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let not_a_wav = dir.path().join("greeting.wav");
    std::fs::write(&not_a_wav, b"not a wav").expect("written");
    let call_id = dial(&mut phone, VOICEMAIL).await;
    next_update(&mut phone.events, &call_id, "active", state(SdkState::Active)).await;
    let dropped = EngineCommand::PlayVoicemail { call_id: call_id.clone(), greeting: not_a_wav.display().to_string() };
    let error = phone.engine.execute(dropped).await.expect_err("unreadable");
    assert_eq!(error.code(), "Wav", "{error}");
    next_update(&mut phone.events, &call_id, "the hangup", |u| matches!(u, EngineUpdate::Ended { .. })).await;
}
