//! What the switchboard does with a client's requests: login, calls placed and answered, hangups,
//! hold, DTMF, attach, and a connection that went away.

use super::*;
use crate::media::{VOICEMAIL_BEEP, VOICEMAIL_GREETING, VOICEMAIL_RECORD_MAX};

impl Switchboard {
    /// `login`: checks the credentials and starts, refreshes or reattaches a session.
    ///
    /// `current` is the session this connection already has; `query_voice_sdk_id` the
    /// `?voice_sdk_id=` of the websocket URL.
    pub(crate) fn login(
        &self,
        conn: &ConnLink,
        current: Option<&str>,
        params: &LoginParams,
        query_voice_sdk_id: Option<&str>,
    ) -> Result<LoggedIn, RpcError> {
        let (credential_id, sip_username) = self.authenticate(params)?;
        let mut board = self.board();
        board.next_seq += 1;
        let seq = board.next_seq;

        // A refresh (`client.login` with a new token on the same socket) keeps the session.
        if let Some(current) = current
            && let Some(session) = board.sessions.get_mut(current)
        {
            if session.credential_id == credential_id {
                session.login_seq = seq;
                return Ok(LoggedIn {
                    sessid: session.sessid.clone(),
                    voice_sdk_id: session.voice_sdk_id.clone(),
                    reattached: Vec::new(),
                });
            }
            let current = current.to_owned();
            self.close_session(&mut board, &current, Cause::normal_clearing());
        }

        // A reconnection within the window reattaches the old session and its answered calls.
        if params.reconnection == Some(true)
            && let Some(old) = params.sessid.as_deref()
            && let Some(session) = board.sessions.get_mut(old)
            && session.credential_id == credential_id
            && query_voice_sdk_id.is_none_or(|v| v == session.voice_sdk_id)
        {
            if let Some(previous) = session.conn.replace(conn.clone())
                && previous.id != conn.id
            {
                let _ = previous.tx.try_send(Outgoing::Drop);
            }
            session.login_seq = seq;
            let sessid = session.sessid.clone();
            let voice_sdk_id = session.voice_sdk_id.clone();
            let mut reattached: Vec<(u64, String)> = board
                .calls
                .values()
                .filter(|c| c.sessid == sessid && c.state.is_answered())
                .map(|c| (c.seq, c.id.clone()))
                .collect();
            reattached.sort();
            tracing::info!(%sessid, calls = reattached.len(), "session reattached");
            return Ok(LoggedIn {
                sessid,
                voice_sdk_id,
                reattached: reattached.into_iter().map(|(_, id)| id).collect(),
            });
        }

        let sessid = uuid::Uuid::new_v4().to_string();
        let voice_sdk_id = format!("vsdk-{}", uuid::Uuid::new_v4());
        board.sessions.insert(
            sessid.clone(),
            Session {
                sessid: sessid.clone(),
                voice_sdk_id: voice_sdk_id.clone(),
                credential_id,
                sip_username,
                login_seq: seq,
                conn: Some(conn.clone()),
                disconnects: 0,
            },
        );
        tracing::info!(%sessid, "session started");
        Ok(LoggedIn { sessid, voice_sdk_id, reattached: Vec::new() })
    }

    /// `login`/`passwd` first (as at Telnyx), else `login_token`.
    pub(super) fn authenticate(&self, params: &LoginParams) -> Result<(String, String), RpcError> {
        let failure =
            |why: &str| RpcError::new(codes::AUTHENTICATION_FAILURE, format!("Authentication Failure: {why}"));
        let credential_id = if let Some(login) = params.login.as_deref().filter(|l| !l.is_empty()) {
            let passwd = params.passwd.as_deref().unwrap_or_default();
            self.inner.sim.check_sip_login(login, passwd).ok_or_else(|| failure("wrong SIP user name or password"))?
        } else if let Some(token) = params.login_token.as_deref().filter(|t| !t.is_empty()) {
            self.inner.sim.verify_login_token(token).map_err(|e| failure(&e.to_string()))?.sub
        } else {
            return Err(failure("no login_token and no login/passwd"));
        };
        let sip_username = self
            .inner
            .sim
            .credential(&credential_id)
            .map(|c| c.sip_username)
            .ok_or_else(|| failure("the credential no longer exists"))?;
        Ok((credential_id, sip_username))
    }

