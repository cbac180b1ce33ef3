//! Streaming mono resampling with rubato's synchronous FFT resampler.
//!
//! Used at the edges of the 48 kHz pipeline: sound cards that run at 44.1 kHz (or anything else),
//! and PCMU's 8 kHz. Input of any length goes in; whatever whole output chunks it completes come
//! out, so callers can feed device callbacks of any size.

use std::collections::VecDeque;

use rubato::audioadapter_buffers::direct::SequentialSlice;
use rubato::{Fft, FixedSync, Resampler};

use crate::MediaError;

/// A mono resampler from one fixed rate to another that accepts input in pieces of any length.
pub struct StreamResampler {
    /// `None` when both rates are equal: samples pass through.
    inner: Option<Fft<f32>>,
    pending: VecDeque<f32>,
    chunk_in: Vec<f32>,
    chunk_out: Vec<f32>,
    from_hz: u32,
    to_hz: u32,
}

impl std::fmt::Debug for StreamResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamResampler")
            .field("from_hz", &self.from_hz)
            .field("to_hz", &self.to_hz)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl StreamResampler {
    /// A resampler from `from_hz` to `to_hz` working in chunks of about 10 ms.
    pub fn new(from_hz: u32, to_hz: u32) -> Result<StreamResampler, MediaError> {
        let inner = if from_hz == to_hz {
            None
        } else {
            let chunk = (from_hz / 100).max(1) as usize;
            Some(
                Fft::<f32>::new(from_hz as usize, to_hz as usize, chunk, 1, FixedSync::Both)
                    .map_err(|e| MediaError::Processing(format!("resampler {from_hz} -> {to_hz} Hz: {e}")))?,
            )
        };
        let (chunk_in, chunk_out) = match &inner {
            Some(fft) => (vec![0.0; fft.input_frames_max()], vec![0.0; fft.output_frames_max()]),
            None => (Vec::new(), Vec::new()),
        };
        Ok(StreamResampler { inner, pending: VecDeque::new(), chunk_in, chunk_out, from_hz, to_hz })
    }

    /// The delay this resampler adds, in output samples.
    pub fn delay_samples(&self) -> usize {
        self.inner.as_ref().map_or(0, |fft| fft.output_delay())
    }

    /// Feeds `input` and appends every completed output sample to `output`.
    pub fn process(&mut self, input: &[f32], output: &mut Vec<f32>) -> Result<(), MediaError> {
        let Some(fft) = self.inner.as_mut() else {
            output.extend_from_slice(input);
            return Ok(());
        };
        self.pending.extend(input.iter().copied());
        loop {
            let needed = fft.input_frames_next();
            if self.pending.len() < needed {
                return Ok(());
            }
            for (slot, sample) in self.chunk_in[..needed].iter_mut().zip(self.pending.drain(..needed)) {
                *slot = sample;
            }
            let frames_out = fft.output_frames_next();
            let input_adapter = SequentialSlice::new(&self.chunk_in[..needed], 1, needed)
                .map_err(|e| MediaError::Processing(e.to_string()))?;
            let mut output_adapter = SequentialSlice::new_mut(&mut self.chunk_out[..frames_out], 1, frames_out)
                .map_err(|e| MediaError::Processing(e.to_string()))?;
            let (_, produced) = fft
                .process_into_buffer(&input_adapter, &mut output_adapter, None)
                .map_err(|e| MediaError::Processing(e.to_string()))?;
            output.extend_from_slice(&self.chunk_out[..produced]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::analysis::{dominant_hz, level_dbfs, sine};

    fn through(from: u32, to: u32, input: &[f32]) -> Vec<f32> {
        let mut resampler = StreamResampler::new(from, to).unwrap();
        let mut out = Vec::new();
        // Odd piece sizes, as device callbacks deliver them.
        for piece in input.chunks(317) {
            resampler.process(piece, &mut out).unwrap();
        }
        out
    }

    #[test]
    fn round_trips_44_1_and_16_khz_through_48_khz_keeping_tone_and_level() {
        for rate in [44_100, 16_000, 8_000] {
            let input = sine(1_000.0, 0.3, rate, 1.0);
            let up = through(rate, 48_000, &input);
            let expected_up = input.len() * 48_000 / rate as usize;
            assert!(up.len() <= expected_up && up.len() + 48_000 / 50 >= expected_up, "{rate}: {}", up.len());
            let back = through(48_000, rate, &up);
            // Skip the start-up delay of both passes; compare the steady part.
            let steady = &back[back.len() / 4..];
            let level_in = level_dbfs(&input);
            assert!((level_dbfs(steady) - level_in).abs() < 0.3, "{rate}: {} vs {level_in}", level_dbfs(steady));
            let hz = dominant_hz(steady, rate).unwrap();
            assert!((hz - 1_000.0).abs() < 2.0, "{rate}: {hz}");
            let hz_up = dominant_hz(&crate::dsp::analysis::decimate_by_6(&up[up.len() / 4..]), 8_000).unwrap();
            assert!((hz_up - 1_000.0).abs() < 2.0, "{rate} up: {hz_up}");
        }
    }

    #[test]
    fn equal_rates_pass_through_untouched() {
        let input = sine(440.0, 0.5, 48_000, 0.01);
        assert_eq!(through(48_000, 48_000, &input), input);
    }
}
