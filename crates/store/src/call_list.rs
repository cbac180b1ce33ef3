//! The local lead table as a call list's source, and the dialing session kept across restarts.
//!
//! A lead's attempts and its latest attempt are its outbound calls in the call log, and `listed`
//! says its number is on the do-not-call list: kept on the lead by triggers (migration 0006), so
//! the list, the log and the do-not-call list never disagree, and a list reads them at no cost.
//! A list by tag reads its leads through the `lead_tags` index.

use rusqlite::{OptionalExtension, params};
use softphone_core::lead::LeadId;
use softphone_core::phone::PhoneNumber;
use softphone_dialer::{DialingSession, DoNotCallList, LeadDialState, LeadSource, ListFilter, ListLead};

use crate::Store;
use crate::error::StoreError;

/// The columns the rules and the filter need.
const LIST_COLUMNS: &str = "
    SELECT leads.id, leads.phone, leads.do_not_call, leads.time_zone, leads.callback_due_at, leads.tags,
           leads.city, leads.last_disposition, leads.attempts, leads.last_attempt_at, leads.listed
      FROM leads";

/// The SQL that keeps at least the leads `filter` holds (the list applies the filter exactly
/// afterwards). SQLite compares case-insensitively in ASCII only, so text with other letters is
/// left to the exact filter.
fn prefilter(filter: &ListFilter) -> (String, Vec<String>) {
    let mut clauses = Vec::new();
    let mut values = Vec::new();
    // `lead_tags` holds each tag trimmed and ASCII-lowercased: the filter's own comparison. One
    // tag (the usual list) is read by joining its index entries, in lead order and each lead
    // once; several go through `IN`, which holds a lead with two of them once.
    let mut from = String::new();
    match filter.tags.as_slice() {
        [] => {}
        [tag] => {
            from = " JOIN lead_tags ON lead_tags.lead_id = leads.id AND lead_tags.tag = ?".to_owned();
            values.push(tag.trim().to_ascii_lowercase());
        }
        tags => {
            let any = vec!["?"; tags.len()].join(", ");
            clauses.push(format!("leads.id IN (SELECT lead_id FROM lead_tags WHERE tag IN ({any}))"));
            values.extend(tags.iter().map(|tag| tag.trim().to_ascii_lowercase()));
        }
    }
    if let Some(city) = filter.city.as_deref().filter(|city| city.is_ascii()) {
        clauses.push("leads.city = ? COLLATE NOCASE".to_owned());
        values.push(city.trim().to_owned());
    }
    if filter.never_called {
        clauses.push("leads.attempts = 0".to_owned());
    }
    // No ORDER BY: the list orders its leads itself (`softphone_dialer::build`, the lead id last).
    let sql = if clauses.is_empty() {
        format!("{LIST_COLUMNS}{from}")
    } else {
        format!("{LIST_COLUMNS}{from} WHERE {}", clauses.join(" AND "))
    };
    (sql, values)
}

impl LeadSource for Store {
    type Error = StoreError;

    /// Every lead with what the rules need, whether its number is on the do-not-call list
    /// included (so build the list with [`softphone_dialer::ListedBySource`]); the list applies
    /// `filter` (the table is read once).
    fn leads(&mut self, filter: &ListFilter) -> Result<Vec<ListLead>, StoreError> {
        let (sql, values) = prefilter(filter);
        self.list_leads(&sql, rusqlite::params_from_iter(values))
    }
}

/// An unreadable list refuses: a number is dialled only when the list says it is not on it.
impl DoNotCallList for Store {
    fn lists(&self, number: &PhoneNumber) -> bool {
        self.is_on_do_not_call(number).unwrap_or(true)
    }
}

impl Store {
    /// One lead as a call list sees it.
    pub fn list_lead(&self, id: LeadId) -> Result<Option<ListLead>, StoreError> {
        Ok(self.list_leads(&format!("{LIST_COLUMNS} WHERE leads.id = ?1"), params![id.0])?.pop())
    }

