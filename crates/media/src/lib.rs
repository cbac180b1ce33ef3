//! The native call engine's media: what carries a call's audio when the webview has no WebRTC.
//!
//! - [`AudioSystem`]: the sound devices (cpal) or fake ones for tests (`SOFTPHONE_FAKE_AUDIO`),
//!   device choice (microphone, speaker, a separate ringer), hot-unplug, ringtone and ringback,
//!   echo cancellation and noise suppression, level meters.
//! - [`CallMedia`]: one call's WebRTC peer (str0m: ICE, DTLS-SRTP, Opus preferred, PCMU, RFC 4733
//!   telephone-event) with its own thread and UDP socket, a jitter buffer, mute, hold and stats.
//!
//! Inside, audio is mono `f32` at 48 kHz ([`SAMPLE_RATE`]) in 10 ms frames ([`FRAME_10MS`]);
//! device rates and PCMU's 8 kHz are converted at the edges.
//!
//! # Fake devices: `SOFTPHONE_FAKE_AUDIO`
//!
//! Set, it makes [`AudioSystem::from_env`] use fake devices: comma- or semicolon-separated
//! `key=value` items, all optional (`1`, `on` or empty = all defaults).
//!
//! | item | meaning |
//! |---|---|
//! | `mic=silence` | the microphone is silent (default) |
//! | `mic=tone:440` | a 440 Hz sine at -20 dBFS |
//! | `mic=pulse:1000` | 100 ms bursts of 1 kHz at -20 dBFS, one per second (latency) |
//! | `mic=wav:/path/file.wav` | a 16-bit or float WAV, any rate and channel count, looped |
//! | `processing=off` | no echo cancellation / noise suppression (default for fakes: a test tone counts as noise) |
//! | `processing=on` / `aec` / `ns` | both, or one of them, as with real devices |
//!
//! Example: `SOFTPHONE_FAKE_AUDIO="mic=wav:/tmp/voice.wav;processing=on"`. Inputs are "Fake
//! microphone" (default) and "Fake headset microphone", outputs "Fake speaker" (default) and "Fake
//! headset"; they run on their own real-time 10 ms clock, and what an output plays is measured:
//! [`AudioSystem::speaker_analysis`] says e.g. "880 Hz at -20 dBFS". A bad value is
//! [`MediaError::FakeAudioSpec`].

mod audio;
mod call;
pub mod dsp;
mod error;
pub mod realtime;

pub use audio::{
    ANALYSIS_WINDOW, AudioDevice, AudioDeviceEvent, AudioDevices, AudioLevels, AudioSystem, DeviceChoice,
    FAKE_AUDIO_ENV, FakeAudioSpec, FakeMic, MicRecording, SpeakerAnalysis, SpeakerPlayback, TAPE_SECONDS,
};
pub use call::{
    CallMedia, CallMediaOptions, CandidatePolicy, CodecChoice, MediaState, MediaStats, mos_estimate,
    trust_turn_certificate,
};
pub use dsp::echo::VoiceProcessingConfig;
pub use error::{DeviceRole, MediaError};
pub use softphone_core::ipc::IceServer;

/// The pipeline's sample rate, in Hz.
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples in one 10 ms frame at [`SAMPLE_RATE`].
pub const FRAME_10MS: usize = 480;
