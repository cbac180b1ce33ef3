//! Which engine carries the calls, and the native one's plumbing: commands in order, its events
//! into the state machine, its connection into the status bar, its login token kept fresh.
//!
//! The window decides the engine (it knows whether its webview has WebRTC) and says so with
//! `use_call_engine`. Until then, and with the webview engine, the machine's engine commands go
//! to the window as `engine://command` events.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use softphone_core::call::{CallEvent, CallId, CallsSnapshot, EngineCommand, RingerMode};
use softphone_core::call_log::CallEngine;
use softphone_core::ipc::{
    AudioMeter, CallMediaDiagnostics, ConnectionState, ConnectionStatus, Diagnostics, ErrorCode, IpcError, event,
};
use softphone_core::secret::Secret;
use softphone_media::{AudioSystem, FakeAudioSpec};
use softphone_native_engine::{ConnectionChange, NativeEngine, NativeEngineConfig, NativeEngineEvent};
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::mpsc;

use crate::account::Account;
use crate::connection::Connection;

/// Refresh the login token this long before it expires (the SDK warns 60 s before; the token
/// cache mints a new one from 5 minutes before), or a quarter of its remaining life before when
/// that is shorter (a short-lived token).
const TOKEN_REFRESH_LEAD: Duration = Duration::from_secs(4 * 60);
/// Retry a failed refresh after this long (or sooner, for a token about to expire).
const TOKEN_RETRY: Duration = Duration::from_secs(30);

/// The refresh timer looks at the wall clock at least this often: a machine that slept does not
/// advance tokio's (monotonic) timers, but its tokens expired all the same.
const TOKEN_CLOCK_CHECK: Duration = Duration::from_secs(30);
/// After Telnyx refused a login (a token that lapsed while the socket was down), the first new
/// login with a freshly minted token comes after this long; the pause doubles up to
/// [`RELOGIN_MAX`].
const RELOGIN_FIRST: Duration = Duration::from_secs(1);
const RELOGIN_MAX: Duration = Duration::from_secs(60);

/// How long to wait before logging in again with a new token, `remaining` before the current
/// one expires: never less than a second, so a token that is already expired is not hammered.
fn token_refresh_wait(remaining: Duration) -> Duration {
    let lead = TOKEN_REFRESH_LEAD.min(remaining / 4);
    remaining.saturating_sub(lead).max(Duration::from_secs(1))
}

/// Seconds from now to `expires_at_unix`.
fn token_remaining(expires_at_unix: u64) -> Duration {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Duration::from_secs(expires_at_unix.saturating_sub(now))
}
/// After a failed start of the native engine (Telnyx unreachable, token minting failing), the
/// first retry comes after this long; the pause doubles up to [`NATIVE_RETRY_MAX`].
const NATIVE_RETRY_FIRST: Duration = Duration::from_secs(2);
const NATIVE_RETRY_MAX: Duration = Duration::from_secs(60);

enum Route {
    /// Commands go to the window (the webview engine, or nobody yet).
    Window,
    /// Commands go to the native engine's executor, in order.
    Native { engine: NativeEngine, commands: mpsc::UnboundedSender<EngineCommand> },
}

/// The engine in use, managed state.
pub struct EngineHost {
    route: Mutex<Route>,
    kind: Mutex<Option<CallEngine>>,
    audio: Result<AudioSystem, String>,
    /// Why calls have no sound, when no device could be opened (said on the diagnostics page).
    audio_problem: Option<String>,
    /// Bumped by every [`stop`]: a pending start retry of an older engine choice gives up.
    generation: AtomicU64,
}

