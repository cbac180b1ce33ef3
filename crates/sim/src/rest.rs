//! `/v2/...`: the part of Telnyx's REST API the softphone uses, answering like Telnyx does.
//!
//! Error bodies follow Telnyx v2: `{"errors":[{"code","title","detail","source"?,"meta"}]}` with
//! the codes of Telnyx's published error table:
//!
//! | status | code  | title                      | when                                          |
//! |--------|-------|----------------------------|-----------------------------------------------|
//! | 401    | 10009 | Authentication failed      | no `Authorization: Bearer`, or an unknown key |
//! | 404    | 10005 | Resource not found         | unknown credential id or path                 |
//! | 413    | 10015 | Bad Request                | body over [`MAX_BODY_BYTES`]                  |
//! | 422    | 10004 | Missing required parameter | no `connection_id` (`source.pointer`)         |
//! | 422    | 10015 | Bad Request                | body that is not a JSON object / wrong types  |
//! | 429    | 10011 | Too many requests          | injected fault; with `Retry-After`            |
//! | 5xx    | 10007 | Unexpected error           | injected fault                                |
//!
//! Telnyx answers malformed JSON with 400 in places; the simulator uses 422 for every body it
//! cannot use, which the client treats the same (not retried).

use std::collections::HashMap;
use std::time::SystemTime;

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::{Credential, SimState};

/// Largest request body the REST routes read, in bytes; larger ones get 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A Telnyx v2 error response.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: String,
    title: String,
    detail: String,
    pointer: Option<&'static str>,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, title: &'static str, detail: String) -> Self {
        Self { status, code: code.to_owned(), title: title.to_owned(), detail, pointer: None, retry_after_secs: None }
    }

    /// 401, code 10009.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "10009",
            "Authentication failed",
            "The required authentication headers were either invalid or not included in the request.".to_owned(),
        )
    }

    /// 404, code 10005.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "10005",
            "Resource not found",
            "The requested resource or URL could not be found.".to_owned(),
        )
    }

    /// 422, code 10004, pointing at the missing parameter.
    pub fn missing_parameter(pointer: &'static str, detail: &str) -> Self {
        let mut error =
            Self::new(StatusCode::UNPROCESSABLE_ENTITY, "10004", "Missing required parameter", detail.to_owned());
        error.pointer = Some(pointer);
        error
    }

    /// `pointer` names the parameter at fault.
    pub(crate) fn at(mut self, pointer: &'static str) -> Self {
        self.pointer = Some(pointer);
        self
    }

    /// 422 (or the given status), code 10015.
    pub fn bad_request(status: StatusCode, detail: String) -> Self {
        Self::new(status, "10015", "Bad Request", detail)
    }

    /// The error an injected fault answers with.
    pub fn injected(status: StatusCode, retry_after_secs: u64) -> Self {
        match status {
            StatusCode::TOO_MANY_REQUESTS => {
                let mut error = Self::new(
                    status,
                    "10011",
                    "Too many requests",
                    "You have exceeded the maximum number of allowed requests.".to_owned(),
                );
                error.retry_after_secs = Some(retry_after_secs);
                error
            }
            StatusCode::UNAUTHORIZED => Self::unauthenticated(),
            StatusCode::NOT_FOUND => Self::not_found(),
            s if s.is_server_error() => {
                Self::new(s, "10007", "Unexpected error", "An unexpected error occured.".to_owned())
            }
            s => Self::bad_request(s, "Injected fault.".to_owned()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
            "meta": { "url": format!("https://developers.telnyx.com/docs/overview/errors/{}", self.code) },
        });
        if let Some(pointer) = self.pointer {
            error["source"] = json!({ "pointer": pointer });
        }
        let mut response = (self.status, axum::Json(json!({ "errors": [error] }))).into_response();
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The `/v2` routes, behind the gate that logs requests and injects faults.
pub fn routes(state: SimState) -> Router {
    Router::new()
        .route("/v2/telephony_credentials", get(list_credentials).post(create_credential))
        .route("/v2/telephony_credentials/{id}", get(show_credential))
        .route("/v2/telephony_credentials/{id}/token", post(mint_token))
        .route("/v2/phone_numbers", get(list_phone_numbers))
        .fallback(|| async { ApiError::not_found() })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        .with_state(state)
}

/// Logs every REST request and applies the next queued fault, if any.
pub(crate) async fn gate(State(state): State<SimState>, request: Request, next: Next) -> Response {
    let seq = state.record_request(request.method().as_str(), request.uri().path());
    let response = match state.take_fault(request.uri().path()) {
        Some(fault) => {
            tokio::time::sleep(fault.delay).await;
            match fault.status.and_then(|s| StatusCode::from_u16(s).ok()) {
                Some(status) => {
                    tracing::info!(%status, path = request.uri().path(), "injected fault");
                    let mut error = ApiError::injected(status, fault.retry_after_secs);
                    if let Some(given) = fault.error {
                        (error.code, error.title, error.detail) = (given.code, given.title, given.detail);
                    }
                    error.into_response()
                }
                None => next.run(request).await,
            }
        }
        None => next.run(request).await,
    };
    state.record_status(seq, response.status().as_u16());
    response
}

/// Checks `Authorization: Bearer <key>` against the configured keys.
pub(crate) fn authorize(state: &SimState, headers: &HeaderMap) -> Result<(), ApiError> {
    let key = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| {
        let (scheme, key) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| key.trim())
    });
    match key {
        Some(key) if state.accepts_api_key(key) => Ok(()),
        _ => Err(ApiError::unauthenticated()),
    }
}

