//! The store against real SQLite files in a temporary directory.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use softphone_core::disposition::{CustomDisposition, Disposition};
use softphone_core::phone::{PhoneNumber, Region};
use softphone_store::{
    CallEngine, CallFinish, Direction, Entity, ImportReport, LeadFields, LoggedCallState, NewCall, Page, Store,
    StoreError,
};
use tempfile::TempDir;

const NOW: i64 = 1_790_000_000_000;

struct Db {
    _dir: TempDir,
    path: PathBuf,
}

impl Db {
    fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("softphone.sqlite3");
        Db { _dir: dir, path }
    }

    fn open(&self) -> Store {
        Store::open(&self.path).unwrap()
    }

    fn write_csv(&self, name: &str, content: &str) -> PathBuf {
        let path = self.path.with_file_name(name);
        std::fs::write(&path, content).unwrap();
        path
    }
}

fn phone(e164: &str) -> PhoneNumber {
    PhoneNumber::from_e164(e164).unwrap()
}

fn lead(name: &str, company: &str, e164: &str) -> LeadFields {
    LeadFields {
        name: name.into(),
        company: company.into(),
        city: "San Francisco".into(),
        email: format!("{}@example.com", name.to_lowercase().replace(' ', ".")),
        ..LeadFields::with_phone(phone(e164))
    }
}

fn import(store: &mut Store, path: &Path) -> ImportReport {
    store.import_leads_csv(path, Region::US, NOW, |_| {}).unwrap()
}

fn names(leads: &[softphone_store::Lead]) -> Vec<&str> {
    leads.iter().map(|l| l.name.as_str()).collect()
}

