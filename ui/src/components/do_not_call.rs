use softphone_core::ipc::IpcError;
use softphone_core::lead::DoNotCallImportReport;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::backend;
use crate::wording;

/// Imports a do-not-call list (a CSV of numbers, with or without a header) by path, and says what
/// it added; the shell refuses every dial to those numbers from then on.
#[function_component(DoNotCallImport)]
pub fn do_not_call_import() -> Html {
    let open = use_state(|| false);
    let path = use_state(String::new);
    let running = use_state(|| false);
    let report = use_state(|| None::<DoNotCallImportReport>);
    let error = use_state(|| None::<IpcError>);

    if !*open {
        let open = open.clone();
        return html! {
            <button id="dnc-open" class="secondary import-open" onclick={Callback::from(move |_| open.set(true))}>{ "Import do-not-call list…" }</button>
        };
    }
    let on_path = {
        let path = path.clone();
        Callback::from(move |event: InputEvent| {
            let input: HtmlInputElement = event.target_unchecked_into();
            path.set(input.value());
        })
    };
    let on_import = {
        let (path, running, report, error) = (path.clone(), running.clone(), report.clone(), error.clone());
        Callback::from(move |_| {
            let (file, running, report, error) = ((*path).clone(), running.clone(), report.clone(), error.clone());
            running.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                match backend::import_do_not_call_csv(file.trim()).await {
                    Ok(done) => {
                        report.set(Some(done));
                        error.set(None);
                    }
                    Err(failure) => error.set(Some(failure)),
                }
                running.set(false);
            });
        })
    };
    html! {
        <div class="import-form dnc-form">
            <input id="dnc-path" type="text" placeholder="/path/to/do-not-call.csv" value={(*path).clone()} oninput={on_path} />
            <button id="dnc-run" class="secondary" disabled={*running || path.trim().is_empty()} onclick={on_import}>{ "Import" }</button>
            if let Some(done) = &*report {
                <p class="dnc-report">
                    { format!("{} added to the do-not-call list, {} already on it, {} rejected.", done.added, done.already_listed, done.rejected.len()) }
                    { for done.rejected.iter().take(5).map(|row| html! { <span class="rejected">{ format!(" Line {}: {}", row.line, row.reason) }</span> }) }
                </p>
            }
            if let Some(failure) = &*error {
                <p class="error" role="alert">{ wording::error_sentence(failure) }</p>
            }
        </div>
    }
}
