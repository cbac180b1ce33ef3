use softphone_core::call_log::CallEngine;
use softphone_core::ipc::{AppInfo, ConnectionStatus, DesktopStatus, IpcError};
use yew::prelude::*;

use crate::paint_marks::{self, use_paint_mark};

#[derive(Properties, PartialEq)]
pub struct StatusBarProps {
    pub connection: Option<ConnectionStatus>,
    pub app_info: Option<AppInfo>,
    pub shell_error: Option<IpcError>,
    /// Notifications and Do Not Disturb.
    pub desktop: Option<DesktopStatus>,
    /// The engine carrying calls, and why it is not the one the agent chose (if so).
    pub engine: Option<CallEngine>,
    pub engine_notice: Option<String>,
    /// Opens the keyboard shortcuts list.
    pub on_help: Callback<()>,
    /// Demo mode: the simulator rings this phone from a lead.
    pub on_simulate_inbound: Callback<()>,
    /// Where updates stand, and how to open Settings → Updates.
    pub update: softphone_core::updates::UpdateStatus,
    pub on_open_updates: Callback<()>,
    /// The agent's team: synced, changes waiting, or offline (shown once joined).
    pub team: softphone_core::ipc::TeamStatus,
}

#[function_component(StatusBar)]
pub fn status_bar(props: &StatusBarProps) -> Html {
    use_paint_mark(paint_marks::STATE_SHOWN, props.connection.is_some());
    let (state_class, label, reason) = match &props.connection {
        Some(status) => {
            (format!("state-{}", status.state.label().to_lowercase()), status.state.label(), status.reason.clone())
        }
        None => ("state-unknown".to_owned(), "Starting", None),
    };
    let demo = props.connection.as_ref().is_some_and(|status| status.demo);
    html! {
        <footer class="status-bar" role="status">
            <span id="connection-state" class={classes!("connection", state_class)}>
                <span class="dot" aria-hidden="true"></span>
                { label }
            </span>
            if let Some(reason) = reason {
                <span id="connection-reason" class="reason">{ reason }</span>
            }
            if let Some(engine) = props.engine {
                <span id="engine-name" class="engine-name" title={props.engine_notice.clone()}>
                    { match engine { CallEngine::Native => "Native engine", CallEngine::Webview => "Webview engine" } }
                </span>
            } else if let Some(notice) = &props.engine_notice {
                <span id="engine-notice" class="shell-error">{ notice }</span>
            }
            if demo {
                <span id="demo-badge" class="demo-badge">{ "DEMO" }</span>
                <button id="simulate-inbound" class="link-button" title="The simulator calls you from one of the demo leads"
                    onclick={props.on_simulate_inbound.reform(|_| ())}>{ "Simulate inbound call" }</button>
            }
            if props.team.joined {
                <span id="team-status" class={classes!("team-status", if props.team.online { "online" } else { "offline" })}
                    title={props.team.reason.clone().or_else(|| props.team.team.as_ref().map(|team| format!("{team} · {}", props.team.agent.clone().unwrap_or_default())))}>
                    { &props.team.sentence }
                </span>
            }
            if let Some(error) = &props.shell_error {
                <span id="shell-error" class="shell-error">{ &error.message }</span>
            }
            <span class="spacer"></span>
            <super::updates::UpdateNotice status={props.update.clone()} on_open={props.on_open_updates.clone()} />
            <DoNotDisturbToggle on={props.desktop.as_ref().is_some_and(|status| status.do_not_disturb)} />
            <button id="help-open" class="link-button" title="Keyboard shortcuts (F1)" onclick={props.on_help.reform(|_| ())}>{ "Shortcuts" }</button>
            <span id="app-version" class="version" title={props.app_info.as_ref().map(|info| format!("Tauri {} on {}", info.tauri_version, info.os))}>
                { props.app_info.as_ref().map(|info| format!("v{}", info.version)).unwrap_or_default() }
            </span>
        </footer>
    }
}

#[derive(Properties, PartialEq)]
struct DoNotDisturbProps {
    on: bool,
}

/// Do Not Disturb: inbound calls are declined (busy) and logged as missed while it is on. The
/// shell's answer (and the tray) update the state.
#[function_component(DoNotDisturbToggle)]
fn do_not_disturb_toggle(props: &DoNotDisturbProps) -> Html {
    let on = props.on;
    let onclick = Callback::from(move |_| {
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(error) = crate::backend::set_do_not_disturb(!on).await {
                gloo::console::error!(format!("Do Not Disturb could not be changed: {}", error.message));
            }
        });
    });
    html! {
        <button id="dnd-toggle" class={classes!("dnd-toggle", on.then_some("on"))} aria-pressed={on.to_string()}
            title="Do not disturb: inbound calls are declined and logged as missed" {onclick}>
            { if on { "Do not disturb: on" } else { "Do not disturb: off" } }
        </button>
    }
}
