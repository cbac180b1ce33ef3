//! The agent's dialing session: a call list worked lead after lead (softphone-dialer's session),
//! carried out here. Every dial goes through the dialer's rules (do-not-call, attempts, the gap,
//! the lead's local hours) and then through the call loop as the agent's own dial would; the
//! session follows its call in the calls snapshot, learns of the wrap-up from the wrap-up command,
//! counts down in power mode, and is saved after every change, so a restart resumes it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jiff::tz::TimeZone;
use softphone_core::call::{CallEvent, CallView, CallsSnapshot};
use softphone_core::dialing::{DialingStage, DialingView, ListFilter, ListPreview, Mode};
use softphone_core::ipc::{ErrorCode, IpcError, event};
use softphone_core::lead::LeadId;
use softphone_dialer::{
    DialRules, DialingSession, LeadSource, ListedBySource, SessionEffect, SessionEvent, Stage, TeamRelease, Verdict,
};
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::watch;

use crate::database::Database;
use crate::team::Team;

/// How often a running session looks at its countdown and its call.
const TICK: Duration = Duration::from_millis(200);
/// How often the leads' callbacks are looked at: a due one becomes a notification.
const CALLBACK_CHECK: Duration = Duration::from_secs(2);
/// How long a session runs before its calls-per-hour rate is shown.
const RATE_AFTER_MS: i64 = 5 * 60 * 1000;
/// How many of a list's first leads a preview names.
const PREVIEW_LEADS: usize = 5;
/// A team session keeps this many leads claimed (the one shown and the next), so the next is
/// there the moment a wrap-up is saved.
const TEAM_LEADS_AHEAD: usize = 2;
/// How often a team session renews its leases (they last [`crate::team::LEASE`]).
const TEAM_HEARTBEAT: Duration = Duration::from_secs(60);
/// After a claim failed (the team database is away), how long before the next try.
const CLAIM_AGAIN_AFTER: Duration = Duration::from_secs(2);

/// How the session dials: the call loop's `ask`, handed in by the wiring (this module knows no
/// call loop), answering the machine's refusal.
pub type Ask = Box<
    dyn Fn(CallEvent) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), IpcError>> + Send>>
        + Send
        + Sync,
>;

/// The session in progress, managed.
pub struct Dialer {
    session: Mutex<Option<DialingSession>>,
    ask: Ask,
    /// A claim of a team lead is under way (one at a time).
    claiming: AtomicBool,
    /// After a failed claim: not before then.
    claim_again_at: Mutex<Option<tokio::time::Instant>>,
}

impl Dialer {
    /// A dialer without a session, dialling through `ask`.
    pub fn new(ask: Ask) -> Dialer {
        Dialer { session: Mutex::default(), ask, claiming: AtomicBool::new(false), claim_again_at: Mutex::new(None) }
    }
}

fn now_ms() -> i64 {
    crate::clock::now().0 as i64
}

/// The agent's own zone places a lead nothing else places.
fn agent_zone() -> TimeZone {
    TimeZone::try_system().unwrap_or(TimeZone::UTC)
}

/// The dialer's rules, with the calling hours from the settings.
fn rules(database: &Database) -> DialRules {
    DialRules { hours: database.settings().calling_hours, ..DialRules::default() }
}

fn refused(rejection: impl std::fmt::Display) -> IpcError {
    IpcError::new(ErrorCode::CallRefused, rejection.to_string())
}

/// The list `filter` makes now: its first leads and how many are ready, deferred and refused.
pub fn preview(database: &Database, filter: &ListFilter) -> Result<ListPreview, IpcError> {
    let list = build_list(database, filter)?;
    Ok(ListPreview {
        first: list.ready.iter().take(PREVIEW_LEADS).copied().collect(),
        ready: list.ready.len() as u32,
        deferred: list.deferred.len() as u32,
        next_back_at_ms: list.deferred.first().map(|lead| lead.until_ms),
        refused: list.refused.len() as u32,
    })
}

fn build_list(database: &Database, filter: &ListFilter) -> Result<softphone_dialer::CallList, IpcError> {
    let (rules, zone, now) = (rules(database), agent_zone(), now_ms());
    database.with(|store| {
        let leads = store.leads(filter)?;
        Ok(softphone_dialer::build(leads, filter, &rules, &ListedBySource, &zone, now))
    })
}

