//! A native engine kept running for as long as the agent uses it, as the webview engine keeps the
//! SDK running (`ui/src/engine/webview.rs`):
//!
//! - started with a login token from a [`TokenSource`], and started again with growing pauses
//!   while Telnyx or the token minting is down, so an outage at start-up does not leave the phone
//!   offline once Telnyx is back;
//! - its token replaced before it expires, timed by the wall clock: a machine that slept does not
//!   advance tokio's timers, but its tokens expired all the same;
//! - a new token minted and logged in with when Telnyx refuses the current one (the socket was
//!   down while it lapsed), until one is accepted or the account itself is refused.
//!
//! The shell gives it a token source and reads one stream of [`NativeEngineEvent`]s.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use softphone_core::call::{EngineCommand, EngineUpdate};
use softphone_core::ipc::{ErrorCode, IpcError, LoginTokenGrant};
use softphone_core::secret::Secret;
use softphone_media::{AudioSystem, CallMediaOptions};
use softphone_telnyx::rtc::{CallerId, RtcTimings};
use tokio::sync::{mpsc, watch};

use crate::{ConnectionChange, EVENT_CAPACITY, NativeEngine, NativeEngineConfig, NativeEngineEvent};

/// A future of a [`TokenSource`].
pub type TokenFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the engine's login tokens come from: in the app, the account (Telnyx's REST API or the
/// simulator, with the key from the keychain).
pub trait TokenSource: Send + Sync + 'static {
    /// A login token that is still good for a while, minted when needed. An error with
    /// [`ErrorCode::TelnyxAuthRejected`] means the account itself is refused (a revoked key).
    fn login_token(&self) -> TokenFuture<'_, Result<LoginTokenGrant, IpcError>>;
    /// Forgets the token handed out last, so the next [`TokenSource::login_token`] mints a new
    /// one (Telnyx refused it).
    fn forget_login_token(&self) -> TokenFuture<'_, ()>;
}

/// The pauses of the supervision; [`Supervision::default`] is what the app uses, tests shorten
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Supervision {
    /// After a failed start, the first new start comes after this long; the pause doubles up to
    /// `start_retry_max`.
    pub start_retry_first: Duration,
    pub start_retry_max: Duration,
    /// After Telnyx refused a login, the first login with a new token comes after this long; the
    /// pause doubles up to `relogin_max`.
    pub relogin_first: Duration,
    pub relogin_max: Duration,
    /// A refresh that failed is tried again after this long (or sooner, for a token about to
    /// expire).
    pub token_retry: Duration,
    /// The refresh timer looks at the wall clock at least this often.
    pub clock_check: Duration,
    /// How often the session compares the wall clock with the monotonic one.
    pub sleep_check: Duration,
    /// The wall clock running this much ahead of the monotonic one means the computer slept.
    pub sleep_gap: Duration,
}

impl Default for Supervision {
    fn default() -> Self {
        Supervision {
            start_retry_first: Duration::from_secs(2),
            start_retry_max: Duration::from_secs(60),
            relogin_first: Duration::from_secs(1),
            relogin_max: Duration::from_secs(60),
            token_retry: Duration::from_secs(30),
            clock_check: Duration::from_secs(30),
            sleep_check: Duration::from_secs(2),
            sleep_gap: Duration::from_secs(5),
        }
    }
}

/// What every engine the session starts is given besides the token.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// What outbound calls present; Telnyx fills it from the connection when empty.
    pub caller_id: CallerId,
    /// Signaling timings (the SDK's by default).
    pub timings: RtcTimings,
    /// How each call's media is set up.
    pub media: CallMediaOptions,
    /// The pauses of the supervision.
    pub supervision: Supervision,
    /// The wall clock the sleep detection compares with the monotonic one (`SystemTime::now`;
    /// tests move it ahead as a suspend would).
    pub wall_clock: fn() -> SystemTime,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            caller_id: CallerId::default(),
            timings: RtcTimings::default(),
            media: CallMediaOptions::default(),
            supervision: Supervision::default(),
            wall_clock: SystemTime::now,
        }
    }
}

