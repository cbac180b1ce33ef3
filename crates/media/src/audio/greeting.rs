//! A voicemail greeting recorded from the microphone, and a greeting played on the speaker: both
//! attach to the audio engine as a call does, so the devices open while they run and the echo
//! canceller and device choice apply as in calls.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::{AudioSystem, CallAudio};
use crate::SAMPLE_RATE;

/// The microphone being recorded. Dropping it stops the recording (and closes the devices if
/// nothing else uses them).
pub struct MicRecording {
    tape: Arc<Tape>,
}

struct Tape {
    samples: Mutex<Vec<f32>>,
    max_samples: usize,
}

impl CallAudio for Tape {
    fn captured(&self, frame: &[f32]) {
        let mut samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        let room = self.max_samples.saturating_sub(samples.len());
        samples.extend_from_slice(&frame[..frame.len().min(room)]);
    }

    fn mix_playout(&self, _mix: &mut [f32]) -> bool {
        false
    }
}

impl std::fmt::Debug for MicRecording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MicRecording").field("duration_ms", &self.duration_ms()).finish()
    }
}

impl MicRecording {
    /// How much has been recorded, in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        let samples = self.tape.samples.lock().unwrap_or_else(PoisonError::into_inner).len();
        samples as u64 * 1000 / u64::from(SAMPLE_RATE)
    }

    /// Stops and hands over what was recorded (48 kHz mono).
    pub fn finish(self) -> Vec<f32> {
        std::mem::take(&mut *self.tape.samples.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// A greeting playing on the speaker. Dropping it stops it.
pub struct SpeakerPlayback {
    player: Arc<Player>,
}

struct Player {
    samples: Arc<[f32]>,
    position: Mutex<usize>,
    finished: AtomicBool,
}

impl CallAudio for Player {
    fn captured(&self, _frame: &[f32]) {}

    fn mix_playout(&self, mix: &mut [f32]) -> bool {
        let mut position = self.position.lock().unwrap_or_else(PoisonError::into_inner);
        let end = (*position + mix.len()).min(self.samples.len());
        for (out, sample) in mix.iter_mut().zip(&self.samples[*position..end]) {
            *out += sample;
        }
        *position = end;
        if end == self.samples.len() {
            self.finished.store(true, Ordering::SeqCst);
        }
        true
    }
}

impl std::fmt::Debug for SpeakerPlayback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpeakerPlayback").field("finished", &self.finished()).finish()
    }
}

impl SpeakerPlayback {
    /// Whether it has played to its end.
    pub fn finished(&self) -> bool {
        self.player.finished.load(Ordering::SeqCst)
    }
}

impl AudioSystem {
    /// Starts recording the microphone (as calls hear it: through the echo canceller when it is
    /// on), at most `max_seconds`.
    pub fn record_microphone(&self, max_seconds: u32) -> MicRecording {
        let tape = Arc::new(Tape {
            samples: Mutex::new(Vec::new()),
            max_samples: max_seconds as usize * SAMPLE_RATE as usize,
        });
        let as_call: Arc<dyn CallAudio> = tape.clone();
        self.attach(Arc::downgrade(&as_call) as Weak<dyn CallAudio>);
        drop(as_call);
        MicRecording { tape }
    }

    /// Plays `samples` (48 kHz mono) once on the call speaker.
    pub fn play_on_speaker(&self, samples: Arc<[f32]>) -> SpeakerPlayback {
        let player = Arc::new(Player { samples, position: Mutex::new(0), finished: AtomicBool::new(false) });
        let as_call: Arc<dyn CallAudio> = player.clone();
        self.attach(Arc::downgrade(&as_call) as Weak<dyn CallAudio>);
        drop(as_call);
        SpeakerPlayback { player }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::FakeAudioSpec;
    use crate::dsp::analysis::{decimate_by_6, dominant_hz};

    #[test]
    fn a_greeting_recorded_from_the_microphone_plays_back_on_the_speaker() {
        let audio = AudioSystem::fake(FakeAudioSpec::tone(880.0)).expect("fake audio");
        let recording = audio.record_microphone(1);
        let deadline = Instant::now() + Duration::from_secs(10);
        while recording.duration_ms() < 1_000 {
            assert!(Instant::now() < deadline, "the microphone was never recorded");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(100));
        let samples = recording.finish();
        assert_eq!(samples.len(), SAMPLE_RATE as usize, "stops at its longest");
        let heard = dominant_hz(&decimate_by_6(&samples[4_800..]), 8_000).expect("a tone");
        assert!((heard - 880.0).abs() < 5.0, "{heard}");

        let played = audio.play_on_speaker(samples.into());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let analysis = audio.speaker_analysis();
            if analysis.as_ref().and_then(|a| a.dominant_hz).is_some_and(|hz| (hz - 880.0).abs() < 15.0) {
                break;
            }
            assert!(Instant::now() < deadline, "the speaker never played it: {analysis:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        while !played.finished() {
            assert!(Instant::now() < deadline, "it never finished");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