#[test]
fn reopening_keeps_data_and_does_not_migrate_again() {
    let db = Db::new();
    {
        let store = db.open();
        store.create_lead(&lead("Ann Lee", "Acme", "+14155550100"), NOW).unwrap();
    }
    let version = |path: &Path| -> i64 {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap()
    };
    let after_first = version(&db.path);
    assert!(after_first >= 1);
    for _ in 0..2 {
        let store = db.open();
        assert_eq!(store.lead_count().unwrap(), 1);
        assert_eq!(names(&store.search_leads("ann", Page::first(10)).unwrap()), ["Ann Lee"]);
    }
    assert_eq!(version(&db.path), after_first);
    let conn = rusqlite::Connection::open(&db.path).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_file_that_is_not_a_database_is_reported_as_corrupt() {
    let db = Db::new();
    std::fs::write(&db.path, vec![b'x'; 8192]).unwrap();
    let error = Store::open(&db.path).unwrap_err();
    assert!(matches!(error, StoreError::Corrupt), "{error:?}");
}

#[test]
fn a_call_open_when_the_app_died_is_closed_as_interrupted_at_next_start() {
    let db = Db::new();
    let (answered, unanswered, finished) = {
        let store = db.open();
        assert_eq!(store.interrupted_at_open(), 0);
        let start = |at| NewCall {
            direction: Direction::Outbound,
            remote_number: "+14155550100".into(),
            lead_id: None,
            engine: CallEngine::Native,
            started_at_ms: at,
        };
        let answered = store.start_call(&start(NOW)).unwrap();
        store.answer_call(answered.id, NOW + 4_000).unwrap();
        let unanswered = store.start_call(&start(NOW + 10_000)).unwrap();
        let finished = store.start_call(&start(NOW - 60_000)).unwrap();
        store
            .finish_call(
                finished.id,
                &CallFinish {
                    state: LoggedCallState::Completed,
                    ended_at_ms: NOW - 30_000,
                    hangup_cause: Some("NORMAL_CLEARING".into()),
                    sip_code: Some(200),
                },
            )
            .unwrap();
        // Dropped without finishing: the app was killed.
        (answered.id, unanswered.id, finished.id)
    };
    let store = db.open();
    assert_eq!(store.interrupted_at_open(), 2);
    let answered = store.call(answered).unwrap();
    assert_eq!(answered.state, LoggedCallState::Interrupted);
    assert_eq!(answered.ended_at_ms, Some(NOW + 4_000));
    assert_eq!(answered.duration_ms, None);
    let unanswered = store.call(unanswered).unwrap();
    assert_eq!(unanswered.state, LoggedCallState::Interrupted);
    assert_eq!(unanswered.ended_at_ms, Some(NOW + 10_000));
    let finished = store.call(finished).unwrap();
    assert_eq!(finished.state, LoggedCallState::Completed);
    assert_eq!(finished.duration_ms, Some(0), "never answered: no talk time");
    drop(store);
    assert_eq!(db.open().interrupted_at_open(), 0, "recovery happens once");
}

#[test]
fn call_log_links_leads_and_counts_unseen_missed_calls() {
    let db = Db::new();
    let mut store = db.open();
    let ann = store.create_lead(&lead("Ann Lee", "Acme", "+14155550100"), NOW).unwrap();
    let inbound = |number: &str, at| NewCall {
        direction: Direction::Inbound,
        remote_number: number.into(),
        lead_id: None,
        engine: CallEngine::Webview,
        started_at_ms: at,
    };
    let missed = |at| CallFinish {
        state: LoggedCallState::Missed,
        ended_at_ms: at,
        hangup_cause: Some("ORIGINATOR_CANCEL".into()),
        sip_code: Some(487),
    };
    let first = store.start_call(&inbound("+14155550100", NOW)).unwrap();
    assert_eq!(first.lead_id, Some(ann.id), "the caller's lead is found by number");
    store.finish_call(first.id, &missed(NOW + 20_000)).unwrap();
    let anonymous = store.start_call(&inbound("anonymous", NOW + 60_000)).unwrap();
    assert_eq!(anonymous.lead_id, None);
    store.finish_call(anonymous.id, &missed(NOW + 70_000)).unwrap();
    let talked = store.start_call(&inbound("+14155550100", NOW + 120_000)).unwrap();
    store.answer_call(talked.id, NOW + 125_000).unwrap();
    let talked = store
        .finish_call(
            talked.id,
            &CallFinish {
                state: LoggedCallState::Completed,
                ended_at_ms: NOW + 185_000,
                hangup_cause: Some("NORMAL_CLEARING".into()),
                sip_code: None,
            },
        )
        .unwrap();
    assert_eq!(talked.duration_ms, Some(60_000));

    let again = store.finish_call(talked.id, &missed(NOW + 200_000)).unwrap_err();
    assert!(matches!(again, StoreError::Conflict(_)), "{again:?}");

    let recent = store.recent_calls(Page::first(10)).unwrap();
    assert_eq!(recent.iter().map(|c| c.id).collect::<Vec<_>>(), [talked.id, anonymous.id, first.id]);
    assert_eq!(store.recent_calls(Page { limit: 2, offset: 2 }).unwrap()[0].id, first.id);
    assert_eq!(store.calls_of_lead(ann.id, Page::first(10)).unwrap().len(), 2);
    assert_eq!(store.missed_calls(Page::first(10)).unwrap().len(), 2);
    assert_eq!(store.unseen_missed_count().unwrap(), 2);
    assert_eq!(store.mark_missed_seen(NOW + 300_000).unwrap(), 2);
    assert_eq!(store.unseen_missed_count().unwrap(), 0);

    // A disposition on the call becomes the lead's last disposition.
    store.set_call_disposition(talked.id, Some(&Disposition::Callback), "Call back Monday", NOW).unwrap();
    assert_eq!(store.lead(ann.id).unwrap().last_disposition, Some(Disposition::Callback));
    assert_eq!(store.call(talked.id).unwrap().note, "Call back Monday");
}

#[test]
fn leads_crud_keeps_search_in_sync() {
    let db = Db::new();
    let store = db.open();
    let ann = store.create_lead(&lead("Ann Lee", "Acme", "+14155550100"), NOW).unwrap();
    let duplicate = store.create_lead(&lead("Other", "", "+14155550100"), NOW).unwrap_err();
    assert!(matches!(duplicate, StoreError::Conflict(_)), "{duplicate:?}");

    let noted = store.update_notes(ann.id, "  Prefers mornings ", NOW + 1).unwrap();
    assert_eq!(noted.notes, "Prefers mornings");
    assert_eq!(noted.updated_at_ms, NOW + 1);
    assert_eq!(names(&store.search_leads("morn", Page::first(10)).unwrap()), ["Ann Lee"]);

    let mut fields = lead("Ann Lee-Smith", "Acme Corp", "+442079460958");
    fields.tags = vec!["vip".into(), "VIP".into(), "emea".into()];
    let updated = store.update_lead(ann.id, &fields, NOW + 2).unwrap();
    assert_eq!(updated.tags, ["vip", "emea"]);
    assert_eq!(updated.created_at_ms, NOW);
    assert!(store.search_leads("morn", Page::first(10)).unwrap().is_empty(), "old notes unindexed");
    assert_eq!(names(&store.search_leads("2079", Page::first(10)).unwrap()), ["Ann Lee-Smith"]);
    assert!(store.search_leads("415555", Page::first(10)).unwrap().is_empty(), "old number unindexed");
    assert_eq!(names(&store.search_leads("emea", Page::first(10)).unwrap()), ["Ann Lee-Smith"]);

    let set = store.set_lead_disposition(ann.id, Some(&Disposition::VoicemailLeft), NOW + 3).unwrap();
    assert_eq!(set.last_disposition, Some(Disposition::VoicemailLeft));
    let brochure = CustomDisposition::new("Sent brochure").unwrap();
    let unknown = store.set_lead_disposition(ann.id, Some(&Disposition::Custom(brochure.clone())), NOW).unwrap_err();
    assert!(matches!(unknown, StoreError::NotFound(Entity::Disposition)), "{unknown:?}");
    store.add_custom_disposition(&brochure, NOW).unwrap();
    store.add_custom_disposition(&brochure, NOW).unwrap();
    assert_eq!(store.custom_dispositions().unwrap(), [Disposition::Custom(brochure.clone())]);
    let custom = store.set_lead_disposition(ann.id, Some(&Disposition::Custom(brochure)), NOW).unwrap();
    assert_eq!(custom.last_disposition.unwrap().label(), "Sent brochure");

    store.delete_lead(ann.id).unwrap();
    assert!(matches!(store.lead(ann.id), Err(StoreError::NotFound(Entity::Lead))));
    assert!(store.search_leads("ann", Page::first(10)).unwrap().is_empty());
    assert!(matches!(store.delete_lead(ann.id), Err(StoreError::NotFound(Entity::Lead))));
}

#[test]
fn search_finds_prefixes_phone_digits_and_survives_any_input() {
    let db = Db::new();
    let store = db.open();
    store.create_lead(&lead("Jane Smith", "Globex", "+14155550100"), NOW).unwrap();
    store.create_lead(&lead("John Smithers", "Initech", "+12125550199"), NOW).unwrap();
    store.create_lead(&lead("Zoë Müller", "Smithfield Foods", "+4930901820"), NOW).unwrap();
    let find = |q: &str| {
        let mut found =
            names(&store.search_leads(q, Page::first(10)).unwrap()).into_iter().map(str::to_owned).collect::<Vec<_>>();
        found.sort();
        found
    };
    assert_eq!(find("smi"), ["Jane Smith", "John Smithers", "Zoë Müller"]);
    let ranked = store.search_leads("smith", Page::first(3)).unwrap();
    assert_eq!(names(&ranked)[2], "Zoë Müller", "name matches rank above a company match");
    assert_eq!(find("jane smi"), ["Jane Smith"]);
    assert_eq!(find("415555"), ["Jane Smith"], "national digits");
    assert_eq!(find("1415"), ["Jane Smith"], "E.164 digits");
    assert_eq!(find("(212) 555-01"), ["John Smithers"]);
    assert_eq!(find("+49 30"), ["Zoë Müller"]);
    assert_eq!(find("030 9018"), ["Zoë Müller"], "trunk prefix");
    assert_eq!(find("muller"), ["Zoë Müller"], "diacritics folded");
    assert_eq!(find("glo"), ["Jane Smith"]);
    assert_eq!(find("jane.smith@ex"), ["Jane Smith"]);
    assert_eq!(find("francisco"), ["Jane Smith", "John Smithers", "Zoë Müller"]);
    assert!(find("nobody").is_empty());
    assert_eq!(find("").len(), 3, "blank lists everyone");

    let weird = [
        "\"",
        "\"\"",
        "smi\"th",
        "*",
        "smi*",
        "-smith",
        "smith OR",
        "AND",
        "OR OR",
        "NOT smith",
        "NEAR(smith jane)",
        "name:smith",
        "^smith",
        "(",
        ")",
        "{name}: x",
        "'; DROP TABLE leads; --",
        "\\",
        "%",
        "_",
        "\u{0}",
        "🙂",
        "a\"b\"c*d",
        "+",
        "++1",
        "...",
        "NEAR/3",
    ];
    for input in weird {
        store.search_leads(input, Page::first(10)).unwrap_or_else(|e| panic!("{input:?} failed: {e}"));
    }
    assert_eq!(find("\"jane\" smi*"), ["Jane Smith"], "quotes and stars are separators");
    assert!(find("smith OR nobody").is_empty(), "OR is a word to match, not an operator");
    assert_eq!(store.lead_count().unwrap(), 3);
}

#[test]
fn search_pages_do_not_overlap() {
    let db = Db::new();
    let store = db.open();
    for i in 0..120 {
        let number = format!("+1415555{:04}", 1000 + i);
        store.create_lead(&lead(&format!("Smith {i:03}"), "", &number), NOW).unwrap();
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut page = Page::first(50);
    let mut sizes = Vec::new();
    loop {
        let leads = store.search_leads("smi", page).unwrap();
        if leads.is_empty() {
            break;
        }
        sizes.push(leads.len());
        for lead in leads {
            assert!(seen.insert(lead.id), "{:?} on two pages", lead.id);
        }
        page = page.next();
    }
    assert_eq!(sizes, [50, 50, 20]);
    let all = store.search_leads("", Page { limit: 5, offset: 10 }).unwrap();
    assert_eq!(names(&all), ["Smith 010", "Smith 011", "Smith 012", "Smith 013", "Smith 014"]);
}

#[test]
fn caller_lookup_prefers_the_exact_number_then_the_national_one() {
    let db = Db::new();
    let store = db.open();
    let us = store.create_lead(&lead("Ann Lee", "", "+14155550100"), NOW).unwrap();
    // A UK number whose national digits also look like a San Francisco number's.
    let uk = store.create_lead(&lead("Bob Ray", "", "+442079460958"), NOW).unwrap();

    assert_eq!(store.find_caller(&phone("+14155550100")).unwrap().map(|l| l.id), Some(us.id));
    assert_eq!(store.find_caller(&phone("+442079460958")).unwrap().map(|l| l.id), Some(uk.id));
    // No exact match: the same national digits under another country code (a number imported
    // with the wrong default region, or a carrier presenting it oddly) still pops the lead.
    let maine = phone("+12079460958");
    assert_eq!(maine.national_digits(), "2079460958");
    assert_eq!(store.find_caller(&maine).unwrap().map(|l| l.id), Some(uk.id));
    // An exact match wins over a national one.
    let exact = store.create_lead(&lead("Cy Wu", "", "+12079460958"), NOW).unwrap();
    assert_eq!(store.find_caller(&maine).unwrap().map(|l| l.id), Some(exact.id));
    assert_eq!(store.find_caller(&phone("+33123456789")).unwrap(), None);
}

#[test]
fn csv_import_maps_headers_rejects_bad_rows_and_merges_duplicates() {
    let db = Db::new();
    let mut store = db.open();
    let existing = store
        .create_lead(
            &LeadFields {
                notes: "Met at the fair".into(),
                tags: vec!["fair".into()],
                company: String::new(),
                ..lead("Ann Lee", "", "+14155550100")
            },
            NOW - 1000,
        )
        .unwrap();
    let csv = "\
First Name,Last Name,Organization,Phone Number,E-mail,Town,Notes,Tags
Bob,Ray,Initech,(212) 555-0199,bob@initech.example,New York,Wants a demo,hot;vip
Cy,Wu,Globex,not a number,cy@globex.example,Boston,,
Dee,Park,Hooli,,dee@hooli.example,Palo Alto,,
Ann,Lee,Acme,415.555.0100,ann@acme.example,San Francisco,Asked for pricing,vip
Eve,Stone,\"Stone, Inc.\",+44 20 7946 0958,eve@stone.example,London,\"Multi
line note\",emea
broken,row
Bob,Ray,Initech,+1 212 555 0199,,,Second call,VIP
";
    let path = db.write_csv("leads.csv", csv);
    let mut progress = Vec::new();
    let report = store.import_leads_csv(&path, Region::US, NOW, |p| progress.push(p)).unwrap();
    assert_eq!(report.inserted, 2, "{report:?}");
    assert_eq!(report.merged, 2, "Ann with the stored lead, Bob with his earlier row");
    let rejected: Vec<(u64, &str)> = report.rejected.iter().map(|r| (r.line, r.reason.as_str())).collect();
    assert_eq!(rejected.len(), 3, "{rejected:?}");
    assert_eq!(rejected[0].0, 3);
    assert!(rejected[0].1.starts_with("Bad phone number \"not a number\""), "{}", rejected[0].1);
    assert_eq!(rejected[1], (4, "The row has no phone number."));
    assert_eq!(rejected[2].0, 8, "the multi-line row counts its lines");
    assert!(rejected[2].1.starts_with("Malformed CSV row"), "{}", rejected[2].1);

    let last = progress.last().unwrap();
    assert_eq!(last.rows_done, 7);
    assert_eq!(last.bytes_total, Some(csv.len() as u64));
    assert_eq!(last.bytes_read, csv.len() as u64);

    let ann = store.lead(existing.id).unwrap();
    assert_eq!(ann.name, "Ann Lee");
    assert_eq!(ann.company, "Acme", "empty field filled");
    assert_eq!(ann.email, "ann.lee@example.com", "known field kept");
    assert_eq!(ann.notes, "Met at the fair\nAsked for pricing");
    assert_eq!(ann.tags, ["fair", "vip"]);
    assert_eq!(ann.created_at_ms, NOW - 1000);
    assert_eq!(ann.updated_at_ms, NOW);

    let bob = store.find_caller(&phone("+12125550199")).unwrap().unwrap();
    assert_eq!(bob.name, "Bob Ray");
    assert_eq!(bob.email, "bob@initech.example");
    assert_eq!(bob.notes, "Wants a demo\nSecond call");
    assert_eq!(bob.tags, ["hot", "vip"]);
    let eve = store.find_caller(&phone("+442079460958")).unwrap().unwrap();
    assert_eq!(eve.company, "Stone, Inc.");
    assert_eq!(eve.notes, "Multi\nline note");
    assert_eq!(names(&store.search_leads("initech", Page::first(10)).unwrap()), ["Bob Ray"]);
    assert_eq!(names(&store.search_leads("pricing", Page::first(10)).unwrap()), ["Ann Lee"]);
    assert!(store.search_leads("fair", Page::first(10)).unwrap().len() == 1);
    assert_eq!(store.lead_count().unwrap(), 3);

    // Importing the same file again creates nothing and changes nothing.
    let again = import(&mut store, &path);
    assert_eq!((again.inserted, again.merged, again.rejected.len()), (0, 4, 3));
    assert_eq!(store.lead(existing.id).unwrap().notes, "Met at the fair\nAsked for pricing");
}

#[test]
fn csv_header_variants_are_recognised() {
    let cases = [
        "Name,Company,Phone,Email,City\nAnn Lee,Acme,4155550100,ann@acme.example,Oslo\n",
        "Full Name,Account,Mobile,Email Address,Town\nAnn Lee,Acme,4155550100,ann@acme.example,Oslo\n",
        "full_name;x\n",
        "\u{feff}Contact,Organisation,Tel,E-Mail,City\nAnn Lee,Acme,+1 415 555 0100,ann@acme.example,Oslo\n",
    ];
    for (index, csv) in cases.iter().enumerate() {
        let db = Db::new();
        let mut store = db.open();
        let path = db.write_csv("leads.csv", csv);
        let result = store.import_leads_csv(&path, Region::US, NOW, |_| {});
        if index == 2 {
            let error = result.unwrap_err();
            assert!(matches!(error, StoreError::InvalidInput(_)), "{error:?}");
            continue;
        }
        let report = result.unwrap_or_else(|e| panic!("case {index}: {e}"));
        assert_eq!(report.inserted, 1, "case {index}: {report:?}");
        let ann = store.find_caller(&phone("+14155550100")).unwrap().unwrap();
        assert_eq!(
            (ann.name.as_str(), ann.company.as_str(), ann.email.as_str(), ann.city.as_str()),
            ("Ann Lee", "Acme", "ann@acme.example", "Oslo"),
            "case {index}"
        );
    }
}

#[test]
fn a_lead_with_a_short_valid_number_is_listed_with_its_neighbours() {
    // Found by the phone_parse fuzz target: 7 digits in all is a valid Berlin number, and one
    // such lead used to make every page of the list it was on fail to load.
    let db = Db::new();
    let mut store = db.open();
    let csv = "Name,Phone\nKurz GmbH,+49 30 090\nAnn Lee,+1 415 555 0100\n";
    let report = store.import_leads_csv(&db.write_csv("leads.csv", csv), Region::DE, NOW, |_| {}).unwrap();
    assert_eq!(report.inserted, 2, "{report:?}");
    let listed = store.search_leads("", Page { limit: 10, offset: 0 }).expect("the list loads");
    let mut names: Vec<&str> = listed.iter().map(|lead| lead.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Ann Lee", "Kurz GmbH"]);
    let kurz = store.search_leads("Kurz", Page { limit: 10, offset: 0 }).unwrap();
    assert_eq!(kurz[0].phone.as_e164(), "+4930090");
}

/// Yields `limit` bytes of `inner`, then fails like a disk or network error would.
struct FailingReader<R> {
    inner: R,
    left: usize,
}

impl<R: Read> Read for FailingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Err(io::Error::other("device went away"));
        }
        let max = buf.len().min(self.left);
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n;
        Ok(n)
    }
}

