//! Importing a CSV file by its path: leads, or a do-not-call list. One form for both: the path,
//! Import, progress while it runs, and what it added and rejected (the first rejected rows by line).

use softphone_core::ipc::IpcError;
use softphone_core::lead::{ImportProgress, RejectedRow};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::backend;
use crate::wording;

/// What a CSV file is imported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvKind {
    Leads,
    DoNotCall,
}

/// The element ids (the e2e suite finds the form by them) and the words of each kind.
struct Wording {
    open_id: &'static str,
    path_id: &'static str,
    run_id: &'static str,
    report_class: &'static str,
    open_label: &'static str,
    placeholder: &'static str,
}

impl CsvKind {
    fn wording(self) -> Wording {
        match self {
            CsvKind::Leads => Wording {
                open_id: "import-open",
                path_id: "import-path",
                run_id: "import-run",
                report_class: "import-report",
                open_label: "Import leads…",
                placeholder: "/path/to/leads.csv, .xlsx or .ods",
            },
            CsvKind::DoNotCall => Wording {
                open_id: "dnc-open",
                path_id: "dnc-path",
                run_id: "dnc-run",
                report_class: "dnc-report",
                open_label: "Import do-not-call list…",
                placeholder: "/path/to/do-not-call.csv",
            },
        }
    }

    /// Imports `path`; the sentence saying what it did, and the rows it left out.
    async fn import(self, path: &str) -> Result<(String, Vec<RejectedRow>), IpcError> {
        match self {
            CsvKind::Leads => backend::import_leads_csv(path).await.map(|done| {
                let sentence =
                    format!("{} added, {} merged, {} rejected.", done.inserted, done.merged, done.rejected.len());
                (sentence, done.rejected)
            }),
            CsvKind::DoNotCall => backend::import_do_not_call_csv(path).await.map(|done| {
                let sentence = format!(
                    "{} added to the do-not-call list, {} already on it, {} rejected.",
                    done.added,
                    done.already_listed,
                    done.rejected.len()
                );
                (sentence, done.rejected)
            }),
        }
    }
}

#[derive(Properties, PartialEq)]
pub struct CsvImportProps {
    pub kind: CsvKind,
    /// A running leads import's progress, from the shell's events.
    #[prop_or_default]
    pub progress: Option<ImportProgress>,
    #[prop_or_default]
    pub on_imported: Callback<()>,
}

#[function_component(CsvImport)]
pub fn csv_import(props: &CsvImportProps) -> Html {
    let open = use_state(|| false);
    let path = use_state(String::new);
    let running = use_state(|| false);
    let report = use_state(|| None::<(String, Vec<RejectedRow>)>);
    let error = use_state(|| None::<IpcError>);
    let words = props.kind.wording();

    if !*open {
        let open = open.clone();
        return html! {
            <button id={words.open_id} class="secondary import-open" onclick={Callback::from(move |_| open.set(true))}>{ words.open_label }</button>
        };
    }
    let on_path = {
        let path = path.clone();
        Callback::from(move |event: InputEvent| path.set(event.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let on_import = {
        let (path, running, report, error) = (path.clone(), running.clone(), report.clone(), error.clone());
        let (kind, on_imported) = (props.kind, props.on_imported.clone());
        Callback::from(move |_| {
            let (file, running, report, error, on_imported) =
                ((*path).clone(), running.clone(), report.clone(), error.clone(), on_imported.clone());
            running.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                match kind.import(file.trim()).await {
                    Ok(done) => {
                        report.set(Some(done));
                        error.set(None);
                        on_imported.emit(());
                    }
                    Err(failure) => error.set(Some(failure)),
                }
                running.set(false);
            });
        })
    };
    html! {
        <div class="import-form">
            <input id={words.path_id} type="text" placeholder={words.placeholder} value={(*path).clone()} oninput={on_path} />
            <button id={words.run_id} class="secondary" disabled={*running || path.trim().is_empty()} onclick={on_import}>{ "Import" }</button>
            if *running {
                <progress id="import-progress" class="import-progress" max="1000"
                    value={props.progress.and_then(|p| p.bytes_total.filter(|total| *total > 0).map(|total| (p.bytes_read.min(total) * 1000 / total).to_string()))}>
                </progress>
                <span class="muted">{ props.progress.map(|p| format!("{} rows read…", p.rows_done)).unwrap_or_else(|| "Importing…".into()) }</span>
            }
            if let Some((sentence, rejected)) = &*report {
                <p class={words.report_class}>
                    { sentence }
                    { for rejected.iter().take(5).map(|row| html! { <span class="rejected">{ format!(" Line {}: {}", row.line, row.reason) }</span> }) }
                </p>
            }
            if let Some(failure) = &*error {
                <p class="error" role="alert">{ wording::error_sentence(failure) }</p>
            }
        </div>
    }
}
