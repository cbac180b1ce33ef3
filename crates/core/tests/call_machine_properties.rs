//! Property tests: any sequence of events, agent's or engine's, keeps the machine's invariants.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use softphone_core::call::{
    CallControlAction, CallControlCommand, CallEvent, CallId, CallMachine, CallOutcome, CallView, CallsSnapshot,
    Effect, EngineUpdate, HangupCause, Participant, ParticipantChange, Party, RingerMode, SdkState, TelnyxLeg,
    UnixMillis,
};

const CALL_IDS: [&str; 3] = ["a", "b", "c"];

fn call_id() -> impl Strategy<Value = CallId> {
    prop::sample::select(CALL_IDS.to_vec()).prop_map(CallId::from)
}

fn sdk_state() -> impl Strategy<Value = SdkState> {
    prop::sample::select(vec![
        "new",
        "requesting",
        "trying",
        "recovering",
        "ringing",
        "answering",
        "early",
        "active",
        "held",
        "hangup",
        "destroy",
        "purge",
        "bogus",
    ])
    .prop_map(SdkState::parse)
}

fn cause() -> impl Strategy<Value = HangupCause> {
    prop::sample::select(vec![16u16, 17, 19, 21, 1, 487, 41])
        .prop_map(|code| HangupCause::from_telnyx(None, Some(code)))
}

fn party() -> Party {
    Party { number: "+14155550100".into(), name: None }
}

fn refused_action() -> impl Strategy<Value = CallControlAction> {
    prop::sample::select(vec![
        CallControlAction::Transfer,
        CallControlAction::StartHoldMusic,
        CallControlAction::StopHoldMusic,
        CallControlAction::StartRecording,
        CallControlAction::PauseRecording,
        CallControlAction::ResumeRecording,
        CallControlAction::StopRecording,
        CallControlAction::Bridge,
        CallControlAction::Conference,
    ])
}

fn leg_named(call_id: CallId) -> CallEvent {
    let leg = TelnyxLeg { call_control_id: format!("v3:cc-{}", call_id.0), call_session_id: "s".into() };
    CallEvent::Engine { call_id, update: EngineUpdate::Leg { leg } }
}

fn event() -> impl Strategy<Value = CallEvent> {
    prop_oneof![
        call_id().prop_map(|call_id| CallEvent::Dial { call_id, remote: party(), lead_id: None, caller_number: None }),
        call_id().prop_map(|call_id| CallEvent::Answer { call_id }),
        call_id().prop_map(|call_id| CallEvent::Decline { call_id }),
        call_id().prop_map(|call_id| CallEvent::Hangup { call_id }),
        call_id().prop_map(|call_id| CallEvent::Hold { call_id }),
        call_id().prop_map(|call_id| CallEvent::Hold { call_id }),
        call_id().prop_map(|call_id| CallEvent::Resume { call_id }),
        call_id().prop_map(|call_id| CallEvent::Resume { call_id }),
        (call_id(), any::<bool>()).prop_map(|(call_id, muted)| CallEvent::SetMuted { call_id, muted }),
        call_id().prop_map(|call_id| CallEvent::SendDigits { call_id, digits: "5".into() }),
        call_id().prop_map(|call_id| CallEvent::Dismiss { call_id }),
        call_id().prop_map(|call_id| CallEvent::Engine { call_id, update: EngineUpdate::Incoming { remote: party() } }),
        (call_id(), sdk_state())
            .prop_map(|(call_id, state)| CallEvent::Engine { call_id, update: EngineUpdate::State { state } }),
        (call_id(), sdk_state())
            .prop_map(|(call_id, state)| CallEvent::Engine { call_id, update: EngineUpdate::State { state } }),
        (call_id(), cause()).prop_map(|(call_id, cause)| CallEvent::Engine {
            call_id,
            update: EngineUpdate::Ended { cause, sip_code: None }
        }),
        call_id().prop_map(|call_id| CallEvent::Engine {
            call_id,
            update: EngineUpdate::Failed { message: "media failed".into() }
        }),
        (call_id(), any::<bool>()).prop_map(|(call_id, named)| CallEvent::Engine {
            call_id,
            update: EngineUpdate::RemoteChanged {
                name: named.then(|| "Transferred".into()),
                number: Some("+14155550199".into())
            }
        }),
        Just(CallEvent::Tick),
        any::<bool>().prop_map(|on| CallEvent::SetDoNotDisturb { on }),
        call_id().prop_map(leg_named),
        call_id().prop_map(leg_named),
        // The SDK confirming a hold or a resume, more often than any state at random.
        call_id()
            .prop_map(|call_id| CallEvent::Engine { call_id, update: EngineUpdate::State { state: SdkState::Held } }),
        call_id()
            .prop_map(|call_id| CallEvent::Engine { call_id, update: EngineUpdate::State { state: SdkState::Active } }),
        call_id().prop_map(|call_id| CallEvent::Transfer { call_id, to: "+14155550142".into() }),
        (call_id(), refused_action()).prop_map(|(call_id, refused)| CallEvent::CallControlRefused {
            call_id,
            refused,
            message: "refused".into()
        }),
        any::<bool>().prop_map(|on| CallEvent::SetHoldMusic { on, url: None }),
        (call_id(), call_id()).prop_map(|(call_id, consult)| CallEvent::CompleteTransfer { call_id, consult }),
        (call_id(), call_id()).prop_map(|(call_id, consult)| CallEvent::Merge { call_id, consult }),
        (call_id(), any::<bool>(), any::<bool>()).prop_map(|(call_id, caller, hold)| CallEvent::SetParticipant {
            call_id,
            who: if caller { Participant::Caller } else { Participant::Colleague },
            change: if hold { ParticipantChange::Hold } else { ParticipantChange::Mute },
        }),
        (call_id(), call_id()).prop_map(|(call_id, consult)| CallEvent::Merged {
            call_id,
            consult,
            conference_id: "conf".into()
        }),
    ]
}

