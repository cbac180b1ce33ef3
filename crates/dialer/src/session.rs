//! A dialing session: the agent works a call list, lead after lead, in preview or power mode.
//!
//! - **Preview**: the next lead's card is shown; the agent presses Call or Skip (with a reason).
//! - **Power**: once the wrap-up is saved the next lead is shown and dialled after a visible
//!   countdown (0-10 s), which the agent can pause, or cut short by calling at once.
//!
//! Either way the wrap-up of a call (its disposition) is saved before the next lead is dialled.
//! The session is a state machine like the call machine: events in, effects out, the clock passed
//! in, refusals typed. It carries the live figures and survives a restart (it serializes; a
//! session read back resumes at the same lead, paused, a call the restart cut off included).

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use softphone_core::call::CallId;
pub use softphone_core::dialing::Mode;
use softphone_core::disposition::Disposition;
use softphone_core::lead::LeadId;

/// The longest power-mode countdown.
pub const MAX_COUNTDOWN_MS: u32 = 10_000;
/// The power-mode countdown unless the agent chose another.
pub const DEFAULT_COUNTDOWN_MS: u32 = 3_000;

/// Where the session is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Stage {
    /// The lead's card is shown. In power mode, `dial_at_ms` is when it is dialled (none while
    /// paused).
    Showing { lead_id: LeadId, dial_at_ms: Option<i64>, paused: bool },
    /// The shell was asked to dial the lead; the call follows.
    Calling { lead_id: LeadId, call_id: Option<CallId>, answered_at_ms: Option<i64> },
    /// The lead's call ended; its wrap-up comes before the next lead.
    WrappingUp { lead_id: LeadId, call_id: Option<CallId> },
    /// The queue ran dry but more leads may come (a team campaign whose next claim has not
    /// landed: the team database is slow or away): the next one is shown as it comes.
    Waiting,
    /// No lead left, or the agent stopped.
    Finished,
}

/// A lead passed over, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skip {
    pub lead_id: LeadId,
    pub reason: String,
    pub at_ms: i64,
}

/// A lead the session dialled, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dialled {
    pub lead_id: LeadId,
    pub at_ms: i64,
}

/// The live figures of a session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub dials: u32,
    /// Calls answered.
    pub connects: u32,
    pub talk_ms: i64,
    /// How many wrap-ups chose each disposition.
    pub dispositions: BTreeMap<String, u32>,
    pub skipped: u32,
}

impl Figures {
    /// Dials per hour of session so far.
    pub fn calls_per_hour(&self, started_at_ms: i64, now_ms: i64) -> f64 {
        let hours = (now_ms - started_at_ms).max(1) as f64 / 3_600_000.0;
        f64::from(self.dials) / hours
    }
}

/// What the agent or the call does to the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SessionEvent {
    /// Call the shown lead now (preview's Call, power's "call now").
    Call,
    /// Pass over the shown lead.
    Skip {
        reason: String,
    },
    /// Stop the power countdown.
    Pause,
    /// Start the power countdown again, from its full length.
    Resume,
    /// The shell placed the call to the lead.
    CallPlaced {
        call_id: CallId,
    },
    /// The shell could not dial the lead (the rules refused or deferred it, the number failed):
    /// it is skipped with `reason`.
    DialRefused {
        reason: String,
    },
    CallAnswered,
    CallEnded,
    /// The agent dropped a greeting into the answered call (the lead's voicemail): it counts as
    /// wrapped up with `voicemail-left`, and the next lead comes at once while the greeting plays.
    VoicemailDropped,
    /// The wrap-up was saved with this disposition.
    WrapUpSaved {
        disposition: String,
    },
    /// Time passes: a power countdown that ran out dials.
    Tick,
    /// The agent ends the session.
    Stop,
    /// More leads for the end of the queue: a team campaign's leads come one claim at a time, and
    /// the shell claims the next while the agent works the current one.
    LeadsAdded {
        leads: Vec<LeadId>,
    },
    /// The source of [`SessionEvent::LeadsAdded`] has none left: the session ends when its queue
    /// runs dry (at once, if it is waiting).
    NoMoreLeads,
}

