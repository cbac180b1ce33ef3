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
mod call_control;
mod client;
mod control_api;
mod rooms;

pub use call_control::{
    ActionRefusal, HANDED_ON_CALL_MAX, LegRole, LegView, PLAYBACK_MAX_BYTES, PlaybackRequest, RECORDINGS_KEPT,
    SavedRecording,
};
pub use rooms::{CONFERENCE_MEMBERS_MAX, CONFERENCES_MAX, ConferenceView, ParticipantsAction};

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
    /// Go silent, socket open: read nothing, send nothing (a sleeping computer's socket).
    Freeze,
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
    /// An answering machine: a greeting, a beep, then it records ([`CallView::voicemail`]).
    Voicemail,
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
            PlaybackSpec::Voicemail => Playback::Voicemail,
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
    /// Unix milliseconds when the call began at the simulator: the client's INVITE received, or an
    /// inbound call started (for latency measurements against the app's own clock).
    pub started_at_ms: u64,
    /// What an answering machine recorded after its beep (`recorded_ms`, `dominant_hz`,
    /// `level_dbfs`), kept after the call ends; `null` for other far ends or before the beep.
    pub voicemail: Option<Value>,
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
    /// The answering machine's message, measured when its media was retired.
    final_voicemail: Option<Value>,
    /// Unix milliseconds when the call began here (the INVITE received, or an inbound call rung).
    started_at_ms: u64,
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
        let voicemail = match &self.media {
            Some(media) => media.voicemail().and_then(|message| serde_json::to_value(message).ok()),
            None => self.final_voicemail.clone(),
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
            voicemail,
            started_at_ms: self.started_at_ms,
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
            if let Some(message) = media.voicemail() {
                self.final_voicemail = serde_json::to_value(message).ok();
            }
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
    /// How long a connection holds its reply to `login` (a slow Telnyx), zero by default.
    login_reply_delay: std::time::Duration,
    /// Call Control: transfers, rooms, recordings.
    control: call_control::ControlState,
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
    /// Numbers the control API scripted, by their normalized form: they override the directory.
    scripted: Mutex<std::collections::HashMap<String, Behaviour>>,
    /// The tone a scripted number says when it answers, if not 440 Hz.
    scripted_tones: Mutex<std::collections::HashMap<String, f32>>,
    /// Where the far ends' media sockets are.
    media_ip: std::net::IpAddr,
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
        Self::with_media_on(sim, config, std::net::IpAddr::from([127, 0, 0, 1]))
    }

    /// [`Switchboard::new`] with the far ends' media on `media_ip`.
    pub fn with_media_on(sim: SimState, config: SignalingConfig, media_ip: std::net::IpAddr) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                sim,
                board: Mutex::new(Board::default()),
                next_request_id: AtomicU64::new(1000),
                next_conn_id: AtomicU64::new(1),
                closing: watch::Sender::new(false),
                audit: Audit::default(),
                scripted: Mutex::default(),
                scripted_tones: Mutex::default(),
                media_ip,
            }),
        }
    }

    /// The timings in use.
    pub fn config(&self) -> &SignalingConfig {
        &self.inner.config
    }

    /// From now on a call to `number` does what `behaviour` does (a script for a list of leads
    /// with known outcomes); it overrides the directory.
    pub fn script_number(&self, number: &str, behaviour: Behaviour) {
        let mut scripted = self.inner.scripted.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        scripted.insert(super::numbers::normalize(number), behaviour);
    }

    /// From now on `number`, when it answers with a tone, says `hz` instead of 440 Hz (so a test
    /// tells two parties apart by ear).
    pub fn script_tone(&self, number: &str, hz: f32) {
        let mut tones = self.inner.scripted_tones.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        tones.insert(super::numbers::normalize(number), hz);
    }

    fn scripted_tone(&self, number: &str) -> Option<f32> {
        let tones = self.inner.scripted_tones.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        tones.get(&super::numbers::normalize(number)).copied()
    }

    /// Forgets every scripted number.
    pub fn clear_scripts(&self) {
        self.inner.scripted.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
        self.inner.scripted_tones.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }

    /// What a call to `number` does: its script, else the directory.
    pub(crate) fn behaviour_for(&self, number: &str) -> Behaviour {
        let scripted = self.inner.scripted.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        scripted.get(&super::numbers::normalize(number)).copied().unwrap_or_else(|| behaviour_of(number))
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
        board.control.clear();
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

    /// `far_end` with its media on this simulator's media address.
    pub(crate) fn media_here(&self, far_end: FarEnd) -> FarEnd {
        FarEnd { address: Some(self.inner.media_ip), ..far_end }
    }

    /// Whether client pings are answered (the control API can turn this off).
    pub fn answers_pings(&self) -> bool {
        !self.board().ignore_pings
    }

    /// Answer client pings (`true`, the default) or ignore them.
    pub fn set_answer_pings(&self, answer: bool) {
        self.board().ignore_pings = !answer;
    }

    /// How long each reply to `login` is held before it is written (zero: at once). While it is
    /// held, the connection reads nothing more, as a busy server's socket.
    pub fn login_reply_delay(&self) -> std::time::Duration {
        self.board().login_reply_delay
    }

    /// Holds every reply to `login` for `delay` from now on (zero: answer at once).
    pub fn set_login_reply_delay(&self, delay: std::time::Duration) {
        self.board().login_reply_delay = delay;
        tracing::info!(delay_ms = delay.as_millis() as u64, "login replies held");
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

/// The wall clock in Unix milliseconds.
fn unix_now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as u64)
}
