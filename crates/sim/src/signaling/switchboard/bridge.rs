//! Calls between two clients. Telnyx routes a call to `sip:<user>@sip.telnyx.com` to the client
//! logged in with that SIP user name (a telephony credential); so does the simulator.
//!
//! The caller's leg (outbound) and the callee's leg (inbound, a call id of its own) are linked.
//! At first the SDP passes through: the callee gets the caller's offer in its `invite`, the
//! caller gets the callee's answer in its `answer`, and the two WebRTC stacks talk to each other
//! directly. A socket drop on either side changes that: neither client can make a new offer for
//! the other on request, so the simulator anchors the media as Telnyx's media servers do. It
//! sends each connected leg an `attach` with an offer of its own media peer and relays the audio
//! between the two peers ([`AudioPipe`]), so a recovered call has audio both ways again.
//!
//! A hangup on one leg ends the other: the caller giving up before the answer is
//! `ORIGINATOR_CANCEL` for the callee, the callee declining is the caller's `USER_BUSY`, an
//! unanswered callee is the caller's `NO_ANSWER`; any other cause passes through. A SIP user
//! with no client logged in is `USER_NOT_REGISTERED` (FreeSWITCH's 606) / SIP 480.

use std::sync::Arc;

use super::{Board, Call, CallState, Cause, Direction, EndedBy, PlaybackSpec, Switchboard, clip, clip_headers};
use crate::media::{AudioPipe, FarEnd, MediaSession, Playback};
use crate::signaling::frames::{
    CallParams, CallResult, OutDialogParams, Reply, RpcError, SdpParams, ServerRequest, codes,
};

/// Where Telnyx's SIP users live.
pub const SIP_DOMAIN: &str = "sip.telnyx.com";

/// One leg's link to the other.
#[derive(Debug, Clone)]
pub(crate) struct Bridge {
    /// The other leg's call id.
    pub(crate) partner: String,
    /// Once the simulator anchors the media: what this leg's client hears (the other client's
    /// voice) and what it says.
    pub(crate) pipes: Option<(AudioPipe, AudioPipe)>,
}

/// The SIP user a destination names, if it is `sip:<user>@sip.telnyx.com`.
pub(crate) fn sip_user(destination: &str) -> Option<&str> {
    let address = destination.strip_prefix("sip:")?;
    let (user, domain) = address.split_once('@')?;
    (domain.eq_ignore_ascii_case(SIP_DOMAIN) && !user.is_empty()).then_some(user)
}

/// What the other leg is told when the leg `ended` (the caller's or the callee's) ends with
/// `cause`, the other one answered or not yet.
pub(crate) fn told_partner(cause: Cause, ended: Direction, partner_answered: bool) -> Cause {
    match (ended, partner_answered, cause.cause.as_str()) {
        // The caller hung up (or gave up) before the answer: the callee's phone stops ringing.
        (Direction::Outbound, false, _) => Cause::originator_cancel(),
        (_, _, "USER_BUSY") => Cause::user_busy(),
        (_, _, "NORMAL_CLEARING") => Cause::normal_clearing(),
        _ => cause,
    }
}

impl Cause {
    /// `USER_NOT_REGISTERED` 606 / 480: no client is logged in as that SIP user.
    pub fn user_not_registered() -> Self {
        Self::new("USER_NOT_REGISTERED", 606, 480, "Temporarily Unavailable")
    }
}

