//! The main window's life beside the phone's: what closing it does, when its web process may be
//! released, and whether the app starts without it.
//!
//! The shell holds every call, so a window nobody looks at needs no web process where the native
//! engine carries the calls: releasing it gives back most of the app's memory, and the window is
//! made again, already showing the current state, when the agent or a call needs it. The webview
//! engine's calls live in the window, so a window carrying them is only ever hidden.

use crate::call::{CallView, CallsSnapshot};
use crate::call_log::CallEngine;

/// Whether closing the main window (its title bar's ×, or the tray's Hide) leaves the phone
/// running in the tray, the window out of sight: the agent keeps it there
/// ([`crate::settings::Settings::keep_running_in_tray`]) and a panel shows the tray to come back
/// from. Otherwise the app quits.
pub fn keeps_running_in_tray(keep_running_in_tray: bool, has_tray: bool) -> bool {
    keep_running_in_tray && has_tray
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

/// Whether the app asks to start in the tray without its window: started at login (`arguments`
/// hold [`AUTOSTART_ARG`]) by an agent who asked for it
/// ([`crate::settings::Settings::start_in_tray`]). It does only if a panel shows the tray, which
/// the session bus says later.
pub fn starts_in_tray(arguments: &[String], start_in_tray: bool) -> bool {
    start_in_tray && arguments.iter().any(|argument| argument == AUTOSTART_ARG)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::call::{CallControlView, CallId, CallSnapshot, Direction, Party, UnixMillis};

    #[test]
    fn closing_keeps_the_phone_in_the_tray_only_with_a_tray_to_come_back_from() {
        assert!(keeps_running_in_tray(true, true));
        assert!(!keeps_running_in_tray(false, true), "the agent quits by closing");
        assert!(!keeps_running_in_tray(true, false), "no panel shows the tray");
    }

    #[test]
    fn only_the_native_engine_with_no_call_up_lets_the_window_go() {
        use CallEngine::{Native, Webview};
        // (engine, call up) -> may the window out of sight lose its web process
        let cases = [
            (Some(Native), false, true),
            (Some(Native), true, false),
            (Some(Webview), false, false),
            (Some(Webview), true, false),
            (None, false, false),
        ];
        for (engine, call_up, expected) in cases {
            assert_eq!(may_release(engine, call_up), expected, "{engine:?}, call up: {call_up}");
        }
    }

    /// Calls in the given views (for this crate's tests).
    pub(crate) fn snapshot(calls: &[(&str, CallView)]) -> CallsSnapshot {
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
                    control: CallControlView::default(),
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
    fn the_app_asks_for_the_tray_only_at_login_and_when_the_agent_asked() {
        let at_login = vec!["softphone".to_owned(), AUTOSTART_ARG.to_owned()];
        let by_hand = vec!["softphone".to_owned()];
        assert!(starts_in_tray(&at_login, true));
        assert!(!starts_in_tray(&at_login, false), "the agent did not ask");
        assert!(!starts_in_tray(&by_hand, true), "started by hand, the agent wants the window");
    }
}
