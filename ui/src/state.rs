//! The window's own state: which section is open and what the shell last told us. Pure, so it is
//! tested natively. Call state is not here: it comes from the shell's snapshots.

use std::rc::Rc;

use softphone_core::call::CallsSnapshot;
use softphone_core::call_log::CallEngine;
use softphone_core::ipc::{AppInfo, ConnectionStatus, DesktopStatus, IpcError};
use softphone_core::lead::{ImportProgress, Lead, LeadId, Page};
use softphone_core::phone::Region;
use softphone_core::settings::Settings;
use yew::Reducible;

/// The sections of the sidebar, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Section {
    #[default]
    Dialer,
    Lists,
    Leads,
    Calls,
    Settings,
    Diagnostics,
}

impl Section {
    pub const ALL: [Section; 6] =
        [Section::Dialer, Section::Lists, Section::Leads, Section::Calls, Section::Settings, Section::Diagnostics];

    pub fn label(self) -> &'static str {
        match self {
            Section::Dialer => "Dialer",
            Section::Lists => "Dial list",
            Section::Leads => "Leads",
            Section::Calls => "Calls",
            Section::Settings => "Settings",
            Section::Diagnostics => "Diagnostics",
        }
    }

    /// The section a [`Section::slug`] names.
    pub fn from_slug(slug: &str) -> Option<Section> {
        Section::ALL.into_iter().find(|section| section.slug() == slug)
    }

    /// Stable id fragment for DOM ids (`nav-dialer`, `section-dialer`), used by the e2e suite.
    pub fn slug(self) -> &'static str {
        match self {
            Section::Dialer => "dialer",
            Section::Lists => "lists",
            Section::Leads => "leads",
            Section::Calls => "calls",
            Section::Settings => "settings",
            Section::Diagnostics => "diagnostics",
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
    /// The shell's latest snapshot of every call; rendered as is.
    /// The newest snapshot seen, by revision: events and reads may arrive in either order.
    pub calls: CallsSnapshot,
    /// The latest progress of a running CSV import.
    pub import_progress: Option<ImportProgress>,
    /// Missed calls the agent has not seen: the badge on Calls.
    pub unseen_missed: u64,
    /// The latest number a `tel:` link asked to dial, numbered so a repeat still counts.
    pub dial_request: Option<(u32, String)>,
    /// Notifications and Do Not Disturb, as the shell reports them.
    pub desktop: Option<DesktopStatus>,
    /// A lead to open (a notification was clicked); numbered so a repeat still counts.
    pub lead_request: Option<(u32, LeadId)>,
    /// The agent's settings, once read from the shell.
    pub settings: Option<Settings>,
    /// The engine carrying calls, once chosen, and why it is not the one asked for (if so).
    pub engine: Option<CallEngine>,
    pub engine_notice: Option<String>,
    /// The latest audio device change (a headset unplugged), until the agent dismisses it.
    pub audio_notice: Option<String>,
    /// Where updates stand, as the shell says.
    pub update: softphone_core::updates::UpdateStatus,
    /// The agent's team: joined, online, how much waits.
    pub team: softphone_core::ipc::TeamStatus,
}

impl AppState {
    /// The region numbers are read in: the settings', US until they are read.
    pub fn region(&self) -> Region {
        self.settings.as_ref().map_or(Region::US, |settings| settings.default_region)
    }

