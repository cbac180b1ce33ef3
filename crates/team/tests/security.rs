//! Who sees what, enforced by the database: each test connects as each role to a real
//! PostgreSQL (started by the test) and tries what the role may and may not do.

mod common;

use std::time::Duration;

use common::TeamDb;
use softphone_core::secret::Secret;
use softphone_team::changes::{Direction, TeamCall, TeamChange, TeamDisposition, TeamNote};
use softphone_team::{TeamError, TeamLogin, TeamSession};
use uuid::Uuid;

async fn count(session: &TeamSession, table: &str) -> i64 {
    let row = session.client().query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.expect("readable");
    row.get(0)
}

fn call(lead_id: Option<i64>, campaign: Uuid) -> TeamCall {
    TeamCall {
        id: Uuid::new_v4(),
        lead_id,
        campaign_id: Some(campaign),
        direction: Direction::Outbound,
        number: common::number(1),
        outcome: "answered".into(),
        started_at_ms: 1_796_680_000_000,
        answered_at_ms: Some(1_796_680_005_000),
        ended_at_ms: Some(1_796_680_065_000),
        talk_seconds: 60,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_reads_its_own_team_and_writes_only_its_own_calls() {
    let mut db = TeamDb::start().await;
    let team_a = db.team("Team A").await;
    let team_b = db.team("Team B").await;
    let spring = db.campaign(team_a, "Spring").await;
    let other = db.campaign(team_b, "Other").await;
    db.leads(team_a, spring, 10).await;
    let ana = db.agent(team_a, "Ana Lopez", false).await;
    let ben = db.agent(team_a, "Ben Ode", false).await;
    let lead_a = db.agent(team_a, "Lea Lead", true).await;
    let zoe = db.agent(team_b, "Zoe Other", false).await;
    assert_eq!(ana.login, "ana_lopez");

    let mut ana_s = db.session(&ana).await;
    let ben_s = db.session(&ben).await;
    let lead_s = db.session(&lead_a).await;
    let mut zoe_s = db.session(&zoe).await;
    assert_eq!(ana_s.me().team_name, "Team A");
    assert!(lead_s.me().is_lead);

    // Reading: one's own team only.
    assert_eq!(count(&ana_s, "leads").await, 10);
    assert_eq!(count(&zoe_s, "leads").await, 0, "an agent of another team sees none of team A's leads");
    assert_eq!(count(&zoe_s, "agents").await, 1, "…and none of its agents");
    assert_eq!(ana_s.campaigns().await.expect("campaigns").len(), 1);
    assert_eq!(zoe_s.campaigns().await.expect("campaigns")[0].id, other);

    // Writing one's own call, note and disposition: fine, and every agent of the team sees them.
    let ana_call = call(None, spring);
    ana_s
        .push(&[
            TeamChange::Call(ana_call.clone()),
            TeamChange::Disposition(TeamDisposition {
                call_id: ana_call.id,
                disposition: "answered".into(),
                set_at_ms: 1_796_680_070_000,
            }),
            TeamChange::Note(TeamNote {
                id: Uuid::new_v4(),
                lead_id: None,
                call_id: Some(ana_call.id),
                body: "Wants a quote".into(),
                written_at_ms: 1_796_680_070_000,
            }),
        ])
        .await
        .expect("an agent records its own call");
    assert_eq!(count(&ben_s, "calls").await, 1);
    assert_eq!(count(&ben_s, "notes").await, 1);
    assert_eq!(count(&zoe_s, "calls").await, 0);
    assert_eq!(count(&zoe_s, "changes").await, 0, "the change feed is per team too");

    // Another agent's call: refused, with a sentence that says so.
    let forged = ben_s
        .client()
        .execute(
            "INSERT INTO calls (id, team_id, agent_id, direction, number, outcome, started_at)
             VALUES ($1, $2, $3, 'outbound', '+14155550100', 'answered', now())",
            &[&Uuid::new_v4(), &team_a, &ana_s.me().agent_id],
        )
        .await
        .map_err(|e| TeamError::from_statement(e, "recording a call for another agent"))
        .expect_err("an agent cannot record another agent's call");
    assert!(matches!(forged, TeamError::Denied { .. }), "{forged:?}");
    assert!(forged.to_string().contains("row-level security"), "{forged}");

    let changed = ben_s
        .client()
        .execute("UPDATE calls SET outcome = 'failed' WHERE id = $1", &[&ana_call.id])
        .await
        .map_err(|e| TeamError::from_statement(e, "changing a call"))
        .expect_err("calls are append-only");
    assert!(matches!(changed, TeamError::Denied { .. }), "{changed:?}");

    // Another agent's disposition: refused (a call's disposition is its agent's).
    let mut ben_s = ben_s;
    let theirs = ben_s
        .push(&[TeamChange::Disposition(TeamDisposition {
            call_id: ana_call.id,
            disposition: "not_interested".into(),
            set_at_ms: 1_796_680_080_000,
        })])
        .await
        .expect_err("an agent cannot set another agent's disposition");
    assert!(matches!(theirs, TeamError::Denied { .. }), "{theirs:?}");
    assert!(theirs.to_string().contains("only of this agent's own calls"), "{theirs}");

    // Another team: a call pushed into team A by Zoe is refused.
    let cross = zoe_s
        .client()
        .execute(
            "INSERT INTO calls (id, team_id, agent_id, direction, number, outcome, started_at)
             VALUES ($1, $2, $3, 'outbound', '+14155550100', 'answered', now())",
            &[&Uuid::new_v4(), &team_a, &zoe_s.me().agent_id],
        )
        .await
        .map_err(|e| TeamError::from_statement(e, "recording a call in another team"));
    assert!(matches!(cross, Err(TeamError::Denied { .. })), "{cross:?}");
    // …and a lead of team A claimed by Zoe through her own campaign list: none.
    assert_eq!(zoe_s.claim_next(spring, Duration::from_secs(60)).await.expect("claim runs"), None);
    zoe_s.push(&[TeamChange::Call(call(None, other))]).await.expect("Zoe records her own call in her team");

    // Leads: agents edit fields but cannot add leads or take a lease by hand.
    let added = ana_s
        .client()
        .execute("INSERT INTO leads (team_id, campaign_id, phone) VALUES ($1, $2, '+14155550199')", &[&team_a, &spring])
        .await
        .map_err(|e| TeamError::from_statement(e, "adding a lead"));
    assert!(matches!(added, Err(TeamError::Denied { .. })), "{added:?}");
    let stolen = ana_s
        .client()
        .execute(
            "UPDATE leads SET leased_by = $1, lease_expires_at = now() + interval '1 day'",
            &[&ana_s.me().agent_id],
        )
        .await
        .map_err(|e| TeamError::from_statement(e, "taking leads by hand"));
    assert!(matches!(stolen, Err(TeamError::Denied { .. })), "{stolen:?}");

    // The team lead adds leads to its own team, and cannot touch another team's.
    lead_s
        .client()
        .execute("INSERT INTO leads (team_id, campaign_id, phone) VALUES ($1, $2, '+14155550199')", &[&team_a, &spring])
        .await
        .expect("a team lead adds leads to its team");
    let elsewhere = lead_s
        .client()
        .execute("UPDATE leads SET priority = 5 WHERE team_id = $1", &[&team_b])
        .await
        .expect("runs, on no rows");
    assert_eq!(elsewhere, 0, "a team lead cannot change another team's leads");
    let other_team_lead = lead_s
        .client()
        .execute("INSERT INTO leads (team_id, campaign_id, phone) VALUES ($1, $2, '+14155550198')", &[&team_b, &other])
        .await
        .map_err(|e| TeamError::from_statement(e, "adding a lead to another team"));
    assert!(matches!(other_team_lead, Err(TeamError::Denied { .. })), "{other_team_lead:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_or_a_stranger_gets_a_clear_refusal() {
    let mut db = TeamDb::start().await;
    let team = db.team("Team A").await;
    let ana = db.agent(team, "Ana", false).await;

    let wrong = TeamSession::open(&TeamLogin::new(db.server.url(), ana.login.clone(), Secret::new("not-it")))
        .await
        .expect_err("a wrong password is refused");
    assert!(matches!(wrong, TeamError::LoginRefused { .. }), "{wrong:?}");
    assert!(wrong.to_string().contains("\"ana\""), "{wrong}");
    assert!(!wrong.to_string().contains("not-it"), "the password never shows: {wrong}");

    // A role the team tool did not make (here the superuser) is not an agent.
    let stranger = TeamSession::open(&TeamLogin::from_url(db.server.superuser_url())).await.expect_err("not an agent");
    assert!(matches!(stranger, TeamError::NotAnAgent { .. }), "{stranger:?}");

    // A reset password: the old one stops working, the new one works.
    let new = softphone_team::admin::reset_password(&db.owner.client, &ana.login).await.expect("reset");
    let old = db.try_session(&ana).await.expect_err("the old password no longer works");
    assert!(matches!(old, TeamError::LoginRefused { .. }), "{old:?}");
    TeamSession::open(&TeamLogin::new(db.server.url(), ana.login.clone(), new)).await.expect("the new one works");

    // Nobody listens on the port: unreachable, and transient (work waits in the outbox).
    let port = db.server.port();
    db.server.stop();
    let down = db.try_session(&ana).await.expect_err("the server is down");
    assert!(matches!(down, TeamError::Unreachable { .. }), "{down:?}");
    assert!(down.is_transient());
    assert!(down.to_string().contains("127.0.0.1"), "{down}");
    let _ = port;
}
