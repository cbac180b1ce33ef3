//! [`RtcClient`]: one `telnyx_rtc` websocket, driven by a task that owns the socket.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use softphone_core::secret::Secret;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

mod task;

use super::error::{RtcError, server_text};
use super::frames::{
    AckFrame, ByeParams, CallInfoParams, ClientReadyParams, CustomHeader, DialogParams, JSONRPC, MethodAck,
    RequestFrame, RpcError, SdpParams, ServerFrame, ServerRequest,
};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Events queued for the app before the client task waits for it to read.
pub const EVENT_CAPACITY: usize = 256;

/// How to log in.
#[derive(Debug, Clone)]
pub enum RtcLogin {
    /// A JWT from `POST /v2/telephony_credentials/{id}/token` (sent as `login_token`).
    Token(Secret),
    /// A SIP credential (sent as `login` + `passwd`).
    Sip {
        /// SIP user name (`gencred...`).
        login: Secret,
        /// SIP password.
        password: Secret,
    },
}

/// Reconnect backoff: `initial · 2^(attempt-1)`, capped at `max`, ± `jitter` (a fraction).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Delay before the first attempt (the SDK: 1 s).
    pub initial: Duration,
    /// Cap (the SDK: 30 s).
    pub max: Duration,
    /// ± fraction of the delay (the SDK: 0.25).
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(30), jitter: 0.25 }
    }
}

impl Backoff {
    /// The delay before reconnect attempt `attempt` (from 1).
    pub fn delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(20);
        let base = self.initial.saturating_mul(1u32 << doublings).min(self.max);
        let jitter = self.jitter.clamp(0.0, 1.0);
        let factor = 1.0 + (fastrand::f64() * 2.0 - 1.0) * jitter;
        base.mul_f64(factor.max(0.0))
    }
}

/// Timings; the defaults are the SDK's, tests use milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RtcTimings {
    /// Opening the websocket (TCP + TLS + upgrade).
    pub connect_timeout: Duration,
    /// Any request's answer (the SDK: 10 s for the critical `modify` and `bye`).
    pub request_timeout: Duration,
    /// Inbound silence after which the client pings (the SDK: 20 s).
    pub idle_ping_after: Duration,
    /// An unanswered ping after this long means a dead socket (the SDK: about 5 s).
    pub ping_timeout: Duration,
    /// Reconnect delays.
    pub backoff: Backoff,
    /// Reconnect attempts before giving up; 0 = unlimited (the SDK: 10).
    pub max_reconnect_attempts: u32,
    /// How long `disconnect` waits for the BYE answers (the SDK: 5 s).
    pub bye_wait: Duration,
}

impl Default for RtcTimings {
    fn default() -> Self {
        RtcTimings {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            idle_ping_after: Duration::from_secs(20),
            ping_timeout: Duration::from_secs(5),
            backoff: Backoff::default(),
            max_reconnect_attempts: 10,
            bye_wait: Duration::from_secs(5),
        }
    }
}

/// The `@telnyx/webrtc` version whose wire protocol this client speaks, frame for frame (the
/// conformance suite records that SDK's frames; the simulator's strict mode holds us to them).
/// Telnyx sees it where the SDK puts its own version: `User-Agent.sdkVersion` in `login`, and
/// `User-Agent: "Web-<version>"` in `invite`, `answer` and `attach`.
pub const SDK_PROTOCOL_VERSION: &str = "2.27.10";

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct RtcConfig {
    /// `wss://rtc.telnyx.com` or the simulator's `ws://127.0.0.1:PORT/`.
    pub url: String,
    /// Token or SIP credential.
    pub login: RtcLogin,
    /// Who we are, in `login`'s `User-Agent.data` (where the SDK puts the browser's user agent).
    pub user_agent: String,
    /// The microphone's name, in each call's `userVariables.microphoneLabel` (as the SDK names
    /// its audio track).
    pub microphone_label: String,
    /// Timings.
    pub timings: RtcTimings,
}

impl RtcConfig {
    /// SDK timings, this crate's user agent.
    pub fn new(url: impl Into<String>, login: RtcLogin) -> Self {
        RtcConfig {
            url: url.into(),
            login,
            user_agent: format!(
                "softphone-native/{} ({}; {})",
                env!("CARGO_PKG_VERSION"),
                std::env::consts::OS,
                std::env::consts::ARCH
            ),
            microphone_label: "Default".to_owned(),
            timings: RtcTimings::default(),
        }
    }
}

