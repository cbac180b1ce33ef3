//! Commands of the voicemail drop: the agent's greetings (imported WAV files), and the drop itself.

use softphone_core::call::{CallEvent, CallId, GREETING_MAX_SECS};
use softphone_core::disposition::Disposition;
use softphone_core::ipc::{Greeting, IpcError};
use tauri::{AppHandle, Manager, Runtime, State};

use crate::audio::Audio;
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

/// Starts recording a greeting from the microphone (at most two minutes).
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn start_greeting_recording(audio: State<'_, Audio>) -> Result<(), IpcError> {
    audio.start_recording(GREETING_MAX_SECS as u32)
}

/// Stops the recording and keeps it as the greeting `name`.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn finish_greeting_recording(
    audio: State<'_, Audio>,
    greetings: State<'_, Greetings>,
    name: String,
) -> Result<Greeting, IpcError> {
    let samples = audio.finish_recording()?;
    greetings.save_recorded(&name, &samples)
}

/// Plays the greeting `name` on the call speaker, for the agent to listen to.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn play_greeting<R: Runtime>(
    app: AppHandle<R>,
    audio: State<'_, Audio>,
    greetings: State<'_, Greetings>,
    name: String,
) -> Result<(), IpcError> {
    play_on_speaker(app, &audio, greetings.samples(&name)?)
}

/// Plays `samples` (48 kHz mono) on the call speaker; once they have played out, the devices may
/// close (nothing else may be using them).
pub(crate) fn play_on_speaker<R: Runtime>(
    app: AppHandle<R>,
    audio: &Audio,
    samples: std::sync::Arc<[f32]>,
) -> Result<(), IpcError> {
    audio.play(samples)?;
    tauri::async_runtime::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            if app.state::<Audio>().release_played() {
                break;
            }
        }
    });
    Ok(())
}

/// Stops a greeting playing on the speaker.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub fn stop_greeting(audio: State<'_, Audio>) {
    audio.stop_playing();
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
