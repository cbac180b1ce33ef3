//! Calls → Export: the calls the log shows (its filter, its lead) written to a file the agent
//! names: `.xlsx` for a workbook, anything else CSV.

use softphone_core::call::Direction;
use softphone_core::call_log::CallLogFilter;
use softphone_core::ipc::IpcError;
use softphone_core::lead::LeadId;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::backend;
use crate::wording::{self, CallFilter};

#[derive(Properties, PartialEq)]
pub struct CallLogExportProps {
    pub filter: CallFilter,
    pub lead: Option<LeadId>,
}

/// The log's filter as the store's.
fn store_filter(filter: CallFilter, lead: Option<LeadId>) -> CallLogFilter {
    CallLogFilter {
        direction: match filter {
            CallFilter::Inbound => Some(Direction::Inbound),
            CallFilter::Outbound => Some(Direction::Outbound),
            CallFilter::All | CallFilter::Missed => None,
        },
        missed_only: filter == CallFilter::Missed,
        lead,
    }
}

#[function_component(CallLogExport)]
pub fn call_log_export(props: &CallLogExportProps) -> Html {
    let open = use_state(|| false);
    let path = use_state(String::new);
    let outcome = use_state(|| None::<Result<String, IpcError>>);
    if !*open {
        return html! {
            <button id="call-log-export-open" class="secondary" onclick={{ let open = open.clone(); Callback::from(move |_| open.set(true)) }}>
                { "Export…" }
            </button>
        };
    }
    let on_path = {
        let path = path.clone();
        Callback::from(move |event: InputEvent| path.set(event.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let on_export = {
        let (path, outcome) = (path.clone(), outcome.clone());
        let filter = store_filter(props.filter, props.lead);
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let (target, outcome) = ((*path).trim().to_owned(), outcome.clone());
            let offset = -(js_sys::Date::new_0().get_timezone_offset() as i32);
            wasm_bindgen_futures::spawn_local(async move {
                let done = backend::export_call_log(filter, &target, offset).await;
                outcome.set(Some(done.map(|count| {
                    format!("{count} {} exported to {target}.", if count == 1 { "call" } else { "calls" })
                })));
            });
        })
    };
    html! {
        <form id="call-log-export" class="export-form" onsubmit={on_export}>
            <input id="call-log-export-path" type="text" placeholder="/home/me/calls.xlsx or .csv" value={(*path).clone()} oninput={on_path} />
            <button id="call-log-export-run" class="secondary" type="submit" disabled={path.trim().is_empty()}>{ "Export" }</button>
            { match &*outcome {
                Some(Ok(sentence)) => html! { <p id="call-log-exported" class="saved">{ sentence }</p> },
                Some(Err(failure)) => html! { <p class="error" role="alert">{ wording::error_sentence(failure) }</p> },
                None => html! {},
            } }
        </form>
    }
}