/// Refresh the login token this long before it expires (the SDK warns 60 s before; the token
/// cache mints a new one from 5 minutes before), or a quarter of its remaining life before when
/// that is shorter (a short-lived token).
const TOKEN_REFRESH_LEAD: Duration = Duration::from_secs(4 * 60);

/// How long to wait before logging in again with a new token, `remaining` before the current
/// one expires: never less than a second, so a token that is already expired is not hammered.
fn token_refresh_wait(remaining: Duration) -> Duration {
    let lead = TOKEN_REFRESH_LEAD.min(remaining / 4);
    remaining.saturating_sub(lead).max(Duration::from_secs(1))
}

/// On waking, a token with less than this left is replaced before the new socket logs in.
const WAKE_TOKEN_MARGIN: Duration = Duration::from_secs(60);

/// How long the computer slept between two looks at the clocks: how far the wall clock moved
/// beyond what the monotonic clock measured (which stops while asleep). A wall clock set back
/// is no sleep.
fn slept_for(wall_before: SystemTime, wall_now: SystemTime, steady_elapsed: Duration) -> Duration {
    wall_now.duration_since(wall_before).unwrap_or_default().saturating_sub(steady_elapsed)
}

/// Seconds from now to `expires_at_unix`.
fn token_remaining(expires_at_unix: u64) -> Duration {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs());
    Duration::from_secs(expires_at_unix.saturating_sub(now))
}

/// The session as the shell holds it. Cheap to clone; [`NativeSession::shutdown`] ends it.
#[derive(Clone)]
pub struct NativeSession {
    shared: Arc<Shared>,
}

struct Shared {
    tokens: Arc<dyn TokenSource>,
    audio: AudioSystem,
    config: SessionConfig,
    /// The engine running now, if one does.
    engine: Mutex<Option<NativeEngine>>,
    /// When the login token the engine holds expires (Unix seconds; 0 before the first).
    token_expires_at: AtomicU64,
    commands: mpsc::UnboundedSender<EngineCommand>,
    events: mpsc::Sender<NativeEngineEvent>,
    stopped: watch::Sender<bool>,
}

impl std::fmt::Debug for NativeSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeSession").field("engine", &self.engine()).field("stopped", &self.stopped()).finish()
    }
}

/// What [`NativeSession::start`] hands back.
#[derive(Debug)]
pub struct SessionStart {
    pub session: NativeSession,
    /// Every connection change and call update, in order, for as long as the session runs.
    pub events: mpsc::Receiver<NativeEngineEvent>,
    /// How the first start went; after a failure the session goes on trying by itself.
    pub first_start: Result<(), IpcError>,
}

impl NativeSession {
    /// Starts an engine with a token from `tokens` and keeps one running until
    /// [`NativeSession::shutdown`].
    pub async fn start(tokens: Arc<dyn TokenSource>, audio: AudioSystem, config: SessionConfig) -> SessionStart {
        let (events, receiver) = mpsc::channel(EVENT_CAPACITY);
        let (commands, queue) = mpsc::unbounded_channel();
        let (stopped, _) = watch::channel(false);
        let session = NativeSession {
            shared: Arc::new(Shared {
                tokens,
                audio,
                config,
                engine: Mutex::new(None),
                token_expires_at: AtomicU64::new(0),
                commands,
                events,
                stopped,
            }),
        };
        tokio::spawn(execute_in_order(session.clone(), queue));
        tokio::spawn(session.clone().watch_the_clock());
        let first_start = session.start_engine().await;
        if first_start.is_err() {
            tokio::spawn(session.clone().retry_start());
        }
        SessionStart { session, events: receiver, first_start }
    }

    /// Queues one command of the state machine; commands run one at a time, in order (a hold must
    /// reach Telnyx before its unhold).
    pub fn send(&self, command: EngineCommand) {
        if self.shared.commands.send(command).is_err() {
            tracing::error!("the native engine's command queue is closed");
        }
    }

