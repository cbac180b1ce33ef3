use gloo::timers::callback::Interval;
use softphone_core::call::{CallSnapshot, CallView, CallsSnapshot, Direction, UnixMillis};
use softphone_core::disposition::Disposition;
use softphone_core::ipc::{AudioMeter, IpcError};
use yew::prelude::*;

use super::recording::{RecordingButtons, recording_badge};
use super::three_way::ThreeWay;
use super::transfer::Transfer;
use crate::backend;
use crate::shown_numbers::use_shown_numbers;
use crate::wording;

#[derive(Properties, PartialEq)]
pub struct CallsPanelProps {
    pub calls: CallsSnapshot,
}

/// Every call the shell reports, newest first; shown whenever there is one.
#[function_component(CallsPanel)]
pub fn calls_panel(props: &CallsPanelProps) -> Html {
    if props.calls.calls.is_empty() {
        return html! {};
    }
    // Answering a second call holds the one in progress (the shell's machine does it): the
    // button says so.
    let talking = |call: &CallSnapshot| call.view.is_held_to_answer_another();
    // A held caller and a connected colleague, both named by Telnyx: a consult transfer.
    let consult_for = |call: &CallSnapshot| -> Option<(softphone_core::call::CallId, String)> {
        if call.view != CallView::Held || !call.control.available {
            return None;
        }
        props
            .calls
            .calls
            .iter()
            .find(|other| other.call_id != call.call_id && other.view == CallView::Active && other.control.available)
            .map(|other| (other.call_id.clone(), other.remote.number.clone()))
    };
    html! {
        <aside id="calls-panel" class="calls-panel" aria-label="Calls">
            { for props.calls.calls.iter().rev().map(|call| {
                let another_in_progress = props.calls.calls.iter().any(|other| other.call_id != call.call_id && talking(other));
                let consult = consult_for(call);
                html! { <CallCard key={call.call_id.0.clone()} call={call.clone()} {another_in_progress} {consult} /> }
            }) }
        </aside>
    }
}

#[derive(Properties, PartialEq)]
struct CallCardProps {
    call: CallSnapshot,
    /// Another call is connected or being placed: answering this one puts that one on hold.
    another_in_progress: bool,
    /// This call is held and another is connected: the colleague of a consult transfer (its
    /// call and number).
    consult: Option<(softphone_core::call::CallId, String)>,
}

