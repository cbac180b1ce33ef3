//! Every frame the simulator sends or reads on the `telnyx_rtc` websocket, as serde types.
//!
//! Field names follow the wire (the SDK's mix of `callID`, `causeCode`, `sip_call_id`, ...), see
//! `docs/telnyx-protocol.md` §2. Incoming params are parsed leniently (unknown fields ignored,
//! most fields optional) because the SDK sends far more than the simulator reads.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Always `"2.0"`.
pub const JSONRPC: &str = "2.0";

/// JSON-RPC error codes the simulator answers with.
pub mod codes {
    /// The frame is not JSON.
    pub const PARSE_ERROR: i32 = -32700;
    /// JSON, but not a request the simulator can read (no `method`, wrong shape, binary, too large).
    pub const INVALID_REQUEST: i32 = -32600;
    /// A method the simulator does not know.
    pub const METHOD_NOT_FOUND: i32 = -32601;
    /// The method is known, its params are not usable (missing `callID`, garbage SDP, ...).
    pub const INVALID_PARAMS: i32 = -32602;
    /// Telnyx: token registration error. The SDK re-runs `login` on it, so the simulator uses it
    /// for requests that need a login made before one.
    pub const NOT_LOGGED_IN: i32 = -32000;
    /// Telnyx: credential registration error; the SDK shows `LOGIN_FAILED` (46001).
    pub const AUTHENTICATION_FAILURE: i32 = -32001;
    /// Telnyx: codec error. Used when the SDP cannot be negotiated.
    pub const CODEC_ERROR: i32 = -32002;
    /// The request names a call the simulator does not have (or that already ended).
    pub const CALL_DOES_NOT_EXIST: i32 = -32003;
}

// ---------------------------------------------------------------------------------------------
// Outgoing

/// A request the simulator sends (`telnyx_rtc.*`), with a server-chosen integer id.
#[derive(Debug, Clone, Serialize)]
pub struct RequestFrame {
    /// [`JSONRPC`].
    pub jsonrpc: &'static str,
    /// Counting up per simulator from 1000.
    pub id: u64,
    /// `method` + `params`.
    #[serde(flatten)]
    pub request: ServerRequest,
    /// The session's reconnect token, once logged in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice_sdk_id: Option<String>,
}

/// The result of a client request.
#[derive(Debug, Clone, Serialize)]
pub struct ResultFrame {
    /// [`JSONRPC`].
    pub jsonrpc: &'static str,
    /// The client's id, echoed.
    pub id: Value,
    /// What the method returns.
    pub result: Reply,
    /// The session's reconnect token, once logged in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice_sdk_id: Option<String>,
}

/// A JSON-RPC error answer; `id` is `null` when the frame had none (or was unreadable).
#[derive(Debug, Clone, Serialize)]
pub struct ErrorFrame {
    /// [`JSONRPC`].
    pub jsonrpc: &'static str,
    /// The client's id, or `null`.
    pub id: Value,
    /// Code and message.
    pub error: RpcError,
    /// The session's reconnect token, once logged in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice_sdk_id: Option<String>,
}

/// `{code, message}` of an [`ErrorFrame`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RpcError {
    /// See [`codes`].
    pub code: i32,
    /// A sentence for people.
    pub message: String,
}

