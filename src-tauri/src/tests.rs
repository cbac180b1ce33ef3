//! The shell on Tauri's mock runtime: commands, events and the call loop, without a window.

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use softphone_core::call::{CallId, CallView, CallsSnapshot};
use softphone_core::dialing::{DialingStage, DialingView, ListPreview};
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
    tauri::Manager::state::<super::greetings::Greetings>(&app).open_in(data.path());
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
    let simulator =
        tauri::async_runtime::block_on(softphone_sim::Simulator::start(Default::default())).expect("simulator starts");
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
fn a_number_on_the_do_not_call_list_or_of_a_marked_lead_is_never_dialled() {
    let shell = shell();
    let list = shell.data.path().join("dnc.csv");
    std::fs::write(&list, "Phone\n(415) 555-0100\nnonsense\n").expect("list written");
    let report: softphone_core::lead::DoNotCallImportReport =
        shell.invoke(command::IMPORT_DO_NOT_CALL_CSV, json!({ "path": list }));
    assert_eq!((report.added, report.rejected.len()), (1, 1), "{report:?}");
    let error = shell.call(command::PLACE_CALL, json!({ "number": "+1 415 555 0100" })).expect_err("listed");
    assert_eq!(error.code, ErrorCode::DoNotCall);
    assert!(error.message.contains("do-not-call list"), "{error:?}");

    // A lead marked do-not-call: dialled by its number, from the lead or by hand, it is refused.
    let leads = shell.data.path().join("leads.csv");
    std::fs::write(&leads, "Name,Phone\nDana Whitfield,+1 212 555 0123\n").expect("leads written");
    let _: Value = shell.invoke(command::IMPORT_LEADS_CSV, json!({ "path": leads }));
    let found: Value =
        shell.invoke(command::SEARCH_LEADS, json!({ "query": "Dana", "page": { "limit": 1, "offset": 0 } }));
    let lead_id = found[0]["id"].as_i64().expect("the imported lead");
    let number = found[0]["phone"].as_str().expect("its number").to_owned();
    let marked: Value = shell.invoke(command::SET_LEAD_DO_NOT_CALL, json!({ "leadId": lead_id, "on": true }));
    assert_eq!(marked["do_not_call"], true);
    let error = shell.call(command::PLACE_CALL, json!({ "number": number, "leadId": lead_id })).expect_err("marked");
    assert_eq!(error.code, ErrorCode::DoNotCall);
    assert!(error.message.contains("marked do-not-call"), "{error:?}");
    let snapshot: CallsSnapshot = shell.invoke(command::GET_CALLS, json!({}));
    assert!(snapshot.calls.is_empty(), "nothing was dialled");

    // Unmarked, it is dialled again.
    let _: Value = shell.invoke(command::SET_LEAD_DO_NOT_CALL, json!({ "leadId": lead_id, "on": false }));
    let _: CallId = shell.invoke(command::PLACE_CALL, json!({ "number": number, "leadId": lead_id }));
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

#[test]
fn a_transfer_telnyx_cannot_place_comes_back_on_the_card_and_the_call_goes_on() {
    let shell = shell();
    let call_id: CallId = shell.invoke(command::PLACE_CALL, json!({ "number": "(415) 555-0100" }));
    let report =
        |update: Value| shell.call(command::REPORT_ENGINE_UPDATE, json!({ "callId": call_id, "update": update }));
    report(
        json!({ "kind": "leg", "leg": { "call_control_id": "v3:cc-elsewhere", "call_session_id": "sess-elsewhere" } }),
    )
    .expect("the leg");
    report(json!({ "kind": "state", "state": "active" })).expect("active");

    let typo = shell.call(command::TRANSFER_CALL, json!({ "callId": call_id, "to": "billing" }));
    assert_eq!(typo.expect_err("not a number").code, ErrorCode::InvalidNumber);
    assert_eq!(shell.view_of(&call_id), CallView::Active, "nothing was asked of Telnyx");

    // The simulator's Call Control knows no call in that session: the transfer cannot be placed.
    shell.call(command::TRANSFER_CALL, json!({ "callId": call_id, "to": "(415) 555-0177" })).expect("asked");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let notice = loop {
        let snapshot: CallsSnapshot = shell.invoke(command::GET_CALLS, json!({}));
        if let Some(notice) = snapshot.calls[0].control.notice.clone() {
            break notice;
        }
        assert!(std::time::Instant::now() < deadline, "no word on the transfer: {snapshot:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(notice.starts_with("Telnyx lists no other party on this call"), "{notice}");
    assert_eq!(shell.view_of(&call_id), CallView::Active, "the caller is still on");
}

#[test]
fn each_call_presents_the_agents_number_most_local_to_the_callee() {
    let shell = shell();
    // Demo mode lists the simulated account's numbers (212, 415 and 312 area codes).
    let numbers: Vec<String> = shell.invoke(command::LIST_ACCOUNT_NUMBERS, json!({}));
    assert_eq!(numbers, ["+12125550142", "+14155550142", "+13125550142"]);
    let mut settings: Value = shell.invoke(command::GET_SETTINGS, json!({}));
    settings["caller_numbers"] = json!(["+1 415 555 0142"]);
    let refused = shell.call(command::SAVE_SETTINGS, json!({ "settings": settings })).expect_err("not E.164");
    assert!(refused.message.contains("international form"), "{refused:?}");
    settings["caller_numbers"] = json!(numbers);
    let _: Value = shell.invoke(command::SAVE_SETTINGS, json!({ "settings": settings }));

    let presented = |typed: &str| {
        let call_id: CallId = shell.invoke(command::PLACE_CALL, json!({ "number": typed }));
        let snapshot: CallsSnapshot = shell.invoke(command::GET_CALLS, json!({}));
        let call = snapshot.calls.iter().find(|call| call.call_id == call_id).expect("the call").clone();
        shell.call(command::HANG_UP_CALL, json!({ "callId": call_id })).expect("hang up");
        shell
            .call(command::REPORT_ENGINE_UPDATE, json!({ "callId": call_id, "update": { "kind": "ended", "cause": "NORMAL_CLEARING", "sip_code": 200 } }))
            .expect("ended");
        shell.call(command::DISMISS_CALL, json!({ "callId": call_id })).expect("dismissed");
        call.caller_number
    };
    assert_eq!(presented("(415) 555-0100").as_deref(), Some("+14155550142"), "same area code");
    assert_eq!(presented("(312) 555-0199").as_deref(), Some("+13125550142"), "same area code");
    assert_eq!(presented("(617) 555-0100").as_deref(), Some("+12125550142"), "no match: the first listed");
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
    let page: Value = shell.invoke(command::SEARCH_LEADS, json!({ "query": "", "page": { "limit": 50, "offset": 0 } }));
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

    let refused =
        shell.call(command::SET_CALL_DISPOSITION, json!({ "callLogId": row, "disposition": "teleported", "note": "" }));
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
    let saved: Value = shell
        .invoke(command::SET_CALL_DISPOSITION, json!({ "callLogId": row, "disposition": "Demo booked", "note": "" }));
    assert_eq!(saved["disposition"], "Demo booked", "{saved}");
    drop(shell);

    // After a restart it is still offered; removed, it is not, and the call keeps it.
    let shell = shell_in("http://127.0.0.1:9", data);
    assert!(labels(&shell.invoke(command::GET_DISPOSITIONS, json!({}))).contains(&"Demo booked".to_owned()));
    let listed: Value = shell.invoke(command::REMOVE_CUSTOM_DISPOSITION, json!({ "label": "Demo booked" }));
    assert_eq!(labels(&listed), standard);
    assert_eq!(recent_calls(&shell)[0]["disposition"], "Demo booked");
    let missing = shell.call(command::REMOVE_CUSTOM_DISPOSITION, json!({ "label": "Demo booked" })).expect_err("gone");
    assert_eq!(missing.code, ErrorCode::NotFound, "{missing:?}");
}

/// Waits (a bounded time) until the dialing session satisfies `accept`.
fn until_dialing(shell: &Shell, what: &str, accept: impl Fn(&DialingView) -> bool) -> DialingView {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let view: Option<DialingView> = shell.invoke(command::GET_DIALING, json!({}));
        if let Some(view) = view.filter(|view| accept(view)) {
            return view;
        }
        assert!(std::time::Instant::now() < deadline, "the dialing session never got to {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The dialing session followed, calling hours open all day (the rules' hours have their own
/// tests), and the leads of `csv` imported.
fn dialing_at_any_hour(shell: &Shell, csv: &str) {
    super::dialing_session::follow(shell._app.handle());
    let mut settings: Value = shell.invoke(command::GET_SETTINGS, json!({}));
    settings["calling_hours"] = json!({ "start_minute": 0, "end_minute": 1440 });
    let _: Value = shell.invoke(command::SAVE_SETTINGS, json!({ "settings": settings }));
    let leads = shell.data.path().join("leads.csv");
    std::fs::write(&leads, csv).expect("leads written");
    let _: Value = shell.invoke(command::IMPORT_LEADS_CSV, json!({ "path": leads }));
}

#[test]
fn a_preview_session_works_a_list_through_the_rules_the_call_and_the_wrap_up() {
    let shell = shell();
    dialing_at_any_hour(
        &shell,
        "Name,Phone,Tags\nAda,+1 212 555 0101,hot\nBo,+1 212 555 0102,hot\nCy,+1 212 555 0103,cold\nDee,+1 212 555 0104,hot\n",
    );
    let list = shell.data.path().join("dnc.csv");
    std::fs::write(&list, "+1 212 555 0104\n").expect("list written");
    let _: Value = shell.invoke(command::IMPORT_DO_NOT_CALL_CSV, json!({ "path": list }));

    let filter = json!({ "tags": ["HOT"] });
    let preview: ListPreview = shell.invoke(command::PREVIEW_CALL_LIST, json!({ "filter": filter }));
    assert_eq!((preview.ready, preview.deferred, preview.refused), (2, 0, 1), "Dee is on the do-not-call list");
    let view: DialingView =
        shell.invoke(command::START_DIALING, json!({ "filter": filter, "mode": { "kind": "preview" } }));
    assert_eq!((view.stage, view.lead_id, view.leads_left), (DialingStage::Showing, Some(preview.first[0]), 2));

    // Call: the dial goes through the call loop as the agent's own would.
    let _: DialingView = shell.invoke(command::DIALING_ACTION, json!({ "action": { "kind": "call" } }));
    let calling = until_dialing(&shell, "its call placed", |view| view.dials == 1);
    assert_eq!(calling.stage, DialingStage::Calling);
    let snapshot: CallsSnapshot = shell.invoke(command::GET_CALLS, json!({}));
    let call = &snapshot.calls[0];
    assert_eq!((call.remote.number.as_str(), call.lead_id), ("+12125550101", Some(preview.first[0])));
    // While the call is up the agent cannot skip ahead.
    let refused = shell.call(command::DIALING_ACTION, json!({ "action": { "kind": "skip", "reason": "later" } }));
    assert_eq!(refused.expect_err("a call is up").code, ErrorCode::CallRefused);

    let report =
        |update: Value| shell.call(command::REPORT_ENGINE_UPDATE, json!({ "callId": call.call_id, "update": update }));
    report(json!({ "kind": "state", "state": "active" })).expect("active");
    until_dialing(&shell, "the answer", |view| view.connects == 1);
    report(json!({ "kind": "ended", "cause": "NORMAL_CLEARING", "sip_code": 200 })).expect("ended");
    until_dialing(&shell, "the wrap-up", |view| view.stage == DialingStage::WrappingUp);
    let refused = shell.call(command::DIALING_ACTION, json!({ "action": { "kind": "call" } }));
    assert!(refused.expect_err("wrap-up first").message.contains("wrap-up"));

    let _: Value =
        shell.invoke(command::WRAP_UP_CALL, json!({ "callId": call.call_id, "disposition": "answered", "note": "" }));
    let next = until_dialing(&shell, "the next lead", |view| view.lead_id == Some(preview.first[1]));
    assert_eq!((next.stage, next.dispositions.clone()), (DialingStage::Showing, vec![("answered".to_owned(), 1)]));

    // A skip needs a reason; then the list is done.
    let _: DialingView =
        shell.invoke(command::DIALING_ACTION, json!({ "action": { "kind": "skip", "reason": "Asked to be emailed" } }));
    let done = until_dialing(&shell, "the end", |view| view.stage == DialingStage::Finished);
    assert_eq!((done.dials, done.skipped, done.last_skip.as_deref()), (1, 1, Some("Asked to be emailed")));
}

/// A WAV of `seconds` of 700 Hz, as an agent's recorded greeting.
fn write_greeting(path: &std::path::Path, seconds: f32) {
    let tone = softphone_media::dsp::analysis::sine(700.0, 0.3, softphone_media::SAMPLE_RATE, seconds);
    softphone_media::dsp::tones::write_wav(path, &tone).expect("WAV written");
}

#[test]
fn a_voicemail_drop_wraps_the_call_up_and_the_session_moves_on_while_the_greeting_plays() {
    let shell = shell();
    dialing_at_any_hour(&shell, "Name,Phone,Tags\nIda,+1 212 555 0161,vm\nJo,+1 212 555 0162,vm\n");

    // Greetings: a file that is no WAV, or too short, is refused with the reason; a good one is kept.
    let junk = shell.data.path().join("junk.wav");
    std::fs::write(&junk, "not audio").expect("written");
    let refused = shell.call(command::IMPORT_GREETING, json!({ "path": junk })).expect_err("not a WAV");
    assert_eq!(refused.code, ErrorCode::InvalidArgument);
    assert!(refused.message.contains("not a WAV greeting"), "{refused:?}");
    let blip = shell.data.path().join("blip.wav");
    write_greeting(&blip, 0.2);
    let refused = shell.call(command::IMPORT_GREETING, json!({ "path": blip })).expect_err("too short");
    assert!(refused.message.contains("shorter than half a second"), "{refused:?}");
    let source = shell.data.path().join("main-greeting.wav");
    write_greeting(&source, 1.5);
    let imported: Value = shell.invoke(command::IMPORT_GREETING, json!({ "path": source }));
    assert_eq!(imported["name"], "main-greeting");
    let listed: Vec<Value> = shell.invoke(command::LIST_GREETINGS, json!({}));
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!((1_450..=1_600).contains(&listed[0]["duration_ms"].as_u64().expect("duration")), "{listed:?}");

    let _: DialingView = shell.invoke(
        command::START_DIALING,
        json!({ "filter": { "tags": ["vm"] }, "mode": { "kind": "power", "countdown_ms": 0 } }),
    );
    until_dialing(&shell, "the first call", |view| view.dials == 1);
    let snapshot: CallsSnapshot = shell.invoke(command::GET_CALLS, json!({}));
    let first = snapshot.calls[0].call_id.clone();
    // Not before the far end answers.
    let early = shell.call(command::DROP_VOICEMAIL, json!({ "callId": first }));
    assert_eq!(early.expect_err("still dialling").code, ErrorCode::CallRefused);
    shell
        .call(
            command::REPORT_ENGINE_UPDATE,
            json!({ "callId": first, "update": { "kind": "state", "state": "active" } }),
        )
        .expect("active");
    shell.call(command::DROP_VOICEMAIL, json!({ "callId": first })).expect("dropped");
    assert_eq!(shell.view_of(&first), CallView::LeavingVoicemail);

    // Wrapped up at once, and the next lead is dialled while the greeting plays.
    let next = until_dialing(&shell, "the next lead's call", |view| view.dials == 2);
    assert_eq!(next.dispositions, vec![("voicemail-left".to_owned(), 1)]);
    let logged = recent_calls(&shell);
    let row = logged.iter().find(|row| row["remote_number"] == "+12125550161").expect("the first call is logged");
    assert_eq!(row["disposition"], "voicemail-left", "{row}");
    // The greeting call ends by itself (the engine hangs up) and leaves no wrap-up behind.
    shell
        .call(
            command::REPORT_ENGINE_UPDATE,
            json!({ "callId": first, "update": { "kind": "ended", "cause": "NORMAL_CLEARING", "sip_code": 200 } }),
        )
        .expect("ended");
    let snapshot: CallsSnapshot = shell.invoke(command::GET_CALLS, json!({}));
    assert!(snapshot.calls.iter().all(|call| call.call_id != first), "{snapshot:?}");
    assert_eq!(until_dialing(&shell, "still on the second lead", |_| true).stage, DialingStage::Calling);

    // The session's report lists both leads as far as they went, as CSV.
    let report = shell.data.path().join("session.csv");
    let rows: usize = shell.invoke(command::SAVE_DIALING_REPORT, json!({ "path": report }));
    assert_eq!(rows, 2);
    let text = std::fs::read_to_string(&report).expect("the report was written");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("time_utc,lead,company,number,result"), "{text}");
    assert!(lines[1].contains(",Ida,,+12125550161,called,completed,voicemail-left,"), "{text}");
    assert!(lines[2].contains(",Jo,,+12125550162,called,in_progress,,"), "{text}");
    let nowhere = shell.data.path().join("missing-folder").join("session.csv");
    let refused = shell.call(command::SAVE_DIALING_REPORT, json!({ "path": nowhere })).expect_err("no such folder");
    assert!(refused.message.starts_with("Could not write the report"), "{refused:?}");
}

#[test]
fn a_greeting_is_recorded_from_the_microphone_kept_by_name_and_played_back() {
    let shell = shell();
    let nothing = shell.call(command::FINISH_GREETING_RECORDING, json!({ "name": "desk" }));
    assert_eq!(nothing.expect_err("nothing is being recorded").code, ErrorCode::NotFound);
    shell.call(command::START_GREETING_RECORDING, json!({})).expect("recording");
    let twice = shell.call(command::START_GREETING_RECORDING, json!({}));
    assert!(twice.expect_err("one at a time").message.contains("already"));
    std::thread::sleep(std::time::Duration::from_millis(900));
    let kept: Value = shell.invoke(command::FINISH_GREETING_RECORDING, json!({ "name": "desk greeting" }));
    assert_eq!(kept["name"], "desk greeting");
    let recorded_ms = kept["duration_ms"].as_u64().expect("a duration");
    assert!((500..=3_000).contains(&recorded_ms), "{kept}");
    let listed: Vec<Value> = shell.invoke(command::LIST_GREETINGS, json!({}));
    assert_eq!(listed.len(), 1);
    assert!(listed[0]["duration_ms"].as_u64().expect("duration").abs_diff(recorded_ms) <= 30, "{listed:?} {kept}");
    shell.call(command::PLAY_GREETING, json!({ "name": "desk greeting" })).expect("plays");
    shell.call(command::STOP_GREETING, json!({})).expect("stops");
    let unknown = shell.call(command::PLAY_GREETING, json!({ "name": "../../etc/passwd" }));
    assert_eq!(unknown.expect_err("no such name").code, ErrorCode::InvalidArgument);
    // Too short to be a greeting: refused, and nothing is kept.
    shell.call(command::START_GREETING_RECORDING, json!({})).expect("recording");
    let short = shell.call(command::FINISH_GREETING_RECORDING, json!({ "name": "blip" }));
    assert!(short.expect_err("too short").message.contains("shorter than half a second"));
    let listed: Vec<Value> = shell.invoke(command::LIST_GREETINGS, json!({}));
    assert_eq!(listed.len(), 1);
}

#[test]
fn a_callback_wrap_up_needs_its_time_and_puts_it_on_the_lead_until_the_next_wrap_up() {
    let shell = shell();
    let leads = shell.data.path().join("leads.csv");
    std::fs::write(&leads, "Name,Phone\nGwen Hale,+1 212 555 0141\n").expect("leads written");
    let _: Value = shell.invoke(command::IMPORT_LEADS_CSV, json!({ "path": leads }));
    let found: Value =
        shell.invoke(command::SEARCH_LEADS, json!({ "query": "Gwen", "page": { "limit": 1, "offset": 0 } }));
    let lead_id = found[0]["id"].as_i64().expect("the lead");
    let ended_call = || {
        let call_id: CallId =
            shell.invoke(command::PLACE_CALL, json!({ "number": "+1 212 555 0141", "leadId": lead_id }));
        let update = json!({ "kind": "ended", "cause": "NORMAL_CLEARING", "sip_code": 200 });
        shell.call(command::REPORT_ENGINE_UPDATE, json!({ "callId": call_id, "update": update })).expect("ended");
        call_id
    };
    let call_id = ended_call();
    let wrap_up = |disposition: &str, at: Option<i64>| {
        shell.call(
            command::WRAP_UP_CALL,
            json!({ "callId": call_id, "disposition": disposition, "note": "", "callbackAtMs": at }),
        )
    };
    let refused = wrap_up("callback", None).expect_err("a callback needs its time");
    assert_eq!(refused.code, ErrorCode::InvalidArgument);
    let past = wrap_up("callback", Some(1_000)).expect_err("not in the past");
    assert!(past.message.contains("passed"), "{past:?}");
    let lead: Value = shell.invoke(command::GET_LEAD, json!({ "leadId": lead_id }));
    assert_eq!(lead["last_disposition"], Value::Null, "nothing was written by the refused wrap-ups");

    let due = crate::clock::now().0 as i64 + 3_600_000;
    wrap_up("callback", Some(due)).expect("saved");
    let lead: Value = shell.invoke(command::GET_LEAD, json!({ "leadId": lead_id }));
    assert_eq!(lead["callback_due_at_ms"], due);

    // The callback made: its wrap-up clears it.
    let call_id = ended_call();
    shell
        .call(command::WRAP_UP_CALL, json!({ "callId": call_id, "disposition": "answered", "note": "" }))
        .expect("saved");
    let lead: Value = shell.invoke(command::GET_LEAD, json!({ "leadId": lead_id }));
    assert_eq!(lead["callback_due_at_ms"], Value::Null);
}
