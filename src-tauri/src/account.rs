//! Which Telnyx the app talks to (the agent's account, or the built-in simulator in demo mode)
//! and the login tokens for it. Secrets are read from the keychain at the moment of use.

use std::time::{SystemTime, UNIX_EPOCH};

use softphone_core::ipc::{CredentialsStatus, IceServer, IpcError, KeychainState, LoginTokenGrant};
use softphone_core::secret::Secret;
use softphone_keychain::{CredentialField, Keychain, KeychainError, SipCredentials, StoredCredentials};
use softphone_native_engine::{TokenFuture, TokenSource};
use softphone_sim::{RunningSimulator, Simulator, SimulatorConfig};
use softphone_telnyx::{CallControlAccess, CredentialId, LoginTokens, TelnyxApi, TelnyxConfig, TokenRequest};
use tokio::sync::Mutex;

/// The runtime the demo simulator runs on: one worker thread of its own, for the app's life.
fn demo_runtime() -> Result<&'static tokio::runtime::Runtime, String> {
    static RUNTIME: std::sync::OnceLock<Result<tokio::runtime::Runtime, String>> = std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("demo-telnyx")
                .enable_all()
                .build()
                .map_err(|error| error.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

use crate::errors;

/// Where the app finds Telnyx; from the environment in the app, explicit in tests.
#[derive(Debug, Clone)]
pub struct TelnyxEndpoints {
    /// REST base URL, `https://api.telnyx.com` unless overridden.
    pub api_url: String,
    /// Signaling websocket, `wss://rtc.telnyx.com` unless overridden.
    pub rtc_url: String,
}

impl TelnyxEndpoints {
    pub fn from_env() -> Self {
        Self {
            api_url: std::env::var("SOFTPHONE_TELNYX_API_URL")
                .unwrap_or_else(|_| softphone_telnyx::TELNYX_BASE_URL.to_owned()),
            rtc_url: std::env::var("SOFTPHONE_TELNYX_RTC_URL").unwrap_or_else(|_| "wss://rtc.telnyx.com".to_owned()),
        }
    }
}

/// The connection id used against the simulator; it accepts any.
const DEMO_CONNECTION_ID: &str = "demo-connection";

/// `SOFTPHONE_DEMO_TIMINGS=fast` shortens the demo simulator's ringing and talk times, so a soak
/// test can place hundreds of calls (e2e/tests/soak.rs); unset, the demo behaves like a person.
const DEMO_TIMINGS_VAR: &str = "SOFTPHONE_DEMO_TIMINGS";

/// The demo simulator's configuration for the value of [`DEMO_TIMINGS_VAR`]: `fast` answers after
/// 200 ms, gives up ringing (no answer) after 3 s, plays early media for 500 ms and hangs up the
/// hang-up number after 2 s; anything else keeps the simulator's defaults (2 s, 30 s, 3 s, 10 s).
fn demo_simulator_config(timings: Option<&str>) -> SimulatorConfig {
    let mut config = SimulatorConfig::default();
    match timings {
        None => {}
        Some("fast") => {
            tracing::info!("demo mode: fast simulator timings ({DEMO_TIMINGS_VAR}=fast)");
            config.signaling.answer_delay = std::time::Duration::from_millis(200);
            config.signaling.no_answer_timeout = std::time::Duration::from_secs(3);
            config.signaling.early_media_duration = std::time::Duration::from_millis(500);
            config.signaling.hangup_after = std::time::Duration::from_secs(2);
        }
        Some(other) => tracing::warn!(value = other, "{DEMO_TIMINGS_VAR} is not `fast`; the demo keeps its timings"),
    }
    config
}

enum Mode {
    /// No credentials: the in-process simulator stands in for Telnyx.
    Demo { simulator: RunningSimulator, tokens: LoginTokens, credential_id: Option<CredentialId> },
    /// The agent's Telnyx account, credentials in the keychain.
    Telnyx { tokens: LoginTokens },
}

/// The shell's Telnyx access, managed Tauri state.
pub struct Account {
    keychain: Keychain,
    endpoints: TelnyxEndpoints,
    mode: Mutex<Option<Mode>>,
    /// Becomes true once [`Account::start`] chose the account or demo mode.
    started: tokio::sync::watch::Sender<bool>,
}

/// How long a caller waits for the account to start before giving up.
const START_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The native engine's login tokens come from the account: minted over Telnyx's REST API (or the
/// simulator's) once start-up chose which, and cached until shortly before they expire.
impl TokenSource for Account {
    fn login_token(&self) -> TokenFuture<'_, Result<LoginTokenGrant, IpcError>> {
        Box::pin(async move {
            self.wait_started().await?;
            self.issue_login_token().await
        })
    }

    fn forget_login_token(&self) -> TokenFuture<'_, ()> {
        Box::pin(self.forget_login_token())
    }
}

