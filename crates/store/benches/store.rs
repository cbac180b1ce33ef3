//! Store benchmark: 1,000,000 leads imported from CSV, prefix search latency, open time.
//!
//! Run (release profile, about a minute on 2 cores; needs ~1 GiB free in the temp dir):
//!
//! ```sh
//! export CARGO_TARGET_DIR=$HOME/.cache/softphone/target
//! cargo bench -p softphone-store --bench store
//! ```
//!
//! `LEADS=100000 cargo bench -p softphone-store --bench store` runs a smaller set.
//! Goals: import <= 8 s, search p99 <= 2 ms over the mix of [`query_mix`], open + migrations <= 50 ms.
//! The import returns when the leads are committed; the time the background full-text index then
//! takes is printed apart, and searches are measured once it is complete.

use std::io::{BufWriter, Write};
use std::time::{Duration, Instant};

use softphone_core::phone::Region;
use softphone_store::{Page, Store};

const FIRST: &[&str] = &[
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Ana",
    "Zoë",
    "Søren",
    "Ingrid",
    "Kenji",
    "Priya",
    "Omar",
    "Lena",
];
const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Müller",
    "Schmidt",
    "Okafor",
    "Tanaka",
];
const COMPANY: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark Industries",
    "Wayne Enterprises",
    "Wonka",
    "Cyberdyne",
    "Soylent",
    "Tyrell",
    "Aperture",
    "Vandelay",
    "Pied Piper",
    "Massive",
];
const CITY: &[&str] = &[
    "New York",
    "Los Angeles",
    "Chicago",
    "Houston",
    "Phoenix",
    "Philadelphia",
    "San Antonio",
    "San Diego",
    "Dallas",
    "San Jose",
    "Austin",
    "Boston",
    "Seattle",
    "Denver",
    "Portland",
];
const NOTES: &[&str] = &[
    "",
    "",
    "Asked for pricing",
    "Call back next week",
    "Interested in the annual plan",
    "Gatekeeper: ask for the office manager",
    "Wants a demo on Tuesday",
    "",
];
const AREA: &[u32] = &[212, 310, 415, 646, 718, 202, 305, 617, 312, 713];

/// Deterministic pseudo-random numbers (SplitMix64), so every run imports the same file.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as usize
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.next() % list.len()]
    }
}

/// What agents type, roughly in the proportions they type it: every 1- to 6-letter prefix of
/// first and last names (the first keystrokes of a name search), whole company, city and note
/// words, 1- to 7-digit number prefixes in several notations, and two-word searches.
fn query_mix() -> Vec<(&'static str, String)> {
    let mut queries: Vec<(&'static str, String)> = Vec::new();
    let mut push = |class: &'static str, query: String| {
        if !queries.iter().any(|(_, q)| *q == query) {
            queries.push((class, query));
        }
    };
    for name in FIRST.iter().chain(LAST) {
        let lower = name.to_lowercase();
        for len in 1..=6 {
            push("name prefix 1-6", lower.chars().take(len).collect());
        }
    }
    let words = COMPANY.iter().chain(CITY).chain(NOTES).flat_map(|text| text.split(' ')).filter(|w| w.len() > 2);
    for word in words {
        let class = if word.chars().count() > 6 { "whole word 7+" } else { "whole word 3-6" };
        push(class, word.to_lowercase());
    }
    for (i, area) in AREA.iter().enumerate() {
        let national = format!("{area}{:03}{:04}", 200 + i * 37, i * 1234);
        for len in 1..=7 {
            push("digits", national[..len].to_owned());
        }
        push("digits", format!("({area}) {}", &national[3..6]));
        push("digits", format!("+1 {area}"));
    }
    for (first, last) in FIRST.iter().zip(LAST).take(12) {
        let first: String = first.to_lowercase().chars().take(2).collect();
        let last: String = last.to_lowercase().chars().take(3).collect();
        push("two words", format!("{first} {last}"));
    }
    queries
}

