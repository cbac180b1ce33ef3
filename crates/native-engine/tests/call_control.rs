//! Call Control on the native engine's calls, through the REST client the shell uses: the leg
//! Telnyx names in the signaling is what the transfer acts on, and the audio proves who talks to
//! whom afterwards.

mod common;

use std::time::Duration;

use common::*;
use softphone_core::call::{CallId, EngineCommand, EngineUpdate, HangupCause, SdkState, TelnyxLeg};
use softphone_core::secret::Secret;
use softphone_sim::signaling::{Behaviour, InboundCall, LegRole, LegView};
use softphone_sim::{DEFAULT_API_KEY, RunningSimulator};
use softphone_telnyx::{TelnyxApi, TelnyxConfig, TelnyxError};

/// What the transfer's destination says.
const BILLING: &str = "+15555550177";
const BILLING_HZ: f32 = 660.0;
/// What the caller says.
const CALLER_HZ: f32 = 523.0;

fn api(sim: &RunningSimulator) -> TelnyxApi {
    TelnyxApi::new(TelnyxConfig { base_url: sim.base_url(), ..TelnyxConfig::default() }).expect("client")
}

/// The far party's leg of the call `leg` names: the other leg of its session among the
/// connection's active calls, as the shell's adapter finds it.
async fn far_leg(api: &TelnyxApi, leg: &TelnyxLeg) -> String {
    let key = Secret::new(DEFAULT_API_KEY.to_owned());
    api.other_leg(&key, "native-engine-tests", leg).await.expect("the active calls").expect("the far party's leg")
}

/// An inbound call from a caller saying [`CALLER_HZ`], answered, with the leg Telnyx named.
async fn answered_with_its_leg(sim: &RunningSimulator, phone: &mut Phone) -> (CallId, TelnyxLeg) {
    let started = sim
        .switchboard()
        .start_inbound(InboundCall {
            from: "+14155550123".into(),
            playback: Some(softphone_sim::signaling::PlaybackSpec::Tone { hz: CALLER_HZ }),
            ..Default::default()
        })
        .expect("the simulator rings the phone");
    let call_id = CallId(started.call_id);
    let leg =
        next_update(&mut phone.events, &call_id, "the leg's ids", |u| matches!(u, EngineUpdate::Leg { .. })).await;
    let EngineUpdate::Leg { leg } = leg else { unreachable!() };
    phone.engine.execute(EngineCommand::Answer { call_id: call_id.clone() }).await.expect("answer");
    next_update(&mut phone.events, &call_id, "active", state(SdkState::Active)).await;
    until_speaker_plays(&phone.audio, CALLER_HZ).await;
    (call_id, leg)
}

fn legs_of(sim: &RunningSimulator, session: &str) -> Vec<LegView> {
    sim.switchboard().legs().into_iter().filter(|leg| leg.call_session_id == session).collect()
}

fn hears(leg: &LegView, hz: f32) -> bool {
    leg.heard.as_ref().and_then(|heard| heard["dominant_hz"].as_f64()).is_some_and(|got| (got as f32 - hz).abs() < 8.0)
}

