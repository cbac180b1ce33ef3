//! Packet-loss concealment for G.711 (PCMU/PCMA), which has none of its own: the way ITU-T G.711
//! Appendix I does it, simplified. A lost frame is filled by repeating the last pitch period of
//! what was heard (found by autocorrelation, 2.5 to 15 ms), at full level for the first 10 ms,
//! then 20 % quieter every 10 ms, silent from 50 ms on; the first good frame after a loss is faded
//! in from the repetition over 5 ms, so neither edge clicks. Works at 8 kHz, before resampling.

/// The sample rate it works at.
const RATE: usize = 8_000;
/// What is kept of the audio heard: enough to find a 15 ms period twice over.
const HISTORY: usize = 3 * MAX_PERIOD;
/// Pitch periods searched: 2.5 ms (400 Hz) to 15 ms (67 Hz).
const MIN_PERIOD: usize = RATE / 400;
const MAX_PERIOD: usize = RATE * 15 / 1000;
/// Full level for this long into a loss, then quieter by [`FADE_STEP`] every 10 ms.
const FULL_LEVEL: usize = RATE / 100;
const FADE_STEP: f32 = 0.2;
/// The good frame after a loss is faded in from the repetition over this many samples.
const FADE_IN: usize = RATE * 5 / 1000;

/// Conceals lost G.711 frames of one stream.
#[derive(Debug, Clone)]
pub struct G711Concealer {
    /// The last [`HISTORY`] samples heard (or made up), oldest first.
    history: Vec<f32>,
    /// The period repeated, and where the repetition stands in it: kept across lost frames in a
    /// row and into the fade-in of the next good one.
    period: usize,
    phase: usize,
    /// Samples made up since the last good frame (0: the last frame was good).
    concealed: usize,
}

impl Default for G711Concealer {
    fn default() -> Self {
        G711Concealer { history: vec![0.0; HISTORY], period: MIN_PERIOD, phase: 0, concealed: 0 }
    }
}

impl G711Concealer {
    /// A frame that arrived (8 kHz samples, decoded): after a loss its start is faded in from the
    /// repetition; then it is remembered.
    pub fn good(&mut self, samples: &mut [f32]) {
        if self.concealed > 0 {
            let fade = FADE_IN.min(samples.len());
            let gain = self.gain_at(self.concealed);
            for (index, sample) in samples[..fade].iter_mut().enumerate() {
                let made_up = self.repeated() * gain;
                let weight = (index + 1) as f32 / (fade + 1) as f32;
                *sample = made_up * (1.0 - weight) + *sample * weight;
            }
        }
        self.concealed = 0;
        self.remember(samples);
    }

    /// Appends `count` samples standing in for a lost frame to `out`.
    pub fn lost(&mut self, count: usize, out: &mut Vec<f32>) {
        if self.concealed == 0 {
            // A periodic sound goes on as it was: x[n] = x[n - period], from one period back.
            self.period = self.pitch_period();
            self.phase = 0;
        }
        // The made-up audio is not remembered as heard: the repetition keeps repeating the last
        // period heard, whatever the fade did to it.
        for _ in 0..count {
            let gain = self.gain_at(self.concealed);
            out.push(self.repeated() * gain);
            self.concealed += 1;
        }
    }

    /// The next sample of the repeated period (advances the phase).
    fn repeated(&mut self) -> f32 {
        let base = HISTORY - self.period;
        let sample = self.history[base + self.phase];
        self.phase = (self.phase + 1) % self.period;
        sample
    }

    /// The level `into` samples into a loss: full for 10 ms, then 20 % less each 10 ms.
    fn gain_at(&self, into: usize) -> f32 {
        if into < FULL_LEVEL {
            return 1.0;
        }
        let steps = (into - FULL_LEVEL) / FULL_LEVEL + 1;
        (1.0 - FADE_STEP * steps as f32).max(0.0)
    }

