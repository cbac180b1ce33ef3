//! The parties of the agent's three-way call (a merged consult): each with Mute and Hold, which
//! Telnyx carries out in the conference (the agent's own microphone keeps its Mute button).

use softphone_core::call::{CallId, Participant, ParticipantChange, ParticipantView};
use softphone_core::ipc::IpcError;
use yew::prelude::*;

use crate::backend;
use crate::shown_numbers::use_shown_numbers;

#[derive(Properties, PartialEq)]
pub struct ThreeWayProps {
    pub call_id: CallId,
    pub participants: Vec<ParticipantView>,
    /// Where a refused change shows.
    pub on_error: Callback<Option<IpcError>>,
}

/// One row per party: who, muted or held, and the buttons.
#[function_component(ThreeWay)]
pub fn three_way(props: &ThreeWayProps) -> Html {
    let numbers = use_shown_numbers();
    let change = |who: Participant, change: ParticipantChange| {
        let (call_id, on_error) = (props.call_id.clone(), props.on_error.clone());
        Callback::from(move |_: MouseEvent| {
            let (call_id, on_error) = (call_id.clone(), on_error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                on_error.emit(backend::set_call_participant(&call_id, who, change).await.err());
            });
        })
    };
    html! {
        <ul class="three-way" aria-label="Three-way call">
            { for props.participants.iter().map(|party| {
                let who = match party.who { Participant::Caller => "caller", Participant::Colleague => "colleague" };
                let (mute_label, mute) = if party.muted { ("Unmute", ParticipantChange::Unmute) } else { ("Mute", ParticipantChange::Mute) };
                let (hold_label, hold) = if party.held { ("Take back", ParticipantChange::Unhold) } else { ("Hold", ParticipantChange::Hold) };
                let state = match (party.muted, party.held) {
                    (_, true) => "on hold",
                    (true, false) => "muted",
                    (false, false) => "talking",
                };
                html! {
                    <li class={classes!("participant", who)} data-who={who}>
                        <span class="participant-number">{ numbers.shown(&party.number) }</span>
                        <span class="participant-state">{ state }</span>
                        <button class="call-action participant-mute" onclick={change(party.who, mute)}>{ mute_label }</button>
                        <button class="call-action participant-hold" onclick={change(party.who, hold)}>{ hold_label }</button>
                    </li>
                }
            }) }
        </ul>
    }
}
