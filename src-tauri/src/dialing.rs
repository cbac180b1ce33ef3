//! Which number a dial goes to: validated for the agent's region (demo mode also takes the
//! simulator's directory numbers), with a new call id. The dialer, Redial and a notification's
//! Call back all come here.

use softphone_core::call::{CallEvent, CallId, Party};
use softphone_core::demo_leads::{check_typed, parse_dialable};
use softphone_core::ipc::{IpcError, NumberCheck};
use tauri::{AppHandle, Manager, Runtime};

use crate::connection::Connection;

/// The new call's id and the [`CallEvent::Dial`] for `number`, or why it cannot be dialled.
pub fn dial_event<R: Runtime>(
    app: &AppHandle<R>,
    number: &str,
    lead_id: Option<i64>,
) -> Result<(CallId, CallEvent), IpcError> {
    let region = crate::settings::region(app);
    let demo = app.state::<Connection>().demo();
    let number = parse_dialable(number, region, demo).map_err(IpcError::from).inspect_err(|refused| {
        // The number itself stays out of the log; its length tells a cut-off entry from a typo.
        tracing::info!(code = ?refused.code, typed_chars = number.chars().count(), "number refused");
    })?;
    let call_id = CallId(uuid::Uuid::new_v4().to_string());
    let remote = Party { number: number.as_e164().to_owned(), name: None };
    Ok((call_id.clone(), CallEvent::Dial { call_id, remote, lead_id }))
}

/// What the dialer says about `typed` before it is dialed: checked exactly as [`dial_event`]
/// will check it.
pub fn check_number<R: Runtime>(app: &AppHandle<R>, typed: &str) -> NumberCheck {
    check_typed(typed, crate::settings::region(app), app.state::<Connection>().demo())
}
