//! The session's report: every lead worked, called or skipped, in order, with its call's outcome
//! from the call log; CSV a spreadsheet opens without running anything in it.

use softphone_core::call::{CallId, Direction};
use softphone_core::call_log::{CallEngine, CallLogEntry, CallLogId, LoggedCallState};
use softphone_core::disposition::Disposition;
use softphone_core::lead::{Lead, LeadId};
use softphone_core::phone::PhoneNumber;
use softphone_dialer::report::{self, ReportRow};
use softphone_dialer::{DialingSession, Mode, SessionEvent};

const T0: i64 = 1_765_100_000_000;

fn lead(id: i64, name: &str) -> Lead {
    Lead {
        id: LeadId(id),
        name: name.to_owned(),
        company: format!("Co {id}"),
        phone: PhoneNumber::from_stored(&format!("+1212555{:04}", 100 + id)).expect("number"),
        email: String::new(),
        city: String::new(),
        tags: Vec::new(),
        notes: String::new(),
        last_disposition: None,
        do_not_call: false,
        time_zone: String::new(),
        callback_due_at_ms: None,
        created_at_ms: T0,
        updated_at_ms: T0,
    }
}

fn logged(
    id: i64,
    lead_id: i64,
    started_at_ms: i64,
    state: LoggedCallState,
    disposition: Disposition,
    talk_ms: i64,
) -> CallLogEntry {
    CallLogEntry {
        id: CallLogId(id),
        direction: Direction::Outbound,
        remote_number: format!("+1212555{:04}", 100 + lead_id),
        lead_id: Some(LeadId(lead_id)),
        engine: CallEngine::Native,
        started_at_ms,
        answered_at_ms: None,
        ended_at_ms: Some(started_at_ms + talk_ms),
        duration_ms: Some(talk_ms),
        state,
        hangup_cause: None,
        sip_code: None,
        disposition: Some(disposition),
        note: "Wants a quote, call Tuesday".to_owned(),
        transferred_to: None,
        recorded_ms: None,
    }
}

#[test]
fn the_report_lists_each_lead_called_or_skipped_in_order_with_its_call() {
    let mut now = T0;
    let (mut session, _) = DialingSession::start(Mode::Preview, [1, 2, 3].map(LeadId), now);
    session.apply(SessionEvent::Call, now).expect("call");
    now += 100;
    session.apply(SessionEvent::CallPlaced { call_id: CallId::from("a") }, now).expect("placed");
    session.apply(SessionEvent::CallAnswered, now + 2_000).expect("answered");
    session.apply(SessionEvent::CallEnded, now + 62_000).expect("ended");
    session.apply(SessionEvent::WrapUpSaved { disposition: "answered".into() }, now + 70_000).expect("wrapped");
    now += 80_000;
    session.apply(SessionEvent::Skip { reason: "=cmd|' /C calc'!A0".into() }, now).expect("skip");
    now += 1_000;
    session.apply(SessionEvent::Call, now).expect("call");
    session.apply(SessionEvent::CallPlaced { call_id: CallId::from("b") }, now + 50).expect("placed");

    let calls = [
        // The lead's call of an earlier day is not this session's.
        logged(1, 1, T0 - 86_400_000, LoggedCallState::Failed, Disposition::Busy, 0),
        logged(2, 1, T0 + 90, LoggedCallState::Completed, Disposition::Answered, 60_000),
        logged(3, 3, now, LoggedCallState::Failed, Disposition::Busy, 0),
    ];
    let leads = [lead(1, "Ada Brennan"), lead(2, "Bo Castillo"), lead(3, "Cy Dunmore")];
    let rows = report::rows(&session, &calls, |id| leads.iter().find(|lead| lead.id == id).cloned());
    let summary: Vec<(&str, &str, &str, &str, Option<i64>)> = rows
        .iter()
        .map(|row: &ReportRow| {
            (row.lead.as_str(), row.result, row.outcome.as_str(), row.disposition.as_str(), row.talk_seconds)
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("Ada Brennan", "called", "completed", "answered", Some(60)),
            ("Bo Castillo", "skipped", "", "", None),
            ("Cy Dunmore", "called", "failed", "busy", Some(0)),
        ]
    );

    let mut csv = Vec::new();
    report::write_csv(&rows, &mut csv).expect("written");
    let text = String::from_utf8(csv).expect("UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "time_utc,lead,company,number,result,outcome,disposition,talk_seconds,note,skip_reason");
    assert_eq!(
        lines[1],
        "2025-12-07T09:33:20Z,Ada Brennan,Co 1,+12125550101,called,completed,answered,60,\"Wants a quote, call Tuesday\","
    );
    // A reason a spreadsheet would run as a formula stays text.
    assert!(lines[2].ends_with(",skipped,,,,,'=cmd|' /C calc'!A0"), "{}", lines[2]);
    assert_eq!(lines.len(), 4);
}
