//! Two telephones talking over the public network, neither of them a softphone: what a customer
//! and the party Telnyx transferred them to say and hear once the agent has dropped out.
//!
//! Each side speaks a [`Playback`] in 20 ms frames; every frame crosses the line as G.711 µ-law
//! (what a PSTN leg carries) and lands in the other side's ears, where [`PhoneLine::heard`]
//! measures it as [`super::MediaSession::heard`] measures a softphone's voice. A thread paces the
//! frames in real time; dropping the line stops it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::audio::{self, Source};
use super::{Heard, MediaError, Playback, Shared};

/// One end of a [`PhoneLine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The party that was on the call before (the customer).
    First,
    /// The party the call was handed to.
    Second,
}

/// A running line between two simulated telephones.
pub struct PhoneLine {
    ears: [Arc<Mutex<Shared>>; 2],
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for PhoneLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhoneLine").finish_non_exhaustive()
    }
}

impl PhoneLine {
    /// Connects a telephone that says `first` with one that says `second`.
    pub fn connect(first: &Playback, second: &Playback) -> Result<PhoneLine, MediaError> {
        let mut voices = [Source::new(first)?, Source::new(second)?];
        let ears: [Arc<Mutex<Shared>>; 2] = [Arc::default(), Arc::default()];
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let ears = ears.clone();
            let stop = Arc::clone(&stop);
            std::thread::Builder::new().name("phone-line".to_owned()).spawn(move || {
                let started = Instant::now();
                let mut echoes = [VecDeque::new(), VecDeque::new()];
                let mut frames: u32 = 0;
                while !stop.load(Ordering::Relaxed) {
                    let said = [voices[0].next_frame(&mut echoes[0]), voices[1].next_frame(&mut echoes[1])];
                    let now = Instant::now();
                    for (speaker, listener) in [(0, 1), (1, 0)] {
                        let heard = over_the_network(&said[speaker]);
                        // An echoing telephone sends back what it hears.
                        echoes[listener].extend(audio::interpolate(&heard, &mut 0.0));
                        let excess = echoes[listener].len().saturating_sub(audio::ECHO_MAX);
                        echoes[listener].drain(..excess);
                        let mut ear = ears[listener].lock().unwrap_or_else(PoisonError::into_inner);
                        ear.packets_received += 1;
                        ear.bytes_received += heard.len() as u64;
                        ear.push_recent(now, heard);
                    }
                    frames += 1;
                    let next = started + Duration::from_millis(20) * frames;
                    std::thread::sleep(next.saturating_duration_since(Instant::now()));
                }
            })?
        };
        Ok(PhoneLine { ears, stop, thread: Some(thread) })
    }

    /// What one side has heard over the last [`super::HEARD_WINDOW`].
    pub fn heard(&self, side: Side) -> Heard {
        let ear = match side {
            Side::First => &self.ears[0],
            Side::Second => &self.ears[1],
        };
        super::measure(ear)
    }
}

/// A 48 kHz frame as the other telephone receives it: 8 kHz µ-law, decoded.
fn over_the_network(frame: &[f32]) -> Vec<f32> {
    audio::decimate(frame)
        .into_iter()
        .map(|sample| audio::from_i16(audio::ulaw_decode(audio::ulaw_encode(audio::to_i16(sample)))))
        .collect()
}

impl Drop for PhoneLine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_side_hears_the_other_and_not_itself() {
        let line = PhoneLine::connect(&Playback::Tone { hz: 440.0 }, &Playback::Tone { hz: 660.0 }).unwrap();
        std::thread::sleep(Duration::from_millis(700));
        let first = line.heard(Side::First);
        let second = line.heard(Side::Second);
        assert!((first.dominant_hz.unwrap() - 660.0).abs() < 5.0, "{first:?}");
        assert!((second.dominant_hz.unwrap() - 440.0).abs() < 5.0, "{second:?}");
        assert!(first.level_dbfs > -25.0 && first.packets_received >= 20, "{first:?}");
    }

    #[test]
    fn an_echoing_telephone_sends_back_what_the_other_says() {
        let line = PhoneLine::connect(&Playback::Tone { hz: 523.0 }, &Playback::Echo).unwrap();
        std::thread::sleep(Duration::from_millis(700));
        let first = line.heard(Side::First);
        assert!((first.dominant_hz.unwrap() - 523.0).abs() < 5.0, "{first:?}");
    }
}
