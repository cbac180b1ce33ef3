use softphone_core::call::{CallView, CallsSnapshot, Direction};
use softphone_core::ipc::DesktopStatus;
use yew::prelude::*;

use crate::backend;
use crate::paint_marks::{self, use_paint_mark};
use crate::shown_numbers::use_shown_numbers;

#[derive(Properties, PartialEq)]
pub struct RingingBannerProps {
    pub calls: CallsSnapshot,
    pub desktop: Option<DesktopStatus>,
}

/// A ringing inbound call across the top of the window, with Answer and Decline. When desktop
/// notifications do not work it says so: then this banner is the only alert.
#[function_component(RingingBanner)]
pub fn ringing_banner(props: &RingingBannerProps) -> Html {
    let numbers = use_shown_numbers();
    let ringing = props
        .calls
        .calls
        .iter()
        .rev()
        .find(|call| call.view == CallView::Ringing && call.direction == Direction::Inbound);
    use_paint_mark(paint_marks::RINGING_SHOWN, ringing.is_some());
    let Some(call) = ringing else {
        return html! {};
    };
    let problem = props.desktop.as_ref().and_then(|status| status.notifications_problem.clone());
    let caller =
        call.remote.name.clone().filter(|name| !name.is_empty()).unwrap_or_else(|| numbers.shown(&call.remote.number));
    let answer = {
        let id = call.call_id.clone();
        Callback::from(move |_| {
            let id = id.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let _ = backend::answer_call(&id).await;
            });
        })
    };
    let decline = {
        let id = call.call_id.clone();
        Callback::from(move |_| {
            let id = id.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let _ = backend::decline_call(&id).await;
            });
        })
    };
    html! {
        <div id="ringing-banner" class="ringing-banner" role="alert">
            <span class="ringing-icon" aria-hidden="true">{ "☎" }</span>
            <span class="ringing-text">{ format!("Incoming call: {caller}") }</span>
            <button class="primary banner-answer" onclick={answer}>{ "Answer" }</button>
            <button class="danger banner-decline" onclick={decline}>{ "Decline" }</button>
            if let Some(problem) = problem {
                <span id="ringing-banner-why" class="ringing-why">{ problem }</span>
            }
        </div>
    }
}