    /// The client's `telnyx_rtc.invite`: an outbound call to a directory number.
    pub(crate) fn client_invite(&self, sessid: &str, params: &CallParams) -> Result<Reply, RpcError> {
        let call_id = params
            .call_id()
            .ok_or_else(|| RpcError::new(codes::INVALID_PARAMS, "Invalid params: no dialogParams.callID"))?
            .to_owned();
        let dialog = &params.dialog_params;
        let destination = dialog.destination_number.clone().unwrap_or_default();
        {
            let board = self.board();
            if board.calls.get(&call_id).is_some_and(Call::live) {
                return Err(RpcError::new(codes::INVALID_PARAMS, format!("call {call_id} already exists")));
            }
            let live = board.calls.values().filter(|c| c.sessid == sessid && c.live()).count();
            if live >= LIVE_CALLS_PER_SESSION {
                return Err(RpcError::new(
                    codes::INVALID_PARAMS,
                    format!("at most {LIVE_CALLS_PER_SESSION} calls per session"),
                ));
            }
        }
        if let Some(user) = bridge::sip_user(&destination) {
            return self.client_to_client(sessid, params, call_id, user);
        }
        let behaviour = self.behaviour_for(&destination);
        let playback = self.answer_playback(&destination);
        // Media is set up (and the SDP checked) only for numbers that answer.
        let mut incompatible = false;
        let (media, answer_sdp) = match (playback, params.sdp.as_deref()) {
            (Some(playback), Some(offer)) => {
                match MediaSession::answer_as(self.media_here(behaviour.far_end()), offer, playback.to_media()) {
                    Ok((media, answer)) => (Some(Arc::new(media)), Some(answer)),
                    Err(MediaError::NoAudio) if client_sdp::audio_port(offer).is_some() => {
                        // FreeSWITCH: "NO CODECS", the call fails with INCOMPATIBLE_DESTINATION.
                        let offered = client_sdp::audio_codecs(offer).join(", ");
                        self.inner.audit.report(
                            "telnyx_rtc.invite",
                            "params.sdp",
                            format!("call {call_id}: no codec in common with the far end (offered: {offered})"),
                        );
                        incompatible = true;
                        (None, None)
                    }
                    Err(error) => {
                        tracing::info!(%error, %call_id, "unusable SDP offer");
                        return Err(RpcError::new(codes::CODEC_ERROR, format!("the SDP offer is unusable: {error}")));
                    }
                }
            }
            (Some(_), None) => {
                return Err(RpcError::new(codes::INVALID_PARAMS, "Invalid params: the invite has no sdp"));
            }
            (None, _) => (None, None),
        };
        let mut board = self.board();
        board.next_seq += 1;
        let seq = board.next_seq;
        let call = Call {
            id: call_id.clone(),
            seq,
            sessid: sessid.to_owned(),
            direction: Direction::Outbound,
            from: dialog.caller_id_number.clone().map(|n| clip(&n, 64)).unwrap_or_default(),
            to: clip(&destination, 64),
            caller_name: dialog.caller_id_name.as_deref().map(|n| clip(n, 128)),
            behaviour: Some(behaviour),
            state: CallState::Trying,
            custom_headers: clip_headers(dialog.custom_headers.as_deref().unwrap_or_default()),
            dtmf: String::new(),
            media_dtmf: String::new(),
            playback: playback.unwrap_or(PlaybackSpec::Silence),
            far_end: behaviour.far_end(),
            media,
            answer_sdp,
            final_heard: None,
            final_voicemail: None,
            started_at_ms: unix_now_ms(),
            reattached: 0,
            end: None,
            timer: None,
            bridge: None,
        };
        // An ended call with the same id is replaced.
        board.calls.insert(call_id.clone(), call);
        board.ended_order.retain(|id| id != &call_id);
        if let Some(offer) = params.sdp.as_deref() {
            let media = board.calls.get(&call_id).and_then(|call| call.media.clone());
            self.hold_by_sdp("telnyx_rtc.invite", &call_id, offer, media.as_deref());
        }
        let task = if incompatible {
            let this = self.clone();
            let id = call_id.clone();
            tokio::spawn(async move {
                this.far_end_hangs_up(&id, Cause::incompatible_destination());
            })
        } else {
            tokio::spawn(self.clone().script(call_id.clone(), behaviour))
        };
        if let Some(call) = board.calls.get_mut(&call_id) {
            call.timer = Some(task.abort_handle());
        }
        tracing::info!(%call_id, to = %destination, behaviour = behaviour.word(), "outbound call");
        Ok(Reply::Call(CallResult { message: "CALL CREATED", call_id, sessid: sessid.to_owned() }))
    }

