//! The webview call engine: the SDK logged in with the shell's JWT, carrying out the shell's
//! [`EngineCommand`]s and reporting what happens to each call as [`EngineUpdate`]s.
//!
//! The engine decides nothing about calls: every update goes to the shell's state machine
//! (through the `on_update` callback), and the engine only does what the machine's commands say.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Promise};
use softphone_core::call::{CallId, EngineCommand, EngineUpdate, Party, SdkState};
use softphone_core::ipc::{IceServer, IpcError, LoginTokenGrant};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use yew::Callback;

use super::events::{CallUpdateTranslator, SdkEvent, SdkProblem, SessionEvent};
use super::sdk::{self, SdkCall, TelnyxRtcClient, object};

/// Where the engine gets a fresh login token when the SDK warns that the current one expires
/// (in the app: `backend::issue_login_token`).
pub type TokenSource = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<LoginTokenGrant, IpcError>>>>>;

/// Where the engine gets a voicemail greeting's WAV bytes, by the greeting's name (in the app:
/// `backend::read_greeting`).
pub type GreetingSource = Rc<dyn Fn(String) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, IpcError>>>>>;

/// How the engine logs in and dials.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The shell's grant: JWT, signaling URL and ICE servers (empty against the simulator).
    pub grant: LoginTokenGrant,
    /// The caller id sent with outbound calls (`callerNumber`/`callerName`), if any.
    pub caller: Option<Party>,
    /// The id of the `<audio autoplay>` element remote audio plays in; created in `<body>` if absent.
    pub remote_audio_element_id: String,
}

impl EngineConfig {
    /// A config with no caller id and remote audio in `#remote-audio`.
    pub fn new(grant: LoginTokenGrant) -> Self {
        Self { grant, caller: None, remote_audio_element_id: "remote-audio".to_owned() }
    }
}

/// Why the engine could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineError {
    /// `TelnyxWebRTC` is not loaded: the bundle is missing from the page.
    SdkMissing,
    /// The webview has no `RTCPeerConnection`; use the native engine.
    NoWebrtc,
    /// The SDK threw while being set up; the message is the SDK's.
    SdkRefused(String),
}

impl EngineError {
    /// A stable code for logs and the diagnostics page.
    pub fn code(&self) -> &'static str {
        match self {
            Self::SdkMissing => "SdkMissing",
            Self::NoWebrtc => "NoWebrtc",
            Self::SdkRefused(_) => "SdkRefused",
        }
    }
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SdkMissing => write!(
                f,
                "The Telnyx SDK is not loaded in this window (TelnyxWebRTC is missing); the UI was built without it."
            ),
            Self::NoWebrtc => write!(f, "This window has no WebRTC (RTCPeerConnection); use the native call engine."),
            Self::SdkRefused(message) => write!(f, "The Telnyx SDK refused to start: {message}"),
        }
    }
}

impl std::error::Error for EngineError {}

/// The running engine. Cheap to clone (all clones drive the same SDK session).
#[derive(Clone)]
pub struct WebviewEngine {
    inner: Rc<Inner>,
}

impl std::fmt::Debug for WebviewEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebviewEngine").field("calls", &self.inner.calls.borrow().len()).finish_non_exhaustive()
    }
}

