//! One websocket: reads the client's frames, answers them, and writes what the switchboard
//! queues for it, plus the server's pings.

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use serde_json::Value;
use tokio::sync::mpsc;

use super::MAX_FRAME_BYTES;
use super::frames::{
    CallParams, ClientReadyParams, EmptyParams, ErrorFrame, GatewayState, GatewayStateResult, Incoming, JSONRPC,
    LoginParams, LoginResult, MethodResult, PingParams, Reply, ResultFrame, RpcError, ServerRequest, classify, codes,
};
use super::hostile::Hostility;
use super::switchboard::{ConnLink, OUTBOX_CAPACITY, Outgoing, Switchboard};

struct Connection {
    board: Switchboard,
    link: ConnLink,
    sessid: Option<String>,
    voice_sdk_id: Option<String>,
    query_voice_sdk_id: Option<String>,
    /// Calls of a reattached session, attached once the client asked for `gatewayState`.
    pending_attach: Vec<String>,
    pings_sent: u64,
    /// The noise of hostile mode (see [`super::hostile`]), when the switchboard is hostile.
    hostility: Hostility,
    /// How long to hold the replies of the frame just handled (a `login` while the control API
    /// slows logins down).
    hold_replies: std::time::Duration,
}

/// Serves one upgraded websocket until the client leaves or the control API drops it.
pub(crate) async fn serve(mut socket: WebSocket, board: Switchboard, query_voice_sdk_id: Option<String>) {
    let (tx, mut outbox) = mpsc::channel(OUTBOX_CAPACITY);
    let link = ConnLink { id: board.next_conn_id(), tx };
    // `interval` refuses a zero period.
    let period = board.config().ping_interval.max(std::time::Duration::from_millis(10));
    let mut conn = Connection {
        board,
        link,
        sessid: None,
        voice_sdk_id: None,
        query_voice_sdk_id: query_voice_sdk_id.map(|v| v.chars().take(128).collect()),
        pending_attach: Vec::new(),
        pings_sent: 0,
        hostility: Hostility::default(),
        hold_replies: std::time::Duration::ZERO,
    };
    tracing::debug!(conn = conn.link.id, "websocket open");
    let mut closing = conn.board.closing();
    let mut pings = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    pings.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            received = socket.recv() => {
                let replies = match received {
                    Some(Ok(Message::Text(text))) => conn.handle(text.as_str()),
                    Some(Ok(Message::Binary(bytes))) => conn.handle_binary(bytes.len()),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Vec::new(),
                    Some(Ok(Message::Close(_))) | None => break,
                    Some(Err(error)) => {
                        tracing::debug!(conn = conn.link.id, %error, "websocket read failed");
                        break;
                    }
                };
                let replies = conn.on_the_wire(replies);
                let hold = std::mem::take(&mut conn.hold_replies);
                if !hold.is_zero() {
                    tokio::time::sleep(hold).await;
                }
                if !send_all(&mut socket, replies).await {
                    break;
                }
            }
            Some(outgoing) = outbox.recv() => match outgoing {
                Outgoing::Text(text) => {
                    let frames = conn.on_the_wire(vec![text]);
                    if !send_all(&mut socket, frames).await {
                        break;
                    }
                }
                Outgoing::Drop => {
                    tracing::info!(conn = conn.link.id, "dropping the connection (no close frame)");
                    // Dropping the socket closes TCP without a websocket close frame.
                    drop(socket);
                    conn.closed();
                    return;
                }
                Outgoing::Close => {
                    let frame = CloseFrame { code: close_code::NORMAL, reason: "punted".into() };
                    let _ = socket.send(Message::Close(Some(frame))).await;
                    break;
                }
                Outgoing::Freeze => {
                    tracing::info!(conn = conn.link.id, "the connection goes silent, open (a sleeping computer's)");
                    // Frames meant for it are lost; a takeover by a new connection (Drop) or the
                    // simulator stopping ends it. The socket is held open, unread, until then.
                    loop {
                        tokio::select! {
                            outgoing = outbox.recv() => match outgoing {
                                None | Some(Outgoing::Drop | Outgoing::Close) => break,
                                Some(Outgoing::Text(_) | Outgoing::Freeze) => {}
                            },
                            () = async { let _ = closing.wait_for(|closing| *closing).await; } => break,
                        }
                    }
                    drop(socket);
                    conn.closed();
                    return;
                }
            },
            () = async { let _ = closing.wait_for(|closing| *closing).await; } => {
                let frame = CloseFrame { code: close_code::AWAY, reason: "simulator stopping".into() };
                let _ = socket.send(Message::Close(Some(frame))).await;
                break;
            }
            _ = pings.tick() => {
                conn.pings_sent += 1;
                let ping = conn.board.request_text(
                    ServerRequest::Ping(PingParams { serno: conn.pings_sent }),
                    conn.voice_sdk_id.as_deref(),
                );
                let frames = conn.on_the_wire(vec![ping]);
                if !send_all(&mut socket, frames).await {
                    break;
                }
            }
        }
    }
    conn.closed();
}

