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

    /// `POST /v2/calls/{id}/actions/playback_stop` (every playback on the leg).
    pub async fn stop_playback(&self, api_key: &Secret, call_control_id: &str) -> Result<(), TelnyxError> {
        self.act(api_key, call_control_id, "playback_stop", json!({ "stop": "all" })).await
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
        "hangup" => "hangup",
        other => other,
    }
}
