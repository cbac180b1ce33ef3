//! What the switchboard does for the control API: the calls and sessions it lists, inbound calls,
//! far-end hangups and display updates, dropped and punted sessions.

use super::*;

impl Switchboard {
    /// Every call, live and recently ended, oldest first.
    pub fn calls(&self) -> Vec<CallView> {
        let board = self.board();
        let mut calls: Vec<&Call> = board.calls.values().collect();
        calls.sort_by_key(|c| c.seq);
        calls.into_iter().map(Call::view).collect()
    }

    /// Every session, most recent login first.
    pub fn sessions(&self) -> Vec<SessionView> {
        let board = self.board();
        let mut sessions: Vec<&Session> = board.sessions.values().collect();
        sessions.sort_by_key(|s| std::cmp::Reverse(s.login_seq));
        sessions
            .into_iter()
            .map(|s| SessionView {
                sessid: s.sessid.clone(),
                voice_sdk_id: s.voice_sdk_id.clone(),
                credential_id: s.credential_id.clone(),
                sip_username: s.sip_username.clone(),
                connected: s.conn.is_some(),
                calls: board
                    .calls
                    .values()
                    .filter(|c| c.sessid == s.sessid && c.live())
                    .map(|c| c.id.clone())
                    .collect(),
            })
            .collect()
    }

    pub(super) fn pick_session(board: &Board, to: Option<&str>) -> Result<String, ControlError> {
        let connected = board.sessions.values().filter(|s| s.conn.is_some());
        let found = match to {
            Some(to) => connected
                .filter(|s| s.sessid == to || s.credential_id == to || s.sip_username == to)
                .max_by_key(|s| s.login_seq)
                .ok_or_else(|| ControlError::UnknownSession(to.to_owned()))?,
            None => connected.max_by_key(|s| s.login_seq).ok_or(ControlError::NoClient)?,
        };
        Ok(found.sessid.clone())
    }

    /// Rings a logged-in client: `telnyx_rtc.invite` with a fresh SDP offer. Unanswered after
    /// `no_answer_timeout`, the caller gives up (`ORIGINATOR_CANCEL`).
    pub fn start_inbound(&self, request: InboundCall) -> Result<InboundStarted, ControlError> {
        let sessid = Self::pick_session(&self.board(), request.to.as_deref())?;
        let playback = request.playback.unwrap_or(PlaybackSpec::Tone { hz: 440.0 });
        let far_end = request.far_end.unwrap_or_default();
        let (media, offer) = MediaSession::offer_as(self.media_here(far_end), playback.to_media())
            .map_err(|e| ControlError::Media(e.to_string()))?;
        let call_id = uuid::Uuid::new_v4().to_string();
        let mut board = self.board();
        let Some(session) = board.sessions.get(&sessid) else {
            return Err(ControlError::UnknownSession(sessid));
        };
        let to = session.sip_username.clone();
        board.next_seq += 1;
        let seq = board.next_seq;
        let call = Call {
            id: call_id.clone(),
            seq,
            sessid: sessid.clone(),
            direction: Direction::Inbound,
            from: clip(&request.from, 64),
            to,
            caller_name: request.caller_name.as_deref().map(|n| clip(n, 128)),
            behaviour: None,
            state: CallState::Ringing,
            custom_headers: clip_headers(&request.custom_headers),
            dtmf: String::new(),
            media_dtmf: String::new(),
            playback,
            far_end,
            media: Some(Arc::new(media)),
            answer_sdp: None,
            final_heard: None,
            final_voicemail: None,
            started_at_ms: unix_now_ms(),
            reattached: 0,
            end: None,
            timer: None,
            bridge: None,
        };
        let params = call.call_info(Some(offer), Some(OutDialogParams { custom_headers: call.custom_headers.clone() }));
        board.calls.insert(call_id.clone(), call);
        let this = self.clone();
        let id = call_id.clone();
        let timer = tokio::spawn(async move {
            tokio::time::sleep(this.inner.config.no_answer_timeout).await;
            let mut board = this.board();
            if board.calls.get(&id).is_some_and(|c| c.state == CallState::Ringing) {
                this.end_call(&mut board, &id, Cause::originator_cancel(), EndedBy::FarEnd, true);
            }
        });
        if let Some(call) = board.calls.get_mut(&call_id) {
            call.timer = Some(timer.abort_handle());
        }
        self.push(&board, &sessid, ServerRequest::Invite(params));
        tracing::info!(%call_id, %sessid, "inbound call");
        Ok(InboundStarted { call_id, sessid })
    }

