//! The frames of the `telnyx_rtc` websocket as serde types (docs/telnyx-protocol.md §2).
//!
//! Client requests carry a UUID v4 `id`; server requests carry any id and are acked with
//! `{result:{method}}`. Incoming frames are parsed leniently: unknown fields are ignored and most
//! fields are optional, because Telnyx sends more than the client reads.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Always `"2.0"`.
pub const JSONRPC: &str = "2.0";

/// A request the client sends.
#[derive(Debug, Clone, Serialize)]
pub struct RequestFrame {
    /// [`JSONRPC`].
    pub jsonrpc: &'static str,
    /// A UUID v4.
    pub id: String,
    /// E.g. `telnyx_rtc.invite`.
    pub method: &'static str,
    /// The method's params.
    pub params: Value,
    /// Sent on `gatewayState` and `ping`, as the SDK does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice_sdk_id: Option<String>,
}

/// The client's acknowledgement of a server request: `{id, result:{method}}`.
#[derive(Debug, Clone, Serialize)]
pub struct AckFrame {
    /// [`JSONRPC`].
    pub jsonrpc: &'static str,
    /// The server's id, echoed.
    pub id: Value,
    /// `{method}`.
    pub result: MethodAck,
}

/// `{method}` of an [`AckFrame`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MethodAck {
    /// The method acknowledged.
    pub method: String,
}

/// A `{name, value}` custom SIP header (`X-...`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomHeader {
    /// Header name, e.g. `X-Lead-Id`.
    pub name: String,
    /// Header value.
    pub value: String,
}

/// `dialogParams.userVariables` of a call: the SDK writes the microphone's label into it once
/// the call has a microphone (an inbound call from its answer on; one declined never has).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UserVariables {
    /// The microphone in use, as the SDK names `getUserMedia`'s track.
    #[serde(rename = "microphoneLabel", skip_serializing_if = "Option::is_none")]
    pub microphone_label: Option<String>,
}

/// `dialogParams.mediaSettings` of an outbound call (the SDK's defaults; never applied to SDP).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MediaSettings {
    /// Always false.
    #[serde(rename = "useSdpASBandwidthKbps")]
    pub use_sdp_as_bandwidth_kbps: bool,
    /// Always 0.
    #[serde(rename = "sdpASBandwidthKbps")]
    pub sdp_as_bandwidth_kbps: u32,
}

