//! The one door from the UI to the shell. Nothing else in the UI touches `window.__TAURI__`.
//!
//! Every command is a typed function; failures arrive as the shell's [`IpcError`], so the UI
//! branches on `code`, never on message text.

use serde::{Serialize, de::DeserializeOwned};
use softphone_core::ipc::{AppInfo, ConnectionStatus, ErrorCode, IpcError, command, event};
use wasm_bindgen::prelude::*;
use yew::Callback;

#[wasm_bindgen]
extern "C" {
    /// `window.__TAURI__.core.invoke`; a rejected promise (or a missing `__TAURI__`) is `Err`.
    #[wasm_bindgen(catch, js_namespace = ["window", "__TAURI__", "core"], js_name = invoke)]
    async fn tauri_invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;

    /// `window.__TAURI__.event.listen`; resolves to the unlisten function.
    #[wasm_bindgen(catch, js_namespace = ["window", "__TAURI__", "event"], js_name = listen)]
    async fn tauri_listen(event: &str, handler: &Closure<dyn FnMut(JsValue)>) -> Result<JsValue, JsValue>;
}

#[derive(Serialize)]
struct NoArgs {}

/// Invokes a shell command with typed arguments and a typed answer.
pub async fn invoke<A: Serialize, R: DeserializeOwned>(cmd: &str, args: &A) -> Result<R, IpcError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    let args = args.serialize(&serializer).map_err(|error| {
        IpcError::new(ErrorCode::Internal, format!("The window could not encode the request {cmd}: {error}"))
    })?;
    match tauri_invoke(cmd, args).await {
        Ok(answer) => serde_wasm_bindgen::from_value(answer).map_err(|error| {
            IpcError::new(ErrorCode::Internal, format!("The shell's answer to {cmd} could not be read: {error}"))
        }),
        Err(rejection) => Err(serde_wasm_bindgen::from_value::<IpcError>(rejection.clone()).unwrap_or_else(|_| {
            IpcError::new(
                ErrorCode::Internal,
                format!("The shell did not answer {cmd}: {}", describe_js_error(&rejection)),
            )
        })),
    }
}

/// A sentence for a JS exception or rejection value (`Error` objects give their message).
fn describe_js_error(value: &JsValue) -> String {
    if let Some(text) = value.as_string() {
        return text;
    }
    if let Some(error) = value.dyn_ref::<js_sys::Error>() {
        return String::from(error.message());
    }
    js_sys::JSON::stringify(value).ok().and_then(|text| text.as_string()).unwrap_or_else(|| "unknown error".to_owned())
}

pub async fn get_app_info() -> Result<AppInfo, IpcError> {
    invoke(command::GET_APP_INFO, &NoArgs {}).await
}

pub async fn get_connection_status() -> Result<ConnectionStatus, IpcError> {
    invoke(command::GET_CONNECTION_STATUS, &NoArgs {}).await
}

/// Calls `on_update` with every `connection://updated` the shell emits, for the life of the
/// window (the subscription is never dropped, so its closure is intentionally leaked).
pub fn on_connection_updated(on_update: Callback<ConnectionStatus>, on_error: Callback<IpcError>) {
    listen_forever(event::CONNECTION_UPDATED, on_update, on_error);
}

fn listen_forever<T: DeserializeOwned + 'static>(
    name: &'static str,
    on_payload: Callback<T>,
    on_error: Callback<IpcError>,
) {
    let handler_error = on_error.clone();
    let handler = Closure::<dyn FnMut(JsValue)>::new(move |tauri_event: JsValue| {
        let payload = js_sys::Reflect::get(&tauri_event, &JsValue::from_str("payload")).unwrap_or(JsValue::UNDEFINED);
        match serde_wasm_bindgen::from_value::<T>(payload) {
            Ok(value) => on_payload.emit(value),
            Err(error) => handler_error.emit(IpcError::new(
                ErrorCode::Internal,
                format!("The shell sent a {name} event the window could not read: {error}"),
            )),
        }
    });
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(rejection) = tauri_listen(name, &handler).await {
            on_error.emit(IpcError::new(
                ErrorCode::Internal,
                format!("The window could not subscribe to {name}: {}", describe_js_error(&rejection)),
            ));
        }
        handler.forget();
    });
}
