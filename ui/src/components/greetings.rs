//! The voicemail greeting: which recorded greeting a drop plays (Alt+V or the call card's Drop
//! voicemail), and importing one from a WAV file. The shell keeps the files and checks them.

use gloo::timers::callback::Interval;
use softphone_core::ipc::{Greeting, IpcError};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::backend;
use crate::wording;

/// What the panel shows about its greetings.
struct Shown {
    greetings: UseStateHandle<Vec<Greeting>>,
    status: UseStateHandle<Option<String>>,
    error: UseStateHandle<Option<IpcError>>,
}

/// A greeting imported or recorded (`done`: "Imported", "Recorded"), or why not; the list is read
/// again after one is kept.
async fn show_saved(done: &str, outcome: Result<Greeting, IpcError>, shown: &Shown) {
    match outcome {
        Ok(greeting) => {
            let length = wording::duration(greeting.duration_ms as i64);
            shown.status.set(Some(format!("{done} \"{}\" ({length}).", greeting.name)));
            shown.error.set(None);
            if let Ok(list) = backend::list_greetings().await {
                shown.greetings.set(list);
            }
        }
        Err(failure) => {
            shown.status.set(None);
            shown.error.set(Some(failure));
        }
    }
}

#[function_component(GreetingPanel)]
pub fn greeting_panel() -> Html {
    let greetings = use_state(Vec::<Greeting>::new);
    let chosen = use_state(|| None::<String>);
    let path = use_state(String::new);
    let status = use_state(|| None::<String>);
    let error = use_state(|| None::<IpcError>);
    let record_name = use_state(|| "my-greeting".to_owned());
    // When the recording started (ms), while one runs; the elapsed time is shown every second.
    let recording_since = use_state(|| None::<f64>);
    let now = use_state(js_sys::Date::now);
    {
        let (now, running) = (now.clone(), recording_since.is_some());
        use_effect_with(running, move |running| {
            let ticking = running.then(|| Interval::new(500, move || now.set(js_sys::Date::now())));
            move || drop(ticking)
        });
    }
    {
        let (greetings, chosen, error) = (greetings.clone(), chosen.clone(), error.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match backend::list_greetings().await {
                    Ok(list) => greetings.set(list),
                    Err(failure) => error.set(Some(failure)),
                }
                if let Ok(settings) = backend::get_settings().await {
                    chosen.set(settings.voicemail_greeting);
                }
            });
        });
    }
    let on_path = {
        let path = path.clone();
        Callback::from(move |event: InputEvent| path.set(event.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let on_import = {
        let (greetings, path, status, error) = (greetings.clone(), path.clone(), status.clone(), error.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let typed = (*path).trim().to_owned();
            let (greetings, status, error) = (greetings.clone(), status.clone(), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let imported = backend::import_greeting(&typed).await;
                show_saved("Imported", imported, &Shown { greetings, status, error }).await;
            });
        })
    };
    let on_choose = {
        let (chosen, status, error) = (chosen.clone(), status.clone(), error.clone());
        Callback::from(move |event: Event| {
            let name = event.target_unchecked_into::<HtmlSelectElement>().value();
            let (chosen, status, error) = (chosen.clone(), status.clone(), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let saved = match backend::get_settings().await {
                    Ok(mut settings) => {
                        settings.voicemail_greeting = Some(name.clone());
                        backend::save_settings(&settings).await
                    }
                    Err(failure) => Err(failure),
                };
                match saved {
                    Ok(in_force) => {
                        chosen.set(in_force.voicemail_greeting);
                        status.set(Some(format!("Voicemail drops play \"{name}\".")));
                        error.set(None);
                    }
                    Err(failure) => error.set(Some(failure)),
                }
            });
        })
    };
    let on_record_name = {
        let record_name = record_name.clone();
        Callback::from(move |event: InputEvent| {
            record_name.set(event.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let on_record = {
        let (recording_since, status, error) = (recording_since.clone(), status.clone(), error.clone());
        Callback::from(move |_: MouseEvent| {
            let (recording_since, status, error) = (recording_since.clone(), status.clone(), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match backend::start_greeting_recording().await {
                    Ok(()) => {
                        recording_since.set(Some(js_sys::Date::now()));
                        status.set(None);
                        error.set(None);
                    }
                    Err(failure) => error.set(Some(failure)),
                }
            });
        })
    };
    let on_record_stop = {
        let (greetings, record_name, recording_since, status, error) =
            (greetings.clone(), record_name.clone(), recording_since.clone(), status.clone(), error.clone());
        Callback::from(move |_: MouseEvent| {
            let name = (*record_name).trim().to_owned();
            let (greetings, recording_since, status, error) =
                (greetings.clone(), recording_since.clone(), status.clone(), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let saved = backend::finish_greeting_recording(&name).await;
                recording_since.set(None);
                show_saved("Recorded", saved, &Shown { greetings, status, error }).await;
            });
        })
    };
    // The one a drop plays: the chosen one if it is there, else the first.
    let playing = (*chosen)
        .clone()
        .filter(|name| greetings.iter().any(|greeting| &greeting.name == name))
        .or_else(|| greetings.first().map(|greeting| greeting.name.clone()));
    let on_play = {
        let (playing, error) = (playing.clone(), error.clone());
        Callback::from(move |_: MouseEvent| {
            let Some(name) = playing.clone() else { return };
            let error = error.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(failure) = backend::play_greeting(&name).await {
                    error.set(Some(failure));
                }
            });
        })
    };
    let on_stop = Callback::from(|_: MouseEvent| {
        wasm_bindgen_futures::spawn_local(async move {
            let _ = backend::stop_greeting().await;
        })
    });
    let recording_for = recording_since.map(|since| wording::duration((*now - since).max(0.0) as i64));
    html! {
        <section id="greeting-panel" class="greeting-panel">
            <h2>{ "Voicemail greeting" }</h2>
            <p class="muted hint">{ "When a voicemail box answers, Alt+V (or Drop voicemail on the call) plays this greeting, hangs up when it ends and goes on to the next lead." }</p>
            if greetings.is_empty() {
                <p id="greeting-none" class="muted">{ "No greeting yet: import a WAV file." }</p>
            } else {
                <label for="greeting-chosen">{ "Greeting" }</label>
                <div class="greeting-choice">
                    <select id="greeting-chosen" onchange={on_choose}>
                        { for greetings.iter().map(|greeting| html! {
                            <option value={greeting.name.clone()} selected={playing.as_deref() == Some(greeting.name.as_str())}>
                                { format!("{} ({})", greeting.name, wording::duration(greeting.duration_ms as i64)) }
                            </option>
                        }) }
                    </select>
                    <button id="greeting-play" class="secondary" type="button" onclick={on_play}>{ "Play" }</button>
                    <button id="greeting-stop" class="secondary" type="button" onclick={on_stop}>{ "Stop" }</button>
                </div>
            }
            <div class="greeting-record">
                <input id="greeting-name" type="text" value={(*record_name).clone()} oninput={on_record_name}
                    disabled={recording_for.is_some()} aria-label="Name of the greeting to record" />
                if let Some(elapsed) = &recording_for {
                    <button id="greeting-record-stop" class="danger" type="button" onclick={on_record_stop}>{ "Stop and save" }</button>
                    <span id="greeting-recording" class="recording">{ format!("Recording from the microphone… {elapsed}") }</span>
                } else {
                    <button id="greeting-record" class="secondary" type="button" onclick={on_record}
                        disabled={record_name.trim().is_empty()}>{ "Record from the microphone" }</button>
                }
            </div>
            <form class="greeting-import" onsubmit={on_import}>
                <input id="greeting-path" type="text" placeholder="/home/me/greeting.wav" value={(*path).clone()} oninput={on_path} />
                <button id="greeting-import" class="secondary" type="submit" disabled={path.trim().is_empty()}>{ "Import WAV" }</button>
            </form>
            if let Some(text) = &*status {
                <p id="greeting-status" class="saved">{ text }</p>
            }
            if let Some(failure) = &*error {
                <p id="greeting-error" class="error" role="alert">{ wording::error_sentence(failure) }</p>
            }
        </section>
    }
}
