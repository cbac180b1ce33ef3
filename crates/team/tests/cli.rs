//! The team lead's tool, run as a team lead would: init, a team, agents (the password shown once
//! works), a CSV import with a bad row, assignment, and the report after a shift.

mod common;

use std::process::Command;
use std::time::Duration;

use softphone_core::secret::Secret;
use softphone_team::changes::{Direction, TeamCall, TeamChange, TeamDisposition};
use softphone_team::test_support::TestServer;
use softphone_team::{TeamLogin, TeamSession};
use uuid::Uuid;

fn tool(server: &TestServer, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_softphone-team"))
        .env("DATABASE_URL", server.superuser_url())
        .args(args)
        .output()
        .expect("softphone-team runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(server: &TestServer, args: &[&str]) -> String {
    let (success, stdout, stderr) = tool(server, args);
    assert!(success, "softphone-team {args:?} failed: {stderr}");
    stdout
}

fn field<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines().find_map(|line| line.strip_prefix(name)).map(str::trim).unwrap_or_else(|| panic!("no {name} in {out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_lead_sets_up_a_team_imports_leads_and_reads_the_report() {
    let server = TestServer::start();
    let (success, _, stderr) = tool(&server, &["team", "add", "Sales"]);
    assert!(!success, "nothing works before init");
    assert!(stderr.contains("softphone-team init"), "{stderr}");

    assert!(ok(&server, &["init"]).contains("set up"));
    assert!(ok(&server, &["init"]).contains("up to date"), "init twice is harmless");
    ok(&server, &["team", "add", "Sales"]);
    let added = ok(&server, &["agent", "add", "--team", "Sales", "Ana López"]);
    let login = field(&added, "login:").to_owned();
    let password = Secret::new(field(&added, "password:"));
    assert_eq!(login, "ana_lópez");
    let ben = ok(&server, &["agent", "add", "--team", "Sales", "Ben"]);
    let ben_login = field(&ben, "login:").to_owned();

    let folder = tempfile::tempdir().expect("folder");
    let csv = folder.path().join("leads.csv");
    std::fs::write(
        &csv,
        format!(
            "First Name,Last Name,Mobile,Company\nAda,Lovelace,{},Engines\nBad,Row,not a number,X\nAlan,Turing,{},Bletchley\nAda,Again,{},Engines\n",
            common::number(0),
            common::number(1),
            common::number(0)
        ),
    )
    .expect("csv written");
    let imported = ok(&server, &["import", "--team", "Sales", "--campaign", "Spring", csv.to_str().expect("utf-8")]);
    assert!(imported.starts_with("2 new leads, 1 merged, 1 rows left out."), "{imported}");
    assert!(
        imported.contains("line 3: Bad phone number \"not a number\""),
        "the app's sentence with its line: {imported}"
    );
    let again = ok(&server, &["import", "--team", "Sales", "--campaign", "Spring", csv.to_str().expect("utf-8")]);
    assert!(again.starts_with("0 new leads, 3 merged"), "{again}");

    assert!(
        ok(&server, &["assign", "--team", "Sales", "--campaign", "Spring", "--agent", &ben_login, "--count", "1"])
            .contains("1 leads assigned")
    );

    // Ana works the list with the password she was shown.
    let mut ana = TeamSession::open(&TeamLogin::new(server.url(), login, password)).await.expect("Ana logs in");
    let campaign = ana.campaigns().await.expect("campaigns")[0].id;
    let lead = ana.claim_next(campaign, Duration::from_secs(60)).await.expect("claim").expect("a lead");
    assert_eq!(lead.name, "Alan Turing", "Ada is Ben's");
    let call = TeamCall {
        id: Uuid::new_v4(),
        lead_id: Some(lead.id),
        campaign_id: Some(campaign),
        direction: Direction::Outbound,
        number: lead.phone.clone(),
        outcome: "answered".into(),
        started_at_ms: 1_796_680_000_000,
        answered_at_ms: Some(1_796_680_010_000),
        ended_at_ms: Some(1_796_680_100_000),
        talk_seconds: 90,
    };
    ana.push(&[
        TeamChange::Call(call.clone()),
        TeamChange::Disposition(TeamDisposition {
            call_id: call.id,
            disposition: "Interested".into(),
            set_at_ms: 1_796_680_110_000,
        }),
    ])
    .await
    .expect("push");
    assert!(ana.release(lead.id, true, Some("Interested"), None).await.expect("release"));

    let table = ok(&server, &["report", "--team", "Sales"]);
    let ana_line = table.lines().find(|l| l.starts_with("Ana López")).unwrap_or_else(|| panic!("{table}"));
    assert!(
        ana_line.split_whitespace().collect::<Vec<_>>().starts_with(&["Ana", "López", "1", "1", "0:01:30"]),
        "{table}"
    );
    let csv_report = ok(&server, &["report", "--team", "Sales", "--campaign", "Spring", "--csv"]);
    assert!(csv_report.contains("campaign,Spring,1,1,90,1,1"), "one lead left, one Interested: {csv_report}");
    assert!(csv_report.contains("agent,Ben,0,0,0,,0"), "{csv_report}");

    let released = ok(&server, &["release", "--team", "Sales", "--campaign", "Spring", "--agent", &ben_login]);
    assert!(released.contains("1 leads released"), "{released}");
    let (success, _, stderr) = tool(&server, &["report", "--team", "Nobody"]);
    assert!(!success && stderr.contains("There is no team \"Nobody\""), "{stderr}");
}
