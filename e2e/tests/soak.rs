//! A day in the life (issue 8): the real app in demo mode (fake audio, the built-in simulator with
//! its fast timings) takes `SOAK_CALLS` calls (default 500) in a fixed, seeded order, driven
//! through the window and the simulator's control API: outbound calls from the dialer to the
//! tone, echo, early-media and hang-up numbers (some held, some with DTMF, some with the agent's
//! microphone checked at the far end), busy, rejected, unanswered and cancelled calls, and inbound
//! calls answered, declined and missed. Every call is checked in the window (its state) and at the
//! simulator (its end and cause), then wrapped up or dismissed.
//!
//! At 0 calls, every 100 calls and at the end, with no call on screen: the proportional set size
//! (PSS) of the app and every process under it (WebKit's web and network processes), and the CPU
//! they use over 10 s of idling. At the end every call must be in the call log (the SQLite file,
//! read beside the running app, and the window's Calls page) with the right direction, number,
//! outcome, cause and wrap-up. A figures table is printed.
//!
//! Run (release app, see README "Soak and start-up"):
//! `SOFTPHONE_APP_BIN=$CARGO_TARGET_DIR/release/softphone SOAK_CALLS=500 xvfb-run -a cargo test
//! -p softphone-e2e --test soak -- --ignored --nocapture` (`SOAK_SEED=<n>` picks another order).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{App, Dice, Launch};
use serde_json::{Value, json};

/// WebDriver's Enter key.
const ENTER: &str = "\u{E007}";
/// Calls of a full soak.
const DEFAULT_CALLS: usize = 500;
/// The order of calls when `SOAK_SEED` is not set.
const DEFAULT_SEED: u64 = 20_261_123;
/// Idle time over which CPU use is measured.
const IDLE_WINDOW: Duration = Duration::from_secs(10);
/// Memory is measured every this many calls (`SOAK_CHECK_EVERY`, default 100).
static CHECKPOINT_EVERY: std::sync::LazyLock<usize> =
    std::sync::LazyLock::new(|| env_number("SOAK_CHECK_EVERY", 100).max(1) as usize);
/// Quiet time before a measurement (timers of the last call run out, WebKit collects garbage).
const SETTLE: Duration = Duration::from_secs(5);
/// Callers of inbound calls: a demo lead's number (a screen-pop) and numbers of nobody.
const CALLERS: [&str; 3] = ["+15555550100", "+14155550123", "+12125550199"];
/// What the agent types on the keypad in calls with DTMF.
const DIGITS: [&str; 3] = ["1", "5", "#"];

/// What happens in one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// The agent dials the tone number, talks and hangs up.
    Tone,
    /// The agent dials the echo number, talks and hangs up.
    Echo,
    /// Early media, then answered; the agent hangs up.
    EarlyMedia,
    /// Answered; the far end hangs up after its talk time.
    FarEndHangsUp,
    Busy,
    Rejected,
    /// The far end rings until its no-answer timeout.
    NoAnswer,
    /// The agent hangs up while it rings.
    Cancelled,
    /// A caller rings the app; the agent answers; the caller hangs up.
    InboundAnswered,
    InboundDeclined,
    /// The caller gives up while it rings.
    InboundMissed,
}

/// Kinds and their weights in the mix (most calls connect; a few ring out).
const MIX: [(Kind, u64); 11] = [
    (Kind::Tone, 22),
    (Kind::Echo, 8),
    (Kind::EarlyMedia, 6),
    (Kind::FarEndHangsUp, 6),
    (Kind::Busy, 12),
    (Kind::Rejected, 8),
    (Kind::NoAnswer, 3),
    (Kind::Cancelled, 7),
    (Kind::InboundAnswered, 18),
    (Kind::InboundDeclined, 5),
    (Kind::InboundMissed, 5),
];

/// How a call's row must read in the call log, and the cause the simulator records.
struct Outcome {
    direction: &'static str,
    state: &'static str,
    cause: &'static str,
    answered: bool,
    /// The disposition the wrap-up form proposes.
    proposed: Option<&'static str>,
}

impl Kind {
    fn pick(dice: &mut Dice) -> Kind {
        let total: u64 = MIX.iter().map(|(_, weight)| weight).sum();
        let mut roll = dice.below(total);
        for (kind, weight) in MIX {
            if roll < weight {
                return kind;
            }
            roll -= weight;
        }
        unreachable!("the roll is below the total weight")
    }

