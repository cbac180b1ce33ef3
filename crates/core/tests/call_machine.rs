//! Table tests of the call state machine: what an agent would see and what the shell must do.

use softphone_core::call::{
    CallControlAction, CallControlCommand, CallEvent, CallId, CallMachine, CallOutcome, CallView, Effect,
    EngineCommand, EngineUpdate, HangupCause, Participant, ParticipantChange, Party, RecordingView, Rejection,
    RingerMode, SdkState, TelnyxLeg, UnixMillis, deadline,
};
use softphone_core::call_log::LoggedCallState;
use softphone_core::lead::LeadId;

const T0: UnixMillis = UnixMillis(1_700_000_000_000);

fn at(seconds: u64) -> UnixMillis {
    T0.plus_secs(seconds)
}

fn id(text: &str) -> CallId {
    CallId::from(text)
}

fn party(number: &str) -> Party {
    Party { number: number.to_owned(), name: None }
}

fn dial(call: &str) -> CallEvent {
    CallEvent::Dial { call_id: id(call), remote: party("+14155550100"), lead_id: Some(LeadId(7)), caller_number: None }
}

fn incoming(call: &str) -> CallEvent {
    engine(call, EngineUpdate::Incoming { remote: party("+15551234567") })
}

fn engine(call: &str, update: EngineUpdate) -> CallEvent {
    CallEvent::Engine { call_id: id(call), update }
}

fn sdk(call: &str, state: &str) -> CallEvent {
    engine(call, EngineUpdate::State { state: SdkState::parse(state) })
}

fn ended(call: &str, cause: &str, sip_code: Option<u16>) -> CallEvent {
    engine(call, EngineUpdate::Ended { cause: HangupCause::from_telnyx(Some(cause), None), sip_code })
}

fn view(machine: &CallMachine, call: &str) -> CallView {
    machine.snapshot().calls.iter().find(|c| c.call_id == id(call)).map(|c| c.view).expect("call is listed")
}

fn ok(machine: &mut CallMachine, event: CallEvent, now: UnixMillis) -> Vec<Effect> {
    machine.handle(event.clone(), now).unwrap_or_else(|rejection| panic!("{event:?} rejected: {rejection}"))
}

