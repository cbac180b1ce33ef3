//! The dialing session as tables (preview, power, skips, pauses, the wrap-up gate, a restart) and as
//! a property over any sequence of events.

use proptest::prelude::*;
use softphone_core::call::CallId;
use softphone_core::lead::LeadId;
use softphone_dialer::session::Skip;
use softphone_dialer::{DialingSession, Mode, SessionEffect, SessionEvent, SessionRejection, Stage};

const T0: i64 = 1_796_000_000_000;

fn leads(ids: &[i64]) -> Vec<LeadId> {
    ids.iter().copied().map(LeadId).collect()
}

fn call(n: u32) -> CallId {
    CallId(format!("call-{n}"))
}

/// Dials the shown lead's call through to its end and wrap-up.
fn work_call(session: &mut DialingSession, n: u32, answered_for_ms: Option<i64>, now: &mut i64) -> Vec<SessionEffect> {
    session.apply(SessionEvent::CallPlaced { call_id: call(n) }, *now).expect("placed");
    if let Some(talk) = answered_for_ms {
        session.apply(SessionEvent::CallAnswered, *now).expect("answered");
        *now += talk;
    }
    session.apply(SessionEvent::CallEnded, *now).expect("ended");
    session.apply(SessionEvent::WrapUpSaved { disposition: "interested".into() }, *now).expect("wrap-up")
}

#[test]
fn preview_shows_each_lead_and_dials_only_when_the_agent_calls() {
    let mut now = T0;
    let (mut session, effects) = DialingSession::start(Mode::Preview, leads(&[1, 2, 3]), now);
    assert_eq!(effects, [SessionEffect::Show { lead_id: LeadId(1) }]);
    // Time passes: nothing is dialled without the agent.
    now += 60_000;
    assert_eq!(session.apply(SessionEvent::Tick, now), Ok(vec![]));
    assert_eq!(session.apply(SessionEvent::Call, now), Ok(vec![SessionEffect::Dial { lead_id: LeadId(1) }]));
    let next = work_call(&mut session, 1, Some(90_000), &mut now);
    assert_eq!(next, [SessionEffect::Show { lead_id: LeadId(2) }]);
    // Skipped with a reason (a reason is required).
    assert_eq!(session.apply(SessionEvent::Skip { reason: "  ".into() }, now), Err(SessionRejection::SkipNeedsReason));
    assert_eq!(
        session.apply(SessionEvent::Skip { reason: "Wrong company".into() }, now),
        Ok(vec![SessionEffect::Show { lead_id: LeadId(3) }])
    );
    assert_eq!(session.skips, [Skip { lead_id: LeadId(2), reason: "Wrong company".into(), at_ms: now }]);
    session.apply(SessionEvent::Call, now).expect("call");
    assert_eq!(work_call(&mut session, 3, None, &mut now), [SessionEffect::Finished]);
    assert_eq!(session.stage, Stage::Finished);
    let figures = &session.figures;
    assert_eq!((figures.dials, figures.connects, figures.talk_ms, figures.skipped), (2, 1, 90_000, 1));
    assert_eq!(figures.dispositions.get("interested"), Some(&2));
}

#[test]
fn leads_added_while_working_come_next_once_and_a_finished_session_takes_none() {
    let mut now = T0;
    let (mut session, _) = DialingSession::start(Mode::Preview, leads(&[1]), now);
    // A team campaign: the next lead is claimed while the agent works the first.
    assert_eq!(session.apply(SessionEvent::LeadsAdded { leads: leads(&[2, 1]) }, now), Ok(vec![]));
    assert_eq!(session.leads_left(), 2, "the shown lead is not queued twice");
    session.apply(SessionEvent::Call, now).expect("call");
    assert_eq!(session.apply(SessionEvent::LeadsAdded { leads: leads(&[2, 3]) }, now), Ok(vec![]), "during a call too");
    assert_eq!(work_call(&mut session, 1, Some(1_000), &mut now), [SessionEffect::Show { lead_id: LeadId(2) }]);
    assert_eq!(session.queue, leads(&[3]));
    session.apply(SessionEvent::Stop, now).expect("stop");
    assert_eq!(session.apply(SessionEvent::LeadsAdded { leads: leads(&[4]) }, now), Err(SessionRejection::Finished));
}