    fn inbound(self) -> bool {
        matches!(self, Kind::InboundAnswered | Kind::InboundDeclined | Kind::InboundMissed)
    }

    /// The simulator's directory number an outbound call dials.
    fn number(self) -> &'static str {
        match self {
            Kind::Tone => "+15555550100",
            Kind::Echo => "+15555550101",
            Kind::Busy => "+15555550102",
            Kind::NoAnswer | Kind::Cancelled => "+15555550103",
            Kind::Rejected => "+15555550104",
            Kind::EarlyMedia => "+15555550105",
            Kind::FarEndHangsUp => "+15555550106",
            Kind::InboundAnswered | Kind::InboundDeclined | Kind::InboundMissed => "",
        }
    }

    fn talks(self) -> bool {
        matches!(self, Kind::Tone | Kind::Echo | Kind::EarlyMedia | Kind::FarEndHangsUp | Kind::InboundAnswered)
    }

    fn outcome(self) -> Outcome {
        let (direction, state, cause, answered, proposed) = match self {
            Kind::Tone | Kind::Echo | Kind::EarlyMedia | Kind::FarEndHangsUp => {
                ("outbound", "completed", "NORMAL_CLEARING", true, Some("answered"))
            }
            Kind::Busy => ("outbound", "failed", "USER_BUSY", false, Some("busy")),
            Kind::Rejected => ("outbound", "failed", "CALL_REJECTED", false, None),
            Kind::NoAnswer => ("outbound", "failed", "NO_ANSWER", false, Some("no-answer")),
            // Hanging up before an answer sends USER_BUSY, as the Telnyx SDK does.
            Kind::Cancelled => ("outbound", "failed", "USER_BUSY", false, None),
            Kind::InboundAnswered => ("inbound", "completed", "NORMAL_CLEARING", true, Some("answered")),
            Kind::InboundDeclined => ("inbound", "missed", "USER_BUSY", false, None),
            Kind::InboundMissed => ("inbound", "missed", "ORIGINATOR_CANCEL", false, None),
        };
        Outcome { direction, state, cause, answered, proposed }
    }

    /// Whether the state the window shows at the end is right for this kind.
    fn ended_text_fits(self, text: &str) -> bool {
        match self {
            Kind::Cancelled => text == "Ended: Cancelled",
            Kind::InboundDeclined => text == "Ended: Declined",
            Kind::InboundMissed => text == "Missed",
            _ => text.starts_with("Ended: ") && text.len() > "Ended: ".len(),
        }
    }
}

/// What the agent does with the ended call's card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WrapUp {
    Dismiss,
    /// Saves the disposition the form proposes, without a note.
    SaveProposed,
    /// Picks Callback and writes a note.
    Callback,
}

/// One call of the day, decided before it starts.
#[derive(Debug, Clone)]
struct Plan {
    kind: Kind,
    /// The caller's number (inbound) or the number dialed (outbound).
    number: &'static str,
    hold: bool,
    dtmf: Option<String>,
    /// Check at the far end that it hears the agent's microphone (880 Hz).
    listen: bool,
    wrap_up: WrapUp,
}

impl Plan {
    fn draw(dice: &mut Dice) -> Plan {
        let kind = Kind::pick(dice);
        let number = if kind.inbound() { CALLERS[dice.below(CALLERS.len() as u64) as usize] } else { kind.number() };
        let talks_long = matches!(kind, Kind::Tone | Kind::Echo | Kind::InboundAnswered);
        let hold = talks_long && dice.one_in(3);
        let dtmf = (talks_long && dice.one_in(3))
            .then(|| (0..3).map(|_| DIGITS[dice.below(DIGITS.len() as u64) as usize]).collect());
        let listen = kind.talks() && dice.one_in(4);
        let wrap_up = match dice.below(6) {
            // A call the agent never talked on (declined, or the caller gave up) gets no wrap-up
            // form, only Dismiss, as in Telnyx's and Close's clients.
            _ if matches!(kind, Kind::InboundDeclined | Kind::InboundMissed) => WrapUp::Dismiss,
            0 | 1 => WrapUp::SaveProposed,
            2 => WrapUp::Callback,
            _ => WrapUp::Dismiss,
        };
        Plan { kind, number, hold, dtmf, listen, wrap_up }
    }

