//! Hand a call on: the Transfer button of a connected (or held) call opens a field for the
//! destination, a number or a SIP address; Telnyx rings it and the agent's leg ends when it
//! answers (a blind transfer). What Telnyx refuses shows on the call's card, the call goes on.

use softphone_core::call::CallId;
use softphone_core::ipc::IpcError;
use yew::prelude::*;

use crate::backend;
use crate::wording;

#[derive(Properties, PartialEq)]
pub struct TransferProps {
    pub call_id: CallId,
}

/// The Transfer button and, once pressed, its destination field.
#[function_component(Transfer)]
pub fn transfer(props: &TransferProps) -> Html {
    let open = use_state(|| false);
    let field = use_node_ref();
    let error = use_state(|| None::<IpcError>);
    let sending = use_state(|| false);
    let on_toggle = {
        let (open, error) = (open.clone(), error.clone());
        Callback::from(move |_| {
            open.set(!*open);
            error.set(None);
        })
    };
    let on_submit = {
        let (call_id, field, error, sending, open) =
            (props.call_id.clone(), field.clone(), error.clone(), sending.clone(), open.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let to = field.cast::<web_sys::HtmlInputElement>().map(|input| input.value()).unwrap_or_default();
            let (call_id, error, sending, open) = (call_id.clone(), error.clone(), sending.clone(), open.clone());
            sending.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                let outcome = backend::transfer_call(&call_id, &to).await;
                sending.set(false);
                if outcome.is_ok() {
                    open.set(false);
                }
                error.set(outcome.err());
            });
        })
    };
    html! {
        <>
            <button class={classes!("call-action", "transfer-toggle", open.then_some("pressed"))} onclick={on_toggle}
                title="Hand the caller on to a number or a SIP address">
                { "Transfer" }
            </button>
            if *open {
                <form class="transfer-form" aria-label="Transfer" onsubmit={on_submit}>
                    <input class="transfer-to" type="text" ref={field} autofocus=true
                        placeholder="+1 555 555 0177 or sip:billing@sip.telnyx.com" aria-label="Transfer to" />
                    <button type="submit" class="transfer-go primary" disabled={*sending}>{ "Transfer now" }</button>
                    if let Some(failure) = &*error {
                        <p class="error transfer-error" role="alert">{ wording::error_sentence(failure) }</p>
                    }
                </form>
            }
        </>
    }
}
