//! `/v2/calls/...` and `/v2/connections/{id}/active_calls`: Call Control v2 as Telnyx's API
//! reference shapes it, on the switchboard's calls (see
//! [`crate::signaling::switchboard`]'s `call_control` for what the actions do).
//!
//! | route                                         | answer |
//! |-----------------------------------------------|--------|
//! | `POST /v2/calls/{id}/actions/transfer`        | 200 `{"data":{"result":"ok"}}`; `to` required (E.164 or SIP URI), `timeout_secs` 5..=600 |
//! | `POST /v2/calls/{id}/actions/hangup`          | 200 `{"data":{"result":"ok"}}` |
//! | `POST /v2/calls/{id}/actions/playback_start`  | 200; `audio_url` (a 16-bit PCM WAV over http), `loop` 1..=100 or `"infinity"`, `target_legs` `self` |
//! | `POST /v2/calls/{id}/actions/playback_stop`   | 200 |
//! | `POST /v2/calls/{id}/actions/record_start`    | 200; `channels` (`dual`/`single`) and `format` (`wav`) required, `play_beep` |
//! | `POST /v2/calls/{id}/actions/record_pause` / `record_resume` / `record_stop` | 200 |
//! | `POST /v2/calls/{id}/actions/bridge`          | 200; `call_control_id` of the other far party: the two talk, both softphone legs are hung up |
//! | `POST /v2/conferences`                        | 200 `{"data": Conference}`; `call_control_id` (a far party) and `name` required |
//! | `GET /v2/conferences`                         | the conferences running |
//! | `POST /v2/conferences/{id}/actions/{join, leave, hold, unhold, mute, unmute}` | 200 `{"data":{"result":"ok"}}`; `call_control_id` (join, leave) or `call_control_ids`; `audio_url` is not fetched for hold |
//! | `GET /v2/recordings`                          | saved recordings, `filter[call_control_id]`, `filter[call_session_id]`, paged |
//! | `GET /v2/recordings/{id}`                     | one recording |
//! | `GET /recordings/{id}.wav`                    | its file (no key: Telnyx's download URLs are signed links) |
//! | `GET /media/hold-music.wav`                   | the simulator's own hold music (no key: a public media URL) |
//! | `GET /media/recording-notice.wav`             | its "this call is recorded" announcement: 1.5 s of 587 Hz |
//! | `GET /v2/calls/{id}`                          | 200 `{"data": Call}` (`is_alive`, `call_duration`, ...) or 404 `10005` |
//! | `GET /v2/connections/{id}/active_calls`       | 200 `{"data": [..], "meta": {"total_items", "cursors", ..}}` |
//!
//! Refusals are 422 with Telnyx's codes: `90015` invalid id, `90018` call ended, `90034` not
//! answered, `10004` missing parameter, `10016` not E.164, `10032` a value not allowed, `10033`
//! out of range, `90033` a conference name in use, `90032` a full conference, `10015` other; 400
//! `90040` audio that could not be fetched or read; 404 `90058` an unknown conference.
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
use crate::signaling::switchboard::{
    ActionRefusal, ConferenceView, LegView, ParticipantsAction, PlaybackRequest, SavedRecording,
};
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
        .route("/media/hold-music.wav", get(hold_music))
        .route("/media/recording-notice.wav", get(recording_notice))
        .route("/v2/recordings", get(list_recordings))
        .route("/v2/conferences", get(list_conferences).post(create_conference))
        .route("/v2/conferences/{id}/actions/{action}", post(conference_action))
        .route("/v2/recordings/{id}", get(show_recording))
        .route("/recordings/{file}", get(download_recording))
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
            ActionRefusal::InvalidValue(pointer) => {
                let pointer = match pointer {
                    "loop" => "/loop",
                    "target_legs" => "/target_legs",
                    "channels" => "/channels",
                    "format" => "/format",
                    _ => "/",
                };
                ApiError::new(unprocessable, "10032", "Invalid enumerated value", detail).at(pointer)
            }
            ActionRefusal::DownloadFailed(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "90040", "Downloading audio file failed", detail)
                    .at("/audio_url")
            }
            ActionRefusal::ConferenceExists => {
                ApiError::new(unprocessable, "90033", "Unable to execute command", detail)
            }
            ActionRefusal::ConferenceEnded => {
                ApiError::new(StatusCode::NOT_FOUND, "90058", "Invalid conference_id", detail).at("/conference_id")
            }
            ActionRefusal::ConferenceFull => {
                ApiError::new(unprocessable, "90032", "Maximum number of participants reached", detail)
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
        "playback_start" => {
            let audio_url = optional_string(&body, "audio_url")?.unwrap_or_default().trim().to_owned();
            if audio_url.is_empty() {
                if body.contains_key("media_name") || body.contains_key("playback_content") {
                    return Err(ActionRefusal::Unsupported(
                        "The simulator plays audio_url only (not media_name or playback_content).",
                    )
                    .into());
                }
                return Err(ApiError::missing_parameter("/audio_url", "The 'audio_url' parameter is required."));
            }
            let loops = match body.get("loop") {
                None | Some(Value::Null) => Some(1),
                Some(Value::String(text)) if text == "infinity" => None,
                Some(value) => match value.as_u64().or_else(|| value.as_str().and_then(|t| t.parse().ok())) {
                    Some(n @ 1..=100) => Some(n as u32),
                    _ => return Err(ActionRefusal::InvalidValue("loop").into()),
                },
            };
            match optional_string(&body, "target_legs")? {
                None | Some("self") => {}
                Some("opposite" | "both") => {
                    return Err(ActionRefusal::Unsupported(
                        "The simulator plays into the leg named only (target_legs self).",
                    )
                    .into());
                }
                Some(_) => return Err(ActionRefusal::InvalidValue("target_legs").into()),
            }
            both.board.playback_start(&call_control_id, PlaybackRequest { audio_url, loops }).await?;
        }
        "playback_stop" => both.board.playback_stop(&call_control_id)?,
        "record_start" => {
            let dual = match optional_string(&body, "channels")? {
                Some("dual") => true,
                Some("single") => false,
                Some(_) => return Err(ActionRefusal::InvalidValue("channels").into()),
                None => return Err(ApiError::missing_parameter("/channels", "The 'channels' parameter is required.")),
            };
            match optional_string(&body, "format")? {
                Some("wav") => {}
                Some("mp3") => {
                    return Err(ActionRefusal::Unsupported("The simulator records WAV only (format wav).").into());
                }
                Some(_) => return Err(ActionRefusal::InvalidValue("format").into()),
                None => return Err(ApiError::missing_parameter("/format", "The 'format' parameter is required.")),
            }
            let play_beep = body.get("play_beep").and_then(Value::as_bool).unwrap_or(false);
            both.board.record_start(&call_control_id, dual, play_beep)?;
        }
        "bridge" => {
            let Some(other) = optional_string(&body, "call_control_id")? else {
                return Err(ApiError::missing_parameter(
                    "/call_control_id",
                    "The 'call_control_id' parameter is required.",
                ));
            };
            both.board.bridge(&call_control_id, other)?;
        }
        "record_pause" => both.board.record_pause(&call_control_id, true)?,
        "record_resume" => both.board.record_pause(&call_control_id, false)?,
        "record_stop" => both.board.record_stop(&call_control_id)?,
        _ => return Err(ApiError::not_found()),
    }
    if let Some(command_id) = command_id {
        both.board.remember_command(&call_control_id, command_id);
    }
    Ok(ok())
}

