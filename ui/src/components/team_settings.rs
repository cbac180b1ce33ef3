//! Settings → Team: join the team's database with the address, login and password the team lead
//! gave (the password goes to the keychain), see whether it is in sync, leave it.

use softphone_core::ipc::{IpcError, TeamStatus};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::backend;
use crate::wording;

#[derive(Properties, PartialEq)]
pub struct TeamSettingsProps {
    pub status: TeamStatus,
}

#[function_component(TeamSettings)]
pub fn team_settings(props: &TeamSettingsProps) -> Html {
    let url = use_state(String::new);
    let login = use_state(String::new);
    let password = use_state(String::new);
    let error = use_state(|| None::<IpcError>);
    let busy = use_state(|| false);
    let field = |state: &UseStateHandle<String>| {
        let state = state.clone();
        Callback::from(move |event: InputEvent| {
            let input: HtmlInputElement = event.target_unchecked_into();
            state.set(input.value());
        })
    };
    let on_join = {
        let (url, login, password, error, busy) =
            (url.clone(), login.clone(), password.clone(), error.clone(), busy.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let (url, login, password, error, busy) =
                (url.clone(), login.clone(), password.clone(), error.clone(), busy.clone());
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                match backend::join_team(&url, &login, &password).await {
                    Ok(_) => {
                        error.set(None);
                        // The password leaves the window's memory once the shell has it.
                        password.set(String::new());
                    }
                    Err(failure) => error.set(Some(failure)),
                }
                busy.set(false);
            });
        })
    };
    let on_leave = {
        let error = error.clone();
        Callback::from(move |_| {
            let error = error.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match backend::leave_team().await {
                    Ok(_) => error.set(None),
                    Err(failure) => error.set(Some(failure)),
                }
            });
        })
    };
    let status = &props.status;
    html! {
        <section class="team-settings">
            <h2>{ "Team" }</h2>
            if status.joined {
                <dl id="team-fields" class="fields">
                    <dt>{ "Team" }</dt><dd id="team-name">{ status.team.clone().unwrap_or_else(|| "—".into()) }</dd>
                    <dt>{ "Agent" }</dt><dd id="team-agent">{ status.agent.clone().or_else(|| status.login.clone()).unwrap_or_default() }</dd>
                    <dt>{ "Database" }</dt><dd id="team-url">{ status.url.clone().unwrap_or_default() }</dd>
                    <dt>{ "Sync" }</dt>
                    <dd id="team-sync">
                        { &status.sentence }
                        if let Some(reason) = &status.reason {
                            <span class="muted">{ format!(" — {reason}") }</span>
                        }
                    </dd>
                </dl>
                <div class="form-actions">
                    <button id="leave-team" class="secondary danger-text" type="button" onclick={on_leave}>{ "Leave team" }</button>
                </div>
                <p class="muted">{ "Calls, dispositions and notes go to the team; offline they wait here and are sent when the team database is back." }</p>
            } else {
                <form id="team-form" class="credentials-form" onsubmit={on_join}>
                    <label for="team-url-input">{ "Team database" }</label>
                    <input id="team-url-input" type="text" autocomplete="off" placeholder="postgres://team.example.com:5432/calls"
                        value={(*url).clone()} oninput={field(&url)} />
                    <label for="team-login-input">{ "Login" }</label>
                    <input id="team-login-input" type="text" autocomplete="off" value={(*login).clone()} oninput={field(&login)} />
                    <label for="team-password-input">{ "Password" }</label>
                    <input id="team-password-input" type="password" autocomplete="off" value={(*password).clone()} oninput={field(&password)} />
                    <div class="form-actions">
                        <button id="join-team" class="primary" type="submit"
                            disabled={*busy || url.is_empty() || login.is_empty() || password.is_empty()}>
                            { if *busy { "Joining…" } else { "Join team" } }
                        </button>
                    </div>
                    <p class="muted">{ "Your team lead gives you these (softphone-team agent add). The password is kept in the keychain." }</p>
                </form>
            }
            if let Some(failure) = &*error {
                <p id="team-error" class="error" role="alert">{ wording::error_sentence(failure) }</p>
            }
        </section>
    }
}
