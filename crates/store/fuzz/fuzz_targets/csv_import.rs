//! Any bytes as a CSV import, into a real database file: the import never panics, and it is
//! all-or-nothing: when it fails (bad header, or the input breaks off with an I/O error) the
//! leads are exactly as before; when it succeeds its report adds up and every lead it wrote can
//! be read back and found by its number.
//!
//! Input: the first byte says where the input breaks off with an I/O error (0 = never, else
//! after that many 64-byte blocks), the rest is the file.
//!
//! Run: `cd crates/store/fuzz && mkdir -p corpus/csv_import && cargo +nightly fuzz run csv_import
//! corpus/csv_import seeds/csv_import -- -max_total_time=180` (new inputs go to corpus/).
#![no_main]

use std::io::{self, Read};
use std::sync::{LazyLock, Mutex};

use libfuzzer_sys::fuzz_target;
use softphone_core::phone::Region;
use softphone_store::{Page, Store};

/// One database for the whole run (opening one per input would dominate the time); emptied
/// when it grows.
static DATABASE: LazyLock<Mutex<(tempfile::TempDir, Store)>> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path().join("fuzz.sqlite3")).expect("opens");
    Mutex::new((dir, store))
});

/// Yields `left` bytes of the input, then fails like a disk would (`None`: never fails).
struct BreakingReader<'a> {
    data: &'a [u8],
    left: Option<usize>,
}

impl Read for BreakingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == Some(0) {
            return Err(io::Error::other("device went away"));
        }
        let n = buf.len().min(self.data.len()).min(self.left.unwrap_or(usize::MAX));
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        if let Some(left) = &mut self.left {
            *left -= n;
        }
        Ok(n)
    }
}

/// Every lead, in id order, as (id, phone, name, notes, tags): what an import could change.
fn snapshot(store: &Store) -> Vec<(i64, String, String, String, Vec<String>)> {
    let mut all = Vec::new();
    let mut page = Page::first(Page::MAX_LIMIT);
    loop {
        let leads = store.search_leads("", page).expect("lists");
        if leads.is_empty() {
            break;
        }
        all.extend(leads.into_iter().map(|l| (l.id.0, l.phone.as_e164().to_owned(), l.name, l.notes, l.tags)));
        page = page.next();
    }
    all.sort();
    all
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, file)) = data.split_first() else { return };
    let mut guard = DATABASE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let store = &mut guard.1;
    if store.lead_count().expect("counts") > 2_000 {
        for (id, ..) in snapshot(store) {
            store.delete_lead(softphone_store::LeadId(id)).expect("deletes");
        }
    }
    let before = snapshot(store);
    let input = BreakingReader { data: file, left: (cut != 0).then(|| usize::from(cut) * 64) };
    match store.import_leads(input, Some(file.len() as u64), Region::US, 1_790_000_000_000, |_| {}) {
        Err(error) => {
            assert!(!error.code().is_empty());
            assert_eq!(snapshot(store), before, "a failed import changed the leads: {error}");
        }
        Ok(report) => {
            let after = snapshot(store);
            assert_eq!(after.len(), before.len() + report.inserted as usize, "{report:?}");
            for (_, phone, ..) in after.iter().filter(|lead| !before.iter().any(|b| b.0 == lead.0)) {
                let number = softphone_core::phone::PhoneNumber::from_stored(phone).expect("stored shape");
                assert!(store.find_caller(&number).expect("looks up").is_some(), "{phone} not found");
            }
        }
    }
});
