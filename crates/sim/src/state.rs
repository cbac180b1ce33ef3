//! The simulator's shared state: accepted API keys, telephony credentials, the token signer,
//! injected faults and the log of REST requests.
//!
//! One [`SimState`] is shared by every route (REST now; signaling and media later). It is cheap to
//! clone. The lock inside is a plain mutex that is never held across an `.await`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::token::{Claims, TELNYX_TELEPHONY, TokenRejection, TokenSigner};

/// At most this many REST requests are kept in the log (oldest dropped first), so a client that
/// hammers the simulator cannot grow it without bound. `requests_total` keeps counting.
pub const REQUEST_LOG_CAPACITY: usize = 10_000;

/// At most this many fault rules wait in the queue at once.
pub const FAULT_QUEUE_CAPACITY: usize = 1_000;

/// A telephony credential as the simulator keeps it.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// UUID v4, the `{id}` of `/v2/telephony_credentials/{id}`.
    pub id: String,
    /// As the client sent it (a JSON string, or a number turned into its decimal text).
    pub connection_id: String,
    /// Optional `name` from the create request.
    pub name: Option<String>,
    /// Optional `tag` from the create request.
    pub tag: Option<String>,
    /// Optional `expires_at` from the create request, kept verbatim (not enforced).
    pub expires_at: Option<String>,
    /// `gencred` followed by 22 random letters and digits, like Telnyx's.
    pub sip_username: String,
    /// 32 random hex digits. Secret: never in `Debug`, the control API or logs.
    pub sip_password: String,
    /// RFC 3339, UTC, millisecond precision.
    pub created_at: String,
    /// RFC 3339, UTC, millisecond precision.
    pub updated_at: String,
    /// How many login tokens were minted for this credential.
    pub tokens_minted: u64,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("id", &self.id)
            .field("connection_id", &self.connection_id)
            .field("name", &self.name)
            .field("sip_username", &self.sip_username)
            .field("sip_password", &"<redacted>")
            .field("tokens_minted", &self.tokens_minted)
            .finish_non_exhaustive()
    }
}

/// One rule of fault injection, as posted to `POST /control/faults`.
///
/// Each REST request (anything under `/v2`) consumes one unit of `count` of the first rule in the
/// queue that applies to its path: it is first delayed by `delay_ms`, then, if `status` is set,
/// answered with that status and a Telnyx-shaped error body instead of reaching its handler.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// HTTP status to answer with, 400..=599. 429 carries `Retry-After: retry_after_secs`.
    #[serde(default)]
    pub status: Option<u16>,
    /// Delay before answering, in milliseconds (at most 600 000).
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// How many requests the rule applies to; 1 if absent, at most 1 000 000.
    #[serde(default)]
    pub count: Option<u32>,
    /// `Retry-After` of a 429, in seconds; 1 if absent.
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
    /// Only requests whose path starts with this (e.g. `/v2/calls/`); every request if absent.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// The Telnyx error the answer carries instead of the generic one for `status`: a refusal
    /// Telnyx documents that the simulator has no other way to bring about (e.g. `90045`, a call
    /// whose media is streamed elsewhere).
    #[serde(default)]
    pub error: Option<FaultError>,
}

/// A Telnyx error body's first entry, as a [`FaultSpec`] gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultError {
    /// e.g. `90045`.
    pub code: String,
    /// e.g. `Media Streaming is used`.
    pub title: String,
    /// The sentence.
    pub detail: String,
}

/// Why a [`FaultSpec`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultSpecError {
    /// Neither `status` nor `delay_ms` was given.
    #[error("a fault needs `status` or `delay_ms`")]
    Empty,
    /// `status` outside 400..=599.
    #[error("`status` must be an HTTP error status, 400..=599")]
    Status,
    /// `delay_ms` above 600 000.
    #[error("`delay_ms` must be at most 600000")]
    Delay,
    /// `count` of 0 or above 1 000 000.
    #[error("`count` must be 1..=1000000")]
    Count,
    /// The queue already holds [`FAULT_QUEUE_CAPACITY`] rules.
    #[error("too many fault rules queued; DELETE /control/faults first")]
    QueueFull,
}

