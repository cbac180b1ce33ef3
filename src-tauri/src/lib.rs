//! The Tauri shell: wires state, commands and logging. Domain logic lives in `crates/`.

mod account;
mod audio;
mod call_loop;
mod clock;
mod commands;
mod connection;
mod database;
mod desktop;
mod dialing;
mod engine;
mod errors;
mod logging;
mod notifications;
mod web_process;

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
    // The account is also the native engine's token source.
    let account = Arc::new(account::Account::new(Keychain::new(config.keychain_service), config.endpoints));
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
        .manage(database::Database::default())
        .manage(web_process::WindowReloads::default())
        .manage(account)
        .invoke_handler(tauri::generate_handler![
            commands::account::get_app_info,
            commands::account::get_connection_status,
            commands::account::get_credentials_status,
            commands::account::save_credentials,
            commands::account::clear_credentials,
            commands::account::issue_login_token,
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
            commands::calls::dismiss_call,
            commands::calls::report_engine_update,
            commands::leads::search_leads,
            commands::leads::get_lead,
            commands::leads::update_lead_notes,
            commands::leads::import_leads_csv,
            commands::call_log::get_recent_calls,
            commands::call_log::get_missed_calls,
            commands::call_log::get_lead_calls,
            commands::call_log::get_dispositions,
            commands::call_log::set_call_disposition,
            commands::call_log::add_custom_disposition,
            commands::call_log::remove_custom_disposition,
            commands::calls::wrap_up_call,
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

/// Starts the app: logging, the account (or demo mode), the window.
pub fn run() {
    // A second launch (e.g. a `tel:` link clicked while the app runs) hands its arguments to this
    // instance and exits. Registered first, as the plugin requires.
    let single_instance = tauri_plugin_single_instance::init(|app, args, _cwd| match desktop::dial_link_in(args) {
        Some(number) => desktop::open_dial_link(app, number),
        None => desktop::show_window(app),
    });
    let app_builder =
        tauri::Builder::default().plugin(single_instance).plugin(tauri_plugin_window_state::Builder::default().build());
    builder(app_builder, ShellConfig::from_env())
        .setup(|app| {
            let log_dir = app.path().app_log_dir()?;
            let guard = logging::init(&log_dir)?;
            app.manage(guard);
            tracing::info!(version = env!("CARGO_PKG_VERSION"), log_dir = %log_dir.display(), "softphone started");
            let data_dir = app.path().app_data_dir()?;
            match app.state::<database::Database>().open_in(&data_dir) {
                Ok(interrupted) => tracing::info!(interrupted, dir = %data_dir.display(), "database open"),
                Err(error) => tracing::error!(reason = %error.message, "the database could not be opened"),
            }
            let settings = app.state::<database::Database>().load_settings();
            let audio = app.state::<audio::Audio>();
            commands::settings::apply(&settings, &audio, &app.state::<mpsc::UnboundedSender<CallEvent>>());
            audio.forward_device_events(app.handle());
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move { start_account(&handle).await });
            let clicks =
                notifications::ClickActions { show_window: desktop::show_window, call_back: dialing::call_back };
            notifications::start(app.handle(), clicks);
            desktop::create_tray(app.handle());
            web_process::reload_when_it_dies(app.handle());
            if let Some(number) = desktop::dial_link_in(std::env::args().skip(1)) {
                desktop::open_dial_link(app.handle(), number);
            }
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
    use serde_json::{Value, json};
    use softphone_core::call::{CallId, CallView, CallsSnapshot};
    use softphone_core::ipc::{
        AppInfo, ConnectionState, ConnectionStatus, CredentialsStatus, ErrorCode, IpcError, LoginTokenGrant, command,
    };
    use tauri::ipc::{CallbackFn, InvokeBody};
    use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets};
    use tauri::webview::InvokeRequest;
    use tauri::{App, WebviewWindow};

    use super::{ShellConfig, TelnyxEndpoints};

    /// A shell on the mock runtime. Its keychain service is unique, so a developer's real
    /// keychain items are never read, and the account is started (demo mode: nothing stored).
    struct Shell {
        _app: App<MockRuntime>,
        window: WebviewWindow<MockRuntime>,
        data: std::sync::Arc<tempfile::TempDir>,
    }

    fn shell_with(api_url: &str) -> Shell {
        shell_in(api_url, std::sync::Arc::new(tempfile::tempdir().expect("data dir")))
    }

    /// A shell whose database lives in `data` (shared to simulate a restart on the same files).
    fn shell_in(api_url: &str, data: std::sync::Arc<tempfile::TempDir>) -> Shell {
        let config = ShellConfig {
            keychain_service: format!("io.agentsoftphone.test.{}", uuid::Uuid::new_v4()),
            endpoints: TelnyxEndpoints { api_url: api_url.to_owned(), rtc_url: "ws://127.0.0.1:9/".into() },
        };
        let app = super::builder(mock_builder(), config).build(mock_context(noop_assets())).expect("mock app builds");
        let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default()).build().expect("window");
        tauri::async_runtime::block_on(super::start_account(app.handle()));
        tauri::Manager::state::<super::database::Database>(&app).open_in(data.path()).expect("database opens");
        Shell { _app: app, window, data }
    }

    fn shell() -> Shell {
        shell_with("http://127.0.0.1:9")
    }

    impl Shell {
        fn call(&self, cmd: &str, args: Value) -> Result<Value, IpcError> {
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
            match get_ipc_response(&self.window, request) {
                Ok(body) => Ok(body.deserialize().expect("JSON answer")),
                Err(error) => Err(serde_json::from_value(error.clone())
                    .unwrap_or_else(|_| panic!("{cmd} failed without an IpcError: {error}"))),
            }
        }

        fn invoke<T: DeserializeOwned>(&self, cmd: &str, args: Value) -> T {
            let answer = self.call(cmd, args).unwrap_or_else(|error| panic!("{cmd} failed: {error:?}"));
            serde_json::from_value(answer).expect("answer has the declared type")
        }

        fn view_of(&self, call_id: &CallId) -> CallView {
            let snapshot: CallsSnapshot = self.invoke(command::GET_CALLS, json!({}));
            snapshot.calls.iter().find(|call| &call.call_id == call_id).map(|call| call.view).expect("listed")
        }
    }

    #[test]
    fn app_info_reports_the_build_version() {
        let info: AppInfo = shell().invoke(command::GET_APP_INFO, json!({}));
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(info.tauri_version, tauri::VERSION);
        assert_eq!(info.os, std::env::consts::OS);
    }

    #[test]
    fn without_credentials_the_app_is_in_demo_mode_and_says_why_it_is_offline() {
        let shell = shell();
        let status: ConnectionStatus = shell.invoke(command::GET_CONNECTION_STATUS, json!({}));
        assert_eq!(status.state, ConnectionState::Offline);
        assert!(status.demo);
        assert!(status.reason.is_some_and(|reason| !reason.is_empty()));
        let credentials: CredentialsStatus = shell.invoke(command::GET_CREDENTIALS_STATUS, json!({}));
        assert!(credentials.demo && !credentials.api_key && !credentials.connection_id);
    }

    #[test]
    fn demo_mode_issues_login_tokens_from_the_built_in_simulator_and_reuses_them() {
        let shell = shell();
        let grant: LoginTokenGrant = shell.invoke(command::ISSUE_LOGIN_TOKEN, json!({}));
        assert!(grant.signaling_url.starts_with("ws://127.0.0.1:"), "{}", grant.signaling_url);
        assert_eq!(grant.login_token.split('.').count(), 3, "a JWT");
        let in_an_hour =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() + 3600;
        assert!(grant.expires_at_unix > in_an_hour, "the demo token lives long");
        assert!(grant.ice_servers.is_empty(), "no STUN/TURN against the simulator");
        let again: LoginTokenGrant = shell.invoke(command::ISSUE_LOGIN_TOKEN, json!({}));
        assert_eq!(again.login_token, grant.login_token, "cached until close to expiry");
    }

    #[test]
    fn a_rejected_api_key_is_not_stored_and_the_agent_reads_why() {
        let simulator = tauri::async_runtime::block_on(softphone_sim::Simulator::start(Default::default()))
            .expect("simulator starts");
        let shell = shell_with(&simulator.base_url());
        let error = shell
            .call(command::SAVE_CREDENTIALS, json!({ "apiKey": "KEY_wrong_for_this_test", "connectionId": "123" }))
            .expect_err("a wrong key is refused");
        assert_eq!(error.code, ErrorCode::TelnyxAuthRejected);
        assert!(error.message.contains("API key"), "{}", error.message);
        assert!(!error.message.contains("KEY_wrong_for_this_test"), "the key is not echoed back");
        let credentials: CredentialsStatus = shell.invoke(command::GET_CREDENTIALS_STATUS, json!({}));
        assert!(!credentials.api_key && credentials.demo, "nothing stored, still demo");
    }

    #[test]
    fn an_invalid_number_is_refused_before_dialing() {
        let shell = shell();
        let error = shell.call(command::PLACE_CALL, json!({ "number": "12" })).expect_err("too short");
        assert_eq!(error.code, ErrorCode::InvalidNumber);
        let snapshot: CallsSnapshot = shell.invoke(command::GET_CALLS, json!({}));
        assert!(snapshot.calls.is_empty());
    }

    #[test]
    fn a_call_follows_the_engine_through_the_state_machine() {
        let shell = shell();
        let call_id: CallId = shell.invoke(command::PLACE_CALL, json!({ "number": "(415) 555-0100" }));
        let snapshot: CallsSnapshot = shell.invoke(command::GET_CALLS, json!({}));
        assert_eq!(snapshot.calls[0].remote.number, "+14155550100", "stored as E.164");
        assert_eq!(shell.view_of(&call_id), CallView::Dialing);

        let report =
            |update: Value| shell.call(command::REPORT_ENGINE_UPDATE, json!({ "callId": call_id, "update": update }));
        report(json!({ "kind": "state", "state": "active" })).expect("active");
        assert_eq!(shell.view_of(&call_id), CallView::Active);

        shell.call(command::HOLD_CALL, json!({ "callId": call_id })).expect("hold");
        assert_eq!(shell.view_of(&call_id), CallView::Holding);
        report(json!({ "kind": "state", "state": "held" })).expect("held");
        assert_eq!(shell.view_of(&call_id), CallView::Held);

        let refused = shell.call(command::SEND_CALL_DIGITS, json!({ "callId": call_id, "digits": "1" }));
        assert_eq!(refused.expect_err("no digits while held").code, ErrorCode::CallRefused);

        shell.call(command::HANG_UP_CALL, json!({ "callId": call_id })).expect("hang up");
        report(json!({ "kind": "ended", "cause": "NORMAL_CLEARING", "sip_code": 200 })).expect("ended");
        assert_eq!(shell.view_of(&call_id), CallView::Ended);
        let unknown_state = report(json!({ "kind": "state", "state": "warp" }));
        assert_eq!(unknown_state.expect_err("unknown SDK state").code, ErrorCode::CallRefused);
    }

    fn recent_calls(shell: &Shell) -> Vec<Value> {
        let calls: Value = shell.invoke(command::GET_RECENT_CALLS, json!({ "page": { "limit": 50, "offset": 0 } }));
        calls.as_array().cloned().expect("a list")
    }

    #[test]
    fn every_call_lands_in_the_call_log_with_its_outcome() {
        let shell = shell();
        let call_id: CallId = shell.invoke(command::PLACE_CALL, json!({ "number": "+1 415 555 0100" }));
        let logged = recent_calls(&shell);
        assert_eq!(logged.len(), 1);
        assert_eq!(logged[0]["state"], "in_progress", "written when the call starts: {logged:?}");
        shell
            .call(
                command::REPORT_ENGINE_UPDATE,
                json!({ "callId": call_id, "update": { "kind": "ended", "cause": "USER_BUSY", "sip_code": 486 } }),
            )
            .expect("ended");
        let logged = recent_calls(&shell);
        assert_eq!(logged[0]["state"], "failed", "{logged:?}");
        assert_eq!(logged[0]["hangup_cause"], "USER_BUSY");
        assert_eq!(logged[0]["sip_code"], 486);
        assert_eq!(logged[0]["remote_number"], "+14155550100");
    }

    #[test]
    fn a_known_caller_pops_the_lead_and_links_the_call_log() {
        let shell = shell();
        let csv = shell.data.path().join("leads.csv");
        std::fs::write(&csv, "Name,Company,Phone\nAda Lovelace,Analytical,+1 415 555 0142\nBroken Row,Nowhere,12\n")
            .expect("csv");
        let report: Value = shell.invoke(command::IMPORT_LEADS_CSV, json!({ "path": csv }));
        assert_eq!(report["inserted"], 1, "{report}");
        assert_eq!(report["rejected"][0]["line"], 3, "the broken row is reported by line: {report}");

        let found: Value =
            shell.invoke(command::SEARCH_LEADS, json!({ "query": "lov", "page": { "limit": 10, "offset": 0 } }));
        let lead_id = softphone_core::lead::LeadId(found[0]["id"].as_i64().expect("found by prefix"));

        let incoming = CallId("inbound-1".into());
        shell
            .call(
                command::REPORT_ENGINE_UPDATE,
                json!({ "callId": incoming, "update": { "kind": "incoming", "remote": { "number": "+14155550142", "name": null } } }),
            )
            .expect("incoming");
        let snapshot: CallsSnapshot = shell.invoke(command::GET_CALLS, json!({}));
        assert_eq!(snapshot.calls[0].lead_id, Some(lead_id), "screen-pop: the lead is on the call");
        let logged = recent_calls(&shell);
        assert_eq!(logged[0]["lead_id"], lead_id.0);
    }

    #[test]
    fn demo_mode_seeds_sample_leads_whose_directory_numbers_can_be_called() {
        let shell = shell();
        tauri::Manager::state::<super::database::Database>(&shell._app).seed_demo_leads();
        let page: Value =
            shell.invoke(command::SEARCH_LEADS, json!({ "query": "", "page": { "limit": 50, "offset": 0 } }));
        assert_eq!(page.as_array().map(Vec::len), Some(50), "a full first page of samples");
        let busy: Value =
            shell.invoke(command::SEARCH_LEADS, json!({ "query": "15555550102", "page": { "limit": 5, "offset": 0 } }));
        let lead_id = busy[0]["id"].as_i64().expect("the busy number is a lead");
        let call_id: CallId = shell.invoke(command::PLACE_CALL, json!({ "number": "+15555550102", "leadId": lead_id }));
        assert_eq!(shell.view_of(&call_id), CallView::Dialing, "demo dials the simulator's numbers");
    }

    #[test]
    fn a_call_open_when_the_app_died_is_closed_as_interrupted_at_the_next_start() {
        let data = std::sync::Arc::new(tempfile::tempdir().expect("data dir"));
        {
            let shell = shell_in("http://127.0.0.1:9", data.clone());
            let call_id: CallId = shell.invoke(command::PLACE_CALL, json!({ "number": "+14155550100" }));
            shell
                .call(
                    command::REPORT_ENGINE_UPDATE,
                    json!({ "callId": call_id, "update": { "kind": "state", "state": "active" } }),
                )
                .expect("active");
            // The app dies here: no hangup, no finish.
        }
        let shell = shell_in("http://127.0.0.1:9", data);
        let logged = recent_calls(&shell);
        assert_eq!(logged.len(), 1, "the call is not lost");
        assert_eq!(logged[0]["state"], "interrupted", "{logged:?}");
        assert!(logged[0]["answered_at_ms"].is_i64(), "it shows it was answered");
    }

    #[test]
    fn a_wrap_up_saves_the_disposition_and_note_on_the_call_and_the_lead() {
        let shell = shell();
        tauri::Manager::state::<super::database::Database>(&shell._app).seed_demo_leads();
        let found: Value =
            shell.invoke(command::SEARCH_LEADS, json!({ "query": "15555550100", "page": { "limit": 5, "offset": 0 } }));
        let lead_id = found[0]["id"].as_i64().expect("a demo lead");
        let call_id: CallId = shell.invoke(command::PLACE_CALL, json!({ "number": "+15555550100", "leadId": lead_id }));
        shell
            .call(
                command::REPORT_ENGINE_UPDATE,
                json!({ "callId": call_id, "update": { "kind": "state", "state": "active" } }),
            )
            .expect("active");
        shell
            .call(
                command::REPORT_ENGINE_UPDATE,
                json!({ "callId": call_id, "update": { "kind": "ended", "cause": "NORMAL_CLEARING" } }),
            )
            .expect("ended");
        let logged = recent_calls(&shell);
        let row = logged[0]["id"].clone();

        let dispositions: Value = shell.invoke(command::GET_DISPOSITIONS, json!({}));
        assert!(dispositions.as_array().is_some_and(|list| list.len() >= 7), "the standard list: {dispositions}");

        let refused = shell
            .call(command::SET_CALL_DISPOSITION, json!({ "callLogId": row, "disposition": "teleported", "note": "" }));
        // Not a standard code, and no such custom disposition was added: refused, nothing saved.
        let refused = refused.expect_err("unknown disposition");
        assert_eq!(refused.code, ErrorCode::NotFound, "{refused:?}");

        let saved: Value = shell.invoke(
            command::SET_CALL_DISPOSITION,
            json!({ "callLogId": row, "disposition": "callback", "note": "Call back Tuesday" }),
        );
        assert_eq!(saved["disposition"], "callback", "{saved}");
        assert_eq!(saved["note"], "Call back Tuesday");
        let lead: Value = shell.invoke(command::GET_LEAD, json!({ "leadId": lead_id }));
        assert_eq!(lead["last_disposition"], "callback", "the lead shows its latest outcome: {lead}");
    }

    #[test]
    fn the_teams_own_dispositions_are_added_offered_used_and_removed_and_survive_a_restart() {
        let data = std::sync::Arc::new(tempfile::tempdir().expect("data dir"));
        let labels = |list: &Value| -> Vec<String> {
            list.as_array().expect("a list").iter().map(|d| d.as_str().expect("a code").to_owned()).collect()
        };
        let shell = shell_in("http://127.0.0.1:9", data.clone());
        let standard = labels(&shell.invoke(command::GET_DISPOSITIONS, json!({})));

        let listed: Value = shell.invoke(command::ADD_CUSTOM_DISPOSITION, json!({ "label": "Demo booked" }));
        assert_eq!(labels(&listed), [standard.clone(), vec!["Demo booked".to_owned()]].concat());
        // The same again (any case) is one entry; a bad label is refused with the reason.
        let again: Value = shell.invoke(command::ADD_CUSTOM_DISPOSITION, json!({ "label": "demo BOOKED" }));
        assert_eq!(labels(&again).len(), standard.len() + 1, "{again}");
        for bad in ["", "   ", "callback"] {
            let refused = shell.call(command::ADD_CUSTOM_DISPOSITION, json!({ "label": bad })).expect_err(bad);
            assert_eq!(refused.code, ErrorCode::InvalidArgument, "{bad:?}: {refused:?}");
            assert!(!refused.message.is_empty());
        }

        // A wrap-up can use it.
        let call_id: CallId = shell.invoke(command::PLACE_CALL, json!({ "number": "+15555550100" }));
        for update in
            [json!({ "kind": "state", "state": "active" }), json!({ "kind": "ended", "cause": "NORMAL_CLEARING" })]
        {
            shell.call(command::REPORT_ENGINE_UPDATE, json!({ "callId": call_id, "update": update })).expect("update");
        }
        let row = recent_calls(&shell)[0]["id"].clone();
        let saved: Value = shell.invoke(
            command::SET_CALL_DISPOSITION,
            json!({ "callLogId": row, "disposition": "Demo booked", "note": "" }),
        );
        assert_eq!(saved["disposition"], "Demo booked", "{saved}");
        drop(shell);

        // After a restart it is still offered; removed, it is not, and the call keeps it.
        let shell = shell_in("http://127.0.0.1:9", data);
        assert!(labels(&shell.invoke(command::GET_DISPOSITIONS, json!({}))).contains(&"Demo booked".to_owned()));
        let listed: Value = shell.invoke(command::REMOVE_CUSTOM_DISPOSITION, json!({ "label": "Demo booked" }));
        assert_eq!(labels(&listed), standard);
        assert_eq!(recent_calls(&shell)[0]["disposition"], "Demo booked");
        let missing =
            shell.call(command::REMOVE_CUSTOM_DISPOSITION, json!({ "label": "Demo booked" })).expect_err("gone");
        assert_eq!(missing.code, ErrorCode::NotFound, "{missing:?}");
    }
}
