//! The sync loop between the agent's SQLite file and the team database: the outbox pushed in
//! batches (each batch one transaction; a refused change is kept with its sentence and the rest
//! go on), the team's changes pulled from the feed after every push, on every NOTIFY and every
//! few seconds, and the connection made again with backoff when the database goes away.
//! Offline nothing stops: the app keeps writing to its file and the outbox grows.
//!
//! Conflict rules: lead fields, last writer by server time (the team database's `updated_at`);
//! notes and calls append-only (keyed by their ids); a call's disposition is its agent's (others
//! are refused by row-level security), the later one by the agent's clock wins.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use softphone_core::call::Direction as LocalDirection;
use softphone_core::call_log::LoggedCallState;
use softphone_store::{Store, StoreError, TeamFeedEntry, TeamMembership, TeamOutboxEntry, TeamOutboxItem};
use tokio::sync::{Notify, watch};
use uuid::Uuid;

use crate::changes::{
    Direction, FeedCursor, FeedItem, TeamCall, TeamChange, TeamDisposition, TeamDoNotCall, TeamLeadEdit, TeamNote,
};
use crate::connect::TeamLogin;
use crate::error::TeamError;
use crate::session::TeamSession;

/// Changes per push (one transaction).
pub const PUSH_BATCH: usize = 1_000;
/// How often the loop looks at the outbox (a local count; the network only when something
/// waits), so a finished call reaches the team within about this.
pub const OUTBOX_EVERY: Duration = Duration::from_millis(250);
/// How often the feed is read without a NOTIFY (a missed notification costs at most this).
pub const FEED_EVERY: Duration = Duration::from_secs(5);
/// Waits between connection attempts: doubling from the first to the last.
pub const RECONNECT_FIRST: Duration = Duration::from_millis(500);
pub const RECONNECT_MAX: Duration = Duration::from_secs(10);

/// Ids of notes: the same call and text always make the same id, so a note sent twice lands once
/// and an edited note is a new one (notes are append-only).
const NOTE_NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2a9e_4d3b_4f7a_9c1e_5b8d_0a2f_3e47);

/// Where the app's file is: the shell's database, or a plain mutex in tests.
pub trait LocalStore: Send + Sync + 'static {
    fn with_store<R>(&self, f: impl FnOnce(&mut Store) -> Result<R, StoreError>) -> Result<R, StoreError>;
}

impl LocalStore for Mutex<Store> {
    fn with_store<R>(&self, f: impl FnOnce(&mut Store) -> Result<R, StoreError>) -> Result<R, StoreError> {
        let mut store = self.lock().map_err(|_| StoreError::Internal("the store's lock was poisoned".into()))?;
        f(&mut store)
    }
}

/// The app's database: not open (it failed at start) is an error like any other.
impl LocalStore for Mutex<Option<Store>> {
    fn with_store<R>(&self, f: impl FnOnce(&mut Store) -> Result<R, StoreError>) -> Result<R, StoreError> {
        let mut store = self.lock().map_err(|_| StoreError::Internal("the store's lock was poisoned".into()))?;
        let store = store.as_mut().ok_or_else(|| StoreError::Internal("the database is not open".into()))?;
        f(store)
    }
}

