//! What the Telnyx SDK reports, as typed Rust values, and the pure translation of those reports
//! into the shell's [`EngineUpdate`]s. Nothing here touches JavaScript, so it is tested natively.

use std::collections::HashMap;

use softphone_core::call::{CallId, Direction, EngineUpdate, HangupCause, Party, SdkState, TelnyxLeg};
use softphone_core::ipc::ConnectionState;

/// One event of the SDK (`client.on(...)`), read into Rust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdkEvent {
    /// `telnyx.ready`: logged in and registered. Fires again after every reconnect.
    Ready,
    /// `telnyx.error`.
    Error(SdkProblem),
    /// `telnyx.warning`, except the token warning, which has its own variant.
    Warning(SdkProblem),
    /// `telnyx.warning` `TOKEN_EXPIRING_SOON` (34001): the login JWT expires within 120 s.
    TokenExpiringSoon,
    /// `telnyx.socket.close`, with the websocket close code when the SDK gave one.
    SocketClosed { code: Option<u16> },
    /// `telnyx.notification` of type `callUpdate`: a call's state or details changed.
    CallUpdate(SdkCallUpdate),
}

/// The SDK's code for the token warning (`TELNYX_WARNING_CODES.TOKEN_EXPIRING_SOON`).
pub const TOKEN_EXPIRING_SOON_CODE: u32 = 34001;
/// The SDK's code for a refused login (`TELNYX_ERROR_CODES.LOGIN_FAILED`).
pub const LOGIN_FAILED_CODE: u32 = 46001;

/// An SDK error or warning: `{code, name, message}`, plus the call it concerns, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkProblem {
    /// The SDK's numeric code (`TELNYX_ERROR_CODES` / `TELNYX_WARNING_CODES`), when it gave one.
    pub code: Option<u32>,
    /// The SDK's name for it, e.g. `LOGIN_FAILED`; empty when it gave none.
    pub name: String,
    pub message: String,
    /// The call the problem is about (`callId` of the event).
    pub call_id: Option<CallId>,
    /// True when the SDK says it can still recover (`recoverable: true`); such errors never end a call.
    pub recoverable: bool,
}

impl SdkProblem {
    /// True when the SDK aborts the call because of this error (SDP, microphone, peer set-up, or
    /// a session that was not reattached after a reconnect). Other call errors, like a refused hold,
    /// leave the call as it is.
    pub fn ends_call(&self) -> bool {
        const CALL_FATAL_CODES: [u32; 10] = [
            40001, // SDP_CREATE_OFFER_FAILED
            40002, // SDP_CREATE_ANSWER_FAILED
            40003, // SDP_SET_LOCAL_DESCRIPTION_FAILED
            40004, // SDP_SET_REMOTE_DESCRIPTION_FAILED
            40005, // SDP_SEND_FAILED
            42001, // MEDIA_MICROPHONE_PERMISSION_DENIED
            42002, // MEDIA_DEVICE_NOT_FOUND
            42003, // MEDIA_GET_USER_MEDIA_FAILED
            44005, // PEER_CLOSED_DURING_INIT
            48501, // SESSION_NOT_REATTACHED
        ];
        self.call_id.is_some() && !self.recoverable && self.code.is_some_and(|code| CALL_FATAL_CODES.contains(&code))
    }

    /// One line for logs and the shell: `[40005 SDP_SEND_FAILED] message`.
    pub fn describe(&self) -> String {
        match (self.code, self.name.is_empty()) {
            (Some(code), false) => format!("[{code} {}] {}", self.name, self.message),
            (Some(code), true) => format!("[{code}] {}", self.message),
            (None, false) => format!("[{}] {}", self.name, self.message),
            (None, true) => self.message.clone(),
        }
    }
}

/// A `callUpdate` notification: the call as the SDK holds it right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkCallUpdate {
    /// `call.id`; for calls the shell dialled this is the shell's call id (passed to `newCall`).
    pub call_id: CallId,
    /// `call.state`.
    pub state: SdkState,
    /// `call.direction`; `None` when the SDK gave something else.
    pub direction: Option<Direction>,
    /// The other end: `remoteCallerNumber`/`remoteCallerName` for inbound calls, the dialled
    /// number for outbound ones.
    pub remote: Party,
    /// `call.cause` (Telnyx's Q.850 name, e.g. `USER_BUSY`), set once the call hangs up.
    pub cause: Option<String>,
    /// `call.causeCode` (Q.850 number).
    pub cause_code: Option<u16>,
    /// `call.sipCode`, when the far end gave one.
    pub sip_code: Option<u16>,
    /// `call.telnyxIDs`, once Telnyx named the call's leg (Call Control connections only).
    pub leg: Option<TelnyxLeg>,
}

