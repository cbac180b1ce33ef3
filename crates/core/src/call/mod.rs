//! The call state machine: the one truth about every call.
//!
//! Pure: [`CallMachine::handle`] takes an event and the current time and returns the effects the
//! shell must carry out (tell the engine, write the call log, ring, notify). It never reads a
//! clock and does no I/O, so every transition is tested with tables and property tests.
//!
//! Invariants (checked by `tests/call_machine_properties.rs` over random event sequences):
//! - at most one call is in the foreground (dialing, early media, answering, or connected and
//!   not held); answering or dialing while another call is connected holds that call first;
//! - every call that was logged as started is logged as finished exactly once;
//! - an ended call never changes again;
//! - every state that can stick has a deadline; [`CallEvent::Tick`] expires it;
//! - the ringer rings only while a call is ringing (call-waiting tone if another call is in the
//!   foreground).

mod cause;
mod machine;

pub use cause::HangupCause;
pub use machine::{CallMachine, MAX_ENDED_CALLS};

use serde::{Deserialize, Serialize};

use crate::lead::LeadId;

/// Milliseconds since the Unix epoch. The caller passes the time in; the machine never reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UnixMillis(pub u64);

impl UnixMillis {
    pub fn plus_secs(self, seconds: u64) -> Self {
        Self(self.0.saturating_add(seconds.saturating_mul(1000)))
    }

    pub fn millis_since(self, earlier: UnixMillis) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// The engine's id of a call (the SDK's `callID`, a UUID).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallId(pub String);

impl From<&str> for CallId {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl CallId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// The other end of a call as the engine or the agent named it. `number` is E.164 for calls the
/// agent dials; for inbound calls it is whatever caller id arrived (it may be "anonymous").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub number: String,
    pub name: Option<String>,
}

/// The SDK's call states (`call.state`), plus anything unknown kept verbatim. On the wire it is
/// the SDK's string; an unknown string deserializes to [`SdkState::Unknown`], never an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum SdkState {
    New,
    Requesting,
    Trying,
    Recovering,
    Ringing,
    Answering,
    Early,
    Active,
    Held,
    Hangup,
    Destroy,
    Purge,
    Unknown(String),
}

impl From<String> for SdkState {
    fn from(state: String) -> Self {
        Self::parse(&state)
    }
}

impl From<SdkState> for String {
    fn from(state: SdkState) -> Self {
        state.as_str().to_owned()
    }
}

impl SdkState {
    pub fn as_str(&self) -> &str {
        match self {
            Self::New => "new",
            Self::Requesting => "requesting",
            Self::Trying => "trying",
            Self::Recovering => "recovering",
            Self::Ringing => "ringing",
            Self::Answering => "answering",
            Self::Early => "early",
            Self::Active => "active",
            Self::Held => "held",
            Self::Hangup => "hangup",
            Self::Destroy => "destroy",
            Self::Purge => "purge",
            Self::Unknown(other) => other,
        }
    }

    /// Parses the SDK's state string. Unknown strings become [`SdkState::Unknown`], never an error.
    pub fn parse(state: &str) -> Self {
        match state {
            "new" => Self::New,
            "requesting" => Self::Requesting,
            "trying" => Self::Trying,
            "recovering" => Self::Recovering,
            "ringing" => Self::Ringing,
            "answering" => Self::Answering,
            "early" => Self::Early,
            "active" => Self::Active,
            "held" => Self::Held,
            "hangup" => Self::Hangup,
            "destroy" => Self::Destroy,
            "purge" => Self::Purge,
            other => Self::Unknown(other.to_owned()),
        }
    }
}

/// Telnyx's ids of the softphone's leg of a call (the SDK's `telnyxIDs`): what Call Control
/// actions name. Telnyx sends them only when the connection uses Call Control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelnyxLeg {
    /// `telnyx_call_control_id` (`v3:...`).
    pub call_control_id: String,
    /// `telnyx_session_id`: shared with the other legs of the call (the customer's).
    pub call_session_id: String,
}

