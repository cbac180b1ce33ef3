//! Inbound calls reach the agent in other windows: desktop notifications with Answer and Decline
//! (D-Bus `org.freedesktop.Notifications` through softphone-notify), withdrawn when the ring ends,
//! a missed-call notice after, and the agent's clicks fed back to the state machine.
//!
//! Without a notification service the window's ringing banner is the only alert; the log and the
//! banner say why.

use std::sync::Mutex;

use softphone_core::call::{CallEvent, CallId, CallsSnapshot, Party};
use softphone_core::ipc::{DesktopStatus, IpcError, event};
use softphone_core::lead::{Lead, LeadId};
use softphone_core::phone::PhoneNumber;
use softphone_notify::{CallAction, IncomingCallNotice, NotificationEvent, Notifier, NotifyError};
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::{mpsc, watch};

/// What the agent's clicks on a notification do beyond the call machine's Answer and Decline,
/// given by the wiring (this module knows no other part of the shell).
pub struct ClickActions<R: Runtime> {
    /// Brings the app's window to the front.
    pub show_window: fn(&AppHandle<R>),
    /// Calls back the caller of a missed call.
    pub call_back: fn(&AppHandle<R>, &CallId) -> Result<(), IpcError>,
}

impl<R: Runtime> Clone for ClickActions<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R: Runtime> Copy for ClickActions<R> {}

enum Service {
    Connecting,
    /// Popups go through this queue, in order: a ring's close never overtakes its popup.
    Ready(mpsc::UnboundedSender<NoticeOp>),
    Unavailable(String),
}

#[derive(Debug)]
enum NoticeOp {
    Incoming(IncomingCallNotice),
    Missed(IncomingCallNotice),
    CallbackDue(IncomingCallNotice),
    Information { topic: String, summary: String, body: String },
    Withdraw(String),
}

/// The notification service, managed state.
pub struct Notifications(Mutex<Service>);

impl Default for Notifications {
    fn default() -> Self {
        Notifications(Mutex::new(Service::Connecting))
    }
}

impl Notifications {
    fn send(&self, op: NoticeOp) {
        if let Service::Ready(queue) = &*self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
            let _ = queue.send(op);
        }
    }

    fn ready(&self) -> bool {
        matches!(&*self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner), Service::Ready(_))
    }

    /// Whether popups work, and if not, why.
    pub fn status(&self) -> (bool, Option<String>) {
        match &*self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
            Service::Ready(_) => (true, None),
            Service::Connecting => (false, Some("Connecting to the desktop's notification service.".into())),
            Service::Unavailable(reason) => (false, Some(reason.clone())),
        }
    }
}

/// Connects to the session bus's notification service and starts following the agent's clicks.
pub fn start<R: Runtime>(app: &AppHandle<R>, clicks: ClickActions<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let service = match Notifier::connect().await {
            Ok(notifier) if !notifier.capabilities().actions => {
                let reason =
                    "The desktop's notification service shows no buttons; inbound calls ring in the window.".to_owned();
                tracing::warn!(%reason, "notifications without actions");
                Service::Ready(run_queue(&app, notifier, clicks))
            }
            Ok(notifier) => {
                tracing::info!(capabilities = ?notifier.capabilities().all, "desktop notifications ready");
                Service::Ready(run_queue(&app, notifier, clicks))
            }
            Err(error) => {
                tracing::warn!(code = error.code(), %error, "no desktop notifications; inbound calls ring in the window only");
                let why = match error {
                    NotifyError::NoSessionBus { .. } => "this desktop session has no D-Bus session bus",
                    NotifyError::NoNotificationService { .. } => "no notification service is running",
                    NotifyError::Failed { .. } => "the notification service failed (see the log)",
                };
                Service::Unavailable(format!(
                    "Desktop notifications are unavailable: {why}. Incoming calls ring only here, in the window."
                ))
            }
        };
        *app.state::<Notifications>().0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = service;
        publish_status(&app);
    });
}

/// Tells the window whether notifications work (for the ringing banner's explanation).
pub fn publish_status<R: Runtime>(app: &AppHandle<R>) {
    let status = desktop_status(app);
    if let Err(error) = app.emit(event::DESKTOP_UPDATED, status) {
        tracing::error!(%error, "could not tell the window the desktop status");
    }
}

pub fn desktop_status<R: Runtime>(app: &AppHandle<R>) -> DesktopStatus {
    let (notifications, notifications_problem) = app.state::<Notifications>().status();
    let do_not_disturb = app.state::<watch::Receiver<CallsSnapshot>>().borrow().do_not_disturb;
    DesktopStatus { notifications, notifications_problem, do_not_disturb }
}

/// Carries out popups one at a time, in the order the state machine asked for them.
fn run_queue<R: Runtime>(
    app: &AppHandle<R>,
    notifier: Notifier,
    clicks: ClickActions<R>,
) -> mpsc::UnboundedSender<NoticeOp> {
    follow_clicks(app, &notifier, clicks);
    let (queue, mut ops) = mpsc::unbounded_channel::<NoticeOp>();
    tauri::async_runtime::spawn(async move {
        while let Some(op) = ops.recv().await {
            let outcome = match &op {
                NoticeOp::Incoming(notice) => notifier.show_incoming_call(notice).await.map(drop),
                NoticeOp::Missed(notice) => notifier.show_missed_call(notice).await.map(drop),
                NoticeOp::CallbackDue(notice) => notifier.show_callback_due(notice).await.map(drop),
                NoticeOp::Information { topic, summary, body } => {
                    notifier.show_information(topic, summary, body).await.map(drop)
                }
                NoticeOp::Withdraw(call_id) => notifier.close_call(call_id).await,
            };
            if let Err(error) = outcome {
                tracing::warn!(code = error.code(), %error, ?op, "a notification could not be shown or closed");
            }
        }
    });
    queue
}

