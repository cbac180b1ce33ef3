//! A team on PostgreSQL, in the window: the agent joins with the login its team lead made (a
//! wrong password is refused with a sentence; the right one goes to the keychain), its calls,
//! dispositions and notes reach the team database, and when the database stops mid-shift the
//! agent keeps calling, the status bar says how much waits, and it all lands once when it is back.
//! The team database is a real PostgreSQL the test starts on loopback and stops.

mod common;

use std::time::{Duration, Instant};

use common::{App, Launch};
use softphone_team::connect::{Connection, TeamLogin, connect};
use softphone_team::test_support::TestServer;
use softphone_team::{admin, schema};

/// WebDriver's Enter key.
const ENTER: &str = "\u{E007}";

async fn owner(server: &TestServer) -> Connection {
    connect(&TeamLogin::from_url(server.superuser_url())).await.expect("the owner connects")
}

/// Calls the simulator's tone number from the dialer, hangs up, and wraps up with `note`.
async fn call_and_wrap_up(app: &App, note: &str) {
    app.open("dialer").await;
    app.type_into("#dial-number", "5555550100").await;
    app.wait_for_text("#dial-check", |text| text.starts_with("Valid")).await;
    app.type_into("#dial-number", ENTER).await;
    app.wait_for_text("#calls-panel .call-state", |text| text == "Active").await;
    app.find("#calls-panel .hangup").await.click().await.expect("hang up");
    app.wait_for_text("#calls-panel .call-state", |text| text.starts_with("Ended")).await;
    let disposition = app.find("#calls-panel .wrap-up-disposition").await;
    disposition.select_by_value("callback").await.expect("pick Callback");
    app.type_into("#calls-panel .wrap-up-note", note).await;
    app.find("#calls-panel .wrap-up-save").await.click().await.expect("save the wrap-up");
    app.wait_for_count("#calls-panel", |count| count == 0).await;
}

/// The team database's calls: (outcome, disposition, note), oldest first, read until `done`.
async fn team_calls(
    server: &TestServer,
    done: impl Fn(&[(String, Option<String>, Option<String>)]) -> bool,
) -> Vec<(String, Option<String>, Option<String>)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let owner = owner(server).await;
        let rows = owner
            .client
            .query(
                "SELECT c.outcome, d.disposition, n.body FROM calls c
                 LEFT JOIN dispositions d ON d.call_id = c.id LEFT JOIN notes n ON n.call_id = c.id
                 ORDER BY c.started_at",
                &[],
            )
            .await
            .expect("the team's calls");
        let calls: Vec<(String, Option<String>, Option<String>)> =
            rows.iter().map(|row| (row.get(0), row.get(1), row.get(2))).collect();
        if done(&calls) {
            return calls;
        }
        assert!(Instant::now() < deadline, "the team database never showed what was expected: {calls:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn an_agent_joins_its_team_and_its_calls_reach_the_team_database_through_an_outage() {
    let mut server = TestServer::start();
    let new_agent = {
        let mut owner = owner(&server).await;
        schema::migrate(&mut owner.client).await.expect("schema");
        let team = admin::add_team(&owner.client, "Sales West").await.expect("team");
        admin::add_agent(&mut owner.client, team, "Ana Lopez", false).await.expect("agent")
    };

    // A keychain of this test's own: the password must land there, and nowhere else.
    let dir = tempfile::tempdir().expect("keyring dir");
    let bus = softphone_notify::test_support::PrivateBus::start().expect("a private D-Bus bus");
    let _keyring = common::start_keyring(&bus, dir.path());
    let service = format!("io.agentsoftphone.e2e.{}", common::random_hex());
    let app = App::launch_with(Launch {
        env: vec![
            ("DBUS_SESSION_BUS_ADDRESS".into(), bus.address().into()),
            ("SOFTPHONE_KEYCHAIN_SERVICE".into(), service.clone()),
        ],
        ..Launch::default()
    })
    .await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    assert!(app.client.find(fantoccini::Locator::Css("#team-status")).await.is_err(), "no team yet: nothing shown");

    app.open("settings").await;
    app.type_into("#team-url-input", &server.url()).await;
    app.type_into("#team-login-input", &new_agent.login).await;
    app.type_into("#team-password-input", "not-the-password").await;
    app.find("#join-team").await.click().await.expect("join");
    let refused = app.wait_for_text("#team-error", |text| !text.is_empty()).await;
    assert!(refused.contains("refused the login \"ana_lopez\""), "{refused}");
    assert!(!refused.contains("not-the-password"), "the password is never shown: {refused}");
    app.find("#team-password-input").await.clear().await.expect("clear the password");
    app.type_into("#team-password-input", new_agent.password.expose()).await;
    app.find("#join-team").await.click().await.expect("join");
    app.wait_for_text("#team-status", |text| text == "Team synced").await;
    app.wait_for_text("#team-name", |text| text == "Sales West").await;
    app.wait_for_text("#team-agent", |text| text == "Ana Lopez").await;
    assert_eq!(
        common::keychain_item(&bus, &service, "team-database-password"),
        new_agent.password.expose(),
        "the password is in the keychain"
    );
    assert!(!common::log_text_in(app.data_home.path()).contains(new_agent.password.expose()), "nor in the log");
    app.screenshot("team-joined").await;

    call_and_wrap_up(&app, "Wants the team plan").await;
    let calls = team_calls(&server, |calls| calls.len() == 1 && calls[0].2.is_some()).await;
    assert_eq!(calls, vec![("answered".into(), Some("callback".into()), Some("Wants the team plan".into()))]);

    // The team database stops mid-shift: the agent calls on; the changes wait here.
    server.stop();
    app.wait_for_text("#team-status", |text| text.starts_with("Team offline")).await;
    call_and_wrap_up(&app, "Called while the team was away").await;
    app.wait_for_text("#team-status", |text| text == "Team offline · 3 waiting").await;
    app.screenshot("team-offline").await;

    server.start_again();
    app.wait_for_text("#team-status", |text| text == "Team synced").await;
    let calls = team_calls(&server, |calls| calls.len() == 2 && calls.iter().all(|c| c.2.is_some())).await;
    assert_eq!(calls[1], ("answered".into(), Some("callback".into()), Some("Called while the team was away".into())));
    app.close().await;
}

