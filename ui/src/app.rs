use yew::prelude::*;

use crate::backend;
use crate::components::{CallsPanel, SectionPage, Sidebar, StatusBar};
use crate::state::{AppAction, AppState};

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer(AppState::default);

    {
        let dispatch = state.dispatcher();
        use_effect_with((), move |_| {
            let on_status = {
                let dispatch = dispatch.clone();
                Callback::from(move |status| dispatch.dispatch(AppAction::ConnectionUpdated(status)))
            };
            let on_error = {
                let dispatch = dispatch.clone();
                Callback::from(move |error| dispatch.dispatch(AppAction::ShellFailed(error)))
            };
            let on_calls = {
                let dispatch = dispatch.clone();
                Callback::from(move |snapshot| dispatch.dispatch(AppAction::CallsUpdated(snapshot)))
            };
            backend::on_connection_updated(on_status.clone(), on_error.clone());
            backend::on_calls_updated(on_calls.clone(), on_error.clone());
            {
                let dispatch = dispatch.clone();
                let on_progress =
                    Callback::from(move |progress| dispatch.dispatch(AppAction::ImportProgressed(progress)));
                backend::on_import_progress(on_progress, on_error.clone());
            }
            wasm_bindgen_futures::spawn_local(async move {
                match backend::get_app_info().await {
                    Ok(info) => dispatch.dispatch(AppAction::AppInfoLoaded(info)),
                    Err(error) => on_error.emit(error),
                }
                match backend::get_connection_status().await {
                    Ok(status) => on_status.emit(status),
                    Err(error) => on_error.emit(error),
                }
                match backend::get_calls().await {
                    Ok(snapshot) => on_calls.emit(snapshot),
                    Err(error) => on_error.emit(error),
                }
            });
        });
    }

    let on_open = {
        let dispatch = state.dispatcher();
        Callback::from(move |section| dispatch.dispatch(AppAction::Open(section)))
    };

    html! {
        <div class="app-frame">
            <Sidebar current={state.section} {on_open} />
            <main class="content">
                <CallsPanel calls={state.calls.clone()} />
                <SectionPage
                    section={state.section}
                    demo={state.demo()}
                    calls={state.calls.clone()}
                    import_progress={state.import_progress}
                />
            </main>
            <StatusBar
                connection={state.connection.clone()}
                app_info={state.app_info.clone()}
                shell_error={state.shell_error.clone()}
            />
        </div>
    }
}
