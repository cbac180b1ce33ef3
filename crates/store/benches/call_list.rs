//! Dialer benchmark (issue 18): a call list over many leads built and its first lead known, and
//! the do-not-call check on each dial with many numbers listed.
//!
//! ```sh
//! export CARGO_TARGET_DIR=$HOME/.cache/softphone/target
//! cargo bench -p softphone-store --bench call_list            # 1,000,000 leads and listed numbers
//! LEADS=100000 cargo bench -p softphone-store --bench call_list
//! ```
//!
//! Goals: the list built and its first lead known p99 <= 200 ms; the do-not-call check <= 1 ms.

use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use softphone_core::dialing::ListFilter;
use softphone_core::phone::{PhoneNumber, Region};
use softphone_dialer::{DialRules, LeadSource, ListedBySource};
use softphone_store::Store;

/// US area codes across the four mainland zones.
const AREAS: [u16; 8] = [212, 617, 312, 214, 303, 602, 415, 206];
/// Other area codes, for listed numbers that are no lead's.
const OTHER_AREAS: [u16; 16] = [201, 202, 203, 205, 207, 209, 210, 213, 215, 216, 217, 218, 219, 224, 225, 228];

fn number(i: usize) -> String {
    format!("+1{}{:03}{:04}", AREAS[i % AREAS.len()], 200 + (i / AREAS.len()) % 800, (i / (AREAS.len() * 800)) % 10_000)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let leads: usize = std::env::var("LEADS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    // CALL_LIST_DB keeps the database where it says, for a look with sqlite3 afterwards.
    let path = std::env::var("CALL_LIST_DB").map_or_else(|_| dir.path().join("bench.sqlite3"), Into::into);
    let mut store = Store::open(path).expect("open");

    let started = Instant::now();
    let mut csv = String::from("Name,Phone,Tags\n");
    for i in 0..leads {
        csv.push_str(&format!("Lead {i},{},{}\n", number(i), if i % 5 == 0 { "hot" } else { "cold" }));
    }
    let report = store.import_leads(csv.as_bytes(), None, Region::US, 1_790_000_000_000, |_| {}).expect("import");
    println!("{} leads imported in {:.2?}", report.inserted, started.elapsed());

    let started = Instant::now();
    let mut listed = String::new();
    // As many listed numbers as leads, a tenth of them leads' numbers.
    for i in 0..leads {
        let e164 = if i % 10 == 0 {
            number(i)
        } else {
            let n = OTHER_AREAS.len();
            format!("+1{}{:03}{:04}", OTHER_AREAS[i % n], 200 + (i / n) % 800, (i / (n * 800)) % 10_000)
        };
        listed.push_str(&e164);
        listed.push('\n');
    }
    let dnc = store.import_do_not_call(listed.as_bytes(), "bench", Region::US, 1_790_000_000_000).expect("list");
    println!(
        "{} numbers on the do-not-call list ({} rejected) in {:.2?}",
        dnc.added,
        dnc.rejected.len(),
        started.elapsed()
    );

    // The do-not-call check, as every dial makes it.
    let probes: Vec<PhoneNumber> =
        (0..10_000).map(|i| PhoneNumber::from_stored(&number(i * 37 % leads)).expect("shape")).collect();
    let mut checks = Vec::with_capacity(probes.len());
    for probe in &probes {
        let started = Instant::now();
        let _ = store.do_not_call(probe).expect("check");
        checks.push(started.elapsed());
    }
    checks.sort();
    println!(
        "do-not-call check: p50 {:?}, p99 {:?}, max {:?} ({} checks)",
        percentile(&checks, 0.5),
        percentile(&checks, 0.99),
        checks.last().copied().unwrap_or_default(),
        checks.len()
    );

    // The list built and its first lead known: leads read with their attempts, filtered, the
    // rules applied, ordered.
    let zone = TimeZone::get("America/New_York").expect("zone");
    let rules = DialRules {
        hours: softphone_core::dialing::CallingHours { start_minute: 0, end_minute: 1440 },
        ..DialRules::default()
    };
    let filter = ListFilter { tags: vec!["hot".into()], ..ListFilter::default() };
    let runs: usize = std::env::var("RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(7);
    let build = |store: &mut Store, what: &str| {
        let (mut reads, mut builds) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
        let mut ready = 0;
        for _ in 0..runs {
            let started = Instant::now();
            let candidates = store.leads(&filter).expect("leads");
            reads.push(started.elapsed());
            let list = softphone_dialer::build(candidates, &filter, &rules, &ListedBySource, &zone, 1_796_000_000_000);
            builds.push(started.elapsed());
            ready = list.ready.len();
        }
        reads.sort();
        builds.sort();
        println!(
            "list of {ready} ready leads built from {leads} {what}: median {:?}, p99 {:?}, of which reading the leads median {:?} ({runs} runs; goal p99 <= 200 ms)",
            percentile(&builds, 0.5),
            percentile(&builds, 0.99),
            percentile(&reads, 0.5),
        );
    };
    // Right after an import the full-text index of the new leads is still being built on the
    // other core; then the machine is quiet.
    build(&mut store, "while the search index is built");
    let started = Instant::now();
    while store.index_status().expect("index status").leads_pending > 0 {
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("search index finished {:.1?} later", started.elapsed());
    build(&mut store, "on a quiet machine");
}
