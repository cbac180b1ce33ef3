//! The `telnyx_rtc` websocket and its control API, against a real simulator on 127.0.0.1:0 with
//! tokio-tungstenite as the client, speaking the frames of docs/telnyx-protocol.md §2.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use softphone_sim::media::{MediaSession, Playback};
use softphone_sim::{DEFAULT_API_KEY, RunningSimulator, SignalingConfig, Simulator, SimulatorConfig};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single expected frame may take.
const FRAME_WAIT: Duration = Duration::from_secs(5);

const TONE: &str = "+15555550100";
const BUSY: &str = "+15555550102";
const NO_ANSWER: &str = "+15555550103";
const REJECT: &str = "+15555550104";
const EARLY_MEDIA: &str = "+15555550105";
const HANGUP: &str = "+15555550106";

fn fast_signaling() -> SignalingConfig {
    SignalingConfig {
        ping_interval: Duration::from_millis(300),
        answer_delay: Duration::from_millis(50),
        no_answer_timeout: Duration::from_millis(300),
        early_media_duration: Duration::from_millis(100),
        hangup_after: Duration::from_millis(200),
        reattach_window: Duration::from_secs(10),
    }
}

async fn start() -> RunningSimulator {
    start_with(Duration::from_secs(3600)).await
}

async fn start_with(token_ttl: Duration) -> RunningSimulator {
    Simulator::start(SimulatorConfig { token_ttl, signaling: fast_signaling(), ..SimulatorConfig::default() })
        .await
        .expect("simulator starts on 127.0.0.1:0")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap()
}

/// A telephony credential made over REST: `(id, sip_username, sip_password)`.
async fn credential(sim: &RunningSimulator) -> (String, String, String) {
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
    let data = &body["data"];
    let text = |k: &str| data[k].as_str().unwrap().to_owned();
    (text("id"), text("sip_username"), text("sip_password"))
}

async fn mint(sim: &RunningSimulator, credential_id: &str) -> String {
    let response = http()
        .post(format!("{}/v2/telephony_credentials/{credential_id}/token", sim.base_url()))
        .bearer_auth(DEFAULT_API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.text().await.unwrap()
}

async fn token(sim: &RunningSimulator) -> String {
    let (id, _, _) = credential(sim).await;
    mint(sim, &id).await
}

async fn control_get(sim: &RunningSimulator, path: &str) -> Value {
    http().get(format!("{}{path}", sim.base_url())).send().await.unwrap().json().await.unwrap()
}

async fn control_post(sim: &RunningSimulator, path: &str, body: Value) -> reqwest::Response {
    http().post(format!("{}{path}", sim.base_url())).json(&body).send().await.unwrap()
}

async fn control_call(sim: &RunningSimulator, call_id: &str) -> Value {
    let calls = control_get(sim, "/control/calls").await;
    calls["calls"].as_array().unwrap().iter().find(|c| c["id"] == call_id).cloned().expect("the call is listed")
}

/// A test client: sends requests, and picks frames out of what arrives, keeping the rest.
struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    backlog: VecDeque<Value>,
    next_id: u64,
}

impl Client {
    async fn connect(url: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
        Client { ws, backlog: VecDeque::new(), next_id: 1 }
    }

    async fn send_text(&mut self, text: String) {
        self.ws.send(Message::text(text)).await.expect("frame sent");
    }

    async fn send(&mut self, frame: Value) {
        self.send_text(frame.to_string()).await;
    }

    /// The next frame from the socket (not the backlog); `None` when the socket ended.
    async fn read(&mut self) -> Option<Result<Value, String>> {
        loop {
            match tokio::time::timeout(FRAME_WAIT, self.ws.next()).await.expect("a frame in time") {
                Some(Ok(Message::Text(text))) => return Some(Ok(serde_json::from_str(text.as_str()).unwrap())),
                Some(Ok(Message::Close(frame))) => return Some(Err(format!("close frame {frame:?}"))),
                Some(Ok(_)) => continue,
                Some(Err(error)) => return Some(Err(format!("error {error}"))),
                None => return None,
            }
        }
    }

    /// The first frame (backlog first) that `matches`.
    async fn wait_for(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        if let Some(at) = self.backlog.iter().position(&matches) {
            return self.backlog.remove(at).unwrap();
        }
        let deadline = tokio::time::Instant::now() + FRAME_WAIT;
        loop {
            assert!(tokio::time::Instant::now() < deadline, "no {what} in time; got {:?}", self.backlog);
            match self.read().await {
                Some(Ok(frame)) if matches(&frame) => return frame,
                Some(Ok(frame)) => self.backlog.push_back(frame),
                other => panic!("socket ended waiting for {what}: {other:?}"),
            }
        }
    }

