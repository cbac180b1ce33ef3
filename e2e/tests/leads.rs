//! The lead list in demo mode: seeded samples, search as the agent types, a lead's card, and a
//! call to a lead.

mod common;

use common::App;

/// The first sample lead (softphone_core::demo_leads), on the simulator's tone number.
const FIRST_SAMPLE: &str = "Evelyn Patel";

#[tokio::test]
async fn demo_leads_are_seeded_and_searching_a_name_prefix_narrows_the_list() {
    let app = App::launch().await;
    app.open("leads").await;

    // The first page of samples, and more behind it (the list renders the rows in view).
    app.wait_for_count("#lead-results .lead-row", |count| count > 5).await;
    app.screenshot("leads-first-page").await;
    app.find("#lead-more").await;

    app.type_into("#lead-search", "Evel").await;
    // The "More" button goes with the unfiltered list: the matches fit one page.
    let deadline = std::time::Instant::now() + common::UI_TIMEOUT;
    while app.client.find(fantoccini::Locator::Css("#lead-more")).await.is_ok() {
        assert!(std::time::Instant::now() < deadline, "the search never narrowed the list");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.wait_for_text("#lead-results", |text| text.contains(FIRST_SAMPLE)).await;
    let names = app.client.find_all(fantoccini::Locator::Css("#lead-results .lead-name")).await.expect("names");
    assert!(!names.is_empty());
    for name in names {
        let name = name.text().await.expect("name");
        assert!(name.starts_with("Evel"), "only matches are listed: {name}");
    }

    // Open the first sample (on the simulator's tone number): its card shows the fields and the
    // notes can be saved.
    let row = app
        .client
        .find(fantoccini::Locator::XPath(&format!(
            "//*[contains(@class, 'lead-row')][.//*[contains(@class, 'lead-name') and text() = '{FIRST_SAMPLE}']]"
        )))
        .await
        .expect("the first sample is listed");
    row.click().await.expect("open the lead");
    let name = app.wait_for_text("#lead-detail .detail-name", |text| !text.is_empty()).await;
    assert_eq!(name, FIRST_SAMPLE);
    app.type_into("#lead-notes", " Demo note.").await;
    app.find("#lead-save-notes").await.click().await.expect("save");
    app.wait_for_text("#lead-detail .saved", |text| text == "Saved").await;
    app.screenshot("leads-search").await;

    // Call the lead: the calls panel shows the call with the lead's name.
    app.find("#lead-call").await.click().await.expect("call the lead");
    app.wait_for_text("#calls-panel .call-lead", |text| text == name).await;
    // The simulator's tone number answers after two seconds.
    app.wait_for_text("#calls-panel .call-state", |text| text == "Dialing" || text == "Active").await;
    // The lead's history lists the call as it starts.
    app.wait_for_text("#lead-detail .lead-calls", |text| text.contains("In progress")).await;
    app.screenshot("leads-call").await;

    app.close().await;
}

#[tokio::test]
async fn scrolling_the_lead_list_loads_every_lead_while_the_window_renders_a_screenful() {
    let app = App::launch().await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    app.open("leads").await;
    app.wait_for_count("#lead-results .lead-row", |count| count > 5).await;
    let first_name = app.find("#lead-results .lead-name").await.text().await.expect("the first lead's name");
    // The last of the 300 samples, as the shell lists them.
    let last: serde_json::Value = app
        .client
        .execute(
            "return window.__TAURI__.core.invoke('search_leads', { query: '', page: { limit: 1, offset: 299 } });",
            vec![],
        )
        .await
        .expect("the shell lists leads");
    let last_name = last[0]["name"].as_str().expect("a 300th lead").to_owned();

    // The agent scrolls down, a screen at a time, until the list ends.
    let mut most_rows = 0;
    let deadline = std::time::Instant::now() + common::UI_TIMEOUT * 2;
    loop {
        app.client
            .execute("const list = document.getElementById('lead-results'); list.scrollTop += list.clientHeight; return true;", vec![])
            .await
            .expect("scroll");
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
        let rows = app.client.find_all(fantoccini::Locator::Css("#lead-results .lead-row")).await.expect("rows").len();
        most_rows = most_rows.max(rows);
        let text = app.find("#lead-results").await.text().await.unwrap_or_default();
        if text.contains(&last_name) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "scrolling never reached {last_name}");
    }
    assert!(most_rows <= 40, "the DOM held {most_rows} rows of 300: the list is not virtualized");
    let scroll_height: serde_json::Value = app
        .client
        .execute("return document.getElementById('lead-results').scrollHeight;", vec![])
        .await
        .expect("scroll height");
    assert!(
        scroll_height.as_f64().unwrap_or(0.0) >= 300.0 * 52.0,
        "the scrollbar spans all 300 leads: {scroll_height}"
    );
    assert!(app.client.find(fantoccini::Locator::Css("#lead-more")).await.is_err(), "every page is loaded");
    app.screenshot("leads-scrolled-to-the-end").await;

    // Back at the top, the first lead is there again.
    app.client
        .execute("document.getElementById('lead-results').scrollTop = 0; return true;", vec![])
        .await
        .expect("scroll to the top");
    app.wait_for_text("#lead-results .lead-name", |text| text == first_name).await;
    app.close().await;
}

