use yew::prelude::*;

use crate::state::Section;

#[derive(Properties, PartialEq)]
pub struct SidebarProps {
    pub current: Section,
    pub on_open: Callback<Section>,
    /// Missed calls not yet seen, shown as a badge on Calls.
    pub unseen_missed: u64,
}

#[function_component(Sidebar)]
pub fn sidebar(props: &SidebarProps) -> Html {
    html! {
        <nav class="sidebar" aria-label="Sections">
            <div class="brand">{ "Softphone" }</div>
            <ul>
                { for Section::ALL.iter().map(|&section| {
                    let on_open = props.on_open.clone();
                    let current = section == props.current;
                    html! {
                        <li>
                            <button
                                id={format!("nav-{}", section.slug())}
                                class={classes!("nav-item", current.then_some("current"))}
                                aria-current={current.then_some("page")}
                                onclick={Callback::from(move |_| on_open.emit(section))}
                            >
                                <svg class="nav-icon" viewBox="0 0 24 24" aria-hidden="true"><path d={icon_path(section)} /></svg>
                                { section.label() }
                                if section == Section::Calls && props.unseen_missed > 0 {
                                    <span id="missed-badge" class="badge" title="Missed calls">{ props.unseen_missed }</span>
                                }
                            </button>
                        </li>
                    }
                }) }
            </ul>
        </nav>
    }
}

/// Material Design icon paths (24x24), drawn inline so the window needs no icon font or network.
fn icon_path(section: Section) -> &'static str {
    match section {
        Section::Dialer => {
            "M6.6 10.8c1.4 2.8 3.8 5.1 6.6 6.6l2.2-2.2c.3-.3.7-.4 1-.2 1.1.4 2.3.6 3.6.6.6 0 1 .4 1 1V20c0 .6-.4 1-1 1C10.6 21 3 13.4 3 4c0-.6.4-1 1-1h3.5c.6 0 1 .4 1 1 0 1.3.2 2.5.6 3.6.1.3 0 .7-.2 1L6.6 10.8z"
        }
        Section::Lists => "M3 13h2v-2H3v2zm0 4h2v-2H3v2zm0-8h2V7H3v2zm4 4h14v-2H7v2zm0 4h14v-2H7v2zM7 7v2h14V7H7z",
        Section::Leads => {
            "M16 11c1.7 0 3-1.3 3-3s-1.3-3-3-3-3 1.3-3 3 1.3 3 3 3zm-8 0c1.7 0 3-1.3 3-3S9.7 5 8 5 5 6.3 5 8s1.3 3 3 3zm0 2c-2.3 0-7 1.2-7 3.5V19h14v-2.5C15 14.2 10.3 13 8 13zm8 0c-.3 0-.6 0-1 .1 1.2.8 2 2 2 3.4V19h6v-2.5c0-2.3-4.7-3.5-7-3.5z"
        }
        Section::Calls => {
            "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16zm.5-13H11v6l5.2 3.2.8-1.3-4.5-2.7V7z"
        }
        Section::Settings => {
            "M3 17v2h6v-2H3zM3 5v2h10V5H3zm10 16v-2h8v-2h-8v-2h-2v6h2zM7 9v2H3v2h4v2h2V9H7zm14 4v-2H11v2h10zm-6-4h2V7h4V5h-4V3h-2v6z"
        }
        Section::Diagnostics => "M3.5 18.5l6-6 4 4L22 6.9 20.6 5.5l-7.1 8-4-4L2 17l1.5 1.5z",
    }
}