    fn list_leads(&self, sql: &str, values: impl rusqlite::Params) -> Result<Vec<ListLead>, StoreError> {
        let mut statement = self.conn.prepare_cached(sql)?;
        // Text is read in place (`get_ref`): a list reads every lead it may hold, 200,000 rows
        // for a tag on a million leads, and each copy shows in the build time.
        let text = |row: &rusqlite::Row<'_>, index: usize| -> rusqlite::Result<String> {
            Ok(row.get_ref(index)?.as_str().map_err(rusqlite::Error::from)?.to_owned())
        };
        let rows = statement.query_map(values, |row| {
            let phone = PhoneNumber::from_stored(row.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?)
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e)))?;
            let time_zone = row.get_ref(3)?.as_str().map_err(rusqlite::Error::from)?;
            let attempts: i64 = row.get(8)?;
            Ok(ListLead {
                dial: LeadDialState {
                    lead_id: LeadId(row.get(0)?),
                    phone,
                    do_not_call: row.get(2)?,
                    listed: row.get(10)?,
                    time_zone: Some(time_zone).filter(|zone| !zone.is_empty()).map(str::to_owned),
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    last_attempt_ms: row.get(9)?,
                    callback_due_ms: row.get(4)?,
                },
                // Stored normalized (`", "`-joined, trimmed, each once): split, not normalized again.
                tags: row
                    .get_ref(5)?
                    .as_str()
                    .map_err(rusqlite::Error::from)?
                    .split(',')
                    .map(str::trim)
                    .filter(|tag| !tag.is_empty())
                    .map(str::to_owned)
                    .collect(),
                city: text(row, 6)?,
                last_disposition: row.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

impl Store {
    /// Keeps the dialing session in progress (replacing the one kept before).
    pub fn save_dialing_session(&self, session: &DialingSession) -> Result<(), StoreError> {
        let json = serde_json::to_string(session).map_err(|error| StoreError::invalid(error.to_string()))?;
        self.conn.execute(
            "INSERT INTO dialing_session (id, session) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET session = ?1",
            params![json],
        )?;
        Ok(())
    }

    /// The dialing session kept, if one is (as saved; [`DialingSession::resumed`] makes it ready
    /// to go on after a restart).
    pub fn dialing_session(&self) -> Result<Option<DialingSession>, StoreError> {
        let json: Option<String> =
            self.conn.query_row("SELECT session FROM dialing_session WHERE id = 1", [], |row| row.get(0)).optional()?;
        // A session the app can no longer read is dropped, not fatal: the list can be started again.
        Ok(json.and_then(|json| serde_json::from_str(&json).ok()))
    }

    /// Forgets the dialing session (it finished or the agent stopped it).
    pub fn clear_dialing_session(&self) -> Result<(), StoreError> {
        self.conn.execute("DELETE FROM dialing_session", [])?;
        Ok(())
    }
}

impl Store {
    /// Sets when to call a lead back (or, with `None`, forgets a callback that was made).
    pub fn set_lead_callback(
        &self,
        id: LeadId,
        due_at_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<softphone_core::lead::Lead, StoreError> {
        let changed = self.conn.execute(
            "UPDATE leads SET callback_due_at = ?2, updated_at = ?3 WHERE id = ?1",
            params![id.0, due_at_ms, now_ms],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound(crate::error::Entity::Lead));
        }
        self.lead(id)
    }
}

impl Store {
    /// The leads whose callback is due at `now_ms`, the earliest promise first.
    pub fn due_callbacks(&self, now_ms: i64) -> Result<Vec<softphone_core::lead::Lead>, StoreError> {
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT {} FROM leads WHERE callback_due_at <= ?1 ORDER BY callback_due_at, id",
            crate::lead::LEAD_COLUMNS
        ))?;
        let leads = statement.query_map(params![now_ms], crate::lead::lead_from_row)?;
        Ok(leads.collect::<Result<Vec<_>, _>>()?)
    }
}
