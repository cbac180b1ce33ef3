//! The commands the webview may invoke. Each body delegates and maps; no domain logic here.

use softphone_core::call::{CallEvent, CallId, CallsSnapshot, EngineUpdate, Party};
use softphone_core::call_log::CallEngine;
use softphone_core::call_log::CallLogId;
use softphone_core::demo_leads::parse_dialable;
use softphone_core::disposition::{CustomDisposition, Disposition};
use softphone_core::ipc::{
    AppInfo, AudioDeviceList, AudioMeter, ConnectionState, ConnectionStatus, CredentialsStatus, DesktopStatus,
    Diagnostics, IpcError, LoginTokenGrant, WindowFailure, WindowRecovery,
};
use softphone_core::secret::Secret;
use softphone_core::settings::Settings;
use softphone_keychain::SipCredentials;
use tauri::{AppHandle, Manager, Runtime, State};

use std::path::PathBuf;

use softphone_store::{CallLogEntry, ImportReport, Lead, LeadId, Page};
use tauri::Emitter;

use crate::account::Account;
use crate::call_loop::CallLoop;
use crate::database::Database;
use crate::{Connection, errors};

#[tauri::command]
pub fn get_app_info() -> AppInfo {
    AppInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        tauri_version: tauri::VERSION.to_owned(),
        os: std::env::consts::OS.to_owned(),
    }
}

#[tauri::command]
pub fn get_connection_status(connection: State<'_, Connection>) -> Result<ConnectionStatus, IpcError> {
    connection.0.lock().map(|status| status.clone()).map_err(|_| errors::internal("Reading the connection state"))
}

#[tauri::command]
pub async fn get_credentials_status(account: State<'_, Account>) -> Result<CredentialsStatus, IpcError> {
    Ok(account.credentials_status().await)
}

#[tauri::command]
pub async fn save_credentials<R: Runtime>(
    app: AppHandle<R>,
    account: State<'_, Account>,
    api_key: Secret,
    connection_id: Secret,
    sip_login: Option<Secret>,
    sip_password: Option<Secret>,
) -> Result<CredentialsStatus, IpcError> {
    let sip = match (sip_login, sip_password) {
        (Some(login), Some(password)) if !login.is_empty() && !password.is_empty() => {
            Some(SipCredentials { login, password })
        }
        _ => None,
    };
    account.save_credentials(api_key, connection_id, sip).await?;
    crate::engine::account_changed(&app, false).await;
    Ok(account.credentials_status().await)
}

#[tauri::command]
pub async fn clear_credentials<R: Runtime>(
    app: AppHandle<R>,
    account: State<'_, Account>,
) -> Result<CredentialsStatus, IpcError> {
    account.clear_credentials().await?;
    crate::engine::account_changed(&app, true).await;
    Ok(account.credentials_status().await)
}

#[tauri::command]
pub async fn issue_login_token(account: State<'_, Account>) -> Result<LoginTokenGrant, IpcError> {
    account.issue_login_token().await
}

#[tauri::command]
pub fn get_calls(calls: State<'_, CallLoop>) -> CallsSnapshot {
    calls.snapshot()
}

/// Validates the number, then dials it. Returns the new call's id.
#[tauri::command]
pub async fn place_call<R: Runtime>(
    app: AppHandle<R>,
    calls: State<'_, CallLoop>,
    number: String,
    lead_id: Option<i64>,
) -> Result<CallId, IpcError> {
    let dial = dial_event(&app, &number, lead_id)?;
    let CallEvent::Dial { call_id, .. } = &dial else { unreachable!("dial_event makes a Dial") };
    let call_id = call_id.clone();
    calls.ask(dial).await?;
    Ok(call_id)
}