/// Starts a session on the leads `filter` holds that may be dialled now.
pub fn start<R: Runtime>(app: &AppHandle<R>, filter: &ListFilter, mode: Mode) -> Result<DialingView, IpcError> {
    let dialer = app.state::<Dialer>();
    // One lock from the check to the new session: two Starts at once cannot both pass.
    let mut running = dialer.session.lock().map_err(|_| crate::errors::internal("The dialer"))?;
    if running.as_ref().is_some_and(|session| session.stage != Stage::Finished) {
        return Err(IpcError::new(ErrorCode::CallRefused, "A dialing session is running; stop it first."));
    }
    let list = build_list(&app.state::<Database>(), filter)?;
    if list.ready.is_empty() {
        return Err(IpcError::new(
            ErrorCode::CallRefused,
            "No lead of this list can be called now; the preview says when the first comes back.",
        ));
    }
    let (session, effects) = DialingSession::start(mode, list.ready, now_ms());
    tracing::info!(leads = session.leads_left(), ?mode, "dialing session started");
    // Kept from the start: a restart before the first action resumes it too.
    save(app, &session);
    *running = Some(session);
    drop(running);
    carry_out(app, effects);
    current_view(app)
}

/// Starts a session on a team campaign: its leads are claimed from the team database one at a
/// time as the session goes (two ahead), and given back at each wrap-up.
pub async fn start_team<R: Runtime>(app: &AppHandle<R>, campaign: &str, mode: Mode) -> Result<DialingView, IpcError> {
    let running = {
        let dialer = app.state::<Dialer>();
        let guard = dialer.session.lock().map_err(|_| crate::errors::internal("The dialer"))?;
        guard.as_ref().is_some_and(|session| session.stage != Stage::Finished)
    };
    if running {
        return Err(IpcError::new(ErrorCode::CallRefused, "A dialing session is running; stop it first."));
    }
    let team = app.state::<Team>();
    let mut leads = Vec::new();
    for _ in 0..TEAM_LEADS_AHEAD {
        match team.claim(campaign).await? {
            Some(lead) => leads.push(lead),
            None => break,
        }
    }
    if leads.is_empty() {
        return Err(IpcError::new(ErrorCode::CallRefused, "This campaign has no lead left for you now."));
    }
    let dialer = app.state::<Dialer>();
    let mut current = dialer.session.lock().map_err(|_| crate::errors::internal("The dialer"))?;
    if current.as_ref().is_some_and(|session| session.stage != Stage::Finished) {
        drop(current);
        for lead in leads {
            give_back(app, lead, None, None);
        }
        return Err(IpcError::new(ErrorCode::CallRefused, "A dialing session is running; stop it first."));
    }
    let (mut session, effects) = DialingSession::start_open_ended(mode, leads, now_ms());
    session.team_campaign = Some(campaign.to_owned());
    tracing::info!(?mode, "team dialing session started");
    save(app, &session);
    *current = Some(session);
    drop(current);
    carry_out(app, effects);
    current_view(app)
}

/// Gives a team lead back (queued here, sent by the sync; a failure to queue is logged: the
/// lease then lapses by itself).
fn give_back<R: Runtime>(app: &AppHandle<R>, lead: LeadId, disposition: Option<String>, release: Option<TeamRelease>) {
    if let Err(error) = app.state::<Team>().release(lead, disposition.as_deref(), release) {
        tracing::warn!(reason = %error.message, lead = lead.0, "a team lead could not be given back; its lease will lapse");
    }
}

/// The running session's team campaign, if it works one.
fn team_campaign<R: Runtime>(app: &AppHandle<R>) -> Option<String> {
    let dialer = app.state::<Dialer>();
    let guard = dialer.session.lock().ok()?;
    guard.as_ref().filter(|session| session.stage != Stage::Finished).and_then(|session| session.team_campaign.clone())
}

