//! Updates: where they stand, look now, install the one on offer (see [`crate::updates`]).

use softphone_core::ipc::IpcError;
use softphone_core::updates::UpdateStatus;
use tauri::{AppHandle, Runtime, State};

use crate::updates::Updates;

#[tauri::command]
#[tracing::instrument(skip_all)]
pub fn get_update_status(updates: State<'_, Updates>) -> UpdateStatus {
    updates.status()
}

/// Looks for an update now (the agent's "Check for updates").
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn check_for_update<R: Runtime>(app: AppHandle<R>) -> Result<UpdateStatus, IpcError> {
    crate::updates::check(&app).await
}

/// The agent agreed: installs the update on offer between calls and restarts into it.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn install_update<R: Runtime>(app: AppHandle<R>) -> Result<(), IpcError> {
    crate::updates::install(&app).await
}
