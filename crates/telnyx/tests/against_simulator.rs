//! The Telnyx client against the real simulator, started in-process on 127.0.0.1:0.

use std::time::{Duration, Instant, SystemTime};

use softphone_core::secret::Secret;
use softphone_sim::{FaultSpec, RunningSimulator, Simulator, SimulatorConfig};
use softphone_telnyx::{
    CredentialId, LoginTokens, RetryPolicy, TelnyxApi, TelnyxConfig, TelnyxError, TelnyxErrorCode, TokenRequest,
};

const KEY: &str = "KEY_sim_test_key";
const WRONG_KEY: &str = "KEY_sim_wrong_key";
const CONNECTION: &str = "1567510696929005999";

async fn simulator(token_ttl: Duration) -> RunningSimulator {
    Simulator::start(SimulatorConfig { api_keys: vec![KEY.to_owned()], token_ttl, ..SimulatorConfig::default() })
        .await
        .expect("simulator starts")
}

fn config(base_url: String) -> TelnyxConfig {
    TelnyxConfig {
        base_url,
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            max_retry_after: Duration::from_millis(200),
        },
    }
}

fn api(sim: &RunningSimulator) -> TelnyxApi {
    TelnyxApi::new(config(sim.base_url())).unwrap()
}

fn fault(status: Option<u16>, delay_ms: Option<u64>, count: u32, retry_after_secs: u64) -> FaultSpec {
    FaultSpec { status, delay_ms, count: Some(count), retry_after_secs: Some(retry_after_secs), ..FaultSpec::default() }
}

fn statuses(sim: &RunningSimulator) -> Vec<Option<u16>> {
    sim.state().snapshot().requests.iter().map(|r| r.status).collect()
}

#[tokio::test]
async fn create_credential_and_mint_a_token_the_simulator_accepts() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let api = api(&sim);
    let key = Secret::new(KEY);

    api.validate_api_key(&key).await.expect("valid key");
    let id = api.create_telephony_credential(&key, CONNECTION).await.unwrap();
    assert_eq!(sim.state().snapshot().credentials[0].id, id.as_str());
    assert_eq!(sim.state().snapshot().credentials[0].connection_id, CONNECTION);

    let token = api.mint_login_token(&key, &id).await.unwrap();
    let claims = sim.state().verify_login_token(token.jwt().expose()).expect("the simulator minted it");
    assert_eq!(claims.sub, id.as_str());
    assert_eq!(token.exp_unix(), claims.exp);
    assert_eq!(statuses(&sim), [Some(200), Some(201), Some(201)]);
    sim.shutdown().await;
}

#[tokio::test]
async fn wrong_key_is_rejected_at_once_without_retries() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let api = api(&sim);
    let wrong = Secret::new(WRONG_KEY);

    let error = api.create_telephony_credential(&wrong, CONNECTION).await.unwrap_err();
    assert_eq!(error, TelnyxError::AuthRejected { status: 401 });
    assert_eq!(error.code(), TelnyxErrorCode::TelnyxAuthRejected);
    assert_eq!(error.to_string(), "Telnyx rejected the API key (401). Check it in Mission Control > Keys.");
    assert_eq!(sim.state().snapshot().requests_total, 1, "exactly one request");

    let error = api.validate_api_key(&wrong).await.unwrap_err();
    assert_eq!(error.code(), TelnyxErrorCode::TelnyxAuthRejected);
    assert_eq!(sim.state().snapshot().requests_total, 2);

    // A key that cannot even be sent is refused before any request.
    let error = api.validate_api_key(&Secret::new("KEY with spaces")).await.unwrap_err();
    assert_eq!(error.code(), TelnyxErrorCode::InvalidArgument);
    assert_eq!(sim.state().snapshot().requests_total, 2);
}

#[tokio::test]
async fn rate_limited_twice_then_succeeds() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let api = api(&sim);
    sim.state().push_fault(&fault(Some(429), None, 2, 0)).unwrap();
    api.create_telephony_credential(&Secret::new(KEY), CONNECTION).await.expect("retried past the 429s");
    assert_eq!(statuses(&sim), [Some(429), Some(429), Some(201)]);
    assert_eq!(sim.state().snapshot().credentials.len(), 1);
}

