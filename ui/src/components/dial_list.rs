//! The dial list: a call list chosen by filter, counted and previewed, then worked lead after lead
//! in preview or power mode. The shell runs the session and its rules; this page shows it and
//! passes on the agent's Call, Skip, Pause and Stop (also on the keyboard, see `shortcuts.rs`).

use gloo::timers::callback::Interval;
use softphone_core::dialing::{DialingAction, DialingStage, DialingView, ListFilter, ListPreview, Mode};
use softphone_core::ipc::IpcError;
use softphone_core::lead::Lead;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::greetings::GreetingPanel;
use super::team_calls::LeadTeamCalls;
use crate::backend;
use crate::shown_numbers::use_shown_numbers;
use crate::wording;

/// How often the page reads the session while it is shown (the countdown moves every second).
const REFRESH_MS: u32 = 250;

#[function_component(DialList)]
pub fn dial_list() -> Html {
    let session = use_state(|| None::<DialingView>);
    let error = use_state(|| None::<IpcError>);
    {
        let (session, error) = (session.clone(), error.clone());
        use_effect_with((), move |_| {
            let read = move || {
                let (session, error) = (session.clone(), error.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    match backend::get_dialing().await {
                        Ok(view) => session.set(view),
                        Err(failure) => error.set(Some(failure)),
                    }
                });
            };
            read();
            let interval = Interval::new(REFRESH_MS, read);
            move || drop(interval)
        });
    }
    let running = session.as_ref().filter(|view| view.stage != DialingStage::Finished).cloned();
    let on_view = {
        let session = session.clone();
        Callback::from(move |view: Option<DialingView>| session.set(view))
    };
    html! {
        <div class="dial-list">
            if let Some(view) = running.clone() {
                <SessionCard view={view} on_view={on_view.clone()} />
            } else if let Some(done) = session.as_ref().filter(|view| view.stage == DialingStage::Finished) {
                <p id="session-done" class="muted">{ format!("Session done: {}", figures_sentence(done)) }</p>
                <ReportForm />
            }
            // Hidden, not removed, while a session runs: the list's filter is still there after it.
            <div hidden={running.is_some()}>
                <ListForm on_view={on_view} />
            </div>
            <GreetingPanel />
            if let Some(failure) = &*error {
                <p class="error" role="alert">{ wording::error_sentence(failure) }</p>
            }
        </div>
    }
}

