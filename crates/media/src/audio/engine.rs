//! The audio engine thread: every 10 ms it mixes the calls' playout and the tones, plays them,
//! feeds them to the echo canceller, reads the microphone, processes it, and hands it to the calls.
//!
//! The device side is a [`DeviceIo`]: the fake devices (their own real-time 10 ms clock) or cpal
//! streams (the sound card's clock, through ring buffers).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::device::CpalIo;
use super::fake::{FAKE_MICROPHONE, FAKE_SPEAKER};
use super::{Backend, DeviceChoice, Shared, State, push_level};
use crate::dsp::echo::{VoiceProcessingConfig, VoiceProcessor};
use crate::dsp::tones::MicSource;
use crate::{AudioDeviceEvent, FRAME_10MS};

/// How often the engine wakes while something plays or captures.
const TICK: Duration = Duration::from_millis(5);
/// How often it wakes while nothing does, only to notice that something should (a ringtone or a
/// call starts at most this late). Waking every 5 ms cost the idle app 0.6-0.9 % of a core.
const IDLE_TICK: Duration = Duration::from_millis(20);
/// The most frames a late tick catches up on before skipping ahead.
const MAX_CATCH_UP: u64 = 10;

/// What the engine wants the devices to do this tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Want {
    /// Something plays or captures: open microphone and speaker.
    pub active: bool,
    /// The ringtone plays on a device other than the speaker.
    pub separate_ringer: bool,
    pub choice: DeviceChoice,
}

/// The device side of the engine.
pub(super) trait DeviceIo {
    /// Opens, closes or reopens devices for `want`; reports what the agent should know.
    fn sync(&mut self, want: &Want, state: &mut State);
    /// How many 10 ms frames the speaker wants now.
    fn playout_due(&mut self, now: Instant) -> u64;
    /// Plays one 10 ms frame on the speaker, and on the ringer when it is separate.
    fn play(&mut self, speaker: &[f32], ringer: Option<&[f32]>);
    /// The next captured 10 ms frame, if one is complete.
    fn capture(&mut self, now: Instant, frame: &mut [f32]) -> bool;
    /// Fake devices record what they play for [`super::AudioSystem::speaker_analysis`]:
    /// the speaker's and the ringer's device names.
    fn recorded_names(&self) -> Option<(String, String)>;
}

/// A real-time clock of 10 ms frames that skips ahead rather than bursting after a stall.
#[derive(Debug)]
pub(super) struct FrameClock {
    start: Instant,
    done: u64,
}

impl FrameClock {
    pub(super) fn new(now: Instant) -> FrameClock {
        FrameClock { start: now, done: 0 }
    }

    /// Takes one due frame, if there is one.
    pub(super) fn take_one(&mut self, now: Instant) -> bool {
        let elapsed = (now.duration_since(self.start).as_micros() / 10_000) as u64;
        if elapsed > self.done + MAX_CATCH_UP {
            self.done = elapsed - 1;
        }
        if elapsed > self.done {
            self.done += 1;
            true
        } else {
            false
        }
    }

    /// Frames due since the last call.
    pub(super) fn due(&mut self, now: Instant) -> u64 {
        let elapsed = (now.duration_since(self.start).as_micros() / 10_000) as u64;
        if elapsed > self.done + MAX_CATCH_UP {
            self.done = elapsed - 1;
        }
        let due = elapsed.saturating_sub(self.done);
        self.done += due;
        due
    }
}