#[test]
fn power_dials_after_the_countdown_which_can_be_paused_or_cut_short() {
    let mut now = T0;
    let (mut session, _) = DialingSession::start(Mode::Power { countdown_ms: 3_000 }, leads(&[1, 2, 3]), now);
    assert_eq!(session.stage, Stage::Showing { lead_id: LeadId(1), dial_at_ms: Some(now + 3_000), paused: false });
    now += 2_999;
    assert_eq!(session.apply(SessionEvent::Tick, now), Ok(vec![]), "not before the countdown ends");
    now += 1;
    assert_eq!(session.apply(SessionEvent::Tick, now), Ok(vec![SessionEffect::Dial { lead_id: LeadId(1) }]));
    assert_eq!(work_call(&mut session, 1, Some(10_000), &mut now), [SessionEffect::Show { lead_id: LeadId(2) }]);

    // Paused: the countdown stops; resumed: it starts again from its full length.
    now += 1_000;
    session.apply(SessionEvent::Pause, now).expect("pause");
    now += 60_000;
    assert_eq!(session.apply(SessionEvent::Tick, now), Ok(vec![]));
    session.apply(SessionEvent::Resume, now).expect("resume");
    assert_eq!(session.stage, Stage::Showing { lead_id: LeadId(2), dial_at_ms: Some(now + 3_000), paused: false });
    // Cut short: called at once.
    assert_eq!(session.apply(SessionEvent::Call, now), Ok(vec![SessionEffect::Dial { lead_id: LeadId(2) }]));
}

#[test]
fn the_wrap_up_comes_before_the_next_lead() {
    let now = T0;
    let (mut session, _) = DialingSession::start(Mode::Power { countdown_ms: 0 }, leads(&[1, 2]), now);
    // Countdown 0: shown and dialled at once.
    assert!(matches!(session.stage, Stage::Calling { lead_id: LeadId(1), .. }));
    session.apply(SessionEvent::CallPlaced { call_id: call(1) }, now).expect("placed");
    assert_eq!(session.apply(SessionEvent::Call, now), Err(SessionRejection::CallUnderWay));
    session.apply(SessionEvent::CallEnded, now).expect("ended");
    for event in [SessionEvent::Call, SessionEvent::Skip { reason: "next".into() }, SessionEvent::Resume] {
        assert_eq!(session.apply(event, now), Err(SessionRejection::WrapUpFirst));
    }
    assert_eq!(
        session.apply(SessionEvent::WrapUpSaved { disposition: String::new() }, now),
        Err(SessionRejection::DispositionRequired)
    );
    assert_eq!(
        session.apply(SessionEvent::WrapUpSaved { disposition: "no-answer".into() }, now),
        Ok(vec![SessionEffect::Show { lead_id: LeadId(2) }, SessionEffect::Dial { lead_id: LeadId(2) }])
    );
}

#[test]
fn a_dropped_voicemail_wraps_the_call_up_and_the_next_lead_is_dialled_at_once() {
    let mut now = T0;
    let (mut session, _) = DialingSession::start(Mode::Power { countdown_ms: 0 }, leads(&[1, 2]), now);
    session.apply(SessionEvent::CallPlaced { call_id: call(1) }, now).expect("placed");
    // Only into an answered call (the machine's greeting is playing).
    assert_eq!(session.apply(SessionEvent::VoicemailDropped, now), Err(SessionRejection::CallUnderWay));
    session.apply(SessionEvent::CallAnswered, now).expect("answered");
    now += 4_000;
    assert_eq!(
        session.apply(SessionEvent::VoicemailDropped, now),
        Ok(vec![SessionEffect::Show { lead_id: LeadId(2) }, SessionEffect::Dial { lead_id: LeadId(2) }])
    );
    // The greeting call's end later is not this session's business (it follows lead 2's call).
    assert_eq!(session.figures.dispositions.get("voicemail-left"), Some(&1));
    assert_eq!((session.figures.connects, session.figures.talk_ms), (1, 4_000));
}

