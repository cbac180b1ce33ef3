//! Echo cancellation and noise suppression: sonora's pure-Rust port of WebRTC's audio processing
//! (AEC3, NS), at 48 kHz mono in 10 ms frames.

use sonora::config::{EchoCanceller, NoiseSuppression};
use sonora::{AudioProcessing, Config, StreamConfig};

use crate::{FRAME_10MS, SAMPLE_RATE};

/// Which voice processing runs on the microphone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VoiceProcessingConfig {
    /// Remove what the speaker plays from the microphone (AEC3).
    pub echo_cancellation: bool,
    /// Suppress steady background noise. Steady tones count as noise, so fake devices that play
    /// test tones leave it off.
    pub noise_suppression: bool,
}

impl VoiceProcessingConfig {
    /// Echo cancellation and noise suppression on: what real devices use.
    pub const ON: VoiceProcessingConfig = VoiceProcessingConfig { echo_cancellation: true, noise_suppression: true };
    /// Both off: the microphone's audio is sent as captured.
    pub const OFF: VoiceProcessingConfig = VoiceProcessingConfig { echo_cancellation: false, noise_suppression: false };
}

/// The microphone's processing. Feed every 10 ms frame the speaker plays to
/// [`VoiceProcessor::render`] and every captured one to [`VoiceProcessor::capture`], in step.
pub struct VoiceProcessor {
    apm: Option<AudioProcessing>,
    scratch: Vec<f32>,
}

impl std::fmt::Debug for VoiceProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceProcessor").field("active", &self.apm.is_some()).finish()
    }
}

impl VoiceProcessor {
    /// A processor with `config`; with everything off it does nothing at all.
    pub fn new(config: VoiceProcessingConfig) -> VoiceProcessor {
        let apm = (config.echo_cancellation || config.noise_suppression).then(|| {
            let sonora_config = Config {
                echo_canceller: config.echo_cancellation.then(EchoCanceller::default),
                noise_suppression: config.noise_suppression.then(NoiseSuppression::default),
                ..Config::default()
            };
            AudioProcessing::builder()
                .config(sonora_config)
                .capture_config(StreamConfig::new(SAMPLE_RATE, 1))
                .render_config(StreamConfig::new(SAMPLE_RATE, 1))
                .build()
        });
        VoiceProcessor { apm, scratch: vec![0.0; FRAME_10MS] }
    }

    /// Tells the echo canceller what the speaker is about to play (one 10 ms frame).
    pub fn render(&mut self, frame: &[f32]) {
        let Some(apm) = self.apm.as_mut() else { return };
        debug_assert_eq!(frame.len(), FRAME_10MS);
        if let Err(error) = apm.process_render_f32(&[frame], &mut [&mut self.scratch]) {
            tracing::debug!(?error, "render frame not analysed");
        }
    }

    /// Processes one captured 10 ms frame in place.
    pub fn capture(&mut self, frame: &mut [f32]) {
        let Some(apm) = self.apm.as_mut() else { return };
        debug_assert_eq!(frame.len(), FRAME_10MS);
        match apm.process_capture_f32(&[frame], &mut [&mut self.scratch]) {
            Ok(()) => frame.copy_from_slice(&self.scratch),
            Err(error) => tracing::debug!(?error, "capture frame not processed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::analysis::level_dbfs;

    /// White noise from a fixed-seed xorshift generator.
    fn noise(len: usize, amplitude: f32, seed: u32) -> Vec<f32> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                amplitude * (state as f32 / u32::MAX as f32 * 2.0 - 1.0)
            })
            .collect()
    }

    #[test]
    fn removes_a_synthetic_echo_by_30_db_and_keeps_near_end_talk() {
        const SECONDS: usize = 6;
        const DELAY: usize = 20 * SAMPLE_RATE as usize / 1000;
        let far = noise(SECONDS * SAMPLE_RATE as usize, 0.3, 7);
        // The room: the far end comes back 20 ms late at -6 dB.
        let echo: Vec<f32> = (0..far.len()).map(|i| if i >= DELAY { far[i - DELAY] * 0.5 } else { 0.0 }).collect();
        // Near-end talk (a 1 kHz tone) during the last second only: double talk.
        let near = crate::dsp::analysis::sine(1_000.0, 0.1, SAMPLE_RATE, SECONDS as f32);
        let near_start = (SECONDS - 1) * SAMPLE_RATE as usize;
        let mut processor =
            VoiceProcessor::new(VoiceProcessingConfig { echo_cancellation: true, noise_suppression: false });
        let mut out = Vec::with_capacity(far.len());
        for (index, far_frame) in far.chunks(FRAME_10MS).enumerate() {
            processor.render(far_frame);
            let start = index * FRAME_10MS;
            let mut mic: Vec<f32> =
                (start..start + FRAME_10MS).map(|i| echo[i] + if i >= near_start { near[i] } else { 0.0 }).collect();
            processor.capture(&mut mic);
            out.extend_from_slice(&mic);
        }
        // Echo alone, after two seconds of convergence.
        let echo_window = 3 * SAMPLE_RATE as usize..near_start;
        let reduction = level_dbfs(&echo[echo_window.clone()]) - level_dbfs(&out[echo_window]);
        assert!(reduction >= 30.0, "echo reduced by only {reduction:.1} dB");
        let near_window = near_start + SAMPLE_RATE as usize / 4..near.len();
        let kept = level_dbfs(&out[near_window.clone()]) - level_dbfs(&near[near_window]);
        assert!(kept > -6.0, "near-end talk lost {:.1} dB", -kept);
        eprintln!("echo reduction {reduction:.1} dB, near end {kept:+.1} dB");
    }

    #[test]
    fn off_leaves_audio_untouched() {
        let mut processor = VoiceProcessor::new(VoiceProcessingConfig::OFF);
        let mut frame = noise(FRAME_10MS, 0.5, 3);
        let before = frame.clone();
        processor.render(&before);
        processor.capture(&mut frame);
        assert_eq!(frame, before);
    }
}
