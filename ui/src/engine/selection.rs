//! Which call engine runs: the SDK in this webview, or the native engine in the shell.
//!
//! Debian's WebKitGTK has no `RTCPeerConnection` at all, so on Linux the webview engine would fail
//! at the first call. The app decides once at start-up, says why when it did not get what the
//! agent chose, and never waits for a call to fail.

use softphone_core::call_log::CallEngine;

/// The agent's setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EnginePreference {
    /// The webview engine where the webview has WebRTC, the native engine otherwise.
    #[default]
    Automatic,
    Webview,
    Native,
}

/// The decision: which engine runs (none when neither can), and a sentence for the agent when
/// the decision is not simply what they asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSelection {
    pub engine: Option<CallEngine>,
    pub notice: Option<String>,
}

const NO_WEBRTC: &str = "This window has no WebRTC (RTCPeerConnection is missing, as in the WebKitGTK that \
                         Debian and Ubuntu ship)";
const NO_ENGINE_ADVICE: &str = "Calls cannot be placed or received: this build has no native call engine. \
                                Install a build with the native engine, or use Windows or macOS.";

/// Decides the engine from the agent's preference, whether this webview has WebRTC
/// (see [`super::webrtc_available`]) and whether the shell was built with the native engine.
pub fn select_engine(
    preference: EnginePreference,
    webview_has_webrtc: bool,
    native_available: bool,
) -> EngineSelection {
    let chosen = |engine| EngineSelection { engine: Some(engine), notice: None };
    let fallback = |engine, notice: String| EngineSelection { engine: Some(engine), notice: Some(notice) };
    let nothing = |notice: String| EngineSelection { engine: None, notice: Some(notice) };
    match (preference, webview_has_webrtc, native_available) {
        (EnginePreference::Automatic | EnginePreference::Webview, true, _) => chosen(CallEngine::Webview),
        (EnginePreference::Automatic, false, true) => {
            fallback(CallEngine::Native, format!("{NO_WEBRTC}, so calls use the native engine."))
        }
        (EnginePreference::Webview, false, true) => fallback(
            CallEngine::Native,
            format!("You chose the webview engine, but {}; calls use the native engine instead.", lowercase(NO_WEBRTC)),
        ),
        (EnginePreference::Native, _, true) => chosen(CallEngine::Native),
        (EnginePreference::Native, true, false) => fallback(
            CallEngine::Webview,
            "You chose the native engine, but this build does not include it; calls use the webview engine instead."
                .to_owned(),
        ),
        (_, false, false) => nothing(format!("{NO_WEBRTC}. {NO_ENGINE_ADVICE}")),
    }
}

fn lowercase(sentence: &str) -> String {
    let mut chars = sentence.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_combination_picks_an_engine_that_can_run_and_explains_any_surprise() {
        use CallEngine::{Native, Webview};
        use EnginePreference::{Automatic, Native as PreferNative, Webview as PreferWebview};
        // (preference, webview has WebRTC, native engine built) -> (engine, says something)
        let cases = [
            (Automatic, true, true, Some(Webview), false),
            (Automatic, true, false, Some(Webview), false),
            (Automatic, false, true, Some(Native), true),
            (Automatic, false, false, None, true),
            (PreferWebview, true, true, Some(Webview), false),
            (PreferWebview, true, false, Some(Webview), false),
            (PreferWebview, false, true, Some(Native), true),
            (PreferWebview, false, false, None, true),
            (PreferNative, true, true, Some(Native), false),
            (PreferNative, false, true, Some(Native), false),
            (PreferNative, true, false, Some(Webview), true),
            (PreferNative, false, false, None, true),
        ];
        for (preference, webrtc, native, engine, says_something) in cases {
            let selection = select_engine(preference, webrtc, native);
            assert_eq!(selection.engine, engine, "{preference:?} webrtc={webrtc} native={native}");
            assert_eq!(selection.notice.is_some(), says_something, "{preference:?} {webrtc} {native}: {selection:?}");
        }
    }

    #[test]
    fn the_sentences_name_the_missing_piece() {
        let linux = select_engine(EnginePreference::Automatic, false, true);
        assert_eq!(
            linux.notice.as_deref(),
            Some(
                "This window has no WebRTC (RTCPeerConnection is missing, as in the WebKitGTK that Debian and \
                 Ubuntu ship), so calls use the native engine."
            )
        );
        let stuck = select_engine(EnginePreference::Webview, false, false).notice.expect("a notice");
        assert!(stuck.contains("no WebRTC") && stuck.contains("no native call engine"), "{stuck}");
        let asked_webview = select_engine(EnginePreference::Webview, false, true).notice.expect("a notice");
        assert!(
            asked_webview.starts_with("You chose the webview engine, but this window has no WebRTC"),
            "{asked_webview}"
        );
    }
}