#[test]
fn a_lead_the_rules_refuse_is_skipped_with_their_reason() {
    let now = T0;
    let (mut session, _) = DialingSession::start(Mode::Preview, leads(&[1, 2]), now);
    session.apply(SessionEvent::Call, now).expect("call");
    assert_eq!(
        session.apply(SessionEvent::DialRefused { reason: "The number is on the do-not-call list.".into() }, now),
        Ok(vec![SessionEffect::Show { lead_id: LeadId(2) }])
    );
    assert_eq!(session.figures.dials, 0);
    assert_eq!(session.skips[0].reason, "The number is on the do-not-call list.");
}

#[test]
fn a_session_read_back_after_a_restart_resumes_at_the_same_lead() {
    let now = T0;
    let (mut session, _) = DialingSession::start(Mode::Power { countdown_ms: 3_000 }, leads(&[1, 2, 3]), now);
    let saved = serde_json::to_string(&session).expect("serializes");
    let resumed = serde_json::from_str::<DialingSession>(&saved).expect("reads back").resumed();
    // Showing: the same lead, the countdown paused until the agent resumes.
    assert_eq!(resumed.stage, Stage::Showing { lead_id: LeadId(1), dial_at_ms: None, paused: true });
    assert_eq!(resumed.leads_left(), 3);

    // Mid-call: the call is gone with the restart (logged as interrupted); its lead comes back,
    // paused, to be called again or skipped: nothing waits for a wrap-up no window can show.
    session.apply(SessionEvent::Call, now).expect("call");
    session.apply(SessionEvent::CallPlaced { call_id: call(1) }, now).expect("placed");
    let saved = serde_json::to_string(&session).expect("serializes");
    let mut resumed = serde_json::from_str::<DialingSession>(&saved).expect("reads back").resumed();
    assert_eq!(resumed.stage, Stage::Showing { lead_id: LeadId(1), dial_at_ms: None, paused: true });
    assert_eq!((resumed.figures.dials, resumed.leads_left()), (1, 3));
    assert_eq!(resumed.apply(SessionEvent::Call, now), Ok(vec![SessionEffect::Dial { lead_id: LeadId(1) }]));

    // At the wrap-up: its form went with the window; the same.
    session.apply(SessionEvent::CallAnswered, now).expect("answered");
    session.apply(SessionEvent::CallEnded, now + 60_000).expect("ended");
    let saved = serde_json::to_string(&session).expect("serializes");
    let mut resumed = serde_json::from_str::<DialingSession>(&saved).expect("reads back").resumed();
    assert_eq!(resumed.stage, Stage::Showing { lead_id: LeadId(1), dial_at_ms: None, paused: true });
    assert_eq!(
        resumed.apply(SessionEvent::Skip { reason: "spoke before the restart".into() }, now),
        Ok(vec![SessionEffect::Show { lead_id: LeadId(2) }])
    );

    // A finished session stays finished.
    session.apply(SessionEvent::Stop, now).expect("stop");
    let saved = serde_json::to_string(&session).expect("serializes");
    assert_eq!(serde_json::from_str::<DialingSession>(&saved).expect("reads back").resumed().stage, Stage::Finished);
}

