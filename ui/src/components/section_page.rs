use softphone_core::call::CallsSnapshot;
use softphone_core::lead::{ImportProgress, LeadId};
use softphone_core::phone::Region;
use yew::prelude::*;

use super::call_log::CallLog;
use super::diagnostics::DiagnosticsPage;
use super::dial_list::DialList;
use super::dialer::Dialer;
use super::leads::LeadsPage;
use super::settings::Settings;
use crate::state::Section;

#[derive(Properties, PartialEq)]
pub struct SectionPageProps {
    pub section: Section,
    /// Demo mode (the built-in simulator answers calls).
    pub demo: bool,
    pub calls: CallsSnapshot,
    pub import_progress: Option<ImportProgress>,
    /// A `tel:` link's number for the dialer.
    pub dial_request: Option<(u32, String)>,
    /// A lead to open on the leads page.
    pub lead_request: Option<(u32, LeadId)>,
    /// The default region from the settings.
    pub region: Region,
    /// Whether the app starts at login, as in force (the app may decide it by itself).
    pub start_at_login: Option<bool>,
    /// The settings were saved.
    pub on_settings_saved: Callback<softphone_core::settings::Settings>,
    /// Where updates stand, and the running version.
    pub update: softphone_core::updates::UpdateStatus,
    pub app_version: Option<String>,
    /// The agent's team, for Settings → Team.
    pub team: softphone_core::ipc::TeamStatus,
}

/// The body of each section: its heading, a line saying what it is for, and its screen.
#[function_component(SectionPage)]
pub fn section_page(props: &SectionPageProps) -> Html {
    let section = props.section;
    let summary = match section {
        Section::Dialer => "Type a number and press Enter, or use the keypad.",
        Section::Lists => "Work a list of leads, preview or power, within the calling rules.",
        Section::Leads => "Your lead list, searchable offline.",
        Section::Calls => "Every call you make or receive.",
        Section::Settings => {
            "Telnyx credentials (kept in the keychain), your team, region, call engine, audio devices and updates."
        }
        Section::Diagnostics => "The call engine, the connection and the media of every call.",
    };
    let body = match section {
        Section::Dialer => {
            html! { <Dialer demo={props.demo} region={props.region} prefill={props.dial_request.clone()} calls={props.calls.clone()} /> }
        }
        Section::Lists => html! { <DialList /> },
        Section::Leads => {
            html! {
                <LeadsPage demo={props.demo} import_progress={props.import_progress} calls={props.calls.clone()}
                    lead_request={props.lead_request} />
            }
        }
        Section::Calls => html! {
            <>
                <CallLog calls={props.calls.clone()} />
                if props.team.joined {
                    <super::team_calls::TeamCalls />
                }
            </>
        },
        Section::Settings => {
            html! {
                <Settings on_saved={props.on_settings_saved.clone()} start_at_login={props.start_at_login}
                    update={props.update.clone()} app_version={props.app_version.clone()}
                    call_up={softphone_core::window_life::call_up(&props.calls)} team={props.team.clone()} />
            }
        }
        Section::Diagnostics => html! { <DiagnosticsPage /> },
    };
    html! {
        <section id={format!("section-{}", section.slug())} class="section-page">
            <h1>{ section.label() }</h1>
            <p class="summary">{ summary }</p>
            { body }
        </section>
    }
}
