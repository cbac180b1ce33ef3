use softphone_core::ipc::{AppInfo, ConnectionStatus, IpcError};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct StatusBarProps {
    pub connection: Option<ConnectionStatus>,
    pub app_info: Option<AppInfo>,
    pub shell_error: Option<IpcError>,
    /// Opens the keyboard shortcuts list.
    pub on_help: Callback<()>,
    /// Demo mode: the simulator rings this phone from a lead.
    pub on_simulate_inbound: Callback<()>,
}

#[function_component(StatusBar)]
pub fn status_bar(props: &StatusBarProps) -> Html {
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
            if demo {
                <span id="demo-badge" class="demo-badge">{ "DEMO" }</span>
                <button id="simulate-inbound" class="link-button" title="The simulator calls you from one of the demo leads"
                    onclick={props.on_simulate_inbound.reform(|_| ())}>{ "Simulate inbound call" }</button>
            }
            if let Some(error) = &props.shell_error {
                <span id="shell-error" class="shell-error">{ &error.message }</span>
            }
            <span class="spacer"></span>
            <button id="help-open" class="link-button" title="Keyboard shortcuts (F1)" onclick={props.on_help.reform(|_| ())}>{ "Shortcuts" }</button>
            <span id="app-version" class="version" title={props.app_info.as_ref().map(|info| format!("Tauri {} on {}", info.tauri_version, info.os))}>
                { props.app_info.as_ref().map(|info| format!("v{}", info.version)).unwrap_or_default() }
            </span>
        </footer>
    }
}
