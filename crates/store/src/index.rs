//! The full-text index of large imports, built in the background.
//!
//! `fts_sync.pending_from` (migrations/0001, 0004) is the first lead id not in `leads_fts` yet:
//! leads below it are in the index and kept in sync by triggers; leads at or above it are not,
//! and changes to them are not indexed until the indexer reaches them. `NULL` means every lead is
//! indexed. The mark lives in the database, so it survives a crash or a kill: [`Store::open`]
//! starts the indexer again where the last committed chunk ended.
//!
//! The indexer is a thread with its own connection. It indexes [`CHUNK_LEADS`] leads per
//! transaction and moves the mark past them in the same transaction, so every committed state is
//! consistent; between chunks other writers (the app's own connection) get the write lock.
//! While leads await the index, [`Store::search_leads`] finds them by scanning them (see there).
//!
//! [`Store::pause_indexing`] holds the indexer between two chunks (the app does so while a call
//! is live, so a million-lead import does not take the cores the call's audio needs).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::Store;
use crate::error::StoreError;

/// Leads indexed per transaction: about a fifth of a second of work on an idle core, so the
/// app's own writes (a call starting) never wait long for the lock. (5,000 and 25,000 cost the
/// same in total within the noise of a loaded machine: 42 and 47 s CPU per million leads.)
const CHUNK_LEADS: i64 = 10_000;

/// Page cache of the indexer's connection, in KiB. FTS5 reads back the segments it merges;
/// with SQLite's default 2 MiB they come from the file again and again.
const INDEXER_CACHE_KIB: i64 = 64 * 1024;

/// How long the indexer waits before trying again when the database is locked for longer than
/// the busy timeout.
const BUSY_RETRY: Duration = Duration::from_millis(200);

/// How far the full-text index is behind the leads table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexStatus {
    /// Leads not in the full-text index yet. Searches still find them, more slowly and without
    /// relevance ranking (see [`Store::search_leads`]).
    pub leads_pending: u64,
    /// Why the background indexer stopped, if it failed; it starts again at the next
    /// [`Store::open`]. A sentence for the agent, like every [`StoreError`] message.
    pub failure: Option<String>,
}

#[derive(Debug, Default)]
struct Control {
    /// A thread is indexing (or about to exit having found nothing to do).
    running: bool,
    /// New work was committed since the thread last looked.
    wake: bool,
    /// Why the last run stopped early.
    failure: Option<String>,
    /// Live [`IndexingPaused`] guards; the thread starts no chunk while there is one.
    pauses: usize,
}

#[derive(Debug, Default)]
struct Shared {
    control: Mutex<Control>,
    /// Signalled when the last pause ends or the store is dropped.
    resumed: Condvar,
    stop: AtomicBool,
}

impl Shared {
    fn control(&self) -> std::sync::MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits while indexing is paused; returns `false` if the store is being dropped.
    fn wait_while_paused(&self) -> bool {
        let mut control = self.control();
        while control.pauses > 0 && !self.stop.load(Ordering::SeqCst) {
            control = self.resumed.wait(control).unwrap_or_else(PoisonError::into_inner);
        }
        !self.stop.load(Ordering::SeqCst)
    }
}

/// Holds the background indexer between two chunks for as long as it lives (see
/// [`Store::pause_indexing`]). Searches keep finding the leads it has not reached.
#[derive(Debug)]
#[must_use = "indexing resumes as soon as the guard is dropped"]
pub struct IndexingPaused {
    shared: Arc<Shared>,
}

impl Drop for IndexingPaused {
    fn drop(&mut self) {
        let mut control = self.shared.control();
        control.pauses = control.pauses.saturating_sub(1);
        if control.pauses == 0 {
            self.shared.resumed.notify_all();
        }
    }
}

