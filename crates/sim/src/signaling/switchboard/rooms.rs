//! Bridges and conferences: Call Control's rooms on the simulator's calls.
//!
//! `bridge` of two calls' far parties puts them in a room of their own and hangs up the
//! softphone's leg of each (their partner is gone), as Telnyx's `bridge` does. A conference
//! created from a far party's leg (`POST /v2/conferences`) takes that party into a room; `join`
//! brings another far party (its softphone leg is parked: it hears nothing) or a softphone's own
//! leg (its media peer then relays through the room, so the agent hears everyone and everyone
//! hears the agent). A softphone that hangs up leaves the room; the others talk on ("the agent
//! can leave without ending it"). `leave`, `hold`/`unhold` (with hold audio) and `mute`/`unmute`
//! act on the members named.

use std::sync::Arc;

use serde::Serialize;

use super::call_control::{ActionRefusal, RoomEntry};
use super::{Board, CallState, Switchboard, unix_now_ms};
use crate::media::{AudioPipe, Playback, Voice};

/// Conferences running at once, at most.
pub const CONFERENCES_MAX: usize = 50;
/// Members of one conference, at most (Telnyx's default `max_participants` is 250).
pub const CONFERENCE_MEMBERS_MAX: usize = 250;

/// A conference as `GET /v2/conferences` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ConferenceView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Unix milliseconds.
    pub created_at_ms: u64,
    /// The legs in it.
    pub members: Vec<String>,
}

/// A leg a room can take.
enum Party {
    /// The far party of the call.
    Far { call_id: String },
    /// The softphone's own leg of the call.
    Softphone { call_id: String },
}

/// What a conference participants' action does.
#[derive(Debug, Clone, PartialEq)]
pub enum ParticipantsAction {
    /// Not heard.
    Mute,
    /// Heard again.
    Unmute,
    /// Neither heard nor hearing; hears `Playback` if given.
    Hold(Option<Playback>),
    /// Back in.
    Unhold,
}

impl Switchboard {
    /// The live, answered call whose leg `call_control_id` names, and which leg.
    fn party(board: &Board, call_control_id: &str) -> Result<Party, ActionRefusal> {
        let (call_id, far) = if let Some(id) = call_control_id.strip_prefix("v3:far-") {
            (id, true)
        } else if let Some(id) = call_control_id.strip_prefix("v3:cc-") {
            (id, false)
        } else {
            return Err(ActionRefusal::InvalidCallControlId);
        };
        let call = board.calls.get(call_id).filter(|call| call.bridge.is_none());
        let call = call.ok_or(ActionRefusal::InvalidCallControlId)?;
        if !call.live() {
            return Err(ActionRefusal::CallEnded);
        }
        if !matches!(call.state, CallState::Active | CallState::Held) {
            return Err(ActionRefusal::NotAnswered);
        }
        let call_id = call_id.to_owned();
        Ok(if far { Party::Far { call_id } } else { Party::Softphone { call_id } })
    }

    /// How `party` speaks in a room. A far party says what it said on its call, and its
    /// softphone leg is parked (hears nothing); a softphone relays through the room.
    fn enter(board: &Board, party: &Party) -> Result<Voice, ActionRefusal> {
        match party {
            Party::Far { call_id } => {
                let call = board.calls.get(call_id).ok_or(ActionRefusal::CallEnded)?;
                if let Some(media) = &call.media {
                    media.set_playback(Playback::Silence);
                }
                Ok(Voice::Says(call.playback.to_media()))
            }
            Party::Softphone { call_id } => {
                let media =
                    board.calls.get(call_id).and_then(|call| call.media.clone()).ok_or(ActionRefusal::CallEnded)?;
                let (from_client, to_client) = (AudioPipe::default(), AudioPipe::default());
                media.relay_into(Some(from_client.clone()));
                media.set_playback(Playback::Relay(to_client.clone()));
                Ok(Voice::Client { from_client, to_client })
            }
        }
    }

