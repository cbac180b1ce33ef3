//! Commands about the app on the desktop: Do Not Disturb, a `tel:` link waiting, the window's own
//! failures.

use softphone_core::call::CallEvent;
use softphone_core::ipc::{DesktopStatus, IpcError, WindowFailure, WindowRecovery};
use tauri::{AppHandle, Runtime, State};

use crate::call_loop::CallLoop;

/// The window's own code failed (see [`crate::web_process::window_failed`]).
#[tauri::command]
#[tracing::instrument(skip_all)]
pub fn report_window_failure<R: Runtime>(app: AppHandle<R>, failure: WindowFailure) -> WindowRecovery {
    crate::web_process::window_failed(&app, &failure)
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub fn get_desktop_status<R: Runtime>(app: AppHandle<R>) -> DesktopStatus {
    crate::notifications::desktop_status(&app)
}

/// Do Not Disturb: inbound calls are declined (busy) and logged as missed while it is on.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
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
#[tracing::instrument(skip_all)]
pub fn take_pending_dial<R: Runtime>(app: AppHandle<R>) -> Option<String> {
    crate::desktop::take_pending_dial(&app)
}
