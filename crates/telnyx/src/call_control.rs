//! Call Control v2 on a live call's legs: the actions a softphone cannot do through `telnyx_rtc`
//! (transfer, and what follows in `docs/call-control-notes.md`), and the polling that stands in
//! for webhooks a desktop app cannot receive.
//!
//! Every action carries a fresh `command_id` (UUID v4) that stays the same across the client's
//! retries, so a retried command is not carried out twice ("Telnyx will ignore any command with
//! the same `command_id` for the same `call_control_id`"). A refusal (422, or a call Telnyx no
//! longer knows) is [`TelnyxError::ActionRefused`] with Telnyx's reason; the call is as it was.
//!
//! The softphone learns its own leg's ids from the signaling (`telnyx_call_control_id`,
//! `telnyx_session_id`). To hand the customer on it acts on the customer's leg: the other live leg
//! of the same call session among the connection's active calls. Telnyx's documentation does not
//! say that both legs are listed under the softphone's connection; this is assumed and said so in
//! LEARNINGS.

use reqwest::Method;
use serde_json::{Value, json};
use softphone_core::call::TelnyxLeg;
use softphone_core::secret::Secret;

use crate::client::{TelnyxApi, error_detail};
use crate::error::TelnyxError;

/// Telnyx's REST API as one account, for Call Control: the client, the API key and the
/// connection the agent's legs are on. Prints nothing secret.
#[derive(Debug)]
pub struct CallControlAccess {
    /// The client.
    pub api: TelnyxApi,
    /// The account's API key.
    pub api_key: Secret,
    /// The connection id (kept with the key in the keychain).
    pub connection_id: Secret,
    /// The hold music the account plays when the agent chose none (the simulator's own in demo
    /// mode; none for a Telnyx account).
    pub default_hold_music: Option<String>,
}

/// A saved recording of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedRecording {
    /// Telnyx's recording id.
    pub id: String,
    /// Its length.
    pub duration_ms: u64,
    /// Where its WAV file is (a signed link).
    pub wav_url: String,
    /// When it started (RFC 3339), for ordering.
    pub started_at: String,
}

/// The largest recording downloaded: 200 MB (a four-hour call in 8 kHz stereo WAV is 230 MB; the
/// longest the app records is shorter).
pub const RECORDING_MAX_BYTES: usize = 200 * 1024 * 1024;

/// A leg's state as `GET /v2/calls/{id}` tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegStatus {
    /// Whether the leg is up.
    pub is_alive: bool,
    /// Its call session.
    pub call_session_id: Option<String>,
}

/// The active calls read at most (pages of 250).
const ACTIVE_CALL_PAGES_MAX: u32 = 8;

impl TelnyxApi {
    /// `POST /v2/calls/{id}/actions/transfer`: Telnyx dials `to` (E.164 or a SIP URI) and, when it
    /// answers, bridges the leg's party to it; the leg's current partner (the agent) is hung up.
    /// `timeout_secs` is how long the destination may ring (5 to 600).
    pub async fn transfer(
        &self,
        api_key: &Secret,
        call_control_id: &str,
        to: &str,
        timeout_secs: u64,
    ) -> Result<(), TelnyxError> {
        self.act(api_key, call_control_id, "transfer", json!({ "to": to, "timeout_secs": timeout_secs })).await
    }

    /// `POST /v2/calls/{id}/actions/playback_start`: plays the audio at `audio_url` (WAV or MP3
    /// Telnyx can fetch) to the leg's party over and over until stopped: hold music.
    pub async fn start_hold_music(
        &self,
        api_key: &Secret,
        call_control_id: &str,
        audio_url: &str,
    ) -> Result<(), TelnyxError> {
        let body = json!({ "audio_url": audio_url, "loop": "infinity", "target_legs": "self" });
        self.act(api_key, call_control_id, "playback_start", body).await
    }

