//! The `telnyx_rtc` signaling client of the native call engine: Telnyx's WebRTC protocol over a
//! websocket, behaving like `@telnyx/webrtc` 2.27 (docs/telnyx-protocol.md §2).
//!
//! - [`RtcClient::connect`] opens the socket (rustls + webpki roots for `wss://`), logs in, and
//!   runs a task that owns the socket; [`RtcEvent`]s arrive on the returned receiver.
//! - login → `clientReady` → `gatewayState` → `REGED` → [`RtcEvent::Ready`].
//! - Server pings are answered with a ping request; the client pings after
//!   [`RtcTimings::idle_ping_after`] of inbound silence, and an unanswered ping (or `modify`/`bye`)
//!   means a dead socket.
//! - A lost socket reconnects with backoff (`?voice_sdk_id=`, `reconnection:true`, old `sessid`)
//!   and recovers answered calls through `telnyx_rtc.attach`. A punt stops the client.
//! - [`engine_updates`] turns events into the call state machine's updates.
//!
//! The login token and SIP password travel as [`softphone_core::secret::Secret`]: they are only
//! exposed into the `login` frame, which is never logged.

mod client;
mod engine;
mod error;
pub mod frames;

pub use client::{
    Backoff, ByeCause, CallerId, EVENT_CAPACITY, HoldState, RtcClient, RtcConfig, RtcEvent, RtcLogin, RtcTimings,
    SDK_PROTOCOL_VERSION,
};
pub use engine::engine_updates;
pub use error::{MAX_SERVER_TEXT, RtcError, RtcErrorCode};
pub use frames::CustomHeader;
