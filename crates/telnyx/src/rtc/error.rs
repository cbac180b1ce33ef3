//! What can go wrong on the `telnyx_rtc` websocket, as a closed set the UI branches on.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The code of an [`RtcError`], as the IPC error carries it. The UI matches on these, never on
/// message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RtcErrorCode {
    /// The websocket could not be opened (DNS, refused, TLS, timeout).
    RtcUnreachable,
    /// The signaling server's certificate is not trusted by this computer.
    RtcCertificateUntrusted,
    /// Telnyx refused the login token or SIP credential.
    RtcLoginFailed,
    /// The Telnyx gateway did not register the client (`FAILED`, `NOREG` ...).
    RtcGatewayFailed,
    /// A request got no answer in time.
    RtcTimedOut,
    /// The connection is gone (closed, punted, or given up).
    RtcClosed,
    /// The connection is being re-established; the request was not sent.
    RtcReconnecting,
    /// Telnyx answered the request with an error.
    RtcRejected,
    /// Telnyx sent something the client cannot read.
    RtcProtocol,
    /// The request names a call the client does not have.
    RtcUnknownCall,
    /// The input cannot be sent (empty SDP, bad URL, ...).
    InvalidArgument,
}

/// An error of the signaling client.
///
/// Invariant: neither `Display` nor `Debug` contains the login token or the SIP password; text
/// taken from Telnyx's answers is cut to [`MAX_SERVER_TEXT`] characters and scrubbed of the
/// credential the client sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtcError {
    /// The websocket could not be opened.
    #[error("Could not connect to Telnyx signaling at {url}: {reason}. Check the network connection.")]
    Unreachable {
        /// The URL without its query.
        url: String,
        /// What failed, from the websocket library.
        reason: String,
    },
    /// The certificate presented for the signaling server is not trusted by this computer.
    #[error(
        "The certificate presented for {url} is not trusted by this computer. On a company network that inspects encrypted traffic, its root certificate must be installed in the system's certificate store; otherwise the connection is not Telnyx's."
    )]
    UntrustedCertificate {
        /// The URL without its query.
        url: String,
    },
    /// `login` answered with an error: -32000 token registration, -32001 credential registration.
    #[error("Telnyx refused the login ({code}: {message}). Sign in again or create a new login token.")]
    LoginFailed {
        /// The JSON-RPC error code (e.g. -32001).
        code: i64,
        /// Telnyx's message.
        message: String,
    },
    /// The gateway answered a state other than `REGED`.
    #[error("Telnyx could not register the phone (gateway state {state}). Try again in a minute.")]
    GatewayFailed {
        /// `FAILED`, `NOREG`, `UNREGED`, ...
        state: String,
    },
    /// No answer to a request in time.
    #[error("Telnyx did not answer {method} within {} ms. The connection is being checked.", after.as_millis())]
    Timeout {
        /// The request's method.
        method: String,
        /// How long the client waited.
        after: Duration,
    },
    /// The connection is closed (by `disconnect`, a punt, or because reconnecting gave up).
    #[error("The connection to Telnyx is closed. Sign in again to make calls.")]
    Closed,
    /// The request was not sent because the socket is being re-established.
    #[error("The connection to Telnyx is being re-established; try again in a moment.")]
    Reconnecting,
    /// Reconnecting failed this many times in a row; the client stopped.
    #[error("Could not reconnect to Telnyx after {attempts} attempts. Check the network and sign in again.")]
    ReconnectExhausted {
        /// Attempts made.
        attempts: u32,
    },
    /// Telnyx answered a request with a JSON-RPC error.
    #[error("Telnyx refused {method} ({code}: {message}).")]
    Rejected {
        /// The request's method.
        method: String,
        /// The JSON-RPC error code.
        code: i64,
        /// Telnyx's message.
        message: String,
    },
    /// Telnyx sent a frame the client cannot read.
    #[error("Telnyx sent an unreadable answer: {0}.")]
    Protocol(String),
    /// No such call on this client.
    #[error("There is no call {0} on this connection.")]
    UnknownCall(String),
    /// The request cannot be sent at all.
    #[error("Invalid request: {0}.")]
    InvalidArgument(String),
}

/// Longest text taken from a Telnyx answer into an error, in characters.
pub const MAX_SERVER_TEXT: usize = 200;

impl RtcError {
    /// The code the UI branches on.
    pub fn code(&self) -> RtcErrorCode {
        match self {
            RtcError::Unreachable { .. } => RtcErrorCode::RtcUnreachable,
            RtcError::UntrustedCertificate { .. } => RtcErrorCode::RtcCertificateUntrusted,
            RtcError::LoginFailed { .. } => RtcErrorCode::RtcLoginFailed,
            RtcError::GatewayFailed { .. } => RtcErrorCode::RtcGatewayFailed,
            RtcError::Timeout { .. } => RtcErrorCode::RtcTimedOut,
            RtcError::Closed | RtcError::ReconnectExhausted { .. } => RtcErrorCode::RtcClosed,
            RtcError::Reconnecting => RtcErrorCode::RtcReconnecting,
            RtcError::Rejected { .. } => RtcErrorCode::RtcRejected,
            RtcError::Protocol(_) => RtcErrorCode::RtcProtocol,
            RtcError::UnknownCall(_) => RtcErrorCode::RtcUnknownCall,
            RtcError::InvalidArgument(_) => RtcErrorCode::InvalidArgument,
        }
    }
}

/// Cuts server text to [`MAX_SERVER_TEXT`] and replaces any of `secrets` in it.
pub(crate) fn server_text(text: &str, secrets: &[&str]) -> String {
    let mut text: String = text.chars().take(MAX_SERVER_TEXT).collect();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret, "<redacted>");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_text_is_cut_and_scrubbed() {
        assert_eq!(server_text("bad token eyJabc", &["eyJabc", ""]), "bad token <redacted>");
        assert_eq!(server_text(&"x".repeat(500), &[]).len(), MAX_SERVER_TEXT);
        let error = RtcError::LoginFailed { code: -32001, message: "Authentication Failure".into() };
        assert_eq!(error.code(), RtcErrorCode::RtcLoginFailed);
        assert!(error.to_string().contains("-32001"));
    }
}
