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
        let task = Task {
            config,
            events: events_tx,
            commands,
            sessid: None,
            voice_sdk_id: None,
            calls: HashMap::new(),
            pending: HashMap::new(),
            last_inbound: Instant::now(),
            ready: false,
            reconnection: false,
            gateway_polls: 0,
            gateway_poll_at: None,
            reattached: Vec::new(),
            out: Vec::new(),
            ended: VecDeque::new(),
        };
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
    match tokio::time::timeout(timeout, tokio_tungstenite::connect_async(url)).await {
        Ok(Ok((socket, _))) => Ok(socket),
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Invite sent, no answer yet.
    Requesting,
    Trying,
    /// Inbound, not answered.
    Ringing,
    Answering,
    Early,
    Active,
    Held,
    /// Socket lost while answered; waiting for attach.
    Recovering,
}

impl Phase {
    fn answered(self) -> bool {
        matches!(self, Phase::Active | Phase::Held | Phase::Recovering)
    }
}

#[derive(Debug)]
struct Call {
    phase: Phase,
    /// The call's options as the SDK keeps them, sent on every frame about the call.
    dialog: DialogParams,
    /// Held when the socket dropped: the attach, and every frame after it, says
    /// `wasHeldBeforeRecovery: true`, and the call comes back held.
    held_before_recovery: bool,
}

impl Call {
    fn new(phase: Phase, dialog: DialogParams) -> Call {
        Call { phase, dialog, held_before_recovery: false }
    }

    fn dialog(&self) -> DialogParams {
        self.dialog.clone()
    }

    /// The socket went (or Telnyx offers a recovery): an answered call waits for its attach,
    /// remembering whether it was held.
    fn recovering(&mut self) {
        // Each recovery starts afresh, as the SDK builds a new call: held now, or not.
        if self.phase != Phase::Recovering {
            self.held_before_recovery = self.phase == Phase::Held;
            self.phase = Phase::Recovering;
        }
    }
}

#[derive(Debug)]
enum Purpose {
    Login,
    GatewayState,
    Ping,
    Invite(String),
    Answer(String),
    Bye { call_id: String, cause: ByeCause },
    Modify(String),
    Info,
    Attach(String),
}

impl Purpose {
    /// No answer in time means a dead socket (the SDK's "critical" methods).
    fn critical(&self) -> bool {
        matches!(self, Purpose::Ping | Purpose::Bye { .. } | Purpose::Modify(_))
    }
}

#[derive(Debug)]
struct Pending {
    method: &'static str,
    purpose: Purpose,
    reply: Option<Reply>,
    sent: Instant,
    deadline: Instant,
}

/// Why a socket's loop ended.
#[derive(Debug)]
enum SocketEnd {
    Lost(String),
    Punted,
    Disconnected(Option<oneshot::Sender<()>>),
}

struct Task {
    config: RtcConfig,
    events: mpsc::Sender<RtcEvent>,
    commands: mpsc::Receiver<Command>,
    sessid: Option<String>,
    voice_sdk_id: Option<String>,
    calls: HashMap<String, Call>,
    pending: HashMap<String, Pending>,
    last_inbound: Instant,
    ready: bool,
    /// The current socket's login is a reconnection.
    reconnection: bool,
    gateway_polls: u32,
    gateway_poll_at: Option<Instant>,
    /// `reattached_sessions` of the last `clientReady`.
    reattached: Vec<String>,
    /// Frames to write after the current step.
    out: Vec<String>,
    /// Calls that ended lately, newest last: a repeated or late frame about one of them (a
    /// duplicated invite, a stale answer) must not bring it back.
    ended: VecDeque<String>,
}

/// How many ended calls [`Task::ended`] remembers.
const ENDED_CALLS_REMEMBERED: usize = 64;

/// Re-polls of an unregistered gateway before giving up (the SDK: 5).
const GATEWAY_POLLS: u32 = 5;

impl Task {
    /// Removes a call and remembers that it ended.
    fn forget(&mut self, call_id: &str) -> Option<Call> {
        let call = self.calls.remove(call_id)?;
        if self.ended.len() == ENDED_CALLS_REMEMBERED {
            self.ended.pop_front();
        }
        self.ended.push_back(call_id.to_owned());
        Some(call)
    }

    /// The phase of a live call this client knows.
    fn phase(&self, call_id: &str) -> Option<Phase> {
        self.calls.get(call_id).map(|call| call.phase)
    }

