use gloo::timers::callback::Interval;
use softphone_core::ipc::{AudioDeviceList, AudioMeter, IpcError};
use softphone_core::phone::Region;
use softphone_core::settings::{EngineChoice, Ringtone, Settings};
use yew::prelude::*;

use crate::backend;
use crate::wording;

/// Regions offered first; the saved one is added if it is not among them.
const REGIONS: [&str; 30] = [
    "US", "CA", "GB", "IE", "AU", "NZ", "DE", "FR", "ES", "IT", "NL", "BE", "CH", "AT", "SE", "NO", "DK", "FI", "PL",
    "PT", "MX", "BR", "AR", "CO", "IN", "SG", "JP", "ZA", "AE", "IL",
];

#[derive(Properties, PartialEq)]
pub struct CallingSettingsProps {
    /// The settings now in force changed (saved here): the window applies them.
    pub on_saved: Callback<Settings>,
    /// Whether the app starts at login, as in force: the app turns it on by itself after the
    /// first login to Telnyx, which the page shows at once.
    pub start_at_login: Option<bool>,
}

fn select_value(event: &Event) -> String {
    event.target_unchecked_into::<web_sys::HtmlSelectElement>().value()
}

/// The caller-ID numbers typed one a line: trimmed, blank lines and inner spaces or dashes dropped
/// (the shell checks what is left).
fn caller_number_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| {
            line.chars().filter(|c| !c.is_whitespace() && !matches!(c, '-' | '(' | ')' | '.')).collect::<String>()
        })
        .filter(|line| !line.is_empty())
        .collect()
}

