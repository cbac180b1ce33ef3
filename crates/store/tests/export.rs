//! The call log out to a file, as the agent's spreadsheet reads it: a CSV with a byte-order mark
//! and an .xlsx, each read back (by the csv crate and by calamine), with the agent's filter.

use calamine::Reader;
use softphone_core::call_log::CallLogFilter;
use softphone_core::disposition::Disposition;
use softphone_core::phone::PhoneNumber;
use softphone_store::{CallEngine, CallFinish, Direction, LeadFields, LoggedCallState, NewCall, Store};

const NOW: i64 = 1_796_694_857_524; // 2026-12-08 01:54:17 UTC

fn store_with_calls(dir: &std::path::Path) -> Store {
    let store = Store::open(dir.join("agent.sqlite3")).expect("store");
    let lead = store
        .create_lead(
            &LeadFields {
                name: "François Müller".into(),
                ..LeadFields::with_phone(PhoneNumber::from_e164("+33123456789").expect("number"))
            },
            NOW,
        )
        .expect("lead");
    let talked = store
        .start_call(&NewCall {
            direction: Direction::Outbound,
            remote_number: "+33123456789".into(),
            lead_id: Some(lead.id),
            engine: CallEngine::Native,
            started_at_ms: NOW,
        })
        .expect("call");
    store.answer_call(talked.id, NOW + 5_000).expect("answer");
    let finish = |state, at| CallFinish { state, ended_at_ms: at, hangup_cause: None, sip_code: None };
    store.finish_call(talked.id, &finish(LoggedCallState::Completed, NOW + 95_000)).expect("finish");
    let mut store = store;
    store
        .set_call_disposition(talked.id, Some(&Disposition::Callback), "Rappeler lundi, « après 10 h »", NOW + 99_000)
        .expect("wrap-up");
    let missed = store
        .start_call(&NewCall {
            direction: Direction::Inbound,
            remote_number: "+14155550123".into(),
            lead_id: None,
            engine: CallEngine::Native,
            started_at_ms: NOW + 600_000,
        })
        .expect("call");
    store.finish_call(missed.id, &finish(LoggedCallState::Missed, NOW + 620_000)).expect("finish");
    store
}

#[test]
fn the_call_log_exported_as_csv_reads_back_with_its_accents_and_local_times() {
    let dir = tempfile::tempdir().expect("dir");
    let store = store_with_calls(dir.path());
    let path = dir.path().join("calls.csv");
    assert_eq!(store.export_call_log(&CallLogFilter::default(), &path, 60).expect("exported"), 2);
    let bytes = std::fs::read(&path).expect("read");
    assert!(bytes.starts_with("\u{FEFF}".as_bytes()), "a byte-order mark for Excel");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let header: Vec<String> = reader.headers().expect("header").iter().map(str::to_owned).collect();
    assert_eq!(header[..6], ["Started", "Direction", "Number", "Lead", "Outcome", "Talk time (s)"]);
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|row| row.map(|row| row.iter().map(str::to_owned).collect()))
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(rows.len(), 2);
    // Newest first: the missed call, then the call with François (at UTC+1).
    assert_eq!(&rows[0][1..5], ["Inbound", "+14155550123", "", "Missed"]);
    assert_eq!(rows[1][0], "2026-12-08 02:54:17");
    assert_eq!(&rows[1][3..8], ["François Müller", "Completed", "90", "Callback", "Rappeler lundi, « après 10 h »"]);
}

#[test]
fn the_call_log_exported_as_xlsx_with_a_filter_reads_back_in_a_spreadsheet_reader() {
    let dir = tempfile::tempdir().expect("dir");
    let store = store_with_calls(dir.path());
    let path = dir.path().join("missed.xlsx");
    let filter = CallLogFilter { missed_only: true, ..CallLogFilter::default() };
    assert_eq!(store.export_call_log(&filter, &path, 0).expect("exported"), 1);
    let mut workbook = calamine::open_workbook_auto(&path).expect("a workbook");
    assert_eq!(workbook.sheet_names(), ["Calls"]);
    let range = workbook.worksheet_range("Calls").expect("sheet");
    let rows: Vec<Vec<String>> = range.rows().map(|row| row.iter().map(|cell| cell.to_string()).collect()).collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][..6], ["2026-12-08 02:04:17", "Inbound", "+14155550123", "", "Missed", "0"]);
}

#[test]
fn a_path_that_cannot_be_written_says_so() {
    let dir = tempfile::tempdir().expect("dir");
    let store = store_with_calls(dir.path());
    let error = store
        .export_call_log(&CallLogFilter::default(), &dir.path().join("no/such/folder/calls.csv"), 0)
        .expect_err("nowhere to write");
    assert!(error.to_string().contains("Could not write"), "{error}");
}

#[test]
fn leads_exported_import_back_as_the_same_leads_and_a_search_exports_only_what_it_finds() {
    let dir = tempfile::tempdir().expect("dir");
    let store = store_with_calls(dir.path());
    store
        .create_lead(
            &LeadFields {
                name: "Ana López".into(),
                city: "Logroño".into(),
                tags: vec!["vip".into(), "es".into()],
                ..LeadFields::with_phone(PhoneNumber::from_e164("+34912345678").expect("number"))
            },
            NOW,
        )
        .expect("lead");
    let all = dir.path().join("leads.xlsx");
    assert_eq!(store.export_leads("", &all).expect("exported"), 2);
    let found = dir.path().join("found.csv");
    assert_eq!(store.export_leads("López", &found).expect("exported"), 1);
    let text = std::fs::read_to_string(&found).expect("csv");
    assert!(text.contains("Ana López") && !text.contains("François"), "{text}");

    // Imported into another agent's file: the same leads (tags, city and last outcome aside).
    let mut other = Store::open(dir.path().join("other.sqlite3")).expect("store");
    let report = other.import_leads_csv(&all, softphone_core::phone::Region::US, NOW, |_| {}).expect("import");
    assert_eq!((report.inserted, report.rejected.len()), (2, 0));
    let leads = other.search_leads("", softphone_core::lead::Page { limit: 10, offset: 0 }).expect("leads");
    let read: Vec<(&str, &str, &str, Vec<String>)> = leads
        .iter()
        .map(|lead| (lead.name.as_str(), lead.phone.as_e164(), lead.city.as_str(), lead.tags.clone()))
        .collect();
    assert_eq!(
        read,
        vec![
            ("Ana López", "+34912345678", "Logroño", vec!["vip".to_owned(), "es".to_owned()]),
            ("François Müller", "+33123456789", "", vec![]),
        ]
    );
}