/// Validates `number` (the region from the settings; demo mode also takes the simulator's
/// directory numbers) and makes the [`CallEvent::Dial`] for it, with a new call id. The dialer,
/// Redial and a notification's Call back all come here.
pub fn dial_event<R: Runtime>(app: &AppHandle<R>, number: &str, lead_id: Option<i64>) -> Result<CallEvent, IpcError> {
    let region = crate::settings::region(app);
    let demo = app.state::<Connection>().0.lock().map(|status| status.demo).unwrap_or(false);
    let number = parse_dialable(number, region, demo).map_err(errors::number).inspect_err(|refused| {
        // The number itself stays out of the log; its length tells a cut-off entry from a typo.
        tracing::info!(code = ?refused.code, typed_chars = number.chars().count(), "number refused");
    })?;
    let call_id = CallId(uuid::Uuid::new_v4().to_string());
    let remote = Party { number: number.as_e164().to_owned(), name: None };
    Ok(CallEvent::Dial { call_id, remote, lead_id })
}

#[tauri::command]
pub async fn answer_call(calls: State<'_, CallLoop>, call_id: CallId) -> Result<(), IpcError> {
    calls.ask(CallEvent::Answer { call_id }).await
}

#[tauri::command]
pub async fn decline_call(calls: State<'_, CallLoop>, call_id: CallId) -> Result<(), IpcError> {
    calls.ask(CallEvent::Decline { call_id }).await
}

#[tauri::command]
pub async fn hang_up_call(calls: State<'_, CallLoop>, call_id: CallId) -> Result<(), IpcError> {
    calls.ask(CallEvent::Hangup { call_id }).await
}

#[tauri::command]
pub async fn hold_call(calls: State<'_, CallLoop>, call_id: CallId) -> Result<(), IpcError> {
    calls.ask(CallEvent::Hold { call_id }).await
}

#[tauri::command]
pub async fn resume_call(calls: State<'_, CallLoop>, call_id: CallId) -> Result<(), IpcError> {
    calls.ask(CallEvent::Resume { call_id }).await
}

#[tauri::command]
pub async fn set_call_muted(calls: State<'_, CallLoop>, call_id: CallId, muted: bool) -> Result<(), IpcError> {
    calls.ask(CallEvent::SetMuted { call_id, muted }).await
}

#[tauri::command]
pub async fn send_call_digits(calls: State<'_, CallLoop>, call_id: CallId, digits: String) -> Result<(), IpcError> {
    calls.ask(CallEvent::SendDigits { call_id, digits }).await
}

#[tauri::command]
pub async fn dismiss_call(calls: State<'_, CallLoop>, call_id: CallId) -> Result<(), IpcError> {
    calls.ask(CallEvent::Dismiss { call_id }).await
}

/// What the webview engine saw happen to a call (SDK state, hangup cause, incoming invite).
#[tauri::command]
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
pub async fn wrap_up_call(
    calls: State<'_, CallLoop>,
    database: State<'_, Database>,
    call_id: CallId,
    disposition: Option<String>,
    note: String,
) -> Result<CallLogEntry, IpcError> {
    let row = database.finished_row(&call_id)?;
    let entry = set_call_disposition(database, row, disposition, note)?;
    calls.ask(CallEvent::Dismiss { call_id }).await?;
    Ok(entry)
}

/// The window chose the engine (it knows whether its webview has WebRTC); the native one starts
/// here. Returns the connection state.
#[tauri::command]
pub async fn use_call_engine<R: Runtime>(app: AppHandle<R>, engine: CallEngine) -> Result<ConnectionStatus, IpcError> {
    crate::engine::use_engine(&app, engine).await
}

/// The webview engine's connection state (the native engine reports its own).
#[tauri::command]
pub fn report_engine_connection<R: Runtime>(app: AppHandle<R>, state: ConnectionState, reason: Option<String>) {
    crate::engine::set_connection(&app, state, reason);
}

#[tauri::command]
pub fn get_diagnostics<R: Runtime>(app: AppHandle<R>) -> Result<Diagnostics, IpcError> {
    crate::engine::diagnostics(&app, &app.state::<CallLoop>().snapshot())
}

#[tauri::command]
pub fn get_audio_meter<R: Runtime>(app: AppHandle<R>) -> AudioMeter {
    crate::engine::audio_meter(&app)
}

#[tauri::command]
pub fn get_settings<R: Runtime>(app: AppHandle<R>) -> Settings {
    crate::settings::current(&app)
}