#[tokio::test]
async fn retry_after_is_honoured_up_to_the_cap() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let api = api(&sim);
    // Asks for 30 s; the client's cap is 200 ms.
    sim.state().push_fault(&fault(Some(429), None, 2, 30)).unwrap();
    let started = Instant::now();
    api.validate_api_key(&Secret::new(KEY)).await.unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(400), "waited {elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "waited {elapsed:?}");
}

#[tokio::test]
async fn rate_limited_forever_is_unavailable() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let api = api(&sim);
    sim.state().push_fault(&fault(Some(429), None, 1000, 0)).unwrap();
    let error = api.validate_api_key(&Secret::new(KEY)).await.unwrap_err();
    assert_eq!(error, TelnyxError::Unavailable { status: Some(429), attempts: 4 });
    assert_eq!(sim.state().snapshot().requests_total, 4);
}

#[tokio::test]
async fn server_errors_forever_give_up_after_the_bounded_attempts() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let api = api(&sim);
    sim.state().push_fault(&fault(Some(500), None, 1000, 0)).unwrap();
    let error = api.create_telephony_credential(&Secret::new(KEY), CONNECTION).await.unwrap_err();
    assert_eq!(error, TelnyxError::Unavailable { status: Some(500), attempts: 4 });
    assert_eq!(error.code(), TelnyxErrorCode::TelnyxUnavailable);
    assert_eq!(sim.state().snapshot().requests_total, 4);
    assert!(sim.state().snapshot().credentials.is_empty());
}

#[tokio::test]
async fn a_503_then_success_is_retried() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let api = api(&sim);
    sim.state().push_fault(&fault(Some(503), None, 1, 0)).unwrap();
    api.validate_api_key(&Secret::new(KEY)).await.unwrap();
    assert_eq!(statuses(&sim), [Some(503), Some(200)]);
}

#[tokio::test]
async fn slow_answers_time_out_after_the_bounded_attempts() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let mut config = config(sim.base_url());
    config.request_timeout = Duration::from_millis(300);
    config.retry.max_attempts = 2;
    let api = TelnyxApi::new(config).unwrap();
    sim.state().push_fault(&fault(None, Some(3_000), 10, 0)).unwrap();
    let started = Instant::now();
    let error = api.validate_api_key(&Secret::new(KEY)).await.unwrap_err();
    assert_eq!(error, TelnyxError::TimedOut { timeout: Duration::from_millis(300), attempts: 2 });
    assert_eq!(error.code(), TelnyxErrorCode::TelnyxTimedOut);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(sim.state().snapshot().requests_total, 2);
}

#[tokio::test]
async fn nothing_listening_is_offline() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let api = TelnyxApi::new(config(format!("http://127.0.0.1:{port}"))).unwrap();
    let error = api.validate_api_key(&Secret::new(KEY)).await.unwrap_err();
    assert_eq!(error, TelnyxError::Offline { host: format!("127.0.0.1:{port}") });
    assert_eq!(error.code(), TelnyxErrorCode::Offline);
}

#[tokio::test]
async fn not_found_and_rejected_are_not_retried() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let api = api(&sim);
    let key = Secret::new(KEY);
    let error = api.mint_login_token(&key, &CredentialId::new("no-such-credential")).await.unwrap_err();
    assert_eq!(error.code(), TelnyxErrorCode::TelnyxNotFound);
    assert_eq!(sim.state().snapshot().requests_total, 1);

    sim.state().push_fault(&fault(Some(422), None, 1, 0)).unwrap();
    let error = api.create_telephony_credential(&key, CONNECTION).await.unwrap_err();
    assert_eq!(error, TelnyxError::Rejected { status: 422, detail: "Injected fault.".into() });
    assert_eq!(sim.state().snapshot().requests_total, 2);
}

