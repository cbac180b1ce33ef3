//! Lead files from other programs, 1,000,000 leads each: a semicolon CSV in Windows-1252 (decoded
//! as it streams) and an .xlsx (read whole by calamine), against the import budget of the CSV
//! (≤ 8 s for 1M leads; see benches/store.rs).
//!
//! `cargo bench -p softphone-store --bench lead_files` (release; `LEADS=100000` for a smaller set).

use std::io::{BufWriter, Write};
use std::time::Instant;

use softphone_core::phone::Region;
use softphone_store::Store;

const FIRST: &[&str] = &["François", "Zoë", "José", "Ana", "Björn", "Chloé", "Jürgen", "Inés", "Mary", "John"];
const LAST: &[&str] =
    &["Müller", "Ångström", "Peña", "García", "Øster", "Lefèvre", "Nuñez", "Smith", "Brown", "Dubois"];
const CITY: &[&str] = &["Besançon", "Göteborg", "Logroño", "Köln", "Zürich", "Orléans", "Málaga", "Boston"];

/// Lead `i`: name, US number (unique), city.
fn lead(i: usize) -> (String, String, &'static str) {
    let name = format!("{} {}", FIRST[i % FIRST.len()], LAST[(i / FIRST.len()) % LAST.len()]);
    let phone =
        format!("+1 {} {:03} {:04}", [212, 305, 415, 617, 713][i % 5], 200 + (i / 5) % 800, (i / 4_000) % 10_000);
    (name, phone, CITY[i % CITY.len()])
}

fn import(dir: &std::path::Path, file: &std::path::Path, what: &str, leads: usize) {
    let mut store = Store::open(dir.join(format!("{what}.sqlite3"))).expect("store");
    let started = Instant::now();
    let report = store.import_leads_csv(file, Region::US, 1_790_000_000_000, |_| {}).expect("import");
    let took = started.elapsed();
    println!(
        "{what}: {leads} rows imported in {took:.2?} ({} inserted, {} merged, {} rejected; {:.0} rows/s)",
        report.inserted,
        report.merged,
        report.rejected.len(),
        leads as f64 / took.as_secs_f64()
    );
}

fn main() {
    let leads: usize = std::env::var("LEADS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");

    let csv = dir.path().join("leads-1252.csv");
    let started = Instant::now();
    let mut out = BufWriter::new(std::fs::File::create(&csv).expect("create CSV"));
    let mut line = String::new();
    out.write_all(b"Name;Phone;City\r\n").expect("write");
    for i in 0..leads {
        let (name, phone, city) = lead(i);
        line.clear();
        line.push_str(&format!("{name};{phone};{city}\r\n"));
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&line);
        out.write_all(&bytes).expect("write");
    }
    out.flush().expect("flush");
    drop(out);
    println!(
        "generated a Windows-1252 CSV ({:.1} MiB) in {:.2?}",
        std::fs::metadata(&csv).expect("size").len() as f64 / 1_048_576.0,
        started.elapsed()
    );
    import(dir.path(), &csv, "Windows-1252 CSV", leads);

    let xlsx = dir.path().join("leads.xlsx");
    let started = Instant::now();
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (column, header) in ["Name", "Phone", "City"].iter().enumerate() {
        sheet.write_string(0, column as u16, *header).expect("header");
    }
    for i in 0..leads {
        let (name, phone, city) = lead(i);
        let row = i as u32 + 1;
        sheet.write_string(row, 0, name).expect("cell");
        sheet.write_string(row, 1, phone).expect("cell");
        sheet.write_string(row, 2, city).expect("cell");
    }
    workbook.save(&xlsx).expect("xlsx");
    println!(
        "generated an .xlsx ({:.1} MiB) in {:.2?}",
        std::fs::metadata(&xlsx).expect("size").len() as f64 / 1_048_576.0,
        started.elapsed()
    );
    import(dir.path(), &xlsx, "xlsx", leads);
}
