//! The window's web process. WebKit draws the window in a process of its own; when that process
//! dies (a WebKit bug, the memory limit, the OOM killer), the window goes blank while the calls,
//! which live in the shell, go on. An agent mid-call must get the window back, so the shell
//! reloads it; the UI then reads the calls and the connection from the shell again, as at start-up.
//!
//! The window's own code can break it too, with the web process alive: a panic, or a browser call
//! that throws in the middle of a render, leaves Yew locked and the window a picture of the past
//! (CI saw a ringing call the window never showed). The UI reports such failures
//! ([`window_failed`]) and the shell reloads it in the same way.
//!
//! A window that keeps breaking is not reloaded for ever: after [`RELOADS_PER_MINUTE`] in one
//! minute it stays as it is, and the log says so.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use softphone_core::ipc::{WindowFailure, WindowRecovery};
use tauri::{AppHandle, Manager, Runtime, WebviewWindow};

/// How many reloads one minute may take before the shell stops reloading.
pub const RELOADS_PER_MINUTE: usize = 3;
const WINDOW: Duration = Duration::from_secs(60);

/// Counts the reloads of the last minute.
#[derive(Debug, Default)]
pub struct ReloadBudget {
    recent: VecDeque<Instant>,
}

impl ReloadBudget {
    /// Whether a reload at `now` is allowed; an allowed one is counted.
    pub fn allow(&mut self, now: Instant) -> bool {
        while self.recent.front().is_some_and(|&at| now.duration_since(at) >= WINDOW) {
            self.recent.pop_front();
        }
        if self.recent.len() >= RELOADS_PER_MINUTE {
            return false;
        }
        self.recent.push_back(now);
        true
    }
}

/// The reloads of the main window, whatever their cause, as managed state.
#[derive(Debug, Default)]
pub struct WindowReloads(Mutex<ReloadBudget>);

impl WindowReloads {
    fn allow(&self) -> bool {
        self.0.lock().map(|mut budget| budget.allow(Instant::now())).unwrap_or(false)
    }
}

/// Logs a failure the window reported, and reloads the window if the failure broke it.
pub fn window_failed<R: Runtime>(app: &AppHandle<R>, failure: &WindowFailure) -> WindowRecovery {
    let WindowFailure { kind, message } = failure;
    if !kind.breaks_the_window() {
        tracing::warn!(?kind, %message, "the window's script failed; the window goes on");
        return WindowRecovery::Logged;
    }
    if !app.state::<WindowReloads>().allow() {
        tracing::error!(
            ?kind,
            %message,
            limit = RELOADS_PER_MINUTE,
            "the window failed and keeps failing; not reloading it again (calls go on)"
        );
        return WindowRecovery::GaveUp;
    }
    tracing::error!(?kind, %message, "the window failed; reloading the window (calls go on)");
    match app.get_webview_window("main").map(|window| window.reload()) {
        Some(Ok(())) => WindowRecovery::Reloading,
        Some(Err(error)) => {
            tracing::error!(%error, "the window could not be reloaded");
            WindowRecovery::GaveUp
        }
        None => {
            tracing::error!("no main window to reload");
            WindowRecovery::GaveUp
        }
    }
}

/// Reloads `window` whenever its web process ends other than by the app's own request.
#[cfg(target_os = "linux")]
pub fn reload_when_it_dies<R: Runtime>(app: &AppHandle<R>, window: &WebviewWindow<R>) {
    let app = app.clone();
    let watched = window.with_webview(move |platform| {
        use webkit2gtk::{WebProcessTerminationReason, WebViewExt};
        platform.inner().connect_web_process_terminated(move |webview, reason| {
            if reason == WebProcessTerminationReason::TerminatedByApi {
                return;
            }
            if app.state::<WindowReloads>().allow() {
                tracing::error!(?reason, "the window's web process ended; reloading the window (calls go on)");
                webview.reload();
            } else {
                tracing::error!(
                    ?reason,
                    limit = RELOADS_PER_MINUTE,
                    "the window's web process keeps ending; not reloading it again (calls go on)"
                );
            }
        });
    });
    if let Err(error) = watched {
        tracing::warn!(%error, "could not watch the window's web process");
    }
}

/// Other platforms' webviews restart their content processes themselves.
#[cfg(not(target_os = "linux"))]
pub fn reload_when_it_dies<R: Runtime>(_app: &AppHandle<R>, _window: &WebviewWindow<R>) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_reloads_a_minute_then_none_until_the_oldest_is_a_minute_old() {
        let mut budget = ReloadBudget::default();
        let start = Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        assert!(budget.allow(at(0)));
        assert!(budget.allow(at(10)));
        assert!(budget.allow(at(20)));
        assert!(!budget.allow(at(30)), "a fourth reload within the minute is refused");
        assert!(!budget.allow(at(59)));
        assert!(budget.allow(at(60)), "the first reload is a minute old");
        assert!(!budget.allow(at(61)));
        assert!(budget.allow(at(200)));
    }
}