/// A Q.850 cause for a client BYE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByeCause {
    /// E.g. `NORMAL_CLEARING`.
    pub cause: String,
    /// E.g. 16.
    pub code: u16,
}

impl ByeCause {
    /// `NORMAL_CLEARING` 16: hanging up an answered call.
    pub fn normal_clearing() -> Self {
        ByeCause { cause: "NORMAL_CLEARING".into(), code: 16 }
    }

    /// `USER_BUSY` 17: declining or cancelling before answer (what the SDK sends).
    pub fn user_busy() -> Self {
        ByeCause { cause: "USER_BUSY".into(), code: 17 }
    }
}

/// `holdState` of a `modify` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldState {
    /// On hold.
    Held,
    /// Talking.
    Active,
}

/// What the client reports, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcEvent {
    /// Logged in and registered (`REGED`); once per socket.
    Ready {
        /// The session id.
        sessid: String,
    },
    /// The login was refused; the socket stays open ([`RtcClient::refresh_token`] retries).
    LoginFailed {
        /// [`RtcError::LoginFailed`] or [`RtcError::GatewayFailed`].
        error: RtcError,
    },
    /// Our invite was accepted (`CALL CREATED`).
    Trying {
        /// The call.
        call_id: String,
    },
    /// The far end rings (outbound).
    Ringing {
        /// The call.
        call_id: String,
    },
    /// Early media: the SDP answer before the call is answered.
    EarlyMedia {
        /// The call.
        call_id: String,
        /// The SDP answer.
        sdp: String,
    },
    /// The call is answered: by the far end (outbound, `sdp` set unless early media gave it)
    /// or by us (inbound, after Telnyx accepted our answer, `sdp` `None`).
    Answered {
        /// The call.
        call_id: String,
        /// The SDP answer, if this frame carried one.
        sdp: Option<String>,
    },
    /// An inbound call.
    Incoming {
        /// The call.
        call_id: String,
        /// Caller's number as it arrived.
        caller_number: String,
        /// Caller's name, if any.
        caller_name: Option<String>,
        /// The SDP offer to answer.
        sdp_offer: String,
        /// `X-...` headers.
        custom_headers: Vec<CustomHeader>,
    },
    /// The call ended (BYE either way).
    Ended {
        /// The call.
        call_id: String,
        /// Q.850 cause name.
        cause: Option<String>,
        /// Q.850 cause code.
        cause_code: Option<u16>,
        /// SIP status, when the far end's BYE carried one.
        sip_code: Option<u16>,
        /// SIP reason phrase.
        sip_reason: Option<String>,
    },
    /// The call failed on the client side (invite refused, not reattached after a reconnect).
    CallFailed {
        /// The call.
        call_id: String,
        /// Why.
        error: RtcError,
    },
    /// Hold state changed (answer of `hold`/`unhold`).
    HoldChanged {
        /// The call.
        call_id: String,
        /// The new state.
        state: HoldState,
    },
    /// Telnyx named the call's leg for Call Control (`telnyx_call_control_id` and
    /// `telnyx_session_id` in `ringing` or the inbound `invite`).
    Leg {
        /// The call.
        call_id: String,
        /// The leg's Call Control id.
        call_control_id: String,
        /// Its call session.
        call_session_id: String,
    },
    /// New remote party (`telnyx_rtc.display`).
    Display {
        /// The call.
        call_id: String,
        /// Name.
        name: Option<String>,
        /// Number.
        number: Option<String>,
    },
    /// The socket was lost; attempt `attempt` follows after the backoff delay. `calls` are the
    /// calls still alive, waiting to be reattached.
    Reconnecting {
        /// From 1.
        attempt: u32,
        /// Live calls.
        calls: Vec<String>,
    },
    /// Logged in again after a loss (`REGED`). `reattached` are the calls Telnyx kept; an
    /// [`RtcEvent::Attach`] follows for each.
    Reconnected {
        /// Call ids.
        reattached: Vec<String>,
    },
    /// Telnyx offers to recover a call: answer with [`RtcClient::attach_answer`].
    Attach {
        /// The call.
        call_id: String,
        /// A fresh SDP offer.
        sdp_offer: String,
    },
    /// Telnyx accepted our attach answer: the call is up again, held if it was held when the
    /// socket dropped (as the SDK reports it; Telnyx keeps a held call held).
    Attached {
        /// The call.
        call_id: String,
        /// It was held before the recovery, and still is.
        held: bool,
    },
    /// The server threw this client out (`telnyx_rtc.punt`): calls are gone, no reconnect.
    Punted {
        /// Calls that were alive.
        calls: Vec<String>,
    },
    /// The client stopped: `error` is `None` after [`RtcClient::disconnect`].
    Closed {
        /// Calls that were alive.
        calls: Vec<String>,
        /// Why, unless asked to.
        error: Option<RtcError>,
    },
}

