use std::collections::HashMap;

use softphone_core::call::CallsSnapshot;
use softphone_core::call::Direction;
use softphone_core::call_log::CallLogEntry;
use softphone_core::ipc::IpcError;
use softphone_core::lead::{LeadId, Page};
use yew::prelude::*;

use super::export_form::{ExportForm, Exported};
use super::recording::PlayRecording;
use crate::backend;
use crate::shown_numbers::use_shown_numbers;
use crate::wording::{self, CallFilter};

/// Rows per page of the call log.
const CALLS_PAGE: u32 = 50;

#[derive(Properties, PartialEq)]
pub struct CallLogProps {
    /// The live calls: the log is read again whenever they change, so a call shows up as it
    /// starts and gets its outcome as it ends.
    pub calls: CallsSnapshot,
}

async fn load(filter: CallFilter, lead: Option<LeadId>, page: Page) -> Result<Vec<CallLogEntry>, IpcError> {
    match (lead, filter) {
        // One lead's calls; the filter then narrows them here.
        (Some(lead), _) => backend::get_lead_calls(lead, page).await,
        (None, CallFilter::Missed) => backend::get_missed_calls(page).await,
        (None, CallFilter::All | CallFilter::Inbound | CallFilter::Outbound) => backend::get_recent_calls(page).await,
    }
}

