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

mod audio;
mod call;
pub mod dsp;
mod error;

pub use audio::{
    ANALYSIS_WINDOW, AudioDevice, TAPE_SECONDS, AudioDeviceEvent, AudioDevices, AudioLevels, AudioSystem, DeviceChoice, FAKE_AUDIO_ENV,
    FakeAudioSpec, FakeMic, SpeakerAnalysis,
};
pub use call::{CallMedia, CallMediaOptions, CandidatePolicy, CodecChoice, MediaState, MediaStats, mos_estimate};
pub use dsp::echo::VoiceProcessingConfig;
pub use error::{DeviceRole, MediaError};
pub use softphone_core::ipc::IceServer;

/// The pipeline's sample rate, in Hz.
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples in one 10 ms frame at [`SAMPLE_RATE`].
pub const FRAME_10MS: usize = 480;