/// Runs a call command, showing its failure on the card.
fn act<F>(error: &UseStateHandle<Option<IpcError>>, command: impl Fn() -> F + 'static) -> Callback<MouseEvent>
where
    F: std::future::Future<Output = Result<(), IpcError>> + 'static,
{
    let error = error.clone();
    Callback::from(move |_| {
        let error = error.clone();
        let future = command();
        wasm_bindgen_futures::spawn_local(async move {
            error.set(future.await.err());
        });
    })
}

#[function_component(CallCard)]
fn call_card(props: &CallCardProps) -> Html {
    let numbers = use_shown_numbers();
    let call = &props.call;
    let lead = use_state(|| None::<(String, String)>);
    let error = use_state(|| None::<IpcError>);
    let keypad = use_state(|| false);
    let now = use_state(|| UnixMillis(js_sys::Date::now() as u64));

    {
        let lead = lead.clone();
        use_effect_with(call.lead_id, move |lead_id| {
            if let Some(lead_id) = *lead_id {
                wasm_bindgen_futures::spawn_local(async move {
                    if let Ok(found) = backend::get_lead(lead_id).await {
                        lead.set(Some((found.name, found.company)));
                    }
                });
            }
        });
    }
    {
        let now = now.clone();
        use_effect_with((), move |_| {
            let interval = Interval::new(1000, move || now.set(UnixMillis(js_sys::Date::now() as u64)));
            move || drop(interval)
        });
    }

    let id = call.call_id.clone();
    let ended = call.view == CallView::Ended;
    let ringing_in = call.view == CallView::Ringing && call.direction == Direction::Inbound;
    let connected = matches!(call.view, CallView::Active | CallView::Holding | CallView::Resuming);
    let held = call.view == CallView::Held;
    let remote_name = call.remote.name.clone().filter(|name| !name.is_empty());
    let state_class = format!("view-{:?}", call.view).to_lowercase();

    let button = |class: &'static str, label: &'static str, onclick: Callback<MouseEvent>| {
        html! { <button class={classes!("call-action", class)} {onclick}>{ label }</button> }
    };

    html! {
        <div id={format!("call-{}", call.call_id.0)} class={classes!("call-card", state_class)}>
            <div class="call-head">
                <span class="call-direction">{ if call.direction == Direction::Inbound { "Incoming" } else { "Outgoing" } }</span>
                <span class="call-number">{ numbers.shown(&call.remote.number) }</span>
                if let Some(name) = remote_name {
                    <span class="call-remote-name">{ name }</span>
                }
                if let Some((name, company)) = &*lead {
                    <span class="call-lead">{ name.clone() }</span>
                    if !company.is_empty() {
                        <span class="call-lead-company">{ company.clone() }</span>
                    }
                }
                if let Some(presented) = &call.caller_number {
                    <span class="call-caller-number" title="The caller ID this call presents">
                        { format!("from {}", numbers.shown(presented)) }
                    </span>
                }
            </div>
            <div class="call-status">
                <span class="call-state">{ wording::call_state(call, |number| numbers.shown(number)) }</span>
                if call.muted {
                    <span class="call-muted">{ "Muted" }</span>
                }
                { recording_badge(call) }
                if call.control.conference {
                    <span class="call-conference" title="You, the caller and the colleague talk together">{ "Three-way call" }</span>
                }
                if call.control.hold_music {
                    <span class="call-hold-music" title="Telnyx plays the hold music to the caller">{ "♪ Hold music" }</span>
                }
                <span class="call-timer">{ wording::talk_time(call, *now).unwrap_or_default() }</span>
            </div>
            <div class="call-actions">
                if ringing_in {
                    { button("answer primary", if props.another_in_progress { "Hold & answer" } else { "Answer" }, act(&error, { let id = id.clone(); move || { let id = id.clone(); async move { backend::answer_call(&id).await } } })) }
                    { button("decline danger", "Decline", act(&error, { let id = id.clone(); move || { let id = id.clone(); async move { backend::decline_call(&id).await } } })) }
                }
                if connected {
                    { button("mute", if call.muted { "Unmute" } else { "Mute" }, act(&error, { let id = id.clone(); let muted = !call.muted; move || { let id = id.clone(); async move { backend::set_call_muted(&id, muted).await } } })) }
                    { button("hold", "Hold", act(&error, { let id = id.clone(); move || { let id = id.clone(); async move { backend::hold_call(&id).await } } })) }
                    <button class="call-action keypad-toggle" onclick={{ let keypad = keypad.clone(); Callback::from(move |_| keypad.set(!*keypad)) }}>{ "Keypad" }</button>
                }
                if call.view == CallView::Active {
                    <button class="call-action voicemail-drop" title="Alt+V: play the voicemail greeting, hang up when it ends"
                        onclick={act(&error, { let id = id.clone(); move || { let id = id.clone(); async move { backend::drop_voicemail(&id).await } } })}>
                        { "Drop voicemail" }
                    </button>
                }
                if (call.view == CallView::Active || held) && call.control.available {
                    <Transfer call_id={id.clone()} />
                    <RecordingButtons call={call.clone()} on_error={{ let error = error.clone(); Callback::from(move |failure| error.set(failure)) }} />
                }
                if let Some((consult, number)) = props.consult.clone() {
                    <button class="call-action consult-complete primary" title="The caller and the colleague talk; you drop out of both calls"
                        onclick={act(&error, { let (id, consult) = (id.clone(), consult.clone()); move || { let (id, consult) = (id.clone(), consult.clone()); async move { backend::complete_consult(&id, &consult, false).await } } })}>
                        { format!("Put through to {}", numbers.shown(&number)) }
                    </button>
                    <button class="call-action consult-merge" title="You, the caller and the colleague in one call"
                        onclick={act(&error, { let (id, consult) = (id.clone(), consult.clone()); move || { let (id, consult) = (id.clone(), consult.clone()); async move { backend::complete_consult(&id, &consult, true).await } } })}>
                        { "Merge calls" }
                    </button>
                }
                if held {
                    { button("resume", "Resume", act(&error, { let id = id.clone(); move || { let id = id.clone(); async move { backend::resume_call(&id).await } } })) }
                }
                if ended {
                    { button("dismiss", "Dismiss", act(&error, { let id = id.clone(); move || { let id = id.clone(); async move { backend::dismiss_call(&id).await } } })) }
                } else if !ringing_in {
                    { button("hangup danger", "Hang up", act(&error, { let id = id.clone(); move || { let id = id.clone(); async move { backend::hang_up_call(&id).await } } })) }
                }
            </div>
            if !call.control.participants.is_empty() && !ended {
                <ThreeWay call_id={id.clone()} participants={call.control.participants.clone()}
                    on_error={{ let error = error.clone(); Callback::from(move |failure| error.set(failure)) }} />
            }
            if let Some(notice) = &call.control.notice {
                <p class="call-notice" role="status">{ notice.clone() }</p>
            }
            if connected {
                <CallMeter />
            }
            if *keypad && connected {
                <div class="keypad dtmf">
                    { for ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"].iter().map(|&digit| {
                        let onclick = act(&error, { let id = id.clone(); move || { let id = id.clone(); async move { backend::send_call_digits(&id, digit).await } } });
                        html! { <button class="key" data-key={digit} {onclick}>{ digit }</button> }
                    }) }
                </div>
            }
            // A wrap-up for calls the agent made or took; a missed or declined call needs none.
            if ended && (call.direction == Direction::Outbound || call.answered_at.is_some()) {
                <WrapUpForm call={call.clone()} />
            }
            if let Some(failure) = &*error {
                <p class="error call-error" role="alert">{ wording::error_sentence(failure) }</p>
            }
        </div>
    }
}