impl Account {
    pub fn new(keychain: Keychain, endpoints: TelnyxEndpoints) -> Self {
        Self { keychain, endpoints, mode: Mutex::new(None), started: tokio::sync::watch::channel(false).0 }
    }

    /// Waits until start-up chose the account or demo mode (the window may ask for an engine
    /// before that).
    pub async fn wait_started(&self) -> Result<(), IpcError> {
        let mut started = self.started.subscribe();
        tokio::time::timeout(START_WAIT, started.wait_for(|started| *started))
            .await
            .map(drop)
            .map_err(|_| errors::internal("Starting the Telnyx account or demo mode"))
    }

    /// Demo mode unless the keychain holds an API key and a connection id.
    pub async fn start(&self) -> Result<bool, IpcError> {
        let configured = match self.presence().await {
            Ok(presence) => presence.api_key && presence.connection_id,
            Err(error) => {
                tracing::warn!(%error, "keychain unavailable; starting in demo mode");
                false
            }
        };
        let mode = if configured { self.telnyx_mode()? } else { self.demo_mode().await? };
        let demo = matches!(mode, Mode::Demo { .. });
        *self.mode.lock().await = Some(mode);
        self.started.send_replace(true);
        tracing::info!(demo, "account ready");
        Ok(demo)
    }

    pub async fn is_demo(&self) -> bool {
        matches!(*self.mode.lock().await, Some(Mode::Demo { .. }) | None)
    }

    fn telnyx_mode(&self) -> Result<Mode, IpcError> {
        let api = TelnyxApi::new(TelnyxConfig { base_url: self.endpoints.api_url.clone(), ..TelnyxConfig::default() })?;
        Ok(Mode::Telnyx { tokens: LoginTokens::new(api) })
    }

    async fn demo_mode(&self) -> Result<Mode, IpcError> {
        let timings = std::env::var(DEMO_TIMINGS_VAR).ok();
        let config = demo_simulator_config(timings.as_deref());
        // The simulator stands in for Telnyx, which runs elsewhere: on its own runtime, a shell
        // task that blocks a worker (a busy database, a slow command) cannot starve "Telnyx".
        let starting = demo_runtime()
            .map_err(|error| {
                tracing::error!(%error, "the demo simulator has no runtime");
                errors::internal("Starting demo mode")
            })?
            .spawn(Simulator::start(config));
        let started = starting.await.map_err(|error| {
            tracing::error!(%error, "the demo simulator's start-up panicked");
            errors::internal("Starting demo mode")
        })?;
        let simulator = started.map_err(|error| {
            tracing::error!(%error, "the demo simulator could not start");
            errors::internal("Starting demo mode")
        })?;
        // Said in the log so a tester can drive the simulator's control API (`/control/...`).
        tracing::info!(simulator = %simulator.base_url(), "demo mode: the built-in simulator is listening");
        let api = TelnyxApi::new(TelnyxConfig { base_url: simulator.base_url(), ..TelnyxConfig::default() })?;
        Ok(Mode::Demo { simulator, tokens: LoginTokens::new(api), credential_id: None })
    }

    async fn presence(&self) -> Result<softphone_keychain::CredentialsPresence, KeychainError> {
        let keychain = self.keychain.clone();
        tauri::async_runtime::spawn_blocking(move || keychain.presence())
            .await
            .unwrap_or_else(|_| Err(KeychainError::Failed { detail: "the keychain task stopped".into() }))
    }

