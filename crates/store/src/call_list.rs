//! The local lead table as a call list's source, and the dialing session kept across restarts.
//!
//! A lead's attempts and its latest attempt are its outbound calls in the call log, counted here,
//! so the list and the log never disagree.

use rusqlite::{OptionalExtension, params};
use softphone_core::lead::LeadId;
use softphone_core::phone::PhoneNumber;
use softphone_dialer::{DialingSession, DoNotCallList, LeadDialState, LeadSource, ListFilter, ListLead};

use crate::Store;
use crate::error::StoreError;
use crate::lead::split_tags;

const LIST_LEADS: &str = "
    SELECT leads.id, leads.phone, leads.do_not_call, leads.time_zone, leads.callback_due_at, leads.tags,
           leads.city, leads.last_disposition, count(calls.id), max(calls.started_at)
      FROM leads
      LEFT JOIN calls ON calls.lead_id = leads.id AND calls.direction = 'outbound'
     WHERE ?1 IS NULL OR leads.id = ?1
     GROUP BY leads.id
     ORDER BY leads.id";

impl LeadSource for Store {
    type Error = StoreError;

    /// Every lead with what the rules need; the list applies `filter` (the table is read once).
    fn leads(&mut self, _filter: &ListFilter) -> Result<Vec<ListLead>, StoreError> {
        self.list_leads(None)
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
        Ok(self.list_leads(Some(id))?.pop())
    }

    fn list_leads(&self, only: Option<LeadId>) -> Result<Vec<ListLead>, StoreError> {
        let mut statement = self.conn.prepare_cached(LIST_LEADS)?;
        let rows = statement.query_map(params![only.map(|id| id.0)], |row| {
            let phone: String = row.get(1)?;
            let phone = PhoneNumber::from_stored(&phone)
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e)))?;
            let time_zone: String = row.get(3)?;
            let attempts: i64 = row.get(8)?;
            Ok(ListLead {
                dial: LeadDialState {
                    lead_id: LeadId(row.get(0)?),
                    phone,
                    do_not_call: row.get(2)?,
                    time_zone: Some(time_zone).filter(|zone| !zone.is_empty()),
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    last_attempt_ms: row.get(9)?,
                    callback_due_ms: row.get(4)?,
                },
                tags: split_tags(&row.get::<_, String>(5)?),
                city: row.get(6)?,
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
