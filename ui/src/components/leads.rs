use gloo::timers::callback::Timeout;
use softphone_core::call::CallsSnapshot;
use softphone_core::call_log::CallLogEntry;
use softphone_core::ipc::IpcError;
use softphone_core::lead::{ImportProgress, Lead, LeadId, Page};
use web_sys::{Element, HtmlElement, HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::backend;
use crate::components::csv_import::{CsvImport, CsvKind};
use crate::components::export_form::{ExportForm, Exported};
use crate::shown_numbers::use_shown_numbers;
use crate::state::{LEADS_PAGE, LeadList, LeadListAction, RowWindow};
use crate::window_health::{self, Kept};
use crate::wording;

/// How long typing must pause before the search runs, in milliseconds.
const SEARCH_DEBOUNCE_MS: u32 = 150;

/// Fetches one page of a search and hands it to the list (which drops it if a newer search ran).
fn fetch(list: UseReducerDispatcher<LeadList>, query: String, generation: u32, page: Page) {
    wasm_bindgen_futures::spawn_local(async move {
        match backend::search_leads(&query, page).await {
            Ok(leads) => list.dispatch(LeadListAction::Loaded { generation, page, leads }),
            Err(error) => list.dispatch(LeadListAction::Failed { generation, error }),
        }
    });
}

#[derive(Properties, PartialEq)]
pub struct LeadsPageProps {
    /// Demo mode (sample leads).
    pub demo: bool,
    /// The latest progress of a running CSV import.
    pub import_progress: Option<ImportProgress>,
    /// The live calls: an opened lead's history is read again when they change.
    pub calls: CallsSnapshot,
    /// A lead to open (from a clicked notification), numbered so a repeat still opens it.
    #[prop_or_default]
    pub lead_request: Option<(u32, LeadId)>,
}

/// Search (debounced), the paged list, the opened lead, and CSV import.
#[function_component(LeadsPage)]
pub fn leads_page(props: &LeadsPageProps) -> Html {
    let numbers = use_shown_numbers();
    // The search as the agent left it: before a reload of the window, or a trip to another section.
    let list = use_reducer(|| LeadList {
        query: window_health::kept(Kept::LeadSearch).unwrap_or_default(),
        ..LeadList::default()
    });
    use_effect_with(list.query.clone(), |query| window_health::keep(Kept::LeadSearch, query));
    // The list is virtualized: only the rows in view (and a few around) are in the DOM.
    let results = use_node_ref();
    let above = use_node_ref();
    let below = use_node_ref();
    let scroll = use_state(|| (0.0f64, 520.0f64));
    let window = RowWindow::at(scroll.0, scroll.1, list.leads.len());
    {
        // Spacers stand in for the rows not rendered; their heights go through the CSSOM (the
        // CSP allows no style attributes).
        let (above, below) = (above.clone(), below.clone());
        use_effect_with((window.above_px.to_bits(), window.below_px.to_bits()), move |_| {
            for (node, px) in [(&above, window.above_px), (&below, window.below_px)] {
                if let Some(element) = node.cast::<HtmlElement>() {
                    let _ = element.style().set_property("height", &format!("{px}px"));
                }
            }
        });
    }
    {
        // A new search starts at the top of the list.
        let (results, scroll) = (results.clone(), scroll.clone());
        use_effect_with(list.generation, move |_| {
            if let Some(element) = results.cast::<Element>() {
                element.set_scroll_top(0);
                scroll.set((0.0, f64::from(element.client_height())));
            }
        });
    }

    {
        // Whatever search the list is on gets fetched, once nothing has changed it for
        // SEARCH_DEBOUNCE_MS: this runs after every render that changed the search, and its
        // clean-up cancels the timer of the one before. The fetch follows the state, so no handler
        // has to guess which search is the latest.
        let dispatcher = list.dispatcher();
        use_effect_with((list.query.clone(), list.generation), move |(query, generation)| {
            let (query, generation) = (query.clone(), *generation);
            let timer = Timeout::new(SEARCH_DEBOUNCE_MS, move || {
                fetch(dispatcher, query, generation, Page::first(LEADS_PAGE));
            });
            move || drop(timer)
        });
    }

    {
        // Again when demo mode is confirmed: the shell seeds the sample leads before it says so.
        let dispatcher = list.dispatcher();
        use_effect_with(props.demo, move |_| dispatcher.dispatch(LeadListAction::Refresh));
    }

    {
        let dispatcher = list.dispatcher();
        use_effect_with(props.lead_request, move |request| {
            if let Some((_, lead_id)) = request {
                dispatcher.dispatch(LeadListAction::Select(Some(*lead_id)));
            }
        });
    }

    let oninput = {
        let dispatcher = list.dispatcher();
        Callback::from(move |event: InputEvent| {
            let input: HtmlInputElement = event.target_unchecked_into();
            dispatcher.dispatch(LeadListAction::Search(input.value()));
        })
    };
    let on_more = {
        let list = list.clone();
        Callback::from(move |_| {
            if let Some(page) = list.next {
                list.dispatch(LeadListAction::LoadingMore);
                fetch(list.dispatcher(), list.query.clone(), list.generation, page);
            }
        })
    };
    let on_scroll = {
        let (list, scroll, results) = (list.clone(), scroll.clone(), results.clone());
        Callback::from(move |_: Event| {
            let Some(element) = results.cast::<Element>() else { return };
            let (top, height) = (f64::from(element.scroll_top()), f64::from(element.client_height()));
            scroll.set((top, height));
            // Scrolling near the end loads the next page, as "More" does.
            if RowWindow::at(top, height, list.leads.len()).near_end
                && !list.loading
                && let Some(page) = list.next
            {
                list.dispatch(LeadListAction::LoadingMore);
                fetch(list.dispatcher(), list.query.clone(), list.generation, page);
            }
        })
    };
    let on_updated = {
        let dispatcher = list.dispatcher();
        Callback::from(move |lead| dispatcher.dispatch(LeadListAction::LeadUpdated(Box::new(lead))))
    };
    let on_close = {
        let dispatcher = list.dispatcher();
        Callback::from(move |()| dispatcher.dispatch(LeadListAction::Select(None)))
    };

    let on_imported = {
        let dispatcher = list.dispatcher();
        Callback::from(move |()| dispatcher.dispatch(LeadListAction::Refresh))
    };

    html! {
        <div class="leads">
            <div class="leads-list">
                <div class="leads-imports">
                    <CsvImport kind={CsvKind::Leads} progress={props.import_progress} {on_imported} />
                    <CsvImport kind={CsvKind::DoNotCall} />
                    <ExportForm exported={Exported::Leads { query: list.query.clone() }} />
                </div>
                <input
                    id="lead-search"
                    class="search"
                    type="search"
                    placeholder="Search name, company, number, city…"
                    autocomplete="off"
                    value={list.query.clone()}
                    {oninput}
                />
                if let Some(error) = &list.error {
                    <p class="error" role="alert">{ wording::error_sentence(error) }</p>
                }
                <ul id="lead-results" class="lead-results" ref={results} onscroll={on_scroll}>
                    if !list.leads.is_empty() {
                        <li class="lead-spacer" aria-hidden="true" ref={above}></li>
                    }
                    { for list.leads[window.start..window.end].iter().map(|lead| {
                        let dispatcher = list.dispatcher();
                        let id = lead.id;
                        let selected = list.selected == Some(id);
                        html! {
                            <li key={id.0}>
                                <button
                                    id={format!("lead-{}", id.0)}
                                    class={classes!("lead-row", selected.then_some("selected"))}
                                    onclick={Callback::from(move |_| dispatcher.dispatch(LeadListAction::Select(Some(id))))}
                                >
                                    <span class="lead-name">{ &lead.name }</span>
                                    <span class="lead-company">{ &lead.company }</span>
                                    <span class="lead-phone">{ numbers.phone(&lead.phone) }</span>
                                </button>
                            </li>
                        }
                    }) }
                    if !list.leads.is_empty() {
                        <li class="lead-spacer" aria-hidden="true" ref={below}></li>
                    }
                </ul>
                if list.leads.is_empty() && !list.loading && list.error.is_none() {
                    <p id="lead-empty" class="muted">{ if list.query.trim().is_empty() { "No leads yet." } else { "No lead matches that search." } }</p>
                }
                if list.next.is_some() {
                    <button id="lead-more" class="secondary more" disabled={list.loading} onclick={on_more}>{ "More" }</button>
                }
            </div>
            if let Some(lead_id) = list.selected {
                <LeadDetail key={lead_id.0} {lead_id} calls={props.calls.clone()} {on_updated} {on_close} />
            }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct LeadDetailProps {
    lead_id: LeadId,
    calls: CallsSnapshot,
    on_updated: Callback<Lead>,
    on_close: Callback<()>,
}

/// Calls of a lead shown in its history.
const LEAD_CALLS_PAGE: u32 = 20;

#[function_component(LeadDetail)]
fn lead_detail(props: &LeadDetailProps) -> Html {
    let numbers = use_shown_numbers();
    let lead = use_state(|| None::<Lead>);
    let calls = use_state(Vec::<CallLogEntry>::new);
    let notes = use_state(String::new);
    let error = use_state(|| None::<IpcError>);
    let saved = use_state(|| false);
    // The card shows (and takes typing) only once the first read has put the stored notes in the
    // box; a refresh answering before it would show an empty box for the agent to type over.
    let notes_loaded = use_mut_ref(|| false);

    {
        let (lead, notes, error, notes_loaded) = (lead.clone(), notes.clone(), error.clone(), notes_loaded.clone());
        use_effect_with(props.lead_id, move |&lead_id| {
            wasm_bindgen_futures::spawn_local(async move {
                match backend::get_lead(lead_id).await {
                    Ok(found) => {
                        notes.set(found.notes.clone());
                        *notes_loaded.borrow_mut() = true;
                        lead.set(Some(found));
                    }
                    Err(failure) => error.set(Some(failure)),
                }
            });
        });
    }
    {
        // The calls changed (one ended, a wrap-up was saved): the history and the lead's latest
        // outcome are read again; the notes being typed are left alone.
        let (calls, lead, error, notes_loaded) = (calls.clone(), lead.clone(), error.clone(), notes_loaded.clone());
        use_effect_with((props.lead_id, props.calls.clone()), move |(lead_id, _)| {
            let lead_id = *lead_id;
            wasm_bindgen_futures::spawn_local(async move {
                match backend::get_lead_calls(lead_id, Page::first(LEAD_CALLS_PAGE)).await {
                    Ok(found) => calls.set(found),
                    Err(failure) => error.set(Some(failure)),
                }
                if let Ok(found) = backend::get_lead(lead_id).await
                    && *notes_loaded.borrow()
                {
                    lead.set(Some(found));
                }
            });
        });
    }

    let Some(shown) = (*lead).clone() else {
        return html! {
            <div id="lead-detail" class="lead-detail">
                if let Some(failure) = &*error {
                    <p class="error" role="alert">{ wording::error_sentence(failure) }</p>
                }
            </div>
        };
    };

    let on_notes = {
        let (notes, saved) = (notes.clone(), saved.clone());
        Callback::from(move |event: InputEvent| {
            let area: HtmlTextAreaElement = event.target_unchecked_into();
            notes.set(area.value());
            saved.set(false);
        })
    };
    let on_save = {
        let (notes, error, saved, lead) = (notes.clone(), error.clone(), saved.clone(), lead.clone());
        let on_updated = props.on_updated.clone();
        let lead_id = props.lead_id;
        Callback::from(move |_| {
            let (text, error, saved, lead, on_updated) =
                ((*notes).clone(), error.clone(), saved.clone(), lead.clone(), on_updated.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match backend::update_lead_notes(lead_id, &text).await {
                    Ok(updated) => {
                        error.set(None);
                        saved.set(true);
                        lead.set(Some(updated.clone()));
                        on_updated.emit(updated);
                    }
                    Err(failure) => error.set(Some(failure)),
                }
            });
        })
    };
    let on_call = {
        let error = error.clone();
        let number = shown.phone.as_e164().to_owned();
        let lead_id = props.lead_id;
        Callback::from(move |_| {
            let (error, number) = (error.clone(), number.clone());
            wasm_bindgen_futures::spawn_local(async move {
                error.set(backend::place_call(&number, Some(lead_id)).await.err());
            });
        })
    };
    let on_do_not_call = {
        let (error, lead) = (error.clone(), lead.clone());
        let on_updated = props.on_updated.clone();
        let lead_id = props.lead_id;
        Callback::from(move |event: Event| {
            let on = event.target_unchecked_into::<HtmlInputElement>().checked();
            let (error, lead, on_updated) = (error.clone(), lead.clone(), on_updated.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match backend::set_lead_do_not_call(lead_id, on).await {
                    Ok(updated) => {
                        error.set(None);
                        lead.set(Some(updated.clone()));
                        on_updated.emit(updated);
                    }
                    Err(failure) => error.set(Some(failure)),
                }
            });
        })
    };
    let offset = -(js_sys::Date::new_0().get_timezone_offset() as i64);

    html! {
        <div id="lead-detail" class="lead-detail">
            <div class="detail-head">
                <h2 class="detail-name">{ &shown.name }</h2>
                <button class="secondary close" aria-label="Close" onclick={props.on_close.reform(|_| ())}>{ "×" }</button>
            </div>
            <dl class="fields">
                <dt>{ "Company" }</dt><dd>{ &shown.company }</dd>
                <dt>{ "Phone" }</dt><dd class="detail-phone">{ numbers.phone(&shown.phone) }</dd>
                <dt>{ "Email" }</dt><dd>{ &shown.email }</dd>
                <dt>{ "City" }</dt><dd>{ &shown.city }</dd>
                <dt>{ "Tags" }</dt><dd>{ shown.tags.join(", ") }</dd>
                <dt>{ "Last outcome" }</dt><dd class="detail-last-outcome">{ shown.last_disposition.as_ref().map(|d| d.label().to_owned()).unwrap_or_else(|| "—".into()) }</dd>
                if let Some(due) = shown.callback_due_at_ms {
                    <dt>{ "Call back" }</dt><dd class="detail-callback">{ wording::clock_time(due, offset) }</dd>
                }
            </dl>
            <label class="do-not-call">
                <input id="lead-do-not-call" type="checkbox" checked={shown.do_not_call} onchange={on_do_not_call} />
                { "Do not call" }
            </label>
            // Marked: the button says so and stays off; the shell refuses such a dial anyway.
            <button id="lead-call" class="primary call-button" disabled={shown.do_not_call} onclick={on_call}>
                { if shown.do_not_call { "Do not call".to_owned() } else { format!("Call {}", numbers.phone(&shown.phone)) } }
            </button>
            <label class="notes-label" for="lead-notes">{ "Notes" }</label>
            <textarea id="lead-notes" rows="4" value={(*notes).clone()} oninput={on_notes}></textarea>
            <div class="notes-actions">
                <button id="lead-save-notes" class="secondary" onclick={on_save}>{ "Save notes" }</button>
                if *saved {
                    <span class="saved">{ "Saved" }</span>
                }
            </div>
            if let Some(failure) = &*error {
                <p class="error" role="alert">{ wording::error_sentence(failure) }</p>
            }
            <h3>{ "Call history" }</h3>
            if calls.is_empty() {
                <p class="muted">{ "No calls with this lead yet." }</p>
            } else {
                <ul class="lead-calls">
                    { for calls.iter().map(|entry| html! {
                        <li>
                            <span>{ wording::clock_time(entry.started_at_ms, offset) }</span>
                            <span>{ wording::outcome(entry, |number| numbers.shown(number)) }</span>
                            <span>{ entry.duration_ms.map(wording::duration).unwrap_or_default() }</span>
                            if let Some(disposition) = &entry.disposition {
                                <span class="call-disposition">{ disposition.label() }</span>
                            }
                            if !entry.note.is_empty() {
                                <span class="call-note">{ &entry.note }</span>
                            }
                        </li>
                    }) }
                </ul>
            }
        </div>
    }
}
