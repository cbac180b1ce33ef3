//! The app as a desktop citizen: bringing the window forward, Do Not Disturb, the tray icon, and
//! `tel:` / `callto:` links (from the command line, or handed over by a second launch).

use std::sync::Mutex;

use softphone_core::call::{CallEvent, CallView, CallsSnapshot};
use softphone_core::ipc::{ConnectionState, event};
use softphone_core::phone::parse_dial_uri;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::{mpsc, watch};

use crate::connection::Connection;

/// Desktop state, managed: a dial link waiting for the window; whether a panel shows the tray.
#[derive(Default)]
pub struct Desktop {
    pending_dial: Mutex<Option<String>>,
    /// `None` until the session bus has answered.
    tray_shown: watch::Sender<Option<bool>>,
}

/// Do Not Disturb, as the call machine has it.
fn do_not_disturb<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.try_state::<watch::Receiver<CallsSnapshot>>().is_some_and(|calls| calls.borrow().do_not_disturb)
}

/// What the tray does to the window, given by the wiring (this module makes no window).
pub struct WindowActions<R: Runtime> {
    /// Brings the window to the front, made again if it was released.
    pub show: fn(&AppHandle<R>),
    /// Puts the window out of sight (released where the rules allow).
    pub hide: fn(&AppHandle<R>),
    /// Whether the window is on screen.
    pub shown: fn(&AppHandle<R>) -> bool,
}

impl<R: Runtime> Clone for WindowActions<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R: Runtime> Copy for WindowActions<R> {}

/// Whether the app has a tray icon the agent can come back from: made, and shown by a panel.
pub fn has_tray<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.try_state::<TrayItems<R>>().is_some() && *app.state::<Desktop>().tray_shown.borrow() == Some(true)
}

/// [`has_tray`], once the session bus has said whether a panel shows tray icons (at most `wait`).
pub async fn has_tray_soon<R: Runtime>(app: &AppHandle<R>, wait: std::time::Duration) -> bool {
    if app.try_state::<TrayItems<R>>().is_none() {
        return false;
    }
    let mut shown = app.state::<Desktop>().tray_shown.subscribe();
    match tokio::time::timeout(wait, shown.wait_for(Option::is_some)).await {
        Ok(Ok(answer)) => *answer == Some(true),
        Ok(Err(_)) => false,
        Err(_) => {
            tracing::warn!(?wait, "the session bus did not say in time whether a panel shows the tray");
            false
        }
    }
}

/// Follows whether the desktop's panel shows tray icons (it may start after the app, or go).
fn follow_tray_host<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let watched = softphone_notify::watch_tray_host(None, |shown| {
            app.state::<Desktop>().tray_shown.send_replace(Some(shown));
        })
        .await;
        if let Err(error) = watched {
            tracing::warn!(code = error.code(), %error, "whether the tray is shown is not known: closing the window quits");
            app.state::<Desktop>().tray_shown.send_replace(Some(false));
        }
    });
}

/// The dial link among the command-line arguments (`softphone tel:+14155550100`), if any.
pub fn dial_link_in(args: impl IntoIterator<Item = String>) -> Option<String> {
    args.into_iter().find_map(|arg| parse_dial_uri(&arg))
}

/// A dial link arrived: the window (shown by the caller) opens the dialer with it (the dialer
/// validates it, so a bad number gets the dialer's sentence). Kept until the window asks, if it is
/// not listening yet.
pub fn open_dial_link<R: Runtime>(app: &AppHandle<R>, number: String) {
    tracing::info!("a dial link asks to call a number");
    if let Ok(mut pending) = app.state::<Desktop>().pending_dial.lock() {
        *pending = Some(number.clone());
    }
    if let Err(error) = app.emit(event::DIAL_REQUESTED, number) {
        tracing::error!(%error, "could not hand the dial link to the window");
    }
}

/// The dial link the window has not taken yet (the app was started with one).
pub fn take_pending_dial<R: Runtime>(app: &AppHandle<R>) -> Option<String> {
    app.state::<Desktop>().pending_dial.lock().ok().and_then(|mut pending| pending.take())
}

/// The tray's items that change, managed when the tray exists.
pub struct TrayItems<R: Runtime> {
    status: MenuItem<R>,
    do_not_disturb: CheckMenuItem<R>,
}

/// The tray icon: status, Do Not Disturb, show/hide, quit. A desktop without a tray (or a
/// failure to make one) leaves the app without it, logged.
pub fn create_tray<R: Runtime>(app: &AppHandle<R>, window: WindowActions<R>) {
    if let Err(error) = try_create_tray(app, window) {
        tracing::warn!(%error, "no tray icon");
    }
}