/// The simulator's hold music: a 2 s loop of a 392 Hz tone (G4) whose loudness swells and
/// fades, as a 16-bit 8 kHz mono WAV.
async fn hold_music() -> Response {
    tone_wav(392.0, 2.0, true)
}

/// The simulator's "this call is recorded" announcement: 1.5 s of 587 Hz (D5), it having no
/// voice.
async fn recording_notice() -> Response {
    tone_wav(587.0, 1.5, false)
}

fn tone_wav(hz: f32, seconds: f32, swelling: bool) -> Response {
    const RATE: u32 = 8_000;
    let samples: Vec<i16> = (0..(RATE as f32 * seconds) as u32)
        .map(|n| {
            let t = n as f32 / RATE as f32;
            let swell = if swelling { 0.6 + 0.4 * (std::f32::consts::PI * t).sin().abs() } else { 1.0 };
            (0.25 * swell * f32::from(i16::MAX) * (std::f32::consts::TAU * hz * t).sin()) as i16
        })
        .collect();
    let mut wav = std::io::Cursor::new(Vec::new());
    let spec =
        hound::WavSpec { channels: 1, sample_rate: RATE, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    if let Ok(mut writer) = hound::WavWriter::new(&mut wav, spec) {
        for sample in samples {
            let _ = writer.write_sample(sample);
        }
        let _ = writer.finalize();
    }
    ([(axum::http::header::CONTENT_TYPE, "audio/wav")], wav.into_inner()).into_response()
}

fn call_json(leg: &LegView) -> Value {
    let iso = iso_time;
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

fn iso_time(ms: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// A recording as Telnyx's `RecordingResponseData` shows it; its download link on `host`.
fn recording_json(recording: &SavedRecording, host: &str) -> Value {
    json!({
        "record_type": "recording",
        "id": recording.id,
        "call_control_id": recording.call_control_id,
        "call_session_id": recording.call_session_id,
        "call_leg_id": recording.call_control_id.replacen("v3:", "", 1),
        "channels": recording.channels,
        "duration_millis": recording.duration_ms,
        "status": "completed",
        "source": "call",
        "initiated_by": "StartCallRecordingAPI",
        "download_urls": { "wav": format!("http://{host}/recordings/{}.wav", recording.id) },
        "recording_started_at": iso_time(recording.started_at_ms),
        "recording_ended_at": iso_time(recording.ended_at_ms),
        "created_at": iso_time(recording.ended_at_ms),
        "updated_at": iso_time(recording.ended_at_ms),
    })
}

fn host_of(headers: &HeaderMap) -> String {
    headers.get(axum::http::header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("127.0.0.1").to_owned()
}

async fn list_recordings(
    State(both): State<Both>,
    headers: HeaderMap,
    query: Result<
        axum::extract::Query<std::collections::HashMap<String, String>>,
        axum::extract::rejection::QueryRejection,
    >,
) -> Result<Response, ApiError> {
    authorize(&both.state, &headers)?;
    let axum::extract::Query(query) = query.map_err(|_| {
        ApiError::bad_request(StatusCode::UNPROCESSABLE_ENTITY, "The query string is malformed.".to_owned())
    })?;
    let number = |name: &str, default: usize| {
        query.get(name).and_then(|v| v.parse::<usize>().ok()).filter(|v| *v >= 1).unwrap_or(default)
    };
    let (page, size) = (number("page[number]", 1), number("page[size]", 20).min(250));
    let matching: Vec<SavedRecording> = both
        .board
        .recordings()
        .into_iter()
        .rev()
        .filter(|r| query.get("filter[call_control_id]").is_none_or(|id| *id == r.call_control_id))
        .filter(|r| query.get("filter[call_session_id]").is_none_or(|id| *id == r.call_session_id))
        .collect();
    let host = host_of(&headers);
    let data: Vec<Value> =
        matching.iter().skip(size * (page - 1)).take(size).map(|recording| recording_json(recording, &host)).collect();
    Ok(axum::Json(json!({
        "data": data,
        "meta": {
            "page_number": page,
            "page_size": size,
            "total_pages": matching.len().div_ceil(size),
            "total_results": matching.len(),
        },
    }))
    .into_response())
}

async fn show_recording(
    State(both): State<Both>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    authorize(&both.state, &headers)?;
    let Path(id) = path.map_err(|_| ApiError::not_found())?;
    let recording = both.board.recordings().into_iter().find(|r| r.id == id).ok_or_else(ApiError::not_found)?;
    Ok(axum::Json(json!({ "data": recording_json(&recording, &host_of(&headers)) })).into_response())
}

async fn download_recording(State(both): State<Both>, Path(file): Path<String>) -> Response {
    let id = file.strip_suffix(".wav").unwrap_or_default();
    match both.board.recordings().into_iter().find(|r| r.id == id) {
        Some(recording) => ([(axum::http::header::CONTENT_TYPE, "audio/wav")], recording.wav.to_vec()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn conference_json(conference: &ConferenceView) -> Value {
    json!({
        "record_type": "conference",
        "id": conference.id,
        "name": conference.name,
        "status": "in_progress",
        "created_at": iso_time(conference.created_at_ms),
        "expires_at": iso_time(conference.created_at_ms + 4 * 3_600_000),
        "updated_at": iso_time(conference.created_at_ms),
    })
}

async fn create_conference(
    State(both): State<Both>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&both.state, &headers)?;
    let body = object(body)?;
    let Some(call_control_id) = optional_string(&body, "call_control_id")? else {
        return Err(ApiError::missing_parameter("/call_control_id", "The 'call_control_id' parameter is required."));
    };
    let Some(name) = optional_string(&body, "name")?.map(str::trim).filter(|name| !name.is_empty()) else {
        return Err(ApiError::missing_parameter("/name", "The 'name' parameter is required."));
    };
    let conference = both.board.create_conference(call_control_id, name)?;
    Ok(axum::Json(json!({ "data": conference_json(&conference) })).into_response())
}

async fn list_conferences(State(both): State<Both>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&both.state, &headers)?;
    let data: Vec<Value> = both.board.conferences().iter().map(conference_json).collect();
    let total = data.len();
    Ok(axum::Json(json!({
        "data": data,
        "meta": { "page_number": 1, "page_size": total.max(1), "total_pages": 1, "total_results": total },
    }))
    .into_response())
}

async fn conference_action(
    State(both): State<Both>,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    authorize(&both.state, &headers)?;
    let Path((conference, action)) = path.map_err(|_| ApiError::not_found())?;
    let body = object(body)?;
    let ids: Vec<String> = match body.get("call_control_ids") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(ids)) => ids.iter().filter_map(|id| id.as_str().map(str::to_owned)).collect(),
        Some(_) => return Err(ActionRefusal::InvalidValue("call_control_ids").into()),
    };
    let one = || -> Result<&str, ApiError> {
        optional_string(&body, "call_control_id")?.ok_or_else(|| {
            ApiError::missing_parameter("/call_control_id", "The 'call_control_id' parameter is required.")
        })
    };
    match action.as_str() {
        "join" => both.board.join_conference(&conference, one()?)?,
        "leave" => both.board.leave_conference(&conference, one()?)?,
        "mute" => both.board.conference_participants(&conference, &ids, ParticipantsAction::Mute)?,
        "unmute" => both.board.conference_participants(&conference, &ids, ParticipantsAction::Unmute)?,
        "hold" => both.board.conference_participants(&conference, &ids, ParticipantsAction::Hold(None))?,
        "unhold" => {
            if ids.is_empty() {
                return Err(ApiError::missing_parameter(
                    "/call_control_ids",
                    "The 'call_control_ids' parameter is required.",
                ));
            }
            both.board.conference_participants(&conference, &ids, ParticipantsAction::Unhold)?
        }
        _ => return Err(ApiError::not_found()),
    }
    Ok(ok())
}