    async fn keychain_call<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Keychain) -> Result<T, KeychainError> + Send + 'static,
    ) -> Result<T, IpcError> {
        let keychain = self.keychain.clone();
        tauri::async_runtime::spawn_blocking(move || work(&keychain))
            .await
            .map_err(|_| errors::internal("The keychain task"))?
            .map_err(IpcError::from)
    }

    /// What is configured; a keychain problem is part of the status, not an error.
    pub async fn credentials_status(&self) -> CredentialsStatus {
        let demo = self.is_demo().await;
        match self.presence().await {
            Ok(presence) => CredentialsStatus {
                keychain: KeychainState::Available,
                keychain_message: None,
                api_key: presence.api_key,
                connection_id: presence.connection_id,
                sip_login: presence.sip_login,
                demo,
            },
            Err(error) => CredentialsStatus {
                keychain: match error {
                    KeychainError::Locked { .. } => KeychainState::Locked,
                    _ => KeychainState::Unavailable,
                },
                keychain_message: Some(error.to_string()),
                api_key: false,
                connection_id: false,
                sip_login: false,
                demo,
            },
        }
    }

    /// Checks the key with Telnyx, then stores the credentials. A rejected key is not stored.
    pub async fn save_credentials(
        &self,
        api_key: Secret,
        connection_id: Secret,
        sip: Option<SipCredentials>,
    ) -> Result<(), IpcError> {
        if api_key.expose().trim().is_empty() || connection_id.expose().trim().is_empty() {
            return Err(IpcError::new(
                softphone_core::ipc::ErrorCode::InvalidArgument,
                "Enter both the API key and the connection id.",
            ));
        }
        let api = TelnyxApi::new(TelnyxConfig { base_url: self.endpoints.api_url.clone(), ..TelnyxConfig::default() })?;
        api.validate_api_key(&api_key).await?;
        let credentials = StoredCredentials { api_key, connection_id, sip };
        self.keychain_call(move |keychain| keychain.save(&credentials)).await?;
        *self.mode.lock().await = Some(self.telnyx_mode()?);
        tracing::info!("credentials saved; using the Telnyx account");
        Ok(())
    }

    /// Removes every credential and goes back to demo mode.
    pub async fn clear_credentials(&self) -> Result<(), IpcError> {
        self.keychain_call(|keychain| keychain.clear()).await?;
        let mode = self.demo_mode().await?;
        *self.mode.lock().await = Some(mode);
        tracing::info!("credentials cleared; demo mode");
        Ok(())
    }

    /// Drops the cached login token: Telnyx refused it, so the next one is minted anew.
    pub async fn forget_login_token(&self) {
        match self.mode.lock().await.as_mut() {
            Some(Mode::Demo { tokens, .. } | Mode::Telnyx { tokens }) => tokens.clear(),
            None => {}
        }
    }

    /// A login token for the engine, minted or from the cache.
    pub async fn issue_login_token(&self) -> Result<LoginTokenGrant, IpcError> {
        let now = SystemTime::now();
        let mut mode = self.mode.lock().await;
        match mode.as_mut() {
            None => Err(errors::internal("Issuing a login token before start-up")),
            Some(Mode::Demo { simulator, tokens, credential_id }) => {
                let api_key = Secret::new(softphone_sim::DEFAULT_API_KEY);
                let request = TokenRequest {
                    api_key: &api_key,
                    connection_id: DEMO_CONNECTION_ID,
                    credential_id: credential_id.as_ref(),
                };
                let issued = tokens.issue_login_token(request, now).await?;
                if let Some(new_id) = issued.new_credential_id {
                    *credential_id = Some(new_id);
                }
                Ok(grant(&issued.token, format!("ws://{}/", simulator.local_addr()), Vec::new()))
            }
            Some(Mode::Telnyx { tokens }) => {
                let (credentials, credential_id) = self
                    .keychain_call(|keychain| {
                        Ok((keychain.load()?, keychain.get(CredentialField::TelephonyCredentialId)?))
                    })
                    .await?;
                let Some(credentials) = credentials else {
                    return Err(IpcError::new(
                        softphone_core::ipc::ErrorCode::KeychainFailed,
                        "The Telnyx credentials are no longer in the keychain. Enter them again in Settings.",
                    ));
                };
                let credential_id = credential_id.map(|id| CredentialId::new(id.expose()));
                let request = TokenRequest {
                    api_key: &credentials.api_key,
                    connection_id: credentials.connection_id.expose(),
                    credential_id: credential_id.as_ref(),
                };
                let issued = tokens.issue_login_token(request, now).await?;
                if let Some(new_id) = issued.new_credential_id {
                    let secret = Secret::new(new_id.as_str());
                    self.keychain_call(move |keychain| keychain.set(CredentialField::TelephonyCredentialId, &secret))
                        .await?;
                }
                Ok(grant(&issued.token, self.endpoints.rtc_url.clone(), telnyx_ice_servers()))
            }
        }
    }
}

