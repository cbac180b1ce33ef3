//! A shift in small: 20 leads worked in power mode by keyboard only, against numbers the
//! simulator scripts (answers, busy, rejected, answering machines). The leads are dialled in the
//! list's order; skips need a reason; every call is wrapped up (1-9, Alt+W) before the next dial,
//! except a voicemail drop (Alt+V), which wraps up by itself and goes on while the greeting plays
//! (the answering machine records the greeting); the app restarts mid-list and resumes at the same
//! lead; and the session's figures match the call log.

mod common;

use common::{App, call_at_any_hour, invoke, script_number, sim_calls, until_sim};
use serde_json::{Value, json};

/// What a lead's number does, and what the agent does about it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    /// Answers (a tone); the agent talks, hangs up (Alt+E) and wraps up Answered (1).
    Answers,
    /// Busy; wrapped up Busy (4).
    Busy,
    /// Rejected after ringing; wrapped up Not interested (6).
    Rejects,
    /// An answering machine; after its beep the agent drops the greeting (Alt+V).
    Voicemail,
    /// Skipped before dialling (Alt+S, a reason, Enter).
    Skip(&'static str),
}

use Outcome::{Answers, Busy, Rejects, Skip, Voicemail};

const OUTCOMES: [Outcome; 20] = [
    Answers,
    Busy,
    Voicemail,
    Skip("Asked to be emailed"),
    Answers,
    Rejects,
    Voicemail,
    Busy,
    Answers,
    Skip("Wrong company"),
    // The app restarts here, with lead 11 on screen.
    Answers,
    Voicemail,
    Busy,
    Rejects,
    Answers,
    Skip("Duplicate of lead 2"),
    Voicemail,
    Busy,
    Answers,
    Answers,
];
/// Leads worked before the restart.
const BEFORE_RESTART: usize = 10;
/// The greeting the agent imports: 1.5 s of 700 Hz.
const GREETING_HZ: f32 = 700.0;
const GREETING_SECS: f32 = 1.5;

const ALT_N: &str = "\u{E00A}n\u{E000}";
const ALT_S: &str = "\u{E00A}s\u{E000}";
const ALT_E: &str = "\u{E00A}e\u{E000}";
const ALT_W: &str = "\u{E00A}w\u{E000}";
const ALT_V: &str = "\u{E00A}v\u{E000}";
const ALT_P: &str = "\u{E00A}p\u{E000}";
const ENTER: &str = "\u{E007}";

fn name(lead: usize) -> String {
    format!("Lead {lead:02} Twenty")
}

fn number(lead: usize) -> String {
    format!("+1212555{:04}", 200 + lead)
}

async fn keys(app: &App, keys: &str) {
    app.find("body").await.send_keys(keys).await.unwrap_or_else(|error| panic!("keys {keys:?}: {error}"));
}

/// Scripts the numbers of leads `from..=20` (a restarted app has a new simulator).
async fn script_outcomes(app: &App, from: usize) {
    for lead in from..=OUTCOMES.len() {
        let behaviour = match OUTCOMES[lead - 1] {
            Answers => "tone",
            Busy => "busy",
            Rejects => "reject",
            Voicemail => "voicemail",
            Skip(_) => continue,
        };
        script_number(app, &number(lead), behaviour).await;
    }
}

/// Waits until the session card shows `lead`, counting down (or paused after a restart).
async fn until_lead_shown(app: &App, lead: usize) {
    app.wait_for_text("#session-lead-name", |text| text == name(lead)).await;
}

/// Chooses the disposition at `place` with its number key and saves with Alt+W, in one go as a
/// fast agent types (the save must take the choice the window shows, even before it re-renders).
async fn wrap_up_with(app: &App, place: char) {
    app.wait_for_text("#session-stage", |text| text == "Save the wrap-up to go on").await;
    keys(app, &format!("{place}{ALT_W}")).await;
}

