//! The window's watch on its own code. Nothing unwinds in wasm: a panic, or a browser call that
//! throws in the middle of a render, leaves Yew's scheduler locked for good. The page stays up
//! and answers, but never draws again, and the agent looks at a picture of the past (CI saw a
//! ringing call that the window never showed, with nothing in any log).
//!
//! So the window reports every failure of its own code to the shell, which logs it and, for one
//! that breaks the window, reloads it; the reloaded window reads the calls from the shell, where
//! they went on. Three ways in:
//! - the panic hook;
//! - uncaught errors and rejections: one whose stack runs through the wasm breaks the window,
//!   any other (the webview engine's SDK) is only logged;
//! - [`RenderWatch`], for a failure nobody threw: a render it asks for every
//!   [`RENDER_WATCH_MS`] must have run by its next tick.
//!
//! The reloaded window opens the section the agent was on, with the dialer's number and the lead
//! search as they were ([`Kept`]).

use std::cell::Cell;

use softphone_core::ipc::{WindowFailure, WindowFailureKind, WindowRecovery};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use yew::prelude::*;

use crate::backend;
use crate::state::Section;
use crate::wording;

/// How often [`RenderWatch`] asks for a render.
pub const RENDER_WATCH_MS: u32 = 3_000;
/// Ticks in a row that may find the last render still not drawn before the window is reported
/// stopped (a very slow render is not a failure).
const LATE_TICKS_TOLERATED: u32 = 2;
/// Script errors logged per page: a noisy SDK must not fill the log.
const SCRIPT_ERRORS_REPORTED: u32 = 20;

thread_local! {
    /// Whether a failure that breaks the window was reported (once per page is enough).
    static BROKEN: Cell<bool> = const { Cell::new(false) };
    static SCRIPT_ERRORS: Cell<u32> = const { Cell::new(0) };
}

/// Installs the panic hook and the error listeners, for the life of the page.
pub fn watch() {
    // Through Yew, which would otherwise put its own hook in place of this one.
    yew::set_custom_panic_hook(Box::new(|info| report(WindowFailureKind::Panic, info.to_string())));
    let Some(window) = web_sys::window() else { return };
    let on_error = Closure::<dyn FnMut(JsValue)>::new(|event: JsValue| {
        let error = js_sys::Reflect::get(&event, &"error".into()).unwrap_or(JsValue::UNDEFINED);
        let message = js_sys::Reflect::get(&event, &"message".into()).ok().and_then(|text| text.as_string());
        uncaught(&error, message);
    });
    let on_rejection = Closure::<dyn FnMut(JsValue)>::new(|event: JsValue| {
        let reason = js_sys::Reflect::get(&event, &"reason".into()).unwrap_or(JsValue::UNDEFINED);
        uncaught(&reason, None);
    });
    let _ = window.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
    let _ = window.add_event_listener_with_callback("unhandledrejection", on_rejection.as_ref().unchecked_ref());
    // For the life of the page.
    on_error.forget();
    on_rejection.forget();
}

/// An uncaught error or rejection: classified by where it came from, then reported.
fn uncaught(error: &JsValue, event_message: Option<String>) {
    let stack = js_sys::Reflect::get(error, &"stack".into()).ok().and_then(|stack| stack.as_string());
    let text = error
        .dyn_ref::<js_sys::Error>()
        .map(|error| format!("{}: {}", String::from(error.name()), String::from(error.message())))
        .or_else(|| error.as_string())
        .or(event_message)
        .unwrap_or_else(|| "an error without a message".to_owned());
    let trap = error.is_instance_of::<js_sys::WebAssembly::RuntimeError>();
    let kind = if through_wasm(trap, stack.as_deref()) {
        WindowFailureKind::WasmError
    } else {
        WindowFailureKind::ScriptError
    };
    let message = match stack {
        Some(stack) => format!("{text}\n{stack}"),
        None => text,
    };
    report(kind, message);
}

/// Whether an error came through the UI's wasm: a trap, or a stack with wasm frames in it
/// (WebKit writes them `wasm-function[…]`, Chromium `wasm://`).
fn through_wasm(trap: bool, stack: Option<&str>) -> bool {
    trap || stack.is_some_and(|stack| stack.contains("wasm-function") || stack.contains("wasm://"))
}

/// Reports a failure to the shell; one that breaks the window also puts a notice over it, which
/// says what the shell does about it.
pub fn report(kind: WindowFailureKind, message: String) {
    if kind.breaks_the_window() {
        if BROKEN.replace(true) {
            return;
        }
        show_notice(wording::WINDOW_FAILED_RELOADING);
    } else {
        let reported = SCRIPT_ERRORS.get();
        if reported >= SCRIPT_ERRORS_REPORTED {
            return;
        }
        SCRIPT_ERRORS.set(reported + 1);
    }
    gloo::console::error!(format!("{kind:?}: {message}"));
    backend::report_window_failure(&WindowFailure { kind, message }, |recovery| {
        if recovery == Some(WindowRecovery::GaveUp) {
            show_notice(wording::WINDOW_FAILED_FOR_GOOD);
        }
    });
}

/// A notice over the window, written straight into the page: Yew may be the thing that broke.
fn show_notice(text: &str) {
    let Some(document) = web_sys::window().and_then(|window| window.document()) else { return };
    let notice = match document.get_element_by_id("window-failure") {
        Some(notice) => notice,
        None => {
            let Ok(notice) = document.create_element("div") else { return };
            notice.set_id("window-failure");
            notice.set_class_name("window-failure");
            let _ = notice.set_attribute("role", "alert");
            if let Some(body) = document.body() {
                let _ = body.append_child(&notice);
            }
            notice
        }
    };
    notice.set_text_content(Some(text));
}

