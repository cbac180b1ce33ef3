//! The HTTP side: one `reqwest` client, bounded retries, and the three calls the app makes.

use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};
use softphone_core::secret::Secret;

use crate::error::{MAX_DETAIL_CHARS, TelnyxError};
use crate::token::{CredentialId, LoginToken};

/// Telnyx's REST API.
pub const TELNYX_BASE_URL: &str = "https://api.telnyx.com";

/// Most pages of 250 read by [`TelnyxApi::list_phone_numbers`] (10,000 numbers).
pub const PHONE_NUMBER_PAGES_MAX: u32 = 40;

/// When and how often a failed request is tried again.
///
/// Retried: 429 (after `Retry-After` in seconds, capped at `max_retry_after`; an HTTP-date there
/// falls back to the backoff), 5xx, timeouts and connection failures. Never retried: 401, 403,
/// 404, 422 and other 4xx: the same request would fail again. Creating a credential is retried
/// too; a 5xx after Telnyx created it leaves an unused credential behind, which is harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Requests sent at most, the first included (at least 1).
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubles for each further one.
    pub base_delay: Duration,
    /// Upper bound of the exponential backoff.
    pub max_delay: Duration,
    /// Upper bound of a wait asked for by `Retry-After`.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, 250 ms doubling up to 4 s, `Retry-After` honoured up to 20 s.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(4),
            max_retry_after: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// Wait before attempt `failed + 1` after `failed` failures: `base_delay * 2^(failed-1)`,
    /// capped at `max_delay`, with "equal jitter" (a random point in its upper half) so clients
    /// that failed together do not retry together.
    pub fn backoff(&self, failed: u32) -> Duration {
        let exponent = failed.saturating_sub(1).min(16);
        let full = self.base_delay.saturating_mul(1 << exponent).min(self.max_delay);
        full / 2 + full.mul_f64(fastrand::f64() / 2.0)
    }
}

/// How to reach Telnyx.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelnyxConfig {
    /// `https://api.telnyx.com` for real; the simulator's `http://127.0.0.1:PORT` in tests and
    /// demo mode. No trailing path.
    pub base_url: String,
    /// Limit for establishing the TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Limit for one whole request, connection to last byte of the body.
    pub request_timeout: Duration,
    /// Retries of failed requests.
    pub retry: RetryPolicy,
}

impl Default for TelnyxConfig {
    /// Telnyx itself, 5 s to connect, 15 s per request, [`RetryPolicy::default`].
    fn default() -> Self {
        Self {
            base_url: TELNYX_BASE_URL.to_owned(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            retry: RetryPolicy::default(),
        }
    }
}

/// A client of Telnyx's REST API. Cheap to clone (shares one connection pool).
///
/// Holds no secret: the API key is passed to each call, so `Debug` shows configuration only.
#[derive(Debug, Clone)]
pub struct TelnyxApi {
    pub(crate) http: reqwest::Client,
    base_url: Url,
    config: TelnyxConfig,
}

/// A successful answer, read in full.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
}

/// What one failed attempt means for the next.
enum Failure {
    /// Worth another try, after at least `wait` (from `Retry-After`) if given.
    Retry { last: TelnyxError, wait: Option<Duration> },
    /// Final.
    Fatal(TelnyxError),
}

