//! Inbound call → `Notify` on the bus: how long from `show_incoming_call()` to the notification
//! daemon receiving the call, and to the id coming back, over CALLS (default 200) ringing calls.
//!
//! `cargo bench -p softphone-notify --bench notify_latency` (a private bus and the recording daemon;
//! prints figures, asserts none). Each call is closed before the next rings, as in real use.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use softphone_notify::test_support::{PrivateBus, RecordingDaemon};
use softphone_notify::{IncomingCallNotice, Notifier};

fn unix_ns(time: SystemTime) -> u64 {
    u64::try_from(time.duration_since(UNIX_EPOCH).expect("after 1970").as_nanos()).expect("fits until 2554")
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let rank = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{what}: n={} p50={:.2} ms p99={:.2} ms max={:.2} ms",
        samples.len(),
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().expect("samples").as_secs_f64() * 1e3
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let calls: usize = std::env::var("CALLS").ok().and_then(|value| value.parse().ok()).unwrap_or(200);
    let bus = PrivateBus::start().expect("dbus-daemon starts");
    let daemon = RecordingDaemon::start(&bus).expect("notification daemon starts");

    let started = Instant::now();
    let notifier = Notifier::connect_to(bus.address()).await.expect("connects");
    println!("connect (bus + AddMatch + GetCapabilities): {:.2} ms", started.elapsed().as_secs_f64() * 1e3);

    let mut sent_at = Vec::with_capacity(calls);
    let mut round_trips = Vec::with_capacity(calls);
    for call in 0..calls {
        let notice = IncomingCallNotice {
            call_id: format!("bench-{call}"),
            caller_name: Some("LOVELACE A".into()),
            number_display: format!("+1 415-555-{:04}", call % 10_000),
            lead_name: Some("Ada Lovelace".into()),
            company: Some("Analytical Engines Ltd".into()),
        };
        let wall = SystemTime::now();
        let started = Instant::now();
        let id = notifier.show_incoming_call(&notice).await.expect("shown");
        round_trips.push(started.elapsed());
        sent_at.push((id.0, unix_ns(wall)));
        notifier.close_call(&notice.call_id).await.expect("closed");
    }

    let records = daemon.notifications();
    assert_eq!(records.len(), calls, "every call was recorded");
    let to_daemon = sent_at
        .iter()
        .map(|(id, sent)| {
            let record = records.iter().find(|record| record.id == *id).expect("recorded");
            Duration::from_nanos(record.received_unix_ns.saturating_sub(*sent))
        })
        .collect();
    report("show_incoming_call -> daemon received Notify", to_daemon);
    report("show_incoming_call -> id returned (round trip)", round_trips);
}