#[test]
fn an_import_that_fails_midway_writes_nothing() {
    let db = Db::new();
    let mut store = db.open();
    let ann = store.create_lead(&lead("Ann Lee", "", "+14155550100"), NOW).unwrap();
    let mut csv = String::from("Name,Company,Phone\nAnn Lee,Acme,4155550100\n");
    for i in 0..20_000 {
        csv.push_str(&format!("Lead {i},Corp {i},+1415556{:04}\n", i % 10_000));
    }
    let input = FailingReader { inner: csv.as_bytes(), left: csv.len() * 3 / 4 };
    let mut progress_calls = 0;
    let error =
        store.import_leads(input, Some(csv.len() as u64), Region::US, NOW, |_| progress_calls += 1).unwrap_err();
    assert!(matches!(error, StoreError::Io { what: "the CSV file", .. }), "{error:?}");
    assert!(error.to_string().contains("device went away"), "{error}");
    assert!(progress_calls > 0, "the failure came after rows were written");
    assert_eq!(store.lead_count().unwrap(), 1);
    assert_eq!(store.lead(ann.id).unwrap().company, "", "the merge was rolled back too");
    assert!(store.search_leads("corp", Page::first(5)).unwrap().is_empty());

    // The store is usable afterwards, and the index still tracks normal writes.
    let fine = db.write_csv("fine.csv", "Phone,Name\n2125550199,Bob Ray\n");
    assert_eq!(import(&mut store, &fine).inserted, 1);
    store.create_lead(&lead("Cy Wu", "", "+12025550123"), NOW).unwrap();
    assert_eq!(names(&store.search_leads("bob", Page::first(5)).unwrap()), ["Bob Ray"]);
    assert_eq!(names(&store.search_leads("cy", Page::first(5)).unwrap()), ["Cy Wu"]);

    let missing = store.import_leads_csv(&db.path.with_file_name("nope.csv"), Region::US, NOW, |_| {});
    assert!(matches!(missing, Err(StoreError::Io { .. })), "{missing:?}");
}

