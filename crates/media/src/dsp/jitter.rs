//! The receive jitter buffer: orders frames by RTP timestamp, holds a target depth, reports gaps
//! for concealment, drops late and duplicate frames, and sheds delay that has built up.
//!
//! Timestamps and durations are in the codec's RTP clock (48 kHz for Opus, 8 kHz for PCMU). The
//! buffer is clocked by its consumer: the playout side calls [`JitterBuffer::pop`] whenever it
//! needs the next frame, so the sound card's clock, not the network's, sets the pace.

use std::collections::BTreeMap;

/// What [`JitterBuffer::pop`] hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pop<T> {
    /// The next frame in order.
    Frame {
        /// Its payload.
        payload: T,
        /// Its duration in clock units.
        duration: u64,
    },
    /// The next frame is missing but later ones are here: conceal `duration` clock units.
    Lost {
        /// How much to conceal, in clock units.
        duration: u64,
    },
    /// Nothing to play yet (buffering, or the remote paused): play silence.
    Waiting,
}

/// What happened to a pushed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// Stored for playout.
    Accepted,
    /// Its time has already been played (or concealed): dropped.
    Late,
    /// A frame with this timestamp is already stored: dropped.
    Duplicate,
}

/// Counters since the buffer was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JitterStats {
    /// Frames stored.
    pub accepted: u64,
    /// Frames that arrived after their time.
    pub late: u64,
    /// Frames received twice.
    pub duplicate: u64,
    /// Frames concealed because they never came.
    pub concealed: u64,
    /// Of those, frames rebuilt from the next frame's forward error correction (Opus in-band
    /// FEC) rather than guessed: counted by the playout (see [`JitterBuffer::following`]).
    pub recovered: u64,
    /// Frames dropped to shed built-up delay.
    pub dropped_for_delay: u64,
    /// Times playout had nothing to play after it started.
    pub underruns: u64,
}

/// Frames in a row above the target before one is skipped (50 frames of 20 ms: a second).
const SLOW_SHED_POPS: u32 = 50;

struct Entry<T> {
    payload: T,
    duration: u64,
}

/// A jitter buffer for frames of type `T`.
pub struct JitterBuffer<T> {
    clock_rate: u32,
    /// Depth to reach before playout starts, in clock units.
    target: u64,
    /// Depth beyond which old frames are dropped back to `target`, in clock units.
    max_depth: u64,
    frames: BTreeMap<u64, Entry<T>>,
    /// The timestamp to play next; `None` until playout starts (and after a reset).
    cursor: Option<u64>,
    last_duration: u64,
    /// Consecutive [`Pop::Waiting`] answers after playout started.
    idle: u64,
    /// Consecutive pops that left well more than the target buffered.
    above_target: u32,
    stats: JitterStats,
}

