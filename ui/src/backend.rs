//! The one door from the UI to the shell. Nothing else in the UI touches `window.__TAURI__`.
//!
//! Every command is a typed function; failures arrive as the shell's [`IpcError`], so the UI
//! branches on `code`, never on message text.

use serde::{Serialize, de::DeserializeOwned};
use softphone_core::call::{CallId, CallsSnapshot, EngineUpdate};
use softphone_core::call_log::{CallEngine, CallLogEntry};
use softphone_core::dialing::{DialingAction, DialingView, ListFilter, ListPreview, Mode};
use softphone_core::disposition::Disposition;
use softphone_core::ipc::{
    AppInfo, AudioDeviceList, AudioMeter, AudioNotice, ConnectionState, ConnectionStatus, CredentialsStatus,
    DesktopStatus, Diagnostics, ErrorCode, Greeting, IpcError, LoginTokenGrant, NumberCheck, TeamStatus, WindowFailure,
    WindowRecovery, command, event,
};
use softphone_core::lead::{DoNotCallImportReport, ImportProgress, ImportReport, Lead, LeadId, Page};
use softphone_core::settings::Settings;
use softphone_core::updates::UpdateStatus;
use wasm_bindgen::prelude::*;
use yew::Callback;

#[wasm_bindgen]
extern "C" {
    /// `window.__TAURI__.core.invoke`; a rejected promise (or a missing `__TAURI__`) is `Err`.
    #[wasm_bindgen(catch, js_namespace = ["window", "__TAURI__", "core"], js_name = invoke)]
    async fn tauri_invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;

    /// `window.__TAURI__.core.invoke`, called at once rather than awaited (see
    /// [`report_window_failure`]).
    #[wasm_bindgen(catch, js_namespace = ["window", "__TAURI__", "core"], js_name = invoke)]
    fn tauri_invoke_now(cmd: &str, args: JsValue) -> Result<js_sys::Promise, JsValue>;

    /// `window.__TAURI__.event.listen`; resolves to the unlisten function.
    #[wasm_bindgen(catch, js_namespace = ["window", "__TAURI__", "event"], js_name = listen)]
    async fn tauri_listen(event: &str, handler: &Closure<dyn FnMut(JsValue)>) -> Result<JsValue, JsValue>;
}

#[derive(Serialize)]
struct NoArgs {}

/// Invokes a shell command with typed arguments and a typed answer.
pub async fn invoke<A: Serialize, R: DeserializeOwned>(cmd: &str, args: &A) -> Result<R, IpcError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let args = args.serialize(&serializer).map_err(|error| {
        IpcError::new(ErrorCode::Internal, format!("The window could not encode the request {cmd}: {error}"))
    })?;
    match tauri_invoke(cmd, args).await {
        Ok(answer) => serde_wasm_bindgen::from_value(answer).map_err(|error| {
            IpcError::new(ErrorCode::Internal, format!("The shell's answer to {cmd} could not be read: {error}"))
        }),
        Err(rejection) => Err(serde_wasm_bindgen::from_value::<IpcError>(rejection.clone()).unwrap_or_else(|_| {
            IpcError::new(
                ErrorCode::Internal,
                format!("The shell did not answer {cmd}: {}", describe_js_error(&rejection)),
            )
        })),
    }
}

/// A sentence for a JS exception or rejection value (`Error` objects give their message).
fn describe_js_error(value: &JsValue) -> String {
    if let Some(text) = value.as_string() {
        return text;
    }
    if let Some(error) = value.dyn_ref::<js_sys::Error>() {
        return String::from(error.message());
    }
    js_sys::JSON::stringify(value).ok().and_then(|text| text.as_string()).unwrap_or_else(|| "unknown error".to_owned())
}

pub async fn get_app_info() -> Result<AppInfo, IpcError> {
    invoke(command::GET_APP_INFO, &NoArgs {}).await
}

pub async fn get_connection_status() -> Result<ConnectionStatus, IpcError> {
    invoke(command::GET_CONNECTION_STATUS, &NoArgs {}).await
}