    pub(super) fn live_call<'a>(board: &'a mut Board, call_id: &str) -> Result<&'a mut Call, ControlError> {
        match board.calls.get_mut(call_id) {
            None => Err(ControlError::UnknownCall(call_id.to_owned())),
            Some(call) if !call.live() => Err(ControlError::CallEnded(call_id.to_owned())),
            Some(call) => Ok(call),
        }
    }

    /// The far end hangs up with this cause (defaults: `NORMAL_CLEARING` 16 / 200 OK).
    pub fn hang_up(&self, call_id: &str, hangup: Hangup) -> Result<(), ControlError> {
        let mut board = self.board();
        Self::live_call(&mut board, call_id)?;
        let cause = Cause {
            cause: hangup.cause.map_or_else(|| "NORMAL_CLEARING".to_owned(), |c| clip(&c, 64)),
            cause_code: hangup.cause_code.unwrap_or(16),
            sip_code: Some(hangup.sip_code.unwrap_or(200)),
            sip_reason: Some(hangup.sip_reason.map_or_else(|| "OK".to_owned(), |r| clip(&r, 128))),
        };
        self.end_call(&mut board, call_id, cause, EndedBy::FarEnd, true);
        Ok(())
    }

    /// Sends `telnyx_rtc.display` for a live call.
    pub fn display(&self, call_id: &str, name: &str, number: &str) -> Result<(), ControlError> {
        let mut board = self.board();
        let call = Self::live_call(&mut board, call_id)?;
        let sessid = call.sessid.clone();
        let params = DisplayParams {
            call_id: call_id.to_owned(),
            display_name: clip(name, 128),
            display_number: clip(number, 64),
            display_direction: "inbound",
        };
        self.push(&board, &sessid, ServerRequest::Display(params));
        Ok(())
    }

    pub(super) fn connected_sessions(board: &Board, target: &str) -> Result<Vec<String>, ControlError> {
        let sessions: Vec<String> = board
            .sessions
            .values()
            .filter(|s| s.conn.is_some() && (target == "all" || s.sessid == target))
            .map(|s| s.sessid.clone())
            .collect();
        if sessions.is_empty() && target != "all" {
            return Err(ControlError::UnknownSession(target.to_owned()));
        }
        Ok(sessions)
    }

    /// Cuts the TCP connection of a session (`all`: every session) without a close frame; the
    /// session and its answered calls wait for a reconnection. Returns how many were dropped.
    pub fn drop_sessions(&self, target: &str) -> Result<usize, ControlError> {
        let board = self.board();
        let sessions = Self::connected_sessions(&board, target)?;
        for sessid in &sessions {
            if let Some(conn) = board.sessions.get(sessid).and_then(|s| s.conn.as_ref()) {
                let _ = conn.tx.try_send(Outgoing::Drop);
            }
        }
        Ok(sessions.len())
    }

    /// The sessions' sockets go silent without closing, as a computer's that went to sleep:
    /// nothing is read from them and nothing reaches them (frames meant for them are lost), until
    /// the client logs in again on a new socket and takes its session over. Returns how many.
    pub fn freeze_sessions(&self, target: &str) -> Result<usize, ControlError> {
        let board = self.board();
        let sessions = Self::connected_sessions(&board, target)?;
        for sessid in &sessions {
            if let Some(conn) = board.sessions.get(sessid).and_then(|s| s.conn.as_ref()) {
                let _ = conn.tx.try_send(Outgoing::Freeze);
            }
        }
        Ok(sessions.len())
    }

    /// Sends `telnyx_rtc.punt`, closes the socket and forgets the session: its calls end
    /// without `bye` and a reconnection is a fresh login. Returns how many were punted.
    pub fn punt(&self, target: &str) -> Result<usize, ControlError> {
        let mut board = self.board();
        let sessions = Self::connected_sessions(&board, target)?;
        for sessid in &sessions {
            self.push(&board, sessid, ServerRequest::Punt(EmptyParams {}));
            if let Some(conn) = board.sessions.get(sessid).and_then(|s| s.conn.as_ref()) {
                let _ = conn.tx.try_send(Outgoing::Close);
            }
            self.close_session(&mut board, sessid, Cause::normal_clearing());
        }
        Ok(sessions.len())
    }

    /// Whether the session exists and `conn_id` is its connection (it may have been taken over
    /// by a reconnection or punted).
    pub(crate) fn owns(&self, sessid: &str, conn_id: u64) -> bool {
        self.board().sessions.get(sessid).is_some_and(|s| s.conn.as_ref().is_some_and(|c| c.id == conn_id))
    }
}
