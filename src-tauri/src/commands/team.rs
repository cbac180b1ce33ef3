//! Commands about the agent's team: where it stands, joining and leaving.

use softphone_core::ipc::{IpcError, TeamCampaign, TeamStatus};
use softphone_core::secret::Secret;
use tauri::State;

use crate::team::Team;

#[tauri::command]
#[tracing::instrument(skip_all)]
pub fn get_team_status(team: State<'_, Team>) -> TeamStatus {
    team.status()
}

/// Joins with the address and login the team lead gave; the password goes to the keychain.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn join_team(
    team: State<'_, Team>,
    url: String,
    login: String,
    password: Secret,
) -> Result<TeamStatus, IpcError> {
    team.join(&url, &login, password).await
}

#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn leave_team(team: State<'_, Team>) -> Result<TeamStatus, IpcError> {
    team.leave().await
}

/// The team's campaigns, to work one from the dial list.
#[tauri::command]
#[tracing::instrument(skip_all, err(level = "warn"))]
pub async fn get_team_campaigns(team: State<'_, Team>) -> Result<Vec<TeamCampaign>, IpcError> {
    team.campaigns().await
}