    /// The engine running now (its calls' media figures), if one does.
    pub fn engine(&self) -> Option<NativeEngine> {
        self.shared.engine.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The audio devices the engine plays and records on.
    pub fn audio(&self) -> &AudioSystem {
        &self.shared.audio
    }

    /// The computer woke up (or the network changed): whatever the old socket looks like, a new
    /// one now, logged in with a new token if the old one expired meanwhile, and the calls that
    /// were up reattached. Without a running engine, a start now.
    pub async fn wake(&self) {
        if self.stopped() {
            return;
        }
        let Some(engine) = self.engine() else {
            tracing::info!("woke up without an engine: starting one now");
            let _ = self.start_engine().await;
            return;
        };
        let expires_at = self.shared.token_expires_at.load(Ordering::SeqCst);
        let token = if token_remaining(expires_at) < WAKE_TOKEN_MARGIN {
            self.shared.tokens.forget_login_token().await;
            match self.shared.tokens.login_token().await {
                Ok(grant) => {
                    self.shared.token_expires_at.store(grant.expires_at_unix, Ordering::SeqCst);
                    Some(Secret::new(grant.login_token))
                }
                // Offline still: the reconnection retries, and a refused login is logged in again.
                Err(error) => {
                    tracing::warn!(reason = %error.message, "no new login token on waking; reconnecting with the old one");
                    None
                }
            }
        } else {
            None
        };
        tracing::info!(new_token = token.is_some(), "woke up: reconnecting now");
        engine.reconnect_now(token).await;
    }

    /// The fallback that works everywhere: a jump of the wall clock ahead of the monotonic one
    /// means the computer slept (the monotonic clock stops meanwhile), so [`NativeSession::wake`].
    async fn watch_the_clock(self) {
        let check = self.shared.config.supervision.sleep_check;
        let wall_clock = self.shared.config.wall_clock;
        let mut wall = wall_clock();
        let mut steady = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(check).await;
            if self.stopped() {
                return;
            }
            let (wall_now, steady_now) = (wall_clock(), tokio::time::Instant::now());
            let slept = slept_for(wall, wall_now, steady_now - steady);
            (wall, steady) = (wall_now, steady_now);
            if slept >= self.shared.config.supervision.sleep_gap {
                tracing::info!(slept_ms = slept.as_millis() as u64, "the clock jumped: the computer slept");
                self.wake().await;
            }
        }
    }

    /// Stops the engine (hanging up its calls) and every retry and refresh.
    pub async fn shutdown(&self) {
        self.shared.stopped.send_replace(true);
        let engine = self.shared.engine.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(engine) = engine {
            engine.shutdown().await;
        }
    }

    fn stopped(&self) -> bool {
        *self.shared.stopped.borrow()
    }

    /// Whether `engine` is still the one running (not stopped, not replaced).
    fn still_runs(&self, engine: &NativeEngine) -> bool {
        !self.stopped() && self.engine().is_some_and(|current| current.same_as(engine))
    }

    async fn emit(&self, event: NativeEngineEvent) {
        // The shell stopped listening: it is shutting down.
        let _ = self.shared.events.send(event).await;
    }

    /// One start: a token, then the engine with it.
    async fn start_engine(&self) -> Result<(), IpcError> {
        self.emit(NativeEngineEvent::Connection(ConnectionChange::Connecting)).await;
        let outcome = self.try_start().await;
        if let Err(error) = &outcome {
            tracing::warn!(code = ?error.code, reason = %error.message, "the native engine did not start");
            self.emit(NativeEngineEvent::Connection(ConnectionChange::StartFailed { message: error.message.clone() }))
                .await;
        }
        outcome
    }

