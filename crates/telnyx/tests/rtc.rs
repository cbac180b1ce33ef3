//! The `telnyx_rtc` signaling client against the real simulator on 127.0.0.1:0, with the
//! simulator's media peer standing in for the native media engine. Every wait is bounded.

use std::time::Duration;

use serde_json::{Value, json};
use softphone_core::call::{EngineUpdate, HangupCause, SdkState};
use softphone_core::secret::Secret;
use softphone_sim::media::{MediaSession, Playback};
use softphone_sim::{DEFAULT_API_KEY, RunningSimulator, SignalingConfig, Simulator, SimulatorConfig};
use softphone_telnyx::rtc::{
    Backoff, CallerId, CustomHeader, HoldState, RtcClient, RtcConfig, RtcError, RtcEvent, RtcLogin, RtcTimings,
    engine_updates,
};
use tokio::sync::mpsc::Receiver;

/// The longest any expected event may take.
const WAIT: Duration = Duration::from_secs(10);
const TONE: &str = "+15555550100";
const BUSY: &str = "+15555550102";

async fn start() -> RunningSimulator {
    start_with_token_ttl(softphone_sim::DEFAULT_TOKEN_TTL).await
}

/// A simulator whose login tokens expire `token_ttl` after they are minted.
async fn start_with_token_ttl(token_ttl: Duration) -> RunningSimulator {
    let signaling = SignalingConfig {
        ping_interval: Duration::from_millis(300),
        answer_delay: Duration::from_millis(50),
        no_answer_timeout: Duration::from_secs(5),
        early_media_duration: Duration::from_millis(100),
        hangup_after: Duration::from_secs(30),
        reattach_window: Duration::from_secs(10),
    };
    Simulator::start(SimulatorConfig { signaling, token_ttl, ..SimulatorConfig::default() })
        .await
        .expect("simulator starts")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap()
}

/// A login token for a new telephony credential, minted over REST with the default API key.
async fn token(sim: &RunningSimulator) -> Secret {
    let id = credential(sim).await;
    mint(sim, &id).await
}