/// What the gate in front of the REST routes must do with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultAction {
    /// Sleep this long first.
    pub delay: Duration,
    /// Then answer with this status instead of the handler's response.
    pub status: Option<u16>,
    /// `Retry-After` seconds for a 429.
    pub retry_after_secs: u64,
    /// The Telnyx error to answer with, if not the generic one.
    pub error: Option<FaultError>,
}

/// A queued fault rule with what is left of its count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueuedFault {
    /// Status to answer with, if any.
    pub status: Option<u16>,
    /// Delay in milliseconds, if any.
    pub delay_ms: Option<u64>,
    /// Requests this rule still applies to.
    pub remaining: u32,
    /// `Retry-After` of a 429, seconds.
    pub retry_after_secs: u64,
    /// Only requests whose path starts with this.
    pub path_prefix: Option<String>,
    /// The Telnyx error to answer with, if not the generic one.
    pub error: Option<FaultError>,
}

/// One REST request as the simulator saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    /// 1 for the first request the simulator saw, then counting up.
    pub seq: u64,
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The status answered, or `None` while in flight (or when the client gave up first).
    pub status: Option<u16>,
}

/// A credential as the control API shows it: no SIP password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialView {
    /// Credential id.
    pub id: String,
    /// Connection id it was created for.
    pub connection_id: String,
    /// Optional name.
    pub name: Option<String>,
    /// Optional tag.
    pub tag: Option<String>,
    /// SIP user name (`gencred...`).
    pub sip_username: String,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// Login tokens minted so far.
    pub tokens_minted: u64,
}

/// What `GET /control/state` answers: everything a test wants to assert on, no secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateSnapshot {
    /// Credentials in creation order.
    pub credentials: Vec<CredentialView>,
    /// Fault rules still queued, first to apply first.
    pub faults: Vec<QueuedFault>,
    /// REST requests seen since start (or the last reset), including ones dropped from the log.
    pub requests_total: u64,
    /// The last [`REQUEST_LOG_CAPACITY`] REST requests, oldest first.
    pub requests: Vec<RequestRecord>,
    /// Lifetime of minted login tokens, seconds.
    pub token_ttl_secs: u64,
}

#[derive(Debug, Default)]
struct Data {
    credentials: Vec<Credential>,
    faults: VecDeque<QueuedFault>,
    requests: VecDeque<RequestRecord>,
    requests_total: u64,
    next_seq: u64,
    /// Tokens issued before this Unix second are expired (`POST /control/tokens/expire`).
    tokens_issued_before_expired: Option<u64>,
}

struct Inner {
    api_keys: Vec<String>,
    token_ttl: Duration,
    signer: TokenSigner,
    data: Mutex<Data>,
}

/// Shared state of one running simulator. Clones share the same state.
///
/// `Debug` shows counts only, never API keys, passwords or the signing secret.
#[derive(Clone)]
pub struct SimState {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let data = self.data();
        f.debug_struct("SimState")
            .field("api_keys", &self.inner.api_keys.len())
            .field("token_ttl", &self.inner.token_ttl)
            .field("credentials", &data.credentials.len())
            .field("faults", &data.faults.len())
            .field("requests_total", &data.requests_total)
            .finish()
    }
}

/// Unix seconds of `t`; 0 before 1970.
pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn rfc3339_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(now.millisecond() as u32 * 1_000_000).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source is available");
    bytes
}

