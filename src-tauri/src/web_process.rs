//! The window's web process. WebKit draws the window in a process of its own; when that process
//! dies (a WebKit bug, the memory limit, the OOM killer), the window goes blank while the calls,
//! which live in the shell, go on. An agent mid-call must get the window back, so the shell
//! reloads it; the UI then reads the calls and the connection from the shell again, as at start-up.
//! A web process that keeps dying is not reloaded for ever: after [`RELOADS_PER_MINUTE`] in one
//! minute the window stays as it is, and the log says so.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

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

/// Reloads the main window whenever its web process ends other than by the app's own request.
#[cfg(target_os = "linux")]
pub fn reload_when_it_dies<R: tauri::Runtime>(app: &tauri::AppHandle<R>) {
    use tauri::Manager;
    let Some(window) = app.get_webview_window("main") else {
        tracing::warn!("no main window to watch for web process crashes");
        return;
    };
    let watched = window.with_webview(|platform| {
        use webkit2gtk::{WebProcessTerminationReason, WebViewExt};
        let budget = std::cell::RefCell::new(ReloadBudget::default());
        platform.inner().connect_web_process_terminated(move |webview, reason| {
            if reason == WebProcessTerminationReason::TerminatedByApi {
                return;
            }
            if budget.borrow_mut().allow(Instant::now()) {
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
pub fn reload_when_it_dies<R: tauri::Runtime>(_app: &tauri::AppHandle<R>) {}

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