/// One agent's app on its own keychain, joined to the team.
struct Agent {
    app: App,
    // Dropped after the app: the keyring, then its bus.
    _keyring: common::Keyring,
    _bus: softphone_notify::test_support::PrivateBus,
    _dir: tempfile::TempDir,
}

async fn agent_app(server: &TestServer, login: &str, password: &str) -> Agent {
    let dir = tempfile::tempdir().expect("keyring dir");
    let bus = softphone_notify::test_support::PrivateBus::start().expect("a private D-Bus bus");
    let keyring = common::start_keyring(&bus, dir.path());
    let app = App::launch_with(Launch {
        env: vec![
            ("DBUS_SESSION_BUS_ADDRESS".into(), bus.address().into()),
            ("SOFTPHONE_KEYCHAIN_SERVICE".into(), format!("io.agentsoftphone.e2e.{}", common::random_hex())),
        ],
        ..Launch::default()
    })
    .await;
    app.wait_for_text("#connection-state", |text| text == "Ready").await;
    common::call_at_any_hour(&app).await;
    let joined = common::invoke(
        &app,
        "join_team",
        serde_json::json!({ "url": server.url(), "login": login, "password": password }),
    )
    .await;
    assert_eq!(joined["joined"], true, "{joined}");
    app.wait_for_text("#team-status", |text| text == "Team synced").await;
    Agent { app, _keyring: keyring, _bus: bus, _dir: dir }
}

