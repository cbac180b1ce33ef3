//! Start-up (issue 8): launch to usable, measured `STARTUP_RUNS` times (default 10) on fresh data
//! (the first start: the database is created, migrated and seeded with the demo leads) and as
//! many times on the data of the run before (an agent's usual morning start).
//!
//! "Usable" is: the window shows the engine registered with the demo simulator ("Ready" in the
//! status bar, which needs the database open and the engine logged in) and has painted it (two
//! animation frames later). Two clocks are reported:
//! - driver: from spawning tauri-driver (which starts WebKitWebDriver, which starts the app) to
//!   usable; includes the WebDriver session's start-up and a 50 ms polling granularity;
//! - app log: from the app's own "softphone started" line to its "connection state=Ready" line;
//!   excludes the driver, the process start and Tauri's set-up before logging.
//!
//! Run (release app): `SOFTPHONE_APP_BIN=$CARGO_TARGET_DIR/release/softphone xvfb-run -a cargo
//! test -p softphone-e2e --test startup -- --ignored --nocapture`. Figures only: no timing is
//! asserted.

mod common;

use std::time::{Duration, Instant};

use common::App;

const DEFAULT_RUNS: usize = 10;

/// Milliseconds since the Unix epoch of a log line's `2026-11-23T19:02:21.832278Z` timestamp.
fn log_line_millis(line: &str) -> Option<i64> {
    let stamp = line.split_whitespace().next()?.strip_suffix('Z')?;
    let (date, time) = stamp.split_once('T')?;
    let mut date_parts = date.split('-').map(str::parse::<i64>);
    let (year, month, day) = (date_parts.next()?.ok()?, date_parts.next()?.ok()?, date_parts.next()?.ok()?);
    let mut time_parts = time.split(':');
    let (hours, minutes) = (time_parts.next()?.parse::<i64>().ok()?, time_parts.next()?.parse::<i64>().ok()?);
    let seconds: f64 = time_parts.next()?.parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let (year, month) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(((days * 24 + hours) * 60 + minutes) * 60_000 + (seconds * 1000.0).round() as i64)
}

/// From the app's last "softphone started" to the first "connection state=Ready" after it, in
/// milliseconds (on kept data the log file holds the earlier runs too).
fn started_to_ready_in_log(log: &str) -> Option<i64> {
    let lines: Vec<&str> = log.lines().collect();
    let last_start = lines.iter().rposition(|line| line.contains("softphone started"))?;
    let mut lines = lines[last_start..].iter().copied();
    let started = lines.next().and_then(log_line_millis)?;
    let ready = lines.find(|line| line.contains("connection state=Ready")).and_then(log_line_millis)?;
    Some(ready - started)
}

/// How long the window sits idle before its web process's memory is read.
const IDLE_BEFORE_MEMORY: Duration = Duration::from_secs(3);

/// One launch's figures.
struct Start {
    session: Duration,
    usable: Duration,
    /// "softphone started" -> Ready, by the app's own log.
    in_log_ms: i64,
    /// The web process's private memory (KiB) after [`IDLE_BEFORE_MEMORY`] at idle.
    web_private_kib: u64,
}

/// Launch to usable, one run, and the web process's memory at idle; hands back the app's data
/// for the next run.
async fn one_start(data_home: Option<tempfile::TempDir>) -> (Start, tempfile::TempDir) {
    let fresh = data_home.is_none();
    let spawned = Instant::now();
    let app = match data_home {
        Some(data_home) => App::launch_in(data_home).await,
        None => App::launch().await,
    };
    let session = spawned.elapsed();
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    app.client
        .execute_async(
            "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done()));",
            vec![],
        )
        .await
        .expect("the page paints");
    let usable = spawned.elapsed();
    let log = app.log_text();
    assert!(log.contains("database open"), "the database is open when the window says Ready\n{}", app.log_tail());
    let seeded = log.contains("demo leads seeded=");
    assert!(!fresh || seeded, "the first start seeds the demo leads\n{}", app.log_tail());
    let in_log_ms =
        started_to_ready_in_log(&log).unwrap_or_else(|| panic!("start and Ready in the log\n{}", app.log_tail()));
    tokio::time::sleep(IDLE_BEFORE_MEMORY).await;
    let web_process = app.web_process().expect("the window's web process");
    let (_, web_private_kib, _) = common::memory_kib(web_process).expect("the web process's memory");
    let data_home = app.quit().await;
    (Start { session, usable, in_log_ms, web_private_kib }, data_home)
}

