// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    #[cfg(target_os = "linux")]
    start_with_webview_environment();
    softphone_shell::run();
}

/// Switches WebKitGTK reads from the environment once, at start-up, in the app and in the web
/// process it spawns. Someone who sets one of them, to any value, keeps their choice.
#[cfg(target_os = "linux")]
const WEBVIEW_ENVIRONMENT: [(&str, &str); 2] = [
    // Accelerated compositing, on the many agent machines without a GPU driver, renders through
    // Mesa's software GL and keeps its buffers: 77 MiB more at start-up and about 110 MiB more
    // after a few calls (soak, LEARNINGS 2026-12-04). The window has no 3D or video, so painting
    // it in software loses nothing the agent sees.
    ("WEBKIT_DISABLE_COMPOSITING_MODE", "1"),
    // JavaScriptCore's optimizing WebAssembly tier (OMG). The UI's wasm twice computed what safe
    // Rust cannot, both times in regex-automata's big loops (a search that "should find a
    // match", an out-of-bounds access while building an NFA), never reproduced natively nor with
    // the same input again: a miscompiled tier-up is the likeliest cause (LEARNINGS 2026-12-05,
    // not proven). Without OMG the UI runs on the baseline compiler (BBQ), and the e2e suites
    // took as long (dialer, settings, leads: 10.6 / 27.5 / 26.8 s against 11.1 / 28.3 / 28.9 s).
    ("JSC_useOMGJIT", "0"),
];

/// Starts the app again, as the same process with the same arguments, when a switch of
/// [`WEBVIEW_ENVIRONMENT`] is missing: they must be in the environment before any thread runs,
/// and setting them in a running process is not sound.
#[cfg(target_os = "linux")]
fn start_with_webview_environment() {
    use std::os::unix::process::CommandExt;
    let missing: Vec<(&str, &str)> =
        WEBVIEW_ENVIRONMENT.into_iter().filter(|(name, _)| std::env::var_os(name).is_none()).collect();
    if missing.is_empty() {
        return;
    }
    let Ok(binary) = std::env::current_exe() else { return };
    let error = std::process::Command::new(binary).args(std::env::args_os().skip(1)).envs(missing).exec();
    eprintln!("softphone: started without the webview's switches ({error})");
}