/// Saves the finished session's report (each lead called or skipped) as CSV at a typed path.
#[function_component(ReportForm)]
fn report_form() -> Html {
    let path = use_state(String::new);
    let saved = use_state(|| None::<String>);
    let error = use_state(|| None::<IpcError>);
    let on_path = {
        let path = path.clone();
        Callback::from(move |event: InputEvent| path.set(event.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let on_save = {
        let (path, saved, error) = (path.clone(), saved.clone(), error.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let typed = (*path).trim().to_owned();
            let (saved, error) = (saved.clone(), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match backend::save_dialing_report(&typed).await {
                    Ok(rows) => {
                        saved.set(Some(format!("Saved: {rows} leads in {typed}")));
                        error.set(None);
                    }
                    Err(failure) => {
                        saved.set(None);
                        error.set(Some(failure));
                    }
                }
            });
        })
    };
    html! {
        <form id="session-report" class="session-report" onsubmit={on_save}>
            <input id="session-report-path" type="text" placeholder="/home/me/dialing-session.csv" value={(*path).clone()} oninput={on_path} />
            <button id="session-report-save" class="secondary" type="submit" disabled={path.trim().is_empty()}>{ "Save report as CSV" }</button>
            if let Some(text) = &*saved {
                <p id="session-report-saved" class="saved">{ text }</p>
            }
            if let Some(failure) = &*error {
                <p class="error" role="alert">{ wording::error_sentence(failure) }</p>
            }
        </form>
    }
}

fn figures_sentence(view: &DialingView) -> String {
    let rate = view.calls_per_hour.map(|rate| format!(" · {rate:.0} calls an hour")).unwrap_or_default();
    format!(
        "Dials: {} · Connected: {} · Talk time: {} · Skipped: {} · Left: {}{rate}",
        view.dials,
        view.connects,
        wording::duration(view.talk_ms),
        view.skipped,
        view.leads_left,
    )
}

#[derive(Properties, PartialEq)]
struct FormProps {
    on_view: Callback<Option<DialingView>>,
}

/// The list's filter, its preview and Start.
#[function_component(ListForm)]
fn list_form(props: &FormProps) -> Html {
    let tags = use_state(String::new);
    let city = use_state(String::new);
    let never_called = use_state(|| false);
    let power = use_state(|| true);
    let countdown_s = use_state(|| 3_u32);
    let preview = use_state(|| None::<ListPreview>);
    let error = use_state(|| None::<IpcError>);
    // Where the leads come from: the agent's own ("") or a team campaign (its id).
    let source = use_state(String::new);
    let campaigns = use_state(Vec::<softphone_core::ipc::TeamCampaign>::new);
    {
        let campaigns = campaigns.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                // Not on a team: no campaigns, and the page is as before.
                if let Ok(found) = backend::get_team_campaigns().await {
                    campaigns.set(found);
                }
            });
        });
    }
    let team = !source.is_empty();

    let filter = ListFilter {
        tags: tags.split(',').map(str::trim).filter(|tag| !tag.is_empty()).map(str::to_owned).collect(),
        city: Some(city.trim().to_owned()).filter(|city| !city.is_empty()),
        never_called: *never_called,
        ..ListFilter::default()
    };
    let mode = if *power { Mode::Power { countdown_ms: *countdown_s * 1000 } } else { Mode::Preview };
    let text = |state: UseStateHandle<String>| {
        Callback::from(move |event: InputEvent| state.set(event.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let on_preview = {
        let (filter, preview, error) = (filter.clone(), preview.clone(), error.clone());
        Callback::from(move |_| {
            let (filter, preview, error) = (filter.clone(), preview.clone(), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match backend::preview_call_list(&filter).await {
                    Ok(found) => {
                        preview.set(Some(found));
                        error.set(None);
                    }
                    Err(failure) => error.set(Some(failure)),
                }
            });
        })
    };
    let on_source = {
        let source = source.clone();
        Callback::from(move |event: Event| source.set(event.target_unchecked_into::<HtmlSelectElement>().value()))
    };
    let on_start = {
        let (filter, error, on_view, preview) = (filter.clone(), error.clone(), props.on_view.clone(), preview.clone());
        let campaign = (*source).clone();
        Callback::from(move |_| {
            let (filter, error, on_view, preview) = (filter.clone(), error.clone(), on_view.clone(), preview.clone());
            let campaign = campaign.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let started = if campaign.is_empty() {
                    backend::start_dialing(&filter, mode).await
                } else {
                    backend::start_team_dialing(&campaign, mode).await
                };
                match started {
                    Ok(view) => {
                        // The counts change as the list is worked: counted again on request.
                        preview.set(None);
                        error.set(None);
                        on_view.emit(Some(view));
                    }
                    Err(failure) => error.set(Some(failure)),
                }
            });
        })
    };
    let on_mode = {
        let power = power.clone();
        Callback::from(move |event: Event| {
            power.set(event.target_unchecked_into::<HtmlSelectElement>().value() == "power");
        })
    };
    let on_countdown = {
        let countdown_s = countdown_s.clone();
        Callback::from(move |event: Event| {
            let seconds = event.target_unchecked_into::<HtmlSelectElement>().value().parse::<u32>().unwrap_or(3);
            countdown_s.set(seconds.min(10));
        })
    };
    let on_never = {
        let never_called = never_called.clone();
        Callback::from(move |event: Event| {
            never_called.set(event.target_unchecked_into::<HtmlInputElement>().checked())
        })
    };
    let offset = -(js_sys::Date::new_0().get_timezone_offset() as i64);

    html! {
        <div class="list-form">
            <div class="list-filter">
                if !campaigns.is_empty() {
                    <label>{ "Leads" }
                        <select id="list-source" onchange={on_source}>
                            <option value="" selected={!team}>{ "My leads" }</option>
                            { for campaigns.iter().map(|campaign| html! {
                                <option value={campaign.id.clone()} selected={*source == campaign.id}>
                                    { format!("Team campaign: {}", campaign.name) }
                                </option>
                            }) }
                        </select>
                    </label>
                }
                // A team campaign's leads come from the team in its order: no filter applies.
                if !team {
                    <label>{ "Tags" }<input id="list-tags" type="text" placeholder="hot, renewal" value={(*tags).clone()} oninput={text(tags.clone())} /></label>
                    <label>{ "City" }<input id="list-city" type="text" placeholder="any" value={(*city).clone()} oninput={text(city.clone())} /></label>
                    <label class="inline"><input id="list-never-called" type="checkbox" checked={*never_called} onchange={on_never} />{ "Never called" }</label>
                }
                <label>{ "Mode" }
                    <select id="list-mode" onchange={on_mode}>
                        <option value="power" selected={*power}>{ "Power: dial the next lead after a countdown" }</option>
                        <option value="preview" selected={!*power}>{ "Preview: I press Call for each lead" }</option>
                    </select>
                </label>
                if *power {
                    <label>{ "Countdown" }
                        <select id="list-countdown" onchange={on_countdown}>
                            { for (0..=10_u32).map(|seconds| html! {
                                <option value={seconds.to_string()} selected={seconds == *countdown_s}>
                                    { if seconds == 0 { "None: dial at once".to_owned() } else { format!("{seconds} s") } }
                                </option>
                            }) }
                        </select>
                    </label>
                }
            </div>
            <div class="list-actions">
                if !team {
                    <button id="list-preview" class="secondary" onclick={on_preview}>{ "Count and preview" }</button>
                }
                <button id="list-start" class="primary" onclick={on_start}>{ "Start dialing" }</button>
            </div>
            if let Some(found) = &*preview {
                <p id="list-counts" class="list-counts">
                    { format!("{} to call now, {} later, {} never (do-not-call or out of attempts).", found.ready, found.deferred, found.refused) }
                    if let Some(back) = found.next_back_at_ms {
                        { format!(" The first of those later comes back at {}.", wording::clock_time(back, offset)) }
                    }
                </p>
                <PreviewNames leads={found.first.clone()} />
            }
            if let Some(failure) = &*error {
                <p class="error" role="alert">{ wording::error_sentence(failure) }</p>
            }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct PreviewProps {
    leads: Vec<softphone_core::lead::LeadId>,
}

/// The first leads of a previewed list, by name.
#[function_component(PreviewNames)]
fn preview_names(props: &PreviewProps) -> Html {
    let names = use_state(Vec::<Lead>::new);
    {
        let names = names.clone();
        use_effect_with(props.leads.clone(), move |ids| {
            let ids = ids.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let mut found = Vec::new();
                for id in ids {
                    if let Ok(lead) = backend::get_lead(id).await {
                        found.push(lead);
                    }
                }
                names.set(found);
            });
        });
    }
    html! {
        <ol id="list-first" class="list-first">
            { for names.iter().map(|lead| html! { <li>{ format!("{} — {}", lead.name, lead.company) }</li> }) }
        </ol>
    }
}

