//! What a call notification says: the caller, the matched lead, and the buttons.

use serde::{Deserialize, Serialize};

/// The desktop entry (without `.desktop`) the notification belongs to: the app's Tauri identifier,
/// so the desktop groups the popups under the app and can raise it.
pub const DESKTOP_ENTRY: &str = "io.agentsoftphone.desktop";

/// The application name shown by the notification service.
pub const APP_NAME: &str = "Softphone";

/// One inbound call, as the agent should see it in a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingCallNotice {
    /// The call this notice is about; actions on the notice come back with it.
    pub call_id: String,
    /// The caller ID name the network delivered, if any (often empty or a carrier's guess).
    pub caller_name: Option<String>,
    /// The caller's number formatted for people, e.g. `+1 415-555-0100`.
    pub number_display: String,
    /// The lead whose number matched, if any.
    pub lead_name: Option<String>,
    /// The matched lead's company, if known.
    pub company: Option<String>,
}

/// A button or click on a call notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CallAction {
    /// The Answer button of a ringing call.
    Answer,
    /// The Decline button of a ringing call.
    Decline,
    /// A click on the notification's body: bring the window forward on the call's lead.
    Open,
    /// The Call back button of a missed-call notification.
    CallBack,
}

impl CallAction {
    /// The D-Bus action key (`default` is the specification's key for a click on the body).
    pub fn key(self) -> &'static str {
        match self {
            CallAction::Answer => "answer",
            CallAction::Decline => "decline",
            CallAction::Open => "default",
            CallAction::CallBack => "call-back",
        }
    }

    /// The action for a key the notification service reports; `None` for keys we never send.
    pub fn from_key(key: &str) -> Option<CallAction> {
        [CallAction::Answer, CallAction::Decline, CallAction::Open, CallAction::CallBack]
            .into_iter()
            .find(|action| action.key() == key)
    }

    /// The button label. The body click has no label of its own (servers show none for `default`).
    pub(crate) fn label(self) -> &'static str {
        match self {
            CallAction::Answer => "Answer",
            CallAction::Decline => "Decline",
            CallAction::Open => "Open",
            CallAction::CallBack => "Call back",
        }
    }
}

/// The kinds of call notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoticeKind {
    /// Ringing: critical, never expires, Answer / Decline.
    Incoming,
    /// Missed: normal urgency, expires as the desktop decides, Call back.
    Missed,
    /// A callback the agent promised is due: normal urgency, stays until dealt with, Call back.
    CallbackDue,
    /// Something the app tells the agent once (e.g. it went on running in the tray): normal
    /// urgency, expires as the desktop decides, a click opens the window.
    Information,
}

/// The text and buttons of one notification, ready for `Notify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Content {
    pub summary: String,
    pub body: String,
    /// Flat `[key, label, key, label, ...]`, as the specification wants them.
    pub actions: Vec<String>,
}

