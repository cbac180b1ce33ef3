//! The switchboard: every signaling session and call of one simulator, and the call logic.
//!
//! Connections ([`super::connection`]) and the control API ([`super::control`]) both drive it.
//! One plain mutex guards the board and is never held across an `.await`; frames for a
//! connection go through its bounded outbox, so nothing here blocks on a slow client.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;

use super::SignalingConfig;
use super::audit::Audit;
use super::client_sdp;
use super::frames::{
    ByeParams, ByeResult, CallInfoParams, CallParams, CallResult, CustomHeader, DisplayParams, EmptyParams, JSONRPC,
    LoginParams, ModifyResult, OutDialogParams, Reply, RequestFrame, RpcError, SdpParams, ServerRequest, codes,
};
use super::numbers::{Behaviour, behaviour_of};
use crate::media::{FarEnd, MediaError, MediaSession, Playback};
use crate::state::SimState;

mod bridge;

/// Frames waiting for one connection; when full, further frames are dropped (a client that
/// does not read cannot grow the simulator's memory).
pub(crate) const OUTBOX_CAPACITY: usize = 256;

/// At most this many calls that ended are kept for `GET /control/calls` (oldest dropped first).
pub const ENDED_CALLS_KEPT: usize = 500;

/// At most this many live calls per session; more invites are refused.
pub const LIVE_CALLS_PER_SESSION: usize = 16;

/// Signalled DTMF kept per call, in characters.
pub const DTMF_KEPT: usize = 256;

/// At most this many custom headers per call, each name and value cut to 1 KiB.
pub const CUSTOM_HEADERS_KEPT: usize = 32;

/// What the connection task must do next.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// Send this text frame.
    Text(String),
    /// Drop the TCP connection without a close frame (the SDK sees 1006 and reconnects).
    Drop,
    /// Send a close frame and end.
    Close,
}

/// A connection's way in: its id and outbox.
#[derive(Debug, Clone)]
pub(crate) struct ConnLink {
    pub(crate) id: u64,
    pub(crate) tx: mpsc::Sender<Outgoing>,
}

/// What the far end plays into a call.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlaybackSpec {
    /// Nothing.
    Silence,
    /// A sine tone.
    Tone {
        /// Frequency in Hz; 440 if absent.
        #[serde(default = "default_tone_hz")]
        hz: f32,
    },
    /// What the far end hears, sent back.
    Echo,
}

fn default_tone_hz() -> f32 {
    440.0
}

impl PlaybackSpec {
    fn to_media(self) -> Playback {
        match self {
            PlaybackSpec::Silence => Playback::Silence,
            PlaybackSpec::Tone { hz } => Playback::Tone { hz },
            PlaybackSpec::Echo => Playback::Echo,
        }
    }
}

/// Who placed a call, seen from the softphone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The softphone called (client `telnyx_rtc.invite`).
    Outbound,
    /// The simulator called the softphone (control API).
    Inbound,
}

/// Where a call is, seen from the simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// Outbound invite received, nothing sent yet.
    Trying,
    /// Outbound: `ringing` sent. Inbound: `invite` sent, not answered.
    Ringing,
    /// Outbound: early media sent, not answered.
    Early,
    /// Answered.
    Active,
    /// Answered, and the softphone put it on hold.
    Held,
    /// Over; see the call's `end`.
    Ended,
}

impl CallState {
    fn is_answered(self) -> bool {
        matches!(self, CallState::Active | CallState::Held)
    }
}

/// Who ended a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndedBy {
    /// The softphone sent `telnyx_rtc.bye`.
    Client,
    /// The far end (a directory number's script, a ring timeout, or the control API).
    FarEnd,
    /// The simulator itself: punt, lost connection, expired reattach window.
    Simulator,
}

/// Q.850 cause and SIP status of a hangup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cause {
    /// Q.850 cause name, e.g. `USER_BUSY`.
    pub cause: String,
    /// Q.850 cause code, e.g. 17.
    pub cause_code: u16,
    /// SIP status, e.g. 486 (the client's `sipCode`, usually absent, for client hangups).
    pub sip_code: Option<u16>,
    /// SIP reason phrase, e.g. `Busy Here`.
    pub sip_reason: Option<String>,
}

impl Cause {
    fn new(cause: &str, cause_code: u16, sip_code: u16, sip_reason: &str) -> Self {
        Self { cause: cause.to_owned(), cause_code, sip_code: Some(sip_code), sip_reason: Some(sip_reason.to_owned()) }
    }
    /// `NORMAL_CLEARING` 16 / 200 OK.
    pub fn normal_clearing() -> Self {
        Self::new("NORMAL_CLEARING", 16, 200, "OK")
    }
    /// `USER_BUSY` 17 / 486 Busy Here.
    pub fn user_busy() -> Self {
        Self::new("USER_BUSY", 17, 486, "Busy Here")
    }
    /// `NO_ANSWER` 19 / 480 Temporarily Unavailable.
    pub fn no_answer() -> Self {
        Self::new("NO_ANSWER", 19, 480, "Temporarily Unavailable")
    }
    /// `CALL_REJECTED` 21 / 603 Decline.
    pub fn call_rejected() -> Self {
        Self::new("CALL_REJECTED", 21, 603, "Decline")
    }
    /// `UNALLOCATED_NUMBER` 1 / 404 Not Found.
    pub fn unallocated_number() -> Self {
        Self::new("UNALLOCATED_NUMBER", 1, 404, "Not Found")
    }
    /// `ORIGINATOR_CANCEL` 487: the caller of an inbound call gave up.
    pub fn originator_cancel() -> Self {
        Self::new("ORIGINATOR_CANCEL", 487, 487, "Request Terminated")
    }
    /// `NORMAL_TEMPORARY_FAILURE` 41 / 503: the client vanished before the call was answered.
    pub fn temporary_failure() -> Self {
        Self::new("NORMAL_TEMPORARY_FAILURE", 41, 503, "Service Unavailable")
    }
    /// `RECOVERY_ON_TIMER_EXPIRE` 102 / 408: the client did not come back within the reattach window.
    pub fn recovery_timer_expired() -> Self {
        Self::new("RECOVERY_ON_TIMER_EXPIRE", 102, 408, "Request Timeout")
    }
    /// `INCOMPATIBLE_DESTINATION` 88 / 488 Not Acceptable Here: no codec in common (FreeSWITCH's
    /// "NO CODECS").
    pub fn incompatible_destination() -> Self {
        Self::new("INCOMPATIBLE_DESTINATION", 88, 488, "Not Acceptable Here")
    }