    /// A server request with this method; the client acks it like the SDK does (not pings or
    /// clientReady).
    async fn server_request(&mut self, method: &str) -> Value {
        let frame = self.wait_for(method, |f| f["method"] == method && f.get("result").is_none()).await;
        if !matches!(method, "telnyx_rtc.ping" | "telnyx_rtc.clientReady") {
            self.send(json!({"jsonrpc": "2.0", "id": frame["id"], "result": {"method": method}})).await;
        }
        frame
    }

    /// The reply to the request with this id.
    async fn reply(&mut self, id: &Value) -> Value {
        let id = id.clone();
        self.wait_for("reply", move |f| f["id"] == id && f.get("method").is_none()).await
    }

    async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = json!(format!("req-{}", self.next_id));
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await;
        self.reply(&id).await
    }

    /// Login, clientReady, gatewayState → REGED. Returns `(sessid, voice_sdk_id, clientReady)`.
    async fn login(&mut self, params: Value) -> (String, String, Value) {
        let reply = self.request("login", params).await;
        assert_eq!(reply["result"]["message"], "logged in", "{reply}");
        let sessid = reply["result"]["sessid"].as_str().expect("sessid").to_owned();
        let voice_sdk_id = reply["voice_sdk_id"].as_str().expect("top-level voice_sdk_id").to_owned();
        let ready = self.server_request("telnyx_rtc.clientReady").await;
        assert_eq!(ready["voice_sdk_id"], voice_sdk_id.as_str());
        let reged = self.request("telnyx_rtc.gatewayState", json!({})).await;
        assert_eq!(reged["result"]["params"]["state"], "REGED", "{reged}");
        assert_eq!(reged["result"]["sessid"], sessid.as_str());
        (sessid, voice_sdk_id, ready)
    }

    async fn login_token(&mut self, token: &str) -> (String, String, Value) {
        self.login(json!({"login_token": token, "reconnection": false, "userVariables": {}})).await
    }

    /// An outbound call from the SDK's point of view: `invite` with a real SDP offer.
    async fn invite(&mut self, sessid: &str, call_id: &str, to: &str, offer: &str) -> Value {
        self.request(
            "telnyx_rtc.invite",
            json!({"sessid": sessid, "sdp": offer, "dialogParams": {
                "callID": call_id, "destination_number": to, "caller_id_number": "+15550000000",
                "caller_id_name": "Agent", "custom_headers": [{"name": "X-Lead", "value": "42"}]}}),
        )
        .await
    }

    async fn call_request(&mut self, method: &str, call_id: &str, extra: Value) -> Value {
        let mut params = json!({"dialogParams": {"callID": call_id}});
        if let (Some(params), Value::Object(extra)) = (params.as_object_mut(), extra) {
            params.extend(extra);
        }
        self.request(method, params).await
    }
}

fn client_offer(playback: Playback) -> (MediaSession, String) {
    MediaSession::offer(playback).expect("the media peer makes an offer")
}

#[tokio::test]
async fn token_login_reaches_reged_and_both_sides_ping() {
    let sim = start().await;
    let mut client = Client::connect(&sim.ws_url()).await;
    let (sessid, voice_sdk_id, ready) = client.login_token(&token(&sim).await).await;
    assert_eq!(sessid.len(), 36, "a UUID");
    assert!(voice_sdk_id.starts_with("vsdk-"));
    assert_eq!(ready["params"]["reattached_sessions"], json!([]));

    let pong = client.request("telnyx_rtc.ping", json!({})).await;
    assert_eq!(pong["result"]["method"], "telnyx_rtc.ping");
    let ping = client.server_request("telnyx_rtc.ping").await;
    assert!(ping["params"]["serno"].as_u64().unwrap() >= 1);
    assert_eq!(ping["voice_sdk_id"], voice_sdk_id.as_str());

    let id = json!("dbg-1");
    client
        .send(json!({"type": "debug_report_start", "debug_report_id": "r", "debug_report_version": 1, "id": id}))
        .await;
    assert_eq!(client.reply(&id).await["result"], json!({}));

    let sessions = control_get(&sim, "/control/sessions").await;
    assert_eq!(sessions["sessions"][0]["sessid"], sessid.as_str());
    assert_eq!(sessions["sessions"][0]["connected"], true);
}

