//! Runs the call state machine: feeds it events, carries out its effects, publishes snapshots.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use softphone_core::call::{CallEvent, CallMachine, CallsSnapshot, Effect, UnixMillis};
use softphone_core::ipc::{IpcError, event};
use tauri::{AppHandle, Emitter, Manager, Runtime};

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
    for effect in effects {
        carry_out(app, effect, &snapshot);
    }
    Ok(())
}

fn carry_out<R: Runtime>(app: &AppHandle<R>, effect: Effect, snapshot: &CallsSnapshot) {
    let emitted = match &effect {
        Effect::Engine(command) => app.emit(event::ENGINE_COMMAND, command),
        Effect::Publish => app.emit(event::CALL_UPDATED, snapshot),
        // The call log, ringer and notifications are carried out by their own modules as they
        // land; until then the effect is recorded in the log.
        other => {
            tracing::info!(effect = ?other, "call effect");
            Ok(())
        }
    };
    if let Err(error) = emitted {
        tracing::error!(%error, ?effect, "could not emit to the window");
    }
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
