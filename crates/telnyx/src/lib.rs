//! softphone-telnyx: the app's client of Telnyx's REST API.
//!
//! - [`TelnyxApi`]: create a telephony credential, mint a login token (JWT), validate an API key;
//!   bounded retries with exponential backoff and jitter on 429 / 5xx / timeouts / connection
//!   failures, none on 401 / 403 / 404 / 422.
//! - [`LoginTokens`]: the in-memory token cache behind the `issue_login_token` command; reuses a
//!   token until 5 minutes before its `exp`, time passed in.
//! - [`TelnyxError`]: a closed set with a [`TelnyxErrorCode`] the UI branches on and a sentence
//!   the agent can act on.
//!
//! - [`rtc`]: the `telnyx_rtc` signaling client of the native call engine (websocket, calls,
//!   reconnection and call recovery).
//!
//! Secrets (API key, JWT) travel as `softphone_core::secret::Secret`; nothing here prints, logs or
//! serializes them.

pub mod call_control;
pub mod client;
pub mod error;
pub mod login_tokens;
pub mod proxy;
pub mod rtc;
pub mod tls;
pub mod token;

pub use call_control::{CallControlAccess, LegStatus, RECORDING_MAX_BYTES, SavedRecording};
pub use client::{RetryPolicy, TELNYX_BASE_URL, TelnyxApi, TelnyxConfig};
pub use error::{TelnyxError, TelnyxErrorCode};
pub use login_tokens::{IssuedLoginToken, LoginTokens, REFRESH_MARGIN, TokenRequest};
pub use token::{CredentialId, LoginToken};