    async fn run(mut self, first: Socket) {
        let mut socket = first;
        self.send_login(None);
        loop {
            let end = self.serve(&mut socket).await;
            match end {
                SocketEnd::Punted => {
                    let _ = socket.close(None).await;
                    let calls = self.take_calls();
                    self.emit(RtcEvent::Punted { calls }).await;
                    return;
                }
                SocketEnd::Disconnected(reply) => {
                    let _ = socket.close(None).await;
                    let calls = self.take_calls();
                    self.emit(RtcEvent::Closed { calls, error: None }).await;
                    if let Some(reply) = reply {
                        let _ = reply.send(());
                    }
                    return;
                }
                SocketEnd::Lost(reason) => {
                    tracing::warn!(%reason, "telnyx_rtc socket lost; reconnecting");
                    let _ = socket.close(None).await;
                    match self.reconnect().await {
                        Ok(next) => socket = next,
                        Err(end) => {
                            let calls = self.take_calls();
                            match end {
                                SocketEnd::Disconnected(reply) => {
                                    self.emit(RtcEvent::Closed { calls, error: None }).await;
                                    if let Some(reply) = reply {
                                        let _ = reply.send(());
                                    }
                                }
                                _ => {
                                    let attempts = self.config.timings.max_reconnect_attempts;
                                    let error = RtcError::ReconnectExhausted { attempts };
                                    self.emit(RtcEvent::Closed { calls, error: Some(error) }).await;
                                }
                            }
                            return;
                        }
                    }
                }
            }
        }
    }

    fn take_calls(&mut self) -> Vec<String> {
        let mut calls: Vec<String> = self.calls.drain().map(|(id, _)| id).collect();
        calls.sort();
        calls
    }

    fn live_calls(&self) -> Vec<String> {
        let mut calls: Vec<String> = self.calls.keys().cloned().collect();
        calls.sort();
        calls
    }

    async fn emit(&self, event: RtcEvent) {
        if self.events.send(event).await.is_err() {
            tracing::debug!("telnyx_rtc event dropped: nobody listens");
        }
    }

