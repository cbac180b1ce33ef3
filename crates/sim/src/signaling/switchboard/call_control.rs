//! Call Control v2 on the simulator's calls: the legs Telnyx would show, and what their actions do.
//!
//! Every call between a softphone and a telephone number has two legs in one call session, as on
//! Telnyx: the softphone's (`v3:cc-<callID>`, the id the softphone learns from `ringing`, `answer`
//! and `invite`) and the telephone's (`v3:far-<callID>`). A softphone finds the telephone's leg
//! among its connection's active calls by the shared `call_session_id`.
//!
//! `transfer` of the telephone's leg hands the caller on, as Telnyx's transfer does: the
//! simulator dials the destination (a directory number, after `answer_delay`); when it answers,
//! the caller and the new party are bridged ([`PhoneLine`], audio really flows) and the
//! softphone's leg is hung up (`telnyx_rtc.bye`, `NORMAL_CLEARING`). When the destination does
//! not answer, is busy or does not exist, its leg ends and the caller stays with the softphone
//! ("The original call will remain active").
//!
//! Assumed where Telnyx's reference is silent (see `docs/call-control-notes.md`): the error for an
//! unknown id on `GET /v2/calls/{id}` (404 `10005`), that a call's two legs share its connection's
//! active calls, and the 422 `10015` for a second transfer while one is ringing.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::{Board, Call, CallState, Cause, Direction, EndedBy, PlaybackSpec, Switchboard, unix_now_ms};
use crate::media::{Room, Voice};
use crate::signaling::numbers::Behaviour;

/// The longest a handed-on call lasts before its two parties hang up by themselves.
pub const HANDED_ON_CALL_MAX: Duration = Duration::from_secs(10 * 60);

/// Transfer `timeout_secs`: Telnyx's default and range.
const TRANSFER_TIMEOUT_DEFAULT_SECS: u64 = 30;
const TRANSFER_TIMEOUT_RANGE_SECS: std::ops::RangeInclusive<u64> = 5..=600;

/// Which party a leg belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LegRole {
    /// The softphone's leg.
    Agent,
    /// The telephone the softphone called or was called by.
    Customer,
    /// The party a transfer dialled.
    TransferTarget,
}

/// A leg as `GET /control/legs` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct LegView {
    /// Call Control id.
    pub call_control_id: String,
    /// Leg id.
    pub call_leg_id: String,
    /// Shared by the legs of one call.
    pub call_session_id: String,
    /// The connection (of the softphone's credential) the legs belong to.
    pub connection_id: Option<String>,
    /// Whose leg.
    pub role: LegRole,
    /// The party's number (or the softphone's SIP user).
    pub number: String,
    /// `ringing`, `parked`, `bridged` or `ended`.
    pub state: &'static str,
    /// Whether the leg is up (Telnyx's `is_alive`).
    pub is_alive: bool,
    /// What the party hears (`level_dbfs`, `dominant_hz`, ...), while its audio is measured.
    pub heard: Option<Value>,
    /// Unix milliseconds.
    pub started_at_ms: u64,
    /// Unix milliseconds, once ended.
    pub ended_at_ms: Option<u64>,
    /// `recording` or `paused` while the call is recorded.
    pub recording: Option<&'static str>,
    /// The conference or bridge (room) the leg talks in.
    pub room: Option<String>,
}

