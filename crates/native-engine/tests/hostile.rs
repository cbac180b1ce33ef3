//! The native engine against the simulator in hostile mode (`softphone_sim::signaling::hostile`):
//! after every real frame, a malformed one, a duplicate, a stale replay, a 1.5 MiB one or
//! frames of no known method. The engine's updates drive the real call state machine, as in the
//! app, and its engine commands go back to the engine. What the agent would see must stay true:
//! the connection stays up, calls go through their states and end with their real causes, no
//! ghost call appears, audio flows both ways.

mod common;

use std::time::{Duration, SystemTime};

use common::{
    BUSY, MIC_HZ, Phone, SIM_TONE_HZ, TONE, WAIT, far_end_hears, ready_phone, simulator, until_sim, until_speaker_plays,
};
use softphone_core::call::{
    CallEvent, CallId, CallMachine, CallOutcome, CallSnapshot, CallView, Effect, HangupCause, Party, UnixMillis,
};
use softphone_native_engine::{ConnectionChange, NativeEngineEvent};
use softphone_sim::RunningSimulator;
use softphone_sim::signaling::{Hangup, InboundCall};

fn now() -> UnixMillis {
    UnixMillis(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis() as u64)
}

/// The phone as the app runs it: the engine, and the state machine that is the truth.
struct App {
    phone: Phone,
    machine: CallMachine,
    /// Connection changes after the first Ready (there should be none).
    connection_changes: Vec<ConnectionChange>,
    /// Engine updates the machine refused (stale or duplicated frames surfacing as updates).
    refused: usize,
}

impl App {
    async fn start(sim: &RunningSimulator) -> App {
        let phone = ready_phone(sim).await;
        App { phone, machine: CallMachine::new(), connection_changes: Vec::new(), refused: 0 }
    }

    /// One event into the machine; its engine commands go to the engine, as the shell does.
    async fn handle(&mut self, event: CallEvent) -> Result<(), String> {
        let effects = self.machine.handle(event, now()).map_err(|rejection| rejection.to_string())?;
        for effect in effects {
            if let Effect::Engine(command) = effect {
                self.phone.engine.execute(command).await.map_err(|error| format!("{error:?}"))?;
            }
        }
        Ok(())
    }

    /// Feeds the engine's events to the machine until `call` satisfies `wanted`.
    async fn until_call(&mut self, call: &CallId, what: &str, wanted: impl Fn(&CallSnapshot) -> bool) -> CallSnapshot {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(found) = self.call(call).filter(|snapshot| wanted(snapshot)) {
                return found;
            }
            let event = tokio::time::timeout_at(deadline, self.phone.events.recv())
                .await
                .unwrap_or_else(|_| panic!("no {what} within {WAIT:?}: {:?}", self.call(call)))
                .unwrap_or_else(|| panic!("the engine stopped before {what}"));
            self.take(event).await;
        }
    }

    /// One engine event into the machine, as the shell feeds it.
    async fn take(&mut self, event: NativeEngineEvent) {
        match event {
            NativeEngineEvent::Call { call_id, update } => {
                if self.handle(CallEvent::Engine { call_id, update }).await.is_err() {
                    self.refused += 1;
                }
            }
            NativeEngineEvent::Connection(change) => self.connection_changes.push(change),
        }
    }

    fn call(&self, call: &CallId) -> Option<CallSnapshot> {
        self.machine.snapshot().calls.into_iter().find(|snapshot| &snapshot.call_id == call)
    }

    /// Waits a little for stray events (stale frames arriving late) and feeds them in too.
    async fn settle(&mut self) {
        let until = tokio::time::Instant::now() + Duration::from_millis(500);
        while let Ok(Some(event)) = tokio::time::timeout_at(until, self.phone.events.recv()).await {
            self.take(event).await;
        }
    }

    /// The calls the agent sees, as (id, view, outcome).
    fn calls(&self) -> Vec<(CallId, CallView, Option<CallOutcome>)> {
        let calls = self.machine.snapshot().calls.into_iter();
        calls.map(|call| (call.call_id, call.view, call.end.map(|end| end.outcome))).collect()
    }
}

async fn hostile_simulator() -> RunningSimulator {
    let sim = simulator(Duration::from_secs(3600)).await;
    // From the first frame on: the login's answers get noise too.
    sim.switchboard().set_hostile(true);
    sim
}

fn is(view: CallView) -> impl Fn(&CallSnapshot) -> bool {
    move |call| call.view == view
}