/// What the status bar shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "link")]
pub enum TeamLink {
    /// Not yet connected since start.
    Connecting,
    Online,
    /// The database cannot be reached; `reason` says why in a sentence.
    Offline {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeamSyncStatus {
    #[serde(flatten)]
    pub link: TeamLink,
    /// Local changes not yet taken by the team database.
    pub waiting: u64,
    /// Changes the team database refused (kept, with their sentence in the outbox).
    pub refused: u64,
    /// Team name and agent name once connected.
    pub team: Option<String>,
    pub agent: Option<String>,
}

impl TeamSyncStatus {
    /// The status bar's words: "Team synced", "Team · 12 waiting", "Team offline · 12 waiting".
    pub fn sentence(&self) -> String {
        let waiting = if self.waiting > 0 { format!(" · {} waiting", self.waiting) } else { String::new() };
        let refused = if self.refused > 0 { format!(" · {} refused", self.refused) } else { String::new() };
        match &self.link {
            TeamLink::Connecting => format!("Team connecting…{waiting}{refused}"),
            TeamLink::Online if self.waiting == 0 => format!("Team synced{refused}"),
            TeamLink::Online => format!("Team{waiting}{refused}"),
            TeamLink::Offline { .. } => format!("Team offline{waiting}{refused}"),
        }
    }
}

/// A running sync loop. Dropping it stops the loop.
#[derive(Debug)]
pub struct TeamSync {
    wake: Arc<Notify>,
    status: watch::Receiver<TeamSyncStatus>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TeamSync {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TeamSync {
    /// Starts syncing `store` with the team database as `login`.
    pub fn start<S: LocalStore>(login: TeamLogin, store: Arc<S>) -> TeamSync {
        let wake = Arc::new(Notify::new());
        let counts = store.with_store(|s| s.team_outbox_counts()).unwrap_or_default();
        let (sender, status) = watch::channel(TeamSyncStatus {
            link: TeamLink::Connecting,
            waiting: counts.waiting,
            refused: counts.refused,
            team: None,
            agent: None,
        });
        let task = tokio::spawn(run(login, store, wake.clone(), sender));
        TeamSync { wake, status, task }
    }

    /// Something was written locally: push it now rather than at the next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn status(&self) -> TeamSyncStatus {
        self.status.borrow().clone()
    }

    /// Changes of the status, for the shell to forward to the window.
    pub fn watch(&self) -> watch::Receiver<TeamSyncStatus> {
        self.status.clone()
    }
}

async fn run<S: LocalStore>(login: TeamLogin, store: Arc<S>, wake: Arc<Notify>, status: watch::Sender<TeamSyncStatus>) {
    let mut backoff = RECONNECT_FIRST;
    loop {
        match TeamSession::open(&login).await {
            Ok(session) => {
                backoff = RECONNECT_FIRST;
                let reason = online(session, &*store, &wake, &status).await;
                tracing::info!(%reason, "the team database connection ended");
                set_link(&*store, &status, TeamLink::Offline { reason: reason.to_string() });
            }
            Err(error) => {
                tracing::info!(%error, "the team database cannot be reached");
                set_link(&*store, &status, TeamLink::Offline { reason: error.to_string() });
                // A refused login or a missing schema does not mend itself soon: try rarely.
                if !error.is_transient() {
                    backoff = RECONNECT_MAX;
                }
            }
        }
        // Offline the agent works on: the count of what waits follows, until the next try.
        let retry_at = tokio::time::Instant::now() + backoff;
        while tokio::time::Instant::now() < retry_at {
            tokio::select! {
                _ = tokio::time::sleep(OUTBOX_EVERY) => {}
                _ = wake.notified() => break,
            }
            refresh_counts(&*store, &status);
        }
        backoff = (backoff * 2).min(RECONNECT_MAX);
    }
}

fn refresh_counts<S: LocalStore>(store: &S, status: &watch::Sender<TeamSyncStatus>) {
    let link = status.borrow().link.clone();
    set_link(store, status, link);
}

fn set_link<S: LocalStore>(store: &S, status: &watch::Sender<TeamSyncStatus>, link: TeamLink) {
    let counts = store.with_store(|s| s.team_outbox_counts()).unwrap_or_default();
    // Watchers (the window's status bar) hear of a change only.
    status.send_if_modified(|status| {
        let changed = status.link != link || status.waiting != counts.waiting || status.refused != counts.refused;
        status.link = link;
        status.waiting = counts.waiting;
        status.refused = counts.refused;
        changed
    });
}

/// Works while connected; returns why it stopped.
async fn online<S: LocalStore>(
    mut session: TeamSession,
    store: &S,
    wake: &Notify,
    status: &watch::Sender<TeamSyncStatus>,
) -> TeamError {
    let me = session.me().clone();
    let membership = TeamMembership { team_id: me.team_id.to_string(), agent_id: me.agent_id.to_string() };
    if let Err(error) = store.with_store(|s| s.set_team_membership(Some(&membership))) {
        return TeamError::Io { what: "the local database".into(), reason: error.to_string() };
    }
    status.send_modify(|status| {
        status.team = Some(me.team_name.clone());
        status.agent = Some(me.name.clone());
    });
    if let Err(error) = session.listen().await {
        return error;
    }
    let mut names = AgentNames::default();
    let mut read_feed = true;
    let mut feed_read_at = tokio::time::Instant::now();
    loop {
        let waiting = store.with_store(|s| s.team_outbox_counts()).map(|c| c.waiting).unwrap_or(0);
        if waiting > 0 {
            if let Err(error) = push_outbox(&mut session, store).await {
                return error;
            }
            read_feed = true;
        }
        if read_feed || feed_read_at.elapsed() >= FEED_EVERY {
            if let Err(error) = pull_feed(&session, store, &mut names).await {
                return error;
            }
            read_feed = false;
            feed_read_at = tokio::time::Instant::now();
        }
        set_link(store, status, TeamLink::Online);
        if !session.is_alive() {
            return TeamError::ConnectionLost("the server closed the connection".into());
        }
        tokio::select! {
            _ = tokio::time::sleep(OUTBOX_EVERY) => {}
            _ = wake.notified() => {}
            notified = session.notified() => {
                if notified.is_none() {
                    return TeamError::ConnectionLost("the server closed the connection".into());
                }
                read_feed = true;
            }
        }
    }
}

fn local_io(error: StoreError) -> TeamError {
    TeamError::Io { what: "the local database".into(), reason: error.to_string() }
}

/// Sends everything waiting, batch by batch. A batch the database refuses is sent again change by
/// change, so one bad change is set aside (with its sentence) and the others land.
pub async fn push_outbox<S: LocalStore>(session: &mut TeamSession, store: &S) -> Result<(), TeamError> {
    loop {
        let pending = store.with_store(|s| s.team_pending(PUSH_BATCH)).map_err(local_io)?;
        if pending.is_empty() {
            // The calls and dispositions first, then the leads they finish.
            return push_releases(session, store).await;
        }
        let Readable { changes, unreadable } = to_changes(&pending);
        for (id, reason) in unreadable {
            store.with_store(|s| s.team_refused(id, &reason)).map_err(local_io)?;
        }
        let ids: Vec<i64> = changes.iter().map(|(id, _)| *id).collect();
        let batch: Vec<TeamChange> = changes.iter().map(|(_, change)| change.clone()).collect();
        match session.push(&batch).await {
            Ok(()) => store.with_store(|s| s.team_sent(&ids)).map_err(local_io)?,
            Err(error) if error.is_transient() => {
                store.with_store(|s| s.team_attempted(&ids)).map_err(local_io)?;
                return Err(error);
            }
            Err(_) => {
                for (id, change) in changes {
                    match session.push(std::slice::from_ref(&change)).await {
                        Ok(()) => store.with_store(|s| s.team_sent(&[id])).map_err(local_io)?,
                        Err(error) if error.is_transient() => return Err(error),
                        Err(error) => {
                            tracing::warn!(%error, key = change.key(), "the team database refused a change; kept");
                            store.with_store(|s| s.team_refused(id, &error.to_string())).map_err(local_io)?;
                        }
                    }
                }
            }
        }
    }
}

/// Gives back the claimed leads whose give-back waits (a wrap-up saved, a skip, a stop while the
/// team was away, or just now). One the database will not take (the lead is another agent's now)
/// is done with: the team moved on.
async fn push_releases<S: LocalStore>(session: &TeamSession, store: &S) -> Result<(), TeamError> {
    for release in store.with_store(|s| s.team_releases()).map_err(local_io)? {
        let retry = release.retry_after_ms.map(|ms| std::time::Duration::from_millis(ms.max(0).unsigned_abs()));
        match session.release(release.team_lead_id, release.finished, release.disposition.as_deref(), retry).await {
            Ok(released) => {
                tracing::info!(
                    team_lead = release.team_lead_id,
                    released,
                    finished = release.finished,
                    "team lead given back"
                );
                store.with_store(|s| s.team_release_sent(&release)).map_err(local_io)?;
            }
            Err(error) if error.is_transient() => {
                store.with_store(|s| s.team_release_attempted(release.team_lead_id)).map_err(local_io)?;
                return Err(error);
            }
            Err(error) => {
                tracing::warn!(%error, team_lead = release.team_lead_id, "the team database refused a lead's give-back");
                store.with_store(|s| s.team_release_sent(&release)).map_err(local_io)?;
            }
        }
    }
    Ok(())
}

/// Outbox entries (by their local id) as the team database's changes, and those that cannot be
/// (a malformed id), with a sentence.
#[derive(Debug, Default)]
struct Readable {
    changes: Vec<(i64, TeamChange)>,
    unreadable: Vec<(i64, String)>,
}

fn to_changes(pending: &[TeamOutboxEntry]) -> Readable {
    let mut changes = Vec::with_capacity(pending.len());
    let mut unreadable = Vec::new();
    for entry in pending {
        match to_change(&entry.item) {
            Some(change) => changes.push((entry.id, change)),
            None => unreadable
                .push((entry.id, format!("The change {} cannot be sent: its call id is malformed.", entry.key))),
        }
    }
    Readable { changes, unreadable }
}

/// A call's outcome in the team's words.
pub fn outcome(state: LoggedCallState, answered: bool, transferred: bool) -> &'static str {
    match state {
        _ if transferred => "transferred",
        LoggedCallState::Completed if answered => "answered",
        LoggedCallState::Completed => "no_answer",
        LoggedCallState::Missed => "missed",
        LoggedCallState::Failed => "failed",
        LoggedCallState::Interrupted => "interrupted",
        LoggedCallState::InProgress => "in_progress",
    }
}

fn to_change(item: &TeamOutboxItem) -> Option<TeamChange> {
    Some(match item {
        TeamOutboxItem::Call {
            uuid,
            direction,
            remote_number,
            state,
            transferred,
            team_lead_id,
            team_campaign,
            started_at_ms,
            answered_at_ms,
            ended_at_ms,
            duration_ms,
        } => TeamChange::Call(TeamCall {
            id: uuid.parse().ok()?,
            lead_id: *team_lead_id,
            campaign_id: team_campaign.as_deref().and_then(|c| c.parse().ok()),
            direction: match direction {
                LocalDirection::Inbound => Direction::Inbound,
                LocalDirection::Outbound => Direction::Outbound,
            },
            number: remote_number.clone(),
            outcome: outcome(*state, answered_at_ms.is_some(), *transferred).to_owned(),
            started_at_ms: *started_at_ms,
            answered_at_ms: *answered_at_ms,
            ended_at_ms: *ended_at_ms,
            talk_seconds: i32::try_from(duration_ms.unwrap_or(0).max(0) / 1000).unwrap_or(i32::MAX),
        }),
        TeamOutboxItem::Disposition { call_uuid, code, set_at_ms } => TeamChange::Disposition(TeamDisposition {
            call_id: call_uuid.parse().ok()?,
            disposition: code.clone(),
            set_at_ms: *set_at_ms,
        }),
        TeamOutboxItem::Note { call_uuid, team_lead_id, body, written_at_ms } => TeamChange::Note(TeamNote {
            id: Uuid::new_v5(&NOTE_NAMESPACE, format!("{call_uuid}\n{body}").as_bytes()),
            lead_id: *team_lead_id,
            call_id: Some(call_uuid.parse().ok()?),
            body: body.clone(),
            written_at_ms: *written_at_ms,
        }),
        TeamOutboxItem::DoNotCall { number } => {
            TeamChange::DoNotCall(TeamDoNotCall { phone: number.clone(), reason: "Added by an agent".into() })
        }
        TeamOutboxItem::LeadEdit { team_lead_id, name, company, email, city, notes, tags } => {
            TeamChange::LeadEdit(TeamLeadEdit {
                lead_id: *team_lead_id,
                name: name.clone(),
                company: company.clone(),
                email: email.clone(),
                city: city.clone(),
                notes: notes.clone(),
                tags: tags.clone(),
            })
        }
    })
}

/// Agents' names by id, read when an unknown id first appears in the feed.
#[derive(Debug, Default)]
pub struct AgentNames(HashMap<Uuid, String>);

impl AgentNames {
    async fn name(&mut self, session: &TeamSession, id: Uuid) -> Result<String, TeamError> {
        if !self.0.contains_key(&id) {
            let rows = session
                .client()
                .query("SELECT id, name FROM agents", &[])
                .await
                .map_err(|e| TeamError::from_statement(e, "reading the team's agents"))?;
            self.0 = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
        }
        Ok(self.0.get(&id).cloned().unwrap_or_else(|| "a former agent".into()))
    }
}

/// Reads the team's changes after the local cursor and writes them to the local file with the new
/// cursor, page by page.
pub async fn pull_feed<S: LocalStore>(
    session: &TeamSession,
    store: &S,
    names: &mut AgentNames,
) -> Result<(), TeamError> {
    let me = session.me().agent_id;
    loop {
        let (tx, id) = store.with_store(|s| s.team_feed_cursor()).map_err(local_io)?;
        let (changes, next) = session.pull(FeedCursor { tx, id }).await?;
        if changes.is_empty() {
            return Ok(());
        }
        let mut entries = Vec::with_capacity(changes.len());
        for change in changes {
            if let Some(entry) = to_entry(change.item, me, session, names).await? {
                entries.push(entry);
            }
        }
        store.with_store(|s| s.apply_team_feed(&entries, (next.tx, next.id))).map_err(local_io)?;
    }
}

async fn to_entry(
    item: FeedItem,
    me: Uuid,
    session: &TeamSession,
    names: &mut AgentNames,
) -> Result<Option<TeamFeedEntry>, TeamError> {
    Ok(match item {
        // This agent's own, sent from here: the file has them already.
        FeedItem::Call { agent_id, .. } | FeedItem::Disposition { agent_id, .. } | FeedItem::Note { agent_id, .. }
            if agent_id == me =>
        {
            None
        }
        FeedItem::Call { agent_id, call } => Some(TeamFeedEntry::Call {
            uuid: call.id.to_string(),
            agent: names.name(session, agent_id).await?,
            team_lead_id: call.lead_id,
            direction: match call.direction {
                Direction::Inbound => LocalDirection::Inbound,
                Direction::Outbound => LocalDirection::Outbound,
            },
            remote_number: call.number,
            outcome: call.outcome,
            started_at_ms: call.started_at_ms,
            answered_at_ms: call.answered_at_ms,
            ended_at_ms: call.ended_at_ms,
            talk_seconds: i64::from(call.talk_seconds),
        }),
        FeedItem::Disposition { disposition, .. } => Some(TeamFeedEntry::Disposition {
            call_uuid: disposition.call_id.to_string(),
            code: disposition.disposition,
            set_at_ms: disposition.set_at_ms,
        }),
        FeedItem::Note { agent_id, note } => Some(TeamFeedEntry::Note {
            id: note.id.to_string(),
            agent: names.name(session, agent_id).await?,
            team_lead_id: note.lead_id,
            call_uuid: note.call_id.map(|id| id.to_string()),
            body: note.body,
            written_at_ms: note.written_at_ms,
        }),
        FeedItem::DoNotCall { dnc, added_at_ms } => Some(TeamFeedEntry::DoNotCall { number: dnc.phone, added_at_ms }),
        FeedItem::Lead { lead_id, edit, do_not_call, last_disposition, updated_at_ms, .. } => {
            Some(TeamFeedEntry::Lead {
                team_lead_id: lead_id,
                name: edit.name,
                company: edit.company,
                email: edit.email,
                city: edit.city,
                notes: edit.notes,
                tags: edit.tags,
                do_not_call,
                last_disposition,
                updated_at_ms,
            })
        }
        // Callbacks reach an agent through its claims (a due callback is handed out first).
        FeedItem::Callback { .. } | FeedItem::Other { .. } => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_and_the_status_bar_words() {
        assert_eq!(outcome(LoggedCallState::Completed, true, false), "answered");
        assert_eq!(outcome(LoggedCallState::Completed, false, false), "no_answer");
        assert_eq!(outcome(LoggedCallState::Completed, true, true), "transferred");
        assert_eq!(outcome(LoggedCallState::Interrupted, true, false), "interrupted");
        let mut status = TeamSyncStatus { link: TeamLink::Online, waiting: 0, refused: 0, team: None, agent: None };
        assert_eq!(status.sentence(), "Team synced");
        status.waiting = 12;
        assert_eq!(status.sentence(), "Team · 12 waiting");
        status.link = TeamLink::Offline { reason: "down".into() };
        assert_eq!(status.sentence(), "Team offline · 12 waiting");
        status.refused = 1;
        assert_eq!(status.sentence(), "Team offline · 12 waiting · 1 refused");
    }

    #[test]
    fn a_note_sent_twice_has_one_id_and_an_edited_note_another() {
        let note = |body: &str| TeamOutboxItem::Note {
            call_uuid: "5f0c8f4e-2f55-4d7e-9a43-1f1f6f0d0a01".into(),
            team_lead_id: None,
            body: body.into(),
            written_at_ms: 1,
        };
        let id = |item| match to_change(&item) {
            Some(TeamChange::Note(note)) => note.id,
            other => panic!("{other:?}"),
        };
        assert_eq!(id(note("a")), id(note("a")));
        assert_ne!(id(note("a")), id(note("b")));
        let bad = TeamOutboxItem::Disposition { call_uuid: "not-a-uuid".into(), code: "x".into(), set_at_ms: 0 };
        assert_eq!(to_change(&bad), None);
    }
}
