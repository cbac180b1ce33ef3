//! Generated audio: the fake microphone's sources and the ringtone, ringback and call-waiting
//! cadences. Everything is mono at 48 kHz.

use std::f32::consts::{SQRT_2, TAU};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::dsp::g711::from_i16;
use crate::dsp::resample::StreamResampler;
use crate::{MediaError, SAMPLE_RATE};
pub use softphone_core::settings::Ringtone;

/// Peak amplitude of a test tone with an RMS level of -20 dBFS.
pub const TONE_AMPLITUDE: f32 = 0.1 * SQRT_2;
/// How long each burst of [`MicSource::Pulse`] lasts, in milliseconds.
pub const PULSE_ON_MS: u32 = 100;
/// The period of [`MicSource::Pulse`], in milliseconds.
pub const PULSE_PERIOD_MS: u32 = 1_000;

/// What the fake microphone plays.
#[derive(Debug, Clone)]
pub enum MicSource {
    /// Digital silence.
    Silence,
    /// A sine of `hz` at -20 dBFS RMS.
    Tone {
        /// Frequency in Hz.
        hz: f32,
        /// Current phase, radians.
        phase: f32,
    },
    /// Bursts of a `hz` sine at -20 dBFS RMS: [`PULSE_ON_MS`] on, the rest of [`PULSE_PERIOD_MS`]
    /// silent. Used to measure latency (a burst's onset is easy to find).
    Pulse {
        /// Frequency in Hz.
        hz: f32,
        /// Samples since the start of the current period.
        position: usize,
    },
    /// A WAV file (resampled to 48 kHz, mixed to mono), looped.
    Wav {
        /// The file, for messages.
        path: PathBuf,
        /// Its samples.
        samples: Arc<[f32]>,
        /// The next sample to play.
        position: usize,
    },
}

impl MicSource {
    /// A source playing `path` in a loop. 16-bit integer or 32-bit float PCM, any rate and
    /// channel count.
    pub fn wav(path: &Path) -> Result<MicSource, MediaError> {
        Ok(MicSource::Wav { path: path.to_owned(), samples: load_wav(path)?, position: 0 })
    }

    /// Fills `out` with the next samples.
    pub fn fill(&mut self, out: &mut [f32]) {
        match self {
            MicSource::Silence => out.fill(0.0),
            MicSource::Tone { hz, phase } => {
                let step = TAU * *hz / SAMPLE_RATE as f32;
                for sample in out {
                    *sample = TONE_AMPLITUDE * phase.sin();
                    *phase = (*phase + step) % TAU;
                }
            }
            MicSource::Pulse { hz, position } => {
                let period = (PULSE_PERIOD_MS * SAMPLE_RATE / 1000) as usize;
                let on = (PULSE_ON_MS * SAMPLE_RATE / 1000) as usize;
                for sample in out {
                    *sample = if *position < on {
                        TONE_AMPLITUDE * (TAU * *hz * *position as f32 / SAMPLE_RATE as f32).sin()
                    } else {
                        0.0
                    };
                    *position = (*position + 1) % period;
                }
            }
            MicSource::Wav { samples, position, .. } => {
                for sample in out {
                    *sample = samples[*position];
                    *position = (*position + 1) % samples.len();
                }
            }
        }
    }
}

/// Writes `samples` (48 kHz mono) as a 16-bit PCM WAV file.
pub fn write_wav(path: &Path, samples: &[f32]) -> Result<(), MediaError> {
    let wav_error = |reason: String| MediaError::Wav { path: path.to_owned(), reason };
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).map_err(|e| wav_error(e.to_string()))?;
    for sample in samples {
        writer
            .write_sample((sample.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16)
            .map_err(|e| wav_error(e.to_string()))?;
    }
    writer.finalize().map_err(|e| wav_error(e.to_string()))
}

/// Reads a WAV file, mixes it to mono and resamples it to 48 kHz.
pub fn load_wav(path: &Path) -> Result<Arc<[f32]>, MediaError> {
    let wav_error = |reason: String| MediaError::Wav { path: path.to_owned(), reason };
    let mut reader = hound::WavReader::open(path).map_err(|e| wav_error(e.to_string()))?;
    let spec = reader.spec();
    let interleaved: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, 16) => reader
            .samples::<i16>()
            .map(|s| s.map(from_i16))
            .collect::<Result<_, _>>()
            .map_err(|e| wav_error(e.to_string()))?,
        (hound::SampleFormat::Float, 32) => {
            reader.samples::<f32>().collect::<Result<_, _>>().map_err(|e| wav_error(e.to_string()))?
        }
        (format, bits) => {
            return Err(wav_error(format!("expected 16-bit integer or 32-bit float PCM, found {bits}-bit {format:?}")));
        }
    };
    let channels = usize::from(spec.channels.max(1));
    let mono: Vec<f32> =
        interleaved.chunks(channels).map(|frame| frame.iter().sum::<f32>() / frame.len() as f32).collect();
    if mono.is_empty() {
        return Err(wav_error("no samples".to_owned()));
    }
    let mut resampler = StreamResampler::new(spec.sample_rate, SAMPLE_RATE)?;
    let mut out = Vec::with_capacity(mono.len() * SAMPLE_RATE as usize / spec.sample_rate.max(1) as usize + 1);
    resampler.process(&mono, &mut out)?;
    // Flush the resampler's tail with silence so short files keep their end.
    let tail = (spec.sample_rate / 50) as usize + resampler.delay_samples();
    resampler.process(&vec![0.0; tail], &mut out)?;
    if out.is_empty() {
        return Err(wav_error("too short to play".to_owned()));
    }
    Ok(out.into())
}

