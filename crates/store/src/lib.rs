//! The softphone's local database: leads, the call log and custom dispositions, in one SQLite
//! file (WAL, foreign keys on), so an agent can browse, search and annotate leads offline and no
//! call is ever lost.
//!
//! Times are unix milliseconds (UTC) passed in by the caller (`now_ms` parameters): the store
//! never reads the clock, so tests need no sleeping.
//!
//! Schema changes are SQL files in the repository's `migrations/` directory, embedded at compile
//! time and applied by [`Store::open`].

mod call_list;
mod call_log;
mod demo;
mod do_not_call;
mod error;
mod export;
mod import;
mod index;
mod lead;
mod lead_file;
mod search;
mod settings;
mod team;

use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite_migration::{M, Migrations};

pub use call_log::{
    CallEngine, CallFinish, CallLogEntry, CallLogFilter, CallLogId, Direction, LoggedCallState, NewCall,
};
pub use do_not_call::DoNotCallReason;
pub use error::{Entity, StoreError};
pub use export::TableFormat;
pub use import::{CsvLead, CsvRow, ImportProgress, ImportReport, RejectedRow, read_lead_csv};
pub use index::{IndexStatus, IndexingPaused};
pub use lead::{Lead, LeadFields, LeadId, Page, RANKED_MATCHES_MAX};
pub use softphone_core::settings::{EngineChoice, Settings, WindowGeometry};
pub use team::{
    ClaimedTeamLead, TeamCallEntry, TeamFeedEntry, TeamLeadRelease, TeamMembership, TeamNoteEntry, TeamOutboxCounts,
    TeamOutboxEntry, TeamOutboxItem,
};

/// How long a statement waits for another connection's write lock before failing with
/// [`StoreError::Busy`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The migrations, in order. Append only: a released migration is never edited.
static MIGRATIONS: LazyLock<Migrations<'static>> = LazyLock::new(|| {
    Migrations::new(vec![
        M::up(include_str!("../../../migrations/0001_init.sql")),
        M::up(include_str!("../../../migrations/0002_narrow_search_index.sql")),
        M::up(include_str!("../../../migrations/0003_settings.sql")),
        M::up(include_str!("../../../migrations/0004_background_index.sql")),
        M::up(include_str!("../../../migrations/0005_dialer.sql")),
        M::up(include_str!("../../../migrations/0006_list_columns.sql")),
        M::up(include_str!("../../../migrations/0007_transfers.sql")),
        M::up(include_str!("../../../migrations/0008_call_recordings.sql")),
        M::up(include_str!("../../../migrations/0009_team.sql")),
        M::up(include_str!("../../../migrations/0010_team_releases.sql")),
    ])
});

/// An open database. One per app; not `Sync` (wrap it in a `Mutex` to share it).
///
/// A store may run a background thread that builds the full-text index of a large import (see
/// [`Store::index_status`]); dropping the store stops it after its current chunk of a few
/// thousand leads, and the next [`Store::open`] carries on.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    interrupted_at_open: usize,
    indexer: index::BackgroundIndexer,
}

/// Opens a connection with the settings every connection of the store uses (see
/// [`Store::open`]) and the SQL functions search and the triggers need.
pub(crate) fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // journal_mode returns a row, so it is queried rather than executed.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Io {
            what: "the database",
            reason: format!("SQLite refused write-ahead logging (journal mode {mode})"),
        });
    }
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;",
    )?;
    register_functions(&conn)?;
    Ok(conn)
}

/// The SQL functions the store's queries and triggers use, on `conn`.
fn register_functions(conn: &Connection) -> Result<(), rusqlite::Error> {
    conn.create_scalar_function(
        search::HAS_WORD_FUNCTION,
        -1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_INNOCUOUS,
        |ctx| {
            let word = ctx.get_raw(0).as_str().map_err(|e| rusqlite::Error::UserFunctionError(e.into()))?;
            for column in 1..ctx.len() {
                if let Ok(text) = ctx.get_raw(column).as_str()
                    && search::text_has_word_prefix(text, word)
                {
                    return Ok(true);
                }
            }
            Ok(false)
        },
    )?;
    conn.create_scalar_function(
        TAG_LIST_FUNCTION,
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_INNOCUOUS,
        |ctx| {
            let tags = ctx.get_raw(0).as_str().unwrap_or("");
            Ok(tag_list(tags))
        },
    )?;
    Ok(())
}