    /// `POST /v2/calls/{id}/actions/playback_start` once: the announcement the caller hears
    /// before a recording starts.
    pub async fn play_announcement(
        &self,
        api_key: &Secret,
        call_control_id: &str,
        audio_url: &str,
    ) -> Result<(), TelnyxError> {
        let body = json!({ "audio_url": audio_url, "loop": 1, "target_legs": "self" });
        self.act(api_key, call_control_id, "playback_start", body).await
    }

    /// `POST /v2/calls/{id}/actions/playback_stop` (every playback on the leg).
    pub async fn stop_playback(&self, api_key: &Secret, call_control_id: &str) -> Result<(), TelnyxError> {
        self.act(api_key, call_control_id, "playback_stop", json!({ "stop": "all" })).await
    }

    /// `POST /v2/calls/{id}/actions/record_start`: records the call in two channels (the leg's
    /// party on A, the rest on B) as WAV, after a beep both sides hear.
    pub async fn start_recording(&self, api_key: &Secret, call_control_id: &str) -> Result<(), TelnyxError> {
        let body = json!({ "channels": "dual", "format": "wav", "play_beep": true });
        self.act(api_key, call_control_id, "record_start", body).await
    }

    /// `record_pause` (`true`, e.g. while a card number is read out) or `record_resume`.
    pub async fn pause_recording(
        &self,
        api_key: &Secret,
        call_control_id: &str,
        paused: bool,
    ) -> Result<(), TelnyxError> {
        let action = if paused { "record_pause" } else { "record_resume" };
        self.act(api_key, call_control_id, action, json!({})).await
    }

    /// `record_stop`: Telnyx saves the recording.
    pub async fn stop_recording(&self, api_key: &Secret, call_control_id: &str) -> Result<(), TelnyxError> {
        self.act(api_key, call_control_id, "record_stop", json!({})).await
    }

    /// The call's saved recordings, oldest first (`GET /v2/recordings?filter[call_session_id]=`),
    /// each with its WAV download link.
    pub async fn recordings_of(
        &self,
        api_key: &Secret,
        call_session_id: &str,
    ) -> Result<Vec<SavedRecording>, TelnyxError> {
        let mut url = self.url(&["v2", "recordings"]);
        url.query_pairs_mut().append_pair("filter[call_session_id]", call_session_id).append_pair("page[size]", "50");
        let reply = self.send(api_key, Method::GET, url, None, None, "recording").await?;
        let value: Value = serde_json::from_slice(&reply.body)
            .map_err(|_| TelnyxError::InvalidResponse { reason: "the recordings are not JSON" })?;
        let data = value["data"]
            .as_array()
            .ok_or(TelnyxError::InvalidResponse { reason: "the recordings have no data array" })?;
        let mut recordings: Vec<SavedRecording> = data
            .iter()
            .filter_map(|entry| {
                Some(SavedRecording {
                    id: entry["id"].as_str()?.to_owned(),
                    duration_ms: entry["duration_millis"].as_u64().unwrap_or(0),
                    wav_url: entry["download_urls"]["wav"].as_str()?.to_owned(),
                    started_at: entry["recording_started_at"].as_str().unwrap_or_default().to_owned(),
                })
            })
            .collect();
        recordings.sort_by(|a, b| a.started_at.cmp(&b.started_at));
        Ok(recordings)
    }

    /// A recording's file from its download link (a signed link: sent without the API key), at
    /// most [`RECORDING_MAX_BYTES`].
    pub async fn download_recording(&self, recording: &SavedRecording) -> Result<Vec<u8>, TelnyxError> {
        let url = reqwest::Url::parse(&recording.wav_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or(TelnyxError::InvalidResponse { reason: "the recording's download link is not an http(s) URL" })?;
        let unavailable = || TelnyxError::Unavailable { status: None, attempts: 1 };
        let mut response = self.http.get(url).send().await.map_err(|_| unavailable())?;
        if !response.status().is_success() {
            return Err(TelnyxError::Unavailable { status: Some(response.status().as_u16()), attempts: 1 });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|_| unavailable())? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > RECORDING_MAX_BYTES {
                return Err(TelnyxError::InvalidResponse { reason: "the recording is larger than the app keeps" });
            }
        }
        Ok(bytes)
    }

