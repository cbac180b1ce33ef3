//! The lead table as a call list's source against a real SQLite file: attempts counted from the
//! call log, the do-not-call mark, and the dialing session kept across a restart.

use softphone_core::lead::{LeadFields, LeadId};
use softphone_core::phone::PhoneNumber;
use softphone_dialer::{DialingSession, LeadSource, ListFilter, Mode};
use softphone_store::{CallEngine, Direction, NewCall, Store};

const NOW: i64 = 1_796_000_000_000;

fn phone(e164: &str) -> PhoneNumber {
    PhoneNumber::from_e164(e164).expect("valid")
}

fn call(store: &Store, direction: Direction, lead: LeadId, at: i64) {
    let new = NewCall {
        direction,
        remote_number: String::new(),
        lead_id: Some(lead),
        engine: CallEngine::Native,
        started_at_ms: at,
    };
    store.start_call(&new).expect("call logged");
}

#[test]
fn a_lead_s_attempts_are_its_outbound_calls_in_the_log() {
    let dir = tempfile::tempdir().expect("dir");
    let mut store = Store::open(dir.path().join("softphone.sqlite3")).expect("open");
    let fields =
        LeadFields { tags: vec!["hot".into()], city: "Boston".into(), ..LeadFields::with_phone(phone("+16175550123")) };
    let called = store.create_lead(&fields, NOW).expect("lead");
    let fresh = store.create_lead(&LeadFields::with_phone(phone("+12125550123")), NOW).expect("lead");
    call(&store, Direction::Outbound, called.id, NOW - 3_000);
    call(&store, Direction::Outbound, called.id, NOW - 1_000);
    call(&store, Direction::Inbound, called.id, NOW - 500);
    store.set_lead_do_not_call(fresh.id, true, NOW).expect("mark");

    let leads = store.leads(&ListFilter::default()).expect("leads");
    assert_eq!(leads.len(), 2);
    let first = &leads[0];
    assert_eq!(first.dial.lead_id, called.id);
    assert_eq!(
        (first.dial.attempts, first.dial.last_attempt_ms),
        (2, Some(NOW - 1_000)),
        "inbound calls are no attempts"
    );
    assert_eq!((first.tags.as_slice(), first.city.as_str()), (["hot".to_owned()].as_slice(), "Boston"));
    assert!(!first.dial.do_not_call);
    let second = &leads[1];
    assert_eq!((second.dial.attempts, second.dial.last_attempt_ms), (0, None));
    assert!(second.dial.do_not_call);
}

#[test]
fn the_dialing_session_is_kept_until_it_is_cleared() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("softphone.sqlite3");
    let store = Store::open(&path).expect("open");
    assert_eq!(store.dialing_session().expect("read"), None);
    let (session, _) = DialingSession::start(Mode::Preview, [LeadId(3), LeadId(5)], NOW);
    store.save_dialing_session(&session).expect("saved");
    drop(store);

    let store = Store::open(&path).expect("reopen");
    assert_eq!(store.dialing_session().expect("read"), Some(session));
    store.clear_dialing_session().expect("cleared");
    assert_eq!(store.dialing_session().expect("read"), None);
}
