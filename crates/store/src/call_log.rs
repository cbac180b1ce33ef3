//! The call log: one row per call, written when the call starts and finalised when it ends, so
//! a crash mid-call leaves a row that the next start closes as `interrupted`.

use rusqlite::{Connection, OptionalExtension, Row, params};
use softphone_core::disposition::Disposition;
use softphone_core::phone::PhoneNumber;

use crate::Store;
use crate::error::{Entity, StoreError};
use crate::lead::{LeadId, Page, sql_limit, sql_offset};

pub use softphone_core::call::Direction;
pub use softphone_core::call_log::{CallEngine, CallLogEntry, CallLogFilter, CallLogId, LoggedCallState};

/// What is known when a call starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCall {
    pub direction: Direction,
    /// E.164 when the number is known, else the caller ID as presented (e.g. `anonymous`).
    pub remote_number: String,
    /// The lead, if the caller already knows it; else the store looks the number up with
    /// [`Store::find_caller`].
    pub lead_id: Option<LeadId>,
    pub engine: CallEngine,
    /// Unix milliseconds.
    pub started_at_ms: i64,
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFinish {
    /// `Completed`, `Missed` or `Failed`; the other states are not endings a caller reports.
    pub state: LoggedCallState,
    /// Unix milliseconds; at or after the start.
    pub ended_at_ms: i64,
    /// e.g. `NORMAL_CLEARING`, `USER_BUSY`.
    pub hangup_cause: Option<String>,
    /// The final SIP response code, e.g. 486.
    pub sip_code: Option<u16>,
}

const CALL_COLUMNS: &str = "id, direction, remote_number, lead_id, engine, started_at, answered_at, \
     ended_at, duration_ms, state, hangup_cause, sip_code, disposition, note, transferred_to, \
     (SELECT sum(duration_ms) FROM call_recordings WHERE call_recordings.call_id = calls.id)";

fn conversion_error(column: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, message.into())
}

fn call_from_row(row: &Row<'_>) -> rusqlite::Result<CallLogEntry> {
    let direction: String = row.get(1)?;
    let engine: String = row.get(4)?;
    let state: String = row.get(9)?;
    let disposition: Option<String> = row.get(12)?;
    Ok(CallLogEntry {
        id: CallLogId(row.get(0)?),
        direction: Direction::from_stored(&direction)
            .ok_or_else(|| conversion_error(1, format!("unknown direction {direction}")))?,
        remote_number: row.get(2)?,
        lead_id: row.get::<_, Option<i64>>(3)?.map(LeadId),
        engine: CallEngine::from_stored(&engine)
            .ok_or_else(|| conversion_error(4, format!("unknown engine {engine}")))?,
        started_at_ms: row.get(5)?,
        answered_at_ms: row.get(6)?,
        ended_at_ms: row.get(7)?,
        duration_ms: row.get(8)?,
        state: LoggedCallState::from_stored(&state)
            .ok_or_else(|| conversion_error(9, format!("unknown state {state}")))?,
        hangup_cause: row.get(10)?,
        sip_code: row.get(11)?,
        disposition: disposition
            .map(|code| Disposition::from_code(&code))
            .transpose()
            .map_err(|e| conversion_error(12, e.to_string()))?,
        note: row.get(13)?,
        transferred_to: row.get(14)?,
        recorded_ms: row.get(15)?,
    })
}

/// Closes calls left `in_progress` by a run that stopped mid-call; returns how many.
/// `ended_at` becomes the last known time (answer, else start); the duration stays unknown.
pub(crate) fn close_interrupted(conn: &Connection) -> Result<usize, StoreError> {
    Ok(conn.execute(
        "UPDATE calls SET state = 'interrupted',
                          ended_at = coalesce(answered_at, started_at),
                          duration_ms = NULL
         WHERE state = 'in_progress'",
        [],
    )?)
}

