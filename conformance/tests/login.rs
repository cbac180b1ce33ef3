//! Login as Telnyx's own client does it, against the simulator.

mod common;

use common::{Browser, PageServer, Sim};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minted_token_logs_in_and_the_sdk_is_ready() {
    // `ready` fails unless the SDK emits telnyx.ready after logging in with a minted token.
    let (_sim, _page, browser) = common::ready().await;
    assert!(!browser.events().await.iter().any(|event| event["type"] == "error"), "no SDK error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_token_is_refused_with_login_failed() {
    let sim = Sim::start(Default::default()).await;
    let other = Sim::start(Default::default()).await;
    let page = PageServer::start().await;
    let browser = Browser::open(&page).await;
    // Minted by another simulator: well-formed, but not signed by this one.
    let foreign = other.mint_token().await;
    browser.connect(&sim.ws_url(), &foreign).await;
    let error = browser.wait_for_event("telnyx.error", |event| event["type"] == "error").await;
    assert_eq!(error["code"], 46001, "{error}");
    assert!(!browser.events().await.iter().any(|event| event["type"] == "ready"), "never ready");
}