impl RpcError {
    /// An error with this code and message.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

/// `method` and `params` of the requests the simulator sends.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "method", content = "params")]
pub enum ServerRequest {
    /// After a successful login; the client answers with `gatewayState`.
    #[serde(rename = "telnyx_rtc.clientReady")]
    ClientReady(ClientReadyParams),
    /// Keepalive; the client answers with a ping request of its own.
    #[serde(rename = "telnyx_rtc.ping")]
    Ping(PingParams),
    /// Outbound call: the far end rings.
    #[serde(rename = "telnyx_rtc.ringing")]
    Ringing(CallInfoParams),
    /// Outbound call: early media (SDP answer before the call is answered).
    #[serde(rename = "telnyx_rtc.media")]
    Media(SdpParams),
    /// Outbound call answered; `sdp` absent after early media.
    #[serde(rename = "telnyx_rtc.answer")]
    Answer(SdpParams),
    /// Inbound call: an offer to the client.
    #[serde(rename = "telnyx_rtc.invite")]
    Invite(CallInfoParams),
    /// Call recovery after a reconnection: a fresh offer for a call the client had.
    #[serde(rename = "telnyx_rtc.attach")]
    Attach(CallInfoParams),
    /// The far end hung up.
    #[serde(rename = "telnyx_rtc.bye")]
    Bye(ByeParams),
    /// New remote party name/number.
    #[serde(rename = "telnyx_rtc.display")]
    Display(DisplayParams),
    /// The server throws the client out: calls are purged, no reconnect.
    #[serde(rename = "telnyx_rtc.punt")]
    Punt(EmptyParams),
}

/// `{}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EmptyParams {}

/// Params of `telnyx_rtc.clientReady`.
#[derive(Debug, Clone, Serialize)]
pub struct ClientReadyParams {
    /// Ids of the calls of a reattached session (empty on a fresh login).
    pub reattached_sessions: Vec<String>,
}

/// Params of a server `telnyx_rtc.ping`.
#[derive(Debug, Clone, Serialize)]
pub struct PingParams {
    /// Counts the server's pings on this connection, from 1.
    pub serno: u64,
}

/// Params of `ringing`, `invite` and `attach`: who calls whom, plus Telnyx's ids.
#[derive(Debug, Clone, Serialize)]
pub struct CallInfoParams {
    /// The SDK's call id.
    #[serde(rename = "callID")]
    pub call_id: String,
    /// SDP offer (`invite`, `attach`); absent on `ringing`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdp: Option<String>,
    /// Caller's name.
    pub caller_id_name: String,
    /// Caller's number, E.164.
    pub caller_id_number: String,
    /// Callee's name.
    pub callee_id_name: String,
    /// Callee's number, E.164 (or the SIP user name for the softphone).
    pub callee_id_number: String,
    /// As Telnyx sends it (the SDK inverts it).
    pub display_direction: &'static str,
    /// `v3:cc-<callID>`.
    pub telnyx_call_control_id: String,
    /// `sess-<callID>`.
    pub telnyx_session_id: String,
    /// `leg-<callID>`.
    pub telnyx_leg_id: String,
    /// Custom SIP headers of an inbound call (`invite` only).
    #[serde(rename = "dialogParams", skip_serializing_if = "Option::is_none")]
    pub dialog_params: Option<OutDialogParams>,
}

/// The `dialogParams` the simulator sends with an inbound `invite`.
#[derive(Debug, Clone, Serialize)]
pub struct OutDialogParams {
    /// `X-...` headers of the far end.
    pub custom_headers: Vec<CustomHeader>,
}

/// `{callID, sdp?}` of `media` and `answer`.
#[derive(Debug, Clone, Serialize)]
pub struct SdpParams {
    /// The SDK's call id.
    #[serde(rename = "callID")]
    pub call_id: String,
    /// The SDP answer; absent on an `answer` after early media.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdp: Option<String>,
}

/// Params of a server `telnyx_rtc.bye`.
#[derive(Debug, Clone, Serialize)]
pub struct ByeParams {
    /// The SDK's call id.
    #[serde(rename = "callID")]
    pub call_id: String,
    /// Q.850 cause name, e.g. `USER_BUSY`.
    pub cause: String,
    /// Q.850 cause code, e.g. 17.
    #[serde(rename = "causeCode")]
    pub cause_code: u16,
    /// SIP status, e.g. 486.
    #[serde(rename = "sipCode")]
    pub sip_code: u16,
    /// SIP reason phrase, e.g. `Busy Here`.
    #[serde(rename = "sipReason")]
    pub sip_reason: String,
}

/// Params of `telnyx_rtc.display`.
#[derive(Debug, Clone, Serialize)]
pub struct DisplayParams {
    /// The SDK's call id.
    #[serde(rename = "callID")]
    pub call_id: String,
    /// New remote party name.
    pub display_name: String,
    /// New remote party number.
    pub display_number: String,
    /// As Telnyx sends it (the SDK inverts it).
    pub display_direction: &'static str,
}

/// The `result` of the simulator's answers.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Reply {
    /// `login`.
    Login(LoginResult),
    /// `telnyx_rtc.gatewayState`.
    GatewayState(GatewayStateResult),
    /// `invite`, `answer`, `attach`: `CALL CREATED` / `CALL ANSWERED` / `CALL ATTACHED`.
    Call(CallResult),
    /// `bye`: `CALL ENDED` with the cause.
    Bye(ByeResult),
    /// `modify` hold actions.
    Modify(ModifyResult),
    /// `ping`, `info`, `candidate`, ...: `{method}`.
    Method(MethodResult),
    /// `debug_report_*`: `{}`.
    Empty(EmptyParams),
}