impl Store {
    /// Writes the call's row as it starts (state `in_progress`). Links it to `call.lead_id`, or
    /// to the lead [`Store::find_caller`] finds for an E.164 `remote_number`.
    pub fn start_call(&self, call: &NewCall) -> Result<CallLogEntry, StoreError> {
        let lead_id = match call.lead_id {
            Some(id) => Some(id),
            // Caller ID is matched by shape: a fictional or newly allocated range still pops its lead.
            None => match PhoneNumber::from_e164(&call.remote_number)
                .or_else(|_| PhoneNumber::from_stored(call.remote_number.trim()))
            {
                Ok(number) => self.find_caller(&number)?.map(|lead| lead.id),
                Err(_) => None,
            },
        };
        let result = self.conn.execute(
            "INSERT INTO calls (direction, remote_number, lead_id, engine, started_at, state, uuid)
             VALUES (?1, ?2, ?3, ?4, ?5, 'in_progress', ?6)",
            params![
                call.direction.as_str(),
                call.remote_number.trim(),
                lead_id.map(|id| id.0),
                call.engine.as_str(),
                call.started_at_ms,
                // The call's global id: the team database's (a call sent twice lands once).
                uuid::Uuid::new_v4().to_string(),
            ],
        );
        match result {
            Ok(_) => self.call(CallLogId(self.conn.last_insert_rowid())),
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
            {
                Err(StoreError::NotFound(Entity::Lead))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Records the moment the call was answered, so an interrupted call still shows it.
    pub fn answer_call(&self, id: CallLogId, answered_at_ms: i64) -> Result<CallLogEntry, StoreError> {
        let changed = self.conn.execute(
            "UPDATE calls SET answered_at = ?2 WHERE id = ?1 AND state = 'in_progress'",
            params![id.0, answered_at_ms],
        )?;
        if changed == 0 {
            return Err(self.not_in_progress(id));
        }
        self.call(id)
    }

    /// Finalises an `in_progress` call: state, end time, cause, and the talk time (end minus
    /// answer, 0 if never answered).
    pub fn finish_call(&self, id: CallLogId, finish: &CallFinish) -> Result<CallLogEntry, StoreError> {
        if !matches!(finish.state, LoggedCallState::Completed | LoggedCallState::Missed | LoggedCallState::Failed) {
            return Err(StoreError::invalid("A call can only be finished as completed, missed or failed."));
        }
        let changed = self.conn.execute(
            "UPDATE calls SET state = ?2, ended_at = max(?3, started_at),
                              duration_ms = CASE WHEN answered_at IS NULL THEN 0
                                                 ELSE max(?3 - answered_at, 0) END,
                              hangup_cause = ?4, sip_code = ?5
             WHERE id = ?1 AND state = 'in_progress'",
            params![id.0, finish.state.as_str(), finish.ended_at_ms, finish.hangup_cause.as_deref(), finish.sip_code,],
        )?;
        if changed == 0 {
            return Err(self.not_in_progress(id));
        }
        self.call(id)
    }

    /// Keeps a recording Telnyx made of the call: its id (a recording is kept once; `false` when
    /// it was already), the file (relative to the data folder) and its length.
    pub fn add_call_recording(
        &self,
        id: CallLogId,
        telnyx_id: &str,
        file: &str,
        duration_ms: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let added = self.conn.execute(
            "INSERT INTO call_recordings (call_id, telnyx_id, file, duration_ms, created_at)
             SELECT ?1, ?2, ?3, max(?4, 0), ?5 WHERE EXISTS (SELECT 1 FROM calls WHERE id = ?1)
             ON CONFLICT (telnyx_id) DO NOTHING",
            params![id.0, telnyx_id, file, duration_ms, now_ms],
        )?;
        if added == 0
            && !self
                .conn
                .query_row("SELECT EXISTS (SELECT 1 FROM calls WHERE id = ?1)", [id.0], |row| row.get::<_, bool>(0))?
        {
            return Err(StoreError::NotFound(Entity::Call));
        }
        Ok(added == 1)
    }

    /// The files of a call's recordings, in the order they were made.
    pub fn call_recording_files(&self, id: CallLogId) -> Result<Vec<String>, StoreError> {
        let mut statement =
            self.conn.prepare_cached("SELECT file FROM call_recordings WHERE call_id = ?1 ORDER BY id")?;
        let files = statement.query_map([id.0], |row| row.get(0))?.collect::<Result<Vec<String>, _>>()?;
        Ok(files)
    }

    /// Notes that the agent handed the call on to `to` (a transfer); the call log shows it.
    pub fn mark_transferred(&self, id: CallLogId, to: &str) -> Result<(), StoreError> {
        let to: String = to.chars().filter(|c| !c.is_control()).take(256).collect();
        let changed = self.conn.execute("UPDATE calls SET transferred_to = ?2 WHERE id = ?1", params![id.0, to])?;
        if changed == 0 {
            return Err(StoreError::invalid("That call is not in the call log."));
        }
        Ok(())
    }

    /// Records the agent's disposition and note for a call; also becomes the linked lead's last
    /// disposition. A custom disposition must exist ([`Store::add_custom_disposition`]).
    pub fn set_call_disposition(
        &mut self,
        id: CallLogId,
        disposition: Option<&Disposition>,
        note: &str,
        now_ms: i64,
    ) -> Result<CallLogEntry, StoreError> {
        if let Some(disposition) = disposition {
            self.ensure_disposition_exists(disposition)?;
        }
        let tx = self.conn.transaction()?;
        let lead_id: Option<Option<i64>> =
            tx.query_row("SELECT lead_id FROM calls WHERE id = ?1", [id.0], |row| row.get(0)).optional()?;
        let Some(lead_id) = lead_id else {
            return Err(StoreError::NotFound(Entity::Call));
        };
        let code = disposition.map(Disposition::code);
        tx.execute(
            "UPDATE calls SET disposition = ?2, note = ?3,
                 disposition_at = CASE WHEN disposition IS ?2 AND note = ?3 THEN disposition_at ELSE ?4 END
             WHERE id = ?1",
            params![id.0, code, note.trim(), now_ms],
        )?;
        if let (Some(lead_id), Some(code)) = (lead_id, code) {
            tx.execute(
                "UPDATE leads SET last_disposition = ?2, updated_at = ?3 WHERE id = ?1",
                params![lead_id, code, now_ms],
            )?;
        }
        tx.commit()?;
        self.call(id)
    }

    /// One call-log entry.
    pub fn call(&self, id: CallLogId) -> Result<CallLogEntry, StoreError> {
        self.conn
            .prepare_cached(&format!("SELECT {CALL_COLUMNS} FROM calls WHERE id = ?1"))?
            .query_row([id.0], call_from_row)
            .optional()?
            .ok_or(StoreError::NotFound(Entity::Call))
    }

    /// The calls `filter` selects, newest first: one query, every condition in SQL.
    pub fn call_log(&self, filter: &CallLogFilter, page: Page) -> Result<Vec<CallLogEntry>, StoreError> {
        // Only the conditions set appear in the statement, so SQLite can pick the index that
        // fits (calls_lead for a lead's calls, calls_started_at otherwise); each of the eight
        // shapes is prepared once and cached.
        let (limit, offset) = (sql_limit(page), sql_offset(page));
        let direction = filter.direction.map(Direction::as_str);
        let lead = filter.lead.map(|lead| lead.0);
        let mut conditions = vec!["1".to_owned()];
        let mut bound: Vec<&dyn rusqlite::ToSql> = vec![&limit, &offset];
        if let Some(direction) = &direction {
            bound.push(direction);
            conditions.push(format!("direction = ?{}", bound.len()));
        }
        if filter.missed_only {
            conditions.push("state = 'missed'".to_owned());
        }
        if let Some(lead) = &lead {
            bound.push(lead);
            conditions.push(format!("lead_id = ?{}", bound.len()));
        }
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT {CALL_COLUMNS} FROM calls WHERE {}
             ORDER BY started_at DESC, id DESC LIMIT ?1 OFFSET ?2",
            conditions.join(" AND ")
        ))?;
        let rows = statement.query_map(bound.as_slice(), call_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// All calls, newest first.
    pub fn recent_calls(&self, page: Page) -> Result<Vec<CallLogEntry>, StoreError> {
        self.call_log(&CallLogFilter::default(), page)
    }

    /// A lead's calls, newest first.
    pub fn calls_of_lead(&self, lead: LeadId, page: Page) -> Result<Vec<CallLogEntry>, StoreError> {
        self.call_log(&CallLogFilter { lead: Some(lead), ..CallLogFilter::default() }, page)
    }

    /// Missed calls, newest first.
    pub fn missed_calls(&self, page: Page) -> Result<Vec<CallLogEntry>, StoreError> {
        self.call_log(&CallLogFilter { missed_only: true, ..CallLogFilter::default() }, page)
    }

    /// Missed calls the agent has not seen yet (the badge on the call log).
    pub fn unseen_missed_count(&self) -> Result<u64, StoreError> {
        let count: i64 = self.conn.query_row(
            "SELECT count(*) FROM calls WHERE state = 'missed' AND seen_at IS NULL",
            [],
            |row| row.get(0),
        )?;
        Ok(count.unsigned_abs())
    }

    /// Marks every missed call as seen (the agent opened the call log); returns how many.
    pub fn mark_missed_seen(&self, now_ms: i64) -> Result<usize, StoreError> {
        Ok(self.conn.execute("UPDATE calls SET seen_at = ?1 WHERE state = 'missed' AND seen_at IS NULL", [now_ms])?)
    }

    fn not_in_progress(&self, id: CallLogId) -> StoreError {
        match self.call(id) {
            Ok(_) => StoreError::Conflict("This call has already ended.".to_owned()),
            Err(e) => e,
        }
    }
}