    /// `POST /v2/calls/{id}/actions/bridge`: the leg's party and `other`'s talk to each other;
    /// each leg's current partner (the agent, on both) is hung up.
    pub async fn bridge(&self, api_key: &Secret, call_control_id: &str, other: &str) -> Result<(), TelnyxError> {
        self.act(api_key, call_control_id, "bridge", json!({ "call_control_id": other })).await
    }

    /// `POST /v2/conferences`: a conference named `name` with the leg in it; returns its id.
    pub async fn create_conference(
        &self,
        api_key: &Secret,
        call_control_id: &str,
        name: &str,
    ) -> Result<String, TelnyxError> {
        let body = json!({
            "call_control_id": call_control_id,
            "name": name,
            "beep_enabled": "never",
            "command_id": uuid::Uuid::new_v4().to_string(),
        });
        let url = self.url(&["v2", "conferences"]);
        let reply = match self.send(api_key, Method::POST, url, Some(&body), None, "call").await {
            Err(TelnyxError::Rejected { detail, .. }) => {
                return Err(TelnyxError::ActionRefused { action: "conference", detail });
            }
            other => other?,
        };
        let value: Value = serde_json::from_slice(&reply.body)
            .map_err(|_| TelnyxError::InvalidResponse { reason: "the conference is not JSON" })?;
        value["data"]["id"]
            .as_str()
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .ok_or(TelnyxError::InvalidResponse { reason: "the conference has no data.id" })
    }

    /// `POST /v2/conferences/{id}/actions/join`.
    pub async fn join_conference(
        &self,
        api_key: &Secret,
        conference_id: &str,
        call_control_id: &str,
    ) -> Result<(), TelnyxError> {
        let url = self.url(&["v2", "conferences", conference_id, "actions", "join"]);
        let body = json!({ "call_control_id": call_control_id, "command_id": uuid::Uuid::new_v4().to_string() });
        match self.send(api_key, Method::POST, url, Some(&body), None, "conference").await {
            Ok(_) => Ok(()),
            Err(TelnyxError::Rejected { detail, .. }) => {
                Err(TelnyxError::ActionRefused { action: "conference", detail })
            }
            Err(other) => Err(other),
        }
    }

    /// `POST /v2/conferences/{id}/actions/{mute, unmute, hold, unhold}` of the legs named.
    pub async fn conference_participants(
        &self,
        api_key: &Secret,
        conference_id: &str,
        action: &'static str,
        call_control_ids: &[&str],
    ) -> Result<(), TelnyxError> {
        if !matches!(action, "mute" | "unmute" | "hold" | "unhold") {
            return Err(TelnyxError::InvalidArgument {
                reason: "A conference participant is muted, unmuted, held or unheld.",
            });
        }
        let url = self.url(&["v2", "conferences", conference_id, "actions", action]);
        let body = json!({ "call_control_ids": call_control_ids });
        match self.send(api_key, Method::POST, url, Some(&body), None, "conference").await {
            Ok(_) => Ok(()),
            Err(TelnyxError::Rejected { detail, .. }) => {
                Err(TelnyxError::ActionRefused { action: "conference", detail })
            }
            Err(other) => Err(other),
        }
    }

    /// `POST /v2/calls/{id}/actions/hangup`.
    pub async fn hang_up_leg(&self, api_key: &Secret, call_control_id: &str) -> Result<(), TelnyxError> {
        self.act(api_key, call_control_id, "hangup", json!({})).await
    }