async fn send_all(socket: &mut WebSocket, frames: Vec<String>) -> bool {
    for frame in frames {
        if socket.send(Message::Text(frame.into())).await.is_err() {
            return false;
        }
    }
    true
}

impl Connection {
    /// The frames to write for `frames`: themselves, plus noise in hostile mode.
    fn on_the_wire(&mut self, frames: Vec<String>) -> Vec<String> {
        if !self.board.hostile() {
            return frames;
        }
        frames.into_iter().flat_map(|frame| self.hostility.frames_for(frame)).collect()
    }

    fn closed(&self) {
        tracing::debug!(conn = self.link.id, "websocket closed");
        self.board.connection_closed(self.link.id, self.sessid.as_deref());
    }

    fn result(&self, id: Value, result: Reply) -> String {
        let frame = ResultFrame { jsonrpc: JSONRPC, id, result, voice_sdk_id: self.voice_sdk_id.clone() };
        serde_json::to_string(&frame).unwrap_or_default()
    }

    fn error(&self, id: Value, error: RpcError) -> String {
        let frame = ErrorFrame { jsonrpc: JSONRPC, id, error, voice_sdk_id: self.voice_sdk_id.clone() };
        serde_json::to_string(&frame).unwrap_or_default()
    }

    fn handle_binary(&self, len: usize) -> Vec<String> {
        let message = if len > MAX_FRAME_BYTES {
            format!("Invalid Request: a frame of {len} bytes exceeds {MAX_FRAME_BYTES} bytes")
        } else {
            "Invalid Request: binary frames are not JSON-RPC; send text frames".to_owned()
        };
        vec![self.error(Value::Null, RpcError::new(codes::INVALID_REQUEST, message))]
    }

    /// Answers one text frame: the replies to write now, in order.
    fn handle(&mut self, text: &str) -> Vec<String> {
        if text.len() > MAX_FRAME_BYTES {
            let message = format!("Invalid Request: a frame of {} bytes exceeds {MAX_FRAME_BYTES} bytes", text.len());
            return vec![self.error(Value::Null, RpcError::new(codes::INVALID_REQUEST, message))];
        }
        if let Ok(frame) = serde_json::from_str::<Value>(text) {
            self.board.audit().client_frame(&frame);
        }
        let (id, method, params) = match classify(text) {
            Err((id, error)) => return vec![self.error(id, error)],
            Ok(Incoming::Ack) => return Vec::new(),
            Ok(Incoming::DebugReport { id }) => {
                return id.map(|id| self.result(id, Reply::Empty(EmptyParams {}))).into_iter().collect();
            }
            Ok(Incoming::Request { id, method, params }) => (id, method, params),
        };
        // The session may have been punted or taken over by a reconnection elsewhere.
        if let Some(sessid) = &self.sessid
            && !self.board.owns(sessid, self.link.id)
        {
            self.sessid = None;
            self.voice_sdk_id = None;
        }
        let mut out = Vec::new();
        let outcome = self.dispatch(&method, params, &mut out);
        match (id, outcome) {
            (Some(id), Ok(Some(reply))) => out.insert(0, self.result(id, reply)),
            (_, Ok(None)) | (None, Ok(Some(_))) => {}
            (id, Err(error)) => out.insert(0, self.error(id.unwrap_or(Value::Null), error)),
        }
        if method == "telnyx_rtc.gatewayState"
            && let Some(sessid) = self.sessid.clone()
            && !self.pending_attach.is_empty()
        {
            // Queued behind the REGED reply written above.
            let calls = std::mem::take(&mut self.pending_attach);
            self.board.send_attaches(&sessid, &calls);
        }
        out
    }

