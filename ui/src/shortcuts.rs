//! Keyboard shortcuts: which key does what, and which call it acts on. Pure, so it is tested
//! natively; `app.rs` listens for the keys and runs the actions.

use softphone_core::call::{CallId, CallView, CallsSnapshot, Direction};

/// What a shortcut does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    Answer,
    /// Hang up the call in progress, or decline the one ringing.
    HangUp,
    ToggleMute,
    ToggleHold,
    FocusDialer,
    FocusSearch,
    /// The dial list: call the shown lead now.
    CallListLead,
    /// The dial list: skip the shown lead (the cursor goes to the reason; Enter skips).
    SkipListLead,
    /// The dial list: pause or resume the power countdown.
    PauseList,
    /// Drop the voicemail greeting into the call being talked on (a voicemail box answered).
    DropVoicemail,
    /// The wrap-up: choose the disposition listed at this place (1-9).
    PickDisposition(u8),
    /// The wrap-up: save it.
    SaveWrapUp,
    ToggleHelp,
    CloseHelp,
}

/// Every shortcut with its keys and what it does, as the help overlay lists them.
pub const SHORTCUTS: [(Shortcut, &str, &str); 13] = [
    (Shortcut::Answer, "Alt+A", "Answer the ringing call"),
    (Shortcut::HangUp, "Alt+E", "End the call (or decline the ringing one)"),
    (Shortcut::ToggleMute, "Alt+M", "Mute or unmute"),
    (Shortcut::ToggleHold, "Alt+H", "Hold or resume"),
    (Shortcut::FocusDialer, "Alt+D", "Go to the dialer's number field"),
    (Shortcut::FocusSearch, "Alt+F", "Search leads"),
    (Shortcut::CallListLead, "Alt+N", "Dial list: call the lead shown now"),
    (Shortcut::SkipListLead, "Alt+S", "Dial list: skip the lead shown (type why, then Enter)"),
    (Shortcut::PauseList, "Alt+P", "Dial list: pause or resume the countdown"),
    (Shortcut::DropVoicemail, "Alt+V", "Drop the voicemail greeting, hang up when it ends, go on"),
    (Shortcut::PickDisposition(1), "1-9", "Wrap-up: choose the disposition by its number"),
    (Shortcut::SaveWrapUp, "Alt+W", "Wrap-up: save it"),
    (Shortcut::ToggleHelp, "F1 or ?", "Show or hide this list"),
];

/// A key press as the listener sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyPress {
    /// `KeyboardEvent.key`, e.g. `"a"`, `"F1"`, `"?"`.
    pub key: String,
    pub alt: bool,
    pub ctrl: bool,
    pub meta: bool,
    /// Focus is in a text field: plain keys belong to it.
    pub in_text_field: bool,
}

/// The shortcut a key press means, if any. Alt shortcuts work everywhere (text fields too);
/// `?` only outside text fields, where it is not typing.
pub fn shortcut_for(press: &KeyPress) -> Option<Shortcut> {
    if press.ctrl || press.meta {
        return None;
    }
    if press.alt {
        return match press.key.to_ascii_lowercase().as_str() {
            "a" => Some(Shortcut::Answer),
            "e" => Some(Shortcut::HangUp),
            "m" => Some(Shortcut::ToggleMute),
            "h" => Some(Shortcut::ToggleHold),
            "d" => Some(Shortcut::FocusDialer),
            "f" => Some(Shortcut::FocusSearch),
            "n" => Some(Shortcut::CallListLead),
            "s" => Some(Shortcut::SkipListLead),
            "p" => Some(Shortcut::PauseList),
            "v" => Some(Shortcut::DropVoicemail),
            "w" => Some(Shortcut::SaveWrapUp),
            _ => None,
        };
    }
    if !press.in_text_field
        && let Some(digit) = press.key.parse::<u8>().ok().filter(|digit| (1..=9).contains(digit))
    {
        return Some(Shortcut::PickDisposition(digit));
    }
    match press.key.as_str() {
        "F1" => Some(Shortcut::ToggleHelp),
        "?" if !press.in_text_field => Some(Shortcut::ToggleHelp),
        "Escape" => Some(Shortcut::CloseHelp),
        _ => None,
    }
}

