//! The one error type of the crate, with a stable code per kind for the UI.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Which audio device a message or an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceRole {
    /// The microphone the call captures from.
    Microphone,
    /// The speaker or headset the call plays to (ringback and call-waiting beeps too).
    Speaker,
    /// Where the ringtone of an inbound call plays.
    Ringer,
}

impl std::fmt::Display for DeviceRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DeviceRole::Microphone => "microphone",
            DeviceRole::Speaker => "speaker",
            DeviceRole::Ringer => "ringer",
        })
    }
}

/// Everything that can go wrong in the media engine. [`MediaError::code`] is the closed set of
/// codes the UI branches on; the `Display` text is a sentence a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The audio device exists (or is the default) but cannot be opened: unplugged, busy, or no
    /// sound card at all (cpal's `DeviceNotAvailable`).
    #[error("the {role} \"{device}\" cannot be opened: {reason}")]
    DeviceUnavailable {
        /// Which device.
        role: DeviceRole,
        /// Its name (`default` for the system default).
        device: String,
        /// What the audio system said.
        reason: String,
    },
    /// [`crate::AudioSystem::select`] named a device that is not in the list.
    #[error("there is no {role} called \"{device}\"")]
    DeviceNotFound {
        /// Which device.
        role: DeviceRole,
        /// The name asked for.
        device: String,
    },
    /// The audio host (ALSA here) could not be used at all.
    #[error("the audio system is not available: {0}")]
    AudioHost(String),
    /// `SOFTPHONE_FAKE_AUDIO` did not parse.
    #[error("SOFTPHONE_FAKE_AUDIO=\"{spec}\" is not valid: {reason}")]
    FakeAudioSpec {
        /// The variable's value.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A WAV file for the fake microphone could not be used.
    #[error("cannot play {path}: {reason}")]
    Wav {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// The SDP did not parse or str0m refused it.
    #[error("invalid SDP: {0}")]
    InvalidSdp(String),
    /// No audio m-line, or none of its codecs is Opus or PCMU.
    #[error("no usable audio in the SDP (need an audio m-line with Opus or PCMU)")]
    NoAudio,
    /// An answer arrived but no offer is outstanding, and it differs from the answer already taken.
    #[error("no offer is waiting for an answer (a changed answer after the first is not supported)")]
    NoPendingOffer,
    /// [`crate::CallMedia::send_dtmf`] got a character that is not `0-9`, `*`, `#` or `A-D`.
    #[error("'{0}' is not a DTMF digit (use 0-9, *, #, A-D)")]
    InvalidDtmf(char),
    /// A relay-only call could not get a TURN allocation.
    #[error("no TURN relay could be allocated: {0}")]
    NoRelay(String),
    /// The call's media thread has stopped (it failed, see the log, or the call ended).
    #[error("the call's media has stopped")]
    Stopped,
    /// Opus failed to initialise, encode or decode.
    #[error("codec: {0}")]
    Codec(String),
    /// The resampler or the echo canceller refused a configuration.
    #[error("audio processing: {0}")]
    Processing(String),
    /// The UDP socket.
    #[error("network socket: {0}")]
    Io(#[from] std::io::Error),
    /// Any other WebRTC failure (ICE, DTLS, RTP) reported by str0m.
    #[error("webrtc: {0}")]
    Webrtc(String),
}

impl MediaError {
    /// The stable code of this kind of error, e.g. `"DeviceUnavailable"`.
    pub fn code(&self) -> &'static str {
        match self {
            MediaError::DeviceUnavailable { .. } => "DeviceUnavailable",
            MediaError::DeviceNotFound { .. } => "DeviceNotFound",
            MediaError::AudioHost(_) => "AudioHost",
            MediaError::FakeAudioSpec { .. } => "FakeAudioSpec",
            MediaError::Wav { .. } => "Wav",
            MediaError::InvalidSdp(_) => "InvalidSdp",
            MediaError::NoAudio => "NoAudio",
            MediaError::NoPendingOffer => "NoPendingOffer",
            MediaError::InvalidDtmf(_) => "InvalidDtmf",
            MediaError::NoRelay(_) => "NoRelay",
            MediaError::Stopped => "MediaStopped",
            MediaError::Codec(_) => "Codec",
            MediaError::Processing(_) => "AudioProcessing",
            MediaError::Io(_) => "Socket",
            MediaError::Webrtc(_) => "Webrtc",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_errors_name_the_device_and_have_codes() {
        let error = MediaError::DeviceUnavailable {
            role: DeviceRole::Microphone,
            device: "default".to_owned(),
            reason: "no sound card".to_owned(),
        };
        assert_eq!(error.code(), "DeviceUnavailable");
        assert_eq!(error.to_string(), "the microphone \"default\" cannot be opened: no sound card");
        assert_eq!(MediaError::InvalidDtmf('x').code(), "InvalidDtmf");
    }
}
