//! What should make the phone register again at once: the computer woke (logind on the system
//! bus, Linux) or its network changed (addresses came or went). Where no wake signal comes, the
//! native engine's clock watcher notices the sleep by itself.

use softphone_wake::{Power, watch_logind, watch_network};
use tauri::{AppHandle, Runtime};

/// The system bus to listen on instead of the real one (tests: a logind stand-in).
const SYSTEM_BUS_VAR: &str = "SOFTPHONE_SYSTEM_BUS_ADDRESS";

/// Listens for the rest of the app's life; `on_wake` runs on each resume and each change of the
/// network.
pub fn watch<R: Runtime>(app: &AppHandle<R>, on_wake: fn(&AppHandle<R>)) {
    let network_app = app.clone();
    tauri::async_runtime::spawn(async move {
        let watched = watch_network(|change| {
            tracing::info!(added = ?change.added, removed = ?change.removed, "the network changed: re-registering now");
            on_wake(&network_app);
        })
        .await;
        if let Err(error) = watched {
            tracing::warn!(%error, "network changes are not watched");
        }
    });
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let address = std::env::var(SYSTEM_BUS_VAR).ok();
        let watched = watch_logind(address.as_deref(), |power| match power {
            Power::GoingToSleep => tracing::info!("the computer is going to sleep"),
            Power::Woke => {
                tracing::info!("the computer woke up: re-registering now");
                on_wake(&app);
            }
        })
        .await;
        if let Err(error) = watched {
            tracing::warn!(%error, "sleep and wake are not watched");
        }
    });
}
