//! The call log as it crosses the IPC boundary: one row per call, written by softphone-store.
//!
//! Not the live call (see [`crate::call`]): these are the rows of calls started and finished.

use serde::{Deserialize, Serialize};

use crate::call::Direction;
use crate::disposition::Disposition;
use crate::lead::LeadId;

/// A call-log row id (not the engine's [`crate::call::CallId`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallLogId(pub i64);

/// Which engine carried the call (see docs/architecture.md, "Why two call engines").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallEngine {
    /// The Telnyx WebRTC SDK in the webview.
    Webview,
    /// The Rust media engine.
    Native,
}

impl CallEngine {
    /// The name the diagnostics page shows.
    pub fn label(self) -> &'static str {
        match self {
            Self::Webview => "Webview (Telnyx WebRTC SDK)",
            Self::Native => "Native (Rust WebRTC)",
        }
    }
}

/// Where a call-log row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoggedCallState {
    /// Started and not finished yet.
    InProgress,
    /// Answered and hung up normally.
    Completed,
    /// Inbound and never answered.
    Missed,
    /// Never connected (busy, rejected, network or media failure).
    Failed,
    /// The app stopped before the call was finished (found at the next start).
    Interrupted,
}

macro_rules! text_enum {
    ($ty:ty { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// The stored (and wire) form.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            /// Reads the stored form; `None` for any other text.
            pub fn from_stored(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

text_enum!(Direction { Inbound => "inbound", Outbound => "outbound" });
text_enum!(CallEngine { Webview => "webview", Native => "native" });
text_enum!(LoggedCallState {
    InProgress => "in_progress",
    Completed => "completed",
    Missed => "missed",
    Failed => "failed",
    Interrupted => "interrupted",
});

impl LoggedCallState {
    /// The word the call log shows.
    pub fn label(self) -> &'static str {
        match self {
            Self::InProgress => "In progress",
            Self::Completed => "Completed",
            Self::Missed => "Missed",
            Self::Failed => "Failed",
            Self::Interrupted => "Interrupted",
        }
    }
}

/// One call as the call log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallLogEntry {
    pub id: CallLogId,
    pub direction: Direction,
    /// E.164 when the number is known, else the caller ID as presented (e.g. `anonymous`).
    pub remote_number: String,
    pub lead_id: Option<LeadId>,
    pub engine: CallEngine,
    /// Unix milliseconds.
    pub started_at_ms: i64,
    /// Unix milliseconds; `None` if never answered.
    pub answered_at_ms: Option<i64>,
    /// Unix milliseconds; `None` while in progress.
    pub ended_at_ms: Option<i64>,
    /// Talk time (answer to end) in milliseconds; 0 if never answered; `None` while in progress
    /// or when unknown (interrupted).
    pub duration_ms: Option<i64>,
    pub state: LoggedCallState,
    /// e.g. `NORMAL_CLEARING`, `USER_BUSY`.
    pub hangup_cause: Option<String>,
    pub sip_code: Option<u16>,
    pub disposition: Option<Disposition>,
    pub note: String,
    /// The number or SIP address the agent transferred the call to, if they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transferred_to: Option<String>,
    /// How long the call's recordings last together, if it was recorded and they were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_ms: Option<i64>,
}

/// Which calls the call log lists; every condition set must hold. The default lists every call.
/// Results are newest first and paged separately ([`crate::lead::Page`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CallLogFilter {
    /// Only inbound or only outbound calls.
    pub direction: Option<Direction>,
    /// Only calls in the state [`LoggedCallState::Missed`].
    pub missed_only: bool,
    /// Only the calls linked to this lead.
    pub lead: Option<LeadId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_forms_round_trip_and_match_the_wire() {
        for state in [
            LoggedCallState::InProgress,
            LoggedCallState::Completed,
            LoggedCallState::Missed,
            LoggedCallState::Failed,
            LoggedCallState::Interrupted,
        ] {
            assert_eq!(LoggedCallState::from_stored(state.as_str()), Some(state));
            assert_eq!(serde_json::to_value(state).expect("serializes"), state.as_str());
        }
        for direction in [Direction::Inbound, Direction::Outbound] {
            assert_eq!(Direction::from_stored(direction.as_str()), Some(direction));
        }
        for engine in [CallEngine::Webview, CallEngine::Native] {
            assert_eq!(CallEngine::from_stored(engine.as_str()), Some(engine));
        }
        assert_eq!(LoggedCallState::from_stored("ringing"), None);
    }

    #[test]
    fn a_call_log_filter_reads_with_any_field_missing() {
        let filter: CallLogFilter = serde_json::from_str(r#"{"direction":"inbound","lead":7}"#).expect("reads");
        assert_eq!(
            filter,
            CallLogFilter { direction: Some(Direction::Inbound), missed_only: false, lead: Some(LeadId(7)) }
        );
        assert_eq!(serde_json::from_str::<CallLogFilter>("{}").expect("reads"), CallLogFilter::default());
    }
}

/// A teammate's call, as the agent's file has it from the team (issue 21): who, with whom, how it
/// ended, the disposition and the latest note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamCallEntry {
    pub uuid: String,
    /// The teammate's name.
    pub agent: String,
    pub direction: crate::call::Direction,
    pub remote_number: String,
    /// answered, no_answer, busy, failed, missed, rejected, cancelled, transferred, interrupted.
    pub outcome: String,
    pub started_at_ms: i64,
    pub talk_seconds: i64,
    /// A disposition's code (`wrong-number`) or a team's own label.
    pub disposition: Option<String>,
    pub note: Option<String>,
}
