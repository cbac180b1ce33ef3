//! The call loop: the one task that owns the [`CallMachine`].
//!
//! Everything that happens to a call is a [`CallEvent`] in its inbox: a command from the window
//! ([`CallLoop::ask`], which answers with the machine's refusal if there is one), an engine's
//! update, a notification click, a tray action or Do Not Disturb (adapters hold an
//! `UnboundedSender<CallEvent>` and never call the machine), and its own tick while calls are
//! live. For each event the loop applies it, carries out the effects in the order the machine
//! gives them, through the adapters, and publishes the snapshot (`watch::Receiver<CallsSnapshot>`
//! for readers in the shell, `call://updated` for the window).
//!
//! Dependencies run one way: commands → this loop → adapters → crates.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use softphone_core::call::{
    CallControlAction, CallControlCommand, CallEvent, CallId, CallMachine, CallsSnapshot, Effect, TelnyxLeg,
};
use softphone_core::call_log::CallEngine;
use softphone_core::ipc::{IpcError, event};
use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::{mpsc, oneshot, watch};

use crate::account::Account;
use crate::audio::Audio;
use crate::clock::now;
use crate::database::Database;
use crate::engine::EngineHost;
use crate::errors;
use crate::recordings::Recordings;

/// How often deadlines are checked while calls exist.
const TICK: Duration = Duration::from_secs(1);

/// A command's event and where its outcome goes.
type Asked = (CallEvent, oneshot::Sender<Result<(), IpcError>>);

/// The loop's ends, as managed state: the inbox for commands, and the latest snapshot.
pub struct CallLoop {
    asks: mpsc::UnboundedSender<Asked>,
    snapshot: watch::Receiver<CallsSnapshot>,
    /// The receiving ends, until the loop starts with the app.
    pending: Mutex<Option<Inboxes>>,
}

struct Inboxes {
    asks: mpsc::UnboundedReceiver<Asked>,
    events: mpsc::UnboundedReceiver<CallEvent>,
    snapshot: watch::Sender<CallsSnapshot>,
}

impl CallLoop {
    /// The loop's channels. The sender for adapters' events and the snapshot receiver are
    /// managed as plain crate types, so adapters reach them without knowing this module.
    pub fn new() -> (CallLoop, mpsc::UnboundedSender<CallEvent>, watch::Receiver<CallsSnapshot>) {
        let (asks, asks_rx) = mpsc::unbounded_channel();
        let (events, events_rx) = mpsc::unbounded_channel();
        let (snapshot_tx, snapshot) = watch::channel(CallsSnapshot::default());
        let inboxes = Inboxes { asks: asks_rx, events: events_rx, snapshot: snapshot_tx };
        let handle = CallLoop { asks, snapshot: snapshot.clone(), pending: Mutex::new(Some(inboxes)) };
        (handle, events, snapshot)
    }

    /// Feeds `event` to the machine; `Err` is its refusal (nothing changed).
    pub async fn ask(&self, event: CallEvent) -> Result<(), IpcError> {
        (self.asker())(event).await
    }

    /// `ask` as an owned function, for a module that may not know the loop (the dialing session).
    pub fn asker(
        &self,
    ) -> impl Fn(CallEvent) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), IpcError>> + Send>>
    + Send
    + Sync
    + 'static {
        let asks = self.asks.clone();
        move |event| {
            let asks = asks.clone();
            Box::pin(async move {
                let (reply, outcome) = oneshot::channel();
                asks.send((event, reply)).map_err(|_| errors::internal("The call loop has stopped"))?;
                outcome.await.map_err(|_| errors::internal("The call loop has stopped"))?
            })
        }
    }

    /// The calls as of the last event.
    pub fn snapshot(&self) -> CallsSnapshot {
        self.snapshot.borrow().clone()
    }
}

/// Starts the loop when the app is built (the real app and the mock runtime alike).
pub fn plugin<R: Runtime>() -> TauriPlugin<R> {
    tauri::plugin::Builder::new("call-loop")
        .setup(|app, _api| {
            let taken = app.state::<CallLoop>().pending.lock().ok().and_then(|mut pending| pending.take());
            if let Some(inboxes) = taken {
                tauri::async_runtime::spawn(run(app.clone(), inboxes));
            }
            Ok(())
        })
        .build()
}

async fn run<R: Runtime>(app: AppHandle<R>, mut inboxes: Inboxes) {
    let mut machine = CallMachine::new();
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let (event, reply) = tokio::select! {
            asked = inboxes.asks.recv() => match asked {
                Some((event, reply)) => (event, Some(reply)),
                None => return,
            },
            Some(event) = inboxes.events.recv() => (event, None),
            _ = ticker.tick() => {
                if !machine.has_live_calls() {
                    continue;
                }
                (CallEvent::Tick, None)
            }
        };
        let outcome = apply(&app, &mut machine, &inboxes.snapshot, event);
        if let Some(reply) = reply {
            let _ = reply.send(outcome);
        }
    }
}

/// Applies `event`, then what its effects bring back (a lead matched to the caller), in order.
/// The first event's refusal is the answer; a refused follow-up is only logged.
fn apply<R: Runtime>(
    app: &AppHandle<R>,
    machine: &mut CallMachine,
    snapshot: &watch::Sender<CallsSnapshot>,
    event: CallEvent,
) -> Result<(), IpcError> {
    let mut queue = VecDeque::from(step(app, machine, snapshot, event)?);
    while let Some(next) = queue.pop_front() {
        if let Ok(more) = step(app, machine, snapshot, next) {
            queue.extend(more);
        }
    }
    Ok(())
}