/// The leads a team session holds (the one it is on, and those queued); none for a local one.
pub fn team_leads_held<R: Runtime>(app: &AppHandle<R>) -> Vec<LeadId> {
    if team_campaign(app).is_none() {
        return Vec::new();
    }
    let dialer = app.state::<Dialer>();
    let Ok(guard) = dialer.session.lock() else { return Vec::new() };
    guard.as_ref().map(DialingSession::leads_held).unwrap_or_default()
}

/// A team session short of leads claims the next one (in the background, one claim at a time).
fn top_up<R: Runtime>(app: &AppHandle<R>) {
    let Some(campaign) = team_campaign(app) else { return };
    let short = app
        .state::<Dialer>()
        .session
        .lock()
        .ok()
        .and_then(|guard| guard.as_ref().map(|session| session.queue.is_empty()))
        .unwrap_or(false);
    let waited_enough = app
        .state::<Dialer>()
        .claim_again_at
        .lock()
        .map(|at| at.is_none_or(|at| tokio::time::Instant::now() >= at))
        .unwrap_or(true);
    if !short || !waited_enough || app.state::<Dialer>().claiming.swap(true, Ordering::SeqCst) {
        return;
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut again_at = None;
        match app.state::<Team>().claim(&campaign).await {
            Ok(Some(lead)) => match apply(&app, SessionEvent::LeadsAdded { leads: vec![lead] }) {
                Ok(effects) => carry_out(&app, effects),
                // The session ended meanwhile: the lead goes back at once.
                Err(_) => give_back(&app, lead, None, None),
            },
            // The campaign has none left for this agent: the session ends when its queue does.
            Ok(None) => {
                if let Ok(effects) = apply(&app, SessionEvent::NoMoreLeads) {
                    carry_out(&app, effects);
                }
            }
            // The team is away: the session works on what it holds, then waits; tried again soon.
            Err(error) => {
                tracing::info!(reason = %error.message, "no team lead claimed now");
                again_at = Some(tokio::time::Instant::now() + CLAIM_AGAIN_AFTER);
            }
        }
        if let Ok(mut at) = app.state::<Dialer>().claim_again_at.lock() {
            *at = again_at;
        }
        app.state::<Dialer>().claiming.store(false, Ordering::SeqCst);
        publish(&app);
    });
}

/// An action of the agent (Call, Skip, Pause, Resume, Stop) on the session.
pub fn act<R: Runtime>(app: &AppHandle<R>, event: SessionEvent) -> Result<DialingView, IpcError> {
    // What a team session gives back: a skipped lead, or every lead it holds when stopped.
    let held: Vec<LeadId> = if team_campaign(app).is_some() {
        let dialer = app.state::<Dialer>();
        let guard = dialer.session.lock().map_err(|_| crate::errors::internal("The dialer"))?;
        guard.as_ref().map(|session| session.let_go_by(&event)).unwrap_or_default()
    } else {
        Vec::new()
    };
    let effects = apply(app, event)?;
    for lead in held {
        give_back(app, lead, None, None);
    }
    carry_out(app, effects);
    current_view(app)
}

/// The session as the window shows it, if there is one.
pub fn view<R: Runtime>(app: &AppHandle<R>) -> Option<DialingView> {
    let dialer = app.state::<Dialer>();
    let guard = dialer.session.lock().ok()?;
    guard.as_ref().map(describe)
}

/// The wrap-up of `call_id` was saved: the session's call's, it lets the next lead come (and a
/// team lead goes back to the team, for good or for later by its disposition).
pub fn wrapped_up<R: Runtime>(app: &AppHandle<R>, call_id: &softphone_core::call::CallId, disposition: &str) {
    let ours = {
        let dialer = app.state::<Dialer>();
        let guard = dialer.session.lock();
        match guard.as_deref() {
            Ok(Some(DialingSession {
                stage: Stage::WrappingUp { call_id: Some(id), lead_id }, team_campaign, ..
            })) if id == call_id => Some((*lead_id, team_campaign.is_some())),
            _ => None,
        }
    };
    let Some((lead, team)) = ours else { return };
    if !team {
        if let Ok(effects) = apply(app, SessionEvent::WrapUpSaved { disposition: disposition.to_owned() }) {
            carry_out(app, effects);
        }
        return;
    }
    // A team session with nothing queued waits for its next claim (the top-up) after this.
    if let Ok(effects) = apply(app, SessionEvent::WrapUpSaved { disposition: disposition.to_owned() }) {
        let release = rules(&app.state::<Database>()).team_release(disposition);
        give_back(app, lead, Some(disposition.to_owned()), Some(release));
        carry_out(app, effects);
    }
}