/// How often the in-call meter reads the levels, in milliseconds.
const METER_MS: u32 = 250;

/// The in-call meters: what the agent hears and what the microphone picks up.
#[function_component(CallMeter)]
fn call_meter() -> Html {
    let meter = use_state(|| None::<AudioMeter>);
    {
        let meter = meter.clone();
        use_effect_with((), move |_| {
            let interval = Interval::new(METER_MS, move || {
                let meter = meter.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    if let Ok(levels) = backend::get_audio_meter().await {
                        meter.set(Some(levels));
                    }
                });
            });
            move || drop(interval)
        });
    }
    // Before the first reading the meters show silence, so the card keeps its height (a keypad
    // that moves under the agent's pointer would send the wrong digit).
    let levels = (*meter).unwrap_or(AudioMeter { input_dbfs: -120.0, output_dbfs: -120.0, heard_hz: None });
    // <meter> needs no inline style (the CSP allows none): -60 dBFS is empty, 0 dBFS full.
    let shown = |dbfs: f64| format!("{:.1}", dbfs.clamp(-60.0, 0.0));
    html! {
        <div class="call-meter">
            <span class="meter-label">{ "Hearing" }</span>
            <meter id="meter-output" class="meter" min="-60" max="0" low="-50" high="-6" optimum="-20"
                value={shown(levels.output_dbfs)} data-dbfs={format!("{:.1}", levels.output_dbfs)}
                data-hz={levels.heard_hz.map(|hz| format!("{hz:.0}")).unwrap_or_default()}></meter>
            <span class="meter-label">{ "Mic" }</span>
            <meter id="meter-input" class="meter" min="-60" max="0" low="-50" high="-6" optimum="-20"
                value={shown(levels.input_dbfs)} data-dbfs={format!("{:.1}", levels.input_dbfs)}></meter>
            <span class="meter-hz">{ levels.heard_hz.map(|hz| format!("{hz:.0} Hz")).unwrap_or_default() }</span>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct WrapUpFormProps {
    call: CallSnapshot,
}

/// After a call: the disposition (proposed from the outcome) and a note, saved to the call log
/// and the lead; saving closes the card.
#[function_component(WrapUpForm)]
fn wrap_up_form(props: &WrapUpFormProps) -> Html {
    let call = &props.call;
    // None until the shell answers: the select appears with its options, never empty first.
    let dispositions = use_state(|| None::<Vec<Disposition>>);
    let chosen = use_state(|| wording::suggested_disposition(call.end.as_ref()).map(|d| d.code().to_owned()));
    // The fields are read when saving, not from the render the handler came from: what the agent
    // sees is what is saved, even when 1-9 then Alt+W come faster than the next render.
    let note_field = use_node_ref();
    let disposition_field = use_node_ref();
    let callback_pick_field = use_node_ref();
    let saving = use_state(|| false);
    let error = use_state(|| None::<IpcError>);
    // For a Callback: when (a quick pick, or a time the agent types).
    let callback_pick = use_state(|| "in-1h".to_owned());
    let callback_field = use_node_ref();
    {
        let dispositions = dispositions.clone();
        let error = error.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match backend::get_dispositions().await {
                    Ok(list) => dispositions.set(Some(list)),
                    Err(failure) => {
                        dispositions.set(Some(Vec::new()));
                        error.set(Some(failure));
                    }
                }
            });
        });
    }
    let on_choose = {
        let chosen = chosen.clone();
        Callback::from(move |event: Event| {
            let value = event.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
            chosen.set((!value.is_empty()).then_some(value));
        })
    };
    let on_pick = {
        let callback_pick = callback_pick.clone();
        Callback::from(move |event: Event| {
            callback_pick.set(event.target_unchecked_into::<web_sys::HtmlSelectElement>().value());
        })
    };
    let on_save = {
        let call_id = call.call_id.clone();
        let (chosen, note_field, saving, error) = (chosen.clone(), note_field.clone(), saving.clone(), error.clone());
        let (callback_pick, callback_field) = (callback_pick.clone(), callback_field.clone());
        let (disposition_field, callback_pick_field) = (disposition_field.clone(), callback_pick_field.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let selected = |field: &NodeRef| field.cast::<web_sys::HtmlSelectElement>().map(|select| select.value());
            let chosen = match selected(&disposition_field) {
                Some(value) => (!value.is_empty()).then_some(value),
                None => (*chosen).clone(),
            };
            let callback_pick = selected(&callback_pick_field).unwrap_or_else(|| (*callback_pick).clone());
            let note = note_field.cast::<web_sys::HtmlTextAreaElement>().map(|field| field.value()).unwrap_or_default();
            let typed =
                callback_field.cast::<web_sys::HtmlInputElement>().map(|field| field.value()).unwrap_or_default();
            let callback_at_ms = (chosen.as_deref() == Some("callback"))
                .then(|| {
                    wording::callback_at(&callback_pick, &typed, js_sys::Date::now() as i64, &wording::BrowserClock)
                })
                .flatten();
            let (call_id, saving, error) = (call_id.clone(), saving.clone(), error.clone());
            saving.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                let outcome = backend::wrap_up_call(&call_id, chosen.as_deref(), &note, callback_at_ms).await;
                saving.set(false);
                // On success the card disappears with the next snapshot.
                error.set(outcome.err());
            });
        })
    };
    let selected = (*chosen).clone().unwrap_or_default();
    html! {
        <form class="wrap-up" aria-label="Wrap-up" onsubmit={on_save}>
            <label class="wrap-up-field">
                <span>{ "Disposition" }</span>
                if let Some(dispositions) = &*dispositions {
                    <select class="wrap-up-disposition" onchange={on_choose} ref={disposition_field}>
                        <option value="" selected={selected.is_empty()}>{ "— none —" }</option>
                        // Numbered as the keys 1-9 choose them.
                        { for dispositions.iter().enumerate().map(|(index, disposition)| {
                            let code = disposition.code().to_owned();
                            let label = if index < 9 { format!("{} · {}", index + 1, disposition.label()) } else { disposition.label().to_owned() };
                            html! { <option value={code.clone()} selected={code == selected}>{ label }</option> }
                        }) }
                    </select>
                } else {
                    <span class="wrap-up-loading muted">{ "Loading…" }</span>
                }
            </label>
            if selected == "callback" {
                <label class="wrap-up-field">
                    <span>{ "Call back" }</span>
                    <select class="wrap-up-callback" onchange={on_pick} ref={callback_pick_field}>
                        <option value="in-1h" selected={*callback_pick == "in-1h"}>{ "In 1 hour" }</option>
                        <option value="tomorrow-9" selected={*callback_pick == "tomorrow-9"}>{ "Tomorrow 9:00" }</option>
                        <option value="custom" selected={*callback_pick == "custom"}>{ "At…" }</option>
                    </select>
                    if *callback_pick == "custom" {
                        <input class="wrap-up-callback-at" type="datetime-local" ref={callback_field.clone()} />
                    }
                </label>
            }
            <label class="wrap-up-field">
                <span>{ "Note" }</span>
                <textarea class="wrap-up-note" rows="2" placeholder="What was agreed, when to call back…"
                    ref={note_field} />
            </label>
            <button type="submit" class="wrap-up-save primary" disabled={*saving}>{ "Save wrap-up" }</button>
            if let Some(failure) = &*error {
                <p class="error wrap-up-error" role="alert">{ wording::error_sentence(failure) }</p>
            }
        </form>
    }
}