/// One step of a cadence: these frequencies (summed) for this long; no frequencies is a pause.
#[derive(Debug, Clone, PartialEq)]
struct Step {
    hz: &'static [f32],
    ms: u32,
}

/// A looping tone pattern: ringtone, ringback or call-waiting beep.
#[derive(Debug, Clone, PartialEq)]
pub struct Cadence {
    steps: &'static [Step],
    amplitude: f32,
    step: usize,
    position: usize,
    /// Samples since the cadence started, for the phase of its sines.
    clock: u64,
}

/// Ringback (what the caller hears while the far end rings): North American 440 + 480 Hz,
/// 2 s on, 4 s off.
const RINGBACK: &[Step] = &[Step { hz: &[440.0, 480.0], ms: 2_000 }, Step { hz: &[], ms: 4_000 }];
/// Ringtone of an inbound call: a 1 s warble of 660/880 Hz (50 ms each), then 2 s off.
const RINGTONE: &[Step] = &[
    Step { hz: &[660.0], ms: 50 },
    Step { hz: &[880.0], ms: 50 },
    Step { hz: &[660.0], ms: 50 },
    Step { hz: &[880.0], ms: 50 },
    Step { hz: &[660.0], ms: 50 },
    Step { hz: &[880.0], ms: 50 },
    Step { hz: &[660.0], ms: 50 },
    Step { hz: &[880.0], ms: 50 },
    Step { hz: &[660.0], ms: 50 },
    Step { hz: &[880.0], ms: 50 },
    Step { hz: &[660.0], ms: 50 },
    Step { hz: &[880.0], ms: 50 },
    Step { hz: &[660.0], ms: 50 },
    Step { hz: &[880.0], ms: 50 },
    Step { hz: &[660.0], ms: 50 },
    Step { hz: &[880.0], ms: 50 },
    Step { hz: &[660.0], ms: 50 },
    Step { hz: &[880.0], ms: 50 },
    Step { hz: &[660.0], ms: 50 },
    Step { hz: &[880.0], ms: 50 },
    Step { hz: &[], ms: 2_000 },
];
/// Chime ringtone: two bell notes falling (C6 then G5), then 2 s off.
const CHIME: &[Step] = &[Step { hz: &[1046.5], ms: 400 }, Step { hz: &[783.99], ms: 600 }, Step { hz: &[], ms: 2_000 }];
/// Pulse ringtone: four 1200 Hz beeps of 150 ms, 100 ms apart, then 2.1 s off (3 s a cycle).
const PULSE: &[Step] = &[
    Step { hz: &[1200.0], ms: 150 },
    Step { hz: &[], ms: 100 },
    Step { hz: &[1200.0], ms: 150 },
    Step { hz: &[], ms: 100 },
    Step { hz: &[1200.0], ms: 150 },
    Step { hz: &[], ms: 100 },
    Step { hz: &[1200.0], ms: 150 },
    Step { hz: &[], ms: 2_100 },
];
/// Call waiting (a second call rings during a call): two 440 Hz beeps of 300 ms, then 8 s off.
const CALL_WAITING: &[Step] = &[
    Step { hz: &[440.0], ms: 300 },
    Step { hz: &[], ms: 200 },
    Step { hz: &[440.0], ms: 300 },
    Step { hz: &[], ms: 8_000 },
];

impl Cadence {
    /// The ringback tone at -20 dBFS.
    pub fn ringback() -> Cadence {
        Cadence::new(RINGBACK, TONE_AMPLITUDE / 2.0)
    }

    /// The classic ringtone at -14 dBFS (it must be heard across a room).
    pub fn ringtone() -> Cadence {
        Cadence::ringtone_of(Ringtone::Classic)
    }

    /// One of the app's ringtones, at -14 dBFS.
    pub fn ringtone_of(ringtone: Ringtone) -> Cadence {
        let steps = match ringtone {
            Ringtone::Classic => RINGTONE,
            Ringtone::Chime => CHIME,
            Ringtone::Pulse => PULSE,
        };
        Cadence::new(steps, TONE_AMPLITUDE * 2.0)
    }

