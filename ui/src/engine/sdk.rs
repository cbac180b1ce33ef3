//! The wasm-bindgen bindings to the SDK's global `TelnyxWebRTC` (the UMD bundle of
//! `@telnyx/webrtc`, copied from node_modules into the UI's dist by trunk), and the readers that
//! turn its event payloads into [`SdkEvent`]s. The only code in the UI that touches the SDK.

use js_sys::{Function, Object, Reflect};
use softphone_core::call::{CallId, Direction, Party, SdkState, TelnyxLeg};
use wasm_bindgen::prelude::*;

use super::events::{SdkCallUpdate, SdkEvent, SdkProblem, TOKEN_EXPIRING_SOON_CODE};

#[wasm_bindgen]
extern "C" {
    /// `TelnyxWebRTC.TelnyxRTC`: one signaling session.
    #[wasm_bindgen(js_namespace = TelnyxWebRTC, js_name = TelnyxRTC)]
    #[derive(Debug, Clone)]
    pub type TelnyxRtcClient;

    /// `new TelnyxRTC({host, login_token, iceServers})`.
    #[wasm_bindgen(constructor, catch, js_namespace = TelnyxWebRTC, js_class = "TelnyxRTC")]
    pub fn new(options: &Object) -> Result<TelnyxRtcClient, JsValue>;

    /// Opens the websocket and logs in (a promise).
    #[wasm_bindgen(method, catch)]
    pub fn connect(this: &TelnyxRtcClient) -> Result<JsValue, JsValue>;

    /// Hangs up every call, closes the socket and stops reconnecting (a promise).
    #[wasm_bindgen(method, catch)]
    pub fn disconnect(this: &TelnyxRtcClient) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method)]
    pub fn on(this: &TelnyxRtcClient, event: &str, handler: &Function);

    #[wasm_bindgen(method)]
    pub fn off(this: &TelnyxRtcClient, event: &str, handler: &Function);

    /// `login({creds: {login_token}, onSuccess, onError})`: logs in again on the live socket.
    #[wasm_bindgen(method, catch)]
    pub fn login(this: &TelnyxRtcClient, params: &Object) -> Result<JsValue, JsValue>;

    /// `newCall({id, destinationNumber, ...})`; the SDK keeps a given `id` as the call's id.
    #[wasm_bindgen(method, catch, js_name = newCall)]
    pub fn new_call(this: &TelnyxRtcClient, options: &Object) -> Result<SdkCall, JsValue>;

    /// Where remote audio plays: the id of an `<audio autoplay>` element.
    #[wasm_bindgen(method, setter = remoteElement)]
    pub fn set_remote_element(this: &TelnyxRtcClient, element_id: &str);

    /// `TelnyxWebRTC.Call`: one call. The SDK replaces the object when it recovers a call, so
    /// the engine keeps the latest one it saw per call id.
    #[wasm_bindgen(js_namespace = TelnyxWebRTC, js_name = Call)]
    #[derive(Debug, Clone)]
    pub type SdkCall;

    #[wasm_bindgen(method, getter)]
    pub fn id(this: &SdkCall) -> Option<String>;

    #[wasm_bindgen(method, catch)]
    pub fn answer(this: &SdkCall) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch)]
    pub fn hangup(this: &SdkCall) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch)]
    pub fn hold(this: &SdkCall) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch)]
    pub fn unhold(this: &SdkCall) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch)]
    pub fn dtmf(this: &SdkCall, digits: &str) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch, js_name = muteAudio)]
    pub fn mute_audio(this: &SdkCall) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch, js_name = unmuteAudio)]
    pub fn unmute_audio(this: &SdkCall) -> Result<JsValue, JsValue>;
}

/// True when this webview has WebRTC (`typeof RTCPeerConnection === "function"`). Debian's
/// WebKitGTK does not.
pub fn webrtc_available() -> bool {
    global_function("RTCPeerConnection")
}

/// True when the SDK bundle is loaded (`TelnyxWebRTC.TelnyxRTC` is a constructor).
pub fn sdk_loaded() -> bool {
    Reflect::get(&js_sys::global(), &JsValue::from_str("TelnyxWebRTC"))
        .ok()
        .filter(|sdk| sdk.is_object())
        .and_then(|sdk| Reflect::get(&sdk, &JsValue::from_str("TelnyxRTC")).ok())
        .is_some_and(|constructor| constructor.is_function())
}

fn global_function(name: &str) -> bool {
    Reflect::get(&js_sys::global(), &JsValue::from_str(name)).is_ok_and(|value| value.is_function())
}

/// Reads one SDK event payload; `None` when it is not an event of ours.
pub(crate) type EventReader = fn(&JsValue) -> Option<SdkEvent>;

