//! Types that cross the boundary between the Tauri shell and the webview.
//!
//! The shell serializes them, the UI deserializes them with the same definitions. Nothing in this
//! module may ever hold a secret: every value here can end up in the webview.

use serde::{Deserialize, Serialize};

/// Names of the shell's commands, as the UI invokes them. One constant per `#[tauri::command]`.
pub mod command {
    pub const GET_APP_INFO: &str = "get_app_info";
    pub const GET_CONNECTION_STATUS: &str = "get_connection_status";
    pub const GET_CREDENTIALS_STATUS: &str = "get_credentials_status";
    pub const SAVE_CREDENTIALS: &str = "save_credentials";
    pub const CLEAR_CREDENTIALS: &str = "clear_credentials";
    pub const ISSUE_LOGIN_TOKEN: &str = "issue_login_token";
    pub const GET_CALLS: &str = "get_calls";
    pub const PLACE_CALL: &str = "place_call";
    pub const CHECK_NUMBER: &str = "check_number";
    pub const FORMAT_NUMBERS: &str = "format_numbers";
    pub const LIST_ACCOUNT_NUMBERS: &str = "list_account_numbers";
    pub const ANSWER_CALL: &str = "answer_call";
    pub const DECLINE_CALL: &str = "decline_call";
    pub const HANG_UP_CALL: &str = "hang_up_call";
    pub const HOLD_CALL: &str = "hold_call";
    pub const RESUME_CALL: &str = "resume_call";
    pub const SET_CALL_MUTED: &str = "set_call_muted";
    pub const SEND_CALL_DIGITS: &str = "send_call_digits";
    pub const TRANSFER_CALL: &str = "transfer_call";
    pub const COMPLETE_CONSULT: &str = "complete_consult";
    pub const SET_CALL_PARTICIPANT: &str = "set_call_participant";
    pub const RECORD_CALL: &str = "record_call";
    pub const PAUSE_CALL_RECORDING: &str = "pause_call_recording";
    pub const STOP_CALL_RECORDING: &str = "stop_call_recording";
    pub const PLAY_CALL_RECORDING: &str = "play_call_recording";
    pub const STOP_PLAYING_RECORDING: &str = "stop_playing_recording";
    pub const DISMISS_CALL: &str = "dismiss_call";
    pub const REPORT_ENGINE_UPDATE: &str = "report_engine_update";
    pub const SEARCH_LEADS: &str = "search_leads";
    pub const GET_LEAD: &str = "get_lead";
    pub const UPDATE_LEAD_NOTES: &str = "update_lead_notes";
    pub const IMPORT_LEADS_CSV: &str = "import_leads_csv";
    pub const IMPORT_DO_NOT_CALL_CSV: &str = "import_do_not_call_csv";
    pub const SET_LEAD_DO_NOT_CALL: &str = "set_lead_do_not_call";
    pub const PREVIEW_CALL_LIST: &str = "preview_call_list";
    pub const START_DIALING: &str = "start_dialing";
    pub const DIALING_ACTION: &str = "dialing_action";
    pub const GET_DIALING: &str = "get_dialing";
    pub const GET_RECENT_CALLS: &str = "get_recent_calls";
    pub const GET_MISSED_CALLS: &str = "get_missed_calls";
    pub const GET_LEAD_CALLS: &str = "get_lead_calls";
    pub const GET_DISPOSITIONS: &str = "get_dispositions";
    pub const SET_CALL_DISPOSITION: &str = "set_call_disposition";
    pub const ADD_CUSTOM_DISPOSITION: &str = "add_custom_disposition";
    pub const REMOVE_CUSTOM_DISPOSITION: &str = "remove_custom_disposition";
    pub const WRAP_UP_CALL: &str = "wrap_up_call";
    pub const DROP_VOICEMAIL: &str = "drop_voicemail";
    pub const IMPORT_GREETING: &str = "import_greeting";
    pub const LIST_GREETINGS: &str = "list_greetings";
    pub const READ_GREETING: &str = "read_greeting";
    pub const START_GREETING_RECORDING: &str = "start_greeting_recording";
    pub const FINISH_GREETING_RECORDING: &str = "finish_greeting_recording";
    pub const PLAY_GREETING: &str = "play_greeting";
    pub const STOP_GREETING: &str = "stop_greeting";
    pub const SAVE_DIALING_REPORT: &str = "save_dialing_report";
    pub const GET_UNSEEN_MISSED_COUNT: &str = "get_unseen_missed_count";
    pub const MARK_MISSED_CALLS_SEEN: &str = "mark_missed_calls_seen";
    pub const USE_CALL_ENGINE: &str = "use_call_engine";
    pub const REPORT_ENGINE_CONNECTION: &str = "report_engine_connection";
    pub const GET_DIAGNOSTICS: &str = "get_diagnostics";
    pub const GET_AUDIO_METER: &str = "get_audio_meter";
    pub const SIMULATE_INBOUND_CALL: &str = "simulate_inbound_call";
    pub const GET_DESKTOP_STATUS: &str = "get_desktop_status";
    pub const GET_TEAM_STATUS: &str = "get_team_status";
    pub const JOIN_TEAM: &str = "join_team";
    pub const LEAVE_TEAM: &str = "leave_team";
    pub const GET_TEAM_CAMPAIGNS: &str = "get_team_campaigns";
    pub const START_TEAM_DIALING: &str = "start_team_dialing";
    pub const GET_TEAM_CALLS: &str = "get_team_calls";
    pub const GET_LEAD_TEAM_CALLS: &str = "get_lead_team_calls";
    pub const EXPORT_CALL_LOG: &str = "export_call_log";
    pub const EXPORT_LEADS: &str = "export_leads";
    pub const GET_SETTINGS: &str = "get_settings";
    pub const SAVE_SETTINGS: &str = "save_settings";
    pub const GET_AUDIO_DEVICES: &str = "get_audio_devices";
    pub const SET_DO_NOT_DISTURB: &str = "set_do_not_disturb";
    pub const TAKE_PENDING_DIAL: &str = "take_pending_dial";
    pub const PREVIEW_RINGTONE: &str = "preview_ringtone";
    /// Fake audio devices only (`SOFTPHONE_FAKE_AUDIO`): unplugs one, as a test would a headset.
    pub const UNPLUG_FAKE_AUDIO_DEVICE: &str = "unplug_fake_audio_device";
    pub const REPORT_WINDOW_FAILURE: &str = "report_window_failure";
    pub const GET_UPDATE_STATUS: &str = "get_update_status";
    pub const CHECK_FOR_UPDATE: &str = "check_for_update";
    pub const INSTALL_UPDATE: &str = "install_update";
}