#[derive(Properties, PartialEq)]
struct CardProps {
    view: DialingView,
    on_view: Callback<Option<DialingView>>,
}

/// The running session: the lead on screen, where the session is, the agent's buttons, the figures.
#[function_component(SessionCard)]
fn session_card(props: &CardProps) -> Html {
    let numbers = use_shown_numbers();
    let lead = use_state(|| None::<Lead>);
    let reason = use_state(String::new);
    let error = use_state(|| None::<IpcError>);
    {
        let lead = lead.clone();
        use_effect_with(props.view.lead_id, move |id| {
            let id = *id;
            wasm_bindgen_futures::spawn_local(async move {
                lead.set(match id {
                    Some(id) => backend::get_lead(id).await.ok(),
                    None => None,
                });
            });
        });
    }
    // Runs one of the agent's actions on the session; the page shows what the shell answers.
    let run: std::rc::Rc<dyn Fn(DialingAction)> = {
        let (error, on_view) = (error.clone(), props.on_view.clone());
        std::rc::Rc::new(move |action: DialingAction| {
            let (error, on_view) = (error.clone(), on_view.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match backend::dialing_action(&action).await {
                    Ok(view) => {
                        error.set(None);
                        on_view.emit(Some(view));
                    }
                    Err(failure) => error.set(Some(failure)),
                }
            });
        })
    };
    let act = |action: DialingAction| {
        let run = run.clone();
        Callback::from(move |_: MouseEvent| run(action.clone()))
    };
    let skip_now = {
        let (reason, run) = (reason.clone(), run.clone());
        move || {
            run(DialingAction::Skip { reason: (*reason).clone() });
            reason.set(String::new());
        }
    };
    let skip = {
        let skip_now = skip_now.clone();
        Callback::from(move |_: MouseEvent| skip_now())
    };
    let on_reason_key = {
        let reason = reason.clone();
        Callback::from(move |event: KeyboardEvent| {
            if event.key() == "Enter" && !reason.trim().is_empty() {
                event.prevent_default();
                skip_now();
                // The keys go back to the page: the next wrap-up's 1-9 must not type into the field.
                let _ = event.target_unchecked_into::<web_sys::HtmlElement>().blur();
            }
        })
    };
    let on_reason = {
        let reason = reason.clone();
        Callback::from(move |event: InputEvent| reason.set(event.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let view = &props.view;
    let now = js_sys::Date::now() as i64;
    let stage = match view.stage {
        DialingStage::Showing if view.paused => "Paused: press Resume or Call".to_owned(),
        DialingStage::Showing => match view.dial_at_ms {
            Some(at) => format!("Dialing in {} s", ((at - now).max(0) + 999) / 1000),
            None => "Ready: press Call or Skip".to_owned(),
        },
        DialingStage::Calling => "On the call".to_owned(),
        DialingStage::WrappingUp => "Save the wrap-up to go on".to_owned(),
        DialingStage::Waiting => "Waiting for the team's next lead".to_owned(),
        DialingStage::Finished => "Done".to_owned(),
    };
    let power = matches!(view.mode, Mode::Power { .. });
    let showing = view.stage == DialingStage::Showing;
    html! {
        <div id="session-card" class="session-card">
            <p id="session-stage" class={classes!("session-stage", format!("stage-{:?}", view.stage).to_lowercase())}>{ stage }</p>
            if let Some(lead) = &*lead {
                <div class="session-lead">
                    <h2 id="session-lead-name">{ &lead.name }</h2>
                    <p class="muted">{ [lead.company.clone(), numbers.phone(&lead.phone), lead.city.clone()].into_iter().filter(|part| !part.is_empty()).collect::<Vec<_>>().join(" · ") }</p>
                    if let Some(last) = &lead.last_disposition {
                        <p>{ format!("Last outcome: {}", last.label()) }</p>
                    }
                    if !lead.notes.is_empty() {
                        <p class="session-notes">{ &lead.notes }</p>
                    }
                    <LeadTeamCalls lead_id={lead.id} />
                </div>
            }
            <div class="session-actions">
                <button id="session-call" class="primary call-button" disabled={!showing} onclick={act(DialingAction::Call)} title="Alt+N">{ "Call" }</button>
                if power {
                    if view.paused {
                        <button id="session-pause" class="secondary" disabled={!showing} onclick={act(DialingAction::Resume)} title="Alt+P">{ "Resume" }</button>
                    } else {
                        <button id="session-pause" class="secondary" disabled={!showing} onclick={act(DialingAction::Pause)} title="Alt+P">{ "Pause" }</button>
                    }
                }
                <input id="session-skip-reason" type="text" placeholder="Why skip?" value={(*reason).clone()} oninput={on_reason} onkeydown={on_reason_key} />
                <button id="session-skip" class="secondary" disabled={!showing || reason.trim().is_empty()} onclick={skip} title="Alt+S">{ "Skip" }</button>
                <button id="session-stop" class="secondary" disabled={view.stage == DialingStage::Calling} onclick={act(DialingAction::Stop)}>{ "Stop" }</button>
            </div>
            <p id="session-figures" class="session-figures">{ figures_sentence(view) }</p>
            if let Some(skip) = &view.last_skip {
                <p class="muted session-last-skip">{ format!("Last skipped: {skip}") }</p>
            }
            if let Some(failure) = &*error {
                <p class="error" role="alert">{ wording::error_sentence(failure) }</p>
            }
        </div>
    }
}