    fn bye(&self, call_id: &str) -> ServerRequest {
        ServerRequest::Bye(ByeParams {
            call_id: call_id.to_owned(),
            cause: self.cause.clone(),
            cause_code: self.cause_code,
            sip_code: self.sip_code.unwrap_or(200),
            sip_reason: self.sip_reason.clone().unwrap_or_else(|| "OK".to_owned()),
        })
    }
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallEnd {
    /// Cause and SIP status.
    #[serde(flatten)]
    pub cause: Cause,
    /// Who hung up.
    pub by: EndedBy,
}

/// A call as `GET /control/calls` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CallView {
    /// The SDK's call id (`callID`).
    pub id: String,
    /// The session that owns the call.
    pub sessid: String,
    /// Seen from the softphone.
    pub direction: Direction,
    /// Caller number.
    pub from: String,
    /// Callee number (outbound) or the softphone's SIP user (inbound).
    pub to: String,
    /// Caller name, if any.
    pub caller_name: Option<String>,
    /// The directory behaviour of an outbound call's number.
    pub behaviour: Option<Behaviour>,
    /// Where the call is.
    pub state: CallState,
    /// `held` or `active` once answered, else `null`.
    pub hold_state: Option<&'static str>,
    /// Custom headers (the client's for outbound calls, the control API's for inbound ones).
    pub custom_headers: Vec<CustomHeader>,
    /// DTMF the client signalled with `telnyx_rtc.info`.
    pub dtmf: String,
    /// DTMF the media received in-band (RFC 4733), across reattachments.
    pub media_dtmf: String,
    /// What the far end plays.
    pub playback: PlaybackSpec,
    /// What the far end's media heard (the media's `Heard`), or `null` without media.
    pub heard: Option<Value>,
    /// Whether media is flowing now.
    pub media_connected: bool,
    /// How many times the call was reattached after a reconnection.
    pub reattached: u32,
    /// How the call ended, once it has.
    pub end: Option<CallEnd>,
}

/// A signaling session as `GET /control/sessions` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    /// Session id (UUID v4).
    pub sessid: String,
    /// Reconnect token sent on every frame.
    pub voice_sdk_id: String,
    /// The telephony credential that logged in.
    pub credential_id: String,
    /// Its SIP user name.
    pub sip_username: String,
    /// Whether a websocket is attached now.
    pub connected: bool,
    /// Ids of the session's live calls.
    pub calls: Vec<String>,
}

/// What `POST /control/calls/inbound` takes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundCall {
    /// Which client: a sessid, credential id or SIP user name; the most recent login if absent.
    #[serde(default)]
    pub to: Option<String>,
    /// Caller number, E.164.
    pub from: String,
    /// Caller name; `from` if absent.
    #[serde(default)]
    pub caller_name: Option<String>,
    /// `X-...` headers to deliver in `dialogParams.custom_headers`.
    #[serde(default)]
    pub custom_headers: Vec<CustomHeader>,
    /// What the caller plays; a 440 Hz tone if absent.
    #[serde(default)]
    pub playback: Option<PlaybackSpec>,
    /// How the caller's media server negotiates (ICE-lite, codecs); full ICE and every codec if
    /// absent.
    #[serde(default)]
    pub far_end: Option<FarEnd>,
}

/// What `POST /control/calls/inbound` answers.
#[derive(Debug, Clone, Serialize)]
pub struct InboundStarted {
    /// The new call's id.
    pub call_id: String,
    /// The session it rings on.
    pub sessid: String,
}

/// What `POST /control/calls/{id}/hangup` takes; every field optional (NORMAL_CLEARING 16 / 200).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hangup {
    /// Q.850 cause name.
    #[serde(default)]
    pub cause: Option<String>,
    /// Q.850 cause code.
    #[serde(default)]
    pub cause_code: Option<u16>,
    /// SIP status.
    #[serde(default)]
    pub sip_code: Option<u16>,
    /// SIP reason phrase.
    #[serde(default)]
    pub sip_reason: Option<String>,
}

/// Why a control request could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// No call with this id.
    #[error("no call with id {0}")]
    UnknownCall(String),
    /// The call already ended.
    #[error("call {0} already ended")]
    CallEnded(String),
    /// No session matches.
    #[error("no logged-in session matches {0:?}")]
    UnknownSession(String),
    /// No client is logged in and connected.
    #[error("no client is logged in")]
    NoClient,
    /// The media side could not start.
    #[error("media failed: {0}")]
    Media(String),
}

struct Session {
    sessid: String,
    voice_sdk_id: String,
    credential_id: String,
    sip_username: String,
    login_seq: u64,
    conn: Option<ConnLink>,
    /// Counts disconnections, so a reaper for an old one does nothing after a reconnection.
    disconnects: u64,
}

struct Call {
    id: String,
    seq: u64,
    sessid: String,
    direction: Direction,
    from: String,
    to: String,
    caller_name: Option<String>,
    behaviour: Option<Behaviour>,
    state: CallState,
    custom_headers: Vec<CustomHeader>,
    dtmf: String,
    media_dtmf: String,
    playback: PlaybackSpec,
    /// How its media server negotiates, again on every reattach.
    far_end: FarEnd,
    /// Shared so that blocking media calls run outside the board's lock.
    media: Option<Arc<MediaSession>>,
    /// The answer SDP of an outbound call, until it went out in `media` or `answer`.
    answer_sdp: Option<String>,
    final_heard: Option<Value>,
    reattached: u32,
    end: Option<CallEnd>,
    timer: Option<AbortHandle>,
    /// A call between two clients: the other leg, and how their media meets.
    bridge: Option<bridge::Bridge>,
}

impl Call {
    fn live(&self) -> bool {
        self.state != CallState::Ended
    }

    fn view(&self) -> CallView {
        let heard = match &self.media {
            Some(media) => serde_json::to_value(media.heard()).ok(),
            None => self.final_heard.clone(),
        };
        let mut media_dtmf = self.media_dtmf.clone();
        if let Some(media) = &self.media {
            media_dtmf.push_str(&media.dtmf_received());
        }
        CallView {
            id: self.id.clone(),
            sessid: self.sessid.clone(),
            direction: self.direction,
            from: self.from.clone(),
            to: self.to.clone(),
            caller_name: self.caller_name.clone(),
            behaviour: self.behaviour,
            state: self.state,
            hold_state: match self.state {
                CallState::Active => Some("active"),
                CallState::Held => Some("held"),
                _ => None,
            },
            custom_headers: self.custom_headers.clone(),
            dtmf: self.dtmf.clone(),
            media_dtmf,
            playback: self.playback,
            heard,
            media_connected: self.media.as_ref().is_some_and(|m| m.is_connected()),
            reattached: self.reattached,
            end: self.end.clone(),
        }
    }