/// Names of the events the shell emits (`noun://verb`).
pub mod event {
    /// Payload: [`super::ConnectionStatus`].
    pub const CONNECTION_UPDATED: &str = "connection://updated";
    /// Payload: [`crate::call::CallsSnapshot`], after every change of any call.
    pub const CALL_UPDATED: &str = "call://updated";
    /// Payload: [`crate::call::EngineCommand`], for the webview engine to carry out.
    pub const ENGINE_COMMAND: &str = "engine://command";
    /// Payload: rows done / bytes read / bytes total of a running CSV import.
    pub const IMPORT_PROGRESS: &str = "import://progress";
    /// Payload: [`super::DesktopStatus`], when notifications or Do Not Disturb change.
    pub const DESKTOP_UPDATED: &str = "desktop://updated";
    /// Payload: `Option<`[`crate::dialing::DialingView`]`>`, after every change of the session.
    pub const DIALING_UPDATED: &str = "dialing://updated";
    /// Payload: `Settings`, after the app changed one by itself (e.g. start at login, turned on
    /// by the first login to Telnyx).
    pub const SETTINGS_UPDATED: &str = "settings://updated";
    /// Payload: the call id whose notification the agent clicked: show that call (and its lead).
    pub const WINDOW_SHOW_CALL: &str = "window://show-call";
    /// Payload: the number text of a `tel:` / `callto:` link, for the dialer to check and show.
    pub const DIAL_REQUESTED: &str = "dial://requested";
    /// Payload: [`super::AudioNotice`], when a chosen audio device went away or failed.
    pub const AUDIO_DEVICE_CHANGED: &str = "audio://device-changed";
    /// Payload: [`crate::updates::UpdateStatus`], whenever it changes.
    pub const UPDATE_UPDATED: &str = "update://updated";
    /// Payload: [`super::TeamStatus`], whenever the link to the team database or the number of
    /// changes waiting for it changes.
    pub const TEAM_UPDATED: &str = "team://updated";
}

/// What the shell tells the UI about itself; shown in the status bar and on the diagnostics page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInfo {
    /// The app's version (semver, from the workspace manifest).
    pub version: String,
    /// The version of the Tauri runtime the shell was built with.
    pub tauri_version: String,
    /// Operating system family, e.g. `linux`.
    pub os: String,
}

