//! Helpers shared by the integration tests: polling with a deadline, and connecting our media
//! to the simulator's media peer directly (no signaling).

#![allow(dead_code, reason = "each test file uses its own part")]

use std::time::{Duration, Instant};

use softphone_media::{
    AudioSystem, CallMedia, CallMediaOptions, CandidatePolicy, CodecChoice, FakeAudioSpec, MediaState,
};
use softphone_sim::media::{MediaSession, Playback};

/// How long a test waits for something it expects.
pub const PATIENCE: Duration = Duration::from_secs(8);

/// Polls `probe` every 50 ms until it returns `Some`, or panics with `what` and the last value
/// seen by `describe` after [`PATIENCE`].
pub fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>, describe: impl Fn() -> String) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}; last seen: {}", describe());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Loopback candidates only: the simulator listens on 127.0.0.1.
pub fn options(codecs: CodecChoice) -> CallMediaOptions {
    CallMediaOptions { codecs, candidates: CandidatePolicy::LoopbackOnly, ..CallMediaOptions::default() }
}

/// Fake devices whose microphone plays `hz`.
pub fn fake_audio(hz: f32) -> AudioSystem {
    AudioSystem::fake(FakeAudioSpec::tone(hz)).expect("fake audio starts")
}

/// Who made the offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offerer {
    /// We offer, the simulator answers (an outbound call).
    Us,
    /// The simulator offers, we answer (an inbound call).
    Simulator,
}

/// Connects our media to a simulator peer playing `playback`; waits for both to be connected.
pub fn connect(
    audio: &AudioSystem,
    offerer: Offerer,
    codecs: CodecChoice,
    playback: Playback,
) -> (CallMedia, MediaSession) {
    let (call, far_end) = match offerer {
        Offerer::Us => {
            let (call, offer) = CallMedia::offer_with(audio, &[], options(codecs)).expect("offer");
            let (far_end, answer) = MediaSession::answer(&offer, playback).expect("simulator answers");
            call.accept_answer(&answer).expect("answer accepted");
            (call, far_end)
        }
        Offerer::Simulator => {
            let (far_end, offer) = MediaSession::offer(playback).expect("simulator offers");
            let (call, answer) = CallMedia::answer_with(audio, &[], &offer, options(codecs)).expect("we answer");
            far_end.accept_answer(&answer).expect("simulator takes the answer");
            (call, far_end)
        }
    };
    wait_for(
        "both peers connected",
        || (call.state() == MediaState::Connected && far_end.is_connected()).then_some(()),
        || format!("{:?} / sim connected {}", call.state(), far_end.is_connected()),
    );
    (call, far_end)
}

/// Waits until the simulator hears a tone near `hz`.
pub fn sim_hears(far_end: &MediaSession, hz: f32) -> f32 {
    wait_for(
        &format!("the simulator to hear {hz} Hz"),
        || far_end.heard().dominant_hz.filter(|found| (found - hz).abs() < 5.0),
        || format!("{:?}", far_end.heard()),
    )
}

/// Waits until the simulator hears silence (below -60 dBFS) while packets keep coming.
pub fn sim_hears_silence(far_end: &MediaSession) {
    let packets_before = far_end.heard().packets_received;
    wait_for(
        "the simulator to hear silence",
        || {
            let heard = far_end.heard();
            (heard.level_dbfs < -60.0 && heard.packets_received > packets_before + 10).then_some(())
        },
        || format!("{:?}", far_end.heard()),
    );
}

/// Waits until our fake speaker plays a tone near `hz`.
pub fn we_hear(audio: &AudioSystem, hz: f32) -> f32 {
    wait_for(
        &format!("our speaker to play {hz} Hz"),
        || audio.speaker_analysis().and_then(|heard| heard.dominant_hz).filter(|found| (found - hz).abs() < 5.0),
        || format!("{:?}", audio.speaker_analysis()),
    )
}

/// Waits until our fake speaker is silent.
pub fn we_hear_silence(audio: &AudioSystem) {
    wait_for(
        "our speaker to be silent",
        || audio.speaker_analysis().filter(|heard| heard.level_dbfs < -60.0).map(|_| ()),
        || format!("{:?}", audio.speaker_analysis()),
    );
}