pub async fn get_credentials_status() -> Result<CredentialsStatus, IpcError> {
    invoke(command::GET_CREDENTIALS_STATUS, &NoArgs {}).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CredentialsArgs<'a> {
    api_key: &'a str,
    connection_id: &'a str,
}

/// Stores the agent's Telnyx credentials in the keychain (the shell checks them with Telnyx
/// first). Write-only: nothing ever reads them back into the window.
pub async fn save_credentials(api_key: &str, connection_id: &str) -> Result<CredentialsStatus, IpcError> {
    invoke(command::SAVE_CREDENTIALS, &CredentialsArgs { api_key, connection_id }).await
}

pub async fn clear_credentials() -> Result<CredentialsStatus, IpcError> {
    invoke(command::CLEAR_CREDENTIALS, &NoArgs {}).await
}

pub async fn issue_login_token() -> Result<LoginTokenGrant, IpcError> {
    invoke(command::ISSUE_LOGIN_TOKEN, &NoArgs {}).await
}

pub async fn get_calls() -> Result<CallsSnapshot, IpcError> {
    invoke(command::GET_CALLS, &NoArgs {}).await
}

#[derive(Serialize)]
struct CheckNumberArgs<'a> {
    typed: &'a str,
}

/// What the dialer says about `typed`, checked by the shell as it will be when dialed.
pub async fn check_number(typed: &str) -> Result<NumberCheck, IpcError> {
    invoke(command::CHECK_NUMBER, &CheckNumberArgs { typed }).await
}

#[derive(Serialize)]
struct FormatNumbersArgs<'a> {
    numbers: &'a [String],
}

/// `numbers` as the agent reads them (the shell holds the numbering metadata), in order.
pub async fn format_numbers(numbers: &[String]) -> Result<Vec<String>, IpcError> {
    invoke(command::FORMAT_NUMBERS, &FormatNumbersArgs { numbers }).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlaceCallArgs<'a> {
    number: &'a str,
    lead_id: Option<LeadId>,
}

/// Dials `number` (as typed; the shell validates it), linked to `lead_id` when calling a lead.
pub async fn place_call(number: &str, lead_id: Option<LeadId>) -> Result<CallId, IpcError> {
    invoke(command::PLACE_CALL, &PlaceCallArgs { number, lead_id }).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallArgs<'a> {
    call_id: &'a CallId,
}

/// Drops the chosen voicemail greeting into the call; the call wraps up as `voicemail-left`.
pub async fn drop_voicemail(call_id: &CallId) -> Result<(), IpcError> {
    invoke(command::DROP_VOICEMAIL, &CallArgs { call_id }).await
}

#[derive(Serialize)]
struct PathArgs<'a> {
    path: &'a str,
}

/// Imports the WAV file at `path` as a voicemail greeting.
pub async fn import_greeting(path: &str) -> Result<Greeting, IpcError> {
    invoke(command::IMPORT_GREETING, &PathArgs { path }).await
}

/// The WAV bytes of the greeting `name`, for the webview engine's voicemail drop.
pub async fn read_greeting(name: &str) -> Result<Vec<u8>, IpcError> {
    invoke(command::READ_GREETING, &NameArgs { name }).await
}

/// Saves the dialing session's report as CSV at `path`; answers how many leads it lists.
pub async fn save_dialing_report(path: &str) -> Result<usize, IpcError> {
    invoke(command::SAVE_DIALING_REPORT, &PathArgs { path }).await
}

/// Starts recording a greeting from the microphone.
pub async fn start_greeting_recording() -> Result<(), IpcError> {
    invoke(command::START_GREETING_RECORDING, &NoArgs {}).await
}

/// Stops the recording and keeps it as the greeting `name`.
pub async fn finish_greeting_recording(name: &str) -> Result<Greeting, IpcError> {
    invoke(command::FINISH_GREETING_RECORDING, &NameArgs { name }).await
}