#[test]
fn a_team_session_waits_for_its_next_lead_when_the_queue_runs_dry_until_the_team_has_none_left() {
    let mut now = T0;
    let (mut session, effects) = DialingSession::start_open_ended(Mode::Power { countdown_ms: 0 }, leads(&[1]), now);
    assert_eq!(effects, [SessionEffect::Show { lead_id: LeadId(1) }, SessionEffect::Dial { lead_id: LeadId(1) }]);
    // The wrap-up with nothing queued: not the end (the next claim has not landed), a wait.
    assert_eq!(work_call(&mut session, 1, Some(30_000), &mut now), vec![]);
    assert_eq!(session.stage, Stage::Waiting);
    assert_eq!((session.current_lead(), session.leads_left()), (None, 0));
    assert_eq!(session.apply(SessionEvent::Tick, now), Ok(vec![]));
    assert_eq!(session.apply(SessionEvent::Call, now), Err(SessionRejection::NotNow));
    // The team is back: the claimed lead comes, and is dialled at once (no countdown).
    assert_eq!(
        session.apply(SessionEvent::LeadsAdded { leads: leads(&[2]) }, now),
        Ok(vec![SessionEffect::Show { lead_id: LeadId(2) }, SessionEffect::Dial { lead_id: LeadId(2) }])
    );
    // The team says none are left while this one is worked: the session ends after it.
    assert_eq!(session.apply(SessionEvent::NoMoreLeads, now), Ok(vec![]));
    assert!(matches!(session.stage, Stage::Calling { .. }));
    assert_eq!(work_call(&mut session, 2, None, &mut now), vec![SessionEffect::Finished]);
    assert_eq!(session.stage, Stage::Finished);

    // Waiting, then none left: the end at once. Waiting, then stopped: the end too.
    let (mut waiting, _) = DialingSession::start_open_ended(Mode::Preview, leads(&[]), now);
    assert_eq!(waiting.stage, Stage::Waiting);
    let saved = serde_json::to_string(&waiting).expect("serializes");
    assert_eq!(serde_json::from_str::<DialingSession>(&saved).expect("reads back").resumed().stage, Stage::Waiting);
    assert_eq!(waiting.apply(SessionEvent::NoMoreLeads, now), Ok(vec![SessionEffect::Finished]));
    let (mut waiting, _) = DialingSession::start_open_ended(Mode::Preview, leads(&[]), now);
    assert_eq!(waiting.apply(SessionEvent::Stop, now), Ok(vec![SessionEffect::Finished]));
    // A session of the agent's own list ends when its queue does, as ever.
    let (mut own, _) = DialingSession::start(Mode::Power { countdown_ms: 0 }, leads(&[1]), now);
    assert_eq!(work_call(&mut own, 1, None, &mut now), vec![SessionEffect::Finished]);
}

#[test]
fn a_skip_lets_go_of_the_lead_shown_and_a_stop_of_every_lead_held_but_one_at_its_wrap_up() {
    let now = T0;
    let skip = SessionEvent::Skip { reason: "wrong list".into() };
    let (mut session, _) = DialingSession::start_open_ended(Mode::Preview, leads(&[1, 2, 3]), now);
    assert_eq!(session.leads_held(), leads(&[1, 2, 3]));
    for (event, let_go) in [
        (skip.clone(), leads(&[1])),
        (SessionEvent::Stop, leads(&[1, 2, 3])),
        (SessionEvent::Call, leads(&[])),
        (SessionEvent::Tick, leads(&[])),
    ] {
        assert_eq!(session.let_go_by(&event), let_go, "{event:?} while showing");
    }
    // On the call, then at its wrap-up: that lead is given back by its wrap-up, not by these.
    session.apply(SessionEvent::Call, now).expect("call");
    assert_eq!(session.let_go_by(&SessionEvent::Stop), leads(&[2, 3]), "on the call");
    session.apply(SessionEvent::CallPlaced { call_id: call(1) }, now).expect("placed");
    session.apply(SessionEvent::CallEnded, now).expect("ended");
    assert_eq!(session.let_go_by(&SessionEvent::Stop), leads(&[2, 3]), "at the wrap-up");
    assert_eq!(session.let_go_by(&skip), leads(&[]));
    assert_eq!(session.leads_held(), leads(&[1, 2, 3]));
}