/// The caller id we present on an outbound call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallerId {
    /// Name.
    pub name: Option<String>,
    /// Number, E.164.
    pub number: Option<String>,
}

/// A handle to the signaling task. Cheap to clone; the task ends after [`RtcClient::disconnect`],
/// a punt, or when every handle is dropped.
#[derive(Debug, Clone)]
pub struct RtcClient {
    commands: mpsc::Sender<Command>,
}

type Reply = oneshot::Sender<Result<Value, RtcError>>;

#[derive(Debug)]
enum Command {
    Invite {
        call_id: String,
        destination: String,
        caller_id: CallerId,
        sdp: String,
        headers: Vec<CustomHeader>,
        reply: Reply,
    },
    Answer {
        call_id: String,
        sdp: String,
        reply: Reply,
    },
    Hangup {
        call_id: String,
        cause: Option<ByeCause>,
        reply: Reply,
    },
    Modify {
        call_id: String,
        action: &'static str,
        reply: Reply,
    },
    Dtmf {
        call_id: String,
        digits: String,
        reply: Reply,
    },
    AttachAnswer {
        call_id: String,
        sdp: String,
        muted: bool,
        reply: Reply,
    },
    Login {
        login: RtcLogin,
        reply: Reply,
    },
    /// The socket may be dead (the computer woke, the network changed): open a new one now.
    Reconnect {
        login: Option<RtcLogin>,
        reply: oneshot::Sender<()>,
    },
    Disconnect {
        reply: oneshot::Sender<()>,
    },
}

impl RtcClient {
    /// Opens the websocket, sends `login`, and starts the task. Returns once the socket is open;
    /// the login's outcome arrives as [`RtcEvent::Ready`] or [`RtcEvent::LoginFailed`].
    pub async fn connect(config: RtcConfig) -> Result<(RtcClient, mpsc::Receiver<RtcEvent>), RtcError> {
        let socket = open(&config.url, config.timings.connect_timeout).await?;
        let (commands_tx, commands) = mpsc::channel(32);
        let (events_tx, events) = mpsc::channel(EVENT_CAPACITY);
        let task = task::Task::new(config, events_tx, commands);
        tokio::spawn(task.run(socket));
        Ok((RtcClient { commands: commands_tx }, events))
    }