/// What the window keeps for the life of its session (a reload keeps `sessionStorage`, a new
/// start of the app does not), so that a reload costs the agent a flash, not their place or what
/// they were typing.
#[derive(Debug, Clone, Copy)]
pub enum Kept {
    /// The section shown.
    Section,
    /// The dialer's number, as typed (also kept across a trip to another section).
    DialerText,
    /// The lead search, as typed (likewise).
    LeadSearch,
}

impl Kept {
    fn key(self) -> &'static str {
        match self {
            Kept::Section => "softphone.section",
            Kept::DialerText => "softphone.dialer",
            Kept::LeadSearch => "softphone.lead-search",
        }
    }
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// What was kept, if anything.
pub fn kept(what: Kept) -> Option<String> {
    session_storage()?.get_item(what.key()).ok()?
}

/// Keeps `value` for [`kept`].
pub fn keep(what: Kept, value: &str) {
    if let Some(storage) = session_storage() {
        let _ = storage.set_item(what.key(), value);
    }
}

/// The section to open: the one the window showed before a reload, else the default.
pub fn section_before_reload() -> Section {
    kept(Kept::Section).and_then(|slug| Section::from_slug(&slug)).unwrap_or_default()
}

/// What one tick of [`RenderWatch`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BeatStep {
    /// The last render ran: ask for this next one.
    Ask(u32),
    /// The last render has not run yet; still within what a slow render may take.
    Wait,
    /// The last render has not run for this many ticks: the window stopped drawing.
    Stopped(u32),
}

/// [`RenderWatch`]'s count: the render it last asked for, and how many ticks have found it not
/// yet drawn.
#[derive(Debug, Default)]
struct RenderBeat {
    asked: u32,
    late_ticks: u32,
}

impl RenderBeat {
    /// One tick, given the beat the last render drew.
    fn tick(&mut self, drawn: u32) -> BeatStep {
        if drawn >= self.asked {
            self.late_ticks = 0;
            self.asked += 1;
            return BeatStep::Ask(self.asked);
        }
        self.late_ticks += 1;
        if self.late_ticks > LATE_TICKS_TOLERATED { BeatStep::Stopped(self.late_ticks) } else { BeatStep::Wait }
    }
}

/// Asks for a render of itself every [`RENDER_WATCH_MS`]; a render that has not run by a later
/// tick means the window stopped drawing ([`RenderBeat`]). Draws nothing.
#[function_component(RenderWatch)]
pub fn render_watch() -> Html {
    let asked = use_state(|| 0u32);
    let drawn = use_mut_ref(|| 0u32);
    // This runs only when Yew renders: the beat drawn last.
    *drawn.borrow_mut() = *asked;
    {
        let ask = asked.setter();
        use_effect_with((), move |_| {
            let mut beat = RenderBeat::default();
            let interval =
                gloo::timers::callback::Interval::new(RENDER_WATCH_MS, move || match beat.tick(*drawn.borrow()) {
                    BeatStep::Ask(next) => ask.set(next),
                    BeatStep::Wait => {}
                    BeatStep::Stopped(late_ticks) => report(
                        WindowFailureKind::StoppedDrawing,
                        format!(
                            "a render asked for {} ms ago never ran",
                            u64::from(late_ticks) * u64::from(RENDER_WATCH_MS)
                        ),
                    ),
                });
            move || drop(interval)
        });
    }
    html! {}
}

#[cfg(test)]
mod tests {
    use super::{BeatStep, LATE_TICKS_TOLERATED, RenderBeat, through_wasm};

    #[test]
    fn a_render_that_never_runs_is_reported_after_the_ticks_a_slow_one_may_take() {
        let mut beat = RenderBeat::default();
        // Drawing keeps up: each tick asks for the next render.
        assert_eq!(beat.tick(0), BeatStep::Ask(1));
        assert_eq!(beat.tick(1), BeatStep::Ask(2));
        // A slow render: waited for, then drawn, and the count starts again.
        assert_eq!(beat.tick(1), BeatStep::Wait);
        assert_eq!(beat.tick(2), BeatStep::Ask(3));
        // A render that never runs.
        for _ in 0..LATE_TICKS_TOLERATED {
            assert_eq!(beat.tick(2), BeatStep::Wait);
        }
        assert_eq!(beat.tick(2), BeatStep::Stopped(LATE_TICKS_TOLERATED + 1));
        assert_eq!(beat.tick(2), BeatStep::Stopped(LATE_TICKS_TOLERATED + 2), "said again; report() says it once");
    }

    #[test]
    fn traps_and_errors_with_wasm_frames_break_the_window_others_do_not() {
        assert!(through_wasm(true, None), "a trap");
        let webkit =
            "insertBefore@[native code]\n<?>.wasm-function[1234]@[wasm code]\nrender@http://tauri.localhost/x.js:1:2";
        assert!(through_wasm(false, Some(webkit)));
        let chromium = "Error: x\n    at softphone_ui.wasm.yew::render (wasm://wasm/00a1b2c3:wasm-function[77]:0x1f2e)";
        assert!(through_wasm(false, Some(chromium)));
        let sdk = "onmessage@http://tauri.localhost/vendor/bundle.js:2:4410";
        assert!(!through_wasm(false, Some(sdk)), "the SDK's own error");
        assert!(!through_wasm(false, None));
    }
}
