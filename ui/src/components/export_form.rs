//! Export…: what the agent is looking at, written to a file they name (`.xlsx` for a workbook,
//! anything else CSV): the call log (its filter, its lead) or the leads (the current search).

use softphone_core::call::Direction;
use softphone_core::call_log::CallLogFilter;
use softphone_core::ipc::IpcError;
use softphone_core::lead::LeadId;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::backend;
use crate::wording::{self, CallFilter};

/// What is exported.
#[derive(Debug, Clone, PartialEq)]
pub enum Exported {
    /// The calls the log shows.
    CallLog { filter: CallFilter, lead: Option<LeadId> },
    /// The leads the search finds (blank: every lead).
    Leads { query: String },
}

impl Exported {
    /// The prefix of the form's element ids.
    fn id(&self) -> &'static str {
        match self {
            Exported::CallLog { .. } => "call-log-export",
            Exported::Leads { .. } => "leads-export",
        }
    }

    async fn write(&self, path: &str) -> Result<String, IpcError> {
        let (count, one, many) = match self {
            Exported::CallLog { filter, lead } => {
                let offset = -(js_sys::Date::new_0().get_timezone_offset() as i32);
                (backend::export_call_log(store_filter(*filter, *lead), path, offset).await?, "call", "calls")
            }
            Exported::Leads { query } => (backend::export_leads(query, path).await?, "lead", "leads"),
        };
        Ok(format!("{count} {} exported to {path}.", if count == 1 { one } else { many }))
    }
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

#[derive(Properties, PartialEq)]
pub struct ExportFormProps {
    pub exported: Exported,
}

#[function_component(ExportForm)]
pub fn export_form(props: &ExportFormProps) -> Html {
    let open = use_state(|| false);
    let path = use_state(String::new);
    let outcome = use_state(|| None::<Result<String, IpcError>>);
    let id = props.exported.id();
    if !*open {
        return html! {
            <button id={format!("{id}-open")} class="secondary export-open" onclick={{ let open = open.clone(); Callback::from(move |_| open.set(true)) }}>
                { "Export…" }
            </button>
        };
    }
    let on_path = {
        let path = path.clone();
        Callback::from(move |event: InputEvent| path.set(event.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let on_export = {
        let (path, outcome, exported) = (path.clone(), outcome.clone(), props.exported.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let (target, outcome, exported) = ((*path).trim().to_owned(), outcome.clone(), exported.clone());
            wasm_bindgen_futures::spawn_local(async move {
                outcome.set(Some(exported.write(&target).await));
            });
        })
    };
    html! {
        <form id={id} class="export-form" onsubmit={on_export}>
            <input id={format!("{id}-path")} type="text" placeholder="/home/me/export.xlsx or .csv" value={(*path).clone()} oninput={on_path} />
            <button id={format!("{id}-run")} class="secondary" type="submit" disabled={path.trim().is_empty()}>{ "Export" }</button>
            { match &*outcome {
                Some(Ok(sentence)) => html! { <p id={format!("{id}-done")} class="saved">{ sentence }</p> },
                Some(Err(failure)) => html! { <p class="error" role="alert">{ wording::error_sentence(failure) }</p> },
                None => html! {},
            } }
        </form>
    }
}
