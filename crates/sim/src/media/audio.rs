//! Sample-level audio: G.711 (from `softphone-voice`), simple resampling, and the playback sources.
//!
//! Everything inside the peer is mono `f32` PCM at [`RATE`] (48 kHz), full scale ±1.0. Codecs at
//! other rates (PCMU at 8 kHz) convert at the edge.

use std::collections::VecDeque;
use std::f32::consts::{SQRT_2, TAU};
use std::path::Path;
use std::sync::Arc;

use super::{MediaError, Playback};

/// The internal sample rate, in Hz.
pub(crate) const RATE: u32 = 48_000;
/// Samples in one 20 ms frame at [`RATE`].
pub(crate) const FRAME: usize = 960;
/// 48 kHz / 8 kHz.
pub(crate) const PCMU_FACTOR: usize = 6;
/// Peak amplitude of [`Playback::Tone`]: an RMS level of -20 dBFS.
pub(crate) const TONE_AMPLITUDE: f32 = 0.1 * SQRT_2;
/// The most echo audio kept before the oldest is dropped: 200 ms.
pub(crate) const ECHO_MAX: usize = 10 * FRAME;

pub(crate) use softphone_voice::g711::{alaw_decode, alaw_encode, from_i16, to_i16, ulaw_decode, ulaw_encode};

/// 48 kHz → 8 kHz by averaging each group of six samples (a crude low-pass that is plenty for a
/// simulator: a 4 kHz component is attenuated, voice-band tones pass almost untouched).
pub(crate) fn decimate(samples: &[f32]) -> Vec<f32> {
    samples.chunks(PCMU_FACTOR).map(|c| c.iter().sum::<f32>() / c.len() as f32).collect()
}

/// 8 kHz → 48 kHz by linear interpolation. `last` carries the previous frame's final sample so
/// frames join without a step.
pub(crate) fn interpolate(samples: &[f32], last: &mut f32) -> Vec<f32> {
    let mut out = Vec::with_capacity(samples.len() * PCMU_FACTOR);
    for &s in samples {
        for i in 1..=PCMU_FACTOR {
            let t = i as f32 / PCMU_FACTOR as f32;
            out.push(*last + (s - *last) * t);
        }
        *last = s;
    }
    out
}

/// Linear resampling of a whole signal from `from` Hz to `to` Hz.
pub(crate) fn resample(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || samples.is_empty() {
        return samples.to_vec();
    }
    let out_len = (samples.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let step = f64::from(from) / f64::from(to);
    (0..out_len)
        .map(|i| {
            let pos = i as f64 * step;
            let index = pos as usize;
            let frac = (pos - index as f64) as f32;
            let a = samples[index.min(samples.len() - 1)];
            let b = samples[(index + 1).min(samples.len() - 1)];
            a + (b - a) * frac
        })
        .collect()
}

/// Reads a 16-bit PCM WAV file (any channel count and rate), mixes it to mono and resamples it to
/// [`RATE`].
pub(crate) fn load_wav(path: &Path) -> Result<Arc<[f32]>, MediaError> {
    let reader =
        hound::WavReader::open(path).map_err(|e| MediaError::Wav { path: path.to_owned(), reason: e.to_string() })?;
    read_wav(reader, path)
}

/// [`load_wav`] of a file's bytes (fetched from an URL, say `path`).
pub(crate) fn decode_wav(bytes: &[u8], path: &Path) -> Result<Arc<[f32]>, MediaError> {
    let reader = hound::WavReader::new(std::io::Cursor::new(bytes))
        .map_err(|e| MediaError::Wav { path: path.to_owned(), reason: e.to_string() })?;
    read_wav(reader, path)
}

fn read_wav<R: std::io::Read>(mut reader: hound::WavReader<R>, path: &Path) -> Result<Arc<[f32]>, MediaError> {
    let wav_error = |reason: String| MediaError::Wav { path: path.to_owned(), reason };
    let spec = reader.spec();
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
        return Err(wav_error(format!(
            "expected 16-bit integer PCM, found {} bits {:?}",
            spec.bits_per_sample, spec.sample_format
        )));
    }
    let channels = usize::from(spec.channels.max(1));
    let interleaved: Vec<i16> =
        reader.samples::<i16>().collect::<Result<_, _>>().map_err(|e| wav_error(e.to_string()))?;
    let mono: Vec<f32> = interleaved
        .chunks(channels)
        .map(|frame| frame.iter().map(|&s| from_i16(s)).sum::<f32>() / frame.len() as f32)
        .collect();
    if mono.is_empty() {
        return Err(wav_error("no samples".to_owned()));
    }
    Ok(resample(&mono, spec.sample_rate, RATE).into())
}