fn follow_clicks<R: Runtime>(app: &AppHandle<R>, notifier: &Notifier, clicks: ClickActions<R>) {
    let Some(mut events) = notifier.take_events() else { return };
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        while let Some(event) = events.recv().await {
            let NotificationEvent::Action(action) = event else { continue };
            let call_id = CallId(action.call_id.clone());
            tracing::info!(call_id = %call_id.0, action = ?action.action, "notification clicked");
            let outcome = match action.action {
                CallAction::Answer => {
                    (clicks.show_window)(&app);
                    to_calls(&app, CallEvent::Answer { call_id })
                }
                CallAction::Decline => to_calls(&app, CallEvent::Decline { call_id }),
                CallAction::Open if action.call_id.starts_with(INFORMATION_PREFIX) => {
                    (clicks.show_window)(&app);
                    Ok(())
                }
                CallAction::Open => {
                    (clicks.show_window)(&app);
                    app.emit(event::WINDOW_SHOW_CALL, &call_id).map_err(|e| crate::errors::internal(&e.to_string()))
                }
                CallAction::CallBack => {
                    (clicks.show_window)(&app);
                    (clicks.call_back)(&app, &call_id)
                }
            };
            if let Err(error) = outcome {
                tracing::warn!(reason = %error.message, "a notification click could not be carried out");
            }
        }
    });
}

/// Hands `event` to the call loop.
fn to_calls<R: Runtime>(app: &AppHandle<R>, event: CallEvent) -> Result<(), IpcError> {
    app.state::<mpsc::UnboundedSender<CallEvent>>()
        .send(event)
        .map_err(|_| crate::errors::internal("The call loop has stopped"))
}

/// What the notice says: the caller, and the lead the number belongs to.
fn notice(call_id: &CallId, remote: &Party, lead: Option<Lead>) -> IncomingCallNotice {
    let number = PhoneNumber::from_e164(&remote.number).or_else(|_| PhoneNumber::from_stored(&remote.number)).ok();
    IncomingCallNotice {
        call_id: call_id.0.clone(),
        caller_name: remote.name.clone().filter(|name| !name.is_empty()),
        number_display: number.map_or_else(|| remote.number.clone(), |number| number.format_international()),
        lead_name: lead.as_ref().map(|lead| lead.name.clone()).filter(|name| !name.is_empty()),
        company: lead.map(|lead| lead.company).filter(|company| !company.is_empty()),
    }
}

/// The ringing popup, naming the lead the caller is (if known).
pub fn show_incoming<R: Runtime>(app: &AppHandle<R>, call_id: &CallId, remote: &Party, lead: Option<Lead>) {
    let notifications = app.state::<Notifications>();
    if notifications.ready() {
        notifications.send(NoticeOp::Incoming(notice(call_id, remote, lead)));
    }
}

/// The id a callback's notification carries, and its clicks come back with.
pub fn callback_notice_id(lead_id: LeadId) -> CallId {
    CallId(format!("{CALLBACK_PREFIX}{}", lead_id.0))
}

/// The lead a callback notification's id names, if it is one.
pub fn callback_lead(id: &CallId) -> Option<LeadId> {
    id.0.strip_prefix(CALLBACK_PREFIX)?.parse().ok().map(LeadId)
}

const CALLBACK_PREFIX: &str = "callback-";

/// A callback the agent promised is due: a notification with Call back.
pub fn show_callback_due<R: Runtime>(app: &AppHandle<R>, lead: &Lead) {
    let notifications = app.state::<Notifications>();
    if notifications.ready() {
        let notice = IncomingCallNotice {
            call_id: callback_notice_id(lead.id).0,
            caller_name: None,
            number_display: lead.phone.format_international(),
            lead_name: Some(lead.name.clone()).filter(|name| !name.is_empty()),
            company: Some(lead.company.clone()).filter(|company| !company.is_empty()),
        };
        notifications.send(NoticeOp::CallbackDue(notice));
    }
}

/// Topics of information notices start with this (a click on one opens the window, nothing more).
pub const INFORMATION_PREFIX: &str = "info-";

/// Something the agent should know, as a plain notification; `topic` starts with
/// [`INFORMATION_PREFIX`]. Without a notification service it is only logged.
pub fn show_information<R: Runtime>(app: &AppHandle<R>, topic: &str, summary: &str, body: &str) {
    debug_assert!(topic.starts_with(INFORMATION_PREFIX), "{topic}");
    tracing::info!(topic, summary, "telling the agent");
    let notifications = app.state::<Notifications>();
    if notifications.ready() {
        notifications.send(NoticeOp::Information {
            topic: topic.to_owned(),
            summary: summary.to_owned(),
            body: body.to_owned(),
        });
    }
}

/// The ring ended (answered here or elsewhere, declined, or the caller gave up).
pub fn withdraw<R: Runtime>(app: &AppHandle<R>, call_id: &CallId) {
    app.state::<Notifications>().send(NoticeOp::Withdraw(call_id.0.clone()));
}

/// A missed-call notice (the badge on Calls counts it too).
pub fn show_missed<R: Runtime>(app: &AppHandle<R>, call_id: &CallId, remote: &Party, lead: Option<Lead>) {
    let notifications = app.state::<Notifications>();
    if notifications.ready() {
        notifications.send(NoticeOp::Missed(notice(call_id, remote, lead)));
    }
}
