//! Runs the call state machine: feeds it events, carries out its effects, publishes snapshots.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use softphone_core::call::{CallEvent, CallId, CallMachine, CallsSnapshot, Effect, EngineUpdate, UnixMillis};
use softphone_core::call_log::CallEngine;
use softphone_core::ipc::{IpcError, event};
use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::database::Database;
use crate::engine::EngineHost;
use crate::errors;

/// How often deadlines are checked while calls exist.
const TICK: Duration = Duration::from_secs(1);

/// The machine, as managed state.
#[derive(Default)]
pub struct Calls(Mutex<CallMachine>);

pub fn now() -> UnixMillis {
    UnixMillis(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64))
}

impl Calls {
    pub fn snapshot(&self) -> Result<CallsSnapshot, IpcError> {
        self.0.lock().map(|machine| machine.snapshot()).map_err(|_| errors::internal("Reading the calls"))
    }

    fn handle(&self, event: CallEvent) -> Result<(Vec<Effect>, CallsSnapshot), IpcError> {
        let mut machine = self.0.lock().map_err(|_| errors::internal("Updating the calls"))?;
        let effects = machine.handle(event, now()).map_err(errors::call)?;
        Ok((effects, machine.snapshot()))
    }
}

/// Feeds one event to the machine and carries out what it decides. A refused event changes
/// nothing and comes back as the command's error.
pub fn dispatch<R: Runtime>(app: &AppHandle<R>, event: CallEvent) -> Result<(), IpcError> {
    let calls = app.state::<Calls>();
    let (effects, snapshot) = calls.handle(event.clone()).inspect_err(|error| {
        tracing::warn!(?event, reason = %error.message, "call event refused");
    })?;
    // In the machine's order: what the agent must notice at once comes first.
    for effect in effects {
        carry_out(app, effect, &snapshot);
    }
    Ok(())
}

fn carry_out<R: Runtime>(app: &AppHandle<R>, effect: Effect, snapshot: &CallsSnapshot) {
    let database = app.state::<Database>();
    let outcome: Result<(), String> = match &effect {
        Effect::Engine(command) => {
            app.state::<EngineHost>().send(app, command.clone());
            Ok(())
        }
        Effect::Ringer { mode } => {
            app.state::<EngineHost>().ring(*mode);
            Ok(())
        }
        Effect::NotifyIncoming { call_id, remote } => {
            crate::notifications::show_incoming(app, call_id, remote);
            Ok(())
        }
        Effect::WithdrawIncoming { call_id } => {
            crate::notifications::withdraw(app, call_id);
            Ok(())
        }
        Effect::NotifyMissed { call_id, remote } => {
            crate::notifications::show_missed(app, call_id, remote);
            Ok(())
        }
        Effect::Publish => {
            crate::desktop::refresh_tray(app);
            app.emit(event::CALL_UPDATED, snapshot).map_err(|e| e.to_string())
        }
        Effect::LogStarted { call_id, direction, remote, lead_id, at } => {
            let engine = app.state::<EngineHost>().kind().unwrap_or(CallEngine::Webview);
            match database.call_started(call_id, *direction, remote, *lead_id, engine, at.0 as i64) {
                // Screen-pop: the store matched the caller to a lead.
                Ok(Some(matched)) if lead_id.is_none() => {
                    dispatch(app, CallEvent::LeadMatched { call_id: call_id.clone(), lead_id: matched })
                        .map_err(|e| e.message)
                }
                Ok(_) => Ok(()),
                Err(error) => Err(error.message),
            }
        }
        Effect::LogAnswered { call_id, at } => database.call_answered(call_id, at.0 as i64).map_err(|e| e.message),
        Effect::LogFinished { call_id, end, .. } => database.call_finished(call_id, end).map_err(|e| e.message),
        // The wrap-up form opens in the window from the snapshot (an ended call); the link to the
        // lead is written with the call's start. Recorded in the log.
        Effect::LogLeadMatched { .. } | Effect::OpenWrapUp { .. } => {
            tracing::info!(?effect, "call effect");
            Ok(())
        }
    };
    if let Err(error) = outcome {
        tracing::error!(%error, ?effect, "a call effect failed");
    }
}

/// What an engine saw happen to a call (in Do Not Disturb the machine turns an inbound call
/// away at once).
pub fn engine_update<R: Runtime>(app: &AppHandle<R>, call_id: CallId, update: EngineUpdate) -> Result<(), IpcError> {
    dispatch(app, CallEvent::Engine { call_id, update })
}

/// Expires deadlines: ticks the machine once a second for the life of the app.
pub fn spawn_ticker<R: Runtime>(app: AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        loop {
            tokio::time::sleep(TICK).await;
            let live = app.state::<Calls>().0.lock().map(|machine| machine.has_live_calls()).unwrap_or(false);
            if live {
                let _ = dispatch(&app, CallEvent::Tick);
            }
        }
    });
}
