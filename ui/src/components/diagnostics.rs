use gloo::timers::callback::Interval;
use softphone_core::ipc::{Diagnostics, IpcError};
use yew::prelude::*;

use crate::backend;
use crate::wording;

/// How often the page asks the shell for fresh figures, in milliseconds.
const REFRESH_MS: u32 = 1000;

/// Engine, connection, audio devices and the media figures of every live call, refreshed every
/// second while the page is open.
#[function_component(DiagnosticsPage)]
pub fn diagnostics_page() -> Html {
    let diagnostics = use_state(|| None::<Diagnostics>);
    let error = use_state(|| None::<IpcError>);
    {
        let (diagnostics, error) = (diagnostics.clone(), error.clone());
        use_effect_with((), move |_| {
            let refresh = move || {
                let (diagnostics, error) = (diagnostics.clone(), error.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    match backend::get_diagnostics().await {
                        Ok(figures) => {
                            diagnostics.set(Some(figures));
                            error.set(None);
                        }
                        Err(failure) => error.set(Some(failure)),
                    }
                });
            };
            refresh();
            let interval = Interval::new(REFRESH_MS, refresh);
            move || drop(interval)
        });
    }
    let figure = |value: Option<f64>, unit: &str| value.map_or_else(|| "—".to_owned(), |v| format!("{v:.1} {unit}"));
    html! {
        <div class="diagnostics">
            if let Some(failure) = &*error {
                <p class="error" role="alert">{ wording::error_sentence(failure) }</p>
            }
            if let Some(figures) = &*diagnostics {
                <dl class="diagnostics-summary">
                    <dt>{ "Engine" }</dt>
                    <dd id="diagnostics-engine">{ figures.engine.map_or("Not chosen yet", |engine| engine.label()) }</dd>
                    <dt>{ "Connection" }</dt>
                    <dd id="diagnostics-connection">
                        { figures.connection.state.label() }
                        { figures.connection.reason.as_ref().map(|reason| format!(" — {reason}")).unwrap_or_default() }
                    </dd>
                    <dt>{ "Audio" }</dt>
                    <dd id="diagnostics-audio">{ &figures.audio }</dd>
                </dl>
                if figures.calls.is_empty() {
                    <p class="empty">{ "No call is carrying media right now." }</p>
                } else {
                    <table class="diagnostics-calls">
                        <thead><tr>
                            <th>{ "Codec" }</th><th>{ "ICE" }</th><th>{ "Path" }</th><th>{ "RTT" }</th><th>{ "Jitter" }</th>
                            <th>{ "Loss" }</th><th>{ "MOS" }</th><th>{ "Heard" }</th><th>{ "Mic" }</th>
                        </tr></thead>
                        <tbody>
                            { for figures.calls.iter().map(|call| html! {
                                <tr class="diagnostics-call" data-call-id={call.call_id.clone()}>
                                    <td class="codec">{ call.codec.clone().unwrap_or_else(|| "—".into()) }</td>
                                    <td class="ice">{ &call.ice_state }</td>
                                    <td class="route">{ route_label(call.route.as_deref()) }</td>
                                    <td>{ figure(call.rtt_ms, "ms") }</td>
                                    <td>{ figure(call.jitter_ms, "ms") }</td>
                                    <td>{ figure(call.packet_loss_percent, "%") }</td>
                                    <td class="mos">{ call.mos.map_or_else(|| "—".to_owned(), |mos| format!("{mos:.2}")) }</td>
                                    <td class="heard">
                                        { figure(call.output_level_dbfs, "dBFS") }
                                        { call.heard_hz.map(|hz| format!(" at {hz:.0} Hz")).unwrap_or_default() }
                                    </td>
                                    <td class="mic">{ figure(call.input_level_dbfs, "dBFS") }</td>
                                </tr>
                            }) }
                        </tbody>
                    </table>
                }
            }
        </div>
    }
}

/// How the call's audio travels, in an agent's words.
fn route_label(route: Option<&str>) -> &'static str {
    match route {
        Some("host") => "Direct",
        // A browser names a mapping it learned from the far end's checks peer-reflexive.
        Some("srflx" | "prflx") => "Direct (through NAT)",
        Some("relay") => "TURN relay",
        _ => "—",
    }
}

#[cfg(test)]
mod tests {
    use super::route_label;

    #[test]
    fn each_route_the_engines_report_has_words() {
        assert_eq!(route_label(Some("host")), "Direct");
        assert_eq!(route_label(Some("srflx")), "Direct (through NAT)");
        assert_eq!(route_label(Some("relay")), "TURN relay");
        assert_eq!(route_label(Some("prflx")), "Direct (through NAT)");
        assert_eq!(route_label(Some("mdns")), "—");
        assert_eq!(route_label(None), "—");
    }
}