async fn until_leg(
    sim: &RunningSimulator,
    session: &str,
    role: LegRole,
    what: &str,
    wanted: impl Fn(&LegView) -> bool,
) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let legs = legs_of(sim, session);
        if legs.iter().any(|leg| leg.role == role && wanted(leg)) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what} within {WAIT:?}: {legs:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blind_transfer_hands_the_caller_to_the_new_party_and_ends_the_agents_leg() {
    let sim = simulator(Duration::from_secs(3600)).await;
    sim.switchboard().script_number(BILLING, Behaviour::Tone);
    sim.switchboard().script_tone(BILLING, BILLING_HZ);
    let mut phone = ready_phone(&sim).await;
    let (call_id, leg) = answered_with_its_leg(&sim, &mut phone).await;
    assert_eq!(leg.call_control_id, format!("v3:cc-{}", call_id.0));
    let session = leg.call_session_id.clone();
    until_leg(&sim, &session, LegRole::Customer, "the caller hears the agent", |l| hears(l, MIC_HZ)).await;

    let key = Secret::new(DEFAULT_API_KEY.to_owned());
    let api = api(&sim);
    let customer = api
        .other_leg(&key, "native-engine-tests", &leg)
        .await
        .expect("the active calls")
        .expect("the caller's leg is among them");
    assert_ne!(customer, leg.call_control_id);
    api.transfer(&key, &customer, BILLING, 30).await.expect("Telnyx takes the transfer");

    let ended = next_update(&mut phone.events, &call_id, "the agent's leg hung up", |u| {
        matches!(u, EngineUpdate::Ended { .. })
    })
    .await;
    assert!(matches!(ended, EngineUpdate::Ended { cause: HangupCause::NormalClearing, .. }), "{ended:?}");
    until_speaker_silent(&phone.audio).await;
    until_leg(&sim, &session, LegRole::Customer, "the caller hears billing", |l| l.is_alive && hears(l, BILLING_HZ))
        .await;
    until_leg(&sim, &session, LegRole::TransferTarget, "billing hears the caller", |l| hears(l, CALLER_HZ)).await;
    let status = api.leg_status(&key, &leg.call_control_id).await.expect("the agent's leg");
    assert!(!status.is_alive, "the agent's leg is over");
    assert!(api.leg_status(&key, &customer).await.expect("the caller's leg").is_alive, "the caller is still on");

    phone.engine.shutdown().await;
    spoke_like_the_sdk(&sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_telnyx_refuses_or_nobody_takes_leaves_the_caller_with_the_agent() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let mut phone = ready_phone(&sim).await;
    let (call_id, leg) = answered_with_its_leg(&sim, &mut phone).await;
    let key = Secret::new(DEFAULT_API_KEY.to_owned());
    let api = api(&sim);
    let customer = far_leg(&api, &leg).await;

    let refused = api.transfer(&key, &customer, "5555550177", 30).await.expect_err("not E.164");
    assert!(
        matches!(&refused, TelnyxError::ActionRefused { action: "transfer", detail } if detail.contains("E164")),
        "{refused:?}"
    );
    assert_eq!(refused.to_string(), "Telnyx refused the transfer: The 'to' parameter must be in E164 format.");
    let unknown = api.transfer(&key, "v3:nobody", BILLING, 30).await.expect_err("no such leg");
    assert!(matches!(unknown, TelnyxError::ActionRefused { .. }), "{unknown:?}");

    // Busy: Telnyx accepts the command; the destination's leg ends and the caller stays.
    api.transfer(&key, &customer, BUSY, 30).await.expect("accepted");
    until_leg(&sim, &leg.call_session_id, LegRole::TransferTarget, "the busy leg ends", |l| !l.is_alive).await;
    assert!(sim_call(&sim, &call_id.0).is_some_and(|call| call.end.is_none()), "the agent's call goes on");
    until_leg(&sim, &leg.call_session_id, LegRole::Customer, "the caller still hears the agent", |l| hears(l, MIC_HZ))
        .await;
    until_speaker_plays(&phone.audio, CALLER_HZ).await;

    hang_up(&mut phone, &call_id).await;
    phone.engine.shutdown().await;
    spoke_like_the_sdk(&sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_music_plays_to_the_held_caller_and_stops_when_the_agent_is_back() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let mut phone = ready_phone(&sim).await;
    let (call_id, leg) = answered_with_its_leg(&sim, &mut phone).await;
    let session = leg.call_session_id.clone();
    let key = Secret::new(DEFAULT_API_KEY.to_owned());
    let api = api(&sim);
    let caller = far_leg(&api, &leg).await;

    phone.engine.execute(EngineCommand::Hold { call_id: call_id.clone() }).await.expect("hold");
    next_update(&mut phone.events, &call_id, "held", state(SdkState::Held)).await;
    let music = format!("{}/media/hold-music.wav", sim.base_url());
    api.start_hold_music(&key, &caller, &music).await.expect("Telnyx plays the music");
    until_leg(&sim, &session, LegRole::Customer, "the held caller hears the music", |l| hears(l, 392.0)).await;

    api.stop_playback(&key, &caller).await.expect("Telnyx stops the music");
    phone.engine.execute(EngineCommand::Unhold { call_id: call_id.clone() }).await.expect("resume");
    next_update(&mut phone.events, &call_id, "active again", state(SdkState::Active)).await;
    until_leg(&sim, &session, LegRole::Customer, "the caller hears the agent again", |l| hears(l, MIC_HZ)).await;

    // Audio Telnyx cannot fetch is refused with its reason.
    let missing = api.start_hold_music(&key, &caller, &format!("{}/media/none.wav", sim.base_url())).await;
    let refused = missing.expect_err("nothing there");
    assert!(
        refused.to_string().starts_with("Telnyx refused the hold music: Downloading audio file failed"),
        "{refused}"
    );

    hang_up(&mut phone, &call_id).await;
    phone.engine.shutdown().await;
    spoke_like_the_sdk(&sim);
    sim.shutdown().await;
}

/// One channel of a 16-bit WAV, as floats.
fn channel(wav: &[u8], index: usize) -> (Vec<f32>, hound::WavSpec) {
    let mut reader = hound::WavReader::new(std::io::Cursor::new(wav)).expect("a WAV file");
    let spec = reader.spec();
    let samples: Vec<i16> = reader.samples::<i16>().map(|s| s.expect("a sample")).collect();
    let channels = usize::from(spec.channels);
    (samples.iter().skip(index).step_by(channels).map(|s| f32::from(*s) / 32_768.0).collect(), spec)
}

fn dominant(samples: &[f32]) -> f32 {
    softphone_voice::analysis::dominant_hz(samples, 8_000).expect("a tone")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_starts_with_a_beep_pauses_for_a_card_number_and_keeps_each_party_on_its_channel() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let mut phone = ready_phone(&sim).await;
    let (call_id, leg) = answered_with_its_leg(&sim, &mut phone).await;
    let key = Secret::new(DEFAULT_API_KEY.to_owned());
    let api = api(&sim);
    let caller = far_leg(&api, &leg).await;

    let asked = std::time::Instant::now();
    api.start_recording(&key, &caller).await.expect("Telnyx records");
    until_leg(&sim, &leg.call_session_id, LegRole::Customer, "recording", |l| l.recording == Some("recording")).await;
    let again = api.start_recording(&key, &caller).await.expect_err("one recording at a time");
    assert!(matches!(again, TelnyxError::ActionRefused { action: "recording", .. }), "{again:?}");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    api.pause_recording(&key, &caller, true).await.expect("paused");
    let paused = std::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let paused = paused.elapsed();
    api.pause_recording(&key, &caller, false).await.expect("resumed");
    tokio::time::sleep(Duration::from_millis(500)).await;
    api.stop_recording(&key, &caller).await.expect("stopped");
    let at_most = (asked.elapsed() - paused).as_millis() as u64;

    let recordings = api.recordings_of(&key, &leg.call_session_id).await.expect("the call's recordings");
    assert_eq!(recordings.len(), 1, "{recordings:?}");
    let recording = &recordings[0];
    // Most of the 1.5 s and 0.5 s waited while recording (a loaded machine may skip frames),
    // never the second in between.
    assert!((1_500..=at_most + 100).contains(&recording.duration_ms), "at most {at_most} ms: {recording:?}");
    let wav = api.download_recording(recording).await.expect("the file");
    let (caller_channel, spec) = channel(&wav, 0);
    let (rest_channel, _) = channel(&wav, 1);
    assert_eq!((spec.channels, spec.sample_rate), (2, 8_000));
    // The beep is as loud as the voices under it: measured at its own frequency.
    let beep_level = |samples: &[f32]| softphone_voice::analysis::level_at_hz_dbfs(samples, 8_000, 1_000.0);
    let (beep, after_beep) = (8 * 300, 8 * 600);
    for (channel, what) in [(&caller_channel, "the caller's channel"), (&rest_channel, "the agent's channel")] {
        let (during, after) = (beep_level(&channel[..beep]), beep_level(&channel[after_beep..]));
        assert!(
            during > -30.0 && after < during - 20.0,
            "{what} starts with the beep: {during:.1} then {after:.1} dBFS"
        );
    }
    assert!((dominant(&caller_channel[after_beep..]) - CALLER_HZ).abs() < 10.0, "channel A is the caller");
    assert!((dominant(&rest_channel[after_beep..]) - MIC_HZ).abs() < 10.0, "channel B is the agent");

    hang_up(&mut phone, &call_id).await;
    phone.engine.shutdown().await;
    spoke_like_the_sdk(&sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_running_when_the_call_ends_is_saved() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let mut phone = ready_phone(&sim).await;
    let (call_id, leg) = answered_with_its_leg(&sim, &mut phone).await;
    let key = Secret::new(DEFAULT_API_KEY.to_owned());
    let api = api(&sim);
    let caller = far_leg(&api, &leg).await;
    api.start_recording(&key, &caller).await.expect("Telnyx records");
    tokio::time::sleep(Duration::from_millis(800)).await;
    hang_up(&mut phone, &call_id).await;
    let recordings = api.recordings_of(&key, &leg.call_session_id).await.expect("the call's recordings");
    assert_eq!(recordings.len(), 1, "saved at the hangup: {recordings:?}");
    assert!(recordings[0].duration_ms >= 600, "{recordings:?}");
    let stopped = api.stop_recording(&key, &caller).await.expect_err("the call is over");
    assert!(stopped.to_string().contains("no longer active"), "{stopped}");
    phone.engine.shutdown().await;
    sim.shutdown().await;
}

fn hears_all(leg: &LegView, wanted: &[f32]) -> bool {
    let tones: Vec<f32> =
        leg.heard.as_ref().and_then(|heard| serde_json::from_value(heard["tones_hz"].clone()).ok()).unwrap_or_default();
    wanted.iter().all(|hz| tones.iter().any(|tone| (tone - hz).abs() < 8.0))
}

/// The caller ([`CALLER_HZ`]) answered and put on hold, and the colleague ([`BILLING`], who says
/// [`BILLING_HZ`]) dialled and connected: a consult. Returns both calls and legs.
async fn consulting(sim: &RunningSimulator, phone: &mut Phone) -> ((CallId, TelnyxLeg), (CallId, TelnyxLeg)) {
    sim.switchboard().script_number(BILLING, Behaviour::Tone);
    sim.switchboard().script_tone(BILLING, BILLING_HZ);
    let (caller, caller_leg) = answered_with_its_leg(sim, phone).await;
    phone.engine.execute(EngineCommand::Hold { call_id: caller.clone() }).await.expect("hold");
    next_update(&mut phone.events, &caller, "held", state(SdkState::Held)).await;
    let colleague = CallId(uuid_like("consult"));
    phone
        .engine
        .execute(EngineCommand::Dial { call_id: colleague.clone(), number: BILLING.into(), caller_number: None })
        .await
        .expect("dial the colleague");
    let named =
        next_update(&mut phone.events, &colleague, "the consult leg", |u| matches!(u, EngineUpdate::Leg { .. })).await;
    let EngineUpdate::Leg { leg: colleague_leg } = named else { unreachable!() };
    next_update(&mut phone.events, &colleague, "the colleague answers", state(SdkState::Active)).await;
    until_speaker_plays(&phone.audio, BILLING_HZ).await;
    ((caller, caller_leg), (colleague, colleague_leg))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consult_transfer_completed_puts_the_caller_through_to_the_colleague_and_ends_both_agent_legs() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let mut phone = ready_phone(&sim).await;
    let ((caller, caller_leg), (colleague, colleague_leg)) = consulting(&sim, &mut phone).await;
    let key = Secret::new(DEFAULT_API_KEY.to_owned());
    let api = api(&sim);
    let caller_far = far_leg(&api, &caller_leg).await;
    let colleague_far = far_leg(&api, &colleague_leg).await;

    api.bridge(&key, &caller_far, &colleague_far).await.expect("Telnyx bridges them");
    for call in [&caller, &colleague] {
        next_update(&mut phone.events, call, "the agent's leg hung up", |u| matches!(u, EngineUpdate::Ended { .. }))
            .await;
    }
    until_leg(&sim, &caller_leg.call_session_id, LegRole::Customer, "the caller hears the colleague", |l| {
        l.is_alive && hears(l, BILLING_HZ)
    })
    .await;
    until_leg(&sim, &colleague_leg.call_session_id, LegRole::Customer, "the colleague hears the caller", |l| {
        l.is_alive && hears(l, CALLER_HZ)
    })
    .await;
    let twice = api.bridge(&key, &caller_far, &colleague_far).await.expect_err("bridged already");
    assert!(matches!(twice, TelnyxError::ActionRefused { action: "transfer", .. }), "{twice:?}");
    phone.engine.shutdown().await;
    spoke_like_the_sdk(&sim);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_consult_is_a_three_way_call_where_each_party_hears_the_other_two_and_the_agent_can_leave() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let mut phone = ready_phone(&sim).await;
    let ((caller, caller_leg), (colleague, colleague_leg)) = consulting(&sim, &mut phone).await;
    let key = Secret::new(DEFAULT_API_KEY.to_owned());
    let api = api(&sim);
    let caller_far = far_leg(&api, &caller_leg).await;
    let colleague_far = far_leg(&api, &colleague_leg).await;

    let name = format!("softphone-{}", caller.0);
    let conference = api.create_conference(&key, &caller_far, &name).await.expect("a conference");
    let taken = api.create_conference(&key, &colleague_far, &name).await.expect_err("the name is taken");
    assert!(taken.to_string().contains("already exists"), "{taken}");
    api.join_conference(&key, &conference, &caller_leg.call_control_id).await.expect("the agent joins");
    api.join_conference(&key, &conference, &colleague_far).await.expect("the colleague joins");
    let gone = api.join_conference(&key, "no-such-conference", &colleague_far).await.expect_err("unknown");
    assert!(
        matches!(gone, TelnyxError::ActionRefused { action: "conference", .. } | TelnyxError::NotFound { .. }),
        "{gone:?}"
    );
    // The agent lets the consult leg go and comes off hold into the conference.
    hang_up(&mut phone, &colleague).await;
    phone.engine.execute(EngineCommand::Unhold { call_id: caller.clone() }).await.expect("resume");
    next_update(&mut phone.events, &caller, "active in the conference", state(SdkState::Active)).await;

    until_leg(
        &sim,
        &caller_leg.call_session_id,
        LegRole::Customer,
        "the caller hears the agent and the colleague",
        |l| hears_all(l, &[MIC_HZ, BILLING_HZ]),
    )
    .await;
    until_leg(
        &sim,
        &colleague_leg.call_session_id,
        LegRole::Customer,
        "the colleague hears the agent and the caller",
        |l| l.is_alive && hears_all(l, &[MIC_HZ, CALLER_HZ]),
    )
    .await;
    until_leg(&sim, &caller_leg.call_session_id, LegRole::Agent, "the agent hears the caller and the colleague", |l| {
        hears_all(l, &[CALLER_HZ, BILLING_HZ])
    })
    .await;

    // The agent leaves; the caller and the colleague talk on.
    hang_up(&mut phone, &caller).await;
    until_leg(&sim, &caller_leg.call_session_id, LegRole::Customer, "the caller hears the colleague alone", |l| {
        l.is_alive && hears(l, BILLING_HZ) && !hears_all(l, &[MIC_HZ])
    })
    .await;
    phone.engine.shutdown().await;
    spoke_like_the_sdk(&sim);
    sim.shutdown().await;
}