/// An SDK event name and the closure subscribed to it.
type SdkHandler = (&'static str, Closure<dyn Fn(JsValue)>);

struct Inner {
    client: TelnyxRtcClient,
    config: EngineConfig,
    /// The latest SDK `Call` object per call id.
    calls: RefCell<HashMap<CallId, SdkCall>>,
    translator: RefCell<CallUpdateTranslator>,
    on_update: Callback<(CallId, EngineUpdate)>,
    on_session: Callback<SessionEvent>,
    token_source: TokenSource,
    greeting_source: GreetingSource,
    refreshing: Cell<bool>,
    /// The SDK event handlers, kept alive while the engine runs and removed by `stop`.
    handlers: RefCell<Vec<SdkHandler>>,
}

impl WebviewEngine {
    /// Creates the SDK client from the shell's grant, subscribes to its events and connects.
    ///
    /// `on_update` gets every call update for the shell (`backend::report_engine_update`);
    /// `on_session` gets the session's events (ready, errors, reconnects, token refreshes).
    pub fn start(
        config: EngineConfig,
        token_source: TokenSource,
        greeting_source: GreetingSource,
        on_update: Callback<(CallId, EngineUpdate)>,
        on_session: Callback<SessionEvent>,
    ) -> Result<WebviewEngine, EngineError> {
        if !sdk::sdk_loaded() {
            return Err(EngineError::SdkMissing);
        }
        if !sdk::webrtc_available() {
            return Err(EngineError::NoWebrtc);
        }
        ensure_audio_element(&config.remote_audio_element_id);
        let options = object(&[
            ("host", JsValue::from_str(&config.grant.signaling_url)),
            ("login_token", JsValue::from_str(&config.grant.login_token)),
            ("iceServers", ice_servers(&config.grant.ice_servers)),
        ]);
        let client = TelnyxRtcClient::new(&options).map_err(|error| EngineError::SdkRefused(describe(&error)))?;
        client.set_remote_element(&config.remote_audio_element_id);
        let engine = WebviewEngine {
            inner: Rc::new(Inner {
                client,
                config,
                calls: RefCell::new(HashMap::new()),
                translator: RefCell::new(CallUpdateTranslator::new()),
                on_update,
                on_session,
                token_source,
                greeting_source,
                refreshing: Cell::new(false),
                handlers: RefCell::new(Vec::new()),
            }),
        };
        for (name, read) in sdk::EVENTS {
            let weak = Rc::downgrade(&engine.inner);
            // `Fn`, not `FnMut`: the SDK may emit again from inside a handler (re-entrant calls).
            let handler = Closure::<dyn Fn(JsValue)>::new(move |payload: JsValue| {
                if let (Some(inner), Some(event)) = (Weak::upgrade(&weak), read(&payload)) {
                    WebviewEngine { inner }.on_sdk_event(event, &payload);
                }
            });
            engine.inner.client.on(name, handler.as_ref().unchecked_ref());
            engine.inner.handlers.borrow_mut().push((name, handler));
        }
        let connecting = engine.inner.client.connect().map_err(|error| EngineError::SdkRefused(describe(&error)))?;
        engine.watch("connect", None, connecting);
        Ok(engine)
    }

    /// Carries out one command from the shell (`engine://command`). Failures come back as
    /// updates: [`EngineUpdate::Failed`] when the call cannot go on, else a
    /// [`SessionEvent::CommandFailed`].
    pub fn execute(&self, command: EngineCommand) {
        match command {
            EngineCommand::Dial { call_id, number, caller_number } => self.dial(call_id, &number, caller_number),
            EngineCommand::Answer { call_id } => self.on_call(&call_id, "answer", true, SdkCall::answer),
            EngineCommand::PlayVoicemail { call_id, greeting } => self.play_voicemail(call_id, &greeting),
            EngineCommand::Hangup { call_id } => self.on_call(&call_id, "hang up", false, SdkCall::hangup),
            EngineCommand::Hold { call_id } => self.on_call(&call_id, "hold", false, SdkCall::hold),
            EngineCommand::Unhold { call_id } => self.on_call(&call_id, "resume", false, SdkCall::unhold),
            EngineCommand::SetMuted { call_id, muted: true } => {
                self.on_call(&call_id, "mute", false, SdkCall::mute_audio)
            }
            EngineCommand::SetMuted { call_id, muted: false } => {
                self.on_call(&call_id, "unmute", false, SdkCall::unmute_audio)
            }
            EngineCommand::SendDigits { call_id, digits } => {
                self.on_call(&call_id, "send digits", false, |call| call.dtmf(&digits))
            }
        }
    }

    /// Hangs up every call, closes the socket and unsubscribes from the SDK.
    pub fn stop(&self) {
        for (name, handler) in self.inner.handlers.borrow_mut().drain(..) {
            self.inner.client.off(name, handler.as_ref().unchecked_ref());
        }
        if let Ok(closing) = self.inner.client.disconnect() {
            self.watch("disconnect", None, closing);
        }
        self.inner.calls.borrow_mut().clear();
    }

    /// How many SDK calls the engine holds (for diagnostics; flat over a shift).
    pub fn live_calls(&self) -> usize {
        self.inner.calls.borrow().len()
    }

    /// Starts an SDK call to `number`, presenting `caller_number` when the shell chose one (local
    /// presence), else the configured caller id.
    fn dial(&self, call_id: CallId, number: &str, caller_number: Option<String>) {
        self.inner.translator.borrow_mut().expect_outbound(&call_id);
        let mut options = vec![
            ("id", JsValue::from_str(&call_id.0)),
            ("destinationNumber", JsValue::from_str(number)),
            ("audio", JsValue::TRUE),
            ("video", JsValue::FALSE),
        ];
        let configured = self.inner.config.caller.as_ref();
        if let Some(number) = caller_number.as_deref().or(configured.map(|caller| caller.number.as_str())) {
            options.push(("callerNumber", JsValue::from_str(number)));
        }
        if let Some(name) = configured.and_then(|caller| caller.name.as_deref()) {
            options.push(("callerName", JsValue::from_str(name)));
        }
        match self.inner.client.new_call(&object(&options)) {
            Ok(call) => {
                if call.id().as_deref() != Some(call_id.0.as_str()) {
                    // Never seen with 2.27.10 (it keeps a given id); the shell must not track a ghost.
                    let message = format!("The SDK gave the call id {:?} instead of {:?}.", call.id(), call_id.0);
                    let _ = call.hangup();
                    self.report(call_id, EngineUpdate::Failed { message });
                    return;
                }
                self.inner.calls.borrow_mut().insert(call_id, call);
            }
            Err(error) => {
                let message = format!("The SDK could not start the call: {}", describe(&error));
                self.inner.translator.borrow_mut().forget(&call_id);
                self.inner.on_update.emit((call_id, EngineUpdate::Failed { message }));
            }
        }
    }

    /// A voicemail drop: the greeting (named by its file) replaces the microphone's track, and
    /// the call is hung up when it has played. If it cannot play, the call is hung up at once
    /// rather than left open on a machine that records.
    fn play_voicemail(&self, call_id: CallId, greeting: &str) {
        let Some(call) = self.inner.calls.borrow().get(&call_id).cloned() else {
            let message = format!("Cannot leave a voicemail: the SDK has no call {}.", call_id.0);
            self.inner.on_update.emit((call_id, EngineUpdate::Failed { message }));
            return;
        };
        let name = greeting.rsplit(['/', '\\']).next().unwrap_or(greeting).trim_end_matches(".wav").to_owned();
        let source = Rc::clone(&self.inner.greeting_source);
        let weak = Rc::downgrade(&self.inner);
        wasm_bindgen_futures::spawn_local(async move {
            let played = match source(name).await {
                Ok(wav) => super::greeting::play_into_call(&call, &wav).await,
                Err(error) => Err(error.message),
            };
            if let Err(reason) = &played
                && let Some(inner) = weak.upgrade()
            {
                let engine = WebviewEngine { inner };
                engine.inner.on_session.emit(SessionEvent::Error(SdkProblem {
                    code: None,
                    name: String::new(),
                    message: format!("The voicemail greeting could not play: {reason}"),
                    call_id: Some(call_id.clone()),
                    recoverable: true,
                }));
            }
            if let Ok(hanging_up) = call.hangup()
                && let Ok(promise) = hanging_up.dyn_into::<Promise>()
            {
                let _ = JsFuture::from(promise).await;
            }
        });
    }

    fn on_call(
        &self,
        call_id: &CallId,
        action: &'static str,
        failure_ends_call: bool,
        run: impl FnOnce(&SdkCall) -> Result<JsValue, JsValue>,
    ) {
        let call = self.inner.calls.borrow().get(call_id).cloned();
        let Some(call) = call else {
            let message = format!("Cannot {action}: the SDK has no call {}.", call_id.0);
            self.inner.on_update.emit((call_id.clone(), EngineUpdate::Failed { message }));
            return;
        };
        match run(&call) {
            Ok(result) => self.watch(action, Some((call_id.clone(), failure_ends_call)), result),
            Err(error) => self.command_failed(call_id.clone(), action, failure_ends_call, &error),
        }
    }

    /// Follows a promise the SDK returned; a rejection is reported like a thrown error.
    fn watch(&self, action: &'static str, call: Option<(CallId, bool)>, result: JsValue) {
        let Ok(promise) = result.dyn_into::<Promise>() else { return };
        let weak = Rc::downgrade(&self.inner);
        wasm_bindgen_futures::spawn_local(async move {
            let Err(error) = JsFuture::from(promise).await else { return };
            let Some(inner) = weak.upgrade() else { return };
            let engine = WebviewEngine { inner };
            match call {
                Some((call_id, ends_call)) => engine.command_failed(call_id, action, ends_call, &error),
                None => engine.inner.on_session.emit(SessionEvent::Error(SdkProblem {
                    code: None,
                    name: String::new(),
                    message: format!("The SDK could not {action}: {}", describe(&error)),
                    call_id: None,
                    recoverable: false,
                })),
            }
        });
    }

    fn command_failed(&self, call_id: CallId, action: &str, ends_call: bool, error: &JsValue) {
        let message = format!("The SDK could not {action} call {}: {}", call_id.0, describe(error));
        if ends_call {
            self.report(call_id, EngineUpdate::Failed { message });
        } else {
            self.inner.on_session.emit(SessionEvent::CommandFailed { call_id, message });
        }
    }

    fn report(&self, call_id: CallId, update: EngineUpdate) {
        if matches!(update, EngineUpdate::Failed { .. }) {
            // The end is final for the translator too: the SDK's own hangup is not a second end.
            self.inner.translator.borrow_mut().mark_ended(&call_id);
        }
        self.inner.on_update.emit((call_id, update));
    }

    fn on_sdk_event(&self, event: SdkEvent, payload: &JsValue) {
        if let SdkEvent::CallUpdate(update) = &event {
            // The SDK replaces the Call object on recovery: always keep the latest one.
            if let Ok(call) = js_sys::Reflect::get(payload, &JsValue::from_str("call")) {
                let mut calls = self.inner.calls.borrow_mut();
                if matches!(update.state, SdkState::Destroy | SdkState::Purge) {
                    calls.remove(&update.call_id);
                } else {
                    calls.insert(update.call_id.clone(), call.unchecked_into());
                }
            }
        }
        // Translate first and let go of the translator before anyone hears about it: a listener
        // may call `execute`, which may make the SDK emit again.
        let updates = self.inner.translator.borrow_mut().translate(&event);
        for update in updates {
            self.inner.on_update.emit(update);
        }
        if let Some(session) = SessionEvent::from_sdk(&event) {
            self.inner.on_session.emit(session);
        }
        if event == SdkEvent::TokenExpiringSoon {
            self.refresh_token();
        }
    }

    /// Fetches a new JWT from the shell and logs in with it on the live socket.
    fn refresh_token(&self) {
        if self.inner.refreshing.replace(true) {
            return;
        }
        let weak = Rc::downgrade(&self.inner);
        let fetch = (self.inner.token_source)();
        wasm_bindgen_futures::spawn_local(async move {
            let grant = fetch.await;
            let Some(inner) = weak.upgrade() else { return };
            inner.refreshing.set(false);
            let outcome = match grant {
                Ok(grant) => login_again(&inner.client, &grant.login_token)
                    .await
                    .map(|()| SessionEvent::TokenRefreshed { expires_at_unix: grant.expires_at_unix }),
                Err(error) => Err(format!("The shell gave no new login token: {}", error.message)),
            };
            inner.on_session.emit(outcome.unwrap_or_else(|message| SessionEvent::TokenRefreshFailed { message }));
        });
    }
}

/// `client.login({creds: {login_token}, onSuccess, onError})` as a future.
async fn login_again(client: &TelnyxRtcClient, login_token: &str) -> Result<(), String> {
    let mut failed = None;
    let promise = Promise::new(&mut |resolve: Function, reject: Function| {
        let creds = object(&[("login_token", JsValue::from_str(login_token))]);
        let params = object(&[("creds", creds.into()), ("onSuccess", resolve.into()), ("onError", reject.into())]);
        if let Err(error) = client.login(&params) {
            failed = Some(describe(&error));
        }
    });
    if let Some(message) = failed {
        return Err(format!("The SDK refused the new login token: {message}"));
    }
    JsFuture::from(promise)
        .await
        .map(|_| ())
        .map_err(|error| format!("The SDK refused the new login token: {}", describe(&error)))
}

/// `[{urls, username?, credential?}]`; absent fields are left out rather than sent as `null`.
fn ice_servers(servers: &[IceServer]) -> JsValue {
    let list = Array::new();
    for server in servers {
        let urls: Array = server.urls.iter().map(|url| JsValue::from_str(url)).collect();
        let mut entries = vec![("urls", JsValue::from(urls))];
        if let Some(username) = &server.username {
            entries.push(("username", JsValue::from_str(username)));
        }
        if let Some(credential) = &server.credential {
            entries.push(("credential", JsValue::from_str(credential)));
        }
        list.push(&object(&entries));
    }
    list.into()
}

/// Makes sure `<audio id=... autoplay>` exists for the SDK's remote stream.
fn ensure_audio_element(id: &str) {
    let Some(document) = web_sys::window().and_then(|window| window.document()) else { return };
    if document.get_element_by_id(id).is_some() {
        return;
    }
    let (Ok(audio), Some(body)) = (document.create_element("audio"), document.body()) else { return };
    audio.set_id(id);
    let _ = audio.set_attribute("autoplay", "");
    let _ = body.append_child(&audio);
}

/// A sentence for a thrown value or a rejection (`Error` objects give their message).
fn describe(value: &JsValue) -> String {
    if let Some(text) = value.as_string() {
        return text;
    }
    if let Some(error) = value.dyn_ref::<js_sys::Error>() {
        return String::from(error.message());
    }
    js_sys::JSON::stringify(value).ok().and_then(|text| text.as_string()).unwrap_or_else(|| "unknown error".to_owned())
}