/// Result of `login`.
#[derive(Debug, Clone, Serialize)]
pub struct LoginResult {
    /// `logged in`.
    pub message: &'static str,
    /// The session id (UUID v4), kept across a reconnection.
    pub sessid: String,
}

/// Result of `telnyx_rtc.gatewayState`.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayStateResult {
    /// `{state: "REGED"}`.
    pub params: GatewayState,
    /// The session id.
    pub sessid: String,
}

/// `{state}` of a [`GatewayStateResult`].
#[derive(Debug, Clone, Serialize)]
pub struct GatewayState {
    /// Always `REGED`: the simulator's gateway never fails.
    pub state: &'static str,
}

/// Result of call requests.
#[derive(Debug, Clone, Serialize)]
pub struct CallResult {
    /// `CALL CREATED`, `CALL ANSWERED` or `CALL ATTACHED`.
    pub message: &'static str,
    /// The SDK's call id.
    #[serde(rename = "callID")]
    pub call_id: String,
    /// The session id.
    pub sessid: String,
}

/// Result of a client `telnyx_rtc.bye`.
#[derive(Debug, Clone, Serialize)]
pub struct ByeResult {
    /// The SDK's call id.
    #[serde(rename = "callID")]
    pub call_id: String,
    /// `CALL ENDED`.
    pub message: &'static str,
    /// The cause code the client sent.
    #[serde(rename = "causeCode")]
    pub cause_code: u16,
    /// The cause the client sent.
    pub cause: String,
    /// The session id.
    pub sessid: String,
}

/// Result of `telnyx_rtc.modify` (hold actions).
#[derive(Debug, Clone, Serialize)]
pub struct ModifyResult {
    /// The SDK's call id.
    #[serde(rename = "callID")]
    pub call_id: String,
    /// The action as sent.
    pub action: String,
    /// `held` or `active` after the action.
    #[serde(rename = "holdState")]
    pub hold_state: &'static str,
    /// The session id.
    pub sessid: String,
}

/// `{method}`: the plain acknowledgement.
#[derive(Debug, Clone, Serialize)]
pub struct MethodResult {
    /// The method acknowledged.
    pub method: String,
}

// ---------------------------------------------------------------------------------------------
// Incoming

/// A `{name, value}` custom SIP header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomHeader {
    /// Header name, e.g. `X-Lead-Id`.
    pub name: String,
    /// Header value.
    pub value: String,
}

/// Params of `login`. `login` + `passwd` take precedence over `login_token` (as at Telnyx).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LoginParams {
    /// A JWT minted by `POST /v2/telephony_credentials/{id}/token`.
    pub login_token: Option<String>,
    /// SIP user name (`gencred...`).
    pub login: Option<String>,
    /// SIP password.
    pub passwd: Option<String>,
    /// `true` when the SDK reconnects holding a `voice_sdk_id`.
    pub reconnection: Option<bool>,
    /// The previous session id, on a reconnection.
    pub sessid: Option<String>,
}