#[tokio::test]
async fn bad_expired_and_foreign_tokens_fail_and_the_socket_stays_open() {
    let sim = start_with(Duration::from_secs(1)).await;
    let other = start().await;
    let (id, sip_username, sip_password) = credential(&sim).await;
    let short_lived = mint(&sim, &id).await;
    let foreign = token(&other).await;
    let mut client = Client::connect(&sim.ws_url()).await;

    // Expiry has one-second granularity: wait for it rather than forge a token.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    for (what, params) in [
        ("garbage", json!({"login_token": "not-a-jwt"})),
        ("expired", json!({"login_token": short_lived})),
        ("another simulator's", json!({"login_token": foreign})),
        ("no credentials", json!({})),
        ("wrong password", json!({"login": sip_username, "passwd": "nope", "login_token": mint(&sim, &id).await})),
    ] {
        let reply = client.request("login", params).await;
        assert_eq!(reply["error"]["code"], -32001, "{what}: {reply}");
        assert!(reply.get("result").is_none());
    }
    let reply = client.request("telnyx_rtc.gatewayState", json!({})).await;
    assert_eq!(reply["error"]["code"], -32000, "not logged in: {reply}");

    // Same socket, right SIP password: logged in.
    let (sessid, _, _) = client.login(json!({"login": sip_username, "passwd": sip_password})).await;
    assert_eq!(sessid.len(), 36);
}

#[tokio::test]
async fn malformed_unknown_and_oversized_frames_get_errors_and_the_connection_survives() {
    let sim = start().await;
    let mut client = Client::connect(&sim.ws_url()).await;

    client.send_text("{\"jsonrpc\":\"2.0\",\"id\":".to_owned()).await;
    let parse = client.wait_for("parse error", |f| f["error"]["code"] == -32700).await;
    assert_eq!(parse["id"], Value::Null);

    let unknown = client.request("telnyx_rtc.teleport", json!({})).await;
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");

    client.send(json!([1, 2, 3])).await;
    client.wait_for("invalid request", |f| f["error"]["code"] == -32600).await;

    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":"big","method":"telnyx_rtc.info","params":{{"pad":"{}"}}}}"#,
        "x".repeat(1536 * 1024)
    );
    client.send_text(huge).await;
    let too_big = client.wait_for("too large", |f| f["error"]["code"] == -32600).await;
    assert!(too_big["error"]["message"].as_str().unwrap().contains("exceeds"), "{too_big}");

    client.ws.send(Message::binary(vec![0u8, 159, 146, 150])).await.unwrap();
    client.wait_for("binary refused", |f| f["error"]["code"] == -32600).await;

    let early = client.request("telnyx_rtc.invite", json!({"dialogParams": {"callID": "c"}})).await;
    assert_eq!(early["error"]["code"], -32000, "invite before login: {early}");

    // Still the same connection, and it works.
    client.login_token(&token(&sim).await).await;
    let bad_params = client.request("telnyx_rtc.modify", json!({"dialogParams": 7})).await;
    assert_eq!(bad_params["error"]["code"], -32602, "{bad_params}");
    let bad_sdp = client.invite("", "call-bad-sdp", TONE, "this is not SDP").await;
    assert!(bad_sdp["error"]["code"].is_i64(), "{bad_sdp}");
    let pong = client.request("telnyx_rtc.ping", json!({})).await;
    assert_eq!(pong["result"]["method"], "telnyx_rtc.ping");
}

#[tokio::test]
async fn directory_numbers_hang_up_with_their_causes() {
    let sim = start().await;
    let mut client = Client::connect(&sim.ws_url()).await;
    let (sessid, _, _) = client.login_token(&token(&sim).await).await;
    let (_media, offer) = client_offer(Playback::Silence);

    // (number, rings first, cause, causeCode, sipCode)
    let table = [
        (BUSY, false, "USER_BUSY", 17, 486),
        ("+15559990000", false, "UNALLOCATED_NUMBER", 1, 404),
        (REJECT, true, "CALL_REJECTED", 21, 603),
        (NO_ANSWER, true, "NO_ANSWER", 19, 480),
    ];
    for (i, (number, rings, cause, cause_code, sip_code)) in table.into_iter().enumerate() {
        let call_id = format!("call-{i}");
        let created = client.invite(&sessid, &call_id, number, &offer).await;
        assert_eq!(created["result"]["message"], "CALL CREATED", "{number}: {created}");
        assert_eq!(created["result"]["callID"], call_id.as_str());
        if rings {
            let ringing = client.server_request("telnyx_rtc.ringing").await;
            assert_eq!(ringing["params"]["callID"], call_id.as_str());
        }
        let bye = client.server_request("telnyx_rtc.bye").await;
        assert_eq!(bye["params"]["callID"], call_id.as_str(), "{number}");
        assert_eq!(
            (&bye["params"]["cause"], &bye["params"]["causeCode"], &bye["params"]["sipCode"]),
            (&json!(cause), &json!(cause_code), &json!(sip_code)),
            "{number}"
        );
        let listed = control_call(&sim, &call_id).await;
        assert_eq!(listed["state"], "ended");
        assert_eq!(listed["end"]["by"], "far_end");
    }
    assert!(client.backlog.iter().all(|f| f["method"] != "telnyx_rtc.answer"), "none of them answered");

    // Early media, then an answer without SDP.
    let created = client.invite(&sessid, "call-early", EARLY_MEDIA, &offer).await;
    assert_eq!(created["result"]["message"], "CALL CREATED");
    client.server_request("telnyx_rtc.ringing").await;
    let media = client.server_request("telnyx_rtc.media").await;
    assert!(media["params"]["sdp"].as_str().unwrap().starts_with("v=0"));
    let answer = client.server_request("telnyx_rtc.answer").await;
    assert_eq!(answer["params"]["callID"], "call-early");
    assert!(answer["params"].get("sdp").is_none(), "no SDP after early media: {answer}");
    client.call_request("telnyx_rtc.bye", "call-early", json!({"cause": "NORMAL_CLEARING", "causeCode": 16})).await;

    // Echo answers with SDP and sends back what it hears.
    client.invite(&sessid, "call-echo", "+1 555 555 0101", &offer).await;
    let answer = client.server_request("telnyx_rtc.answer").await;
    assert!(answer["params"]["sdp"].as_str().unwrap().starts_with("v=0"));
    let listed = control_call(&sim, "call-echo").await;
    assert_eq!((&listed["behaviour"], &listed["playback"]), (&json!("echo"), &json!({"kind": "echo"})));
    client.call_request("telnyx_rtc.bye", "call-echo", json!({})).await;

    // Answers, then hangs up by itself.
    client.invite(&sessid, "call-hangup", HANGUP, &offer).await;
    client.server_request("telnyx_rtc.answer").await;
    let bye = client.server_request("telnyx_rtc.bye").await;
    assert_eq!((&bye["params"]["cause"], &bye["params"]["causeCode"]), (&json!("NORMAL_CLEARING"), &json!(16)));
}