/// Seconds between two events: mostly short, sometimes long enough to pass deadlines.
fn pause() -> impl Strategy<Value = u64> {
    prop_oneof![4 => 0u64..3, 1 => 5u64..130]
}

const FOREGROUND: [CallView; 5] =
    [CallView::Dialing, CallView::EarlyMedia, CallView::Answering, CallView::Active, CallView::Resuming];

/// What the shell would have done so far, rebuilt from the effects.
#[derive(Default)]
struct Observed {
    started: BTreeSet<String>,
    finished: BTreeMap<String, usize>,
    notifications: BTreeSet<String>,
    ringer: Option<RingerMode>,
    /// Calls whose caller hears hold music (asked to start, not yet to stop).
    music: BTreeSet<String>,
}

fn check_invariants(snapshot: &CallsSnapshot, observed: &Observed) -> Result<(), TestCaseError> {
    let foreground = snapshot.calls.iter().filter(|call| FOREGROUND.contains(&call.view)).count();
    prop_assert!(foreground <= 1, "two calls own the microphone: {snapshot:?}");

    for call in &snapshot.calls {
        let key = &call.call_id.0;
        prop_assert!(observed.started.contains(key), "{key} is listed but was never logged");
        let finished = observed.finished.get(key).copied().unwrap_or(0);
        prop_assert!(finished <= 1, "{key} finalized {finished} times");
        prop_assert_eq!(call.view == CallView::Ended, finished == 1, "log and view disagree for {}", key);
        prop_assert_eq!(call.view == CallView::Ended, call.end.is_some());
        if call.view == CallView::Transferring {
            prop_assert!(
                call.control.transfer_to.is_some() && call.control.available,
                "{key} transfers to nobody: {call:?}"
            );
        }
        if let Some(end) = &call.end {
            let transferred = end.outcome == CallOutcome::Transferred;
            prop_assert_eq!(transferred, end.transferred_to.is_some(), "{} ended {:?}", key, end);
            if transferred {
                prop_assert!(call.answered_at.is_some(), "{key} was handed on without being answered");
            }
        }
    }

    for key in &observed.music {
        let view = snapshot.calls.iter().find(|call| &call.call_id.0 == key).map(|call| call.view);
        prop_assert!(
            matches!(view, Some(CallView::Held | CallView::Reconnecting | CallView::Ending)),
            "the caller of {key} hears hold music while the call is {view:?}"
        );
    }

    let ringing: BTreeSet<String> = snapshot
        .calls
        .iter()
        .filter(|call| call.view == CallView::Ringing)
        .map(|call| call.call_id.0.clone())
        .collect();
    prop_assert_eq!(&observed.notifications, &ringing, "notifications shown vs calls ringing");
    let ringer = observed.ringer.unwrap_or(RingerMode::Off);
    prop_assert_eq!(ringer != RingerMode::Off, !ringing.is_empty(), "ringer {:?} vs ringing {:?}", ringer, ringing);
    if ringer == RingerMode::Ring {
        prop_assert_eq!(foreground, 0, "the loud ringtone plays over a call");
    }
    Ok(())
}

