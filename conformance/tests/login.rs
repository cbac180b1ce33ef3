//! Login as Telnyx's own client does it, against the simulator.

mod common;

use common::{Browser, PageServer, Sim};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minted_token_logs_in_and_the_sdk_is_ready() {
    let sim = Sim::start(Default::default()).await;
    let page = PageServer::start().await;
    let browser = Browser::open(&page).await;
    let token = sim.mint_token().await;
    browser
        .call_harness("window.harness.connect(arguments[0])", vec![json!({ "host": sim.ws_url(), "loginToken": token })])
        .await;
    browser.wait_for_event("telnyx.ready", |event| event["type"] == "ready").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_token_is_refused_with_login_failed() {
    let sim = Sim::start(Default::default()).await;
    let other = Sim::start(Default::default()).await;
    let page = PageServer::start().await;
    let browser = Browser::open(&page).await;
    // Minted by another simulator: well-formed, but not signed by this one.
    let foreign = other.mint_token().await;
    browser
        .call_harness("window.harness.connect(arguments[0])", vec![json!({ "host": sim.ws_url(), "loginToken": foreign })])
        .await;
    let error = browser.wait_for_event("telnyx.error", |event| event["type"] == "error").await;
    assert_eq!(error["code"], 46001, "{error}");
    assert!(!browser.events().await.iter().any(|event| event["type"] == "ready"), "never ready");
}