    /// Socket lost: fail pending requests, mark answered calls recovering, and open a new
    /// socket with backoff. `Err` when disconnect was asked or the attempts ran out.
    async fn reconnect(&mut self) -> Result<Socket, SocketEnd> {
        for (_, pending) in self.pending.drain() {
            if let Some(reply) = pending.reply {
                let _ = reply.send(Err(RtcError::Closed));
            }
        }
        for call in self.calls.values_mut() {
            if call.phase.answered() {
                call.recovering();
            }
        }
        self.ready = false;
        self.gateway_poll_at = None;
        let timings = self.config.timings;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            if timings.max_reconnect_attempts > 0 && attempt > timings.max_reconnect_attempts {
                return Err(SocketEnd::Lost("attempts exhausted".into()));
            }
            self.emit(RtcEvent::Reconnecting { attempt, calls: self.live_calls() }).await;
            let wake = Instant::now() + timings.backoff.delay(attempt);
            // Commands are refused while waiting; disconnect ends the wait.
            loop {
                tokio::select! {
                    () = tokio::time::sleep_until(wake) => break,
                    command = self.commands.recv() => match command {
                        None => return Err(SocketEnd::Disconnected(None)),
                        Some(Command::Disconnect { reply }) => return Err(SocketEnd::Disconnected(Some(reply))),
                        Some(other) => refuse(other, RtcError::Reconnecting),
                    },
                }
            }
            let url = reconnect_url(&self.config.url, self.voice_sdk_id.as_deref());
            match open(&url, timings.connect_timeout).await {
                Ok(socket) => {
                    tracing::info!(attempt, "telnyx_rtc socket reopened");
                    let sessid = self.sessid.clone().filter(|_| self.voice_sdk_id.is_some());
                    self.send_login(sessid);
                    return Ok(socket);
                }
                Err(error) => tracing::warn!(attempt, %error, "telnyx_rtc reconnect failed"),
            }
        }
    }

    /// Serves one socket until it ends.
    async fn serve(&mut self, socket: &mut Socket) -> SocketEnd {
        self.last_inbound = Instant::now();
        let mut tick = tokio::time::interval(tick_period(&self.config.timings));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let step = tokio::select! {
                frame = socket.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        self.last_inbound = Instant::now();
                        self.on_text(text.as_str()).await
                    }
                    Some(Ok(Message::Close(frame))) => Some(SocketEnd::Lost(format!("closed by Telnyx: {frame:?}"))),
                    Some(Ok(_)) => {
                        self.last_inbound = Instant::now();
                        None
                    }
                    Some(Err(error)) => Some(SocketEnd::Lost(error.to_string())),
                    None => Some(SocketEnd::Lost("the socket ended".into())),
                },
                command = self.commands.recv() => match command {
                    None => Some(self.disconnect(socket, None).await),
                    Some(Command::Disconnect { reply }) => Some(self.disconnect(socket, Some(reply)).await),
                    Some(command) => {
                        self.on_command(command).await;
                        None
                    }
                },
                _ = tick.tick() => self.on_tick().await,
            };
            let flushed = self.flush(socket).await;
            // An ending step wins over a failed write: after a punt the server has closed the
            // socket, and a write failing then is not a lost connection to reconnect.
            if let Some(end) = step {
                return end;
            }
            if let Err(error) = flushed {
                return SocketEnd::Lost(error);
            }
        }
    }

    async fn flush(&mut self, socket: &mut Socket) -> Result<(), String> {
        for text in std::mem::take(&mut self.out) {
            socket.send(Message::Text(text.into())).await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Queues a request; returns its id.
    fn request(&mut self, method: &'static str, params: Value, purpose: Purpose, reply: Option<Reply>) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let with_vsdk = matches!(purpose, Purpose::GatewayState | Purpose::Ping);
        let frame = RequestFrame {
            jsonrpc: JSONRPC,
            id: id.clone(),
            method,
            params,
            voice_sdk_id: if with_vsdk { self.voice_sdk_id.clone() } else { None },
        };
        match serde_json::to_string(&frame) {
            Ok(text) => self.out.push(text),
            Err(error) => {
                if let Some(reply) = reply {
                    let _ = reply.send(Err(RtcError::Protocol(error.to_string())));
                }
                return id;
            }
        }
        tracing::debug!(method, %id, "telnyx_rtc request");
        let now = Instant::now();
        let timeout = if matches!(purpose, Purpose::Ping) {
            self.config.timings.ping_timeout
        } else {
            self.config.timings.request_timeout
        };
        self.pending.insert(id.clone(), Pending { method, purpose, reply, sent: now, deadline: now + timeout });
        id
    }

    fn ack(&mut self, id: Value, method: &str) {
        let frame = AckFrame { jsonrpc: JSONRPC, id, result: MethodAck { method: method.to_owned() } };
        if let Ok(text) = serde_json::to_string(&frame) {
            self.out.push(text);
        }
    }

    fn send_login(&mut self, previous_sessid: Option<String>) {
        self.send_login_with(self.config.login.clone(), previous_sessid, None);
    }

    fn send_login_with(&mut self, login: RtcLogin, previous_sessid: Option<String>, reply: Option<Reply>) {
        self.reconnection = previous_sessid.is_some();
        let mut params = json!({
            "userVariables": {"push_when_active": false, "pn_late_fanout": false},
            "reconnection": self.reconnection,
            "loginParams": {"early_sdp_answer": false},
            "User-Agent": {"sdkVersion": SDK_PROTOCOL_VERSION, "data": self.config.user_agent},
        });
        match &login {
            RtcLogin::Token(token) => params["login_token"] = Value::String(token.expose().to_owned()),
            RtcLogin::Sip { login, password } => {
                params["login"] = Value::String(login.expose().to_owned());
                params["passwd"] = Value::String(password.expose().to_owned());
            }
        }
        if let Some(sessid) = previous_sessid {
            params["sessid"] = Value::String(sessid);
        }
        self.request("login", params, Purpose::Login, reply);
    }

    fn secrets(&self) -> Vec<&str> {
        match &self.config.login {
            RtcLogin::Token(token) => vec![token.expose()],
            RtcLogin::Sip { login, password } => vec![login.expose(), password.expose()],
        }
    }

    async fn on_tick(&mut self) -> Option<SocketEnd> {
        let now = Instant::now();
        let expired: Vec<String> =
            self.pending.iter().filter(|(_, p)| p.deadline <= now).map(|(id, _)| id.clone()).collect();
        let mut dead = None;
        for id in expired {
            let Some(pending) = self.pending.remove(&id) else { continue };
            let after = now.duration_since(pending.sent);
            tracing::warn!(method = pending.method, ms = after.as_millis() as u64, "telnyx_rtc request unanswered");
            let error = RtcError::Timeout { method: pending.method.to_owned(), after };
            if pending.purpose.critical() {
                dead = Some(SocketEnd::Lost(error.to_string()));
            }
            if let Purpose::Bye { call_id, cause } = &pending.purpose {
                self.end_locally(call_id, cause).await;
            }
            if let Some(reply) = pending.reply {
                let _ = reply.send(Err(error));
            }
        }
        if dead.is_some() {
            return dead;
        }
        if self.gateway_poll_at.is_some_and(|at| at <= now) {
            self.gateway_poll_at = None;
            self.request("telnyx_rtc.gatewayState", json!({}), Purpose::GatewayState, None);
        }
        let pinging = self.pending.values().any(|p| matches!(p.purpose, Purpose::Ping));
        if !pinging
            && self.sessid.is_some()
            && now.duration_since(self.last_inbound) >= self.config.timings.idle_ping_after
        {
            self.request("telnyx_rtc.ping", json!({}), Purpose::Ping, None);
        }
        None
    }

    async fn end_locally(&mut self, call_id: &str, cause: &ByeCause) {
        if self.forget(call_id).is_some() {
            self.emit(RtcEvent::Ended {
                call_id: call_id.to_owned(),
                cause: Some(cause.cause.clone()),
                cause_code: Some(cause.code),
                sip_code: None,
                sip_reason: None,
            })
            .await;
        }
    }

    async fn on_command(&mut self, command: Command) {
        let Some(sessid) = self.sessid.clone() else {
            match command {
                Command::Login { login, reply } => self.send_login_with(login, None, Some(reply)),
                other => refuse(other, RtcError::Reconnecting),
            }
            return;
        };
        let user_agent = format!("Web-{SDK_PROTOCOL_VERSION}");
        match command {
            Command::Invite { call_id, destination, caller_id, sdp, headers, reply } => {
                if self.calls.contains_key(&call_id) {
                    let _ = reply.send(Err(RtcError::InvalidArgument(format!("call {call_id} already exists"))));
                    return;
                }
                let dialog = DialogParams::outbound(
                    &call_id,
                    &destination,
                    caller_id.name,
                    caller_id.number,
                    headers,
                    &self.config.microphone_label,
                );
                let call = Call::new(Phase::Requesting, dialog);
                let dialog = call.dialog();
                self.calls.insert(call_id.clone(), call);
                let params = json!({"sessid": sessid, "sdp": sdp, "dialogParams": dialog, "User-Agent": user_agent});
                self.request("telnyx_rtc.invite", params, Purpose::Invite(call_id), Some(reply));
            }
            Command::Answer { call_id, sdp, reply } => {
                let Some(call) = self.calls.get_mut(&call_id).filter(|c| c.phase == Phase::Ringing) else {
                    let _ = reply.send(Err(RtcError::UnknownCall(call_id)));
                    return;
                };
                call.phase = Phase::Answering;
                call.dialog.microphone_opened(&self.config.microphone_label);
                let dialog = call.dialog();
                let params = json!({"sessid": sessid, "sdp": sdp, "dialogParams": dialog, "User-Agent": user_agent});
                self.request("telnyx_rtc.answer", params, Purpose::Answer(call_id), Some(reply));
            }
            Command::Hangup { call_id, cause, reply } => {
                let Some(call) = self.calls.get(&call_id) else {
                    let _ = reply.send(Err(RtcError::UnknownCall(call_id)));
                    return;
                };
                let cause = cause.unwrap_or_else(|| {
                    if call.phase.answered() { ByeCause::normal_clearing() } else { ByeCause::user_busy() }
                });
                let params = bye_params(&sessid, call.dialog(), &cause);
                self.request("telnyx_rtc.bye", params, Purpose::Bye { call_id, cause }, Some(reply));
            }
            Command::Modify { call_id, action, reply } => {
                let Some(call) = self.calls.get(&call_id) else {
                    let _ = reply.send(Err(RtcError::UnknownCall(call_id)));
                    return;
                };
                let params = json!({"sessid": sessid, "action": action, "dialogParams": call.dialog()});
                self.request("telnyx_rtc.modify", params, Purpose::Modify(call_id), Some(reply));
            }
            Command::Dtmf { call_id, digits, reply } => {
                let Some(call) = self.calls.get(&call_id) else {
                    let _ = reply.send(Err(RtcError::UnknownCall(call_id)));
                    return;
                };
                let params = json!({"sessid": sessid, "dtmf": digits, "dialogParams": call.dialog()});
                self.request("telnyx_rtc.info", params, Purpose::Info, Some(reply));
            }
            Command::AttachAnswer { call_id, sdp, muted, reply } => {
                let Some(call) = self.calls.get_mut(&call_id) else {
                    let _ = reply.send(Err(RtcError::UnknownCall(call_id)));
                    return;
                };
                call.dialog.muted_mic_on_start = Some(muted);
                let dialog = call.dialog();
                let params = json!({"sessid": sessid, "sdp": sdp, "dialogParams": dialog, "User-Agent": user_agent});
                self.request("telnyx_rtc.attach", params, Purpose::Attach(call_id), Some(reply));
            }
            Command::Login { login, reply } => {
                self.config.login = login.clone();
                // After a reconnection's login was refused (its token expired while the socket
                // was down), the new login asks for the same session again, so the calls
                // waiting for it are reattached. On a live session it is a plain refresh.
                let previous = (self.reconnection && !self.ready && self.voice_sdk_id.is_some()).then_some(sessid);
                self.send_login_with(login, previous, Some(reply));
            }
            Command::Disconnect { reply } => {
                let _ = reply.send(());
            }
        }
    }

    /// BYEs every call, waits for the answers (bounded), and ends the socket.
    async fn disconnect(&mut self, socket: &mut Socket, reply: Option<oneshot::Sender<()>>) -> SocketEnd {
        if let Some(sessid) = self.sessid.clone() {
            let calls: Vec<(String, ByeCause, DialogParams)> = self
                .calls
                .iter()
                .map(|(id, call)| {
                    let cause = if call.phase.answered() { ByeCause::normal_clearing() } else { ByeCause::user_busy() };
                    (id.clone(), cause, call.dialog())
                })
                .collect();
            for (call_id, cause, dialog) in calls {
                let params = bye_params(&sessid, dialog, &cause);
                self.request("telnyx_rtc.bye", params, Purpose::Bye { call_id, cause }, None);
            }
        }
        if self.flush(socket).await.is_ok() {
            let until = Instant::now() + self.config.timings.bye_wait;
            while self.pending.values().any(|p| matches!(p.purpose, Purpose::Bye { .. })) {
                match tokio::time::timeout_at(until, socket.next()).await {
                    Ok(Some(Ok(Message::Text(text)))) => {
                        let _ = self.on_text(text.as_str()).await;
                        let _ = self.flush(socket).await;
                    }
                    Ok(Some(Ok(_))) => {}
                    _ => break,
                }
            }
        }
        for (_, pending) in self.pending.drain() {
            if let Some(reply) = pending.reply {
                let _ = reply.send(Err(RtcError::Closed));
            }
        }
        SocketEnd::Disconnected(reply)
    }

    async fn on_text(&mut self, text: &str) -> Option<SocketEnd> {
        let frame: ServerFrame = match serde_json::from_str(text) {
            Ok(frame) => frame,
            Err(error) => {
                tracing::warn!(%error, "unreadable telnyx_rtc frame ignored");
                return None;
            }
        };
        if let Some(vsdk) = frame.voice_sdk_id.as_ref().filter(|v| !v.is_empty()) {
            self.voice_sdk_id = Some(vsdk.clone());
        }
        if let Some(method) = frame.method.clone() {
            return self.on_server_request(frame.id, &method, frame.params.unwrap_or(Value::Null)).await;
        }
        let Some(id) = frame.id.as_ref().and_then(Value::as_str).map(str::to_owned) else {
            tracing::debug!("telnyx_rtc frame without id or method ignored");
            return None;
        };
        let Some(pending) = self.pending.remove(&id) else {
            tracing::debug!(%id, "answer to no pending request");
            return None;
        };
        let outcome = match (frame.result, frame.error) {
            (_, Some(error)) => Err(error),
            (Some(result), None) => nested_error(&result).map_or(Ok(result), Err),
            (None, None) => Ok(Value::Null),
        };
        self.on_answer(pending, outcome).await
    }

    async fn on_answer(&mut self, pending: Pending, outcome: Result<Value, RpcError>) -> Option<SocketEnd> {
        let method = pending.method;
        let rejected = |error: RpcError, secrets: &[&str]| RtcError::Rejected {
            method: method.to_owned(),
            code: error.code,
            message: server_text(&error.message, secrets),
        };
        let reply = pending.reply;
        let respond = |reply: Option<Reply>, result: Result<Value, RtcError>| {
            if let Some(reply) = reply {
                let _ = reply.send(result);
            }
        };
        match pending.purpose {
            Purpose::Login => match outcome {
                Ok(result) => {
                    if let Some(sessid) = result.get("sessid").and_then(Value::as_str) {
                        self.sessid = Some(sessid.to_owned());
                    }
                    respond(reply, Ok(result));
                }
                Err(error) => {
                    let error = RtcError::LoginFailed {
                        code: error.code,
                        message: server_text(&error.message, &self.secrets()),
                    };
                    tracing::warn!(%error, "telnyx_rtc login refused");
                    if let Some(reply) = reply {
                        let _ = reply.send(Err(error));
                    } else {
                        self.emit(RtcEvent::LoginFailed { error }).await;
                    }
                }
            },
            Purpose::GatewayState => match outcome {
                Ok(result) => {
                    let state = result.pointer("/params/state").and_then(Value::as_str).unwrap_or_default().to_owned();
                    return self.on_gateway_state(&state).await;
                }
                Err(error) => tracing::warn!(code = error.code, "gatewayState refused"),
            },
            Purpose::Ping => {}
            Purpose::Invite(call_id) => match outcome {
                Ok(result) => {
                    if let Some(call) = self.calls.get_mut(&call_id)
                        && call.phase == Phase::Requesting
                    {
                        call.phase = Phase::Trying;
                    }
                    self.emit(RtcEvent::Trying { call_id }).await;
                    respond(reply, Ok(result));
                }
                Err(error) => {
                    // The SDK: SDP_SEND_FAILED, then a BYE with USER_BUSY.
                    let error = rejected(error, &[]);
                    if let (Some(call), Some(sessid)) = (self.forget(&call_id), self.sessid.clone()) {
                        let cause = ByeCause::user_busy();
                        let params = bye_params(&sessid, call.dialog(), &cause);
                        self.request("telnyx_rtc.bye", params, Purpose::Bye { call_id: call_id.clone(), cause }, None);
                    }
                    self.emit(RtcEvent::CallFailed { call_id, error: error.clone() }).await;
                    respond(reply, Err(error));
                }
            },
            Purpose::Answer(call_id) => match outcome {
                Ok(result) => {
                    if let Some(call) = self.calls.get_mut(&call_id) {
                        call.phase = Phase::Active;
                    }
                    self.emit(RtcEvent::Answered { call_id, sdp: None }).await;
                    respond(reply, Ok(result));
                }
                Err(error) => {
                    if let Some(call) = self.calls.get_mut(&call_id) {
                        call.phase = Phase::Ringing;
                    }
                    respond(reply, Err(rejected(error, &[])));
                }
            },
            Purpose::Bye { call_id, cause } => {
                self.end_locally(&call_id, &cause).await;
                respond(reply, outcome.map_err(|e| rejected(e, &[])));
            }
            Purpose::Modify(call_id) => match outcome {
                Ok(result) => {
                    let state = hold_state(&result);
                    if let Some(call) = self.calls.get_mut(&call_id) {
                        call.phase = if state == HoldState::Held { Phase::Held } else { Phase::Active };
                    }
                    self.emit(RtcEvent::HoldChanged { call_id, state }).await;
                    respond(reply, Ok(result));
                }
                Err(error) => respond(reply, Err(rejected(error, &[]))),
            },
            Purpose::Info => respond(reply, outcome.map_err(|e| rejected(e, &[]))),
            Purpose::Attach(call_id) => match outcome {
                Ok(result) => {
                    let mut held = false;
                    if let Some(call) = self.calls.get_mut(&call_id) {
                        held = call.held_before_recovery;
                        call.phase = if held { Phase::Held } else { Phase::Active };
                    }
                    self.emit(RtcEvent::Attached { call_id, held }).await;
                    respond(reply, Ok(result));
                }
                Err(error) => respond(reply, Err(rejected(error, &[]))),
            },
        }
        None
    }

    async fn on_gateway_state(&mut self, state: &str) -> Option<SocketEnd> {
        match state {
            "REGED" | "REGISTER" => {
                self.gateway_polls = 0;
                if self.ready {
                    return None; // duplicates are suppressed until the socket closes
                }
                self.ready = true;
                if self.reconnection {
                    self.reconnection = false;
                    let reattached = std::mem::take(&mut self.reattached);
                    // Calls Telnyx did not keep are gone (the SDK: SESSION_NOT_REATTACHED).
                    let lost: Vec<String> = self.calls.keys().filter(|id| !reattached.contains(id)).cloned().collect();
                    self.emit(RtcEvent::Reconnected { reattached }).await;
                    for call_id in lost {
                        self.forget(&call_id);
                        let error =
                            RtcError::Protocol("Telnyx did not reattach the call after the reconnection".into());
                        self.emit(RtcEvent::CallFailed { call_id, error }).await;
                    }
                } else {
                    let sessid = self.sessid.clone().unwrap_or_default();
                    self.emit(RtcEvent::Ready { sessid }).await;
                }
            }
            "UNREGED" | "NOREG" if self.gateway_polls < GATEWAY_POLLS => {
                self.gateway_polls += 1;
                let delay = Duration::from_millis(2000 + fastrand::u64(0..4000));
                self.gateway_poll_at = Some(Instant::now() + delay);
            }
            other => {
                let error = RtcError::GatewayFailed { state: server_text(other, &[]) };
                tracing::warn!(%error, "telnyx_rtc gateway not registered");
                self.emit(RtcEvent::LoginFailed { error: error.clone() }).await;
                if !matches!(other, "UNREGED" | "NOREG") {
                    return Some(SocketEnd::Lost(error.to_string()));
                }
            }
        }
        None
    }

    async fn on_server_request(&mut self, id: Option<Value>, method: &str, params: Value) -> Option<SocketEnd> {
        let request = match ServerRequest::parse(method, params) {
            Ok(request) => request,
            Err(error) => {
                tracing::warn!(method, %error, "unreadable telnyx_rtc server request");
                if let Some(id) = id {
                    self.ack(id, method);
                }
                return None;
            }
        };
        if request.is_acked()
            && let Some(id) = id
        {
            self.ack(id, method);
        }
        match request {
            ServerRequest::ClientReady(ClientReadyParams { reattached_sessions }) => {
                self.reattached = reattached_sessions;
                self.request("telnyx_rtc.gatewayState", json!({}), Purpose::GatewayState, None);
            }
            ServerRequest::GatewayState(params) => {
                return self.on_gateway_state(params.state.as_deref().unwrap_or_default()).await;
            }
            ServerRequest::Ping => {
                self.request("telnyx_rtc.ping", json!({}), Purpose::Ping, None);
            }
            ServerRequest::Invite(params) => self.on_invite(params).await,
            // Ringing, early media and answer only move an outbound call forward; a repeated or
            // late one (for a call already answered, ended, or never placed) is dropped.
            ServerRequest::Ringing(params) => {
                let call_id = params.call_id.clone();
                if matches!(self.phase(&call_id), Some(Phase::Requesting | Phase::Trying)) {
                    if let Some(call) = self.calls.get_mut(&call_id) {
                        call.dialog.learn_telnyx_ids(&params);
                    }
                    self.emit(RtcEvent::Ringing { call_id }).await;
                } else {
                    tracing::debug!(%call_id, "ringing for no call being placed ignored");
                }
            }
            ServerRequest::Media(SdpParams { call_id, sdp }) => {
                let fresh = matches!(self.phase(&call_id), Some(Phase::Requesting | Phase::Trying));
                if let (true, Some(sdp)) = (fresh, sdp) {
                    if let Some(call) = self.calls.get_mut(&call_id) {
                        call.phase = Phase::Early;
                    }
                    self.emit(RtcEvent::EarlyMedia { call_id, sdp }).await;
                } else {
                    tracing::debug!(%call_id, "early media for no call being placed ignored");
                }
            }
            ServerRequest::Answer(SdpParams { call_id, sdp }) => {
                if matches!(self.phase(&call_id), Some(Phase::Requesting | Phase::Trying | Phase::Early)) {
                    if let Some(call) = self.calls.get_mut(&call_id) {
                        call.phase = Phase::Active;
                    }
                    self.emit(RtcEvent::Answered { call_id, sdp }).await;
                } else {
                    tracing::debug!(%call_id, "answer for no call being placed ignored");
                }
            }
            ServerRequest::Bye(ByeParams { call_id, cause, cause_code, sip_code, sip_reason }) => {
                if self.forget(&call_id).is_some() {
                    self.emit(RtcEvent::Ended { call_id, cause, cause_code, sip_code, sip_reason }).await;
                } else {
                    tracing::debug!(%call_id, "bye for no live call ignored");
                }
            }
            ServerRequest::Display(params) if self.calls.contains_key(&params.call_id) => {
                self.emit(RtcEvent::Display {
                    call_id: params.call_id,
                    name: params.display_name,
                    number: params.display_number,
                })
                .await;
            }
            ServerRequest::Display(params) => {
                tracing::debug!(call_id = %params.call_id, "display for no live call ignored");
            }
            ServerRequest::Attach(params) => match params.sdp.clone() {
                Some(sdp_offer) if self.calls.contains_key(&params.call_id) => {
                    let call_id = params.call_id.clone();
                    let label = self.config.microphone_label.clone();
                    if let Some(call) = self.calls.get_mut(&call_id) {
                        call.recovering();
                        // The SDK answers the attach with a new call built from its params, as
                        // from an invite, marked as recovered (and held, if it was).
                        let mut dialog = DialogParams::from_server(&params);
                        dialog.microphone_opened(&label);
                        dialog.attach = true;
                        dialog.recovered_call_id = Some(call_id.clone());
                        dialog.was_held_before_recovery = call.held_before_recovery.then_some(true);
                        call.dialog = dialog;
                    }
                    self.emit(RtcEvent::Attach { call_id, sdp_offer }).await;
                }
                _ => tracing::warn!(call_id = %params.call_id, "attach for an unknown call or without SDP ignored"),
            },
            ServerRequest::Punt => return Some(SocketEnd::Punted),
            ServerRequest::Candidate => {}
            ServerRequest::Notification(method) => tracing::debug!(%method, "telnyx_rtc notification"),
            ServerRequest::Unknown(method) => tracing::warn!(%method, "unknown telnyx_rtc server request acked"),
        }
        None
    }

    async fn on_invite(&mut self, params: CallInfoParams) {
        if self.calls.contains_key(&params.call_id) || self.ended.contains(&params.call_id) {
            tracing::debug!(call_id = %params.call_id, "repeated invite ignored");
            return;
        }
        let Some(sdp_offer) = params.sdp.clone().filter(|s| !s.is_empty()) else {
            tracing::warn!(call_id = %params.call_id, "inbound invite without SDP ignored");
            return;
        };
        let dialog = DialogParams::from_server(&params);
        let headers = dialog.custom_headers.clone().unwrap_or_default();
        let caller_number = params.caller_id_number.clone().unwrap_or_default();
        self.calls.insert(params.call_id.clone(), Call::new(Phase::Ringing, dialog));
        self.emit(RtcEvent::Incoming {
            call_id: params.call_id,
            caller_number,
            caller_name: params.caller_id_name.filter(|n| !n.is_empty()),
            sdp_offer,
            custom_headers: headers,
        })
        .await;
    }
}

fn bye_params(sessid: &str, mut dialog: DialogParams, cause: &ByeCause) -> Value {
    // The SDK's hangup merges its own headers into the call's: the list is always there.
    dialog.custom_headers.get_or_insert_default();
    json!({
        "sipCode": null,
        "sip_call_id": null,
        "sessid": sessid,
        "dialogParams": dialog,
        "cause": cause.cause,
        "causeCode": cause.code,
    })
}

/// `{result:{result:{code}}}` with a code other than 200 is an error (`destructResponse`).
fn nested_error(result: &Value) -> Option<RpcError> {
    let inner = result.get("result")?;
    let code = inner.get("code")?;
    let text = code.as_str().map(str::to_owned).unwrap_or_else(|| code.to_string());
    (text != "200").then(|| RpcError {
        code: text.parse().unwrap_or_default(),
        message: inner.get("message").and_then(Value::as_str).unwrap_or("error").to_owned(),
    })
}

fn refuse(command: Command, error: RtcError) {
    let reply = match command {
        Command::Invite { reply, .. }
        | Command::Answer { reply, .. }
        | Command::Hangup { reply, .. }
        | Command::Modify { reply, .. }
        | Command::Dtmf { reply, .. }
        | Command::AttachAnswer { reply, .. }
        | Command::Login { reply, .. } => reply,
        Command::Disconnect { reply } => {
            let _ = reply.send(());
            return;
        }
    };
    let _ = reply.send(Err(error));
}

/// How often deadlines are checked: a tenth of the shortest timing, between 10 and 250 ms.
fn tick_period(timings: &RtcTimings) -> Duration {
    let shortest = timings.ping_timeout.min(timings.idle_ping_after).min(timings.request_timeout);
    (shortest / 10).clamp(Duration::from_millis(10), Duration::from_millis(250))
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
        assert!(nested_error(&json!({"result": {"code": "200"}})).is_none());
        assert_eq!(nested_error(&json!({"result": {"code": "486", "message": "busy"}})).unwrap().code, 486);
        assert!(nested_error(&json!({"sessid": "s"})).is_none());
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
