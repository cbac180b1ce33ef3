//! The main window beside the phone: made at start (unless the app starts in the tray), made
//! again when the agent or a call needs it, hidden or released when the agent closes it (released
//! once it has been out of sight a while with no call up). The phone itself (the engine, the
//! calls, the notifications, the tray) lives in the shell and never waits for the window. What
//! closing does is `softphone_core::window_life`'s rule.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use softphone_core::call::CallsSnapshot;
use softphone_core::call_log::CallEngine;
use softphone_core::window_life::{call_up, keeps_running_in_tray, may_release, new_ringing_call, starts_in_tray};
use tauri::{AppHandle, CloseRequestApi, Manager, Runtime, WebviewWindow, WebviewWindowBuilder, Window};
use tokio::sync::watch;

use crate::database::Database;
use crate::engine::EngineHost;
use crate::{desktop, notifications, web_process};

/// The main window's label (as in tauri.conf.json, which leaves making it to the shell).
pub const MAIN: &str = "main";

/// The topic of the notification that says the phone went on in the tray.
const TRAY_NOTICE: &str = "info-tray";

/// At start: the window, or (started at login by an agent who asked for it, with a panel that
/// shows the tray) the tray alone. Where the native engine carries the calls, the shell starts it
/// itself then; the webview engine lives in the window, so there the window is made out of sight.
pub fn start<R: Runtime>(app: &AppHandle<R>, arguments: &[String]) {
    let start_in_tray = app.state::<Database>().settings().start_in_tray;
    if !starts_in_tray(arguments, start_in_tray) {
        show_window(app);
        return;
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if !desktop::has_tray_soon(&app, TRAY_ANSWER_WAIT).await {
            tracing::info!("started at login, but no panel shows the tray: the window opens");
            show_window(&app);
            return;
        }
        tracing::info!("started at login: waiting in the tray");
        match ENGINE_WITHOUT_WINDOW {
            Some(engine) => {
                if let Err(error) = crate::engine::use_engine(&app, engine).await {
                    tracing::warn!(reason = %error.message, "the call engine did not start in the tray");
                }
            }
            None => {
                if let Err(error) = make(&app).and_then(|window| window.hide()) {
                    tracing::error!(%error, "the window could not be made");
                }
            }
        }
    });
}

/// How long the start waits for the session bus to say whether a panel shows the tray.
const TRAY_ANSWER_WAIT: Duration = Duration::from_secs(5);

/// The engine the shell runs with no window: the native one where the webview has no WebRTC
/// (WebKitGTK); elsewhere the webview engine, which needs the window.
const ENGINE_WITHOUT_WINDOW: Option<CallEngine> =
    if cfg!(target_os = "linux") { Some(CallEngine::Native) } else { None };

/// Shows the main window, brought to the front: made first if it was released or never made.
pub fn show_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = open(app) {
        let _ = window.set_focus();
    }
}

/// Shows the main window without taking the keyboard from what the agent is typing in (a call
/// rings), made first if it was released.
fn show_window_unfocused<R: Runtime>(app: &AppHandle<R>) {
    open(app);
}

fn open<R: Runtime>(app: &AppHandle<R>) -> Option<WebviewWindow<R>> {
    // A release pending for the window out of sight is off.
    app.state::<Releases>().0.fetch_add(1, Ordering::SeqCst);
    let window = match app.get_webview_window(MAIN) {
        Some(window) => window,
        None => match make(app) {
            Ok(window) => window,
            Err(error) => {
                tracing::error!(%error, "the window could not be made");
                return None;
            }
        },
    };
    let _ = window.show();
    let _ = window.unminimize();
    Some(window)
}

/// Makes the main window from its configuration; it reads the calls and the connection from the
/// shell as it starts, so it opens on the state of now.
fn make<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<WebviewWindow<R>> {
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|window| window.label == MAIN)
        .cloned()
        .ok_or_else(|| tauri::Error::WindowNotFound)?;
    let window = WebviewWindowBuilder::from_config(app, &config)?.build()?;
    web_process::reload_when_it_dies(app, &window);
    tracing::info!("the window was made");
    Ok(window)
}

/// The agent closed the main window (its ×, or Alt+F4): the phone goes on in the tray, where
/// the rules allow, the window out of sight (released later, see [`release_later`]); otherwise
/// the app quits.
pub fn close_requested<R: Runtime>(window: &Window<R>, api: &CloseRequestApi) {
    let app = window.app_handle();
    let keep = keeps_running_without_window(app);
    tracing::info!(keep_running_in_tray = keep, "the window was closed");
    if !keep {
        return;
    }
    api.prevent_close();
    release_later(app);
    tell_about_the_tray_once(app);
}

