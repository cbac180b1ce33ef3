//! Inbound-call notifications on the Linux desktop, through D-Bus `org.freedesktop.Notifications`.
//!
//! A ringing call becomes a critical notification that never expires, with Answer and Decline
//! buttons; a click on its body opens the call's lead. [`Notifier`] subscribes to the service's
//! `ActionInvoked` and `NotificationClosed` signals when it connects, before it sends anything, so
//! a click that comes a millisecond after the popup appears is not lost (notify-rust listens only
//! after sending and loses it; see docs/toolchain.md §8).
//!
//! With no session bus or no notification service, [`Notifier::connect`] fails with a coded
//! [`NotifyError`] and the shell rings in the window instead.

mod error;
mod notice;
#[cfg(feature = "test-support")]
pub mod test_support;
mod tray_host;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, mpsc};
use zbus::zvariant::Value;

pub use error::NotifyError;
pub use notice::{APP_NAME, CallAction, DESKTOP_ENTRY, IncomingCallNotice};
pub use tray_host::{STATUS_NOTIFIER_WATCHER, watch_tray_host};

use notice::NoticeKind;

const SERVICE: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";

/// How long a call to the notification service may take before it counts as failed. A popup that
/// comes later than this is useless for a ringing call; the shell then rings in the window.
const METHOD_TIMEOUT: Duration = Duration::from_secs(3);

/// The id the notification service gave a notification (unique per service while it runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NotificationId(pub u32);

/// The agent acted on a call notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationAction {
    /// The call the notification was shown for.
    pub call_id: String,
    /// What the agent clicked.
    pub action: CallAction,
    /// The notification clicked.
    pub notification: NotificationId,
}

/// Why a notification went away without this notifier closing it (the specification's reasons
/// 1 to 4). What [`Notifier::close`] and [`Notifier::close_call`] close is not reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CloseReason {
    /// It timed out.
    Expired,
    /// The agent dismissed it (or clicked a button of a notification that is not resident).
    Dismissed,
    /// The app closed it (only if it was closed behind this notifier's back, e.g. another instance).
    ClosedByApp,
    /// The service did not say.
    Undefined,
}

impl CloseReason {
    fn from_code(code: u32) -> CloseReason {
        match code {
            1 => CloseReason::Expired,
            2 => CloseReason::Dismissed,
            3 => CloseReason::ClosedByApp,
            _ => CloseReason::Undefined,
        }
    }
}

/// What happened to a call notification, in the order the service reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotificationEvent {
    /// A button or the body was clicked.
    Action(NotificationAction),
    /// The notification went away without [`Notifier::close`] (expired or dismissed).
    Closed { call_id: String, notification: NotificationId, reason: CloseReason },
}

/// What the notification service says it can do (`GetCapabilities`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Capabilities {
    /// Buttons (`actions`). Without them the agent answers in the window.
    pub actions: bool,
    /// A body text (`body`); without it only the summary shows.
    pub body: bool,
    /// The body is read as markup (`body-markup`): names are escaped.
    pub body_markup: bool,
    /// Notifications stay in a history until dismissed (`persistence`).
    pub persistence: bool,
    /// Every capability string the service listed.
    pub all: Vec<String>,
}

impl Capabilities {
    fn from_list(all: Vec<String>) -> Capabilities {
        let has = |name: &str| all.iter().any(|capability| capability == name);
        Capabilities {
            actions: has("actions"),
            body: has("body"),
            body_markup: has("body-markup"),
            persistence: has("persistence"),
            all,
        }
    }
}

/// A notification this notifier showed and has not closed.
#[derive(Debug, Clone)]
struct Shown {
    call_id: String,
    kind: NoticeKind,
}

/// The notifications shown and not closed, by id. Locked across each `Notify` call so the signal
/// listener cannot look up an id before the id is recorded here (a click in the first millisecond).
#[derive(Debug, Default)]
struct ShownNotifications(HashMap<u32, Shown>);

impl ShownNotifications {
    fn find(&self, call_id: &str, kind: NoticeKind) -> Option<u32> {
        self.0.iter().find(|(_, shown)| shown.call_id == call_id && shown.kind == kind).map(|(id, _)| *id)
    }
}