#[tokio::test]
async fn outbound_tone_call_holds_takes_dtmf_and_hangs_up() {
    let sim = start().await;
    let mut client = Client::connect(&sim.ws_url()).await;
    let (sessid, _, _) = client.login_token(&token(&sim).await).await;
    let (media, offer) = client_offer(Playback::Tone { hz: 1000.0 });

    let created = client.invite(&sessid, "call-tone", TONE, &offer).await;
    assert_eq!(created["result"]["message"], "CALL CREATED", "{created}");
    assert_eq!(created["result"]["sessid"], sessid.as_str());
    let ringing = client.server_request("telnyx_rtc.ringing").await;
    assert_eq!(ringing["params"]["telnyx_call_control_id"], "v3:cc-call-tone");
    let answer = client.server_request("telnyx_rtc.answer").await;
    let sdp = answer["params"]["sdp"].as_str().expect("answer carries SDP");
    media.accept_answer(sdp).expect("the simulator's SDP answer is usable");

    let listed = control_call(&sim, "call-tone").await;
    assert_eq!((&listed["state"], &listed["direction"]), (&json!("active"), &json!("outbound")));
    assert_eq!(listed["custom_headers"], json!([{"name": "X-Lead", "value": "42"}]));
    assert_eq!(listed["behaviour"], "tone");

    for (action, hold_state) in
        [("hold", "held"), ("unhold", "active"), ("toggleHold", "held"), ("toggleHold", "active")]
    {
        let reply = client.call_request("telnyx_rtc.modify", "call-tone", json!({"action": action})).await;
        assert_eq!(reply["result"]["holdState"], hold_state, "{action}: {reply}");
        assert_eq!(reply["result"]["callID"], "call-tone");
    }
    client.call_request("telnyx_rtc.modify", "call-tone", json!({"action": "hold"})).await;
    assert_eq!(control_call(&sim, "call-tone").await["state"], "held");

    for digit in ["1", "2", "#"] {
        let ack = client.call_request("telnyx_rtc.info", "call-tone", json!({"dtmf": digit})).await;
        assert!(ack.get("result").is_some(), "{ack}");
    }
    assert_eq!(control_call(&sim, "call-tone").await["dtmf"], "12#");

    let bye = client
        .call_request(
            "telnyx_rtc.bye",
            "call-tone",
            json!({"cause": "NORMAL_CLEARING", "causeCode": 16, "sipCode": null}),
        )
        .await;
    assert_eq!(bye["result"]["message"], "CALL ENDED", "{bye}");
    assert_eq!((&bye["result"]["cause"], &bye["result"]["causeCode"]), (&json!("NORMAL_CLEARING"), &json!(16)));
    let listed = control_call(&sim, "call-tone").await;
    assert_eq!((&listed["state"], &listed["end"]["by"]), (&json!("ended"), &json!("client")));

    let again = client.call_request("telnyx_rtc.modify", "call-tone", json!({"action": "hold"})).await;
    assert!(again["error"]["code"].is_i64(), "no hold on an ended call: {again}");
}