    async fn ask(&self, make: impl FnOnce(Reply) -> Command) -> Result<Value, RtcError> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(make(reply)).await.map_err(|_| RtcError::Closed)?;
        answer.await.map_err(|_| RtcError::Closed)?
    }

    /// Places a call: `telnyx_rtc.invite` with the SDP offer (non-trickle, candidates
    /// included). Returns when Telnyx accepted it ([`RtcEvent::Trying`] is emitted too).
    pub async fn invite(
        &self,
        call_id: &str,
        destination: &str,
        caller_id: CallerId,
        sdp_offer: &str,
        custom_headers: Vec<CustomHeader>,
    ) -> Result<(), RtcError> {
        if call_id.is_empty() || destination.is_empty() || sdp_offer.is_empty() {
            return Err(RtcError::InvalidArgument("call id, destination and SDP offer are required".into()));
        }
        self.ask(|reply| Command::Invite {
            call_id: call_id.to_owned(),
            destination: destination.to_owned(),
            caller_id,
            sdp: sdp_offer.to_owned(),
            headers: custom_headers,
            reply,
        })
        .await
        .map(drop)
    }

    /// Answers an inbound call with our SDP answer; [`RtcEvent::Answered`] follows.
    pub async fn answer(&self, call_id: &str, sdp_answer: &str) -> Result<(), RtcError> {
        if sdp_answer.is_empty() {
            return Err(RtcError::InvalidArgument("the SDP answer is empty".into()));
        }
        self.ask(|reply| Command::Answer { call_id: call_id.to_owned(), sdp: sdp_answer.to_owned(), reply })
            .await
            .map(drop)
    }

    /// Hangs up (or declines) a call. `None` picks the SDK's cause: `NORMAL_CLEARING` 16 once
    /// answered, `USER_BUSY` 17 before. [`RtcEvent::Ended`] follows even if Telnyx does not answer.
    pub async fn hangup(&self, call_id: &str, cause: Option<ByeCause>) -> Result<(), RtcError> {
        self.ask(|reply| Command::Hangup { call_id: call_id.to_owned(), cause, reply }).await.map(drop)
    }

    /// Puts the call on hold (`modify` `hold`); returns Telnyx's `holdState`.
    pub async fn hold(&self, call_id: &str) -> Result<HoldState, RtcError> {
        self.modify(call_id, "hold").await
    }

    /// Takes the call off hold (`modify` `unhold`); returns Telnyx's `holdState`.
    pub async fn unhold(&self, call_id: &str) -> Result<HoldState, RtcError> {
        self.modify(call_id, "unhold").await
    }

    async fn modify(&self, call_id: &str, action: &'static str) -> Result<HoldState, RtcError> {
        let result = self.ask(|reply| Command::Modify { call_id: call_id.to_owned(), action, reply }).await?;
        Ok(hold_state(&result))
    }

    /// Sends DTMF digits (`0-9*#A-D`) in one `telnyx_rtc.info`, as `call.dtmf(digits)` does.
    pub async fn dtmf(&self, call_id: &str, digits: &str) -> Result<(), RtcError> {
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D')) {
            return Err(RtcError::InvalidArgument(format!("DTMF digits must be 0-9, *, # or A-D, not {digits:?}")));
        }
        self.ask(|reply| Command::Dtmf { call_id: call_id.to_owned(), digits: digits.to_owned(), reply })
            .await
            .map(drop)
    }

    /// Answers a [`RtcEvent::Attach`] offer (client `telnyx_rtc.attach`, `attach:true`,
    /// `recoveredCallId`; `muted`: whether the microphone is muted, as the SDK tells Telnyx);
    /// [`RtcEvent::Attached`] follows.
    pub async fn attach_answer(&self, call_id: &str, sdp_answer: &str, muted: bool) -> Result<(), RtcError> {
        self.ask(|reply| Command::AttachAnswer {
            call_id: call_id.to_owned(),
            sdp: sdp_answer.to_owned(),
            muted,
            reply,
        })
        .await
        .map(drop)
    }

    /// Sends `login` with a new JWT on the live socket (the session and its calls stay); also
    /// the retry after [`RtcEvent::LoginFailed`]. Later reconnects use this token.
    pub async fn refresh_token(&self, token: Secret) -> Result<(), RtcError> {
        self.ask(|reply| Command::Login { login: RtcLogin::Token(token), reply }).await.map(drop)
    }

    /// The computer woke or the network changed, so the socket may be dead without anyone
    /// knowing yet (a sleeping laptop's socket is not closed, its packets are lost): drops it
    /// without waiting for its pings to time out, and opens a new one at once, logging in with
    /// `token` when given (the old one expired meanwhile). Answered calls are reattached as
    /// after any drop ([`RtcEvent::Reconnecting`], then [`RtcEvent::Attach`]).
    pub async fn reconnect_now(&self, token: Option<Secret>) {
        let (reply, done) = oneshot::channel();
        let login = token.map(RtcLogin::Token);
        if self.commands.send(Command::Reconnect { login, reply }).await.is_ok() {
            let _ = done.await;
        }
    }

    /// Hangs up every call (waiting at most [`RtcTimings::bye_wait`] for the answers), closes
    /// the socket and stops reconnecting. [`RtcEvent::Closed`] is the last event.
    pub async fn disconnect(&self) {
        let (reply, done) = oneshot::channel();
        if self.commands.send(Command::Disconnect { reply }).await.is_ok() {
            let _ = done.await;
        }
    }
}

fn hold_state(result: &Value) -> HoldState {
    // The SDK: held unless the answer says active.
    if result.get("holdState").and_then(Value::as_str) == Some("active") { HoldState::Active } else { HoldState::Held }
}

