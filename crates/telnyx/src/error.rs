//! What can go wrong talking to Telnyx, as a closed set the UI branches on.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The code of a [`TelnyxError`], as the IPC error carries it (`{"code": "TelnyxAuthRejected"}`).
/// The UI matches on these, never on message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TelnyxErrorCode {
    /// The API key was refused (401/403): the agent must fix it in Settings.
    TelnyxAuthRejected,
    /// Telnyx answered 5xx or 429 on every attempt, or the connection broke mid-answer.
    TelnyxUnavailable,
    /// Telnyx accepted the connection but did not answer within the request timeout.
    TelnyxTimedOut,
    /// Telnyx could not be reached at all (DNS, refused, no route): the machine is likely offline.
    Offline,
    /// The server's certificate is not trusted by this computer.
    CertificateUntrusted,
    /// Telnyx refused the request's content (422 and other 4xx), e.g. an unknown connection id.
    TelnyxRejected,
    /// The telephony credential does not exist (404).
    TelnyxNotFound,
    /// Telnyx answered something the client cannot read (not a JWT, not the documented JSON).
    TelnyxInvalidResponse,
    /// The input cannot be sent at all (empty API key, control characters in it, bad base URL).
    InvalidArgument,
    /// Telnyx refused a Call Control action on a call (422 with its reason, or the call is gone).
    TelnyxActionRefused,
}

/// An error from the Telnyx REST client.
///
/// Invariant: neither `Display` nor `Debug` ever contains the API key or a login token; the only
/// text taken from Telnyx's answers is the `detail` of a 4xx, cut to [`MAX_DETAIL_CHARS`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelnyxError {
    /// 401 or 403.
    #[error("Telnyx rejected the API key ({status}). Check it in Mission Control > Keys.")]
    AuthRejected {
        /// 401 or 403.
        status: u16,
    },
    /// 5xx or 429 until the attempts ran out, or the connection broke mid-answer every time.
    #[error(
        "Telnyx is not answering properly ({}) after {attempts} attempts. Try again in a few minutes; status.telnyx.com shows outages.",
        status.map_or_else(|| "connection broken".to_owned(), |s| s.to_string())
    )]
    Unavailable {
        /// The last HTTP status, `None` when the connection broke instead.
        status: Option<u16>,
        /// Requests sent, the first included.
        attempts: u32,
    },
    /// No answer within the request timeout on any attempt.
    #[error(
        "Telnyx did not answer within {} ms ({attempts} attempts). Check the network and try again.",
        timeout.as_millis()
    )]
    TimedOut {
        /// The per-request timeout.
        timeout: Duration,
        /// Requests sent, the first included.
        attempts: u32,
    },
    /// Connecting failed: DNS, connection refused, no route, connect timeout.
    #[error("Cannot reach Telnyx at {host}. Check the internet connection, then try again.")]
    Offline {
        /// Host (and port) of the base URL; never a secret.
        host: String,
    },
    /// The TLS certificate presented for Telnyx is not vouched for by the system's store nor
    /// the bundled roots.
    #[error(
        "The certificate presented for {host} is not trusted by this computer. On a company network that inspects encrypted traffic, its root certificate must be installed in the system's certificate store; otherwise the connection is not Telnyx's."
    )]
    UntrustedCertificate {
        /// Host (and port); never a secret.
        host: String,
    },
    /// 422 or another 4xx that is not about the key or a missing resource.
    #[error("Telnyx refused the request ({status}): {detail} Check the connection id in Settings.")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// Telnyx's `errors[0].detail` (or `title`), at most [`MAX_DETAIL_CHARS`] characters.
        detail: String,
    },
    /// 404: the telephony credential (or the endpoint) does not exist.
    #[error("Telnyx does not know this {what} (404). It may have been deleted in Mission Control.")]
    NotFound {
        /// What was looked for, e.g. `telephony credential`.
        what: &'static str,
    },
    /// A success status with a body that is not what Telnyx documents.
    #[error("Telnyx sent an answer the app cannot read ({reason}). Update the app or contact support.")]
    InvalidResponse {
        /// What was wrong, without any of the body's content.
        reason: &'static str,
    },
    /// A Call Control action refused: Telnyx's reason, the call as it was.
    #[error("Telnyx refused the {action}: {detail}")]
    ActionRefused {
        /// What was asked, e.g. `transfer`.
        action: &'static str,
        /// Telnyx's `errors[0].detail` (or `title`), at most [`MAX_DETAIL_CHARS`] characters.
        detail: String,
    },
    /// The request cannot be built from this input.
    #[error("{reason}")]
    InvalidArgument {
        /// A sentence saying what to fix.
        reason: &'static str,
    },
}