/// Plays the greeting `name` on the call speaker.
pub async fn play_greeting(name: &str) -> Result<(), IpcError> {
    invoke(command::PLAY_GREETING, &NameArgs { name }).await
}

/// Stops a greeting playing.
pub async fn stop_greeting() -> Result<(), IpcError> {
    invoke(command::STOP_GREETING, &NoArgs {}).await
}

/// The voicemail greetings, by name.
pub async fn list_greetings() -> Result<Vec<Greeting>, IpcError> {
    invoke(command::LIST_GREETINGS, &NoArgs {}).await
}

pub async fn answer_call(call_id: &CallId) -> Result<(), IpcError> {
    invoke(command::ANSWER_CALL, &CallArgs { call_id }).await
}

pub async fn decline_call(call_id: &CallId) -> Result<(), IpcError> {
    invoke(command::DECLINE_CALL, &CallArgs { call_id }).await
}

pub async fn hang_up_call(call_id: &CallId) -> Result<(), IpcError> {
    invoke(command::HANG_UP_CALL, &CallArgs { call_id }).await
}

pub async fn hold_call(call_id: &CallId) -> Result<(), IpcError> {
    invoke(command::HOLD_CALL, &CallArgs { call_id }).await
}

pub async fn resume_call(call_id: &CallId) -> Result<(), IpcError> {
    invoke(command::RESUME_CALL, &CallArgs { call_id }).await
}

pub async fn dismiss_call(call_id: &CallId) -> Result<(), IpcError> {
    invoke(command::DISMISS_CALL, &CallArgs { call_id }).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MutedArgs<'a> {
    call_id: &'a CallId,
    muted: bool,
}

pub async fn set_call_muted(call_id: &CallId, muted: bool) -> Result<(), IpcError> {
    invoke(command::SET_CALL_MUTED, &MutedArgs { call_id, muted }).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DigitsArgs<'a> {
    call_id: &'a CallId,
    digits: &'a str,
}

/// Sends DTMF digits (`0-9`, `*`, `#`, `A-D`) on a connected call.
pub async fn send_call_digits(call_id: &CallId, digits: &str) -> Result<(), IpcError> {
    invoke(command::SEND_CALL_DIGITS, &DigitsArgs { call_id, digits }).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TransferArgs<'a> {
    call_id: &'a CallId,
    to: &'a str,
}

/// Hands a connected call on to `to` (a number or `sip:user@host`): a blind transfer.
pub async fn transfer_call(call_id: &CallId, to: &str) -> Result<(), IpcError> {
    invoke(command::TRANSFER_CALL, &TransferArgs { call_id, to }).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConsultArgs<'a> {
    call_id: &'a CallId,
    consult: &'a CallId,
    merge: bool,
}

/// Consult transfer: the held caller `call_id` and the colleague on `consult` put through to each
/// other (`merge: false`), or into a conference with the agent (`merge: true`).
pub async fn complete_consult(call_id: &CallId, consult: &CallId, merge: bool) -> Result<(), IpcError> {
    invoke(command::COMPLETE_CONSULT, &ConsultArgs { call_id, consult, merge }).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ParticipantArgs<'a> {
    call_id: &'a CallId,
    who: softphone_core::call::Participant,
    change: softphone_core::call::ParticipantChange,
}

/// Mutes, unmutes, holds or takes off hold a party of the three-way call.
pub async fn set_call_participant(
    call_id: &CallId,
    who: softphone_core::call::Participant,
    change: softphone_core::call::ParticipantChange,
) -> Result<(), IpcError> {
    invoke(command::SET_CALL_PARTICIPANT, &ParticipantArgs { call_id, who, change }).await
}

/// Starts recording a connected call.
pub async fn record_call(call_id: &CallId) -> Result<(), IpcError> {
    invoke(command::RECORD_CALL, &CallArgs { call_id }).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PauseArgs<'a> {
    call_id: &'a CallId,
    paused: bool,
}

