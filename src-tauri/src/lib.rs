//! The Tauri shell: wires state, commands and logging. Domain logic lives in `crates/`.

mod account;
mod audio;
mod call_control;
mod call_loop;
mod clock;
mod commands;
mod connection;
mod database;
mod desktop;
mod dialing;
mod dialing_session;
mod engine;
mod errors;
mod greetings;
mod logging;
mod login_item;
mod notifications;
mod power;
mod recordings;
mod team;
mod updates;
mod web_process;
mod window_life;

use std::sync::Arc;

use softphone_core::call::CallEvent;
use softphone_core::ipc::{ConnectionState, event};
use softphone_keychain::Keychain;
use softphone_native_engine::TokenSource;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::mpsc;

pub use account::TelnyxEndpoints;

/// The app's identifier; also the keychain service its items are stored under.
pub const APP_ID: &str = "io.agentsoftphone.desktop";

/// What the shell needs from its surroundings; [`ShellConfig::from_env`] in the app.
#[derive(Debug, Clone)]
pub struct ShellConfig {
    /// Keychain service name; the app id unless `SOFTPHONE_KEYCHAIN_SERVICE` says otherwise.
    pub keychain_service: String,
    pub endpoints: TelnyxEndpoints,
}

impl ShellConfig {
    pub fn from_env() -> Self {
        Self {
            keychain_service: std::env::var("SOFTPHONE_KEYCHAIN_SERVICE").unwrap_or_else(|_| APP_ID.to_owned()),
            endpoints: TelnyxEndpoints::from_env(),
        }
    }
}

