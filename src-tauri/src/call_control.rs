//! Call Control actions on the agent's calls, through Telnyx's REST API: what neither engine can
//! do over `telnyx_rtc`. The call loop hands it the account's REST access; it never reads the
//! keychain itself.
//!
//! Every action acts on the caller's leg, not the agent's: Telnyx's `transfer` dials the
//! destination and bridges *the leg it is given* to it, hanging up that leg's current partner, and
//! `playback_start` plays into the leg it is given (hold music is for the caller). The caller's
//! leg is the other live leg of the agent's call session among the connection's active calls
//! (`softphone_telnyx::TelnyxApi::other_leg`).

use softphone_core::call::{CallControlCommand, CallEvent, TRANSFER_RING_SECS, TelnyxLeg};
use softphone_core::ipc::{ErrorCode, IpcError};
use softphone_telnyx::CallControlAccess;

/// Carries out `command` with `access`; the event to feed back when it fails (the call goes on).
pub async fn carry_out(access: Result<CallControlAccess, IpcError>, command: CallControlCommand) -> Option<CallEvent> {
    let (call_id, what) = match &command {
        CallControlCommand::Transfer { call_id, .. } => (call_id.clone(), "transfer"),
        CallControlCommand::StartHoldMusic { call_id, .. } => (call_id.clone(), "hold music"),
        CallControlCommand::StopHoldMusic { call_id, .. } => (call_id.clone(), "end of the hold music"),
    };
    match act(access, command).await {
        Ok(()) => None,
        Err(error) => {
            tracing::warn!(call_id = %call_id.0, what, code = ?error.code, "call control refused");
            Some(CallEvent::CallControlRefused { call_id, message: error.message })
        }
    }
}

async fn act(access: Result<CallControlAccess, IpcError>, command: CallControlCommand) -> Result<(), IpcError> {
    let access = access?;
    match command {
        CallControlCommand::Transfer { call_id, leg, to } => {
            let caller = callers_leg(&access, &leg).await?;
            access.api.transfer(&access.api_key, &caller, &to, TRANSFER_RING_SECS).await?;
            tracing::info!(call_id = %call_id.0, "transfer accepted by Telnyx; its destination rings");
        }
        CallControlCommand::StartHoldMusic { call_id, leg, url } => {
            let Some(url) = url.or(access.default_hold_music.clone()) else {
                tracing::info!(call_id = %call_id.0, "no hold music chosen; the caller holds in silence");
                return Ok(());
            };
            let caller = callers_leg(&access, &leg).await?;
            access.api.start_hold_music(&access.api_key, &caller, &url).await?;
            tracing::info!(call_id = %call_id.0, "hold music plays to the caller");
        }
        CallControlCommand::StopHoldMusic { call_id, leg } => {
            let caller = callers_leg(&access, &leg).await?;
            access.api.stop_playback(&access.api_key, &caller).await?;
            tracing::info!(call_id = %call_id.0, "hold music stopped");
        }
    }
    Ok(())
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