/// Longest `detail` kept from a Telnyx error body, in characters.
pub const MAX_DETAIL_CHARS: usize = 300;

impl TelnyxError {
    /// The code the UI branches on.
    pub fn code(&self) -> TelnyxErrorCode {
        match self {
            Self::AuthRejected { .. } => TelnyxErrorCode::TelnyxAuthRejected,
            Self::Unavailable { .. } => TelnyxErrorCode::TelnyxUnavailable,
            Self::TimedOut { .. } => TelnyxErrorCode::TelnyxTimedOut,
            Self::Offline { .. } => TelnyxErrorCode::Offline,
            Self::UntrustedCertificate { .. } => TelnyxErrorCode::CertificateUntrusted,
            Self::Rejected { .. } => TelnyxErrorCode::TelnyxRejected,
            Self::NotFound { .. } => TelnyxErrorCode::TelnyxNotFound,
            Self::InvalidResponse { .. } => TelnyxErrorCode::TelnyxInvalidResponse,
            Self::InvalidArgument { .. } => TelnyxErrorCode::InvalidArgument,
            Self::ActionRefused { .. } => TelnyxErrorCode::TelnyxActionRefused,
        }
    }
}

impl From<TelnyxError> for softphone_core::ipc::IpcError {
    /// What Telnyx said (or did not), as the window reads it.
    fn from(error: TelnyxError) -> Self {
        use softphone_core::ipc::ErrorCode;
        let code = match error.code() {
            TelnyxErrorCode::TelnyxAuthRejected => ErrorCode::TelnyxAuthRejected,
            TelnyxErrorCode::TelnyxUnavailable => ErrorCode::TelnyxUnavailable,
            TelnyxErrorCode::TelnyxTimedOut => ErrorCode::TelnyxTimedOut,
            TelnyxErrorCode::Offline => ErrorCode::Offline,
            TelnyxErrorCode::CertificateUntrusted => ErrorCode::CertificateUntrusted,
            TelnyxErrorCode::TelnyxRejected | TelnyxErrorCode::TelnyxNotFound => ErrorCode::TelnyxRejected,
            TelnyxErrorCode::TelnyxInvalidResponse => ErrorCode::TelnyxInvalidResponse,
            TelnyxErrorCode::InvalidArgument => ErrorCode::InvalidArgument,
            TelnyxErrorCode::TelnyxActionRefused => ErrorCode::CallControlRefused,
        };
        Self::new(code, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_to_do() {
        assert_eq!(
            TelnyxError::AuthRejected { status: 401 }.to_string(),
            "Telnyx rejected the API key (401). Check it in Mission Control > Keys."
        );
        assert_eq!(
            TelnyxError::Unavailable { status: Some(503), attempts: 4 }.to_string(),
            "Telnyx is not answering properly (503) after 4 attempts. Try again in a few minutes; status.telnyx.com shows outages."
        );
        assert_eq!(TelnyxError::Offline { host: "api.telnyx.com".into() }.code(), TelnyxErrorCode::Offline);
    }

    #[test]
    fn code_serializes_as_its_name() {
        assert_eq!(serde_json::to_string(&TelnyxErrorCode::TelnyxAuthRejected).unwrap(), "\"TelnyxAuthRejected\"");
    }
}
