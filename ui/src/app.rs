use std::cell::Cell;
use std::rc::Rc;

use softphone_core::call::{CallId, CallsSnapshot};
use softphone_core::dialing::{DialingAction, DialingView};
use softphone_core::ipc::WindowFailureKind;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use yew::prelude::*;

use crate::backend;
use crate::call_engine;
use crate::components::{CallsPanel, RingingBanner, SectionPage, Sidebar, StatusBar};
use crate::shortcuts::{self, CallAction, KeyPress, SHORTCUTS, Shortcut};
use crate::shown_numbers::{NumberBook, ShownNumbers};
use crate::state::{AppAction, AppState, Section};
use crate::window_health::{self, RenderWatch};
use softphone_core::settings::EngineChoice;
use softphone_ui::engine::EnginePreference;

/// Focuses the element with this id once the section showing it has rendered: tried every 50 ms
/// until the element holds the focus, for at most 2 s. (One try at 50 ms once lost the race with
/// a slow render in CI, and the cursor never reached the dialer.)
fn focus_soon(id: &'static str) {
    focus_when_shown(id, 40);
}

fn focus_when_shown(id: &'static str, tries_left: u32) {
    gloo::timers::callback::Timeout::new(50, move || {
        let document = web_sys::window().and_then(|window| window.document());
        let Some(document) = document else { return };
        let element =
            document.get_element_by_id(id).and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(element) = &element {
            let _ = element.focus();
        }
        let focused = document.active_element().is_some_and(|active| active.id() == id);
        if !focused && tries_left > 1 {
            focus_when_shown(id, tries_left - 1);
        }
    })
    .forget();
}

/// Chooses the disposition at `place` (1-9, as the form numbers them) in the first wrap-up form,
/// as a pick with the mouse would (the form hears the change).
fn pick_disposition(place: u8) {
    let Some(document) = web_sys::window().and_then(|window| window.document()) else { return };
    let found = document.query_selector("#calls-panel .wrap-up-disposition").ok().flatten();
    let Some(select) = found.and_then(|element| element.dyn_into::<web_sys::HtmlSelectElement>().ok()) else { return };
    // Option 0 is "none".
    if u32::from(place) < select.length() {
        select.set_selected_index(i32::from(place));
        if let Ok(change) = web_sys::Event::new_with_event_init_dict("change", &{
            let init = web_sys::EventInit::new();
            init.set_bubbles(true);
            init
        }) {
            let _ = select.dispatch_event(&change);
        }
    }
}

/// Clicks the first element `css` finds, if any.
fn click_first(css: &str) {
    let found =
        web_sys::window().and_then(|window| window.document()).and_then(|doc| doc.query_selector(css).ok().flatten());
    if let Some(element) = found.and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok()) {
        element.click();
    }
}

/// Runs a dial-list shortcut's action, chosen from the running session (none: nothing to do).
fn run_list_action(choose: impl FnOnce(Option<&DialingView>) -> Option<DialingAction> + 'static) {
    wasm_bindgen_futures::spawn_local(async move {
        let view = backend::get_dialing().await.ok().flatten();
        if let Some(action) = choose(view.as_ref()) {
            // A refusal (a call under way, the wrap-up first) leaves the page as it is; the page
            // shows the session's own state.
            let _ = backend::dialing_action(&action).await;
        }
    });
}

/// Runs a call shortcut's command; a failure shows in the status bar.
fn run_call_action(action: CallAction, dispatch: UseReducerDispatcher<AppState>) {
    wasm_bindgen_futures::spawn_local(async move {
        let outcome = match &action {
            CallAction::Answer(id) => backend::answer_call(id).await,
            CallAction::Decline(id) => backend::decline_call(id).await,
            CallAction::HangUp(id) => backend::hang_up_call(id).await,
            CallAction::SetMuted(id, muted) => backend::set_call_muted(id, *muted).await,
            CallAction::Hold(id) => backend::hold_call(id).await,
            CallAction::Resume(id) => backend::resume_call(id).await,
            CallAction::DropVoicemail(id) => backend::drop_voicemail(id).await,
        };
        if let Err(error) = outcome {
            dispatch.dispatch(AppAction::ShellFailed(error));
        }
    });
}