/// A CSV with two good rows and one that cannot be imported (no phone number).
const IMPORT_CSV: &str = "Name,Company,Phone,Email\n\
Quinn Okafor,Harbor Freight Lines,+44 20 7946 0958,quinn@example.com\n\
Broken Row,Nowhere Inc,,broken@example.com\n\
Rosa Lindqvist,Nordic Mills,+46 8 123 456 78,rosa@example.com\n";

#[tokio::test]
async fn imported_lead_keeps_its_note_and_wrap_up_after_a_restart() {
    let app = App::launch().await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    let csv = app.data_home.path().join("leads.csv");
    std::fs::write(&csv, IMPORT_CSV).expect("CSV written");

    app.open("leads").await;
    app.find("#import-open").await.click().await.expect("open the import");
    app.type_into("#import-path", csv.to_str().expect("utf-8 path")).await;
    app.find("#import-run").await.click().await.expect("import");
    let report = app.wait_for_text(".import-report", |text| text.contains("added")).await;
    assert!(report.starts_with("2 added, 0 merged, 1 rejected."), "{report}");
    assert!(report.contains("Line 3"), "the bad row is named by its line: {report}");
    app.screenshot("leads-import-report").await;

    app.type_into("#lead-search", "Quinn Okafor").await;
    app.wait_for_count("#lead-results .lead-row", |count| count == 1).await;
    // A London number reads with London's grouping, in the list and on the lead (the window has
    // no numbering metadata: the shell formats it).
    app.wait_for_text("#lead-results .lead-phone", |text| text == "+44 20 7946 0958").await;
    app.find("#lead-results .lead-row").await.click().await.expect("open the lead");
    app.wait_for_text("#lead-detail .detail-name", |text| text == "Quinn Okafor").await;
    app.wait_for_text("#lead-detail .detail-phone", |text| text == "+44 20 7946 0958").await;
    app.type_into("#lead-notes", "Prefers mornings.").await;
    app.find("#lead-save-notes").await.click().await.expect("save");
    app.wait_for_text("#lead-detail .saved", |text| text == "Saved").await;

    // A number the simulator does not know: the call fails, and the agent wraps it up.
    app.find("#lead-call").await.click().await.expect("call the lead");
    app.wait_for_text("#calls-panel .call-state", |text| text.starts_with("Ended")).await;
    app.wait_for_text("#calls-panel .call-number", |text| text == "+44 20 7946 0958").await;
    app.find("#calls-panel .wrap-up-disposition").await.select_by_value("wrong-number").await.expect("pick");
    app.type_into("#calls-panel .wrap-up-note", "Number belongs to a bakery").await;
    app.find("#calls-panel .wrap-up-save").await.click().await.expect("save the wrap-up");
    app.wait_for_count("#calls-panel", |count| count == 0).await;
    app.wait_for_text("#lead-detail .detail-last-outcome", |text| text == "Wrong number").await;

    // Restart on the same data: everything is still there.
    let data = app.quit().await;
    let app = App::launch_in(data).await;
    app.open("leads").await;
    app.type_into("#lead-search", "Quinn Okafor").await;
    app.wait_for_count("#lead-results .lead-row", |count| count == 1).await;
    app.find("#lead-results .lead-row").await.click().await.expect("open the lead");
    app.wait_for_text("#lead-detail .detail-last-outcome", |text| text == "Wrong number").await;
    let notes = app.find("#lead-notes").await.prop("value").await.expect("notes").unwrap_or_default();
    assert!(notes.contains("Prefers mornings."), "{notes:?}");
    app.wait_for_text("#lead-detail .lead-calls", |text| text.contains("Wrong number")).await;
    app.screenshot("leads-after-restart").await;
    app.close().await;
}

/// Imports `path` through Leads → Import leads…; the report's sentence once it says `expected`
/// (a report of an earlier import may still be on screen).
async fn import_in_the_window(app: &App, path: &std::path::Path, expected: &str) -> String {
    app.open("leads").await;
    // The form stays open after an import, for the next file.
    if let Ok(open) = app.client.find(fantoccini::Locator::Css("#import-open")).await {
        open.click().await.expect("open the import");
    }
    app.find("#import-path").await.clear().await.expect("clear the path");
    app.type_into("#import-path", path.to_str().expect("utf-8 path")).await;
    app.find("#import-run").await.click().await.expect("import");
    app.wait_for_text(".import-report", |text| text.starts_with(expected)).await
}