/// A greeting was dropped into `call_id`: the session's call, it counts as wrapped up
/// (`voicemail-left`) and the next lead comes at once while the greeting plays on.
pub fn voicemail_dropped<R: Runtime>(app: &AppHandle<R>, call_id: &softphone_core::call::CallId) {
    let answered =
        {
            let dialer = app.state::<Dialer>();
            let guard = dialer.session.lock();
            match guard.as_deref() {
                Ok(Some(DialingSession {
                    stage: Stage::Calling { call_id: Some(id), answered_at_ms, .. }, ..
                })) if id == call_id => Some(answered_at_ms.is_some()),
                _ => None,
            }
        };
    let Some(answered) = answered else { return };
    // The answer may not have been followed yet (the session looks every tick).
    if !answered {
        let _ = apply(app, SessionEvent::CallAnswered);
    }
    let lead = app
        .state::<Dialer>()
        .session
        .lock()
        .ok()
        .and_then(|guard| guard.as_ref().and_then(DialingSession::current_lead));
    let team = team_campaign(app).is_some();
    match apply(app, SessionEvent::VoicemailDropped) {
        Ok(effects) => {
            if let (Some(lead), true) = (lead, team) {
                let code = softphone_core::disposition::Disposition::VoicemailLeft.code();
                let release = rules(&app.state::<Database>()).team_release(code);
                give_back(app, lead, Some(code.to_owned()), Some(release));
            }
            carry_out(app, effects)
        }
        Err(error) => tracing::warn!(reason = %error.message, "the session did not move on after the voicemail drop"),
    }
}

/// Writes the report of the session (running, or just finished) to `path` as CSV: each lead
/// worked, called (with its call's outcome, disposition and talk time) or skipped (with why).
pub fn save_report<R: Runtime>(app: &AppHandle<R>, path: &std::path::Path) -> Result<usize, IpcError> {
    let session = app
        .state::<Dialer>()
        .session
        .lock()
        .map_err(|_| crate::errors::internal("The dialer"))?
        .clone()
        .ok_or_else(|| IpcError::new(ErrorCode::NotFound, "There is no dialing session to report on yet."))?;
    let worked: std::collections::BTreeSet<LeadId> = session
        .dialled
        .iter()
        .map(|dialled| dialled.lead_id)
        .chain(session.skips.iter().map(|skip| skip.lead_id))
        .collect();
    let (calls, leads) = app.state::<Database>().with(|store| {
        let mut calls = Vec::new();
        let mut leads = std::collections::HashMap::new();
        for lead_id in &worked {
            if session.dialled.iter().any(|dialled| dialled.lead_id == *lead_id) {
                calls.extend(store.calls_of_lead(*lead_id, softphone_core::lead::Page { limit: 20, offset: 0 })?);
            }
            // A lead deleted since is reported by its id.
            if let Ok(lead) = store.lead(*lead_id) {
                leads.insert(*lead_id, lead);
            }
        }
        Ok((calls, leads))
    })?;
    let rows = softphone_dialer::report::rows(&session, &calls, |id| leads.get(&id).cloned());
    let written = std::fs::File::create(path).map_err(|error| error.to_string()).and_then(|file| {
        softphone_dialer::report::write_csv(&rows, std::io::BufWriter::new(file)).map_err(|error| error.to_string())
    });
    if let Err(reason) = written {
        return Err(IpcError::new(
            ErrorCode::StoreFailed,
            format!("Could not write the report to {}: {reason}", path.display()),
        ));
    }
    tracing::info!(rows = rows.len(), "dialing report saved");
    Ok(rows.len())
}