    /// What a directory number does after the invite, step by step.
    pub(super) async fn script(self, call_id: String, behaviour: Behaviour) {
        let config = self.inner.config.clone();
        match behaviour {
            Behaviour::Unallocated => {
                self.far_end_hangs_up(&call_id, Cause::unallocated_number());
            }
            Behaviour::Busy => {
                self.far_end_hangs_up(&call_id, Cause::user_busy());
            }
            Behaviour::Reject => {
                self.ring(&call_id);
                tokio::time::sleep(config.answer_delay).await;
                self.far_end_hangs_up(&call_id, Cause::call_rejected());
            }
            Behaviour::NoAnswer => {
                self.ring(&call_id);
                tokio::time::sleep(config.no_answer_timeout).await;
                self.far_end_hangs_up(&call_id, Cause::no_answer());
            }
            Behaviour::Tone
            | Behaviour::Echo
            | Behaviour::AlawOnly
            | Behaviour::IceLite
            | Behaviour::IceLitePassive
            | Behaviour::DtlsPassive => {
                self.ring(&call_id);
                tokio::time::sleep(config.answer_delay).await;
                self.far_end_answers(&call_id, None);
            }
            Behaviour::EarlyMedia => {
                self.ring(&call_id);
                self.early_media(&call_id);
                tokio::time::sleep(config.early_media_duration).await;
                self.far_end_answers(&call_id, Some(PlaybackSpec::Tone { hz: 440.0 }));
            }
            Behaviour::HangUp => {
                self.ring(&call_id);
                tokio::time::sleep(config.answer_delay).await;
                self.far_end_answers(&call_id, None);
                tokio::time::sleep(config.hangup_after).await;
                self.far_end_hangs_up(&call_id, Cause::normal_clearing());
            }
            Behaviour::Voicemail => {
                self.ring(&call_id);
                tokio::time::sleep(config.answer_delay).await;
                self.far_end_answers(&call_id, None);
                tokio::time::sleep(VOICEMAIL_GREETING + VOICEMAIL_BEEP + VOICEMAIL_RECORD_MAX).await;
                self.far_end_hangs_up(&call_id, Cause::normal_clearing());
            }
        }
    }

    pub(super) fn ring(&self, call_id: &str) {
        let mut board = self.board();
        let Some(call) = board.calls.get_mut(call_id).filter(|c| c.state == CallState::Trying) else { return };
        call.state = CallState::Ringing;
        let (sessid, params) = (call.sessid.clone(), call.call_info(None, None));
        self.push(&board, &sessid, ServerRequest::Ringing(params));
    }

    pub(super) fn early_media(&self, call_id: &str) {
        let mut board = self.board();
        let Some(call) = board.calls.get_mut(call_id).filter(|c| c.state == CallState::Ringing) else { return };
        call.state = CallState::Early;
        let params = SdpParams { call_id: call_id.to_owned(), sdp: call.answer_sdp.take() };
        let sessid = call.sessid.clone();
        self.push(&board, &sessid, ServerRequest::Media(params));
    }

