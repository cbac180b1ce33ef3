//! The task that owns the socket: it sends the client's requests, answers the server's, keeps
//! the calls' options as the SDK does, pings, and reconnects and recovers calls after a drop.

use super::*;

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

/// Where the current socket's login stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoginState {
    /// Sent, not answered yet.
    InFlight,
    /// Accepted (the gateway may still be registering).
    Accepted,
    /// Refused: the next login command logs in again.
    Refused,
}

/// Why a socket's loop ended.
#[derive(Debug)]
enum SocketEnd {
    Lost(String),
    /// Asked to open a new socket now ([`super::RtcClient::reconnect_now`]).
    Renew,
    Punted,
    Disconnected(Option<oneshot::Sender<()>>),
}

pub(super) struct Task {
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
    /// The current socket's login.
    login: LoginState,
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
    /// A task for `config`, telling `events` what happens and taking `commands`, with nothing
    /// sent yet.
    pub(super) fn new(config: RtcConfig, events: mpsc::Sender<RtcEvent>, commands: mpsc::Receiver<Command>) -> Task {
        Task {
            config,
            events,
            commands,
            sessid: None,
            voice_sdk_id: None,
            calls: HashMap::new(),
            pending: HashMap::new(),
            last_inbound: Instant::now(),
            ready: false,
            reconnection: false,
            login: LoginState::InFlight,
            gateway_polls: 0,
            gateway_poll_at: None,
            reattached: Vec::new(),
            out: Vec::new(),
            ended: VecDeque::new(),
        }
    }
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

    pub(super) async fn run(mut self, first: Socket) {
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
                SocketEnd::Lost(_) | SocketEnd::Renew => {
                    let at_once = matches!(end, SocketEnd::Renew);
                    match &end {
                        SocketEnd::Lost(reason) => tracing::warn!(%reason, "telnyx_rtc socket lost; reconnecting"),
                        _ => tracing::info!("telnyx_rtc: a new socket now (woke up or the network changed)"),
                    }
                    // A socket that may be dead is not waited for: its close handshake would hang.
                    if at_once {
                        drop(socket);
                    } else {
                        let _ = socket.close(None).await;
                    }
                    match self.reconnect(at_once).await {
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
    /// socket with backoff (the first attempt `at_once` when asked to renew it). `Err` when
    /// disconnect was asked or the attempts ran out.
    async fn reconnect(&mut self, at_once: bool) -> Result<Socket, SocketEnd> {
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
            let pause = if at_once && attempt == 1 { Duration::ZERO } else { timings.backoff.delay(attempt) };
            let wake = Instant::now() + pause;
            // Commands are refused while waiting; disconnect ends the wait, a renew cuts it short.
            loop {
                tokio::select! {
                    () = tokio::time::sleep_until(wake) => break,
                    command = self.commands.recv() => match command {
                        None => return Err(SocketEnd::Disconnected(None)),
                        Some(Command::Disconnect { reply }) => return Err(SocketEnd::Disconnected(Some(reply))),
                        Some(Command::Reconnect { login, reply }) => {
                            if let Some(login) = login {
                                self.config.login = login;
                            }
                            let _ = reply.send(());
                            break;
                        }
                        // A refreshed token: the reconnection's login uses it.
                        Some(Command::Login { login, reply }) => {
                            self.config.login = login;
                            let _ = reply.send(Ok(Value::Null));
                        }
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
                    Some(Command::Reconnect { login, reply }) => {
                        if let Some(login) = login {
                            self.config.login = login;
                        }
                        let _ = reply.send(());
                        Some(SocketEnd::Renew)
                    }
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
        self.login = LoginState::InFlight;
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
            // An unanswered login is as good as refused: the next login command logs in again.
            if matches!(pending.purpose, Purpose::Login) {
                self.login = LoginState::Refused;
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
                Command::Login { login, reply } => self.log_in_again(login, reply),
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
            Command::Login { login, reply } => self.log_in_again(login, reply),
            // Handled where the socket is served.
            Command::Disconnect { reply } | Command::Reconnect { reply, .. } => {
                let _ = reply.send(());
            }
        }
    }

    /// A new token (a refresh, or the retry after a refused login); later logins use it.
    fn log_in_again(&mut self, login: RtcLogin, reply: Reply) {
        self.config.login = login.clone();
        match (self.login, self.ready) {
            // The socket's login is on its way, or accepted with the gateway still registering:
            // a second login now would be taken as a refresh of the session this socket has
            // so far, and a reconnection would lose the calls it is bringing back. The token
            // waits for the next login.
            (LoginState::InFlight, _) | (LoginState::Accepted, false) => {
                tracing::debug!("telnyx_rtc: a login is under way; the new token is kept for the next one");
                let _ = reply.send(Ok(Value::Null));
            }
            // A plain refresh of a live session.
            (LoginState::Accepted, true) => self.send_login_with(login, None, Some(reply)),
            // After a refused reconnection (its token expired while the socket was down), the
            // new login asks for the same session again, so the calls waiting for it come back.
            (LoginState::Refused, _) => {
                let previous =
                    self.sessid.clone().filter(|_| self.reconnection && !self.ready && self.voice_sdk_id.is_some());
                self.send_login_with(login, previous, Some(reply));
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
                    self.login = LoginState::Accepted;
                    if let Some(sessid) = result.get("sessid").and_then(Value::as_str) {
                        self.sessid = Some(sessid.to_owned());
                    }
                    respond(reply, Ok(result));
                }
                Err(error) => {
                    self.login = LoginState::Refused;
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
                    let mut leg = None;
                    if let Some(call) = self.calls.get_mut(&call_id) {
                        let known = call.dialog.telnyx_leg();
                        call.dialog.learn_telnyx_ids(&params);
                        leg = call.dialog.telnyx_leg().filter(|learned| known.as_ref() != Some(learned));
                    }
                    self.emit(RtcEvent::Ringing { call_id: call_id.clone() }).await;
                    if let Some((call_control_id, call_session_id)) = leg {
                        self.emit(RtcEvent::Leg { call_id, call_control_id, call_session_id }).await;
                    }
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
        let leg = dialog.telnyx_leg();
        let headers = dialog.custom_headers.clone().unwrap_or_default();
        let caller_number = params.caller_id_number.clone().unwrap_or_default();
        self.calls.insert(params.call_id.clone(), Call::new(Phase::Ringing, dialog));
        let call_id_of_invite = params.call_id.clone();
        self.emit(RtcEvent::Incoming {
            call_id: params.call_id,
            caller_number,
            caller_name: params.caller_id_name.filter(|n| !n.is_empty()),
            sdp_offer,
            custom_headers: headers,
        })
        .await;
        if let Some((call_control_id, call_session_id)) = leg {
            self.emit(RtcEvent::Leg { call_id: call_id_of_invite, call_control_id, call_session_id }).await;
        }
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
pub(super) fn nested_error(result: &Value) -> Option<RpcError> {
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
        Command::Disconnect { reply } | Command::Reconnect { reply, .. } => {
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