fn engine_commands(effects: &[Effect]) -> Vec<EngineCommand> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Engine(command) => Some(command.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn outbound_call_from_dial_to_wrap_up() {
    let mut machine = CallMachine::new();
    let effects = ok(&mut machine, dial("a"), at(0));
    // The engine's next step comes first, the bookkeeping after it (the order the shell runs them).
    assert!(matches!(&effects[0], Effect::Engine(EngineCommand::Dial { .. })), "{effects:?}");
    assert!(matches!(&effects[1], Effect::LogStarted { lead_id: Some(LeadId(7)), at, .. } if *at == T0), "{effects:?}");
    assert_eq!(
        engine_commands(&effects),
        [EngineCommand::Dial { call_id: id("a"), number: "+14155550100".into(), caller_number: None }]
    );
    assert_eq!(effects.last(), Some(&Effect::Publish));
    assert_eq!(view(&machine, "a"), CallView::Dialing);

    // SDK chatter that changes nothing the agent sees publishes nothing.
    assert_eq!(ok(&mut machine, sdk("a", "trying"), at(1)), []);

    ok(&mut machine, sdk("a", "early"), at(2));
    assert_eq!(view(&machine, "a"), CallView::EarlyMedia);

    let effects = ok(&mut machine, sdk("a", "active"), at(5));
    assert!(effects.contains(&Effect::LogAnswered { call_id: id("a"), at: at(5) }));
    assert_eq!(view(&machine, "a"), CallView::Active);

    let effects = ok(&mut machine, CallEvent::Hangup { call_id: id("a") }, at(65));
    assert_eq!(engine_commands(&effects), [EngineCommand::Hangup { call_id: id("a") }]);
    assert_eq!(view(&machine, "a"), CallView::Ending);

    let effects = ok(&mut machine, ended("a", "NORMAL_CLEARING", Some(200)), at(65));
    let finished = effects
        .iter()
        .find_map(|effect| match effect {
            Effect::LogFinished { end, duration_ms, .. } => Some((end.clone(), *duration_ms)),
            _ => None,
        })
        .expect("the call log is finalized");
    assert_eq!(finished.0.outcome, CallOutcome::Completed);
    assert_eq!(finished.1, 60_000);
    assert!(effects.contains(&Effect::OpenWrapUp { call_id: id("a") }));
    assert_eq!(view(&machine, "a"), CallView::Ended);
    assert!(!machine.has_live_calls());
}

#[test]
fn outbound_outcomes_follow_the_cause() {
    let cases = [
        ("USER_BUSY", Some(486), CallOutcome::Busy, "Busy"),
        ("NO_ANSWER", Some(480), CallOutcome::NoAnswer, "No answer"),
        ("CALL_REJECTED", Some(603), CallOutcome::Rejected, "Call rejected"),
        ("UNALLOCATED_NUMBER", Some(404), CallOutcome::Failed, "Number does not exist"),
    ];
    for (cause, sip, outcome, label) in cases {
        let mut machine = CallMachine::new();
        ok(&mut machine, dial("a"), at(0));
        ok(&mut machine, ended("a", cause, sip), at(3));
        let call = &machine.snapshot().calls[0];
        let end = call.end.as_ref().expect("ended");
        assert_eq!((end.outcome, end.cause_label.as_str(), end.sip_code), (outcome, label, sip), "{cause}");
    }
}

#[test]
fn a_call_stuck_dialing_is_hung_up_at_its_deadline() {
    let mut machine = CallMachine::new();
    ok(&mut machine, dial("a"), at(0));
    assert_eq!(ok(&mut machine, CallEvent::Tick, at(89)), []);
    let effects = ok(&mut machine, CallEvent::Tick, at(90));
    assert_eq!(engine_commands(&effects), [EngineCommand::Hangup { call_id: id("a") }]);
    let end = machine.snapshot().calls[0].end.clone().expect("ended");
    assert_eq!(end.outcome, CallOutcome::NoAnswer);
}

#[test]
fn inbound_call_rings_notifies_and_is_answered() {
    let mut machine = CallMachine::new();
    let effects = ok(&mut machine, incoming("in"), at(0));
    assert!(effects.contains(&Effect::NotifyIncoming { call_id: id("in"), remote: party("+15551234567") }));
    assert!(effects.contains(&Effect::Ringer { mode: RingerMode::Ring }));
    assert_eq!(view(&machine, "in"), CallView::Ringing);

    let effects = ok(&mut machine, CallEvent::Answer { call_id: id("in") }, at(4));
    assert_eq!(engine_commands(&effects), [EngineCommand::Answer { call_id: id("in") }]);
    assert!(effects.contains(&Effect::WithdrawIncoming { call_id: id("in") }));
    assert!(effects.contains(&Effect::Ringer { mode: RingerMode::Off }));

    ok(&mut machine, sdk("in", "active"), at(5));
    assert_eq!(view(&machine, "in"), CallView::Active);
}

#[test]
fn a_caller_who_gives_up_is_a_missed_call_without_wrap_up() {
    let mut machine = CallMachine::new();
    ok(&mut machine, incoming("in"), at(0));
    let effects = ok(&mut machine, ended("in", "ORIGINATOR_CANCEL", Some(487)), at(12));
    assert!(effects.contains(&Effect::NotifyMissed { call_id: id("in"), remote: party("+15551234567") }));
    assert!(effects.contains(&Effect::WithdrawIncoming { call_id: id("in") }));
    assert!(effects.contains(&Effect::Ringer { mode: RingerMode::Off }));
    assert!(!effects.iter().any(|effect| matches!(effect, Effect::OpenWrapUp { .. })));
    assert_eq!(machine.snapshot().calls[0].end.as_ref().map(|end| end.outcome), Some(CallOutcome::Missed));
}

#[test]
fn an_unanswered_call_stops_ringing_at_its_deadline() {
    let mut machine = CallMachine::new();
    ok(&mut machine, incoming("in"), at(0));
    let effects = ok(&mut machine, CallEvent::Tick, at(60));
    assert_eq!(engine_commands(&effects), [EngineCommand::Hangup { call_id: id("in") }]);
    assert!(effects.contains(&Effect::Ringer { mode: RingerMode::Off }));
    assert_eq!(machine.snapshot().calls[0].end.as_ref().map(|end| end.outcome), Some(CallOutcome::Missed));
}

#[test]
fn do_not_disturb_turns_a_call_away_busy_and_missed_without_ringing_or_a_popup() {
    let mut machine = CallMachine::new();
    let effects = ok(&mut machine, CallEvent::SetDoNotDisturb { on: true }, at(0));
    assert_eq!(effects, [Effect::DoNotDisturb { on: true }], "the desktop follows; no call changed");
    let effects = ok(&mut machine, incoming("in"), at(1));
    // The engine declines it at once, before the call is logged.
    assert_eq!(engine_commands(&effects), [EngineCommand::Hangup { call_id: id("in") }]);
    assert!(matches!(&effects[0], Effect::Engine(_)), "{effects:?}");
    assert!(effects.iter().any(|effect| matches!(effect, Effect::LogStarted { .. })), "{effects:?}");
    for effect in &effects {
        assert!(!matches!(effect, Effect::NotifyIncoming { .. } | Effect::Ringer { .. }), "{effect:?}");
    }
    assert_eq!(view(&machine, "in"), CallView::Ending);
    let effects = ok(&mut machine, ended("in", "USER_BUSY", None), at(1));
    assert!(!effects.iter().any(|effect| matches!(effect, Effect::NotifyMissed { .. } | Effect::OpenWrapUp { .. })));
    let end = machine.snapshot().calls[0].end.clone().expect("ended");
    assert_eq!((end.cause, end.outcome.logged_state()), (HangupCause::UserBusy, LoggedCallState::Missed));

    // Off again, the next call rings and pops up.
    ok(&mut machine, CallEvent::SetDoNotDisturb { on: false }, at(2));
    let effects = ok(&mut machine, incoming("next"), at(3));
    assert!(effects.contains(&Effect::Ringer { mode: RingerMode::Ring }), "{effects:?}");
    assert!(effects.iter().any(|effect| matches!(effect, Effect::NotifyIncoming { .. })), "{effects:?}");
}

#[test]
fn outcomes_are_logged_as_the_call_log_counts_them() {
    let table = [
        (CallOutcome::Completed, LoggedCallState::Completed),
        (CallOutcome::Missed, LoggedCallState::Missed),
        (CallOutcome::Declined, LoggedCallState::Missed),
        (CallOutcome::Cancelled, LoggedCallState::Failed),
        (CallOutcome::Busy, LoggedCallState::Failed),
        (CallOutcome::NoAnswer, LoggedCallState::Failed),
        (CallOutcome::Rejected, LoggedCallState::Failed),
        (CallOutcome::Failed, LoggedCallState::Failed),
    ];
    for (outcome, logged) in table {
        assert_eq!(outcome.logged_state(), logged, "{outcome:?}");
    }
}

#[test]
fn declining_is_not_a_missed_call() {
    let mut machine = CallMachine::new();
    ok(&mut machine, incoming("in"), at(0));
    let effects = ok(&mut machine, CallEvent::Decline { call_id: id("in") }, at(2));
    assert_eq!(engine_commands(&effects), [EngineCommand::Hangup { call_id: id("in") }]);
    let effects = ok(&mut machine, ended("in", "USER_BUSY", None), at(2));
    assert!(!effects.iter().any(|effect| matches!(effect, Effect::NotifyMissed { .. })));
    assert_eq!(machine.snapshot().calls[0].end.as_ref().map(|end| end.outcome), Some(CallOutcome::Declined));
}

#[test]
fn call_waiting_holds_the_first_call_to_answer_the_second() {
    let mut machine = CallMachine::new();
    ok(&mut machine, dial("a"), at(0));
    ok(&mut machine, sdk("a", "active"), at(1));

    let effects = ok(&mut machine, incoming("b"), at(10));
    assert!(effects.contains(&Effect::Ringer { mode: RingerMode::CallWaiting }));

    // The window labels the answer button from the view: the first call will be held.
    assert!(view(&machine, "a").is_held_to_answer_another());
    let effects = ok(&mut machine, CallEvent::Answer { call_id: id("b") }, at(12));
    assert_eq!(
        engine_commands(&effects),
        [EngineCommand::Hold { call_id: id("a") }, EngineCommand::Answer { call_id: id("b") }]
    );
    assert!(!view(&machine, "a").is_held_to_answer_another(), "already on its way to hold");
    assert_eq!(view(&machine, "a"), CallView::Holding);
    ok(&mut machine, sdk("a", "held"), at(12));
    ok(&mut machine, sdk("b", "active"), at(13));
    assert_eq!((view(&machine, "a"), view(&machine, "b")), (CallView::Held, CallView::Active));

    // Taking the first call back holds the second.
    let effects = ok(&mut machine, CallEvent::Resume { call_id: id("a") }, at(30));
    assert_eq!(
        engine_commands(&effects),
        [EngineCommand::Hold { call_id: id("b") }, EngineCommand::Unhold { call_id: id("a") }]
    );
    ok(&mut machine, sdk("b", "held"), at(30));
    ok(&mut machine, sdk("a", "active"), at(31));
    assert_eq!((view(&machine, "a"), view(&machine, "b")), (CallView::Active, CallView::Held));
}

#[test]
fn dialing_a_second_call_while_one_is_dialled_is_refused_and_changes_nothing() {
    let mut machine = CallMachine::new();
    ok(&mut machine, dial("a"), at(0));
    let before = machine.snapshot();
    assert_eq!(machine.handle(dial("b"), at(1)), Err(Rejection::BusyDialing));
    assert_eq!(machine.snapshot(), before);
    assert_eq!(machine.handle(dial("a"), at(1)), Err(Rejection::DuplicateCall(id("a"))));
}

#[test]
fn a_dropped_connection_recovers_the_same_call() {
    let mut machine = CallMachine::new();
    ok(&mut machine, dial("a"), at(0));
    ok(&mut machine, sdk("a", "active"), at(2));
    ok(&mut machine, sdk("a", "recovering"), at(20));
    assert_eq!(view(&machine, "a"), CallView::Reconnecting);
    ok(&mut machine, sdk("a", "active"), at(23));
    let snapshot = machine.snapshot();
    assert_eq!(snapshot.calls.len(), 1, "the same call, not a new one");
    assert_eq!(snapshot.calls[0].view, CallView::Active);
    assert_eq!(snapshot.calls[0].answered_at, Some(at(2)));
}

#[test]
fn a_call_that_never_recovers_ends_as_connection_lost() {
    let mut machine = CallMachine::new();
    ok(&mut machine, dial("a"), at(0));
    ok(&mut machine, sdk("a", "active"), at(2));
    ok(&mut machine, sdk("a", "recovering"), at(20));
    ok(&mut machine, CallEvent::Tick, at(50));
    let end = machine.snapshot().calls[0].end.clone().expect("ended");
    assert_eq!(
        (end.outcome, end.cause, end.cause_label.as_str()),
        (CallOutcome::Completed, HangupCause::NetworkLost, "Connection lost")
    );
}

#[test]
fn an_unconfirmed_hold_returns_to_active() {
    let mut machine = CallMachine::new();
    ok(&mut machine, dial("a"), at(0));
    ok(&mut machine, sdk("a", "active"), at(1));
    ok(&mut machine, CallEvent::Hold { call_id: id("a") }, at(5));
    assert_eq!(view(&machine, "a"), CallView::Holding);
    ok(&mut machine, CallEvent::Tick, at(15));
    assert_eq!(view(&machine, "a"), CallView::Active);
}

#[test]
fn unknown_sdk_states_are_rejected_with_a_reason() {
    let mut machine = CallMachine::new();
    ok(&mut machine, dial("a"), at(0));
    assert_eq!(machine.handle(sdk("a", "teleporting"), at(1)), Err(Rejection::UnknownSdkState("teleporting".into())));
    assert_eq!(view(&machine, "a"), CallView::Dialing);
    assert_eq!(machine.handle(sdk("nope", "active"), at(1)), Err(Rejection::UnknownCall(id("nope"))));
}

#[test]
fn digits_go_to_the_engine_only_when_valid_and_connected() {
    let mut machine = CallMachine::new();
    ok(&mut machine, dial("a"), at(0));
    let send = |digits: &str| CallEvent::SendDigits { call_id: id("a"), digits: digits.into() };
    assert!(matches!(machine.handle(send("1"), at(1)), Err(Rejection::NotNow { view: CallView::Dialing, .. })));
    ok(&mut machine, sdk("a", "active"), at(1));
    assert_eq!(machine.handle(send("12x"), at(2)), Err(Rejection::InvalidDigits("12x".into())));
    assert_eq!(
        engine_commands(&ok(&mut machine, send("1#*"), at(2))),
        [EngineCommand::SendDigits { call_id: id("a"), digits: "1#*".into() }]
    );
}

#[test]
fn double_hangup_and_late_engine_events_are_harmless() {
    let mut machine = CallMachine::new();
    ok(&mut machine, dial("a"), at(0));
    ok(&mut machine, sdk("a", "active"), at(1));
    ok(&mut machine, CallEvent::Hangup { call_id: id("a") }, at(5));
    assert_eq!(ok(&mut machine, CallEvent::Hangup { call_id: id("a") }, at(5)), []);
    ok(&mut machine, ended("a", "NORMAL_CLEARING", None), at(5));
    assert_eq!(ok(&mut machine, sdk("a", "destroy"), at(6)), []);
    assert_eq!(ok(&mut machine, ended("a", "NORMAL_CLEARING", None), at(6)), []);
}

#[test]
fn an_unconfirmed_hangup_ends_the_call_after_five_seconds() {
    let mut machine = CallMachine::new();
    ok(&mut machine, dial("a"), at(0));
    ok(&mut machine, sdk("a", "active"), at(1));
    ok(&mut machine, CallEvent::Hangup { call_id: id("a") }, at(10));
    assert_eq!(view(&machine, "a"), CallView::Ending);
    ok(&mut machine, CallEvent::Tick, at(15));
    assert_eq!(view(&machine, "a"), CallView::Ended);
}

#[test]
fn dismissed_calls_leave_the_list_and_ended_calls_are_bounded() {
    let mut machine = CallMachine::new();
    ok(&mut machine, dial("a"), at(0));
    assert!(matches!(
        machine.handle(CallEvent::Dismiss { call_id: id("a") }, at(1)),
        Err(Rejection::NotNow { view: CallView::Dialing, .. })
    ));
    ok(&mut machine, ended("a", "USER_BUSY", None), at(1));
    ok(&mut machine, CallEvent::Dismiss { call_id: id("a") }, at(2));
    assert!(machine.snapshot().calls.is_empty());

    for n in 0..100 {
        let call = format!("c{n}");
        ok(&mut machine, dial(&call), at(10 + n));
        ok(&mut machine, ended(&call, "USER_BUSY", None), at(10 + n));
    }
    let calls = machine.snapshot().calls;
    assert_eq!(calls.len(), softphone_core::call::MAX_ENDED_CALLS);
    assert_eq!(calls.last().map(|call| call.call_id.clone()), Some(id("c99")), "the newest are kept");
}

#[test]
fn lead_match_links_the_call_log() {
    let mut machine = CallMachine::new();
    ok(&mut machine, incoming("in"), at(0));
    let effects = ok(&mut machine, CallEvent::LeadMatched { call_id: id("in"), lead_id: LeadId(42) }, at(0));
    assert!(effects.contains(&Effect::LogLeadMatched { call_id: id("in"), lead_id: LeadId(42) }));
    assert_eq!(machine.snapshot().calls[0].lead_id, Some(LeadId(42)));
}

#[test]
fn sdk_states_travel_as_the_sdk_strings_and_unknown_ones_survive() {
    for state in ["new", "active", "held", "purge", "teleporting"] {
        let parsed: SdkState = serde_json::from_value(serde_json::json!(state)).expect("any string deserializes");
        assert_eq!(parsed, SdkState::parse(state));
        assert_eq!(serde_json::to_value(&parsed).expect("serializes"), serde_json::json!(state));
    }
}

#[test]
fn a_new_far_end_is_shown_on_the_live_call_and_an_ended_call_keeps_its_own() {
    let mut machine = CallMachine::new();
    ok(&mut machine, incoming("a"), at(0));
    ok(&mut machine, CallEvent::Answer { call_id: id("a") }, at(1));
    ok(&mut machine, sdk("a", "active"), at(2));
    let remote = |machine: &CallMachine| machine.snapshot().calls[0].remote.clone();

    // Transferred to someone else: the agent sees who is on the line now.
    let transferred = EngineUpdate::RemoteChanged { name: Some("Billing".into()), number: Some("+15550001111".into()) };
    let effects = ok(&mut machine, engine("a", transferred), at(3));
    assert!(effects.contains(&Effect::Publish));
    assert_eq!(remote(&machine), Party { number: "+15550001111".into(), name: Some("Billing".into()) });

    // A name alone keeps the number; a new number alone drops the old name, which was someone else's.
    ok(
        &mut machine,
        engine("a", EngineUpdate::RemoteChanged { name: Some("Billing desk".into()), number: None }),
        at(4),
    );
    assert_eq!(remote(&machine), Party { number: "+15550001111".into(), name: Some("Billing desk".into()) });
    ok(
        &mut machine,
        engine("a", EngineUpdate::RemoteChanged { name: None, number: Some("+15550002222".into()) }),
        at(5),
    );
    assert_eq!(remote(&machine), party("+15550002222"));
    // The same again changes nothing the agent sees.
    let same = EngineUpdate::RemoteChanged { name: None, number: Some("+15550002222".into()) };
    assert!(!ok(&mut machine, engine("a", same), at(6)).contains(&Effect::Publish));

    ok(&mut machine, ended("a", "NORMAL_CLEARING", Some(200)), at(7));
    let late = EngineUpdate::RemoteChanged { name: Some("Late".into()), number: Some("+15550003333".into()) };
    ok(&mut machine, engine("a", late), at(8));
    assert_eq!(remote(&machine), party("+15550002222"), "an ended call keeps who it was with");

    // About no call at all: refused.
    let stray = EngineUpdate::RemoteChanged { name: None, number: Some("+15550004444".into()) };
    assert!(machine.handle(engine("zz", stray), at(9)).is_err());
}

#[test]
fn every_published_change_has_a_higher_revision_and_a_refused_event_none() {
    let mut machine = CallMachine::new();
    assert_eq!(machine.snapshot().revision, 0);
    let effects = ok(&mut machine, incoming("in"), at(1));
    assert!(effects.contains(&Effect::Publish));
    let ringing = machine.snapshot().revision;
    assert!(ringing > 0);
    assert!(machine.handle(CallEvent::Answer { call_id: id("nobody") }, at(2)).is_err());
    assert_eq!(machine.snapshot().revision, ringing, "a refused event changes nothing");
    ok(&mut machine, CallEvent::Answer { call_id: id("in") }, at(2));
    assert!(machine.snapshot().revision > ringing);
}

#[test]
fn a_voicemail_drop_plays_on_by_itself_while_the_agent_dials_the_next_lead() {
    let mut machine = CallMachine::new();
    ok(&mut machine, dial("a"), at(0));
    // Not before the far end answers.
    let refused = machine.handle(CallEvent::DropVoicemail { call_id: id("a"), greeting: "g.wav".into() }, at(1));
    assert!(matches!(refused, Err(Rejection::NotNow { view: CallView::Dialing, .. })), "{refused:?}");
    ok(&mut machine, sdk("a", "active"), at(2));

    let effects = ok(&mut machine, CallEvent::DropVoicemail { call_id: id("a"), greeting: "g.wav".into() }, at(10));
    assert_eq!(
        engine_commands(&effects),
        [EngineCommand::PlayVoicemail { call_id: id("a"), greeting: "g.wav".into() }]
    );
    assert_eq!(view(&machine, "a"), CallView::LeavingVoicemail);
    // The SDK's chatter does not take the greeting off the call; the agent's hold cannot either.
    ok(&mut machine, sdk("a", "active"), at(11));
    assert_eq!(view(&machine, "a"), CallView::LeavingVoicemail);
    assert!(machine.handle(CallEvent::Hold { call_id: id("a") }, at(11)).is_err());

    // The next lead is dialled at once, and the greeting call is not put on hold for it.
    let effects = ok(&mut machine, dial("b"), at(12));
    assert!(
        !engine_commands(&effects).iter().any(|command| matches!(command, EngineCommand::Hold { .. })),
        "{effects:?}"
    );
    assert_eq!(view(&machine, "b"), CallView::Dialing);

    // The engine hangs up when the greeting ends: logged as completed, gone from the panel with no
    // wrap-up (it was wrapped up when dropped).
    let effects = ok(&mut machine, ended("a", "NORMAL_CLEARING", Some(200)), at(40));
    assert!(
        effects
            .iter()
            .any(|effect| matches!(effect, Effect::LogFinished { end, .. } if end.outcome == CallOutcome::Completed)),
        "{effects:?}"
    );
    assert!(!effects.iter().any(|effect| matches!(effect, Effect::OpenWrapUp { .. })), "{effects:?}");
    assert!(machine.snapshot().calls.iter().all(|call| call.call_id != id("a")), "the greeting call left the panel");
    assert_eq!(view(&machine, "b"), CallView::Dialing);
}

#[test]
fn a_voicemail_drop_that_never_ends_is_hung_up() {
    let mut machine = CallMachine::new();
    ok(&mut machine, dial("a"), at(0));
    ok(&mut machine, sdk("a", "active"), at(1));
    ok(&mut machine, CallEvent::DropVoicemail { call_id: id("a"), greeting: "g.wav".into() }, at(2));
    let late = at(2 + softphone_core::call::deadline::LEAVING_VOICEMAIL_SECS);
    let effects = ok(&mut machine, CallEvent::Tick, late);
    assert_eq!(engine_commands(&effects), [EngineCommand::Hangup { call_id: id("a") }]);
    assert_eq!(view(&machine, "a"), CallView::Ending);
    let effects = ok(&mut machine, CallEvent::Tick, late.plus_secs(softphone_core::call::deadline::ENDING_SECS));
    assert!(!effects.iter().any(|effect| matches!(effect, Effect::OpenWrapUp { .. })), "{effects:?}");
    assert!(machine.snapshot().calls.is_empty());
}

/// An inbound call answered at `at(1)`, its leg named by Telnyx.
fn connected_with_a_leg() -> CallMachine {
    let mut machine = CallMachine::new();
    ok(&mut machine, incoming("a"), at(0));
    let leg = TelnyxLeg { call_control_id: "v3:cc-a".into(), call_session_id: "sess-a".into() };
    ok(&mut machine, engine("a", EngineUpdate::Leg { leg }), at(0));
    ok(&mut machine, CallEvent::Answer { call_id: id("a") }, at(1));
    ok(&mut machine, sdk("a", "active"), at(1));
    machine
}

fn transfer_to(number: &str) -> CallEvent {
    CallEvent::Transfer { call_id: id("a"), to: number.into() }
}

#[test]
fn a_blind_transfer_asks_telnyx_then_ends_as_transferred_to_whom_when_telnyx_hangs_up_the_agent() {
    let mut machine = connected_with_a_leg();
    let effects = ok(&mut machine, transfer_to("+15555550123"), at(5));
    let sent: Vec<&CallControlCommand> =
        effects.iter().filter_map(|e| if let Effect::CallControl(c) = e { Some(c) } else { None }).collect();
    assert!(
        matches!(sent[..], [CallControlCommand::Transfer { call_id, leg, to }]
            if *call_id == id("a") && leg.call_control_id == "v3:cc-a" && to == "+15555550123"),
        "{effects:?}"
    );
    assert_eq!(view(&machine, "a"), CallView::Transferring);
    assert!(machine.handle(CallEvent::Hold { call_id: id("a") }, at(6)).is_err(), "no hold while handing on");

    let effects = ok(&mut machine, ended("a", "NORMAL_CLEARING", Some(200)), at(8));
    let end = machine.snapshot().calls[0].end.clone().expect("ended");
    assert_eq!(end.outcome, CallOutcome::Transferred);
    assert_eq!(end.transferred_to.as_deref(), Some("+15555550123"));
    assert_eq!(end.outcome.logged_state(), LoggedCallState::Completed);
    assert!(effects.iter().any(|e| matches!(e, Effect::OpenWrapUp { .. })), "the agent wraps it up: {effects:?}");
}

#[test]
fn a_refused_transfer_leaves_the_caller_connected_and_says_why() {
    let mut machine = connected_with_a_leg();
    ok(&mut machine, transfer_to("+15555550123"), at(5));
    let message = "Telnyx refused the transfer: The 'to' parameter must be in E164 format.";
    let refused = CallEvent::CallControlRefused {
        call_id: id("a"),
        refused: CallControlAction::Transfer,
        message: message.into(),
    };
    ok(&mut machine, refused, at(6));
    let call = machine.snapshot().calls[0].clone();
    assert_eq!(
        (call.view, call.control.notice.as_deref(), call.control.transfer_to),
        (CallView::Active, Some(message), None)
    );
    // A later hangup is an ordinary completed call.
    ok(&mut machine, ended("a", "NORMAL_CLEARING", None), at(9));
    assert_eq!(machine.snapshot().calls[0].end.as_ref().map(|e| e.outcome), Some(CallOutcome::Completed));
}

#[test]
fn a_transfer_nobody_takes_goes_back_to_the_caller_held_as_it_was() {
    let mut machine = connected_with_a_leg();
    ok(&mut machine, CallEvent::Hold { call_id: id("a") }, at(2));
    ok(&mut machine, sdk("a", "held"), at(2));
    ok(&mut machine, transfer_to("+15555550104"), at(5));
    ok(&mut machine, CallEvent::Tick, at(5 + deadline::TRANSFERRING_SECS));
    let call = machine.snapshot().calls[0].clone();
    assert_eq!(call.view, CallView::Held);
    assert_eq!(
        call.control.notice.as_deref(),
        Some("+15555550104 did not take the transfer; the caller is still with you.")
    );
}

#[test]
fn a_call_telnyx_did_not_name_cannot_be_transferred() {
    let mut machine = CallMachine::new();
    ok(&mut machine, incoming("a"), at(0));
    ok(&mut machine, CallEvent::Answer { call_id: id("a") }, at(1));
    ok(&mut machine, sdk("a", "active"), at(1));
    assert_eq!(machine.handle(transfer_to("+15555550123"), at(2)), Err(Rejection::NoCallControl));
    let mut ringing = CallMachine::new();
    ok(&mut ringing, incoming("a"), at(0));
    let leg = TelnyxLeg { call_control_id: "v3:cc-a".into(), call_session_id: "sess-a".into() };
    ok(&mut ringing, engine("a", EngineUpdate::Leg { leg }), at(0));
    assert!(matches!(ringing.handle(transfer_to("+15555550123"), at(1)), Err(Rejection::NotNow { .. })));
}

#[test]
fn a_caller_on_hold_hears_music_until_the_agent_comes_back_or_hands_them_on() {
    let music = |effects: &[Effect]| -> Vec<CallControlCommand> {
        effects.iter().filter_map(|e| if let Effect::CallControl(c) = e { Some(c.clone()) } else { None }).collect()
    };
    let mut machine = connected_with_a_leg();
    ok(&mut machine, CallEvent::SetHoldMusic { on: true, url: Some("https://example.com/hold.mp3".into()) }, at(1));
    assert!(music(&ok(&mut machine, CallEvent::Hold { call_id: id("a") }, at(2))).is_empty(), "not before the hold");
    let held = ok(&mut machine, sdk("a", "held"), at(2));
    assert!(
        matches!(&music(&held)[..], [CallControlCommand::StartHoldMusic { leg, url: Some(url), .. }]
            if leg.call_control_id == "v3:cc-a" && url == "https://example.com/hold.mp3"),
        "{held:?}"
    );
    let resumed = ok(&mut machine, CallEvent::Resume { call_id: id("a") }, at(5));
    assert!(matches!(&music(&resumed)[..], [CallControlCommand::StopHoldMusic { .. }]), "{resumed:?}");
    ok(&mut machine, sdk("a", "active"), at(5));

    // Held again and handed on: the music stops before the transfer.
    ok(&mut machine, CallEvent::Hold { call_id: id("a") }, at(6));
    ok(&mut machine, sdk("a", "held"), at(6));
    let handed = ok(&mut machine, transfer_to("+15555550123"), at(7));
    assert!(
        matches!(&music(&handed)[..], [CallControlCommand::StopHoldMusic { .. }, CallControlCommand::Transfer { .. }]),
        "{handed:?}"
    );

    // Turned off: a hold is silent.
    let mut quiet = connected_with_a_leg();
    ok(&mut quiet, CallEvent::SetHoldMusic { on: false, url: None }, at(1));
    ok(&mut quiet, CallEvent::Hold { call_id: id("a") }, at(2));
    assert!(music(&ok(&mut quiet, sdk("a", "held"), at(2))).is_empty());
}

fn control(effects: &[Effect]) -> Vec<CallControlCommand> {
    effects.iter().filter_map(|e| if let Effect::CallControl(c) = e { Some(c.clone()) } else { None }).collect()
}

fn recording(machine: &CallMachine) -> RecordingView {
    machine.snapshot().calls[0].control.recording
}

#[test]
fn the_agent_records_pauses_for_a_card_number_resumes_and_the_recordings_are_kept_after_the_call() {
    let mut machine = connected_with_a_leg();
    let started = ok(&mut machine, CallEvent::Record { call_id: id("a") }, at(2));
    assert!(
        matches!(&control(&started)[..], [CallControlCommand::StartRecording { leg, .. }] if leg.call_control_id == "v3:cc-a")
    );
    assert_eq!(recording(&machine), RecordingView::Recording);
    assert!(control(&ok(&mut machine, CallEvent::Record { call_id: id("a") }, at(3))).is_empty(), "once");

    let paused = ok(&mut machine, CallEvent::PauseRecording { call_id: id("a"), paused: true }, at(4));
    assert!(matches!(&control(&paused)[..], [CallControlCommand::PauseRecording { paused: true, .. }]));
    assert_eq!(recording(&machine), RecordingView::Paused);
    let resumed = ok(&mut machine, CallEvent::PauseRecording { call_id: id("a"), paused: false }, at(5));
    assert!(matches!(&control(&resumed)[..], [CallControlCommand::PauseRecording { paused: false, .. }]));
    let stopped = ok(&mut machine, CallEvent::StopRecording { call_id: id("a") }, at(6));
    assert!(matches!(&control(&stopped)[..], [CallControlCommand::StopRecording { .. }]));
    assert_eq!(recording(&machine), RecordingView::Off);
    assert!(
        machine.handle(CallEvent::PauseRecording { call_id: id("a"), paused: true }, at(7)).is_err(),
        "nothing to pause"
    );

    let ended = ok(&mut machine, ended("a", "NORMAL_CLEARING", None), at(9));
    assert!(matches!(&control(&ended)[..], [CallControlCommand::KeepRecordings { .. }]), "{ended:?}");
    // The shell keeps the recordings with the call-log row: the row is final first.
    let finished = ended.iter().position(|e| matches!(e, Effect::LogFinished { .. }));
    let kept = ended.iter().position(|e| matches!(e, Effect::CallControl(CallControlCommand::KeepRecordings { .. })));
    assert!(finished < kept, "{ended:?}");
}

#[test]
fn with_automatic_recording_every_call_is_recorded_from_its_answer_and_a_refusal_says_why() {
    let mut machine = CallMachine::new();
    ok(&mut machine, CallEvent::SetAutoRecord { on: true, announcement: None }, at(0));
    ok(&mut machine, incoming("a"), at(0));
    let leg = TelnyxLeg { call_control_id: "v3:cc-a".into(), call_session_id: "sess-a".into() };
    ok(&mut machine, engine("a", EngineUpdate::Leg { leg }), at(0));
    ok(&mut machine, CallEvent::Answer { call_id: id("a") }, at(1));
    let answered = ok(&mut machine, sdk("a", "active"), at(1));
    assert!(matches!(&control(&answered)[..], [CallControlCommand::StartRecording { .. }]), "{answered:?}");

    let message =
        "Telnyx refused the recording: Call recording cannot be started until audio has commenced on the call.";
    let refused = CallEvent::CallControlRefused {
        call_id: id("a"),
        refused: CallControlAction::StartRecording,
        message: message.into(),
    };
    ok(&mut machine, refused, at(2));
    let call = machine.snapshot().calls[0].clone();
    assert_eq!(
        (call.view, call.control.recording, call.control.notice.as_deref()),
        (CallView::Active, RecordingView::Off, Some(message))
    );

    // A call never recorded leaves nothing to fetch.
    let mut plain = connected_with_a_leg();
    assert!(control(&ok(&mut plain, ended("a", "NORMAL_CLEARING", None), at(5))).is_empty());
}

/// The caller ("a", inbound) on hold, and the colleague ("b", dialled) connected: a consult.
fn consulting() -> CallMachine {
    let mut machine = connected_with_a_leg();
    ok(&mut machine, CallEvent::Hold { call_id: id("a") }, at(2));
    ok(&mut machine, sdk("a", "held"), at(2));
    ok(&mut machine, dial("b"), at(3));
    let leg = TelnyxLeg { call_control_id: "v3:cc-b".into(), call_session_id: "sess-b".into() };
    ok(&mut machine, engine("b", EngineUpdate::Leg { leg }), at(3));
    ok(&mut machine, sdk("b", "active"), at(4));
    machine
}

fn view_of(machine: &CallMachine, call: &str) -> (CallView, Option<String>) {
    let call = machine.snapshot().calls.into_iter().find(|c| c.call_id == id(call)).expect("listed");
    (call.view, call.control.transfer_to)
}

#[test]
fn a_consult_transfer_completed_puts_caller_and_colleague_through_and_both_of_the_agents_calls_end_transferred() {
    let mut machine = consulting();
    let effects = ok(&mut machine, CallEvent::CompleteTransfer { call_id: id("a"), consult: id("b") }, at(6));
    assert!(
        matches!(&control(&effects)[..], [CallControlCommand::Bridge { leg, consult_leg, .. }]
            if leg.call_control_id == "v3:cc-a" && consult_leg.call_control_id == "v3:cc-b"),
        "{effects:?}"
    );
    assert_eq!(view_of(&machine, "a"), (CallView::Transferring, Some("+14155550100".into())));
    assert_eq!(view_of(&machine, "b"), (CallView::Transferring, Some("+15551234567".into())));
    ok(&mut machine, ended("b", "NORMAL_CLEARING", None), at(7));
    ok(&mut machine, ended("a", "NORMAL_CLEARING", None), at(7));
    for call in machine.snapshot().calls {
        assert_eq!(call.end.map(|end| end.outcome), Some(CallOutcome::Transferred), "{}", call.call_id.0);
    }
}

#[test]
fn a_consult_transfer_telnyx_refuses_leaves_the_caller_held_and_the_colleague_on_the_line() {
    let mut machine = consulting();
    ok(&mut machine, CallEvent::CompleteTransfer { call_id: id("a"), consult: id("b") }, at(6));
    let refused =
        CallEvent::CallControlRefused { call_id: id("a"), refused: CallControlAction::Bridge, message: "no".into() };
    ok(&mut machine, refused, at(7));
    assert_eq!(view_of(&machine, "a"), (CallView::Held, None));
    assert_eq!(view_of(&machine, "b"), (CallView::Active, None));
    // Cancel: the agent hangs up on the colleague and takes the caller back.
    ok(&mut machine, CallEvent::Hangup { call_id: id("b") }, at(8));
    ok(&mut machine, ended("b", "NORMAL_CLEARING", None), at(8));
    let resumed = ok(&mut machine, CallEvent::Resume { call_id: id("a") }, at(9));
    assert!(engine_commands(&resumed).contains(&EngineCommand::Unhold { call_id: id("a") }));
}

#[test]
fn a_merged_consult_becomes_a_conference_the_agent_talks_in_after_the_colleague_call_is_let_go() {
    let mut machine = consulting();
    assert!(
        machine.handle(CallEvent::Merge { call_id: id("b"), consult: id("a") }, at(5)).is_err(),
        "the caller must be the held one"
    );
    let asked = ok(&mut machine, CallEvent::Merge { call_id: id("a"), consult: id("b") }, at(6));
    assert!(matches!(&control(&asked)[..], [CallControlCommand::Conference { .. }]), "{asked:?}");
    assert_eq!(view_of(&machine, "a").0, CallView::Merging);
    let merged = ok(
        &mut machine,
        CallEvent::Merged { call_id: id("a"), consult: id("b"), conference_id: "conf-1".into() },
        at(7),
    );
    let commands = engine_commands(&merged);
    let hangup = commands.iter().position(|c| *c == EngineCommand::Hangup { call_id: id("b") });
    let unhold = commands.iter().position(|c| *c == EngineCommand::Unhold { call_id: id("a") });
    assert!(hangup.is_some() && hangup < unhold, "the colleague's call goes before the agent comes back: {commands:?}");
    ok(&mut machine, sdk("a", "active"), at(7));
    let call = machine.snapshot().calls.into_iter().find(|c| c.call_id == id("a")).expect("listed");
    assert!(call.view == CallView::Active && call.control.conference, "{call:?}");
    let numbers: Vec<&str> = call.control.participants.iter().map(|p| p.number.as_str()).collect();
    assert_eq!(numbers, ["+15551234567", "+14155550100"], "the caller, then the colleague");

    // The agent puts the colleague on hold and mutes the caller; each once.
    let change = |who, change| CallEvent::SetParticipant { call_id: id("a"), who, change };
    let held = ok(&mut machine, change(Participant::Colleague, ParticipantChange::Hold), at(8));
    assert!(
        matches!(&control(&held)[..], [CallControlCommand::Participant { conference_id, party_leg, change: ParticipantChange::Hold, .. }]
            if conference_id == "conf-1" && party_leg.call_control_id == "v3:cc-b"),
        "{held:?}"
    );
    assert!(control(&ok(&mut machine, change(Participant::Colleague, ParticipantChange::Hold), at(8))).is_empty());
    ok(&mut machine, change(Participant::Caller, ParticipantChange::Mute), at(9));
    let call = machine.snapshot().calls.into_iter().find(|c| c.call_id == id("a")).expect("listed");
    let states: Vec<(bool, bool)> = call.control.participants.iter().map(|p| (p.muted, p.held)).collect();
    assert_eq!(states, [(true, false), (false, true)]);
    let plain = connected_with_a_leg();
    assert!(
        plain.clone().handle(change(Participant::Caller, ParticipantChange::Mute), at(9)).is_err(),
        "not a three-way call"
    );

    // Telnyx refuses to take the colleague off hold: the card shows them held still, and why.
    ok(&mut machine, change(Participant::Colleague, ParticipantChange::Unhold), at(10));
    let message = "Telnyx refused the conference: A call_control_id named is not in the conference.";
    let refused = CallEvent::CallControlRefused {
        call_id: id("a"),
        refused: CallControlAction::Participant,
        message: message.into(),
    };
    ok(&mut machine, refused, at(11));
    let call = machine.snapshot().calls.into_iter().find(|c| c.call_id == id("a")).expect("listed");
    let colleague = &call.control.participants[1];
    assert!(colleague.held && call.control.notice.as_deref() == Some(message), "{call:?}");
}