    pub(super) fn far_end_answers(&self, call_id: &str, playback: Option<PlaybackSpec>) {
        let mut board = self.board();
        let Some(call) =
            board.calls.get_mut(call_id).filter(|c| matches!(c.state, CallState::Ringing | CallState::Early))
        else {
            return;
        };
        call.state = CallState::Active;
        if let Some(playback) = playback {
            call.playback = playback;
            if let Some(media) = &call.media {
                media.set_playback(playback.to_media());
            }
        }
        let params = SdpParams { call_id: call_id.to_owned(), sdp: call.answer_sdp.take() };
        let sessid = call.sessid.clone();
        tracing::info!(call_id, "far end answered");
        self.push(&board, &sessid, ServerRequest::Answer(params));
    }

    /// Ends a live call from the far end's side and sends `telnyx_rtc.bye`.
    pub(super) fn far_end_hangs_up(&self, call_id: &str, cause: Cause) -> bool {
        let mut board = self.board();
        self.end_call(&mut board, call_id, cause, EndedBy::FarEnd, true)
    }

    /// Ends a live call; sends `bye` to its session when `notify`. `false` if it was not live.
    pub(super) fn end_call(&self, board: &mut Board, call_id: &str, cause: Cause, by: EndedBy, notify: bool) -> bool {
        let Some(call) = board.calls.get_mut(call_id).filter(|c| c.live()) else { return false };
        let bye = cause.bye(call_id);
        tracing::info!(call_id, cause = %cause.cause, ?by, "call ended");
        let (direction, partner) = (call.direction, call.bridge.as_ref().map(|b| b.partner.clone()));
        Self::save_recording(board, call_id);
        Self::leave_rooms_on_hangup(board, call_id);
        let Some(call) = board.calls.get_mut(call_id) else { return false };
        call.finish(CallEnd { cause: cause.clone(), by });
        let sessid = call.sessid.clone();
        if let Some(partner) = partner {
            self.end_partner(board, &partner, cause, direction);
        }
        board.ended_order.push_back(call_id.to_owned());
        while board.ended_order.len() > ENDED_CALLS_KEPT {
            if let Some(old) = board.ended_order.pop_front() {
                board.calls.remove(&old);
                board.control.forget(&old);
            }
        }
        if notify {
            self.push(board, &sessid, bye);
        }
        true
    }

    /// The client's `telnyx_rtc.answer` of an inbound call.
    pub(crate) fn client_answer(&self, sessid: &str, params: &CallParams) -> Result<Reply, RpcError> {
        let call_id = required_call_id(params)?;
        let sdp =
            params.sdp.as_deref().ok_or_else(|| RpcError::new(codes::INVALID_PARAMS, "Invalid params: no sdp"))?;
        let media = {
            let mut board = self.board();
            let call = owned_live_call(&mut board, sessid, &call_id)?;
            if call.direction != Direction::Inbound || call.state != CallState::Ringing {
                return Err(RpcError::new(codes::CALL_DOES_NOT_EXIST, format!("call {call_id} is not ringing here")));
            }
            call.media.clone()
        };
        if let Some(media) = &media
            && let Err(error) = media.accept_answer(sdp)
        {
            return Err(RpcError::new(codes::CODEC_ERROR, format!("the SDP answer is unusable: {error}")));
        }
        self.hold_by_sdp("telnyx_rtc.answer", &call_id, sdp, media.as_deref());
        let mut board = self.board();
        let call = owned_live_call(&mut board, sessid, &call_id)?;
        if call.state != CallState::Ringing {
            return Err(RpcError::new(codes::CALL_DOES_NOT_EXIST, format!("call {call_id} is not ringing here")));
        }
        call.state = CallState::Active;
        if let Some(timer) = call.timer.take() {
            timer.abort();
        }
        if let Some(partner) = call.bridge.as_ref().map(|b| b.partner.clone()) {
            self.partner_answered(&mut board, &partner, sdp);
        }
        tracing::info!(%call_id, "inbound call answered");
        Ok(Reply::Call(CallResult { message: "CALL ANSWERED", call_id, sessid: sessid.to_owned() }))
    }

