//! Commands about calls: each asks the call loop (and returns its refusal); the snapshot, the
//! diagnostics and the audio meter.

use softphone_core::call::{CallEvent, CallId, CallsSnapshot, EngineUpdate, Participant, ParticipantChange};
use softphone_core::disposition::Disposition;
use softphone_core::ipc::{AudioMeter, Diagnostics, ErrorCode, IpcError};
use softphone_core::lead::LeadId;
use tauri::{AppHandle, Runtime, State};

use softphone_store::CallLogEntry;

use crate::audio::Audio;
use crate::call_loop::CallLoop;
use crate::connection::Connection;
use crate::database::Database;
use crate::engine::EngineHost;

use super::call_log::set_call_disposition;

#[tauri::command]
#[tracing::instrument(skip_all)]
pub fn get_calls(calls: State<'_, CallLoop>) -> CallsSnapshot {
    calls.snapshot()
}

/// Validates the number, then dials it. Returns the new call's id.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn place_call<R: Runtime>(
    app: AppHandle<R>,
    calls: State<'_, CallLoop>,
    number: String,
    lead_id: Option<LeadId>,
) -> Result<CallId, IpcError> {
    let (call_id, dial) = crate::dialing::dial_event(&app, &number, lead_id)?;
    calls.ask(dial).await?;
    Ok(call_id)
}

#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn answer_call(calls: State<'_, CallLoop>, call_id: CallId) -> Result<(), IpcError> {
    calls.ask(CallEvent::Answer { call_id }).await
}

#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn decline_call(calls: State<'_, CallLoop>, call_id: CallId) -> Result<(), IpcError> {
    calls.ask(CallEvent::Decline { call_id }).await
}

#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn hang_up_call(calls: State<'_, CallLoop>, call_id: CallId) -> Result<(), IpcError> {
    calls.ask(CallEvent::Hangup { call_id }).await
}

#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn hold_call(calls: State<'_, CallLoop>, call_id: CallId) -> Result<(), IpcError> {
    calls.ask(CallEvent::Hold { call_id }).await
}

#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn resume_call(calls: State<'_, CallLoop>, call_id: CallId) -> Result<(), IpcError> {
    calls.ask(CallEvent::Resume { call_id }).await
}

#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn set_call_muted(calls: State<'_, CallLoop>, call_id: CallId, muted: bool) -> Result<(), IpcError> {
    calls.ask(CallEvent::SetMuted { call_id, muted }).await
}

/// Hands a connected call on to `to` (a number or a SIP address): Telnyx rings it, and the
/// agent's leg ends when it answers (a blind transfer). A refusal comes back on the call's card.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn transfer_call<R: Runtime>(
    app: AppHandle<R>,
    calls: State<'_, CallLoop>,
    call_id: CallId,
    to: String,
) -> Result<(), IpcError> {
    let to = crate::dialing::transfer_destination(&app, &to)?;
    calls.ask(CallEvent::Transfer { call_id, to }).await
}

/// Consult transfer: puts the held caller (`call_id`) and the colleague on `consult` through to
/// each other (`merge: false`; the agent drops out of both), or into a conference with the agent
/// (`merge: true`).
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn complete_consult(
    calls: State<'_, CallLoop>,
    call_id: CallId,
    consult: CallId,
    merge: bool,
) -> Result<(), IpcError> {
    let event =
        if merge { CallEvent::Merge { call_id, consult } } else { CallEvent::CompleteTransfer { call_id, consult } };
    calls.ask(event).await
}

/// Mutes, unmutes, holds or takes off hold a party of the agent's three-way call.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn set_call_participant(
    calls: State<'_, CallLoop>,
    call_id: CallId,
    who: Participant,
    change: ParticipantChange,
) -> Result<(), IpcError> {
    calls.ask(CallEvent::SetParticipant { call_id, who, change }).await
}

#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn send_call_digits(calls: State<'_, CallLoop>, call_id: CallId, digits: String) -> Result<(), IpcError> {
    calls.ask(CallEvent::SendDigits { call_id, digits }).await
}

#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn dismiss_call(calls: State<'_, CallLoop>, call_id: CallId) -> Result<(), IpcError> {
    calls.ask(CallEvent::Dismiss { call_id }).await
}

/// What the webview engine saw happen to a call (SDK state, hangup cause, incoming invite).
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn report_engine_update(
    calls: State<'_, CallLoop>,
    call_id: CallId,
    update: EngineUpdate,
) -> Result<(), IpcError> {
    calls.ask(CallEvent::Engine { call_id, update }).await
}

/// The wrap-up of a call that just ended: disposition and note on its call-log row (and the
/// lead's latest outcome); then the call leaves the calls panel.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn wrap_up_call<R: Runtime>(
    app: AppHandle<R>,
    calls: State<'_, CallLoop>,
    database: State<'_, Database>,
    call_id: CallId,
    disposition: Option<String>,
    note: String,
    callback_at_ms: Option<i64>,
) -> Result<CallLogEntry, IpcError> {
    // A callback needs its time, checked before anything is written.
    let callback = disposition.as_deref().map(str::trim) == Some(Disposition::Callback.code());
    let callback_at = match (callback, callback_at_ms) {
        (true, Some(at)) if at > crate::clock::now().0 as i64 => Some(at),
        (true, Some(_)) => {
            return Err(IpcError::new(ErrorCode::InvalidArgument, "The callback time has passed; choose a later one."));
        }
        (true, None) => return Err(IpcError::new(ErrorCode::InvalidArgument, "Choose when to call back.")),
        (false, _) => None,
    };
    let row = database.finished_row(&call_id)?;
    let entry = set_call_disposition(database.clone(), row, disposition, note)?;
    // The lead's callback: set by a Callback wrap-up, and done with by any other.
    if let Some(lead_id) = entry.lead_id {
        database.with(|store| store.set_lead_callback(lead_id, callback_at, crate::clock::now().0 as i64))?;
    }
    calls.ask(CallEvent::Dismiss { call_id: call_id.clone() }).await?;
    // The session working a list waits for this wrap-up before its next lead.
    if let Some(disposition) = &entry.disposition {
        crate::dialing_session::wrapped_up(&app, &call_id, disposition.code());
    }
    Ok(entry)
}

/// The diagnostics page: engine, connection, audio devices, and the media of every live call.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub fn get_diagnostics<R: Runtime>(
    app: AppHandle<R>,
    calls: State<'_, CallLoop>,
    engine: State<'_, EngineHost>,
    audio: State<'_, Audio>,
    connection: State<'_, Connection>,
) -> Diagnostics {
    Diagnostics {
        engine: engine.kind(),
        connection: connection.status(),
        audio: audio.describe(),
        calls: crate::engine::call_diagnostics(&app, &calls.snapshot()),
    }
}

/// The in-call meters.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub fn get_audio_meter(audio: State<'_, Audio>) -> AudioMeter {
    audio.meter()
}