impl EngineHost {
    /// The sound cards (or the fake devices `SOFTPHONE_FAKE_AUDIO` names). Without a usable
    /// microphone or speaker the app still runs, on silent devices, and says why.
    pub fn new() -> Self {
        let (audio, audio_problem) = match AudioSystem::from_env().and_then(|audio| audio.probe().map(|()| audio)) {
            Ok(audio) => (Ok(audio), None),
            Err(error) => {
                tracing::warn!(code = ?error.code(), %error, "no usable audio devices; calls will be silent");
                let silent = AudioSystem::fake(FakeAudioSpec::default()).map_err(|e| e.to_string());
                (silent, Some(format!("No microphone or speaker could be opened ({error}); calls have no sound.")))
            }
        };
        EngineHost {
            route: Mutex::new(Route::Window),
            kind: Mutex::new(None),
            audio,
            audio_problem,
            generation: AtomicU64::new(0),
        }
    }

    /// The audio devices calls and the ringer use.
    pub fn audio(&self) -> Option<&AudioSystem> {
        self.audio.as_ref().ok()
    }

    pub fn kind(&self) -> Option<CallEngine> {
        *self.kind.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn native(&self) -> Option<NativeEngine> {
        match &*self.route.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
            Route::Native { engine, .. } => Some(engine.clone()),
            Route::Window => None,
        }
    }

    /// Carries out one engine command of the machine: to the native engine's queue, or to the
    /// window.
    pub fn send<R: Runtime>(&self, app: &AppHandle<R>, command: EngineCommand) {
        let route = self.route.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*route {
            Route::Native { commands, .. } => {
                if commands.send(command).is_err() {
                    tracing::error!("the native engine's command queue is closed");
                }
            }
            Route::Window => {
                if let Err(error) = app.emit(event::ENGINE_COMMAND, &command) {
                    tracing::error!(%error, "could not send an engine command to the window");
                }
            }
        }
    }

    /// Plays or stops the ringtone on the ringer device.
    pub fn ring(&self, mode: RingerMode) {
        let Ok(audio) = &self.audio else { return };
        match mode {
            RingerMode::Off => {
                audio.stop_ringtone();
                audio.stop_call_waiting();
            }
            RingerMode::Ring => {
                audio.stop_call_waiting();
                audio.start_ringtone();
            }
            RingerMode::CallWaiting => {
                audio.stop_ringtone();
                audio.start_call_waiting();
            }
        }
    }
}

/// Switches to `kind`; for the native engine, logs in with a fresh token and starts it.
pub async fn use_engine<R: Runtime>(app: &AppHandle<R>, kind: CallEngine) -> Result<ConnectionStatus, IpcError> {
    let engine_state = app.state::<EngineHost>();
    if engine_state.kind() == Some(kind) {
        return current_connection(app);
    }
    stop(app).await;
    *engine_state.kind.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(kind);
    match kind {
        CallEngine::Webview => {
            tracing::info!("calls go through the webview engine");
            set_connection(app, ConnectionState::Connecting, None);
        }
        CallEngine::Native => {
            if let Err(error) = start_native(app).await {
                set_connection(app, ConnectionState::Error, Some(error.message.clone()));
                retry_native_start(app.clone());
                return Err(error);
            }
        }
    }
    current_connection(app)
}

/// Tries to start the native engine again, with growing pauses, until it runs or the engine
/// choice changes: a Telnyx outage or failing token minting at start-up must not leave the
/// phone offline once Telnyx is back. The status bar keeps saying why it is not ready.
fn retry_native_start<R: Runtime>(app: AppHandle<R>) {
    let generation = app.state::<EngineHost>().generation.load(Ordering::SeqCst);
    tauri::async_runtime::spawn(async move {
        let mut pause = NATIVE_RETRY_FIRST;
        loop {
            tokio::time::sleep(pause).await;
            let host = app.state::<EngineHost>();
            let current = host.generation.load(Ordering::SeqCst) == generation;
            if !current || host.kind() != Some(CallEngine::Native) || host.native().is_some() {
                return;
            }
            match start_native(&app).await {
                Ok(()) => {
                    tracing::info!("the native engine started on a retry");
                    return;
                }
                Err(error) => {
                    tracing::warn!(code = ?error.code, reason = %error.message, "the native engine did not start; retrying");
                    set_connection(&app, ConnectionState::Error, Some(error.message));
                }
            }
            pause = (pause * 2).min(NATIVE_RETRY_MAX);
        }
    });
}