impl Account {
    /// The account's phone numbers (`GET /v2/phone_numbers`): the caller-ID numbers the agent may
    /// present. In demo mode, the simulated account's.
    pub async fn phone_numbers(&self) -> Result<Vec<String>, IpcError> {
        let access = self.rest_access().await?;
        Ok(access.api.list_phone_numbers(&access.api_key).await?)
    }

    /// Telnyx's REST API as this account: the client, the API key and the connection id (the
    /// simulator's in demo mode, with its hold music). For Call Control on the agent's calls.
    pub async fn rest_access(&self) -> Result<CallControlAccess, IpcError> {
        let (base_url, api_key, connection_id, default_hold_music) = match self.mode.lock().await.as_ref() {
            None => return Err(errors::internal("Using Telnyx's REST API before start-up")),
            Some(Mode::Demo { simulator, .. }) => (
                simulator.base_url(),
                Secret::new(softphone_sim::DEFAULT_API_KEY),
                Secret::new(DEMO_CONNECTION_ID),
                Some(format!("{}/media/hold-music.wav", simulator.base_url())),
            ),
            Some(Mode::Telnyx { .. }) => {
                let credentials = self.keychain_call(|keychain| keychain.load()).await?.ok_or_else(|| {
                    IpcError::new(
                        softphone_core::ipc::ErrorCode::KeychainFailed,
                        "The Telnyx credentials are no longer in the keychain. Enter them again in Settings.",
                    )
                })?;
                (self.endpoints.api_url.clone(), credentials.api_key, credentials.connection_id, None)
            }
        };
        let api = TelnyxApi::new(TelnyxConfig { base_url, ..TelnyxConfig::default() })?;
        Ok(CallControlAccess { api, api_key, connection_id, default_hold_music })
    }

    /// Demo mode: the simulator rings this phone from `from` (E.164), as a caller named
    /// `caller_name`. Returns the simulator's call id.
    pub async fn simulate_inbound_call(&self, from: &str, caller_name: Option<String>) -> Result<String, IpcError> {
        let mode = self.mode.lock().await;
        let Some(Mode::Demo { simulator, .. }) = mode.as_ref() else {
            return Err(IpcError::new(
                softphone_core::ipc::ErrorCode::DemoOnly,
                "Simulated calls exist in demo mode only; real callers ring this phone through Telnyx.",
            ));
        };
        let request =
            softphone_sim::signaling::InboundCall { from: from.to_owned(), caller_name, ..Default::default() };
        let started = simulator.switchboard().start_inbound(request).map_err(|error| {
            IpcError::new(
                softphone_core::ipc::ErrorCode::EngineFailed,
                format!("The simulator could not ring this phone: {error}. Is the call engine connected?"),
            )
        })?;
        Ok(started.call_id)
    }
}

fn grant(token: &softphone_telnyx::LoginToken, signaling_url: String, ice_servers: Vec<IceServer>) -> LoginTokenGrant {
    LoginTokenGrant {
        // The one secret that crosses into the webview, by design: short-lived and scoped.
        login_token: token.jwt().expose().to_owned(),
        expires_at_unix: token.expires_at().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        signaling_url,
        ice_servers,
    }
}

/// The SDK's production defaults (docs/telnyx-protocol.md §1).
fn telnyx_ice_servers() -> Vec<IceServer> {
    vec![
        IceServer { urls: vec!["stun:stun.telnyx.com:3478".into()], username: None, credential: None },
        IceServer {
            urls: vec![
                "turn:turn.telnyx.com:3478?transport=udp".into(),
                "turn:turn.telnyx.com:3478?transport=tcp".into(),
                // For networks that let only TLS on 443 out.
                "turns:turn.telnyx.com:443".into(),
            ],
            username: Some("testuser".into()),
            credential: Some("testpassword".into()),
        },
    ]
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::demo_simulator_config;

    #[test]
    fn fast_demo_timings_shorten_ringing_and_talk_times_and_other_values_keep_the_defaults() {
        let fast = demo_simulator_config(Some("fast")).signaling;
        assert_eq!(fast.answer_delay, Duration::from_millis(200));
        assert_eq!(fast.no_answer_timeout, Duration::from_secs(3));
        assert_eq!(fast.early_media_duration, Duration::from_millis(500));
        assert_eq!(fast.hangup_after, Duration::from_secs(2));
        for value in [None, Some("slow"), Some("")] {
            let kept = demo_simulator_config(value).signaling;
            assert_eq!(kept.answer_delay, Duration::from_secs(2), "{value:?}");
            assert_eq!(kept.no_answer_timeout, Duration::from_secs(30), "{value:?}");
        }
    }
}