    /// The note a Callback wrap-up writes for call `index`.
    fn note(&self, index: usize) -> String {
        if self.wrap_up == WrapUp::Callback {
            format!("soak call {index}: call back after lunch")
        } else {
            String::new()
        }
    }

    fn disposition(&self) -> Option<&'static str> {
        match self.wrap_up {
            WrapUp::Dismiss => None,
            WrapUp::SaveProposed => self.kind.outcome().proposed,
            WrapUp::Callback => Some("callback"),
        }
    }
}

/// The simulator's calls (live and the last 500 ended).
async fn sim_calls(simulator: &str) -> Vec<Value> {
    let url = format!("{simulator}/control/calls");
    let response = common::http().get(&url).send().await.unwrap_or_else(|error| panic!("GET {url}: {error}"));
    let body: Value = response.json().await.expect("the control API answers JSON");
    body["calls"].as_array().cloned().unwrap_or_default()
}

/// Waits until the simulator's call `id` satisfies `check`; returns it.
async fn until_sim(app: &App, simulator: &str, id: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + common::UI_TIMEOUT;
    loop {
        let calls = sim_calls(simulator).await;
        let call = calls.iter().find(|call| call["id"] == id);
        if let Some(call) = call.filter(|call| check(call)) {
            return call.clone();
        }
        assert!(Instant::now() < deadline, "the simulator never saw {what} on call {id}: {call:?}\n{}", app.log_tail());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The simulator rings the app from `from`; returns the call's id.
async fn ring_from(simulator: &str, from: &str) -> String {
    let url = format!("{simulator}/control/calls/inbound");
    let body = json!({ "from": from, "caller_name": "Soak caller" });
    let response =
        common::http().post(&url).json(&body).send().await.unwrap_or_else(|error| panic!("POST {url}: {error}"));
    assert!(response.status().is_success(), "POST {url}: {}", response.status());
    let started: Value = response.json().await.expect("the control API answers JSON");
    started["call_id"].as_str().expect("a call id").to_owned()
}

/// The caller hangs up call `id` (`cause`: the control API's hangup body).
async fn hang_up_as_caller(simulator: &str, id: &str, cause: Value) {
    let url = format!("{simulator}/control/calls/{id}/hangup");
    let response =
        common::http().post(&url).json(&cause).send().await.unwrap_or_else(|error| panic!("POST {url}: {error}"));
    assert!(response.status().is_success(), "POST {url}: {}", response.status());
}

/// Waits until the text of `css` satisfies `accept`, returning it. Reads the page through a
/// script rather than WebDriver element lookups: WebKit's automation session keeps every element
/// it ever handed out (and the removed call cards under them) alive until the page goes, which
/// would be counted as the app's memory.
async fn wait_for_text(app: &App, css: &str, accept: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + common::UI_TIMEOUT;
    let mut last = String::new();
    while Instant::now() < deadline {
        let text = app
            .client
            .execute(
                "const element = document.querySelector(arguments[0]); return element ? element.innerText : null;",
                vec![json!(css)],
            )
            .await
            .unwrap_or_else(|error| panic!("reading {css}: {error}"));
        if let Some(text) = text.as_str() {
            if accept(text) {
                return text.to_owned();
            }
            last = text.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{css} never showed the expected text; last seen: {last:?}\n{}", app.log_tail());
}

/// Waits until nothing matches `css` (read through a script, see [`wait_for_text`]).
async fn wait_until_gone(app: &App, css: &str) {
    let deadline = Instant::now() + common::UI_TIMEOUT;
    while Instant::now() < deadline {
        let found = app
            .client
            .execute("return document.querySelector(arguments[0]) !== null;", vec![json!(css)])
            .await
            .unwrap_or_else(|error| panic!("looking for {css}: {error}"));
        if found == json!(false) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{css} is still on screen after {:?}\n{}", common::UI_TIMEOUT, app.log_tail());
}

async fn click(app: &App, css: &str) {
    app.find(css).await.click().await.unwrap_or_else(|error| panic!("click {css}: {error}"));
}

/// Places `number` from the dialer, as the agent types it; returns the call's id from its card.
async fn dial(app: &App, number: &str) -> String {
    app.open("dialer").await;
    app.type_into("#dial-number", number).await;
    app.type_into("#dial-number", ENTER).await;
    card_id(app).await
}

/// The id of the one call card on screen.
async fn card_id(app: &App) -> String {
    let card = app.find("#calls-panel .call-card").await;
    let id = card.attr("id").await.expect("the card's id").expect("a call card has an id");
    id.strip_prefix("call-").unwrap_or_else(|| panic!("a card id starts with call-: {id}")).to_owned()
}

/// Plays one call through to its end and wrap-up. Returns the call's id.
async fn run_call(app: &App, simulator: &str, index: usize, plan: &Plan) -> String {
    let id = if plan.kind.inbound() {
        let id = ring_from(simulator, plan.number).await;
        wait_for_text(app, &format!("#call-{id} .call-state"), |text| text == "Ringing").await;
        id
    } else {
        dial(app, plan.number).await
    };
    let card = format!("#call-{id}");
    let state = format!("{card} .call-state");

    match plan.kind {
        Kind::InboundAnswered => {
            click(app, &format!("{card} .answer")).await;
            wait_for_text(app, &state, |text| text == "Active").await;
        }
        Kind::InboundDeclined => click(app, &format!("{card} .decline")).await,
        Kind::InboundMissed => {
            let gives_up = json!({ "cause": "ORIGINATOR_CANCEL", "cause_code": 487, "sip_code": 487 });
            hang_up_as_caller(simulator, &id, gives_up).await;
        }
        Kind::Cancelled => {
            // The window says "Dialing" until the far end answers (ringback plays meanwhile).
            wait_for_text(app, &state, |text| text == "Dialing").await;
            until_sim(app, simulator, &id, "the far end ringing", |call| call["state"] == "ringing").await;
            click(app, &format!("{card} .hangup")).await;
        }
        Kind::Tone | Kind::Echo | Kind::EarlyMedia | Kind::FarEndHangsUp => {
            wait_for_text(app, &state, |text| text == "Active").await;
        }
        Kind::Busy | Kind::Rejected | Kind::NoAnswer => {}
    }

    if plan.kind.talks() {
        if plan.listen {
            until_sim(app, simulator, &id, "the agent's microphone (880 Hz)", |call| {
                call["heard"]["dominant_hz"].as_f64().is_some_and(|hz| (hz - 880.0).abs() < 15.0)
            })
            .await;
        }
        if plan.hold {
            click(app, &format!("{card} .hold")).await;
            wait_for_text(app, &state, |text| text == "On hold").await;
            until_sim(app, simulator, &id, "the hold", |call| call["hold_state"] == "held").await;
            click(app, &format!("{card} .resume")).await;
            wait_for_text(app, &state, |text| text == "Active").await;
            until_sim(app, simulator, &id, "the resume", |call| call["hold_state"] == "active").await;
        }
        if let Some(digits) = &plan.dtmf {
            click(app, &format!("{card} .keypad-toggle")).await;
            for key in digits.chars() {
                click(app, &format!("{card} .dtmf .key[data-key='{key}']")).await;
            }
            until_sim(app, simulator, &id, "the digits", |call| call["dtmf"] == digits.as_str()).await;
        }
        match plan.kind {
            // The simulator's hang-up number ends the call itself.
            Kind::FarEndHangsUp => {}
            Kind::InboundAnswered => hang_up_as_caller(simulator, &id, json!({})).await,
            _ => click(app, &format!("{card} .hangup")).await,
        }
    }

    let kind = plan.kind;
    let shown = wait_for_text(app, &state, |text| kind.ended_text_fits(text)).await;
    let expected = plan.kind.outcome();
    let ended = until_sim(app, simulator, &id, "the end of the call", |call| !call["end"].is_null()).await;
    assert_eq!(
        ended["end"]["cause"], expected.cause,
        "call {index} ({:?}, window: {shown:?}): the simulator's cause: {ended}",
        plan.kind
    );

    match plan.wrap_up {
        WrapUp::Dismiss => click(app, &format!("{card} .dismiss")).await,
        WrapUp::SaveProposed => {
            let form = app.find(&format!("{card} .wrap-up-disposition")).await;
            let proposed = form.prop("value").await.expect("the proposed disposition").unwrap_or_default();
            assert_eq!(proposed, expected.proposed.unwrap_or(""), "call {index} ({:?}): proposed disposition", kind);
            click(app, &format!("{card} .wrap-up-save")).await;
        }
        WrapUp::Callback => {
            let form = app.find(&format!("{card} .wrap-up-disposition")).await;
            form.select_by_value("callback").await.expect("pick Callback");
            app.type_into(&format!("{card} .wrap-up-note"), &plan.note(index)).await;
            click(app, &format!("{card} .wrap-up-save")).await;
        }
    }
    wait_until_gone(app, "#calls-panel").await;
    id
}

/// `pid (comm) state ppid ... utime stime ...` of a process; None when it is gone.
fn proc_stat(pid: u32) -> Option<(u32, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // After the comm: state(3) ppid(4) ... utime(14) stime(15), numbered as in proc(5).
    let ppid = fields.get(1)?.parse().ok()?;
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some((ppid, ticks))
}

fn process_name(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).map(|name| name.trim().to_owned()).unwrap_or_default()
}

/// Clock ticks per second for `/proc/PID/stat` times.
fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8_lossy(&output.stdout).trim().parse().ok())
        .unwrap_or(100)
}

/// One measurement with no call on screen.
struct Sample {
    calls: usize,
    /// PSS in KiB by process name (the app, WebKitWebProcess, WebKitNetworkProcess, ...).
    pss_by_name: BTreeMap<String, u64>,
    /// Private memory in KiB of the whole tree.
    private_kib: u64,
    /// The file-backed part of the tree's PSS in KiB (library code touched so far).
    file_backed_kib: u64,
    processes: usize,
    /// CPU time of the whole tree over [`IDLE_WINDOW`], in percent of one core.
    idle_cpu_percent: f64,
}

impl Sample {
    fn total_mib(&self) -> f64 {
        self.pss_by_name.values().sum::<u64>() as f64 / 1024.0
    }

    fn private_mib(&self) -> f64 {
        self.private_kib as f64 / 1024.0
    }
}

async fn measure(app: &App, calls: usize) -> Sample {
    // The agent sits on the dialer between calls.
    app.open("dialer").await;
    tokio::time::sleep(SETTLE).await;
    let root = common::app_pid_in(app.data_home.path()).expect("the app's process is running");
    let tree = common::process_tree(root);
    let mut pss_by_name = BTreeMap::new();
    let mut private_kib = 0;
    let mut file_backed_kib = 0;
    for &pid in &tree {
        if let Some((pss, private, file_backed)) = common::memory_kib(pid) {
            *pss_by_name.entry(process_name(pid)).or_insert(0) += pss;
            private_kib += private;
            file_backed_kib += file_backed;
        }
    }
    let ticks = |tree: &[u32]| tree.iter().filter_map(|&pid| proc_stat(pid)).map(|(_, ticks)| ticks).sum::<u64>();
    let before = ticks(&tree);
    tokio::time::sleep(IDLE_WINDOW).await;
    let after = ticks(&tree);
    let idle_cpu_percent =
        after.saturating_sub(before) as f64 / clock_ticks_per_second() as f64 / IDLE_WINDOW.as_secs_f64() * 100.0;
    let sample = Sample { calls, pss_by_name, private_kib, file_backed_kib, processes: tree.len(), idle_cpu_percent };
    // What the page holds: elements in the DOM and the wasm heap (it only grows).
    let dom_elements = app.client.execute("return document.getElementsByTagName('*').length;", vec![]).await;
    let wasm_bytes = app
        .client
        .execute("return window.wasmBindings.default().then((wasm) => wasm.memory.buffer.byteLength);", vec![])
        .await;
    eprintln!(
        "soak: after {calls} calls: PSS {:.1} MiB (private {:.1} MiB, file-backed {:.1} MiB) over {} processes {:?} KiB, \
         idle CPU {:.2} %, \
         DOM elements {}, wasm memory {} MiB",
        sample.total_mib(),
        sample.private_mib(),
        sample.file_backed_kib as f64 / 1024.0,
        sample.processes,
        sample.pss_by_name,
        sample.idle_cpu_percent,
        dom_elements.ok().and_then(|n| n.as_u64()).map_or("?".into(), |n| n.to_string()),
        wasm_bytes.ok().and_then(|n| n.as_u64()).map_or("?".into(), |n| format!("{:.1}", n as f64 / 1048576.0)),
    );
    sample
}

fn database_file(data_home: &Path) -> PathBuf {
    data_home.join("data/io.agentsoftphone.desktop/softphone.sqlite3")
}

/// One row of the call log, as the SQLite file holds it.
#[derive(Debug)]
struct LoggedCall {
    direction: String,
    remote_number: String,
    state: String,
    hangup_cause: Option<String>,
    answered: bool,
    disposition: Option<String>,
    note: String,
}

fn call_log(data_home: &Path) -> Vec<LoggedCall> {
    let connection = rusqlite::Connection::open_with_flags(
        database_file(data_home),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .expect("the database opens read-only");
    connection.busy_timeout(Duration::from_secs(10)).expect("busy timeout");
    let mut statement = connection
        .prepare(
            "SELECT direction, remote_number, state, hangup_cause, answered_at IS NOT NULL, disposition, note
             FROM calls ORDER BY id",
        )
        .expect("the call log query");
    statement
        .query_map([], |row| {
            Ok(LoggedCall {
                direction: row.get(0)?,
                remote_number: row.get(1)?,
                state: row.get(2)?,
                hangup_cause: row.get(3)?,
                answered: row.get(4)?,
                disposition: row.get(5)?,
                note: row.get(6)?,
            })
        })
        .expect("the call log reads")
        .collect::<Result<_, _>>()
        .expect("every row reads")
}

/// What is wrong with `row` as the log of call `index`, if anything.
fn log_mismatch(index: usize, plan: &Plan, row: &LoggedCall) -> Option<String> {
    let expected = plan.kind.outcome();
    let right = row.direction == expected.direction
        && row.remote_number == plan.number
        && row.state == expected.state
        && row.hangup_cause.as_deref() == Some(expected.cause)
        && row.answered == expected.answered
        && row.disposition.as_deref() == plan.disposition()
        && row.note == plan.note(index);
    (!right).then(|| {
        format!(
            "call {index} ({:?}, wrap-up {:?}): expected {} {} {} {} answered={} disposition={:?}; logged {row:?}",
            plan.kind,
            plan.wrap_up,
            expected.direction,
            plan.number,
            expected.state,
            expected.cause,
            expected.answered,
            plan.disposition()
        )
    })
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map_or(default, |text| text.parse().unwrap_or_else(|_| panic!("{name}={text}: not a number")))
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    sorted.get(((sorted.len() as f64 - 1.0) * fraction).round() as usize).copied().unwrap_or_default()
}

#[tokio::test]
#[ignore = "soak: SOAK_CALLS=500 (about 12 min); run with SOFTPHONE_APP_BIN=<release app> xvfb-run -a cargo test -p softphone-e2e --test soak -- --ignored --nocapture"]
async fn a_day_of_calls_keeps_memory_flat_and_every_call_in_the_log() {
    let calls = env_number("SOAK_CALLS", DEFAULT_CALLS as u64) as usize;
    let seed = env_number("SOAK_SEED", DEFAULT_SEED);
    let mut dice = Dice::new(seed);
    let plans: Vec<Plan> = (0..calls).map(|_| Plan::draw(&mut dice)).collect();
    eprintln!("soak: {calls} calls, seed {seed}, app {}", common::app_binary().display());

    let started = Instant::now();
    let app = App::launch_with(Launch {
        env: vec![("SOFTPHONE_DEMO_TIMINGS".into(), "fast".into()), ("RUST_LOG".into(), "info".into())],
        ..Launch::default()
    })
    .await;
    wait_for_text(&app, "#connection-state", |text| text == "Ready").await;
    let simulator = app.simulator_url().await;

    let mut samples = vec![measure(&app, 0).await];
    let mut durations = Vec::with_capacity(calls);
    let mut ids = Vec::with_capacity(calls);
    let calls_started = Instant::now();
    for (number, plan) in plans.iter().enumerate() {
        let index = number + 1;
        let call_started = Instant::now();
        ids.push(run_call(&app, &simulator, index, plan).await);
        durations.push(call_started.elapsed());
        if index % 50 == 0 {
            eprintln!("soak: {index} of {calls} calls, {:.0} s", calls_started.elapsed().as_secs_f64());
        }
        if index % *CHECKPOINT_EVERY == 0 || index == calls {
            samples.push(measure(&app, index).await);
        }
    }
    let calls_time = calls_started.elapsed();

    // Every call in the log, in order, with the right outcome and wrap-up.
    let logged = call_log(app.data_home.path());
    assert_eq!(logged.len(), calls, "every call is in the call log (and nothing else)");
    let mismatches: Vec<String> = plans
        .iter()
        .zip(&logged)
        .enumerate()
        .filter_map(|(number, (plan, row))| log_mismatch(number + 1, plan, row))
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} of {calls} calls are logged wrong:\n{}",
        mismatches.len(),
        mismatches.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
    );
    // The window's Calls page lists them, newest first.
    app.open("calls").await;
    let newest = wait_for_text(&app, "#call-log .log-row", |text| !text.is_empty()).await;
    let last = plans.last().expect("at least one call");
    let shown_number = format!("{}-{}", &last.number[5..8], &last.number[8..]);
    assert!(
        newest.contains(&shown_number),
        "the newest row of the Calls page is the last call ({}): {newest}",
        last.number
    );
    // No call is left live at the simulator.
    let live: Vec<Value> = sim_calls(&simulator).await.into_iter().filter(|call| call["end"].is_null()).collect();
    assert!(live.is_empty(), "calls left live at the simulator: {live:?}");

    durations.sort();
    let mut mix: BTreeMap<String, usize> = BTreeMap::new();
    for plan in &plans {
        *mix.entry(format!("{:?}", plan.kind)).or_insert(0) += 1;
    }
    let count = |check: fn(&Plan) -> bool| plans.iter().filter(|plan| check(plan)).count();
    println!(
        "\nsoak figures: {calls} calls (seed {seed}) in {:.1} min ({:.1} min in all)",
        calls_time.as_secs_f64() / 60.0,
        started.elapsed().as_secs_f64() / 60.0
    );
    println!("app: {}", common::app_binary().display());
    println!("mix: {mix:?}");
    println!(
        "holds {}, DTMF {}, far end heard the agent {}, wrap-ups saved {} (callback + note {}), dismissed {}",
        count(|plan| plan.hold),
        count(|plan| plan.dtmf.is_some()),
        count(|plan| plan.listen),
        count(|plan| plan.wrap_up != WrapUp::Dismiss),
        count(|plan| plan.wrap_up == WrapUp::Callback),
        count(|plan| plan.wrap_up == WrapUp::Dismiss),
    );
    println!(
        "time per call (placed or rung -> wrapped up): p50 {:.2} s, p90 {:.2} s, max {:.2} s",
        percentile(&durations, 0.5).as_secs_f64(),
        percentile(&durations, 0.9).as_secs_f64(),
        percentile(&durations, 1.0).as_secs_f64()
    );
    let names: Vec<String> = samples
        .iter()
        .flat_map(|sample| sample.pss_by_name.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    println!(
        "| calls | {} | total PSS MiB | private MiB | processes | idle CPU % (10 s) |",
        names.iter().map(|name| format!("{name} PSS MiB")).collect::<Vec<_>>().join(" | ")
    );
    println!("|---|{}---|---|---|---|", "---|".repeat(names.len()));
    for sample in &samples {
        let per_name: Vec<String> = names
            .iter()
            .map(|name| format!("{:.1}", sample.pss_by_name.get(name).copied().unwrap_or(0) as f64 / 1024.0))
            .collect();
        println!(
            "| {} | {} | {:.1} | {:.1} | {} | {:.2} |",
            sample.calls,
            per_name.join(" | "),
            sample.total_mib(),
            sample.private_mib(),
            sample.processes,
            sample.idle_cpu_percent
        );
    }
    let first = samples.first().expect("the sample at 0 calls");
    let last_sample = samples.last().expect("the last sample");
    let at_100 = samples.iter().find(|sample| sample.calls == 100).unwrap_or(first);
    println!(
        "growth: PSS {:+.1} MiB (private {:+.1}) from 0 to {} calls, {:+.1} MiB (private {:+.1}) from {} to {} calls \
         (goal: idle <= 300 MB, growth <= 10 MB)",
        last_sample.total_mib() - first.total_mib(),
        last_sample.private_mib() - first.private_mib(),
        last_sample.calls,
        last_sample.total_mib() - at_100.total_mib(),
        last_sample.private_mib() - at_100.private_mib(),
        at_100.calls,
        last_sample.calls
    );
    println!(
        "call log: {} of {calls} calls logged with the right direction, number, outcome, cause and wrap-up",
        logged.len()
    );
    app.close().await;
}
