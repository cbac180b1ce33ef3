//! The main window's life beside the phone's: what closing it does, when its web process may be
//! released, and whether the app starts without it.
//!
//! The shell holds every call, so a window nobody looks at needs no web process where the native
//! engine carries the calls: releasing it gives back most of the app's memory, and the window is
//! made again, already showing the current state, when the agent or a call needs it. The webview
//! engine's calls live in the window, so a window carrying them is only ever hidden.

use crate::call::{CallView, CallsSnapshot};
use crate::call_log::CallEngine;

/// What closing the main window (its title bar's ×, or the tray's Hide) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnClose {
    /// The app ends: the agent does not keep it in the tray, or there is no tray to keep it in.
    Quit,
    /// The window goes out of sight but keeps its web process (the webview engine carries calls
    /// in it, or a call is up and the window comes back to it quickly).
    Hide,
    /// The window and its web process go; the phone goes on in the shell.
    Release,
}

/// What the app knows when the window is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseContext {
    /// The agent's setting ([`crate::settings::Settings::keep_running_in_tray`]).
    pub keep_running_in_tray: bool,
    /// The app has a tray icon to come back from.
    pub has_tray: bool,
    /// The engine carrying the calls, once chosen.
    pub engine: Option<CallEngine>,
    /// A call is not over yet (ringing, dialing, up, held…).
    pub call_up: bool,
}

/// What closing the window does in `context`.
pub fn on_close(context: CloseContext) -> OnClose {
    if !(context.keep_running_in_tray && context.has_tray) {
        return OnClose::Quit;
    }
    if may_release(context.engine, context.call_up) { OnClose::Release } else { OnClose::Hide }
}

/// Whether a window out of sight may lose its web process now: only where the native engine
/// carries the calls, and not while a call is up (the agent is likely to want it back at once).
pub fn may_release(engine: Option<CallEngine>, call_up: bool) -> bool {
    engine == Some(CallEngine::Native) && !call_up
}

/// Whether any call in `calls` is not over.
pub fn call_up(calls: &CallsSnapshot) -> bool {
    calls.calls.iter().any(|call| call.view != CallView::Ended)
}

/// Whether an inbound call is ringing in `calls` that was not in `before` (its window must come).
pub fn new_ringing_call(before: &CallsSnapshot, calls: &CallsSnapshot) -> bool {
    calls.calls.iter().any(|call| {
        call.view == CallView::Ringing
            && !before.calls.iter().any(|old| old.call_id == call.call_id && old.view == CallView::Ringing)
    })
}

/// The argument the login item starts the app with.
pub const AUTOSTART_ARG: &str = "--autostart";

/// Whether the app starts in the tray without its window: started at login (`arguments` hold
/// [`AUTOSTART_ARG`]) by an agent who asked for it ([`crate::settings::Settings::start_in_tray`]).
pub fn starts_in_tray(arguments: &[String], start_in_tray: bool, has_tray: bool) -> bool {
    start_in_tray && has_tray && arguments.iter().any(|argument| argument == AUTOSTART_ARG)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::{CallId, CallSnapshot, Direction, Party, UnixMillis};

    #[test]
    fn closing_quits_hides_or_releases() {
        use CallEngine::{Native, Webview};
        // (keep running, tray, engine, call up) -> what closing does
        let cases = [
            (false, true, Some(Native), false, OnClose::Quit),
            (true, false, Some(Native), false, OnClose::Quit),
            (false, false, Some(Webview), true, OnClose::Quit),
            (true, true, Some(Native), false, OnClose::Release),
            (true, true, Some(Native), true, OnClose::Hide),
            (true, true, Some(Webview), false, OnClose::Hide),
            (true, true, Some(Webview), true, OnClose::Hide),
            (true, true, None, false, OnClose::Hide),
        ];
        for (keep_running_in_tray, has_tray, engine, call_up, expected) in cases {
            let context = CloseContext { keep_running_in_tray, has_tray, engine, call_up };
            assert_eq!(on_close(context), expected, "{context:?}");
        }
    }

    fn snapshot(calls: &[(&str, CallView)]) -> CallsSnapshot {
        CallsSnapshot {
            calls: calls
                .iter()
                .map(|(id, view)| CallSnapshot {
                    call_id: CallId((*id).into()),
                    direction: Direction::Inbound,
                    remote: Party { number: "+14155550100".into(), name: None },
                    lead_id: None,
                    view: *view,
                    muted: false,
                    started_at: UnixMillis(0),
                    answered_at: None,
                    end: None,
                    caller_number: None,
                })
                .collect(),
            revision: 1,
            do_not_disturb: false,
        }
    }

    #[test]
    fn a_call_is_up_until_it_has_ended() {
        assert!(!call_up(&snapshot(&[])));
        assert!(!call_up(&snapshot(&[("a", CallView::Ended)])));
        assert!(call_up(&snapshot(&[("a", CallView::Ended), ("b", CallView::Ringing)])));
        assert!(call_up(&snapshot(&[("a", CallView::Held)])));
    }

    #[test]
    fn only_a_call_that_starts_ringing_brings_the_window() {
        let none = snapshot(&[]);
        let ringing = snapshot(&[("a", CallView::Ringing)]);
        let answered = snapshot(&[("a", CallView::Active)]);
        let second = snapshot(&[("a", CallView::Active), ("b", CallView::Ringing)]);
        assert!(new_ringing_call(&none, &ringing));
        assert!(!new_ringing_call(&ringing, &ringing), "still the same ring");
        assert!(!new_ringing_call(&ringing, &answered));
        assert!(new_ringing_call(&answered, &second), "call waiting rings too");
    }

    #[test]
    fn the_app_starts_in_the_tray_only_at_login_when_asked_and_with_a_tray() {
        let at_login = vec!["softphone".to_owned(), AUTOSTART_ARG.to_owned()];
        let by_hand = vec!["softphone".to_owned()];
        assert!(starts_in_tray(&at_login, true, true));
        assert!(!starts_in_tray(&at_login, false, true), "the agent did not ask");
        assert!(!starts_in_tray(&by_hand, true, true), "started by hand, the agent wants the window");
        assert!(!starts_in_tray(&at_login, true, false), "no tray to come back from");
    }
}
