mod call_log;
mod calling_settings;
mod calls_panel;
mod diagnostics;
mod dialer;
mod disposition_settings;
mod leads;
mod ringing_banner;
mod section_page;
mod settings;
mod sidebar;
mod status_bar;

use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::{NodeRef, UseStateHandle};

pub use calls_panel::CallsPanel;
pub use ringing_banner::RingingBanner;
pub use section_page::SectionPage;
pub use sidebar::Sidebar;
pub use status_bar::StatusBar;

/// What a text field holds now, as the agent sees it: an action reads this, not the state of the
/// render its handler was made in, which lags behind keystrokes whose render has not come yet
/// (CI once dialed a number one digit short, LEARNINGS 2026-12-05). The state's value when the
/// field is not mounted.
fn field_text(field: &NodeRef, state: &UseStateHandle<String>) -> String {
    if let Some(input) = field.cast::<HtmlInputElement>() {
        input.value()
    } else if let Some(area) = field.cast::<HtmlTextAreaElement>() {
        area.value()
    } else {
        (**state).clone()
    }
}