impl NoticeKind {
    /// The actions offered, in button order.
    pub fn actions(self) -> &'static [CallAction] {
        match self {
            NoticeKind::Incoming => &[CallAction::Open, CallAction::Answer, CallAction::Decline],
            NoticeKind::Missed | NoticeKind::CallbackDue => &[CallAction::Open, CallAction::CallBack],
            NoticeKind::Information => &[CallAction::Open],
        }
    }

    /// The specification's category (`call.incoming`, `call.unanswered`).
    pub fn category(self) -> &'static str {
        match self {
            NoticeKind::Incoming => "call.incoming",
            NoticeKind::Missed => "call.unanswered",
            // No standard category fits; the specification allows `x-vendor.*`.
            NoticeKind::CallbackDue => "x-softphone.callback",
            NoticeKind::Information => "x-softphone.information",
        }
    }

    /// Urgency: 2 (critical) while ringing, so it shows over full-screen windows and does not
    /// time out; 1 (normal) for a missed call.
    pub fn urgency(self) -> u8 {
        match self {
            NoticeKind::Incoming => 2,
            NoticeKind::Missed | NoticeKind::CallbackDue | NoticeKind::Information => 1,
        }
    }

    /// `expire_timeout` in milliseconds: 0 = never while ringing, -1 = the server's default.
    pub fn expire_timeout_ms(self) -> i32 {
        match self {
            NoticeKind::Incoming | NoticeKind::CallbackDue => 0,
            NoticeKind::Missed | NoticeKind::Information => -1,
        }
    }

    /// An icon name from the freedesktop icon naming specification.
    pub fn icon(self) -> &'static str {
        match self {
            NoticeKind::Incoming | NoticeKind::CallbackDue => "call-start",
            NoticeKind::Missed => "call-stop",
            NoticeKind::Information => "phone",
        }
    }

    /// Summary, body and buttons. `markup` is whether the server reads the body as markup
    /// (capability `body-markup`): then `&`, `<` and `>` in names are escaped, or "Smith & Sons"
    /// would break the popup.
    pub fn content(self, notice: &IncomingCallNotice, markup: bool) -> Content {
        let caller_name = notice.caller_name.as_deref().map(str::trim).filter(|name| !name.is_empty());
        let lead_name = notice.lead_name.as_deref().map(str::trim).filter(|name| !name.is_empty());
        let company = notice.company.as_deref().map(str::trim).filter(|name| !name.is_empty());
        let who = lead_name.or(caller_name).unwrap_or(&notice.number_display);
        let summary = match self {
            NoticeKind::Incoming => format!("Incoming call: {who}"),
            NoticeKind::Missed => format!("Missed call: {who}"),
            NoticeKind::CallbackDue => format!("Callback due: {who}"),
            // Information carries the app's own words (`Notifier::show_information`), not a call's.
            NoticeKind::Information => who.to_owned(),
        };
        let mut lines = vec![notice.number_display.clone()];
        match (lead_name, company) {
            (Some(_), Some(company)) => lines.push(company.to_owned()),
            (Some(_), None) => {}
            (None, _) => lines.push("No matching lead".to_owned()),
        }
        if let (Some(_), Some(caller_name)) = (lead_name, caller_name)
            && Some(caller_name) != lead_name
        {
            lines.push(format!("Caller ID: {caller_name}"));
        }
        let body = lines.join("\n");
        let body = if markup { escape_markup(&body) } else { body };
        let actions = self.actions().iter().flat_map(|action| [action.key().to_owned(), action.label().to_owned()]);
        Content { summary, body, actions: actions.collect() }
    }
}

/// Escapes the characters the notification body markup (a small XML subset) gives meaning to.
pub(crate) fn escape_markup(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(caller_name: Option<&str>, lead_name: Option<&str>, company: Option<&str>) -> IncomingCallNotice {
        IncomingCallNotice {
            call_id: "call-1".into(),
            caller_name: caller_name.map(Into::into),
            number_display: "+1 415-555-0100".into(),
            lead_name: lead_name.map(Into::into),
            company: company.map(Into::into),
        }
    }

    #[test]
    fn a_matched_lead_is_named_with_company_number_and_caller_id() {
        let content =
            NoticeKind::Incoming.content(&notice(Some("ADA L"), Some("Ada Lovelace"), Some("Engines")), false);
        assert_eq!(content.summary, "Incoming call: Ada Lovelace");
        assert_eq!(content.body, "+1 415-555-0100\nEngines\nCaller ID: ADA L");
        assert_eq!(content.actions, ["default", "Open", "answer", "Answer", "decline", "Decline"]);
    }

    #[test]
    fn without_a_lead_the_caller_id_or_the_number_names_the_call() {
        let content = NoticeKind::Incoming.content(&notice(Some("ADA L"), None, None), false);
        assert_eq!(content.summary, "Incoming call: ADA L");
        assert_eq!(content.body, "+1 415-555-0100\nNo matching lead");
        let content = NoticeKind::Missed.content(&notice(Some("  "), None, None), false);
        assert_eq!(content.summary, "Missed call: +1 415-555-0100");
        assert_eq!(content.actions, ["default", "Open", "call-back", "Call back"]);
    }

    #[test]
    fn the_caller_id_is_not_repeated_when_it_is_the_lead_name() {
        let content = NoticeKind::Incoming.content(&notice(Some("Ada"), Some("Ada"), None), false);
        assert_eq!(content.body, "+1 415-555-0100");
    }

    #[test]
    fn markup_servers_get_escaped_names() {
        let content = NoticeKind::Incoming.content(&notice(None, Some("Bo <b>"), Some("Smith & Sons")), true);
        assert_eq!(content.body, "+1 415-555-0100\nSmith &amp; Sons");
        assert_eq!(content.summary, "Incoming call: Bo <b>", "the summary is plain text by specification");
    }

    #[test]
    fn action_keys_round_trip() {
        for action in [CallAction::Answer, CallAction::Decline, CallAction::Open, CallAction::CallBack] {
            assert_eq!(CallAction::from_key(action.key()), Some(action));
        }
        assert_eq!(CallAction::from_key("inline-reply"), None);
    }
}
