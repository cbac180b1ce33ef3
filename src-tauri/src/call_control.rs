//! Call Control actions on the agent's calls, through Telnyx's REST API: what neither engine can
//! do over `telnyx_rtc`. The call loop hands it the account's REST access; it never reads the
//! keychain itself.
//!
//! Every action acts on the caller's leg, not the agent's: Telnyx's `transfer` dials the
//! destination and bridges *the leg it is given* to it, hanging up that leg's current partner, and
//! `playback_start` plays into the leg it is given (hold music is for the caller). The caller's
//! leg is the other live leg of the agent's call session among the connection's active calls
//! (`softphone_telnyx::TelnyxApi::other_leg`).

use softphone_core::call::{CallControlCommand, CallEvent, ParticipantChange, TRANSFER_RING_SECS, TelnyxLeg};
use softphone_core::ipc::{ErrorCode, IpcError};
use softphone_telnyx::{CallControlAccess, SavedRecording};

/// Carries out `command` with `access`; the event to feed back: what it brought about (a
/// conference set up), or its refusal (the call goes on). [`CallControlCommand::KeepRecordings`]
/// is [`fetch_recordings`]'s.
pub async fn carry_out(access: Result<CallControlAccess, IpcError>, command: CallControlCommand) -> Option<CallEvent> {
    let (call_id, refused) = (command.call_id().clone(), command.action());
    match act(access, command).await {
        Ok(next) => next,
        Err(error) => {
            tracing::warn!(call_id = %call_id.0, ?refused, code = ?error.code, "call control refused");
            Some(CallEvent::CallControlRefused { call_id, refused, message: error.message })
        }
    }
}

async fn act(
    access: Result<CallControlAccess, IpcError>,
    command: CallControlCommand,
) -> Result<Option<CallEvent>, IpcError> {
    let access = access?;
    let key = &access.api_key;
    match command {
        CallControlCommand::Transfer { call_id, leg, to } => {
            let caller = callers_leg(&access, &leg).await?;
            access.api.transfer(key, &caller, &to, TRANSFER_RING_SECS).await?;
            tracing::info!(call_id = %call_id.0, "transfer accepted by Telnyx; its destination rings");
        }
        CallControlCommand::StartHoldMusic { call_id, leg, url } => {
            let Some(url) = url.or(access.default_hold_music.clone()) else {
                tracing::info!(call_id = %call_id.0, "no hold music chosen; the caller holds in silence");
                return Ok(None);
            };
            let caller = callers_leg(&access, &leg).await?;
            access.api.start_hold_music(key, &caller, &url).await?;
            tracing::info!(call_id = %call_id.0, "hold music plays to the caller");
        }
        CallControlCommand::StopHoldMusic { call_id, leg } => {
            let caller = callers_leg(&access, &leg).await?;
            access.api.stop_playback(key, &caller).await?;
            tracing::info!(call_id = %call_id.0, "hold music stopped");
        }
        CallControlCommand::StartRecording { call_id, leg, announcement } => {
            let caller = callers_leg(&access, &leg).await?;
            // The announcement and the recording start together: it is in the recording too,
            // which is the proof that the caller was told.
            if let Some(url) = announcement {
                access.api.play_announcement(key, &caller, &url).await?;
            }
            access.api.start_recording(key, &caller).await?;
            tracing::info!(call_id = %call_id.0, "recording");
        }
        CallControlCommand::PauseRecording { call_id, leg, paused } => {
            let caller = callers_leg(&access, &leg).await?;
            access.api.pause_recording(key, &caller, paused).await?;
            tracing::info!(call_id = %call_id.0, paused, "recording paused or resumed");
        }
        CallControlCommand::StopRecording { call_id, leg } => {
            let caller = callers_leg(&access, &leg).await?;
            access.api.stop_recording(key, &caller).await?;
            tracing::info!(call_id = %call_id.0, "recording stopped");
        }
        CallControlCommand::KeepRecordings { .. } => {
            return Err(crate::errors::internal("Recordings are fetched by fetch_recordings"));
        }
        CallControlCommand::Bridge { call_id, leg, consult_leg, .. } => {
            let (caller, colleague) = (callers_leg(&access, &leg).await?, callers_leg(&access, &consult_leg).await?);
            access.api.bridge(key, &caller, &colleague).await?;
            tracing::info!(call_id = %call_id.0, "caller and colleague put through to each other");
        }
        CallControlCommand::Conference { call_id, leg, consult, consult_leg } => {
            let (caller, colleague) = (callers_leg(&access, &leg).await?, callers_leg(&access, &consult_leg).await?);
            let name = format!("softphone-{}", call_id.0);
            let conference = access.api.create_conference(key, &caller, &name).await?;
            access.api.join_conference(key, &conference, &leg.call_control_id).await?;
            access.api.join_conference(key, &conference, &colleague).await?;
            tracing::info!(call_id = %call_id.0, "conference of the caller, the colleague and the agent");
            return Ok(Some(CallEvent::Merged { call_id, consult, conference_id: conference }));
        }
        CallControlCommand::Participant { call_id, conference_id, party_leg, change } => {
            let party = callers_leg(&access, &party_leg).await?;
            let action = match change {
                ParticipantChange::Mute => "mute",
                ParticipantChange::Unmute => "unmute",
                ParticipantChange::Hold => "hold",
                ParticipantChange::Unhold => "unhold",
            };
            access.api.conference_participants(key, &conference_id, action, &[party.as_str()]).await?;
            tracing::info!(call_id = %call_id.0, action, "conference participant");
        }
    }
    Ok(None)
}

/// How often, and how many times, the recordings of a call that ended are looked for: Telnyx
/// saves them after the hangup (`call.recording.saved`, a webhook the app cannot receive).
const RECORDING_LOOKS: u32 = 10;
const RECORDING_LOOK_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// The saved recordings of `leg`'s call session with their files, once Telnyx lists them.
pub async fn fetch_recordings(
    access: Result<CallControlAccess, IpcError>,
    leg: &TelnyxLeg,
) -> Result<Vec<(SavedRecording, Vec<u8>)>, IpcError> {
    let access = access?;
    let mut listed = Vec::new();
    for look in 1..=RECORDING_LOOKS {
        listed = access.api.recordings_of(&access.api_key, &leg.call_session_id).await?;
        if !listed.is_empty() {
            break;
        }
        tracing::debug!(look, "no recording saved yet");
        tokio::time::sleep(RECORDING_LOOK_EVERY).await;
    }
    if listed.is_empty() {
        return Err(IpcError::new(
            ErrorCode::CallControlRefused,
            "Telnyx has not saved the call's recording; it may still be in Mission Control > Recordings.",
        ));
    }
    let mut files = Vec::with_capacity(listed.len());
    for recording in listed {
        let bytes = access.api.download_recording(&recording).await?;
        files.push((recording, bytes));
    }
    Ok(files)
}

/// The caller's leg: the other live leg of the agent's call session.
async fn callers_leg(access: &CallControlAccess, leg: &TelnyxLeg) -> Result<String, IpcError> {
    access.api.other_leg(&access.api_key, access.connection_id.expose(), leg).await?.ok_or_else(|| {
        IpcError::new(
            ErrorCode::CallControlRefused,
            "Telnyx lists no other party on this call, so Call Control cannot reach the caller. The connection may not use Call Control (see the README).",
        )
    })
}
