//! A team on PostgreSQL, in the window: the agent joins with the login its team lead made (a
//! wrong password is refused with a sentence; the right one goes to the keychain), its calls,
//! dispositions and notes reach the team database, and when the database stops mid-shift the
//! agent keeps calling, the status bar says how much waits, and it all lands once when it is back.
//! Two agents power-dial one campaign without overlap through such an outage; an agent killed
//! mid-call finds the call logged as interrupted and her session's leads still hers. The team
//! database is a real PostgreSQL the test starts on loopback and stops.

mod common;

use std::time::{Duration, Instant};

use common::{App, Launch};
use softphone_team::TeamSession;
use softphone_team::changes::{Direction, TeamCall, TeamChange, TeamDisposition, TeamNote};
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
    /// The app's environment (its bus and keychain service), for a start again.
    env: Vec<(String, String)>,
    // Dropped after the app: the keyring, then its bus.
    _keyring: common::Keyring,
    _bus: softphone_notify::test_support::PrivateBus,
    _dir: tempfile::TempDir,
}

async fn agent_app(server: &TestServer, login: &str, password: &str) -> Agent {
    let dir = tempfile::tempdir().expect("keyring dir");
    let bus = softphone_notify::test_support::PrivateBus::start().expect("a private D-Bus bus");
    let keyring = common::start_keyring(&bus, dir.path());
    let env = vec![
        ("DBUS_SESSION_BUS_ADDRESS".into(), bus.address().into()),
        ("SOFTPHONE_KEYCHAIN_SERVICE".into(), format!("io.agentsoftphone.e2e.{}", common::random_hex())),
    ];
    let app = App::launch_with(Launch { env: env.clone(), ..Launch::default() }).await;
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
    Agent { app, env, _keyring: keyring, _bus: bus, _dir: dir }
}