/// Validates, stores and applies the agent's settings; returns what is now in force.
#[tauri::command]
pub fn save_settings<R: Runtime>(app: AppHandle<R>, settings: Settings) -> Result<Settings, IpcError> {
    crate::settings::save(&app, settings)
}

/// The microphones and speakers there are, for the Settings page.
#[tauri::command]
pub fn get_audio_devices<R: Runtime>(app: AppHandle<R>) -> Result<AudioDeviceList, IpcError> {
    crate::settings::audio_devices(&app)
}

/// Plays a ringtone once, so the agent can hear it before choosing it.
#[tauri::command]
pub fn preview_ringtone<R: Runtime>(app: AppHandle<R>, name: String) -> Result<(), IpcError> {
    crate::settings::preview_ringtone(&app, &name)
}

/// Fake audio devices only (`SOFTPHONE_FAKE_AUDIO`): unplugs `name`, as a test would a headset.
#[tauri::command]
pub fn unplug_fake_audio_device<R: Runtime>(app: AppHandle<R>, name: String) -> Result<(), IpcError> {
    crate::settings::unplug_fake_audio_device(&app, &name)
}

/// The window's own code failed (see [`crate::web_process::window_failed`]).
#[tauri::command]
pub fn report_window_failure<R: Runtime>(app: AppHandle<R>, failure: WindowFailure) -> WindowRecovery {
    crate::web_process::window_failed(&app, &failure)
}

#[tauri::command]
pub fn get_desktop_status<R: Runtime>(app: AppHandle<R>) -> DesktopStatus {
    crate::notifications::desktop_status(&app)
}

/// Do Not Disturb: inbound calls are declined (busy) and logged as missed while it is on.
#[tauri::command]
pub async fn set_do_not_disturb<R: Runtime>(
    app: AppHandle<R>,
    calls: State<'_, CallLoop>,
    on: bool,
) -> Result<DesktopStatus, IpcError> {
    calls.ask(CallEvent::SetDoNotDisturb { on }).await?;
    Ok(crate::notifications::desktop_status(&app))
}

/// The `tel:` link the app was started with, once (the window asks when it is ready).
#[tauri::command]
pub fn take_pending_dial<R: Runtime>(app: AppHandle<R>) -> Option<String> {
    crate::desktop::take_pending_dial(&app)
}

/// Demo mode: a lead (this one, or any) calls the agent through the simulator.
#[tauri::command]
pub async fn simulate_inbound_call(
    account: State<'_, Account>,
    database: State<'_, Database>,
    lead_id: Option<LeadId>,
) -> Result<String, IpcError> {
    let lead = match lead_id {
        Some(id) => database.with(|store| store.lead(id))?,
        None => {
            let leads = database.with(|store| store.search_leads("", Page { offset: 0, limit: 100 }))?;
            let pick = (crate::clock::now().0 as usize) % leads.len().max(1);
            leads.into_iter().nth(pick).ok_or_else(|| {
                IpcError::new(softphone_core::ipc::ErrorCode::NotFound, "There are no leads to call from.")
            })?
        }
    };
    let name = (!lead.name.is_empty()).then(|| lead.name.clone());
    account.simulate_inbound_call(lead.phone.as_e164(), name).await
}

/// Leads matching what the agent typed (prefix search over name, company, number, email, city,
/// notes); an empty query lists the newest.
#[tauri::command]
pub fn search_leads(database: State<'_, Database>, query: String, page: Page) -> Result<Vec<Lead>, IpcError> {
    database.with(|store| store.search_leads(&query, page))
}

#[tauri::command]
pub fn get_lead(database: State<'_, Database>, lead_id: LeadId) -> Result<Lead, IpcError> {
    database.with(|store| store.lead(lead_id))
}

#[tauri::command]
pub fn update_lead_notes(database: State<'_, Database>, lead_id: LeadId, notes: String) -> Result<Lead, IpcError> {
    database.with(|store| store.update_notes(lead_id, &notes, crate::clock::now().0 as i64))
}