fn key_press(event: &web_sys::KeyboardEvent) -> KeyPress {
    let in_text_field = event
        .target()
        .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|element| matches!(element.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
    KeyPress { key: event.key(), alt: event.alt_key(), ctrl: event.ctrl_key(), meta: event.meta_key(), in_text_field }
}

/// How often the window re-reads the calls while it shows one: the safety net for a
/// `call://updated` that never arrives (CI once saw a ringing call, notified on the desktop, that
/// the window never showed).
const CALLS_REREAD_MS: u32 = 2_000;
/// With no call up, only every this many ticks (10 s): each read is an IPC round trip, and every
/// 2 s they cost the idle window 2-3 % of a core (measured: 4.7 % idle in all, 1.4 % without).
const CALLS_REREAD_IDLE_TICKS: u32 = 5;
/// Ticks a read may go unanswered before the window says so in the shell's log (a lost IPC answer
/// would otherwise stop the re-reads for good, unseen) and reads again.
const CALLS_READ_UNANSWERED_TICKS: u32 = 5;

/// What the window has seen of the shell's calls: the newest revision, and whether any call was up
/// in it.
#[derive(Debug, Default)]
struct SeenCalls {
    revision: Cell<u64>,
    any: Cell<bool>,
}

impl SeenCalls {
    /// Notes a snapshot (from an event or a read); an older one than already seen changes nothing.
    fn saw(&self, snapshot: &CallsSnapshot) {
        if snapshot.revision >= self.revision.get() {
            self.revision.set(snapshot.revision);
            self.any.set(!snapshot.calls.is_empty());
        }
    }
}

/// Whether tick number `tick` (from 1) re-reads the calls: every tick while a call is up, else
/// every [`CALLS_REREAD_IDLE_TICKS`]th.
fn reread_due(tick: u32, calls_up: bool) -> bool {
    calls_up || tick.is_multiple_of(CALLS_REREAD_IDLE_TICKS)
}

/// Re-reads the calls (see [`reread_due`]); a snapshot newer than every event so far means an
/// event was lost: it is applied and said on the console.
fn reread_calls_forever(seen: Rc<SeenCalls>, dispatch: UseReducerDispatcher<AppState>) {
    // The tick the outstanding read started at, if one is outstanding.
    let outstanding: Rc<Cell<Option<u32>>> = Rc::new(Cell::new(None));
    let mut tick = 0u32;
    let interval = gloo::timers::callback::Interval::new(CALLS_REREAD_MS, move || {
        tick = tick.wrapping_add(1);
        if let Some(started) = outstanding.get() {
            let waited = tick.wrapping_sub(started);
            if waited < CALLS_READ_UNANSWERED_TICKS {
                return;
            }
            // Said once per lost read; the next read goes out regardless.
            window_health::report(
                WindowFailureKind::ScriptError,
                format!("the shell has not answered get_calls for {} ms", waited * CALLS_REREAD_MS),
            );
            outstanding.set(None);
        }
        if !reread_due(tick, seen.any.get()) {
            return;
        }
        outstanding.set(Some(tick));
        let (outstanding, seen, dispatch) = (Rc::clone(&outstanding), Rc::clone(&seen), dispatch.clone());
        wasm_bindgen_futures::spawn_local(async move {
            let answer = backend::get_calls().await;
            // Only the newest read clears the mark (an answer after its reported loss does not).
            if outstanding.get() == Some(tick) {
                outstanding.set(None);
            }
            if let Ok(snapshot) = answer
                && snapshot.revision > seen.revision.get()
            {
                gloo::console::warn!(format!(
                    "call://updated revision {} never arrived; the re-read found it",
                    snapshot.revision
                ));
                seen.saw(&snapshot);
                dispatch.dispatch(AppAction::CallsLoaded(snapshot));
            }
        });
    });
    // For the life of the window.
    interval.forget();
}

/// Reads the connection's state every [`CALLS_REREAD_MS`] until the shell has answered once, then
/// every [`CALLS_REREAD_IDLE_TICKS`]th tick: a lost answer, or a lost `connection://updated`,
/// shows within that. `events` counts the updates heard; an answer that crossed one is dropped.
fn reread_connection_forever(dispatch: UseReducerDispatcher<AppState>, events: Rc<Cell<u32>>) {
    let answered = Rc::new(Cell::new(false));
    let read = {
        let (answered, dispatch) = (Rc::clone(&answered), dispatch.clone());
        move || {
            let (answered, dispatch, events) = (Rc::clone(&answered), dispatch.clone(), Rc::clone(&events));
            let heard_before = events.get();
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(status) = backend::get_connection_status().await {
                    answered.set(true);
                    if events.get() == heard_before {
                        dispatch.dispatch(AppAction::ConnectionReread(status));
                    }
                }
            });
        }
    };
    read();
    let mut tick = 0u32;
    let interval = gloo::timers::callback::Interval::new(CALLS_REREAD_MS, move || {
        tick = tick.wrapping_add(1);
        if !answered.get() || tick.is_multiple_of(CALLS_REREAD_IDLE_TICKS) {
            read();
        }
    });
    // For the life of the window.
    interval.forget();
}

