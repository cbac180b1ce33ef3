use softphone_core::call::CallsSnapshot;
use softphone_core::ipc::{IpcError, NumberCheck};
use softphone_core::lead::Page;
use softphone_core::phone::{Region, format_as_typed};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::backend;
use crate::shown_numbers::use_shown_numbers;
use crate::window_health::{self, Kept};
use crate::wording;

#[derive(Properties, PartialEq)]
pub struct DialerProps {
    /// Demo mode: the simulator's directory numbers are dialable too.
    pub demo: bool,
    /// The default region from the settings.
    pub region: Region,
    /// A number handed over by a `tel:` link, with a sequence number so the same link twice
    /// still fills the field.
    #[prop_or_default]
    pub prefill: Option<(u32, String)>,
    /// The live calls: the recent numbers are read again whenever they change.
    pub calls: CallsSnapshot,
}

/// How many recent numbers the dialer lists.
const RECENT_NUMBERS: usize = 5;

const KEYS: [&str; 12] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

/// A number field checked as the agent types, a keypad, and Call (or Enter).
#[function_component(Dialer)]
pub fn dialer(props: &DialerProps) -> Html {
    // As the agent left it: before a reload of the window, or a trip to another section.
    let number = use_state(|| window_health::kept(Kept::DialerText).unwrap_or_default());
    use_effect_with((*number).clone(), |text| window_health::keep(Kept::DialerText, text));
    let error = use_state(|| None::<IpcError>);
    let numbers = use_shown_numbers();
    // The shell checks the number as it will when dialing (the window has no numbering
    // metadata); the last answer shows until the next arrives, and a late answer for text
    // since changed is dropped.
    let check = use_state(|| NumberCheck::Empty);
    let checked_text = use_mut_ref(String::new);
    {
        let (check, checked_text) = (check.clone(), checked_text.clone());
        // The region and demo mode are part of the check: a change of either asks again.
        use_effect_with(((*number).clone(), props.region, props.demo), move |(typed, _, _)| {
            *checked_text.borrow_mut() = typed.clone();
            if typed.trim().is_empty() {
                check.set(NumberCheck::Empty);
            } else {
                let typed = typed.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let answer = backend::check_number(&typed).await;
                    if *checked_text.borrow() == typed {
                        check.set(answer.unwrap_or_else(|failure| NumberCheck::Invalid {
                            sentence: wording::error_sentence(&failure),
                        }));
                    }
                });
            }
        });
    }
    // The shell's refusal; not repeated when the check above already says the same.
    let dial_error = error.as_ref().map(wording::error_sentence);
    {
        // A link's number is shown formatted when it is valid, as typed when not (the check
        // below then says why).
        let (number, error) = (number.clone(), error.clone());
        use_effect_with(props.prefill.clone(), move |prefill| {
            if let Some((_, text)) = prefill.clone() {
                error.set(None);
                wasm_bindgen_futures::spawn_local(async move {
                    let shown = match backend::check_number(&text).await {
                        Ok(NumberCheck::Valid { shown }) => shown,
                        Ok(NumberCheck::Empty | NumberCheck::Invalid { .. }) | Err(_) => text,
                    };
                    number.set(shown);
                });
            }
        });
    }

    let recent = use_state(Vec::<String>::new);
    {
        let recent = recent.clone();
        use_effect_with(props.calls.clone(), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                // A failed read leaves the list as it was; the Calls page reports the error.
                if let Ok(entries) = backend::get_recent_calls(Page { limit: 50, offset: 0 }).await {
                    recent.set(wording::recent_numbers(&entries, RECENT_NUMBERS));
                }
            });
        });
    }

    let dial = {
        let number = number.clone();
        let error = error.clone();
        Callback::from(move |()| {
            let typed = (*number).clone();
            let number = number.clone();
            let error = error.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match backend::place_call(&typed, None).await {
                    Ok(_) => {
                        error.set(None);
                        number.set(String::new());
                    }
                    Err(failure) => error.set(Some(failure)),
                }
            });
        })
    };
    let region = props.region;
    let oninput = {
        let number = number.clone();
        let error = error.clone();
        Callback::from(move |event: InputEvent| {
            let input: HtmlInputElement = event.target_unchecked_into();
            let typed = input.value();
            // Grouped only while the agent types at the end: an edit in the middle keeps its caret.
            let at_end = input.selection_start().ok().flatten().is_none_or(|caret| caret as usize >= typed.len());
            number.set(if at_end { format_as_typed(&typed, region) } else { typed });
            error.set(None);
        })
    };
    let onkeydown = {
        let dial = dial.clone();
        Callback::from(move |event: KeyboardEvent| {
            if event.key() == "Enter" {
                event.prevent_default();
                dial.emit(());
            }
        })
    };

    html! {
        <div class="dialer">
            <input
                id="dial-number"
                class="dial-number"
                type="tel"
                placeholder="Number, e.g. (415) 555-0100"
                autocomplete="off"
                value={(*number).clone()}
                {oninput}
                {onkeydown}
            />
            <p id="dial-check" role="status" class={classes!("dial-check", match &*check {
                NumberCheck::Empty => "empty",
                NumberCheck::Valid { .. } => "valid",
                NumberCheck::Invalid { .. } => "invalid",
            })}>
                { match &*check {
                    NumberCheck::Empty => "Type a number, or pick a lead to call.".to_owned(),
                    NumberCheck::Valid { shown } => format!("Valid: {shown}"),
                    NumberCheck::Invalid { sentence } => sentence.clone(),
                } }
            </p>
            <div class="keypad">
                { for KEYS.iter().map(|&key| {
                    let number = number.clone();
                    let onclick = Callback::from(move |_| number.set(format_as_typed(&format!("{}{key}", *number), region)));
                    html! { <button class="key" data-key={key} {onclick}>{ key }</button> }
                }) }
            </div>
            <div class="dial-actions">
                <button id="dial-call" class="primary call-button" onclick={dial.reform(|_| ())}>{ "Call" }</button>
                <button
                    class="secondary"
                    onclick={{
                        let number = number.clone();
                        Callback::from(move |_| {
                            let mut text = (*number).clone();
                            text.pop();
                            number.set(format_as_typed(&text, region));
                        })
                    }}
                >{ "⌫" }</button>
            </div>
            if !recent.is_empty() {
                <div class="recent-numbers" aria-label="Recent numbers">
                    <h3>{ "Recent" }</h3>
                    <ul>
                        { for recent.iter().map(|stored| {
                            let shown = numbers.shown(stored);
                            let (number, error) = (number.clone(), error.clone());
                            let fill = shown.clone();
                            let onclick = Callback::from(move |_| {
                                number.set(fill.clone());
                                error.set(None);
                            });
                            html! {
                                <li><button class="recent-number secondary" data-number={stored.clone()} title="Put this number in the field" {onclick}>{ shown }</button></li>
                            }
                        }) }
                    </ul>
                </div>
            }
            if let Some(sentence) = dial_error.filter(|sentence| !matches!(&*check, NumberCheck::Invalid { sentence: shown } if shown == sentence)) {
                <p id="dial-error" class="error" role="alert">{ sentence }</p>
            }
        </div>
    }
}