#[tokio::test]
async fn login_token_is_cached_and_reminted_near_expiry() {
    // Tokens live 10 minutes; the cache refreshes in the last 5.
    let sim = simulator(Duration::from_secs(600)).await;
    let mut tokens = LoginTokens::new(api(&sim));
    let key = Secret::new(KEY);
    let now = SystemTime::now();

    let first = tokens
        .issue_login_token(TokenRequest { api_key: &key, connection_id: CONNECTION, credential_id: None }, now)
        .await
        .unwrap();
    let id = first.new_credential_id.clone().expect("first use creates the credential for the caller to store");
    assert!(!first.from_cache);
    assert_eq!(first.credential_id, id);

    let request = TokenRequest { api_key: &key, connection_id: CONNECTION, credential_id: Some(&id) };
    let again = tokens.issue_login_token(request, now + Duration::from_secs(290)).await.unwrap();
    assert!(again.from_cache);
    assert_eq!(again.new_credential_id, None);
    assert_eq!(again.token.jwt(), first.token.jwt());
    assert_eq!(sim.state().snapshot().credentials[0].tokens_minted, 1);
    let requests_before = sim.state().snapshot().requests_total;

    let refreshed = tokens.issue_login_token(request, now + Duration::from_secs(310)).await.unwrap();
    assert!(!refreshed.from_cache);
    assert_eq!(refreshed.credential_id, id);
    assert_eq!(refreshed.new_credential_id, None);
    assert_ne!(refreshed.token.jwt(), first.token.jwt());
    assert_eq!(sim.state().snapshot().credentials.len(), 1);
    assert_eq!(sim.state().snapshot().credentials[0].tokens_minted, 2);
    assert_eq!(sim.state().snapshot().requests_total, requests_before + 1, "one mint, no new credential");
    sim.state().verify_login_token(refreshed.token.jwt().expose()).unwrap();
}

#[tokio::test]
async fn a_credential_deleted_at_telnyx_is_replaced() {
    let sim = simulator(Duration::from_secs(600)).await;
    let mut tokens = LoginTokens::new(api(&sim));
    let key = Secret::new(KEY);
    let gone = CredentialId::new("6a0c8c5e-0000-4000-8000-000000000000");
    let issued = tokens
        .issue_login_token(
            TokenRequest { api_key: &key, connection_id: CONNECTION, credential_id: Some(&gone) },
            SystemTime::now(),
        )
        .await
        .unwrap();
    let new_id = issued.new_credential_id.expect("a replacement to store");
    assert_ne!(new_id, gone);
    assert_eq!(sim.state().snapshot().credentials[0].id, new_id.as_str());
    assert_eq!(statuses(&sim), [Some(404), Some(201), Some(201)]);
}

#[tokio::test]
async fn nothing_prints_the_key_or_the_jwt() {
    let sim = simulator(Duration::from_secs(600)).await;
    let api = api(&sim);
    let mut tokens = LoginTokens::new(api.clone());
    let key = Secret::new(KEY);
    let issued = tokens
        .issue_login_token(
            TokenRequest { api_key: &key, connection_id: CONNECTION, credential_id: None },
            SystemTime::now(),
        )
        .await
        .unwrap();
    let jwt = issued.token.jwt().expose().to_owned();
    let errors = [
        api.validate_api_key(&Secret::new(WRONG_KEY)).await.unwrap_err(),
        api.mint_login_token(&Secret::new(WRONG_KEY), &issued.credential_id).await.unwrap_err(),
    ];
    let shown = format!("{api:?} {tokens:?} {issued:?} {:?} {errors:?} {} {}", issued.token, errors[0], errors[1]);
    for secret in [KEY, WRONG_KEY, jwt.as_str()] {
        assert!(!shown.contains(secret), "{secret} leaked into {shown}");
    }
    assert!(shown.contains("<redacted>"));
}

#[tokio::test]
async fn the_accounts_phone_numbers_are_listed_for_local_presence() {
    let sim = simulator(Duration::from_secs(3600)).await;
    let api = api(&sim);
    let numbers = api.list_phone_numbers(&Secret::new(KEY)).await.expect("listed");
    assert_eq!(numbers, softphone_sim::rest::ACCOUNT_NUMBERS);
    let paths: Vec<String> = sim.state().snapshot().requests.iter().map(|request| request.path.clone()).collect();
    assert_eq!(paths, ["/v2/phone_numbers"], "one page of 250 holds them all");

    let error = api.list_phone_numbers(&Secret::new(WRONG_KEY)).await.unwrap_err();
    assert_eq!(error.code(), TelnyxErrorCode::TelnyxAuthRejected);
    sim.shutdown().await;
}
