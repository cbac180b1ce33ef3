//! What runs on the sound card's own threads (cpal's callbacks): copying samples between the
//! device's buffer and a lock-free single-producer/single-consumer ring (`rtrb`) that the engine
//! thread reads or fills. No lock, no allocation, no system call here: a callback that waits is a
//! gap the agent hears. (`tests/realtime.rs` runs them under a counting allocator.)

use rtrb::{Consumer, Producer};

/// A sample format a sound card speaks.
pub trait DeviceSample: Copy {
    fn to_f32(self) -> f32;
    fn from_f32(sample: f32) -> Self;
}

impl DeviceSample for f32 {
    fn to_f32(self) -> f32 {
        self
    }

    fn from_f32(sample: f32) -> Self {
        sample
    }
}

impl DeviceSample for i16 {
    fn to_f32(self) -> f32 {
        f32::from(self) / 32_768.0
    }

    fn from_f32(sample: f32) -> Self {
        crate::dsp::g711::to_i16(sample)
    }
}

/// The microphone's callback: `data` (interleaved, `channels` wide) mixed down to mono into
/// `ring`. What does not fit (the engine fell behind by the ring's length) is dropped; returns
/// how many samples were.
pub fn capture<S: DeviceSample>(ring: &mut Producer<f32>, data: &[S], channels: usize) -> usize {
    let channels = channels.max(1);
    let mut dropped = 0;
    for frame in data.chunks(channels) {
        let mono = frame.iter().map(|sample| sample.to_f32()).sum::<f32>() / frame.len() as f32;
        if ring.push(mono).is_err() {
            dropped += 1;
        }
    }
    dropped
}

/// The speaker's callback: each mono sample from `ring` to every channel of `data`; silence where
/// the ring ran dry. Returns how many samples were missing.
pub fn play<S: DeviceSample>(ring: &mut Consumer<f32>, data: &mut [S], channels: usize) -> usize {
    let channels = channels.max(1);
    let mut missing = 0;
    for frame in data.chunks_mut(channels) {
        let sample = ring.pop().unwrap_or_else(|_| {
            missing += 1;
            0.0
        });
        frame.fill(S::from_f32(sample));
    }
    missing
}
