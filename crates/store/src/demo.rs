//! Demo mode's sample leads, written into an empty lead table.

use softphone_core::demo_leads::demo_leads;

use crate::Store;
use crate::error::StoreError;
use crate::lead::INSERT_LEAD;

impl Store {
    /// Seeds the sample leads of [`softphone_core::demo_leads`] when there are no leads at all,
    /// in one transaction. Returns how many were written: 0 when the table had leads, so an
    /// agent's own leads are never mixed with samples and a restart seeds nothing twice.
    pub fn seed_demo_leads(&self, now_ms: i64) -> Result<u64, StoreError> {
        if self.lead_count()? > 0 {
            return Ok(0);
        }
        // One transaction and one cached statement; nothing is read back.
        let transaction = self.conn.unchecked_transaction()?;
        let mut written = 0;
        for fields in demo_leads() {
            self.write_lead(INSERT_LEAD, None, &fields, now_ms)?;
            written += 1;
        }
        transaction.commit()?;
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use softphone_core::demo_leads::{DEMO_LEAD_COUNT, DIRECTORY_NUMBERS};
    use softphone_core::lead::{LeadFields, Page};
    use softphone_core::phone::PhoneNumber;

    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path().join("demo.sqlite3")).expect("opens");
        (dir, store)
    }

    #[test]
    fn an_empty_table_gets_the_sample_once_and_callers_are_matched() {
        let (_dir, store) = store();
        assert_eq!(store.seed_demo_leads(1_000).expect("seeds"), DEMO_LEAD_COUNT as u64);
        assert_eq!(store.seed_demo_leads(2_000).expect("second start"), 0, "never seeded twice");
        assert_eq!(store.lead_count().expect("count"), DEMO_LEAD_COUNT as u64);
        let tone = PhoneNumber::from_stored(DIRECTORY_NUMBERS[0].0).expect("E.164");
        assert!(store.find_caller(&tone).expect("lookup").is_some(), "the tone number is a lead");
        let first = demo_leads().remove(0);
        let prefix: String = first.name.chars().take(4).collect();
        let found = store.search_leads(&prefix, Page::first(50)).expect("search");
        assert!(found.iter().any(|lead| lead.name == first.name), "{prefix} finds {}", first.name);
        assert!(found.len() < DEMO_LEAD_COUNT, "a prefix narrows the list");
    }

    #[test]
    fn an_agents_own_leads_are_never_mixed_with_samples() {
        let (_dir, store) = store();
        let phone = PhoneNumber::from_e164("+14155550142").expect("valid");
        store.create_lead(&LeadFields::with_phone(phone), 1_000).expect("own lead");
        assert_eq!(store.seed_demo_leads(2_000).expect("no-op"), 0);
        assert_eq!(store.lead_count().expect("count"), 1);
    }
}