/// The state of the link to Telnyx (or to the simulator in demo mode), as the agent sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// No engine has been started yet, or it was stopped on purpose.
    Offline,
    /// Opening the socket and logging in.
    Connecting,
    /// Logged in and registered: calls can be placed and received.
    Ready,
    /// The socket dropped; the engine is trying to get back, calls are being recovered.
    Reconnecting,
    /// Login or connection failed and will not be retried without the agent acting.
    Error,
}

impl ConnectionState {
    /// The word the status bar shows.
    pub fn label(self) -> &'static str {
        match self {
            Self::Offline => "Offline",
            Self::Connecting => "Connecting",
            Self::Ready => "Ready",
            Self::Reconnecting => "Reconnecting",
            Self::Error => "Error",
        }
    }
}

/// Connection state plus a sentence saying why, when there is something to say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionStatus {
    pub state: ConnectionState,
    /// A sentence for the agent, e.g. why the connection failed. `None` when the state says it all.
    pub reason: Option<String>,
    /// True when the app runs against the built-in simulator instead of Telnyx.
    pub demo: bool,
}

impl ConnectionStatus {
    pub fn offline(reason: impl Into<String>) -> Self {
        Self { state: ConnectionState::Offline, reason: Some(reason.into()), demo: false }
    }
}

/// Where the call engine logs in, with what; the only Telnyx secret that reaches the webview is
/// this short-lived JWT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginTokenGrant {
    /// The JWT for `login_token`. Short-lived; refreshed before `expires_at_unix`.
    pub login_token: String,
    /// The JWT's `exp`, seconds since the Unix epoch.
    pub expires_at_unix: u64,
    /// The signaling websocket, e.g. `wss://rtc.telnyx.com` or the simulator's `ws://127.0.0.1:N/`.
    pub signaling_url: String,
    /// ICE servers for the peer connection (empty against the simulator).
    pub ice_servers: Vec<IceServer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    pub username: Option<String>,
    pub credential: Option<String>,
}

/// The media figures of one call, for the diagnostics page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallMediaDiagnostics {
    pub call_id: String,
    /// E.g. `opus/48000`.
    pub codec: Option<String>,
    /// E.g. `connected`.
    pub ice_state: String,
    /// The path in use: `host` (direct), `srflx` (direct, crossing our NAT) or `relay` (through
    /// the TURN server); `None` until ICE has chosen.
    #[serde(default)]
    pub route: Option<String>,
    pub rtt_ms: Option<f64>,
    pub jitter_ms: Option<f64>,
    pub packet_loss_percent: Option<f64>,
    /// Estimated mean opinion score, 1 (bad) to 4.5 (best).
    pub mos: Option<f64>,
    /// What the agent hears (dBFS), and what the microphone picks up.
    pub output_level_dbfs: Option<f64>,
    pub input_level_dbfs: Option<f64>,
    /// The dominant frequency of what the agent hears, when the speaker is a test device.
    pub heard_hz: Option<f64>,
}

/// The in-call meters: what the microphone picks up and what the agent hears.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AudioMeter {
    /// dBFS, -120 for silence.
    pub input_dbfs: f64,
    /// dBFS, -120 for silence.
    pub output_dbfs: f64,
    /// The dominant frequency of what plays, when the speaker is a test device (else `None`).
    pub heard_hz: Option<f64>,
}

/// One sound device as the Settings page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioDeviceInfo {
    /// The name to show and to store in the settings.
    pub name: String,
    /// The system default for its direction.
    pub is_default: bool,
}

/// The sound devices there are.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AudioDeviceList {
    pub inputs: Vec<AudioDeviceInfo>,
    pub outputs: Vec<AudioDeviceInfo>,
    /// These are test devices (`SOFTPHONE_FAKE_AUDIO`).
    pub fake: bool,
}

/// What the diagnostics page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// `None` until the window chose an engine.
    pub engine: Option<crate::call_log::CallEngine>,
    pub connection: ConnectionStatus,
    /// The audio devices in use (names), or a sentence saying why there are none.
    pub audio: String,
    pub calls: Vec<CallMediaDiagnostics>,
}

/// The desktop side: whether inbound calls can pop up as notifications, and Do Not Disturb.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesktopStatus {
    /// Desktop notifications with Answer / Decline work.
    pub notifications: bool,
    /// Why they do not, as a sentence (the ringing banner shows it).
    pub notifications_problem: Option<String>,
    /// Inbound calls are declined (busy) and logged as missed.
    pub do_not_disturb: bool,
}