/// The `dialogParams` of the client's call requests: the SDK's call options as `BaseRequest`
/// renames them, key for key (`crates/sim/fixtures/sdk-frame-shapes.json` records them).
///
/// The SDK builds a call's options in two ways, and so does [`DialogParams::outbound`] /
/// [`DialogParams::from_server`]: `newCall` (an outbound call: `video` and `mediaSettings`, no
/// `debug`...), and `_buildCall` from a server `invite` or `attach` (`debug`, `debugOutput`,
/// `trickleIce`, `forceRelayCandidate`, `keepConnectionAliveOnSocketClose`; what the server left
/// out stays out). The options then live with the call: the Telnyx ids once `ringing` brings
/// them, `attach`/`recoveredCallId`/`wasHeldBeforeRecovery` after a recovery, on every frame.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DialogParams {
    /// Always true (audio calls).
    pub audio: bool,
    /// False on an outbound call; absent on one built from the server's offer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<bool>,
    /// Always false.
    #[serde(rename = "useStereo")]
    pub use_stereo: bool,
    /// True once the call was recovered by an attach.
    pub attach: bool,
    /// Always false.
    #[serde(rename = "screenShare")]
    pub screen_share: bool,
    /// False, on calls built from the server's offer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debug: Option<bool>,
    /// `"socket"`, on calls built from the server's offer.
    #[serde(rename = "debugOutput", skip_serializing_if = "Option::is_none")]
    pub debug_output: Option<String>,
    /// False (our SDP is complete), on calls built from the server's offer.
    #[serde(rename = "trickleIce", skip_serializing_if = "Option::is_none")]
    pub trickle_ice: Option<bool>,
    /// False, on calls built from the server's offer.
    #[serde(rename = "forceRelayCandidate", skip_serializing_if = "Option::is_none")]
    pub force_relay_candidate: Option<bool>,
    /// False, on calls built from the server's offer.
    #[serde(rename = "keepConnectionAliveOnSocketClose", skip_serializing_if = "Option::is_none")]
    pub keep_connection_alive_on_socket_close: Option<bool>,
    /// On a recovered call: whether the microphone was muted when the socket dropped.
    #[serde(rename = "mutedMicOnStart", skip_serializing_if = "Option::is_none")]
    pub muted_mic_on_start: Option<bool>,
    /// Always false.
    #[serde(rename = "prefetchIceCandidates")]
    pub prefetch_ice_candidates: bool,
    /// Empty: the native engine has no ICE server list to leak.
    #[serde(rename = "iceServers")]
    pub ice_servers: Vec<Value>,
    /// The microphone's label.
    #[serde(rename = "userVariables")]
    pub user_variables: UserVariables,
    /// On an outbound call.
    #[serde(rename = "mediaSettings", skip_serializing_if = "Option::is_none")]
    pub media_settings: Option<MediaSettings>,
    /// The call id (UUID).
    #[serde(rename = "callID")]
    pub call_id: String,
    /// The number dialled (outbound) or the softphone's own number (inbound).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_number: Option<String>,
    /// The far end's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_caller_id_name: Option<String>,
    /// The far end's number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_caller_id_number: Option<String>,
    /// Our presented name (`""` on an outbound call without one, as the SDK's default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_id_name: Option<String>,
    /// Our presented number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_id_number: Option<String>,
    /// `X-...` headers: ours on an outbound call, the caller's echoed back on an inbound one, as
    /// the SDK does. Absent when there are none, except on `bye`, where the SDK always has them
    /// (its hangup merges its own into the list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_headers: Option<Vec<CustomHeader>>,
    /// Telnyx's ids of the call, once the server gave them (`ringing`, `invite`, `attach`).
    #[serde(rename = "telnyxCallControlId", skip_serializing_if = "Option::is_none")]
    pub telnyx_call_control_id: Option<String>,
    /// See `telnyx_call_control_id`.
    #[serde(rename = "telnyxSessionId", skip_serializing_if = "Option::is_none")]
    pub telnyx_session_id: Option<String>,
    /// See `telnyx_call_control_id`.
    #[serde(rename = "telnyxLegId", skip_serializing_if = "Option::is_none")]
    pub telnyx_leg_id: Option<String>,
    /// After a recovery: the id of the call recovered (its own), on every later frame.
    #[serde(rename = "recoveredCallId", skip_serializing_if = "Option::is_none")]
    pub recovered_call_id: Option<String>,
    /// After a recovery of a held call: `true`, on the attach and every later frame.
    #[serde(rename = "wasHeldBeforeRecovery", skip_serializing_if = "Option::is_none")]
    pub was_held_before_recovery: Option<bool>,
}

impl DialogParams {
    fn base(call_id: &str) -> Self {
        DialogParams { audio: true, call_id: call_id.to_owned(), ..DialogParams::default() }
    }

    /// The call has a microphone now (the SDK writes its label when it opens the track).
    pub fn microphone_opened(&mut self, label: &str) {
        self.user_variables.microphone_label = Some(label.to_owned());
    }

    /// An outbound call's options, as the SDK's `newCall` makes them: the far end is "Outbound
    /// Call" at the number dialled; our name and number are `""` when not set.
    pub fn outbound(
        call_id: &str,
        destination: &str,
        caller_name: Option<String>,
        caller_number: Option<String>,
        headers: Vec<CustomHeader>,
        microphone_label: &str,
    ) -> Self {
        DialogParams {
            video: Some(false),
            media_settings: Some(MediaSettings::default()),
            destination_number: Some(destination.to_owned()),
            remote_caller_id_name: Some("Outbound Call".to_owned()),
            remote_caller_id_number: Some(destination.to_owned()),
            caller_id_name: Some(caller_name.unwrap_or_default()),
            caller_id_number: Some(caller_number.unwrap_or_default()),
            custom_headers: (!headers.is_empty()).then_some(headers),
            user_variables: UserVariables { microphone_label: Some(microphone_label.to_owned()) },
            ..DialogParams::base(call_id)
        }
    }

