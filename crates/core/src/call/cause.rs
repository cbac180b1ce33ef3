//! Why a call ended, in the words Telnyx uses (Q.850 cause names) and in the agent's words.

use serde::{Deserialize, Serialize};

/// The hangup cause an engine reports (`cause` / `causeCode` of `telnyx_rtc.bye`), or one the
/// state machine decides itself (a deadline expired).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HangupCause {
    NormalClearing,
    UserBusy,
    NoUserResponse,
    NoAnswer,
    CallRejected,
    UnallocatedNumber,
    InvalidNumberFormat,
    DestinationOutOfOrder,
    NetworkOutOfOrder,
    NormalTemporaryFailure,
    OriginatorCancel,
    RecoveryOnTimerExpire,
    /// No audio codec in common with the far end (Telnyx: Q.850 88, SIP 488).
    IncompatibleDestination,
    /// A SIP user (a colleague's phone) with no client signed in (SIP 480).
    UserNotRegistered,
    /// The connection to Telnyx was lost and the call could not be recovered in time.
    NetworkLost,
    /// A state that should have moved on did not before its deadline.
    Timeout,
    /// The engine failed the call (media, SDP, microphone permission).
    EngineFailure,
    /// A cause string this app does not know; kept verbatim for the call log.
    #[serde(untagged)]
    Other(String),
}

impl HangupCause {
    /// Parses Telnyx's cause name (`"USER_BUSY"`), falling back to its Q.850 code.
    pub fn from_telnyx(cause: Option<&str>, cause_code: Option<u16>) -> Self {
        let by_name = cause.map(|name| match name.trim().to_ascii_uppercase().as_str() {
            "NORMAL_CLEARING" => Self::NormalClearing,
            "USER_BUSY" => Self::UserBusy,
            "NO_USER_RESPONSE" => Self::NoUserResponse,
            "NO_ANSWER" => Self::NoAnswer,
            "CALL_REJECTED" => Self::CallRejected,
            "UNALLOCATED_NUMBER" => Self::UnallocatedNumber,
            "INVALID_NUMBER_FORMAT" => Self::InvalidNumberFormat,
            "DESTINATION_OUT_OF_ORDER" => Self::DestinationOutOfOrder,
            "NETWORK_OUT_OF_ORDER" => Self::NetworkOutOfOrder,
            "NORMAL_TEMPORARY_FAILURE" => Self::NormalTemporaryFailure,
            "ORIGINATOR_CANCEL" => Self::OriginatorCancel,
            "RECOVERY_ON_TIMER_EXPIRE" => Self::RecoveryOnTimerExpire,
            "INCOMPATIBLE_DESTINATION" => Self::IncompatibleDestination,
            "USER_NOT_REGISTERED" => Self::UserNotRegistered,
            "" => Self::Other(String::new()),
            other => Self::Other(other.to_owned()),
        });
        match (by_name, cause_code) {
            (Some(known), _) if !matches!(&known, Self::Other(text) if text.is_empty()) => known,
            (_, Some(code)) => Self::from_q850(code),
            _ => Self::Other("UNKNOWN".to_owned()),
        }
    }

    fn from_q850(code: u16) -> Self {
        match code {
            16 => Self::NormalClearing,
            17 => Self::UserBusy,
            18 => Self::NoUserResponse,
            19 => Self::NoAnswer,
            21 => Self::CallRejected,
            1 => Self::UnallocatedNumber,
            28 => Self::InvalidNumberFormat,
            27 => Self::DestinationOutOfOrder,
            38 => Self::NetworkOutOfOrder,
            41 => Self::NormalTemporaryFailure,
            102 => Self::RecoveryOnTimerExpire,
            88 => Self::IncompatibleDestination,
            487 => Self::OriginatorCancel,
            other => Self::Other(format!("CAUSE_{other}")),
        }
    }

    /// What the agent reads next to an ended call.
    pub fn describe(&self) -> &str {
        match self {
            Self::NormalClearing => "Call ended",
            Self::UserBusy => "Busy",
            Self::NoUserResponse | Self::NoAnswer => "No answer",
            Self::CallRejected => "Call rejected",
            Self::UnallocatedNumber => "Number does not exist",
            Self::InvalidNumberFormat => "Invalid number",
            Self::DestinationOutOfOrder => "Destination unreachable",
            Self::NetworkOutOfOrder | Self::NormalTemporaryFailure => "Network problem",
            Self::OriginatorCancel => "Cancelled",
            Self::RecoveryOnTimerExpire => "Timed out",
            Self::IncompatibleDestination => "No audio format in common",
            Self::UserNotRegistered => "Not signed in on any phone",
            Self::NetworkLost => "Connection lost",
            Self::Timeout => "Timed out",
            Self::EngineFailure => "Call failed in the app",
            Self::Other(name) => name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_then_codes() {
        let cases = [
            (Some("USER_BUSY"), Some(17), HangupCause::UserBusy),
            (Some("normal_clearing"), None, HangupCause::NormalClearing),
            (None, Some(21), HangupCause::CallRejected),
            (Some(""), Some(19), HangupCause::NoAnswer),
            (Some("SOMETHING_NEW"), Some(16), HangupCause::Other("SOMETHING_NEW".into())),
            (None, None, HangupCause::Other("UNKNOWN".into())),
            (None, Some(999), HangupCause::Other("CAUSE_999".into())),
            (Some("INCOMPATIBLE_DESTINATION"), Some(88), HangupCause::IncompatibleDestination),
            (None, Some(88), HangupCause::IncompatibleDestination),
            (Some("USER_NOT_REGISTERED"), Some(606), HangupCause::UserNotRegistered),
        ];
        for (name, code, expected) in cases {
            assert_eq!(HangupCause::from_telnyx(name, code), expected, "{name:?} {code:?}");
        }
    }

    #[test]
    fn serializes_as_telnyx_names() {
        assert_eq!(serde_json::to_string(&HangupCause::UserBusy).expect("json"), "\"USER_BUSY\"");
        assert_eq!(serde_json::to_string(&HangupCause::Other("X_Y".into())).expect("json"), "\"X_Y\"");
    }
}
