//! Starts the call engine once the window is up: the webview engine where this webview has
//! WebRTC, else the shell's native engine, as the agent's setting and [`select_engine`] decide.
//! The webview engine's updates go to the shell; the shell's commands come back to it.

use std::cell::RefCell;
use std::rc::Rc;

use softphone_core::call::{CallId, EngineCommand, EngineUpdate};
use softphone_core::call_log::CallEngine;
use softphone_core::ipc::{ConnectionState, ErrorCode, IpcError, event};
use yew::Callback;

use crate::backend;
use softphone_ui::engine::{
    EngineConfig, EnginePreference, GreetingSource, SessionEvent, TokenSource, WebviewEngine, in_order, select_engine,
    webrtc_available,
};

/// The webview engine, when it runs (one per window).
pub type RunningWebviewEngine = Rc<RefCell<Option<WebviewEngine>>>;

/// What the window tells the agent about the engine: which one runs and, when it is not what
/// they asked for, why.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineChoice {
    pub engine: Option<CallEngine>,
    pub notice: Option<String>,
}

/// Chooses and starts the engine. `on_choice` hears the decision, `on_error` any failure.
pub fn start(
    preference: EnginePreference,
    running: RunningWebviewEngine,
    on_choice: Callback<EngineChoice>,
    on_error: Callback<IpcError>,
) {
    let selection = select_engine(preference, webrtc_available(), true);
    on_choice.emit(EngineChoice { engine: selection.engine, notice: selection.notice.clone() });
    wasm_bindgen_futures::spawn_local(async move {
        let Some(engine) = selection.engine else { return };
        if let Err(error) = backend::use_call_engine(engine).await {
            on_error.emit(error);
            return;
        }
        if engine == CallEngine::Webview
            && let Err(error) = start_webview(&running).await
        {
            on_error.emit(error);
        }
    });
}

async fn start_webview(running: &RunningWebviewEngine) -> Result<(), IpcError> {
    let grant = backend::issue_login_token().await?;
    let token_source: TokenSource = Rc::new(|| Box::pin(backend::issue_login_token()));
    // One report at a time: separate invokes may reach the shell out of order (held after active).
    let on_update = in_order(|(call_id, update): (CallId, EngineUpdate)| async move {
        if let Err(error) = backend::report_engine_update(&call_id, &update).await {
            gloo::console::warn!(format!("The shell refused an engine update: {}", error.message));
        }
    });
    let on_session = Callback::from(|session: SessionEvent| {
        let reason = match &session {
            SessionEvent::SocketClosed { .. } => Some("The connection to Telnyx dropped; reconnecting.".to_owned()),
            SessionEvent::Error(problem) => Some(problem.describe()),
            _ => None,
        };
        if let Some(state) = session.connection_state() {
            wasm_bindgen_futures::spawn_local(async move {
                let _ = backend::report_engine_connection(state, reason.as_deref()).await;
            });
        }
    });
    // The shell's commands reach the engine only through this subscription: it is in place
    // before the engine reports itself.
    let commands = Rc::clone(running);
    backend::listen_forever(
        event::ENGINE_COMMAND,
        Callback::from(move |command: EngineCommand| {
            if let Some(engine) = commands.borrow().as_ref() {
                engine.execute(command);
            }
        }),
        Callback::from(|error: IpcError| gloo::console::error!(error.message)),
    )
    .await;
    let greeting_source: GreetingSource =
        Rc::new(|name: String| Box::pin(async move { backend::read_greeting(&name).await }));
    let engine = WebviewEngine::start(EngineConfig::new(grant), token_source, greeting_source, on_update, on_session)
        .map_err(|error| IpcError::new(ErrorCode::EngineFailed, error.to_string()))?;
    *running.borrow_mut() = Some(engine);
    let _ = backend::report_engine_connection(ConnectionState::Connecting, None).await;
    Ok(())
}