    /// Stops the media (keeping what it heard) and the call's timer.
    fn finish(&mut self, end: CallEnd) {
        self.state = CallState::Ended;
        self.end = Some(end);
        self.retire_media();
        self.answer_sdp = None;
        if let Some(timer) = self.timer.take() {
            timer.abort();
        }
    }

    fn retire_media(&mut self) {
        if let Some(media) = self.media.take() {
            self.final_heard = serde_json::to_value(media.heard()).ok();
            self.media_dtmf.push_str(&media.dtmf_received());
        }
    }

    fn call_info(&self, sdp: Option<String>, dialog_params: Option<OutDialogParams>) -> CallInfoParams {
        let (caller_name, caller_number, callee_number) = match self.direction {
            Direction::Inbound => {
                (self.caller_name.clone().unwrap_or_else(|| self.from.clone()), self.from.clone(), self.to.clone())
            }
            Direction::Outbound => (self.to.clone(), self.to.clone(), self.from.clone()),
        };
        CallInfoParams {
            call_id: self.id.clone(),
            sdp,
            caller_id_name: caller_name,
            caller_id_number: caller_number,
            callee_id_name: callee_number.clone(),
            callee_id_number: callee_number,
            display_direction: match self.direction {
                Direction::Inbound => "outbound",
                Direction::Outbound => "inbound",
            },
            telnyx_call_control_id: format!("v3:cc-{}", self.id),
            telnyx_session_id: format!("sess-{}", self.id),
            telnyx_leg_id: format!("leg-{}", self.id),
            dialog_params,
        }
    }
}

#[derive(Default)]
struct Board {
    sessions: HashMap<String, Session>,
    calls: HashMap<String, Call>,
    ended_order: std::collections::VecDeque<String>,
    next_seq: u64,
    ignore_pings: bool,
    hostile: bool,
}

struct Inner {
    config: SignalingConfig,
    sim: SimState,
    board: Mutex<Board>,
    next_request_id: AtomicU64,
    next_conn_id: AtomicU64,
    /// Turns `true` once when the simulator shuts down; every connection then closes.
    closing: watch::Sender<bool>,
    /// What the simulator noticed about its clients.
    audit: Audit,
}

/// Sessions and calls of one simulator. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Switchboard {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Switchboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let board = self.board();
        f.debug_struct("Switchboard")
            .field("config", &self.inner.config)
            .field("sessions", &board.sessions.len())
            .field("calls", &board.calls.len())
            .finish()
    }
}

/// What a successful `login` gives the connection.
#[derive(Debug, Clone)]
pub(crate) struct LoggedIn {
    pub(crate) sessid: String,
    pub(crate) voice_sdk_id: String,
    /// Calls of a reattached session, each to get a `telnyx_rtc.attach` after REGED.
    pub(crate) reattached: Vec<String>,
}