    /// `GET /v2/calls/{id}`. A leg Telnyx no longer knows (it keeps ended legs 10 minutes) is
    /// reported as not alive.
    pub async fn leg_status(&self, api_key: &Secret, call_control_id: &str) -> Result<LegStatus, TelnyxError> {
        let url = self.url(&["v2", "calls", call_control_id]);
        let reply = match self.send(api_key, Method::GET, url, None, None, "call").await {
            Err(TelnyxError::NotFound { .. }) => return Ok(LegStatus { is_alive: false, call_session_id: None }),
            other => other?,
        };
        let value: Value = serde_json::from_slice(&reply.body)
            .map_err(|_| TelnyxError::InvalidResponse { reason: "the call status is not JSON" })?;
        let is_alive = value["data"]["is_alive"]
            .as_bool()
            .ok_or(TelnyxError::InvalidResponse { reason: "the call status has no data.is_alive" })?;
        Ok(LegStatus { is_alive, call_session_id: value["data"]["call_session_id"].as_str().map(str::to_owned) })
    }

    /// The other live leg of `ours`'s call session among `connection_id`'s active calls
    /// (`GET /v2/connections/{id}/active_calls`, page by page): the customer's leg.
    pub async fn other_leg(
        &self,
        api_key: &Secret,
        connection_id: &str,
        ours: &TelnyxLeg,
    ) -> Result<Option<String>, TelnyxError> {
        let mut after: Option<String> = None;
        for _ in 0..ACTIVE_CALL_PAGES_MAX {
            let mut url = self.url(&["v2", "connections", connection_id, "active_calls"]);
            url.query_pairs_mut().append_pair("page[limit]", "250");
            if let Some(after) = &after {
                url.query_pairs_mut().append_pair("page[after]", after);
            }
            let reply = self.send(api_key, Method::GET, url, None, None, "connection").await?;
            let value: Value = serde_json::from_slice(&reply.body)
                .map_err(|_| TelnyxError::InvalidResponse { reason: "the active calls are not JSON" })?;
            let data = value["data"]
                .as_array()
                .ok_or(TelnyxError::InvalidResponse { reason: "the active calls have no data array" })?;
            let found = data.iter().find(|leg| {
                leg["call_session_id"].as_str() == Some(ours.call_session_id.as_str())
                    && leg["call_control_id"].as_str().is_some_and(|id| id != ours.call_control_id)
            });
            if let Some(leg) = found {
                return Ok(leg["call_control_id"].as_str().map(str::to_owned));
            }
            after = value["meta"]["cursors"]["after"].as_str().filter(|c| !c.is_empty()).map(str::to_owned);
            if data.is_empty() || after.is_none() {
                break;
            }
        }
        Ok(None)
    }

    async fn act(
        &self,
        api_key: &Secret,
        call_control_id: &str,
        action: &'static str,
        mut body: Value,
    ) -> Result<(), TelnyxError> {
        body["command_id"] = json!(uuid::Uuid::new_v4().to_string());
        let url = self.url(&["v2", "calls", call_control_id, "actions", action]);
        match self.send(api_key, Method::POST, url, Some(&body), None, "call").await {
            Ok(_) => {
                tracing::info!(action, "call control action accepted");
                Ok(())
            }
            Err(TelnyxError::Rejected { detail, .. }) => {
                Err(TelnyxError::ActionRefused { action: what(action), detail })
            }
            Err(TelnyxError::NotFound { .. }) => Err(TelnyxError::ActionRefused {
                action: what(action),
                detail: error_detail(br#"{"errors":[{"detail":"Telnyx no longer knows this call"}]}"#),
            }),
            Err(other) => Err(other),
        }
    }
}

/// An action as the agent reads it in "Telnyx refused the …".
fn what(action: &'static str) -> &'static str {
    match action {
        "playback_start" => "hold music",
        "playback_stop" => "end of the hold music",
        "record_start" => "recording",
        "record_pause" => "recording pause",
        "record_resume" => "recording resume",
        "record_stop" => "end of the recording",
        "bridge" => "transfer",
        "hangup" => "hangup",
        other => other,
    }
}