/// One event: applied, the snapshot published, the effects carried out. Returns the events the
/// effects brought back.
fn step<R: Runtime>(
    app: &AppHandle<R>,
    machine: &mut CallMachine,
    snapshot: &watch::Sender<CallsSnapshot>,
    event: CallEvent,
) -> Result<Vec<CallEvent>, IpcError> {
    let effects = machine.handle(event.clone(), now()).map_err(IpcError::from).inspect_err(|error| {
        tracing::warn!(?event, reason = %error.message, "call event refused");
    })?;
    let current = machine.snapshot();
    snapshot.send_replace(current.clone());
    Ok(effects.into_iter().filter_map(|effect| carry_out(app, effect, &current)).collect())
}

/// Downloads the recordings of a call that ended into the recordings folder and lists them with
/// its call-log row; returns how long they last together.
async fn keep_recordings<R: Runtime>(app: &AppHandle<R>, call_id: &CallId, leg: &TelnyxLeg) -> Result<u64, IpcError> {
    let access = app.state::<Arc<Account>>().rest_access().await;
    let files = crate::call_control::fetch_recordings(access, leg).await?;
    let database = app.state::<Database>();
    let row = database.finished_row(call_id)?;
    let mut duration_ms = 0;
    for (recording, bytes) in files {
        let file = app.state::<Recordings>().save(row.0, &recording.id, &bytes)?;
        let duration = i64::try_from(recording.duration_ms).unwrap_or(i64::MAX);
        database.with(|store| store.add_call_recording(row, &recording.id, &file, duration, now().0 as i64))?;
        duration_ms += recording.duration_ms;
    }
    Ok(duration_ms)
}

/// Carries out one effect through its adapter; returns the event it brings back, if any.
fn carry_out<R: Runtime>(app: &AppHandle<R>, effect: Effect, snapshot: &CallsSnapshot) -> Option<CallEvent> {
    let database = app.state::<Database>();
    let outcome: Result<Option<CallEvent>, String> = match &effect {
        Effect::Engine(command) => {
            app.state::<EngineHost>().send(app, command.clone());
            Ok(None)
        }
        // Telnyx answers in its own time; a refusal comes back as an event.
        Effect::CallControl(CallControlCommand::KeepRecordings { call_id, leg }) => {
            let (app, call_id, leg) = (app.clone(), call_id.clone(), leg.clone());
            tauri::async_runtime::spawn(async move {
                let outcome = keep_recordings(&app, &call_id, &leg).await;
                let event = match outcome {
                    Ok(duration_ms) => CallEvent::RecordingsKept { call_id, duration_ms },
                    Err(error) => CallEvent::CallControlRefused {
                        call_id,
                        refused: CallControlAction::KeepRecordings,
                        message: format!("The call's recording was not kept: {}", error.message),
                    },
                };
                let _ = app.state::<mpsc::UnboundedSender<CallEvent>>().send(event);
            });
            Ok(None)
        }
        Effect::CallControl(command) => {
            let (app, command) = (app.clone(), command.clone());
            tauri::async_runtime::spawn(async move {
                let access = app.state::<Arc<Account>>().rest_access().await;
                if let Some(refused) = crate::call_control::carry_out(access, command).await {
                    let _ = app.state::<mpsc::UnboundedSender<CallEvent>>().send(refused);
                }
            });
            Ok(None)
        }
        Effect::Ringer { mode } => {
            app.state::<Audio>().ring(*mode);
            Ok(None)
        }
        Effect::NotifyIncoming { call_id, remote } => {
            crate::notifications::show_incoming(app, call_id, remote, database.find_caller(&remote.number));
            Ok(None)
        }
        Effect::WithdrawIncoming { call_id } => {
            crate::notifications::withdraw(app, call_id);
            Ok(None)
        }
        Effect::NotifyMissed { call_id, remote } => {
            crate::notifications::show_missed(app, call_id, remote, database.find_caller(&remote.number));
            Ok(None)
        }
        // The tray follows the snapshot by itself.
        Effect::Publish => app.emit(event::CALL_UPDATED, snapshot).map(|()| None).map_err(|e| e.to_string()),
        Effect::LogStarted { call_id, direction, remote, lead_id, at } => {
            let engine = app.state::<EngineHost>().kind().unwrap_or(CallEngine::Webview);
            match database.call_started(call_id, *direction, remote, *lead_id, engine, at.0 as i64) {
                // Screen-pop: the store matched the caller to a lead.
                Ok(Some(matched)) if lead_id.is_none() => {
                    Ok(Some(CallEvent::LeadMatched { call_id: call_id.clone(), lead_id: matched }))
                }
                Ok(_) => Ok(None),
                Err(error) => Err(error.message),
            }
        }
        Effect::LogAnswered { call_id, at } => {
            database.call_answered(call_id, at.0 as i64).map(|()| None).map_err(|e| e.message)
        }
        Effect::LogFinished { call_id, end, .. } => {
            database.call_finished(call_id, end).map(|()| None).map_err(|e| e.message)
        }
        Effect::DoNotDisturb { on } => {
            database.remember_do_not_disturb(*on);
            crate::notifications::publish_status(app);
            Ok(None)
        }
        // The wrap-up form opens in the window from the snapshot (an ended call); the link to the
        // lead is written with the call's start. Recorded in the log.
        Effect::LogLeadMatched { .. } | Effect::OpenWrapUp { .. } => {
            tracing::info!(?effect, "call effect");
            Ok(None)
        }
    };
    outcome.unwrap_or_else(|error| {
        tracing::error!(%error, ?effect, "a call effect failed");
        None
    })
}
