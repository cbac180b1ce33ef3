//! Commands about leads: search, one lead, notes, CSV import, the do-not-call list and mark.

use softphone_core::ipc::IpcError;
use softphone_core::lead::DoNotCallImportReport;
use tauri::{AppHandle, Manager, Runtime, State};

use std::path::PathBuf;

use softphone_store::{ImportReport, Lead, LeadId, Page};
use tauri::Emitter;

use crate::database::Database;
use crate::errors;

/// Leads matching what the agent typed (prefix search over name, company, number, email, city,
/// notes); an empty query lists the newest.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn search_leads(database: State<'_, Database>, query: String, page: Page) -> Result<Vec<Lead>, IpcError> {
    database.with(|store| store.search_leads(&query, page))
}

#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn get_lead(database: State<'_, Database>, lead_id: LeadId) -> Result<Lead, IpcError> {
    database.with(|store| store.lead(lead_id))
}

#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn update_lead_notes(database: State<'_, Database>, lead_id: LeadId, notes: String) -> Result<Lead, IpcError> {
    database.with(|store| store.update_notes(lead_id, &notes, crate::clock::now().0 as i64))
}

/// Imports a CSV file in one transaction; progress goes out as `import://progress` events.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn import_leads_csv<R: Runtime>(app: AppHandle<R>, path: PathBuf) -> Result<ImportReport, IpcError> {
    let region = tauri::Manager::state::<Database>(&app).settings().default_region;
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

/// Imports a do-not-call list (a CSV of numbers, with or without a header); its numbers are never
/// dialled from then on.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn import_do_not_call_csv<R: Runtime>(
    app: AppHandle<R>,
    path: PathBuf,
) -> Result<DoNotCallImportReport, IpcError> {
    tauri::async_runtime::spawn_blocking(move || {
        let database = tauri::Manager::state::<Database>(&app);
        let region = database.settings().default_region;
        database.with(|store| store.import_do_not_call_csv(&path, region, crate::clock::now().0 as i64))
    })
    .await
    .map_err(|_| errors::internal("The do-not-call import"))?
}

/// Marks a lead do-not-call (it is never dialled), or clears the mark.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn set_lead_do_not_call(database: State<'_, Database>, lead_id: LeadId, on: bool) -> Result<Lead, IpcError> {
    database.with(|store| store.set_lead_do_not_call(lead_id, on, crate::clock::now().0 as i64))
}

/// Writes the leads `query` finds (blank: every lead) to `path` (.xlsx, else CSV); how many.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn export_leads<R: Runtime>(app: AppHandle<R>, query: String, path: PathBuf) -> Result<usize, IpcError> {
    let written = tauri::async_runtime::spawn_blocking(move || {
        app.state::<Database>().with(|store| store.export_leads(&query, &path))
    })
    .await
    .map_err(|_| crate::errors::internal("Exporting the leads"))??;
    tracing::info!(written, "leads exported");
    Ok(written)
}
