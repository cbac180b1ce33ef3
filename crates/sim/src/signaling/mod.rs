//! The `telnyx_rtc` signaling websocket at `/`, its call logic, and its control endpoints.
//!
//! Speaks the protocol of `docs/telnyx-protocol.md` §2 as `@telnyx/webrtc` 2.27 expects it:
//! - `login` by a JWT this simulator minted (unexpired, credential still known) or by SIP
//!   `login`/`passwd`; failures answer `-32001` and the socket stays open. Then
//!   `telnyx_rtc.clientReady`, and `REGED` for `telnyx_rtc.gatewayState`.
//! - Every server message after login carries a top-level `voice_sdk_id`. A reconnection
//!   (`?voice_sdk_id=`, `reconnection:true`, the old `sessid`) within
//!   [`SignalingConfig::reattach_window`] gets the same session back, `reattached_sessions` with
//!   its answered calls, and a `telnyx_rtc.attach` with a fresh offer per call after `REGED`.
//! - Pings both ways; outbound calls to the [`numbers`] directory; inbound calls, hangups,
//!   display updates, socket drops and punts from [`control`].
//! - Every client request with an id gets a reply (`debug_report_*` included), except client
//!   pings while the control API says not to answer them. Malformed JSON (-32700), requests of
//!   the wrong shape or over [`MAX_FRAME_BYTES`] (-32600), unknown methods (-32601) and unusable
//!   params (-32602) get JSON-RPC errors and the connection stays up. Messages over
//!   [`MAX_MESSAGE_BYTES`] close the connection (the websocket layer refuses to buffer them).
//!
//! - Hostile mode ([`hostile`]): malformed, oversized, duplicated, stale and unknown frames
//!   among the real ones, for clients to prove they survive them.
//!
//! Unanswered calls end when their socket goes (`NORMAL_TEMPORARY_FAILURE` 41); answered calls
//! wait for a reconnection and end with `RECOVERY_ON_TIMER_EXPIRE` 102 if none comes.

pub mod audit;
pub mod client_sdp;
pub mod connection;
pub mod control;
pub mod frame_shapes;
pub mod frames;
pub mod hostile;
pub mod numbers;
pub mod switchboard;

use std::time::Duration;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

pub use numbers::{Behaviour, DIRECTORY, Listing, behaviour_of, directory_help};
pub use switchboard::{
    ActionRefusal, CallEnd, CallState, CallView, Cause, ConferenceView, ControlError, Direction, EndedBy, Hangup,
    InboundCall, InboundStarted, LegRole, LegView, ParticipantsAction, PlaybackRequest, PlaybackSpec, SavedRecording,
    SessionView, Switchboard,
};

/// Largest frame the simulator reads as a request, in bytes (1 MiB); larger ones get a
/// JSON-RPC error and the connection stays up.
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;

/// Largest websocket message the connection accepts at all, in bytes (4 MiB): above it the
/// websocket layer closes the connection, which bounds the memory one client can use.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// Timings of the signaling side. Defaults are Telnyx-like; tests use milliseconds.
#[derive(Debug, Clone)]
pub struct SignalingConfig {
    /// Interval of the server's `telnyx_rtc.ping` (Telnyx: about 30 s).
    pub ping_interval: Duration,
    /// Ringing before a directory number answers (tone, echo, hangup) or rejects.
    pub answer_delay: Duration,
    /// Ringing before `NO_ANSWER` on the no-answer number, and before the caller of an inbound
    /// call gives up (`ORIGINATOR_CANCEL`).
    pub no_answer_timeout: Duration,
    /// Early media before the early-media number answers.
    pub early_media_duration: Duration,
    /// Talk time before the hangup number hangs up.
    pub hangup_after: Duration,
    /// How long a dropped session keeps its answered calls for a reconnection (the SDK: 90 s).
    pub reattach_window: Duration,
}

impl Default for SignalingConfig {
    /// Ping 30 s, answer after 2 s, no answer after 30 s, early media 3 s, hang up after 10 s,
    /// reattach within 90 s.
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(30),
            answer_delay: Duration::from_secs(2),
            no_answer_timeout: Duration::from_secs(30),
            early_media_duration: Duration::from_secs(3),
            hangup_after: Duration::from_secs(10),
            reattach_window: Duration::from_secs(90),
        }
    }
}

#[derive(Debug, Deserialize)]
struct ConnectQuery {
    #[serde(default)]
    voice_sdk_id: Option<String>,
}

/// The websocket at `/` and the signaling control routes.
pub fn routes(board: Switchboard) -> Router {
    Router::new().route("/", get(upgrade)).with_state(board.clone()).merge(control::routes(board))
}

async fn upgrade(
    State(board): State<Switchboard>,
    query: Result<Query<ConnectQuery>, QueryRejection>,
    ws: WebSocketUpgrade,
) -> Response {
    let voice_sdk_id = query.ok().and_then(|Query(q)| q.voice_sdk_id).filter(|v| !v.is_empty());
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| connection::serve(socket, board, voice_sdk_id))
}