/// Resumes a session a restart interrupted, and follows the session's calls and countdown for
/// the life of the app.
pub fn follow<R: Runtime>(app: &AppHandle<R>) {
    let kept = app.state::<Database>().with(|store| store.dialing_session()).ok().flatten();
    if let Some(session) = kept {
        tracing::info!(leads = session.leads_left(), "dialing session resumed after a restart");
        if let Ok(mut current) = app.state::<Dialer>().session.lock() {
            *current = Some(session.resumed());
        }
    }
    tauri::async_runtime::spawn(remind_callbacks(app.clone()));
    let app = app.clone();
    let mut calls = app.state::<watch::Receiver<CallsSnapshot>>().inner().clone();
    tauri::async_runtime::spawn(async move {
        let mut heartbeat_at = tokio::time::Instant::now();
        loop {
            // Whichever comes first: a change of the calls, or the next tick.
            let _ = tokio::time::timeout(TICK, calls.changed()).await;
            top_up(&app);
            if team_campaign(&app).is_some() && heartbeat_at.elapsed() >= TEAM_HEARTBEAT {
                heartbeat_at = tokio::time::Instant::now();
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    if let Err(error) = app.state::<Team>().renew().await {
                        tracing::info!(reason = %error.message, "the team leases could not be renewed now");
                    }
                });
            }
            let snapshot = calls.borrow_and_update().clone();
            for event in call_events(&app, &snapshot) {
                if let Ok(effects) = apply(&app, event) {
                    carry_out(&app, effects);
                }
            }
            if let Ok(effects) = apply(&app, SessionEvent::Tick) {
                carry_out(&app, effects);
            }
        }
    });
}

/// Shows a notification (with Call back) for each callback that comes due, once per promise.
async fn remind_callbacks<R: Runtime>(app: AppHandle<R>) {
    let mut told = std::collections::HashSet::new();
    loop {
        tokio::time::sleep(CALLBACK_CHECK).await;
        let due = match app.state::<Database>().with(|store| store.due_callbacks(now_ms())) {
            Ok(due) => due,
            // The database is not open (it said why at start-up); nothing to remind.
            Err(_) => continue,
        };
        for lead in due {
            if told.insert((lead.id, lead.callback_due_at_ms)) {
                tracing::info!(lead_id = lead.id.0, "a callback is due");
                crate::notifications::show_callback_due(&app, &lead);
            }
        }
    }
}

/// What the session's call did since the session last looked.
fn call_events<R: Runtime>(app: &AppHandle<R>, snapshot: &CallsSnapshot) -> Vec<SessionEvent> {
    let dialer = app.state::<Dialer>();
    let Ok(guard) = dialer.session.lock() else { return Vec::new() };
    let Some(Stage::Calling { call_id: Some(call_id), answered_at_ms, .. }) = guard.as_ref().map(|s| &s.stage) else {
        return Vec::new();
    };
    let call = snapshot.calls.iter().find(|call| &call.call_id == call_id);
    let mut events = Vec::new();
    let answered = call.is_some_and(|call| call.answered_at.is_some());
    if answered && answered_at_ms.is_none() {
        events.push(SessionEvent::CallAnswered);
    }
    // Ended, or gone from the snapshot (dismissed).
    if call.is_none_or(|call| call.view == CallView::Ended) {
        events.push(SessionEvent::CallEnded);
    }
    events
}

fn apply<R: Runtime>(app: &AppHandle<R>, event: SessionEvent) -> Result<Vec<SessionEffect>, IpcError> {
    let dialer = app.state::<Dialer>();
    let mut guard = dialer.session.lock().map_err(|_| crate::errors::internal("The dialer"))?;
    let session =
        guard.as_mut().ok_or_else(|| IpcError::new(ErrorCode::CallRefused, "No dialing session is running."))?;
    let before = session.clone();
    let effects = session.apply(event, now_ms()).map_err(refused)?;
    if *session != before {
        save(app, session);
    }
    Ok(effects)
}

fn save<R: Runtime>(app: &AppHandle<R>, session: &DialingSession) {
    let database = app.state::<Database>();
    let saved = if session.stage == Stage::Finished {
        database.with(|store| store.clear_dialing_session())
    } else {
        database.with(|store| store.save_dialing_session(session))
    };
    if let Err(error) = saved {
        tracing::warn!(reason = %error.message, "the dialing session could not be saved; a restart would lose it");
    }
}

