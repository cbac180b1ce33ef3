use crate::lead::LeadId;
use std::collections::BTreeSet;

use super::{
    CallControlAction, CallControlCommand, CallControlView, CallEnd, CallEvent, CallId, CallOutcome, CallSnapshot,
    CallView, CallsSnapshot, Direction, Effect, EngineCommand, EngineUpdate, HangupCause, Participant,
    ParticipantChange, ParticipantView, Party, RecordingView, Rejection, RingerMode, SdkState, TelnyxLeg, UnixMillis,
    deadline,
};

/// Ended calls kept for the agent's wrap-up until dismissed; beyond this the oldest go, so the
/// machine's memory stays flat over a working day.
pub const MAX_ENDED_CALLS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    Off,
    Requested,
    On,
    ReleaseRequested,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Dialing,
    EarlyMedia,
    Ringing,
    Answering,
    Connected(Hold),
    /// The connection dropped; the engine is recovering the call. Holds whether it was held.
    Reconnecting {
        held: bool,
    },
    /// A greeting plays into the call; the engine hangs up when it ends.
    LeavingVoicemail,
    /// Telnyx rings the transfer's destination; `held`: the caller was on hold.
    Transferring {
        held: bool,
    },
    /// The held caller is being brought into a conference with the consult call's colleague.
    Merging,
    /// Hangup requested; `cause` is what the log says if the engine never confirms.
    Ending {
        cause: HangupCause,
    },
    Ended,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Call {
    id: CallId,
    direction: Direction,
    remote: Party,
    lead_id: Option<LeadId>,
    /// The caller-ID number presented (outbound calls, when chosen).
    caller_number: Option<String>,
    phase: Phase,
    muted: bool,
    started_at: UnixMillis,
    answered_at: Option<UnixMillis>,
    deadline: Option<UnixMillis>,
    /// The agent ended it (declined, cancelled or hung up).
    ended_by_agent: bool,
    /// A greeting was dropped into it: its wrap-up is done.
    left_voicemail: bool,
    end: Option<CallEnd>,
    /// Telnyx's name for the agent's leg, once the engine reported it.
    leg: Option<TelnyxLeg>,
    /// Where the call is being handed on to.
    transfer_to: Option<String>,
    /// What the agent must read (a transfer that did not happen).
    notice: Option<String>,
    /// Telnyx was asked to play hold music to the caller, and not yet to stop.
    music_playing: bool,
    /// What Telnyx was last asked about the recording.
    recording: RecordingView,
    /// A recording was started at some point: its files are fetched when the call ends.
    recorded: bool,
    /// How long the recordings kept in the call log last.
    kept_recording_ms: Option<u64>,
    /// The other call of a consult transfer being completed or merged.
    consult_partner: Option<CallId>,
    /// The agent talks in a conference with the caller and a colleague.
    in_conference: bool,
    /// The conference, once merged: its id, the consult call's leg and number, and each
    /// party's state (caller, colleague).
    conference: Option<Conference>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Conference {
    id: String,
    consult_leg: TelnyxLeg,
    colleague_number: String,
    /// (muted, held) of the caller and of the colleague.
    caller: (bool, bool),
    colleague: (bool, bool),
    /// The last change asked of Telnyx and the party's state before it, undone if refused.
    asked: Option<(Participant, (bool, bool))>,
}

/// The fields of [`CallEvent::Dial`].
struct Dialed {
    call_id: CallId,
    remote: Party,
    lead_id: Option<LeadId>,
    caller_number: Option<String>,
}

impl Call {
    /// A new call in `phase` from `now`, which must move on within `deadline_secs`.
    fn new(id: CallId, direction: Direction, remote: Party, phase: Phase, now: UnixMillis, deadline_secs: u64) -> Call {
        Call {
            id,
            direction,
            remote,
            lead_id: None,
            caller_number: None,
            phase,
            muted: false,
            started_at: now,
            answered_at: None,
            deadline: Some(now.plus_secs(deadline_secs)),
            ended_by_agent: false,
            left_voicemail: false,
            end: None,
            leg: None,
            transfer_to: None,
            notice: None,
            music_playing: false,
            recording: RecordingView::Off,
            recorded: false,
            kept_recording_ms: None,
            consult_partner: None,
            in_conference: false,
            conference: None,
        }
    }

    /// Asks Telnyx to record the call, after `announcement` if any.
    fn start_recording(&mut self, announcement: Option<String>) -> Result<Effect, Rejection> {
        let leg = self.leg.clone().ok_or(Rejection::NoCallControl)?;
        self.recording = RecordingView::Recording;
        self.recorded = true;
        Ok(Effect::CallControl(CallControlCommand::StartRecording { call_id: self.id.clone(), leg, announcement }))
    }

    /// Handed on to `to` as one side of a consult transfer with `partner`.
    fn hand_on(&mut self, held: bool, to: String, partner: CallId, now: UnixMillis) {
        self.phase = Phase::Transferring { held };
        self.deadline = Some(now.plus_secs(deadline::TRANSFERRING_SECS));
        self.transfer_to = Some(to);
        self.consult_partner = Some(partner);
        self.notice = None;
    }

    /// The effect that stops the caller's hold music, if it plays.
    fn stop_music(&mut self) -> Option<Effect> {
        if !std::mem::take(&mut self.music_playing) {
            return None;
        }
        let leg = self.leg.clone()?;
        Some(Effect::CallControl(CallControlCommand::StopHoldMusic { call_id: self.id.clone(), leg }))
    }

    /// The transfer did not happen: connected again as before, and the agent is told why.
    fn back_from_transfer(&mut self, held: bool, notice: String) {
        self.phase = Phase::Connected(if held { Hold::On } else { Hold::Off });
        self.deadline = None;
        self.transfer_to = None;
        self.consult_partner = None;
        self.notice = Some(notice);
    }

    fn view(&self) -> CallView {
        match &self.phase {
            Phase::Dialing => CallView::Dialing,
            Phase::EarlyMedia => CallView::EarlyMedia,
            Phase::Ringing => CallView::Ringing,
            Phase::Answering => CallView::Answering,
            Phase::Connected(Hold::Off) => CallView::Active,
            Phase::Connected(Hold::Requested) => CallView::Holding,
            Phase::Connected(Hold::On) => CallView::Held,
            Phase::Connected(Hold::ReleaseRequested) => CallView::Resuming,
            Phase::Reconnecting { .. } => CallView::Reconnecting,
            Phase::LeavingVoicemail => CallView::LeavingVoicemail,
            Phase::Transferring { .. } => CallView::Transferring,
            Phase::Merging => CallView::Merging,
            Phase::Ending { .. } => CallView::Ending,
            Phase::Ended => CallView::Ended,
        }
    }

    /// In the foreground: the agent's microphone and speaker belong to this call.
    fn is_foreground(&self) -> bool {
        matches!(
            self.phase,
            Phase::Dialing
                | Phase::EarlyMedia
                | Phase::Answering
                | Phase::Connected(Hold::Off)
                | Phase::Connected(Hold::ReleaseRequested)
                | Phase::Transferring { held: false }
        )
    }

    /// A foreground call that cannot be put on hold (it is not connected yet).
    fn is_unholdable_foreground(&self) -> bool {
        matches!(self.phase, Phase::Dialing | Phase::EarlyMedia | Phase::Answering)
    }

    fn snapshot(&self) -> CallSnapshot {
        CallSnapshot {
            call_id: self.id.clone(),
            direction: self.direction,
            remote: self.remote.clone(),
            lead_id: self.lead_id,
            view: self.view(),
            muted: self.muted,
            started_at: self.started_at,
            answered_at: self.answered_at,
            end: self.end.clone(),
            caller_number: self.caller_number.clone(),
            control: CallControlView {
                available: self.leg.is_some(),
                transfer_to: self.transfer_to.clone(),
                notice: self.notice.clone(),
                hold_music: self.music_playing,
                recording: self.recording,
                kept_recording_ms: self.kept_recording_ms,
                conference: self.in_conference,
                participants: self.conference.as_ref().map_or_else(Vec::new, |conference| {
                    vec![
                        ParticipantView {
                            who: Participant::Caller,
                            number: self.remote.number.clone(),
                            muted: conference.caller.0,
                            held: conference.caller.1,
                        },
                        ParticipantView {
                            who: Participant::Colleague,
                            number: conference.colleague_number.clone(),
                            muted: conference.colleague.0,
                            held: conference.colleague.1,
                        },
                    ]
                }),
            },
        }
    }
}

/// All calls of this app instance. See the module docs for the invariants.
#[derive(Debug, Clone, Default)]
pub struct CallMachine {
    calls: Vec<Call>,
    ringer: Option<RingerMode>,
    /// How many times the calls changed: the snapshot's revision.
    revision: u64,
    /// Inbound calls are turned away at once ([`CallEvent::SetDoNotDisturb`]).
    do_not_disturb: bool,
    /// Hold music: off (`None`), or on with this address (`Some(None)`: the account's default).
    hold_music: Option<Option<String>>,
    /// Every call is recorded from its answer on.
    auto_record: bool,
    /// What the caller hears before a recording starts.
    recording_announcement: Option<String>,
}

impl CallMachine {
    pub fn new() -> Self {
        Self::default()
    }

    /// The snapshot the UI renders.
    pub fn snapshot(&self) -> CallsSnapshot {
        CallsSnapshot {
            calls: self.calls.iter().map(Call::snapshot).collect(),
            revision: self.revision,
            do_not_disturb: self.do_not_disturb,
        }
    }

    /// True while any call is not ended: the shell sends [`CallEvent::Tick`] only then.
    pub fn has_live_calls(&self) -> bool {
        self.calls.iter().any(|call| call.phase != Phase::Ended)
    }

    /// The earliest pending deadline, so the shell can sleep until then.
    pub fn next_deadline(&self) -> Option<UnixMillis> {
        self.calls.iter().filter_map(|call| call.deadline).min()
    }

    /// Applies one event at time `now`. On `Err` nothing changed and there are no effects.
    pub fn handle(&mut self, event: CallEvent, now: UnixMillis) -> Result<Vec<Effect>, Rejection> {
        let before = self.calls.clone();
        let ringing_before = self.ringing_ids();
        let mut effects = Vec::new();
        if let Err(rejection) = self.apply(event, now, &mut effects) {
            self.calls = before;
            return Err(rejection);
        }
        self.derive_effects(&ringing_before, &mut effects);
        self.trim_ended();
        if self.calls != before {
            self.revision += 1;
            effects.push(Effect::Publish);
        }
        // What the agent must notice at once (the engine's next step, the ring, the popup) runs
        // before the bookkeeping (call log, wrap-up, window update); otherwise in order.
        effects.sort_by_key(|effect| !effect.is_urgent());
        Ok(effects)
    }

    /// Whether Do Not Disturb turns inbound calls away.
    pub fn do_not_disturb(&self) -> bool {
        self.do_not_disturb
    }

    fn apply(&mut self, event: CallEvent, now: UnixMillis, effects: &mut Vec<Effect>) -> Result<(), Rejection> {
        match event {
            CallEvent::Dial { call_id, remote, lead_id, caller_number } => {
                self.dial(Dialed { call_id, remote, lead_id, caller_number }, now, effects)
            }
            CallEvent::SetDoNotDisturb { on } => {
                self.do_not_disturb = on;
                effects.push(Effect::DoNotDisturb { on });
                Ok(())
            }
            CallEvent::Answer { call_id } => self.answer(&call_id, now, effects),
            CallEvent::DropVoicemail { call_id, greeting } => {
                let call = self.call_mut(&call_id)?;
                if call.phase != Phase::Connected(Hold::Off) {
                    return Err(Rejection::NotNow { view: call.view(), action: "left a voicemail" });
                }
                call.phase = Phase::LeavingVoicemail;
                call.left_voicemail = true;
                call.deadline = Some(now.plus_secs(deadline::LEAVING_VOICEMAIL_SECS));
                effects.push(Effect::Engine(EngineCommand::PlayVoicemail { call_id, greeting }));
                Ok(())
            }
            CallEvent::Decline { call_id } => {
                let call = self.call(&call_id)?;
                if call.phase != Phase::Ringing {
                    return Err(Rejection::NotNow { view: call.view(), action: "declined" });
                }
                self.request_end(&call_id, HangupCause::UserBusy, now, effects)
            }
            CallEvent::Hangup { call_id } => match self.call(&call_id)?.phase {
                Phase::Ended => Err(Rejection::NotNow { view: CallView::Ended, action: "hung up" }),
                Phase::Ending { .. } => Ok(()),
                Phase::Ringing => self.request_end(&call_id, HangupCause::UserBusy, now, effects),
                _ => self.request_end(&call_id, HangupCause::NormalClearing, now, effects),
            },
            CallEvent::Hold { call_id } => {
                let call = self.call_mut(&call_id)?;
                match call.phase {
                    Phase::Connected(Hold::Off) => {
                        call.phase = Phase::Connected(Hold::Requested);
                        call.deadline = Some(now.plus_secs(deadline::HOLD_CHANGE_SECS));
                        effects.push(Effect::Engine(EngineCommand::Hold { call_id }));
                        Ok(())
                    }
                    Phase::Connected(Hold::Requested | Hold::On) => Ok(()),
                    _ => Err(Rejection::NotNow { view: call.view(), action: "put on hold" }),
                }
            }
            CallEvent::Resume { call_id } => {
                let call = self.call(&call_id)?;
                match call.phase {
                    Phase::Connected(Hold::On) => {
                        self.make_room_for(&call_id, now, effects)?;
                        let call = self.call_mut(&call_id)?;
                        call.phase = Phase::Connected(Hold::ReleaseRequested);
                        call.deadline = Some(now.plus_secs(deadline::HOLD_CHANGE_SECS));
                        if let Some(stop) = call.stop_music() {
                            effects.push(stop);
                        }
                        effects.push(Effect::Engine(EngineCommand::Unhold { call_id }));
                        Ok(())
                    }
                    Phase::Connected(Hold::Off | Hold::ReleaseRequested) => Ok(()),
                    _ => Err(Rejection::NotNow { view: call.view(), action: "resumed" }),
                }
            }
            CallEvent::SetMuted { call_id, muted } => {
                let call = self.call_mut(&call_id)?;
                if matches!(call.phase, Phase::Ended | Phase::Ending { .. } | Phase::Ringing) {
                    return Err(Rejection::NotNow { view: call.view(), action: "muted" });
                }
                if call.muted != muted {
                    call.muted = muted;
                    effects.push(Effect::Engine(EngineCommand::SetMuted { call_id, muted }));
                }
                Ok(())
            }
            CallEvent::SendDigits { call_id, digits } => {
                if digits.is_empty() || !digits.chars().all(|c| matches!(c, '0'..='9' | '*' | '#' | 'A'..='D')) {
                    return Err(Rejection::InvalidDigits(digits));
                }
                let call = self.call(&call_id)?;
                if !matches!(call.phase, Phase::Connected(Hold::Off) | Phase::EarlyMedia) {
                    return Err(Rejection::NotNow { view: call.view(), action: "sent digits" });
                }
                effects.push(Effect::Engine(EngineCommand::SendDigits { call_id, digits }));
                Ok(())
            }
            CallEvent::Dismiss { call_id } => {
                let call = self.call(&call_id)?;
                if call.phase != Phase::Ended {
                    return Err(Rejection::NotNow { view: call.view(), action: "dismissed" });
                }
                self.calls.retain(|call| call.id != call_id);
                Ok(())
            }
            CallEvent::LeadMatched { call_id, lead_id } => {
                let call = self.call_mut(&call_id)?;
                if call.lead_id != Some(lead_id) {
                    call.lead_id = Some(lead_id);
                    effects.push(Effect::LogLeadMatched { call_id, lead_id });
                }
                Ok(())
            }
            CallEvent::Engine { call_id, update } => self.engine_update(call_id, update, now, effects),
            CallEvent::Tick => {
                self.expire_deadlines(now, effects);
                Ok(())
            }
            CallEvent::Transfer { call_id, to } => {
                let call = self.call_mut(&call_id)?;
                let held = match call.phase {
                    Phase::Connected(Hold::Off) => false,
                    Phase::Connected(Hold::On) => true,
                    _ => return Err(Rejection::NotNow { view: call.view(), action: "transferred" }),
                };
                let leg = call.leg.clone().ok_or(Rejection::NoCallControl)?;
                if let Some(stop) = call.stop_music() {
                    effects.push(stop);
                }
                call.phase = Phase::Transferring { held };
                call.deadline = Some(now.plus_secs(deadline::TRANSFERRING_SECS));
                call.transfer_to = Some(to.clone());
                call.notice = None;
                effects.push(Effect::CallControl(CallControlCommand::Transfer { call_id, leg, to }));
                Ok(())
            }
            CallEvent::CallControlRefused { call_id, refused, message } => {
                let call = self.call_mut(&call_id)?;
                // What Telnyx did not do is undone, if nothing changed it since.
                match (refused, call.recording) {
                    (CallControlAction::StartRecording, RecordingView::Recording) => {
                        call.recording = RecordingView::Off
                    }
                    (CallControlAction::PauseRecording, RecordingView::Paused) => {
                        call.recording = RecordingView::Recording
                    }
                    (CallControlAction::ResumeRecording, RecordingView::Recording) => {
                        call.recording = RecordingView::Paused
                    }
                    _ => {}
                }
                if refused == CallControlAction::Participant
                    && let Some(conference) = call.conference.as_mut()
                    && let Some((who, before)) = conference.asked.take()
                {
                    match who {
                        Participant::Caller => conference.caller = before,
                        Participant::Colleague => conference.colleague = before,
                    }
                }
                let partner = call.consult_partner.clone();
                match (refused, call.phase.clone()) {
                    (CallControlAction::Bridge, Phase::Transferring { held }) => {
                        call.back_from_transfer(held, message.clone());
                        if let Some(partner) = partner
                            && let Ok(other) = self.call_mut(&partner)
                            && let Phase::Transferring { held } = other.phase
                        {
                            other.back_from_transfer(held, message);
                        }
                    }
                    (CallControlAction::Conference, Phase::Merging) => call.back_from_transfer(true, message),
                    (CallControlAction::Transfer, Phase::Transferring { held }) => {
                        call.back_from_transfer(held, message)
                    }
                    (_, Phase::Ended) if refused != CallControlAction::KeepRecordings => {}
                    _ => call.notice = Some(message),
                }
                Ok(())
            }
            CallEvent::Record { call_id } => {
                let announcement = self.recording_announcement.clone();
                let call = self.call_mut(&call_id)?;
                if !matches!(call.phase, Phase::Connected(Hold::Off | Hold::On)) {
                    return Err(Rejection::NotNow { view: call.view(), action: "recorded" });
                }
                if call.recording == RecordingView::Off {
                    let start = call.start_recording(announcement)?;
                    effects.push(start);
                }
                Ok(())
            }
            CallEvent::PauseRecording { call_id, paused } => {
                let call = self.call_mut(&call_id)?;
                let (from, to) = if paused {
                    (RecordingView::Recording, RecordingView::Paused)
                } else {
                    (RecordingView::Paused, RecordingView::Recording)
                };
                if call.recording == to {
                    return Ok(());
                }
                if call.recording != from || call.phase == Phase::Ended {
                    return Err(Rejection::NotNow {
                        view: call.view(),
                        action: if paused { "paused" } else { "resumed" },
                    });
                }
                let leg = call.leg.clone().ok_or(Rejection::NoCallControl)?;
                call.recording = to;
                effects.push(Effect::CallControl(CallControlCommand::PauseRecording { call_id, leg, paused }));
                Ok(())
            }
            CallEvent::StopRecording { call_id } => {
                let call = self.call_mut(&call_id)?;
                if call.recording == RecordingView::Off || call.phase == Phase::Ended {
                    return Ok(());
                }
                let leg = call.leg.clone().ok_or(Rejection::NoCallControl)?;
                call.recording = RecordingView::Off;
                effects.push(Effect::CallControl(CallControlCommand::StopRecording { call_id, leg }));
                Ok(())
            }
            CallEvent::SetAutoRecord { on, announcement } => {
                self.auto_record = on;
                self.recording_announcement = announcement;
                Ok(())
            }
            CallEvent::CompleteTransfer { call_id, consult } => {
                let (leg, consult_leg) = self.consult_pair(&call_id, &consult, "put through")?;
                let (caller_number, colleague_number) =
                    (self.call(&call_id)?.remote.number.clone(), self.call(&consult)?.remote.number.clone());
                let caller = self.call_mut(&call_id)?;
                if let Some(stop) = caller.stop_music() {
                    effects.push(stop);
                }
                caller.hand_on(true, colleague_number, consult.clone(), now);
                self.call_mut(&consult)?.hand_on(false, caller_number, call_id.clone(), now);
                effects.push(Effect::CallControl(CallControlCommand::Bridge { call_id, leg, consult, consult_leg }));
                Ok(())
            }
            CallEvent::Merge { call_id, consult } => {
                let (leg, consult_leg) = self.consult_pair(&call_id, &consult, "merged")?;
                let caller = self.call_mut(&call_id)?;
                if let Some(stop) = caller.stop_music() {
                    effects.push(stop);
                }
                caller.phase = Phase::Merging;
                caller.deadline = Some(now.plus_secs(deadline::TRANSFERRING_SECS));
                caller.consult_partner = Some(consult.clone());
                caller.notice = None;
                effects.push(Effect::CallControl(CallControlCommand::Conference {
                    call_id,
                    leg,
                    consult,
                    consult_leg,
                }));
                Ok(())
            }
            CallEvent::Merged { call_id, consult, conference_id } => {
                if self.call(&call_id)?.phase != Phase::Merging {
                    return Ok(());
                }
                let colleague =
                    self.call(&consult).ok().and_then(|call| Some((call.leg.clone()?, call.remote.number.clone())));
                // The colleague is in the conference: the agent's own leg to them goes first, so
                // only one call has the microphone when the agent comes off hold.
                if self.call(&consult).is_ok_and(|call| call.phase != Phase::Ended) {
                    self.request_end(&consult, HangupCause::NormalClearing, now, effects)?;
                }
                let caller = self.call_mut(&call_id)?;
                caller.phase = Phase::Connected(Hold::ReleaseRequested);
                caller.deadline = Some(now.plus_secs(deadline::HOLD_CHANGE_SECS));
                caller.consult_partner = None;
                caller.in_conference = true;
                caller.conference = colleague.map(|(consult_leg, colleague_number)| Conference {
                    id: conference_id,
                    consult_leg,
                    colleague_number,
                    caller: (false, false),
                    colleague: (false, false),
                    asked: None,
                });
                effects.push(Effect::Engine(EngineCommand::Unhold { call_id }));
                Ok(())
            }
            CallEvent::SetParticipant { call_id, who, change } => {
                let call = self.call_mut(&call_id)?;
                let (Some(conference), Some(leg)) = (call.conference.as_mut(), call.leg.clone()) else {
                    return Err(Rejection::NotNow { view: call.view(), action: "changed as a three-way call" });
                };
                if call.phase == Phase::Ended {
                    return Err(Rejection::NotNow { view: CallView::Ended, action: "changed as a three-way call" });
                }
                let (state, party_leg) = match who {
                    Participant::Caller => (&mut conference.caller, leg),
                    Participant::Colleague => (&mut conference.colleague, conference.consult_leg.clone()),
                };
                let wanted = match change {
                    ParticipantChange::Mute => (true, state.1),
                    ParticipantChange::Unmute => (false, state.1),
                    ParticipantChange::Hold => (state.0, true),
                    ParticipantChange::Unhold => (state.0, false),
                };
                if *state == wanted {
                    return Ok(());
                }
                let before = std::mem::replace(state, wanted);
                conference.asked = Some((who, before));
                let conference_id = conference.id.clone();
                effects.push(Effect::CallControl(CallControlCommand::Participant {
                    call_id,
                    conference_id,
                    party_leg,
                    change,
                }));
                Ok(())
            }
            CallEvent::RecordingsKept { call_id, duration_ms } => {
                self.call_mut(&call_id)?.kept_recording_ms = Some(duration_ms);
                Ok(())
            }
            CallEvent::SetHoldMusic { on, url } => {
                self.hold_music = on.then_some(url);
                Ok(())
            }
        }
    }

    fn dial(&mut self, dialed: Dialed, now: UnixMillis, effects: &mut Vec<Effect>) -> Result<(), Rejection> {
        let Dialed { call_id, remote, lead_id, caller_number } = dialed;
        if self.calls.iter().any(|call| call.id == call_id) {
            return Err(Rejection::DuplicateCall(call_id));
        }
        self.make_room_for(&call_id, now, effects)?;
        effects.push(Effect::LogStarted {
            call_id: call_id.clone(),
            direction: Direction::Outbound,
            remote: remote.clone(),
            lead_id,
            at: now,
        });
        effects.push(Effect::Engine(EngineCommand::Dial {
            call_id: call_id.clone(),
            number: remote.number.clone(),
            caller_number: caller_number.clone(),
        }));
        let mut call = Call::new(call_id, Direction::Outbound, remote, Phase::Dialing, now, deadline::DIALING_SECS);
        (call.lead_id, call.caller_number) = (lead_id, caller_number);
        self.calls.push(call);
        Ok(())
    }

    fn answer(&mut self, call_id: &CallId, now: UnixMillis, effects: &mut Vec<Effect>) -> Result<(), Rejection> {
        let call = self.call(call_id)?;
        if call.phase != Phase::Ringing {
            return Err(Rejection::NotNow { view: call.view(), action: "answered" });
        }
        self.make_room_for(call_id, now, effects)?;
        let call = self.call_mut(call_id)?;
        call.phase = Phase::Answering;
        call.deadline = Some(now.plus_secs(deadline::ANSWERING_SECS));
        effects.push(Effect::Engine(EngineCommand::Answer { call_id: call_id.clone() }));
        Ok(())
    }

    /// Puts every other connected foreground call on hold so `call_id` can take the foreground.
    /// A call still being dialled or answered cannot be held: the agent must finish it first.
    fn make_room_for(&mut self, call_id: &CallId, now: UnixMillis, effects: &mut Vec<Effect>) -> Result<(), Rejection> {
        if self.calls.iter().any(|call| &call.id != call_id && call.is_unholdable_foreground()) {
            return Err(Rejection::BusyDialing);
        }
        for call in self.calls.iter_mut().filter(|call| &call.id != call_id && call.is_foreground()) {
            call.phase = Phase::Connected(Hold::Requested);
            call.deadline = Some(now.plus_secs(deadline::HOLD_CHANGE_SECS));
            effects.push(Effect::Engine(EngineCommand::Hold { call_id: call.id.clone() }));
        }
        Ok(())
    }

    /// When the engine (not the agent) brings a call into the foreground, other foreground
    /// calls make room: connected ones are held, ones not yet connected are hung up.
    fn yield_foreground_to(&mut self, call_id: &CallId, now: UnixMillis, effects: &mut Vec<Effect>) {
        let others: Vec<CallId> = self
            .calls
            .iter()
            .filter(|call| &call.id != call_id && call.is_unholdable_foreground())
            .map(|call| call.id.clone())
            .collect();
        for other in others {
            let _ = self.request_end(&other, HangupCause::NormalClearing, now, effects);
        }
        let _ = self.make_room_for(call_id, now, effects);
    }

    fn request_end(
        &mut self,
        call_id: &CallId,
        cause: HangupCause,
        now: UnixMillis,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Rejection> {
        let call = self.call_mut(call_id)?;
        call.ended_by_agent = true;
        call.phase = Phase::Ending { cause };
        call.deadline = Some(now.plus_secs(deadline::ENDING_SECS));
        effects.push(Effect::Engine(EngineCommand::Hangup { call_id: call_id.clone() }));
        Ok(())
    }

    fn engine_update(
        &mut self,
        call_id: CallId,
        update: EngineUpdate,
        now: UnixMillis,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Rejection> {
        match update {
            EngineUpdate::Incoming { remote } => {
                if self.calls.iter().any(|call| call.id == call_id) {
                    return Err(Rejection::DuplicateCall(call_id));
                }
                effects.push(Effect::LogStarted {
                    call_id: call_id.clone(),
                    direction: Direction::Inbound,
                    remote: remote.clone(),
                    lead_id: None,
                    at: now,
                });
                self.calls.push(Call::new(
                    call_id.clone(),
                    Direction::Inbound,
                    remote,
                    Phase::Ringing,
                    now,
                    deadline::RINGING_SECS,
                ));
                if self.do_not_disturb {
                    // Turned away before it rings: busy for the caller, missed in the log.
                    return self.request_end(&call_id, HangupCause::UserBusy, now, effects);
                }
                Ok(())
            }
            EngineUpdate::State { state } => self.engine_state(call_id, state, now, effects),
            EngineUpdate::Ended { cause, sip_code } => {
                let call = self.call(&call_id)?;
                if call.phase == Phase::Ended {
                    return Ok(());
                }
                self.finish(&call_id, cause, sip_code, now, effects);
                Ok(())
            }
            EngineUpdate::RemoteChanged { name, number } => {
                let call = self.call_mut(&call_id)?;
                // An ended call keeps who it was with.
                if call.phase != Phase::Ended {
                    let number = number.filter(|number| !number.trim().is_empty());
                    let someone_else = number.as_ref().is_some_and(|number| *number != call.remote.number);
                    if let Some(number) = number {
                        call.remote.number = number;
                    }
                    match name {
                        Some(name) => call.remote.name = Some(name).filter(|name| !name.trim().is_empty()),
                        // A new number without a name: the old name was someone else's.
                        None if someone_else => call.remote.name = None,
                        None => {}
                    }
                }
                Ok(())
            }
            EngineUpdate::Leg { leg } => {
                let (auto_record, announcement) = (self.auto_record, self.recording_announcement.clone());
                let call = self.call_mut(&call_id)?;
                if call.phase != Phase::Ended {
                    call.leg = Some(leg);
                    // Named only once answered: recorded from now on.
                    if auto_record && call.answered_at.is_some() && !call.recorded {
                        effects.push(call.start_recording(announcement)?);
                    }
                }
                Ok(())
            }
            EngineUpdate::Failed { message: _ } => {
                let call = self.call(&call_id)?;
                match call.phase {
                    Phase::Ended => Ok(()),
                    Phase::Ending { .. } => {
                        self.finish(&call_id, HangupCause::EngineFailure, None, now, effects);
                        Ok(())
                    }
                    _ => {
                        effects.push(Effect::Engine(EngineCommand::Hangup { call_id: call_id.clone() }));
                        self.finish(&call_id, HangupCause::EngineFailure, None, now, effects);
                        Ok(())
                    }
                }
            }
        }
    }

    fn engine_state(
        &mut self,
        call_id: CallId,
        state: SdkState,
        now: UnixMillis,
        effects: &mut Vec<Effect>,
    ) -> Result<(), Rejection> {
        if let SdkState::Unknown(text) = state {
            return Err(Rejection::UnknownSdkState(text));
        }
        let phase = self.call(&call_id)?.phase.clone();
        match (state, phase) {
            // Ended calls ignore everything; so do states that confirm what we already show.
            (_, Phase::Ended) => {}
            // A voicemail drop plays to its end whatever the SDK says of the call, but its end.
            (SdkState::Hangup | SdkState::Destroy | SdkState::Purge, Phase::LeavingVoicemail) => {
                self.finish(&call_id, HangupCause::NormalClearing, None, now, effects);
            }
            (_, Phase::LeavingVoicemail) => {}
            // Handed on: Telnyx hangs up the agent's leg once the destination answers.
            (SdkState::Hangup | SdkState::Destroy | SdkState::Purge, Phase::Transferring { .. }) => {
                self.finish(&call_id, HangupCause::NormalClearing, None, now, effects);
            }
            (_, Phase::Transferring { .. }) => {}
            (SdkState::Hangup | SdkState::Destroy | SdkState::Purge, Phase::Merging) => {
                self.finish(&call_id, HangupCause::NormalClearing, None, now, effects);
            }
            (_, Phase::Merging) => {}
            (SdkState::New | SdkState::Requesting | SdkState::Trying | SdkState::Ringing, _) => {}
            (SdkState::Recovering, Phase::Connected(hold)) => {
                let call = self.call_mut(&call_id)?;
                call.phase = Phase::Reconnecting { held: matches!(hold, Hold::On | Hold::ReleaseRequested) };
                call.deadline = Some(now.plus_secs(deadline::RECONNECTING_SECS));
            }
            (SdkState::Recovering, _) => {}
            (SdkState::Answering, Phase::Ringing) => {
                self.yield_foreground_to(&call_id, now, effects);
                let call = self.call_mut(&call_id)?;
                call.phase = Phase::Answering;
                call.deadline = Some(now.plus_secs(deadline::ANSWERING_SECS));
            }
            (SdkState::Answering, _) => {}
            (SdkState::Early, Phase::Dialing) => {
                let call = self.call_mut(&call_id)?;
                call.phase = Phase::EarlyMedia;
                call.deadline = Some(now.plus_secs(deadline::EARLY_MEDIA_SECS));
            }
            (SdkState::Early, _) => {}
            (SdkState::Active, Phase::Dialing | Phase::EarlyMedia | Phase::Answering | Phase::Ringing) => {
                self.yield_foreground_to(&call_id, now, effects);
                let (auto_record, announcement) = (self.auto_record, self.recording_announcement.clone());
                let call = self.call_mut(&call_id)?;
                call.phase = Phase::Connected(Hold::Off);
                call.deadline = None;
                call.answered_at = Some(now);
                if auto_record && call.leg.is_some() && !call.recorded {
                    effects.push(call.start_recording(announcement)?);
                }
                effects.push(Effect::LogAnswered { call_id, at: now });
            }
            (SdkState::Active, Phase::Connected(_) | Phase::Reconnecting { .. }) => {
                self.yield_foreground_to(&call_id, now, effects);
                let call = self.call_mut(&call_id)?;
                call.phase = Phase::Connected(Hold::Off);
                call.deadline = None;
                if let Some(stop) = call.stop_music() {
                    effects.push(stop);
                }
            }
            (SdkState::Active, Phase::Ending { .. }) => {}
            (SdkState::Held, Phase::Connected(_) | Phase::Reconnecting { .. }) => {
                let music = self.hold_music.clone();
                let call = self.call_mut(&call_id)?;
                call.phase = Phase::Connected(Hold::On);
                call.deadline = None;
                if let (Some(url), Some(leg), false) = (music, call.leg.clone(), call.music_playing) {
                    call.music_playing = true;
                    effects.push(Effect::CallControl(CallControlCommand::StartHoldMusic { call_id, leg, url }));
                }
            }
            (SdkState::Held, _) => {}
            (SdkState::Hangup | SdkState::Destroy | SdkState::Purge, Phase::Ending { cause }) => {
                self.finish(&call_id, cause, None, now, effects);
            }
            (SdkState::Hangup | SdkState::Destroy | SdkState::Purge, _) => {
                self.finish(&call_id, HangupCause::NormalClearing, None, now, effects);
            }
            (SdkState::Unknown(_), _) => {}
        }
        Ok(())
    }

    fn expire_deadlines(&mut self, now: UnixMillis, effects: &mut Vec<Effect>) {
        let expired: Vec<(CallId, Phase)> = self
            .calls
            .iter()
            .filter(|call| call.deadline.is_some_and(|deadline| deadline <= now))
            .map(|call| (call.id.clone(), call.phase.clone()))
            .collect();
        for (call_id, phase) in expired {
            match phase {
                Phase::Dialing | Phase::EarlyMedia => {
                    effects.push(Effect::Engine(EngineCommand::Hangup { call_id: call_id.clone() }));
                    self.finish(&call_id, HangupCause::NoAnswer, None, now, effects);
                }
                Phase::Ringing => {
                    effects.push(Effect::Engine(EngineCommand::Hangup { call_id: call_id.clone() }));
                    self.finish(&call_id, HangupCause::NoAnswer, None, now, effects);
                }
                Phase::Answering => {
                    effects.push(Effect::Engine(EngineCommand::Hangup { call_id: call_id.clone() }));
                    self.finish(&call_id, HangupCause::Timeout, None, now, effects);
                }
                Phase::Connected(Hold::Requested) => {
                    // The hold was never confirmed. Back in the foreground if that is free,
                    // otherwise the call cannot stay: two calls would share the microphone.
                    let foreground_taken = self.calls.iter().any(|call| call.id != call_id && call.is_foreground());
                    if foreground_taken {
                        let _ = self.request_end(&call_id, HangupCause::Timeout, now, effects);
                    } else if let Some(call) = self.calls.iter_mut().find(|call| call.id == call_id) {
                        call.phase = Phase::Connected(Hold::Off);
                        call.deadline = None;
                    }
                }
                Phase::Connected(Hold::ReleaseRequested) => {
                    if let Some(call) = self.calls.iter_mut().find(|call| call.id == call_id) {
                        call.phase = Phase::Connected(Hold::On);
                        call.deadline = None;
                    }
                }
                Phase::Reconnecting { .. } => {
                    effects.push(Effect::Engine(EngineCommand::Hangup { call_id: call_id.clone() }));
                    self.finish(&call_id, HangupCause::NetworkLost, None, now, effects);
                }
                Phase::LeavingVoicemail => {
                    let _ = self.request_end(&call_id, HangupCause::NormalClearing, now, effects);
                }
                Phase::Merging => {
                    if let Some(call) = self.calls.iter_mut().find(|call| call.id == call_id) {
                        call.back_from_transfer(
                            true,
                            "The conference could not be set up; the caller is still on hold.".to_owned(),
                        );
                    }
                }
                Phase::Transferring { held } => {
                    if let Some(call) = self.calls.iter_mut().find(|call| call.id == call_id) {
                        let to = call.transfer_to.clone().unwrap_or_default();
                        call.back_from_transfer(
                            held,
                            format!("{to} did not take the transfer; the caller is still with you."),
                        );
                    }
                }
                Phase::Ending { cause } => self.finish(&call_id, cause, None, now, effects),
                Phase::Connected(Hold::Off | Hold::On) | Phase::Ended => {
                    if let Some(call) = self.calls.iter_mut().find(|call| call.id == call_id) {
                        call.deadline = None;
                    }
                }
            }
        }
    }

    /// Ends a call: classifies the outcome, finalizes the log, opens the wrap-up.
    fn finish(
        &mut self,
        call_id: &CallId,
        cause: HangupCause,
        sip_code: Option<u16>,
        now: UnixMillis,
        effects: &mut Vec<Effect>,
    ) {
        let Some(call) = self.calls.iter_mut().find(|call| &call.id == call_id) else {
            return;
        };
        if call.phase == Phase::Ended {
            return;
        }
        let transferred = matches!(call.phase, Phase::Transferring { .. }) && cause == HangupCause::NormalClearing;
        let outcome = if transferred { CallOutcome::Transferred } else { classify(call, &cause) };
        let transferred_to = if transferred { call.transfer_to.clone() } else { None };
        if !transferred {
            call.transfer_to = None;
        }
        let end =
            CallEnd { outcome, cause_label: cause.describe().to_owned(), cause, sip_code, at: now, transferred_to };
        let duration_ms = call.answered_at.map_or(0, |answered| now.millis_since(answered));
        let voicemail_left = call.left_voicemail;
        call.phase = Phase::Ended;
        call.deadline = None;
        call.music_playing = false;
        call.recording = RecordingView::Off;
        call.end = Some(end.clone());
        effects.push(Effect::LogFinished { call_id: call_id.clone(), end, duration_ms });
        // After the call-log row is final: the recordings are kept with it.
        if call.recorded
            && let Some(leg) = call.leg.clone()
        {
            effects.push(Effect::CallControl(CallControlCommand::KeepRecordings { call_id: call_id.clone(), leg }));
        }
        if voicemail_left {
            // Wrapped up when the greeting was dropped: nothing is left for the agent to do.
            self.calls.retain(|call| &call.id != call_id);
            return;
        }
        match outcome {
            CallOutcome::Missed => {
                effects.push(Effect::NotifyMissed { call_id: call_id.clone(), remote: call.remote.clone() })
            }
            CallOutcome::Declined => {}
            _ => effects.push(Effect::OpenWrapUp { call_id: call_id.clone() }),
        }
    }

    /// The legs of a consult transfer's two calls: `call_id` on hold, `consult` connected, both
    /// named by Telnyx.
    fn consult_pair(
        &self,
        call_id: &CallId,
        consult: &CallId,
        action: &'static str,
    ) -> Result<(TelnyxLeg, TelnyxLeg), Rejection> {
        let (caller, colleague) = (self.call(call_id)?, self.call(consult)?);
        if call_id == consult || caller.phase != Phase::Connected(Hold::On) {
            return Err(Rejection::NotNow { view: caller.view(), action });
        }
        if colleague.phase != Phase::Connected(Hold::Off) {
            return Err(Rejection::NotNow { view: colleague.view(), action });
        }
        Ok((
            caller.leg.clone().ok_or(Rejection::NoCallControl)?,
            colleague.leg.clone().ok_or(Rejection::NoCallControl)?,
        ))
    }

    fn ringing_ids(&self) -> BTreeSet<CallId> {
        self.calls.iter().filter(|call| call.phase == Phase::Ringing).map(|call| call.id.clone()).collect()
    }

    /// Notifications and the ringer follow from which calls ring, so they cannot drift.
    fn derive_effects(&mut self, ringing_before: &BTreeSet<CallId>, effects: &mut Vec<Effect>) {
        let ringing_now = self.ringing_ids();
        for gone in ringing_before.difference(&ringing_now) {
            effects.push(Effect::WithdrawIncoming { call_id: gone.clone() });
        }
        for new in ringing_now.difference(ringing_before) {
            if let Some(call) = self.calls.iter().find(|call| &call.id == new) {
                effects.push(Effect::NotifyIncoming { call_id: new.clone(), remote: call.remote.clone() });
            }
        }
        let mode = if ringing_now.is_empty() {
            RingerMode::Off
        } else if self.calls.iter().any(|call| call.is_foreground()) {
            RingerMode::CallWaiting
        } else {
            RingerMode::Ring
        };
        if self.ringer.unwrap_or(RingerMode::Off) != mode {
            self.ringer = Some(mode);
            effects.push(Effect::Ringer { mode });
        }
    }

    fn trim_ended(&mut self) {
        let ended = self.calls.iter().filter(|call| call.phase == Phase::Ended).count();
        let mut excess = ended.saturating_sub(MAX_ENDED_CALLS);
        self.calls.retain(|call| {
            if excess > 0 && call.phase == Phase::Ended {
                excess -= 1;
                false
            } else {
                true
            }
        });
    }

    fn call(&self, call_id: &CallId) -> Result<&Call, Rejection> {
        self.calls.iter().find(|call| &call.id == call_id).ok_or_else(|| Rejection::UnknownCall(call_id.clone()))
    }

    fn call_mut(&mut self, call_id: &CallId) -> Result<&mut Call, Rejection> {
        self.calls.iter_mut().find(|call| &call.id == call_id).ok_or_else(|| Rejection::UnknownCall(call_id.clone()))
    }
}

fn classify(call: &Call, cause: &HangupCause) -> CallOutcome {
    if call.answered_at.is_some() {
        return CallOutcome::Completed;
    }
    match (call.direction, call.ended_by_agent) {
        (Direction::Inbound, true) => CallOutcome::Declined,
        (Direction::Inbound, _) => match cause {
            HangupCause::Timeout | HangupCause::EngineFailure | HangupCause::NetworkLost => CallOutcome::Failed,
            _ => CallOutcome::Missed,
        },
        (Direction::Outbound, true) => CallOutcome::Cancelled,
        (Direction::Outbound, false) => match cause {
            HangupCause::UserBusy => CallOutcome::Busy,
            HangupCause::NoAnswer | HangupCause::NoUserResponse | HangupCause::RecoveryOnTimerExpire => {
                CallOutcome::NoAnswer
            }
            HangupCause::CallRejected => CallOutcome::Rejected,
            _ => CallOutcome::Failed,
        },
    }
}
