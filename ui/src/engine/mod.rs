//! The webview call engine: the Telnyx SDK (`@telnyx/webrtc`, global `TelnyxWebRTC`) running in
//! this window, driven by the shell's call state machine.
//!
//! - [`sdk`]: the wasm-bindgen bindings; the only code in the UI that touches `TelnyxWebRTC`.
//! - [`events`]: the SDK's events as Rust enums, and the pure translation into the shell's
//!   [`EngineUpdate`](softphone_core::call::EngineUpdate)s (tested natively).
//! - [`WebviewEngine`]: logs in with the shell's JWT, refreshes it on `TOKEN_EXPIRING_SOON`,
//!   executes [`EngineCommand`](softphone_core::call::EngineCommand)s, reports every update.
//! - [`greeting`]: a voicemail drop, the greeting sent in place of the microphone's track.
//! - [`in_order`]: reports to the shell one after another, in the SDK's order.
//! - [`selection`]: which engine runs (this one needs `RTCPeerConnection`, which Debian's
//!   WebKitGTK lacks).

pub mod events;
mod greeting;
mod in_order;
pub mod sdk;
pub mod selection;
mod webview;

pub use events::{CallUpdateTranslator, SdkCallUpdate, SdkEvent, SdkProblem, SessionEvent};
pub use in_order::in_order;
pub use sdk::webrtc_available;
pub use selection::{EnginePreference, EngineSelection, select_engine};
pub use webview::{EngineConfig, EngineError, GreetingSource, TokenSource, WebviewEngine};