/// Turns SDK events into the shell's per-call [`EngineUpdate`]s.
///
/// Pure and deterministic; it remembers per call only what it needs so that the shell hears each
/// thing once: a call the shell did not dial is announced as [`EngineUpdate::Incoming`] the first
/// time it shows up, a state is reported only when it changes, and the end of a call (`hangup`, or
/// `destroy`/`purge` without a `hangup` before) is reported once, as [`EngineUpdate::Ended`] with
/// Telnyx's cause. A call is forgotten at `destroy`/`purge`, so memory stays flat over a shift.
#[derive(Debug, Default)]
pub struct CallUpdateTranslator {
    calls: HashMap<CallId, TrackedCall>,
}

#[derive(Debug, Default)]
struct TrackedCall {
    last_state: Option<SdkState>,
    ended: bool,
    leg: Option<TelnyxLeg>,
}

impl CallUpdateTranslator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a call the shell dialled, so its updates (and a recovered copy that the SDK
    /// labels `inbound`) are never mistaken for a new inbound call.
    pub fn expect_outbound(&mut self, call_id: &CallId) {
        self.calls.entry(call_id.clone()).or_default();
    }

    /// Records that the engine reported the call as failed itself (a command the SDK refused), so
    /// that the SDK's later hangup of it is not reported as a second end.
    pub fn mark_ended(&mut self, call_id: &CallId) {
        self.calls.entry(call_id.clone()).or_default().ended = true;
    }

    /// Stops following a call the SDK never created (`newCall` threw).
    pub fn forget(&mut self, call_id: &CallId) {
        self.calls.remove(call_id);
    }

    /// How many calls are being followed (for diagnostics and the memory test).
    pub fn tracked_calls(&self) -> usize {
        self.calls.len()
    }

    /// The updates the shell must hear for `event`, in order. Events that are not about a call
    /// give none (see [`SessionEvent::from_sdk`] for those).
    pub fn translate(&mut self, event: &SdkEvent) -> Vec<(CallId, EngineUpdate)> {
        match event {
            SdkEvent::CallUpdate(update) => self.call_update(update),
            SdkEvent::Error(problem) if problem.ends_call() => {
                let Some(call_id) = problem.call_id.clone() else { return Vec::new() };
                let tracked = self.calls.entry(call_id.clone()).or_default();
                if tracked.ended {
                    return Vec::new();
                }
                tracked.ended = true;
                vec![(call_id, EngineUpdate::Failed { message: problem.describe() })]
            }
            SdkEvent::Ready
            | SdkEvent::Error(_)
            | SdkEvent::Warning(_)
            | SdkEvent::TokenExpiringSoon
            | SdkEvent::SocketClosed { .. } => Vec::new(),
        }
    }

    fn call_update(&mut self, update: &SdkCallUpdate) -> Vec<(CallId, EngineUpdate)> {
        let call_id = update.call_id.clone();
        let mut updates = Vec::new();
        // The shell chose the id of every call it dialled (see `expect_outbound`), so a call id
        // seen for the first time is an inbound call. Its direction cannot tell: the SDK emits
        // `new` before it sets `direction` to inbound.
        let finished = matches!(update.state, SdkState::Hangup | SdkState::Destroy | SdkState::Purge);
        if !self.calls.contains_key(&call_id) && !finished {
            updates.push((call_id.clone(), EngineUpdate::Incoming { remote: update.remote.clone() }));
        }
        let tracked = self.calls.entry(call_id.clone()).or_default();
        if finished {
            if !tracked.ended {
                tracked.ended = true;
                let cause = match (&update.state, update.cause.as_deref(), update.cause_code) {
                    // Purged without a BYE (punted, or reconnecting gave up): the network took it.
                    (SdkState::Purge, None, None) => HangupCause::NetworkLost,
                    (_, cause, cause_code) => HangupCause::from_telnyx(cause, cause_code),
                };
                updates.push((call_id.clone(), EngineUpdate::Ended { cause, sip_code: update.sip_code }));
            }
            if update.state != SdkState::Hangup {
                self.calls.remove(&call_id);
            }
            return updates;
        }
        if tracked.ended {
            return updates;
        }
        if let Some(leg) = update.leg.clone().filter(|leg| tracked.leg.as_ref() != Some(leg)) {
            tracked.leg = Some(leg.clone());
            updates.push((call_id.clone(), EngineUpdate::Leg { leg }));
        }
        if tracked.last_state.as_ref() == Some(&update.state) {
            return updates;
        }
        tracked.last_state = Some(update.state.clone());
        updates.push((call_id, EngineUpdate::State { state: update.state.clone() }));
        updates
    }
}