    /// `POST /v2/calls/{id}/actions/bridge` `{"call_control_id": other}`: the two far parties
    /// talk to each other; each softphone leg loses its partner and is hung up.
    pub fn bridge(&self, call_control_id: &str, other: &str) -> Result<(), ActionRefusal> {
        let mut board = self.board();
        let (first, second) = (Self::party(&board, call_control_id)?, Self::party(&board, other)?);
        let (Party::Far { call_id: first_call }, Party::Far { call_id: second_call }) = (&first, &second) else {
            return Err(ActionRefusal::Unsupported("The simulator bridges two calls' far parties (v3:far-...) only."));
        };
        if first_call == second_call {
            return Err(ActionRefusal::Unsupported("A call cannot be bridged to itself."));
        }
        if board.control.room_of(call_control_id).is_some() || board.control.room_of(other).is_some() {
            return Err(ActionRefusal::Unsupported("That leg is bridged elsewhere already."));
        }
        let voices = [Self::enter(&board, &first)?, Self::enter(&board, &second)?];
        let [first_voice, second_voice] = voices;
        let room = Self::open_room(&[(call_control_id, first_voice), (other, second_voice)])
            .ok_or(ActionRefusal::Unsupported("The simulator's media could not bridge the calls."))?;
        let room_id = uuid::Uuid::new_v4().to_string();
        board.control.rooms.insert(room_id.clone(), RoomEntry { name: None, room, created_at_ms: unix_now_ms() });
        let (first_call, second_call) = (first_call.clone(), second_call.clone());
        tracing::info!(first_call, second_call, "far parties bridged; the softphone legs are hung up");
        for call_id in [&first_call, &second_call] {
            self.end_call(&mut board, call_id, super::Cause::normal_clearing(), super::EndedBy::FarEnd, true);
        }
        drop(board);
        self.close_room_later(room_id);
        Ok(())
    }

    /// `POST /v2/conferences`: a conference named `name` with the far party of
    /// `call_control_id` in it.
    pub fn create_conference(&self, call_control_id: &str, name: &str) -> Result<ConferenceView, ActionRefusal> {
        let mut board = self.board();
        let party = Self::party(&board, call_control_id)?;
        if !matches!(party, Party::Far { .. }) {
            return Err(ActionRefusal::Unsupported(
                "The simulator starts a conference from a far party's leg (v3:far-...).",
            ));
        }
        if board.control.rooms.values().any(|entry| entry.name.as_deref() == Some(name)) {
            return Err(ActionRefusal::ConferenceExists);
        }
        if board.control.rooms.len() >= CONFERENCES_MAX {
            return Err(ActionRefusal::Unsupported("The simulator runs at most 50 conferences at once."));
        }
        if board.control.room_of(call_control_id).is_some() {
            return Err(ActionRefusal::Unsupported("That leg is bridged elsewhere already."));
        }
        let voice = Self::enter(&board, &party)?;
        let room = Self::open_room(&[(call_control_id, voice)])
            .ok_or(ActionRefusal::Unsupported("The simulator's media could not start the conference."))?;
        let id = uuid::Uuid::new_v4().to_string();
        let created_at_ms = unix_now_ms();
        board.control.rooms.insert(id.clone(), RoomEntry { name: Some(name.to_owned()), room, created_at_ms });
        tracing::info!(id, name, "conference started");
        drop(board);
        self.close_room_later(id.clone());
        Ok(ConferenceView { id, name: name.to_owned(), created_at_ms, members: vec![call_control_id.to_owned()] })
    }

    /// The conference `id_or_name` names (Telnyx takes either).
    fn conference_id(board: &Board, id_or_name: &str) -> Result<String, ActionRefusal> {
        board
            .control
            .rooms
            .iter()
            .find(|(id, entry)| {
                entry.name.is_some() && (*id == id_or_name || entry.name.as_deref() == Some(id_or_name))
            })
            .map(|(id, _)| id.clone())
            .ok_or(ActionRefusal::ConferenceEnded)
    }