/// What an engine (webview SDK or native) reports about one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EngineUpdate {
    /// A new inbound call (`telnyx_rtc.invite` from the server).
    Incoming { remote: Party },
    /// The SDK's call state changed.
    State { state: SdkState },
    /// The call ended (BYE either way), with Telnyx's cause and the SIP code when known.
    Ended { cause: HangupCause, sip_code: Option<u16> },
    /// The engine failed this call (media, SDP, permission); the message is for the log.
    Failed { message: String },
    /// The far end is someone else now (`telnyx_rtc.display`, e.g. after a transfer): the new
    /// name and number, each only when given.
    RemoteChanged { name: Option<String>, number: Option<String> },
    /// Telnyx named the call's leg (`ringing`, `answer` or the inbound `invite`).
    Leg { leg: TelnyxLeg },
}

/// Everything that can happen to the calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CallEvent {
    /// The agent dials `remote`. The shell has validated the number and chose the call id.
    Dial {
        call_id: CallId,
        remote: Party,
        lead_id: Option<LeadId>,
        /// The caller-ID number the call presents (local presence); `None` leaves it to Telnyx,
        /// which presents the connection's own number.
        #[serde(default)]
        caller_number: Option<String>,
    },
    /// The agent answers a ringing call (holding the call in the foreground, if any).
    Answer {
        call_id: CallId,
    },
    /// The agent drops a recorded greeting into a connected call (the far end's voicemail): it
    /// plays instead of the microphone, then the call hangs up by itself.
    DropVoicemail {
        call_id: CallId,
        /// The greeting's WAV file.
        greeting: String,
    },
    /// The agent declines a ringing call.
    Decline {
        call_id: CallId,
    },
    /// The agent hangs up (or cancels a call being dialled).
    Hangup {
        call_id: CallId,
    },
    Hold {
        call_id: CallId,
    },
    /// The agent takes a held call back (holding the call in the foreground, if any).
    Resume {
        call_id: CallId,
    },
    SetMuted {
        call_id: CallId,
        muted: bool,
    },
    /// DTMF digits from the keypad: `0-9`, `*`, `#`, `A-D`.
    SendDigits {
        call_id: CallId,
        digits: String,
    },
    /// The agent is done with an ended call (wrap-up saved or dismissed): it leaves the list.
    Dismiss {
        call_id: CallId,
    },
    /// The shell matched a lead to the caller (screen-pop).
    LeadMatched {
        call_id: CallId,
        lead_id: LeadId,
    },
    Engine {
        call_id: CallId,
        update: EngineUpdate,
    },
    /// Time passed; expires deadlines. The shell sends it about once a second while calls exist.
    Tick,
    /// The agent hands the connected call on to `to` (an E.164 number or a SIP address the
    /// shell validated): Telnyx dials it and, when it answers, bridges the caller to it and hangs
    /// up the agent's leg (a blind transfer through Call Control).
    Transfer {
        call_id: CallId,
        to: String,
    },
    /// Whether a caller on hold hears music, and which (`None`: the account's default).
    SetHoldMusic {
        on: bool,
        url: Option<String>,
    },
    /// Telnyx refused a Call Control action on the call, or it could not be sent: the call
    /// goes on as before and the agent reads `message`.
    CallControlRefused {
        call_id: CallId,
        refused: CallControlAction,
        message: String,
    },
    /// The agent starts recording the call (Telnyx records it, after a beep both sides hear).
    Record {
        call_id: CallId,
    },
    /// The agent pauses the recording (`true`: a card number is read out) or resumes it.
    PauseRecording {
        call_id: CallId,
        paused: bool,
    },
    /// The agent stops the recording (it is kept).
    StopRecording {
        call_id: CallId,
    },
    /// Every call is recorded from its answer on (`on`), or only when the agent asks; the
    /// caller first hears `announcement` (an audio address), if any.
    SetAutoRecord {
        on: bool,
        #[serde(default)]
        announcement: Option<String>,
    },
    /// Consult transfer, completed: the caller of `call_id` (on hold) and the colleague on
    /// `consult` (connected) are put through to each other; the agent drops out of both.
    CompleteTransfer {
        call_id: CallId,
        consult: CallId,
    },
    /// Consult transfer, merged: the caller of `call_id` (on hold), the colleague on `consult`
    /// and the agent talk together (a conference the agent can leave).
    Merge {
        call_id: CallId,
        consult: CallId,
    },
    /// Telnyx put both parties in the conference: the agent's consult leg can go, and the
    /// agent comes off hold into the conference.
    Merged {
        call_id: CallId,
        consult: CallId,
        /// Telnyx's id of the conference.
        #[serde(default)]
        conference_id: String,
    },
    /// The agent mutes, unmutes, holds or takes off hold one party of the three-way call.
    SetParticipant {
        call_id: CallId,
        who: Participant,
        change: ParticipantChange,
    },
    /// The call's recordings were downloaded and kept with the call log.
    RecordingsKept {
        call_id: CallId,
        duration_ms: u64,
    },
    /// Do Not Disturb turned on or off. While on, an inbound call is turned away at once: the
    /// caller hears busy, the call log says missed, nothing rings and nothing pops up.
    SetDoNotDisturb {
        on: bool,
    },
}