/// Stops the native engine, if it runs (hanging up its calls).
pub async fn stop<R: Runtime>(app: &AppHandle<R>) {
    let engine_state = app.state::<EngineHost>();
    engine_state.generation.fetch_add(1, Ordering::SeqCst);
    let old = std::mem::replace(
        &mut *engine_state.route.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
        Route::Window,
    );
    if let Route::Native { engine, .. } = old {
        engine.shutdown().await;
    }
    *engine_state.kind.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
}

/// After the credentials changed: the demo badge follows, and the engine logs in again with the
/// new account (the webview engine is told through the connection state going to connecting).
pub async fn account_changed<R: Runtime>(app: &AppHandle<R>, demo: bool) {
    app.state::<Connection>().update(|current| current.demo = demo);
    let kind = app.state::<EngineHost>().kind();
    stop(app).await;
    if let Some(kind) = kind
        && let Err(error) = use_engine(app, kind).await
    {
        tracing::warn!(reason = %error.message, "the call engine did not restart");
    }
}

async fn start_native<R: Runtime>(app: &AppHandle<R>) -> Result<(), IpcError> {
    let engine_state = app.state::<EngineHost>();
    let audio = engine_state.audio.clone().map_err(|reason| {
        IpcError::new(
            ErrorCode::AudioUnavailable,
            format!("Calls need a microphone and a speaker, and none could be opened: {reason}"),
        )
    })?;
    set_connection(app, ConnectionState::Connecting, None);
    app.state::<Account>().wait_started().await?;
    let grant = app.state::<Account>().issue_login_token().await?;
    let config =
        NativeEngineConfig::new(grant.signaling_url, Secret::new(grant.login_token), grant.ice_servers.clone());
    let (engine, events) = NativeEngine::start(config, audio).await.map_err(|error| {
        tracing::warn!(code = %error.code(), %error, "the native engine did not start");
        IpcError::new(ErrorCode::EngineFailed, error.to_string())
    })?;
    let (commands, queue) = mpsc::unbounded_channel();
    *engine_state.route.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
        Route::Native { engine: engine.clone(), commands };
    tauri::async_runtime::spawn(execute_in_order(engine.clone(), queue));
    tauri::async_runtime::spawn(follow_events(app.clone(), engine.clone(), events));
    tauri::async_runtime::spawn(keep_token_fresh(app.clone(), engine, grant.expires_at_unix));
    tracing::info!("calls go through the native engine");
    Ok(())
}

/// One command at a time, in the machine's order (a hold must reach Telnyx before its unhold).
async fn execute_in_order(engine: NativeEngine, mut queue: mpsc::UnboundedReceiver<EngineCommand>) {
    while let Some(command) = queue.recv().await {
        if let Err(error) = engine.execute(command.clone()).await {
            tracing::warn!(?command, code = %error.code(), %error, "an engine command failed");
        }
    }
}

