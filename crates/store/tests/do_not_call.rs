//! The do-not-call list and mark against real SQLite files: imports as lists come (with or without a
//! header, more columns, national numbers, bad rows), lookups, and a restart keeping them.

use softphone_core::lead::LeadFields;
use softphone_core::phone::{PhoneNumber, Region};
use softphone_store::{DoNotCallReason, Store};

const NOW: i64 = 1_790_000_000_000;

fn phone(e164: &str) -> PhoneNumber {
    PhoneNumber::from_e164(e164).expect("valid")
}

#[test]
fn a_list_without_a_header_is_imported_number_by_number_and_a_bad_row_is_named_by_its_line() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("softphone.sqlite3");
    let mut store = Store::open(&path).expect("open");
    let csv = "(212) 555-0123\n+1 312 555 0123\nnot a number\n\n415.555.0123\n212-555-0123\n";
    let report = store.import_do_not_call(csv.as_bytes(), "dnc.csv", Region::US, NOW).expect("import");
    assert_eq!(report.added, 3);
    assert_eq!(report.already_listed, 1, "the same number twice in the file");
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    assert_eq!(report.rejected[0].line, 3);
    assert!(report.rejected[0].reason.contains("no phone number"), "{report:?}");
    for number in ["+12125550123", "+13125550123", "+14155550123"] {
        assert!(store.is_on_do_not_call(&phone(number)).expect("lookup"), "{number}");
    }
    assert!(!store.is_on_do_not_call(&phone("+16175550123")).expect("lookup"));
    assert_eq!(store.do_not_call_count().expect("count"), 3);

    // A restart keeps the list.
    drop(store);
    let store = Store::open(&path).expect("reopen");
    assert_eq!(store.do_not_call_count().expect("count"), 3);
}

#[test]
fn a_list_with_a_header_and_more_columns_takes_the_number_from_each_row() {
    let dir = tempfile::tempdir().expect("dir");
    let mut store = Store::open(dir.path().join("softphone.sqlite3")).expect("open");
    let csv = "Name,Phone,Reason\nQuinn Okafor,+44 20 7946 0958,asked\nRosa,+46 8 123 456 78,complaint\n";
    let report = store.import_do_not_call(csv.as_bytes(), "export.csv", Region::US, NOW).expect("import");
    assert_eq!((report.added, report.already_listed), (2, 0));
    assert!(report.rejected.is_empty(), "{report:?}");
    assert!(store.is_on_do_not_call(&phone("+442079460958")).expect("lookup"));
    // Imported again: nothing new, and nothing rejected.
    let again = store.import_do_not_call(csv.as_bytes(), "export.csv", Region::US, NOW).expect("import");
    assert_eq!((again.added, again.already_listed), (0, 2));
}

#[test]
fn a_number_is_refused_when_listed_or_when_its_lead_is_marked() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path().join("softphone.sqlite3")).expect("open");
    let lead = store.create_lead(&LeadFields::with_phone(phone("+12125550123")), NOW).expect("lead");
    assert_eq!(store.do_not_call(&phone("+12125550123")).expect("check"), None);

    let marked = store.set_lead_do_not_call(lead.id, true, NOW + 1).expect("mark");
    assert!(marked.do_not_call);
    assert_eq!(store.do_not_call(&phone("+12125550123")).expect("check"), Some(DoNotCallReason::LeadMarked));
    store.set_lead_do_not_call(lead.id, false, NOW + 2).expect("unmark");
    assert_eq!(store.do_not_call(&phone("+12125550123")).expect("check"), None);

    assert!(store.add_to_do_not_call(&phone("+12125550123"), NOW).expect("add"));
    assert!(!store.add_to_do_not_call(&phone("+12125550123"), NOW).expect("add again"));
    assert_eq!(store.do_not_call(&phone("+12125550123")).expect("check"), Some(DoNotCallReason::Listed));
    assert!(store.remove_from_do_not_call(&phone("+12125550123")).expect("remove"));
    assert_eq!(store.do_not_call(&phone("+12125550123")).expect("check"), None);
}