impl<T> std::fmt::Debug for JitterBuffer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitterBuffer")
            .field("clock_rate", &self.clock_rate)
            .field("frames", &self.frames.len())
            .field("cursor", &self.cursor)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<T> JitterBuffer<T> {
    /// A buffer for a `clock_rate` Hz RTP clock that starts playout at `target_ms` of buffered
    /// audio and sheds delay above `max_ms`.
    pub fn new(clock_rate: u32, target_ms: u32, max_ms: u32) -> JitterBuffer<T> {
        let units = |ms: u32| u64::from(ms) * u64::from(clock_rate) / 1000;
        JitterBuffer {
            clock_rate,
            target: units(target_ms),
            max_depth: units(max_ms.max(target_ms)),
            frames: BTreeMap::new(),
            cursor: None,
            last_duration: units(20),
            idle: 0,
            above_target: 0,
            stats: JitterStats::default(),
        }
    }

    /// Stores a frame that starts at `timestamp` and lasts `duration` clock units.
    pub fn push(&mut self, timestamp: u64, duration: u64, payload: T) -> Push {
        if self.cursor.is_some_and(|cursor| timestamp < cursor) {
            self.stats.late += 1;
            return Push::Late;
        }
        if self.frames.contains_key(&timestamp) {
            self.stats.duplicate += 1;
            return Push::Duplicate;
        }
        self.frames.insert(timestamp, Entry { payload, duration: duration.max(1) });
        self.stats.accepted += 1;
        self.shed_delay();
        Push::Accepted
    }

    /// The next frame to play, a gap to conceal, or nothing yet.
    pub fn pop(&mut self) -> Pop<T> {
        let Some(cursor) = self.cursor else {
            if self.depth() < self.target || self.frames.is_empty() {
                return Pop::Waiting;
            }
            let first = *self.frames.keys().next().unwrap_or(&0);
            self.cursor = Some(first);
            return self.pop();
        };
        let Some((&next, _)) = self.frames.iter().next() else {
            self.stats.underruns += u64::from(self.idle == 0);
            self.idle += 1;
            // A long pause (hold, the remote stopped sending): buffer afresh when audio returns.
            if self.idle * self.last_duration > self.max_depth {
                self.cursor = None;
            }
            return Pop::Waiting;
        };
        self.idle = 0;
        if next > cursor + self.max_depth {
            // The remote jumped ahead (a new stream, a long silence): start again at its audio.
            self.cursor = Some(next);
            return self.pop();
        }
        if next == cursor {
            let Some(entry) = self.frames.remove(&next) else { return Pop::Waiting };
            self.cursor = Some(cursor + entry.duration);
            self.last_duration = entry.duration;
            self.drift_back_to_target();
            return Pop::Frame { payload: entry.payload, duration: entry.duration };
        }
        // `next` > `cursor`: the frame at the cursor is missing.
        let duration = self.last_duration.min(next - cursor);
        self.cursor = Some(cursor + duration);
        self.stats.concealed += 1;
        Pop::Lost { duration }
    }

    /// The frame that starts where playout stands, if it is here: after a [`Pop::Lost`], the one
    /// right after the gap, whose forward error correction may rebuild the lost frame.
    pub fn following(&self) -> Option<&T> {
        self.frames.get(&self.cursor?).map(|entry| &entry.payload)
    }

    /// A lost frame was rebuilt from [`JitterBuffer::following`]'s redundancy: counted.
    pub fn count_recovered(&mut self) {
        self.stats.recovered += 1;
    }

    /// Drops everything and waits for the target depth again (after hold, or a codec change).
    pub fn reset(&mut self) {
        self.frames.clear();
        self.cursor = None;
        self.idle = 0;
    }

    /// Buffered audio from the play position (or the first frame) to the end of the last frame,
    /// in clock units.
    fn depth(&self) -> u64 {
        let (Some((&first, _)), Some((&last, entry))) = (self.frames.iter().next(), self.frames.iter().next_back())
        else {
            return 0;
        };
        let start = self.cursor.unwrap_or(first).min(first);
        last + entry.duration - start
    }

    /// Buffered audio in milliseconds.
    pub fn depth_ms(&self) -> u32 {
        (self.depth() * 1000 / u64::from(self.clock_rate)) as u32
    }

    /// Counters since creation.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Delay left over from a burst of underruns (a stalled machine, a network hiccup) drains
    /// slowly: after [`SLOW_SHED_POPS`] frames in a row with more than the target plus two
    /// frames buffered, one frame is skipped.
    fn drift_back_to_target(&mut self) {
        if self.depth() > self.target + 2 * self.last_duration {
            self.above_target += 1;
        } else {
            self.above_target = 0;
        }
        if self.above_target >= SLOW_SHED_POPS
            && let Some((&first, _)) = self.frames.iter().next()
            && let Some(entry) = self.frames.remove(&first)
        {
            self.cursor = Some(first + entry.duration);
            self.stats.dropped_for_delay += 1;
            self.above_target = 0;
        }
    }

    fn shed_delay(&mut self) {
        if self.cursor.is_none() || self.depth() <= self.max_depth {
            return;
        }
        while self.depth() > self.target && self.frames.len() > 1 {
            let Some((&first, _)) = self.frames.iter().next() else { break };
            if let Some(entry) = self.frames.remove(&first) {
                self.cursor = Some(first + entry.duration);
                self.stats.dropped_for_delay += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 8 kHz clock, 20 ms frames of 160 units; frame `n` starts at `n * 160`.
    const F: u64 = 160;

    fn buffer() -> JitterBuffer<u32> {
        JitterBuffer::new(8_000, 40, 200)
    }

    fn frame(n: u32) -> Pop<u32> {
        Pop::Frame { payload: n, duration: F }
    }

    #[test]
    fn waits_for_the_target_depth_then_plays_in_order() {
        let mut jitter = buffer();
        assert_eq!(jitter.push(0, F, 0), Push::Accepted);
        assert_eq!(jitter.pop(), Pop::Waiting, "20 ms is below the 40 ms target");
        jitter.push(F, F, 1);
        assert_eq!(jitter.pop(), frame(0));
        assert_eq!(jitter.pop(), frame(1));
    }

    #[test]
    fn reorders_frames_that_arrive_out_of_order() {
        let mut jitter = buffer();
        for n in [2, 0, 3, 1] {
            assert_eq!(jitter.push(u64::from(n) * F, F, n), Push::Accepted);
        }
        assert_eq!((0..4).map(|_| jitter.pop()).collect::<Vec<_>>(), vec![frame(0), frame(1), frame(2), frame(3)]);
    }

    #[test]
    fn conceals_a_lost_frame_and_carries_on() {
        let mut jitter = buffer();
        for n in [0, 1, 3] {
            jitter.push(u64::from(n) * F, F, n);
        }
        assert_eq!(jitter.pop(), frame(0));
        assert_eq!(jitter.pop(), frame(1));
        assert_eq!(jitter.following(), None, "frame 2 is not here");
        assert_eq!(jitter.pop(), Pop::Lost { duration: F });
        // The frame after the gap is at hand for its redundancy, and still plays after it.
        assert_eq!(jitter.following(), Some(&3));
        assert_eq!(jitter.pop(), frame(3));
        assert_eq!(jitter.stats().concealed, 1);
    }

    #[test]
    fn a_gap_of_two_frames_has_no_following_frame_for_the_first() {
        let mut jitter = buffer();
        for n in [0, 3] {
            jitter.push(u64::from(n) * F, F, n);
        }
        assert_eq!(jitter.pop(), frame(0));
        assert_eq!(jitter.pop(), Pop::Lost { duration: F });
        assert_eq!(jitter.following(), None, "frame 2 is missing too: frame 3's FEC is not frame 1's");
        assert_eq!(jitter.pop(), Pop::Lost { duration: F });
        assert_eq!(jitter.following(), Some(&3));
    }

    #[test]
    fn drops_late_and_duplicate_frames() {
        let mut jitter = buffer();
        for n in [0, 2] {
            jitter.push(u64::from(n) * F, F, n);
        }
        assert_eq!(jitter.push(2 * F, F, 2), Push::Duplicate);
        assert_eq!(jitter.pop(), frame(0));
        assert_eq!(jitter.pop(), Pop::Lost { duration: F });
        // Frame 1 turns up after its slot was concealed.
        assert_eq!(jitter.push(F, F, 1), Push::Late);
        assert_eq!(jitter.pop(), frame(2));
        let stats = jitter.stats();
        assert_eq!((stats.late, stats.duplicate, stats.accepted), (1, 1, 2));
    }

    #[test]
    fn sheds_delay_that_builds_up_beyond_the_maximum() {
        let mut jitter = buffer();
        jitter.push(0, F, 0);
        jitter.push(F, F, 1);
        assert_eq!(jitter.pop(), frame(0));
        // A burst: 300 ms arrive at once while playout is at frame 1.
        for n in 2..16 {
            jitter.push(u64::from(n) * F, F, n);
        }
        assert!(jitter.depth_ms() <= 200, "{} ms buffered", jitter.depth_ms());
        assert!(jitter.stats().dropped_for_delay > 0);
        // Playout continues with the newest audio, in order.
        let Pop::Frame { payload: first, .. } = jitter.pop() else { panic!("expected a frame") };
        let Pop::Frame { payload: second, .. } = jitter.pop() else { panic!("expected a frame") };
        assert_eq!(second, first + 1);
    }

    #[test]
    fn extra_delay_from_underruns_drains_slowly_back_to_the_target() {
        let mut jitter = buffer();
        // Steady state with 100 ms buffered (after an underrun let the buffer grow).
        for n in 0..5 {
            jitter.push(u64::from(n) * F, F, n);
        }
        let mut played = Vec::new();
        for n in 5..200 {
            jitter.push(u64::from(n) * F, F, n);
            if let Pop::Frame { payload, .. } = jitter.pop() {
                played.push(payload);
            }
        }
        assert!(jitter.depth_ms() <= 80, "{} ms buffered", jitter.depth_ms());
        assert!(jitter.stats().dropped_for_delay >= 1);
        assert!(played.windows(2).all(|pair| pair[1] > pair[0]), "played in order");
    }

    #[test]
    fn buffers_afresh_after_a_long_pause_instead_of_concealing_it() {
        let mut jitter = buffer();
        jitter.push(0, F, 0);
        jitter.push(F, F, 1);
        assert_eq!(jitter.pop(), frame(0));
        assert_eq!(jitter.pop(), frame(1));
        for _ in 0..20 {
            assert_eq!(jitter.pop(), Pop::Waiting);
        }
        assert_eq!(jitter.stats().underruns, 1);
        // The remote comes back 10 s later.
        let base = 500;
        jitter.push(base * F, F, 500);
        jitter.push((base + 1) * F, F, 501);
        assert_eq!(jitter.pop(), frame(500));
        assert_eq!(jitter.stats().concealed, 0);
    }
}