/// What the peer sends, as a generator of 20 ms frames at [`RATE`].
#[derive(Debug)]
pub(crate) enum Source {
    Silence,
    Tone {
        hz: f32,
        phase: f32,
    },
    Wav {
        samples: Arc<[f32]>,
        position: usize,
        /// Plays left after this one; `None`: for ever.
        loops_left: Option<u32>,
    },
    Echo,
    Relay(super::AudioPipe),
    /// The answering machine, `frames` 20 ms frames in.
    Voicemail {
        frames: usize,
        phase: f32,
    },
}

/// Frames of the answering machine's greeting, and of the greeting and its beep.
const GREETING_FRAMES: usize = (super::VOICEMAIL_GREETING.as_millis() / 20) as usize;
const BEEP_END_FRAMES: usize = GREETING_FRAMES + (super::VOICEMAIL_BEEP.as_millis() / 20) as usize;
/// The answering machine's greeting and beep tones.
const GREETING_HZ: f32 = 480.0;
const BEEP_HZ: f32 = 1_000.0;

/// One 20 ms frame of a tone at the playback level.
pub(crate) fn beep_frame(hz: f32, phase: &mut f32) -> Vec<f32> {
    sine_frame(hz, phase)
}

fn sine_frame(hz: f32, phase: &mut f32) -> Vec<f32> {
    let step = TAU * hz / RATE as f32;
    (0..FRAME)
        .map(|_| {
            let s = TONE_AMPLITUDE * phase.sin();
            *phase = (*phase + step) % TAU;
            s
        })
        .collect()
}

impl Source {
    /// An answering machine past its beep: what it receives now is the message.
    pub(crate) fn is_recording(&self) -> bool {
        matches!(self, Source::Voicemail { frames, .. } if *frames >= BEEP_END_FRAMES)
    }

    /// Builds the source for `playback`, reading a WAV file if it is one.
    pub(crate) fn new(playback: &Playback) -> Result<Source, MediaError> {
        Ok(match playback {
            Playback::Silence => Source::Silence,
            Playback::Tone { hz } => Source::Tone { hz: *hz, phase: 0.0 },
            Playback::Wav(path) => Source::Wav { samples: load_wav(path)?, position: 0, loops_left: None },
            Playback::Audio { samples, loops } => Source::Wav {
                samples: Arc::clone(samples),
                position: 0,
                loops_left: loops.map(|n| n.saturating_sub(1)),
            },
            Playback::Echo => Source::Echo,
            Playback::Relay(pipe) => Source::Relay(pipe.clone()),
            Playback::Voicemail => Source::Voicemail { frames: 0, phase: 0.0 },
        })
    }