/// Pauses (`true`) or resumes the call's recording.
pub async fn pause_call_recording(call_id: &CallId, paused: bool) -> Result<(), IpcError> {
    invoke(command::PAUSE_CALL_RECORDING, &PauseArgs { call_id, paused }).await
}

/// Stops recording the call.
pub async fn stop_call_recording(call_id: &CallId) -> Result<(), IpcError> {
    invoke(command::STOP_CALL_RECORDING, &CallArgs { call_id }).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RecordingArgs {
    call_log_id: softphone_core::call_log::CallLogId,
}

/// Plays a logged call's recordings on the speaker.
pub async fn play_call_recording(call_log_id: softphone_core::call_log::CallLogId) -> Result<(), IpcError> {
    invoke(command::PLAY_CALL_RECORDING, &RecordingArgs { call_log_id }).await
}

/// Stops a recording playing.
pub async fn stop_playing_recording() -> Result<(), IpcError> {
    invoke(command::STOP_PLAYING_RECORDING, &NoArgs {}).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EngineUpdateArgs<'a> {
    call_id: &'a CallId,
    update: &'a EngineUpdate,
}

/// What the webview engine saw happen to a call.
pub async fn report_engine_update(call_id: &CallId, update: &EngineUpdate) -> Result<(), IpcError> {
    invoke(command::REPORT_ENGINE_UPDATE, &EngineUpdateArgs { call_id, update }).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SearchArgs<'a> {
    query: &'a str,
    page: Page,
}

/// One page of the leads matching `query` (prefix search; blank lists every lead by name).
pub async fn search_leads(query: &str, page: Page) -> Result<Vec<Lead>, IpcError> {
    invoke(command::SEARCH_LEADS, &SearchArgs { query, page }).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LeadArgs {
    lead_id: LeadId,
}

pub async fn get_lead(lead_id: LeadId) -> Result<Lead, IpcError> {
    invoke(command::GET_LEAD, &LeadArgs { lead_id }).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NotesArgs<'a> {
    lead_id: LeadId,
    notes: &'a str,
}

pub async fn update_lead_notes(lead_id: LeadId, notes: &str) -> Result<Lead, IpcError> {
    invoke(command::UPDATE_LEAD_NOTES, &NotesArgs { lead_id, notes }).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportArgs<'a> {
    path: &'a str,
}

/// Imports a CSV file of leads by path; progress arrives through [`on_import_progress`].
pub async fn import_leads_csv(path: &str) -> Result<ImportReport, IpcError> {
    invoke(command::IMPORT_LEADS_CSV, &ImportArgs { path }).await
}

#[derive(Serialize)]
struct FilterArgs<'a> {
    filter: &'a ListFilter,
}

/// The call list `filter` makes now: its first leads and how many are ready, later and never.
pub async fn preview_call_list(filter: &ListFilter) -> Result<ListPreview, IpcError> {
    invoke(command::PREVIEW_CALL_LIST, &FilterArgs { filter }).await
}

#[derive(Serialize)]
struct StartDialingArgs<'a> {
    filter: &'a ListFilter,
    mode: Mode,
}

/// Starts working the list `filter` makes.
pub async fn start_dialing(filter: &ListFilter, mode: Mode) -> Result<DialingView, IpcError> {
    invoke(command::START_DIALING, &StartDialingArgs { filter, mode }).await
}

#[derive(Serialize)]
struct DialingActionArgs<'a> {
    action: &'a DialingAction,
}

/// Call, Skip, Pause, Resume or Stop on the running session.
pub async fn dialing_action(action: &DialingAction) -> Result<DialingView, IpcError> {
    invoke(command::DIALING_ACTION, &DialingActionArgs { action }).await
}

/// The running dialing session, if any.
pub async fn get_dialing() -> Result<Option<DialingView>, IpcError> {
    invoke(command::GET_DIALING, &NoArgs {}).await
}

