//! Inbound calls reach the agent in other windows: desktop notifications with Answer and Decline
//! (D-Bus `org.freedesktop.Notifications` through softphone-notify), withdrawn when the ring ends,
//! a missed-call notice after, and the agent's clicks fed back to the state machine.
//!
//! Without a notification service the window's ringing banner is the only alert; the log and the
//! banner say why.

use std::sync::Mutex;

use softphone_core::call::{CallEvent, CallId, CallsSnapshot, Party};
use softphone_core::ipc::{DesktopStatus, IpcError, event};
use softphone_core::phone::PhoneNumber;
use softphone_notify::{CallAction, IncomingCallNotice, NotificationEvent, Notifier, NotifyError};
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::{mpsc, watch};

use crate::database::Database;

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
pub fn start<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let service = match Notifier::connect().await {
            Ok(notifier) if !notifier.capabilities().actions => {
                let reason =
                    "The desktop's notification service shows no buttons; inbound calls ring in the window.".to_owned();
                tracing::warn!(%reason, "notifications without actions");
                Service::Ready(run_queue(&app, notifier))
            }
            Ok(notifier) => {
                tracing::info!(capabilities = ?notifier.capabilities().all, "desktop notifications ready");
                Service::Ready(run_queue(&app, notifier))
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
fn run_queue<R: Runtime>(app: &AppHandle<R>, notifier: Notifier) -> mpsc::UnboundedSender<NoticeOp> {
    follow_clicks(app, &notifier);
    let (queue, mut ops) = mpsc::unbounded_channel::<NoticeOp>();
    tauri::async_runtime::spawn(async move {
        while let Some(op) = ops.recv().await {
            let outcome = match &op {
                NoticeOp::Incoming(notice) => notifier.show_incoming_call(notice).await.map(drop),
                NoticeOp::Missed(notice) => notifier.show_missed_call(notice).await.map(drop),
                NoticeOp::Withdraw(call_id) => notifier.close_call(call_id).await,
            };
            if let Err(error) = outcome {
                tracing::warn!(code = error.code(), %error, ?op, "a notification could not be shown or closed");
            }
        }
    });
    queue
}

fn follow_clicks<R: Runtime>(app: &AppHandle<R>, notifier: &Notifier) {
    let Some(mut events) = notifier.take_events() else { return };
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        while let Some(event) = events.recv().await {
            let NotificationEvent::Action(action) = event else { continue };
            let call_id = CallId(action.call_id.clone());
            tracing::info!(call_id = %call_id.0, action = ?action.action, "notification clicked");
            let outcome = match action.action {
                CallAction::Answer => {
                    crate::desktop::show_window(&app);
                    to_calls(&app, CallEvent::Answer { call_id })
                }
                CallAction::Decline => to_calls(&app, CallEvent::Decline { call_id }),
                CallAction::Open => {
                    crate::desktop::show_window(&app);
                    app.emit(event::WINDOW_SHOW_CALL, &call_id).map_err(|e| crate::errors::internal(&e.to_string()))
                }
                CallAction::CallBack => {
                    crate::desktop::show_window(&app);
                    call_back(&app, &call_id)
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

/// The Call back button of a missed-call notification: dials the caller (and the lead the missed
/// call was matched to), as Redial in the call log does.
fn call_back<R: Runtime>(app: &AppHandle<R>, missed: &CallId) -> Result<(), IpcError> {
    let snapshot = app.state::<watch::Receiver<CallsSnapshot>>().borrow().clone();
    let from_machine = snapshot.calls.into_iter().find(|call| &call.call_id == missed);
    let (number, lead_id) = match from_machine {
        Some(call) => (call.remote.number, call.lead_id),
        // Already dismissed from the window: the call log still has it.
        None => {
            let database = app.state::<Database>();
            let row = database.finished_row(missed)?;
            let entry = database.with(|store| store.call(row))?;
            (entry.remote_number, entry.lead_id.map(|lead| lead.0))
        }
    };
    let (call_id, dial) = crate::dialing::dial_event(app, &number, lead_id)?;
    to_calls(app, dial)?;
    tracing::info!(missed = %missed.0, call_id = %call_id.0, "calling back a missed call");
    Ok(())
}

/// What the notice says: the caller, and the lead the number belongs to.
fn notice<R: Runtime>(app: &AppHandle<R>, call_id: &CallId, remote: &Party) -> IncomingCallNotice {
    let number = PhoneNumber::from_e164(&remote.number).or_else(|_| PhoneNumber::from_stored(&remote.number)).ok();
    let lead = number
        .as_ref()
        .and_then(|number| app.state::<Database>().with(|store| store.find_caller(number)).ok().flatten());
    IncomingCallNotice {
        call_id: call_id.0.clone(),
        caller_name: remote.name.clone().filter(|name| !name.is_empty()),
        number_display: number.map_or_else(|| remote.number.clone(), |number| number.format_international()),
        lead_name: lead.as_ref().map(|lead| lead.name.clone()).filter(|name| !name.is_empty()),
        company: lead.map(|lead| lead.company).filter(|company| !company.is_empty()),
    }
}

/// The ringing popup.
pub fn show_incoming<R: Runtime>(app: &AppHandle<R>, call_id: &CallId, remote: &Party) {
    let notifications = app.state::<Notifications>();
    if notifications.ready() {
        notifications.send(NoticeOp::Incoming(notice(app, call_id, remote)));
    }
}

/// The ring ended (answered here or elsewhere, declined, or the caller gave up).
pub fn withdraw<R: Runtime>(app: &AppHandle<R>, call_id: &CallId) {
    app.state::<Notifications>().send(NoticeOp::Withdraw(call_id.0.clone()));
}

/// A missed-call notice (the badge on Calls counts it too).
pub fn show_missed<R: Runtime>(app: &AppHandle<R>, call_id: &CallId, remote: &Party) {
    let notifications = app.state::<Notifications>();
    if notifications.ready() {
        notifications.send(NoticeOp::Missed(notice(app, call_id, remote)));
    }
}