/// A connection to the desktop's notification service that shows call notifications and reports
/// what the agent does with them. Dropping it stops listening (shown notifications stay).
#[derive(Debug)]
pub struct Notifier {
    proxy: zbus::Proxy<'static>,
    capabilities: Capabilities,
    shown: Arc<Mutex<ShownNotifications>>,
    events: std::sync::Mutex<Option<mpsc::UnboundedReceiver<NotificationEvent>>>,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl Notifier {
    /// Connects to the session bus (`DBUS_SESSION_BUS_ADDRESS`), subscribes to the notification
    /// signals and asks the service for its capabilities. Must run inside a tokio runtime.
    pub async fn connect() -> Result<Notifier, NotifyError> {
        let builder = zbus::connection::Builder::session().map_err(no_session_bus)?;
        Notifier::connect_with(builder).await
    }

    /// Like [`Notifier::connect`], on the bus at `address` (e.g. `unix:path=/tmp/bus`): tests use
    /// a private bus without touching the process environment.
    pub async fn connect_to(address: &str) -> Result<Notifier, NotifyError> {
        let builder = zbus::connection::Builder::address(address).map_err(no_session_bus)?;
        Notifier::connect_with(builder).await
    }

    async fn connect_with(builder: zbus::connection::Builder<'_>) -> Result<Notifier, NotifyError> {
        let connection = builder.method_timeout(METHOD_TIMEOUT).build().await.map_err(no_session_bus)?;
        let proxy: zbus::Proxy<'static> = zbus::proxy::Builder::new(&connection)
            .destination(SERVICE)
            .and_then(|builder| builder.path(PATH))
            .and_then(|builder| builder.interface(SERVICE))
            .map(|builder| builder.cache_properties(zbus::proxy::CacheProperties::No))
            .map_err(|error| NotifyError::Failed { operation: "connect", detail: error.to_string() })?
            .build()
            .await
            .map_err(|error| NotifyError::Failed { operation: "connect", detail: error.to_string() })?;
        // AddMatch before anything is sent: no click can come before we listen.
        let signals = proxy
            .receive_all_signals()
            .await
            .map_err(|error| NotifyError::Failed { operation: "subscribe to clicks", detail: error.to_string() })?;
        let capabilities: Vec<String> = proxy
            .call("GetCapabilities", &())
            .await
            .map_err(|error| NotifyError::from_call("list its capabilities", error))?;
        let capabilities = Capabilities::from_list(capabilities);
        tracing::info!(capabilities = ?capabilities.all, "connected to the notification service");

        let shown = Arc::new(Mutex::new(ShownNotifications::default()));
        let (sender, receiver) = mpsc::unbounded_channel();
        let listener = tokio::spawn(listen(signals, shown.clone(), sender));
        Ok(Notifier { proxy, capabilities, shown, events: std::sync::Mutex::new(Some(receiver)), listener })
    }

    /// What the service can do. Without `actions` the popups have no buttons: the agent answers in
    /// the window.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// The events (clicks, dismissals) of every notification this notifier shows, in order.
    /// There is one receiver: the first call takes it, later calls get `None`.
    pub fn take_events(&self) -> Option<mpsc::UnboundedReceiver<NotificationEvent>> {
        self.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
    }

    /// Shows (or updates, keeping its id) the ringing notification of `notice.call_id`: critical,
    /// never expires, stays after a click (resident), Answer and Decline buttons, body click opens
    /// the lead. Sound is suppressed: the app plays its own ringer.
    pub async fn show_incoming_call(&self, notice: &IncomingCallNotice) -> Result<NotificationId, NotifyError> {
        self.show(NoticeKind::Incoming, notice).await
    }

    /// Shows a missed-call notification (normal urgency, Call back button, body click opens the
    /// lead), closing the call's ringing notification first if it is still up.
    pub async fn show_missed_call(&self, notice: &IncomingCallNotice) -> Result<NotificationId, NotifyError> {
        self.close_call(&notice.call_id).await?;
        self.show(NoticeKind::Missed, notice).await
    }

    /// Shows that a callback the agent promised is due (normal urgency, stays until clicked or
    /// closed, Call back button, body click opens the lead). `notice.call_id` names the callback
    /// (`callback-<lead id>`), and comes back with the click.
    pub async fn show_callback_due(&self, notice: &IncomingCallNotice) -> Result<NotificationId, NotifyError> {
        self.show(NoticeKind::CallbackDue, notice).await
    }

    /// Shows a plain piece of information from the app (normal urgency, no buttons, the server's
    /// own timeout): e.g. that the closed window left the phone running in the tray. A click on it
    /// comes back as a [`NotificationAction::Default`] for `topic`.
    pub async fn show_information(
        &self,
        topic: &str,
        summary: &str,
        body: &str,
    ) -> Result<NotificationId, NotifyError> {
        let kind = NoticeKind::Information;
        let body = if self.capabilities.body_markup { notice::escape_markup(body) } else { body.to_owned() };
        let mut hints: HashMap<&str, Value<'_>> = HashMap::new();
        hints.insert("urgency", Value::U8(kind.urgency()));
        hints.insert("category", Value::from(kind.category()));
        hints.insert("desktop-entry", Value::from(DESKTOP_ENTRY));
        let mut actions = Vec::new();
        if self.capabilities.actions {
            for action in kind.actions() {
                actions.extend([action.key(), action.label()]);
            }
        }
        // Held until the id is recorded: the listener waits for it before it looks a click up.
        let mut shown = self.shown.lock().await;
        let id: u32 = self
            .proxy
            .call(
                "Notify",
                &(APP_NAME, 0u32, kind.icon(), summary, body.as_str(), &actions, &hints, kind.expire_timeout_ms()),
            )
            .await
            .map_err(|error| NotifyError::from_call("show a notification", error))?;
        shown.0.insert(id, Shown { call_id: topic.to_owned(), kind });
        Ok(NotificationId(id))
    }

    /// Closes a notification this notifier showed. Closing one that is already gone is not an error.
    pub async fn close(&self, id: NotificationId) -> Result<(), NotifyError> {
        let mut shown = self.shown.lock().await;
        shown.0.remove(&id.0);
        self.close_notification(id.0).await
    }

    /// Closes the ringing notification of `call_id`, if one is up: the call was answered (here or
    /// elsewhere), declined or ended.
    pub async fn close_call(&self, call_id: &str) -> Result<(), NotifyError> {
        let mut shown = self.shown.lock().await;
        let Some(id) = shown.find(call_id, NoticeKind::Incoming) else {
            return Ok(());
        };
        shown.0.remove(&id);
        self.close_notification(id).await
    }

    async fn close_notification(&self, id: u32) -> Result<(), NotifyError> {
        match self.proxy.call::<_, _, ()>("CloseNotification", &(id,)).await {
            Ok(()) => Ok(()),
            // The specification lets a server answer an error for an id it no longer has.
            Err(zbus::Error::MethodError(name, detail, _)) if !error::means_no_service(name.as_str()) => {
                tracing::debug!(id, %name, ?detail, "closing a notification that is already gone");
                Ok(())
            }
            Err(error) => Err(NotifyError::from_call("close a notification", error)),
        }
    }

    async fn show(&self, kind: NoticeKind, notice: &IncomingCallNotice) -> Result<NotificationId, NotifyError> {
        let content = kind.content(notice, self.capabilities.body_markup);
        let mut hints: HashMap<&str, Value<'_>> = HashMap::new();
        hints.insert("urgency", Value::U8(kind.urgency()));
        hints.insert("category", Value::from(kind.category()));
        hints.insert("desktop-entry", Value::from(DESKTOP_ENTRY));
        if kind == NoticeKind::Incoming {
            hints.insert("resident", Value::Bool(true));
            hints.insert("suppress-sound", Value::Bool(true));
        }
        // Held until the id is recorded: the listener waits for it before it looks a click up.
        let mut shown = self.shown.lock().await;
        let replaces_id = shown.find(&notice.call_id, kind).unwrap_or(0);
        let id: u32 = self
            .proxy
            .call(
                "Notify",
                &(
                    APP_NAME,
                    replaces_id,
                    kind.icon(),
                    content.summary.as_str(),
                    content.body.as_str(),
                    &content.actions,
                    &hints,
                    kind.expire_timeout_ms(),
                ),
            )
            .await
            .map_err(|error| NotifyError::from_call("show a call notification", error))?;
        if replaces_id != 0 && replaces_id != id {
            shown.0.remove(&replaces_id);
        }
        shown.0.insert(id, Shown { call_id: notice.call_id.clone(), kind });
        Ok(NotificationId(id))
    }
}

fn no_session_bus(error: zbus::Error) -> NotifyError {
    NotifyError::NoSessionBus { detail: error.to_string() }
}

/// Turns the service's signals into [`NotificationEvent`]s for the notifications we showed.
async fn listen(
    mut signals: zbus::proxy::SignalStream<'static>,
    shown: Arc<Mutex<ShownNotifications>>,
    events: mpsc::UnboundedSender<NotificationEvent>,
) {
    while let Some(message) = signals.next().await {
        let header = message.header();
        let Some(member) = header.member() else { continue };
        let event = match member.as_str() {
            "ActionInvoked" => {
                let Ok((id, key)) = message.body().deserialize::<(u32, String)>() else {
                    tracing::warn!("ActionInvoked with unexpected arguments");
                    continue;
                };
                let Some(action) = CallAction::from_key(&key) else {
                    tracing::debug!(id, key, "ignoring an action we never offered");
                    continue;
                };
                let shown = shown.lock().await;
                let Some(notice) = shown.0.get(&id) else { continue };
                NotificationEvent::Action(NotificationAction {
                    call_id: notice.call_id.clone(),
                    action,
                    notification: NotificationId(id),
                })
            }
            "NotificationClosed" => {
                let Ok((id, reason)) = message.body().deserialize::<(u32, u32)>() else {
                    tracing::warn!("NotificationClosed with unexpected arguments");
                    continue;
                };
                let Some(notice) = shown.lock().await.0.remove(&id) else { continue };
                NotificationEvent::Closed {
                    call_id: notice.call_id,
                    notification: NotificationId(id),
                    reason: CloseReason::from_code(reason),
                }
            }
            _ => continue,
        };
        if events.send(event).is_err() {
            tracing::debug!("nobody takes notification events any more");
        }
    }
    tracing::warn!("the notification signal stream ended");
}