/// Registers the shell's state and commands on any Tauri runtime (the real one, or the mock
/// runtime in tests).
pub fn builder<R: Runtime>(builder: tauri::Builder<R>, config: ShellConfig) -> tauri::Builder<R> {
    // The call loop's inbox for adapters and its snapshot are managed as plain channel ends.
    let (call_loop, call_events, calls_snapshot) = call_loop::CallLoop::new();
    // The dialing session dials through the loop without knowing it.
    let session_dials = dialing_session::Dialer::new(Box::new(call_loop.asker()));
    // The account is also the native engine's token source.
    let account = Arc::new(account::Account::new(Keychain::new(config.keychain_service.clone()), config.endpoints));
    // The team sync works on the app's own database file, through the same lock.
    let database = database::Database::default();
    let team = team::Team::new(Keychain::new(config.keychain_service), database.shared_store());
    let audio = audio::Audio::open();
    builder
        .plugin(call_loop::plugin())
        .manage(connection::Connection::default())
        .manage(call_loop)
        .manage(call_events)
        .manage(calls_snapshot)
        .manage(engine::EngineHost::new(Arc::clone(&account) as Arc<dyn TokenSource>, audio.system()))
        .manage(audio)
        .manage(desktop::Desktop::default())
        .manage(notifications::Notifications::default())
        .manage(database)
        .manage(team)
        .manage(greetings::Greetings::default())
        .manage(session_dials)
        .manage(web_process::WindowReloads::default())
        .manage(window_life::Releases::default())
        .manage(updates::Updates::default())
        .manage(recordings::Recordings::default())
        .manage(account)
        .invoke_handler(tauri::generate_handler![
            commands::account::get_app_info,
            commands::account::get_connection_status,
            commands::account::get_credentials_status,
            commands::account::save_credentials,
            commands::account::clear_credentials,
            commands::account::issue_login_token,
            commands::account::list_account_numbers,
            commands::calls::get_calls,
            commands::calls::place_call,
            commands::numbers::check_number,
            commands::numbers::format_numbers,
            commands::calls::answer_call,
            commands::calls::decline_call,
            commands::calls::hang_up_call,
            commands::calls::hold_call,
            commands::calls::resume_call,
            commands::calls::set_call_muted,
            commands::calls::send_call_digits,
            commands::calls::transfer_call,
            commands::calls::complete_consult,
            commands::calls::set_call_participant,
            commands::recordings::record_call,
            commands::recordings::pause_call_recording,
            commands::recordings::stop_call_recording,
            commands::recordings::play_call_recording,
            commands::recordings::stop_playing_recording,
            commands::calls::dismiss_call,
            commands::calls::report_engine_update,
            commands::leads::search_leads,
            commands::leads::get_lead,
            commands::leads::update_lead_notes,
            commands::leads::import_leads_csv,
            commands::leads::import_do_not_call_csv,
            commands::leads::set_lead_do_not_call,
            commands::dialing::preview_call_list,
            commands::dialing::start_dialing,
            commands::dialing::dialing_action,
            commands::dialing::get_dialing,
            commands::dialing::save_dialing_report,
            commands::call_log::get_recent_calls,
            commands::call_log::get_missed_calls,
            commands::call_log::get_lead_calls,
            commands::call_log::get_team_calls,
            commands::call_log::get_lead_team_calls,
            commands::call_log::export_call_log,
            commands::leads::export_leads,
            commands::call_log::get_dispositions,
            commands::call_log::set_call_disposition,
            commands::call_log::add_custom_disposition,
            commands::call_log::remove_custom_disposition,
            commands::calls::wrap_up_call,
            commands::voicemail::drop_voicemail,
            commands::voicemail::import_greeting,
            commands::voicemail::list_greetings,
            commands::voicemail::read_greeting,
            commands::voicemail::start_greeting_recording,
            commands::voicemail::finish_greeting_recording,
            commands::voicemail::play_greeting,
            commands::voicemail::stop_greeting,
            commands::call_log::get_unseen_missed_count,
            commands::call_log::mark_missed_calls_seen,
            commands::account::use_call_engine,
            commands::account::report_engine_connection,
            commands::calls::get_diagnostics,
            commands::calls::get_audio_meter,
            commands::account::simulate_inbound_call,
            commands::settings::get_settings,
            commands::settings::save_settings,
            commands::settings::get_audio_devices,
            commands::desktop::get_desktop_status,
            commands::desktop::set_do_not_disturb,
            commands::desktop::take_pending_dial,
            commands::settings::unplug_fake_audio_device,
            commands::settings::preview_ringtone,
            commands::desktop::report_window_failure,
            commands::updates::get_update_status,
            commands::updates::check_for_update,
            commands::updates::install_update,
            commands::team::get_team_status,
            commands::team::join_team,
            commands::team::leave_team,
            commands::team::get_team_campaigns,
            commands::dialing::start_team_dialing,
        ])
}

/// Picks the Telnyx account or demo mode and tells the window. The call engine (chosen by the
/// window) reports the connection itself; this only sets the demo flag, or the error.
async fn start_account<R: Runtime>(app: &AppHandle<R>) {
    let status = {
        let outcome = app.state::<Arc<account::Account>>().start().await;
        if let Ok(true) = outcome {
            app.state::<database::Database>().seed_demo_leads();
        }
        app.state::<connection::Connection>().update(|current| match outcome {
            Ok(demo) => current.demo = demo,
            Err(error) => {
                current.state = ConnectionState::Error;
                current.reason = Some(error.message);
            }
        })
    };
    if let Err(error) = app.emit(event::CONNECTION_UPDATED, status) {
        tracing::error!(%error, "could not tell the window the connection state");
    }
}

/// Rejoins the team joined before (if any) and tells the window whenever its status changes.
/// `resumed_leads`: those of the dialing session resumed after a restart (they stay this agent's).
fn follow_team<R: Runtime>(app: &AppHandle<R>, resumed_leads: Vec<softphone_core::lead::LeadId>) {
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut changes = handle.state::<team::Team>().subscribe();
        handle.state::<team::Team>().resume(resumed_leads).await;
        let giving_back = handle.clone();
        tauri::async_runtime::spawn(async move {
            giving_back.state::<team::Team>().give_back_held_when_reachable().await;
        });
        loop {
            let status = changes.borrow_and_update().clone();
            if let Err(error) = handle.emit(event::TEAM_UPDATED, status) {
                tracing::warn!(%error, "could not tell the window the team status");
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    });
}