#[test]
fn a_database_from_the_first_release_is_migrated_with_its_leads_searchable() {
    let db = Db::new();
    {
        // The schema and data as the first release wrote them.
        let mut conn = rusqlite::Connection::open(&db.path).unwrap();
        let first = rusqlite_migration::Migrations::new(vec![rusqlite_migration::M::up(include_str!(
            "../../../migrations/0001_init.sql"
        ))]);
        first.to_latest(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO leads (name, company, phone, phone_digits, national_digits, email, city, tags, notes,
                                created_at, updated_at)
             VALUES ('Jane Smith', 'Globex', '+14155550100', '14155550100', '4155550100', 'jane@globex.example',
                     'Oslo', 'vip', 'Prefers mornings', 1, 1),
                    ('Bob Ray', 'Initech', '+442079460958', '442079460958', '2079460958', '', '', '', '', 2, 2);",
        )
        .unwrap();
    }
    let store = db.open();
    assert_eq!(names(&store.search_leads("smi", Page::first(10)).unwrap()), ["Jane Smith"]);
    assert_eq!(names(&store.search_leads("morn", Page::first(10)).unwrap()), ["Jane Smith"]);
    assert_eq!(names(&store.search_leads("020 7946", Page::first(10)).unwrap()), ["Bob Ray"]);
    assert_eq!(names(&store.search_leads("1415", Page::first(10)).unwrap()), ["Jane Smith"]);
    // The rebuilt index follows later edits.
    let jane = store.search_leads("jane", Page::first(1)).unwrap().remove(0);
    store.update_notes(jane.id, "Call after lunch", 3).unwrap();
    assert!(store.search_leads("morn", Page::first(10)).unwrap().is_empty());
    assert_eq!(names(&store.search_leads("lunch", Page::first(10)).unwrap()), ["Jane Smith"]);
    assert_eq!(store.settings().unwrap(), softphone_store::Settings::default());
}