/// Why Telnyx refuses an action, with the codes of its API reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionRefusal {
    /// 422 `90015`.
    #[error("The call_control_id provided was not valid.")]
    InvalidCallControlId,
    /// 422 `90018`.
    #[error("This call is no longer active and can't receive commands.")]
    CallEnded,
    /// 422 `90034`.
    #[error("This call can't receive this command because it has not been answered yet.")]
    NotAnswered,
    /// 422 `10004`, pointing at the parameter.
    #[error("The '{0}' parameter is required and cannot be blank.")]
    Missing(&'static str),
    /// 422 `10016`.
    #[error("The 'to' parameter must be in E164 format.")]
    NotE164,
    /// 422 `10033`, pointing at the parameter.
    #[error("The value of '{0}' is outside of its range.")]
    OutOfRange(&'static str),
    /// 422 `10032`, pointing at the parameter.
    #[error("The value of '{0}' is not one of the values allowed.")]
    InvalidValue(&'static str),
    /// 400 `90040`: the audio to play could not be fetched or read.
    #[error("Downloading audio file failed: {0}")]
    DownloadFailed(String),
    /// 422 `90033`.
    #[error("Conference with given name already exists and it's active.")]
    ConferenceExists,
    /// 404 `90058`: no conference has that id or name (or it has ended).
    #[error("The conference_id provided was not valid.")]
    ConferenceEnded,
    /// 422 `90032`.
    #[error("The conference's max_participants has been reached.")]
    ConferenceFull,
    /// 422 `10015`.
    #[error("{0}")]
    Unsupported(&'static str),
}

/// What `playback_start` plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybackRequest {
    /// `audio_url`.
    pub audio_url: String,
    /// `loop`: how many times; `None` for `"infinity"`.
    pub loops: Option<u32>,
}

/// The largest audio file a playback fetches.
pub const PLAYBACK_MAX_BYTES: usize = 16 * 1024 * 1024;
/// How long fetching it may take.
const PLAYBACK_FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// A transfer of a call's telephone leg.
struct Handover {
    target_ccid: String,
    target_number: String,
    started_at_ms: u64,
    state: HandoverState,
    ended_at_ms: Option<u64>,
    /// The caller's part ended (hung up, or the line's time ran out).
    customer_ended_at_ms: Option<u64>,
}

enum HandoverState {
    Ringing,
    /// The caller and the new party talk in this room.
    Bridged(String),
    /// The destination did not take it; the caller stayed.
    Failed,
    Over,
}

/// Commands remembered for `command_id` idempotency.
const COMMANDS_REMEMBERED: usize = 1_000;

/// Recordings kept for `GET /v2/recordings` (the oldest go first).
pub const RECORDINGS_KEPT: usize = 20;

/// A saved recording, as `GET /v2/recordings` lists it.
#[derive(Debug, Clone)]
pub struct SavedRecording {
    /// Its id (UUID).
    pub id: String,
    /// The leg `record_start` named.
    pub call_control_id: String,
    /// Shared by the call's legs.
    pub call_session_id: String,
    /// `dual` or `single`.
    pub channels: &'static str,
    /// Its length.
    pub duration_ms: u64,
    /// Unix milliseconds.
    pub started_at_ms: u64,
    /// Unix milliseconds.
    pub ended_at_ms: u64,
    /// The WAV file.
    pub wav: Arc<Vec<u8>>,
}

/// A recording in progress: which leg asked, how, since when.
#[derive(Debug, Clone)]
struct Recording {
    call_control_id: String,
    dual: bool,
    started_at_ms: u64,
}

/// Where parties talk without a softphone in between (a transfer's bridge, a bridge of two
/// calls' far parties) or with several (a conference).
pub(super) struct RoomEntry {
    /// A conference's name; `None` for a bridge.
    pub(super) name: Option<String>,
    pub(super) room: Arc<Room>,
    pub(super) created_at_ms: u64,
}

/// Call Control's state on one switchboard.
#[derive(Default)]
pub(super) struct ControlState {
    /// Transfers, by the softphone's call id.
    handovers: std::collections::HashMap<String, Handover>,
    /// `call_control_id command_id` of commands carried out, oldest first.
    commands_seen: std::collections::VecDeque<String>,
    /// Recordings running, by call id.
    recording_now: std::collections::HashMap<String, Recording>,
    /// Recordings saved, oldest first.
    recordings: std::collections::VecDeque<SavedRecording>,
    /// Rooms, by id.
    pub(super) rooms: std::collections::HashMap<String, RoomEntry>,
}

impl ControlState {
    pub(super) fn forget(&mut self, call_id: &str) {
        self.handovers.remove(call_id);
    }

    /// Every room closes; their parties hang up.
    pub(super) fn clear(&mut self) {
        self.handovers.clear();
        self.rooms.clear();
    }

    /// The room the leg `call_control_id` talks in.
    pub(super) fn room_of(&self, call_control_id: &str) -> Option<(&String, &RoomEntry)> {
        self.rooms.iter().find(|(_, entry)| entry.room.has(call_control_id))
    }

    fn heard_in_room(&self, call_control_id: &str) -> Option<Value> {
        let (_, entry) = self.room_of(call_control_id)?;
        serde_json::to_value(entry.room.heard(call_control_id)?).ok()
    }
}

/// The legs a Call Control id names.
enum Named {
    Agent(String),
    Customer(String),
    Target(String),
}

fn name(board: &Board, call_control_id: &str) -> Option<Named> {
    if let Some(id) = call_control_id.strip_prefix("v3:cc-") {
        return board.calls.contains_key(id).then(|| Named::Agent(id.to_owned()));
    }
    if let Some(id) = call_control_id.strip_prefix("v3:far-") {
        return board.calls.get(id).filter(|c| c.bridge.is_none()).map(|_| Named::Customer(id.to_owned()));
    }
    board
        .control
        .handovers
        .iter()
        .find(|(_, h)| h.target_ccid == call_control_id)
        .map(|(id, _)| Named::Target(id.clone()))
}

/// `call_id` if its call is up and answered; what Telnyx says otherwise.
fn live_and_answered(board: &Board, call_id: String) -> Result<String, ActionRefusal> {
    let call = board.calls.get(&call_id).ok_or(ActionRefusal::InvalidCallControlId)?;
    if !call.live() {
        return Err(ActionRefusal::CallEnded);
    }
    if !call.state.is_answered() {
        return Err(ActionRefusal::NotAnswered);
    }
    Ok(call_id)
}

/// Whether `to` is something Telnyx dials: `+` and 8 to 15 digits, or a SIP URI.
fn dialable(to: &str) -> bool {
    if to.starts_with("sip:") {
        return to.contains('@');
    }
    to.strip_prefix('+')
        .is_some_and(|digits| (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
}

impl Call {
    fn customer_number(&self) -> &str {
        match self.direction {
            Direction::Inbound => &self.from,
            Direction::Outbound => &self.to,
        }
    }
}

impl Switchboard {
    fn connection_of(&self, board: &Board, call: &Call) -> Option<String> {
        let session = board.sessions.get(&call.sessid);
        let credential_id = session.map(|s| s.credential_id.clone())?;
        self.inner.sim.credential(&credential_id).map(|c| c.connection_id)
    }

    /// Every leg of the calls between a softphone and a telephone, oldest call first.
    pub fn legs(&self) -> Vec<LegView> {
        let board = self.board();
        let mut calls: Vec<&Call> = board.calls.values().filter(|c| c.bridge.is_none()).collect();
        calls.sort_by_key(|c| c.seq);
        calls.into_iter().flat_map(|call| self.legs_of(&board, call)).collect()
    }

    fn legs_of(&self, board: &Board, call: &Call) -> Vec<LegView> {
        let connection_id = self.connection_of(board, call);
        let handover = board.control.handovers.get(&call.id);
        let far = format!("v3:far-{}", call.id);
        let in_room = board.control.room_of(&far).is_some();
        let leg = |role, call_control_id: String, call_leg_id: String, number: &str| LegView {
            room: board.control.room_of(&call_control_id).map(|(id, _)| id.clone()),
            call_control_id,
            call_leg_id,
            call_session_id: format!("sess-{}", call.id),
            connection_id: connection_id.clone(),
            role,
            number: number.to_owned(),
            state: "ended",
            is_alive: false,
            heard: None,
            started_at_ms: call.started_at_ms,
            ended_at_ms: None,
            recording: call
                .media
                .as_ref()
                .and_then(|media| media.recording())
                .map(|paused| if paused { "paused" } else { "recording" }),
        };
        let call_ended_at = call.end.as_ref().map(|_| unix_now_ms());
        let agent_ccid = format!("v3:cc-{}", call.id);
        let mut agent = leg(LegRole::Agent, format!("v3:cc-{}", call.id), format!("leg-{}", call.id), &call.to);
        if call.direction == Direction::Outbound {
            agent.number = call.from.clone();
        }
        agent.is_alive = call.live();
        agent.state = match call.state {
            CallState::Ended => "ended",
            state if state.is_answered() => "bridged",
            _ => "ringing",
        };
        agent.ended_at_ms = call.end.as_ref().and(call_ended_at);
        agent.heard = board.control.heard_in_room(&agent_ccid);

        let mut customer =
            leg(LegRole::Customer, format!("v3:far-{}", call.id), format!("far-{}", call.id), call.customer_number());
        customer.is_alive = call.live() || in_room;
        customer.state = if customer.is_alive { agent.state } else { "ended" };
        customer.heard = board
            .control
            .heard_in_room(&far)
            .or_else(|| call.live().then(|| call.playback_heard_by_customer()).flatten());
        if in_room && customer.state == "ended" {
            customer.state = "bridged";
        }
        customer.ended_at_ms =
            handover.and_then(|h| h.customer_ended_at_ms).or(if customer.is_alive { None } else { agent.ended_at_ms });

        let mut legs = vec![agent, customer];
        if let Some(handover) = handover {
            let mut target = leg(
                LegRole::TransferTarget,
                handover.target_ccid.clone(),
                handover.target_ccid.replacen("v3:", "", 1),
                &handover.target_number,
            );
            target.started_at_ms = handover.started_at_ms;
            target.ended_at_ms = handover.ended_at_ms;
            (target.state, target.is_alive) = match &handover.state {
                HandoverState::Ringing => ("ringing", true),
                HandoverState::Bridged(_) => {
                    target.heard = board.control.heard_in_room(&handover.target_ccid);
                    ("bridged", true)
                }
                HandoverState::Failed | HandoverState::Over => ("ended", false),
            };
            legs.push(target);
        }
        legs
    }

    /// `GET /v2/calls/{call_control_id}`.
    pub fn leg(&self, call_control_id: &str) -> Option<LegView> {
        let board = self.board();
        let call_id = match name(&board, call_control_id)? {
            Named::Agent(id) | Named::Customer(id) | Named::Target(id) => id,
        };
        let call = board.calls.get(&call_id)?;
        self.legs_of(&board, call).into_iter().find(|leg| leg.call_control_id == call_control_id)
    }

    /// The live legs on `connection_id` (`GET /v2/connections/{id}/active_calls`).
    pub fn active_legs(&self, connection_id: &str) -> Vec<LegView> {
        self.legs()
            .into_iter()
            .filter(|leg| leg.is_alive && leg.connection_id.as_deref() == Some(connection_id))
            .collect()
    }

    /// `POST /v2/calls/{id}/actions/transfer`: hands the leg's party on to `to`.
    pub fn transfer(&self, call_control_id: &str, to: &str, timeout_secs: Option<u64>) -> Result<(), ActionRefusal> {
        let mut board = self.board();
        let call_id = match name(&board, call_control_id).ok_or(ActionRefusal::InvalidCallControlId)? {
            Named::Customer(id) => id,
            Named::Agent(id) => {
                let live = board.calls.get(&id).is_some_and(Call::live);
                return Err(if live {
                    ActionRefusal::Unsupported(
                        "The simulator transfers the far party's leg only (v3:far-...); transferring the softphone's own leg is not simulated.",
                    )
                } else {
                    ActionRefusal::CallEnded
                });
            }
            Named::Target(_) => return Err(ActionRefusal::CallEnded),
        };
        let call = board.calls.get(&call_id).ok_or(ActionRefusal::InvalidCallControlId)?;
        if !call.live() {
            return Err(ActionRefusal::CallEnded);
        }
        if !call.state.is_answered() {
            return Err(ActionRefusal::NotAnswered);
        }
        let to = to.trim();
        if to.is_empty() {
            return Err(ActionRefusal::Missing("to"));
        }
        if !dialable(to) {
            return Err(ActionRefusal::NotE164);
        }
        let timeout_secs = timeout_secs.unwrap_or(TRANSFER_TIMEOUT_DEFAULT_SECS);
        if !TRANSFER_TIMEOUT_RANGE_SECS.contains(&timeout_secs) {
            return Err(ActionRefusal::OutOfRange("timeout_secs"));
        }
        if matches!(board.control.handovers.get(&call_id).map(|h| &h.state), Some(HandoverState::Ringing)) {
            return Err(ActionRefusal::Unsupported("A transfer of this call is already in progress."));
        }
        let handover = Handover {
            target_ccid: format!("v3:xfer-{}", uuid::Uuid::new_v4()),
            target_number: to.to_owned(),
            started_at_ms: unix_now_ms(),
            state: HandoverState::Ringing,
            ended_at_ms: None,
            customer_ended_at_ms: None,
        };
        tracing::info!(call_id, to, "transfer dialling");
        board.control.handovers.insert(call_id.clone(), handover);
        drop(board);
        let board = self.clone();
        let (behaviour, playback) = (self.behaviour_for(to), self.answer_playback(to));
        let rings_for = match behaviour {
            Behaviour::NoAnswer => Duration::from_secs(timeout_secs).min(self.config().no_answer_timeout),
            Behaviour::Busy | Behaviour::Unallocated => Duration::ZERO,
            _ => self.config().answer_delay,
        };
        tokio::spawn(async move {
            tokio::time::sleep(rings_for).await;
            board.transfer_answered(&call_id, playback);
        });
        Ok(())
    }

    /// The transfer's destination answered (`playback`: what it says) or not (`None`).
    fn transfer_answered(&self, call_id: &str, playback: Option<PlaybackSpec>) {
        let mut board = self.board();
        let Some(call) = board.calls.get(call_id) else { return };
        let customer_says = call.playback;
        let still_up = call.live();
        let Some(target_ccid) = board.control.handovers.get(call_id).map(|h| h.target_ccid.clone()) else { return };
        let far = format!("v3:far-{call_id}");
        let room = match playback.filter(|_| still_up) {
            Some(target_says) => Self::open_room(&[
                (far.as_str(), Voice::Says(customer_says.to_media())),
                (target_ccid.as_str(), Voice::Says(target_says.to_media())),
            ]),
            None => None,
        };
        let Some(room) = room else {
            tracing::info!(call_id, still_up, "transfer not taken; the caller stays");
            if let Some(handover) = board.control.handovers.get_mut(call_id) {
                handover.state = HandoverState::Failed;
                handover.ended_at_ms = Some(unix_now_ms());
            }
            return;
        };
        let room_id = uuid::Uuid::new_v4().to_string();
        board.control.rooms.insert(room_id.clone(), RoomEntry { name: None, room, created_at_ms: unix_now_ms() });
        if let Some(handover) = board.control.handovers.get_mut(call_id) {
            handover.state = HandoverState::Bridged(room_id.clone());
        }
        tracing::info!(call_id, "transfer answered; the softphone's leg is hung up");
        self.end_call(&mut board, call_id, Cause::normal_clearing(), EndedBy::FarEnd, true);
        drop(board);
        self.close_room_later(room_id);
    }

    /// A room with these parties, or `None` (logged) if one could not join.
    pub(super) fn open_room(parties: &[(&str, Voice)]) -> Option<Arc<Room>> {
        let opened = Room::open().and_then(|room| {
            for (key, voice) in parties {
                room.join(key, voice.clone())?;
            }
            Ok(room)
        });
        match opened {
            Ok(room) => Some(Arc::new(room)),
            Err(error) => {
                tracing::warn!(%error, "a media room could not open");
                None
            }
        }
    }

    /// The room's parties hang up by themselves after [`HANDED_ON_CALL_MAX`].
    pub(super) fn close_room_later(&self, room_id: String) {
        let board = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(HANDED_ON_CALL_MAX).await;
            board.close_room(&room_id);
        });
    }

    /// Everyone in the room hangs up; a handover bridged in it is over.
    pub(super) fn close_room(&self, room_id: &str) -> bool {
        let mut board = self.board();
        if board.control.rooms.remove(room_id).is_none() {
            return false;
        }
        let now = unix_now_ms();
        for handover in board.control.handovers.values_mut() {
            if matches!(&handover.state, HandoverState::Bridged(id) if id == room_id) {
                handover.state = HandoverState::Over;
                handover.ended_at_ms = Some(now);
                handover.customer_ended_at_ms = Some(now);
            }
        }
        true
    }

    /// Ends a handed-on call: both telephones hang up.
    fn hang_up_handed_on(&self, call_id: &str) -> bool {
        let room_id = match self.board().control.handovers.get(call_id).map(|h| &h.state) {
            Some(HandoverState::Bridged(room_id)) => room_id.clone(),
            _ => return false,
        };
        self.close_room(&room_id)
    }

    /// Whether a command with `command_id` was already carried out on `call_control_id` ("Telnyx
    /// will ignore any command with the same `command_id` for the same `call_control_id`").
    pub fn carried_out(&self, call_control_id: &str, command_id: &str) -> bool {
        let key = format!("{call_control_id} {command_id}");
        self.board().control.commands_seen.contains(&key)
    }

    /// Remembers a command carried out, for [`Switchboard::carried_out`].
    pub fn remember_command(&self, call_control_id: &str, command_id: &str) {
        let mut board = self.board();
        let seen = &mut board.control.commands_seen;
        seen.push_back(format!("{call_control_id} {command_id}"));
        if seen.len() > COMMANDS_REMEMBERED {
            seen.pop_front();
        }
    }

    /// `POST /v2/calls/{id}/actions/record_start`: records the call from now on, both channels
    /// (`dual`: the leg's party on channel A, the rest on B) or one (`single`), in WAV, after a
    /// beep both sides hear if `play_beep`.
    pub fn record_start(&self, call_control_id: &str, dual: bool, play_beep: bool) -> Result<(), ActionRefusal> {
        let call_id = self.answered_call(call_control_id)?;
        let mut board = self.board();
        let media = board.calls.get(&call_id).and_then(|call| call.media.clone()).ok_or(ActionRefusal::CallEnded)?;
        if !media.start_recording(play_beep) {
            return Err(ActionRefusal::Unsupported("This call is being recorded already."));
        }
        let recording = Recording { call_control_id: call_control_id.to_owned(), dual, started_at_ms: unix_now_ms() };
        board.control.recording_now.insert(call_id.clone(), recording);
        tracing::info!(call_id, dual, play_beep, "recording started");
        Ok(())
    }

    /// `record_pause` (`true`) and `record_resume`.
    pub fn record_pause(&self, call_control_id: &str, paused: bool) -> Result<(), ActionRefusal> {
        let call_id = self.answered_call(call_control_id)?;
        let board = self.board();
        let media = board.calls.get(&call_id).and_then(|call| call.media.clone()).ok_or(ActionRefusal::CallEnded)?;
        if !media.pause_recording(paused) {
            return Err(ActionRefusal::Unsupported("This call is not being recorded."));
        }
        tracing::info!(call_id, paused, "recording paused or resumed");
        Ok(())
    }

    /// `record_stop`: the recording is saved.
    pub fn record_stop(&self, call_control_id: &str) -> Result<(), ActionRefusal> {
        let call_id = self.answered_call(call_control_id)?;
        let mut board = self.board();
        if !Self::save_recording(&mut board, &call_id) {
            return Err(ActionRefusal::Unsupported("This call is not being recorded."));
        }
        Ok(())
    }

    /// Saves the call's recording, if one runs ("Recording will stop on call hang-up").
    pub(super) fn save_recording(board: &mut Board, call_id: &str) -> bool {
        let Some(recording) = board.control.recording_now.remove(call_id) else { return false };
        let Some(channels) = board.calls.get(call_id).and_then(|call| call.media.as_ref()?.stop_recording()) else {
            return false;
        };
        let saved = SavedRecording {
            id: uuid::Uuid::new_v4().to_string(),
            call_control_id: recording.call_control_id,
            call_session_id: format!("sess-{call_id}"),
            channels: if recording.dual { "dual" } else { "single" },
            duration_ms: channels.duration().as_millis() as u64,
            started_at_ms: recording.started_at_ms,
            ended_at_ms: unix_now_ms(),
            wav: Arc::new(channels.to_wav(recording.dual)),
        };
        tracing::info!(call_id, id = %saved.id, duration_ms = saved.duration_ms, "recording saved");
        let kept = &mut board.control.recordings;
        kept.push_back(saved);
        while kept.len() > RECORDINGS_KEPT {
            kept.pop_front();
        }
        true
    }

    /// The saved recordings, oldest first.
    pub fn recordings(&self) -> Vec<SavedRecording> {
        self.board().control.recordings.iter().cloned().collect()
    }

    /// The live, answered call either of whose legs `call_control_id` names.
    fn answered_call(&self, call_control_id: &str) -> Result<String, ActionRefusal> {
        let board = self.board();
        let call_id = match name(&board, call_control_id).ok_or(ActionRefusal::InvalidCallControlId)? {
            Named::Customer(id) | Named::Agent(id) => id,
            Named::Target(_) => {
                return Err(ActionRefusal::Unsupported("The simulator records the softphone's calls only."));
            }
        };
        live_and_answered(&board, call_id)
    }

    /// `POST /v2/calls/{id}/actions/hangup`.
    pub fn hang_up_leg(&self, call_control_id: &str) -> Result<(), ActionRefusal> {
        let named = name(&self.board(), call_control_id).ok_or(ActionRefusal::InvalidCallControlId)?;
        let by = match named {
            Named::Agent(_) => EndedBy::Simulator,
            _ => EndedBy::FarEnd,
        };
        match named {
            Named::Agent(id) | Named::Customer(id) => {
                if self.hang_up_handed_on(&id) {
                    return Ok(());
                }
                let mut board = self.board();
                if self.end_call(&mut board, &id, Cause::normal_clearing(), by, true) {
                    Ok(())
                } else {
                    Err(ActionRefusal::CallEnded)
                }
            }
            Named::Target(id) => {
                if self.hang_up_handed_on(&id) {
                    return Ok(());
                }
                let mut board = self.board();
                match board.control.handovers.get_mut(&id) {
                    Some(handover) if matches!(handover.state, HandoverState::Ringing) => {
                        handover.state = HandoverState::Failed;
                        handover.ended_at_ms = Some(unix_now_ms());
                        Ok(())
                    }
                    _ => Err(ActionRefusal::CallEnded),
                }
            }
        }
    }

    /// The answered, live call whose telephone leg `call_control_id` names; what Telnyx says when
    /// there is none.
    fn answered_customer(&self, call_control_id: &str) -> Result<String, ActionRefusal> {
        let board = self.board();
        let call_id = match name(&board, call_control_id).ok_or(ActionRefusal::InvalidCallControlId)? {
            Named::Customer(id) => id,
            Named::Agent(_) | Named::Target(_) => {
                return Err(ActionRefusal::Unsupported(
                    "The simulator plays audio into the far party's leg only (v3:far-...).",
                ));
            }
        };
        live_and_answered(&board, call_id)
    }

    /// `POST /v2/calls/{id}/actions/playback_start`: fetches the audio (a WAV over http) and plays
    /// it to the leg's party, `loops` times, over whatever else it hears.
    pub async fn playback_start(&self, call_control_id: &str, request: PlaybackRequest) -> Result<(), ActionRefusal> {
        self.answered_customer(call_control_id)?;
        let samples = fetch_audio(&request.audio_url).await?;
        let call_id = self.answered_customer(call_control_id)?;
        let board = self.board();
        let media = board.calls.get(&call_id).and_then(|call| call.media.clone()).ok_or(ActionRefusal::CallEnded)?;
        media.play_to_party(Some(crate::media::Playback::Audio { samples, loops: request.loops }));
        tracing::info!(call_id, loops = ?request.loops, "playback started into the far party's leg");
        Ok(())
    }

    /// `POST /v2/calls/{id}/actions/playback_stop`.
    pub fn playback_stop(&self, call_control_id: &str) -> Result<(), ActionRefusal> {
        let call_id = self.answered_customer(call_control_id)?;
        let board = self.board();
        if let Some(media) = board.calls.get(&call_id).and_then(|call| call.media.clone()) {
            media.play_to_party(None);
        }
        tracing::info!(call_id, "playback stopped");
        Ok(())
    }

    /// What a directory (or scripted) number says once it answers; `None` if it does not answer.
    pub(super) fn answer_playback(&self, number: &str) -> Option<PlaybackSpec> {
        let tone = PlaybackSpec::Tone { hz: self.scripted_tone(number).unwrap_or(440.0) };
        match self.behaviour_for(number) {
            Behaviour::Tone
            | Behaviour::HangUp
            | Behaviour::AlawOnly
            | Behaviour::IceLite
            | Behaviour::IceLitePassive
            | Behaviour::DtlsPassive => Some(tone),
            Behaviour::EarlyMedia => Some(PlaybackSpec::Tone { hz: 425.0 }),
            Behaviour::Echo => Some(PlaybackSpec::Echo),
            Behaviour::Voicemail => Some(PlaybackSpec::Voicemail),
            Behaviour::Busy | Behaviour::NoAnswer | Behaviour::Reject | Behaviour::Unallocated => None,
        }
    }
}

impl Call {
    /// What the customer hears while on the call with the softphone: the softphone's voice.
    fn playback_heard_by_customer(&self) -> Option<Value> {
        self.media.as_ref().and_then(|media| serde_json::to_value(media.heard()).ok())
    }
}

/// The audio at `url` (http only), decoded.
async fn fetch_audio(url: &str) -> Result<std::sync::Arc<[f32]>, ActionRefusal> {
    let refused = |why: String| ActionRefusal::DownloadFailed(why);
    if !url.starts_with("http://") {
        return Err(refused("the simulator fetches audio over http:// only".to_owned()));
    }
    let client =
        reqwest::Client::builder().timeout(PLAYBACK_FETCH_TIMEOUT).build().map_err(|e| refused(e.to_string()))?;
    let mut response = client.get(url).send().await.map_err(|e| refused(format!("{url}: {e}")))?;
    if !response.status().is_success() {
        return Err(refused(format!("{url} answered {}", response.status())));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| refused(e.to_string()))? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > PLAYBACK_MAX_BYTES {
            return Err(refused(format!("{url} is larger than {PLAYBACK_MAX_BYTES} bytes")));
        }
    }
    crate::media::MediaSession::decode_wav(&bytes, url).map_err(|e| refused(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telnyx_dials_e164_numbers_and_sip_uris_only() {
        for to in ["+15555550100", "+442071838750", "sip:billing@sip.telnyx.com"] {
            assert!(dialable(to), "{to}");
        }
        for to in ["5555550100", "+1555", "+1555555010a", "billing", "sip:billing", "+1234567890123456"] {
            assert!(!dialable(to), "{to}");
        }
    }
}
