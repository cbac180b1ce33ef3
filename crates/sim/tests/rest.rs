//! The simulator's REST and control API, over real HTTP against a simulator on 127.0.0.1:0.

use std::time::{Duration, Instant, SystemTime};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use softphone_sim::{DEFAULT_API_KEY, RunningSimulator, Simulator, SimulatorConfig, TokenRejection};

async fn start(token_ttl: Duration) -> RunningSimulator {
    Simulator::start(SimulatorConfig { token_ttl, ..SimulatorConfig::default() })
        .await
        .expect("simulator starts on 127.0.0.1:0")
}

fn client() -> Client {
    Client::builder().timeout(Duration::from_secs(10)).build().unwrap()
}

async fn create_credential(sim: &RunningSimulator, http: &Client) -> Value {
    let response = http
        .post(format!("{}/v2/telephony_credentials", sim.base_url()))
        .bearer_auth(DEFAULT_API_KEY)
        .json(&json!({"connection_id": "1567510696929005999", "name": "agent-7", "tag": "sim"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["data"].clone()
}

async fn state(sim: &RunningSimulator, http: &Client) -> Value {
    http.get(format!("{}/control/state", sim.base_url())).send().await.unwrap().json().await.unwrap()
}

async fn push_fault(sim: &RunningSimulator, http: &Client, fault: Value) {
    let response = http.post(format!("{}/control/faults", sim.base_url())).json(&fault).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT, "{fault}");
}

fn first_error(body: &Value) -> &Value {
    &body["errors"][0]
}

#[tokio::test]
async fn credential_then_token_like_telnyx() {
    let sim = start(Duration::from_secs(3600)).await;
    assert!(sim.base_url().starts_with("http://127.0.0.1:"));
    let http = client();
    let credential = create_credential(&sim, &http).await;
    assert_eq!(credential["record_type"], "credential");
    assert_eq!(credential["connection_id"], "1567510696929005999");
    assert_eq!(credential["name"], "agent-7");
    assert_eq!(credential["expired"], false);
    assert!(credential["sip_username"].as_str().unwrap().starts_with("gencred"));
    assert_eq!(credential["sip_password"].as_str().unwrap().len(), 32);
    assert!(credential["created_at"].as_str().unwrap().ends_with('Z'));
    let id = credential["id"].as_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID");

    let response = http
        .post(format!("{}/v2/telephony_credentials/{id}/token", sim.base_url()))
        .bearer_auth(DEFAULT_API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let jwt = response.text().await.unwrap();
    assert_eq!(jwt.split('.').count(), 3);

    let claims = sim.state().verify_login_token(&jwt).expect("minted here");
    assert_eq!(claims.sub, id);
    assert_eq!(claims.iss, "telnyx_telephony");
    assert_eq!(claims.exp - claims.iat, 3600);
    assert!(matches!(
        sim.state().verify_login_token_at(&jwt, SystemTime::now() + Duration::from_secs(3601)),
        Err(TokenRejection::Expired { .. })
    ));

    // The SIP credential works for a signaling login later.
    let sip_username = credential["sip_username"].as_str().unwrap();
    let sip_password = credential["sip_password"].as_str().unwrap();
    assert_eq!(sim.state().check_sip_login(sip_username, sip_password).as_deref(), Some(id));

    // The control API lists it, without the password, and counts the token.
    let state = state(&sim, &http).await;
    assert_eq!(state["credentials"][0]["id"], id);
    assert_eq!(state["credentials"][0]["tokens_minted"], 1);
    assert!(!state.to_string().contains(sip_password));
    assert!(!state.to_string().contains(DEFAULT_API_KEY));
    assert_eq!(state["requests_total"], 2);
    assert_eq!(state["requests"][1]["status"], 201);

    // The cheap authenticated GET the client uses to validate a key.
    let list: Value = http
        .get(format!("{}/v2/telephony_credentials?page[size]=1", sim.base_url()))
        .bearer_auth(DEFAULT_API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["meta"]["total_results"], 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn missing_or_unknown_key_is_401_10009() {
    let sim = start(Duration::from_secs(60)).await;
    let http = client();
    let url = format!("{}/v2/telephony_credentials", sim.base_url());
    for request in [
        http.post(&url).json(&json!({"connection_id": "1"})),
        http.post(&url).bearer_auth("KEY_wrong").json(&json!({"connection_id": "1"})),
        http.get(&url).header("authorization", "Basic abc"),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.unwrap();
        assert_eq!(first_error(&body)["code"], "10009");
        assert_eq!(first_error(&body)["title"], "Authentication failed");
    }
    let state = state(&sim, &http).await;
    assert!(state["credentials"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn unknown_credential_is_404_10005() {
    let sim = start(Duration::from_secs(60)).await;
    let http = client();
    for path in ["/v2/telephony_credentials/00000000-0000-0000-0000-000000000000/token", "/v2/no_such_thing"] {
        let response =
            http.post(format!("{}{path}", sim.base_url())).bearer_auth(DEFAULT_API_KEY).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(first_error(&body)["code"], "10005");
    }
}

#[tokio::test]
async fn bad_bodies_are_422_and_huge_ones_413_and_the_simulator_survives() {
    let sim = start(Duration::from_secs(60)).await;
    let http = client();
    let url = format!("{}/v2/telephony_credentials", sim.base_url());
    let cases: [(&str, &str, &str); 5] = [
        ("{}", "10004", "missing connection_id"),
        (r#"{"connection_id": ""}"#, "10004", "empty connection_id"),
        (r#"{"connection_id": null}"#, "10004", "null connection_id"),
        (r#"{"connection_id": "#, "10015", "truncated JSON"),
        (r#"[1,2,3]"#, "10015", "not an object"),
    ];
    for (body, code, why) in cases {
        let response = http
            .post(&url)
            .bearer_auth(DEFAULT_API_KEY)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{why}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(first_error(&body)["code"], code, "{why}");
    }
    let body: Value =
        http.post(&url).bearer_auth(DEFAULT_API_KEY).body("{}").send().await.unwrap().json().await.unwrap();
    assert_eq!(first_error(&body)["source"]["pointer"], "/connection_id");

    let huge = format!(r#"{{"connection_id":"1","name":"{}"}}"#, "x".repeat(100 * 1024));
    let response = http.post(&url).bearer_auth(DEFAULT_API_KEY).body(huge).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // Still serving.
    create_credential(&sim, &http).await;
}

#[tokio::test]
async fn injected_429_carries_retry_after_then_requests_pass() {
    let sim = start(Duration::from_secs(60)).await;
    let http = client();
    push_fault(&sim, &http, json!({"status": 429, "count": 2, "retry_after_secs": 7})).await;
    let url = format!("{}/v2/telephony_credentials?page[size]=1", sim.base_url());
    for _ in 0..2 {
        let response = http.get(&url).bearer_auth(DEFAULT_API_KEY).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "7");
        let body: Value = response.json().await.unwrap();
        assert_eq!(first_error(&body)["code"], "10011");
    }
    let response = http.get(&url).bearer_auth(DEFAULT_API_KEY).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    push_fault(&sim, &http, json!({"status": 503})).await;
    let response = http.get(&url).bearer_auth(DEFAULT_API_KEY).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(first_error(&body)["code"], "10007");

    let statuses: Vec<Value> =
        state(&sim, &http).await["requests"].as_array().unwrap().iter().map(|r| r["status"].clone()).collect();
    assert_eq!(statuses, [json!(429), json!(429), json!(200), json!(503)]);
}

#[tokio::test]
async fn injected_delay_slows_the_next_request_only() {
    let sim = start(Duration::from_secs(60)).await;
    let http = client();
    push_fault(&sim, &http, json!({"delay_ms": 400})).await;
    let url = format!("{}/v2/telephony_credentials", sim.base_url());
    let started = Instant::now();
    let slow = http.get(&url).bearer_auth(DEFAULT_API_KEY).send().await.unwrap();
    assert_eq!(slow.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(400));
    let started = Instant::now();
    http.get(&url).bearer_auth(DEFAULT_API_KEY).send().await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(400));
}

#[tokio::test]
async fn control_api_refuses_nonsense_and_resets() {
    let sim = start(Duration::from_secs(60)).await;
    let http = client();
    let faults = format!("{}/control/faults", sim.base_url());
    for body in [json!({}), json!({"status": 200}), json!({"status": 500, "count": 0}), json!({"colour": "red"})] {
        let response = http.post(&faults).json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let response =
        http.post(&faults).header("content-type", "application/json").body("{not json").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    push_fault(&sim, &http, json!({"status": 500, "count": 5})).await;
    assert_eq!(state(&sim, &http).await["faults"][0]["remaining"], 5);
    let response = http.delete(&faults).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    create_credential(&sim, &http).await;

    let response = http.post(format!("{}/control/reset", sim.base_url())).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let state = state(&sim, &http).await;
    assert_eq!(state["requests_total"], 0);
    assert_eq!(state["credentials"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn shutdown_frees_the_port() {
    let sim = start(Duration::from_secs(60)).await;
    let addr = sim.local_addr();
    let http = client();
    create_credential(&sim, &http).await;
    sim.shutdown().await;
    let refused = http.get(format!("http://{addr}/control/state")).send().await;
    assert!(refused.is_err(), "nothing listens after shutdown");
}