/// What the agent sees for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallView {
    Dialing,
    EarlyMedia,
    Ringing,
    Answering,
    Active,
    Holding,
    Held,
    Resuming,
    Reconnecting,
    /// Handed on: Telnyx is ringing the transfer's destination; the agent's leg ends when it
    /// answers, and the call goes back to connected if it does not.
    Transferring,
    /// The caller is being brought into a conference with the colleague (consult, merged).
    Merging,
    /// A recorded greeting is being played into the call (a voicemail drop); the call hangs up
    /// when it ends. The agent is free: it is not on the microphone or speaker.
    LeavingVoicemail,
    Ending,
    Ended,
}

impl CallView {
    /// Connected and on the agent's microphone and speaker: answering or resuming another call
    /// puts this one on hold first (so the Answer button says "Hold & answer").
    pub fn is_held_to_answer_another(self) -> bool {
        matches!(self, CallView::Active | CallView::Resuming)
    }
}

/// How a call ended, for the call log and the agent's wrap-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// It was connected; any cause.
    Completed,
    /// Inbound, never answered here, and not declined by the agent.
    Missed,
    /// Inbound, declined by the agent.
    Declined,
    /// Outbound, the agent hung up before it was answered.
    Cancelled,
    Busy,
    NoAnswer,
    Rejected,
    /// Outbound, it never connected for another reason (bad number, network, engine failure).
    Failed,
    /// Connected, then handed on to someone else (blind transfer).
    Transferred,
}

impl CallOutcome {
    /// The state its call-log row ends in: a declined inbound call was not taken, so it is
    /// missed (the Calls badge counts it); a call that never connected for any other reason
    /// failed, and its cause says which.
    pub fn logged_state(self) -> crate::call_log::LoggedCallState {
        use crate::call_log::LoggedCallState;
        match self {
            CallOutcome::Completed | CallOutcome::Transferred => LoggedCallState::Completed,
            CallOutcome::Missed | CallOutcome::Declined => LoggedCallState::Missed,
            CallOutcome::Cancelled
            | CallOutcome::Busy
            | CallOutcome::NoAnswer
            | CallOutcome::Rejected
            | CallOutcome::Failed => LoggedCallState::Failed,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallEnd {
    pub outcome: CallOutcome,
    pub cause: HangupCause,
    /// The cause in the agent's words.
    pub cause_label: String,
    pub sip_code: Option<u16>,
    pub at: UnixMillis,
    /// Whom the call was handed on to ([`CallOutcome::Transferred`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transferred_to: Option<String>,
}

/// One call as the UI renders it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallSnapshot {
    pub call_id: CallId,
    pub direction: Direction,
    pub remote: Party,
    pub lead_id: Option<LeadId>,
    pub view: CallView,
    pub muted: bool,
    pub started_at: UnixMillis,
    pub answered_at: Option<UnixMillis>,
    pub end: Option<CallEnd>,
    /// The caller-ID number an outbound call presents, when the app chose one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_number: Option<String>,
    /// What Call Control does with the call (transfer, hold music).
    #[serde(default)]
    pub control: CallControlView,
}

/// A call's Call Control side, as the agent sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CallControlView {
    /// Telnyx named the call's leg, so Call Control actions (transfer) can act on it.
    pub available: bool,
    /// Where the call is being (or was) handed on to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_to: Option<String>,
    /// Something the agent must read about the call: why a transfer or the hold music did not
    /// happen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// The caller hears hold music.
    #[serde(default)]
    pub hold_music: bool,
    /// The agent talks in a conference with the caller and a colleague.
    #[serde(default)]
    pub conference: bool,
    /// The conference's other parties.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<ParticipantView>,
    /// Whether the call is being recorded.
    #[serde(default)]
    pub recording: RecordingView,
    /// The recordings kept in the call log once the call ended: how long they last together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_recording_ms: Option<u64>,
}

/// A party of the agent's three-way call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Participant {
    /// Who called (or was called) first.
    Caller,
    /// Who the agent consulted.
    Colleague,
}

