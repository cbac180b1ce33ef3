//! Commands of the voicemail drop: the agent's greetings (imported WAV files), and the drop itself.

use softphone_core::call::{CallEvent, CallId};
use softphone_core::disposition::Disposition;
use softphone_core::ipc::{Greeting, IpcError};
use tauri::{AppHandle, Runtime, State};

use crate::call_loop::CallLoop;
use crate::database::Database;
use crate::greetings::Greetings;

/// The greetings the agent can drop, by name.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn list_greetings(greetings: State<'_, Greetings>) -> Result<Vec<Greeting>, IpcError> {
    greetings.list()
}

/// Imports the WAV file at `path` as a greeting (checked to play, half a second to two minutes).
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn import_greeting(greetings: State<'_, Greetings>, path: String) -> Result<Greeting, IpcError> {
    greetings.import(std::path::Path::new(path.trim()))
}

/// The WAV bytes of the greeting `name`, for the webview engine's voicemail drop.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn read_greeting(greetings: State<'_, Greetings>, name: String) -> Result<Vec<u8>, IpcError> {
    greetings.bytes(&name)
}

/// Drops the chosen greeting into `call_id` (answered by a voicemail box): it plays instead of the
/// microphone and the call hangs up when it ends. The call is wrapped up as `voicemail-left` at
/// once, and a dialing session moves on to its next lead meanwhile.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn drop_voicemail<R: Runtime>(
    app: AppHandle<R>,
    calls: State<'_, CallLoop>,
    database: State<'_, Database>,
    greetings: State<'_, Greetings>,
    call_id: CallId,
) -> Result<(), IpcError> {
    let greeting = greetings.file_to_drop(database.settings().voicemail_greeting.as_deref())?;
    let row = database.live_row(&call_id)?;
    calls.ask(CallEvent::DropVoicemail { call_id: call_id.clone(), greeting: greeting.display().to_string() }).await?;
    let disposition = Disposition::VoicemailLeft;
    let now = crate::clock::now().0 as i64;
    let entry = database.with(|store| store.set_call_disposition(row, Some(&disposition), "", now))?;
    // A callback promised earlier is done with, as after any wrap-up.
    if let Some(lead_id) = entry.lead_id {
        database.with(|store| store.set_lead_callback(lead_id, None, now))?;
    }
    crate::dialing_session::voicemail_dropped(&app, &call_id);
    tracing::info!(call_id = %call_id.0, "voicemail dropped");
    Ok(())
}
