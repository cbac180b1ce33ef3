//! Whether the computer is going to sleep or just woke up, as the operating system says it.
//!
//! On Linux, systemd-logind says so on the system bus: `org.freedesktop.login1.Manager`'s
//! `PrepareForSleep(true)` before a suspend or hibernation, `PrepareForSleep(false)` after the
//! resume. A softphone's websocket is dead after a sleep without anyone having closed it, so the
//! app re-registers at once on the second, instead of waiting for its pings to time out (the
//! native engine's clock watcher is the fallback where no such signal comes).
//!
//! Windows (`WM_POWERBROADCAST`/`PBT_APMRESUMEAUTOMATIC`) and macOS
//! (`NSWorkspaceDidWakeNotification`) have their own notifications; they are not watched yet,
//! and the clock watcher covers them.

use futures_util::StreamExt;
use zbus::{MatchRule, MessageStream};

/// What the operating system says about sleep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    /// About to suspend or hibernate.
    GoingToSleep,
    /// Resumed.
    Woke,
}

/// Why the sleep signals cannot be watched.
#[derive(Debug, thiserror::Error)]
pub enum SleepWatchError {
    /// No system bus (a container, a minimal desktop): the clock watcher is all there is.
    #[error("No system bus to hear about sleep and wake on ({0}); a clock jump is noticed instead.")]
    NoBus(String),
    /// The bus refused the subscription.
    #[error("The system bus refused to pass on sleep and wake signals ({0}).")]
    Refused(String),
}

/// logind's object, interface and signal.
const LOGIND_PATH: &str = "/org/freedesktop/login1";
const LOGIND_MANAGER: &str = "org.freedesktop.login1.Manager";
const PREPARE_FOR_SLEEP: &str = "PrepareForSleep";

/// Subscribes to logind's sleep signals on the system bus (or on the bus at `address`, for tests
/// and unusual setups) and calls `on_power` for each, until the bus goes away.
pub async fn watch_logind(address: Option<&str>, mut on_power: impl FnMut(Power)) -> Result<(), SleepWatchError> {
    let connection = match address {
        Some(address) => {
            zbus::connection::Builder::address(address)
                .map_err(|error| SleepWatchError::NoBus(error.to_string()))?
                .build()
                .await
        }
        None => zbus::Connection::system().await,
    }
    .map_err(|error| SleepWatchError::NoBus(error.to_string()))?;
    let rule = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .path(LOGIND_PATH)
        .and_then(|rule| rule.interface(LOGIND_MANAGER))
        .and_then(|rule| rule.member(PREPARE_FOR_SLEEP))
        .map_err(|error| SleepWatchError::Refused(error.to_string()))?
        .build();
    let mut signals = MessageStream::for_match_rule(rule, &connection, None)
        .await
        .map_err(|error| SleepWatchError::Refused(error.to_string()))?;
    tracing::info!("watching logind's sleep signals");
    while let Some(message) = signals.next().await {
        let Ok(message) = message else { continue };
        match message.body().deserialize::<bool>() {
            Ok(true) => on_power(Power::GoingToSleep),
            Ok(false) => on_power(Power::Woke),
            Err(error) => tracing::debug!(%error, "a PrepareForSleep signal without its boolean"),
        }
    }
    Ok(())
}