/// What the agent does to a party of the three-way call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantChange {
    Mute,
    Unmute,
    Hold,
    Unhold,
}

/// A party of the three-way call as the card shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantView {
    pub who: Participant,
    pub number: String,
    pub muted: bool,
    pub held: bool,
}

/// A call's recording, as the agent sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingView {
    /// Not being recorded (perhaps recorded earlier in the call).
    #[default]
    Off,
    /// Telnyx records it.
    Recording,
    /// Paused: what is said now is not kept.
    Paused,
}

/// Every call, oldest first; the payload of `call://updated`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CallsSnapshot {
    pub calls: Vec<CallSnapshot>,
    /// Counts the changes of the calls: a window that holds a higher revision ignores this one
    /// (events and reads can arrive in either order).
    #[serde(default)]
    pub revision: u64,
    /// Do Not Disturb: inbound calls are turned away (busy, logged missed) while it is on.
    #[serde(default)]
    pub do_not_disturb: bool,
}

/// What the shell tells an engine to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EngineCommand {
    Dial {
        call_id: CallId,
        number: String,
        /// The caller-ID number to present; `None` for the connection's own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caller_number: Option<String>,
    },
    Answer {
        call_id: CallId,
    },
    /// Plays the greeting (a WAV file) into the call instead of the microphone, then hangs up.
    PlayVoicemail {
        call_id: CallId,
        greeting: String,
    },
    /// Ends the call; for a ringing inbound call this declines it (`USER_BUSY`).
    Hangup {
        call_id: CallId,
    },
    Hold {
        call_id: CallId,
    },
    Unhold {
        call_id: CallId,
    },
    SetMuted {
        call_id: CallId,
        muted: bool,
    },
    SendDigits {
        call_id: CallId,
        digits: String,
    },
}

/// A Call Control action the shell sends to Telnyx's REST API (the engines cannot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CallControlCommand {
    /// Hand the caller on to `to`: transfer the other leg of `leg`'s call session.
    Transfer { call_id: CallId, leg: TelnyxLeg, to: String },
    /// Play music to the caller (the other leg of `leg`'s session) until stopped; `url: None`
    /// is the account's default music.
    StartHoldMusic { call_id: CallId, leg: TelnyxLeg, url: Option<String> },
    /// Stop what plays to the caller.
    StopHoldMusic { call_id: CallId, leg: TelnyxLeg },
    /// Record the call (caller on channel A, agent on B) after a beep; the caller hears
    /// `announcement` (an audio address) first, if any.
    StartRecording { call_id: CallId, leg: TelnyxLeg, announcement: Option<String> },
    /// Pause (`true`) or resume the recording.
    PauseRecording { call_id: CallId, leg: TelnyxLeg, paused: bool },
    /// Stop the recording (Telnyx saves it).
    StopRecording { call_id: CallId, leg: TelnyxLeg },
    /// The call ended and was recorded: fetch its recordings and keep them with the call log.
    KeepRecordings { call_id: CallId, leg: TelnyxLeg },
    /// Put the caller of `leg`'s call and the far party of `consult_leg`'s through to each other
    /// (`bridge`); Telnyx hangs up the agent's leg of each.
    Bridge { call_id: CallId, leg: TelnyxLeg, consult: CallId, consult_leg: TelnyxLeg },
    /// A conference of the caller of `leg`'s call, the agent (`leg` itself) and the far party of
    /// `consult_leg`'s call; then [`CallEvent::Merged`].
    Conference { call_id: CallId, leg: TelnyxLeg, consult: CallId, consult_leg: TelnyxLeg },
    /// Mute, unmute, hold or unhold the party of the conference whose call `party_leg` names
    /// (the far party of that call).
    Participant { call_id: CallId, conference_id: String, party_leg: TelnyxLeg, change: ParticipantChange },
}

