//! The local database (leads and call log) as managed state, and the call-log side of calls.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use softphone_core::call::{CallEnd, CallId, Direction, Party};
use softphone_core::ipc::{ErrorCode, IpcError};
use softphone_store::{CallEngine, CallFinish, CallLogEntry, IndexingPaused, LeadId, NewCall, Store, StoreError};

use crate::errors;

/// File name of the database in the app's data directory.
pub const DATABASE_FILE: &str = "softphone.sqlite3";

/// The store, opened at start-up, plus which call-log row belongs to which live call.
#[derive(Default)]
pub struct Database {
    store: Mutex<Option<Store>>,
    rows: Mutex<HashMap<CallId, softphone_store::CallLogId>>,
    /// Rows of calls that ended this session, for their wrap-up.
    finished: Mutex<HashMap<CallId, softphone_store::CallLogId>>,
    /// Held while any call is live: the background indexing of a large import waits, so it
    /// does not compete with the call's audio for the cores.
    indexing_paused: Mutex<Option<IndexingPaused>>,
}

impl Database {
    /// Opens the database in `dir`, closing calls a crash left open. Returns how many.
    pub fn open_in(&self, dir: &Path) -> Result<usize, IpcError> {
        std::fs::create_dir_all(dir).map_err(|error| {
            IpcError::new(ErrorCode::StoreFailed, format!("Could not create {}: {error}", dir.display()))
        })?;
        let store = Store::open(dir.join(DATABASE_FILE))?;
        let interrupted = store.interrupted_at_open();
        *self.store.lock().map_err(|_| errors::internal("Opening the database"))? = Some(store);
        Ok(interrupted)
    }

    /// Demo mode: fills an empty lead table with the sample leads; logs what happened.
    pub fn seed_demo_leads(&self) {
        match self.with(|store| store.seed_demo_leads(crate::clock::now().0 as i64)) {
            Ok(seeded) => tracing::info!(seeded, "demo leads"),
            Err(error) => tracing::warn!(reason = %error.message, "the demo leads could not be seeded"),
        }
    }

    /// Runs `work` on the open store.
    pub fn with<T>(&self, work: impl FnOnce(&mut Store) -> Result<T, StoreError>) -> Result<T, IpcError> {
        let mut guard = self.store.lock().map_err(|_| errors::internal("Using the database"))?;
        let store = guard.as_mut().ok_or_else(|| {
            IpcError::new(
                ErrorCode::StoreFailed,
                "The database is not open; see the log for why it could not be opened.",
            )
        })?;
        work(store).map_err(IpcError::from)
    }

    /// Writes the row of a call that starts. Returns the lead the store matched to the number.
    pub fn call_started(
        &self,
        call_id: &CallId,
        direction: Direction,
        remote: &Party,
        lead_id: Option<i64>,
        engine: CallEngine,
        at: i64,
    ) -> Result<Option<i64>, IpcError> {
        let entry: (CallLogEntry, IndexingPaused) = self.with(|store| {
            store
                .start_call(&NewCall {
                    direction,
                    remote_number: remote.number.clone(),
                    lead_id: lead_id.map(LeadId),
                    engine,
                    started_at_ms: at,
                })
                .map(|entry| (entry, store.pause_indexing()))
        })?;
        let (entry, pause) = entry;
        if let Ok(mut rows) = self.rows.lock() {
            rows.insert(call_id.clone(), entry.id);
        }
        if let Ok(mut paused) = self.indexing_paused.lock() {
            paused.get_or_insert(pause);
        }
        Ok(entry.lead_id.map(|lead| lead.0))
    }

    fn row(&self, call_id: &CallId) -> Option<softphone_store::CallLogId> {
        self.rows.lock().ok().and_then(|rows| rows.get(call_id).copied())
    }

    pub fn call_answered(&self, call_id: &CallId, at: i64) -> Result<(), IpcError> {
        let Some(row) = self.row(call_id) else { return Ok(()) };
        self.with(|store| store.answer_call(row, at)).map(|_| ())
    }

    /// Finalizes the row in the state its outcome is logged as
    /// ([`softphone_core::call::CallOutcome::logged_state`]), with the cause.
    pub fn call_finished(&self, call_id: &CallId, end: &CallEnd) -> Result<(), IpcError> {
        let removed = self.rows.lock().ok().map(|mut rows| (rows.remove(call_id), rows.is_empty()));
        let Some((Some(row), no_call_left)) = removed else { return Ok(()) };
        if no_call_left && let Ok(mut paused) = self.indexing_paused.lock() {
            *paused = None;
        }
        if let Ok(mut finished) = self.finished.lock() {
            finished.insert(call_id.clone(), row);
        }
        let state = end.outcome.logged_state();
        let cause = serde_json::to_value(&end.cause).ok().and_then(|value| value.as_str().map(str::to_owned));
        self.with(|store| {
            store.finish_call(
                row,
                &CallFinish { state, ended_at_ms: end.at.0 as i64, hangup_cause: cause, sip_code: end.sip_code },
            )
        })
        .map(|_| ())
    }

    /// The call-log row of a call that ended in this session (for its wrap-up form).
    pub fn finished_row(&self, call_id: &CallId) -> Result<softphone_store::CallLogId, IpcError> {
        self.finished.lock().ok().and_then(|finished| finished.get(call_id).copied()).ok_or_else(|| {
            IpcError::new(ErrorCode::NotFound, "That call is not in the call log; its wrap-up cannot be saved.")
        })
    }
}
