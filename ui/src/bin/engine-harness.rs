//! The engine harness: the webview call engine wired to the shell's real call state machine
//! (`softphone_core::call::CallMachine`) in a plain page, so the conformance suite can drive both
//! in headless Chromium against the simulator. It plays the shell's part: agent actions go into
//! the machine, the machine's engine commands go to the engine, the engine's updates go back
//! into the machine. Not part of the app; built only by the suite (`trunk build engine-harness.html`).
//!
//! Exposed to the page (trunk puts the exports on `window.wasmBindings`):
//! - `harness_start()`: fetches `/token` (a `LoginTokenGrant`) and starts the engine (greetings
//!   come from `/greeting/{name}.wav`);
//! - `harness_agent(event)`: one `CallEvent` (JSON) from the agent, e.g. `{kind: "dial", ...}`;
//! - `harness_log()`: everything that happened, as JSON records `{type, ...}`;
//! - `harness_webrtc_available()`.

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use softphone_core::call::{CallEvent, CallId, CallMachine, Effect, EngineUpdate, UnixMillis};
use softphone_core::ipc::{ErrorCode, IpcError, LoginTokenGrant};
use softphone_ui::engine::{
    EngineConfig, GreetingSource, SessionEvent, TokenSource, WebviewEngine, in_order, webrtc_available,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use yew::Callback;

/// One line of the harness's log, as the test reads it.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Record {
    /// The engine reported this to the "shell".
    Update { call_id: CallId, update: EngineUpdate },
    /// The machine told the engine to do this.
    Command { command: softphone_core::call::EngineCommand },
    /// The machine asked for a Call Control action (the test carries it out, as the shell's
    /// adapter would).
    CallControl { command: softphone_core::call::CallControlCommand },
    /// The machine published a new snapshot.
    Snapshot { calls: softphone_core::call::CallsSnapshot },
    /// The machine refused an event (a bug in the engine's reports, or an agent action out of turn).
    Rejection { event: String, reason: String },
    /// A session event of the engine (Debug form).
    Session { event: String },
}

#[derive(Default)]
struct Harness {
    engine: RefCell<Option<WebviewEngine>>,
    machine: RefCell<CallMachine>,
    log: RefCell<Vec<Record>>,
}

thread_local! {
    static HARNESS: Rc<Harness> = Rc::new(Harness::default());
}

fn harness() -> Rc<Harness> {
    HARNESS.with(Rc::clone)
}

fn now() -> UnixMillis {
    UnixMillis(js_sys::Date::now() as u64)
}

impl Harness {
    /// Feeds one event to the machine and carries out its effects, as the shell does.
    fn handle(&self, event: CallEvent) {
        let described = format!("{event:?}");
        let effects = self.machine.borrow_mut().handle(event, now());
        match effects {
            Ok(effects) => {
                for effect in effects {
                    match effect {
                        Effect::Engine(command) => {
                            self.log.borrow_mut().push(Record::Command { command: command.clone() });
                            let engine = self.engine.borrow().clone();
                            match engine {
                                Some(engine) => engine.execute(command),
                                None => self.log.borrow_mut().push(Record::Rejection {
                                    event: described.clone(),
                                    reason: "the engine has not started".to_owned(),
                                }),
                            }
                        }
                        Effect::CallControl(command) => {
                            self.log.borrow_mut().push(Record::CallControl { command });
                        }
                        Effect::Publish => {
                            let calls = self.machine.borrow().snapshot();
                            self.log.borrow_mut().push(Record::Snapshot { calls });
                        }
                        _ => {}
                    }
                }
            }
            Err(rejection) => {
                self.log.borrow_mut().push(Record::Rejection { event: described, reason: rejection.to_string() })
            }
        }
    }
}

fn main() {}

/// Starts the engine with a grant from the page server's `/token`, as the app does with
/// `issue_login_token`.
#[wasm_bindgen]
pub async fn harness_start() -> Result<(), JsValue> {
    let grant = fetch_grant().await.map_err(|error| JsValue::from_str(&error.to_string()))?;
    let token_source: TokenSource = Rc::new(|| Box::pin(fetch_grant()));
    // Like the app: reports go to the "shell" one after another, after the SDK's handler returned.
    let on_update = in_order(|(call_id, update): (CallId, EngineUpdate)| async move {
        let harness = harness();
        harness.log.borrow_mut().push(Record::Update { call_id: call_id.clone(), update: update.clone() });
        harness.handle(CallEvent::Engine { call_id, update });
    });
    let on_session = Callback::from(|event: SessionEvent| {
        harness().log.borrow_mut().push(Record::Session { event: format!("{event:?}") });
    });
    let greeting_source: GreetingSource = Rc::new(|name: String| Box::pin(fetch_greeting(name)));
    let engine = WebviewEngine::start(EngineConfig::new(grant), token_source, greeting_source, on_update, on_session)
        .map_err(|error| JsValue::from_str(&format!("{}: {error}", error.code())))?;
    *harness().engine.borrow_mut() = Some(engine);
    Ok(())
}

/// One agent action (`CallEvent` as JSON), fed to the machine.
#[wasm_bindgen]
pub fn harness_agent(event: JsValue) -> Result<(), JsValue> {
    let event: CallEvent = serde_wasm_bindgen::from_value(event)?;
    harness().handle(event);
    Ok(())
}

/// Everything logged so far, oldest first.
#[wasm_bindgen]
pub fn harness_log() -> Result<JsValue, JsValue> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    Ok(harness().log.borrow().serialize(&serializer)?)
}

#[wasm_bindgen]
pub fn harness_webrtc_available() -> bool {
    webrtc_available()
}

/// A greeting's WAV bytes from the page server's `/greeting/{name}.wav`, as the app reads them
/// from the shell (`read_greeting`).
async fn fetch_greeting(name: String) -> Result<Vec<u8>, IpcError> {
    let failed = |what: &str, error: JsValue| {
        IpcError::new(ErrorCode::Internal, format!("The harness could not {what} the greeting: {error:?}"))
    };
    let window = web_sys::window().ok_or_else(|| IpcError::new(ErrorCode::Internal, "no window"))?;
    let response = JsFuture::from(window.fetch_with_str(&format!("/greeting/{name}.wav")))
        .await
        .map_err(|error| failed("fetch", error))?;
    let response: web_sys::Response = response.unchecked_into();
    if !response.ok() {
        return Err(IpcError::new(ErrorCode::NotFound, format!("/greeting answered {}", response.status())));
    }
    let buffer = JsFuture::from(response.array_buffer().map_err(|error| failed("read", error))?)
        .await
        .map_err(|error| failed("read", error))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

async fn fetch_grant() -> Result<LoginTokenGrant, IpcError> {
    let failed = |what: &str, error: JsValue| {
        IpcError::new(ErrorCode::Internal, format!("The harness could not {what} /token: {error:?}"))
    };
    let window = web_sys::window().ok_or_else(|| IpcError::new(ErrorCode::Internal, "no window"))?;
    let response = JsFuture::from(window.fetch_with_str("/token")).await.map_err(|error| failed("fetch", error))?;
    let response: web_sys::Response = response.unchecked_into();
    if !response.ok() {
        return Err(IpcError::new(ErrorCode::Internal, format!("/token answered {}", response.status())));
    }
    let json = JsFuture::from(response.json().map_err(|error| failed("read", error))?)
        .await
        .map_err(|error| failed("parse", error))?;
    serde_wasm_bindgen::from_value(json)
        .map_err(|error| IpcError::new(ErrorCode::Internal, format!("/token is not a LoginTokenGrant: {error}")))
}