#[test]
fn number_search_lists_newest_first_whether_few_or_many_match() {
    let db = Db::new();
    let mut store = db.open();
    // 2,500 leads in 415 (more than the store gathers from its indexes) and 30 in 212.
    let mut csv = String::from("Name,Phone\n");
    for i in 0..2_500 {
        csv.push_str(&format!("Lead {i},+1415555{:04}\n", i));
    }
    for i in 0..30 {
        csv.push_str(&format!("Other {i},(212) 555-{:04}\n", i));
    }
    let path = db.write_csv("many.csv", &csv);
    assert_eq!(import(&mut store, &path).inserted, 2_530);
    for (query, expected_total) in [("415", 2_500), ("+1 415 555", 2_500), ("212", 30), ("41555512", 100)] {
        let mut seen = Vec::new();
        let mut page = Page::first(200);
        loop {
            let leads = store.search_leads(query, page).unwrap();
            if leads.is_empty() {
                break;
            }
            seen.extend(leads.iter().map(|lead| lead.id));
            page = page.next();
        }
        assert_eq!(seen.len(), expected_total, "{query}");
        assert!(seen.windows(2).all(|pair| pair[0] > pair[1]), "{query}: newest first, no repeats");
    }
    // A word of digits among words: the number or any word may match it.
    store.create_lead(&lead("Ann Lee", "", "+12125559999"), NOW).unwrap();
    assert_eq!(names(&store.search_leads("ann 212", Page::first(10)).unwrap()), ["Ann Lee"]);
    assert!(store.search_leads("ann 415", Page::first(10)).unwrap().is_empty());
    assert_eq!(names(&store.search_leads("lead 2499", Page::first(10)).unwrap()), ["Lead 2499"]);
}

