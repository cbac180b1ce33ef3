//! Commands about dialing sessions: a call list counted and previewed, a session started, the
//! agent's actions on it, and its state.

use softphone_core::dialing::{DialingAction, DialingView, ListFilter, ListPreview, Mode};
use softphone_core::ipc::IpcError;
use softphone_dialer::SessionEvent;
use tauri::{AppHandle, Runtime, State};

use crate::database::Database;

/// The list `filter` makes now: its first leads, how many are ready, deferred and refused.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn preview_call_list(database: State<'_, Database>, filter: ListFilter) -> Result<ListPreview, IpcError> {
    crate::dialing_session::preview(&database, &filter)
}

/// Starts working the list `filter` makes, in `mode`.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn start_dialing<R: Runtime>(app: AppHandle<R>, filter: ListFilter, mode: Mode) -> Result<DialingView, IpcError> {
    crate::dialing_session::start(&app, &filter, mode)
}

/// Starts working a team campaign in `mode`: its leads are claimed as the session goes.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn start_team_dialing<R: Runtime>(
    app: AppHandle<R>,
    campaign: String,
    mode: Mode,
) -> Result<DialingView, IpcError> {
    crate::dialing_session::start_team(&app, &campaign, mode).await
}

/// Call, Skip, Pause, Resume or Stop on the running session.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn dialing_action<R: Runtime>(app: AppHandle<R>, action: DialingAction) -> Result<DialingView, IpcError> {
    let event = match action {
        DialingAction::Call => SessionEvent::Call,
        DialingAction::Skip { reason } => SessionEvent::Skip { reason },
        DialingAction::Pause => SessionEvent::Pause,
        DialingAction::Resume => SessionEvent::Resume,
        DialingAction::Stop => SessionEvent::Stop,
    };
    crate::dialing_session::act(&app, event)
}

/// The running session, if any.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub fn get_dialing<R: Runtime>(app: AppHandle<R>) -> Option<DialingView> {
    crate::dialing_session::view(&app)
}

/// Saves the report of the session (the one running, or the one just finished) as CSV at `path`;
/// answers how many leads it lists.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub fn save_dialing_report<R: Runtime>(app: AppHandle<R>, path: String) -> Result<usize, IpcError> {
    crate::dialing_session::save_report(&app, std::path::Path::new(path.trim()))
}