fn ended(call: &CallSnapshot) -> bool {
    call.view == CallView::Ended
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbound_call_under_hostile_frames_holds_sends_dtmf_and_ends_truthfully() {
    let sim = hostile_simulator().await;
    let mut app = App::start(&sim).await;
    let call_id = CallId(format!("hostile-out-{}", now().0));
    let remote = Party { number: TONE.into(), name: None };
    app.handle(CallEvent::Dial { call_id: call_id.clone(), remote, lead_id: None, caller_number: None })
        .await
        .expect("dial");
    let active = app.until_call(&call_id, "active", is(CallView::Active)).await;
    assert!(active.answered_at.is_some());
    until_sim(&sim, &call_id.0, "the engine's 880 Hz microphone", |call| far_end_hears(call, MIC_HZ)).await;
    until_speaker_plays(&app.phone.audio, SIM_TONE_HZ).await;

    app.handle(CallEvent::Hold { call_id: call_id.clone() }).await.expect("hold");
    app.until_call(&call_id, "held", is(CallView::Held)).await;
    until_sim(&sim, &call_id.0, "hold", |call| call.hold_state == Some("held")).await;
    app.handle(CallEvent::Resume { call_id: call_id.clone() }).await.expect("resume");
    app.until_call(&call_id, "active again", is(CallView::Active)).await;
    until_speaker_plays(&app.phone.audio, SIM_TONE_HZ).await;

    app.handle(CallEvent::SendDigits { call_id: call_id.clone(), digits: "12#".into() }).await.expect("dtmf");
    until_sim(&sim, &call_id.0, "the digits, once each", |call| call.dtmf == "12#").await;
    // Still active after the stale and duplicated frames of all of that.
    app.settle().await;
    assert_eq!(app.call(&call_id).map(|call| call.view), Some(CallView::Active));

    app.handle(CallEvent::Hangup { call_id: call_id.clone() }).await.expect("hang up");
    let end = app.until_call(&call_id, "the end", ended).await.end.expect("an end");
    assert_eq!((end.outcome, end.cause), (CallOutcome::Completed, HangupCause::NormalClearing));
    until_sim(&sim, &call_id.0, "the end", |call| call.end.is_some()).await;
    app.settle().await;
    assert_eq!(app.calls(), [(call_id.clone(), CallView::Ended, Some(CallOutcome::Completed))], "no ghost call");
    assert_eq!(sim.switchboard().calls().len(), 1, "the simulator saw one call: {:?}", sim.switchboard().calls());
    assert!(app.connection_changes.is_empty(), "the connection stayed up: {:?}", app.connection_changes);
    eprintln!("engine updates the machine refused: {}", app.refused);
    app.phone.engine.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_calls_and_a_busy_number_under_hostile_frames_end_with_their_real_outcomes() {
    let sim = hostile_simulator().await;
    let mut app = App::start(&sim).await;

    // Answered, then the caller hangs up.
    let answered = sim
        .switchboard()
        .start_inbound(InboundCall {
            from: "+14155550123".into(),
            caller_name: Some("Ada".into()),
            ..Default::default()
        })
        .expect("the simulator rings the phone");
    let answered = CallId(answered.call_id);
    let ringing = app.until_call(&answered, "ringing", is(CallView::Ringing)).await;
    assert_eq!(ringing.remote.number, "+14155550123");
    app.handle(CallEvent::Answer { call_id: answered.clone() }).await.expect("answer");
    app.until_call(&answered, "active", is(CallView::Active)).await;
    until_sim(&sim, &answered.0, "the engine's microphone", |call| far_end_hears(call, MIC_HZ)).await;
    until_speaker_plays(&app.phone.audio, SIM_TONE_HZ).await;
    sim.switchboard().hang_up(&answered.0, Hangup::default()).expect("the caller hangs up");
    let end = app.until_call(&answered, "the caller's hangup", ended).await.end.expect("an end");
    assert_eq!(end.outcome, CallOutcome::Completed);

    // Rings, and the caller gives up: missed, not answered by a replayed frame.
    let missed = sim
        .switchboard()
        .start_inbound(InboundCall { from: "+14155550124".into(), ..Default::default() })
        .expect("the simulator rings the phone");
    let missed = CallId(missed.call_id);
    app.until_call(&missed, "ringing", is(CallView::Ringing)).await;
    sim.switchboard()
        .hang_up(
            &missed.0,
            Hangup { cause: Some("ORIGINATOR_CANCEL".into()), cause_code: Some(487), ..Default::default() },
        )
        .expect("the caller gives up");
    let end = app.until_call(&missed, "the caller giving up", ended).await.end.expect("an end");
    assert_eq!(end.outcome, CallOutcome::Missed);

    // Declined: the caller hears busy.
    let declined = sim
        .switchboard()
        .start_inbound(InboundCall { from: "+14155550125".into(), ..Default::default() })
        .expect("the simulator rings the phone");
    let declined = CallId(declined.call_id);
    app.until_call(&declined, "ringing", is(CallView::Ringing)).await;
    app.handle(CallEvent::Decline { call_id: declined.clone() }).await.expect("decline");
    let end = app.until_call(&declined, "the decline", ended).await.end.expect("an end");
    assert_eq!(end.outcome, CallOutcome::Declined);
    let at_sim = until_sim(&sim, &declined.0, "the decline", |call| call.end.is_some()).await;
    assert_eq!(serde_json::to_value(at_sim.end).unwrap()["cause"], "USER_BUSY");

    // Outbound to the busy number.
    let busy = CallId(format!("hostile-busy-{}", now().0));
    let remote = Party { number: BUSY.into(), name: None };
    app.handle(CallEvent::Dial { call_id: busy.clone(), remote, lead_id: None, caller_number: None })
        .await
        .expect("dial");
    let end = app.until_call(&busy, "busy", ended).await.end.expect("an end");
    assert_eq!((end.outcome, end.cause), (CallOutcome::Busy, HangupCause::UserBusy));

    app.settle().await;
    let want = [
        (answered, CallView::Ended, Some(CallOutcome::Completed)),
        (missed, CallView::Ended, Some(CallOutcome::Missed)),
        (declined, CallView::Ended, Some(CallOutcome::Declined)),
        (busy, CallView::Ended, Some(CallOutcome::Busy)),
    ];
    assert_eq!(app.calls(), want, "four calls, each with its real outcome, and no ghost from a replayed invite");
    assert!(app.connection_changes.is_empty(), "the connection stayed up: {:?}", app.connection_changes);
    eprintln!("engine updates the machine refused: {}", app.refused);
    app.phone.engine.shutdown().await;
    sim.shutdown().await;
}
