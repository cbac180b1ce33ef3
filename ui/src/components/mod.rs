mod section_page;
mod sidebar;
mod status_bar;

pub use section_page::SectionPage;
pub use sidebar::Sidebar;
pub use status_bar::StatusBar;
