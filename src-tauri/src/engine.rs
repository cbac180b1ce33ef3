//! Which engine carries the calls, and the native one's plumbing: the machine's commands to it, its
//! events into the call loop, its connection into the status bar. Keeping it started, logged in
//! and its token fresh is `softphone_native_engine::NativeSession`'s, with the account as its
//! token source.
//!
//! The window decides the engine (it knows whether its webview has WebRTC) and says so with
//! `use_call_engine`. Until then, and with the webview engine, the machine's engine commands go
//! to the window as `engine://command` events.

use std::sync::{Arc, Mutex};

use softphone_core::call::{CallEvent, CallId, CallsSnapshot, EngineCommand};
use softphone_core::call_log::CallEngine;
use softphone_core::ipc::{CallMediaDiagnostics, ConnectionState, ConnectionStatus, ErrorCode, IpcError, event};
use softphone_media::AudioSystem;
use softphone_native_engine::{
    ConnectionChange, NativeEngine, NativeEngineEvent, NativeSession, SessionConfig, SessionStart, TokenSource,
};
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::mpsc;

use crate::connection::Connection;

enum Route {
    /// Commands go to the window (the webview engine, or nobody yet).
    Window,
    /// Commands go to the native engine's session, in order.
    Native(NativeSession),
}

/// The engine in use, managed state.
pub struct EngineHost {
    route: Mutex<Route>,
    kind: Mutex<Option<CallEngine>>,
    /// The devices the native engine's calls use, or why there are none.
    audio: Result<AudioSystem, String>,
    /// Where the native engine's login tokens come from (the account).
    tokens: Arc<dyn TokenSource>,
}

impl EngineHost {
    /// Calls on `audio`, with login tokens from `tokens`.
    pub fn new(tokens: Arc<dyn TokenSource>, audio: Result<AudioSystem, String>) -> Self {
        EngineHost { route: Mutex::new(Route::Window), kind: Mutex::new(None), audio, tokens }
    }

    pub fn kind(&self) -> Option<CallEngine> {
        *self.kind.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The native engine running now, if the native engine carries the calls and runs.
    fn native(&self) -> Option<NativeEngine> {
        match &*self.route.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
            Route::Native(session) => session.engine(),
            Route::Window => None,
        }
    }

    /// The computer woke: the native engine re-registers now (a new socket, calls reattached).
    /// The webview engine's SDK notices a dead socket by itself.
    pub fn wake(&self) {
        let session = match &*self.route.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
            Route::Native(session) => session.clone(),
            Route::Window => return,
        };
        tauri::async_runtime::spawn(async move { session.wake().await });
    }

    /// Carries out one engine command of the machine: to the native engine's queue, or to the
    /// window.
    pub fn send<R: Runtime>(&self, app: &AppHandle<R>, command: EngineCommand) {
        let route = self.route.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*route {
            Route::Native(session) => session.send(command),
            Route::Window => {
                if let Err(error) = app.emit(event::ENGINE_COMMAND, &command) {
                    tracing::error!(%error, "could not send an engine command to the window");
                }
            }
        }
    }
}

/// Switches to `kind`; for the native engine, starts a session (which logs in with a fresh token
/// and, if the first start fails, goes on trying by itself: the status bar says why meanwhile).
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
        CallEngine::Native => start_native(app).await?,
    }
    current_connection(app)
}

/// Stops the native engine, if it runs (hanging up its calls).
pub async fn stop<R: Runtime>(app: &AppHandle<R>) {
    let engine_state = app.state::<EngineHost>();
    let old = std::mem::replace(
        &mut *engine_state.route.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
        Route::Window,
    );
    if let Route::Native(session) = old {
        session.shutdown().await;
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

/// Starts the native engine's session; its first start's failure is the answer (the session
/// goes on trying).
async fn start_native<R: Runtime>(app: &AppHandle<R>) -> Result<(), IpcError> {
    let engine_state = app.state::<EngineHost>();
    let audio = engine_state.audio.clone().map_err(|reason| {
        IpcError::new(
            ErrorCode::AudioUnavailable,
            format!("Calls need a microphone and a speaker, and none could be opened: {reason}"),
        )
    })?;
    let SessionStart { session, events, first_start } =
        NativeSession::start(Arc::clone(&engine_state.tokens), audio, SessionConfig::default()).await;
    *engine_state.route.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Route::Native(session);
    tauri::async_runtime::spawn(follow_events(app.clone(), events));
    tracing::info!("calls go through the native engine");
    first_start
}

/// The session's events: call updates to the call loop, connection changes to the status bar.
async fn follow_events<R: Runtime>(app: AppHandle<R>, mut events: mpsc::Receiver<NativeEngineEvent>) {
    while let Some(event) = events.recv().await {
        match event {
            NativeEngineEvent::Call { call_id, update } => {
                // To the call loop, which logs a refusal.
                let _ = app.state::<mpsc::UnboundedSender<CallEvent>>().send(CallEvent::Engine { call_id, update });
            }
            NativeEngineEvent::Connection(change) => {
                let (state, reason) = match change {
                    ConnectionChange::Connecting => (ConnectionState::Connecting, None),
                    ConnectionChange::Ready | ConnectionChange::Reconnected => (ConnectionState::Ready, None),
                    ConnectionChange::Reconnecting { attempt } => (
                        ConnectionState::Reconnecting,
                        Some(format!("The connection to Telnyx dropped; reconnecting (attempt {attempt}).")),
                    ),
                    ConnectionChange::StartFailed { message } | ConnectionChange::LoginFailed { message } => {
                        (ConnectionState::Error, Some(message))
                    }
                    ConnectionChange::Closed { message: None } => (ConnectionState::Offline, None),
                    ConnectionChange::Closed { message: Some(message) } => (ConnectionState::Error, Some(message)),
                };
                tracing::info!(?state, reason = reason.as_deref().unwrap_or(""), "connection");
                set_connection(&app, state, reason);
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

/// The media figures of every live call the native engine carries.
pub fn call_diagnostics<R: Runtime>(app: &AppHandle<R>, snapshot: &CallsSnapshot) -> Vec<CallMediaDiagnostics> {
    let Some(engine) = app.state::<EngineHost>().native() else { return Vec::new() };
    snapshot
        .calls
        .iter()
        .filter_map(|call| {
            let stats = engine.call_stats(&call.call_id)?;
            Some(media_diagnostics(&call.call_id, &stats, engine.audio()))
        })
        .collect()
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