    /// The call-waiting beeps at -20 dBFS.
    pub fn call_waiting() -> Cadence {
        Cadence::new(CALL_WAITING, TONE_AMPLITUDE)
    }

    fn new(steps: &'static [Step], amplitude: f32) -> Cadence {
        Cadence { steps, amplitude, step: 0, position: 0, clock: 0 }
    }

    /// Adds the next `out.len()` samples of the cadence to `out`.
    pub fn mix_into(&mut self, out: &mut [f32]) {
        for sample in out {
            let step = &self.steps[self.step];
            let t = self.clock as f32 / SAMPLE_RATE as f32;
            for hz in step.hz {
                *sample += self.amplitude * (TAU * hz * (t % 1.0)).sin();
            }
            self.clock += 1;
            self.position += 1;
            if self.position >= (step.ms * SAMPLE_RATE / 1000) as usize {
                self.position = 0;
                self.step = (self.step + 1) % self.steps.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::analysis::{decimate_by_6, dominant_hz, level_dbfs};

    #[test]
    fn tone_source_is_at_minus_20_dbfs() {
        let mut source = MicSource::Tone { hz: 440.0, phase: 0.0 };
        let mut samples = vec![0.0; SAMPLE_RATE as usize / 2];
        source.fill(&mut samples);
        assert!((level_dbfs(&samples) + 20.0).abs() < 0.1);
        assert!((dominant_hz(&decimate_by_6(&samples), 8_000).unwrap() - 440.0).abs() < 2.0);
    }

    #[test]
    fn pulse_is_on_for_100_ms_of_each_second() {
        let mut source = MicSource::Pulse { hz: 1_000.0, position: 0 };
        let mut samples = vec![0.0; SAMPLE_RATE as usize];
        source.fill(&mut samples);
        let ms = SAMPLE_RATE as usize / 1000;
        assert!(level_dbfs(&samples[..100 * ms]) > -21.0);
        assert_eq!(level_dbfs(&samples[101 * ms..]), crate::dsp::analysis::FLOOR_DBFS);
    }

    #[test]
    fn ringback_plays_two_seconds_then_pauses() {
        let mut cadence = Cadence::ringback();
        let mut samples = vec![0.0; 3 * SAMPLE_RATE as usize];
        cadence.mix_into(&mut samples);
        let second = SAMPLE_RATE as usize;
        assert!(level_dbfs(&samples[..2 * second]) > -25.0);
        assert_eq!(level_dbfs(&samples[2 * second..]), crate::dsp::analysis::FLOOR_DBFS);
        let hz = dominant_hz(&decimate_by_6(&samples[..second / 2]), 8_000).unwrap();
        assert!((hz - 440.0).abs() < 3.0 || (hz - 480.0).abs() < 3.0, "{hz}");
    }

    #[test]
    fn each_ringtone_has_its_own_pitch_and_a_quiet_pause() {
        let ms = SAMPLE_RATE as usize / 1000;
        for (ringtone, first_ms, pitches) in [
            (Ringtone::Classic, 1_000, &[660.0, 880.0][..]),
            (Ringtone::Chime, 400, &[1046.5][..]),
            (Ringtone::Pulse, 150, &[1200.0][..]),
        ] {
            let mut cadence = Cadence::ringtone_of(ringtone);
            let mut samples = vec![0.0; 3 * SAMPLE_RATE as usize];
            cadence.mix_into(&mut samples);
            assert!(level_dbfs(&samples[..first_ms * ms]) > -18.0, "{ringtone:?} rings loud");
            let hz = dominant_hz(&decimate_by_6(&samples[..first_ms * ms]), 8_000).unwrap();
            assert!(pitches.iter().any(|pitch| (hz - pitch).abs() < 12.0), "{ringtone:?} at {hz} Hz");
            // The last second of each cycle is quiet.
            assert_eq!(
                level_dbfs(&samples[2 * SAMPLE_RATE as usize..]),
                crate::dsp::analysis::FLOOR_DBFS,
                "{ringtone:?}"
            );
        }
    }

    #[test]
    fn wav_files_load_resampled_to_48_khz() {
        let dir = std::env::temp_dir().join(format!("softphone-media-wav-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tone.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 16_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(&path, spec).unwrap();
        for i in 0..16_000 {
            let s = (3_000.0 * (TAU * 700.0 * i as f32 / 16_000.0).sin()) as i16;
            writer.write_sample(s).unwrap();
            writer.write_sample(s).unwrap();
        }
        writer.finalize().unwrap();
        let samples = load_wav(&path).unwrap();
        assert!((samples.len() as i64 - 48_000).abs() < 2_000, "{}", samples.len());
        let hz = dominant_hz(&decimate_by_6(&samples[12_000..36_000]), 8_000).unwrap();
        assert!((hz - 700.0).abs() < 2.0, "{hz}");
        let missing = MicSource::wav(&dir.join("missing.wav")).unwrap_err();
        assert_eq!(missing.code(), "Wav");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
