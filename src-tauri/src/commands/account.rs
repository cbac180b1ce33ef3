//! Commands about the account and the connection: app info, credentials (kept in the keychain), the
//! login token for the webview engine, which engine runs, and demo mode's simulated call.

use std::sync::Arc;

use softphone_core::call_log::CallEngine;
use softphone_core::ipc::{AppInfo, ConnectionState, ConnectionStatus, CredentialsStatus, IpcError, LoginTokenGrant};
use softphone_core::secret::Secret;
use softphone_keychain::SipCredentials;
use tauri::{AppHandle, Runtime, State};

use softphone_store::{LeadId, Page};

use crate::account::Account;
use crate::connection::Connection;
use crate::database::Database;

#[tauri::command]
#[tracing::instrument(skip_all)]
pub fn get_app_info<R: Runtime>(app: AppHandle<R>) -> AppInfo {
    AppInfo {
        // The bundle's version (what the updater compares), not only the crate's.
        version: app.package_info().version.to_string(),
        tauri_version: tauri::VERSION.to_owned(),
        os: std::env::consts::OS.to_owned(),
    }
}

#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn get_connection_status(connection: State<'_, Connection>) -> Result<ConnectionStatus, IpcError> {
    Ok(connection.status())
}

#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn get_credentials_status(account: State<'_, Arc<Account>>) -> Result<CredentialsStatus, IpcError> {
    Ok(account.credentials_status().await)
}

/// The account's phone numbers, for the caller-ID numbers in Settings (local presence).
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn list_account_numbers(account: State<'_, Arc<Account>>) -> Result<Vec<String>, IpcError> {
    account.phone_numbers().await
}

#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn save_credentials<R: Runtime>(
    app: AppHandle<R>,
    account: State<'_, Arc<Account>>,
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
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn clear_credentials<R: Runtime>(
    app: AppHandle<R>,
    account: State<'_, Arc<Account>>,
) -> Result<CredentialsStatus, IpcError> {
    account.clear_credentials().await?;
    crate::engine::account_changed(&app, true).await;
    Ok(account.credentials_status().await)
}

#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn issue_login_token(account: State<'_, Arc<Account>>) -> Result<LoginTokenGrant, IpcError> {
    account.issue_login_token().await
}

/// The window chose the engine (it knows whether its webview has WebRTC); the native one starts
/// here. Returns the connection state.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn use_call_engine<R: Runtime>(app: AppHandle<R>, engine: CallEngine) -> Result<ConnectionStatus, IpcError> {
    crate::engine::use_engine(&app, engine).await
}

/// The webview engine's connection state (the native engine reports its own).
#[tauri::command]
#[tracing::instrument(skip_all)]
pub fn report_engine_connection<R: Runtime>(app: AppHandle<R>, state: ConnectionState, reason: Option<String>) {
    crate::engine::set_connection(&app, state, reason);
}

/// Demo mode: a lead (this one, or any) calls the agent through the simulator.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn simulate_inbound_call(
    account: State<'_, Arc<Account>>,
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