    /// A call's options built from the server's `invite` or `attach`, as `VertoHandler._buildCall`
    /// maps them: the callee is us, the caller the far end; the caller's headers are kept (and
    /// echoed); what the server left out stays out.
    pub fn from_server(params: &CallInfoParams) -> Self {
        let headers = params.dialog_params.as_ref().map(|d| d.custom_headers.clone()).unwrap_or_default();
        DialogParams {
            debug: Some(false),
            debug_output: Some("socket".to_owned()),
            trickle_ice: Some(false),
            force_relay_candidate: Some(false),
            keep_connection_alive_on_socket_close: Some(false),
            destination_number: params.callee_id_number.clone(),
            remote_caller_id_name: params.caller_id_name.clone(),
            remote_caller_id_number: params.caller_id_number.clone().or_else(|| params.callee_id_number.clone()),
            caller_id_name: params.callee_id_name.clone(),
            caller_id_number: params.callee_id_number.clone(),
            custom_headers: (!headers.is_empty()).then_some(headers),
            telnyx_call_control_id: params.telnyx_call_control_id.clone(),
            telnyx_session_id: params.telnyx_session_id.clone(),
            telnyx_leg_id: params.telnyx_leg_id.clone(),
            ..DialogParams::base(&params.call_id)
        }
    }

    /// The Call Control id and call session, once both are known.
    pub fn telnyx_leg(&self) -> Option<(String, String)> {
        Some((self.telnyx_call_control_id.clone()?, self.telnyx_session_id.clone()?))
    }

    /// Keeps Telnyx's ids from a server request about the call (the SDK stores them on
    /// `ringing`); ids already known are kept when the request has none.
    pub fn learn_telnyx_ids(&mut self, params: &CallInfoParams) {
        let learn = |known: &mut Option<String>, given: &Option<String>| {
            if let Some(id) = given.as_ref().filter(|id| !id.is_empty()) {
                *known = Some(id.clone());
            }
        };
        learn(&mut self.telnyx_call_control_id, &params.telnyx_call_control_id);
        learn(&mut self.telnyx_session_id, &params.telnyx_session_id);
        learn(&mut self.telnyx_leg_id, &params.telnyx_leg_id);
    }
}

/// A frame from the server, before it is told apart.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ServerFrame {
    /// Request or result id.
    pub id: Option<Value>,
    /// Set on server requests.
    pub method: Option<String>,
    /// Params of a server request.
    pub params: Option<Value>,
    /// Set on results.
    pub result: Option<Value>,
    /// Set on errors.
    pub error: Option<RpcError>,
    /// The reconnect token; stored from any frame.
    pub voice_sdk_id: Option<String>,
}

/// `{code, message}` of a JSON-RPC error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RpcError {
    /// E.g. -32001.
    pub code: i64,
    /// Telnyx's sentence.
    pub message: String,
}

/// Params of `invite`, `ringing` and `attach` from the server.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CallInfoParams {
    /// The call id.
    #[serde(rename = "callID")]
    pub call_id: String,
    /// An SDP offer (`invite`, `attach`).
    pub sdp: Option<String>,
    /// Caller's name.
    pub caller_id_name: Option<String>,
    /// Caller's number.
    pub caller_id_number: Option<String>,
    /// Callee's name.
    pub callee_id_name: Option<String>,
    /// Callee's number.
    pub callee_id_number: Option<String>,
    /// Telnyx's call control id.
    pub telnyx_call_control_id: Option<String>,
    /// Telnyx's session id.
    pub telnyx_session_id: Option<String>,
    /// Telnyx's leg id.
    pub telnyx_leg_id: Option<String>,
    /// `{custom_headers}` of an inbound call.
    #[serde(rename = "dialogParams")]
    pub dialog_params: Option<InboundDialogParams>,
}