/// What the engine tells the app about the session (not about one call): the status bar and the
/// log are fed from these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// Logged in and registered; calls can be placed. Again after every reconnect.
    Ready,
    /// The websocket closed; the SDK reconnects on its own (and recovers calls).
    SocketClosed { code: Option<u16> },
    /// An SDK error that does not end a call by itself (login refused, hold refused, ...).
    Error(SdkProblem),
    /// An SDK warning (e.g. 33005 `ONLY_HOST_ICE_CANDIDATES`, harmless offline).
    Warning(SdkProblem),
    /// The SDK warned that the login token expires soon; a new one is being fetched.
    TokenExpiringSoon,
    /// A fresh token was accepted by `client.login` on the live socket.
    TokenRefreshed { expires_at_unix: u64 },
    /// The token could not be refreshed; the session ends when the old one expires.
    TokenRefreshFailed { message: String },
    /// A command from the shell could not be carried out (already reported to the shell as a
    /// call update when it ends the call).
    CommandFailed { call_id: CallId, message: String },
}

impl SessionEvent {
    /// The session event for an SDK event that is not a call update; `None` for call updates and
    /// for errors that end a call (those reach the shell as [`EngineUpdate::Failed`]).
    pub fn from_sdk(event: &SdkEvent) -> Option<SessionEvent> {
        match event {
            SdkEvent::Ready => Some(SessionEvent::Ready),
            SdkEvent::Error(problem) if problem.ends_call() => None,
            SdkEvent::Error(problem) => Some(SessionEvent::Error(problem.clone())),
            SdkEvent::Warning(problem) => Some(SessionEvent::Warning(problem.clone())),
            SdkEvent::TokenExpiringSoon => Some(SessionEvent::TokenExpiringSoon),
            SdkEvent::SocketClosed { code } => Some(SessionEvent::SocketClosed { code: *code }),
            SdkEvent::CallUpdate(_) => None,
        }
    }

    /// The connection state the status bar should show after this event, if it changes it.
    pub fn connection_state(&self) -> Option<ConnectionState> {
        match self {
            SessionEvent::Ready => Some(ConnectionState::Ready),
            SessionEvent::SocketClosed { .. } => Some(ConnectionState::Reconnecting),
            SessionEvent::Error(problem) if problem.call_id.is_none() && is_session_fatal(problem) => {
                Some(ConnectionState::Error)
            }
            SessionEvent::Error(_)
            | SessionEvent::Warning(_)
            | SessionEvent::TokenExpiringSoon
            | SessionEvent::TokenRefreshed { .. }
            | SessionEvent::TokenRefreshFailed { .. }
            | SessionEvent::CommandFailed { .. } => None,
        }
    }
}