/// The SQL function the `lead_tags` triggers use (migration 0006): [`tag_list`].
const TAG_LIST_FUNCTION: &str = "tag_list";

/// A lead's stored tags (`", "`-joined) as a JSON array of each tag trimmed and ASCII-lowercased,
/// as a call list compares them (`softphone_dialer::ListFilter`), each once.
pub(crate) fn tag_list(tags: &str) -> String {
    let mut list: Vec<String> =
        tags.split(',').map(|tag| tag.trim().to_ascii_lowercase()).filter(|tag| !tag.is_empty()).collect();
    list.sort();
    list.dedup();
    serde_json::to_string(&list).unwrap_or_else(|_| "[]".to_owned())
}

impl Store {
    /// Opens (or creates) the database at `path`, applies pending migrations and closes calls
    /// the app never finished.
    ///
    /// Set on every connection: WAL journal, `synchronous = NORMAL` (durable across app crashes;
    /// a power cut may lose the last transactions, never corrupt the file), foreign keys on and a
    /// busy timeout of [`BUSY_TIMEOUT`].
    ///
    /// Calls still `in_progress` belong to a run that was killed mid-call; they become
    /// `interrupted`, see [`Store::interrupted_at_open`].
    ///
    /// If leads still await the full-text index (the app stopped while indexing a large
    /// import), the background indexer starts again where it stopped.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref();
        let mut conn = connect(path)?;
        MIGRATIONS.to_latest(&mut conn)?;
        let interrupted_at_open = call_log::close_interrupted(&conn)?;
        let pending = index::pending_from(&conn)?.is_some();
        let mut store = Store { conn, interrupted_at_open, indexer: index::BackgroundIndexer::new(path.to_path_buf()) };
        if pending {
            store.indexer.wake();
        }
        Ok(store)
    }

    /// How many calls [`Store::open`] found still `in_progress` and closed as `interrupted`.
    ///
    /// Their `ended_at_ms` is the last time the store knew of (the answer time if the call was
    /// answered, else the start time) and their `duration_ms` is `None`: how long the call
    /// really lasted is unknown.
    pub fn interrupted_at_open(&self) -> usize {
        self.interrupted_at_open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        // As `Migrations::validate`, with the store's SQL functions the triggers call.
        let mut conn = Connection::open_in_memory().unwrap();
        register_functions(&conn).unwrap();
        MIGRATIONS.to_latest(&mut conn).unwrap();
    }

    #[test]
    fn a_database_of_the_last_release_gets_its_leads_attempts_listing_and_tags() {
        let mut conn = Connection::open_in_memory().unwrap();
        register_functions(&conn).unwrap();
        MIGRATIONS.to_version(&mut conn, 5).unwrap();
        conn.execute_batch(
            "INSERT INTO leads (id, phone, phone_digits, national_digits, tags, created_at, updated_at)
                  VALUES (1, '+16175550101', '16175550101', '6175550101', 'Hot, renewal', 0, 0),
                         (2, '+16175550102', '16175550102', '6175550102', '', 0, 0);
             INSERT INTO calls (direction, remote_number, lead_id, engine, started_at, state)
                  VALUES ('outbound', '+16175550101', 1, 'native', 100, 'completed'),
                         ('outbound', '+16175550101', 1, 'native', 300, 'failed'),
                         ('inbound', '+16175550101', 1, 'native', 500, 'missed');
             INSERT INTO do_not_call (number, added_at) VALUES ('+16175550102', 0);",
        )
        .unwrap();
        MIGRATIONS.to_latest(&mut conn).unwrap();
        let read = |id: i64| -> (i64, Option<i64>, bool) {
            conn.query_row("SELECT attempts, last_attempt_at, listed FROM leads WHERE id = ?1", [id], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .unwrap()
        };
        assert_eq!(read(1), (2, Some(300), false));
        assert_eq!(read(2), (0, None, true));
        let tags: Vec<String> = conn
            .prepare("SELECT tag FROM lead_tags WHERE lead_id = 1 ORDER BY tag")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(tags, ["hot", "renewal"]);
    }

    #[test]
    fn tags_are_listed_as_a_call_list_compares_them() {
        assert_eq!(tag_list("Hot, renewal ,HOT, Ünïcode"), r#"["hot","renewal","Ünïcode"]"#);
        assert_eq!(tag_list(""), "[]");
    }
}
