//! Fake audio devices for tests and machines without a sound card, chosen with
//! `SOFTPHONE_FAKE_AUDIO`.
//!
//! Syntax: comma- or semicolon-separated `key=value` items, all optional.
//!
//! | item | meaning |
//! |---|---|
//! | `mic=silence` | the microphone is silent (the default) |
//! | `mic=tone:440` | a 440 Hz sine at -20 dBFS |
//! | `mic=pulse:1000` | 100 ms bursts of 1 kHz at -20 dBFS, one per second (latency measurements) |
//! | `mic=wav:/path/file.wav` | a 16-bit or float WAV, any rate and channels, looped |
//! | `processing=off` | no echo cancellation / noise suppression (the default for fake devices: a steady test tone counts as noise) |
//! | `processing=on` | both on, as with real devices; `processing=aec` or `processing=ns` for one of them |
//!
//! `SOFTPHONE_FAKE_AUDIO=1` (or `on`, or empty) selects fake devices with all defaults. Examples:
//! `SOFTPHONE_FAKE_AUDIO=mic=tone:440`, `SOFTPHONE_FAKE_AUDIO="mic=wav:/tmp/voice.wav;processing=on"`.
//!
//! The fake devices: inputs "Fake microphone" (default) and "Fake headset microphone", outputs
//! "Fake speaker" (default) and "Fake headset". Every input plays the configured source. They run on
//! their own real-time 10 ms clock, and what each output plays can be measured
//! ([`crate::AudioSystem::speaker_analysis`]).

use std::path::PathBuf;

use crate::MediaError;
use crate::dsp::echo::VoiceProcessingConfig;
use crate::dsp::tones::MicSource;

/// The default fake input.
pub(crate) const FAKE_MICROPHONE: &str = "Fake microphone";
/// The second fake input, which tests can unplug.
pub(crate) const FAKE_HEADSET_MICROPHONE: &str = "Fake headset microphone";
/// The default fake output.
pub(crate) const FAKE_SPEAKER: &str = "Fake speaker";
/// The second fake output, which tests can unplug.
pub(crate) const FAKE_HEADSET: &str = "Fake headset";

/// What the fake microphone plays.
#[derive(Debug, Clone, PartialEq)]
pub enum FakeMic {
    /// Silence.
    Silence,
    /// A sine of this many Hz at -20 dBFS.
    Tone(f32),
    /// 100 ms bursts of this many Hz at -20 dBFS, one per second.
    Pulse(f32),
    /// A WAV file, looped.
    Wav(PathBuf),
}

/// The parsed value of `SOFTPHONE_FAKE_AUDIO` (see the module docs for the syntax).
#[derive(Debug, Clone, PartialEq)]
pub struct FakeAudioSpec {
    /// What the fake microphones play.
    pub mic: FakeMic,
    /// Echo cancellation and noise suppression on the fake microphone (default: off).
    pub processing: VoiceProcessingConfig,
}

impl Default for FakeAudioSpec {
    fn default() -> FakeAudioSpec {
        FakeAudioSpec { mic: FakeMic::Silence, processing: VoiceProcessingConfig::OFF }
    }
}

impl FakeAudioSpec {
    /// Fake devices whose microphone plays a `hz` tone.
    pub fn tone(hz: f32) -> FakeAudioSpec {
        FakeAudioSpec { mic: FakeMic::Tone(hz), ..FakeAudioSpec::default() }
    }

    /// Parses the `SOFTPHONE_FAKE_AUDIO` syntax.
    pub fn parse(spec: &str) -> Result<FakeAudioSpec, MediaError> {
        let invalid = |reason: String| MediaError::FakeAudioSpec { spec: spec.to_owned(), reason };
        let mut parsed = FakeAudioSpec::default();
        let trimmed = spec.trim();
        if matches!(trimmed, "" | "1" | "on" | "true" | "yes") {
            return Ok(parsed);
        }
        for item in trimmed.split([',', ';']).map(str::trim).filter(|item| !item.is_empty()) {
            let (key, value) = item.split_once('=').ok_or_else(|| invalid(format!("\"{item}\" is not key=value")))?;
            match key.trim() {
                "mic" => parsed.mic = parse_mic(value.trim()).map_err(invalid)?,
                "processing" => {
                    parsed.processing = match value.trim() {
                        "on" => VoiceProcessingConfig::ON,
                        "off" => VoiceProcessingConfig::OFF,
                        "aec" => VoiceProcessingConfig { echo_cancellation: true, noise_suppression: false },
                        "ns" => VoiceProcessingConfig { echo_cancellation: false, noise_suppression: true },
                        other => {
                            return Err(invalid(format!("processing must be on, off, aec or ns, not \"{other}\"")));
                        }
                    }
                }
                other => return Err(invalid(format!("unknown item \"{other}\" (expected mic or processing)"))),
            }
        }
        Ok(parsed)
    }

    /// The microphone source, reading the WAV file if there is one.
    pub(crate) fn mic_source(&self) -> Result<MicSource, MediaError> {
        Ok(match &self.mic {
            FakeMic::Silence => MicSource::Silence,
            FakeMic::Tone(hz) => MicSource::Tone { hz: *hz, phase: 0.0 },
            FakeMic::Pulse(hz) => MicSource::Pulse { hz: *hz, position: 0 },
            FakeMic::Wav(path) => MicSource::wav(path)?,
        })
    }
}

fn parse_mic(value: &str) -> Result<FakeMic, String> {
    let hz = |text: &str| -> Result<f32, String> {
        match text.trim().parse::<f32>() {
            Ok(hz) if (20.0..=20_000.0).contains(&hz) => Ok(hz),
            _ => Err(format!("\"{text}\" is not a frequency between 20 and 20000 Hz")),
        }
    };
    match value.split_once(':') {
        None if value == "silence" => Ok(FakeMic::Silence),
        Some(("tone", text)) => Ok(FakeMic::Tone(hz(text)?)),
        Some(("pulse", text)) => Ok(FakeMic::Pulse(hz(text)?)),
        Some(("wav", path)) if !path.trim().is_empty() => Ok(FakeMic::Wav(PathBuf::from(path.trim()))),
        _ => Err(format!("mic must be silence, tone:HZ, pulse:HZ or wav:PATH, not \"{value}\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_examples() {
        assert_eq!(FakeAudioSpec::parse("1").unwrap(), FakeAudioSpec::default());
        assert_eq!(FakeAudioSpec::parse("mic=tone:440").unwrap(), FakeAudioSpec::tone(440.0));
        let wav = FakeAudioSpec::parse(" mic = wav:/tmp/voice.wav ; processing=on ").unwrap();
        assert_eq!(wav.mic, FakeMic::Wav(PathBuf::from("/tmp/voice.wav")));
        assert_eq!(wav.processing, VoiceProcessingConfig::ON);
        assert_eq!(FakeAudioSpec::parse("mic=pulse:1000,processing=aec").unwrap().mic, FakeMic::Pulse(1000.0));
    }

    #[test]
    fn rejects_nonsense_with_a_coded_error_that_quotes_it() {
        for bad in ["mic=tone:loud", "mic=drum", "speaker=x", "mic", "processing=max", "mic=tone:5"] {
            let error = FakeAudioSpec::parse(bad).unwrap_err();
            assert_eq!(error.code(), "FakeAudioSpec", "{bad}");
            assert!(error.to_string().contains(bad), "{error}");
        }
    }
}