/// The call log with filters, newest first; Redial calls the number (and lead) again.
#[function_component(CallLog)]
pub fn call_log(props: &CallLogProps) -> Html {
    let numbers = use_shown_numbers();
    let filter = use_state(CallFilter::default);
    // The lead whose calls alone are shown (picked by clicking a lead's name in the log).
    let lead_filter = use_state(|| None::<(LeadId, String)>);
    let entries = use_state(Vec::<CallLogEntry>::new);
    let pages = use_state(|| 1_u32);
    let more = use_state(|| false);
    let error = use_state(|| None::<IpcError>);
    let lead_names = use_state(HashMap::<LeadId, String>::new);

    {
        let (entries, more, error, lead_names) = (entries.clone(), more.clone(), error.clone(), lead_names.clone());
        let lead = lead_filter.as_ref().map(|(lead, _)| *lead);
        use_effect_with((*filter, lead, *pages, props.calls.clone()), move |(filter, lead, pages, _)| {
            let (filter, lead, pages) = (*filter, *lead, *pages);
            wasm_bindgen_futures::spawn_local(async move {
                // One request for every page shown so far, so a refresh keeps the agent's place.
                let page = Page { limit: CALLS_PAGE.saturating_mul(pages), offset: 0 };
                match load(filter, lead, page).await {
                    Ok(rows) => {
                        more.set(rows.len() as u32 >= page.limit && page.limit < Page::MAX_LIMIT);
                        let mut names = (*lead_names).clone();
                        for lead_id in rows.iter().filter_map(|row| row.lead_id) {
                            if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(lead_id)
                                && let Ok(lead) = backend::get_lead(lead_id).await
                            {
                                slot.insert(lead.name);
                            }
                        }
                        lead_names.set(names);
                        entries.set(rows.into_iter().filter(|row| filter.admits(row)).collect());
                        error.set(None);
                    }
                    Err(failure) => error.set(Some(failure)),
                }
            });
        });
    }

    let offset = -(js_sys::Date::new_0().get_timezone_offset() as i64);
    html! {
        <div class="call-log">
            <div class="filters" role="group" aria-label="Filter calls">
                { for CallFilter::ALL.iter().map(|&choice| {
                    let (filter_state, pages) = (filter.clone(), pages.clone());
                    html! {
                        <button
                            id={format!("filter-{}", choice.slug())}
                            class={classes!("filter", (choice == *filter).then_some("current"))}
                            aria-pressed={(choice == *filter).to_string()}
                            onclick={Callback::from(move |_| { filter_state.set(choice); pages.set(1); })}
                        >{ choice.label() }</button>
                    }
                }) }
                if let Some((_, name)) = &*lead_filter {
                    <button id="filter-lead-clear" class="filter current lead-filter" title="Show every lead's calls"
                        onclick={{ let (lead_filter, pages) = (lead_filter.clone(), pages.clone()); Callback::from(move |_| { lead_filter.set(None); pages.set(1); }) }}
                    >{ format!("{name} ×") }</button>
                }
            </div>
            <ExportForm exported={Exported::CallLog { filter: *filter, lead: lead_filter.as_ref().map(|(lead, _)| *lead) }} />
            if let Some(failure) = &*error {
                <p class="error" role="alert">{ wording::error_sentence(failure) }</p>
            }
            if entries.is_empty() {
                <p id="call-log-empty" class="muted">{ "No calls here yet." }</p>
            } else {
                <table id="call-log" class="log-table">
                    <thead>
                        <tr><th>{ "Time" }</th><th>{ "" }</th><th>{ "Number" }</th><th>{ "Lead" }</th><th>{ "Outcome" }</th><th>{ "Wrap-up" }</th><th>{ "Duration" }</th><th></th></tr>
                    </thead>
                    <tbody>
                        { for entries.iter().map(|entry| {
                            let redial = {
                                let (error, number, lead_id) = (error.clone(), entry.remote_number.clone(), entry.lead_id);
                                Callback::from(move |_| {
                                    let (error, number) = (error.clone(), number.clone());
                                    wasm_bindgen_futures::spawn_local(async move {
                                        error.set(backend::place_call(&number, lead_id).await.err());
                                    });
                                })
                            };
                            let inbound = entry.direction == Direction::Inbound;
                            html! {
                                <tr key={entry.id.0} id={format!("log-{}", entry.id.0)} class={classes!("log-row", format!("state-{}", entry.state.as_str()))}>
                                    <td class="log-time">{ wording::clock_time(entry.started_at_ms, offset) }</td>
                                    <td class="log-direction" title={if inbound { "Inbound" } else { "Outbound" }}>{ if inbound { "↙ In" } else { "↗ Out" } }</td>
                                    <td class="log-number">{ numbers.shown(&entry.remote_number) }</td>
                                    <td class="log-lead">
                                        if let Some((lead, name)) = entry.lead_id.and_then(|id| lead_names.get(&id).map(|name| (id, name.clone()))) {
                                            <button class="link lead-calls" title="Only this lead's calls"
                                                onclick={{ let (lead_filter, pages) = (lead_filter.clone(), pages.clone()); let name = name.clone(); Callback::from(move |_| { lead_filter.set(Some((lead, name.clone()))); pages.set(1); }) }}
                                            >{ name }</button>
                                        }
                                    </td>
                                    <td class="log-outcome">{ wording::outcome(entry, |number| numbers.shown(number)) }</td>
                                    <td>
                                        <div class="log-wrap-up">
                                            if let Some(disposition) = &entry.disposition {
                                                <span class="log-disposition">{ disposition.label() }</span>
                                            }
                                            if !entry.note.is_empty() {
                                                <span class="log-note" title={entry.note.clone()}>{ &entry.note }</span>
                                            }
                                        </div>
                                    </td>
                                    <td class="log-duration">
                                        { entry.duration_ms.map(wording::duration).unwrap_or_default() }
                                        if let Some(recorded_ms) = entry.recorded_ms {
                                            <PlayRecording call_log_id={entry.id} {recorded_ms} />
                                        }
                                    </td>
                                    <td><button class="secondary redial" onclick={redial}>{ "Redial" }</button></td>
                                </tr>
                            }
                        }) }
                    </tbody>
                </table>
            }
            if *more {
                <button id="call-log-more" class="secondary more" onclick={{ let pages = pages.clone(); Callback::from(move |_| pages.set(*pages + 1)) }}>{ "More" }</button>
            }
        </div>
    }
}