/// A new telephony credential's id.
async fn credential(sim: &RunningSimulator) -> String {
    let body: Value = http()
        .post(format!("{}/v2/telephony_credentials", sim.base_url()))
        .bearer_auth(DEFAULT_API_KEY)
        .json(&json!({"connection_id": "1567510696929005999"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["data"]["id"].as_str().unwrap().to_owned()
}

/// Another login token for credential `id`.
async fn mint(sim: &RunningSimulator, id: &str) -> Secret {
    let response = http()
        .post(format!("{}/v2/telephony_credentials/{id}/token", sim.base_url()))
        .bearer_auth(DEFAULT_API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    Secret::new(response.text().await.unwrap())
}

async fn control(sim: &RunningSimulator, path: &str, body: Value) -> Value {
    let response = http().post(format!("{}{path}", sim.base_url())).json(&body).send().await.unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.status());
    response.json().await.unwrap_or(Value::Null)
}

async fn sim_call(sim: &RunningSimulator, call_id: &str) -> Value {
    let calls: Value =
        http().get(format!("{}/control/calls", sim.base_url())).send().await.unwrap().json().await.unwrap();
    calls["calls"].as_array().unwrap().iter().find(|c| c["id"] == call_id).cloned().expect("the call is listed")
}

/// Waits (bounded) until the simulator's call satisfies `check`.
async fn until_sim_call(sim: &RunningSimulator, call_id: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let call = sim_call(sim, call_id).await;
        if check(&call) {
            return call;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {call}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn timings() -> RtcTimings {
    RtcTimings {
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(5),
        idle_ping_after: Duration::from_secs(2),
        ping_timeout: Duration::from_millis(1000),
        backoff: Backoff { initial: Duration::from_millis(50), max: Duration::from_millis(400), jitter: 0.25 },
        max_reconnect_attempts: 10,
        bye_wait: Duration::from_secs(2),
    }
}

async fn connect(sim: &RunningSimulator, login: Secret) -> (RtcClient, Receiver<RtcEvent>) {
    let mut config = RtcConfig::new(sim.ws_url(), RtcLogin::Token(login));
    config.timings = timings();
    RtcClient::connect(config).await.expect("the websocket opens")
}

/// The next event that `pick` accepts; others are skipped. Panics after [`WAIT`].
async fn next<T>(events: &mut Receiver<RtcEvent>, what: &str, pick: impl Fn(&RtcEvent) -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut skipped = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) => match pick(&event) {
                Some(found) => return found,
                None => skipped.push(event),
            },
            Ok(None) => panic!("events ended waiting for {what}; skipped {skipped:?}"),
            Err(_) => panic!("no {what} within {WAIT:?}; skipped {skipped:?}"),
        }
    }
}

/// Asserts that no event matching `bad` arrives within `window`.
async fn none_within(events: &mut Receiver<RtcEvent>, window: Duration, bad: impl Fn(&RtcEvent) -> bool) {
    let deadline = tokio::time::Instant::now() + window;
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, events.recv()).await {
        assert!(!bad(&event), "unexpected {event:?}");
    }
}

async fn ready(sim: &RunningSimulator) -> (RtcClient, Receiver<RtcEvent>, String) {
    let (client, mut events) = connect(sim, token(sim).await).await;
    let sessid = next(&mut events, "Ready", |e| match e {
        RtcEvent::Ready { sessid } => Some(sessid.clone()),
        _ => None,
    })
    .await;
    (client, events, sessid)
}

/// [`ready`] on a credential of its own, which more tokens can be minted for.
async fn ready_on_a_credential(sim: &RunningSimulator) -> (RtcClient, Receiver<RtcEvent>, String, String) {
    let credential_id = credential(sim).await;
    let (client, mut events) = connect(sim, mint(sim, &credential_id).await).await;
    let sessid = next(&mut events, "Ready", |e| match e {
        RtcEvent::Ready { sessid } => Some(sessid.clone()),
        _ => None,
    })
    .await;
    (client, events, sessid, credential_id)
}

/// An outbound call to `number`, answered, with media: `(far end stand-in, call id)`.
async fn answered_call(
    client: &RtcClient,
    events: &mut Receiver<RtcEvent>,
    call_id: &str,
    playback: Playback,
) -> MediaSession {
    let (media, offer) = MediaSession::offer(playback).expect("media offer");
    let headers = vec![CustomHeader { name: "X-Lead".into(), value: "42".into() }];
    let caller = CallerId { name: Some("Agent".into()), number: Some("+15550000000".into()) };
    client.invite(call_id, TONE, caller, &offer, headers).await.expect("invite accepted");
    let sdp = next(events, "Answered", |e| match e {
        RtcEvent::Answered { call_id: id, sdp } if id == call_id => Some(sdp.clone()),
        _ => None,
    })
    .await
    .expect("the answer carries SDP");
    media.accept_answer(&sdp).expect("the simulator's answer is usable");
    media
}

/// After a reconnection: the client reports `call_id` reattached, gets the simulator's new offer
/// and answers it with media playing 1000 Hz, which it returns.
async fn reattach(client: &RtcClient, events: &mut Receiver<RtcEvent>, call_id: &str) -> MediaSession {
    let reattached = next(events, "Reconnected", |e| match e {
        RtcEvent::Reconnected { reattached } => Some(reattached.clone()),
        _ => None,
    })
    .await;
    assert_eq!(reattached, vec![call_id.to_owned()]);
    let offer = next(events, "Attach", |e| match e {
        RtcEvent::Attach { call_id: id, sdp_offer } if id == call_id => Some(sdp_offer.clone()),
        _ => None,
    })
    .await;
    let (recovered, answer) = MediaSession::answer(&offer, Playback::Tone { hz: 1000.0 }).unwrap();
    client.attach_answer(call_id, &answer, false).await.expect("attach accepted");
    recovered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_login_gets_ready_keeps_pinging_refreshes_and_disconnects() {
    let sim = start().await;
    let (client, mut events, sessid, credential_id) = ready_on_a_credential(&sim).await;
    // Server pings every 300 ms and the client answers with its own; nothing reconnects.
    none_within(&mut events, Duration::from_millis(1500), |e| matches!(e, RtcEvent::Reconnecting { .. })).await;
    let sessions = sim.switchboard().sessions();
    assert_eq!((sessions.len(), sessions[0].sessid.as_str(), sessions[0].connected), (1, sessid.as_str(), true));

    // Expiry has one-second granularity: a token minted a second later is a different JWT.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fresh = mint(&sim, &credential_id).await;
    client.refresh_token(fresh).await.expect("a fresh token on the live socket is accepted");
    none_within(&mut events, Duration::from_millis(500), |e| {
        matches!(e, RtcEvent::Reconnecting { .. } | RtcEvent::LoginFailed { .. })
    })
    .await;
    let sessions = sim.switchboard().sessions();
    assert_eq!((sessions.len(), sessions[0].sessid.as_str()), (1, sessid.as_str()), "same session after refresh");

    client.disconnect().await;
    next(&mut events, "Closed", |e| matches!(e, RtcEvent::Closed { error: None, .. }).then_some(())).await;
    assert!(matches!(client.hold("nope").await, Err(RtcError::Closed)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_token_fails_login_and_the_socket_stays_usable() {
    let sim = start().await;
    let other = start().await;
    let foreign = token(&other).await;
    let foreign_text = foreign.expose().to_owned();
    let (client, mut events) = connect(&sim, foreign).await;
    let error = next(&mut events, "LoginFailed", |e| match e {
        RtcEvent::LoginFailed { error } => Some(error.clone()),
        _ => None,
    })
    .await;
    assert!(matches!(error, RtcError::LoginFailed { code: -32001, .. }), "{error:?}");
    assert!(!error.to_string().contains(&foreign_text) && !format!("{error:?}").contains(&foreign_text));

    client.refresh_token(token(&sim).await).await.expect("the retry on the same socket logs in");
    next(&mut events, "Ready", |e| matches!(e, RtcEvent::Ready { .. }).then_some(())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_tone_call_has_audio_holds_sends_dtmf_and_hangs_up() {
    let sim = start().await;
    let (client, mut events, _) = ready(&sim).await;
    let (media, offer) = MediaSession::offer(Playback::Tone { hz: 1000.0 }).unwrap();
    client
        .invite(
            "call-out",
            TONE,
            CallerId::default(),
            &offer,
            vec![CustomHeader { name: "X-Lead".into(), value: "42".into() }],
        )
        .await
        .expect("invite accepted");
    let trying = next(&mut events, "Trying", |e| matches!(e, RtcEvent::Trying { .. }).then(|| e.clone())).await;
    assert_eq!(engine_updates(&trying)[0].1, EngineUpdate::State { state: SdkState::Trying });
    next(&mut events, "Ringing", |e| matches!(e, RtcEvent::Ringing { call_id } if call_id == "call-out").then_some(()))
        .await;
    let answered = next(&mut events, "Answered", |e| matches!(e, RtcEvent::Answered { .. }).then(|| e.clone())).await;
    assert_eq!(engine_updates(&answered)[0].1, EngineUpdate::State { state: SdkState::Active });
    let RtcEvent::Answered { sdp: Some(sdp), .. } = answered else { panic!("no SDP in {answered:?}") };
    media.accept_answer(&sdp).unwrap();

    let call = until_sim_call(&sim, "call-out", "far end hears 1 kHz", |c| {
        c["media_connected"] == true && c["heard"]["dominant_hz"].as_f64().is_some_and(|hz| (hz - 1000.0).abs() < 50.0)
    })
    .await;
    assert_eq!(call["custom_headers"], json!([{"name": "X-Lead", "value": "42"}]));
    assert!(media.is_connected());

    assert_eq!(client.hold("call-out").await.unwrap(), HoldState::Held);
    let held = next(&mut events, "HoldChanged", |e| matches!(e, RtcEvent::HoldChanged { .. }).then(|| e.clone())).await;
    assert_eq!(engine_updates(&held)[0].1, EngineUpdate::State { state: SdkState::Held });
    assert_eq!(sim_call(&sim, "call-out").await["state"], "held");
    assert_eq!(client.unhold("call-out").await.unwrap(), HoldState::Active);
    assert_eq!(sim_call(&sim, "call-out").await["state"], "active");

    client.dtmf("call-out", "12#").await.unwrap();
    assert_eq!(sim_call(&sim, "call-out").await["dtmf"], "12#");
    assert!(matches!(client.dtmf("call-out", "1x").await, Err(RtcError::InvalidArgument(_))));

    client.hangup("call-out", None).await.unwrap();
    let ended = next(&mut events, "Ended", |e| matches!(e, RtcEvent::Ended { .. }).then(|| e.clone())).await;
    assert!(
        matches!(&ended, RtcEvent::Ended { cause: Some(c), cause_code: Some(16), .. } if c == "NORMAL_CLEARING"),
        "{ended:?}"
    );
    let call = sim_call(&sim, "call-out").await;
    assert_eq!(
        (&call["state"], &call["end"]["by"], &call["end"]["cause_code"]),
        (&json!("ended"), &json!("client"), &json!(16))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_number_ends_with_user_busy() {
    let sim = start().await;
    let (client, mut events, _) = ready(&sim).await;
    let (_media, offer) = MediaSession::offer(Playback::Silence).unwrap();
    client.invite("call-busy", BUSY, CallerId::default(), &offer, vec![]).await.expect("invite accepted");
    let ended = next(&mut events, "Ended", |e| matches!(e, RtcEvent::Ended { .. }).then(|| e.clone())).await;
    assert!(
        matches!(&ended, RtcEvent::Ended { call_id, cause: Some(c), cause_code: Some(17), sip_code: Some(486), .. }
            if call_id == "call-busy" && c == "USER_BUSY"),
        "{ended:?}"
    );
    assert_eq!(engine_updates(&ended)[0].1, EngineUpdate::Ended { cause: HangupCause::UserBusy, sip_code: Some(486) });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_call_rings_is_answered_and_hung_up_remotely() {
    let sim = start().await;
    let (client, mut events, _) = ready(&sim).await;
    let started = control(
        &sim,
        "/control/calls/inbound",
        json!({"from": "+15551234567", "caller_name": "Far End", "custom_headers": [{"name": "X-Probe", "value": "hello"}]}),
    )
    .await;
    let call_id = started["call_id"].as_str().unwrap().to_owned();
    let incoming = next(&mut events, "Incoming", |e| matches!(e, RtcEvent::Incoming { .. }).then(|| e.clone())).await;
    let RtcEvent::Incoming { call_id: id, caller_number, caller_name, sdp_offer, custom_headers } = &incoming else {
        unreachable!()
    };
    assert_eq!((id, caller_number.as_str(), caller_name.as_deref()), (&call_id, "+15551234567", Some("Far End")));
    assert_eq!(custom_headers, &vec![CustomHeader { name: "X-Probe".into(), value: "hello".into() }]);
    assert!(
        matches!(&engine_updates(&incoming)[0].1, EngineUpdate::Incoming { remote } if remote.number == "+15551234567")
    );

    let (media, answer) = MediaSession::answer(sdp_offer, Playback::Tone { hz: 1000.0 }).unwrap();
    client.answer(&call_id, &answer).await.expect("answer accepted");
    next(&mut events, "Answered", |e| {
        matches!(e, RtcEvent::Answered { call_id: c, .. } if *c == call_id).then_some(())
    })
    .await;
    until_sim_call(&sim, &call_id, "inbound active with media", |c| {
        c["state"] == "active" && c["media_connected"] == true
    })
    .await;
    assert!(media.is_connected());

    control(
        &sim,
        &format!("/control/calls/{call_id}/hangup"),
        json!({"cause": "CALL_REJECTED", "cause_code": 21, "sip_code": 603}),
    )
    .await;
    let ended = next(&mut events, "Ended", |e| matches!(e, RtcEvent::Ended { .. }).then(|| e.clone())).await;
    assert!(
        matches!(&ended, RtcEvent::Ended { cause: Some(c), cause_code: Some(21), sip_code: Some(603), .. } if c == "CALL_REJECTED"),
        "{ended:?}"
    );
    assert!(matches!(client.hangup(&call_id, None).await, Err(RtcError::UnknownCall(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_socket_reconnects_and_the_call_is_reattached_with_media() {
    let sim = start().await;
    let (client, mut events, sessid) = ready(&sim).await;
    let _media = answered_call(&client, &mut events, "call-keep", Playback::Silence).await;
    until_sim_call(&sim, "call-keep", "media up", |c| c["media_connected"] == true).await;

    control(&sim, "/control/sessions/all/drop", json!({})).await;
    let reconnecting =
        next(&mut events, "Reconnecting", |e| matches!(e, RtcEvent::Reconnecting { .. }).then(|| e.clone())).await;
    assert!(
        matches!(&reconnecting, RtcEvent::Reconnecting { attempt: 1, calls } if calls == &["call-keep"]),
        "{reconnecting:?}"
    );
    assert_eq!(engine_updates(&reconnecting)[0].1, EngineUpdate::State { state: SdkState::Recovering });
    let recovered = reattach(&client, &mut events, "call-keep").await;
    let attached = next(&mut events, "Attached", |e| matches!(e, RtcEvent::Attached { .. }).then(|| e.clone())).await;
    assert_eq!(engine_updates(&attached)[0].1, EngineUpdate::State { state: SdkState::Active });

    until_sim_call(&sim, "call-keep", "reattached with media", |c| {
        c["state"] == "active"
            && c["reattached"].as_u64() >= Some(1)
            && c["heard"]["dominant_hz"].as_f64().is_some_and(|hz| (hz - 1000.0).abs() < 50.0)
    })
    .await;
    assert!(recovered.is_connected());
    let sessions = sim.switchboard().sessions();
    assert_eq!((sessions.len(), sessions[0].sessid.as_str()), (1, sessid.as_str()), "the same session came back");
    client.dtmf("call-keep", "5").await.expect("the call works after recovery");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnection_refused_for_an_expired_token_gets_its_call_back_with_a_fresh_token() {
    // A laptop asleep past the token's life: the socket is dead and the token expired.
    let sim = start_with_token_ttl(Duration::from_secs(2)).await;
    let (client, mut events, sessid, credential_id) = ready_on_a_credential(&sim).await;
    let _media = answered_call(&client, &mut events, "call-asleep", Playback::Silence).await;
    until_sim_call(&sim, "call-asleep", "media up", |c| c["media_connected"] == true).await;
    tokio::time::sleep(Duration::from_millis(3100)).await;

    control(&sim, "/control/sessions/all/drop", json!({})).await;
    let refused = next(&mut events, "LoginFailed", |e| match e {
        RtcEvent::LoginFailed { error } => Some(error.to_string()),
        _ => None,
    })
    .await;
    assert!(refused.contains("expired"), "{refused}");

    // The shell mints a fresh token and hands it over: the same session and call come back.
    client.refresh_token(mint(&sim, &credential_id).await).await.expect("the fresh token is accepted");
    let _recovered = reattach(&client, &mut events, "call-asleep").await;
    until_sim_call(&sim, "call-asleep", "reattached with media", |c| {
        c["state"] == "active" && c["end"].is_null() && c["reattached"].as_u64() >= Some(1)
    })
    .await;
    let sessions = sim.switchboard().sessions();
    assert_eq!((sessions.len(), sessions[0].sessid.as_str()), (1, sessid.as_str()), "the same session came back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_refresh_due_while_a_reconnection_logs_in_keeps_the_call() {
    // The session refreshes its token on a clock of its own; here it falls due while the
    // reconnection's login waits for a slow Telnyx. A second login then would be taken as a
    // refresh of the new socket's session and the call would not be reattached.
    let sim = start().await;
    let (client, mut events, sessid, credential_id) = ready_on_a_credential(&sim).await;
    let _media = answered_call(&client, &mut events, "call-slow-login", Playback::Silence).await;
    until_sim_call(&sim, "call-slow-login", "media up", |c| c["media_connected"] == true).await;

    control(&sim, "/control/logins", json!({"reply_after_ms": 2500})).await;
    control(&sim, "/control/sessions/all/drop", json!({})).await;
    next(&mut events, "Reconnecting", |e| matches!(e, RtcEvent::Reconnecting { .. }).then_some(())).await;
    // The socket reopens within the first backoff (≤ 63 ms); its login is then held for 2.5 s.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // From here on only the refreshed token logs in (tokens of this second on are good).
    let cutoff = sim.state().expire_tokens_now();
    while unix_now() < cutoff {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    client.refresh_token(mint(&sim, &credential_id).await).await.expect("the new token is taken");
    control(&sim, "/control/logins", json!({"reply_after_ms": 0})).await;

    let _recovered = reattach(&client, &mut events, "call-slow-login").await;
    until_sim_call(&sim, "call-slow-login", "reattached with media", |c| {
        c["state"] == "active" && c["end"].is_null() && c["reattached"].as_u64() >= Some(1)
    })
    .await;
    none_within(&mut events, Duration::from_millis(300), |e| matches!(e, RtcEvent::CallFailed { .. })).await;
    let sessions = sim.switchboard().sessions();
    assert_eq!((sessions.len(), sessions[0].sessid.as_str()), (1, sessid.as_str()), "the same session came back");

    // The refreshed token is the one the next reconnection logs in with.
    control(&sim, "/control/sessions/all/drop", json!({})).await;
    let outcome = next(&mut events, "Reconnected or LoginFailed", |e| match e {
        RtcEvent::Reconnected { reattached } => Some(Ok(reattached.clone())),
        RtcEvent::LoginFailed { error } => Some(Err(error.to_string())),
        _ => None,
    })
    .await;
    assert_eq!(outcome, Ok(vec!["call-slow-login".to_owned()]));
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn punt_stops_the_client_without_reconnecting() {
    let sim = start().await;
    let (client, mut events, sessid) = ready(&sim).await;
    control(&sim, &format!("/control/sessions/{sessid}/punt"), json!({})).await;
    next(&mut events, "Punted", |e| matches!(e, RtcEvent::Punted { .. }).then_some(())).await;
    none_within(&mut events, Duration::from_millis(800), |e| matches!(e, RtcEvent::Reconnecting { .. })).await;
    assert!(sim.switchboard().sessions().is_empty());
    assert!(matches!(client.dtmf("x", "1").await, Err(RtcError::Closed)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_pings_mean_a_dead_socket_and_the_client_reconnects() {
    let sim = start().await;
    let (_client, mut events, sessid) = ready(&sim).await;
    control(&sim, "/control/pings", json!({"answer": false})).await;
    next(&mut events, "Reconnecting", |e| matches!(e, RtcEvent::Reconnecting { attempt: 1, .. }).then_some(())).await;
    control(&sim, "/control/pings", json!({"answer": true})).await;
    next(&mut events, "Reconnected", |e| matches!(e, RtcEvent::Reconnected { .. }).then_some(())).await;
    none_within(&mut events, Duration::from_millis(1500), |e| matches!(e, RtcEvent::Reconnecting { .. })).await;
    let sessions = sim.switchboard().sessions();
    assert!(sessions.iter().any(|s| s.sessid == sessid && s.connected), "{sessions:?}");
}