/// Session errors after which the SDK stops trying: a refused login or credentials, or the
/// reconnect attempts used up.
fn is_session_fatal(problem: &SdkProblem) -> bool {
    const SESSION_FATAL_CODES: [u32; 4] = [
        45003, // RECONNECTION_EXHAUSTED
        LOGIN_FAILED_CODE,
        46002, // INVALID_CREDENTIALS
        46003, // AUTHENTICATION_REQUIRED
    ];
    problem.code.is_some_and(|code| SESSION_FATAL_CODES.contains(&code))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(id: &str, state: &str, direction: Direction) -> SdkEvent {
        SdkEvent::CallUpdate(SdkCallUpdate {
            call_id: CallId::from(id),
            state: SdkState::parse(state),
            direction: Some(direction),
            remote: Party { number: "+15555550100".into(), name: None },
            cause: None,
            cause_code: None,
            sip_code: None,
            leg: None,
        })
    }

    fn hangup(id: &str, cause: &str, cause_code: u16, sip_code: Option<u16>) -> SdkEvent {
        let SdkEvent::CallUpdate(mut call) = update(id, "hangup", Direction::Outbound) else { unreachable!() };
        call.cause = Some(cause.into());
        call.cause_code = Some(cause_code);
        call.sip_code = sip_code;
        SdkEvent::CallUpdate(call)
    }

    fn problem(code: u32, call: Option<&str>) -> SdkProblem {
        SdkProblem {
            code: Some(code),
            name: "NAME".into(),
            message: "what happened".into(),
            call_id: call.map(CallId::from),
            recoverable: false,
        }
    }

    fn state(state: &str) -> EngineUpdate {
        EngineUpdate::State { state: SdkState::parse(state) }
    }

    #[test]
    fn an_outbound_call_reports_each_state_once_and_ends_with_the_telnyx_cause() {
        let mut translator = CallUpdateTranslator::new();
        let id = CallId::from("c-1");
        translator.expect_outbound(&id);
        let mut reported = Vec::new();
        for event in [
            update("c-1", "new", Direction::Outbound),
            update("c-1", "requesting", Direction::Outbound),
            update("c-1", "trying", Direction::Outbound),
            update("c-1", "trying", Direction::Outbound),
            update("c-1", "active", Direction::Outbound),
            update("c-1", "held", Direction::Outbound),
            update("c-1", "active", Direction::Outbound),
            hangup("c-1", "NORMAL_CLEARING", 16, Some(200)),
            update("c-1", "destroy", Direction::Outbound),
        ] {
            reported.extend(translator.translate(&event).into_iter().map(|(call, update)| {
                assert_eq!(call, id);
                update
            }));
        }
        assert_eq!(
            reported,
            vec![
                state("new"),
                state("requesting"),
                state("trying"),
                state("active"),
                state("held"),
                state("active"),
                EngineUpdate::Ended { cause: HangupCause::NormalClearing, sip_code: Some(200) },
            ]
        );
        assert_eq!(translator.tracked_calls(), 0, "a destroyed call is forgotten");
    }

    #[test]
    fn the_leg_telnyx_names_is_reported_once_before_the_state_it_came_with() {
        let mut translator = CallUpdateTranslator::new();
        translator.expect_outbound(&CallId::from("c-9"));
        let leg = TelnyxLeg { call_control_id: "v3:cc-9".into(), call_session_id: "sess-9".into() };
        let with_leg = |state: &str| {
            let SdkEvent::CallUpdate(mut call) = update("c-9", state, Direction::Outbound) else { unreachable!() };
            call.leg = Some(leg.clone());
            SdkEvent::CallUpdate(call)
        };
        assert_eq!(
            translator.translate(&update("c-9", "trying", Direction::Outbound)),
            vec![(CallId::from("c-9"), state("trying"))]
        );
        assert_eq!(
            translator.translate(&with_leg("ringing")),
            vec![
                (CallId::from("c-9"), EngineUpdate::Leg { leg: leg.clone() }),
                (CallId::from("c-9"), state("ringing"))
            ]
        );
        assert_eq!(translator.translate(&with_leg("active")), vec![(CallId::from("c-9"), state("active"))]);
    }

    #[test]
    fn an_inbound_call_is_announced_once_with_the_caller() {
        let mut translator = CallUpdateTranslator::new();
        let caller = Party { number: "+15551234567".into(), name: Some("Ada Lead".into()) };
        // As 2.27.10 emits it: `new` before the SDK sets the direction, then `ringing` inbound.
        let SdkEvent::CallUpdate(mut new) = update("in-1", "new", Direction::Outbound) else { unreachable!() };
        new.direction = None;
        new.remote = caller.clone();
        let SdkEvent::CallUpdate(mut ringing) = update("in-1", "ringing", Direction::Inbound) else { unreachable!() };
        ringing.remote = caller.clone();
        assert_eq!(
            translator.translate(&SdkEvent::CallUpdate(new)),
            vec![
                (CallId::from("in-1"), EngineUpdate::Incoming { remote: caller }),
                (CallId::from("in-1"), state("new")),
            ]
        );
        assert_eq!(
            translator.translate(&SdkEvent::CallUpdate(ringing.clone())),
            vec![(CallId::from("in-1"), state("ringing"))]
        );
        assert!(translator.translate(&SdkEvent::CallUpdate(ringing)).is_empty(), "no second Incoming, no repeat");
        assert_eq!(
            translator.translate(&update("in-1", "answering", Direction::Inbound)),
            vec![(CallId::from("in-1"), state("answering"))]
        );
    }

    #[test]
    fn a_recovered_outbound_call_that_the_sdk_labels_inbound_is_not_a_new_call() {
        let mut translator = CallUpdateTranslator::new();
        translator.expect_outbound(&CallId::from("c-2"));
        translator.translate(&update("c-2", "active", Direction::Outbound));
        // After a socket drop the SDK builds a new Call object with the same id, direction inbound.
        let reported: Vec<_> = [
            update("c-2", "recovering", Direction::Outbound),
            update("c-2", "new", Direction::Inbound),
            update("c-2", "recovering", Direction::Inbound),
            update("c-2", "active", Direction::Inbound),
        ]
        .iter()
        .flat_map(|event| translator.translate(event))
        .map(|(_, update)| update)
        .collect();
        assert_eq!(reported, vec![state("recovering"), state("new"), state("recovering"), state("active")]);
    }

    #[test]
    fn a_busy_number_ends_with_user_busy_and_the_sip_code() {
        let mut translator = CallUpdateTranslator::new();
        translator.expect_outbound(&CallId::from("c-3"));
        let ended = translator.translate(&hangup("c-3", "USER_BUSY", 17, Some(486)));
        assert_eq!(
            ended,
            vec![(CallId::from("c-3"), EngineUpdate::Ended { cause: HangupCause::UserBusy, sip_code: Some(486) })]
        );
        assert!(translator.translate(&update("c-3", "destroy", Direction::Outbound)).is_empty(), "ended once");
    }

    #[test]
    fn a_purge_without_hangup_still_ends_the_call_once() {
        let mut translator = CallUpdateTranslator::new();
        translator.expect_outbound(&CallId::from("c-4"));
        translator.translate(&update("c-4", "active", Direction::Outbound));
        let ended = translator.translate(&update("c-4", "purge", Direction::Outbound));
        assert_eq!(
            ended,
            vec![(CallId::from("c-4"), EngineUpdate::Ended { cause: HangupCause::NetworkLost, sip_code: None })]
        );
        assert_eq!(translator.tracked_calls(), 0);
    }

    #[test]
    fn errors_end_a_call_only_when_the_sdk_aborts_it() {
        let mut translator = CallUpdateTranslator::new();
        let sdp_failed = SdkEvent::Error(problem(40005, Some("c-5")));
        let reported = translator.translate(&sdp_failed);
        assert_eq!(
            reported,
            vec![(CallId::from("c-5"), EngineUpdate::Failed { message: "[40005 NAME] what happened".into() })]
        );
        assert!(translator.translate(&sdp_failed).is_empty(), "failed once");
        assert!(
            translator.translate(&hangup("c-5", "USER_BUSY", 17, None)).is_empty(),
            "the SDK's own hangup after the failure is not a second end"
        );

        for harmless in [
            problem(44001, Some("c-6")), // HOLD_FAILED: the call goes on
            problem(46001, None),        // LOGIN_FAILED: no call
            SdkProblem { recoverable: true, ..problem(42003, Some("c-6")) },
        ] {
            assert!(translator.translate(&SdkEvent::Error(harmless.clone())).is_empty(), "{harmless:?}");
            assert_eq!(SessionEvent::from_sdk(&SdkEvent::Error(harmless.clone())), Some(SessionEvent::Error(harmless)));
        }
        assert_eq!(SessionEvent::from_sdk(&sdp_failed), None, "reported as a call update instead");
    }

    #[test]
    fn unknown_sdk_states_are_passed_on_verbatim() {
        let mut translator = CallUpdateTranslator::new();
        translator.expect_outbound(&CallId::from("c-7"));
        assert_eq!(
            translator.translate(&update("c-7", "warp", Direction::Outbound)),
            vec![(CallId::from("c-7"), EngineUpdate::State { state: SdkState::Unknown("warp".into()) })]
        );
    }

    #[test]
    fn session_events_set_the_connection_state() {
        let cases = [
            (SessionEvent::Ready, Some(ConnectionState::Ready)),
            (SessionEvent::SocketClosed { code: Some(1006) }, Some(ConnectionState::Reconnecting)),
            (SessionEvent::Error(problem(LOGIN_FAILED_CODE, None)), Some(ConnectionState::Error)),
            (SessionEvent::Error(problem(45003, None)), Some(ConnectionState::Error)),
            (SessionEvent::Error(problem(44001, Some("c"))), None),
            (SessionEvent::Warning(problem(33005, Some("c"))), None),
            (SessionEvent::TokenRefreshed { expires_at_unix: 1 }, None),
        ];
        for (event, expected) in cases {
            assert_eq!(event.connection_state(), expected, "{event:?}");
        }
    }

    #[test]
    fn problems_describe_themselves_with_code_and_name() {
        assert_eq!(problem(46001, None).describe(), "[46001 NAME] what happened");
        let bare = SdkProblem { code: None, name: String::new(), ..problem(1, None) };
        assert_eq!(bare.describe(), "what happened");
    }
}
