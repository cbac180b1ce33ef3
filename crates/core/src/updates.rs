//! Updates as the agent meets them: when the app looks for one, whether it may install now, and
//! what a failure says.
//!
//! The app looks at start (after the phone has settled) and then daily. An update installs only
//! when the agent asks and no call is up; the app then restarts into it with its data, still
//! logged in. A payload that is not signed with the app's key is never installed.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::call::CallsSnapshot;
use crate::ipc::{ErrorCode, IpcError};
use crate::window_life::call_up;

/// How long after start the app first looks for an update: the phone registers first.
pub const FIRST_CHECK_AFTER: Duration = Duration::from_secs(30);

/// How often the app looks again while it runs.
pub const CHECK_EVERY: Duration = Duration::from_secs(24 * 60 * 60);

/// Where updates stand, as the window shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum UpdateStatus {
    /// Not looked yet since the app started.
    #[default]
    NotChecked,
    /// Asking the update feed.
    Checking,
    /// This is the newest version (as of `checked_at_unix`).
    UpToDate {
        /// When the feed said so (Unix seconds).
        checked_at_unix: u64,
    },
    /// A newer version waits for the agent's go-ahead.
    Available {
        /// Its version.
        version: String,
        /// What is new in it, from the feed.
        notes: String,
    },
    /// Downloading and installing `version`.
    Installing {
        /// The version.
        version: String,
        /// Bytes received so far.
        received: u64,
        /// The payload's size, when the feed's server says.
        total: Option<u64>,
    },
    /// Installed; the app restarts into it now.
    Restarting {
        /// The version.
        version: String,
    },
    /// Looking or installing failed; the running version is untouched.
    Failed {
        /// Why, for the window to branch on.
        code: ErrorCode,
        /// The sentence the agent reads.
        message: String,
        /// The version that was offered, if it got that far (it can be tried again).
        version: Option<String>,
    },
}

impl UpdateStatus {
    /// The version waiting to be installed (offered, or offered and failed to install).
    pub fn offered_version(&self) -> Option<&str> {
        match self {
            UpdateStatus::Available { version, .. } => Some(version),
            UpdateStatus::Failed { version: Some(version), .. } => Some(version),
            _ => None,
        }
    }
}

/// Why looking for or installing an update failed, as the shell classifies the updater's errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateFailure {
    /// The feed or the payload could not be fetched (offline, a proxy, the server down).
    Unreachable(String),
    /// The feed's answer is not a feed, or offers nothing for this platform.
    BadFeed(String),
    /// The payload's signature is not the app's key's, or does not cover this version.
    BadSignature,
    /// Writing the new version failed (a read-only install, a full disk).
    InstallFailed(String),
}

impl UpdateFailure {
    /// The coded sentence the agent reads. Nothing was installed in any case.
    pub fn to_ipc_error(&self, version: Option<&str>) -> IpcError {
        let update = version.map_or_else(|| "the update".to_owned(), |v| format!("version {v}"));
        match self {
            UpdateFailure::Unreachable(detail) => IpcError::new(
                ErrorCode::Offline,
                format!("The update server could not be reached ({detail}). The app will look again tomorrow."),
            ),
            UpdateFailure::BadFeed(detail) => IpcError::new(
                ErrorCode::UpdateRefused,
                format!("The update server's answer is not usable ({detail}). Nothing was installed."),
            ),
            UpdateFailure::BadSignature => IpcError::new(
                ErrorCode::UpdateRefused,
                format!(
                    "The download of {update} is not signed with this app's update key, so it was not installed. \
                     Your version stays as it is."
                ),
            ),
            UpdateFailure::InstallFailed(detail) => IpcError::new(
                ErrorCode::UpdateRefused,
                format!("{} could not be installed ({detail}). Your version stays as it is.", capitalized(&update)),
            ),
        }
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

/// Whether an update may install now: only between calls (the app restarts into it).
pub fn may_install(calls: &CallsSnapshot) -> Result<(), IpcError> {
    if call_up(calls) {
        return Err(IpcError::new(
            ErrorCode::CallRefused,
            "The update installs between calls, as the app restarts into it: finish this call first.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::CallView;
    use crate::window_life::tests::snapshot;

    fn calls(views: &[CallView]) -> CallsSnapshot {
        let ids: Vec<String> = (0..views.len()).map(|i| format!("c{i}")).collect();
        let calls: Vec<(&str, CallView)> = ids.iter().map(String::as_str).zip(views.iter().copied()).collect();
        snapshot(&calls)
    }

    #[test]
    fn an_update_installs_only_between_calls() {
        let table = [
            (vec![], true),
            (vec![CallView::Ended], true),
            (vec![CallView::Ringing], false),
            (vec![CallView::Active], false),
            (vec![CallView::Ended, CallView::Held], false),
        ];
        for (views, allowed) in table {
            let outcome = may_install(&calls(&views));
            assert_eq!(outcome.is_ok(), allowed, "{views:?}");
            if let Err(error) = outcome {
                assert_eq!(error.code, ErrorCode::CallRefused);
                assert!(error.message.contains("between calls"), "{error:?}");
            }
        }
    }

    #[test]
    fn every_failure_says_nothing_was_installed_in_a_coded_sentence() {
        let table = [
            (UpdateFailure::Unreachable("connection refused".into()), ErrorCode::Offline, "look again"),
            (UpdateFailure::BadFeed("no linux-x86_64".into()), ErrorCode::UpdateRefused, "Nothing was installed"),
            (UpdateFailure::BadSignature, ErrorCode::UpdateRefused, "version 0.1.1 is not signed"),
            (UpdateFailure::InstallFailed("read-only".into()), ErrorCode::UpdateRefused, "Version 0.1.1 could not"),
        ];
        for (failure, code, says) in table {
            let error = failure.to_ipc_error(Some("0.1.1"));
            assert_eq!(error.code, code, "{failure:?}");
            assert!(error.message.contains(says), "{error:?}");
            assert!(error.message.ends_with('.'), "{error:?}");
        }
        assert!(UpdateFailure::BadSignature.to_ipc_error(None).message.starts_with("The download of the update"));
    }

    #[test]
    fn the_offered_version_survives_a_failed_install_only() {
        let available = UpdateStatus::Available { version: "0.1.1".into(), notes: String::new() };
        assert_eq!(available.offered_version(), Some("0.1.1"));
        let failed =
            UpdateStatus::Failed { code: ErrorCode::UpdateRefused, message: "x".into(), version: Some("0.1.1".into()) };
        assert_eq!(failed.offered_version(), Some("0.1.1"));
        assert_eq!(UpdateStatus::UpToDate { checked_at_unix: 1 }.offered_version(), None);
        let json = serde_json::to_value(&available).unwrap();
        assert_eq!(json["state"], "available");
    }
}
