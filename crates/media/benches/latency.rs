//! How much delay the media pipeline adds, and what one call costs.
//!
//! `cargo bench -p softphone-media --bench latency`
//!
//! Our fake microphone plays 100 ms bursts of 1 kHz once a second; the simulator's media peer
//! (`Playback::Echo`) sends back what it receives; the fake speaker's tape shows when each burst
//! comes back. The round trip is our capture path + network (loopback) + the simulator's echo
//! (it re-sends on its own 20 ms clock: 20-40 ms) + our playout path. Our one-way figure is
//! (round trip - simulator echo delay) / 2, with the echo delay taken as its midpoint of 30 ms.
//!
//! CPU: per-thread user+system time of our threads (`audio-engine`, `call-media-*`) from
//! /proc/self/task, over the measured seconds; memory: VmRSS before and during the call.

use std::time::{Duration, Instant};

use softphone_media::{
    AudioSystem, CallMedia, CallMediaOptions, CandidatePolicy, CodecChoice, FakeAudioSpec, FakeMic, MediaState,
    VoiceProcessingConfig,
};
use softphone_sim::media::{MediaSession, Playback};

/// The simulator's echo re-send delay we subtract: the middle of its 20-40 ms.
const SIM_ECHO_MS: f64 = 30.0;
const SECONDS: u64 = 8;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// CPU ticks (user + system) of this process's threads whose name starts with one of `prefixes`.
fn thread_ticks(prefixes: &[&str]) -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0 };
    tasks
        .flatten()
        .filter_map(|task| {
            let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
            if !prefixes.iter().any(|p| comm.trim().starts_with(p)) {
                return None;
            }
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            // Fields after the parenthesised name: state is field 3; utime 14, stime 15.
            let rest = &stat[stat.rfind(')')? + 2..];
            let fields: Vec<&str> = rest.split_whitespace().collect();
            Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
        })
        .sum()
}

/// Round trips in ms: from each burst's start to its first sample above -40 dBFS on the tape.
fn round_trips(first_frame: u64, tape: &[f32]) -> Vec<f64> {
    let threshold = 0.01;
    let mut trips = Vec::new();
    let mut quiet = 0usize;
    for (index, sample) in tape.iter().enumerate() {
        if sample.abs() < threshold {
            quiet += 1;
            continue;
        }
        if quiet >= 8 * 200 {
            let at_ms = (first_frame * 80 + index as u64) as f64 / 8.0;
            let burst_ms = (at_ms / 1000.0).floor() * 1000.0;
            trips.push(at_ms - burst_ms);
        }
        quiet = 0;
    }
    trips
}

fn measure(label: &str, codecs: CodecChoice, jitter_target_ms: u32) {
    let rss_before = rss_kib();
    let audio =
        AudioSystem::fake(FakeAudioSpec { mic: FakeMic::Pulse(1_000.0), processing: VoiceProcessingConfig::OFF })
            .expect("fake audio");
    let options = CallMediaOptions { codecs, jitter_target_ms, candidates: CandidatePolicy::LoopbackOnly };
    let (call, offer) = CallMedia::offer_with(&audio, &[], options).expect("offer");
    let (far_end, answer) = MediaSession::answer(&offer, Playback::Echo).expect("simulator answers");
    call.accept_answer(&answer).expect("answer");
    let deadline = Instant::now() + Duration::from_secs(5);
    while call.state() != MediaState::Connected && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_secs(1));
    let ours = ["audio-engine", "call-media"];
    let ticks_before = thread_ticks(&ours);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(SECONDS));
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_pct = (thread_ticks(&ours) - ticks_before) as f64 / 100.0 / elapsed * 100.0;
    let rss_during = rss_kib();
    let (first_frame, tape) = audio.fake_speaker_tape().expect("fake speaker");
    let mut trips = round_trips(first_frame, &tape);
    trips.sort_by(f64::total_cmp);
    let stats = call.stats();
    if std::env::var_os("LATENCY_DEBUG").is_some() {
        println!("{stats:?}\n{:?}", far_end.heard());
    }
    drop((call, far_end));
    if trips.is_empty() {
        println!("{label}: no echo came back ({stats:?})");
        return;
    }
    let median = trips[trips.len() / 2];
    println!(
        "{label}: round trip median {median:.1} ms (min {:.1}, max {:.1}, n={}); one-way added by our pipeline \
         ≈ {:.1} ms; jitter buffer now {} ms; CPU of our threads {cpu_pct:.1}% of one core; RSS {} -> {} MiB",
        trips[0],
        trips[trips.len() - 1],
        trips.len(),
        (median - SIM_ECHO_MS) / 2.0,
        stats.jitter_buffer_ms,
        rss_before / 1024,
        rss_during / 1024,
    );
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    if std::env::var_os("LATENCY_DEBUG").is_none() {
        measure("opus, jitter target 40 ms", CodecChoice::OpusAndG711, 40);
        measure("opus, jitter target 20 ms", CodecChoice::OpusAndG711, 20);
    }
    measure("PCMU, jitter target 40 ms", CodecChoice::PcmuOnly, 40);
}