#[test]
fn settings_survive_a_restart_and_unreadable_values_fall_back_to_defaults() {
    use softphone_store::{EngineChoice, Settings, WindowGeometry};
    let db = Db::new();
    let saved = Settings {
        default_region: Region::GB,
        engine: EngineChoice::Native,
        audio_input: Some("USB Headset Microphone".into()),
        audio_output: Some("USB Headset".into()),
        ringer_output: Some("Built-in Speakers".into()),
        ringtone: "chime".into(),
        do_not_disturb: true,
        window: Some(WindowGeometry { x: -1200, y: 40, width: 1100, height: 720, maximized: false }),
        calling_hours: softphone_core::dialing::CallingHours { start_minute: 9 * 60, end_minute: 20 * 60 + 30 },
        caller_numbers: vec!["+14155550142".into(), "+442079460000".into()],
        voicemail_greeting: Some("main-greeting".into()),
        start_at_login: Some(false),
        start_in_tray: true,
        keep_running_in_tray: false,
        told_about_tray: true,
        hold_music: false,
        hold_music_url: Some("https://example.com/hold.mp3".into()),
        record_calls: true,
        recording_announcement_url: Some("https://example.com/recorded.mp3".into()),
    };
    {
        let mut store = db.open();
        assert_eq!(store.settings().unwrap(), Settings::default(), "a new database has the defaults");
        store.save_settings(&saved).unwrap();
    }
    assert_eq!(db.open().settings().unwrap(), saved);

    // A newer version stored a key we do not know and an engine we do not have; an older one
    // never wrote the ringtone.
    {
        let conn = rusqlite::Connection::open(&db.path).unwrap();
        conn.execute_batch(
            "INSERT INTO settings (key, value) VALUES ('future_setting', '{\"x\":1}');
             UPDATE settings SET value = '\"quantum\"' WHERE key = 'engine';
             UPDATE settings SET value = 'not json' WHERE key = 'do_not_disturb';
             DELETE FROM settings WHERE key = 'ringtone';",
        )
        .unwrap();
    }
    let mut store = db.open();
    let read = store.settings().unwrap();
    assert_eq!(read.engine, EngineChoice::Automatic);
    assert!(!read.do_not_disturb);
    assert_eq!(read.ringtone, Settings::DEFAULT_RINGTONE);
    assert_eq!(read.default_region, Region::GB, "readable values are kept");
    assert_eq!(read.window, saved.window);
    store.save_settings(&read).unwrap();
    let conn = rusqlite::Connection::open(&db.path).unwrap();
    let future: String =
        conn.query_row("SELECT value FROM settings WHERE key = 'future_setting'", [], |r| r.get(0)).unwrap();
    assert_eq!(future, "{\"x\":1}", "a newer version's setting is left alone");

    let refused = store.save_settings(&Settings { audio_output: Some(" ".into()), ..Settings::default() }).unwrap_err();
    assert_eq!(refused.code(), "InvalidInput");
    assert!(refused.to_string().contains("audio output"), "{refused}");
    assert_eq!(store.settings().unwrap(), read, "a refused save changes nothing");
}

#[test]
fn the_call_log_filters_by_direction_missed_and_lead_with_paging() {
    use softphone_store::CallLogFilter;
    let db = Db::new();
    let store = db.open();
    let ann = store.create_lead(&lead("Ann Lee", "", "+14155550100"), NOW).unwrap();
    let bob = store.create_lead(&lead("Bob Ray", "", "+12125550199"), NOW).unwrap();
    let mut ids = Vec::new();
    // Ten calls, one minute apart: alternately Ann and Bob, inbound on even minutes; every
    // third inbound call is missed.
    for i in 0..10i64 {
        let at = NOW + i * 60_000;
        let inbound = i % 2 == 0;
        let call = store
            .start_call(&NewCall {
                direction: if inbound { Direction::Inbound } else { Direction::Outbound },
                remote_number: if i % 2 == 0 { "+14155550100".into() } else { "+12125550199".into() },
                lead_id: None,
                engine: CallEngine::Webview,
                started_at_ms: at,
            })
            .unwrap();
        let missed = inbound && i % 3 == 0;
        if !missed {
            store.answer_call(call.id, at + 1_000).unwrap();
        }
        let state = if missed { LoggedCallState::Missed } else { LoggedCallState::Completed };
        store
            .finish_call(call.id, &CallFinish { state, ended_at_ms: at + 30_000, hangup_cause: None, sip_code: None })
            .unwrap();
        ids.push(call.id);
    }
    let ids_of = |filter: CallLogFilter, page: Page| -> Vec<i64> {
        store.call_log(&filter, page).unwrap().iter().map(|c| c.id.0).collect()
    };
    let all = CallLogFilter::default();
    assert_eq!(ids_of(all, Page::first(3)), [ids[9].0, ids[8].0, ids[7].0]);
    assert_eq!(ids_of(all, Page { limit: 3, offset: 9 }), [ids[0].0]);
    let inbound = CallLogFilter { direction: Some(Direction::Inbound), ..all };
    assert_eq!(ids_of(inbound, Page::first(10)), [ids[8].0, ids[6].0, ids[4].0, ids[2].0, ids[0].0]);
    let outbound = CallLogFilter { direction: Some(Direction::Outbound), ..all };
    assert_eq!(ids_of(outbound, Page::first(10)).len(), 5);
    let missed = CallLogFilter { missed_only: true, ..all };
    assert_eq!(ids_of(missed, Page::first(10)), [ids[6].0, ids[0].0]);
    assert_eq!(ids_of(CallLogFilter { lead: Some(bob.id), ..all }, Page::first(10)).len(), 5);
    let ann_missed_inbound =
        CallLogFilter { direction: Some(Direction::Inbound), missed_only: true, lead: Some(ann.id) };
    assert_eq!(ids_of(ann_missed_inbound, Page::first(1)), [ids[6].0]);
    assert_eq!(ids_of(ann_missed_inbound, Page::first(1).next()), [ids[0].0]);
    assert!(ids_of(CallLogFilter { lead: Some(bob.id), missed_only: true, ..all }, Page::first(10)).is_empty());
    // The older functions are the same query.
    assert_eq!(store.missed_calls(Page::first(10)).unwrap(), store.call_log(&missed, Page::first(10)).unwrap());
}