/// Imports a do-not-call list (a CSV of numbers) by path.
pub async fn import_do_not_call_csv(path: &str) -> Result<DoNotCallImportReport, IpcError> {
    invoke(command::IMPORT_DO_NOT_CALL_CSV, &ImportArgs { path }).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DoNotCallMarkArgs {
    lead_id: LeadId,
    on: bool,
}

/// Marks a lead do-not-call, or clears the mark; returns the lead as stored.
pub async fn set_lead_do_not_call(lead_id: LeadId, on: bool) -> Result<Lead, IpcError> {
    invoke(command::SET_LEAD_DO_NOT_CALL, &DoNotCallMarkArgs { lead_id, on }).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageArgs {
    page: Page,
}

pub async fn get_recent_calls(page: Page) -> Result<Vec<CallLogEntry>, IpcError> {
    invoke(command::GET_RECENT_CALLS, &PageArgs { page }).await
}

pub async fn get_missed_calls(page: Page) -> Result<Vec<CallLogEntry>, IpcError> {
    invoke(command::GET_MISSED_CALLS, &PageArgs { page }).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LeadPageArgs {
    lead_id: LeadId,
    page: Page,
}

pub async fn get_lead_calls(lead_id: LeadId, page: Page) -> Result<Vec<CallLogEntry>, IpcError> {
    invoke(command::GET_LEAD_CALLS, &LeadPageArgs { lead_id, page }).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WrapUpArgs<'a> {
    call_id: &'a CallId,
    disposition: Option<&'a str>,
    note: &'a str,
    callback_at_ms: Option<i64>,
}

/// Saves the wrap-up of a call that ended (disposition code or custom label, a note, and for a
/// Callback when it is due); the call then leaves the calls panel.
pub async fn wrap_up_call(
    call_id: &CallId,
    disposition: Option<&str>,
    note: &str,
    callback_at_ms: Option<i64>,
) -> Result<CallLogEntry, IpcError> {
    invoke(command::WRAP_UP_CALL, &WrapUpArgs { call_id, disposition, note, callback_at_ms }).await
}

/// Missed calls not yet seen (the badge on Calls).
pub async fn get_unseen_missed_count() -> Result<u64, IpcError> {
    invoke(command::GET_UNSEEN_MISSED_COUNT, &NoArgs {}).await
}

pub async fn mark_missed_calls_seen() -> Result<(), IpcError> {
    invoke(command::MARK_MISSED_CALLS_SEEN, &NoArgs {}).await
}

pub async fn get_dispositions() -> Result<Vec<Disposition>, IpcError> {
    invoke(command::GET_DISPOSITIONS, &NoArgs {}).await
}

#[derive(Serialize)]
struct LabelArgs<'a> {
    label: &'a str,
}

/// Adds the team's own disposition; answers the whole list.
pub async fn add_custom_disposition(label: &str) -> Result<Vec<Disposition>, IpcError> {
    invoke(command::ADD_CUSTOM_DISPOSITION, &LabelArgs { label }).await
}

/// Takes a custom disposition off the list; answers the whole list.
pub async fn remove_custom_disposition(label: &str) -> Result<Vec<Disposition>, IpcError> {
    invoke(command::REMOVE_CUSTOM_DISPOSITION, &LabelArgs { label }).await
}

#[derive(Serialize)]
struct EngineArgs {
    engine: CallEngine,
}

/// Tells the shell which engine carries the calls (the native one starts in the shell).
pub async fn use_call_engine(engine: CallEngine) -> Result<ConnectionStatus, IpcError> {
    invoke(command::USE_CALL_ENGINE, &EngineArgs { engine }).await
}

#[derive(Serialize)]
struct EngineConnectionArgs<'a> {
    state: ConnectionState,
    reason: Option<&'a str>,
}

/// The webview engine's connection state, for the status bar.
pub async fn report_engine_connection(state: ConnectionState, reason: Option<&str>) -> Result<(), IpcError> {
    invoke(command::REPORT_ENGINE_CONNECTION, &EngineConnectionArgs { state, reason }).await
}

pub async fn get_audio_meter() -> Result<AudioMeter, IpcError> {
    invoke(command::GET_AUDIO_METER, &NoArgs {}).await
}

pub async fn get_diagnostics() -> Result<Diagnostics, IpcError> {
    invoke(command::GET_DIAGNOSTICS, &NoArgs {}).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SimulateArgs {
    lead_id: Option<LeadId>,
}

/// Demo mode: the simulator rings this phone from a lead (this one, or any).
pub async fn simulate_inbound_call(lead_id: Option<LeadId>) -> Result<String, IpcError> {
    invoke(command::SIMULATE_INBOUND_CALL, &SimulateArgs { lead_id }).await
}

/// The account's phone numbers (demo mode: the simulated account's), for the caller-ID numbers.
pub async fn list_account_numbers() -> Result<Vec<String>, IpcError> {
    invoke(command::LIST_ACCOUNT_NUMBERS, &NoArgs {}).await
}

pub async fn get_settings() -> Result<Settings, IpcError> {
    invoke(command::GET_SETTINGS, &NoArgs {}).await
}

#[derive(Serialize)]
struct SettingsArgs<'a> {
    settings: &'a Settings,
}

/// Stores and applies the settings; the answer is what is now in force.
pub async fn save_settings(settings: &Settings) -> Result<Settings, IpcError> {
    invoke(command::SAVE_SETTINGS, &SettingsArgs { settings }).await
}

pub async fn get_audio_devices() -> Result<AudioDeviceList, IpcError> {
    invoke(command::GET_AUDIO_DEVICES, &NoArgs {}).await
}

#[derive(Serialize)]
struct NameArgs<'a> {
    name: &'a str,
}