    /// `POST /v2/conferences/{id}/actions/join`.
    pub fn join_conference(&self, id_or_name: &str, call_control_id: &str) -> Result<(), ActionRefusal> {
        let board = self.board();
        let id = Self::conference_id(&board, id_or_name)?;
        let party = Self::party(&board, call_control_id)?;
        if board.control.room_of(call_control_id).is_some() {
            return Err(ActionRefusal::Unsupported("That leg is in a conference or bridge already."));
        }
        let room = Arc::clone(&board.control.rooms[&id].room);
        if room.members().len() >= CONFERENCE_MEMBERS_MAX {
            return Err(ActionRefusal::ConferenceFull);
        }
        let voice = Self::enter(&board, &party)?;
        room.join(call_control_id, voice)
            .map_err(|_| ActionRefusal::Unsupported("The simulator's media could not join."))?;
        tracing::info!(conference = %id, call_control_id, "joined the conference");
        Ok(())
    }

    /// `POST /v2/conferences/{id}/actions/leave`: the leg leaves (parked: it hears nothing).
    pub fn leave_conference(&self, id_or_name: &str, call_control_id: &str) -> Result<(), ActionRefusal> {
        let board = self.board();
        let id = Self::conference_id(&board, id_or_name)?;
        if !board.control.rooms[&id].room.leave(call_control_id) {
            return Err(ActionRefusal::Unsupported("That leg is not in the conference."));
        }
        if let Ok(Party::Softphone { call_id } | Party::Far { call_id }) = Self::party(&board, call_control_id)
            && let Some(media) = board.calls.get(&call_id).and_then(|call| call.media.clone())
        {
            media.relay_into(None);
            media.set_playback(Playback::Silence);
        }
        tracing::info!(conference = %id, call_control_id, "left the conference");
        Ok(())
    }

    /// `hold`, `unhold`, `mute`, `unmute` of `call_control_ids` (every member when empty, except
    /// for `unhold`, which needs them named).
    pub fn conference_participants(
        &self,
        id_or_name: &str,
        call_control_ids: &[String],
        action: ParticipantsAction,
    ) -> Result<(), ActionRefusal> {
        let board = self.board();
        let id = Self::conference_id(&board, id_or_name)?;
        let room = &board.control.rooms[&id].room;
        let named: Vec<String> = if call_control_ids.is_empty() { room.members() } else { call_control_ids.to_vec() };
        for member in &named {
            let known = match &action {
                ParticipantsAction::Mute => room.mute(member, true),
                ParticipantsAction::Unmute => room.mute(member, false),
                ParticipantsAction::Hold(audio) => room.hold(member, Some(audio.clone())).unwrap_or(false),
                ParticipantsAction::Unhold => room.hold(member, None).unwrap_or(false),
            };
            if !known {
                return Err(ActionRefusal::Unsupported("A call_control_id named is not in the conference."));
            }
        }
        tracing::info!(conference = %id, ?action, members = named.len(), "conference participants");
        Ok(())
    }

    /// The conferences running, oldest first.
    pub fn conferences(&self) -> Vec<ConferenceView> {
        let board = self.board();
        let mut views: Vec<ConferenceView> = board
            .control
            .rooms
            .iter()
            .filter_map(|(id, entry)| {
                Some(ConferenceView {
                    id: id.clone(),
                    name: entry.name.clone()?,
                    created_at_ms: entry.created_at_ms,
                    members: entry.room.members(),
                })
            })
            .collect();
        views.sort_by_key(|view| view.created_at_ms);
        views
    }

    /// A softphone whose call ended leaves any room it was in.
    pub(super) fn leave_rooms_on_hangup(board: &Board, call_id: &str) {
        let softphone = format!("v3:cc-{call_id}");
        if let Some((_, entry)) = board.control.room_of(&softphone) {
            entry.room.leave(&softphone);
        }
    }
}
