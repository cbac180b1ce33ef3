//! A dialing session's report: one row per lead worked, in the order worked, as CSV a spreadsheet
//! opens (a header row, UTC times in ISO 8601, text that a spreadsheet would run as a formula
//! quoted with a leading `'`).

use std::io::Write;

use softphone_core::call::Direction;
use softphone_core::call_log::CallLogEntry;
use softphone_core::lead::{Lead, LeadId};

use crate::session::DialingSession;

/// How far from the session's record of a dial its call-log row may have started (the row is
/// written as the call starts, the session hears of it just after).
const MATCH_WINDOW_MS: i64 = 10_000;

/// The report's columns.
pub const HEADER: [&str; 10] = [
    "time_utc",
    "lead",
    "company",
    "number",
    "result",
    "outcome",
    "disposition",
    "talk_seconds",
    "note",
    "skip_reason",
];

/// One lead worked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub at_ms: i64,
    pub lead: String,
    pub company: String,
    pub number: String,
    /// `called` or `skipped`.
    pub result: &'static str,
    /// The call log's state (`completed`, `failed`...), for a call.
    pub outcome: String,
    pub disposition: String,
    pub talk_seconds: Option<i64>,
    pub note: String,
    pub skip_reason: String,
}

/// The session's rows: each lead dialled with its call from `calls` (the call log around the
/// session), each lead skipped with its reason, in time order. `lead` reads a lead's card; a lead
/// deleted since is reported by its id.
pub fn rows(session: &DialingSession, calls: &[CallLogEntry], lead: impl Fn(LeadId) -> Option<Lead>) -> Vec<ReportRow> {
    let card = |id: LeadId| match lead(id) {
        Some(lead) => (lead.name, lead.company, lead.phone.as_e164().to_owned()),
        None => (format!("lead {}", id.0), String::new(), String::new()),
    };
    let mut rows: Vec<ReportRow> = session
        .dialled
        .iter()
        .map(|dialled| {
            let call = calls
                .iter()
                .filter(|call| call.direction == Direction::Outbound && call.lead_id == Some(dialled.lead_id))
                .filter(|call| (call.started_at_ms - dialled.at_ms).abs() <= MATCH_WINDOW_MS)
                .min_by_key(|call| (call.started_at_ms - dialled.at_ms).abs());
            let (lead, company, number) = card(dialled.lead_id);
            ReportRow {
                at_ms: dialled.at_ms,
                lead,
                company,
                number: call.map_or(number, |call| call.remote_number.clone()),
                result: "called",
                outcome: call.map(|call| call.state.as_str().to_owned()).unwrap_or_default(),
                disposition: call
                    .and_then(|call| call.disposition.as_ref())
                    .map(|d| d.code().to_owned())
                    .unwrap_or_default(),
                talk_seconds: call.and_then(|call| call.duration_ms).map(|ms| ms / 1000),
                note: call.map(|call| call.note.clone()).unwrap_or_default(),
                skip_reason: String::new(),
            }
        })
        .collect();
    rows.extend(session.skips.iter().map(|skip| {
        let (lead, company, number) = card(skip.lead_id);
        ReportRow {
            at_ms: skip.at_ms,
            lead,
            company,
            number,
            result: "skipped",
            outcome: String::new(),
            disposition: String::new(),
            talk_seconds: None,
            note: String::new(),
            skip_reason: skip.reason.clone(),
        }
    }));
    rows.sort_by_key(|row| row.at_ms);
    rows
}

/// Writes `rows` as CSV, header first.
pub fn write_csv(rows: &[ReportRow], out: impl Write) -> Result<(), csv::Error> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(HEADER)?;
    for row in rows {
        let time = jiff::Timestamp::from_millisecond(row.at_ms)
            .map(|at| at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default();
        let talk = row.talk_seconds.map(|seconds| seconds.to_string()).unwrap_or_default();
        writer.write_record([
            time.as_str(),
            &cell(&row.lead),
            &cell(&row.company),
            &cell(&row.number),
            row.result,
            &row.outcome,
            &cell(&row.disposition),
            &talk,
            &cell(&row.note),
            &cell(&row.skip_reason),
        ])?;
    }
    writer.flush()?;
    Ok(())
}

/// Text a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR first) gets a leading
/// `'`, so a lead named `=HYPERLINK(...)` stays a name. A `+` number is left alone: digits after
/// it are no formula.
fn cell(text: &str) -> String {
    let formula = text.starts_with(['=', '-', '@', '\t', '\r'])
        || (text.starts_with('+') && !text[1..].chars().all(|c| c.is_ascii_digit()));
    if formula { format!("'{text}") } else { text.to_owned() }
}