    /// The client's `telnyx_rtc.attach`: the answer to a recovery offer.
    pub(crate) fn client_attach(&self, sessid: &str, params: &CallParams) -> Result<Reply, RpcError> {
        let call_id = required_call_id(params)?;
        let sdp =
            params.sdp.as_deref().ok_or_else(|| RpcError::new(codes::INVALID_PARAMS, "Invalid params: no sdp"))?;
        let (media, held) = {
            let mut board = self.board();
            let call = owned_live_call(&mut board, sessid, &call_id)?;
            (call.media.clone(), call.state == CallState::Held)
        };
        if let Some(media) = &media
            && let Err(error) = media.accept_answer(sdp)
        {
            return Err(RpcError::new(codes::CODEC_ERROR, format!("the SDP answer is unusable: {error}")));
        }
        self.hold_by_sdp("telnyx_rtc.attach", &call_id, sdp, media.as_deref());
        // Telnyx keeps a held call held across the recovery; the SDK says so with
        // wasHeldBeforeRecovery and shows the call held. A client that does not would show it active.
        if held && params.dialog_params.was_held_before_recovery != Some(true) {
            self.inner.audit.report(
                "telnyx_rtc.attach",
                "params.dialogParams.wasHeldBeforeRecovery",
                format!(
                    "call {call_id} is held, but the attach does not say wasHeldBeforeRecovery: the client \
                     will show it active while the far end stays held"
                ),
            );
        }
        tracing::info!(%call_id, held, "call attached");
        Ok(Reply::Call(CallResult { message: "CALL ATTACHED", call_id, sessid: sessid.to_owned() }))
    }

    /// The client's `telnyx_rtc.bye`. Answered with the cause; a call that already ended is
    /// answered the same way (both sides hung up at once).
    pub(crate) fn client_bye(&self, sessid: &str, params: &CallParams) -> Result<Reply, RpcError> {
        let call_id = required_call_id(params)?;
        let cause = Cause {
            cause: params.cause.as_deref().map_or_else(|| "NORMAL_CLEARING".to_owned(), |c| clip(c, 64)),
            cause_code: params.cause_code().unwrap_or(16),
            sip_code: params.sip_code(),
            sip_reason: None,
        };
        let mut board = self.board();
        match board.calls.get(&call_id) {
            Some(call) if call.sessid == sessid => {}
            _ => return Err(RpcError::new(codes::CALL_DOES_NOT_EXIST, format!("no call {call_id} in this session"))),
        }
        let reply = ByeResult {
            call_id: call_id.clone(),
            message: "CALL ENDED",
            cause_code: cause.cause_code,
            cause: cause.cause.clone(),
            sessid: sessid.to_owned(),
        };
        self.end_call(&mut board, &call_id, cause, EndedBy::Client, false);
        Ok(Reply::Bye(reply))
    }

    /// The client's `telnyx_rtc.modify`: hold, unhold, toggleHold.
    pub(crate) fn client_modify(&self, sessid: &str, params: &CallParams) -> Result<Reply, RpcError> {
        let call_id = required_call_id(params)?;
        let action = params.action.clone().unwrap_or_default();
        let mut board = self.board();
        let call = owned_live_call(&mut board, sessid, &call_id)?;
        if !call.state.is_answered() {
            return Err(RpcError::new(codes::INVALID_PARAMS, format!("call {call_id} is not answered")));
        }
        call.state = match action.as_str() {
            "hold" => CallState::Held,
            "unhold" => CallState::Active,
            "toggleHold" if call.state == CallState::Held => CallState::Active,
            "toggleHold" => CallState::Held,
            "updateMedia" => {
                return Err(RpcError::new(codes::CODEC_ERROR, "updateMedia (ICE restart) is not simulated"));
            }
            other => {
                return Err(RpcError::new(
                    codes::INVALID_PARAMS,
                    format!("Invalid params: unknown action {:?}", clip(other, 64)),
                ));
            }
        };
        let hold_state = if call.state == CallState::Held { "held" } else { "active" };
        Ok(Reply::Modify(ModifyResult { call_id, action: clip(&action, 64), hold_state, sessid: sessid.to_owned() }))
    }