/// What the shell does for the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SessionEffect {
    /// Show this lead's card.
    Show { lead_id: LeadId },
    /// Check the rules and dial this lead (answer with `CallPlaced` or `DialRefused`).
    Dial { lead_id: LeadId },
    /// The session is over.
    Finished,
}

/// Why an event does not apply now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SessionRejection {
    #[error("Save the wrap-up of this call (its disposition) before the next lead.")]
    WrapUpFirst,
    #[error("A call is under way; end it first.")]
    CallUnderWay,
    #[error("The session has ended.")]
    Finished,
    #[error("That does not apply now.")]
    NotNow,
    #[error("Say why the lead is skipped.")]
    SkipNeedsReason,
    #[error("Choose a disposition for the wrap-up.")]
    DispositionRequired,
}

/// A dialing session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialingSession {
    pub mode: Mode,
    /// The leads still to come, in order (the shown one not included).
    pub queue: VecDeque<LeadId>,
    pub stage: Stage,
    pub figures: Figures,
    pub skips: Vec<Skip>,
    /// Every lead dialled, in order (for the session's report).
    #[serde(default)]
    pub dialled: Vec<Dialled>,
    pub started_at_ms: i64,
    /// A team campaign's id when the leads come from the team (claimed as the session goes);
    /// `None` for a list of the agent's own leads.
    #[serde(default)]
    pub team_campaign: Option<String>,
    /// More leads may come after the queue runs dry ([`SessionEvent::LeadsAdded`]): the session
    /// then waits for them rather than finishing, until [`SessionEvent::NoMoreLeads`].
    #[serde(default)]
    pub more_to_come: bool,
}

impl DialingSession {
    /// Starts on `leads` (a call list's ready leads, in order): the first one is shown (in power
    /// mode, with its countdown running).
    pub fn start(mode: Mode, leads: impl IntoIterator<Item = LeadId>, now_ms: i64) -> (Self, Vec<SessionEffect>) {
        let mode = match mode {
            Mode::Power { countdown_ms } => Mode::Power { countdown_ms: countdown_ms.min(MAX_COUNTDOWN_MS) },
            Mode::Preview => Mode::Preview,
        };
        let mut session = DialingSession {
            mode,
            queue: leads.into_iter().collect(),
            stage: Stage::Finished,
            figures: Figures::default(),
            skips: Vec::new(),
            dialled: Vec::new(),
            started_at_ms: now_ms,
            team_campaign: None,
            more_to_come: false,
        };
        let effects = session.next_lead(now_ms);
        (session, effects)
    }

    /// Like [`DialingSession::start`], for a source that hands its leads out as the session goes
    /// (a team campaign): an empty queue waits for [`SessionEvent::LeadsAdded`] until
    /// [`SessionEvent::NoMoreLeads`].
    pub fn start_open_ended(
        mode: Mode,
        leads: impl IntoIterator<Item = LeadId>,
        now_ms: i64,
    ) -> (Self, Vec<SessionEffect>) {
        let (mut session, _) = DialingSession::start(mode, Vec::new(), now_ms);
        session.more_to_come = true;
        session.queue = leads.into_iter().collect();
        let effects = session.next_lead(now_ms);
        (session, effects)
    }

    /// The session as read back after a restart: at the same lead, the countdown paused. A call
    /// the restart cut off (it is in the log as interrupted), or a wrap-up it left unsaved (its
    /// form went with the window), brings its lead back the same way: the agent calls again or
    /// skips it, and is never left at a wrap-up nothing on screen can save.
    pub fn resumed(mut self) -> Self {
        self.stage = match self.stage {
            Stage::Showing { lead_id, .. } | Stage::Calling { lead_id, .. } | Stage::WrappingUp { lead_id, .. } => {
                Stage::Showing { lead_id, dial_at_ms: None, paused: true }
            }
            Stage::Waiting => Stage::Waiting,
            Stage::Finished => Stage::Finished,
        };
        self
    }

    /// The lead the session is on, if any.
    pub fn current_lead(&self) -> Option<LeadId> {
        match &self.stage {
            Stage::Showing { lead_id, .. } | Stage::Calling { lead_id, .. } | Stage::WrappingUp { lead_id, .. } => {
                Some(*lead_id)
            }
            Stage::Waiting | Stage::Finished => None,
        }
    }

