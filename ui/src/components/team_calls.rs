//! Calls → Team calls: what teammates called, how it ended, their disposition and note, as the
//! team database sent them to this computer (read again every few seconds); and the same for one
//! lead, on its card.

use gloo::timers::callback::Interval;
use softphone_core::call_log::TeamCallEntry;
use softphone_core::disposition::Disposition;
use softphone_core::lead::{LeadId, Page};
use yew::prelude::*;

use crate::backend;
use crate::shown_numbers::use_shown_numbers;
use crate::wording;

/// How often the list is read again (a local read; the sync brings the team's calls).
const REFRESH_MS: u32 = 1_000;
/// The newest this many.
const SHOWN: u32 = 100;

#[function_component(TeamCalls)]
pub fn team_calls() -> Html {
    let numbers = use_shown_numbers();
    let calls = use_state(Vec::<TeamCallEntry>::new);
    {
        let calls = calls.clone();
        use_effect_with((), move |_| {
            let read = move || {
                let calls = calls.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    if let Ok(found) = backend::get_team_calls(Page::first(SHOWN)).await {
                        calls.set(found);
                    }
                });
            };
            read();
            let interval = Interval::new(REFRESH_MS, read);
            move || drop(interval)
        });
    }
    html! {
        <section id="team-calls" class="team-calls">
            <h2>{ "Team calls" }</h2>
            if calls.is_empty() {
                <p class="muted">{ "No teammate's call has reached this computer yet." }</p>
            } else {
                <ul class="lead-calls">
                    { for calls.iter().map(|call| team_call_row(call, &numbers)) }
                </ul>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct LeadTeamCallsProps {
    pub lead_id: LeadId,
}

/// Teammates' calls to one lead (who, when, how it ended, their disposition and note), on the
/// lead's card: an agent handed a lead a teammate called before sees what came of it. Nothing
/// when there are none.
#[function_component(LeadTeamCalls)]
pub fn lead_team_calls(props: &LeadTeamCallsProps) -> Html {
    let numbers = use_shown_numbers();
    let calls = use_state(Vec::<TeamCallEntry>::new);
    {
        let calls = calls.clone();
        use_effect_with(props.lead_id, move |lead_id| {
            let lead_id = *lead_id;
            calls.set(Vec::new());
            let read = move || {
                let calls = calls.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    if let Ok(found) = backend::get_lead_team_calls(lead_id).await {
                        calls.set(found);
                    }
                });
            };
            read();
            let interval = Interval::new(REFRESH_MS, read);
            move || drop(interval)
        });
    }
    if calls.is_empty() {
        return html! {};
    }
    html! {
        <section class="lead-team-calls">
            <h3>{ "Teammates' calls" }</h3>
            <ul class="lead-calls">
                { for calls.iter().map(|call| team_call_row(call, &numbers)) }
            </ul>
        </section>
    }
}

fn team_call_row(call: &TeamCallEntry, numbers: &crate::shown_numbers::ShownNumbers) -> Html {
    let offset = -(js_sys::Date::new_0().get_timezone_offset() as i64);
    html! {
        <li class="team-call">
            <span class="team-call-agent">{ &call.agent }</span>
            <span>{ wording::clock_time(call.started_at_ms, offset) }</span>
            <span>{ numbers.shown(&call.remote_number) }</span>
            <span class="team-call-outcome">{ wording::team_outcome(&call.outcome) }</span>
            if call.talk_seconds > 0 {
                <span>{ wording::duration(call.talk_seconds * 1000) }</span>
            }
            if let Some(code) = &call.disposition {
                <span class="call-disposition">
                    { Disposition::from_code(code).map(|d| d.label().to_owned()).unwrap_or_else(|_| code.clone()) }
                </span>
            }
            if let Some(note) = &call.note {
                <span class="call-note">{ note }</span>
            }
        </li>
    }
}