    /// True when the app runs against the built-in simulator.
    pub fn demo(&self) -> bool {
        self.connection.as_ref().is_some_and(|status| status.demo)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum AppAction {
    Open(Section),
    AppInfoLoaded(AppInfo),
    /// The shell's event: always the newest state.
    ConnectionUpdated(ConnectionStatus),
    /// The answer to the start-up query: older than any event already received (IPC answers and
    /// events travel separately), so it only fills a gap.
    /// A re-read of the connection no update crossed: what the shell says now.
    ConnectionReread(ConnectionStatus),
    ShellFailed(IpcError),
    CallsUpdated(CallsSnapshot),
    /// A read of the calls (at start-up, and the periodic re-read): used only if it is not older
    /// than what the window has.
    CallsLoaded(CallsSnapshot),
    ImportProgressed(ImportProgress),
    /// The shell counted the missed calls not yet seen.
    UnseenMissed(u64),
    /// A `tel:` link: the dialer opens with its number.
    DialRequested(String),
    DesktopUpdated(DesktopStatus),
    /// Open the lead page on this lead (a notification was clicked).
    ShowLead(LeadId),
    EngineChosen {
        engine: Option<CallEngine>,
        notice: Option<String>,
    },
    /// The settings were read or saved.
    SettingsLoaded(Settings),
    /// An audio device went away or failed (`Some`), or the agent dismissed the notice.
    AudioNotice(Option<String>),
    /// Where updates stand changed (or was read).
    UpdateChanged(softphone_core::updates::UpdateStatus),
    /// The shell's team status (the link, the changes waiting).
    TeamUpdated(softphone_core::ipc::TeamStatus),
}

impl Reducible for AppState {
    type Action = AppAction;

    fn reduce(self: Rc<Self>, action: AppAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            AppAction::Open(section) => {
                next.section = section;
                // Opening the call log shows the missed calls: the badge goes.
                if section == Section::Calls {
                    next.unseen_missed = 0;
                }
            }
            AppAction::DialRequested(number) => {
                let sequence = next.dial_request.as_ref().map_or(1, |(sequence, _)| sequence + 1);
                next.dial_request = Some((sequence, number));
                next.section = Section::Dialer;
            }
            AppAction::DesktopUpdated(status) => next.desktop = Some(status),
            AppAction::SettingsLoaded(settings) => next.settings = Some(settings),
            AppAction::AudioNotice(notice) => next.audio_notice = notice,
            AppAction::UpdateChanged(status) => next.update = status,
            AppAction::TeamUpdated(status) => next.team = status,
            AppAction::EngineChosen { engine, notice } => {
                next.engine = engine;
                next.engine_notice = notice;
            }
            AppAction::ShowLead(lead_id) => {
                let sequence = next.lead_request.as_ref().map_or(1, |(sequence, _)| sequence + 1);
                next.lead_request = Some((sequence, lead_id));
                next.section = Section::Leads;
            }
            AppAction::UnseenMissed(count) => {
                next.unseen_missed = if next.section == Section::Calls { 0 } else { count };
            }
            AppAction::AppInfoLoaded(info) => {
                next.app_info = Some(info);
                next.shell_error = None;
            }
            AppAction::ConnectionUpdated(status) => {
                next.connection = Some(status);
                next.shell_error = None;
            }
            AppAction::ShellFailed(error) => next.shell_error = Some(error),
            AppAction::CallsUpdated(snapshot) | AppAction::CallsLoaded(snapshot) => {
                if snapshot.revision >= next.calls.revision {
                    next.calls = snapshot;
                }
            }
            AppAction::ConnectionReread(status) => next.connection = Some(status),
            AppAction::ImportProgressed(progress) => next.import_progress = Some(progress),
        }
        Rc::new(next)
    }
}

/// Leads per page of the lead list.
pub const LEADS_PAGE: u32 = 50;

/// Height of one row of the lead list, in CSS pixels (the stylesheet fixes it).
pub const LEAD_ROW_PX: f64 = 52.0;
/// Rows rendered above and below the visible ones, so fast scrolling shows no gap.
pub const LEAD_ROWS_OVERSCAN: usize = 8;

/// The rows of a virtualized list to put in the DOM for a scroll position: `start..end` of the
/// loaded rows, the space the rows not rendered take above and below, and whether the view is
/// close enough to the end to load the next page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowWindow {
    pub start: usize,
    pub end: usize,
    pub above_px: f64,
    pub below_px: f64,
    pub near_end: bool,
}

