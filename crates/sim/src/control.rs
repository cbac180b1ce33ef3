//! `/control/...`: the test-facing API of the simulator. JSON, no authentication, and answered
//! only for peers on a loopback address (403 otherwise), whatever address the simulator listens on.
//!
//! - `GET /control/state`: [`StateSnapshot`] (credentials without passwords, queued faults, the
//!   request log).
//! - `POST /control/faults` with a [`FaultSpec`], e.g. `{"status":429,"count":2}` or
//!   `{"delay_ms":3000}`, optionally for one path (`"path_prefix":"/v2/calls/"`) and with the
//!   Telnyx error to answer (`"error":{"code","title","detail"}`): 204, or 422 with `{"error": "..."}`.
//! - `DELETE /control/faults`: drops every queued fault; 204.
//! - `POST /control/reset`: drops faults and the request log (credentials stay); 204.
//! - `POST /control/tokens/expire`: every login token issued so far is expired from now on (a
//!   machine asleep past them); `{"issued_before_expired": <unix seconds>}`.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, extract::DefaultBodyLimit};
use serde_json::json;

use crate::state::{FaultSpec, SimState, StateSnapshot};

/// The `/control` routes.
pub fn routes(state: SimState) -> Router {
    Router::new()
        .route("/control/state", get(show_state))
        .route("/control/faults", post(push_fault).delete(clear_faults))
        .route("/control/reset", post(reset))
        .route("/control/tokens/expire", post(expire_tokens))
        .layer(DefaultBodyLimit::max(16 * 1024))
        .layer(middleware::from_fn(loopback_only))
        .with_state(state)
}

async fn loopback_only(ConnectInfo(peer): ConnectInfo<SocketAddr>, request: Request, next: Next) -> Response {
    if peer.ip().is_loopback() {
        next.run(request).await
    } else {
        (StatusCode::FORBIDDEN, Json(json!({ "error": "the control API answers loopback peers only" }))).into_response()
    }
}

/// Every login token issued so far is expired from now on (a machine that slept past them).
async fn expire_tokens(State(state): State<SimState>) -> Json<serde_json::Value> {
    Json(json!({ "issued_before_expired": state.expire_tokens_now() }))
}

async fn show_state(State(state): State<SimState>) -> Json<StateSnapshot> {
    Json(state.snapshot())
}

async fn push_fault(State(state): State<SimState>, spec: Result<Json<FaultSpec>, JsonRejection>) -> Response {
    let spec = match spec {
        Ok(Json(spec)) => spec,
        Err(rejection) => {
            let status = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            return (status, Json(json!({ "error": rejection.body_text() }))).into_response();
        }
    };
    match state.push_fault(&spec) {
        Ok(()) => {
            tracing::info!(?spec, "fault queued");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "error": e.to_string() }))).into_response(),
    }
}

async fn clear_faults(State(state): State<SimState>) -> StatusCode {
    state.clear_faults();
    StatusCode::NO_CONTENT
}

async fn reset(State(state): State<SimState>) -> StatusCode {
    state.reset();
    StatusCode::NO_CONTENT
}