#[test]
fn a_word_matching_many_leads_pages_newest_first_across_the_ranked_limit() {
    let db = Db::new();
    let mut store = db.open();
    let mut csv = String::from("Name,Phone\n");
    for i in 0..400 {
        csv.push_str(&format!("Smith {i},+1415556{i:04}\n"));
    }
    csv.push_str("Jones,+14155570000\n");
    assert_eq!(import(&mut store, &db.write_csv("smiths.csv", &csv)).inserted, 401);
    // More matches than are ranked: newest first, through the first 301 and beyond.
    for query in ["smi", "smith"] {
        let mut seen = Vec::new();
        let mut page = Page::first(70);
        loop {
            let leads = store.search_leads(query, page).unwrap();
            if leads.is_empty() {
                break;
            }
            assert!(leads.iter().all(|lead| lead.name.starts_with("Smith")), "{query}");
            seen.extend(leads.iter().map(|lead| lead.id));
            page = page.next();
        }
        assert_eq!(seen.len(), 400, "{query}");
        assert!(seen.windows(2).all(|pair| pair[0] > pair[1]), "{query}: newest first, no repeats");
    }
}

/// Leads above the size an import indexes in its own transaction, so the background indexer
/// builds their full-text index: `Lead {i}` at Corp {i % 7}, +1 415 556-0000 on; the oldest
/// lead's notes say "aardvark", the newest one's "zebra".
fn large_import_csv(leads: usize) -> String {
    let mut csv = String::from("Name,Company,Phone,Notes\n");
    for i in 0..leads {
        let notes = match i {
            0 => "aardvark",
            i if i == leads - 1 => "zebra",
            _ => "",
        };
        csv.push_str(&format!("Lead {i},Corp {},+1415{}{:04},{notes}\n", i % 7, 556 + i / 10_000, i % 10_000));
    }
    csv
}

const LARGE_IMPORT_LEADS: usize = 25_000;

/// Waits for the background indexer to finish (bounded: a stuck indexer fails the test).
fn wait_for_index(store: &Store) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let status = store.index_status().unwrap();
        assert_eq!(status.failure, None);
        if status.leads_pending == 0 {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "the index is still {} leads behind", status.leads_pending);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Fails unless the full-text index holds exactly what the leads table holds.
fn assert_index_matches_leads(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("INSERT INTO leads_fts (leads_fts) VALUES ('integrity-check')").unwrap();
    let pending: Option<i64> = conn.query_row("SELECT pending_from FROM fts_sync", [], |r| r.get(0)).unwrap();
    assert_eq!(pending, None);
}

#[test]
fn a_large_import_is_searchable_while_its_index_is_built_and_after() {
    let db = Db::new();
    let mut store = db.open();
    let ann = store.create_lead(&lead("Ann Lee", "Acme", "+12125550100"), NOW).unwrap();
    let path = db.write_csv("large.csv", &large_import_csv(LARGE_IMPORT_LEADS));
    // Held as the app holds it during a call: the import commits, the indexer waits.
    let paused = store.pause_indexing();
    let report = import(&mut store, &path);
    assert_eq!(report.inserted, LARGE_IMPORT_LEADS as u64);
    assert_eq!(store.index_status().unwrap().leads_pending, LARGE_IMPORT_LEADS as u64, "nothing indexed while paused");
    assert_eq!(store.lead_count().unwrap(), LARGE_IMPORT_LEADS as u64 + 1);
    let newest = store.search_leads("lead", Page::first(3)).unwrap();
    assert_eq!(names(&newest), ["Lead 24999", "Lead 24998", "Lead 24997"], "newest first while indexing");
    assert_eq!(names(&store.search_leads("zebra", Page::first(5)).unwrap()), ["Lead 24999"]);
    assert_eq!(names(&store.search_leads("aardv", Page::first(5)).unwrap()), ["Lead 0"]);
    assert_eq!(names(&store.search_leads("lead 24998", Page::first(5)).unwrap()), ["Lead 24998"]);
    assert_eq!(names(&store.search_leads("acme", Page::first(5)).unwrap()), ["Ann Lee"], "indexed before");
    let corp3 = |store: &Store| {
        let mut seen = Vec::new();
        let mut page = Page::first(500);
        loop {
            let leads = store.search_leads("corp 3", page).unwrap();
            if leads.is_empty() {
                return seen;
            }
            seen.extend(leads.iter().map(|lead| lead.id));
            page = page.next();
        }
    };
    let while_indexing = corp3(&store);
    // "3" is a word prefix: Corp 3, and Lead 3, Lead 30, Lead 300...
    let expected = (0..LARGE_IMPORT_LEADS).filter(|i| i % 7 == 3 || i.to_string().starts_with('3')).count();
    assert_eq!(while_indexing.len(), expected);
    assert!(while_indexing.windows(2).all(|pair| pair[0] > pair[1]), "newest first, no repeats across pages");
    let second_pause = store.pause_indexing();
    drop(paused);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(store.index_status().unwrap().leads_pending, LARGE_IMPORT_LEADS as u64, "paused while any guard lives");
    drop(second_pause);

    // Edits while the indexer runs land in the index whichever it reaches first.
    let zebra = store.search_leads("zebra", Page::first(1)).unwrap().remove(0);
    store.update_notes(zebra.id, "yak", NOW + 1).unwrap();
    let deleted = store.search_leads("lead 24990", Page::first(1)).unwrap().remove(0);
    store.delete_lead(deleted.id).unwrap();
    store.update_notes(ann.id, "walrus", NOW + 1).unwrap();

    wait_for_index(&store);
    assert_index_matches_leads(&db.path);
    assert!(store.search_leads("zebra", Page::first(5)).unwrap().is_empty());
    assert_eq!(names(&store.search_leads("yak", Page::first(5)).unwrap()), ["Lead 24999"]);
    assert!(store.search_leads("lead 24990", Page::first(5)).unwrap().is_empty());
    assert_eq!(names(&store.search_leads("walrus", Page::first(5)).unwrap()), ["Ann Lee"]);
    assert_eq!(corp3(&store), while_indexing, "the same leads once indexed");
}