/// The `dialogParams` of a server `invite`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct InboundDialogParams {
    /// `X-...` headers from the far end.
    pub custom_headers: Vec<CustomHeader>,
}

/// `{callID, sdp?}` of `media` and `answer` from the server.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SdpParams {
    /// The call id.
    #[serde(rename = "callID")]
    pub call_id: String,
    /// The SDP answer; absent on an `answer` after early media.
    pub sdp: Option<String>,
}

/// Params of a server `bye`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ByeParams {
    /// The call id.
    #[serde(rename = "callID")]
    pub call_id: String,
    /// Q.850 cause name.
    pub cause: Option<String>,
    /// Q.850 cause code.
    #[serde(rename = "causeCode")]
    pub cause_code: Option<u16>,
    /// SIP status.
    #[serde(rename = "sipCode")]
    pub sip_code: Option<u16>,
    /// SIP reason phrase.
    #[serde(rename = "sipReason")]
    pub sip_reason: Option<String>,
}

/// Params of `telnyx_rtc.display`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DisplayParams {
    /// The call id.
    #[serde(rename = "callID")]
    pub call_id: String,
    /// New remote party name.
    pub display_name: Option<String>,
    /// New remote party number.
    pub display_number: Option<String>,
}

/// Params of `telnyx_rtc.clientReady`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ClientReadyParams {
    /// Calls of a reattached session.
    pub reattached_sessions: Vec<String>,
}

/// `{state}` of a gateway state (pushed, or in `result.params`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GatewayStateParams {
    /// `REGED`, `REGISTER`, `UNREGED`, `NOREG`, `FAILED`, ...
    pub state: Option<String>,
}

/// A request from the server, by method.
#[derive(Debug, Clone)]
pub enum ServerRequest {
    /// After login; answered with a `gatewayState` request, not acked.
    ClientReady(ClientReadyParams),
    /// A pushed gateway state.
    GatewayState(GatewayStateParams),
    /// Keepalive; answered with a ping request of our own, not acked.
    Ping,
    /// Inbound call.
    Invite(CallInfoParams),
    /// Outbound call ringing.
    Ringing(CallInfoParams),
    /// Early media.
    Media(SdpParams),
    /// Answered.
    Answer(SdpParams),
    /// Hung up by the far end.
    Bye(ByeParams),
    /// New remote party.
    Display(DisplayParams),
    /// Call recovery offer.
    Attach(CallInfoParams),
    /// Thrown out: no reconnect.
    Punt,
    /// Trickle ICE candidate (not used: the client is non-trickle).
    Candidate,
    /// `telnyx_rtc.info` / `telnyx_rtc.event` notifications, not acked.
    Notification(String),
    /// Anything else: logged, acked when it has an id.
    Unknown(String),
}

impl ServerRequest {
    /// Reads `method` + `params`.
    pub fn parse(method: &str, params: Value) -> Result<Self, serde_json::Error> {
        let params = if params.is_null() { Value::Object(serde_json::Map::new()) } else { params };
        Ok(match method {
            "telnyx_rtc.clientReady" => Self::ClientReady(serde_json::from_value(params)?),
            "telnyx_rtc.gatewayState" => Self::GatewayState(serde_json::from_value(params)?),
            "telnyx_rtc.ping" => Self::Ping,
            "telnyx_rtc.invite" => Self::Invite(serde_json::from_value(params)?),
            "telnyx_rtc.ringing" => Self::Ringing(serde_json::from_value(params)?),
            "telnyx_rtc.media" => Self::Media(serde_json::from_value(params)?),
            "telnyx_rtc.answer" => Self::Answer(serde_json::from_value(params)?),
            "telnyx_rtc.bye" => Self::Bye(serde_json::from_value(params)?),
            "telnyx_rtc.display" => Self::Display(serde_json::from_value(params)?),
            "telnyx_rtc.attach" => Self::Attach(serde_json::from_value(params)?),
            "telnyx_rtc.punt" => Self::Punt,
            "telnyx_rtc.candidate" => Self::Candidate,
            "telnyx_rtc.info" | "telnyx_rtc.event" => Self::Notification(method.to_owned()),
            other => Self::Unknown(other.to_owned()),
        })
    }

