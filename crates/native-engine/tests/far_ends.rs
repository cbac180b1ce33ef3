//! The engine against far ends that negotiate as media servers do: ICE-lite or full ICE,
//! answering `a=setup:active` or `passive`, offering or answering; and a carrier leg limited to
//! G.711 A-law. Every call in strict mode, with audio both ways by tone detection.

mod common;

use std::time::Duration;

use common::{
    MIC_HZ, SIM_TONE_HZ, answered_inbound, dial, drop_and_recover, far_end_hears, hang_up, next_update, ready_phone,
    ready_phone_with, simulator, spoke_like_the_sdk, state, until_sim, until_speaker_plays,
};
use softphone_core::call::{EngineUpdate, HangupCause, SdkState};
use softphone_media::{CallMediaOptions, CodecChoice};
use softphone_sim::media::{DtlsAnswerRole, FarEnd};
use softphone_sim::signaling::InboundCall;

const ALAW_ONLY: &str = "+15555550108";
const ICE_LITE: &str = "+15555550109";
const ICE_LITE_PASSIVE: &str = "+15555550110";
const DTLS_PASSIVE: &str = "+15555550111";

/// We offer to each kind of far end: ICE-lite ones leave the nomination to us.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_offer_to_ice_lite_and_full_far_ends_in_either_dtls_role_with_audio_both_ways() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let mut phone = ready_phone(&sim).await;
    for number in [ICE_LITE, ICE_LITE_PASSIVE, DTLS_PASSIVE] {
        let call_id = dial(&mut phone, number).await;
        next_update(&mut phone.events, &call_id, "active", state(SdkState::Active)).await;
        until_sim(&sim, &call_id.0, &format!("{number} hearing the engine"), |call| far_end_hears(call, MIC_HZ)).await;
        until_speaker_plays(&phone.audio, SIM_TONE_HZ).await;
        hang_up(&mut phone, &call_id).await;
    }
    spoke_like_the_sdk(&sim);
    phone.engine.shutdown().await;
    sim.shutdown().await;
}

/// An ICE-lite far end offers (an inbound call, and the attach after a drop): we answer, and as
/// the full agent we must be the controlling one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_answer_an_ice_lite_far_end_and_recover_the_call_with_audio() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let mut phone = ready_phone(&sim).await;
    let far_end = FarEnd { ice_lite: true, dtls_answer: DtlsAnswerRole::Active, ..FarEnd::default() };
    let call = InboundCall { from: "+14155550126".into(), far_end: Some(far_end), ..Default::default() };
    let call_id = answered_inbound(&sim, &mut phone, call).await;
    drop_and_recover(&sim, &mut phone, &call_id, 1).await;
    hang_up(&mut phone, &call_id).await;
    spoke_like_the_sdk(&sim);
    phone.engine.shutdown().await;
    sim.shutdown().await;
}

/// A carrier leg that takes only A-law: the engine's offer has PCMA, so the call has audio; an
/// engine limited to Opus gets what Telnyx gives, INCOMPATIBLE_DESTINATION, not a silent call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_a_law_only_far_end_talks_pcma_and_an_offer_without_it_fails_with_the_cause() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let mut phone = ready_phone(&sim).await;
    let call_id = dial(&mut phone, ALAW_ONLY).await;
    next_update(&mut phone.events, &call_id, "active", state(SdkState::Active)).await;
    until_sim(&sim, &call_id.0, "the engine over A-law", |call| far_end_hears(call, MIC_HZ)).await;
    until_speaker_plays(&phone.audio, SIM_TONE_HZ).await;
    let stats = phone.engine.call_stats(&call_id).expect("the call's stats");
    assert_eq!(stats.codec.as_deref(), Some("PCMA"), "{stats:?}");
    hang_up(&mut phone, &call_id).await;
    spoke_like_the_sdk(&sim);
    phone.engine.shutdown().await;

    let opus_only = CallMediaOptions { codecs: CodecChoice::OpusOnly, ..CallMediaOptions::default() };
    let mut phone = ready_phone_with(&sim, opus_only).await;
    let call_id = dial(&mut phone, ALAW_ONLY).await;
    let ended = next_update(&mut phone.events, &call_id, "the end", |u| matches!(u, EngineUpdate::Ended { .. })).await;
    assert_eq!(ended, EngineUpdate::Ended { cause: HangupCause::IncompatibleDestination, sip_code: Some(488) });
    let findings = sim.switchboard().audit().findings();
    assert_eq!(findings.total, 1, "{findings:?}");
    assert!(findings.findings[0].what.contains("no codec in common"), "{findings:?}");
    phone.engine.shutdown().await;
    sim.shutdown().await;
}