impl TelnyxApi {
    /// A client for `config`. Fails with [`TelnyxError::InvalidArgument`] on a base URL that is
    /// not an absolute http(s) URL.
    pub fn new(config: TelnyxConfig) -> Result<Self, TelnyxError> {
        let base_url = Url::parse(&config.base_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or(TelnyxError::InvalidArgument { reason: "The Telnyx base URL is not an absolute http(s) URL." })?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(concat!("softphone/", env!("CARGO_PKG_VERSION")))
            .use_preconfigured_tls((*crate::tls::client_config()).clone())
            .build()
            .map_err(|_| TelnyxError::InvalidArgument {
                reason: "The HTTP client could not be set up (TLS initialisation failed).",
            })?;
        Ok(Self { http, base_url, config })
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &TelnyxConfig {
        &self.config
    }

    /// Creates a telephony credential on `connection_id` (a SIP connection / credential
    /// connection of the account) and returns its id.
    pub async fn create_telephony_credential(
        &self,
        api_key: &Secret,
        connection_id: &str,
    ) -> Result<CredentialId, TelnyxError> {
        if connection_id.trim().is_empty() {
            return Err(TelnyxError::InvalidArgument {
                reason: "The connection id is empty. Copy it from Mission Control > Voice > SIP Connections.",
            });
        }
        let url = self.url(&["v2", "telephony_credentials"]);
        let body = json!({ "connection_id": connection_id, "name": "softphone" });
        let reply = self.send(api_key, Method::POST, url, Some(&body), None, "telephony credential").await?;
        let value: Value = serde_json::from_slice(&reply.body)
            .map_err(|_| TelnyxError::InvalidResponse { reason: "the credential answer is not JSON" })?;
        let id = value["data"]["id"]
            .as_str()
            .filter(|id| !id.is_empty())
            .ok_or(TelnyxError::InvalidResponse { reason: "the credential answer has no data.id" })?;
        // The id is kept in the keychain, never in the log.
        tracing::info!(status = reply.status.as_u16(), "telephony credential created");
        Ok(CredentialId::new(id))
    }

    /// Mints a login token for `credential_id` (`POST .../{id}/token`, answered with the bare
    /// JWT as text/plain) and reads its expiry.
    pub async fn mint_login_token(
        &self,
        api_key: &Secret,
        credential_id: &CredentialId,
    ) -> Result<LoginToken, TelnyxError> {
        let url = self.url(&["v2", "telephony_credentials", credential_id.as_str(), "token"]);
        let reply = self
            .send(
                api_key,
                Method::POST,
                url,
                None,
                Some(HeaderValue::from_static("text/plain")),
                "telephony credential",
            )
            .await?;
        let jwt = String::from_utf8(reply.body)
            .map_err(|_| TelnyxError::InvalidResponse { reason: "the login token is not UTF-8 text" })?;
        let token = LoginToken::from_jwt(Secret::new(jwt.trim().to_owned()))?;
        tracing::info!(exp = token.exp_unix(), "login token minted");
        Ok(token)
    }

    /// Checks the API key with the cheapest authenticated call
    /// (`GET /v2/telephony_credentials?page[size]=1`), for the "save credentials" flow.
    pub async fn validate_api_key(&self, api_key: &Secret) -> Result<(), TelnyxError> {
        let mut url = self.url(&["v2", "telephony_credentials"]);
        url.query_pairs_mut().append_pair("page[size]", "1");
        self.send(api_key, Method::GET, url, None, None, "endpoint").await?;
        Ok(())
    }

    /// The account's phone numbers, E.164, in the order Telnyx lists them (`GET /v2/phone_numbers`,
    /// page by page, active numbers only): the caller-ID numbers an agent may present. Stops after
    /// [`PHONE_NUMBER_PAGES_MAX`] pages of 250.
    pub async fn list_phone_numbers(&self, api_key: &Secret) -> Result<Vec<String>, TelnyxError> {
        let mut numbers = Vec::new();
        for page in 1..=PHONE_NUMBER_PAGES_MAX {
            let mut url = self.url(&["v2", "phone_numbers"]);
            url.query_pairs_mut()
                .append_pair("page[number]", &page.to_string())
                .append_pair("page[size]", "250")
                .append_pair("filter[status]", "active");
            let reply = self.send(api_key, Method::GET, url, None, None, "phone number").await?;
            let value: Value = serde_json::from_slice(&reply.body)
                .map_err(|_| TelnyxError::InvalidResponse { reason: "the phone number list is not JSON" })?;
            let data = value["data"]
                .as_array()
                .ok_or(TelnyxError::InvalidResponse { reason: "the phone number list has no data array" })?;
            numbers.extend(data.iter().filter_map(|entry| entry["phone_number"].as_str()).map(str::to_owned));
            let total_pages = value["meta"]["total_pages"].as_u64().unwrap_or(1);
            if data.is_empty() || u64::from(page) >= total_pages {
                break;
            }
        }
        tracing::info!(count = numbers.len(), "account phone numbers listed");
        Ok(numbers)
    }

    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base_url.clone();
        url.set_query(None);
        url.path_segments_mut().expect("an http(s) URL has path segments").pop_if_empty().extend(segments);
        url
    }

    fn host(&self) -> String {
        match (self.base_url.host_str(), self.base_url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => self.base_url.as_str().to_owned(),
        }
    }

    /// Sends the request with retries; a success is any 2xx, read in full.
    pub(crate) async fn send(
        &self,
        api_key: &Secret,
        method: Method,
        url: Url,
        json_body: Option<&Value>,
        accept: Option<HeaderValue>,
        what: &'static str,
    ) -> Result<Reply, TelnyxError> {
        let key = api_key.expose().trim();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TelnyxError::InvalidArgument {
                reason: "The API key is empty or contains spaces or control characters. Paste it again from Mission Control > Keys.",
            });
        }
        let max_attempts = self.config.retry.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(key)
                .header(ACCEPT, accept.clone().unwrap_or(HeaderValue::from_static("application/json")));
            if let Some(body) = json_body {
                request = request.json(body);
            }
            let failure = match request.send().await {
                Ok(response) => match self.classify(response, attempt, what).await {
                    Ok(reply) => return Ok(reply),
                    Err(failure) => failure,
                },
                Err(error) => self.transport_failure(error, attempt),
            };
            match failure {
                Failure::Fatal(error) => {
                    tracing::warn!(path = %loggable_path(&url), attempt, code = ?error.code(), "Telnyx request failed");
                    return Err(error);
                }
                Failure::Retry { last, .. } if attempt >= max_attempts => {
                    tracing::warn!(path = %loggable_path(&url), attempt, code = ?last.code(), "Telnyx request failed; no attempts left");
                    return Err(last);
                }
                Failure::Retry { last, wait } => {
                    let backoff = self.config.retry.backoff(attempt);
                    let wait = wait.map_or(backoff, |w| w.max(backoff));
                    tracing::info!(path = %loggable_path(&url), attempt, code = ?last.code(), wait_ms = wait.as_millis() as u64, "retrying Telnyx request");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn classify(&self, response: reqwest::Response, attempt: u32, what: &'static str) -> Result<Reply, Failure> {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|secs| Duration::from_secs(secs).min(self.config.retry.max_retry_after));
        let body = match response.bytes().await {
            Ok(body) => body.to_vec(),
            Err(error) => return Err(self.transport_failure(error, attempt)),
        };
        match status.as_u16() {
            200..=299 => Ok(Reply { status, body }),
            401 | 403 => Err(Failure::Fatal(TelnyxError::AuthRejected { status: status.as_u16() })),
            404 => Err(Failure::Fatal(TelnyxError::NotFound { what })),
            429 => Err(Failure::Retry {
                last: TelnyxError::Unavailable { status: Some(429), attempts: attempt },
                wait: retry_after,
            }),
            500..=599 => Err(Failure::Retry {
                last: TelnyxError::Unavailable { status: Some(status.as_u16()), attempts: attempt },
                wait: None,
            }),
            _ => Err(Failure::Fatal(TelnyxError::Rejected { status: status.as_u16(), detail: error_detail(&body) })),
        }
    }

    fn transport_failure(&self, error: reqwest::Error, attempt: u32) -> Failure {
        // Retrying an untrusted certificate cannot help.
        if crate::tls::is_untrusted_certificate(&error) {
            tracing::warn!(host = %self.host(), "Telnyx's certificate is not trusted");
            return Failure::Fatal(TelnyxError::UntrustedCertificate { host: self.host() });
        }
        let last = if error.is_connect() {
            TelnyxError::Offline { host: self.host() }
        } else if error.is_timeout() {
            TelnyxError::TimedOut { timeout: self.config.request_timeout, attempts: attempt }
        } else if error.is_builder() {
            return Failure::Fatal(TelnyxError::InvalidArgument {
                reason: "The request to Telnyx could not be built.",
            });
        } else {
            TelnyxError::Unavailable { status: None, attempts: attempt }
        };
        // reqwest's error text names the URL (no secret in it) and the OS error; logged at debug.
        tracing::debug!(attempt, error = %error.without_url(), "Telnyx transport error");
        Failure::Retry { last, wait: None }
    }
}

/// The request's path for the log, with the telephony credential id (a keychain secret) replaced
/// by `{id}`: `/v2/telephony_credentials/{id}/token`.
fn loggable_path(url: &Url) -> String {
    let mut after_credentials = false;
    let segments: Vec<&str> = url
        .path_segments()
        .into_iter()
        .flatten()
        .map(|segment| {
            let shown = if after_credentials { "{id}" } else { segment };
            after_credentials = segment == "telephony_credentials";
            shown
        })
        .collect();
    format!("/{}", segments.join("/"))
}

/// `errors[0].detail` (or `title`) of a Telnyx v2 error body, cut to [`MAX_DETAIL_CHARS`];
/// a fixed sentence when the body is not that shape.
pub(crate) fn error_detail(body: &[u8]) -> String {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let first = &value["errors"][0];
    let text = first["detail"].as_str().or_else(|| first["title"].as_str()).unwrap_or("no reason given.");
    let mut detail: String = text.chars().filter(|c| !c.is_control()).take(MAX_DETAIL_CHARS).collect();
    if !detail.ends_with('.') {
        detail.push('.');
    }
    detail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_within_bounds() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            max_retry_after: Duration::from_secs(5),
        };
        for _ in 0..50 {
            let first = policy.backoff(1);
            assert!((Duration::from_millis(50)..=Duration::from_millis(100)).contains(&first));
            let third = policy.backoff(3);
            assert!((Duration::from_millis(200)..=Duration::from_millis(400)).contains(&third));
            let late = policy.backoff(30);
            assert!((Duration::from_millis(500)..=Duration::from_millis(1000)).contains(&late));
        }
    }