#[tokio::test]
async fn media_flows_both_ways_on_an_answered_call() {
    let sim = start().await;
    let mut client = Client::connect(&sim.ws_url()).await;
    let (sessid, _, _) = client.login_token(&token(&sim).await).await;
    let (media, offer) = client_offer(Playback::Tone { hz: 1000.0 });
    client.invite(&sessid, "call-media", TONE, &offer).await;
    let answer = client.server_request("telnyx_rtc.answer").await;
    media.accept_answer(answer["params"]["sdp"].as_str().unwrap()).unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let heard = control_call(&sim, "call-media").await["heard"].clone();
        let far_end_hears_1k = heard["dominant_hz"].as_f64().is_some_and(|hz| (hz - 1000.0).abs() < 50.0);
        let client_hears_440 = media.heard().dominant_hz.is_some_and(|hz| (hz - 440.0).abs() < 30.0);
        if far_end_hears_1k && client_hears_440 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "media: far end heard {heard}, client {:?}", media.heard());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn inbound_call_rings_with_caller_id_and_headers_is_answered_updated_and_hung_up() {
    let sim = start().await;
    let mut client = Client::connect(&sim.ws_url()).await;
    let (sessid, _, _) = client.login_token(&token(&sim).await).await;

    let response = control_post(
        &sim,
        "/control/calls/inbound",
        json!({"from": "+15551234567", "caller_name": "Far End",
               "custom_headers": [{"name": "X-Probe", "value": "hello"}]}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let started: Value = response.json().await.unwrap();
    let call_id = started["call_id"].as_str().unwrap().to_owned();
    assert_eq!(started["sessid"], sessid.as_str());

    let invite = client.server_request("telnyx_rtc.invite").await;
    let params = &invite["params"];
    assert_eq!(params["callID"], call_id.as_str());
    assert_eq!((&params["caller_id_number"], &params["caller_id_name"]), (&json!("+15551234567"), &json!("Far End")));
    assert_eq!(params["dialogParams"]["custom_headers"], json!([{"name": "X-Probe", "value": "hello"}]));
    let offer = params["sdp"].as_str().expect("invite carries an SDP offer");
    let (_media, answer_sdp) = MediaSession::answer(offer, Playback::Silence).expect("the offer is usable");
    assert_eq!(control_call(&sim, &call_id).await["state"], "ringing");

    let answered = client.call_request("telnyx_rtc.answer", &call_id, json!({"sdp": answer_sdp})).await;
    assert_eq!(answered["result"]["message"], "CALL ANSWERED", "{answered}");
    assert_eq!(control_call(&sim, &call_id).await["state"], "active");

    let response = control_post(
        &sim,
        &format!("/control/calls/{call_id}/display"),
        json!({"name": "Transferred", "number": "+15557654321"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let display = client.server_request("telnyx_rtc.display").await;
    assert_eq!(
        (&display["params"]["display_name"], &display["params"]["display_number"]),
        (&json!("Transferred"), &json!("+15557654321"))
    );

    let hangup = json!({"cause": "CALL_REJECTED", "cause_code": 21, "sip_code": 603, "sip_reason": "Decline"});
    let response = control_post(&sim, &format!("/control/calls/{call_id}/hangup"), hangup.clone()).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let bye = client.server_request("telnyx_rtc.bye").await;
    assert_eq!(bye["params"]["callID"], call_id.as_str());
    assert_eq!(
        (&bye["params"]["cause"], &bye["params"]["causeCode"], &bye["params"]["sipCode"], &bye["params"]["sipReason"]),
        (&json!("CALL_REJECTED"), &json!(21), &json!(603), &json!("Decline"))
    );
    let response = control_post(&sim, &format!("/control/calls/{call_id}/hangup"), hangup).await;
    assert_eq!(response.status(), StatusCode::CONFLICT, "already ended");
    let response = control_post(&sim, "/control/calls/nope/hangup", json!({})).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // Unanswered, the caller gives up.
    let started: Value =
        control_post(&sim, "/control/calls/inbound", json!({"from": "+15551234567"})).await.json().await.unwrap();
    client.server_request("telnyx_rtc.invite").await;
    let bye = client.server_request("telnyx_rtc.bye").await;
    assert_eq!(bye["params"]["callID"], started["call_id"]);
    assert_eq!(bye["params"]["cause"], "ORIGINATOR_CANCEL");
}

#[tokio::test]
async fn inbound_call_needs_a_logged_in_client() {
    let sim = start().await;
    let response = control_post(&sim, "/control/calls/inbound", json!({"from": "+15551234567"})).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let response = control_post(&sim, "/control/calls/inbound", json!({"from": 5})).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn dropped_socket_reconnects_and_the_call_is_reattached() {
    let sim = start().await;
    let login_token = token(&sim).await;
    let mut client = Client::connect(&sim.ws_url()).await;
    let (sessid, voice_sdk_id, _) = client.login_token(&login_token).await;
    let (media, offer) = client_offer(Playback::Silence);
    client.invite(&sessid, "call-keep", TONE, &offer).await;
    let answer = client.server_request("telnyx_rtc.answer").await;
    media.accept_answer(answer["params"]["sdp"].as_str().unwrap()).unwrap();
    client.call_request("telnyx_rtc.info", "call-keep", json!({"dtmf": "7"})).await;

    let response = control_post(&sim, "/control/sessions/all/drop", json!({})).await;
    assert_eq!(response.json::<Value>().await.unwrap()["sessions"], 1);
    // The socket ends without a close frame.
    loop {
        match client.read().await {
            Some(Ok(_)) => continue,
            Some(Err(end)) => {
                assert!(!end.starts_with("close frame"), "{end}");
                break;
            }
            None => break,
        }
    }
    let sessions = control_get(&sim, "/control/sessions").await;
    assert_eq!(sessions["sessions"][0]["connected"], false);
    assert_eq!(control_call(&sim, "call-keep").await["state"], "active", "kept for a reconnection");

    let mut client = Client::connect(&format!("{}?voice_sdk_id={voice_sdk_id}", sim.ws_url())).await;
    let (again, same_vsdk, ready) =
        client.login(json!({"login_token": login_token, "reconnection": true, "sessid": sessid})).await;
    assert_eq!((again.as_str(), same_vsdk.as_str()), (sessid.as_str(), voice_sdk_id.as_str()));
    assert_eq!(ready["params"]["reattached_sessions"], json!(["call-keep"]));

    let attach = client.server_request("telnyx_rtc.attach").await;
    assert_eq!(attach["params"]["callID"], "call-keep");
    let offer = attach["params"]["sdp"].as_str().expect("attach carries a fresh offer");
    let (_recovered, answer_sdp) = MediaSession::answer(offer, Playback::Silence).unwrap();
    let attached = client
        .call_request(
            "telnyx_rtc.attach",
            "call-keep",
            json!({"sdp": answer_sdp, "dialogParams": {"callID": "call-keep", "attach": true}}),
        )
        .await;
    assert_eq!(attached["result"]["message"], "CALL ATTACHED", "{attached}");
    let listed = control_call(&sim, "call-keep").await;
    assert_eq!((&listed["state"], &listed["reattached"], &listed["dtmf"]), (&json!("active"), &json!(1), &json!("7")));

    // A fresh login (no reconnection) does not get the call.
    let mut other = Client::connect(&sim.ws_url()).await;
    let (fresh, _, ready) = other.login_token(&login_token).await;
    assert_ne!(fresh, sessid);
    assert_eq!(ready["params"]["reattached_sessions"], json!([]));
}

#[tokio::test]
async fn punt_arrives_and_closes_the_session() {
    let sim = start().await;
    let mut client = Client::connect(&sim.ws_url()).await;
    let (sessid, _, _) = client.login_token(&token(&sim).await).await;
    let response = control_post(&sim, &format!("/control/sessions/{sessid}/punt"), json!({})).await;
    assert_eq!(response.json::<Value>().await.unwrap()["sessions"], 1);
    let punt = client.server_request("telnyx_rtc.punt").await;
    assert_eq!(punt["params"], json!({}));
    assert!(control_get(&sim, "/control/sessions").await["sessions"].as_array().unwrap().is_empty());
    let response = control_post(&sim, "/control/sessions/no-such-session/punt", json!({})).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn control_can_stop_answering_pings() {
    let sim = start().await;
    let mut client = Client::connect(&sim.ws_url()).await;
    client.login_token(&token(&sim).await).await;
    assert_eq!(control_post(&sim, "/control/pings", json!({"answer": false})).await.status(), StatusCode::NO_CONTENT);
    client.send(json!({"jsonrpc": "2.0", "id": "p1", "method": "telnyx_rtc.ping", "params": {}})).await;
    // Two server pings go by (300 ms apart) without a reply to ours.
    client.server_request("telnyx_rtc.ping").await;
    client.server_request("telnyx_rtc.ping").await;
    assert!(client.backlog.iter().all(|f| f["id"] != "p1"), "{:?}", client.backlog);
    control_post(&sim, "/control/pings", json!({"answer": true})).await;
    let pong = client.request("telnyx_rtc.ping", json!({})).await;
    assert_eq!(pong["result"]["method"], "telnyx_rtc.ping");
}

#[test]
fn help_lists_the_numbers_directory() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_softphone-sim")).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for listing in softphone_sim::signaling::DIRECTORY {
        let line = help.lines().find(|l| l.contains(listing.number)).unwrap_or_else(|| panic!("{help}"));
        assert!(line.contains(listing.behaviour.word()), "{line}");
    }
    for word in ["tone", "echo", "busy", "no-answer", "reject", "early-media", "hangup", "unallocated"] {
        assert!(help.contains(word), "{word}: {help}");
    }
}

#[tokio::test]
async fn shutdown_closes_websockets_as_going_away() {
    let sim = start().await;
    let mut client = Client::connect(&sim.ws_url()).await;
    client.login_token(&token(&sim).await).await;
    tokio::time::timeout(Duration::from_secs(10), sim.shutdown()).await.expect("shutdown in time");
    loop {
        match client.read().await {
            Some(Ok(_)) => continue,
            Some(Err(end)) => {
                assert!(end.contains("Away"), "{end}");
                break;
            }
            None => panic!("the socket ended without a close frame"),
        }
    }
}

/// What Telnyx's FreeSWITCH would act on: an SDP whose connection address is 0.0.0.0 holds the
/// call (the far end stops sending, and it is a finding); one with no codec in common fails
/// the call with INCOMPATIBLE_DESTINATION 88 / 488.
#[tokio::test]
async fn a_zero_connection_address_holds_the_far_end_and_no_common_codec_fails_the_call() {
    let sim = start().await;
    let mut client = Client::connect(&sim.ws_url()).await;
    let (sessid, _, _) = client.login_token(&token(&sim).await).await;

    let (media, offer) = client_offer(Playback::Tone { hz: 1000.0 });
    assert!(!offer.contains("c=IN IP4 0.0.0.0"), "the simulator's own SDP names its address: {offer}");
    let zeroed: String = offer
        .lines()
        .map(|line| if line.starts_with("c=IN IP4 ") { "c=IN IP4 0.0.0.0" } else { line })
        .map(|line| format!("{line}\r\n"))
        .collect();
    client.invite(&sessid, "call-zero", TONE, &zeroed).await;
    let answer = client.server_request("telnyx_rtc.answer").await;
    media.accept_answer(answer["params"]["sdp"].as_str().unwrap()).unwrap();
    // The far end hears the client, but sends nothing back: it is on hold.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let heard = control_call(&sim, "call-zero").await["heard"].clone();
        if heard["dominant_hz"].as_f64().is_some_and(|hz| (hz - 1000.0).abs() < 50.0) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the far end never heard the client: {heard}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(media.heard().packets_received, 0, "nothing was sent to a client that said 0.0.0.0");
    let findings = control_get(&sim, "/control/findings").await;
    assert_eq!(findings["total"], 1, "{findings}");
    assert!(findings["findings"][0]["what"].as_str().unwrap().contains("RFC 2543 hold"), "{findings}");

    // An offer of G722 only: the call is created, then fails as FreeSWITCH's "NO CODECS".
    let (_g722, offer) = client_offer(Playback::Silence);
    let mut g722_only: String = offer
        .lines()
        .filter(|line| {
            !line.starts_with("a=rtpmap:") && !line.starts_with("a=fmtp:") && !line.starts_with("a=rtcp-fb:")
        })
        .map(|line| match line.strip_prefix("m=audio ") {
            Some(rest) => format!("m=audio {} UDP/TLS/RTP/SAVPF 9\r\n", rest.split(' ').next().unwrap()),
            None => format!("{line}\r\n"),
        })
        .collect();
    g722_only.push_str("a=rtpmap:9 G722/8000\r\n");
    let created = client.invite(&sessid, "call-g722", TONE, &g722_only).await;
    assert_eq!(created["result"]["message"], "CALL CREATED", "{created}");
    let bye = client.server_request("telnyx_rtc.bye").await;
    assert_eq!(
        (&bye["params"]["cause"], &bye["params"]["causeCode"], &bye["params"]["sipCode"]),
        (&json!("INCOMPATIBLE_DESTINATION"), &json!(88), &json!(488)),
        "{bye}"
    );
    let findings = control_get(&sim, "/control/findings").await;
    assert!(findings["findings"][1]["what"].as_str().unwrap().contains("no codec in common"), "{findings}");
}

/// Telnyx keeps a held call held across a recovery: an attach that does not say
/// wasHeldBeforeRecovery is a finding (the client would show the call active), and the call
/// stays held either way.
#[tokio::test]
async fn an_attach_that_forgets_the_hold_is_a_finding_and_the_call_stays_held() {
    let sim = start().await;
    let login_token = token(&sim).await;
    let mut client = Client::connect(&sim.ws_url()).await;
    let (sessid, voice_sdk_id, _) = client.login_token(&login_token).await;
    let (media, offer) = client_offer(Playback::Silence);
    client.invite(&sessid, "call-held", TONE, &offer).await;
    let answer = client.server_request("telnyx_rtc.answer").await;
    media.accept_answer(answer["params"]["sdp"].as_str().unwrap()).unwrap();
    client.call_request("telnyx_rtc.modify", "call-held", json!({"action": "hold"})).await;

    for remembers in [false, true] {
        control_post(&sim, "/control/sessions/all/drop", json!({})).await;
        while let Some(Ok(_)) = client.read().await {}
        client = Client::connect(&format!("{}?voice_sdk_id={voice_sdk_id}", sim.ws_url())).await;
        client.login(json!({"login_token": login_token, "reconnection": true, "sessid": sessid})).await;
        let attach = client.server_request("telnyx_rtc.attach").await;
        let (_recovered, answer_sdp) =
            MediaSession::answer(attach["params"]["sdp"].as_str().unwrap(), Playback::Silence).unwrap();
        let mut dialog = json!({"callID": "call-held", "attach": true, "recoveredCallId": "call-held"});
        if remembers {
            dialog["wasHeldBeforeRecovery"] = json!(true);
        }
        let attached = client
            .call_request("telnyx_rtc.attach", "call-held", json!({"sdp": answer_sdp, "dialogParams": dialog}))
            .await;
        assert_eq!(attached["result"]["message"], "CALL ATTACHED", "{attached}");
        assert_eq!(control_call(&sim, "call-held").await["state"], "held", "Telnyx keeps the hold");
        let findings = control_get(&sim, "/control/findings").await;
        assert_eq!(findings["total"], 1, "only the attach that forgot the hold: {findings}");
        assert_eq!(findings["findings"][0]["path"], "params.dialogParams.wasHeldBeforeRecovery");
    }
}

/// Strict mode checks every client frame against the real SDK's recorded shapes.
#[tokio::test]
async fn strict_mode_lists_frames_the_sdk_would_not_send() {
    let sim = start().await;
    let response = control_post(&sim, "/control/strict", json!({"enabled": true})).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let mut client = Client::connect(&sim.ws_url()).await;
    // The test client's login leaves out what the SDK always sends (User-Agent, loginParams...).
    client.login_token(&token(&sim).await).await;
    let findings = control_get(&sim, "/control/findings").await;
    assert_eq!(findings["strict"], true);
    let paths: Vec<&str> = findings["findings"].as_array().unwrap().iter().filter_map(|f| f["path"].as_str()).collect();
    assert!(paths.contains(&"params.User-Agent") && paths.contains(&"params.loginParams"), "{findings}");
    client.request("telnyx_rtc.nonsense", json!({})).await;
    let findings = control_get(&sim, "/control/findings").await;
    let last = findings["findings"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "telnyx_rtc.nonsense", "{findings}");

    let cleared = http().delete(format!("{}/control/findings", sim.base_url())).send().await.unwrap();
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    assert_eq!(control_get(&sim, "/control/findings").await["total"], 0);
    let shapes = control_get(&sim, "/control/frame-shapes").await;
    assert!(shapes["kinds"]["login"]["frames"].as_u64() >= Some(1), "every frame's shape is recorded: {shapes}");
}

#[tokio::test]
async fn a_number_scripted_through_the_control_api_does_what_its_script_says() {
    let sim = start().await;
    let mut client = Client::connect(&sim.ws_url()).await;
    let (sessid, _, _) = client.login_token(&token(&sim).await).await;
    let (_media, offer) = client_offer(Playback::Silence);
    let script = |number: &str, behaviour: &str| {
        http()
            .put(format!("{}/control/numbers/{number}", sim.base_url()))
            .json(&json!({ "behaviour": behaviour }))
            .send()
    };
    // A lead's number, which is no directory number: busy from now on.
    let scripted = script("+1 212-555-0131", "busy").await.expect("PUT");
    assert_eq!(scripted.status(), 204);
    let unknown = script("+12125550131", "voicemail-please").await.expect("PUT");
    assert_eq!(unknown.status(), 422);
    let said: Value = unknown.json().await.expect("JSON");
    assert!(said["error"].as_str().unwrap_or_default().contains("no-answer"), "the words it knows: {said}");

    let hang_up_cause = async |client: &mut Client, call_id: &str| {
        let created = client.invite(&sessid, call_id, "+12125550131", &offer).await;
        assert_eq!(created["result"]["message"], "CALL CREATED", "{created}");
        let bye = client.server_request("telnyx_rtc.bye").await;
        bye["params"]["cause"].as_str().unwrap_or_default().to_owned()
    };
    assert_eq!(hang_up_cause(&mut client, "scripted-1").await, "USER_BUSY");
    assert_eq!(control_call(&sim, "scripted-1").await["behaviour"], "busy");

    let cleared = http().delete(format!("{}/control/numbers", sim.base_url())).send().await.expect("DELETE");
    assert_eq!(cleared.status(), 204);
    assert_eq!(hang_up_cause(&mut client, "scripted-2").await, "UNALLOCATED_NUMBER", "back to the directory");
}