#[function_component(App)]
pub fn app() -> Html {
    // A reloaded window (its own failure, its web process's death) opens where the agent was.
    let state = use_reducer(|| AppState { section: window_health::section_before_reload(), ..AppState::default() });
    // The numbers the shell formats for the window, remembered; each answer redraws them.
    let number_answers = use_state(|| 0_u32);
    let number_book = {
        let number_answers = number_answers.setter();
        use_memo((), move |_| NumberBook::new(Callback::from(move |answers| number_answers.set(answers))))
    };
    let shown_numbers = ShownNumbers::new(Rc::clone(&number_book), *number_answers);
    use_effect_with(state.section, |&section| window_health::keep(window_health::Kept::Section, section.slug()));
    let webview_engine: call_engine::RunningWebviewEngine = use_mut_ref(|| None);

    {
        let dispatch = state.dispatcher();
        let webview_engine = webview_engine.clone();
        use_effect_with((), move |_| {
            // How many connection://updated the window has heard: a re-read answered meanwhile is
            // not newer than what it heard, and is dropped.
            let connection_events = Rc::new(Cell::new(0_u32));
            let on_status = {
                let (dispatch, connection_events) = (dispatch.clone(), Rc::clone(&connection_events));
                Callback::from(move |status| {
                    connection_events.set(connection_events.get().wrapping_add(1));
                    dispatch.dispatch(AppAction::ConnectionUpdated(status));
                })
            };
            let on_error = {
                let dispatch = dispatch.clone();
                Callback::from(move |error| dispatch.dispatch(AppAction::ShellFailed(error)))
            };
            // The newest revision of the calls the window has seen, from events or reads.
            let seen = Rc::new(SeenCalls::default());
            let on_calls = {
                let dispatch = dispatch.clone();
                let seen = Rc::clone(&seen);
                Callback::from(move |snapshot: CallsSnapshot| {
                    seen.saw(&snapshot);
                    dispatch.dispatch(AppAction::CallsUpdated(snapshot));
                })
            };
            let on_progress = {
                let dispatch = dispatch.clone();
                Callback::from(move |progress| dispatch.dispatch(AppAction::ImportProgressed(progress)))
            };
            let on_number = {
                let dispatch = dispatch.clone();
                Callback::from(move |number| dispatch.dispatch(AppAction::DialRequested(number)))
            };
            let on_desktop = {
                let dispatch = dispatch.clone();
                Callback::from(move |status| dispatch.dispatch(AppAction::DesktopUpdated(status)))
            };
            let on_notice = {
                let dispatch = dispatch.clone();
                Callback::from(move |notice: softphone_core::ipc::AudioNotice| {
                    dispatch.dispatch(AppAction::AudioNotice(Some(notice.message)))
                })
            };
            let on_call = {
                let dispatch = dispatch.clone();
                Callback::from(move |call_id: CallId| {
                    let dispatch = dispatch.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        let lead = backend::get_calls().await.ok().and_then(|snapshot| {
                            snapshot
                                .calls
                                .into_iter()
                                .find(|call| call.call_id == call_id)
                                .and_then(|call| call.lead_id)
                        });
                        match lead {
                            Some(lead_id) => dispatch.dispatch(AppAction::ShowLead(lead_id)),
                            None => dispatch.dispatch(AppAction::Open(Section::Calls)),
                        }
                    });
                })
            };
            let on_choice = {
                let dispatch = dispatch.clone();
                Callback::from(move |choice: call_engine::EngineChoice| {
                    dispatch.dispatch(AppAction::EngineChosen { engine: choice.engine, notice: choice.notice });
                })
            };
            wasm_bindgen_futures::spawn_local(async move {
                // Subscribe first, read second: a change the shell emits between a read and a
                // later subscription would never reach the window (CI saw "Starting" forever).
                backend::on_connection_updated(on_status, on_error.clone()).await;
                backend::on_calls_updated(on_calls, on_error.clone()).await;
                backend::on_import_progress(on_progress, on_error.clone()).await;
                backend::on_dial_requested(on_number, on_error.clone()).await;
                backend::on_desktop_updated(on_desktop.clone(), on_error.clone()).await;
                backend::on_audio_device_changed(on_notice, on_error.clone()).await;
                backend::on_show_call(on_call, on_error.clone()).await;
                {
                    let dispatch = dispatch.clone();
                    let on_settings =
                        Callback::from(move |settings| dispatch.dispatch(AppAction::SettingsLoaded(settings)));
                    backend::on_settings_updated(on_settings, on_error.clone()).await;
                }
                {
                    let on_team = {
                        let dispatch = dispatch.clone();
                        Callback::from(move |status| dispatch.dispatch(AppAction::TeamUpdated(status)))
                    };
                    backend::on_team_updated(on_team, on_error.clone()).await;
                    let dispatch = dispatch.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        if let Ok(status) = backend::get_team_status().await {
                            dispatch.dispatch(AppAction::TeamUpdated(status));
                        }
                    });
                }
                {
                    let on_update = {
                        let dispatch = dispatch.clone();
                        Callback::from(move |status| dispatch.dispatch(AppAction::UpdateChanged(status)))
                    };
                    backend::on_update_updated(on_update, on_error.clone()).await;
                    let dispatch = dispatch.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        if let Ok(status) = backend::get_update_status().await {
                            dispatch.dispatch(AppAction::UpdateChanged(status));
                        }
                    });
                }
                {
                    let dispatch = dispatch.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        if let Ok(status) = backend::get_desktop_status().await {
                            on_desktop.emit(status);
                        }
                        if let Ok(Some(number)) = backend::take_pending_dial().await {
                            dispatch.dispatch(AppAction::DialRequested(number));
                        }
                    });
                }
                {
                    let dispatch = dispatch.clone();
                    let on_error = on_error.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        let settings = backend::get_settings().await.unwrap_or_default();
                        let preference = match settings.engine {
                            EngineChoice::Automatic => EnginePreference::Automatic,
                            EngineChoice::Webview => EnginePreference::Webview,
                            EngineChoice::Native => EnginePreference::Native,
                        };
                        dispatch.dispatch(AppAction::SettingsLoaded(settings));
                        call_engine::start(preference, webview_engine, on_choice, on_error);
                    });
                }
                // Each read on its own, and each re-read for the life of the window: an answer
                // the window never gets (WebKitGTK loses one now and then) must not hold up the
                // others, nor leave the status bar at "Starting" (CI saw it, with the shell Ready).
                {
                    let (dispatch, on_error) = (dispatch.clone(), on_error.clone());
                    wasm_bindgen_futures::spawn_local(async move {
                        match backend::get_app_info().await {
                            Ok(info) => dispatch.dispatch(AppAction::AppInfoLoaded(info)),
                            Err(error) => on_error.emit(error),
                        }
                    });
                }
                reread_connection_forever(dispatch.clone(), connection_events);
                {
                    let (dispatch, seen) = (dispatch.clone(), Rc::clone(&seen));
                    wasm_bindgen_futures::spawn_local(async move {
                        match backend::get_calls().await {
                            Ok(snapshot) => {
                                seen.saw(&snapshot);
                                dispatch.dispatch(AppAction::CallsLoaded(snapshot));
                            }
                            Err(error) => on_error.emit(error),
                        }
                    });
                }
                reread_calls_forever(seen, dispatch);
            });
        });
    }

    let help_open = use_state(|| false);
    // The key listener is installed once; it reads the latest snapshot through this ref.
    let latest_calls = use_mut_ref(CallsSnapshot::default);
    *latest_calls.borrow_mut() = state.calls.clone();
    {
        let dispatch = state.dispatcher();
        let help_open = help_open.clone();
        let latest_calls = latest_calls.clone();
        use_effect_with((), move |_| {
            let listener = Closure::<dyn FnMut(web_sys::KeyboardEvent)>::new(move |event: web_sys::KeyboardEvent| {
                let Some(shortcut) = shortcuts::shortcut_for(&key_press(&event)) else { return };
                event.prevent_default();
                match shortcut {
                    Shortcut::FocusDialer => {
                        dispatch.dispatch(AppAction::Open(Section::Dialer));
                        focus_soon("dial-number");
                    }
                    Shortcut::FocusSearch => {
                        dispatch.dispatch(AppAction::Open(Section::Leads));
                        focus_soon("lead-search");
                    }
                    Shortcut::CallListLead => run_list_action(|_| Some(DialingAction::Call)),
                    Shortcut::SkipListLead => {
                        dispatch.dispatch(AppAction::Open(Section::Lists));
                        focus_soon("session-skip-reason");
                    }
                    Shortcut::PauseList => run_list_action(|view| {
                        Some(if view?.paused { DialingAction::Resume } else { DialingAction::Pause })
                    }),
                    Shortcut::PickDisposition(place) => pick_disposition(place),
                    Shortcut::SaveWrapUp => click_first("#calls-panel .wrap-up-save"),
                    Shortcut::ToggleHelp => help_open.set(!*help_open),
                    Shortcut::CloseHelp => help_open.set(false),
                    call_shortcut => {
                        if let Some(action) = shortcuts::call_action(call_shortcut, &latest_calls.borrow()) {
                            run_call_action(action, dispatch.clone());
                        }
                    }
                }
            });
            let document = web_sys::window().and_then(|window| window.document());
            if let Some(document) = &document {
                let _ = document.add_event_listener_with_callback("keydown", listener.as_ref().unchecked_ref());
            }
            move || {
                if let Some(document) = document {
                    let _ = document.remove_event_listener_with_callback("keydown", listener.as_ref().unchecked_ref());
                }
                drop(listener);
            }
        });
    }

    // The missed-call badge: counted again whenever the calls change; seen when the log opens.
    {
        let dispatch = state.dispatcher();
        use_effect_with((state.calls.clone(), state.section), move |(_, section)| {
            let on_calls_page = *section == Section::Calls;
            wasm_bindgen_futures::spawn_local(async move {
                if on_calls_page {
                    let _ = backend::mark_missed_calls_seen().await;
                }
                if let Ok(count) = backend::get_unseen_missed_count().await {
                    dispatch.dispatch(AppAction::UnseenMissed(count));
                }
            });
        });
    }

    let on_open = {
        let dispatch = state.dispatcher();
        Callback::from(move |section| dispatch.dispatch(AppAction::Open(section)))
    };
    let on_help = {
        let help_open = help_open.clone();
        Callback::from(move |()| help_open.set(!*help_open))
    };
    let on_simulate_inbound = {
        let dispatch = state.dispatcher();
        Callback::from(move |()| {
            let dispatch = dispatch.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(error) = backend::simulate_inbound_call(None).await {
                    dispatch.dispatch(AppAction::ShellFailed(error));
                }
            });
        })
    };

    html! {
        <ContextProvider<ShownNumbers> context={shown_numbers}>
        <div class="app-frame">
            <Sidebar current={state.section} {on_open} unseen_missed={state.unseen_missed} />
            <main class="content">
                <RingingBanner calls={state.calls.clone()} desktop={state.desktop.clone()} />
                if let Some(notice) = state.audio_notice.clone() {
                    <div id="audio-notice" class="audio-notice" role="status">
                        <span class="audio-notice-text">{ notice }</span>
                        <button class="audio-notice-dismiss"
                            onclick={{ let dispatch = state.dispatcher(); Callback::from(move |_| dispatch.dispatch(AppAction::AudioNotice(None))) }}>
                            { "Dismiss" }
                        </button>
                    </div>
                }
                <CallsPanel calls={state.calls.clone()} />
                <SectionPage
                    section={state.section}
                    demo={state.demo()}
                    calls={state.calls.clone()}
                    import_progress={state.import_progress}
                    dial_request={state.dial_request.clone()}
                    lead_request={state.lead_request}
                    region={state.region()}
                    start_at_login={state.settings.as_ref().and_then(|settings| settings.start_at_login)}
                    on_settings_saved={{ let dispatch = state.dispatcher(); Callback::from(move |settings| dispatch.dispatch(AppAction::SettingsLoaded(settings))) }}
                    update={state.update.clone()}
                    app_version={state.app_info.as_ref().map(|info| info.version.clone())}
                    team={state.team.clone()}
                />
            </main>
            <RenderWatch />
            <StatusBar
                connection={state.connection.clone()}
                app_info={state.app_info.clone()}
                shell_error={state.shell_error.clone()}
                desktop={state.desktop.clone()}
                engine={state.engine}
                engine_notice={state.engine_notice.clone()}
                {on_help}
                {on_simulate_inbound}
                update={state.update.clone()}
                on_open_updates={{ let dispatch = state.dispatcher(); Callback::from(move |()| dispatch.dispatch(AppAction::Open(Section::Settings))) }}
                team={state.team.clone()}
            />
            if *help_open {
                <div id="help-overlay" class="overlay" role="dialog" aria-label="Keyboard shortcuts"
                    onclick={{ let help_open = help_open.clone(); Callback::from(move |_| help_open.set(false)) }}>
                    <div class="overlay-card">
                        <h2>{ "Keyboard shortcuts" }</h2>
                        <table class="shortcuts">
                            { for SHORTCUTS.iter().map(|(_, keys, what)| html! {
                                <tr><td><kbd>{ *keys }</kbd></td><td>{ *what }</td></tr>
                            }) }
                        </table>
                        <p class="muted">{ "Esc or a click closes this list." }</p>
                    </div>
                </div>
            }
        </div>
        </ContextProvider<ShownNumbers>>
    }
}