/// Works lead `lead` by keyboard; returns its simulator call id when it was dialled.
async fn work(app: &App, lead: usize) -> Option<String> {
    until_lead_shown(app, lead).await;
    if let Skip(reason) = OUTCOMES[lead - 1] {
        keys(app, ALT_S).await;
        app.find("#session-skip-reason").await.send_keys(&format!("{reason}{ENTER}")).await.expect("the reason");
        app.wait_for_text("#session-card .session-last-skip", |text| text == format!("Last skipped: {reason}")).await;
        return None;
    }
    keys(app, ALT_N).await;
    let call = until_sim(app, &format!("lead {lead}'s call"), |call| call["to"] == number(lead).as_str()).await;
    let id = call["id"].as_str().expect("the call's id").to_owned();
    let state = format!("#call-{id} .call-state");
    match OUTCOMES[lead - 1] {
        Answers => {
            app.wait_for_text(&state, |text| text == "Active").await;
            keys(app, ALT_E).await;
            wrap_up_with(app, '1').await;
        }
        Busy => wrap_up_with(app, '4').await,
        Rejects => wrap_up_with(app, '6').await,
        Voicemail => {
            app.wait_for_text(&state, |text| text == "Active").await;
            // The agent hears the greeting out and waits for the beep.
            until_sim(app, "the answering machine's beep", |call| {
                call["id"] == id.as_str() && !call["voicemail"].is_null()
            })
            .await;
            keys(app, ALT_V).await;
            app.wait_for_text(&state, |text| text == "Leaving voicemail").await;
        }
        Skip(_) => unreachable!(),
    }
    Some(id)
}

/// A WAV greeting of [`GREETING_SECS`] of [`GREETING_HZ`], 16-bit 8 kHz mono.
fn write_greeting(path: &std::path::Path) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).expect("WAV created");
    for n in 0..(8_000.0 * GREETING_SECS) as usize {
        let sample = 0.3 * (std::f32::consts::TAU * GREETING_HZ * n as f32 / 8_000.0).sin();
        writer.write_sample((sample * f32::from(i16::MAX)) as i16).expect("sample");
    }
    writer.finalize().expect("WAV finished");
}

/// The answering machine of `id` recorded the whole greeting.
async fn machine_recorded_the_greeting(app: &App, id: &str) {
    let call = until_sim(app, "the greeting call's end", |call| call["id"] == id && !call["end"].is_null()).await;
    let message = &call["voicemail"];
    let heard = message["dominant_hz"].as_f64().unwrap_or_else(|| panic!("nothing recorded: {call}"));
    assert!((heard - f64::from(GREETING_HZ)).abs() < 15.0, "the machine recorded the greeting: {call}");
    let recorded = message["recorded_ms"].as_u64().unwrap_or(0);
    assert!(recorded >= 1_300, "the whole greeting: {call}");
}