/// The agent's team (a shared campaign on the team's PostgreSQL), as the status bar and Settings
/// → Team show it. Never carries the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TeamStatus {
    /// This computer works for a team.
    pub joined: bool,
    /// The team database's address and the agent's login, as the agent entered them.
    pub url: Option<String>,
    pub login: Option<String>,
    /// Connected to the team database now.
    pub online: bool,
    /// Local changes (calls, dispositions, notes) not yet taken by the team database.
    pub waiting: u64,
    /// Changes the team database refused; kept.
    pub refused: u64,
    /// The team's and the agent's names, once connected.
    pub team: Option<String>,
    pub agent: Option<String>,
    /// Why it is offline, as a sentence.
    pub reason: Option<String>,
    /// The status bar's words: "Team synced", "Team · 3 waiting", "Team offline · 3 waiting".
    pub sentence: String,
}

/// A campaign of the agent's team: its leads are handed out one claim at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamCampaign {
    pub id: String,
    pub name: String,
}

/// A recorded voicemail greeting the agent can drop into a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Greeting {
    /// Its name (the imported file's name without `.wav`).
    pub name: String,
    /// How long it plays.
    pub duration_ms: u64,
}

/// What the dialer says about the number being typed, before dialing (the shell checks it as it
/// will when dialing; the window has no numbering metadata).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NumberCheck {
    /// Nothing typed yet.
    Empty,
    /// Valid; the number in international format, e.g. `+1 415-555-0100`.
    Valid { shown: String },
    /// The sentence saying what is wrong.
    Invalid { sentence: String },
}

/// Something the agent should know about the audio devices (a headset unplugged mid-call).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioNotice {
    /// A sentence naming the device and what is used instead.
    pub message: String,
}

/// A failure of the window's own code, reported to the shell: it goes to the log (the browser
/// console is out of anyone's sight) and a failure that breaks the window gets it reloaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowFailure {
    pub kind: WindowFailureKind,
    /// What the window saw: the panic's message and place, or the error and its stack.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowFailureKind {
    /// A Rust panic in the UI.
    Panic,
    /// An uncaught error that came through the UI's wasm: a trap, or a browser call that threw
    /// in the middle of a render.
    WasmError,
    /// A render the UI asked for never ran: the window shows a picture of the past.
    StoppedDrawing,
    /// An uncaught error in other script (the webview engine's SDK): the window goes on.
    ScriptError,
}

impl WindowFailureKind {
    /// Whether the window can no longer be trusted to show the calls. A panic or an error
    /// through the wasm leaves the UI's state half-updated (nothing unwinds in wasm), and Yew,
    /// caught mid-render, never renders again.
    pub fn breaks_the_window(self) -> bool {
        !matches!(self, Self::ScriptError)
    }
}

/// What the shell does about a [`WindowFailure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowRecovery {
    /// Logged; the window goes on.
    Logged,
    /// The window is being reloaded; it reads the calls from the shell again.
    Reloading,
    /// The window broke too often in the last minute to reload it again; the agent must
    /// restart the app (calls go on meanwhile).
    GaveUp,
}

/// Whether the OS keychain can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeychainState {
    Available,
    Unavailable,
    Locked,
}

/// What is configured, never the values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsStatus {
    pub keychain: KeychainState,
    /// Why the keychain cannot be used, as a sentence; `None` when available.
    pub keychain_message: Option<String>,
    pub api_key: bool,
    pub connection_id: bool,
    pub sip_login: bool,
    /// True when the app runs against the built-in simulator.
    pub demo: bool,
}

/// The closed set of error kinds a command can fail with. The UI branches on these, never on the
/// message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    /// A bug or an unexpected condition inside the app; the message has the details.
    Internal,
    /// The webview sent arguments the command cannot accept.
    InvalidArgument,
    /// No OS keychain (Secret Service) is reachable; only demo mode works.
    KeychainUnavailable,
    /// The keychain is locked or refused access.
    KeychainLocked,
    /// The keychain failed in another way.
    KeychainFailed,
    /// Telnyx refused the API key (401/403).
    TelnyxAuthRejected,
    /// Telnyx kept failing (5xx, 429) after bounded retries.
    TelnyxUnavailable,
    /// Telnyx did not answer in time.
    TelnyxTimedOut,
    /// Telnyx could not be reached: the machine is likely offline.
    Offline,
    /// The server's certificate is not one this computer trusts (a company proxy inspecting TLS
    /// without its root installed, or an impostor).
    CertificateUntrusted,
    /// Telnyx refused the request's content (e.g. an unknown connection id).
    TelnyxRejected,
    /// Telnyx answered something the app cannot read.
    TelnyxInvalidResponse,
    /// The phone number cannot be dialled (not a valid number for the region).
    InvalidNumber,
    /// The number or its lead is on the do-not-call list: it is never dialled.
    DoNotCall,
    /// The call cannot do that now (e.g. hold a call that is still ringing).
    CallRefused,
    /// The thing asked for does not exist (lead, call).
    NotFound,
    /// The local database failed.
    StoreFailed,
    /// No microphone or speaker could be opened for calls.
    AudioUnavailable,
    /// The call engine could not start or carry out a command.
    EngineFailed,
    /// The action exists only in demo mode (e.g. simulating an inbound call).
    DemoOnly,
    /// An update was not installed: its signature is not the app's key's, the feed is unusable,
    /// or writing it failed. The running version is untouched.
    UpdateRefused,
    /// Telnyx refused a Call Control action (transfer, recording, ...) on a live call: the call
    /// goes on as it was and the message says why.
    CallControlRefused,
    /// The team database cannot be reached now (down, wrong address, offline); work goes on
    /// locally and is sent when it is back.
    TeamUnreachable,
    /// The team database refused: a wrong login or password, a login that is no agent, an
    /// address that is not PostgreSQL or not secure, or a change the agent may not make.
    TeamRefused,
}