fn clip(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

fn clip_headers(headers: &[CustomHeader]) -> Vec<CustomHeader> {
    headers
        .iter()
        .take(CUSTOM_HEADERS_KEPT)
        .map(|h| CustomHeader { name: clip(&h.name, 1024), value: clip(&h.value, 1024) })
        .collect()
}

impl Switchboard {
    /// An empty switchboard that verifies logins against `sim`.
    pub fn new(sim: SimState, config: SignalingConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                sim,
                board: Mutex::new(Board::default()),
                next_request_id: AtomicU64::new(1000),
                next_conn_id: AtomicU64::new(1),
                closing: watch::Sender::new(false),
                audit: Audit::default(),
            }),
        }
    }

    /// The timings in use.
    pub fn config(&self) -> &SignalingConfig {
        &self.inner.config
    }

    /// Findings about the clients, the shapes of their frames, and strict mode.
    pub fn audit(&self) -> &Audit {
        &self.inner.audit
    }

    /// Notes a client SDP that Telnyx's FreeSWITCH would read as hold, and pauses what the far
    /// end sends as it would. True if it did.
    fn hold_by_sdp(&self, method: &str, call_id: &str, sdp: &str, media: Option<&MediaSession>) -> bool {
        let Some(signal) = client_sdp::hold_signal(sdp) else { return false };
        self.inner.audit.report(method, "params.sdp", format!("call {call_id}: {}", signal.sentence()));
        if let Some(media) = media {
            media.set_sending(false);
        }
        true
    }

    fn board(&self) -> MutexGuard<'_, Board> {
        // Nothing below leaves the board half-updated across a panic that matters to a simulator.
        self.inner.board.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Ends every call (media stops, no `bye`), forgets every session and closes every websocket
    /// with 1001 (going away). For shutdown: upgraded websockets outlive the HTTP server's
    /// graceful shutdown otherwise.
    pub fn close_all(&self) {
        self.inner.closing.send_replace(true);
        let mut board = self.board();
        let sessions: Vec<String> = board.sessions.keys().cloned().collect();
        for sessid in sessions {
            self.close_session(&mut board, &sessid, Cause::normal_clearing());
        }
        let orphans: Vec<String> = board.calls.values().filter(|c| c.live()).map(|c| c.id.clone()).collect();
        for call_id in orphans {
            self.end_call(&mut board, &call_id, Cause::normal_clearing(), EndedBy::Simulator, false);
        }
    }

    pub(crate) fn closing(&self) -> watch::Receiver<bool> {
        self.inner.closing.subscribe()
    }

    pub(crate) fn next_conn_id(&self) -> u64 {
        self.inner.next_conn_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A server request frame with a fresh id, as text.
    pub(crate) fn request_text(&self, request: ServerRequest, voice_sdk_id: Option<&str>) -> String {
        let frame = RequestFrame {
            jsonrpc: JSONRPC,
            id: self.inner.next_request_id.fetch_add(1, Ordering::Relaxed),
            request,
            voice_sdk_id: voice_sdk_id.map(str::to_owned),
        };
        serde_json::to_string(&frame).unwrap_or_default()
    }

    /// Queues a server request for the session's connection; dropped if it has none or its
    /// outbox is full.
    fn push(&self, board: &Board, sessid: &str, request: ServerRequest) {
        let Some(session) = board.sessions.get(sessid) else { return };
        let Some(conn) = &session.conn else {
            tracing::debug!(sessid, "session disconnected; server request dropped");
            return;
        };
        let text = self.request_text(request, Some(&session.voice_sdk_id));
        if conn.tx.try_send(Outgoing::Text(text)).is_err() {
            tracing::warn!(sessid, "connection outbox full or closed; server request dropped");
        }
    }

    /// Whether client pings are answered (the control API can turn this off).
    pub fn answers_pings(&self) -> bool {
        !self.board().ignore_pings
    }

    /// Answer client pings (`true`, the default) or ignore them.
    pub fn set_answer_pings(&self, answer: bool) {
        self.board().ignore_pings = !answer;
    }

    /// Whether every frame sent comes with noise (see [`super::hostile`]).
    pub fn hostile(&self) -> bool {
        self.board().hostile
    }

    /// Turns hostile mode on or off, for every connection at once.
    pub fn set_hostile(&self, hostile: bool) {
        self.board().hostile = hostile;
        tracing::info!(hostile, "hostile mode");
    }

    // -----------------------------------------------------------------------------------------
    // Client requests

    /// `login`: checks the credentials and starts, refreshes or reattaches a session.
    ///
    /// `current` is the session this connection already has; `query_voice_sdk_id` the
    /// `?voice_sdk_id=` of the websocket URL.
    pub(crate) fn login(
        &self,
        conn: &ConnLink,
        current: Option<&str>,
        params: &LoginParams,
        query_voice_sdk_id: Option<&str>,
    ) -> Result<LoggedIn, RpcError> {
        let (credential_id, sip_username) = self.authenticate(params)?;
        let mut board = self.board();
        board.next_seq += 1;
        let seq = board.next_seq;

        // A refresh (`client.login` with a new token on the same socket) keeps the session.
        if let Some(current) = current
            && let Some(session) = board.sessions.get_mut(current)
        {
            if session.credential_id == credential_id {
                session.login_seq = seq;
                return Ok(LoggedIn {
                    sessid: session.sessid.clone(),
                    voice_sdk_id: session.voice_sdk_id.clone(),
                    reattached: Vec::new(),
                });
            }
            let current = current.to_owned();
            self.close_session(&mut board, &current, Cause::normal_clearing());
        }

        // A reconnection within the window reattaches the old session and its answered calls.
        if params.reconnection == Some(true)
            && let Some(old) = params.sessid.as_deref()
            && let Some(session) = board.sessions.get_mut(old)
            && session.credential_id == credential_id
            && query_voice_sdk_id.is_none_or(|v| v == session.voice_sdk_id)
        {
            if let Some(previous) = session.conn.replace(conn.clone())
                && previous.id != conn.id
            {
                let _ = previous.tx.try_send(Outgoing::Drop);
            }
            session.login_seq = seq;
            let sessid = session.sessid.clone();
            let voice_sdk_id = session.voice_sdk_id.clone();
            let mut reattached: Vec<(u64, String)> = board
                .calls
                .values()
                .filter(|c| c.sessid == sessid && c.state.is_answered())
                .map(|c| (c.seq, c.id.clone()))
                .collect();
            reattached.sort();
            tracing::info!(%sessid, calls = reattached.len(), "session reattached");
            return Ok(LoggedIn {
                sessid,
                voice_sdk_id,
                reattached: reattached.into_iter().map(|(_, id)| id).collect(),
            });
        }

        let sessid = uuid::Uuid::new_v4().to_string();
        let voice_sdk_id = format!("vsdk-{}", uuid::Uuid::new_v4());
        board.sessions.insert(
            sessid.clone(),
            Session {
                sessid: sessid.clone(),
                voice_sdk_id: voice_sdk_id.clone(),
                credential_id,
                sip_username,
                login_seq: seq,
                conn: Some(conn.clone()),
                disconnects: 0,
            },
        );
        tracing::info!(%sessid, "session started");
        Ok(LoggedIn { sessid, voice_sdk_id, reattached: Vec::new() })
    }

    /// `login`/`passwd` first (as at Telnyx), else `login_token`.
    fn authenticate(&self, params: &LoginParams) -> Result<(String, String), RpcError> {
        let failure =
            |why: &str| RpcError::new(codes::AUTHENTICATION_FAILURE, format!("Authentication Failure: {why}"));
        let credential_id = if let Some(login) = params.login.as_deref().filter(|l| !l.is_empty()) {
            let passwd = params.passwd.as_deref().unwrap_or_default();
            self.inner.sim.check_sip_login(login, passwd).ok_or_else(|| failure("wrong SIP user name or password"))?
        } else if let Some(token) = params.login_token.as_deref().filter(|t| !t.is_empty()) {
            self.inner.sim.verify_login_token(token).map_err(|e| failure(&e.to_string()))?.sub
        } else {
            return Err(failure("no login_token and no login/passwd"));
        };
        let sip_username = self
            .inner
            .sim
            .credential(&credential_id)
            .map(|c| c.sip_username)
            .ok_or_else(|| failure("the credential no longer exists"))?;
        Ok((credential_id, sip_username))
    }

    /// The client's `telnyx_rtc.invite`: an outbound call to a directory number.
    pub(crate) fn client_invite(&self, sessid: &str, params: &CallParams) -> Result<Reply, RpcError> {
        let call_id = params
            .call_id()
            .ok_or_else(|| RpcError::new(codes::INVALID_PARAMS, "Invalid params: no dialogParams.callID"))?
            .to_owned();
        let dialog = &params.dialog_params;
        let destination = dialog.destination_number.clone().unwrap_or_default();
        {
            let board = self.board();
            if board.calls.get(&call_id).is_some_and(Call::live) {
                return Err(RpcError::new(codes::INVALID_PARAMS, format!("call {call_id} already exists")));
            }
            let live = board.calls.values().filter(|c| c.sessid == sessid && c.live()).count();
            if live >= LIVE_CALLS_PER_SESSION {
                return Err(RpcError::new(
                    codes::INVALID_PARAMS,
                    format!("at most {LIVE_CALLS_PER_SESSION} calls per session"),
                ));
            }
        }
        if let Some(user) = bridge::sip_user(&destination) {
            return self.client_to_client(sessid, params, call_id, user);
        }
        let behaviour = behaviour_of(&destination);
        let playback = match behaviour {
            Behaviour::Tone
            | Behaviour::HangUp
            | Behaviour::AlawOnly
            | Behaviour::IceLite
            | Behaviour::IceLitePassive
            | Behaviour::DtlsPassive => Some(PlaybackSpec::Tone { hz: 440.0 }),
            Behaviour::EarlyMedia => Some(PlaybackSpec::Tone { hz: 425.0 }),
            Behaviour::Echo => Some(PlaybackSpec::Echo),
            Behaviour::Busy | Behaviour::NoAnswer | Behaviour::Reject | Behaviour::Unallocated => None,
        };
        // Media is set up (and the SDP checked) only for numbers that answer.
        let mut incompatible = false;
        let (media, answer_sdp) = match (playback, params.sdp.as_deref()) {
            (Some(playback), Some(offer)) => {
                match MediaSession::answer_as(behaviour.far_end(), offer, playback.to_media()) {
                    Ok((media, answer)) => (Some(Arc::new(media)), Some(answer)),
                    Err(MediaError::NoAudio) if client_sdp::audio_port(offer).is_some() => {
                        // FreeSWITCH: "NO CODECS", the call fails with INCOMPATIBLE_DESTINATION.
                        let offered = client_sdp::audio_codecs(offer).join(", ");
                        self.inner.audit.report(
                            "telnyx_rtc.invite",
                            "params.sdp",
                            format!("call {call_id}: no codec in common with the far end (offered: {offered})"),
                        );
                        incompatible = true;
                        (None, None)
                    }
                    Err(error) => {
                        tracing::info!(%error, %call_id, "unusable SDP offer");
                        return Err(RpcError::new(codes::CODEC_ERROR, format!("the SDP offer is unusable: {error}")));
                    }
                }
            }
            (Some(_), None) => {
                return Err(RpcError::new(codes::INVALID_PARAMS, "Invalid params: the invite has no sdp"));
            }
            (None, _) => (None, None),
        };
        let mut board = self.board();
        board.next_seq += 1;
        let seq = board.next_seq;
        let call = Call {
            id: call_id.clone(),
            seq,
            sessid: sessid.to_owned(),
            direction: Direction::Outbound,
            from: dialog.caller_id_number.clone().map(|n| clip(&n, 64)).unwrap_or_default(),
            to: clip(&destination, 64),
            caller_name: dialog.caller_id_name.as_deref().map(|n| clip(n, 128)),
            behaviour: Some(behaviour),
            state: CallState::Trying,
            custom_headers: clip_headers(dialog.custom_headers.as_deref().unwrap_or_default()),
            dtmf: String::new(),
            media_dtmf: String::new(),
            playback: playback.unwrap_or(PlaybackSpec::Silence),
            far_end: behaviour.far_end(),
            media,
            answer_sdp,
            final_heard: None,
            reattached: 0,
            end: None,
            timer: None,
            bridge: None,
        };
        // An ended call with the same id is replaced.
        board.calls.insert(call_id.clone(), call);
        board.ended_order.retain(|id| id != &call_id);
        if let Some(offer) = params.sdp.as_deref() {
            let media = board.calls.get(&call_id).and_then(|call| call.media.clone());
            self.hold_by_sdp("telnyx_rtc.invite", &call_id, offer, media.as_deref());
        }
        let task = if incompatible {
            let this = self.clone();
            let id = call_id.clone();
            tokio::spawn(async move {
                this.far_end_hangs_up(&id, Cause::incompatible_destination());
            })
        } else {
            tokio::spawn(self.clone().script(call_id.clone(), behaviour))
        };
        if let Some(call) = board.calls.get_mut(&call_id) {
            call.timer = Some(task.abort_handle());
        }
        tracing::info!(%call_id, to = %destination, behaviour = behaviour.word(), "outbound call");
        Ok(Reply::Call(CallResult { message: "CALL CREATED", call_id, sessid: sessid.to_owned() }))
    }

    /// What a directory number does after the invite, step by step.
    async fn script(self, call_id: String, behaviour: Behaviour) {
        let config = self.inner.config.clone();
        match behaviour {
            Behaviour::Unallocated => {
                self.far_end_hangs_up(&call_id, Cause::unallocated_number());
            }
            Behaviour::Busy => {
                self.far_end_hangs_up(&call_id, Cause::user_busy());
            }
            Behaviour::Reject => {
                self.ring(&call_id);
                tokio::time::sleep(config.answer_delay).await;
                self.far_end_hangs_up(&call_id, Cause::call_rejected());
            }
            Behaviour::NoAnswer => {
                self.ring(&call_id);
                tokio::time::sleep(config.no_answer_timeout).await;
                self.far_end_hangs_up(&call_id, Cause::no_answer());
            }
            Behaviour::Tone
            | Behaviour::Echo
            | Behaviour::AlawOnly
            | Behaviour::IceLite
            | Behaviour::IceLitePassive
            | Behaviour::DtlsPassive => {
                self.ring(&call_id);
                tokio::time::sleep(config.answer_delay).await;
                self.far_end_answers(&call_id, None);
            }
            Behaviour::EarlyMedia => {
                self.ring(&call_id);
                self.early_media(&call_id);
                tokio::time::sleep(config.early_media_duration).await;
                self.far_end_answers(&call_id, Some(PlaybackSpec::Tone { hz: 440.0 }));
            }
            Behaviour::HangUp => {
                self.ring(&call_id);
                tokio::time::sleep(config.answer_delay).await;
                self.far_end_answers(&call_id, None);
                tokio::time::sleep(config.hangup_after).await;
                self.far_end_hangs_up(&call_id, Cause::normal_clearing());
            }
        }
    }

    fn ring(&self, call_id: &str) {
        let mut board = self.board();
        let Some(call) = board.calls.get_mut(call_id).filter(|c| c.state == CallState::Trying) else { return };
        call.state = CallState::Ringing;
        let (sessid, params) = (call.sessid.clone(), call.call_info(None, None));
        self.push(&board, &sessid, ServerRequest::Ringing(params));
    }

    fn early_media(&self, call_id: &str) {
        let mut board = self.board();
        let Some(call) = board.calls.get_mut(call_id).filter(|c| c.state == CallState::Ringing) else { return };
        call.state = CallState::Early;
        let params = SdpParams { call_id: call_id.to_owned(), sdp: call.answer_sdp.take() };
        let sessid = call.sessid.clone();
        self.push(&board, &sessid, ServerRequest::Media(params));
    }

    fn far_end_answers(&self, call_id: &str, playback: Option<PlaybackSpec>) {
        let mut board = self.board();
        let Some(call) =
            board.calls.get_mut(call_id).filter(|c| matches!(c.state, CallState::Ringing | CallState::Early))
        else {
            return;
        };
        call.state = CallState::Active;
        if let Some(playback) = playback {
            call.playback = playback;
            if let Some(media) = &call.media {
                media.set_playback(playback.to_media());
            }
        }
        let params = SdpParams { call_id: call_id.to_owned(), sdp: call.answer_sdp.take() };
        let sessid = call.sessid.clone();
        tracing::info!(call_id, "far end answered");
        self.push(&board, &sessid, ServerRequest::Answer(params));
    }

    /// Ends a live call from the far end's side and sends `telnyx_rtc.bye`.
    fn far_end_hangs_up(&self, call_id: &str, cause: Cause) -> bool {
        let mut board = self.board();
        self.end_call(&mut board, call_id, cause, EndedBy::FarEnd, true)
    }

    /// Ends a live call; sends `bye` to its session when `notify`. `false` if it was not live.
    fn end_call(&self, board: &mut Board, call_id: &str, cause: Cause, by: EndedBy, notify: bool) -> bool {
        let Some(call) = board.calls.get_mut(call_id).filter(|c| c.live()) else { return false };
        let bye = cause.bye(call_id);
        tracing::info!(call_id, cause = %cause.cause, ?by, "call ended");
        let (direction, partner) = (call.direction, call.bridge.as_ref().map(|b| b.partner.clone()));
        call.finish(CallEnd { cause: cause.clone(), by });
        let sessid = call.sessid.clone();
        if let Some(partner) = partner {
            self.end_partner(board, &partner, cause, direction);
        }
        board.ended_order.push_back(call_id.to_owned());
        while board.ended_order.len() > ENDED_CALLS_KEPT {
            if let Some(old) = board.ended_order.pop_front() {
                board.calls.remove(&old);
            }
        }
        if notify {
            self.push(board, &sessid, bye);
        }
        true
    }

    /// The client's `telnyx_rtc.answer` of an inbound call.
    pub(crate) fn client_answer(&self, sessid: &str, params: &CallParams) -> Result<Reply, RpcError> {
        let call_id = required_call_id(params)?;
        let sdp =
            params.sdp.as_deref().ok_or_else(|| RpcError::new(codes::INVALID_PARAMS, "Invalid params: no sdp"))?;
        let media = {
            let mut board = self.board();
            let call = owned_live_call(&mut board, sessid, &call_id)?;
            if call.direction != Direction::Inbound || call.state != CallState::Ringing {
                return Err(RpcError::new(codes::CALL_DOES_NOT_EXIST, format!("call {call_id} is not ringing here")));
            }
            call.media.clone()
        };
        if let Some(media) = &media
            && let Err(error) = media.accept_answer(sdp)
        {
            return Err(RpcError::new(codes::CODEC_ERROR, format!("the SDP answer is unusable: {error}")));
        }
        self.hold_by_sdp("telnyx_rtc.answer", &call_id, sdp, media.as_deref());
        let mut board = self.board();
        let call = owned_live_call(&mut board, sessid, &call_id)?;
        if call.state != CallState::Ringing {
            return Err(RpcError::new(codes::CALL_DOES_NOT_EXIST, format!("call {call_id} is not ringing here")));
        }
        call.state = CallState::Active;
        if let Some(timer) = call.timer.take() {
            timer.abort();
        }
        if let Some(partner) = call.bridge.as_ref().map(|b| b.partner.clone()) {
            self.partner_answered(&mut board, &partner, sdp);
        }
        tracing::info!(%call_id, "inbound call answered");
        Ok(Reply::Call(CallResult { message: "CALL ANSWERED", call_id, sessid: sessid.to_owned() }))
    }

    /// The client's `telnyx_rtc.attach`: the answer to a recovery offer.
    pub(crate) fn client_attach(&self, sessid: &str, params: &CallParams) -> Result<Reply, RpcError> {
        let call_id = required_call_id(params)?;
        let sdp =
            params.sdp.as_deref().ok_or_else(|| RpcError::new(codes::INVALID_PARAMS, "Invalid params: no sdp"))?;
        let (media, held) = {
            let mut board = self.board();
            let call = owned_live_call(&mut board, sessid, &call_id)?;
            (call.media.clone(), call.state == CallState::Held)
        };
        if let Some(media) = &media
            && let Err(error) = media.accept_answer(sdp)
        {
            return Err(RpcError::new(codes::CODEC_ERROR, format!("the SDP answer is unusable: {error}")));
        }
        self.hold_by_sdp("telnyx_rtc.attach", &call_id, sdp, media.as_deref());
        // Telnyx keeps a held call held across the recovery; the SDK says so with
        // wasHeldBeforeRecovery and shows the call held. A client that does not would show it active.
        if held && params.dialog_params.was_held_before_recovery != Some(true) {
            self.inner.audit.report(
                "telnyx_rtc.attach",
                "params.dialogParams.wasHeldBeforeRecovery",
                format!(
                    "call {call_id} is held, but the attach does not say wasHeldBeforeRecovery: the client \
                     will show it active while the far end stays held"
                ),
            );
        }
        tracing::info!(%call_id, held, "call attached");
        Ok(Reply::Call(CallResult { message: "CALL ATTACHED", call_id, sessid: sessid.to_owned() }))
    }

    /// The client's `telnyx_rtc.bye`. Answered with the cause; a call that already ended is
    /// answered the same way (both sides hung up at once).
    pub(crate) fn client_bye(&self, sessid: &str, params: &CallParams) -> Result<Reply, RpcError> {
        let call_id = required_call_id(params)?;
        let cause = Cause {
            cause: params.cause.as_deref().map_or_else(|| "NORMAL_CLEARING".to_owned(), |c| clip(c, 64)),
            cause_code: params.cause_code().unwrap_or(16),
            sip_code: params.sip_code(),
            sip_reason: None,
        };
        let mut board = self.board();
        match board.calls.get(&call_id) {
            Some(call) if call.sessid == sessid => {}
            _ => return Err(RpcError::new(codes::CALL_DOES_NOT_EXIST, format!("no call {call_id} in this session"))),
        }
        let reply = ByeResult {
            call_id: call_id.clone(),
            message: "CALL ENDED",
            cause_code: cause.cause_code,
            cause: cause.cause.clone(),
            sessid: sessid.to_owned(),
        };
        self.end_call(&mut board, &call_id, cause, EndedBy::Client, false);
        Ok(Reply::Bye(reply))
    }

    /// The client's `telnyx_rtc.modify`: hold, unhold, toggleHold.
    pub(crate) fn client_modify(&self, sessid: &str, params: &CallParams) -> Result<Reply, RpcError> {
        let call_id = required_call_id(params)?;
        let action = params.action.clone().unwrap_or_default();
        let mut board = self.board();
        let call = owned_live_call(&mut board, sessid, &call_id)?;
        if !call.state.is_answered() {
            return Err(RpcError::new(codes::INVALID_PARAMS, format!("call {call_id} is not answered")));
        }
        call.state = match action.as_str() {
            "hold" => CallState::Held,
            "unhold" => CallState::Active,
            "toggleHold" if call.state == CallState::Held => CallState::Active,
            "toggleHold" => CallState::Held,
            "updateMedia" => {
                return Err(RpcError::new(codes::CODEC_ERROR, "updateMedia (ICE restart) is not simulated"));
            }
            other => {
                return Err(RpcError::new(
                    codes::INVALID_PARAMS,
                    format!("Invalid params: unknown action {:?}", clip(other, 64)),
                ));
            }
        };
        let hold_state = if call.state == CallState::Held { "held" } else { "active" };
        Ok(Reply::Modify(ModifyResult { call_id, action: clip(&action, 64), hold_state, sessid: sessid.to_owned() }))
    }

    /// The client's `telnyx_rtc.info`: records DTMF digits on the call.
    pub(crate) fn client_info(&self, sessid: &str, params: &CallParams) {
        let (Some(call_id), Some(dtmf)) = (params.call_id(), params.dtmf.as_deref()) else { return };
        let mut board = self.board();
        if let Some(call) = board.calls.get_mut(call_id).filter(|c| c.sessid == sessid && c.live()) {
            let room = DTMF_KEPT.saturating_sub(call.dtmf.chars().count());
            call.dtmf
                .extend(dtmf.chars().filter(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D')).take(room));
        }
    }

    /// After REGED of a reattached session: a fresh offer per call in `telnyx_rtc.attach`.
    pub(crate) fn send_attaches(&self, sessid: &str, call_ids: &[String]) {
        for call_id in call_ids {
            if self.board().calls.get(call_id).is_some_and(|c| c.bridge.is_some()) {
                self.attach_bridged(sessid, call_id);
                continue;
            }
            let (playback, far_end) = {
                let board = self.board();
                match board.calls.get(call_id).filter(|c| c.sessid == sessid && c.live()) {
                    Some(call) => (call.playback, call.far_end),
                    None => continue,
                }
            };
            let (media, offer) = match MediaSession::offer_as(far_end, playback.to_media()) {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, %call_id, "no media for the reattached call");
                    let mut board = self.board();
                    self.end_call(&mut board, call_id, Cause::temporary_failure(), EndedBy::Simulator, true);
                    continue;
                }
            };
            let mut board = self.board();
            let Some(call) = board.calls.get_mut(call_id).filter(|c| c.live()) else { continue };
            call.retire_media();
            call.media = Some(Arc::new(media));
            call.reattached += 1;
            let params = call.call_info(Some(offer), None);
            self.push(&board, sessid, ServerRequest::Attach(params));
        }
    }

    /// The websocket of `conn_id` is gone. Unanswered calls end; answered ones wait
    /// `reattach_window` for a reconnection.
    pub(crate) fn connection_closed(&self, conn_id: u64, sessid: Option<&str>) {
        let Some(sessid) = sessid else { return };
        let generation = {
            let mut board = self.board();
            let Some(session) = board.sessions.get_mut(sessid) else { return };
            if session.conn.as_ref().is_none_or(|c| c.id != conn_id) {
                return;
            }
            session.conn = None;
            session.disconnects += 1;
            let generation = session.disconnects;
            let unanswered: Vec<String> = board
                .calls
                .values()
                .filter(|c| c.sessid == sessid && c.live() && !c.state.is_answered())
                .map(|c| c.id.clone())
                .collect();
            for call_id in unanswered {
                self.end_call(&mut board, &call_id, Cause::temporary_failure(), EndedBy::Simulator, false);
            }
            generation
        };
        tracing::info!(sessid, "session disconnected; waiting for a reconnection");
        let this = self.clone();
        let sessid = sessid.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(this.inner.config.reattach_window).await;
            let mut board = this.board();
            if board.sessions.get(&sessid).is_some_and(|s| s.conn.is_none() && s.disconnects == generation) {
                tracing::info!(%sessid, "reattach window over; session closed");
                this.close_session(&mut board, &sessid, Cause::recovery_timer_expired());
            }
        });
    }

    /// Ends the session's calls (no `bye`) and forgets it.
    fn close_session(&self, board: &mut Board, sessid: &str, cause: Cause) {
        let call_ids: Vec<String> =
            board.calls.values().filter(|c| c.sessid == sessid && c.live()).map(|c| c.id.clone()).collect();
        for call_id in call_ids {
            self.end_call(board, &call_id, cause.clone(), EndedBy::Simulator, false);
        }
        board.sessions.remove(sessid);
    }

    // -----------------------------------------------------------------------------------------
    // Control API

    /// Every call, live and recently ended, oldest first.
    pub fn calls(&self) -> Vec<CallView> {
        let board = self.board();
        let mut calls: Vec<&Call> = board.calls.values().collect();
        calls.sort_by_key(|c| c.seq);
        calls.into_iter().map(Call::view).collect()
    }

    /// Every session, most recent login first.
    pub fn sessions(&self) -> Vec<SessionView> {
        let board = self.board();
        let mut sessions: Vec<&Session> = board.sessions.values().collect();
        sessions.sort_by_key(|s| std::cmp::Reverse(s.login_seq));
        sessions
            .into_iter()
            .map(|s| SessionView {
                sessid: s.sessid.clone(),
                voice_sdk_id: s.voice_sdk_id.clone(),
                credential_id: s.credential_id.clone(),
                sip_username: s.sip_username.clone(),
                connected: s.conn.is_some(),
                calls: board
                    .calls
                    .values()
                    .filter(|c| c.sessid == s.sessid && c.live())
                    .map(|c| c.id.clone())
                    .collect(),
            })
            .collect()
    }

    fn pick_session(board: &Board, to: Option<&str>) -> Result<String, ControlError> {
        let connected = board.sessions.values().filter(|s| s.conn.is_some());
        let found = match to {
            Some(to) => connected
                .filter(|s| s.sessid == to || s.credential_id == to || s.sip_username == to)
                .max_by_key(|s| s.login_seq)
                .ok_or_else(|| ControlError::UnknownSession(to.to_owned()))?,
            None => connected.max_by_key(|s| s.login_seq).ok_or(ControlError::NoClient)?,
        };
        Ok(found.sessid.clone())
    }

    /// Rings a logged-in client: `telnyx_rtc.invite` with a fresh SDP offer. Unanswered after
    /// `no_answer_timeout`, the caller gives up (`ORIGINATOR_CANCEL`).
    pub fn start_inbound(&self, request: InboundCall) -> Result<InboundStarted, ControlError> {
        let sessid = Self::pick_session(&self.board(), request.to.as_deref())?;
        let playback = request.playback.unwrap_or(PlaybackSpec::Tone { hz: 440.0 });
        let far_end = request.far_end.unwrap_or_default();
        let (media, offer) =
            MediaSession::offer_as(far_end, playback.to_media()).map_err(|e| ControlError::Media(e.to_string()))?;
        let call_id = uuid::Uuid::new_v4().to_string();
        let mut board = self.board();
        let Some(session) = board.sessions.get(&sessid) else {
            return Err(ControlError::UnknownSession(sessid));
        };
        let to = session.sip_username.clone();
        board.next_seq += 1;
        let seq = board.next_seq;
        let call = Call {
            id: call_id.clone(),
            seq,
            sessid: sessid.clone(),
            direction: Direction::Inbound,
            from: clip(&request.from, 64),
            to,
            caller_name: request.caller_name.as_deref().map(|n| clip(n, 128)),
            behaviour: None,
            state: CallState::Ringing,
            custom_headers: clip_headers(&request.custom_headers),
            dtmf: String::new(),
            media_dtmf: String::new(),
            playback,
            far_end,
            media: Some(Arc::new(media)),
            answer_sdp: None,
            final_heard: None,
            reattached: 0,
            end: None,
            timer: None,
            bridge: None,
        };
        let params = call.call_info(Some(offer), Some(OutDialogParams { custom_headers: call.custom_headers.clone() }));
        board.calls.insert(call_id.clone(), call);
        let this = self.clone();
        let id = call_id.clone();
        let timer = tokio::spawn(async move {
            tokio::time::sleep(this.inner.config.no_answer_timeout).await;
            let mut board = this.board();
            if board.calls.get(&id).is_some_and(|c| c.state == CallState::Ringing) {
                this.end_call(&mut board, &id, Cause::originator_cancel(), EndedBy::FarEnd, true);
            }
        });
        if let Some(call) = board.calls.get_mut(&call_id) {
            call.timer = Some(timer.abort_handle());
        }
        self.push(&board, &sessid, ServerRequest::Invite(params));
        tracing::info!(%call_id, %sessid, "inbound call");
        Ok(InboundStarted { call_id, sessid })
    }

    fn live_call<'a>(board: &'a mut Board, call_id: &str) -> Result<&'a mut Call, ControlError> {
        match board.calls.get_mut(call_id) {
            None => Err(ControlError::UnknownCall(call_id.to_owned())),
            Some(call) if !call.live() => Err(ControlError::CallEnded(call_id.to_owned())),
            Some(call) => Ok(call),
        }
    }

    /// The far end hangs up with this cause (defaults: `NORMAL_CLEARING` 16 / 200 OK).
    pub fn hang_up(&self, call_id: &str, hangup: Hangup) -> Result<(), ControlError> {
        let mut board = self.board();
        Self::live_call(&mut board, call_id)?;
        let cause = Cause {
            cause: hangup.cause.map_or_else(|| "NORMAL_CLEARING".to_owned(), |c| clip(&c, 64)),
            cause_code: hangup.cause_code.unwrap_or(16),
            sip_code: Some(hangup.sip_code.unwrap_or(200)),
            sip_reason: Some(hangup.sip_reason.map_or_else(|| "OK".to_owned(), |r| clip(&r, 128))),
        };
        self.end_call(&mut board, call_id, cause, EndedBy::FarEnd, true);
        Ok(())
    }

    /// Sends `telnyx_rtc.display` for a live call.
    pub fn display(&self, call_id: &str, name: &str, number: &str) -> Result<(), ControlError> {
        let mut board = self.board();
        let call = Self::live_call(&mut board, call_id)?;
        let sessid = call.sessid.clone();
        let params = DisplayParams {
            call_id: call_id.to_owned(),
            display_name: clip(name, 128),
            display_number: clip(number, 64),
            display_direction: "inbound",
        };
        self.push(&board, &sessid, ServerRequest::Display(params));
        Ok(())
    }

    fn connected_sessions(board: &Board, target: &str) -> Result<Vec<String>, ControlError> {
        let sessions: Vec<String> = board
            .sessions
            .values()
            .filter(|s| s.conn.is_some() && (target == "all" || s.sessid == target))
            .map(|s| s.sessid.clone())
            .collect();
        if sessions.is_empty() && target != "all" {
            return Err(ControlError::UnknownSession(target.to_owned()));
        }
        Ok(sessions)
    }

    /// Cuts the TCP connection of a session (`all`: every session) without a close frame; the
    /// session and its answered calls wait for a reconnection. Returns how many were dropped.
    pub fn drop_sessions(&self, target: &str) -> Result<usize, ControlError> {
        let board = self.board();
        let sessions = Self::connected_sessions(&board, target)?;
        for sessid in &sessions {
            if let Some(conn) = board.sessions.get(sessid).and_then(|s| s.conn.as_ref()) {
                let _ = conn.tx.try_send(Outgoing::Drop);
            }
        }
        Ok(sessions.len())
    }

    /// Sends `telnyx_rtc.punt`, closes the socket and forgets the session: its calls end
    /// without `bye` and a reconnection is a fresh login. Returns how many were punted.
    pub fn punt(&self, target: &str) -> Result<usize, ControlError> {
        let mut board = self.board();
        let sessions = Self::connected_sessions(&board, target)?;
        for sessid in &sessions {
            self.push(&board, sessid, ServerRequest::Punt(EmptyParams {}));
            if let Some(conn) = board.sessions.get(sessid).and_then(|s| s.conn.as_ref()) {
                let _ = conn.tx.try_send(Outgoing::Close);
            }
            self.close_session(&mut board, sessid, Cause::normal_clearing());
        }
        Ok(sessions.len())
    }

    /// Whether the session exists and `conn_id` is its connection (it may have been taken over
    /// by a reconnection or punted).
    pub(crate) fn owns(&self, sessid: &str, conn_id: u64) -> bool {
        self.board().sessions.get(sessid).is_some_and(|s| s.conn.as_ref().is_some_and(|c| c.id == conn_id))
    }
}

fn required_call_id(params: &CallParams) -> Result<String, RpcError> {
    params
        .call_id()
        .map(str::to_owned)
        .ok_or_else(|| RpcError::new(codes::INVALID_PARAMS, "Invalid params: no dialogParams.callID"))
}

fn owned_live_call<'a>(board: &'a mut Board, sessid: &str, call_id: &str) -> Result<&'a mut Call, RpcError> {
    board
        .calls
        .get_mut(call_id)
        .filter(|c| c.sessid == sessid && c.live())
        .ok_or_else(|| RpcError::new(codes::CALL_DOES_NOT_EXIST, format!("no live call {call_id} in this session")))
}