fn random_alphanumeric(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    random_bytes::<64>().iter().take(len).map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

fn random_hex(bytes: [u8; 16]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl SimState {
    /// State accepting `api_keys` (compared exactly) and minting tokens valid for `token_ttl`.
    pub fn new(api_keys: Vec<String>, token_ttl: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                api_keys,
                token_ttl,
                signer: TokenSigner::random(),
                data: Mutex::new(Data::default()),
            }),
        }
    }

    fn data(&self) -> MutexGuard<'_, Data> {
        // A panic while holding the lock cannot leave `Data` half-updated in a way that matters
        // to a simulator, so a poisoned lock is simply taken over.
        self.inner.data.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether `key` is one of the configured API keys.
    pub fn accepts_api_key(&self, key: &str) -> bool {
        self.inner.api_keys.iter().any(|k| k == key)
    }

    /// Lifetime of minted login tokens.
    pub fn token_ttl(&self) -> Duration {
        self.inner.token_ttl
    }

    /// Creates a credential with fresh id, SIP user name and password.
    pub fn create_credential(
        &self,
        connection_id: String,
        name: Option<String>,
        tag: Option<String>,
        expires_at: Option<String>,
    ) -> Credential {
        let now = rfc3339_now();
        let credential = Credential {
            id: uuid::Uuid::new_v4().to_string(),
            connection_id,
            name,
            tag,
            expires_at,
            sip_username: format!("gencred{}", random_alphanumeric(22)),
            sip_password: random_hex(random_bytes::<16>()),
            created_at: now.clone(),
            updated_at: now,
            tokens_minted: 0,
        };
        self.data().credentials.push(credential.clone());
        credential
    }

    /// The credential with this id.
    pub fn credential(&self, id: &str) -> Option<Credential> {
        self.data().credentials.iter().find(|c| c.id == id).cloned()
    }

    /// All credentials, in creation order.
    pub fn credentials(&self) -> Vec<Credential> {
        self.data().credentials.clone()
    }

    /// The id of the credential whose SIP user name and password are these (for a signaling
    /// `login` with `login`/`passwd`).
    pub fn check_sip_login(&self, sip_username: &str, sip_password: &str) -> Option<String> {
        self.data()
            .credentials
            .iter()
            .find(|c| c.sip_username == sip_username && c.sip_password == sip_password)
            .map(|c| c.id.clone())
    }

    /// Mints a login token for credential `id`, issued at `now`, valid for [`Self::token_ttl`].
    /// `None` if there is no such credential.
    pub fn mint_login_token(&self, id: &str, now: SystemTime) -> Option<String> {
        {
            let mut data = self.data();
            let credential = data.credentials.iter_mut().find(|c| c.id == id)?;
            credential.tokens_minted += 1;
        }
        let iat = unix_secs(now);
        let claims = Claims {
            aud: TELNYX_TELEPHONY.to_owned(),
            iss: TELNYX_TELEPHONY.to_owned(),
            sub: id.to_owned(),
            jti: uuid::Uuid::new_v4().to_string(),
            iat,
            nbf: iat,
            exp: iat + self.inner.token_ttl.as_secs().max(1),
            tel_token: random_hex(random_bytes::<16>()),
            typ: "access".to_owned(),
        };
        Some(self.inner.signer.mint(&claims))
    }

    /// Checks that `token` is a login token this simulator minted, for a credential it still
    /// knows, and unexpired now (wall clock).
    pub fn verify_login_token(&self, token: &str) -> Result<Claims, TokenRejection> {
        self.verify_login_token_at(token, SystemTime::now())
    }

    /// [`Self::verify_login_token`] at a given time.
    pub fn verify_login_token_at(&self, token: &str, now: SystemTime) -> Result<Claims, TokenRejection> {
        let claims = self.inner.signer.verify(token, unix_secs(now))?;
        if let Some(cutoff) = self.data().tokens_issued_before_expired
            && claims.iat < cutoff
        {
            return Err(TokenRejection::Expired { exp: cutoff });
        }
        if self.credential(&claims.sub).is_none() {
            return Err(TokenRejection::UnknownCredential);
        }
        Ok(claims)
    }

    /// Expires every login token issued so far (up to and including the current second), as
    /// if the client's machine had slept past their lifetime; tokens minted from the next second
    /// on are valid. Returns that cutoff (Unix seconds).
    pub fn expire_tokens_now(&self) -> u64 {
        let cutoff = unix_secs(SystemTime::now()) + 1;
        self.data().tokens_issued_before_expired = Some(cutoff);
        cutoff
    }

    /// Queues a fault rule behind those already queued.
    pub fn push_fault(&self, spec: &FaultSpec) -> Result<(), FaultSpecError> {
        if spec.status.is_none() && spec.delay_ms.is_none() {
            return Err(FaultSpecError::Empty);
        }
        if spec.status.is_some_and(|s| !(400..=599).contains(&s)) {
            return Err(FaultSpecError::Status);
        }
        if spec.delay_ms.is_some_and(|d| d > 600_000) {
            return Err(FaultSpecError::Delay);
        }
        let count = spec.count.unwrap_or(1);
        if !(1..=1_000_000).contains(&count) {
            return Err(FaultSpecError::Count);
        }
        let mut data = self.data();
        if data.faults.len() >= FAULT_QUEUE_CAPACITY {
            return Err(FaultSpecError::QueueFull);
        }
        data.faults.push_back(QueuedFault {
            status: spec.status,
            delay_ms: spec.delay_ms,
            remaining: count,
            retry_after_secs: spec.retry_after_secs.unwrap_or(1),
            path_prefix: spec.path_prefix.clone(),
            error: spec.error.clone(),
        });
        Ok(())
    }

    /// Drops every queued fault rule.
    pub fn clear_faults(&self) {
        self.data().faults.clear();
    }

    /// Drops every fault rule and the request log, and resets `requests_total`. Credentials stay.
    pub fn reset(&self) {
        let mut data = self.data();
        data.faults.clear();
        data.requests.clear();
        data.requests_total = 0;
    }

    /// Consumes one unit of the first fault rule, if any.
    pub(crate) fn take_fault(&self, path: &str) -> Option<FaultAction> {
        let mut data = self.data();
        let index = data
            .faults
            .iter()
            .position(|rule| rule.path_prefix.as_deref().is_none_or(|prefix| path.starts_with(prefix)))?;
        let rule = &mut data.faults[index];
        let action = FaultAction {
            delay: Duration::from_millis(rule.delay_ms.unwrap_or(0)),
            status: rule.status,
            retry_after_secs: rule.retry_after_secs,
            error: rule.error.clone(),
        };
        rule.remaining -= 1;
        if rule.remaining == 0 {
            data.faults.remove(index);
        }
        Some(action)
    }

    /// Logs the arrival of a REST request; returns its sequence number.
    pub(crate) fn record_request(&self, method: &str, path: &str) -> u64 {
        let mut data = self.data();
        data.next_seq += 1;
        data.requests_total += 1;
        let seq = data.next_seq;
        if data.requests.len() >= REQUEST_LOG_CAPACITY {
            data.requests.pop_front();
        }
        data.requests.push_back(RequestRecord {
            seq,
            method: method.to_owned(),
            path: path.chars().take(512).collect(),
            status: None,
        });
        seq
    }

    /// Notes the status a logged request was answered with.
    pub(crate) fn record_status(&self, seq: u64, status: u16) {
        let mut data = self.data();
        if let Some(record) = data.requests.iter_mut().rev().find(|r| r.seq == seq) {
            record.status = Some(status);
        }
    }

    /// Everything the control API shows: no API keys, SIP passwords or signing secret.
    pub fn snapshot(&self) -> StateSnapshot {
        let data = self.data();
        StateSnapshot {
            credentials: data
                .credentials
                .iter()
                .map(|c| CredentialView {
                    id: c.id.clone(),
                    connection_id: c.connection_id.clone(),
                    name: c.name.clone(),
                    tag: c.tag.clone(),
                    sip_username: c.sip_username.clone(),
                    created_at: c.created_at.clone(),
                    tokens_minted: c.tokens_minted,
                })
                .collect(),
            faults: data.faults.iter().cloned().collect(),
            requests_total: data.requests_total,
            requests: data.requests.iter().cloned().collect(),
            token_ttl_secs: self.inner.token_ttl.as_secs(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> SimState {
        SimState::new(vec!["KEY_sim_test".into()], Duration::from_secs(60))
    }

    #[test]
    fn expiring_the_tokens_refuses_those_issued_so_far_and_not_later_ones() {
        let s = state();
        let id = s.create_credential("conn".into(), None, None, None).id;
        let now = SystemTime::now();
        let old = s.mint_login_token(&id, now).expect("minted");
        assert!(s.verify_login_token_at(&old, now).is_ok());
        let cutoff = s.expire_tokens_now();
        assert_eq!(s.verify_login_token_at(&old, now), Err(TokenRejection::Expired { exp: cutoff }));
        let later = now + Duration::from_secs(2);
        let fresh = s.mint_login_token(&id, later).expect("minted");
        assert!(s.verify_login_token_at(&fresh, later).is_ok());
    }

    #[test]
    fn fault_rules_apply_in_order_and_run_out() {
        let s = state();
        s.push_fault(&FaultSpec {
            status: Some(429),
            delay_ms: None,
            count: Some(2),
            retry_after_secs: Some(0),
            ..FaultSpec::default()
        })
        .unwrap();
        s.push_fault(&FaultSpec {
            status: None,
            delay_ms: Some(5),
            count: None,
            retry_after_secs: None,
            ..FaultSpec::default()
        })
        .unwrap();
        assert_eq!(s.take_fault("/v2/telephony_credentials").unwrap().status, Some(429));
        assert_eq!(s.take_fault("/v2/telephony_credentials").unwrap().status, Some(429));
        let delay = s.take_fault("/v2/telephony_credentials").unwrap();
        assert_eq!((delay.status, delay.delay), (None, Duration::from_millis(5)));
        assert_eq!(s.take_fault("/v2/telephony_credentials"), None);
    }

    #[test]
    fn invalid_fault_specs_are_refused() {
        let s = state();
        let spec = |status, delay_ms, count| FaultSpec {
            status,
            delay_ms,
            count,
            retry_after_secs: None,
            ..FaultSpec::default()
        };
        assert_eq!(s.push_fault(&spec(None, None, None)), Err(FaultSpecError::Empty));
        assert_eq!(s.push_fault(&spec(Some(200), None, None)), Err(FaultSpecError::Status));
        assert_eq!(s.push_fault(&spec(Some(500), None, Some(0))), Err(FaultSpecError::Count));
        assert_eq!(s.push_fault(&spec(None, Some(600_001), None)), Err(FaultSpecError::Delay));
        assert!(s.snapshot().faults.is_empty());
    }

    #[test]
    fn minted_token_verifies_and_names_its_credential() {
        let s = state();
        let c = s.create_credential("conn".into(), None, None, None);
        assert!(c.sip_username.starts_with("gencred"));
        assert_eq!(c.sip_username.len(), "gencred".len() + 22);
        let now = SystemTime::now();
        let token = s.mint_login_token(&c.id, now).unwrap();
        let claims = s.verify_login_token_at(&token, now).unwrap();
        assert_eq!(claims.sub, c.id);
        assert_eq!(claims.exp - claims.iat, 60);
        assert!(matches!(
            s.verify_login_token_at(&token, now + Duration::from_secs(60)),
            Err(TokenRejection::Expired { .. })
        ));
        assert_eq!(s.mint_login_token("missing", now), None);
        assert_eq!(s.snapshot().credentials[0].tokens_minted, 1);
    }

    #[test]
    fn debug_shows_no_secrets() {
        let s = state();
        let c = s.create_credential("conn".into(), None, None, None);
        let shown = format!("{s:?} {c:?}");
        assert!(!shown.contains("KEY_sim_test"));
        assert!(!shown.contains(&c.sip_password));
    }
}
