//! The sound card's callbacks ([`softphone_media::realtime`]) never allocate: run under a global
//! allocator that counts allocations, through a full ring, an empty one, and both sample formats,
//! stereo. (An allocation in a callback can take a lock inside malloc and stall
//! the card: a gap the agent hears.)

use std::alloc::System;

use rtrb::RingBuffer;
use softphone_media::realtime::{capture, play};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn the_callbacks_move_audio_through_full_and_empty_rings_without_allocating() {
    // 10 ms of stereo at 48 kHz, as the card hands it over; a ring of 20 ms (mono).
    let (mut producer, mut consumer) = RingBuffer::<f32>::new(960);
    let stereo_f32: Vec<f32> = (0..960).map(|i| if i % 2 == 0 { 0.5 } else { 0.25 }).collect();
    let stereo_i16: Vec<i16> = vec![8_192; 960];
    let mut out_f32 = vec![1.0_f32; 960];
    let mut out_i16 = vec![1_i16; 960];

    // The only test in this binary: nothing else allocates while the region counts.
    let region = Region::new(GLOBAL);
    // Capture until the ring is full and beyond (the engine stalled): the rest is dropped.
    let mut dropped = 0;
    for _ in 0..3 {
        dropped += capture(&mut producer, &stereo_f32, 2);
    }
    dropped += capture(&mut producer, &stereo_i16, 2);
    // Play it all out, and then some (the engine stalled the other way): silence.
    let mut missing = 0;
    for _ in 0..2 {
        missing += play(&mut consumer, &mut out_f32, 2);
    }
    missing += play(&mut consumer, &mut out_i16, 2);
    let during = region.change();

    assert_eq!((during.allocations, during.reallocations), (0, 0), "the callbacks allocated: {during:?}");
    assert_eq!(dropped, 480 + 480, "a full ring drops what does not fit");
    assert_eq!(missing, 480, "an empty ring plays silence");
    // What came through is the mono mix, on both channels.
    assert!(out_f32.iter().all(|&s| (s - 0.375).abs() < 1e-6), "{:?}", &out_f32[..4]);
    assert!(out_i16.iter().all(|&s| s == 0), "silence after the ring ran dry");
}