impl Switchboard {
    /// The caller's `invite` to a SIP user: rings the client logged in as that user with the
    /// caller's offer.
    pub(super) fn client_to_client(
        &self,
        sessid: &str,
        params: &CallParams,
        call_id: String,
        user: &str,
    ) -> Result<Reply, RpcError> {
        let offer =
            params.sdp.as_deref().ok_or_else(|| RpcError::new(codes::INVALID_PARAMS, "Invalid params: no sdp"))?;
        let dialog = &params.dialog_params;
        let mut board = self.board();
        let callee = board
            .sessions
            .values()
            .filter(|s| s.conn.is_some() && s.sip_username == user && s.sessid != sessid)
            .max_by_key(|s| s.login_seq)
            .map(|s| s.sessid.clone());
        let caller = board.sessions.get(sessid).map(|s| s.sip_username.clone()).unwrap_or_default();
        let from = dialog.caller_id_number.as_deref().filter(|n| !n.is_empty()).unwrap_or(&caller);
        let caller_name = dialog.caller_id_name.as_deref().filter(|n| !n.is_empty()).map(|n| clip(n, 128));
        let headers = clip_headers(dialog.custom_headers.as_deref().unwrap_or_default());
        let partner_id = callee.as_ref().map(|_| uuid::Uuid::new_v4().to_string());
        board.next_seq += 1;
        let leg = |id: &str, seq: u64, sessid: &str, direction: Direction, partner: Option<&String>| Call {
            id: id.to_owned(),
            seq,
            sessid: sessid.to_owned(),
            direction,
            from: clip(from, 64),
            to: clip(user, 64),
            caller_name: caller_name.clone(),
            behaviour: None,
            state: if direction == Direction::Outbound { CallState::Trying } else { CallState::Ringing },
            custom_headers: headers.clone(),
            dtmf: String::new(),
            media_dtmf: String::new(),
            playback: PlaybackSpec::Silence,
            far_end: FarEnd::default(),
            media: None,
            answer_sdp: None,
            final_heard: None,
            final_voicemail: None,
            started_at_ms: super::unix_now_ms(),
            reattached: 0,
            end: None,
            timer: None,
            bridge: partner.map(|partner| Bridge { partner: partner.clone(), pipes: None }),
        };
        let seq = board.next_seq;
        board.calls.insert(call_id.clone(), leg(&call_id, seq, sessid, Direction::Outbound, partner_id.as_ref()));
        board.ended_order.retain(|id| id != &call_id);
        self.hold_by_sdp("telnyx_rtc.invite", &call_id, offer, None);
        let this = self.clone();
        let caller_leg = call_id.clone();
        let (Some(callee), Some(partner_id)) = (callee, partner_id) else {
            tracing::info!(%call_id, user, "no client logged in as the SIP user");
            tokio::spawn(async move {
                this.far_end_hangs_up(&caller_leg, Cause::user_not_registered());
            });
            return Ok(Reply::Call(CallResult { message: "CALL CREATED", call_id, sessid: sessid.to_owned() }));
        };
        board.next_seq += 1;
        let seq = board.next_seq;
        let callee_leg = leg(&partner_id, seq, &callee, Direction::Inbound, Some(&call_id));
        let invite = callee_leg.call_info(
            Some(offer.to_owned()),
            Some(OutDialogParams { custom_headers: callee_leg.custom_headers.clone() }),
        );
        board.calls.insert(partner_id.clone(), callee_leg);
        self.push(&board, &callee, ServerRequest::Invite(invite));
        // The caller hears ringing; an unanswered callee is the caller's NO_ANSWER.
        let ringing = tokio::spawn(async move {
            this.ring(&caller_leg);
            tokio::time::sleep(this.inner.config.no_answer_timeout).await;
            let mut board = this.board();
            if board.calls.get(&caller_leg).is_some_and(|c| c.state == CallState::Ringing) {
                this.end_call(&mut board, &caller_leg, Cause::no_answer(), EndedBy::FarEnd, true);
            }
        });
        if let Some(call) = board.calls.get_mut(&call_id) {
            call.timer = Some(ringing.abort_handle());
        }
        tracing::info!(%call_id, %partner_id, user, "call between two clients");
        Ok(Reply::Call(CallResult { message: "CALL CREATED", call_id, sessid: sessid.to_owned() }))
    }

    /// The callee answered with `sdp`: the caller's leg is answered with it.
    pub(super) fn partner_answered(&self, board: &mut Board, caller_leg: &str, sdp: &str) {
        let Some(call) = board.calls.get_mut(caller_leg).filter(|c| c.live()) else { return };
        call.state = CallState::Active;
        if let Some(timer) = call.timer.take() {
            timer.abort();
        }
        let sessid = call.sessid.clone();
        let params = SdpParams { call_id: caller_leg.to_owned(), sdp: Some(sdp.to_owned()) };
        self.push(board, &sessid, ServerRequest::Answer(params));
    }