impl RowWindow {
    /// `scroll_top` and `viewport_px` of the scrolling list, `rows` loaded.
    pub fn at(scroll_top: f64, viewport_px: f64, rows: usize) -> RowWindow {
        let first_visible = (scroll_top.max(0.0) / LEAD_ROW_PX) as usize;
        let visible = (viewport_px.max(LEAD_ROW_PX) / LEAD_ROW_PX).ceil() as usize;
        let start = first_visible.saturating_sub(LEAD_ROWS_OVERSCAN).min(rows);
        let end = (first_visible + visible + LEAD_ROWS_OVERSCAN).min(rows);
        RowWindow {
            start,
            end,
            above_px: start as f64 * LEAD_ROW_PX,
            below_px: (rows - end) as f64 * LEAD_ROW_PX,
            // Within a page of the last loaded row: fetch the next before the agent gets there.
            near_end: first_visible + visible + LEADS_PAGE as usize / 2 >= rows,
        }
    }
}

/// An inbound call ringing from +1 415-555-0100, for tests.
#[cfg(test)]
pub(crate) fn inbound_ringing_call(id: &str) -> softphone_core::call::CallSnapshot {
    use softphone_core::call::{CallControlView, CallId, CallSnapshot, CallView, Direction, Party, UnixMillis};
    CallSnapshot {
        call_id: CallId(id.into()),
        direction: Direction::Inbound,
        remote: Party { number: "+14155550100".into(), name: None },
        lead_id: None,
        view: CallView::Ringing,
        muted: false,
        started_at: UnixMillis(0),
        answered_at: None,
        end: None,
        caller_number: None,
        control: CallControlView::default(),
    }
}

/// The lead list: what was searched, the pages loaded so far, and the lead opened. Answers to
/// an older search (`generation`) are dropped, so fast typing never shows stale results.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LeadList {
    pub query: String,
    pub generation: u32,
    pub leads: Vec<Lead>,
    /// The page to load on "More"; `None` when the last page was short (no more leads).
    pub next: Option<Page>,
    pub loading: bool,
    pub error: Option<IpcError>,
    pub selected: Option<LeadId>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LeadListAction {
    /// The agent typed: a new search starts (the page's effect fetches it after the debounce).
    Search(String),
    /// The same search again, whatever it is by now (leads were imported, demo leads seeded).
    Refresh,
    /// The next page is being fetched.
    LoadingMore,
    Loaded {
        generation: u32,
        page: Page,
        leads: Vec<Lead>,
    },
    Failed {
        generation: u32,
        error: IpcError,
    },
    Select(Option<LeadId>),
    /// A lead changed (notes saved): replace it where it is listed.
    LeadUpdated(Box<Lead>),
}

impl Reducible for LeadList {
    type Action = LeadListAction;