/// A call command a shortcut resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallAction {
    Answer(CallId),
    Decline(CallId),
    HangUp(CallId),
    SetMuted(CallId, bool),
    Hold(CallId),
    Resume(CallId),
    DropVoicemail(CallId),
}

/// The call a call shortcut acts on, newest first: answer the ringing inbound call; end the call
/// in progress or else decline the ringing one; mute or hold the call being talked on; resume the
/// held call when none is being talked on.
pub fn call_action(shortcut: Shortcut, calls: &CallsSnapshot) -> Option<CallAction> {
    let newest = |wanted: &dyn Fn(CallView) -> bool| {
        calls.calls.iter().rev().find(|call| wanted(call.view)).map(|call| (call.call_id.clone(), call.muted))
    };
    let ringing = || {
        calls
            .calls
            .iter()
            .rev()
            .find(|call| call.view == CallView::Ringing && call.direction == Direction::Inbound)
            .map(|call| call.call_id.clone())
    };
    let talking = |view| matches!(view, CallView::Active | CallView::Resuming | CallView::Reconnecting);
    match shortcut {
        Shortcut::Answer => ringing().map(CallAction::Answer),
        Shortcut::HangUp => calls
            .calls
            .iter()
            .rev()
            .find(|call| {
                in_progress(call.view) || (call.view == CallView::Ringing && call.direction == Direction::Outbound)
            })
            .map(|call| CallAction::HangUp(call.call_id.clone()))
            .or_else(|| ringing().map(CallAction::Decline)),
        Shortcut::ToggleMute => newest(&talking).map(|(id, muted)| CallAction::SetMuted(id, !muted)),
        Shortcut::ToggleHold => newest(&|view| view == CallView::Active)
            .map(|(id, _)| CallAction::Hold(id))
            .or_else(|| newest(&|view| view == CallView::Held).map(|(id, _)| CallAction::Resume(id))),
        Shortcut::DropVoicemail => {
            newest(&|view| view == CallView::Active).map(|(id, _)| CallAction::DropVoicemail(id))
        }
        Shortcut::FocusDialer
        | Shortcut::FocusSearch
        | Shortcut::CallListLead
        | Shortcut::SkipListLead
        | Shortcut::PauseList
        | Shortcut::PickDisposition(_)
        | Shortcut::SaveWrapUp
        | Shortcut::ToggleHelp
        | Shortcut::CloseHelp => None,
    }
}