/// The part of the SDK's `dialogParams` the simulator reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DialogParams {
    /// The SDK's call id.
    #[serde(rename = "callID")]
    pub call_id: Option<String>,
    /// Number dialled.
    pub destination_number: Option<String>,
    /// Caller name the client presents.
    pub caller_id_name: Option<String>,
    /// Caller number the client presents.
    pub caller_id_number: Option<String>,
    /// `X-...` headers.
    pub custom_headers: Option<Vec<CustomHeader>>,
    /// `attach`: the call was held when the socket dropped, and the client will show it held.
    #[serde(rename = "wasHeldBeforeRecovery")]
    pub was_held_before_recovery: Option<bool>,
}

/// Params of the client's call requests (`invite`, `answer`, `attach`, `bye`, `modify`, `info`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CallParams {
    /// SDP offer (`invite`, `modify updateMedia`) or answer (`answer`, `attach`).
    pub sdp: Option<String>,
    /// Call options.
    #[serde(rename = "dialogParams")]
    pub dialog_params: DialogParams,
    /// Some frames carry `callID` at the top level instead.
    #[serde(rename = "callID")]
    pub call_id: Option<String>,
    /// `bye`: Q.850 cause name.
    pub cause: Option<String>,
    /// `bye`: Q.850 cause code (a number; a numeric string is accepted).
    #[serde(rename = "causeCode")]
    pub cause_code: Option<Value>,
    /// `bye`: SIP status, usually `null` from the SDK.
    #[serde(rename = "sipCode")]
    pub sip_code: Option<Value>,
    /// `modify`: `hold`, `unhold`, `toggleHold` or `updateMedia`.
    pub action: Option<String>,
    /// `info`: DTMF digits.
    pub dtmf: Option<String>,
}

impl CallParams {
    /// `dialogParams.callID`, else the top-level `callID`.
    pub fn call_id(&self) -> Option<&str> {
        self.dialog_params.call_id.as_deref().or(self.call_id.as_deref()).filter(|id| !id.is_empty())
    }

    /// `causeCode` as a number, if it is one.
    pub fn cause_code(&self) -> Option<u16> {
        number(self.cause_code.as_ref()?)
    }

    /// `sipCode` as a number, if it is one.
    pub fn sip_code(&self) -> Option<u16> {
        number(self.sip_code.as_ref()?)
    }
}