fn any_event() -> impl Strategy<Value = SessionEvent> {
    prop_oneof![
        Just(SessionEvent::Call),
        Just(SessionEvent::Skip { reason: "busy day".into() }),
        Just(SessionEvent::Pause),
        Just(SessionEvent::Resume),
        (0_u32..100).prop_map(|n| SessionEvent::CallPlaced { call_id: call(n) }),
        Just(SessionEvent::DialRefused { reason: "deferred".into() }),
        Just(SessionEvent::CallAnswered),
        Just(SessionEvent::CallEnded),
        Just(SessionEvent::WrapUpSaved { disposition: "busy".into() }),
        Just(SessionEvent::Tick),
        Just(SessionEvent::Stop),
        Just(SessionEvent::NoMoreLeads),
        proptest::collection::vec(1_i64..12, 0..3).prop_map(|ids| SessionEvent::LeadsAdded { leads: leads(&ids) }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Whatever happens: a lead is dialled only after the previous call's wrap-up; each lead is
    /// dialled at most once and in the list's order; the figures count what happened.
    #[test]
    fn no_dial_before_the_wrap_up_and_every_lead_at_most_once_in_order(
        power in proptest::option::of(0_u32..5_000),
        open_ended in any::<bool>(),
        count in 0_usize..8,
        events in proptest::collection::vec((any_event(), 0_i64..4_000), 0..80),
    ) {
        let mode = power.map_or(Mode::Preview, |countdown_ms| Mode::Power { countdown_ms });
        let ids: Vec<LeadId> = (1..=count as i64).map(LeadId).collect();
        // The order leads may be dialled in: the list's, then as added (a lead once).
        let mut order = ids.clone();
        let mut now = T0;
        let (mut session, mut effects) = if open_ended {
            DialingSession::start_open_ended(mode, ids.clone(), now)
        } else {
            DialingSession::start(mode, ids.clone(), now)
        };
        let mut dialled: Vec<LeadId> = Vec::new();
        let mut placed = 0_u32;
        // Between a dial and its wrap-up (or refusal) no other dial may come.
        let mut open_dial = false;
        let check = |effects: &[SessionEffect], open_dial: &mut bool, dialled: &mut Vec<LeadId>| -> Result<(), TestCaseError> {
            for effect in effects {
                if let SessionEffect::Dial { lead_id } = effect {
                    prop_assert!(!*open_dial, "a dial before the previous call was wrapped up");
                    prop_assert!(!dialled.contains(lead_id), "{lead_id:?} dialled twice");
                    *open_dial = true;
                    dialled.push(*lead_id);
                }
            }
            Ok(())
        };
        check(&effects, &mut open_dial, &mut dialled)?;
        for (event, advance) in events {
            now += advance;
            let before = session.stage.clone();
            let was_placed = matches!(&event, SessionEvent::CallPlaced { .. });
            let closes = matches!(&event, SessionEvent::WrapUpSaved { .. } | SessionEvent::DialRefused { .. });
            let stops = matches!(&event, SessionEvent::Stop);
            let added = match &event {
                SessionEvent::LeadsAdded { leads } => leads.clone(),
                _ => Vec::new(),
            };
            match session.apply(event, now) {
                Ok(out) => {
                    for lead in added {
                        if !order.contains(&lead) {
                            order.push(lead);
                        }
                    }
                    if was_placed {
                        placed += 1;
                    }
                    if closes || (stops && !matches!(before, Stage::Calling { .. })) {
                        open_dial = false;
                    }
                    effects = out;
                    check(&effects, &mut open_dial, &mut dialled)?;
                }
                Err(_) => prop_assert_eq!(&session.stage, &before, "a refused event changes nothing"),
            }
        }
        // In the list's order (leads added later after it).
        let positions: Vec<usize> = dialled.iter().map(|id| order.iter().position(|x| x == id).expect("a listed lead")).collect();
        prop_assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "{positions:?}");
        prop_assert_eq!(session.figures.dials, placed);
        prop_assert!(session.figures.connects <= session.figures.dials);
    }
}