/// Default region, call engine, audio devices (with a microphone meter), saved together.
#[function_component(CallingSettings)]
pub fn calling_settings(props: &CallingSettingsProps) -> Html {
    let draft = use_state(|| None::<Settings>);
    let devices = use_state(AudioDeviceList::default);
    let meter = use_state(|| None::<AudioMeter>);
    let error = use_state(|| None::<IpcError>);
    let saved = use_state(|| false);
    // The caller-ID numbers as typed (one a line), read into the settings when saved, so a line
    // being typed is not reformatted under the cursor.
    let caller_text = use_state(|| None::<String>);
    {
        let (draft, devices, error) = (draft.clone(), devices.clone(), error.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match backend::get_settings().await {
                    Ok(settings) => draft.set(Some(settings)),
                    Err(failure) => error.set(Some(failure)),
                }
                match backend::get_audio_devices().await {
                    Ok(list) => devices.set(list),
                    Err(failure) => error.set(Some(failure)),
                }
            });
        });
    }
    {
        let meter = meter.clone();
        use_effect_with((), move |_| {
            let interval = Interval::new(250, move || {
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
    {
        let draft = draft.clone();
        use_effect_with(props.start_at_login, move |in_force| {
            if let Some(mut next) = (*draft).clone()
                && in_force.is_some()
                && next.start_at_login != *in_force
            {
                next.start_at_login = *in_force;
                draft.set(Some(next));
            }
        });
    }
    let Some(current) = (*draft).clone() else {
        return html! { <p class="muted">{ "Reading the settings…" }</p> };
    };
    let edit = |change: fn(&mut Settings, String)| {
        let (draft, saved) = (draft.clone(), saved.clone());
        Callback::from(move |event: Event| {
            if let Some(mut next) = (*draft).clone() {
                change(&mut next, select_value(&event));
                draft.set(Some(next));
                saved.set(false);
            }
        })
    };
    let on_region = edit(|settings, value| {
        if let Ok(region) = Region::new(&value) {
            settings.default_region = region;
        }
    });
    let on_engine = edit(|settings, value| {
        settings.engine = match value.as_str() {
            "webview" => EngineChoice::Webview,
            "native" => EngineChoice::Native,
            _ => EngineChoice::Automatic,
        };
    });
    let on_input = edit(|settings, value| settings.audio_input = (!value.is_empty()).then_some(value));
    let on_output = edit(|settings, value| settings.audio_output = (!value.is_empty()).then_some(value));
    let on_ringer = edit(|settings, value| settings.ringer_output = (!value.is_empty()).then_some(value));
    let on_ringtone = edit(|settings, value| settings.ringtone = value);
    let tick = |change: fn(&mut Settings, bool)| {
        let (draft, saved) = (draft.clone(), saved.clone());
        Callback::from(move |event: Event| {
            if let Some(mut next) = (*draft).clone() {
                change(&mut next, event.target_unchecked_into::<web_sys::HtmlInputElement>().checked());
                draft.set(Some(next));
                saved.set(false);
            }
        })
    };
    let on_start_at_login = tick(|settings, on| settings.start_at_login = Some(on));
    let on_start_in_tray = tick(|settings, on| settings.start_in_tray = on);
    let on_keep_in_tray = tick(|settings, on| settings.keep_running_in_tray = on);
    let on_hold_music = tick(|settings, on| settings.hold_music = on);
    let on_record_calls = tick(|settings, on| settings.record_calls = on);
    let on_announcement_url = {
        let (draft, saved) = (draft.clone(), saved.clone());
        Callback::from(move |event: InputEvent| {
            if let Some(mut next) = (*draft).clone() {
                let typed = event.target_unchecked_into::<web_sys::HtmlInputElement>().value();
                next.recording_announcement_url = Some(typed.trim().to_owned()).filter(|url| !url.is_empty());
                draft.set(Some(next));
                saved.set(false);
            }
        })
    };
    let on_hold_music_url = {
        let (draft, saved) = (draft.clone(), saved.clone());
        Callback::from(move |event: InputEvent| {
            if let Some(mut next) = (*draft).clone() {
                let typed = event.target_unchecked_into::<web_sys::HtmlInputElement>().value();
                next.hold_music_url = Some(typed.trim().to_owned()).filter(|url| !url.is_empty());
                draft.set(Some(next));
                saved.set(false);
            }
        })
    };
    let on_preview = {
        let (draft, error) = (draft.clone(), error.clone());
        Callback::from(move |_: MouseEvent| {
            let Some(name) = (*draft).as_ref().map(|settings| settings.ringtone().name()) else { return };
            let error = error.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(failure) = backend::preview_ringtone(name).await {
                    error.set(Some(failure));
                }
            });
        })
    };
    let on_caller_text = {
        let (caller_text, saved) = (caller_text.clone(), saved.clone());
        Callback::from(move |event: InputEvent| {
            caller_text.set(Some(event.target_unchecked_into::<web_sys::HtmlTextAreaElement>().value()));
            saved.set(false);
        })
    };
    let on_account_numbers = {
        let (caller_text, saved, error) = (caller_text.clone(), saved.clone(), error.clone());
        Callback::from(move |_: MouseEvent| {
            let (caller_text, saved, error) = (caller_text.clone(), saved.clone(), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match backend::list_account_numbers().await {
                    Ok(numbers) => {
                        caller_text.set(Some(numbers.join("\n")));
                        saved.set(false);
                        error.set(None);
                    }
                    Err(failure) => error.set(Some(failure)),
                }
            });
        })
    };
    let on_save = {
        let (draft, saved, error, on_saved) = (draft.clone(), saved.clone(), error.clone(), props.on_saved.clone());
        let caller_text = caller_text.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let Some(mut next) = (*draft).clone() else { return };
            if let Some(text) = &*caller_text {
                next.caller_numbers = caller_number_lines(text);
            }
            let (draft, saved, error, on_saved) = (draft.clone(), saved.clone(), error.clone(), on_saved.clone());
            let caller_text = caller_text.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match backend::save_settings(&next).await {
                    Ok(in_force) => {
                        caller_text.set(None);
                        draft.set(Some(in_force.clone()));
                        saved.set(true);
                        error.set(None);
                        on_saved.emit(in_force);
                    }
                    Err(failure) => error.set(Some(failure)),
                }
            });
        })
    };

    let region_code = current.default_region.to_string();
    let mut regions: Vec<String> = REGIONS.iter().map(|code| (*code).to_owned()).collect();
    if !regions.contains(&region_code) {
        regions.insert(0, region_code.clone());
    }
    let engine_value = match current.engine {
        EngineChoice::Automatic => "automatic",
        EngineChoice::Webview => "webview",
        EngineChoice::Native => "native",
    };
    let device_options = |list: &[softphone_core::ipc::AudioDeviceInfo], chosen: &Option<String>| {
        html! {
            <>
                <option value="" selected={chosen.is_none()}>{ "System default" }</option>
                { for list.iter().map(|device| {
                    let label = if device.is_default { format!("{} (default)", device.name) } else { device.name.clone() };
                    html! { <option value={device.name.clone()} selected={chosen.as_deref() == Some(device.name.as_str())}>{ label }</option> }
                }) }
            </>
        }
    };
    let mic_level = meter.map_or(-120.0, |levels| levels.input_dbfs);
    let caller_value = (*caller_text).clone().unwrap_or_else(|| current.caller_numbers.join("\n"));
    html! {
        <form id="calling-settings" class="calling-settings" onsubmit={on_save}>
            <h2>{ "Calling" }</h2>
            <label for="settings-region">{ "Default region" }</label>
            <select id="settings-region" onchange={on_region}>
                { for regions.iter().map(|code| html! { <option value={code.clone()} selected={*code == region_code}>{ code }</option> }) }
            </select>
            <p class="muted hint">{ "Numbers typed or imported without a + are read in this region." }</p>
            <label for="settings-engine">{ "Call engine" }</label>
            <select id="settings-engine" onchange={on_engine}>
                <option value="automatic" selected={engine_value == "automatic"}>{ "Automatic" }</option>
                <option value="webview" selected={engine_value == "webview"}>{ "Webview (Telnyx SDK)" }</option>
                <option value="native" selected={engine_value == "native"}>{ "Native" }</option>
            </select>
            <p class="muted hint">{ "Takes effect at the next start." }</p>
            <label for="settings-microphone">{ "Microphone" }</label>
            <select id="settings-microphone" onchange={on_input}>{ device_options(&devices.inputs, &current.audio_input) }</select>
            <label for="settings-speaker">{ "Speaker" }</label>
            <select id="settings-speaker" onchange={on_output}>{ device_options(&devices.outputs, &current.audio_output) }</select>
            <label for="settings-ringer">{ "Ringer" }</label>
            <select id="settings-ringer" onchange={on_ringer}>{ device_options(&devices.outputs, &current.ringer_output) }</select>
            <label for="settings-ringtone">{ "Ringtone" }</label>
            <div class="inline-field">
                <select id="settings-ringtone" onchange={on_ringtone}>
                    { for Ringtone::ALL.iter().map(|ringtone| html! {
                        <option value={ringtone.name()} selected={current.ringtone() == *ringtone}>{ ringtone.label() }</option>
                    }) }
                </select>
                <button id="settings-ringtone-preview" type="button" onclick={on_preview}>{ "Preview" }</button>
            </div>
            <label for="settings-caller-numbers">{ "Caller-ID numbers" }</label>
            <div class="caller-numbers">
                <textarea id="settings-caller-numbers" rows="3" placeholder="+12125550100" value={caller_value}
                    oninput={on_caller_text} spellcheck="false"></textarea>
                <button id="settings-account-numbers" type="button" onclick={on_account_numbers}>{ "Use my Telnyx numbers" }</button>
            </div>
            <p class="muted hint">{ "One a line, in international form. Each call shows the number that shares the lead's area code, else one in the lead's country, else the first." }</p>
            <span class="setting-name">{ "During calls" }</span>
            <div class="ticks">
                <label class="inline"><input id="settings-hold-music" type="checkbox"
                    checked={current.hold_music} onchange={on_hold_music} />{ "Callers on hold hear music" }</label>
                <label class="inline"><input id="settings-record-calls" type="checkbox"
                    checked={current.record_calls} onchange={on_record_calls} />{ "Record every call from its answer (both sides hear a beep)" }</label>
            </div>
            <label for="settings-hold-music-url">{ "Hold music" }</label>
            <input id="settings-hold-music-url" type="url" disabled={!current.hold_music}
                placeholder="https://example.com/hold-music.mp3" value={current.hold_music_url.clone().unwrap_or_default()}
                oninput={on_hold_music_url} spellcheck="false" />
            <p class="muted hint">{ "A WAV or MP3 file Telnyx can fetch; Telnyx plays it to the caller while you hold (Call Control). Empty: the account's default music (demo mode has one; a Telnyx account plays none)." }</p>
            <label for="settings-recording-announcement">{ "Before a recording" }</label>
            <input id="settings-recording-announcement" type="url"
                placeholder="https://example.com/this-call-is-recorded.mp3" value={current.recording_announcement_url.clone().unwrap_or_default()}
                oninput={on_announcement_url} spellcheck="false" />
            <p class="muted hint">{ "The caller hears this (\"this call may be recorded\") as the recording starts; it is in the recording too. Empty: the beep only." }</p>
            <span class="setting-name">{ "This computer" }</span>
            <div class="ticks">
                <label class="inline"><input id="settings-start-at-login" type="checkbox"
                    checked={current.start_at_login.unwrap_or(false)} onchange={on_start_at_login} />{ "Start Softphone when I log in" }</label>
                <label class="inline"><input id="settings-start-in-tray" type="checkbox" disabled={current.start_at_login != Some(true)}
                    checked={current.start_in_tray} onchange={on_start_in_tray} />{ "Then wait in the tray, without opening the window" }</label>
                <label class="inline"><input id="settings-keep-in-tray" type="checkbox"
                    checked={current.keep_running_in_tray} onchange={on_keep_in_tray} />{ "Closing the window keeps the phone running in the tray" }</label>
            </div>
            <p class="muted hint">{ "In the tray the phone still rings and pops up calls; the window opens on them." }</p>
            <label for="settings-mic-meter">{ "Microphone level" }</label>
            <meter id="settings-mic-meter" class="meter wide" min="-60" max="0" low="-50" high="-6" optimum="-20"
                value={format!("{:.1}", mic_level.clamp(-60.0, 0.0))}></meter>
            if devices.fake {
                <p class="muted hint">{ "These are test devices (SOFTPHONE_FAKE_AUDIO)." }</p>
            }
            <div class="form-actions">
                <button id="save-settings" class="primary" type="submit">{ "Save settings" }</button>
                if *saved {
                    <span id="settings-saved" class="saved">{ "Saved" }</span>
                }
            </div>
            if let Some(failure) = &*error {
                <p id="calling-settings-error" class="error" role="alert">{ wording::error_sentence(failure) }</p>
            }
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::caller_number_lines;

    #[test]
    fn caller_numbers_are_read_one_a_line_as_typed_or_pasted() {
        let typed = "+1 212-555-0142\n\n  +1 (415) 555.0142  \r\n+442079460958";
        assert_eq!(caller_number_lines(typed), ["+12125550142", "+14155550142", "+442079460958"]);
        assert!(caller_number_lines(" \n\n").is_empty());
    }
}