/// Which Call Control action a refusal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallControlAction {
    Transfer,
    StartHoldMusic,
    StopHoldMusic,
    StartRecording,
    PauseRecording,
    ResumeRecording,
    StopRecording,
    KeepRecordings,
    Bridge,
    Conference,
    Participant,
}

impl CallControlCommand {
    /// The call it is about.
    pub fn call_id(&self) -> &CallId {
        match self {
            CallControlCommand::Transfer { call_id, .. }
            | CallControlCommand::StartHoldMusic { call_id, .. }
            | CallControlCommand::StopHoldMusic { call_id, .. }
            | CallControlCommand::StartRecording { call_id, .. }
            | CallControlCommand::PauseRecording { call_id, .. }
            | CallControlCommand::StopRecording { call_id, .. }
            | CallControlCommand::KeepRecordings { call_id, .. }
            | CallControlCommand::Bridge { call_id, .. }
            | CallControlCommand::Conference { call_id, .. }
            | CallControlCommand::Participant { call_id, .. } => call_id,
        }
    }

    /// Which action it is.
    pub fn action(&self) -> CallControlAction {
        match self {
            CallControlCommand::Transfer { .. } => CallControlAction::Transfer,
            CallControlCommand::StartHoldMusic { .. } => CallControlAction::StartHoldMusic,
            CallControlCommand::StopHoldMusic { .. } => CallControlAction::StopHoldMusic,
            CallControlCommand::StartRecording { .. } => CallControlAction::StartRecording,
            CallControlCommand::PauseRecording { paused: true, .. } => CallControlAction::PauseRecording,
            CallControlCommand::PauseRecording { paused: false, .. } => CallControlAction::ResumeRecording,
            CallControlCommand::StopRecording { .. } => CallControlAction::StopRecording,
            CallControlCommand::KeepRecordings { .. } => CallControlAction::KeepRecordings,
            CallControlCommand::Bridge { .. } => CallControlAction::Bridge,
            CallControlCommand::Conference { .. } => CallControlAction::Conference,
            CallControlCommand::Participant { .. } => CallControlAction::Participant,
        }
    }
}

/// What the ringer should be doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RingerMode {
    Off,
    /// A call rings and the agent is free: the ringtone on the ringer device.
    Ring,
    /// A call rings while the agent talks: a short tone in the headset.
    CallWaiting,
}

/// A side effect the shell carries out, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Effect {
    Engine(EngineCommand),
    CallControl(CallControlCommand),
    /// Write the call-log row (state in progress).
    LogStarted {
        call_id: CallId,
        direction: Direction,
        remote: Party,
        lead_id: Option<LeadId>,
        at: UnixMillis,
    },
    LogAnswered {
        call_id: CallId,
        at: UnixMillis,
    },
    /// Link the call-log row to the lead matched to the caller.
    LogLeadMatched {
        call_id: CallId,
        lead_id: LeadId,
    },
    /// Finalize the call-log row.
    LogFinished {
        call_id: CallId,
        end: CallEnd,
        duration_ms: u64,
    },
    Ringer {
        mode: RingerMode,
    },
    /// Show the incoming-call notification (Answer / Decline).
    NotifyIncoming {
        call_id: CallId,
        remote: Party,
    },
    /// Withdraw the incoming-call notification (answered, declined, or the caller gave up).
    WithdrawIncoming {
        call_id: CallId,
    },
    NotifyMissed {
        call_id: CallId,
        remote: Party,
    },
    /// Open the disposition and note form for this call.
    OpenWrapUp {
        call_id: CallId,
    },
    /// The snapshot changed: emit `call://updated`.
    Publish,
    /// Do Not Disturb is now `on`: the tray, the window's status and the saved settings follow.
    DoNotDisturb {
        on: bool,
    },
}

