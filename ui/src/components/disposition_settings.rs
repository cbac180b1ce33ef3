//! The team's own dispositions, next to the standard ones offered after every call.

use softphone_core::disposition::Disposition;
use softphone_core::ipc::IpcError;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::backend;
use crate::wording;

/// Lists the dispositions offered in the wrap-up form; custom ones can be added and removed.
#[function_component(DispositionSettings)]
pub fn disposition_settings() -> Html {
    let dispositions = use_state(Vec::<Disposition>::new);
    let label = use_state(String::new);
    let error = use_state(|| None::<IpcError>);
    {
        let (dispositions, error) = (dispositions.clone(), error.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match backend::get_dispositions().await {
                    Ok(list) => dispositions.set(list),
                    Err(failure) => error.set(Some(failure)),
                }
            });
        });
    }
    // Both commands answer the whole list: the screen shows what the shell has.
    let apply = {
        let (dispositions, error) = (dispositions.clone(), error.clone());
        move |outcome: Result<Vec<Disposition>, IpcError>| match outcome {
            Ok(list) => {
                dispositions.set(list);
                error.set(None);
                true
            }
            Err(failure) => {
                error.set(Some(failure));
                false
            }
        }
    };
    let on_add = {
        let (label, apply) = (label.clone(), apply.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let (typed, label, apply) = ((*label).clone(), label.clone(), apply.clone());
            wasm_bindgen_futures::spawn_local(async move {
                if apply(backend::add_custom_disposition(&typed).await) {
                    label.set(String::new());
                }
            });
        })
    };
    let on_input = {
        let label = label.clone();
        Callback::from(move |event: InputEvent| label.set(event.target_unchecked_into::<HtmlInputElement>().value()))
    };

    html! {
        <form id="disposition-settings" class="disposition-settings" onsubmit={on_add}>
            <h2>{ "Dispositions" }</h2>
            <p class="muted hint">{ "Offered after every call. Add your team's own; removing one leaves the calls that carry it as they are." }</p>
            <ul class="disposition-list">
                { for dispositions.iter().map(|disposition| {
                    let custom = matches!(disposition, Disposition::Custom(_));
                    let code = disposition.code().to_owned();
                    let apply = apply.clone();
                    let on_remove = Callback::from(move |_| {
                        let (code, apply) = (code.clone(), apply.clone());
                        wasm_bindgen_futures::spawn_local(async move {
                            apply(backend::remove_custom_disposition(&code).await);
                        });
                    });
                    html! {
                        <li class={classes!("disposition", custom.then_some("custom"))}>
                            <span class="disposition-label">{ disposition.label() }</span>
                            if custom {
                                <button type="button" class="secondary remove-disposition" onclick={on_remove}
                                    aria-label={format!("Remove {}", disposition.label())}>{ "Remove" }</button>
                            } else {
                                <span class="muted standard">{ "standard" }</span>
                            }
                        </li>
                    }
                }) }
            </ul>
            <div class="add-disposition">
                <input id="new-disposition" type="text" placeholder="e.g. Demo booked"
                    value={(*label).clone()} oninput={on_input} />
                <button id="add-disposition" type="submit" class="secondary">{ "Add" }</button>
            </div>
            if let Some(failure) = &*error {
                <p id="disposition-error" class="error" role="alert">{ wording::error_sentence(failure) }</p>
            }
        </form>
    }
}