    fn remember(&mut self, samples: &[f32]) {
        if samples.len() >= HISTORY {
            self.history.copy_from_slice(&samples[samples.len() - HISTORY..]);
        } else {
            self.history.drain(..samples.len());
            self.history.extend_from_slice(samples);
        }
    }

    /// The period (in samples) with the strongest normalized autocorrelation over the last
    /// [`MAX_PERIOD`] samples heard.
    fn pitch_period(&self) -> usize {
        let recent = &self.history[HISTORY - MAX_PERIOD..];
        let mut best = (MIN_PERIOD, f32::MIN);
        for lag in MIN_PERIOD..=MAX_PERIOD {
            let earlier = &self.history[HISTORY - MAX_PERIOD - lag..HISTORY - lag];
            let (mut cross, mut energy) = (0.0_f32, 0.0_f32);
            for (a, b) in recent.iter().zip(earlier) {
                cross += a * b;
                energy += b * b;
            }
            let score = if energy > 0.0 { cross / energy.sqrt() } else { 0.0 };
            if score > best.1 {
                best = (lag, score);
            }
        }
        best.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::analysis::{dominant_hz, level_dbfs, sine};

    /// Plays `tone` in 20 ms frames, losing those in `lost`; returns what is heard.
    fn played(tone: &[f32], lost: &[usize]) -> Vec<f32> {
        let mut concealer = G711Concealer::default();
        let mut out = Vec::new();
        for (index, frame) in tone.chunks(160).enumerate() {
            if lost.contains(&index) {
                concealer.lost(frame.len(), &mut out);
            } else {
                let mut frame = frame.to_vec();
                concealer.good(&mut frame);
                out.extend_from_slice(&frame);
            }
        }
        out
    }

    #[test]
    fn a_lost_frame_of_a_voiced_sound_is_filled_with_it_not_silence() {
        let tone = sine(200.0, 0.3, 8_000, 0.5);
        let out = played(&tone, &[10]);
        let lost = &out[1_600..1_760];
        assert!((level_dbfs(lost) - level_dbfs(&tone)).abs() < 3.0, "{} dBFS", level_dbfs(lost));
        // The pitch carries on across the gap (measured over it and its neighbours).
        let around = &out[1_440..1_920];
        assert!((dominant_hz(around, 8_000).expect("a tone") - 200.0).abs() < 10.0);
    }

    #[test]
    fn a_long_loss_fades_to_silence_by_60_ms_and_comes_back_without_a_click() {
        let tone = sine(200.0, 0.3, 8_000, 0.5);
        let out = played(&tone, &[10, 11, 12, 13]);
        let level = |from_ms: usize, to_ms: usize| level_dbfs(&out[8 * from_ms..8 * to_ms]);
        assert!(level(200, 210) > level(240, 250) + 3.0, "quieter as the loss goes on");
        assert!(level(265, 280) < -60.0, "silent after 60 ms: {}", level(265, 280));
        // No step bigger than the tone's own steepest at the return (the fade in).
        let steepest = tone.windows(2).map(|pair| (pair[1] - pair[0]).abs()).fold(0.0, f32::max);
        let at_return = out[8 * 280 - 8..8 * 280 + 48].windows(2).map(|pair| (pair[1] - pair[0]).abs());
        // (The fade itself adds a little slope; a click is a step of the order of the level.)
        assert!(at_return.fold(0.0, f32::max) <= steepest * 1.25, "a click where the audio comes back");
    }

    #[test]
    fn the_first_loss_after_a_good_frame_starts_at_full_level_in_phase() {
        let tone = sine(250.0, 0.3, 8_000, 0.5);
        let out = played(&tone, &[10]);
        // The step from the last heard sample into the made-up one is no bigger than the tone's.
        let steepest = tone.windows(2).map(|pair| (pair[1] - pair[0]).abs()).fold(0.0, f32::max);
        assert!((out[1_600] - out[1_599]).abs() <= steepest * 1.05, "a click where the loss starts");
    }
}