impl Effect {
    /// What the agent must notice at once: the engine's next step, a Call Control action on a
    /// live call, the ringer, the incoming-call notification and its withdrawal.
    /// [`CallMachine::handle`] returns these first; the shell carries effects out in the order
    /// given. Keeping a call's recordings is bookkeeping: it comes after the call-log row it
    /// belongs to is final.
    pub fn is_urgent(&self) -> bool {
        matches!(
            self,
            Effect::Engine(_) | Effect::Ringer { .. } | Effect::NotifyIncoming { .. } | Effect::WithdrawIncoming { .. }
        ) || matches!(self, Effect::CallControl(command) if !matches!(command, CallControlCommand::KeepRecordings { .. }))
    }
}

/// Why the machine refused an event. The shell logs it; for agent commands it becomes the
/// command's error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("there is no call {0:?}")]
    UnknownCall(CallId),
    #[error("a call with id {0:?} already exists")]
    DuplicateCall(CallId),
    #[error("the call is {view:?}, so it cannot be {action}")]
    NotNow { view: CallView, action: &'static str },
    #[error("the call being dialled must be answered or hung up first")]
    BusyDialing,
    #[error("{0:?} are not DTMF digits (use 0-9, *, #, A-D)")]
    InvalidDigits(String),
    #[error("the engine reported state {0:?}, which this app does not know")]
    UnknownSdkState(String),
    #[error(
        "Telnyx did not give this call a Call Control id, so it cannot be transferred (the connection needs Call Control: see the README)"
    )]
    NoCallControl,
}

/// Deadlines, in seconds, for every state that could otherwise stick.
pub mod deadline {
    /// Outbound: no answer (or early media) from the network.
    pub const DIALING_SECS: u64 = 90;
    /// Outbound: early media without an answer.
    pub const EARLY_MEDIA_SECS: u64 = 120;
    /// Inbound: the agent did not answer; the call becomes missed.
    pub const RINGING_SECS: u64 = 60;
    /// Inbound: answered, but media did not connect.
    pub const ANSWERING_SECS: u64 = 15;
    /// Hold or resume requested, the engine did not confirm (the SDK's critical-request timeout).
    pub const HOLD_CHANGE_SECS: u64 = 10;
    /// The connection dropped mid-call and the call was not recovered.
    pub const RECONNECTING_SECS: u64 = 30;
    /// A transfer's destination rang this long ([`TRANSFER_RING_SECS`], Telnyx's `timeout_secs`)
    /// plus a margin, and the agent's leg is still up: it was not taken.
    pub const TRANSFERRING_SECS: u64 = super::TRANSFER_RING_SECS + 15;
    /// Hangup requested, the engine did not confirm (the SDK waits 5 s for the BYE result).
    pub const ENDING_SECS: u64 = 5;
    /// A voicemail drop that never finished (the engine hangs up when the greeting ends); greetings
    /// are at most [`super::GREETING_MAX_SECS`].
    pub const LEAVING_VOICEMAIL_SECS: u64 = super::GREETING_MAX_SECS + 30;
}

/// How long Telnyx lets a transfer's destination ring (`timeout_secs`, Telnyx's default).
pub const TRANSFER_RING_SECS: u64 = 30;

/// The longest greeting a voicemail drop plays.
pub const GREETING_MAX_SECS: u64 = 120;