/// Plays the ringtone stored as `name` once, on the ringer device.
pub async fn preview_ringtone(name: &str) -> Result<(), IpcError> {
    invoke(command::PREVIEW_RINGTONE, &NameArgs { name }).await
}

pub async fn get_desktop_status() -> Result<DesktopStatus, IpcError> {
    invoke(command::GET_DESKTOP_STATUS, &NoArgs {}).await
}

#[derive(Serialize)]
struct OnArgs {
    on: bool,
}

/// Do Not Disturb: inbound calls are declined (busy) and logged as missed.
pub async fn set_do_not_disturb(on: bool) -> Result<DesktopStatus, IpcError> {
    invoke(command::SET_DO_NOT_DISTURB, &OnArgs { on }).await
}

/// The `tel:` link the app was started with, once.
pub async fn take_pending_dial() -> Result<Option<String>, IpcError> {
    invoke(command::TAKE_PENDING_DIAL, &NoArgs {}).await
}

/// A `tel:` / `callto:` link to show in the dialer, for the life of the window.
pub async fn on_dial_requested(on_number: Callback<String>, on_error: Callback<IpcError>) {
    listen_forever(event::DIAL_REQUESTED, on_number, on_error).await;
}

/// The app changed a setting by itself, for the life of the window.
pub async fn on_settings_updated(on_settings: Callback<Settings>, on_error: Callback<IpcError>) {
    listen_forever(event::SETTINGS_UPDATED, on_settings, on_error).await;
}

/// Where updates stand now.
pub async fn get_update_status() -> Result<UpdateStatus, IpcError> {
    invoke(command::GET_UPDATE_STATUS, &NoArgs {}).await
}

/// Looks for an update now.
pub async fn check_for_update() -> Result<UpdateStatus, IpcError> {
    invoke(command::CHECK_FOR_UPDATE, &NoArgs {}).await
}

/// Installs the update on offer (between calls) and restarts into it.
pub async fn install_update() -> Result<(), IpcError> {
    invoke(command::INSTALL_UPDATE, &NoArgs {}).await
}

/// Where updates stand, at every change, for the life of the window.
pub async fn on_update_updated(on_status: Callback<UpdateStatus>, on_error: Callback<IpcError>) {
    listen_forever(event::UPDATE_UPDATED, on_status, on_error).await;
}

