//! Our call media against the simulator's media peer (str0m on 127.0.0.1, the far end of every
//! simulated call), connected directly by exchanging SDP: audio both ways in both offer
//! directions and both codecs, DTMF, mute, hold, early media.

mod common;

use common::{Offerer, connect, fake_audio, sim_hears, sim_hears_silence, we_hear, we_hear_silence};
use softphone_media::{CallMedia, CodecChoice, MediaError};
use softphone_sim::media::{MediaSession, Playback};

fn two_way_audio(offerer: Offerer, codecs: CodecChoice, expected_codec: &str) {
    let audio = fake_audio(440.0);
    let (call, far_end) = connect(&audio, offerer, codecs, Playback::Tone { hz: 880.0 });
    let heard_by_sim = sim_hears(&far_end, 440.0);
    let heard_by_us = we_hear(&audio, 880.0);
    let stats = call.stats();
    assert_eq!(stats.codec.as_deref(), Some(expected_codec));
    assert!(stats.packets_sent > 0 && stats.packets_received > 0, "{stats:?}");
    // The simulator sends -20 dBFS; PCMU and Opus keep it within a couple of dB (once the
    // analysis window no longer reaches back before playout started).
    let level = common::wait_for(
        "the speaker level to settle near -20 dBFS",
        || audio.speaker_analysis().map(|heard| heard.level_dbfs).filter(|level| (level + 20.0).abs() < 2.0),
        || format!("{:?}", audio.speaker_analysis()),
    );
    eprintln!(
        "{offerer:?} offers, {expected_codec}: simulator heard {heard_by_sim:.1} Hz, we heard {heard_by_us:.1} Hz at \
         {level:.1} dBFS, connected in {:?} ms",
        stats.connect_ms
    );
}

#[test]
fn we_offer_opus_and_audio_flows_both_ways() {
    two_way_audio(Offerer::Us, CodecChoice::OpusAndG711, "opus");
}

#[test]
fn we_offer_pcmu_only_and_audio_flows_both_ways() {
    two_way_audio(Offerer::Us, CodecChoice::PcmuOnly, "PCMU");
}

#[test]
fn simulator_offers_and_we_answer_with_opus() {
    two_way_audio(Offerer::Simulator, CodecChoice::OpusAndG711, "opus");
}

#[test]
fn simulator_offers_and_we_answer_with_pcmu_only() {
    two_way_audio(Offerer::Simulator, CodecChoice::PcmuOnly, "PCMU");
}

#[test]
fn dtmf_digits_reach_the_far_end_in_order() {
    let audio = fake_audio(440.0);
    let (call, far_end) = connect(&audio, Offerer::Us, CodecChoice::OpusAndG711, Playback::Silence);
    call.send_dtmf("19*#").unwrap();
    common::wait_for(
        "the simulator to receive 19*#",
        || (far_end.dtmf_received() == "19*#").then_some(()),
        || far_end.dtmf_received(),
    );
    let error = call.send_dtmf("12x").unwrap_err();
    assert!(matches!(error, MediaError::InvalidDtmf('x')), "{error}");
}

#[test]
fn dtmf_works_over_pcmu_too() {
    let audio = fake_audio(440.0);
    let (call, far_end) = connect(&audio, Offerer::Simulator, CodecChoice::PcmuOnly, Playback::Silence);
    call.send_dtmf("0A").unwrap();
    common::wait_for("0A", || (far_end.dtmf_received() == "0A").then_some(()), || far_end.dtmf_received());
}

#[test]
fn mute_sends_silence_and_unmute_brings_the_voice_back() {
    let audio = fake_audio(440.0);
    let (call, far_end) = connect(&audio, Offerer::Us, CodecChoice::OpusAndG711, Playback::Tone { hz: 880.0 });
    sim_hears(&far_end, 440.0);
    call.set_muted(true);
    sim_hears_silence(&far_end);
    // Muting our microphone does not mute the far end.
    we_hear(&audio, 880.0);
    call.set_muted(false);
    sim_hears(&far_end, 440.0);
}

#[test]
fn hold_silences_both_directions_and_unhold_resumes_them() {
    let audio = fake_audio(440.0);
    let (call, far_end) = connect(&audio, Offerer::Simulator, CodecChoice::OpusAndG711, Playback::Tone { hz: 880.0 });
    sim_hears(&far_end, 440.0);
    we_hear(&audio, 880.0);
    call.set_held(true);
    sim_hears_silence(&far_end);
    we_hear_silence(&audio);
    call.set_held(false);
    sim_hears(&far_end, 440.0);
    we_hear(&audio, 880.0);
}

#[test]
fn early_media_answer_then_the_same_final_answer_is_accepted_once() {
    let audio = fake_audio(440.0);
    let (call, offer) = CallMedia::offer_with(&audio, &[], common::options(CodecChoice::OpusAndG711)).unwrap();
    let (far_end, answer) = MediaSession::answer(&offer, Playback::Tone { hz: 880.0 }).unwrap();
    // 183 Session Progress with SDP: early media flows.
    call.accept_answer(&answer).unwrap();
    we_hear(&audio, 880.0);
    // 200 OK repeats the SDP.
    call.accept_answer(&answer).unwrap();
    let changed = answer.replace("a=setup:", "a=x-changed:1\r\na=setup:");
    assert_eq!(call.accept_answer(&changed).unwrap_err().code(), "NoPendingOffer");
    sim_hears(&far_end, 440.0);
}

#[test]
fn garbage_sdp_is_a_coded_error() {
    let audio = fake_audio(440.0);
    let error = CallMedia::answer_with(&audio, &[], "not sdp", common::options(CodecChoice::OpusAndG711)).unwrap_err();
    assert_eq!(error.code(), "InvalidSdp", "{error}");
    let (call, _offer) = CallMedia::offer_with(&audio, &[], common::options(CodecChoice::OpusAndG711)).unwrap();
    assert_eq!(call.accept_answer("v=0 nonsense").unwrap_err().code(), "InvalidSdp");
}

#[test]
fn stats_report_rtt_jitter_loss_and_mos_once_rtcp_flows() {
    let audio = fake_audio(440.0);
    let (call, _far_end) = connect(&audio, Offerer::Us, CodecChoice::OpusAndG711, Playback::Tone { hz: 880.0 });
    let stats = common::wait_for(
        "RTCP-based figures",
        || {
            let stats = call.stats();
            (stats.jitter_ms.is_some() && stats.mos.is_some()).then_some(stats)
        },
        || format!("{:?}", call.stats()),
    );
    assert!(["connected", "completed"].contains(&stats.ice_state.as_str()), "{stats:?}");
    let mos = stats.mos.unwrap();
    // Loopback: no loss, no delay to speak of.
    assert!(mos > 4.0, "{stats:?}");
    assert!(stats.packet_loss_pct < 1.0, "{stats:?}");
    eprintln!("{stats:?}");
}

#[test]
fn two_calls_can_exist_and_only_the_active_one_plays() {
    let audio = fake_audio(440.0);
    let (first, first_far) = connect(&audio, Offerer::Us, CodecChoice::OpusAndG711, Playback::Tone { hz: 880.0 });
    we_hear(&audio, 880.0);
    first.set_held(true);
    let (_second, second_far) =
        connect(&audio, Offerer::Simulator, CodecChoice::OpusAndG711, Playback::Tone { hz: 1_200.0 });
    we_hear(&audio, 1_200.0);
    sim_hears(&second_far, 440.0);
    sim_hears_silence(&first_far);
}