/// `url` without its query, for messages.
fn url_for_display(url: &str) -> String {
    url.split('?').next().unwrap_or_default().to_owned()
}

async fn open(url: &str, timeout: Duration) -> Result<Socket, RtcError> {
    let unreachable = |reason: String| RtcError::Unreachable { url: url_for_display(url), reason };
    if !(url.starts_with("ws://") || url.starts_with("wss://")) {
        return Err(RtcError::InvalidArgument(format!(
            "the signaling URL must start with ws:// or wss://: {}",
            url_for_display(url)
        )));
    }
    // The system's certificate store and the bundled roots (crate::tls), read at each connection.
    let connector = tokio_tungstenite::Connector::Rustls(crate::tls::client_config());
    let connecting = async {
        let parsed = reqwest::Url::parse(url).map_err(|error| {
            tokio_tungstenite::tungstenite::Error::Url(
                tokio_tungstenite::tungstenite::error::UrlError::UnableToConnect(error.to_string()),
            )
        })?;
        let host = parsed.host_str().unwrap_or_default().to_owned();
        let port = parsed.port_or_known_default().unwrap_or(443);
        match crate::proxy::proxy_for(&host) {
            // A company proxy: a tunnel through it, then TLS to Telnyx inside.
            Some(proxy) => {
                let stream = crate::proxy::tunnel(&proxy, &host, port).await.map_err(|reason| {
                    tokio_tungstenite::tungstenite::Error::Url(
                        tokio_tungstenite::tungstenite::error::UrlError::UnableToConnect(reason),
                    )
                })?;
                tracing::info!(proxy = %proxy.host, "telnyx_rtc through the proxy");
                tokio_tungstenite::client_async_tls_with_config(url, stream, None, Some(connector)).await
            }
            None => tokio_tungstenite::connect_async_tls_with_config(url, None, false, Some(connector)).await,
        }
    };
    match tokio::time::timeout(timeout, connecting).await {
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(error)) if crate::tls::is_untrusted_certificate(&error) => {
            Err(RtcError::UntrustedCertificate { url: url_for_display(url) })
        }
        Ok(Err(error)) => Err(unreachable(error.to_string())),
        Err(_) => Err(unreachable(format!("no answer within {} ms", timeout.as_millis()))),
    }
}

/// `url` with `voice_sdk_id` in its query.
pub(crate) fn reconnect_url(url: &str, voice_sdk_id: Option<&str>) -> String {
    let Some(id) = voice_sdk_id else { return url.to_owned() };
    let encoded: String = id
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}voice_sdk_id={encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let backoff = Backoff::default();
        for attempt in 1..=12 {
            let base = (1u64 << (attempt - 1).min(20)).min(30) as f64;
            let delay = backoff.delay(attempt).as_secs_f64();
            assert!(delay >= base * 0.75 - 1e-9 && delay <= base * 1.25 + 1e-9, "attempt {attempt}: {delay}");
        }
        let exact = Backoff { jitter: 0.0, ..Backoff::default() };
        assert_eq!(exact.delay(1), Duration::from_secs(1));
        assert_eq!(exact.delay(3), Duration::from_secs(4));
        assert_eq!(exact.delay(40), Duration::from_secs(30));
    }

    #[test]
    fn reconnect_url_carries_the_voice_sdk_id() {
        assert_eq!(reconnect_url("ws://h:1/", Some("vsdk-1")), "ws://h:1/?voice_sdk_id=vsdk-1");
        assert_eq!(reconnect_url("wss://h/?a=b", Some("x y")), "wss://h/?a=b&voice_sdk_id=x%20y");
        assert_eq!(reconnect_url("ws://h/", None), "ws://h/");
    }

    #[test]
    fn nested_result_codes_other_than_200_are_errors() {
        assert!(task::nested_error(&json!({"result": {"code": "200"}})).is_none());
        assert_eq!(task::nested_error(&json!({"result": {"code": "486", "message": "busy"}})).unwrap().code, 486);
        assert!(task::nested_error(&json!({"sessid": "s"})).is_none());
    }

    #[test]
    fn debug_of_a_config_hides_the_credentials() {
        let config = RtcConfig::new(
            "ws://127.0.0.1:1/",
            RtcLogin::Sip { login: Secret::new("gencred-user"), password: Secret::new("hunter2") },
        );
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2") && !printed.contains("gencred-user"), "{printed}");
    }
}