pub async fn get_team_status() -> Result<TeamStatus, IpcError> {
    invoke(command::GET_TEAM_STATUS, &NoArgs {}).await
}

#[derive(Serialize)]
struct JoinTeamArgs<'a> {
    url: &'a str,
    login: &'a str,
    password: &'a str,
}

/// Joins the team; the password goes to the shell's keychain and nowhere else.
pub async fn join_team(url: &str, login: &str, password: &str) -> Result<TeamStatus, IpcError> {
    invoke(command::JOIN_TEAM, &JoinTeamArgs { url, login, password }).await
}

pub async fn leave_team() -> Result<TeamStatus, IpcError> {
    invoke(command::LEAVE_TEAM, &NoArgs {}).await
}

/// Teammates' calls as this computer has them from the team, newest first.
pub async fn get_team_calls(page: Page) -> Result<Vec<softphone_core::call_log::TeamCallEntry>, IpcError> {
    invoke(command::GET_TEAM_CALLS, &PageArgs { page }).await
}

/// Teammates' calls to or from `lead_id`, newest first.
pub async fn get_lead_team_calls(lead_id: LeadId) -> Result<Vec<softphone_core::call_log::TeamCallEntry>, IpcError> {
    invoke(command::GET_LEAD_TEAM_CALLS, &LeadArgs { lead_id }).await
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportCallLogArgs<'a> {
    filter: softphone_core::call_log::CallLogFilter,
    path: &'a str,
    utc_offset_minutes: i32,
}

/// Writes the calls `filter` selects to `path` (.xlsx, else CSV); how many.
pub async fn export_call_log(
    filter: softphone_core::call_log::CallLogFilter,
    path: &str,
    utc_offset_minutes: i32,
) -> Result<usize, IpcError> {
    invoke(command::EXPORT_CALL_LOG, &ExportCallLogArgs { filter, path, utc_offset_minutes }).await
}

#[derive(Serialize)]
struct ExportLeadsArgs<'a> {
    query: &'a str,
    path: &'a str,
}

/// Writes the leads `query` finds (blank: all) to `path` (.xlsx, else CSV); how many.
pub async fn export_leads(query: &str, path: &str) -> Result<usize, IpcError> {
    invoke(command::EXPORT_LEADS, &ExportLeadsArgs { query, path }).await
}

/// The team's campaigns (an error when this computer is on no team).
pub async fn get_team_campaigns() -> Result<Vec<softphone_core::ipc::TeamCampaign>, IpcError> {
    invoke(command::GET_TEAM_CAMPAIGNS, &NoArgs {}).await
}

#[derive(Serialize)]
struct StartTeamDialingArgs<'a> {
    campaign: &'a str,
    mode: Mode,
}

/// Works a team campaign: its leads are claimed from the team as the session goes.
pub async fn start_team_dialing(campaign: &str, mode: Mode) -> Result<DialingView, IpcError> {
    invoke(command::START_TEAM_DIALING, &StartTeamDialingArgs { campaign, mode }).await
}

/// The team link or the changes waiting for it changed, for the life of the window.
pub async fn on_team_updated(on_status: Callback<TeamStatus>, on_error: Callback<IpcError>) {
    listen_forever(event::TEAM_UPDATED, on_status, on_error).await;
}

/// Notifications or Do Not Disturb changed, for the life of the window.
pub async fn on_desktop_updated(on_status: Callback<DesktopStatus>, on_error: Callback<IpcError>) {
    listen_forever(event::DESKTOP_UPDATED, on_status, on_error).await;
}

/// The agent clicked a call's notification: show that call, for the life of the window.
pub async fn on_show_call(on_call: Callback<CallId>, on_error: Callback<IpcError>) {
    listen_forever(event::WINDOW_SHOW_CALL, on_call, on_error).await;
}