/// Imports a CSV file in one transaction; progress goes out as `import://progress` events.
#[tauri::command]
pub async fn import_leads_csv<R: Runtime>(app: AppHandle<R>, path: PathBuf) -> Result<ImportReport, IpcError> {
    let region = crate::settings::region(&app);
    tauri::async_runtime::spawn_blocking(move || {
        let database = tauri::Manager::state::<Database>(&app);
        database.with(|store| {
            store.import_leads_csv(&path, region, crate::clock::now().0 as i64, |progress| {
                let _ = app.emit(softphone_core::ipc::event::IMPORT_PROGRESS, progress);
            })
        })
    })
    .await
    .map_err(|_| errors::internal("The import"))?
}

#[tauri::command]
pub fn get_recent_calls(database: State<'_, Database>, page: Page) -> Result<Vec<CallLogEntry>, IpcError> {
    database.with(|store| store.recent_calls(page))
}

#[tauri::command]
pub fn get_missed_calls(database: State<'_, Database>, page: Page) -> Result<Vec<CallLogEntry>, IpcError> {
    database.with(|store| store.missed_calls(page))
}

#[tauri::command]
pub fn get_lead_calls(
    database: State<'_, Database>,
    lead_id: LeadId,
    page: Page,
) -> Result<Vec<CallLogEntry>, IpcError> {
    database.with(|store| store.calls_of_lead(lead_id, page))
}

/// Missed calls the agent has not looked at yet: the badge on Calls.
#[tauri::command]
pub fn get_unseen_missed_count(database: State<'_, Database>) -> Result<u64, IpcError> {
    database.with(|store| store.unseen_missed_count())
}

/// The agent opened the call log: every missed call counts as seen.
#[tauri::command]
pub fn mark_missed_calls_seen(database: State<'_, Database>) -> Result<(), IpcError> {
    database.with(|store| store.mark_missed_seen(crate::clock::now().0 as i64)).map(drop)
}

/// The dispositions the agent can pick after a call: the standard ones, then the team's own.
#[tauri::command]
pub fn get_dispositions(database: State<'_, Database>) -> Result<Vec<Disposition>, IpcError> {
    let custom = database.with(|store| store.custom_dispositions())?;
    Ok(Disposition::STANDARD.into_iter().chain(custom).collect())
}

/// Adds the team's own disposition (e.g. "Demo booked") to the list offered after a call; adding
/// one that exists changes nothing. Answers the whole list, as `get_dispositions` does.
#[tauri::command]
pub fn add_custom_disposition(database: State<'_, Database>, label: String) -> Result<Vec<Disposition>, IpcError> {
    let custom = CustomDisposition::new(&label).map_err(disposition_refused)?;
    database.with(|store| store.add_custom_disposition(&custom, crate::clock::now().0 as i64))?;
    get_dispositions(database)
}

/// Takes a custom disposition off the list offered. Calls and leads that carry it keep it.
#[tauri::command]
pub fn remove_custom_disposition(database: State<'_, Database>, label: String) -> Result<Vec<Disposition>, IpcError> {
    let custom = CustomDisposition::new(&label).map_err(disposition_refused)?;
    database.with(|store| store.remove_custom_disposition(&custom))?;
    get_dispositions(database)
}

fn disposition_refused(error: softphone_core::disposition::DispositionError) -> IpcError {
    IpcError::new(softphone_core::ipc::ErrorCode::InvalidArgument, error.to_string())
}

/// Saves a logged call's wrap-up: a disposition code or custom label (or none) and a note. The
/// lead, if any, takes the disposition as its latest outcome.
#[tauri::command]
pub fn set_call_disposition(
    database: State<'_, Database>,
    call_log_id: CallLogId,
    disposition: Option<String>,
    note: String,
) -> Result<CallLogEntry, IpcError> {
    let disposition = disposition
        .filter(|text| !text.trim().is_empty())
        .map(|text| Disposition::from_code(text.trim()))
        .transpose()
        .map_err(disposition_refused)?;
    database.with(|store| {
        store.set_call_disposition(call_log_id, disposition.as_ref(), &note, crate::clock::now().0 as i64)
    })
}