    async fn try_start(&self) -> Result<(), IpcError> {
        let grant = self.shared.tokens.login_token().await?;
        let config = &self.shared.config;
        let mut engine_config =
            NativeEngineConfig::new(grant.signaling_url, Secret::new(grant.login_token), grant.ice_servers);
        engine_config.caller_id = config.caller_id.clone();
        engine_config.timings = config.timings;
        engine_config.media = config.media;
        let (engine, engine_events) = NativeEngine::start(engine_config, self.shared.audio.clone())
            .await
            .map_err(|error| IpcError::new(ErrorCode::EngineFailed, error.to_string()))?;
        if self.stopped() {
            engine.shutdown().await;
            return Ok(());
        }
        *self.shared.engine.lock().unwrap_or_else(PoisonError::into_inner) = Some(engine.clone());
        self.shared.token_expires_at.store(grant.expires_at_unix, Ordering::SeqCst);
        tokio::spawn(self.clone().forward(engine.clone(), engine_events));
        tokio::spawn(self.clone().keep_token_fresh(engine, grant.expires_at_unix));
        tracing::info!("the native engine runs");
        Ok(())
    }

    /// Starts again with growing pauses until an engine runs or the session stops.
    async fn retry_start(self) {
        let supervision = self.shared.config.supervision;
        let mut pause = supervision.start_retry_first;
        loop {
            tokio::time::sleep(pause).await;
            if self.stopped() || self.engine().is_some() {
                return;
            }
            if self.start_engine().await.is_ok() {
                tracing::info!("the native engine started on a retry");
                return;
            }
            pause = (pause * 2).min(supervision.start_retry_max);
        }
    }

    /// The engine's events to the shell; a refused login starts one re-login at a time.
    async fn forward(self, engine: NativeEngine, mut engine_events: mpsc::Receiver<NativeEngineEvent>) {
        let relogging = Arc::new(AtomicBool::new(false));
        while let Some(event) = engine_events.recv().await {
            if let NativeEngineEvent::Connection(ConnectionChange::LoginFailed { .. }) = &event
                && !relogging.swap(true, Ordering::SeqCst)
            {
                let (session, engine, relogging) = (self.clone(), engine.clone(), relogging.clone());
                tokio::spawn(async move {
                    session.login_again(&engine).await;
                    relogging.store(false, Ordering::SeqCst);
                });
            }
            self.emit(event).await;
        }
    }

    /// Mints a new token and logs in with it, pausing longer after each refusal, until one is
    /// accepted, the account is refused (said as a failed login) or the engine stops.
    async fn login_again(&self, engine: &NativeEngine) {
        let supervision = self.shared.config.supervision;
        let mut pause = supervision.relogin_first;
        loop {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(supervision.relogin_max);
            if !self.still_runs(engine) {
                return;
            }
            self.shared.tokens.forget_login_token().await;
            let grant = match self.shared.tokens.login_token().await {
                Ok(grant) => grant,
                Err(error) if error.code == ErrorCode::TelnyxAuthRejected => {
                    tracing::warn!(reason = %error.message, "the account was refused; not logging in again");
                    self.emit(NativeEngineEvent::Connection(ConnectionChange::LoginFailed { message: error.message }))
                        .await;
                    return;
                }
                Err(error) => {
                    tracing::warn!(reason = %error.message, "no new login token yet; retrying");
                    continue;
                }
            };
            match engine.refresh_token(Secret::new(grant.login_token)).await {
                Ok(()) => {
                    tracing::info!("logged in again with a new login token");
                    self.shared.token_expires_at.fetch_max(grant.expires_at_unix, Ordering::SeqCst);
                    return;
                }
                Err(error) => tracing::warn!(code = %error.code(), %error, "the new login was refused too; retrying"),
            }
        }
    }