pub(super) fn run(shared: Arc<Shared>) {
    let mut io: Box<dyn DeviceIo> = match &shared.backend {
        Backend::Fake(spec) => match spec.mic_source() {
            Ok(mic) => Box::new(FakeIo::new(mic)),
            Err(error) => {
                tracing::warn!(%error, "fake microphone silent");
                Box::new(FakeIo::new(MicSource::Silence))
            }
        },
        Backend::Cpal => Box::new(CpalIo::new()),
    };
    let mut processing = VoiceProcessingConfig::OFF;
    let mut processor = VoiceProcessor::new(processing);
    let mut mix = vec![0.0f32; FRAME_10MS];
    let mut ringer = vec![0.0f32; FRAME_10MS];
    let mut frame = vec![0.0f32; FRAME_10MS];
    while !shared.stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        let (calls, want) = {
            let mut state = shared.state();
            state.calls.retain(|call| call.strong_count() > 0);
            if state.ringtone_preview_until.is_some_and(|until| now >= until) {
                state.ringtone = None;
                state.ringtone_preview_until = None;
            }
            if state.processing != processing {
                processing = state.processing;
                processor = VoiceProcessor::new(processing);
            }
            let ringer_device = state.choice.ringer.clone().unwrap_or_else(|| FAKE_SPEAKER.to_owned());
            let speaker_device = state.choice.speaker.clone().unwrap_or_else(|| FAKE_SPEAKER.to_owned());
            let want = Want {
                active: !state.calls.is_empty()
                    || state.ringtone.is_some()
                    || state.ringback.is_some()
                    || state.call_waiting.is_some(),
                separate_ringer: state.ringtone.is_some() && ringer_device != speaker_device,
                choice: state.choice.clone(),
            };
            io.sync(&want, &mut state);
            if !want.active {
                state.input_levels.clear();
                state.output_levels.clear();
                state.tape.clear();
                state.tape_frames = 0;
            }
            (state.calls.iter().filter_map(std::sync::Weak::upgrade).collect::<Vec<_>>(), want)
        };

        // Playout first, so the echo canceller sees what is played before the capture it echoes in.
        let separate_ringer = want.separate_ringer;
        for _ in 0..io.playout_due(now) {
            mix.fill(0.0);
            ringer.fill(0.0);
            for call in &calls {
                call.mix_playout(&mut mix);
            }
            {
                let mut state = shared.state();
                let State { ringback, call_waiting, ringtone, .. } = &mut *state;
                for cadence in [ringback.as_mut(), call_waiting.as_mut()].into_iter().flatten() {
                    cadence.mix_into(&mut mix);
                }
                if let Some(ringtone) = ringtone.as_mut() {
                    ringtone.mix_into(if separate_ringer { &mut ringer } else { &mut mix });
                }
            }
            for sample in mix.iter_mut().chain(ringer.iter_mut()) {
                *sample = sample.clamp(-1.0, 1.0);
            }
            processor.render(&mix);
            io.play(&mix, separate_ringer.then_some(ringer.as_slice()));
            let mut state = shared.state();
            push_level(&mut state.output_levels, &mix);
            if let Some((speaker_name, ringer_name)) = io.recorded_names() {
                state.record_heard(&speaker_name, now, &mix);
                let narrow = crate::dsp::analysis::decimate_by_6(&mix);
                state.tape.extend(narrow);
                state.tape_frames += 1;
                let excess = state.tape.len().saturating_sub(super::TAPE_SECONDS * 8_000);
                state.tape.drain(..excess);
                if separate_ringer {
                    state.record_heard(&ringer_name, now, &ringer);
                }
            }
        }

        while io.capture(now, &mut frame) {
            processor.capture(&mut frame);
            push_level(&mut shared.state().input_levels, &frame);
            for call in &calls {
                call.captured(&frame);
            }
        }
        drop(calls);
        std::thread::sleep(if want.active { TICK } else { IDLE_TICK });
    }
}

/// The fake devices: a microphone source and outputs that only get measured, on a 10 ms clock.
struct FakeIo {
    mic: MicSource,
    clock: Option<(FrameClock, FrameClock)>,
    speaker: String,
    ringer: String,
}

impl FakeIo {
    fn new(mic: MicSource) -> FakeIo {
        FakeIo { mic, clock: None, speaker: FAKE_SPEAKER.to_owned(), ringer: FAKE_SPEAKER.to_owned() }
    }
}

impl DeviceIo for FakeIo {
    fn sync(&mut self, want: &Want, _state: &mut State) {
        self.speaker = want.choice.speaker.clone().unwrap_or_else(|| FAKE_SPEAKER.to_owned());
        self.ringer = want.choice.ringer.clone().unwrap_or_else(|| FAKE_SPEAKER.to_owned());
        let _microphone = want.choice.microphone.as_deref().unwrap_or(FAKE_MICROPHONE);
        match (&self.clock, want.active) {
            (None, true) => {
                let now = Instant::now();
                self.clock = Some((FrameClock::new(now), FrameClock::new(now)));
            }
            (Some(_), false) => self.clock = None,
            _ => {}
        }
    }

    fn playout_due(&mut self, now: Instant) -> u64 {
        self.clock.as_mut().map_or(0, |(playout, _)| playout.due(now))
    }

    fn play(&mut self, _speaker: &[f32], _ringer: Option<&[f32]>) {}

    fn capture(&mut self, now: Instant, frame: &mut [f32]) -> bool {
        let Some((_, capture)) = self.clock.as_mut() else { return false };
        if !capture.take_one(now) {
            return false;
        }
        self.mic.fill(frame);
        true
    }

    fn recorded_names(&self) -> Option<(String, String)> {
        Some((self.speaker.clone(), self.ringer.clone()))
    }
}

/// Sends an event once per distinct failure (the engine retries every few seconds).
pub(super) fn report_once(state: &mut State, last: &mut Option<AudioDeviceEvent>, event: AudioDeviceEvent) {
    if last.as_ref() != Some(&event) {
        state.emit(event.clone());
        *last = Some(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_clock_counts_10_ms_frames_and_skips_ahead_after_a_stall() {
        let start = Instant::now();
        let mut clock = FrameClock::new(start);
        assert_eq!(clock.due(start + Duration::from_millis(5)), 0);
        assert_eq!(clock.due(start + Duration::from_millis(35)), 3);
        assert_eq!(clock.due(start + Duration::from_millis(39)), 0);
        // A 2 s stall: one frame, not 200.
        assert_eq!(clock.due(start + Duration::from_millis(2_035)), 1);
        assert_eq!(clock.due(start + Duration::from_millis(2_045)), 1);
    }
}
