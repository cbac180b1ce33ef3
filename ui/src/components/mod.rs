mod call_log;
mod calling_settings;
mod calls_panel;
mod diagnostics;
mod dialer;
mod disposition_settings;
mod do_not_call;
mod leads;
mod ringing_banner;
mod section_page;
mod settings;
mod sidebar;
mod status_bar;

pub use calls_panel::CallsPanel;
pub use ringing_banner::RingingBanner;
pub use section_page::SectionPage;
pub use sidebar::Sidebar;
pub use status_bar::StatusBar;
