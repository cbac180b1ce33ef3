use softphone_core::ipc::{CredentialsStatus, IpcError, KeychainState};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::calling_settings::CallingSettings;
use super::disposition_settings::DispositionSettings;
use super::team_settings::TeamSettings;
use super::updates::UpdatesSection;
use crate::backend;
use crate::wording;

fn yes_no(configured: bool) -> &'static str {
    if configured { "Configured" } else { "Not set" }
}

#[derive(Properties, PartialEq)]
pub struct SettingsProps {
    /// New settings are in force (the window applies the region at once).
    pub on_saved: Callback<softphone_core::settings::Settings>,
    /// Whether the app starts at login, as in force.
    pub start_at_login: Option<bool>,
    /// Where updates stand, the running version, and whether a call is up (updates wait).
    pub update: softphone_core::updates::UpdateStatus,
    pub app_version: Option<String>,
    pub call_up: bool,
    /// The agent's team, as the shell reports it.
    pub team: softphone_core::ipc::TeamStatus,
}

/// Credentials: what is configured (never the values), a write-only form, and removal; then the
/// calling settings.
#[function_component(Settings)]
pub fn settings(props: &SettingsProps) -> Html {
    let status = use_state(|| None::<CredentialsStatus>);
    let api_key = use_state(String::new);
    let connection_id = use_state(String::new);
    let error = use_state(|| None::<IpcError>);
    let busy = use_state(|| false);

    {
        let (status, error) = (status.clone(), error.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match backend::get_credentials_status().await {
                    Ok(found) => status.set(Some(found)),
                    Err(failure) => error.set(Some(failure)),
                }
            });
        });
    }

    let field = |state: &UseStateHandle<String>| {
        let state = state.clone();
        Callback::from(move |event: InputEvent| {
            let input: HtmlInputElement = event.target_unchecked_into();
            state.set(input.value());
        })
    };
    let on_save = {
        let (status, api_key, connection_id, error, busy) =
            (status.clone(), api_key.clone(), connection_id.clone(), error.clone(), busy.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let (status, api_key, connection_id, error, busy) =
                (status.clone(), api_key.clone(), connection_id.clone(), error.clone(), busy.clone());
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                match backend::save_credentials(&api_key, &connection_id).await {
                    Ok(saved) => {
                        status.set(Some(saved));
                        error.set(None);
                        // The key leaves the window's memory as soon as the shell has it.
                        api_key.set(String::new());
                        connection_id.set(String::new());
                    }
                    Err(failure) => error.set(Some(failure)),
                }
                busy.set(false);
            });
        })
    };
    let on_clear = {
        let (status, error) = (status.clone(), error.clone());
        Callback::from(move |_| {
            let (status, error) = (status.clone(), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match backend::clear_credentials().await {
                    Ok(cleared) => {
                        status.set(Some(cleared));
                        error.set(None);
                    }
                    Err(failure) => error.set(Some(failure)),
                }
            });
        })
    };

    html! {
        <div class="settings">
            <h2>{ "Telnyx credentials" }</h2>
            if let Some(current) = &*status {
                <dl id="credentials-status" class="fields">
                    <dt>{ "Mode" }</dt>
                    <dd id="settings-mode">{ if current.demo { "Demo mode (built-in simulator)" } else { "Telnyx account" } }</dd>
                    <dt>{ "Keychain" }</dt>
                    <dd id="settings-keychain">
                        { match current.keychain {
                            KeychainState::Available => "Available".to_owned(),
                            KeychainState::Unavailable => "Not available".to_owned(),
                            KeychainState::Locked => "Locked".to_owned(),
                        } }
                        if let Some(why) = &current.keychain_message {
                            <span class="muted">{ format!(" — {why}") }</span>
                        }
                    </dd>
                    <dt>{ "API key" }</dt><dd id="settings-api-key">{ yes_no(current.api_key) }</dd>
                    <dt>{ "Connection id" }</dt><dd id="settings-connection-id">{ yes_no(current.connection_id) }</dd>
                </dl>
            } else {
                <p class="muted">{ "Reading the keychain…" }</p>
            }
            <form id="credentials-form" class="credentials-form" onsubmit={on_save}>
                <label for="api-key">{ "API key" }</label>
                <input id="api-key" type="password" autocomplete="off" placeholder="KEY…" value={(*api_key).clone()} oninput={field(&api_key)} />
                <label for="connection-id">{ "Connection id" }</label>
                <input id="connection-id" type="text" autocomplete="off" value={(*connection_id).clone()} oninput={field(&connection_id)} />
                <div class="form-actions">
                    <button id="save-credentials" class="primary" type="submit" disabled={*busy || api_key.is_empty() || connection_id.is_empty()}>{ "Save credentials" }</button>
                    <button
                        id="clear-credentials"
                        class="secondary danger-text"
                        type="button"
                        disabled={!status.as_ref().is_some_and(|current| current.api_key || current.connection_id || current.sip_login)}
                        onclick={on_clear}
                    >{ "Remove credentials" }</button>
                </div>
                <p class="muted">{ "Stored in the operating system's keychain and checked with Telnyx first. They are never shown again." }</p>
            </form>
            if let Some(failure) = &*error {
                <p id="settings-error" class="error" role="alert">{ wording::error_sentence(failure) }</p>
            }
            <TeamSettings status={props.team.clone()} />
            <CallingSettings on_saved={props.on_saved.clone()} start_at_login={props.start_at_login} />
            <DispositionSettings />
            <UpdatesSection status={props.update.clone()} version={props.app_version.clone()} call_up={props.call_up} />
        </div>
    }
}
