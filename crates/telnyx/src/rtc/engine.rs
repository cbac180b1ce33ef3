//! From [`RtcEvent`] to the state machine's [`EngineUpdate`], so the native engine feeds the
//! same `softphone_core::call::CallMachine` as the webview engine.

use softphone_core::call::{CallId, EngineUpdate, HangupCause, Party, SdkState, TelnyxLeg};

use super::client::{HoldState, RtcEvent};

/// The updates one event means, per call, in order. Events about the connection only
/// (`Ready`, `LoginFailed`, `Reconnected`) and those the machine has no state for (`Ringing` of
/// an outbound call, which the SDK never shows as a state) map to nothing.
pub fn engine_updates(event: &RtcEvent) -> Vec<(CallId, EngineUpdate)> {
    let one = |call_id: &str, update: EngineUpdate| vec![(CallId::from(call_id), update)];
    let state = |call_id: &str, state: SdkState| one(call_id, EngineUpdate::State { state });
    match event {
        RtcEvent::Ready { .. }
        | RtcEvent::LoginFailed { .. }
        | RtcEvent::Reconnected { .. }
        | RtcEvent::Ringing { .. } => Vec::new(),
        RtcEvent::Display { call_id, name, number } => {
            one(call_id, EngineUpdate::RemoteChanged { name: name.clone(), number: number.clone() })
        }
        RtcEvent::Leg { call_id, call_control_id, call_session_id } => one(
            call_id,
            EngineUpdate::Leg {
                leg: TelnyxLeg { call_control_id: call_control_id.clone(), call_session_id: call_session_id.clone() },
            },
        ),
        RtcEvent::Trying { call_id } => state(call_id, SdkState::Trying),
        RtcEvent::EarlyMedia { call_id, .. } => state(call_id, SdkState::Early),
        RtcEvent::Answered { call_id, .. } | RtcEvent::Attached { call_id, held: false } => {
            state(call_id, SdkState::Active)
        }
        // The SDK: a call held when the socket dropped comes back held (Telnyx kept it held).
        RtcEvent::Attached { call_id, held: true } => state(call_id, SdkState::Held),
        RtcEvent::Incoming { call_id, caller_number, caller_name, .. } => one(
            call_id,
            EngineUpdate::Incoming { remote: Party { number: caller_number.clone(), name: caller_name.clone() } },
        ),
        RtcEvent::Ended { call_id, cause, cause_code, sip_code, .. } => one(
            call_id,
            EngineUpdate::Ended { cause: HangupCause::from_telnyx(cause.as_deref(), *cause_code), sip_code: *sip_code },
        ),
        RtcEvent::CallFailed { call_id, error } => one(call_id, EngineUpdate::Failed { message: error.to_string() }),
        RtcEvent::HoldChanged { call_id, state: HoldState::Held } => state(call_id, SdkState::Held),
        RtcEvent::HoldChanged { call_id, state: HoldState::Active } => state(call_id, SdkState::Active),
        RtcEvent::Reconnecting { calls, .. } => calls
            .iter()
            .map(|id| (CallId::from(id.as_str()), EngineUpdate::State { state: SdkState::Recovering }))
            .collect(),
        RtcEvent::Attach { call_id, .. } => state(call_id, SdkState::Recovering),
        RtcEvent::Punted { calls } => calls
            .iter()
            .map(|id| {
                let message = "Telnyx signed this phone out (punt); the call was dropped".to_owned();
                (CallId::from(id.as_str()), EngineUpdate::Failed { message })
            })
            .collect(),
        RtcEvent::Closed { calls, error } => calls
            .iter()
            .map(|id| {
                let message = error
                    .as_ref()
                    .map_or_else(|| "the signaling connection was closed".to_owned(), std::string::ToString::to_string);
                (CallId::from(id.as_str()), EngineUpdate::Failed { message })
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtc::RtcError;

    fn updates(event: RtcEvent) -> Vec<EngineUpdate> {
        engine_updates(&event).into_iter().map(|(_, u)| u).collect()
    }

    #[test]
    fn events_map_like_the_sdk_states() {
        let c = || "c1".to_owned();
        let s = |state| vec![EngineUpdate::State { state }];
        assert_eq!(updates(RtcEvent::Trying { call_id: c() }), s(SdkState::Trying));
        assert_eq!(updates(RtcEvent::EarlyMedia { call_id: c(), sdp: "v=0".into() }), s(SdkState::Early));
        assert_eq!(updates(RtcEvent::Answered { call_id: c(), sdp: None }), s(SdkState::Active));
        assert_eq!(updates(RtcEvent::Attached { call_id: c(), held: false }), s(SdkState::Active));
        assert_eq!(updates(RtcEvent::Attached { call_id: c(), held: true }), s(SdkState::Held));
        assert_eq!(updates(RtcEvent::HoldChanged { call_id: c(), state: HoldState::Held }), s(SdkState::Held));
        assert_eq!(updates(RtcEvent::HoldChanged { call_id: c(), state: HoldState::Active }), s(SdkState::Active));
        assert_eq!(updates(RtcEvent::Ringing { call_id: c() }), vec![]);
        assert_eq!(
            updates(RtcEvent::Display {
                call_id: c(),
                name: Some("Billing".into()),
                number: Some("+15550001111".into())
            }),
            vec![EngineUpdate::RemoteChanged { name: Some("Billing".into()), number: Some("+15550001111".into()) }]
        );
        assert_eq!(
            updates(RtcEvent::Ended {
                call_id: c(),
                cause: Some("USER_BUSY".into()),
                cause_code: Some(17),
                sip_code: Some(486),
                sip_reason: Some("Busy Here".into())
            }),
            vec![EngineUpdate::Ended { cause: HangupCause::UserBusy, sip_code: Some(486) }]
        );
        assert_eq!(
            updates(RtcEvent::Incoming {
                call_id: c(),
                caller_number: "+15551234567".into(),
                caller_name: Some("Far End".into()),
                sdp_offer: "v=0".into(),
                custom_headers: vec![]
            }),
            vec![EngineUpdate::Incoming {
                remote: Party { number: "+15551234567".into(), name: Some("Far End".into()) }
            }]
        );
        let reconnecting = engine_updates(&RtcEvent::Reconnecting { attempt: 1, calls: vec!["a".into(), "b".into()] });
        assert_eq!(reconnecting.len(), 2);
        assert!(reconnecting.iter().all(|(_, u)| *u == EngineUpdate::State { state: SdkState::Recovering }));
        let closed =
            updates(RtcEvent::Closed { calls: vec![c()], error: Some(RtcError::ReconnectExhausted { attempts: 10 }) });
        assert!(matches!(&closed[..], [EngineUpdate::Failed { message }] if message.contains("10 attempts")));
    }
}
