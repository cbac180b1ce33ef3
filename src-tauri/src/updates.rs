//! Signed updates through tauri-plugin-updater: the app looks at start and daily, the window
//! shows what is new, and the update installs only when the agent agrees and no call is up; the
//! app then restarts into it (its data and the keychain's credentials stay where they are).
//!
//! The feed and the public key are in `tauri.conf.json` (`plugins.updater`). Two overrides:
//! - `SOFTPHONE_UPDATE_FEED`: another feed URL (a company's mirror; `https` in release builds).
//!   Its payloads must still be signed with the app's key.
//! - `SOFTPHONE_UPDATE_PUBKEY`: another public key, honoured by debug builds only (the e2e suite
//!   signs its feed with a key it makes per run). A release build trusts its own key alone.
//! - `SOFTPHONE_UPDATE_FIRST_CHECK_MS`: when the first look happens (default
//!   [`FIRST_CHECK_AFTER`]).

use std::sync::Mutex;
use std::time::Duration;

use softphone_core::call::CallsSnapshot;
use softphone_core::ipc::{ErrorCode, IpcError, event};
use softphone_core::updates::{CHECK_EVERY, FIRST_CHECK_AFTER, UpdateFailure, UpdateStatus, may_install};
use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tauri_plugin_updater::{Error as UpdaterError, Update, Updater, UpdaterExt};
use tokio::sync::watch;

/// The plugin, registered by the app (the mock-runtime tests run without it).
pub fn plugin<R: Runtime>() -> TauriPlugin<R, tauri_plugin_updater::Config> {
    tauri_plugin_updater::Builder::new().build()
}

/// Where updates stand, and the update on offer.
#[derive(Default)]
pub struct Updates {
    status: Mutex<UpdateStatus>,
    offered: Mutex<Option<Update>>,
    /// One look or install at a time.
    busy: tokio::sync::Mutex<()>,
}

impl Updates {
    /// Where updates stand now.
    pub fn status(&self) -> UpdateStatus {
        self.status.lock().map(|status| status.clone()).unwrap_or_default()
    }
}

/// Sets the status and tells the window.
fn tell<R: Runtime>(app: &AppHandle<R>, status: UpdateStatus) {
    if let Ok(mut current) = app.state::<Updates>().status.lock() {
        *current = status.clone();
    }
    if let Err(error) = app.emit(event::UPDATE_UPDATED, status) {
        tracing::warn!(%error, "could not tell the window about the update");
    }
}

/// Looks at start (after [`FIRST_CHECK_AFTER`]) and then every [`CHECK_EVERY`], for as long as
/// the app runs. Without the plugin (tests on the mock runtime) it does nothing.
pub fn watch<R: Runtime>(app: &AppHandle<R>) {
    if app.try_state::<Updates>().is_none() {
        return;
    }
    let first = std::env::var("SOFTPHONE_UPDATE_FIRST_CHECK_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(FIRST_CHECK_AFTER, Duration::from_millis);
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(first).await;
        loop {
            // A failed look is said in the window and logged; the next one is tomorrow's.
            let _ = check(&app).await;
            tokio::time::sleep(CHECK_EVERY).await;
        }
    });
}

fn updater<R: Runtime>(app: &AppHandle<R>) -> Result<Updater, UpdateFailure> {
    let mut builder = app.updater_builder().timeout(Duration::from_secs(60));
    if let Ok(feed) = std::env::var("SOFTPHONE_UPDATE_FEED") {
        let url =
            feed.parse().map_err(|_| UpdateFailure::BadFeed(format!("SOFTPHONE_UPDATE_FEED is not a URL: {feed}")))?;
        builder = builder.endpoints(vec![url]).map_err(|error| UpdateFailure::BadFeed(error.to_string()))?;
    }
    #[cfg(debug_assertions)]
    if let Ok(key) = std::env::var("SOFTPHONE_UPDATE_PUBKEY") {
        builder = builder.pubkey(key);
    }
    builder.build().map_err(|error| classify(&error))
}

/// The updater's errors as the agent's reasons.
fn classify(error: &UpdaterError) -> UpdateFailure {
    match error {
        UpdaterError::Minisign(_)
        | UpdaterError::Base64(_)
        | UpdaterError::SignatureUtf8(_)
        | UpdaterError::SignedVersionMismatch { .. }
        | UpdaterError::MissingSignedVersion => UpdateFailure::BadSignature,
        UpdaterError::Reqwest(_) | UpdaterError::Network(_) => UpdateFailure::Unreachable(error.to_string()),
        UpdaterError::ReleaseNotFound
        | UpdaterError::TargetNotFound(_)
        | UpdaterError::TargetsNotFound(_)
        | UpdaterError::Serialization(_)
        | UpdaterError::Semver(_)
        | UpdaterError::UrlParse(_)
        | UpdaterError::EmptyEndpoints
        | UpdaterError::InsecureTransportProtocol => UpdateFailure::BadFeed(error.to_string()),
        other => UpdateFailure::InstallFailed(other.to_string()),
    }
}