/// What the session card says now (empty when there is none).
async fn stage(app: &App) -> String {
    match app.client.find(fantoccini::Locator::Css("#session-stage")).await {
        Ok(element) => element.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

#[tokio::test]
async fn two_agents_power_dial_one_campaign_without_overlap_and_see_each_others_calls() {
    let server = TestServer::start();
    let numbers: Vec<String> = (131..=138).map(|n| format!("+1212555{n:04}")).collect();
    let (ana, ben) = {
        let mut owner = owner(&server).await;
        schema::migrate(&mut owner.client).await.expect("schema");
        let team = admin::add_team(&owner.client, "Sales West").await.expect("team");
        let campaign = admin::add_campaign(&owner.client, team, "Spring").await.expect("campaign");
        let mut csv = String::from("Name,Phone\n");
        for (n, number) in numbers.iter().enumerate() {
            csv.push_str(&format!("Lead {n},{number}\n"));
        }
        let report = admin::import_csv(
            &mut owner.client,
            team,
            campaign,
            std::io::Cursor::new(csv),
            softphone_core::phone::Region::US,
        )
        .await
        .expect("leads");
        assert_eq!(report.inserted, 8);
        let ana = admin::add_agent(&mut owner.client, team, "Ana", false).await.expect("agent");
        let ben = admin::add_agent(&mut owner.client, team, "Ben", false).await.expect("agent");
        (ana, ben)
    };
    let agents = [
        agent_app(&server, &ana.login, ana.password.expose()).await,
        agent_app(&server, &ben.login, ben.password.expose()).await,
    ];
    for agent in &agents {
        let app = &agent.app;
        app.open("lists").await;
        let source = app.find("#list-source").await;
        source.select_by_label("Team campaign: Spring").await.expect("the team campaign");
        app.find("#list-countdown").await.select_by_value("0").await.expect("no countdown");
        app.find("#list-start").await.click().await.expect("start");
    }
    // Each call fails at the simulator (the numbers are unallocated there): each agent wraps up
    // as a wrong number, which finishes the lead for the team, until the campaign is worked.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut done = [false, false];
    while !done.iter().all(|d| *d) {
        assert!(Instant::now() < deadline, "the campaign was not worked within 2 minutes");
        for (agent, done) in agents.iter().zip(done.iter_mut()) {
            let app = &agent.app;
            if *done {
                continue;
            }
            if stage(app).await == "Save the wrap-up to go on" {
                // The next lead's call fails as fast: the form may be replaced under the click, and
                // is then filled again at the next look.
                if let Ok(form) = app.client.find(fantoccini::Locator::Css("#calls-panel .wrap-up-disposition")).await
                    && form.select_by_value("wrong-number").await.is_ok()
                    && let Ok(save) = app.client.find(fantoccini::Locator::Css("#calls-panel .wrap-up-save")).await
                {
                    let _ = save.click().await;
                }
            }
            if app.client.find(fantoccini::Locator::Css("#session-done")).await.is_ok() {
                *done = true;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let dialled: Vec<Vec<String>> = {
        let mut dialled = Vec::new();
        for agent in &agents {
            let calls = common::sim_calls(&agent.app).await;
            dialled.push(calls.iter().filter_map(|call| call["to"].as_str().map(str::to_owned)).collect::<Vec<_>>());
        }
        dialled
    };
    let mut all: Vec<String> = dialled.concat();
    all.sort();
    assert_eq!(all, numbers, "every lead dialled once, by one agent: {dialled:?}");
    assert!(dialled.iter().all(|mine| !mine.is_empty()), "both agents worked: {dialled:?}");

    // The team database: every call once, each lead finished; each agent's file has the other's calls.
    let calls = team_calls(&server, |calls| calls.len() == 8 && calls.iter().all(|c| c.1.is_some())).await;
    assert!(calls.iter().all(|c| c.1.as_deref() == Some("wrong-number")), "{calls:?}");
    let left: i64 = owner(&server)
        .await
        .client
        .query_one("SELECT count(*) FROM leads WHERE NOT done OR leased_by IS NOT NULL", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(left, 0, "every lead finished and given back");
    for (agent, others) in agents.iter().zip([dialled[1].len(), dialled[0].len()]) {
        let file = agent.app.data_home.path().join("data/io.agentsoftphone.desktop/softphone.sqlite3");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let db = rusqlite::Connection::open(&file).expect("the agent's file");
            let teammates: i64 = db
                .query_row("SELECT count(*) FROM team_calls WHERE disposition = 'wrong-number'", [], |row| row.get(0))
                .expect("count");
            if teammates == others as i64 {
                break;
            }
            assert!(Instant::now() < deadline, "the teammate's calls never reached this agent's file: {teammates}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    agents[1].app.screenshot("team-dialing-done").await;
    // Ben's window lists Ana's calls under Calls → Team calls, with her disposition.
    let ben_window = &agents[1].app;
    ben_window.open("calls").await;
    ben_window.wait_for_count("#team-calls .team-call", |count| count == dialled[0].len()).await;
    let first = ben_window.find("#team-calls .team-call").await.text().await.expect("a team call");
    assert!(first.contains("Ana") && first.contains("Wrong number"), "{first}");
    ben_window.screenshot("team-calls").await;
    for agent in agents {
        agent.app.close().await;
    }
}
