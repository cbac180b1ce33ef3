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
    store.add_to_do_not_call(&phone("+16175550123"), NOW).expect("listed");

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
    assert!(!first.dial.do_not_call, "not marked");
    assert!(first.dial.listed, "but its number is on the list, read with the lead");
    let second = &leads[1];
    assert_eq!((second.dial.attempts, second.dial.last_attempt_ms), (0, None));
    assert!(second.dial.do_not_call && !second.dial.listed);
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

#[test]
fn the_filter_is_applied_in_the_query_as_the_list_applies_it() {
    let dir = tempfile::tempdir().expect("dir");
    let mut store = Store::open(dir.path().join("softphone.sqlite3")).expect("open");
    let rows: [(&str, &[&str], &str); 5] = [
        ("+16175550101", &["hot", "renewal"], "Boston"),
        ("+16175550102", &["Hot"], "boston"),
        ("+16175550103", &["cold"], "Boston"),
        ("+16175550104", &["a_b"], "Austin"),
        ("+16175550105", &["axb"], "Austin"),
    ];
    for (number, tags, city) in rows {
        let fields = LeadFields {
            tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
            city: city.into(),
            ..LeadFields::with_phone(phone(number))
        };
        store.create_lead(&fields, NOW).expect("lead");
    }
    let numbers = |store: &mut Store, filter: ListFilter| -> Vec<String> {
        store.leads(&filter).expect("leads").iter().map(|lead| lead.dial.phone.as_e164().to_owned()).collect()
    };
    let hot = ListFilter { tags: vec!["HOT".into()], ..ListFilter::default() };
    assert_eq!(numbers(&mut store, hot), ["+16175550101", "+16175550102"], "a whole tag, any case");
    let underscore = ListFilter { tags: vec!["a_b".into()], ..ListFilter::default() };
    assert_eq!(numbers(&mut store, underscore), ["+16175550104"], "_ is no wildcard");
    let boston_cold = ListFilter {
        tags: vec!["cold".into(), "renewal".into()],
        city: Some("BOSTON".into()),
        ..ListFilter::default()
    };
    assert_eq!(numbers(&mut store, boston_cold), ["+16175550101", "+16175550103"]);
    let fresh = ListFilter { never_called: true, ..ListFilter::default() };
    call(&store, Direction::Outbound, LeadId(1), NOW);
    assert_eq!(numbers(&mut store, fresh).len(), 4, "the called lead is left out");
}

#[test]
fn due_callbacks_come_earliest_first_and_leave_when_cleared() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path().join("softphone.sqlite3")).expect("open");
    let later = store.create_lead(&LeadFields::with_phone(phone("+16175550111")), NOW).expect("lead");
    let sooner = store.create_lead(&LeadFields::with_phone(phone("+16175550112")), NOW).expect("lead");
    let future = store.create_lead(&LeadFields::with_phone(phone("+16175550113")), NOW).expect("lead");
    store.set_lead_callback(later.id, Some(NOW - 1_000), NOW).expect("set");
    store.set_lead_callback(sooner.id, Some(NOW - 5_000), NOW).expect("set");
    store.set_lead_callback(future.id, Some(NOW + 60_000), NOW).expect("set");
    let due: Vec<LeadId> = store.due_callbacks(NOW).expect("due").iter().map(|lead| lead.id).collect();
    assert_eq!(due, [sooner.id, later.id]);
    store.set_lead_callback(sooner.id, None, NOW).expect("made");
    let due: Vec<LeadId> = store.due_callbacks(NOW).expect("due").iter().map(|lead| lead.id).collect();
    assert_eq!(due, [later.id]);
}

#[test]
fn what_the_list_reads_on_the_lead_follows_every_write_of_tags_numbers_and_the_do_not_call_list() {
    let dir = tempfile::tempdir().expect("dir");
    let mut store = Store::open(dir.path().join("softphone.sqlite3")).expect("open");
    // Listed before the lead exists: the new lead is read as listed.
    store.add_to_do_not_call(&phone("+16175550131"), NOW).expect("listed");
    let fields = LeadFields { tags: vec!["Hot".into()], ..LeadFields::with_phone(phone("+16175550131")) };
    let lead = store.create_lead(&fields, NOW).expect("lead");
    let read = |store: &mut Store, filter: ListFilter| store.leads(&filter).expect("leads");
    let tagged = |tag: &str| ListFilter { tags: vec![tag.into()], ..ListFilter::default() };
    assert!(read(&mut store, tagged("hot"))[0].dial.listed);

    // The number changes: no longer listed. The tags change: found by the new one only.
    let moved = LeadFields { tags: vec!["renewal".into()], ..LeadFields::with_phone(phone("+16175550132")) };
    store.update_lead(lead.id, &moved, NOW).expect("updated");
    assert!(read(&mut store, tagged("hot")).is_empty(), "the old tag is gone");
    let renewal = read(&mut store, tagged("RENEWAL"));
    assert_eq!(renewal.len(), 1);
    assert!(!renewal[0].dial.listed);
    // Listed and unlisted afterwards.
    store.add_to_do_not_call(&phone("+16175550132"), NOW).expect("listed");
    assert!(read(&mut store, tagged("renewal"))[0].dial.listed);
    store.remove_from_do_not_call(&phone("+16175550132")).expect("unlisted");
    assert!(!read(&mut store, tagged("renewal"))[0].dial.listed);

    // An import that merges a tag into the lead: found by it.
    let csv = "Name,Phone,Tags\nDana,+1 617 555 0132,webinar\n";
    store.import_leads(csv.as_bytes(), None, softphone_core::phone::Region::US, NOW, |_| {}).expect("imported");
    assert_eq!(read(&mut store, tagged("webinar")).len(), 1);
    assert_eq!(read(&mut store, tagged("renewal")).len(), 1, "merged, not replaced");

    // Attempts follow the log; a deleted lead leaves no tag behind.
    call(&store, Direction::Outbound, lead.id, NOW - 2_000);
    call(&store, Direction::Outbound, lead.id, NOW - 9_000);
    let counted = &read(&mut store, tagged("webinar"))[0].dial;
    assert_eq!((counted.attempts, counted.last_attempt_ms), (2, Some(NOW - 2_000)));
    store.delete_lead(lead.id).expect("deleted");
    assert!(read(&mut store, tagged("webinar")).is_empty());
}