    /// The client's `telnyx_rtc.info`: records DTMF digits on the call.
    pub(crate) fn client_info(&self, sessid: &str, params: &CallParams) {
        let (Some(call_id), Some(dtmf)) = (params.call_id(), params.dtmf.as_deref()) else { return };
        let mut board = self.board();
        if let Some(call) = board.calls.get_mut(call_id).filter(|c| c.sessid == sessid && c.live()) {
            let room = DTMF_KEPT.saturating_sub(call.dtmf.chars().count());
            call.dtmf
                .extend(dtmf.chars().filter(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D')).take(room));
        }
    }

    /// After REGED of a reattached session: a fresh offer per call in `telnyx_rtc.attach`.
    pub(crate) fn send_attaches(&self, sessid: &str, call_ids: &[String]) {
        for call_id in call_ids {
            if self.board().calls.get(call_id).is_some_and(|c| c.bridge.is_some()) {
                self.attach_bridged(sessid, call_id);
                continue;
            }
            let (playback, far_end) = {
                let board = self.board();
                match board.calls.get(call_id).filter(|c| c.sessid == sessid && c.live()) {
                    Some(call) => (call.playback, call.far_end),
                    None => continue,
                }
            };
            let (media, offer) = match MediaSession::offer_as(self.media_here(far_end), playback.to_media()) {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, %call_id, "no media for the reattached call");
                    let mut board = self.board();
                    self.end_call(&mut board, call_id, Cause::temporary_failure(), EndedBy::Simulator, true);
                    continue;
                }
            };
            let mut board = self.board();
            let Some(call) = board.calls.get_mut(call_id).filter(|c| c.live()) else { continue };
            call.retire_media();
            call.media = Some(Arc::new(media));
            call.reattached += 1;
            let params = call.call_info(Some(offer), None);
            self.push(&board, sessid, ServerRequest::Attach(params));
        }
    }

    /// The websocket of `conn_id` is gone. Unanswered calls end; answered ones wait
    /// `reattach_window` for a reconnection.
    pub(crate) fn connection_closed(&self, conn_id: u64, sessid: Option<&str>) {
        let Some(sessid) = sessid else { return };
        let generation = {
            let mut board = self.board();
            let Some(session) = board.sessions.get_mut(sessid) else { return };
            if session.conn.as_ref().is_none_or(|c| c.id != conn_id) {
                return;
            }
            session.conn = None;
            session.disconnects += 1;
            let generation = session.disconnects;
            let unanswered: Vec<String> = board
                .calls
                .values()
                .filter(|c| c.sessid == sessid && c.live() && !c.state.is_answered())
                .map(|c| c.id.clone())
                .collect();
            for call_id in unanswered {
                self.end_call(&mut board, &call_id, Cause::temporary_failure(), EndedBy::Simulator, false);
            }
            generation
        };
        tracing::info!(sessid, "session disconnected; waiting for a reconnection");
        let this = self.clone();
        let sessid = sessid.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(this.inner.config.reattach_window).await;
            let mut board = this.board();
            if board.sessions.get(&sessid).is_some_and(|s| s.conn.is_none() && s.disconnects == generation) {
                tracing::info!(%sessid, "reattach window over; session closed");
                this.close_session(&mut board, &sessid, Cause::recovery_timer_expired());
            }
        });
    }

    /// Ends the session's calls (no `bye`) and forgets it.
    pub(super) fn close_session(&self, board: &mut Board, sessid: &str, cause: Cause) {
        let call_ids: Vec<String> =
            board.calls.values().filter(|c| c.sessid == sessid && c.live()).map(|c| c.id.clone()).collect();
        for call_id in call_ids {
            self.end_call(board, &call_id, cause.clone(), EndedBy::Simulator, false);
        }
        board.sessions.remove(sessid);
    }
}