    /// The leg `ended` ended with `cause`: the other one ends too, and its client is told.
    pub(super) fn end_partner(&self, board: &mut Board, partner: &str, cause: Cause, ended: Direction) {
        let Some(other) = board.calls.get(partner).filter(|c| c.live()) else { return };
        let told = told_partner(cause, ended, other.state.is_answered());
        self.end_call(board, partner, told, EndedBy::FarEnd, true);
    }

    /// After a reconnection, a leg of a call between two clients is recovered with media the
    /// simulator anchors; the other leg, if its client is connected, is moved to it too.
    pub(super) fn attach_bridged(&self, sessid: &str, call_id: &str) {
        let mut board = self.board();
        let Some(partner) = board
            .calls
            .get(call_id)
            .filter(|c| c.sessid == sessid && c.live())
            .and_then(|c| c.bridge.as_ref())
            .map(|b| b.partner.clone())
        else {
            return;
        };
        let anchored = board.calls.get(call_id).and_then(|c| c.bridge.as_ref()?.pipes.clone()).is_some();
        let mut legs = vec![call_id.to_owned()];
        if !anchored {
            // Two pipes: what this leg's client says is what the other hears, and back.
            let (to_here, to_there) = (AudioPipe::default(), AudioPipe::default());
            if let Some(bridge) = board.calls.get_mut(call_id).and_then(|c| c.bridge.as_mut()) {
                bridge.pipes = Some((to_here.clone(), to_there.clone()));
            }
            let partner_connected = match board.calls.get_mut(&partner).filter(|c| c.live()) {
                Some(other) => {
                    if let Some(bridge) = other.bridge.as_mut() {
                        bridge.pipes = Some((to_there, to_here));
                    }
                    let other_sessid = other.sessid.clone();
                    board.sessions.get(&other_sessid).is_some_and(|s| s.conn.is_some())
                }
                None => false,
            };
            if partner_connected {
                legs.push(partner);
            }
        }
        for leg in legs {
            let Some(call) = board.calls.get_mut(&leg) else { continue };
            let Some((hears, says)) = call.bridge.as_ref().and_then(|b| b.pipes.clone()) else { continue };
            let (media, offer) = match MediaSession::offer_as(FarEnd::default(), Playback::Relay(hears)) {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, call_id = %leg, "no media for the recovered call");
                    self.end_call(&mut board, &leg, Cause::temporary_failure(), EndedBy::Simulator, true);
                    continue;
                }
            };
            media.relay_into(Some(says));
            call.retire_media();
            call.media = Some(Arc::new(media));
            call.reattached += 1;
            let (leg_sessid, params) = (call.sessid.clone(), call.call_info(Some(offer), None));
            tracing::info!(call_id = %leg, "call between two clients anchored for its recovery");
            self.push(&board, &leg_sessid, ServerRequest::Attach(params));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_telnyx_sip_users_are_routed_to_clients() {
        assert_eq!(sip_user("sip:gencredAbc@sip.telnyx.com"), Some("gencredAbc"));
        assert_eq!(sip_user("sip:agent7@SIP.TELNYX.COM"), Some("agent7"));
        for other in ["+15555550100", "sip:@sip.telnyx.com", "sip:a@example.com", "agent7@sip.telnyx.com"] {
            assert_eq!(sip_user(other), None, "{other}");
        }
    }

    #[test]
    fn the_other_leg_hears_the_cause_as_telnyx_gives_it() {
        let table = [
            // The caller cancels, or gives up on no answer: the callee's ringing stops.
            (Cause::user_busy(), Direction::Outbound, false, "ORIGINATOR_CANCEL"),
            (Cause::no_answer(), Direction::Outbound, false, "ORIGINATOR_CANCEL"),
            // The callee declines: the caller hears busy.
            (Cause::user_busy(), Direction::Inbound, false, "USER_BUSY"),
            (Cause::normal_clearing(), Direction::Inbound, true, "NORMAL_CLEARING"),
            (Cause::normal_clearing(), Direction::Outbound, true, "NORMAL_CLEARING"),
            (Cause::recovery_timer_expired(), Direction::Outbound, true, "RECOVERY_ON_TIMER_EXPIRE"),
        ];
        for (cause, ended, answered, expected) in table {
            let told = told_partner(cause.clone(), ended, answered);
            assert_eq!(told.cause, expected, "{cause:?} {ended:?} answered {answered}");
        }
    }
}
