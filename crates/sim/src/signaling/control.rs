//! The signaling part of `/control` (loopback peers only, JSON):
//!
//! | method + path                          | body                                              | answer |
//! |----------------------------------------|---------------------------------------------------|--------|
//! | `GET /control/calls`                   |                                                   | `{"calls": [CallView]}` |
//! | `GET /control/sessions`                |                                                   | `{"sessions": [SessionView]}` |
//! | `POST /control/calls/inbound`          | [`InboundCall`]                                   | 201 [`InboundStarted`] |
//! | `POST /control/calls/{id}/hangup`      | [`Hangup`] (`{}` = NORMAL_CLEARING 16 / 200)      | 204 |
//! | `POST /control/calls/{id}/display`     | `{"name", "number"}`                              | 204 |
//! | `POST /control/sessions/{id}/drop`     | none (`{id}` = sessid or `all`)                   | `{"sessions": n}` |
//! | `POST /control/sessions/{id}/punt`     | none (`{id}` = sessid or `all`)                   | `{"sessions": n}` |
//! | `POST /control/sessions/{id}/freeze`   | none: the socket stays open and goes silent (a sleeping computer's) | `{"sessions": n}` |
//! | `POST /control/pings`                  | `{"answer": bool}`                                | 204 |
//! | `POST /control/logins`                 | `{"reply_after_ms": n}`: every `login` reply held that long (a slow Telnyx; 0 = at once) | 204 |
//! | `POST /control/hostile`                | `{"enabled": bool}` (see [`super::hostile`])      | 204 |
//! | `POST /control/strict`                 | `{"enabled": bool}` (see [`super::audit`])        | 204 |
//! | `GET /control/findings`                |                                                   | [`FindingsView`] |
//! | `DELETE /control/findings`             |                                                   | 204 |
//! | `GET /control/frame-shapes`            |                                                   | [`FrameShapes`] of every client frame so far |
//! | `PUT /control/numbers/{number}`        | `{"behaviour": "busy"}` (a word of `--help`), optional `"hz"`: its tone | 204; calls to it do that from now on |
//! | `DELETE /control/numbers`              |                                                   | 204; every scripted number forgotten |
//! | `GET /control/legs`                    |                                                   | `[LegView]`: Call Control's legs, each with what its party hears |
//!
//! Errors: 404 unknown call or session, 409 call already ended or no client logged in,
//! 422 unusable body, 500 media failure; all with `{"error": "..."}`.

use std::net::SocketAddr;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

#[cfg(doc)]
use super::audit::FindingsView;
#[cfg(doc)]
use super::frame_shapes::FrameShapes;
use super::switchboard::{ControlError, Hangup, InboundCall, Switchboard};

/// The signaling control routes.
pub fn routes(board: Switchboard) -> Router {
    Router::new()
        .route("/control/calls", get(list_calls))
        .route("/control/sessions", get(list_sessions))
        .route("/control/calls/inbound", post(start_inbound))
        .route("/control/calls/{id}/hangup", post(hang_up))
        .route("/control/calls/{id}/display", post(display))
        .route("/control/sessions/{id}/drop", post(drop_sessions))
        .route("/control/sessions/{id}/freeze", post(freeze_sessions))
        .route("/control/sessions/{id}/punt", post(punt))
        .route("/control/pings", post(pings))
        .route("/control/logins", post(logins))
        .route("/control/hostile", post(hostile))
        .route("/control/strict", post(strict))
        .route("/control/findings", get(findings).delete(clear_findings))
        .route("/control/frame-shapes", get(frame_shapes))
        .route("/control/numbers/{number}", axum::routing::put(script_number))
        .route("/control/numbers", axum::routing::delete(clear_scripts))
        .route("/control/legs", get(list_legs))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(middleware::from_fn(loopback_only))
        .with_state(board)
}

async fn loopback_only(ConnectInfo(peer): ConnectInfo<SocketAddr>, request: Request, next: Next) -> Response {
    if peer.ip().is_loopback() {
        next.run(request).await
    } else {
        (StatusCode::FORBIDDEN, Json(json!({ "error": "the control API answers loopback peers only" }))).into_response()
    }
}

fn control_error(error: &ControlError) -> Response {
    let status = match error {
        ControlError::UnknownCall(_) | ControlError::UnknownSession(_) => StatusCode::NOT_FOUND,
        ControlError::CallEnded(_) | ControlError::NoClient => StatusCode::CONFLICT,
        ControlError::Media(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, Json(json!({ "error": error.to_string() }))).into_response()
}

fn body_error(rejection: &JsonRejection) -> Response {
    let status = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (status, Json(json!({ "error": rejection.body_text() }))).into_response()
}

#[derive(Deserialize)]
struct Script {
    behaviour: String,
    /// The tone the number says when it answers, in Hz (440 if absent).
    #[serde(default)]
    hz: Option<f32>,
}

async fn script_number(
    State(board): State<Switchboard>,
    Path(number): Path<String>,
    body: Result<Json<Script>, JsonRejection>,
) -> Response {
    let script = match body {
        Ok(Json(script)) => script,
        Err(rejection) => return body_error(&rejection),
    };
    match super::numbers::Behaviour::from_word(&script.behaviour) {
        Some(behaviour) => {
            board.script_number(&number, behaviour);
            if let Some(hz) = script.hz.filter(|hz| (50.0..=3_900.0).contains(hz)) {
                board.script_tone(&number, hz);
            }
            StatusCode::NO_CONTENT.into_response()
        }
        None => {
            let words: Vec<&str> = super::numbers::Behaviour::ALL.iter().map(|b| b.word()).collect();
            let error = format!("no behaviour is called {:?}; use one of {}", script.behaviour, words.join(", "));
            (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "error": error }))).into_response()
        }
    }
}