/// The handle a [`Store`] keeps on its background indexer.
#[derive(Debug)]
pub(crate) struct BackgroundIndexer {
    path: PathBuf,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl BackgroundIndexer {
    pub(crate) fn new(path: PathBuf) -> BackgroundIndexer {
        BackgroundIndexer { path, shared: Arc::default(), thread: None }
    }

    /// Makes sure a thread will index whatever is pending now.
    pub(crate) fn wake(&mut self) {
        let mut control = self.shared.control();
        control.wake = true;
        control.failure = None;
        if control.running {
            return;
        }
        control.running = true;
        drop(control);
        if let Some(finished) = self.thread.take() {
            let _ = finished.join();
        }
        let (path, shared) = (self.path.clone(), Arc::clone(&self.shared));
        let spawned = std::thread::Builder::new().name("store-indexer".into()).spawn(move || {
            // `run` clears `running` itself when it finishes normally, under the same lock as
            // its last look at `wake`, so no work committed meanwhile is left behind.
            if let Err(error) = run(&path, &shared) {
                let mut control = shared.control();
                control.running = false;
                control.failure = Some(error.to_string());
            }
        });
        match spawned {
            Ok(thread) => self.thread = Some(thread),
            Err(error) => {
                let mut control = self.shared.control();
                control.running = false;
                control.failure = Some(format!("The search index could not start a thread ({error})."));
            }
        }
    }

    fn failure(&self) -> Option<String> {
        self.shared.control().failure.clone()
    }

    fn pause(&self) -> IndexingPaused {
        self.shared.control().pauses += 1;
        IndexingPaused { shared: Arc::clone(&self.shared) }
    }
}

impl Drop for BackgroundIndexer {
    /// Stops the thread after its current chunk; the rest is indexed after the next open.
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Under the lock, so a thread about to wait for a pause to end cannot miss this.
        drop(self.shared.control());
        self.shared.resumed.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The indexer thread: chunks until nothing is pending and no new work arrived meanwhile.
fn run(path: &std::path::Path, shared: &Shared) -> Result<(), StoreError> {
    let mut conn = crate::connect(path)?;
    conn.execute_batch(&format!("PRAGMA cache_size = -{INDEXER_CACHE_KIB}"))?;
    loop {
        shared.control().wake = false;
        while shared.wait_while_paused() {
            match index_chunk(&mut conn) {
                Ok(true) => {}
                Ok(false) => break,
                Err(StoreError::Busy) => std::thread::sleep(BUSY_RETRY),
                Err(error) => return Err(error),
            }
        }
        let mut control = shared.control();
        if shared.stop.load(Ordering::SeqCst) || !control.wake {
            control.running = false;
            return Ok(());
        }
    }
}

/// Indexes the next [`CHUNK_LEADS`] pending leads in one transaction; returns whether leads
/// remain pending.
fn index_chunk(conn: &mut Connection) -> Result<bool, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(from) = pending_from(&tx)? else {
        return Ok(false);
    };
    let last: Option<i64> = tx.query_row("SELECT max(id) FROM leads", [], |row| row.get(0))?;
    let end = from.saturating_add(CHUNK_LEADS);
    tx.execute(
        "INSERT INTO leads_fts (rowid, name, company, email, city, notes, tags)
         SELECT id, name, company, email, city, notes, tags FROM leads WHERE id >= ?1 AND id < ?2",
        [from, end],
    )?;
    let more = last.is_some_and(|last| last >= end);
    tx.execute("UPDATE fts_sync SET pending_from = ?1", [more.then_some(end)])?;
    tx.commit()?;
    Ok(more)
}

/// The first lead id not in the full-text index, or `None` when every lead is.
pub(crate) fn pending_from(conn: &Connection) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT pending_from FROM fts_sync")?
        .query_row([], |row| row.get::<_, Option<i64>>(0))
        .optional()?
        .flatten())
}

impl Store {
    /// How far the full-text index is behind: leads a large import committed that the
    /// background indexer has not reached yet, and why it stopped if it failed.
    pub fn index_status(&self) -> Result<IndexStatus, StoreError> {
        let leads_pending = match pending_from(&self.conn)? {
            None => 0,
            Some(from) => {
                let count: i64 = self
                    .conn
                    .prepare_cached("SELECT count(*) FROM leads WHERE id >= ?1")?
                    .query_row([from], |row| row.get(0))?;
                count.unsigned_abs()
            }
        };
        Ok(IndexStatus { leads_pending, failure: self.indexer.failure() })
    }

    /// Holds the background indexer after its current chunk (about a fifth of a second of
    /// work) until the returned guard and any other live one are dropped. Guards may outlive
    /// the store; dropping the store still stops the indexer.
    pub fn pause_indexing(&self) -> IndexingPaused {
        self.indexer.pause()
    }
}
