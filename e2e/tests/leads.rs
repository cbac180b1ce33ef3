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

    // A full first page of samples, and more behind it.
    app.wait_for_count("#lead-results .lead-row", |count| count == 50).await;
    app.find("#lead-more").await;

    app.type_into("#lead-search", "Evel").await;
    let narrowed = app.wait_for_count("#lead-results .lead-row", |count| (1..50).contains(&count)).await;
    app.wait_for_text("#lead-results", |text| text.contains(FIRST_SAMPLE)).await;
    let names = app.client.find_all(fantoccini::Locator::Css("#lead-results .lead-name")).await.expect("names");
    assert_eq!(names.len(), narrowed);
    for name in names {
        let name = name.text().await.expect("name");
        assert!(name.starts_with("Evel"), "only matches are listed: {name}");
    }
    assert!(app.client.find(fantoccini::Locator::Css("#lead-more")).await.is_err(), "the matches fit one page");

    // Open the lead: its card shows the fields and the notes can be saved.
    let row = app.find("#lead-results .lead-row").await;
    row.click().await.expect("open the lead");
    let name = app.wait_for_text("#lead-detail .detail-name", |text| !text.is_empty()).await;
    assert!(name.starts_with("Evel"), "{name}");
    app.type_into("#lead-notes", " Demo note.").await;
    app.find("#lead-save-notes").await.click().await.expect("save");
    app.wait_for_text("#lead-detail .saved", |text| text == "Saved").await;
    app.screenshot("leads-search").await;

    // Call the lead: the calls panel shows the call with the lead's name.
    app.find("#lead-call").await.click().await.expect("call the lead");
    app.wait_for_text("#calls-panel .call-lead", |text| text == name).await;
    let state = app.wait_for_text("#calls-panel .call-state", |text| !text.is_empty()).await;
    assert_eq!(state, "Dialing");
    // The lead's history lists the call as it starts.
    app.wait_for_text("#lead-detail .lead-calls", |text| text.contains("In progress")).await;
    app.screenshot("leads-call").await;

    app.close().await;
}