    /// The leads the session holds: the one it is on, then those queued.
    pub fn leads_held(&self) -> Vec<LeadId> {
        self.current_lead().into_iter().chain(self.queue.iter().copied()).collect()
    }

    /// The leads `event` lets go of, for a source that hands them out (a team campaign) to take
    /// back unworked: on Skip the lead shown; on Stop the lead shown and those queued. A lead at
    /// its wrap-up is not among them: its wrap-up gives it back, with its disposition.
    pub fn let_go_by(&self, event: &SessionEvent) -> Vec<LeadId> {
        let showing = match self.stage {
            Stage::Showing { lead_id, .. } => Some(lead_id),
            _ => None,
        };
        match event {
            SessionEvent::Skip { .. } => showing.into_iter().collect(),
            SessionEvent::Stop => showing.into_iter().chain(self.queue.iter().copied()).collect(),
            _ => Vec::new(),
        }
    }

    /// Leads not yet done, the current one included.
    pub fn leads_left(&self) -> usize {
        self.queue.len() + usize::from(self.current_lead().is_some())
    }

    /// Applies `event` at `now_ms`.
    pub fn apply(&mut self, event: SessionEvent, now_ms: i64) -> Result<Vec<SessionEffect>, SessionRejection> {
        match (&self.stage, event) {
            (Stage::Finished, SessionEvent::Stop | SessionEvent::Tick | SessionEvent::NoMoreLeads) => Ok(Vec::new()),
            (_, SessionEvent::LeadsAdded { leads }) if self.stage != Stage::Finished => {
                // A lead comes once a session: not again while queued or shown, nor after it was
                // dialled or skipped (a callback for it waits for the next session).
                for lead in leads {
                    let seen = self.current_lead() == Some(lead)
                        || self.queue.contains(&lead)
                        || self.dialled.iter().any(|dialled| dialled.lead_id == lead)
                        || self.skips.iter().any(|skip| skip.lead_id == lead);
                    if !seen {
                        self.queue.push_back(lead);
                    }
                }
                if self.stage == Stage::Waiting { Ok(self.next_lead(now_ms)) } else { Ok(Vec::new()) }
            }
            (_, SessionEvent::NoMoreLeads) => {
                self.more_to_come = false;
                if self.stage == Stage::Waiting { Ok(self.next_lead(now_ms)) } else { Ok(Vec::new()) }
            }
            (Stage::Finished, _) => Err(SessionRejection::Finished),
            (_, SessionEvent::Stop) => {
                if matches!(self.stage, Stage::Calling { .. }) {
                    return Err(SessionRejection::CallUnderWay);
                }
                self.stage = Stage::Finished;
                Ok(vec![SessionEffect::Finished])
            }

            (Stage::Showing { lead_id, .. }, SessionEvent::Call) => Ok(self.dial(*lead_id)),
            (Stage::Showing { lead_id, dial_at_ms: Some(at), paused: false }, SessionEvent::Tick) if *at <= now_ms => {
                Ok(self.dial(*lead_id))
            }
            (Stage::Showing { .. }, SessionEvent::Tick) => Ok(Vec::new()),
            (Stage::Showing { lead_id, .. }, SessionEvent::Skip { reason }) => {
                let reason = reason.trim().to_owned();
                if reason.is_empty() {
                    return Err(SessionRejection::SkipNeedsReason);
                }
                let lead_id = *lead_id;
                self.skip(lead_id, reason, now_ms);
                Ok(self.next_lead(now_ms))
            }
            (Stage::Showing { lead_id, .. }, SessionEvent::Pause) if matches!(self.mode, Mode::Power { .. }) => {
                self.stage = Stage::Showing { lead_id: *lead_id, dial_at_ms: None, paused: true };
                Ok(Vec::new())
            }
            (Stage::Showing { lead_id, .. }, SessionEvent::Resume) if matches!(self.mode, Mode::Power { .. }) => {
                self.stage =
                    Stage::Showing { lead_id: *lead_id, dial_at_ms: self.countdown_end(now_ms), paused: false };
                Ok(Vec::new())
            }

            (Stage::Calling { lead_id, call_id: None, .. }, SessionEvent::CallPlaced { call_id }) => {
                self.figures.dials += 1;
                self.dialled.push(Dialled { lead_id: *lead_id, at_ms: now_ms });
                self.stage = Stage::Calling { lead_id: *lead_id, call_id: Some(call_id), answered_at_ms: None };
                Ok(Vec::new())
            }
            (Stage::Calling { lead_id, call_id: None, .. }, SessionEvent::DialRefused { reason }) => {
                let lead_id = *lead_id;
                self.skip(lead_id, reason, now_ms);
                Ok(self.next_lead(now_ms))
            }
            (Stage::Calling { lead_id, call_id: Some(call_id), answered_at_ms: None }, SessionEvent::CallAnswered) => {
                self.figures.connects += 1;
                self.stage =
                    Stage::Calling { lead_id: *lead_id, call_id: Some(call_id.clone()), answered_at_ms: Some(now_ms) };
                Ok(Vec::new())
            }
            (Stage::Calling { lead_id, call_id: Some(call_id), answered_at_ms }, SessionEvent::CallEnded) => {
                if let Some(answered) = answered_at_ms {
                    self.figures.talk_ms += (now_ms - answered).max(0);
                }
                self.stage = Stage::WrappingUp { lead_id: *lead_id, call_id: Some(call_id.clone()) };
                Ok(Vec::new())
            }
            (
                Stage::Calling { call_id: Some(_), answered_at_ms: Some(answered), .. },
                SessionEvent::VoicemailDropped,
            ) => {
                self.figures.talk_ms += (now_ms - answered).max(0);
                *self.figures.dispositions.entry(Disposition::VoicemailLeft.code().to_owned()).or_default() += 1;
                Ok(self.next_lead(now_ms))
            }
            (Stage::Calling { .. }, SessionEvent::Tick | SessionEvent::CallAnswered) => Ok(Vec::new()),
            (Stage::Calling { .. }, _) => Err(SessionRejection::CallUnderWay),

            (Stage::WrappingUp { .. }, SessionEvent::WrapUpSaved { disposition }) => {
                let disposition = disposition.trim().to_owned();
                if disposition.is_empty() {
                    return Err(SessionRejection::DispositionRequired);
                }
                *self.figures.dispositions.entry(disposition).or_default() += 1;
                Ok(self.next_lead(now_ms))
            }
            (Stage::WrappingUp { .. }, SessionEvent::Tick) => Ok(Vec::new()),
            (Stage::Waiting, SessionEvent::Tick) => Ok(Vec::new()),
            (Stage::WrappingUp { .. }, _) => Err(SessionRejection::WrapUpFirst),

            (_, _) => Err(SessionRejection::NotNow),
        }
    }

