//! Commands about the call log: pages of calls, the missed-calls badge, dispositions and notes.

use softphone_core::call_log::CallLogId;
use softphone_core::disposition::{CustomDisposition, Disposition};
use softphone_core::ipc::IpcError;
use tauri::State;

use softphone_store::{CallLogEntry, LeadId, Page};

use crate::database::Database;

#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn get_recent_calls(database: State<'_, Database>, page: Page) -> Result<Vec<CallLogEntry>, IpcError> {
    database.with(|store| store.recent_calls(page))
}

#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn get_missed_calls(database: State<'_, Database>, page: Page) -> Result<Vec<CallLogEntry>, IpcError> {
    database.with(|store| store.missed_calls(page))
}

#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn get_lead_calls(
    database: State<'_, Database>,
    lead_id: LeadId,
    page: Page,
) -> Result<Vec<CallLogEntry>, IpcError> {
    database.with(|store| store.calls_of_lead(lead_id, page))
}

/// Teammates' calls (the team's, as this computer has them), newest first.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn get_team_calls(
    database: State<'_, Database>,
    page: Page,
) -> Result<Vec<softphone_core::call_log::TeamCallEntry>, IpcError> {
    database.with(|store| store.team_calls(page.clamped_limit()))
}

/// Teammates' calls to or from one lead (with their dispositions and notes), newest first.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn get_lead_team_calls(
    database: State<'_, Database>,
    lead_id: LeadId,
) -> Result<Vec<softphone_core::call_log::TeamCallEntry>, IpcError> {
    database.with(|store| store.team_calls_of_lead(lead_id))
}

/// Writes the calls `filter` selects to `path` (.xlsx, else CSV), times at the agent's
/// `utc_offset_minutes`; how many calls.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn export_call_log(
    database: State<'_, Database>,
    filter: softphone_core::call_log::CallLogFilter,
    path: std::path::PathBuf,
    utc_offset_minutes: i32,
) -> Result<usize, IpcError> {
    let written = database.with(|store| store.export_call_log(&filter, &path, utc_offset_minutes))?;
    tracing::info!(written, "call log exported");
    Ok(written)
}

/// Missed calls the agent has not looked at yet: the badge on Calls.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn get_unseen_missed_count(database: State<'_, Database>) -> Result<u64, IpcError> {
    database.with(|store| store.unseen_missed_count())
}

/// The agent opened the call log: every missed call counts as seen.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn mark_missed_calls_seen(database: State<'_, Database>) -> Result<(), IpcError> {
    database.with(|store| store.mark_missed_seen(crate::clock::now().0 as i64)).map(drop)
}

/// The dispositions the agent can pick after a call: the standard ones, then the team's own.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn get_dispositions(database: State<'_, Database>) -> Result<Vec<Disposition>, IpcError> {
    let custom = database.with(|store| store.custom_dispositions())?;
    Ok(Disposition::STANDARD.into_iter().chain(custom).collect())
}

/// Adds the team's own disposition (e.g. "Demo booked") to the list offered after a call; adding
/// one that exists changes nothing. Answers the whole list, as `get_dispositions` does.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn add_custom_disposition(database: State<'_, Database>, label: String) -> Result<Vec<Disposition>, IpcError> {
    let custom = CustomDisposition::new(&label)?;
    database.with(|store| store.add_custom_disposition(&custom, crate::clock::now().0 as i64))?;
    get_dispositions(database)
}

/// Takes a custom disposition off the list offered. Calls and leads that carry it keep it.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn remove_custom_disposition(database: State<'_, Database>, label: String) -> Result<Vec<Disposition>, IpcError> {
    let custom = CustomDisposition::new(&label)?;
    database.with(|store| store.remove_custom_disposition(&custom))?;
    get_dispositions(database)
}

/// Saves a logged call's wrap-up: a disposition code or custom label (or none) and a note. The
/// lead, if any, takes the disposition as its latest outcome.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn set_call_disposition(
    database: State<'_, Database>,
    call_log_id: CallLogId,
    disposition: Option<String>,
    note: String,
) -> Result<CallLogEntry, IpcError> {
    let disposition = disposition
        .filter(|text| !text.trim().is_empty())
        .map(|text| Disposition::from_code(text.trim()))
        .transpose()?;
    database.with(|store| {
        store.set_call_disposition(call_log_id, disposition.as_ref(), &note, crate::clock::now().0 as i64)
    })
}