    fn reduce(self: Rc<Self>, action: LeadListAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            LeadListAction::Search(query) => {
                next.query = query;
                next.generation = next.generation.wrapping_add(1);
                next.loading = true;
                next.error = None;
            }
            LeadListAction::Refresh => {
                next.generation = next.generation.wrapping_add(1);
                next.loading = true;
                next.error = None;
            }
            LeadListAction::LoadingMore => next.loading = true,
            LeadListAction::Loaded { generation, page, leads } => {
                if generation != next.generation {
                    return self;
                }
                next.next = (leads.len() as u32 >= page.limit).then(|| page.next());
                if page.offset == 0 {
                    next.leads = leads;
                } else {
                    next.leads.extend(leads);
                }
                next.loading = false;
                next.error = None;
            }
            LeadListAction::Failed { generation, error } => {
                if generation != next.generation {
                    return self;
                }
                next.loading = false;
                next.error = Some(error);
            }
            LeadListAction::Select(lead) => next.selected = lead,
            LeadListAction::LeadUpdated(lead) => {
                if let Some(listed) = next.leads.iter_mut().find(|listed| listed.id == lead.id) {
                    *listed = *lead;
                }
            }
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
    fn the_missed_badge_counts_until_the_call_log_is_opened() {
        let state = reduce(AppState::default(), AppAction::UnseenMissed(2));
        assert_eq!(state.unseen_missed, 2);
        let state = reduce(state, AppAction::Open(Section::Calls));
        assert_eq!(state.unseen_missed, 0);
        // While the call log is open, new missed calls are seen as they arrive.
        let state = reduce(state, AppAction::UnseenMissed(1));
        assert_eq!(state.unseen_missed, 0);
        let state = reduce(state, AppAction::Open(Section::Dialer));
        let state = reduce(state, AppAction::UnseenMissed(3));
        assert_eq!(state.unseen_missed, 3);
    }

    #[test]
    fn a_late_start_up_answer_never_overwrites_a_newer_event() {
        let status = |state| ConnectionStatus { state, reason: None, demo: true };
        // The connection: a re-read is applied only when no update crossed it (the window checks
        // that, `reread_connection_forever`), and is then what the shell says now.
        let state = reduce(AppState::default(), AppAction::ConnectionReread(status(ConnectionState::Offline)));
        assert_eq!(state.connection, Some(status(ConnectionState::Offline)));
        let state = reduce(state, AppAction::ConnectionUpdated(status(ConnectionState::Ready)));
        assert_eq!(state.connection, Some(status(ConnectionState::Ready)));

        let ringing =
            CallsSnapshot { calls: vec![inbound_ringing_call("c1")], revision: 1, ..CallsSnapshot::default() };
        let gone = CallsSnapshot { calls: Vec::new(), revision: 2, ..CallsSnapshot::default() };
        // The call already went (event: no calls); the late answer still had it ringing.
        let state = reduce(AppState::default(), AppAction::CallsUpdated(gone.clone()));
        let state = reduce(state, AppAction::CallsLoaded(ringing.clone()));
        assert_eq!(state.calls, gone);
        // An event older than the read (emitted first, delivered last) does not undo it either.
        let state = reduce(AppState::default(), AppAction::CallsLoaded(gone.clone()));
        let state = reduce(state, AppAction::CallsUpdated(ringing.clone()));
        assert_eq!(state.calls, gone);
        // A read newer than the last event (an event that never came) counts.
        let state = reduce(AppState::default(), AppAction::CallsUpdated(ringing.clone()));
        let state = reduce(state, AppAction::CallsLoaded(gone.clone()));
        assert_eq!(state.calls, gone, "the re-read catches up");
    }

    #[test]
    fn a_dial_link_opens_the_dialer_and_a_repeat_counts_again() {
        let state =
            reduce(AppState { section: Section::Leads, ..AppState::default() }, AppAction::DialRequested("+1".into()));
        assert_eq!(state.section, Section::Dialer);
        assert_eq!(state.dial_request, Some((1, "+1".into())));
        let state = reduce(state, AppAction::DialRequested("+1".into()));
        assert_eq!(state.dial_request, Some((2, "+1".into())));
    }

    #[test]
    fn every_section_is_found_again_by_its_slug_which_a_reloaded_window_reads() {
        assert!(Section::ALL.into_iter().all(|section| Section::from_slug(section.slug()) == Some(section)));
        assert_eq!(Section::from_slug("nowhere"), None);
    }

    #[test]
    fn a_clicked_notification_opens_its_lead() {
        let state = reduce(AppState::default(), AppAction::ShowLead(LeadId(7)));
        assert_eq!(state.section, Section::Leads);
        assert_eq!(state.lead_request, Some((1, LeadId(7))));
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

    fn lead(id: i64, name: &str) -> Lead {
        Lead {
            id: LeadId(id),
            name: name.into(),
            company: String::new(),
            phone: softphone_core::phone::PhoneNumber::from_stored(&format!("+1415555{:04}", 100 + id)).expect("E.164"),
            email: String::new(),
            city: String::new(),
            tags: Vec::new(),
            notes: String::new(),
            last_disposition: None,
            do_not_call: false,
            time_zone: String::new(),
            callback_due_at_ms: None,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    fn leads(state: LeadList, action: LeadListAction) -> LeadList {
        (*Rc::new(state).reduce(action)).clone()
    }

    fn search(query: &str) -> LeadListAction {
        LeadListAction::Search(query.into())
    }

    #[test]
    fn keystrokes_faster_than_renders_still_show_the_last_search() {
        // Two keystrokes before a render: the list counts both, and the page's effect fetches
        // under the number the list ends on.
        let state = leads(LeadList::default(), search("Evelyn"));
        let state = leads(state, search("Evelyn Patel"));
        let last = state.generation;
        let answer = LeadListAction::Loaded { generation: last, page: Page::first(50), leads: vec![lead(7, "Evelyn")] };
        let state = leads(state, answer);
        assert_eq!(state.leads.len(), 1, "the answer to the last search is shown");
        assert!(!state.loading);
        // An import finishing after the typing searches again for what was typed, not for what
        // its handler saw.
        let state = leads(state, LeadListAction::Refresh);
        assert_eq!(state.query, "Evelyn Patel");
        assert!(state.loading);
    }

    #[test]
    fn a_full_page_offers_more_and_more_appends() {
        let state = leads(LeadList::default(), search(""));
        let generation = state.generation;
        let page = Page::first(2);
        let state = leads(state, LeadListAction::Loaded { generation, page, leads: vec![lead(1, "A"), lead(2, "B")] });
        assert_eq!(state.next, Some(page.next()), "a full page: there may be more");
        let state = leads(state, LeadListAction::Loaded { generation, page: page.next(), leads: vec![lead(3, "C")] });
        assert_eq!(state.leads.len(), 3);
        assert_eq!(state.next, None, "a short page is the last");
        assert!(!state.loading);
    }

    #[test]
    fn the_list_renders_only_the_rows_in_view_and_keeps_the_scroll_height() {
        // 10,000 leads loaded, a 520 px view (10 rows): at the top, in the middle, at the end.
        let top = RowWindow::at(0.0, 520.0, 10_000);
        assert_eq!((top.start, top.end), (0, 10 + LEAD_ROWS_OVERSCAN));
        assert_eq!(top.above_px, 0.0);
        assert!(!top.near_end);
        let middle = RowWindow::at(5_000.0 * LEAD_ROW_PX, 520.0, 10_000);
        assert_eq!((middle.start, middle.end), (5_000 - LEAD_ROWS_OVERSCAN, 5_010 + LEAD_ROWS_OVERSCAN));
        assert!(middle.end - middle.start <= 10 + 2 * LEAD_ROWS_OVERSCAN, "the DOM holds a screenful, not the list");
        // Rendered rows plus the spacers always add up to the whole list's height.
        for window in [top, middle] {
            let rendered = (window.end - window.start) as f64 * LEAD_ROW_PX;
            assert_eq!(window.above_px + rendered + window.below_px, 10_000.0 * LEAD_ROW_PX);
        }
        let end = RowWindow::at(9_990.0 * LEAD_ROW_PX, 520.0, 10_000);
        assert_eq!(end.end, 10_000);
        assert_eq!(end.below_px, 0.0);
        assert!(end.near_end, "the next page is fetched before the last row shows");
        // A short list, and one scrolled past its end (rows removed under the view).
        assert_eq!(
            RowWindow::at(0.0, 520.0, 3),
            RowWindow { start: 0, end: 3, above_px: 0.0, below_px: 0.0, near_end: true }
        );
        let past = RowWindow::at(1e9, 520.0, 40);
        assert!(past.start <= past.end && past.end == 40, "{past:?}");
    }

    #[test]
    fn answers_to_an_older_search_are_dropped() {
        let state = leads(LeadList::default(), search("a"));
        let old = state.generation;
        let state = leads(state, search("ad"));
        let state =
            leads(state, LeadListAction::Loaded { generation: old, page: Page::first(50), leads: vec![lead(1, "Bo")] });
        assert!(state.leads.is_empty() && state.loading, "still waiting for the newer search");
        let current = state.generation;
        let state = leads(
            state,
            LeadListAction::Loaded { generation: current, page: Page::first(50), leads: vec![lead(2, "Ada")] },
        );
        assert_eq!(state.leads[0].name, "Ada");
    }

    #[test]
    fn saved_notes_show_in_the_list() {
        let state = leads(LeadList::default(), search(""));
        let generation = state.generation;
        let state =
            leads(state, LeadListAction::Loaded { generation, page: Page::first(50), leads: vec![lead(1, "A")] });
        let mut changed = lead(1, "A");
        changed.notes = "Call back Monday".into();
        let state = leads(state, LeadListAction::LeadUpdated(Box::new(changed.clone())));
        assert_eq!(state.leads[0], changed);
    }
}
