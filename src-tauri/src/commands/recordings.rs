//! Commands about recording calls (Telnyx records; the agent starts, pauses, resumes and stops)
//! and playing a recorded call back from the call log.

use softphone_core::call::{CallEvent, CallId};
use softphone_core::call_log::CallLogId;
use softphone_core::ipc::IpcError;
use tauri::{AppHandle, Runtime, State};

use crate::audio::Audio;
use crate::call_loop::CallLoop;
use crate::database::Database;
use crate::recordings::Recordings;

/// Starts recording a connected call (after a beep both sides hear).
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn record_call(calls: State<'_, CallLoop>, call_id: CallId) -> Result<(), IpcError> {
    calls.ask(CallEvent::Record { call_id }).await
}

/// Pauses the recording (`paused`: a card number is read out) or resumes it.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn pause_call_recording(calls: State<'_, CallLoop>, call_id: CallId, paused: bool) -> Result<(), IpcError> {
    calls.ask(CallEvent::PauseRecording { call_id, paused }).await
}

/// Stops recording the call; what was recorded is kept.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn stop_call_recording(calls: State<'_, CallLoop>, call_id: CallId) -> Result<(), IpcError> {
    calls.ask(CallEvent::StopRecording { call_id }).await
}

/// Plays the recordings of a logged call on the call speaker, one after the other.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn play_call_recording<R: Runtime>(
    app: AppHandle<R>,
    audio: State<'_, Audio>,
    database: State<'_, Database>,
    recordings: State<'_, Recordings>,
    call_log_id: CallLogId,
) -> Result<(), IpcError> {
    let files = database.with(|store| store.call_recording_files(call_log_id))?;
    super::voicemail::play_on_speaker(app, &audio, recordings.samples(&files)?)
}

/// Stops a recording playing on the speaker.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub fn stop_playing_recording(audio: State<'_, Audio>) {
    audio.stop_playing();
}
