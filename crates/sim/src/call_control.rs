//! `/v2/calls/...` and `/v2/connections/{id}/active_calls`: Call Control v2 as Telnyx's API
//! reference shapes it, on the switchboard's calls (see
//! [`crate::signaling::switchboard`]'s `call_control` for what the actions do).
//!
//! | route                                         | answer |
//! |-----------------------------------------------|--------|
//! | `POST /v2/calls/{id}/actions/transfer`        | 200 `{"data":{"result":"ok"}}`; `to` required (E.164 or SIP URI), `timeout_secs` 5..=600 |
//! | `POST /v2/calls/{id}/actions/hangup`          | 200 `{"data":{"result":"ok"}}` |
//! | `GET /v2/calls/{id}`                          | 200 `{"data": Call}` (`is_alive`, `call_duration`, ...) or 404 `10005` |
//! | `GET /v2/connections/{id}/active_calls`       | 200 `{"data": [..], "meta": {"total_items", "cursors", ..}}` |
//!
//! Refusals are 422 with Telnyx's codes: `90015` invalid id, `90018` call ended, `90034` not
//! answered, `10004` missing parameter, `10016` not E.164, `10033` out of range, `10015` other.
//! A command whose `command_id` was already carried out on the same leg answers ok and does
//! nothing again. Every route needs the API key and passes the fault gate of [`crate::rest`].

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::rest::{ApiError, MAX_BODY_BYTES, authorize, gate};
use crate::signaling::Switchboard;
use crate::signaling::switchboard::{ActionRefusal, LegView};
use crate::state::SimState;

#[derive(Clone)]
struct Both {
    state: SimState,
    board: Switchboard,
}

/// The Call Control routes.
pub fn routes(state: SimState, board: Switchboard) -> Router {
    Router::new()
        .route("/v2/calls/{id}", get(show_call))
        .route("/v2/calls/{id}/actions/{action}", post(act))
        .route("/v2/connections/{id}/active_calls", get(active_calls))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        .with_state(Both { state, board })
}

impl From<ActionRefusal> for ApiError {
    fn from(refusal: ActionRefusal) -> Self {
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        let detail = refusal.to_string();
        match refusal {
            ActionRefusal::InvalidCallControlId => {
                ApiError::new(unprocessable, "90015", "Invalid Call Control ID", detail).at("/call_control_id")
            }
            ActionRefusal::CallEnded => ApiError::new(unprocessable, "90018", "Call has already ended", detail),
            ActionRefusal::NotAnswered => ApiError::new(unprocessable, "90034", "Call not answered yet", detail),
            ActionRefusal::Missing(_) => {
                ApiError::new(unprocessable, "10004", "Missing required parameter", detail).at("/to")
            }
            ActionRefusal::NotE164 => {
                ApiError::new(unprocessable, "10016", "Phone number must be in +E164 format", detail).at("/to")
            }
            ActionRefusal::OutOfRange(_) => {
                ApiError::new(unprocessable, "10033", "Value outside of range", detail).at("/timeout_secs")
            }
            ActionRefusal::Unsupported(_) => ApiError::new(unprocessable, "10015", "Bad Request", detail),
        }
    }
}

fn ok() -> Response {
    axum::Json(json!({ "data": { "result": "ok" } })).into_response()
}

/// The body as a JSON object (an empty body is `{}`, as for `hangup`).
fn object(body: Result<Bytes, BytesRejection>) -> Result<serde_json::Map<String, Value>, ApiError> {
    let body = body.map_err(|rejection| {
        ApiError::bad_request(rejection.status(), "The request body could not be read.".to_owned())
    })?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice(&body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::bad_request(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The request body is not a JSON object.".to_owned(),
        )),
    }
}

fn optional_string<'a>(
    body: &'a serde_json::Map<String, Value>,
    key: &'static str,
) -> Result<Option<&'a str>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(ApiError::bad_request(StatusCode::UNPROCESSABLE_ENTITY, format!("'{key}' must be a string."))
            .at(match key {
                "to" => "/to",
                "command_id" => "/command_id",
                _ => "/",
            })),
    }
}

async fn act(
    State(both): State<Both>,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&both.state, &headers)?;
    let Path((call_control_id, action)) = path.map_err(|_| ApiError::not_found())?;
    let body = object(body)?;
    let command_id = optional_string(&body, "command_id")?;
    if let Some(command_id) = command_id
        && both.board.carried_out(&call_control_id, command_id)
    {
        tracing::info!(call_control_id, action, "repeated command_id; ignored");
        return Ok(ok());
    }
    match action.as_str() {
        "transfer" => {
            let to = optional_string(&body, "to")?.unwrap_or_default();
            let timeout_secs = match body.get("timeout_secs") {
                None | Some(Value::Null) => None,
                Some(value) => Some(value.as_u64().ok_or(ActionRefusal::OutOfRange("timeout_secs"))?),
            };
            both.board.transfer(&call_control_id, to, timeout_secs)?;
        }
        "hangup" => both.board.hang_up_leg(&call_control_id)?,
        _ => return Err(ApiError::not_found()),
    }
    if let Some(command_id) = command_id {
        both.board.remember_command(&call_control_id, command_id);
    }
    Ok(ok())
}

fn call_json(leg: &LegView) -> Value {
    let iso = |ms: u64| jiff::Timestamp::from_millisecond(ms as i64).map(|t| t.to_string()).unwrap_or_default();
    let mut call = json!({
        "record_type": "call",
        "call_control_id": leg.call_control_id,
        "call_leg_id": leg.call_leg_id,
        "call_session_id": leg.call_session_id,
        "is_alive": leg.is_alive,
        "start_time": iso(leg.started_at_ms),
        "call_duration": leg.ended_at_ms.unwrap_or_else(now_ms).saturating_sub(leg.started_at_ms) / 1000,
    });
    if let Some(ended) = leg.ended_at_ms.filter(|_| !leg.is_alive) {
        call["end_time"] = json!(iso(ended));
    }
    call
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

async fn show_call(
    State(both): State<Both>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    authorize(&both.state, &headers)?;
    let Path(call_control_id) = path.map_err(|_| ApiError::not_found())?;
    let leg = both.board.leg(&call_control_id).ok_or_else(ApiError::not_found)?;
    Ok(axum::Json(json!({ "data": call_json(&leg) })).into_response())
}

async fn active_calls(
    State(both): State<Both>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    authorize(&both.state, &headers)?;
    let Path(connection_id) = path.map_err(|_| ApiError::not_found())?;
    let data: Vec<Value> = both
        .board
        .active_legs(&connection_id)
        .iter()
        .map(|leg| {
            let mut call = call_json(leg);
            if let Some(map) = call.as_object_mut() {
                map.remove("is_alive");
                map.remove("start_time");
            }
            call
        })
        .collect();
    let total = data.len();
    Ok(axum::Json(json!({
        "data": data,
        "meta": { "total_items": total, "cursors": { "after": null, "before": null }, "next": null, "previous": null },
    }))
    .into_response())
}
