//! The dialer's types that cross the IPC boundary: the filter a call list is made of, the mode a
//! session dials in, and what the window shows of a list and of a session. The policy behind
//! them is softphone-dialer's.

use serde::{Deserialize, Serialize};

use crate::lead::LeadId;

/// Which leads a call list holds. Empty criteria hold every lead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListFilter {
    /// Leads with any of these tags (ignoring case).
    pub tags: Vec<String>,
    /// Leads in this city (ignoring case).
    pub city: Option<String>,
    /// Leads whose latest disposition is this code or label (ignoring case).
    pub last_disposition: Option<String>,
    /// Only leads never called.
    pub never_called: bool,
    /// Only leads not called for at least this many days (never called counts).
    pub not_called_for_days: Option<u32>,
    /// Only leads with a callback due.
    pub callback_due: bool,
}

/// Local calling hours, the same in every zone: from `start_minute` (inclusive) to `end_minute`
/// (exclusive), in minutes after local midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallingHours {
    pub start_minute: u16,
    pub end_minute: u16,
}

impl Default for CallingHours {
    /// 8:00 to 21:00, the hours the US Telephone Consumer Protection Act allows.
    fn default() -> Self {
        CallingHours { start_minute: 8 * 60, end_minute: 21 * 60 }
    }
}

impl CallingHours {
    /// Whether `minute_of_day` (0-1439) is inside the hours.
    pub fn contains(self, minute_of_day: u16) -> bool {
        (self.start_minute..self.end_minute).contains(&minute_of_day)
    }

    /// Hours that open before they close, within a day.
    pub fn is_valid(self) -> bool {
        self.start_minute < self.end_minute && self.end_minute <= 24 * 60
    }
}

/// How a session dials the next lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mode {
    /// The agent presses Call for each lead.
    Preview,
    /// The next lead is dialled `countdown_ms` after the previous wrap-up is saved.
    Power { countdown_ms: u32 },
}

/// A call list counted and previewed before a session starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListPreview {
    /// The leads to dial now, in order (the first ones).
    pub first: Vec<LeadId>,
    pub ready: u32,
    /// Outside their hours or their gap: they come back later.
    pub deferred: u32,
    /// When the first deferred lead comes back (unix milliseconds).
    pub next_back_at_ms: Option<i64>,
    /// Never dialled (do-not-call, attempts used up).
    pub refused: u32,
}

/// What the agent does to a running session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DialingAction {
    /// Call the shown lead now.
    Call,
    /// Pass over the shown lead, saying why.
    Skip { reason: String },
    /// Stop the power countdown.
    Pause,
    /// Start it again.
    Resume,
    /// End the session.
    Stop,
}

/// Where a session is, for the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DialingStage {
    Showing,
    Calling,
    WrappingUp,
    /// Waiting for the next lead of a team campaign (the team database is slow or away).
    Waiting,
    Finished,
}

/// A dialing session as the window shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DialingView {
    pub mode: Mode,
    pub stage: DialingStage,
    /// The lead on screen.
    pub lead_id: Option<LeadId>,
    /// Power mode: when the shown lead is dialled (unix milliseconds); none while paused.
    pub dial_at_ms: Option<i64>,
    pub paused: bool,
    pub leads_left: u32,
    pub dials: u32,
    pub connects: u32,
    pub talk_ms: i64,
    pub skipped: u32,
    /// How many wrap-ups chose each disposition.
    pub dispositions: Vec<(String, u32)>,
    /// Dials per hour, once the session has run long enough (5 minutes) for the rate to mean
    /// something.
    pub calls_per_hour: Option<f64>,
    /// Why the last lead was passed over (a skip, or a refusal of the rules).
    pub last_skip: Option<String>,
}