#[cfg(test)]
mod tests {
    use softphone_core::call::CallsSnapshot;

    use super::{CALLS_REREAD_IDLE_TICKS, SeenCalls, reread_due};

    #[test]
    fn calls_are_reread_every_tick_during_a_call_and_every_tenth_second_otherwise() {
        assert!((1..=20).all(|tick| reread_due(tick, true)));
        let idle: Vec<u32> = (1..=20).filter(|&tick| reread_due(tick, false)).collect();
        assert_eq!(idle, [5, 10, 15, 20]);
        assert_eq!(CALLS_REREAD_IDLE_TICKS * super::CALLS_REREAD_MS, 10_000);
    }

    #[test]
    fn an_older_snapshot_does_not_hide_a_newer_one() {
        let ringing = crate::state::inbound_ringing_call("call-1");
        let seen = SeenCalls::default();
        seen.saw(&CallsSnapshot { calls: vec![ringing], revision: 7, ..CallsSnapshot::default() });
        assert_eq!((seen.revision.get(), seen.any.get()), (7, true), "a call is up: re-read every tick");
        seen.saw(&CallsSnapshot { calls: Vec::new(), revision: 3, ..CallsSnapshot::default() });
        assert_eq!((seen.revision.get(), seen.any.get()), (7, true), "a late, older read changes nothing");
        seen.saw(&CallsSnapshot { calls: Vec::new(), revision: 8, ..CallsSnapshot::default() });
        assert_eq!((seen.revision.get(), seen.any.get()), (8, false));
    }
}