impl Agent {
    /// SIGKILL of the agent's app (nothing of it runs its exit path), then the app again on the
    /// same files and keychain, as the agent would start it.
    async fn killed_and_started_again(self) -> Agent {
        let Agent { app, env, _keyring, _bus, _dir } = self;
        let pid = app.app_pid();
        let killed = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status().expect("kill runs");
        assert!(killed.success(), "kill -9 {pid}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::path::Path::new(&format!("/proc/{pid}/exe")).exists() {
            assert!(Instant::now() < deadline, "the app ({pid}) survived SIGKILL");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let data_home = app.quit().await;
        let app = App::launch_with(Launch { data_home: Some(data_home), env: env.clone(), ..Launch::default() }).await;
        app.wait_for_text("#connection-state", |text| text == "Ready").await;
        Agent { app, env, _keyring, _bus, _dir }
    }
}

/// Starts power dialing the team campaign `campaign` in the agent's window, with no countdown.
async fn start_team_dialing(app: &App, campaign: &str) {
    app.open("lists").await;
    let source = app.find("#list-source").await;
    source.select_by_label(&format!("Team campaign: {campaign}")).await.expect("the team campaign");
    app.find("#list-countdown").await.select_by_value("0").await.expect("no countdown");
    app.find("#list-start").await.click().await.expect("start");
}

/// A team with the campaign "Spring" of `numbers` and the agents `names`: their logins.
async fn team_with_campaign(server: &TestServer, numbers: &[String], names: &[&str]) -> Vec<admin::NewAgent> {
    let mut owner = owner(server).await;
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
    assert_eq!(report.inserted, numbers.len() as u64);
    let mut agents = Vec::new();
    for name in names {
        agents.push(admin::add_agent(&mut owner.client, team, name, false).await.expect("agent"));
    }
    agents
}

/// What the session card says now (empty when there is none).
async fn stage(app: &App) -> String {
    match app.client.find(fantoccini::Locator::Css("#session-stage")).await {
        Ok(element) => element.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Works both agents' sessions, wrapping up each call as a wrong number (which finishes the lead
/// for the team), until `until` holds of both windows' session stage (or the session is done).
async fn work_sessions(agents: &[Agent], what: &str, until: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut there = vec![false; agents.len()];
    while !there.iter().all(|there| *there) {
        assert!(Instant::now() < deadline, "{what}: not within 2 minutes");
        for (agent, there) in agents.iter().zip(there.iter_mut()) {
            let app = &agent.app;
            let now = stage(app).await;
            let finished = app.client.find(fantoccini::Locator::Css("#session-done")).await.is_ok();
            *there = finished || until(&now);
            if !*there && now == "Save the wrap-up to go on" {
                // The next lead's call fails as fast: the form may be replaced under the click, and
                // is then filled again at the next look.
                if let Ok(form) = app.client.find(fantoccini::Locator::Css("#calls-panel .wrap-up-disposition")).await
                    && form.select_by_value("wrong-number").await.is_ok()
                    && let Ok(save) = app.client.find(fantoccini::Locator::Css("#calls-panel .wrap-up-save")).await
                {
                    let _ = save.click().await;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn two_agents_power_dial_one_campaign_without_overlap_through_an_outage_and_see_each_others_calls() {
    let mut server = TestServer::start();
    let numbers: Vec<String> = (131..=138).map(|n| format!("+1212555{n:04}")).collect();
    let logins = team_with_campaign(&server, &numbers, &["Ana", "Ben"]).await;
    let (ana, ben) = (&logins[0], &logins[1]);
    let agents = [
        agent_app(&server, &ana.login, ana.password.expose()).await,
        agent_app(&server, &ben.login, ben.password.expose()).await,
    ];
    for agent in &agents {
        start_team_dialing(&agent.app, "Spring").await;
    }
    // Each call fails at the simulator (the numbers are unallocated there). Both agents' first
    // calls end; each holds its next lead (claimed two ahead).
    for agent in &agents {
        agent.app.wait_for_text("#session-stage", |text| text == "Save the wrap-up to go on").await;
    }

    // The team database stops mid-shift: both agents work on through the lead each holds, their
    // calls and wrap-ups waiting here, and then wait for the team's next lead.
    server.stop();
    work_sessions(&agents, "working on while the team is away", |stage| stage == "Waiting for the team's next lead")
        .await;
    for agent in &agents {
        assert_eq!(common::sim_calls(&agent.app).await.len(), 2, "each agent called the two leads it held");
        agent.app.wait_for_text("#team-status", |text| text.starts_with("Team offline ·")).await;
    }
    agents[1].app.screenshot("team-outage-waiting").await;

    // Back: the sessions go on with the team's next leads until the campaign is worked.
    server.start_again();
    work_sessions(&agents, "the campaign worked", |_| false).await;
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
    // Each agent's file: its own calls once each, and the teammate's once each, wrapped up.
    for (n, agent) in agents.iter().enumerate() {
        let (mine, others) = (dialled[n].len() as i64, dialled[1 - n].len() as i64);
        let file = agent.app.data_home.path().join("data/io.agentsoftphone.desktop/softphone.sqlite3");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let db = rusqlite::Connection::open(&file).expect("the agent's file");
            let own: (i64, i64) = db
                .query_row("SELECT count(*), count(DISTINCT uuid) FROM calls", [], |row| Ok((row.get(0)?, row.get(1)?)))
                .expect("count");
            let teammates: (i64, i64) = db
                .query_row(
                    "SELECT count(*), count(*) FILTER (WHERE disposition = 'wrong-number') FROM team_calls",
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .expect("count");
            assert_eq!(own, (mine, mine), "this agent's own calls, once each");
            if teammates == (others, others) {
                break;
            }
            assert!(Instant::now() < deadline, "the teammate's calls never all reached this file: {teammates:?}");
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

#[tokio::test]
async fn an_agent_killed_mid_call_on_a_team_lead_finds_the_call_logged_as_interrupted_and_her_leads_still_hers() {
    let server = TestServer::start();
    let numbers: Vec<String> = vec!["+12125550141".into(), "+12125550142".into()];
    let logins = team_with_campaign(&server, &numbers, &["Ana", "Ben"]).await;
    // Ben called the first lead yesterday, from his own app: his call, disposition and note are
    // the team's (sent the way his app sends them).
    let (first_lead, campaign): (i64, uuid::Uuid) = {
        let row = owner(&server)
            .await
            .client
            .query_one("SELECT id, campaign_id FROM leads WHERE phone = $1", &[&numbers[0]])
            .await
            .expect("the first lead");
        (row.get(0), row.get(1))
    };
    let bens_call = uuid::Uuid::new_v4();
    let yesterday = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_millis()
        as i64
        - 86_400_000;
    let mut ben = TeamSession::open(&TeamLogin::new(server.url(), logins[1].login.clone(), logins[1].password.clone()))
        .await
        .expect("Ben's session");
    ben.push(&[
        TeamChange::Call(TeamCall {
            id: bens_call,
            lead_id: Some(first_lead),
            campaign_id: Some(campaign),
            direction: Direction::Outbound,
            number: numbers[0].clone(),
            outcome: "answered".into(),
            started_at_ms: yesterday,
            answered_at_ms: Some(yesterday + 5_000),
            ended_at_ms: Some(yesterday + 65_000),
            talk_seconds: 60,
        }),
        TeamChange::Disposition(TeamDisposition {
            call_id: bens_call,
            disposition: "not-interested".into(),
            set_at_ms: yesterday + 70_000,
        }),
        TeamChange::Note(TeamNote {
            id: uuid::Uuid::new_v4(),
            lead_id: Some(first_lead),
            call_id: Some(bens_call),
            body: "Busy this week, try Monday".into(),
            written_at_ms: yesterday + 70_000,
        }),
    ])
    .await
    .expect("Ben's call reaches the team");
    drop(ben);

    let ana = agent_app(&server, &logins[0].login, logins[0].password.expose()).await;
    for number in &numbers {
        common::script_number(&ana.app, number, "tone").await;
    }
    start_team_dialing(&ana.app, "Spring").await;
    ana.app.wait_for_text("#calls-panel .call-state", |text| text == "Active").await;
    // On the lead's card: what came of Ben's call.
    let bens = ana.app.wait_for_text("#session-card .lead-team-calls .team-call", |text| text.contains("Ben")).await;
    assert!(bens.contains("Not interested") && bens.contains("Busy this week, try Monday"), "{bens}");
    ana.app.screenshot("team-lead-card").await;
    let leased = || async {
        owner(&server)
            .await
            .client
            .query(
                "SELECT l.phone, a.name, l.done FROM leads l LEFT JOIN agents a ON a.id = l.leased_by ORDER BY l.id",
                &[],
            )
            .await
            .expect("the leads")
            .iter()
            .map(|row| (row.get::<_, String>(0), row.get::<_, Option<String>>(1), row.get::<_, bool>(2)))
            .collect::<Vec<_>>()
    };
    let talking_to = common::sim_calls(&ana.app).await[0]["to"].as_str().expect("the number called").to_owned();
    assert!(
        leased().await.iter().any(|lead| lead.0 == talking_to && lead.1.as_deref() == Some("Ana")),
        "the lead on the call is Ana's: {:?}",
        leased().await
    );

    // The laptop dies mid-call; the agent starts the app again.
    let ana = ana.killed_and_started_again().await;
    ana.app.wait_for_text("#team-status", |text| text == "Team synced").await;
    // Ben's call of yesterday, then hers, once, as interrupted.
    let calls = team_calls(&server, |calls| calls.len() >= 2).await;
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[1], ("interrupted".into(), None, None), "the team log has her call once, as interrupted");
    // Her session is back at the lead she was talking to, paused, and its leads are still hers
    // (resumed: nobody else dials them meanwhile).
    ana.app.open("lists").await;
    ana.app.wait_for_text("#session-stage", |text| text == "Paused: press Resume or Call").await;
    let lead_name =
        format!("Lead {}", numbers.iter().position(|number| *number == talking_to).expect("a lead's number"));
    ana.app.wait_for_text("#session-lead-name", |text| text == lead_name).await;
    // (The app has by now given back what it held outside the session, none of these: the log
    // says so once a run, and this is the second.)
    let deadline = Instant::now() + Duration::from_secs(20);
    while ana.app.log_text().matches("app last stopped given back").count() < 2 {
        assert!(Instant::now() < deadline, "the app never looked for leads held before the restart");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let leads = leased().await;
    assert!(leads.iter().all(|lead| lead.1.as_deref() == Some("Ana") && !lead.2), "resumed: {leads:?}");
    ana.app.screenshot("team-after-crash").await;

    // She stops for the day: the leads go back to the team, unfinished, for anyone to call.
    ana.app.find("#session-stop").await.click().await.expect("stop");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let leads = leased().await;
        if leads.iter().all(|lead| lead.1.is_none()) {
            assert!(leads.iter().all(|lead| !lead.2), "given back unfinished, to be called again: {leads:?}");
            break;
        }
        assert!(Instant::now() < deadline, "the leads Ana held were never given back: {leads:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Her own file has the call once too, with the team's id, and her call log says what happened.
    let file = ana.app.data_home.path().join("data/io.agentsoftphone.desktop/softphone.sqlite3");
    let local: Vec<(String, String)> = rusqlite::Connection::open(&file)
        .expect("the agent's file")
        .prepare("SELECT remote_number, state FROM calls")
        .expect("calls")
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("calls")
        .collect::<Result<_, _>>()
        .expect("calls");
    assert_eq!(local, vec![(talking_to, "interrupted".to_owned())]);
    ana.app.open("calls").await;
    ana.app.wait_for_text("#call-log .log-row", |text| text.contains("Interrupted")).await;
    ana.app.close().await;
}