#[tokio::test]
async fn a_european_excel_csv_and_an_xlsx_import_in_the_window_with_their_accents_and_numbers() {
    let app = App::launch().await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    // Saved by Excel on a French Windows: semicolons, Windows-1252.
    let csv = app.data_home.path().join("export.csv");
    let text = "Name;Phone;City\r\nFrançois Müller;+33 1 23 45 67 89;Besançon\r\n";
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(text);
    std::fs::write(&csv, &bytes).expect("CSV written");
    let report = import_in_the_window(&app, &csv, "1 added, 0 merged, 0 rejected.").await;
    assert!(!report.contains("Line"), "{report}");
    app.screenshot("leads-import-windows-1252").await;

    // An .xlsx whose phone numbers Excel keeps as numbers.
    let xlsx = app.data_home.path().join("leads.xlsx");
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "Name").expect("cell");
    sheet.write_string(0, 1, "Mobile").expect("cell");
    sheet.write_string(1, 0, "Grace Hopper").expect("cell");
    sheet.write_number(1, 1, 6_175_559_876.0).expect("cell");
    sheet.write_string(2, 0, "Alan Turing").expect("cell");
    sheet.write_number(2, 1, 2_125_559_876.0).expect("cell");
    workbook.save(&xlsx).expect("xlsx written");
    let report = import_in_the_window(&app, &xlsx, "2 added, 0 merged, 0 rejected.").await;
    assert!(!report.contains("Line"), "{report}");

    app.type_into("#lead-search", "Grace").await;
    app.wait_for_text("#lead-results .lead-phone", |text| text == "+1 617-555-9876").await;
    app.find("#lead-search").await.clear().await.expect("clear the search");
    app.type_into("#lead-search", "François").await;
    app.wait_for_text("#lead-results .lead-name", |text| text == "François Müller").await;

    // A call to him (the simulator does not know the number: it fails), wrapped up with a note.
    app.find("#lead-results .lead-row").await.click().await.expect("open the lead");
    app.find("#lead-call").await.click().await.expect("call the lead");
    app.wait_for_text("#calls-panel .call-state", |text| text.starts_with("Ended")).await;
    app.find("#calls-panel .wrap-up-disposition").await.select_by_value("wrong-number").await.expect("pick");
    app.type_into("#calls-panel .wrap-up-note", "Numéro d'une boulangerie").await;
    app.find("#calls-panel .wrap-up-save").await.click().await.expect("save the wrap-up");
    app.wait_for_count("#calls-panel", |count| count == 0).await;

    // Calls → Export…: an .xlsx and a CSV, read back as a spreadsheet would.
    app.open("calls").await;
    app.wait_for_count("#call-log .log-row", |count| count == 1).await;
    app.find("#call-log-export-open").await.click().await.expect("open the export");
    let xlsx = app.data_home.path().join("calls.xlsx");
    app.type_into("#call-log-export-path", xlsx.to_str().expect("utf-8 path")).await;
    app.find("#call-log-export-run").await.click().await.expect("export");
    app.wait_for_text("#call-log-export-done", |text| text == format!("1 call exported to {}.", xlsx.display())).await;
    app.screenshot("calls-exported").await;
    let mut workbook = calamine::open_workbook_auto(&xlsx).expect("a workbook");
    let range = calamine::Reader::worksheet_range(&mut workbook, "Calls").expect("the Calls sheet");
    let rows: Vec<Vec<String>> = range.rows().map(|row| row.iter().map(|cell| cell.to_string()).collect()).collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][1..5], ["Outbound", "+33123456789", "François Müller", "Failed"], "{rows:?}");
    assert_eq!(rows[1][6..8], ["Wrong number", "Numéro d'une boulangerie"], "{rows:?}");

    let csv = app.data_home.path().join("calls.csv");
    app.find("#call-log-export-path").await.clear().await.expect("clear the path");
    app.type_into("#call-log-export-path", csv.to_str().expect("utf-8 path")).await;
    app.find("#call-log-export-run").await.click().await.expect("export");
    app.wait_for_text("#call-log-export-done", |text| text == format!("1 call exported to {}.", csv.display())).await;
    let text = std::fs::read_to_string(&csv).expect("the CSV");
    assert!(text.starts_with('\u{FEFF}'), "a byte-order mark, for Excel");
    assert!(text.contains("François Müller") && text.contains("Numéro d'une boulangerie"), "{text}");

    // Leads → Export…: the leads the search finds (still "François"), with their last outcome.
    app.open("leads").await;
    app.wait_for_text("#lead-results .lead-name", |text| text == "François Müller").await;
    app.find("#leads-export-open").await.click().await.expect("open the export");
    let leads = app.data_home.path().join("leads-out.csv");
    app.type_into("#leads-export-path", leads.to_str().expect("utf-8 path")).await;
    app.find("#leads-export-run").await.click().await.expect("export");
    app.wait_for_text("#leads-export-done", |text| text == format!("1 lead exported to {}.", leads.display())).await;
    let text = std::fs::read_to_string(&leads).expect("the CSV");
    let rows: Vec<&str> = text.trim_end().lines().collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(rows[1].starts_with("François Müller,,+33123456789,,Besançon,"), "{text}");
    assert!(rows[1].contains("Wrong number"), "{text}");
    app.screenshot("leads-exported").await;
    app.close().await;
}