/// The environment variable that makes [`child_imports_and_waits_to_be_killed`] run: the path
/// of the database to import into.
const KILL_TEST_DB: &str = "SOFTPHONE_STORE_KILL_TEST_DB";

/// What the child prints once its import has returned.
const IMPORT_COMMITTED: &str = "import committed";

/// Not a test on its own: the child process of
/// [`killed_while_indexing_the_next_open_completes_the_index`].
#[test]
#[ignore = "run by killed_while_indexing_the_next_open_completes_the_index"]
fn child_imports_and_waits_to_be_killed() {
    let Some(path) = std::env::var_os(KILL_TEST_DB) else {
        panic!("only run as the child of killed_while_indexing_the_next_open_completes_the_index");
    };
    let path = PathBuf::from(path);
    let mut store = Store::open(&path).unwrap();
    let csv = path.with_file_name("large.csv");
    std::fs::write(&csv, large_import_csv(LARGE_IMPORT_LEADS)).unwrap();
    // Killed before the indexer indexed a chunk, whatever the machine's speed.
    let _paused = store.pause_indexing();
    import(&mut store, &csv);
    // On a line of its own: libtest may have written "test ... " on the current one.
    println!("\n{IMPORT_COMMITTED}");
    std::io::Write::flush(&mut std::io::stdout()).unwrap();
    // Crash at once, as a kill would (a parent racing to kill us could lose to a fast indexer).
    std::process::abort();
}

#[test]
fn killed_while_indexing_the_next_open_completes_the_index() {
    use std::io::BufRead;
    let db = Db::new();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_imports_and_waits_to_be_killed", "--ignored", "--nocapture", "--test-threads=1"])
        .env(KILL_TEST_DB, &db.path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = io::BufReader::new(child.stdout.take().unwrap());
    let imported = stdout.lines().map_while(Result::ok).any(|line| line == IMPORT_COMMITTED);
    // The child aborts right after its import; should it hang instead, stop it here.
    let _ = child.kill();
    let status = child.wait().unwrap();
    assert!(imported, "the child never finished its import");
    assert!(!status.success(), "the child crashed instead of finishing: {status}");
    let pending: Option<i64> = rusqlite::Connection::open(&db.path)
        .unwrap()
        .query_row("SELECT pending_from FROM fts_sync", [], |r| r.get(0))
        .unwrap();
    assert_eq!(pending, Some(1), "the kill left the whole import to index");

    let store = db.open();
    assert_eq!(store.lead_count().unwrap(), LARGE_IMPORT_LEADS as u64, "the committed import survived");
    assert_eq!(names(&store.search_leads("zebra", Page::first(5)).unwrap()), ["Lead 24999"]);
    wait_for_index(&store);
    assert_index_matches_leads(&db.path);
    assert_eq!(names(&store.search_leads("zebra", Page::first(5)).unwrap()), ["Lead 24999"]);
    assert_eq!(names(&store.search_leads("aardvark", Page::first(5)).unwrap()), ["Lead 0"]);
    assert_eq!(names(&store.search_leads("lead 12345", Page::first(5)).unwrap()), ["Lead 12345"]);
    assert_eq!(store.search_leads("corp", Page::first(500)).unwrap().len(), 500);
}

#[test]
fn words_longer_than_the_indexed_prefixes_match_whole_word_prefixes_only() {
    let db = Db::new();
    let store = db.open();
    store.create_lead(&lead("Jane Williams", "Globex", "+14155550100"), NOW).unwrap();
    store.create_lead(&lead("John Williamson", "Initech", "+14155550101"), NOW).unwrap();
    store.create_lead(&lead("Will William", "Hooli", "+14155550102"), NOW).unwrap();
    store.create_lead(&lead("Ann Cafétéria", "Massive Dynamic", "+14155550103"), NOW).unwrap();
    let find = |q: &str| {
        let mut found =
            names(&store.search_leads(q, Page::first(10)).unwrap()).into_iter().map(str::to_owned).collect::<Vec<_>>();
        found.sort();
        found
    };
    assert_eq!(find("williams"), ["Jane Williams", "John Williamson"]);
    assert_eq!(find("WILLIAMSON"), ["John Williamson"]);
    assert_eq!(find("william"), ["Jane Williams", "John Williamson", "Will William"]);
    assert_eq!(find("cafeteria"), ["Ann Cafétéria"], "accents folded");
    assert_eq!(find("massive dyn"), ["Ann Cafétéria"]);
    assert_eq!(find("jane williams"), ["Jane Williams"]);
    assert!(find("williamsburg").is_empty());
}

#[test]
fn a_calls_recordings_are_kept_once_in_order_and_the_log_shows_their_length() {
    let db = Db::new();
    let store = db.open();
    let call = store
        .start_call(&NewCall {
            direction: Direction::Inbound,
            remote_number: "+14155550123".into(),
            lead_id: None,
            engine: CallEngine::Native,
            started_at_ms: NOW,
        })
        .unwrap();
    assert_eq!(store.call(call.id).unwrap().recorded_ms, None, "not recorded");
    assert!(store.add_call_recording(call.id, "rec-1", "recordings/1-1.wav", 12_000, NOW).unwrap());
    assert!(store.add_call_recording(call.id, "rec-2", "recordings/1-2.wav", 3_500, NOW).unwrap());
    assert!(!store.add_call_recording(call.id, "rec-1", "recordings/1-1.wav", 12_000, NOW).unwrap(), "kept once");
    assert_eq!(store.call(call.id).unwrap().recorded_ms, Some(15_500));
    assert_eq!(store.call_recording_files(call.id).unwrap(), ["recordings/1-1.wav", "recordings/1-2.wav"]);
    let unknown = store.add_call_recording(softphone_store::CallLogId(9_999), "rec-3", "x.wav", 1, NOW);
    assert!(matches!(unknown, Err(StoreError::NotFound(_))), "{unknown:?}");
}