    fn dial(&mut self, lead_id: LeadId) -> Vec<SessionEffect> {
        self.stage = Stage::Calling { lead_id, call_id: None, answered_at_ms: None };
        vec![SessionEffect::Dial { lead_id }]
    }

    fn skip(&mut self, lead_id: LeadId, reason: String, now_ms: i64) {
        self.figures.skipped += 1;
        self.skips.push(Skip { lead_id, reason, at_ms: now_ms });
    }

    fn countdown_end(&self, now_ms: i64) -> Option<i64> {
        match self.mode {
            Mode::Power { countdown_ms } => Some(now_ms + i64::from(countdown_ms)),
            Mode::Preview => None,
        }
    }

    /// Shows the next lead, or finishes.
    fn next_lead(&mut self, now_ms: i64) -> Vec<SessionEffect> {
        match self.queue.pop_front() {
            // Power mode without a countdown: shown and dialled at once.
            Some(lead_id) if self.mode == (Mode::Power { countdown_ms: 0 }) => {
                let mut effects = vec![SessionEffect::Show { lead_id }];
                effects.extend(self.dial(lead_id));
                effects
            }
            Some(lead_id) => {
                self.stage = Stage::Showing { lead_id, dial_at_ms: self.countdown_end(now_ms), paused: false };
                vec![SessionEffect::Show { lead_id }]
            }
            None if self.more_to_come => {
                self.stage = Stage::Waiting;
                Vec::new()
            }
            None => {
                self.stage = Stage::Finished;
                vec![SessionEffect::Finished]
            }
        }
    }
}