async fn list_legs(State(board): State<Switchboard>) -> Response {
    Json(board.legs()).into_response()
}

async fn clear_scripts(State(board): State<Switchboard>) -> Response {
    board.clear_scripts();
    StatusCode::NO_CONTENT.into_response()
}

async fn list_calls(State(board): State<Switchboard>) -> Response {
    Json(json!({ "calls": board.calls() })).into_response()
}

async fn list_sessions(State(board): State<Switchboard>) -> Response {
    Json(json!({ "sessions": board.sessions() })).into_response()
}

async fn start_inbound(State(board): State<Switchboard>, body: Result<Json<InboundCall>, JsonRejection>) -> Response {
    let request = match body {
        Ok(Json(request)) => request,
        Err(rejection) => return body_error(&rejection),
    };
    match board.start_inbound(request) {
        Ok(started) => (StatusCode::CREATED, Json(started)).into_response(),
        Err(error) => control_error(&error),
    }
}

async fn hang_up(
    State(board): State<Switchboard>,
    Path(id): Path<String>,
    body: Result<Json<Hangup>, JsonRejection>,
) -> Response {
    let hangup = match body {
        Ok(Json(hangup)) => hangup,
        // No body at all means the defaults.
        Err(JsonRejection::MissingJsonContentType(_)) => Hangup::default(),
        Err(rejection) => return body_error(&rejection),
    };
    match board.hang_up(&id, hangup) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => control_error(&error),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DisplayBody {
    name: String,
    number: String,
}

async fn display(
    State(board): State<Switchboard>,
    Path(id): Path<String>,
    body: Result<Json<DisplayBody>, JsonRejection>,
) -> Response {
    let body = match body {
        Ok(Json(body)) => body,
        Err(rejection) => return body_error(&rejection),
    };
    match board.display(&id, &body.name, &body.number) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => control_error(&error),
    }
}

async fn drop_sessions(State(board): State<Switchboard>, Path(id): Path<String>) -> Response {
    match board.drop_sessions(&id) {
        Ok(n) => Json(json!({ "sessions": n })).into_response(),
        Err(error) => control_error(&error),
    }
}

async fn freeze_sessions(State(board): State<Switchboard>, Path(id): Path<String>) -> Response {
    match board.freeze_sessions(&id) {
        Ok(n) => Json(json!({ "sessions": n })).into_response(),
        Err(error) => control_error(&error),
    }
}

async fn punt(State(board): State<Switchboard>, Path(id): Path<String>) -> Response {
    match board.punt(&id) {
        Ok(n) => Json(json!({ "sessions": n })).into_response(),
        Err(error) => control_error(&error),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PingsBody {
    answer: bool,
}

async fn pings(State(board): State<Switchboard>, body: Result<Json<PingsBody>, JsonRejection>) -> Response {
    match body {
        Ok(Json(body)) => {
            board.set_answer_pings(body.answer);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(rejection) => body_error(&rejection),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginsBody {
    reply_after_ms: u64,
}

/// The longest a login reply may be held: longer than any client waits.
const LONGEST_LOGIN_HOLD_MS: u64 = 60_000;

async fn logins(State(board): State<Switchboard>, body: Result<Json<LoginsBody>, JsonRejection>) -> Response {
    match body {
        Ok(Json(LoginsBody { reply_after_ms })) if reply_after_ms <= LONGEST_LOGIN_HOLD_MS => {
            board.set_login_reply_delay(std::time::Duration::from_millis(reply_after_ms));
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": format!("reply_after_ms is at most {LONGEST_LOGIN_HOLD_MS}") })),
        )
            .into_response(),
        Err(rejection) => body_error(&rejection),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostileBody {
    enabled: bool,
}

async fn hostile(State(board): State<Switchboard>, body: Result<Json<HostileBody>, JsonRejection>) -> Response {
    match body {
        Ok(Json(body)) => {
            board.set_hostile(body.enabled);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(rejection) => body_error(&rejection),
    }
}

async fn strict(State(board): State<Switchboard>, body: Result<Json<HostileBody>, JsonRejection>) -> Response {
    match body {
        Ok(Json(HostileBody { enabled })) => {
            board.audit().set_strict(enabled);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(rejection) => body_error(&rejection),
    }
}

async fn findings(State(board): State<Switchboard>) -> Response {
    Json(board.audit().findings()).into_response()
}

async fn clear_findings(State(board): State<Switchboard>) -> Response {
    board.audit().clear_findings();
    StatusCode::NO_CONTENT.into_response()
}

async fn frame_shapes(State(board): State<Switchboard>) -> Response {
    Json(board.audit().observed()).into_response()
}