/// The SDK event names the engine listens to, with the reader for each payload.
pub(crate) const EVENTS: [(&str, EventReader); 5] = [
    ("telnyx.ready", |_| Some(SdkEvent::Ready)),
    ("telnyx.error", |payload| Some(SdkEvent::Error(read_problem(payload, "error")))),
    ("telnyx.warning", read_warning),
    ("telnyx.socket.close", |payload| Some(SdkEvent::SocketClosed { code: read_close_code(payload) })),
    ("telnyx.notification", read_notification),
];

fn read_warning(payload: &JsValue) -> Option<SdkEvent> {
    let problem = read_problem(payload, "warning");
    if problem.code == Some(TOKEN_EXPIRING_SOON_CODE) || problem.name == "TOKEN_EXPIRING_SOON" {
        Some(SdkEvent::TokenExpiringSoon)
    } else {
        Some(SdkEvent::Warning(problem))
    }
}

/// `{error: {code, name, message}, callId?, recoverable?}` (or the same with `warning`).
fn read_problem(payload: &JsValue, key: &str) -> SdkProblem {
    let inner = field(payload, key).filter(JsValue::is_object).unwrap_or_else(|| payload.clone());
    let message = text(&inner, "message")
        .or_else(|| inner.dyn_ref::<js_sys::Error>().map(|error| String::from(error.message())))
        .or_else(|| inner.as_string())
        .unwrap_or_default();
    SdkProblem {
        code: number(&inner, "code"),
        name: text(&inner, "name").unwrap_or_default(),
        message,
        call_id: text(payload, "callId").map(CallId),
        recoverable: field(payload, "recoverable").and_then(|value| value.as_bool()).unwrap_or(false),
    }
}

/// `{event: CloseEvent}` or the `CloseEvent` itself.
fn read_close_code(payload: &JsValue) -> Option<u16> {
    let event = field(payload, "event").filter(JsValue::is_object).unwrap_or_else(|| payload.clone());
    number(&event, "code").and_then(|code| u16::try_from(code).ok())
}

/// `{type: "callUpdate", call}`; other notification types are not events of ours.
fn read_notification(payload: &JsValue) -> Option<SdkEvent> {
    if text(payload, "type").as_deref() != Some("callUpdate") {
        return None;
    }
    read_call(&field(payload, "call")?).map(SdkEvent::CallUpdate)
}

/// Reads an SDK `Call` object. `None` when it has no id or state (never seen; guards the rest).
pub(crate) fn read_call(call: &JsValue) -> Option<SdkCallUpdate> {
    let call_id = text(call, "id").filter(|id| !id.is_empty())?;
    let state = SdkState::parse(&text(call, "state")?);
    let direction = match text(call, "direction").as_deref() {
        Some("inbound") => Some(Direction::Inbound),
        Some("outbound") => Some(Direction::Outbound),
        _ => None,
    };
    let options = field(call, "options").unwrap_or(JsValue::UNDEFINED);
    let remote_number = text(&options, "remoteCallerNumber")
        .filter(|number| !number.is_empty())
        .or_else(|| text(&options, "destinationNumber"))
        .unwrap_or_default();
    let name = text(&options, "remoteCallerName").filter(|name| !name.is_empty());
    // `call.telnyxIDs` is a getter: `{telnyxCallControlId, telnyxSessionId, telnyxLegId}`, empty
    // unless the connection uses Call Control.
    let ids = field(call, "telnyxIDs").unwrap_or(JsValue::UNDEFINED);
    let leg = match (text(&ids, "telnyxCallControlId"), text(&ids, "telnyxSessionId")) {
        (Some(call_control_id), Some(call_session_id))
            if !call_control_id.is_empty() && !call_session_id.is_empty() =>
        {
            Some(TelnyxLeg { call_control_id, call_session_id })
        }
        _ => None,
    };
    Some(SdkCallUpdate {
        call_id: CallId(call_id),
        state,
        direction,
        remote: Party { number: remote_number, name },
        cause: text(call, "cause").filter(|cause| !cause.is_empty()),
        cause_code: number(call, "causeCode").and_then(|code| u16::try_from(code).ok()),
        sip_code: number(call, "sipCode").and_then(|code| u16::try_from(code).ok()),
        leg,
    })
}

fn field(object: &JsValue, key: &str) -> Option<JsValue> {
    if !object.is_object() {
        return None;
    }
    Reflect::get(object, &JsValue::from_str(key)).ok().filter(|value| !value.is_undefined() && !value.is_null())
}

fn text(object: &JsValue, key: &str) -> Option<String> {
    field(object, key).and_then(|value| value.as_string())
}

/// A whole non-negative number, given as a number or a numeric string (SIP codes arrive as both).
fn number(object: &JsValue, key: &str) -> Option<u32> {
    let value = field(object, key)?;
    let number = value.as_f64().or_else(|| value.as_string().and_then(|text| text.trim().parse().ok()))?;
    (number.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&number)).then_some(number as u32)
}

/// A plain JS object from `(key, value)` pairs.
pub(crate) fn object(entries: &[(&str, JsValue)]) -> Object {
    let object = Object::new();
    for (key, value) in entries {
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object
}
