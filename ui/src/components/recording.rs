//! Recording a call (Telnyx records, after a beep both sides hear): the card's Record, Pause,
//! Resume and Stop, what the card says while it records, and a logged call's Play button.

use softphone_core::call::{CallSnapshot, RecordingView};
use softphone_core::call_log::CallLogId;
use softphone_core::ipc::IpcError;
use yew::prelude::*;

use crate::backend;
use crate::wording;

#[derive(Properties, PartialEq)]
pub struct RecordingProps {
    pub call: CallSnapshot,
    /// Where a refused command shows.
    pub on_error: Callback<Option<IpcError>>,
}

/// What a recording button asks.
#[derive(Clone, Copy)]
enum RecordingCommand {
    Start,
    Pause(bool),
    Stop,
}

/// The recording buttons of a connected or held call.
#[function_component(RecordingButtons)]
pub fn recording_buttons(props: &RecordingProps) -> Html {
    let call_id = props.call.call_id.clone();
    let run = |command: RecordingCommand| {
        let (call_id, on_error) = (call_id.clone(), props.on_error.clone());
        Callback::from(move |_: MouseEvent| {
            let (call_id, on_error) = (call_id.clone(), on_error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let outcome = match command {
                    RecordingCommand::Start => backend::record_call(&call_id).await,
                    RecordingCommand::Pause(paused) => backend::pause_call_recording(&call_id, paused).await,
                    RecordingCommand::Stop => backend::stop_call_recording(&call_id).await,
                };
                on_error.emit(outcome.err());
            });
        })
    };
    let button = |class: &'static str, label: &'static str, title: &'static str, onclick: Callback<MouseEvent>| {
        html! { <button class={classes!("call-action", class)} {title} {onclick}>{ label }</button> }
    };
    match props.call.control.recording {
        RecordingView::Off => button(
            "record-start",
            "Record",
            "Telnyx records the call after a beep both of you hear",
            run(RecordingCommand::Start),
        ),
        RecordingView::Recording => html! {
            <>
                { button("record-pause", "Pause recording", "While a card number is read out", run(RecordingCommand::Pause(true))) }
                { button("record-stop", "Stop recording", "What was recorded is kept with the call", run(RecordingCommand::Stop)) }
            </>
        },
        RecordingView::Paused => html! {
            <>
                { button("record-resume", "Resume recording", "Record again from now on", run(RecordingCommand::Pause(false))) }
                { button("record-stop", "Stop recording", "What was recorded is kept with the call", run(RecordingCommand::Stop)) }
            </>
        },
    }
}

/// What the card's status line says about the recording.
pub fn recording_badge(call: &CallSnapshot) -> Html {
    match (call.control.recording, call.control.kept_recording_ms) {
        (RecordingView::Recording, _) => {
            html! { <span class="call-recording on" title="Telnyx records this call">{ "● REC" }</span> }
        }
        (RecordingView::Paused, _) => {
            html! { <span class="call-recording paused" title="Nothing is recorded now">{ "REC paused" }</span> }
        }
        (RecordingView::Off, Some(ms)) => html! {
            <span class="call-recording kept" title="Kept with the call in the call log">{ format!("Recording kept · {}", wording::duration(ms as i64)) }</span>
        },
        (RecordingView::Off, None) => html! {},
    }
}

#[derive(Properties, PartialEq)]
pub struct PlayRecordingProps {
    pub call_log_id: CallLogId,
    pub recorded_ms: i64,
}

/// A logged call's recordings: Play on the speaker, Stop.
#[function_component(PlayRecording)]
pub fn play_recording(props: &PlayRecordingProps) -> Html {
    let playing = use_state(|| false);
    let error = use_state(|| None::<IpcError>);
    let onclick = {
        let (playing, error, id, recorded_ms) = (playing.clone(), error.clone(), props.call_log_id, props.recorded_ms);
        Callback::from(move |_: MouseEvent| {
            let (playing, error) = (playing.clone(), error.clone());
            let start = !*playing;
            wasm_bindgen_futures::spawn_local(async move {
                let outcome = if start {
                    backend::play_call_recording(id).await
                } else {
                    backend::stop_playing_recording().await
                };
                let started = start && outcome.is_ok();
                playing.set(started);
                error.set(outcome.err());
                if started {
                    // Back to Play once it has played out.
                    let ms = u32::try_from(recorded_ms).unwrap_or(u32::MAX);
                    gloo::timers::callback::Timeout::new(ms, move || playing.set(false)).forget();
                }
            });
        })
    };
    html! {
        <>
            <button class="log-play" {onclick} title={format!("Play the call's recording ({}) on the speaker", wording::duration(props.recorded_ms))}>
                { if *playing { "■ Stop" } else { "▶ Play" } }
            </button>
            if let Some(failure) = &*error {
                <span class="error log-play-error" role="alert">{ wording::error_sentence(failure) }</span>
            }
        </>
    }
}
