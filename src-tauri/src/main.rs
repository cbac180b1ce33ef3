// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    #[cfg(target_os = "linux")]
    paint_in_software();
    softphone_shell::run();
}

/// WebKitGTK's accelerated compositing, on the many agent machines without a GPU driver, renders
/// through Mesa's software GL and keeps its buffers: 77 MiB more at start-up and about 110 MiB
/// more after a few calls (soak, LEARNINGS 2026-12-04). The window has no 3D or video, so painting
/// it in software loses nothing the agent sees. WebKit reads the switch from the environment at
/// start-up, before any thread could be told, so the app starts itself again with it set (same
/// process, same arguments). Someone who sets the variable, to 0 or 1, keeps their choice.
#[cfg(target_os = "linux")]
fn paint_in_software() {
    use std::os::unix::process::CommandExt;
    const SWITCH: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
    if std::env::var_os(SWITCH).is_some() {
        return;
    }
    let Ok(binary) = std::env::current_exe() else { return };
    let error = std::process::Command::new(binary).args(std::env::args_os().skip(1)).env(SWITCH, "1").exec();
    eprintln!("softphone: painting with GPU compositing ({error})");
}