fn number(value: &Value) -> Option<u16> {
    match value {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// What one text frame from the client is, before its params are read.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A JSON-RPC request (or notification, when `id` is `None`).
    Request {
        /// The client's id.
        id: Option<Value>,
        /// The method name.
        method: String,
        /// `params`, or `{}` when absent.
        params: Value,
    },
    /// A `debug_report_*` frame (`{"type": "debug_report_start", "id": ...}`) that wants `{}`.
    DebugReport {
        /// The client's id, if any.
        id: Option<Value>,
    },
    /// The client's answer to a server request: `{id, result}` or `{id, error}`.
    Ack,
}

/// Classifies one text frame, or says which JSON-RPC error it deserves (with the id to answer,
/// when one could be read).
pub fn classify(text: &str) -> Result<Incoming, (Value, RpcError)> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| (Value::Null, RpcError::new(codes::PARSE_ERROR, format!("Parse error: {e}"))))?;
    let Value::Object(mut object) = value else {
        return Err((Value::Null, RpcError::new(codes::INVALID_REQUEST, "Invalid Request: not a JSON object")));
    };
    let id = object.remove("id").filter(|id| !id.is_null());
    let usable_id = match &id {
        None | Some(Value::String(_)) | Some(Value::Number(_)) => id.clone(),
        Some(_) => {
            return Err((
                Value::Null,
                RpcError::new(codes::INVALID_REQUEST, "Invalid Request: `id` must be a string or a number"),
            ));
        }
    };
    let reply_id = usable_id.clone().unwrap_or(Value::Null);
    match object.remove("method") {
        Some(Value::String(method)) => {
            let params = match object.remove("params") {
                None | Some(Value::Null) => Value::Object(serde_json::Map::new()),
                Some(params @ Value::Object(_)) => params,
                Some(_) => {
                    return Err((
                        reply_id,
                        RpcError::new(codes::INVALID_PARAMS, "Invalid params: `params` must be an object"),
                    ));
                }
            };
            Ok(Incoming::Request { id: usable_id, method, params })
        }
        Some(_) => Err((reply_id, RpcError::new(codes::INVALID_REQUEST, "Invalid Request: `method` must be a string"))),
        None => {
            if object.get("type").and_then(Value::as_str).is_some_and(|t| t.starts_with("debug_report")) {
                Ok(Incoming::DebugReport { id: usable_id })
            } else if object.contains_key("result") || object.contains_key("error") {
                Ok(Incoming::Ack)
            } else {
                Err((reply_id, RpcError::new(codes::INVALID_REQUEST, "Invalid Request: no `method`")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_requests_serialize_like_the_wire() {
        let frame = RequestFrame {
            jsonrpc: JSONRPC,
            id: 1001,
            request: ServerRequest::Bye(ByeParams {
                call_id: "c".into(),
                cause: "USER_BUSY".into(),
                cause_code: 17,
                sip_code: 486,
                sip_reason: "Busy Here".into(),
            }),
            voice_sdk_id: Some("vsdk-1".into()),
        };
        assert_eq!(
            serde_json::to_value(&frame).unwrap(),
            json!({"jsonrpc":"2.0","id":1001,"method":"telnyx_rtc.bye","voice_sdk_id":"vsdk-1",
                   "params":{"callID":"c","cause":"USER_BUSY","causeCode":17,"sipCode":486,"sipReason":"Busy Here"}})
        );
        let punt =
            RequestFrame { jsonrpc: JSONRPC, id: 7, request: ServerRequest::Punt(EmptyParams {}), voice_sdk_id: None };
        assert_eq!(
            serde_json::to_value(&punt).unwrap(),
            json!({"jsonrpc":"2.0","id":7,"method":"telnyx_rtc.punt","params":{}})
        );
    }

    #[test]
    fn classify_tells_requests_acks_reports_and_garbage_apart() {
        assert!(matches!(
            classify(r#"{"jsonrpc":"2.0","id":"a","method":"login","params":{}}"#),
            Ok(Incoming::Request { id: Some(Value::String(_)), .. })
        ));
        assert_eq!(classify(r#"{"id":5,"result":{"method":"telnyx_rtc.ringing"}}"#), Ok(Incoming::Ack));
        assert_eq!(
            classify(r#"{"type":"debug_report_start","id":"d"}"#),
            Ok(Incoming::DebugReport { id: Some(json!("d")) })
        );
        assert_eq!(classify("{nope").unwrap_err().1.code, codes::PARSE_ERROR);
        assert_eq!(classify("[1,2]").unwrap_err().1.code, codes::INVALID_REQUEST);
        assert_eq!(classify(r#"{"id":{"x":1},"method":"m"}"#).unwrap_err().1.code, codes::INVALID_REQUEST);
        let (id, error) = classify(r#"{"id":"q","method":"m","params":[1]}"#).unwrap_err();
        assert_eq!((id, error.code), (json!("q"), codes::INVALID_PARAMS));
    }

    #[test]
    fn call_params_read_ids_and_causes_leniently() {
        let params: CallParams = serde_json::from_value(json!({
            "cause":"NORMAL_CLEARING","causeCode":"16","sipCode":null,
            "dialogParams":{"callID":"abc","custom_headers":[{"name":"X-A","value":"1"}],"iceServers":[]}
        }))
        .unwrap();
        assert_eq!(params.call_id(), Some("abc"));
        assert_eq!(params.cause_code(), Some(16));
        assert_eq!(params.sip_code(), None);
    }
}
