//! The app's frame as an agent first sees it: sidebar, status bar, version from the shell.

mod common;

use common::App;
use fantoccini::Locator;

const SECTIONS: [(&str, &str); 5] = [
    ("dialer", "Dialer"),
    ("leads", "Leads"),
    ("calls", "Calls"),
    ("settings", "Settings"),
    ("diagnostics", "Diagnostics"),
];

#[tokio::test]
async fn window_shows_the_frame_with_version_from_the_shell() {
    let app = App::launch().await;

    // The version can only come from the shell's get_app_info command.
    let expected_version = format!("v{}", env!("CARGO_PKG_VERSION"));
    let version = app.wait_for_text("#app-version", |text| !text.is_empty()).await;
    assert_eq!(version, expected_version);

    for (slug, label) in SECTIONS {
        let nav = app.find(&format!("#nav-{slug}")).await;
        assert_eq!(nav.text().await.expect("nav text"), label);
    }
    // It opens on the dialer.
    let heading = app.wait_for_text("#section-dialer h1", |text| !text.is_empty()).await;
    assert_eq!(heading, "Dialer");

    // WebKitGTK has no WebRTC: the native engine logs in to the demo simulator, and the window
    // says which engine carries the calls.
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    app.find("#demo-badge").await;
    assert!(app.client.find(Locator::Css("#shell-error")).await.is_err(), "no command failed while starting");
    app.screenshot("frame").await;

    // Logs go to a file in the app's log directory.
    let log_dir = app.data_home.path().join("data/io.agentsoftphone.desktop/logs");
    let log_text: String = std::fs::read_dir(&log_dir)
        .unwrap_or_else(|error| panic!("no log directory at {}: {error}", log_dir.display()))
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("softphone.log"))
        .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
        .collect();
    assert!(log_text.contains("softphone started"), "log file says the app started: {log_text:?}");

    // The app paints without WebKit's accelerated compositing (a third less memory on machines
    // without a GPU driver): it started itself again with the switch set.
    let environment = std::fs::read(format!("/proc/{}/environ", app.app_pid())).expect("the app's environment");
    assert!(
        environment.split(|byte| *byte == 0).any(|entry| entry == b"WEBKIT_DISABLE_COMPOSITING_MODE=1"),
        "the app runs with WEBKIT_DISABLE_COMPOSITING_MODE=1"
    );

    app.close().await;
}

#[tokio::test]
async fn each_section_opens_from_the_sidebar() {
    let app = App::launch().await;
    app.find("#section-dialer").await;

    // Visit them in an order that also goes back to the first one.
    for (slug, label) in SECTIONS.iter().skip(1).chain(SECTIONS.iter().take(1)) {
        app.find(&format!("#nav-{slug}")).await.click().await.expect("click");
        let heading = app.wait_for_text(&format!("#section-{slug} h1"), |text| !text.is_empty()).await;
        assert_eq!(&heading, label);
        let current = app.find(".nav-item.current").await;
        assert_eq!(current.attr("id").await.expect("id"), Some(format!("nav-{slug}")));
        assert_eq!(
            app.client.find_all(Locator::Css(".section-page")).await.expect("pages").len(),
            1,
            "exactly one section is shown"
        );
        app.screenshot(&format!("section-{slug}")).await;
    }

    app.close().await;
}

#[tokio::test]
async fn the_window_comes_back_where_and_as_large_as_the_agent_left_it() {
    let app = App::launch().await;
    app.find("#section-dialer").await;
    let first = app.client.get_window_rect().await.expect("the window's rectangle");
    // Somewhere and some size the app would not pick by itself.
    let (x, y, width, height) = (140, 90, 1000, 700);
    assert_ne!((first.2, first.3), (u64::from(width), u64::from(height)), "a size the app does not start with");
    app.client.set_window_rect(x, y, width, height).await.expect("move and resize the window");
    let moved = app.client.get_window_rect().await.expect("the window's rectangle");
    assert_eq!((moved.2, moved.3), (u64::from(width), u64::from(height)), "the window was resized: {moved:?}");

    let data_home = app.close_window_and_wait().await;
    let app = App::launch_in(data_home).await;
    app.find("#section-dialer").await;
    let restored = app.client.get_window_rect().await.expect("the window's rectangle");
    assert_eq!(restored, moved, "the next run opens the window as it was left (x, y, width, height)");
    app.close().await;
}