    /// Whether the SDK acks this request with `{result:{method}}` when it has an id.
    pub fn is_acked(&self) -> bool {
        // The SDK acks a punt only in keep-alive mode; this client never keeps the peer across a
        // punt, and the server has closed the socket by the time an ack could go out.
        !matches!(self, Self::ClientReady(_) | Self::GatewayState(_) | Self::Ping | Self::Punt | Self::Notification(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dialog_params_use_the_wire_names_and_leave_out_what_the_sdk_leaves_out() {
        let headers = vec![CustomHeader { name: "X-A".into(), value: "1".into() }];
        let params = DialogParams::outbound("c1", "+15555550100", None, None, headers, "Mic");
        let value = serde_json::to_value(&params).unwrap();
        assert_eq!(value["callID"], "c1");
        assert_eq!(value["destination_number"], "+15555550100");
        assert_eq!(value["custom_headers"], json!([{"name": "X-A", "value": "1"}]));
        assert_eq!(value["attach"], false);
        assert_eq!(value["caller_id_name"], "", "the SDK's default is sent empty");
        assert_eq!(value["userVariables"], json!({"microphoneLabel": "Mic"}));
        assert_eq!(value["mediaSettings"], json!({"useSdpASBandwidthKbps": false, "sdpASBandwidthKbps": 0}));
        assert!(value.get("recoveredCallId").is_none() && value.get("debug").is_none());

        let invite =
            CallInfoParams { call_id: "c2".into(), caller_id_number: Some("+1555".into()), ..Default::default() };
        let value = serde_json::to_value(DialogParams::from_server(&invite)).unwrap();
        assert_eq!(value["userVariables"], json!({}), "no microphone before the answer");
        assert_eq!(value["debugOutput"], "socket");
        assert_eq!(value["remote_caller_id_number"], "+1555");
        for absent in ["caller_id_name", "caller_id_number", "custom_headers", "video", "mediaSettings", "telnyxLegId"]
        {
            assert!(value.get(absent).is_none(), "{absent} is left out as the server left it out: {value}");
        }
    }

    #[test]
    fn server_requests_parse_leniently() {
        let bye = ServerRequest::parse(
            "telnyx_rtc.bye",
            json!({"callID": "c", "cause": "USER_BUSY", "causeCode": 17, "sipCode": 486, "sipReason": "Busy Here", "x": 1}),
        )
        .unwrap();
        assert!(matches!(bye, ServerRequest::Bye(ByeParams { cause_code: Some(17), sip_code: Some(486), .. })));
        let unknown = ServerRequest::parse("telnyx_rtc.somethingNew", json!({"a": 1})).unwrap();
        assert!(matches!(&unknown, ServerRequest::Unknown(m) if m == "telnyx_rtc.somethingNew"));
        assert!(unknown.is_acked());
        assert!(!ServerRequest::parse("telnyx_rtc.ping", Value::Null).unwrap().is_acked());
        // A punt is followed by the server closing the socket: an ack would be written into a
        // closed connection (and its failure once read as a drop to reconnect from).
        assert!(!ServerRequest::parse("telnyx_rtc.punt", json!({})).unwrap().is_acked());
        let frame: ServerFrame = serde_json::from_str(
            r#"{"jsonrpc":"2.0","id":"x","error":{"code":-32001,"message":"no"},"voice_sdk_id":"v"}"#,
        )
        .unwrap();
        assert_eq!(frame.error.unwrap().code, -32001);
        assert_eq!(frame.voice_sdk_id.as_deref(), Some("v"));
    }
}