    #[test]
    fn detail_comes_from_telnyx_error_body() {
        let body = br#"{"errors":[{"code":"10015","title":"Bad Request","detail":"connection_id is invalid"}]}"#;
        assert_eq!(error_detail(body), "connection_id is invalid.");
        assert_eq!(error_detail(b"<html>"), "no reason given.");
        assert_eq!(
            error_detail(&format!(r#"{{"errors":[{{"detail":"{}"}}]}}"#, "x".repeat(1000)).into_bytes()).len(),
            MAX_DETAIL_CHARS + 1
        );
    }

    #[test]
    fn logged_paths_hide_the_credential_id() {
        let api =
            TelnyxApi::new(TelnyxConfig { base_url: "http://127.0.0.1:9/".into(), ..TelnyxConfig::default() }).unwrap();
        let token = api.url(&["v2", "telephony_credentials", "3f1c-secret-id", "token"]);
        assert_eq!(loggable_path(&token), "/v2/telephony_credentials/{id}/token");
        let create = api.url(&["v2", "telephony_credentials"]);
        assert_eq!(loggable_path(&create), "/v2/telephony_credentials");
    }

    #[test]
    fn urls_are_built_by_segments() {
        let api =
            TelnyxApi::new(TelnyxConfig { base_url: "http://127.0.0.1:9/".into(), ..TelnyxConfig::default() }).unwrap();
        assert_eq!(
            api.url(&["v2", "telephony_credentials", "a/b?c", "token"]).as_str(),
            "http://127.0.0.1:9/v2/telephony_credentials/a%2Fb%3Fc/token"
        );
        assert!(TelnyxApi::new(TelnyxConfig { base_url: "api.telnyx.com".into(), ..TelnyxConfig::default() }).is_err());
    }
}
