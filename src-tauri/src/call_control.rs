//! Call Control actions on the agent's calls, through Telnyx's REST API: what neither engine can
//! do over `telnyx_rtc`. The call loop hands it the account's REST access; it never reads the
//! keychain itself.
//!
//! A blind transfer acts on the caller's leg, not the agent's: Telnyx's `transfer` dials the
//! destination and bridges *the leg it is given* to it, hanging up that leg's current partner.
//! The caller's leg is the other live leg of the agent's call session among the connection's
//! active calls (`softphone_telnyx::TelnyxApi::other_leg`).

use softphone_core::call::{CallControlCommand, CallEvent, TRANSFER_RING_SECS};
use softphone_core::ipc::{ErrorCode, IpcError};
use softphone_telnyx::CallControlAccess;

/// Carries out `command` with `access`; the event to feed back when it fails (the call goes on).
pub async fn carry_out(access: Result<CallControlAccess, IpcError>, command: CallControlCommand) -> Option<CallEvent> {
    match command {
        CallControlCommand::Transfer { call_id, leg, to } => {
            let outcome = async {
                let access = access?;
                let key = &access.api_key;
                let caller = access.api.other_leg(key, access.connection_id.expose(), &leg).await?.ok_or_else(|| {
                    IpcError::new(
                        ErrorCode::CallControlRefused,
                        "Telnyx lists no other party on this call, so it cannot be transferred. The connection may not use Call Control (see the README).",
                    )
                })?;
                access.api.transfer(key, &caller, &to, TRANSFER_RING_SECS).await?;
                Ok::<(), IpcError>(())
            }
            .await;
            match outcome {
                Ok(()) => {
                    tracing::info!(call_id = %call_id.0, "transfer accepted by Telnyx; its destination rings");
                    None
                }
                Err(error) => {
                    tracing::warn!(call_id = %call_id.0, code = ?error.code, "transfer refused");
                    Some(CallEvent::CallControlRefused { call_id, message: error.message })
                }
            }
        }
    }
}
