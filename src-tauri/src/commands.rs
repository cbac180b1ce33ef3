//! The commands the webview may invoke. Each body delegates and maps; no domain logic here.

use softphone_core::ipc::{AppInfo, ConnectionStatus, ErrorCode, IpcError};
use tauri::State;

use crate::Connection;

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
    connection.0.lock().map(|status| status.clone()).map_err(|_| {
        IpcError::new(
            ErrorCode::Internal,
            "The connection state is unavailable after an internal error; restart the app.",
        )
    })
}