fn try_create_tray<R: Runtime>(app: &AppHandle<R>, window: WindowActions<R>) -> tauri::Result<()> {
    let status = MenuItem::with_id(app, "status", "Starting…", false, None::<&str>)?;
    // Ticked as the settings say: Do Not Disturb may have been applied before the tray existed.
    let dnd_item = CheckMenuItem::with_id(app, "dnd", "Do not disturb", true, do_not_disturb(app), None::<&str>)?;
    let show = MenuItem::with_id(app, "show", "Show or hide the window", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Softphone", true, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(app, &[&status, &separator, &dnd_item, &show, &quit])?;
    let mut builder =
        TrayIconBuilder::with_id("main").menu(&menu).tooltip("Softphone").on_menu_event(move |app, event| match event
            .id
            .as_ref()
        {
            "dnd" => {
                let on = !do_not_disturb(app);
                let _ = app.state::<mpsc::UnboundedSender<CallEvent>>().send(CallEvent::SetDoNotDisturb { on });
            }
            "show" if (window.shown)(app) => (window.hide)(app),
            "show" => (window.show)(app),
            "quit" => app.exit(0),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    builder.build(app)?;
    app.manage(TrayItems { status, do_not_disturb: dnd_item });
    follow_tray_host(app);
    refresh_tray(app);
    follow_calls_and_connection(app);
    Ok(())
}

/// The tray follows the calls (and Do Not Disturb, the machine's) and the connection by itself:
/// nothing else needs to tell it.
fn follow_calls_and_connection<R: Runtime>(app: &AppHandle<R>) {
    let mut calls = app.state::<watch::Receiver<CallsSnapshot>>().inner().clone();
    let mut connection = app.state::<Connection>().subscribe();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        // The tick is set from the machine, first thing: the settings' Do Not Disturb may reach
        // the machine after the tray item was made, and before this task reads it.
        let mut ticked = None;
        loop {
            let on = do_not_disturb(&app);
            if ticked != Some(on) {
                ticked = Some(on);
                tracing::info!(on, "do not disturb");
                if let Some(tray) = app.try_state::<TrayItems<R>>() {
                    let _ = tray.do_not_disturb.set_checked(on);
                }
            }
            refresh_tray(&app);
            tokio::select! {
                changed = calls.changed() => if changed.is_err() { return },
                changed = connection.changed() => if changed.is_err() { return },
            }
        }
    });
}

/// What the tray says: in call, Do Not Disturb, ready, or why not.
pub fn tray_status(connection: ConnectionState, calls: &CallsSnapshot, do_not_disturb: bool) -> &'static str {
    let in_call = calls.calls.iter().any(|call| !matches!(call.view, CallView::Ended | CallView::Ringing));
    match (in_call, do_not_disturb, connection) {
        (true, _, _) => "In call",
        (false, true, _) => "Do not disturb",
        (false, false, ConnectionState::Ready) => "Ready",
        (false, false, ConnectionState::Connecting) => "Connecting",
        (false, false, ConnectionState::Reconnecting) => "Reconnecting",
        (false, false, ConnectionState::Offline | ConnectionState::Error) => "Offline",
    }
}

/// Brings the tray's status line up to date (after a connection, call or DND change).
fn refresh_tray<R: Runtime>(app: &AppHandle<R>) {
    let Some(tray) = app.try_state::<TrayItems<R>>() else { return };
    let connection = app.state::<Connection>().status().state;
    let calls = app.state::<watch::Receiver<CallsSnapshot>>().borrow().clone();
    let status = tray_status(connection, &calls, do_not_disturb(app));
    let _ = tray.status.set_text(format!("Status: {status}"));
    if let Some(icon) = app.tray_by_id("main") {
        let _ = icon.set_tooltip(Some(format!("Softphone — {status}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use softphone_core::call::{CallControlView, CallId, CallSnapshot, Direction, Party, UnixMillis};

    fn calls(views: &[CallView]) -> CallsSnapshot {
        CallsSnapshot {
            calls: views
                .iter()
                .map(|view| CallSnapshot {
                    call_id: CallId("c".into()),
                    direction: Direction::Inbound,
                    remote: Party { number: "+14155550100".into(), name: None },
                    lead_id: None,
                    view: *view,
                    muted: false,
                    started_at: UnixMillis(0),
                    answered_at: None,
                    end: None,
                    caller_number: None,
                    control: CallControlView::default(),
                })
                .collect(),
            revision: 1,
            do_not_disturb: false,
        }
    }

    #[test]
    fn the_tray_says_in_call_then_dnd_then_the_connection() {
        assert_eq!(tray_status(ConnectionState::Ready, &calls(&[CallView::Active]), true), "In call");
        assert_eq!(tray_status(ConnectionState::Ready, &calls(&[CallView::Ended]), true), "Do not disturb");
        assert_eq!(tray_status(ConnectionState::Ready, &calls(&[]), false), "Ready");
        assert_eq!(tray_status(ConnectionState::Error, &calls(&[CallView::Ringing]), false), "Offline");
        assert_eq!(tray_status(ConnectionState::Reconnecting, &calls(&[]), false), "Reconnecting");
    }

    #[test]
    fn dial_links_are_found_among_the_arguments() {
        let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(dial_link_in(args(&["softphone", "tel:+14155550100"])), Some("+14155550100".into()));
        assert_eq!(dial_link_in(args(&["softphone", "--flag", "callto://+14155550100"])), Some("+14155550100".into()));
        assert_eq!(dial_link_in(args(&["softphone"])), None);
        assert_eq!(dial_link_in(args(&["softphone", "https://example.com"])), None);
    }
}