/// The error every command returns: `{ "code": "...", "message": "..." }`.
///
/// `message` is a sentence the agent can act on; it never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message} ({code:?})")]
pub struct IpcError {
    pub code: ErrorCode,
    pub message: String,
}

impl IpcError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

// Every domain error converts to the one IPC shape here or in its own crate (store, telnyx,
// keychain), so the shell's commands say `?`.

impl From<crate::call::Rejection> for IpcError {
    /// The machine refused an agent's action: said as a sentence.
    fn from(rejection: crate::call::Rejection) -> Self {
        use crate::call::Rejection;
        let code = match rejection {
            Rejection::UnknownCall(_) => ErrorCode::NotFound,
            Rejection::InvalidDigits(_) => ErrorCode::InvalidArgument,
            _ => ErrorCode::CallRefused,
        };
        let mut message = rejection.to_string();
        if let Some(first) = message.get(..1) {
            message = format!("{}{}.", first.to_uppercase(), &message[1..]);
        }
        IpcError::new(code, message)
    }
}

impl From<crate::phone::PhoneNumberError> for IpcError {
    fn from(error: crate::phone::PhoneNumberError) -> Self {
        IpcError::new(ErrorCode::InvalidNumber, error.to_string())
    }
}

impl From<crate::disposition::DispositionError> for IpcError {
    fn from(error: crate::disposition::DispositionError) -> Self {
        IpcError::new(ErrorCode::InvalidArgument, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use crate::call::{CallId, CallView, Rejection};

    #[test]
    fn a_refused_call_event_is_a_coded_sentence() {
        let table = [
            (Rejection::UnknownCall(CallId("c".into())), ErrorCode::NotFound),
            (Rejection::InvalidDigits("x".into()), ErrorCode::InvalidArgument),
            (Rejection::BusyDialing, ErrorCode::CallRefused),
            (Rejection::NotNow { view: CallView::Ended, action: "held" }, ErrorCode::CallRefused),
        ];
        for (rejection, code) in table {
            let error = IpcError::from(rejection);
            assert_eq!(error.code, code, "{error:?}");
            assert!(!error.message.starts_with(char::is_lowercase) && error.message.ends_with('.'), "{error:?}");
        }
        let refused = crate::phone::PhoneNumber::from_stored("not a number").expect_err("refused");
        assert_eq!(IpcError::from(refused).code, ErrorCode::InvalidNumber);
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn ipc_error_serializes_as_code_and_message() {
        let error = IpcError::new(ErrorCode::InvalidArgument, "The number is not valid.");
        assert_eq!(
            serde_json::to_value(&error).expect("serializes"),
            json!({ "code": "InvalidArgument", "message": "The number is not valid." })
        );
    }

    #[test]
    fn connection_state_uses_snake_case_on_the_wire() {
        let status = ConnectionStatus { state: ConnectionState::Reconnecting, reason: None, demo: true };
        let wire = serde_json::to_value(&status).expect("serializes");
        assert_eq!(wire, json!({ "state": "reconnecting", "reason": null, "demo": true }));
        let back: ConnectionStatus = serde_json::from_value(wire).expect("deserializes");
        assert_eq!(back, status);
    }

    #[test]
    fn every_connection_state_has_a_distinct_label() {
        let labels: std::collections::HashSet<_> = [
            ConnectionState::Offline,
            ConnectionState::Connecting,
            ConnectionState::Ready,
            ConnectionState::Reconnecting,
            ConnectionState::Error,
        ]
        .iter()
        .map(|s| s.label())
        .collect();
        assert_eq!(labels.len(), 5);
    }
}
