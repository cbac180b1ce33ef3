//! User Timing marks for the moments an agent waits for: the first animation frame that shows
//! them. A benchmark reads when the window painted something (`performance.timeOrigin` plus the
//! mark's `startTime`) with no clock or command of its own; the app never reads them.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use yew::prelude::*;

/// The window first showed a ringing call.
pub const RINGING_SHOWN: &str = "ringing-shown";
/// The window first showed the connection's state (read from the shell, not "Starting").
pub const STATE_SHOWN: &str = "state-shown";

/// Marks `name` once per page, at the first animation frame after `shown` became true.
#[hook]
pub fn use_paint_mark(name: &'static str, shown: bool) {
    let marked = use_mut_ref(|| false);
    use_effect_with(shown, move |shown| {
        if *shown && !*marked.borrow() {
            *marked.borrow_mut() = true;
            let mark = Closure::once_into_js(move || {
                if let Some(performance) = web_sys::window().and_then(|window| window.performance()) {
                    let _ = performance.mark(name);
                }
            });
            if let Some(window) = web_sys::window() {
                let _ = window.request_animation_frame(mark.unchecked_ref());
            }
        }
    });
}