    /// Runs one request. `Ok(None)`: deliberately no reply (ignored pings). `extra` collects
    /// frames to send right after the reply.
    fn dispatch(&mut self, method: &str, params: Value, extra: &mut Vec<String>) -> Result<Option<Reply>, RpcError> {
        let ack = || Reply::Method(MethodResult { method: method.to_owned() });
        match method {
            "login" => {
                self.hold_replies = self.board.login_reply_delay();
                let params: LoginParams = parse(params)?;
                let logged_in = self.board.login(
                    &self.link,
                    self.sessid.as_deref(),
                    &params,
                    self.query_voice_sdk_id.as_deref(),
                )?;
                self.sessid = Some(logged_in.sessid.clone());
                self.voice_sdk_id = Some(logged_in.voice_sdk_id.clone());
                self.pending_attach = logged_in.reattached.clone();
                extra.push(self.board.request_text(
                    ServerRequest::ClientReady(ClientReadyParams { reattached_sessions: logged_in.reattached }),
                    Some(&logged_in.voice_sdk_id),
                ));
                Ok(Some(Reply::Login(LoginResult { message: "logged in", sessid: logged_in.sessid })))
            }
            "anonymous_login" => Err(RpcError::new(
                codes::AUTHENTICATION_FAILURE,
                "Authentication Failure: anonymous_login (AI assistants) is not simulated",
            )),
            "telnyx_rtc.ping" => Ok(self.board.answers_pings().then(ack)),
            "telnyx_rtc.candidate" | "telnyx_rtc.endOfCandidates" => Ok(Some(ack())),
            "telnyx_rtc.gatewayState" => {
                let sessid = self.session()?;
                Ok(Some(Reply::GatewayState(GatewayStateResult { params: GatewayState { state: "REGED" }, sessid })))
            }
            "telnyx_rtc.invite" => self.board.client_invite(&self.session()?, &parse(params)?).map(Some),
            "telnyx_rtc.answer" => self.board.client_answer(&self.session()?, &parse(params)?).map(Some),
            "telnyx_rtc.attach" => self.board.client_attach(&self.session()?, &parse(params)?).map(Some),
            "telnyx_rtc.bye" => self.board.client_bye(&self.session()?, &parse(params)?).map(Some),
            "telnyx_rtc.modify" => self.board.client_modify(&self.session()?, &parse(params)?).map(Some),
            "telnyx_rtc.info" => {
                let params: CallParams = parse(params)?;
                self.board.client_info(&self.session()?, &params);
                Ok(Some(ack()))
            }
            other => Err(RpcError::new(
                codes::METHOD_NOT_FOUND,
                format!("Method not found: {}", other.chars().take(64).collect::<String>()),
            )),
        }
    }

    fn session(&self) -> Result<String, RpcError> {
        self.sessid.clone().ok_or_else(|| RpcError::new(codes::NOT_LOGGED_IN, "Not logged in: send `login` first"))
    }
}

fn parse<T: serde::de::DeserializeOwned>(params: Value) -> Result<T, RpcError> {
    serde_json::from_value(params).map_err(|e| RpcError::new(codes::INVALID_PARAMS, format!("Invalid params: {e}")))
}