fn credential_json(c: &Credential) -> Value {
    json!({
        "id": c.id,
        "record_type": "credential",
        "name": c.name,
        "tag": c.tag,
        "connection_id": c.connection_id,
        "resource_id": format!("connection:{}", c.connection_id),
        "user_id": "00000000-0000-4000-8000-000000000000",
        "sip_username": c.sip_username,
        "sip_password": c.sip_password,
        "expired": false,
        "expires_at": c.expires_at,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    })
}

#[derive(Debug, Deserialize)]
struct CreateCredentialBody {
    #[serde(default)]
    connection_id: Option<Value>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    expires_at: Option<String>,
}

fn body_error(rejection: &BytesRejection) -> ApiError {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::bad_request(status, format!("The request body exceeds {MAX_BODY_BYTES} bytes."))
    } else {
        ApiError::bad_request(StatusCode::UNPROCESSABLE_ENTITY, "The request body could not be read.".to_owned())
    }
}

async fn create_credential(
    State(state): State<SimState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let body = body.map_err(|r| body_error(&r))?;
    let parsed: CreateCredentialBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("The request body is not a valid credential object: {e}."),
        )
    })?;
    let connection_id = match parsed.connection_id {
        Some(Value::String(s)) if !s.trim().is_empty() => s,
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(ApiError::missing_parameter("/connection_id", "connection_id is required."));
        }
    };
    let credential = state.create_credential(connection_id, parsed.name, parsed.tag, parsed.expires_at);
    tracing::info!(id = %credential.id, "telephony credential created");
    Ok((StatusCode::CREATED, axum::Json(json!({ "data": credential_json(&credential) }))).into_response())
}

async fn list_credentials(
    State(state): State<SimState>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let page = Page::of(query)?;
    let all = state.credentials();
    let data: Vec<Value> = all.iter().skip(page.skipped()).take(page.size).map(credential_json).collect();
    Ok(page.answer(data, all.len()))
}

/// A page of a list as Telnyx pages them: `page[number]` from 1, `page[size]` up to 250.
struct Page {
    number: usize,
    size: usize,
}

impl Page {
    fn of(query: Result<Query<HashMap<String, String>>, QueryRejection>) -> Result<Page, ApiError> {
        let Query(query) = query.map_err(|_| {
            ApiError::bad_request(StatusCode::UNPROCESSABLE_ENTITY, "The query string is malformed.".to_owned())
        })?;
        let param = |name: &str, default: usize| {
            query.get(name).and_then(|v| v.parse::<usize>().ok()).filter(|v| *v >= 1).unwrap_or(default)
        };
        Ok(Page { number: param("page[number]", 1), size: param("page[size]", 20).min(250) })
    }

    fn skipped(&self) -> usize {
        self.size.saturating_mul(self.number - 1)
    }

    /// The page's `data` with the `meta` Telnyx gives, for a list of `total` items.
    fn answer(&self, data: Vec<Value>, total: usize) -> Response {
        axum::Json(json!({
            "data": data,
            "meta": {
                "page_number": self.number,
                "page_size": self.size,
                "total_pages": total.div_ceil(self.size),
                "total_results": total,
            }
        }))
        .into_response()
    }
}

/// The phone numbers the simulated account owns (`GET /v2/phone_numbers`): one in each of three
/// North American area codes, so local presence has something to choose from in demo mode.
pub const ACCOUNT_NUMBERS: [&str; 3] = ["+12125550142", "+14155550142", "+13125550142"];

/// `GET /v2/phone_numbers`, paged as Telnyx pages (`page[number]`, `page[size]` up to 250).
async fn list_phone_numbers(
    State(state): State<SimState>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let page = Page::of(query)?;
    let data: Vec<Value> = ACCOUNT_NUMBERS
        .iter()
        .enumerate()
        .skip(page.skipped())
        .take(page.size)
        .map(|(index, number)| {
            json!({
                "id": format!("{}", 1_293_384_261_075_731_499_u64 + index as u64),
                "record_type": "phone_number",
                "phone_number": number,
                "status": "active",
                "connection_id": "1494404757140276705",
                "connection_name": "softphone demo",
                "tags": [],
            })
        })
        .collect();
    Ok(page.answer(data, ACCOUNT_NUMBERS.len()))
}

async fn show_credential(
    State(state): State<SimState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let Path(id) = id.map_err(|_| ApiError::not_found())?;
    let credential = state.credential(&id).ok_or_else(ApiError::not_found)?;
    Ok(axum::Json(json!({ "data": credential_json(&credential) })).into_response())
}

async fn mint_token(
    State(state): State<SimState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    authorize(&state, &headers)?;
    let Path(id) = id.map_err(|_| ApiError::not_found())?;
    let token = state.mint_login_token(&id, SystemTime::now()).ok_or_else(ApiError::not_found)?;
    tracing::info!(credential = %id, "login token minted");
    Ok((StatusCode::CREATED, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], token).into_response())
}