/// Starts the app: logging, the account (or demo mode), the tray, the window.
pub fn run() {
    // A second launch (e.g. a `tel:` link clicked while the app runs) hands its arguments to this
    // instance and exits. Registered first, as the plugin requires.
    let single_instance = tauri_plugin_single_instance::init(|app, args, _cwd| {
        window_life::show_window(app);
        if let Some(number) = desktop::dial_link_in(args) {
            desktop::open_dial_link(app, number);
        }
    });
    // Where the window is, not whether it is shown: the shell decides that.
    let window_state = tauri_plugin_window_state::Builder::default()
        .with_state_flags(tauri_plugin_window_state::StateFlags::all() - tauri_plugin_window_state::StateFlags::VISIBLE)
        .build();
    let app_builder = tauri::Builder::default()
        .plugin(single_instance)
        .plugin(window_state)
        .plugin(login_item::plugin())
        .plugin(updates::plugin());
    let app = builder(app_builder, ShellConfig::from_env())
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::CloseRequested { api, .. } = event
                && window.label() == window_life::MAIN
            {
                window_life::close_requested(window, api);
            }
        })
        .setup(|app| {
            let log_dir = app.path().app_log_dir()?;
            let guard = logging::init(&log_dir)?;
            app.manage(guard);
            tracing::info!(version = %app.package_info().version, log_dir = %log_dir.display(), "softphone started");
            let data_dir = app.path().app_data_dir()?;
            match app.state::<database::Database>().open_in(&data_dir) {
                Ok(interrupted) => tracing::info!(interrupted, dir = %data_dir.display(), "database open"),
                Err(error) => tracing::error!(reason = %error.message, "the database could not be opened"),
            }
            app.state::<greetings::Greetings>().open_in(&data_dir);
            app.state::<recordings::Recordings>().open_in(&data_dir);
            let settings = app.state::<database::Database>().load_settings();
            let audio = app.state::<audio::Audio>();
            commands::settings::apply(&settings, &audio, &app.state::<mpsc::UnboundedSender<CallEvent>>());
            audio.forward_device_events(app.handle());
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move { start_account(&handle).await });
            dialing_session::follow(app.handle());
            follow_team(app.handle(), dialing_session::team_leads_held(app.handle()));
            let clicks =
                notifications::ClickActions { show_window: window_life::show_window, call_back: dialing::call_back };
            notifications::start(app.handle(), clicks);
            let window = desktop::WindowActions {
                show: window_life::show_window,
                hide: window_life::hide_window,
                shown: window_life::window_shown,
            };
            desktop::create_tray(app.handle(), window);
            login_item::apply(app.handle(), settings.start_at_login);
            login_item::on_after_first_login(app.handle());
            power::watch(app.handle(), |app| app.state::<engine::EngineHost>().wake());
            updates::watch(app.handle());
            let arguments: Vec<String> = std::env::args().collect();
            window_life::start(app.handle(), &arguments);
            window_life::follow_calls(app.handle());
            if let Some(number) = desktop::dial_link_in(arguments.into_iter().skip(1)) {
                window_life::show_window(app.handle());
                desktop::open_dial_link(app.handle(), number);
            }
            Ok(())
        })
        .build(tauri::generate_context!())
        .unwrap_or_else(|error| {
            eprintln!("softphone: the app could not start: {error}");
            std::process::exit(1);
        });
    app.run(|app, event| {
        // The last window went (released into the tray): the phone goes on. Quit asks with a code.
        if let tauri::RunEvent::ExitRequested { code: None, api, .. } = event
            && window_life::keeps_running_without_window(app)
        {
            api.prevent_exit();
        }
    });
}

#[cfg(test)]
mod tests;