/// A call being dialled or talked on (not ringing in, not held, not ended).
fn in_progress(view: CallView) -> bool {
    matches!(
        view,
        CallView::Dialing
            | CallView::EarlyMedia
            | CallView::Answering
            | CallView::Active
            | CallView::Holding
            | CallView::Resuming
            | CallView::Reconnecting
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use softphone_core::call::{CallControlView, CallSnapshot, Party, UnixMillis};

    fn press(key: &str, alt: bool) -> KeyPress {
        KeyPress { key: key.into(), alt, ..KeyPress::default() }
    }

    fn call(id: &str, direction: Direction, view: CallView, muted: bool) -> CallSnapshot {
        CallSnapshot {
            call_id: CallId(id.into()),
            direction,
            remote: Party { number: "+14155550100".into(), name: None },
            lead_id: None,
            view,
            muted,
            started_at: UnixMillis(0),
            answered_at: None,
            end: None,
            caller_number: None,
            control: CallControlView::default(),
        }
    }

    fn calls(list: Vec<CallSnapshot>) -> CallsSnapshot {
        CallsSnapshot { calls: list, revision: 1, ..CallsSnapshot::default() }
    }

    #[test]
    fn keys_map_to_shortcuts() {
        assert_eq!(shortcut_for(&press("a", true)), Some(Shortcut::Answer));
        assert_eq!(shortcut_for(&press("A", true)), Some(Shortcut::Answer));
        assert_eq!(shortcut_for(&press("e", true)), Some(Shortcut::HangUp));
        assert_eq!(shortcut_for(&press("m", true)), Some(Shortcut::ToggleMute));
        assert_eq!(shortcut_for(&press("h", true)), Some(Shortcut::ToggleHold));
        assert_eq!(shortcut_for(&press("d", true)), Some(Shortcut::FocusDialer));
        assert_eq!(shortcut_for(&press("f", true)), Some(Shortcut::FocusSearch));
        assert_eq!(shortcut_for(&press("n", true)), Some(Shortcut::CallListLead));
        assert_eq!(shortcut_for(&press("s", true)), Some(Shortcut::SkipListLead));
        assert_eq!(shortcut_for(&press("P", true)), Some(Shortcut::PauseList));
        assert_eq!(shortcut_for(&press("w", true)), Some(Shortcut::SaveWrapUp));
        assert_eq!(shortcut_for(&press("3", false)), Some(Shortcut::PickDisposition(3)));
        assert_eq!(shortcut_for(&press("0", false)), None, "dispositions count from 1");
        let typing = KeyPress { in_text_field: true, ..press("3", false) };
        assert_eq!(shortcut_for(&typing), None, "a digit typed in a field is the field's");
        assert_eq!(shortcut_for(&press("F1", false)), Some(Shortcut::ToggleHelp));
        assert_eq!(shortcut_for(&press("?", false)), Some(Shortcut::ToggleHelp));
        assert_eq!(shortcut_for(&press("Escape", false)), Some(Shortcut::CloseHelp));
        // Typing stays typing.
        assert_eq!(shortcut_for(&press("a", false)), None);
        assert_eq!(shortcut_for(&KeyPress { in_text_field: true, ..press("?", false) }), None);
        assert_eq!(shortcut_for(&KeyPress { ctrl: true, ..press("a", true) }), None);
    }

    #[test]
    fn answer_takes_the_newest_ringing_inbound_call() {
        let snapshot = calls(vec![
            call("old", Direction::Inbound, CallView::Ringing, false),
            call("out", Direction::Outbound, CallView::Active, false),
            call("new", Direction::Inbound, CallView::Ringing, false),
        ]);
        assert_eq!(call_action(Shortcut::Answer, &snapshot), Some(CallAction::Answer(CallId("new".into()))));
        assert_eq!(call_action(Shortcut::Answer, &calls(vec![])), None);
    }

    #[test]
    fn hang_up_ends_the_call_in_progress_before_declining() {
        let talking = calls(vec![
            call("active", Direction::Outbound, CallView::Active, false),
            call("waiting", Direction::Inbound, CallView::Ringing, false),
        ]);
        assert_eq!(call_action(Shortcut::HangUp, &talking), Some(CallAction::HangUp(CallId("active".into()))));
        let only_ringing = calls(vec![call("waiting", Direction::Inbound, CallView::Ringing, false)]);
        assert_eq!(call_action(Shortcut::HangUp, &only_ringing), Some(CallAction::Decline(CallId("waiting".into()))));
        let ended = calls(vec![call("done", Direction::Outbound, CallView::Ended, false)]);
        assert_eq!(call_action(Shortcut::HangUp, &ended), None);
    }

    #[test]
    fn mute_toggles_and_hold_resumes_when_nothing_is_active() {
        let muted = calls(vec![call("c", Direction::Outbound, CallView::Active, true)]);
        assert_eq!(call_action(Shortcut::ToggleMute, &muted), Some(CallAction::SetMuted(CallId("c".into()), false)));
        assert_eq!(call_action(Shortcut::ToggleHold, &muted), Some(CallAction::Hold(CallId("c".into()))));
        let held = calls(vec![call("c", Direction::Outbound, CallView::Held, false)]);
        assert_eq!(call_action(Shortcut::ToggleHold, &held), Some(CallAction::Resume(CallId("c".into()))));
        assert_eq!(call_action(Shortcut::ToggleMute, &held), None);
    }
}