/// Says and logs a failure. The version stays on offer for another try, unless its payload
/// failed its signature: that would fail again, so the next look at the feed decides.
fn failed<R: Runtime>(app: &AppHandle<R>, failure: &UpdateFailure, version: Option<String>) -> IpcError {
    let error = failure.to_ipc_error(version.as_deref());
    tracing::warn!(code = ?error.code, reason = %error.message, ?version, "update failed");
    let offered = version.filter(|_| *failure != UpdateFailure::BadSignature);
    tell(app, UpdateStatus::Failed { code: error.code, message: error.message.clone(), version: offered });
    error
}

/// Asks the feed now. An offer waits for the agent ([`install`]).
pub async fn check<R: Runtime>(app: &AppHandle<R>) -> Result<UpdateStatus, IpcError> {
    let updates = app.state::<Updates>();
    let Ok(_one_at_a_time) = updates.busy.try_lock() else {
        return Ok(updates.status());
    };
    tell(app, UpdateStatus::Checking);
    let looked = match updater(app) {
        Ok(updater) => updater.check().await.map_err(|error| classify(&error)),
        Err(failure) => Err(failure),
    };
    match looked {
        Ok(Some(update)) => {
            let status = UpdateStatus::Available {
                version: update.version.clone(),
                notes: update.body.clone().unwrap_or_default(),
            };
            tracing::info!(version = %update.version, current = %update.current_version, "an update is available");
            if let Ok(mut offered) = updates.offered.lock() {
                *offered = Some(update);
            }
            tell(app, status.clone());
            Ok(status)
        }
        Ok(None) => {
            let checked_at_unix =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            tracing::info!("the app is up to date");
            let status = UpdateStatus::UpToDate { checked_at_unix };
            tell(app, status.clone());
            Ok(status)
        }
        Err(failure) => Err(failed(app, &failure, None)),
    }
}

/// Installs the update on offer, with the agent's go-ahead, if no call is up; then restarts into
/// it. A payload whose signature is not the app's key's is refused before anything is written.
pub async fn install<R: Runtime>(app: &AppHandle<R>) -> Result<(), IpcError> {
    may_install(&app.state::<watch::Receiver<CallsSnapshot>>().borrow())?;
    let updates = app.state::<Updates>();
    // A look at the feed still finishing (it said "available" a moment ago) is waited for; a
    // second go-ahead while one installs is not another install.
    let _one_at_a_time = updates.busy.lock().await;
    if matches!(updates.status(), UpdateStatus::Restarting { .. }) {
        return Err(IpcError::new(ErrorCode::CallRefused, "The update is installed; the app is restarting into it."));
    }
    let Some(update) = updates.offered.lock().ok().and_then(|offered| offered.clone()) else {
        return Err(IpcError::new(ErrorCode::NotFound, "No update is waiting to be installed; look for one first."));
    };
    let version = update.version.clone();
    tracing::info!(%version, "installing the update the agent agreed to");
    tell(app, UpdateStatus::Installing { version: version.clone(), received: 0, total: None });
    let progress = {
        let app = app.clone();
        let version = version.clone();
        let mut received = 0u64;
        let mut told = 0u64;
        move |chunk: usize, total: Option<u64>| {
            received += chunk as u64;
            // Every 256 KiB is plenty for a progress bar.
            if received - told >= 256 * 1024 || Some(received) == total {
                told = received;
                tell(&app, UpdateStatus::Installing { version: version.clone(), received, total });
            }
        }
    };
    if let Err(error) = update.download_and_install(progress, || {}).await {
        let failure = classify(&error);
        if failure == UpdateFailure::BadSignature
            && let Ok(mut offered) = updates.offered.lock()
        {
            *offered = None;
        }
        return Err(failed(app, &failure, Some(version)));
    }
    tracing::info!(%version, "update installed; restarting into it");
    tell(app, UpdateStatus::Restarting { version });
    // A moment for the window to say so, then the new version starts and this one exits.
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        app.request_restart();
    });
    Ok(())
}
