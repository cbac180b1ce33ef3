//! Whether the desktop shows tray icons. A tray icon (libayatana-appindicator's, under Tauri's)
//! registers with a StatusNotifierWatcher on the session bus: KDE, XFCE, Cinnamon, MATE and GNOME
//! with its AppIndicator extension run one. Without a watcher the icon is shown nowhere, so an
//! app that hid itself "in the tray" would be lost to the agent: the shell keeps the window then.

use futures_util::StreamExt;
use zbus::fdo::DBusProxy;
use zbus::names::BusName;

use crate::NotifyError;

/// The well-known name of the watcher tray icons register with.
pub const STATUS_NOTIFIER_WATCHER: &str = "org.kde.StatusNotifierWatcher";

/// Tells `on_change` whether a tray is there now, then each time that changes (a panel started or
/// went away), for as long as the bus connection lasts. `address` is the session bus to use
/// instead of `DBUS_SESSION_BUS_ADDRESS` (tests: a private bus). Must run inside a tokio runtime.
pub async fn watch_tray_host(address: Option<&str>, on_change: impl Fn(bool)) -> Result<(), NotifyError> {
    let connection = match address {
        Some(address) => zbus::connection::Builder::address(address),
        None => zbus::connection::Builder::session(),
    }
    .map_err(|error| NotifyError::NoSessionBus { detail: error.to_string() })?
    .build()
    .await
    .map_err(|error| NotifyError::NoSessionBus { detail: error.to_string() })?;
    let failed = |operation: &'static str| {
        move |error: zbus::Error| NotifyError::Failed { operation, detail: error.to_string() }
    };
    let bus = DBusProxy::new(&connection).await.map_err(failed("reach the bus"))?;
    // Subscribed before the first look, so a watcher that comes meanwhile is not missed.
    let mut owners = bus
        .receive_name_owner_changed_with_args(&[(0, STATUS_NOTIFIER_WATCHER)])
        .await
        .map_err(failed("follow the tray watcher"))?;
    let name =
        BusName::try_from(STATUS_NOTIFIER_WATCHER).map_err(|error| failed("name the tray watcher")(error.into()))?;
    let mut present =
        bus.name_has_owner(name).await.map_err(|error| failed("look for the tray watcher")(error.into()))?;
    tracing::info!(present, "tray icons {}", if present { "are shown" } else { "have no watcher to show them" });
    on_change(present);
    while let Some(change) = owners.next().await {
        let Ok(args) = change.args() else { continue };
        let now = args.new_owner().is_some();
        if now != present {
            present = now;
            tracing::info!(present, "the tray watcher {}", if present { "came" } else { "went" });
            on_change(present);
        }
    }
    Ok(())
}
