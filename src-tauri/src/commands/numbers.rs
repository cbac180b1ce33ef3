//! Commands about phone numbers: the window has no numbering metadata, so the shell checks what
//! the agent types and formats the numbers the window shows.

use softphone_core::ipc::NumberCheck;
use tauri::{AppHandle, Runtime};

/// What the dialer says about the number being typed (valid and how it reads, or why not).
#[tauri::command]
#[tracing::instrument(skip_all)]
pub fn check_number<R: Runtime>(app: AppHandle<R>, typed: String) -> NumberCheck {
    crate::dialing::check_number(&app, &typed)
}

/// The numbers as the agent reads them (international format), in the order given; text that is
/// no stored number comes back as it is.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub fn format_numbers(numbers: Vec<String>) -> Vec<String> {
    numbers.iter().map(|number| softphone_core::phone::shown(number)).collect()
}
