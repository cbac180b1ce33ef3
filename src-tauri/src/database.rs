//! The local database (leads, call log, settings) as managed state: the call-log side of calls,
//! and the settings in force.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use softphone_core::call::{CallEnd, CallId, Direction, Party};
use softphone_core::ipc::{ErrorCode, IpcError};
use softphone_core::lead::Lead;
use softphone_core::phone::PhoneNumber;
use softphone_core::settings::Settings;
use softphone_store::{CallEngine, CallFinish, CallLogEntry, IndexingPaused, LeadId, NewCall, Store, StoreError};

use crate::errors;

/// File name of the database in the app's data directory.
pub const DATABASE_FILE: &str = "softphone.sqlite3";

/// The store, opened at start-up, plus which call-log row belongs to which live call.
#[derive(Default)]
pub struct Database {
    /// Shared with the team sync (handed to it by the wiring), which writes the team's changes.
    store: Arc<Mutex<Option<Store>>>,
    rows: Mutex<HashMap<CallId, softphone_store::CallLogId>>,
    /// Rows of calls that ended this session, for their wrap-up.
    finished: Mutex<HashMap<CallId, softphone_store::CallLogId>>,
    /// Held while any call is live: the background indexing of a large import waits, so it
    /// does not compete with the call's audio for the cores.
    indexing_paused: Mutex<Option<IndexingPaused>>,
    /// The settings in force (the store has the same).
    settings: Mutex<Settings>,
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

    /// The database itself, for the team sync: it reads the outbox and writes the team's
    /// changes through the same connection and lock.
    pub fn shared_store(&self) -> Arc<Mutex<Option<Store>>> {
        Arc::clone(&self.store)
    }

    /// Demo mode: fills an empty lead table with the sample leads; logs what happened.
    pub fn seed_demo_leads(&self) {
        match self.with(|store| store.seed_demo_leads(crate::clock::now().0 as i64)) {
            Ok(seeded) => tracing::info!(seeded, "demo leads"),
            Err(error) => tracing::warn!(reason = %error.message, "the demo leads could not be seeded"),
        }
    }

    /// Reads the stored settings (the defaults when the database is not open or they cannot be
    /// read) and puts them in force.
    pub fn load_settings(&self) -> Settings {
        let settings = self.with(|store| store.settings()).unwrap_or_else(|error| {
            tracing::warn!(reason = %error.message, "settings could not be read; using the defaults");
            Settings::default()
        });
        self.put_in_force(settings.clone());
        settings
    }

    /// The settings in force.
    pub fn settings(&self) -> Settings {
        self.settings.lock().map(|settings| settings.clone()).unwrap_or_default()
    }

    /// Validates and stores new settings, which are in force from now on.
    pub fn save_settings(&self, settings: Settings) -> Result<Settings, IpcError> {
        settings.validate().map_err(|error| IpcError::new(ErrorCode::InvalidArgument, error.to_string()))?;
        self.with(|store| store.save_settings(&settings))?;
        self.put_in_force(settings.clone());
        tracing::info!(region = %settings.default_region, engine = ?settings.engine, "settings saved");
        Ok(settings)
    }

    /// Do Not Disturb changed from the tray or the status bar: remembered for the next start.
    pub fn remember_do_not_disturb(&self, on: bool) {
        self.change_settings("Do Not Disturb", |settings| settings.do_not_disturb = on);
    }

    /// Changes what the app itself decides among the settings (`what`, for the log), stored for
    /// the next start and in force at once. A failure to store is logged; the change holds.
    pub fn change_settings(&self, what: &str, change: impl FnOnce(&mut Settings)) {
        let mut settings = self.settings();
        let before = settings.clone();
        change(&mut settings);
        if settings == before {
            return;
        }
        if let Err(error) = self.with(|store| store.save_settings(&settings)) {
            tracing::warn!(what, reason = %error.message, "a setting could not be remembered");
        }
        self.put_in_force(settings);
    }

    fn put_in_force(&self, settings: Settings) {
        if let Ok(mut current) = self.settings.lock() {
            *current = settings;
        }
    }

    /// The lead a caller's number (E.164, or as presented) belongs to, if any.
    pub fn find_caller(&self, number: &str) -> Option<Lead> {
        let number = PhoneNumber::from_e164(number).or_else(|_| PhoneNumber::from_stored(number)).ok()?;
        self.with(|store| store.find_caller(&number)).ok().flatten()
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
        lead_id: Option<LeadId>,
        engine: CallEngine,
        at: i64,
    ) -> Result<Option<LeadId>, IpcError> {
        let entry: (CallLogEntry, IndexingPaused) = self.with(|store| {
            store
                .start_call(&NewCall {
                    direction,
                    remote_number: remote.number.clone(),
                    lead_id,
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
        Ok(entry.lead_id)
    }

    fn row(&self, call_id: &CallId) -> Option<softphone_store::CallLogId> {
        self.rows.lock().ok().and_then(|rows| rows.get(call_id).copied())
    }

    /// The call-log row of a call under way (a voicemail drop wraps it up before it ends).
    pub fn live_row(&self, call_id: &CallId) -> Result<softphone_store::CallLogId, IpcError> {
        self.row(call_id).ok_or_else(|| {
            IpcError::new(ErrorCode::NotFound, "That call is not in the call log; it cannot be wrapped up.")
        })
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
            )?;
            if let Some(to) = &end.transferred_to {
                store.mark_transferred(row, to)?;
            }
            Ok(())
        })
    }

    /// The call-log row of a call that ended in this session (for its wrap-up form).
    pub fn finished_row(&self, call_id: &CallId) -> Result<softphone_store::CallLogId, IpcError> {
        self.finished.lock().ok().and_then(|finished| finished.get(call_id).copied()).ok_or_else(|| {
            IpcError::new(ErrorCode::NotFound, "That call is not in the call log; its wrap-up cannot be saved.")
        })
    }
}