    /// Logs in again with a new token before the current one (expiring at `expires_at_unix`)
    /// expires, for as long as `engine` runs.
    async fn keep_token_fresh(self, engine: NativeEngine, mut expires_at_unix: u64) {
        let supervision = self.shared.config.supervision;
        let due_after = |expires_at_unix| SystemTime::now() + token_refresh_wait(token_remaining(expires_at_unix));
        let mut due = due_after(expires_at_unix);
        loop {
            // A token minted elsewhere meanwhile (on waking, after a refused login) restarts
            // the schedule from its own life.
            let newest = self.shared.token_expires_at.load(Ordering::SeqCst);
            if newest > expires_at_unix {
                expires_at_unix = newest;
                due = due_after(newest);
            }
            if let Ok(left) = due.duration_since(SystemTime::now())
                && !left.is_zero()
            {
                tokio::time::sleep(left.min(supervision.clock_check)).await;
                if !self.still_runs(&engine) {
                    return;
                }
                continue;
            }
            if !self.still_runs(&engine) {
                return;
            }
            let refreshed = match self.shared.tokens.login_token().await {
                Ok(grant) => match engine.refresh_token(Secret::new(grant.login_token)).await {
                    Ok(()) => Ok(grant.expires_at_unix),
                    Err(error) => Err(error.to_string()),
                },
                Err(error) => Err(error.message),
            };
            match refreshed {
                Ok(next) => {
                    tracing::info!(expires_at_unix = next, "login token refreshed");
                    self.shared.token_expires_at.fetch_max(next, Ordering::SeqCst);
                    expires_at_unix = next;
                    due = due_after(next);
                }
                Err(reason) => {
                    let retry =
                        supervision.token_retry.min(token_remaining(expires_at_unix) / 4).max(Duration::from_secs(1));
                    tracing::warn!(%reason, retry_in_ms = retry.as_millis() as u64, "the login token could not be refreshed; retrying");
                    due = SystemTime::now() + retry;
                }
            }
        }
    }
}

/// One command at a time, in the machine's order, on the engine running when it comes up. With
/// no engine running, a dial or an answer fails its call at once (the machine ends it and the
/// agent reads why) instead of waiting for a connection that may never come.
async fn execute_in_order(session: NativeSession, mut queue: mpsc::UnboundedReceiver<EngineCommand>) {
    while let Some(command) = queue.recv().await {
        if session.stopped() {
            return;
        }
        let Some(engine) = session.engine() else {
            tracing::warn!(?command, "no native engine runs; the command is not carried out");
            if let EngineCommand::Dial { call_id, .. } | EngineCommand::Answer { call_id } = command {
                let message = "The phone is not connected to Telnyx; try again once the status bar says Ready.";
                let update = EngineUpdate::Failed { message: message.to_owned() };
                session.emit(NativeEngineEvent::Call { call_id, update }).await;
            }
            continue;
        };
        if let Err(error) = engine.execute(command.clone()).await {
            tracing::warn!(?command, code = %error.code(), %error, "an engine command failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{slept_for, token_refresh_wait};

    #[test]
    fn a_sleep_is_the_wall_clock_running_ahead_of_the_monotonic_one() {
        let before = std::time::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let secs = Duration::from_secs;
        // Awake: both clocks move alike.
        assert_eq!(slept_for(before, before + secs(2), secs(2)), Duration::ZERO);
        // Asleep for an hour between two looks two seconds apart (monotonic).
        assert_eq!(slept_for(before, before + secs(3_602), secs(2)), secs(3_600));
        // The wall clock set back (a time sync): no sleep.
        assert_eq!(slept_for(before, before - secs(30), secs(2)), Duration::ZERO);
    }

    #[test]
    fn a_token_is_replaced_before_it_expires_whatever_its_lifetime() {
        let hours = |h: u64| Duration::from_secs(h * 3600);
        // Telnyx's 24-hour token: four minutes before the end.
        assert_eq!(token_refresh_wait(hours(24)), hours(24) - Duration::from_secs(240));
        // A short-lived token: at three quarters of what is left, well before it lapses.
        assert_eq!(token_refresh_wait(Duration::from_secs(8)), Duration::from_secs(6));
        // Expired or about to: retried after a second, not in a tight loop.
        assert_eq!(token_refresh_wait(Duration::ZERO), Duration::from_secs(1));
        assert_eq!(token_refresh_wait(Duration::from_millis(900)), Duration::from_secs(1));
    }
}