/// A chosen audio device went away or failed, for the life of the window.
pub async fn on_audio_device_changed(on_notice: Callback<AudioNotice>, on_error: Callback<IpcError>) {
    listen_forever(event::AUDIO_DEVICE_CHANGED, on_notice, on_error).await;
}

/// Calls `on_update` with every `call://updated` snapshot, for the life of the window.
pub async fn on_calls_updated(on_update: Callback<CallsSnapshot>, on_error: Callback<IpcError>) {
    listen_forever(event::CALL_UPDATED, on_update, on_error).await;
}

/// Calls `on_progress` with every `import://progress`, for the life of the window.
pub async fn on_import_progress(on_progress: Callback<ImportProgress>, on_error: Callback<IpcError>) {
    listen_forever(event::IMPORT_PROGRESS, on_progress, on_error).await;
}

/// Calls `on_update` with every `connection://updated` the shell emits, for the life of the
/// window (the subscription is never dropped, so its closure is intentionally leaked).
pub async fn on_connection_updated(on_update: Callback<ConnectionStatus>, on_error: Callback<IpcError>) {
    listen_forever(event::CONNECTION_UPDATED, on_update, on_error).await;
}

/// Subscribes `on_payload` to the shell's `name` event for the life of the window (the closure
/// is intentionally leaked). Resolves once the shell has the subscription: an event emitted after
/// that reaches the window, so a state read after it cannot miss a change (the window read
/// "Starting" and never heard "Ready" when it read first and subscribed later).
pub async fn listen_forever<T: DeserializeOwned + 'static>(
    name: &'static str,
    on_payload: Callback<T>,
    on_error: Callback<IpcError>,
) {
    let handler_error = on_error.clone();
    let handler = Closure::<dyn FnMut(JsValue)>::new(move |tauri_event: JsValue| {
        let payload = js_sys::Reflect::get(&tauri_event, &JsValue::from_str("payload")).unwrap_or(JsValue::UNDEFINED);
        match serde_wasm_bindgen::from_value::<T>(payload) {
            Ok(value) => on_payload.emit(value),
            Err(error) => handler_error.emit(IpcError::new(
                ErrorCode::Internal,
                format!("The shell sent a {name} event the window could not read: {error}"),
            )),
        }
    });
    if let Err(rejection) = tauri_listen(name, &handler).await {
        on_error.emit(IpcError::new(
            ErrorCode::Internal,
            format!("The window could not subscribe to {name}: {}", describe_js_error(&rejection)),
        ));
    }
    handler.forget();
}

#[derive(Serialize)]
struct WindowFailureArgs<'a> {
    failure: &'a WindowFailure,
}

/// Reports a failure of the window's own code. Called from the panic hook, so it goes around the
/// futures executor, which the failure may have left stuck: the invoke is made at once and its
/// answer (`None` if the shell could not be reached) comes to `answered` from a plain callback.
pub fn report_window_failure(failure: &WindowFailure, answered: impl FnOnce(Option<WindowRecovery>) + 'static) {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let Ok(args) = WindowFailureArgs { failure }.serialize(&serializer) else { return answered(None) };
    let promise = match tauri_invoke_now(command::REPORT_WINDOW_FAILURE, args) {
        Ok(promise) => promise,
        Err(_) => return answered(None),
    };
    // Whichever of the two callbacks runs takes `answered`.
    let answered = std::rc::Rc::new(std::cell::Cell::new(Some(answered)));
    let on_answer = {
        let answered = std::rc::Rc::clone(&answered);
        Closure::once(move |answer: JsValue| {
            if let Some(answered) = answered.take() {
                answered(serde_wasm_bindgen::from_value(answer).ok());
            }
        })
    };
    let on_rejection = Closure::once(move |_: JsValue| {
        if let Some(answered) = answered.take() {
            answered(None);
        }
    });
    let _ = promise.then2(&on_answer, &on_rejection);
    // Freed by JS once the promise settles... which wasm cannot see: left to live with the page
    // (one pair per report, and reports are few).
    on_answer.forget();
    on_rejection.forget();
}