async fn follow_events<R: Runtime>(
    app: AppHandle<R>,
    engine: NativeEngine,
    mut events: mpsc::Receiver<NativeEngineEvent>,
) {
    let relogging = Arc::new(AtomicBool::new(false));
    while let Some(event) = events.recv().await {
        if let NativeEngineEvent::Connection(ConnectionChange::LoginFailed { .. }) = &event
            && !relogging.swap(true, Ordering::SeqCst)
        {
            let relogging = relogging.clone();
            let (app, engine) = (app.clone(), engine.clone());
            tauri::async_runtime::spawn(async move {
                login_again(&app, &engine).await;
                relogging.store(false, Ordering::SeqCst);
            });
        }
        match event {
            NativeEngineEvent::Call { call_id, update } => {
                // To the call loop, which logs a refusal.
                let _ = app.state::<mpsc::UnboundedSender<CallEvent>>().send(CallEvent::Engine { call_id, update });
            }
            NativeEngineEvent::Connection(change) => {
                let (state, reason) = match change {
                    ConnectionChange::Ready | ConnectionChange::Reconnected => (ConnectionState::Ready, None),
                    ConnectionChange::Reconnecting { attempt } => (
                        ConnectionState::Reconnecting,
                        Some(format!("The connection to Telnyx dropped; reconnecting (attempt {attempt}).")),
                    ),
                    ConnectionChange::LoginFailed { message } => (ConnectionState::Error, Some(message)),
                    ConnectionChange::Closed { message: None } => (ConnectionState::Offline, None),
                    ConnectionChange::Closed { message: Some(message) } => (ConnectionState::Error, Some(message)),
                };
                tracing::info!(?state, reason = reason.as_deref().unwrap_or(""), "connection");
                set_connection(&app, state, reason);
            }
        }
    }
}

/// Telnyx refused the engine's login (typically: the socket was down while the token lapsed, so
/// the reconnection's login was refused). Mints a new token and logs in with it, pausing longer
/// after each refusal, until one is accepted, the account is refused (the key was revoked: the
/// status bar says so) or the engine stops.
async fn login_again<R: Runtime>(app: &AppHandle<R>, engine: &NativeEngine) {
    let mut pause = RELOGIN_FIRST;
    loop {
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(RELOGIN_MAX);
        if !app.state::<EngineHost>().native().is_some_and(|current| current.same_as(engine)) {
            return;
        }
        let account = app.state::<Account>();
        account.forget_login_token().await;
        let grant = match account.issue_login_token().await {
            Ok(grant) => grant,
            Err(error) if error.code == ErrorCode::TelnyxAuthRejected => {
                tracing::warn!(reason = %error.message, "the account was refused; not logging in again");
                set_connection(app, ConnectionState::Error, Some(error.message));
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
                return;
            }
            Err(error) => tracing::warn!(code = %error.code(), %error, "the new login was refused too; retrying"),
        }
    }
}

/// When the current token (expiring at `expires_at_unix`) is due to be replaced, by the wall
/// clock.
fn token_refresh_due(expires_at_unix: u64) -> SystemTime {
    SystemTime::now() + token_refresh_wait(token_remaining(expires_at_unix))
}

/// Logs in again with a new JWT before the current one expires, for as long as the engine runs.
async fn keep_token_fresh<R: Runtime>(app: AppHandle<R>, engine: NativeEngine, mut expires_at_unix: u64) {
    let mut due = token_refresh_due(expires_at_unix);
    loop {
        if let Ok(left) = due.duration_since(SystemTime::now())
            && !left.is_zero()
        {
            tokio::time::sleep(left.min(TOKEN_CLOCK_CHECK)).await;
            if !app.state::<EngineHost>().native().is_some_and(|current| current.same_as(&engine)) {
                return;
            }
            continue;
        }
        let still_running = app.state::<EngineHost>().native().is_some_and(|current| current.same_as(&engine));
        if !still_running {
            return;
        }
        let refreshed = match app.state::<Account>().issue_login_token().await {
            Ok(grant) => match engine.refresh_token(Secret::new(grant.login_token)).await {
                Ok(()) => Ok(grant.expires_at_unix),
                Err(error) => Err(error.to_string()),
            },
            Err(error) => Err(error.message),
        };
        match refreshed {
            Ok(next) => {
                tracing::info!(expires_at_unix = next, "login token refreshed");
                expires_at_unix = next;
                due = token_refresh_due(next);
            }
            Err(reason) => {
                let retry = TOKEN_RETRY.min(token_remaining(expires_at_unix) / 4).max(Duration::from_secs(1));
                tracing::warn!(%reason, retry_in_ms = retry.as_millis() as u64, "the login token could not be refreshed; retrying");
                due = SystemTime::now() + retry;
            }
        }
    }
}

