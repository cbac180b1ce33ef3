//! Which number a dial goes to: validated for the agent's region (demo mode also takes the
//! simulator's directory numbers), with a new call id. The dialer, Redial and a notification's
//! Call back all come here.

use softphone_core::call::{CallEvent, CallId, CallsSnapshot, Party};
use softphone_core::ipc::{ErrorCode, IpcError, NumberCheck};
use softphone_core::lead::LeadId;
use softphone_core::phone::{PhoneNumber, check_typed, parse_dialable};
use softphone_store::DoNotCallReason;
use tauri::{AppHandle, Manager, Runtime};
use tokio::sync::{mpsc, watch};

use crate::connection::Connection;
use crate::database::Database;

/// The new call's id and the [`CallEvent::Dial`] for `number`, or why it cannot be dialled.
pub fn dial_event<R: Runtime>(
    app: &AppHandle<R>,
    number: &str,
    lead_id: Option<LeadId>,
) -> Result<(CallId, CallEvent), IpcError> {
    let database = app.state::<Database>();
    let settings = database.settings();
    let demo = app.state::<Connection>().demo();
    let number =
        parse_dialable(number, settings.default_region, demo).map_err(IpcError::from).inspect_err(|refused| {
            // The number itself stays out of the log; its length tells a cut-off entry from a typo.
            tracing::info!(code = ?refused.code, typed_chars = number.chars().count(), "number refused");
        })?;
    // Checked on every dial, the agent's own included. A list that cannot be read refuses the dial.
    if let Some(reason) = database.with(|store| store.do_not_call(&number))? {
        tracing::info!(?reason, "do-not-call: not dialled");
        return Err(IpcError::new(ErrorCode::DoNotCall, do_not_call_sentence(reason)));
    }
    let call_id = CallId(uuid::Uuid::new_v4().to_string());
    let caller_number = presented_number(&number, &settings.caller_numbers);
    let remote = Party { number: number.as_e164().to_owned(), name: None };
    Ok((call_id.clone(), CallEvent::Dial { call_id, remote, lead_id, caller_number }))
}

/// Where a transfer may go: a SIP address (`sip:user@host`, as typed) or a number valid for the
/// agent's region (demo mode also takes the simulator's directory), as E.164. The do-not-call
/// list is about leads the agent dials, not colleagues a call is handed to.
pub fn transfer_destination<R: Runtime>(app: &AppHandle<R>, typed: &str) -> Result<String, IpcError> {
    let typed = typed.trim();
    if let Some(address) = typed.strip_prefix("sip:") {
        let valid = address.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && !host.is_empty() && !address.chars().any(|c| c.is_whitespace() || c.is_control())
        });
        return if valid {
            Ok(typed.to_owned())
        } else {
            Err(IpcError::new(
                ErrorCode::InvalidNumber,
                "A SIP address reads sip:user@host, e.g. sip:billing@sip.telnyx.com.",
            ))
        };
    }
    let region = app.state::<Database>().settings().default_region;
    let demo = app.state::<Connection>().demo();
    Ok(parse_dialable(typed, region, demo)?.as_e164().to_owned())
}

/// The caller-ID number a call to `callee` presents, from the agent's pool (local presence).
fn presented_number(callee: &PhoneNumber, pool: &[String]) -> Option<String> {
    // Settings only hold numbers of E.164 shape; one whose country code is unknown is skipped.
    let pool: Vec<PhoneNumber> = pool.iter().filter_map(|number| PhoneNumber::from_stored(number).ok()).collect();
    softphone_dialer::caller_number_for(callee, &pool).map(|number| number.as_e164().to_owned())
}

/// Why a number is never dialled, as the agent reads it.
fn do_not_call_sentence(reason: DoNotCallReason) -> &'static str {
    match reason {
        DoNotCallReason::Listed => "This number is on the do-not-call list; it is never dialled.",
        DoNotCallReason::LeadMarked => "This lead is marked do-not-call; it is never dialled.",
    }
}

/// What the dialer says about `typed` before it is dialed: checked exactly as [`dial_event`]
/// will check it, the do-not-call list included.
pub fn check_number<R: Runtime>(app: &AppHandle<R>, typed: &str) -> NumberCheck {
    let database = app.state::<Database>();
    let demo = app.state::<Connection>().demo();
    let region = database.settings().default_region;
    let check = check_typed(typed, region, demo);
    if !matches!(check, NumberCheck::Valid { .. }) {
        return check;
    }
    let refused = parse_dialable(typed, region, demo)
        .ok()
        .and_then(|number| database.with(|store| store.do_not_call(&number)).ok().flatten());
    match refused {
        Some(reason) => NumberCheck::Invalid { sentence: do_not_call_sentence(reason).to_owned() },
        None => check,
    }
}

/// The Call back button of a missed-call notification: dials the caller (and the lead the missed
/// call was matched to), as Redial in the call log does.
pub fn call_back<R: Runtime>(app: &AppHandle<R>, missed: &CallId) -> Result<(), IpcError> {
    // A due callback's notification names the lead.
    if let Some(lead_id) = crate::notifications::callback_lead(missed) {
        let lead = app.state::<Database>().with(|store| store.lead(lead_id))?;
        let (call_id, dial) = dial_event(app, lead.phone.as_e164(), Some(lead_id))?;
        app.state::<mpsc::UnboundedSender<CallEvent>>()
            .send(dial)
            .map_err(|_| crate::errors::internal("The call loop has stopped"))?;
        tracing::info!(lead_id = lead_id.0, call_id = %call_id.0, "calling back a lead whose callback is due");
        return Ok(());
    }
    let snapshot = app.state::<watch::Receiver<CallsSnapshot>>().borrow().clone();
    let from_machine = snapshot.calls.into_iter().find(|call| &call.call_id == missed);
    let (number, lead_id) = match from_machine {
        Some(call) => (call.remote.number, call.lead_id),
        // Already dismissed from the window: the call log still has it.
        None => {
            let database = app.state::<Database>();
            let row = database.finished_row(missed)?;
            let entry = database.with(|store| store.call(row))?;
            (entry.remote_number, entry.lead_id)
        }
    };
    let (call_id, dial) = dial_event(app, &number, lead_id)?;
    app.state::<mpsc::UnboundedSender<CallEvent>>()
        .send(dial)
        .map_err(|_| crate::errors::internal("The call loop has stopped"))?;
    tracing::info!(missed = %missed.0, call_id = %call_id.0, "calling back a missed call");
    Ok(())
}