/// Puts the window out of sight (the tray's Show or hide), released later where the rules allow.
pub fn hide_window<R: Runtime>(app: &AppHandle<R>) {
    release_later(app);
}

/// Whether the main window is on screen.
pub fn window_shown<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.get_webview_window(MAIN).is_some_and(|window| window.is_visible().unwrap_or(false))
}

/// Whether the app goes on when its last window is gone (rather than quitting).
pub fn keeps_running_without_window<R: Runtime>(app: &AppHandle<R>) -> bool {
    keeps_running_in_tray(app.state::<Database>().settings().keep_running_in_tray, desktop::has_tray(app))
}

/// Whether the window's web process may go now (the native engine, no call up).
fn may_release_now<R: Runtime>(app: &AppHandle<R>) -> bool {
    may_release(app.state::<EngineHost>().kind(), call_up(&app.state::<watch::Receiver<CallsSnapshot>>().borrow()))
}

/// Pending releases, managed: each hide or show starts a new generation, and a release only
/// happens if its generation is still the newest when it comes due.
#[derive(Default)]
pub struct Releases(AtomicU64);

/// How long a window out of sight keeps its web process. Shown again within that, it is there at
/// once; and an agent between calls does not make and release a window per call: each window
/// made leaves ~0.2 MiB in the app process that releasing does not give back (LEARNINGS,
/// session 14). `SOFTPHONE_WINDOW_RELEASE_AFTER_MS` sets it (the e2e suite: a short one).
fn release_after() -> Duration {
    std::env::var("SOFTPHONE_WINDOW_RELEASE_AFTER_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map_or(RELEASE_AFTER, Duration::from_millis)
}

const RELEASE_AFTER: Duration = Duration::from_secs(120);

/// Hides the window now and releases it once it has been out of sight for [`release_after`],
/// if no call is up then and it was not shown meanwhile.
fn release_later<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window(MAIN) {
        let _ = window.hide();
    }
    let generation = app.state::<Releases>().0.fetch_add(1, Ordering::SeqCst) + 1;
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(release_after()).await;
        if app.state::<Releases>().0.load(Ordering::SeqCst) == generation
            && !window_shown(&app)
            && may_release_now(&app)
        {
            release(&app);
        }
    });
}

/// Destroys the main window and with it its web process.
fn release<R: Runtime>(app: &AppHandle<R>) {
    let Some(window) = app.get_webview_window(MAIN) else { return };
    match window.destroy() {
        Ok(()) => tracing::info!("the window was released with its web process; the phone goes on in the tray"),
        Err(error) => {
            tracing::warn!(%error, "the window could not be released; hiding it");
            let _ = window.hide();
        }
    }
}

/// The first time, the agent is told the phone is still there.
fn tell_about_the_tray_once<R: Runtime>(app: &AppHandle<R>) {
    let database = app.state::<Database>();
    if database.settings().told_about_tray {
        return;
    }
    notifications::show_information(
        app,
        TRAY_NOTICE,
        "Softphone is still running",
        "Calls still ring and pop up here. Open the window from the tray icon; Quit is in its menu.",
    );
    database.change_settings("told about the tray", |settings| settings.told_about_tray = true);
}

/// For the rest of the app's life: a call that starts ringing brings the window (made again if
/// it was released), and a window out of sight is released a while after the last call ends.
pub fn follow_calls<R: Runtime>(app: &AppHandle<R>) {
    let mut calls = app.state::<watch::Receiver<CallsSnapshot>>().inner().clone();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut before = calls.borrow().clone();
        while calls.changed().await.is_ok() {
            let now = calls.borrow_and_update().clone();
            if new_ringing_call(&before, &now) {
                if !window_shown(&app) {
                    tracing::info!("a call rings: the window comes");
                    // Making a window waits for the main thread: off the async workers, so the
                    // popup (sent from them) never waits for the window.
                    let app = app.clone();
                    tauri::async_runtime::spawn_blocking(move || show_window_unfocused(&app));
                }
            } else if app.get_webview_window(MAIN).is_some()
                && !window_shown(&app)
                && call_up(&before)
                && may_release(app.state::<EngineHost>().kind(), call_up(&now))
            {
                release_later(&app);
            }
            before = now;
        }
    });
}
