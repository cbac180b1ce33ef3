//! The window's own state: which section is open and what the shell last told us. Pure, so it is
//! tested natively. Call state is not here: it comes from the shell's snapshots.

use std::rc::Rc;

use softphone_core::ipc::{AppInfo, ConnectionStatus, IpcError};
use yew::Reducible;

/// The sections of the sidebar, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Section {
    #[default]
    Dialer,
    Leads,
    Calls,
    Settings,
}

impl Section {
    pub const ALL: [Section; 4] = [Section::Dialer, Section::Leads, Section::Calls, Section::Settings];

    pub fn label(self) -> &'static str {
        match self {
            Section::Dialer => "Dialer",
            Section::Leads => "Leads",
            Section::Calls => "Calls",
            Section::Settings => "Settings",
        }
    }

    /// Stable id fragment for DOM ids (`nav-dialer`, `section-dialer`), used by the e2e suite.
    pub fn slug(self) -> &'static str {
        match self {
            Section::Dialer => "dialer",
            Section::Leads => "leads",
            Section::Calls => "calls",
            Section::Settings => "settings",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AppState {
    pub section: Section,
    pub app_info: Option<AppInfo>,
    pub connection: Option<ConnectionStatus>,
    /// The latest failure talking to the shell, shown until the next success.
    pub shell_error: Option<IpcError>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AppAction {
    Open(Section),
    AppInfoLoaded(AppInfo),
    ConnectionUpdated(ConnectionStatus),
    ShellFailed(IpcError),
}

impl Reducible for AppState {
    type Action = AppAction;

    fn reduce(self: Rc<Self>, action: AppAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            AppAction::Open(section) => next.section = section,
            AppAction::AppInfoLoaded(info) => {
                next.app_info = Some(info);
                next.shell_error = None;
            }
            AppAction::ConnectionUpdated(status) => {
                next.connection = Some(status);
                next.shell_error = None;
            }
            AppAction::ShellFailed(error) => next.shell_error = Some(error),
        }
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use softphone_core::ipc::{ConnectionState, ErrorCode};

    fn reduce(state: AppState, action: AppAction) -> AppState {
        (*Rc::new(state).reduce(action)).clone()
    }

    #[test]
    fn opens_on_the_dialer_and_switches_sections() {
        let state = AppState::default();
        assert_eq!(state.section, Section::Dialer);
        let state = reduce(state, AppAction::Open(Section::Leads));
        assert_eq!(state.section, Section::Leads);
    }

    #[test]
    fn a_shell_error_is_shown_until_the_shell_answers_again() {
        let error = IpcError::new(ErrorCode::Internal, "boom");
        let state = reduce(AppState::default(), AppAction::ShellFailed(error.clone()));
        assert_eq!(state.shell_error, Some(error));
        let status = ConnectionStatus { state: ConnectionState::Ready, reason: None, demo: false };
        let state = reduce(state, AppAction::ConnectionUpdated(status.clone()));
        assert_eq!(state.shell_error, None);
        assert_eq!(state.connection, Some(status));
    }

    #[test]
    fn section_slugs_are_unique() {
        let slugs: std::collections::HashSet<_> = Section::ALL.iter().map(|s| s.slug()).collect();
        assert_eq!(slugs.len(), Section::ALL.len());
    }
}