#[tokio::test]
async fn twenty_leads_are_worked_by_keyboard_through_skips_voicemail_drops_and_a_restart() {
    let launch =
        || common::Launch { env: vec![("SOFTPHONE_DEMO_TIMINGS".into(), "fast".into())], ..Default::default() };
    let app = App::launch_with(launch()).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    call_at_any_hour(&app).await;
    let csv: String = std::iter::once("Name,Company,Phone,Tags".to_owned())
        .chain((1..=OUTCOMES.len()).map(|lead| format!("{},Twenty Co {lead},{},e2e-twenty", name(lead), number(lead))))
        .collect::<Vec<_>>()
        .join("\n");
    let leads = app.data_home.path().join("twenty.csv");
    std::fs::write(&leads, csv).expect("CSV written");
    let report = invoke(&app, "import_leads_csv", json!({ "path": leads })).await;
    assert_eq!(report["inserted"], 20, "{report}");
    script_outcomes(&app, 1).await;

    // The greeting, imported in the Dial list.
    app.open("lists").await;
    let greeting = app.data_home.path().join("main-greeting.wav");
    write_greeting(&greeting);
    app.type_into("#greeting-path", &greeting.display().to_string()).await;
    app.find("#greeting-import").await.click().await.expect("import");
    app.wait_for_text("#greeting-status", |text| text.starts_with("Imported \"main-greeting\"")).await;

    app.type_into("#list-tags", "e2e-twenty").await;
    app.find("#list-preview").await.click().await.expect("preview");
    app.wait_for_text("#list-counts", |text| text.starts_with("20 to call now")).await;
    app.find("#list-countdown").await.select_by_value("10").await.expect("a 10 s countdown");
    app.screenshot("twenty-list").await;
    app.find("#list-start").await.click().await.expect("start");
    until_lead_shown(&app, 1).await;
    // The countdown runs; Alt+P pauses it, and the lead waits until the agent calls.
    app.wait_for_text("#session-stage", |text| text.starts_with("Dialing in")).await;
    keys(&app, ALT_P).await;
    app.wait_for_text("#session-stage", |text| text == "Paused: press Resume or Call").await;
    app.screenshot("twenty-paused").await;

    let mut greeting_calls = Vec::new();
    for lead in 1..=BEFORE_RESTART {
        let id = work(&app, lead).await;
        if OUTCOMES[lead - 1] == Voicemail {
            app.screenshot("twenty-voicemail-drop").await;
            greeting_calls.extend(id);
        }
    }
    for id in &greeting_calls {
        machine_recorded_the_greeting(&app, id).await;
    }
    let dialled: Vec<String> =
        sim_calls(&app).await.iter().filter_map(|call| call["to"].as_str().map(str::to_owned)).collect();
    let expected: Vec<String> =
        (1..=BEFORE_RESTART).filter(|lead| !matches!(OUTCOMES[lead - 1], Skip(_))).map(number).collect();
    assert_eq!(dialled, expected, "in the list's order, skipped leads never dialled");

    // The app goes down with lead 11 on screen, and comes back at it.
    until_lead_shown(&app, BEFORE_RESTART + 1).await;
    let data = app.quit().await;
    let app = App::launch_with(common::Launch { data_home: Some(data), ..launch() }).await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    script_outcomes(&app, BEFORE_RESTART + 1).await;
    app.open("lists").await;
    until_lead_shown(&app, BEFORE_RESTART + 1).await;
    app.wait_for_text("#session-stage", |text| text == "Paused: press Resume or Call").await;
    app.screenshot("twenty-resumed").await;

    let mut greeting_calls = Vec::new();
    for lead in BEFORE_RESTART + 1..=OUTCOMES.len() {
        if let Some(id) = work(&app, lead).await
            && OUTCOMES[lead - 1] == Voicemail
        {
            greeting_calls.push(id);
        }
    }
    let done = app.wait_for_text("#session-done", |text| !text.is_empty()).await;
    app.screenshot("twenty-done").await;
    for id in &greeting_calls {
        machine_recorded_the_greeting(&app, id).await;
    }
    assert!(done.contains("Dials: 17 · Connected: 11") && done.contains("Skipped: 3 · Left: 0"), "{done}");

    // The figures are the call log's: 17 outbound calls, and the same dispositions.
    let calls = invoke(&app, "get_recent_calls", json!({ "page": { "limit": 50, "offset": 0 } })).await;
    let calls = calls.as_array().cloned().unwrap_or_else(|| panic!("the call log: {calls}"));
    let twenty: Vec<&Value> =
        calls.iter().filter(|call| call["remote_number"].as_str().is_some_and(|n| n.starts_with("+1212555"))).collect();
    assert_eq!(twenty.len(), 17, "{twenty:#?}");
    let count = |code: &str| twenty.iter().filter(|call| call["disposition"] == code).count();
    assert_eq!(
        [count("answered"), count("voicemail-left"), count("busy"), count("not-interested")],
        [7, 4, 4, 2],
        "{twenty:#?}"
    );

    // The session's report: all 20 leads in the order worked, as the call log has them.
    let report = app.data_home.path().join("twenty-report.csv");
    app.type_into("#session-report-path", &report.display().to_string()).await;
    app.find("#session-report-save").await.click().await.expect("save the report");
    app.wait_for_text("#session-report-saved", |text| text.starts_with("Saved: 20 leads")).await;
    app.screenshot("twenty-report").await;
    let text = std::fs::read_to_string(&report).expect("the report is on disk");
    let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|line| line.split(',').collect()).collect();
    let leads: Vec<String> = rows.iter().map(|row| row[1].to_owned()).collect();
    assert_eq!(leads, (1..=20).map(name).collect::<Vec<_>>(), "{text}");
    for (lead, row) in (1..=20).zip(&rows) {
        let (result, disposition, reason) = (row[4], row[6], row[9]);
        match OUTCOMES[lead - 1] {
            Skip(why) => assert_eq!((result, reason), ("skipped", why), "{text}"),
            Answers => assert_eq!((result, disposition), ("called", "answered"), "{text}"),
            Voicemail => assert_eq!((result, disposition), ("called", "voicemail-left"), "{text}"),
            Busy => assert_eq!((result, disposition), ("called", "busy"), "{text}"),
            Rejects => assert_eq!((result, disposition), ("called", "not-interested"), "{text}"),
        }
    }
    app.close().await;
}
