//! Updates as the agent meets them: a notice in the status bar when one is ready, and the
//! Updates part of Settings with what is new and the go-ahead. The update installs between
//! calls only; the app restarts into it.

use softphone_core::ipc::IpcError;
use softphone_core::updates::UpdateStatus;
use yew::prelude::*;

use crate::backend;

#[derive(Properties, PartialEq)]
pub struct UpdateNoticeProps {
    pub status: UpdateStatus,
    /// Opens the Updates part of Settings.
    pub on_open: Callback<()>,
}

/// In the status bar: an update is ready, or installing, or the app restarts into it.
#[function_component(UpdateNotice)]
pub fn update_notice(props: &UpdateNoticeProps) -> Html {
    let label = match &props.status {
        UpdateStatus::Available { version, .. } => format!("Update {version} available"),
        UpdateStatus::Installing { version, .. } => format!("Installing {version}…"),
        UpdateStatus::Restarting { version } => format!("Restarting into {version}…"),
        _ => return html! {},
    };
    let onclick = {
        let on_open = props.on_open.clone();
        Callback::from(move |_| {
            on_open.emit(());
            bring_into_view("settings-updates", 20, SETTLE_TICKS);
        })
    };
    html! {
        <button id="update-notice" class="link-button update-notice" title="What is new, and install it between calls"
            {onclick}>{ label }</button>
    }
}

/// How many times (50 ms apart) the section is scrolled into view again once it is there: the
/// sections above it (credentials, team, devices) fill in as their reads answer and would push it
/// back out of view (a clean-clone CI run saw exactly that).
const SETTLE_TICKS: u32 = 20;

/// Scrolls the element `id` into view once the page has rendered it (retrying every 50 ms), and
/// keeps it there for `settle` more ticks while the page above it fills in.
fn bring_into_view(id: &'static str, tries: u32, settle: u32) {
    if let Some(element) = gloo::utils::document().get_element_by_id(id) {
        element.scroll_into_view();
        if settle > 0 {
            gloo::timers::callback::Timeout::new(50, move || bring_into_view(id, 0, settle - 1)).forget();
        }
    } else if tries > 0 {
        gloo::timers::callback::Timeout::new(50, move || bring_into_view(id, tries - 1, settle)).forget();
    }
}

#[derive(Properties, PartialEq)]
pub struct UpdatesSectionProps {
    pub status: UpdateStatus,
    /// The running version.
    pub version: Option<String>,
    /// A call is up: the update waits for it to end.
    pub call_up: bool,
}

/// Settings → Updates: the running version, where updates stand, look now, install now.
#[function_component(UpdatesSection)]
pub fn updates_section(props: &UpdatesSectionProps) -> Html {
    let error = use_state(|| None::<IpcError>);
    let on_check = {
        let error = error.clone();
        Callback::from(move |_| {
            let error = error.clone();
            wasm_bindgen_futures::spawn_local(async move {
                // The status itself comes as the shell's event.
                error.set(backend::check_for_update().await.err());
            });
        })
    };
    let on_install = {
        let error = error.clone();
        Callback::from(move |_| {
            let error = error.clone();
            wasm_bindgen_futures::spawn_local(async move {
                error.set(backend::install_update().await.err());
            });
        })
    };
    let busy = matches!(
        props.status,
        UpdateStatus::Checking | UpdateStatus::Installing { .. } | UpdateStatus::Restarting { .. }
    );
    let line = match &props.status {
        UpdateStatus::NotChecked => "The app looks for updates when it starts and once a day.".to_owned(),
        UpdateStatus::Checking => "Looking for an update…".to_owned(),
        UpdateStatus::UpToDate { .. } => "This is the newest version.".to_owned(),
        UpdateStatus::Available { version, .. } => format!("Version {version} is ready to install."),
        UpdateStatus::Installing { version, received, total } => match total {
            Some(total) if *total > 0 => format!("Installing {version}: {}%", received.saturating_mul(100) / total),
            _ => format!("Installing {version}: {} KiB", received / 1024),
        },
        UpdateStatus::Restarting { version } => format!("Version {version} is installed; the app restarts now."),
        UpdateStatus::Failed { message, .. } => message.clone(),
    };
    let failed = matches!(props.status, UpdateStatus::Failed { .. });
    let offered = props.status.offered_version().map(str::to_owned);
    let notes = match &props.status {
        UpdateStatus::Available { notes, .. } if !notes.trim().is_empty() => Some(notes.clone()),
        _ => None,
    };
    html! {
        <section id="settings-updates" class="settings-block">
            <h2>{ "Updates" }</h2>
            <p id="update-current">{ format!("This is version {}.", props.version.clone().unwrap_or_else(|| "…".to_owned())) }</p>
            <p id="update-status" class={classes!(failed.then_some("shell-error"))} role="status">{ line }</p>
            if let Some(notes) = notes {
                <div id="update-notes" class="update-notes">
                    <h3>{ "What is new" }</h3>
                    { for notes.lines().map(|line| html! { <p>{ line }</p> }) }
                </div>
            }
            <div class="form-actions">
                <button id="update-check" type="button" disabled={busy} onclick={on_check}>{ "Check for updates" }</button>
                if let Some(version) = offered {
                    <button id="update-install" type="button" class="primary" disabled={busy || props.call_up}
                        title={props.call_up.then_some("The update installs between calls: finish this call first.")}
                        onclick={on_install}>{ format!("Install {version} and restart") }</button>
                }
            </div>
            if props.call_up && props.status.offered_version().is_some() {
                <p id="update-waits" class="muted">{ "The update installs between calls: finish this call first." }</p>
            }
            if let Some(error) = &*error {
                <p id="update-error" class="shell-error">{ &error.message }</p>
            }
        </section>
    }
}