/// CPU time (user + system) of this process so far; Linux only, `None` elsewhere.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn main() {
    let leads: usize = std::env::var("LEADS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let csv_path = dir.path().join("leads.csv");
    let db_path = dir.path().join("bench.sqlite3");

    let started = Instant::now();
    let mut out = BufWriter::new(std::fs::File::create(&csv_path).expect("create CSV"));
    writeln!(out, "First Name,Last Name,Company,Phone,Email,City,Notes,Tags").unwrap();
    let mut mix = Mix(42);
    for i in 0..leads {
        let (first, last) = (mix.pick(FIRST), mix.pick(LAST));
        let phone = format!(
            "({}) {:03}-{:04}",
            AREA[i % AREA.len()],
            200 + (i / AREA.len()) % 800,
            (i / (AREA.len() * 800)) % 10_000
        );
        writeln!(
            out,
            "{first},{last},{},{phone},{}.{}{}@example.com,{},{},{}",
            mix.pick(COMPANY),
            first.to_lowercase(),
            last.to_lowercase(),
            i,
            mix.pick(CITY),
            mix.pick(NOTES),
            if i % 7 == 0 { "vip" } else { "" },
        )
        .unwrap();
    }
    out.flush().unwrap();
    drop(out);
    let csv_bytes = std::fs::metadata(&csv_path).unwrap().len();
    println!("generated {leads} leads as CSV ({:.1} MiB) in {:.2?}", csv_bytes as f64 / 1048576.0, started.elapsed());

    let sample: Vec<String> =
        (0..20_000).map(|i| format!("({}) {:03}-{:04}", AREA[i % AREA.len()], 200 + i % 800, i % 10_000)).collect();
    // The first parse loads libphonenumber's metadata (about 250 ms); not part of the per-number cost.
    softphone_core::phone::PhoneNumber::parse(&sample[0], Region::US).expect("valid sample");
    let started = Instant::now();
    for number in &sample {
        softphone_core::phone::PhoneNumber::parse(number, Region::US).expect("valid sample");
    }
    let parse = started.elapsed() / sample.len() as u32;
    let e164: Vec<String> =
        sample.iter().map(|n| softphone_core::phone::PhoneNumber::parse(n, Region::US).unwrap().to_string()).collect();
    let started = Instant::now();
    for number in &e164 {
        softphone_core::phone::PhoneNumber::from_e164(number).expect("valid sample");
    }
    println!(
        "phone parse (national input): {parse:.2?} per number; from_e164: {:.2?}",
        started.elapsed() / e164.len() as u32
    );

    let fresh = dir.path().join("fresh.sqlite3");
    let started = Instant::now();
    drop(Store::open(&fresh).expect("open fresh"));
    println!("open + all migrations on a new file: {:.2?}", started.elapsed());

    let mut store = Store::open(&db_path).expect("open");
    let started = Instant::now();
    let cpu_before = cpu_time();
    let report = store.import_leads_csv(&csv_path, Region::US, 1_790_000_000_000, |_| {}).expect("import");
    let import_time = started.elapsed();
    let cpu = cpu_before.zip(cpu_time()).map(|(before, after)| format!("{:.2?}", after - before));
    println!(
        "import: {import_time:.2?} wall, {} CPU ({} inserted, {} merged, {} rejected; {:.0} rows/s)",
        cpu.unwrap_or_else(|| "?".into()),
        report.inserted,
        report.merged,
        report.rejected.len(),
        leads as f64 / import_time.as_secs_f64()
    );
    if let Some(first) = report.rejected.first() {
        println!("  first rejection: line {}: {}", first.line, first.reason);
    }
    // The leads are committed; the full-text index is built in the background.
    // Meanwhile the agent searches (what they do right after an import): one query of the mix
    // every 50 ms, timed, against the part indexed so far plus the scan of the rest.
    let started = Instant::now();
    let cpu_before = cpu_time();
    let mix_while_indexing = query_mix();
    let mut while_indexing = Vec::new();
    loop {
        let status = store.index_status().expect("index status");
        if let Some(failure) = status.failure {
            panic!("background index failed: {failure}");
        }
        if status.leads_pending == 0 {
            break;
        }
        let (_, query) = &mix_while_indexing[while_indexing.len() % mix_while_indexing.len()];
        let searched = Instant::now();
        store.search_leads(query, Page::first(50)).expect("search while indexing");
        while_indexing.push(searched.elapsed());
        std::thread::sleep(Duration::from_millis(50));
    }
    let cpu = cpu_before.zip(cpu_time()).map(|(before, after)| format!("{:.2?}", after - before));
    println!(
        "background full-text index after the import: {:.2?} wall, {} CPU",
        started.elapsed(),
        cpu.unwrap_or_else(|| "?".into())
    );
    if !while_indexing.is_empty() {
        while_indexing.sort();
        println!(
            "search while the index is built ({} queries): p50 {:.3?}, p99 {:.3?}, max {:.3?}",
            while_indexing.len(),
            percentile(&while_indexing, 0.5),
            percentile(&while_indexing, 0.99),
            while_indexing[while_indexing.len() - 1]
        );
    }
    drop(store);
    let db_size: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("bench.sqlite3"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    println!("database size: {:.0} MiB", db_size as f64 / 1048576.0);

    let mut opens = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let store = Store::open(&db_path).expect("reopen");
        opens.push(started.elapsed());
        drop(store);
    }
    opens.sort();
    println!(
        "open + migration check on the {leads}-lead file: p50 {:.2?}, max {:.2?}",
        percentile(&opens, 0.5),
        opens[opens.len() - 1]
    );

    let store = Store::open(&db_path).expect("reopen");
    let queries = query_mix();
    // Warm the page cache and the statement cache first, as an agent's session would.
    for (_, query) in &queries {
        store.search_leads(query, Page::first(50)).expect("search");
    }
    let mut times = Vec::new();
    let mut by_class: Vec<(&str, Vec<Duration>)> = Vec::new();
    let mut hits = 0usize;
    let cpu_before = cpu_time();
    for round in 0..4 {
        for (class, query) in &queries {
            let started = Instant::now();
            let found = store.search_leads(query, Page { limit: 50, offset: (round % 2) * 50 }).expect("search");
            let elapsed = started.elapsed();
            times.push(elapsed);
            match by_class.iter_mut().find(|(c, _)| c == class) {
                Some((_, class_times)) => class_times.push(elapsed),
                None => by_class.push((class, vec![elapsed])),
            }
            hits += found.len();
        }
    }
    let cpu = cpu_before.zip(cpu_time()).map(|(before, after)| after - before);
    let wall: Duration = times.iter().sum();
    println!(
        "search CPU: {} over {:.2?} of searching (the CPU share shows how much of the wall time is waiting for a core)",
        cpu.map(|cpu| format!("{cpu:.2?}")).unwrap_or_else(|| "?".into()),
        wall
    );
    times.sort();
    println!(
        "search, 50 per page ({} queries of {} kinds, {:.1} hits avg): p50 {:.3?}, p99 {:.3?}, max {:.3?}",
        times.len(),
        queries.len(),
        hits as f64 / times.len() as f64,
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[times.len() - 1]
    );
    for (class, mut class_times) in by_class {
        class_times.sort();
        println!(
            "  {class:<16} {:>5} queries: p50 {:.3?}, p99 {:.3?}, max {:.3?}",
            class_times.len(),
            percentile(&class_times, 0.5),
            percentile(&class_times, 0.99),
            class_times[class_times.len() - 1]
        );
    }
    let mut worst: Vec<(Duration, &str)> = queries
        .iter()
        .map(|(_, query)| {
            let started = Instant::now();
            store.search_leads(query, Page::first(50)).expect("search");
            (started.elapsed(), query.as_str())
        })
        .collect();
    worst.sort();
    println!("slowest queries: {:?}", &worst[worst.len().saturating_sub(6)..]);
}