/// Carries out the session's effects: a lead shown goes to the window; a lead to dial is checked
/// against the rules and dialled through the call loop; the result goes back to the session.
fn carry_out<R: Runtime>(app: &AppHandle<R>, effects: Vec<SessionEffect>) {
    for effect in effects {
        match effect {
            SessionEffect::Show { lead_id } => tracing::info!(lead_id = lead_id.0, "dialing: next lead"),
            SessionEffect::Finished => tracing::info!("dialing session finished"),
            SessionEffect::Dial { lead_id } => {
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    let answer = match dial(&app, lead_id).await {
                        Ok(call_id) => SessionEvent::CallPlaced { call_id },
                        Err(reason) => {
                            // Not dialled here (the rules, the number): back to the team for later.
                            if team_campaign(&app).is_some() {
                                let release =
                                    TeamRelease::RetryAfter { ms: rules(&app.state::<Database>()).min_gap_ms };
                                give_back(&app, lead_id, None, Some(release));
                            }
                            SessionEvent::DialRefused { reason }
                        }
                    };
                    if let Ok(effects) = apply(&app, answer) {
                        carry_out(&app, effects);
                    }
                    publish(&app);
                });
            }
        }
    }
    publish(app);
}

/// The rules, then the dial; `Err` is why the lead was not dialled.
async fn dial<R: Runtime>(app: &AppHandle<R>, lead_id: LeadId) -> Result<softphone_core::call::CallId, String> {
    let database = app.state::<Database>();
    let (rules, zone, now) = (rules(&database), agent_zone(), now_ms());
    let checked = database
        .with(|store| {
            let lead = store.list_lead(lead_id)?;
            Ok(lead.map(|lead| (softphone_dialer::verdict(&lead.dial, now, &rules, &*store, &zone), lead)))
        })
        .map_err(|error| error.message)?;
    let Some((verdict, lead)) = checked else { return Err("The lead no longer exists.".to_owned()) };
    match verdict {
        Verdict::Dial => {}
        Verdict::Refused { why } => return Err(why.to_string()),
        Verdict::Deferred { until_ms, .. } => {
            let minutes = (until_ms - now_ms()).max(0) / 60_000;
            return Err(format!(
                "Not now: the lead may be called in {minutes} min (its hours or the gap since the last call)."
            ));
        }
    }
    let (call_id, dial) =
        crate::dialing::dial_event(app, lead.dial.phone.as_e164(), Some(lead_id)).map_err(|error| error.message)?;
    let asked = (app.state::<Dialer>().ask)(dial);
    asked.await.map_err(|error| error.message)?;
    Ok(call_id)
}

fn publish<R: Runtime>(app: &AppHandle<R>) {
    let view = view(app);
    if let Err(error) = app.emit(event::DIALING_UPDATED, view) {
        tracing::warn!(%error, "could not tell the window about the dialing session");
    }
}

fn describe(session: &DialingSession) -> DialingView {
    let (stage, dial_at_ms, paused) = match &session.stage {
        Stage::Showing { dial_at_ms, paused, .. } => (DialingStage::Showing, *dial_at_ms, *paused),
        Stage::Calling { .. } => (DialingStage::Calling, None, false),
        Stage::WrappingUp { .. } => (DialingStage::WrappingUp, None, false),
        Stage::Waiting => (DialingStage::Waiting, None, false),
        Stage::Finished => (DialingStage::Finished, None, false),
    };
    let figures = &session.figures;
    DialingView {
        mode: session.mode,
        stage,
        lead_id: session.current_lead(),
        dial_at_ms,
        paused,
        leads_left: session.leads_left() as u32,
        dials: figures.dials,
        connects: figures.connects,
        talk_ms: figures.talk_ms,
        skipped: figures.skipped,
        dispositions: figures.dispositions.iter().map(|(code, count)| (code.clone(), *count)).collect(),
        calls_per_hour: (now_ms() - session.started_at_ms >= RATE_AFTER_MS)
            .then(|| figures.calls_per_hour(session.started_at_ms, now_ms())),
        last_skip: session.skips.last().map(|skip| skip.reason.clone()),
    }
}

/// The session's view right after an action on it (there is a session: the action found one).
fn current_view<R: Runtime>(app: &AppHandle<R>) -> Result<DialingView, IpcError> {
    view(app).ok_or_else(|| crate::errors::internal("The dialing session"))
}
