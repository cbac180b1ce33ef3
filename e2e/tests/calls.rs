//! Real calls in the real window: demo mode, the native engine (WebKitGTK has no WebRTC), fake
//! audio devices (the microphone plays 880 Hz; the speaker measures what it plays), and the
//! built-in simulator at the far end, checked through its control API.

mod common;

use common::{App, until_sim};
use fantoccini::Locator;
use serde_json::{Value, json};

/// The first sample lead, on the simulator's tone number (+1 555-555-0100, plays 440 Hz).
const TONE_LEAD: &str = "Evelyn Patel";
const TONE_NUMBER: &str = "+15555550100";

fn hears(call: &Value, hz: f64) -> bool {
    call["heard"]["dominant_hz"].as_f64().is_some_and(|heard| (heard - hz).abs() < 15.0)
}

/// Waits until the in-call meter reports what the speaker plays at about `hz`.
async fn until_meter_hears(app: &App, hz: f64) {
    let deadline = std::time::Instant::now() + common::UI_TIMEOUT;
    let mut last = None;
    while std::time::Instant::now() < deadline {
        if let Ok(meter) = app.client.find(Locator::Css("#meter-output")).await {
            last = meter.attr("data-hz").await.ok().flatten();
            if last.as_deref().and_then(|text| text.parse::<f64>().ok()).is_some_and(|heard| (heard - hz).abs() < 15.0)
            {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the in-call meter never heard {hz} Hz; last: {last:?}");
}

#[tokio::test]
async fn a_call_to_a_lead_has_audio_holds_sends_digits_and_is_wrapped_up_into_the_log() {
    let app = App::launch().await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;

    app.open("leads").await;
    app.type_into("#lead-search", "Evelyn Patel").await;
    app.wait_for_text("#lead-results", |text| text.contains(TONE_LEAD)).await;
    app.find("#lead-results .lead-row").await.click().await.expect("open the lead");
    app.wait_for_text("#lead-detail .detail-name", |text| text == TONE_LEAD).await;
    app.find("#lead-call").await.click().await.expect("call the lead");

    app.wait_for_text("#calls-panel .call-state", |text| text == "Active").await;
    until_meter_hears(&app, 440.0).await;
    let call = until_sim(&app, "the agent's microphone", |call| hears(call, 880.0)).await;
    assert_eq!(call["to"], TONE_NUMBER);
    app.screenshot("call-active").await;

    app.find("#calls-panel .hold").await.click().await.expect("hold");
    app.wait_for_text("#calls-panel .call-state", |text| text == "On hold").await;
    until_sim(&app, "the hold", |call| call["hold_state"] == "held").await;
    app.screenshot("call-held").await;
    app.find("#calls-panel .resume").await.click().await.expect("resume");
    app.wait_for_text("#calls-panel .call-state", |text| text == "Active").await;

    app.find("#calls-panel .keypad-toggle").await.click().await.expect("keypad");
    for key in ["1", "2", "#"] {
        app.find(&format!("#calls-panel .dtmf .key[data-key='{key}']")).await.click().await.expect("key");
    }
    until_sim(&app, "the digits", |call| call["dtmf"] == "12#").await;

    // Diagnostics: the engine, and the call's media as the native engine measures it.
    app.open("diagnostics").await;
    app.wait_for_text("#diagnostics-engine", |text| text.starts_with("Native")).await;
    app.wait_for_text(".diagnostics-call .codec", |text| text.eq_ignore_ascii_case("opus")).await;
    app.wait_for_text(".diagnostics-call .ice", |text| text == "connected" || text == "completed").await;
    app.wait_for_text(".diagnostics-call .mos", |text| text.parse::<f64>().is_ok_and(|mos| mos > 3.5)).await;
    // The demo simulator is on this machine: the audio goes directly, not through a relay.
    app.wait_for_text(".diagnostics-call .route", |text| text == "Direct").await;
    app.screenshot("call-diagnostics").await;

    app.find("#calls-panel .hangup").await.click().await.expect("hang up");
    app.wait_for_text("#calls-panel .call-state", |text| text.starts_with("Ended")).await;
    until_sim(&app, "the end of the call", |call| !call["end"].is_null()).await;

    // The wrap-up proposes "Answered"; the agent picks Callback and writes a note.
    let proposed = app.find("#calls-panel .wrap-up-disposition").await;
    assert_eq!(proposed.prop("value").await.expect("value").as_deref(), Some("answered"));
    proposed.select_by_value("callback").await.expect("pick Callback");
    app.type_into("#calls-panel .wrap-up-note", "Call back Tuesday after 10").await;
    app.screenshot("call-wrap-up").await;
    app.find("#calls-panel .wrap-up-save").await.click().await.expect("save the wrap-up");
    app.wait_for_count("#calls-panel", |count| count == 0).await;

    app.open("calls").await;
    let row = app.wait_for_text("#call-log .log-row", |text| text.contains("Callback")).await;
    assert!(row.contains(TONE_LEAD), "the log row names the lead: {row}");
    let note = app.find("#call-log .log-row .log-note").await.text().await.expect("the note");
    assert_eq!(note, "Call back Tuesday after 10", "the log row shows the note");
    app.screenshot("call-in-log").await;
    app.close().await;
}

#[tokio::test]
async fn an_inbound_call_from_a_lead_pops_the_lead_and_is_answered_from_the_window() {
    let app = App::launch().await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;

    let started: Value = common::http()
        .post(format!("{}/control/calls/inbound", app.simulator_url().await))
        .json(&json!({ "from": TONE_NUMBER, "caller_name": "Front desk" }))
        .send()
        .await
        .expect("the control API rings the app")
        .json()
        .await
        .expect("JSON");
    let call_id = started["call_id"].as_str().expect("a call id").to_owned();

    app.wait_for_text("#calls-panel .call-state", |text| text == "Ringing").await;
    // Screen-pop: the caller's number belongs to a lead.
    app.wait_for_text("#calls-panel .call-lead", |text| text == TONE_LEAD).await;
    app.screenshot("call-incoming").await;
    app.find("#calls-panel .answer").await.click().await.expect("answer");
    app.wait_for_text("#calls-panel .call-state", |text| text == "Active").await;
    until_meter_hears(&app, 440.0).await;
    until_sim(&app, "the answered call hearing the agent", |call| call["id"] == call_id.as_str() && hears(call, 880.0))
        .await;

    // Transferred: Telnyx names the new far end (telnyx_rtc.display) and the card follows.
    let display = common::http()
        .post(format!("{}/control/calls/{call_id}/display", app.simulator_url().await))
        .json(&json!({ "name": "Billing desk", "number": "+14155550199" }))
        .send()
        .await
        .expect("the control API sends a display update");
    assert!(display.status().is_success(), "{}", display.status());
    app.wait_for_text("#calls-panel .call-number", |text| text == "+1 415-555-0199").await;
    app.wait_for_text("#calls-panel .call-remote-name", |text| text == "Billing desk").await;
    app.screenshot("call-transferred").await;

    // A second caller while this call is on: answering would hold this one, and the button says so.
    let second = common::ring_from(&app, "+14155550142", "Second caller").await;
    let waiting = format!("#call-{second}");
    app.wait_for_text(&format!("{waiting} .answer"), |text| text == "Hold & answer").await;
    app.find(&format!("{waiting} .decline")).await.click().await.expect("decline the second call");
    app.wait_for_text(&format!("{waiting} .call-state"), |text| text.contains("Declined")).await;
    app.find(&format!("{waiting} .dismiss")).await.click().await.expect("dismiss it");
    app.wait_for_count(&waiting, |count| count == 0).await;

    common::http()
        .post(format!("{}/control/calls/{call_id}/hangup", app.simulator_url().await))
        .json(&json!({}))
        .send()
        .await
        .expect("the caller hangs up");
    app.wait_for_text("#calls-panel .call-state", |text| text.starts_with("Ended")).await;
    app.find("#calls-panel .wrap-up").await;
    app.find("#calls-panel .dismiss").await.click().await.expect("dismiss");

    // The demo menu rings the app from a sample lead too.
    app.find("#simulate-inbound").await.click().await.expect("simulate an inbound call");
    app.wait_for_text("#calls-panel .call-state", |text| text == "Ringing").await;
    app.find("#calls-panel .decline").await.click().await.expect("decline");
    app.wait_for_text("#calls-panel .call-state", |text| text.contains("Declined")).await;
    until_sim(&app, "the decline as USER_BUSY", |call| call["end"]["cause"] == "USER_BUSY").await;
    app.close().await;
}

/// WebDriver key codes.
const ALT: &str = "\u{E00A}";
const F1: &str = "\u{E031}";
const ESCAPE: &str = "\u{E00C}";
/// Releases the modifiers held in a `send_keys` sequence.
const RELEASE: &str = "\u{E000}";

#[tokio::test]
async fn the_keyboard_answers_mutes_and_ends_a_call_and_lists_its_shortcuts() {
    let app = App::launch().await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    let body = app.find("body").await;

    body.send_keys(F1).await.expect("F1");
    app.wait_for_text("#help-overlay", |text| text.contains("Answer the ringing call")).await;
    app.screenshot("shortcuts-help").await;
    body.send_keys(ESCAPE).await.expect("Escape");
    app.wait_for_count("#help-overlay", |count| count == 0).await;

    app.find("#simulate-inbound").await.click().await.expect("simulate an inbound call");
    app.wait_for_text("#calls-panel .call-state", |text| text == "Ringing").await;
    body.send_keys(&format!("{ALT}a{RELEASE}")).await.expect("Alt+A");
    app.wait_for_text("#calls-panel .call-state", |text| text == "Active").await;
    body.send_keys(&format!("{ALT}m{RELEASE}")).await.expect("Alt+M");
    app.wait_for_text("#calls-panel .call-muted", |text| text == "Muted").await;
    until_sim(&app, "silence from the muted agent", |call| {
        call["state"] == "active" && call["heard"]["dominant_hz"].is_null()
    })
    .await;
    body.send_keys(&format!("{ALT}e{RELEASE}")).await.expect("Alt+E");
    app.wait_for_text("#calls-panel .call-state", |text| text.starts_with("Ended")).await;

    // Alt+D puts the cursor in the dialer's number field.
    body.send_keys(&format!("{ALT}d{RELEASE}")).await.expect("Alt+D");
    // (The window moves the focus once the dialer is painted, so the test waits for it.)
    app.find("#section-dialer").await;
    app.wait_for_count("#dial-number:focus", |count| count == 1).await;
    app.close().await;
}

#[tokio::test]
async fn a_headset_unplugged_mid_call_leaves_the_call_on_the_default_devices_and_says_so() {
    let app = App::launch().await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;

    // The agent works on a headset: chosen in Settings for the microphone and the speaker.
    app.open("settings").await;
    app.wait_for_text("#settings-speaker", |text| text.contains("Fake headset")).await;
    app.find("#settings-microphone").await.select_by_value("Fake headset microphone").await.expect("headset mic");
    app.find("#settings-speaker").await.select_by_value("Fake headset").await.expect("headset");
    app.find("#save-settings").await.click().await.expect("save");
    app.wait_for_text("#settings-saved", |text| text == "Saved").await;

    app.open("dialer").await;
    app.type_into("#dial-number", TONE_NUMBER).await;
    app.find("#dial-call").await.click().await.expect("call");
    app.wait_for_text("#calls-panel .call-state", |text| text == "Active").await;
    until_meter_hears(&app, 440.0).await;
    app.open("diagnostics").await;
    app.wait_for_text("#diagnostics-audio", |text| text.contains("Speaker: Fake headset")).await;

    // The headset's cable comes out.
    app.client
        .execute(
            "return window.__TAURI__.core.invoke('unplug_fake_audio_device', { name: arguments[0] });",
            vec![json!("Fake headset")],
        )
        .await
        .expect("the headset is unplugged");
    let notice = app.wait_for_text("#audio-notice .audio-notice-text", |text| !text.is_empty()).await;
    assert!(
        notice.contains("Fake headset") && notice.contains("disconnected") && notice.contains("Fake speaker"),
        "the agent reads which device went and where the sound is now: {notice}"
    );
    app.screenshot("audio-headset-unplugged").await;

    // The call goes on, and the far end is heard on the default speaker.
    assert_eq!(app.find("#calls-panel .call-state").await.text().await.expect("state"), "Active");
    app.wait_for_text("#diagnostics-audio", |text| text.contains("Speaker: system default")).await;
    until_meter_hears(&app, 440.0).await;
    let call = until_sim(&app, "the agent's microphone", |call| hears(call, 880.0)).await;
    assert!(call["end"].is_null(), "the call is still up at the far end: {call}");

    app.find("#audio-notice .audio-notice-dismiss").await.click().await.expect("dismiss");
    let deadline = std::time::Instant::now() + common::UI_TIMEOUT;
    while app.client.find(Locator::Css("#audio-notice")).await.is_ok() {
        assert!(std::time::Instant::now() < deadline, "the notice stays after Dismiss");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.find("#calls-panel .hangup").await.click().await.expect("hang up");
    app.wait_for_text("#calls-panel .call-state", |text| text.starts_with("Ended")).await;
    app.close().await;
}

/// The share of bytes that differ between two captures of the same area.
fn differing_share(before: &[u8], after: &[u8]) -> f64 {
    assert_eq!(before.len(), after.len(), "the two captures are of one area");
    let differing = before.iter().zip(after).filter(|(a, b)| a.abs_diff(**b) > 8).count();
    differing as f64 / before.len().max(1) as f64
}

#[tokio::test]
async fn a_window_whose_own_code_fails_mid_render_reloads_and_shows_the_ringing_call() {
    let app = App::launch().await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    // The agent has begun a number, and gone to look someone up in the leads.
    app.type_into("#dial-number", "+1415555").await;
    app.open("leads").await;
    app.type_into("#lead-search", "Evelyn Patel").await;
    app.wait_for_text("#lead-results", |text| text.contains("Evelyn Patel") && !text.contains("Abigail")).await;
    // The browser refuses the next node the window inserts, once, as WebKit may when a page's
    // state and its DOM disagree. Yew meets it mid-render; nothing unwinds in wasm, so Yew stays
    // locked and the window would never draw again: the ringing call CI once never saw.
    app.client
        .execute(
            "window.__beforeTheFailure = true;
             const insert = Node.prototype.insertBefore;
             Node.prototype.insertBefore = function () {
               Node.prototype.insertBefore = insert;
               throw new DOMException('refused by the test', 'HierarchyRequestError');
             };
             return true;",
            vec![],
        )
        .await
        .expect("the next insertion is set to fail");
    common::ring_from(&app, TONE_NUMBER, "Front desk").await;

    // The shell reloads the window, which reads the ringing call from the shell and opens where
    // the agent was.
    app.wait_for_text("#calls-panel .call-state", |text| text == "Ringing").await;
    let reloaded = app.client.execute("return window.__beforeTheFailure !== true;", vec![]).await.expect("script");
    assert_eq!(reloaded, json!(true), "the window showing the call is a reloaded one");
    let search = app.find("#lead-search").await.prop("value").await.expect("the search's value");
    assert_eq!(search.as_deref(), Some("Evelyn Patel"), "the search is as the agent left it");
    app.wait_for_text("#lead-results", |text| text.contains("Evelyn Patel") && !text.contains("Abigail")).await;
    // And the number begun is still in the dialer.
    app.open("dialer").await;
    let begun = app.find("#dial-number").await.prop("value").await.expect("the field's value");
    assert_eq!(begun.as_deref(), Some("+1 415-555"), "the dialer kept the number begun");
    let log = app.log_text();
    assert!(log.contains("the window failed; reloading the window"), "{}", app.log_tail());
    // Yew's panic over the refused node, with its place.
    assert!(log.contains("failed to insert node"), "the log says what failed: {}", app.log_tail());
    app.screenshot("window-failure-recovered").await;

    // And the reloaded window works the call.
    app.find("#calls-panel .answer").await.click().await.expect("answer");
    app.wait_for_text("#calls-panel .call-state", |text| text == "Active").await;
    app.close().await;
}

#[tokio::test]
async fn a_window_whose_web_process_crashes_mid_call_comes_back_with_the_call_still_up() {
    let app = App::launch().await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    app.type_into("#dial-number", TONE_NUMBER).await;
    app.find("#dial-call").await.click().await.expect("call");
    app.wait_for_text("#calls-panel .call-state", |text| text == "Active").await;
    until_meter_hears(&app, 440.0).await;
    // What the agent sees of the call that does not tick: who, the state and the buttons; and the
    // status bar. And the talk time, which does.
    let head = app.area_of("#calls-panel .call-head").await;
    let state = app.area_of("#calls-panel .call-state").await;
    let actions = app.area_of("#calls-panel .call-actions").await;
    let status_bar = app.area_of("#connection-state").await;
    let timer = app.area_of("#calls-panel .call-timer").await;
    let areas = [head, state, actions, status_bar];
    let seen_before: Vec<Vec<u8>> = areas.iter().map(|&area| app.pixels_in(area)).collect();
    app.screenshot("web-process-before-crash").await;

    // WebKit's content process dies (a WebKit bug, the OOM killer). The window keeps its last
    // picture but is dead to the agent. WebKitWebDriver ends its session with the page, so from
    // here the window is read from the X server and driven by its keyboard, as the agent does.
    let crashed = app.web_process().expect("the window has a web process");
    let killed = std::process::Command::new("kill").args(["-KILL", &crashed.to_string()]).status().expect("kill");
    assert!(killed.success(), "kill -9 {crashed}");

    // The shell reloads the window, which shows the same call, still up, and the status bar again.
    let deadline = std::time::Instant::now() + common::UI_TIMEOUT;
    loop {
        let reborn = app.web_process().filter(|&pid| pid != crashed);
        let differences: Vec<f64> = areas
            .iter()
            .zip(&seen_before)
            .map(|(&area, before)| differing_share(before, &app.pixels_in(area)))
            .collect();
        if reborn.is_some() && differences.iter().all(|&share| share < 0.01) {
            break;
        }
        if std::time::Instant::now() >= deadline {
            let path = common::screenshot_dir().join("web-process-crash-not-recovered.png");
            let _ = std::process::Command::new("import").args(["-window", &app.x11_window()]).arg(&path).status();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the window did not come back as it was (new web process: {reborn:?}; share of pixels changed per \
             area: {differences:?})\n{}",
            app.log_tail()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(app.log_text().contains("web process ended; reloading"), "{}", app.log_tail());
    // Alive, not a picture: the talk time ticks on.
    let talk_time = app.pixels_in(timer);
    let deadline = std::time::Instant::now() + common::UI_TIMEOUT;
    while differing_share(&talk_time, &app.pixels_in(timer)) == 0.0 {
        assert!(std::time::Instant::now() < deadline, "the talk time stands still in the reloaded window");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let call = until_sim(&app, "the far end, after the crash", |call| hears(call, 880.0)).await;
    assert!(call["end"].is_null(), "the crash did not hang the call up: {call}");
    let path = common::screenshot_dir().join("web-process-crash-recovered.png");
    let captured = std::process::Command::new("import").args(["-window", &app.x11_window()]).arg(&path).status();
    assert!(captured.is_ok_and(|status| status.success()), "the recovered window is captured");

    // And the reloaded window still works the call: the agent's hang-up shortcut ends it, and the
    // card stops saying "Active".
    app.press_keys("alt+e");
    until_sim(&app, "the call's end, from the reloaded window", |call| !call["end"].is_null()).await;
    let deadline = std::time::Instant::now() + common::UI_TIMEOUT;
    while differing_share(&seen_before[1], &app.pixels_in(state)) < 0.01 {
        assert!(std::time::Instant::now() < deadline, "the call card still says Active after the hang-up");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    app.quit().await;
}