fn current_connection<R: Runtime>(app: &AppHandle<R>) -> Result<ConnectionStatus, IpcError> {
    Ok(app.state::<Connection>().status())
}

/// Records and publishes the connection state (the demo flag stays as it is).
pub fn set_connection<R: Runtime>(app: &AppHandle<R>, state: ConnectionState, reason: Option<String>) {
    let status = app.state::<Connection>().update(|current| {
        current.state = state;
        current.reason = reason;
    });
    if let Err(error) = app.emit(event::CONNECTION_UPDATED, status) {
        tracing::error!(%error, "could not tell the window the connection state");
    }
}

/// The diagnostics page: engine, connection, audio, and the media figures of every live call.
pub fn diagnostics<R: Runtime>(app: &AppHandle<R>, snapshot: &CallsSnapshot) -> Result<Diagnostics, IpcError> {
    let engine_state = app.state::<EngineHost>();
    let native = engine_state.native();
    let audio = match (&engine_state.audio, &engine_state.audio_problem) {
        (_, Some(problem)) => problem.clone(),
        (Ok(audio), None) => describe_audio(audio),
        (Err(reason), None) => format!("No audio devices: {reason}"),
    };
    let calls = snapshot
        .calls
        .iter()
        .filter_map(|call| {
            let engine = native.as_ref()?;
            let stats = engine.call_stats(&call.call_id)?;
            Some(media_diagnostics(&call.call_id, &stats, engine.audio()))
        })
        .collect();
    Ok(Diagnostics { engine: engine_state.kind(), connection: current_connection(app)?, audio, calls })
}

/// The in-call meters (silence when there are no devices).
pub fn audio_meter<R: Runtime>(app: &AppHandle<R>) -> AudioMeter {
    let engine_state = app.state::<EngineHost>();
    let Ok(audio) = &engine_state.audio else {
        return AudioMeter { input_dbfs: -120.0, output_dbfs: -120.0, heard_hz: None };
    };
    let levels = audio.levels();
    AudioMeter {
        input_dbfs: f64::from(levels.input_dbfs),
        output_dbfs: f64::from(levels.output_dbfs),
        heard_hz: audio.speaker_analysis().and_then(|heard| heard.dominant_hz).map(f64::from),
    }
}

/// "Microphone: X · Speaker: Y · Ringer: Z" (defaults named as such).
fn describe_audio(audio: &AudioSystem) -> String {
    let choice = audio.choice();
    let name = |chosen: &Option<String>| chosen.clone().unwrap_or_else(|| "system default".to_owned());
    let fake = if audio.is_fake() { " (test devices)" } else { "" };
    format!(
        "Microphone: {} · Speaker: {} · Ringer: {}{fake}",
        name(&choice.microphone),
        name(&choice.speaker),
        name(&choice.ringer)
    )
}

fn media_diagnostics(
    call_id: &CallId,
    stats: &softphone_media::MediaStats,
    audio: &AudioSystem,
) -> CallMediaDiagnostics {
    let levels = audio.levels();
    let heard = audio.speaker_analysis();
    CallMediaDiagnostics {
        call_id: call_id.as_str().to_owned(),
        codec: stats.codec.clone(),
        ice_state: stats.ice_state.to_string(),
        route: stats.route.clone(),
        rtt_ms: stats.rtt_ms.map(f64::from),
        jitter_ms: stats.jitter_ms.map(f64::from),
        packet_loss_percent: Some(f64::from(stats.packet_loss_pct)),
        mos: stats.mos.map(f64::from),
        output_level_dbfs: Some(f64::from(levels.output_dbfs)),
        input_level_dbfs: Some(f64::from(levels.input_dbfs)),
        heard_hz: heard.and_then(|h| h.dominant_hz).map(f64::from),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::token_refresh_wait;

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