/// While Do Not Disturb is on, no call starts ringing (one that rang before may ring on).
fn check_do_not_disturb(machine: &CallMachine, effects: &[Effect]) -> Result<(), TestCaseError> {
    if machine.do_not_disturb() {
        let popups = effects.iter().filter(|effect| matches!(effect, Effect::NotifyIncoming { .. })).count();
        prop_assert_eq!(popups, 0, "a call rang under Do Not Disturb: {:?}", effects);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_event_sequence_keeps_the_invariants(steps in prop::collection::vec((event(), pause()), 1..60)) {
        let mut machine = CallMachine::new();
        // Hold music starts on (the app's default); the steps may turn it off and on.
        machine.handle(CallEvent::SetHoldMusic { on: true, url: None }, UnixMillis(0)).expect("a setting");
        let mut observed = Observed::default();
        let mut now = UnixMillis(1_700_000_000_000);
        let mut ended_views: BTreeSet<String> = BTreeSet::new();

        for (event, pause) in steps {
            now = now.plus_secs(pause);
            let before = machine.snapshot();
            match machine.handle(event.clone(), now) {
                Err(_) => prop_assert_eq!(machine.snapshot(), before, "a rejected {:?} changed state", event),
                Ok(effects) => {
                    check_do_not_disturb(&machine, &effects)?;
                    for effect in effects {
                        match effect {
                            Effect::LogStarted { call_id, .. } => {
                                // Ids are reused only after the old call left the list.
                                observed.started.insert(call_id.0.clone());
                                observed.finished.remove(&call_id.0);
                                ended_views.remove(&call_id.0);
                            }
                            Effect::LogFinished { call_id, .. } => {
                                observed.music.remove(&call_id.0);
                                *observed.finished.entry(call_id.0).or_default() += 1;
                            }
                            Effect::CallControl(CallControlCommand::StartHoldMusic { call_id, .. }) => {
                                prop_assert!(observed.music.insert(call_id.0), "hold music started twice");
                            }
                            Effect::CallControl(CallControlCommand::StopHoldMusic { call_id, .. }) => {
                                prop_assert!(observed.music.remove(&call_id.0), "hold music stopped that never played");
                            }
                            Effect::NotifyIncoming { call_id, .. } => {
                                prop_assert!(observed.notifications.insert(call_id.0), "notified twice");
                            }
                            Effect::WithdrawIncoming { call_id } => {
                                prop_assert!(observed.notifications.remove(&call_id.0), "withdrew a notification never shown");
                            }
                            Effect::Ringer { mode } => observed.ringer = Some(mode),
                            Effect::CallControl(CallControlCommand::Transfer { call_id, leg, .. }) => {
                                prop_assert_eq!(&leg.call_control_id, &format!("v3:cc-{}", call_id.0), "a transfer acts on another call's leg");
                            }
                            _ => {}
                        }
                    }
                }
            }
            let snapshot = machine.snapshot();
            // An ended call never changes again (it may only leave the list).
            for call in &snapshot.calls {
                if ended_views.contains(&call.call_id.0) {
                    prop_assert_eq!(call.view, CallView::Ended, "{} came back to life", call.call_id.0);
                }
            }
            ended_views.extend(snapshot.calls.iter().filter(|c| c.view == CallView::Ended).map(|c| c.call_id.0.clone()));
            check_invariants(&snapshot, &observed)?;
        }

        // Nothing sticks: long after the last event only settled calls remain.
        now = now.plus_secs(3600);
        machine.handle(CallEvent::Tick, now).map_err(|r| TestCaseError::fail(r.to_string()))?;
        now = now.plus_secs(3600);
        let effects = machine.handle(CallEvent::Tick, now).map_err(|r| TestCaseError::fail(r.to_string()))?;
        for effect in effects {
            if let Effect::LogFinished { call_id, .. } = effect {
                *observed.finished.entry(call_id.0).or_default() += 1;
            }
        }
        for call in machine.snapshot().calls {
            prop_assert!(
                matches!(call.view, CallView::Active | CallView::Held | CallView::Ended),
                "{} stuck in {:?}", call.call_id.0, call.view
            );
        }
    }
}

/// What happens to one connected call whose leg Telnyx named: holds, resumes, the SDK's
/// confirmations and drops, transfers and their refusals, the hold music setting, the end.
fn connected_call_event() -> impl Strategy<Value = CallEvent> {
    let a = || CallId::from("a");
    let state =
        |state: SdkState| CallEvent::Engine { call_id: CallId::from("a"), update: EngineUpdate::State { state } };
    prop_oneof![
        Just(CallEvent::Hold { call_id: a() }),
        Just(CallEvent::Resume { call_id: a() }),
        Just(state(SdkState::Held)),
        Just(state(SdkState::Active)),
        Just(state(SdkState::Recovering)),
        Just(CallEvent::Transfer { call_id: a(), to: "+14155550142".into() }),
        refused_action().prop_map(|refused| CallEvent::CallControlRefused {
            call_id: CallId::from("a"),
            refused,
            message: "refused".into()
        }),
        Just(CallEvent::Record { call_id: a() }),
        any::<bool>().prop_map(|paused| CallEvent::PauseRecording { call_id: CallId::from("a"), paused }),
        Just(CallEvent::StopRecording { call_id: a() }),
        any::<bool>().prop_map(|on| CallEvent::SetHoldMusic { on, url: None }),
        Just(CallEvent::Tick),
        Just(CallEvent::Hangup { call_id: a() }),
        Just(CallEvent::Engine {
            call_id: a(),
            update: EngineUpdate::Ended { cause: HangupCause::NormalClearing, sip_code: None }
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn hold_music_plays_only_while_the_caller_is_held_and_recordings_are_kept_once(steps in prop::collection::vec((connected_call_event(), pause()), 1..40)) {
        let mut machine = CallMachine::new();
        let mut now = UnixMillis(1_700_000_000_000);
        machine.handle(CallEvent::SetHoldMusic { on: true, url: None }, now).expect("a setting");
        machine.handle(CallEvent::Engine { call_id: CallId::from("a"), update: EngineUpdate::Incoming { remote: party() } }, now).expect("rings");
        machine.handle(leg_named(CallId::from("a")), now).expect("named");
        machine.handle(CallEvent::Answer { call_id: CallId::from("a") }, now).expect("answered");
        machine.handle(CallEvent::Engine { call_id: CallId::from("a"), update: EngineUpdate::State { state: SdkState::Active } }, now).expect("active");
        let mut playing = false;
        let (mut recordings_started, mut kept) = (0, 0);
        for (event, pause) in steps {
            now = now.plus_secs(pause);
            let Ok(effects) = machine.handle(event, now) else { continue };
            for effect in &effects {
                match effect {
                    Effect::CallControl(CallControlCommand::StartHoldMusic { .. }) => {
                        prop_assert!(!playing, "started twice: {effects:?}");
                        playing = true;
                    }
                    Effect::CallControl(CallControlCommand::StopHoldMusic { .. }) => {
                        prop_assert!(playing, "stopped what never played: {effects:?}");
                        playing = false;
                    }
                    Effect::CallControl(CallControlCommand::Transfer { .. }) => {
                        prop_assert!(!playing, "handed on with the music still playing: {effects:?}");
                    }
                    Effect::LogFinished { .. } => playing = false,
                    Effect::CallControl(CallControlCommand::StartRecording { .. }) => recordings_started += 1,
                    Effect::CallControl(CallControlCommand::KeepRecordings { .. }) => {
                        kept += 1;
                        prop_assert!(recordings_started > 0, "kept recordings of a call never recorded");
                    }
                    Effect::CallControl(CallControlCommand::PauseRecording { .. } | CallControlCommand::StopRecording { .. }) => {
                        prop_assert!(recordings_started > 0, "paused or stopped a recording never started");
                    }
                    _ => {}
                }
            }
            let ended = machine.snapshot().calls.first().is_some_and(|call| call.view == CallView::Ended);
            prop_assert!(kept <= 1, "the recordings were fetched {kept} times");
            prop_assert_eq!(kept == 1, ended && recordings_started > 0, "fetched iff recorded and over");
            let view = machine.snapshot().calls.first().map(|call| call.view);
            if playing {
                prop_assert!(
                    matches!(view, Some(CallView::Held | CallView::Reconnecting | CallView::Ending)),
                    "the caller hears hold music while the call is {view:?}"
                );
            }
        }
    }
}