fn summary(label: &str, mut millis: Vec<f64>) -> String {
    millis.sort_by(f64::total_cmp);
    let median = if millis.len().is_multiple_of(2) {
        (millis[millis.len() / 2 - 1] + millis[millis.len() / 2]) / 2.0
    } else {
        millis[millis.len() / 2]
    };
    format!(
        "| {label} | {median:.0} | {:.0} | {:.0} | {} |",
        millis.first().copied().unwrap_or_default(),
        millis.last().copied().unwrap_or_default(),
        millis.iter().map(|value| format!("{value:.0}")).collect::<Vec<_>>().join(" ")
    )
}

#[tokio::test]
#[ignore = "start-up figures: run with SOFTPHONE_APP_BIN=<release app> xvfb-run -a cargo test -p softphone-e2e --test startup -- --ignored --nocapture"]
async fn launch_to_usable_on_fresh_and_on_kept_data() {
    let runs =
        std::env::var("STARTUP_RUNS").ok().map_or(DEFAULT_RUNS, |text| text.parse().expect("STARTUP_RUNS is a number"));
    let mut rows = Vec::new();
    let mut kept = None;
    for fresh in [true, false] {
        let (mut sessions, mut usable, mut in_log, mut memory) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for run in 0..runs {
            let data_home = if fresh { None } else { kept.take() };
            let (start, data) = one_start(data_home).await;
            eprintln!(
                "startup ({} data) run {run}: session {:.0} ms, usable {:.0} ms, app log {} ms, web process {} KiB private",
                if fresh { "fresh" } else { "kept" },
                start.session.as_secs_f64() * 1000.0,
                start.usable.as_secs_f64() * 1000.0,
                start.in_log_ms,
                start.web_private_kib
            );
            sessions.push(start.session.as_secs_f64() * 1000.0);
            usable.push(start.usable.as_secs_f64() * 1000.0);
            in_log.push(start.in_log_ms as f64);
            memory.push(start.web_private_kib as f64 / 1024.0);
            kept = Some(data);
        }
        let data = if fresh { "fresh data" } else { "kept data" };
        rows.push(summary(&format!("{data}: spawn -> WebDriver session"), sessions));
        rows.push(summary(&format!("{data}: spawn -> Ready + painted (driver)"), usable));
        rows.push(summary(&format!("{data}: \"softphone started\" -> Ready (app log)"), in_log));
        rows.push(summary(&format!("{data}: web process private memory at idle (MiB)"), memory));
    }
    println!("\nstart-up figures ({runs} runs each; app {}):", common::app_binary().display());
    println!("| measure | median | min | max | runs |");
    println!("|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    println!("goal: launch to usable <= 900 ms (median)");
}

#[test]
fn log_timestamps_read_as_unix_milliseconds() {
    let line = "2026-11-23T19:02:21.832278Z  INFO softphone_shell: softphone started version=\"0.1.0\"";
    assert_eq!(log_line_millis(line), Some(1_795_460_541_832));
    let ready = "2026-11-23T19:02:28.374805Z  INFO softphone_shell::engine: connection state=Ready reason=\"\"";
    assert_eq!(started_to_ready_in_log(&format!("{line}\n{ready}\n")), Some(6_543));
    // A restart on the same log file: the last start counts.
    let restart = "2026-11-23T19:05:00.000000Z  INFO softphone_shell: softphone started version=\"0.1.0\"";
    let ready_again = "2026-11-23T19:05:00.900000Z  INFO softphone_shell::engine: connection state=Ready reason=\"\"";
    assert_eq!(started_to_ready_in_log(&format!("{line}\n{ready}\n{restart}\n{ready_again}\n")), Some(900));
    assert_eq!(log_line_millis("not a log line"), None);
}
