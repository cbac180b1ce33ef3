//! The Tauri shell: wires state, commands and logging. Domain logic lives in `crates/`.

mod commands;
mod logging;

use std::sync::Mutex;

use softphone_core::ipc::ConnectionStatus;
use tauri::{Manager, Runtime};

/// The connection state the shell reports to the UI. The call engine owns it once it exists.
pub(crate) struct Connection(pub(crate) Mutex<ConnectionStatus>);

/// Registers the shell's state and commands on any Tauri runtime (the real one, or the mock
/// runtime in tests).
pub fn builder<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .manage(Connection(Mutex::new(ConnectionStatus::offline("No call engine is running yet."))))
        .invoke_handler(tauri::generate_handler![commands::get_app_info, commands::get_connection_status,])
}

/// Starts the app: logging, then the window.
pub fn run() {
    builder(tauri::Builder::default())
        .setup(|app| {
            let log_dir = app.path().app_log_dir()?;
            let guard = logging::init(&log_dir)?;
            app.manage(guard);
            tracing::info!(version = env!("CARGO_PKG_VERSION"), log_dir = %log_dir.display(), "softphone started");
            Ok(())
        })
        .run(tauri::generate_context!())
        .unwrap_or_else(|error| {
            eprintln!("softphone: the app could not start: {error}");
            std::process::exit(1);
        });
}

#[cfg(test)]
mod tests {
    use serde::de::DeserializeOwned;
    use softphone_core::ipc::{AppInfo, ConnectionState, ConnectionStatus, command};
    use tauri::ipc::{CallbackFn, InvokeBody};
    use tauri::test::{INVOKE_KEY, get_ipc_response, mock_builder, mock_context, noop_assets};
    use tauri::webview::InvokeRequest;

    fn invoke<T: DeserializeOwned>(cmd: &str, args: serde_json::Value) -> T {
        let app = super::builder(mock_builder()).build(mock_context(noop_assets())).expect("mock app builds");
        let webview =
            tauri::WebviewWindowBuilder::new(&app, "main", Default::default()).build().expect("mock window builds");
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            // The Linux/macOS origin of the app's own pages; `http://tauri.localhost` is Windows'.
            url: "tauri://localhost".parse().expect("valid url"),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        get_ipc_response(&webview, request)
            .unwrap_or_else(|error| panic!("{cmd} was rejected: {error:?}"))
            .deserialize()
            .expect("response has the declared type")
    }

    #[test]
    fn app_info_reports_the_build_version() {
        let info: AppInfo = invoke(command::GET_APP_INFO, serde_json::json!({}));
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(info.tauri_version, tauri::VERSION);
        assert_eq!(info.os, std::env::consts::OS);
    }

    #[test]
    fn connection_starts_offline_with_a_reason() {
        let status: ConnectionStatus = invoke(command::GET_CONNECTION_STATUS, serde_json::json!({}));
        assert_eq!(status.state, ConnectionState::Offline);
        assert!(status.reason.is_some_and(|r| !r.is_empty()));
    }
}