    /// The next 20 ms. `echo` holds what the peer decoded and not yet sent back.
    pub(crate) fn next_frame(&mut self, echo: &mut VecDeque<f32>) -> Vec<f32> {
        match self {
            Source::Silence => vec![0.0; FRAME],
            Source::Tone { hz, phase } => sine_frame(*hz, phase),
            Source::Voicemail { frames, phase } => {
                *frames += 1;
                match *frames {
                    n if n <= GREETING_FRAMES => sine_frame(GREETING_HZ, phase),
                    n if n <= BEEP_END_FRAMES => sine_frame(BEEP_HZ, phase),
                    _ => vec![0.0; FRAME],
                }
            }
            Source::Wav { samples, position, loops_left } => (0..FRAME)
                .map(|_| {
                    if *position >= samples.len() {
                        return 0.0;
                    }
                    let s = samples[*position];
                    *position += 1;
                    if *position == samples.len() {
                        match loops_left {
                            Some(0) => {}
                            Some(left) => {
                                *left -= 1;
                                *position = 0;
                            }
                            None => *position = 0,
                        }
                    }
                    s
                })
                .collect(),
            Source::Echo => {
                if echo.len() >= FRAME {
                    echo.drain(..FRAME).collect()
                } else {
                    vec![0.0; FRAME]
                }
            }
            Source::Relay(pipe) => pipe.take(FRAME).unwrap_or_else(|| vec![0.0; FRAME]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ulaw_byte_decodes_and_re_encodes_to_itself() {
        for byte in 0..=255u8 {
            let back = ulaw_encode(ulaw_decode(byte));
            // 0x7F (-0) re-encodes as 0xFF (+0); every other code is a fixed point.
            if byte == 0x7F {
                assert_eq!(back, 0xFF);
            } else {
                assert_eq!(back, byte, "code {byte:#04x}");
            }
        }
    }

    #[test]
    fn resample_keeps_length_ratio_and_values() {
        let ramp: Vec<f32> = (0..441).map(|i| i as f32 / 441.0).collect();
        let out = resample(&ramp, 44_100, 48_000);
        assert_eq!(out.len(), 480);
        assert!((out[240] - 0.5).abs() < 0.01);
        let back = decimate(&interpolate(&[0.0, 1.0, 1.0], &mut 0.0));
        assert_eq!(back.len(), 3);
        assert!((back[2] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn tone_source_is_at_minus_20_dbfs() {
        let mut source = Source::new(&Playback::Tone { hz: 440.0 }).unwrap();
        let mut echo = VecDeque::new();
        let samples: Vec<f32> = (0..25).flat_map(|_| source.next_frame(&mut echo)).collect();
        let level = super::super::analysis::level_dbfs(&samples);
        assert!((level + 20.0).abs() < 0.1, "{level}");
    }

    #[test]
    fn echo_source_returns_buffered_audio_then_silence() {
        let mut source = Source::Echo;
        let mut echo: VecDeque<f32> = (0..FRAME).map(|i| i as f32).collect();
        assert_eq!(source.next_frame(&mut echo)[5], 5.0);
        assert!(source.next_frame(&mut echo).iter().all(|&s| s == 0.0));
    }

    #[test]
    fn the_answering_machine_greets_beeps_then_records_in_silence() {
        let mut source = Source::new(&Playback::Voicemail).unwrap();
        let mut echo = VecDeque::new();
        let take = |source: &mut Source, echo: &mut VecDeque<f32>, frames: usize| -> Vec<f32> {
            (0..frames).flat_map(|_| source.next_frame(echo)).collect()
        };
        let dominant = |samples: &[f32]| super::super::analysis::dominant_hz(&decimate(samples), RATE / 6);
        let greeting = take(&mut source, &mut echo, GREETING_FRAMES);
        assert!((dominant(&greeting).unwrap() - GREETING_HZ).abs() < 2.0);
        assert!(!source.is_recording());
        let beep = take(&mut source, &mut echo, BEEP_END_FRAMES - GREETING_FRAMES);
        assert!((dominant(&beep).unwrap() - BEEP_HZ).abs() < 2.0);
        assert!(source.is_recording(), "recording starts when the beep ends");
        assert!(take(&mut source, &mut echo, 10).iter().all(|&s| s == 0.0), "silent while it records");
    }
}
