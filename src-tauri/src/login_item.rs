//! Starting the app when the agent logs in to the computer, through tauri-plugin-autostart: an
//! XDG autostart entry on Linux (`~/.config/autostart/Softphone.desktop`), a Run key on Windows,
//! a launch agent on macOS. The entry starts the app with
//! [`softphone_core::window_life::AUTOSTART_ARG`], so the app knows it was not started by hand.
//!
//! On by default once the agent has logged in to Telnyx for the first time (not in demo mode):
//! from then on the phone is there every morning without anyone starting it.

use softphone_core::ipc::{ConnectionState, event};
use softphone_core::window_life::AUTOSTART_ARG;
use tauri::{AppHandle, Emitter, Manager, Runtime, plugin::TauriPlugin};
use tauri_plugin_autostart::AutoLaunchManager;

use crate::connection::Connection;
use crate::database::Database;

/// The plugin, registered by the app (the mock-runtime tests run without it).
pub fn plugin<R: Runtime>() -> TauriPlugin<R> {
    tauri_plugin_autostart::Builder::new().arg(AUTOSTART_ARG).build()
}

/// Adds or removes the login item, as `start_at_login` says (`None`: the agent has not decided,
/// nothing changes). A failure is logged: the phone works without it.
pub fn apply<R: Runtime, M: Manager<R>>(app: &M, start_at_login: Option<bool>) {
    let Some(on) = start_at_login else { return };
    let Some(login_item) = app.try_state::<AutoLaunchManager>() else {
        tracing::debug!("no login item manager (the autostart plugin is not registered)");
        return;
    };
    // Written again when on: the entry then names this binary, wherever it now is.
    let outcome = if on { login_item.enable() } else { login_item.disable() };
    match outcome {
        Ok(()) => tracing::info!(on, "the app starts at login"),
        Err(error) => tracing::warn!(on, %error, "the login item could not be changed"),
    }
}

/// For the rest of the app's life: the first time the phone is ready on a Telnyx account, and the
/// agent has not decided, the app starts at login from then on.
pub fn on_after_first_login<R: Runtime>(app: &AppHandle<R>) {
    let mut connection = app.state::<Connection>().subscribe();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let logged_in = {
                let status = connection.borrow_and_update();
                status.state == ConnectionState::Ready && !status.demo
            };
            let database = app.state::<Database>();
            if logged_in && database.settings().start_at_login.is_none() {
                database.change_settings("start at login", |settings| settings.start_at_login = Some(true));
                apply(&app, Some(true));
                if let Err(error) = app.emit(event::SETTINGS_UPDATED, database.settings()) {
                    tracing::warn!(%error, "could not tell the window the settings changed");
                }
            }
            if connection.changed().await.is_err() {
                return;
            }
        }
    });
}
