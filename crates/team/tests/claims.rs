//! Handing out leads: agents claiming at once from one campaign never get the same lead, a
//! crashed laptop's leads come back when their lease lapses, finished and do-not-call leads are
//! never handed out, assigned leads go to their agent, a due callback comes first.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::TeamDb;
use softphone_team::admin;
use softphone_team::changes::{TeamCallback, TeamChange, TeamDoNotCall};
use uuid::Uuid;

const LEASE: Duration = Duration::from_secs(120);

/// A team with the campaign "List" of `leads` leads, and its agents Ana and Ben, each connected.
struct AnaAndBen {
    db: TeamDb,
    campaign: Uuid,
    ana: admin::NewAgent,
    ana_s: softphone_team::TeamSession,
    ben_s: softphone_team::TeamSession,
}

async fn ana_and_ben(leads: u32) -> AnaAndBen {
    let mut db = TeamDb::start().await;
    let team = db.team("Team").await;
    let campaign = db.campaign(team, "List").await;
    db.leads(team, campaign, leads).await;
    let ana = db.agent(team, "Ana", false).await;
    let ben = db.agent(team, "Ben", false).await;
    let ana_s = db.session(&ana).await;
    let ben_s = db.session(&ben).await;
    AnaAndBen { db, campaign, ana, ana_s, ben_s }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_agents_claiming_at_once_from_100_000_leads_never_get_the_same_one() {
    let mut db = TeamDb::start().await;
    let team = db.team("Team").await;
    let campaign = db.campaign(team, "Big list").await;
    db.leads(team, campaign, 100_000).await;
    let mut sessions = Vec::new();
    for n in 0..20 {
        let agent = db.agent(team, &format!("Agent {n}"), false).await;
        sessions.push(db.session(&agent).await);
    }
    let claims_each = 250;
    let mut tasks = Vec::new();
    for session in sessions {
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..claims_each {
                let lead = session.claim_next(campaign, LEASE).await.expect("claim").expect("leads are left");
                got.push(lead.id);
            }
            (session.me().agent_id, got)
        }));
    }
    let mut all = Vec::new();
    let mut per_agent = Vec::new();
    for task in tasks {
        let (agent, got) = task.await.expect("claimer");
        per_agent.push((agent, got.len()));
        all.extend(got);
    }
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), 20 * claims_each);
    assert_eq!(distinct.len(), all.len(), "{} leads were handed out twice", all.len() - distinct.len());
    let leases: i64 = db
        .owner
        .client
        .query_one("SELECT count(*) FROM lead_leases WHERE campaign_id = $1", &[&campaign])
        .await
        .expect("count")
        .get(0);
    assert_eq!(leases, all.len() as i64, "every claim holds exactly one lease");
    // Leads go out in the campaign's order: the first 5,000 leads, nothing beyond.
    let max_claimed = all.iter().max().copied().expect("claims");
    let min_claimed = all.iter().min().copied().expect("claims");
    assert_eq!(max_claimed - min_claimed + 1, all.len() as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claiming_until_none_are_left_hands_out_each_lead_exactly_once() {
    let mut db = TeamDb::start().await;
    let team = db.team("Team").await;
    let campaign = db.campaign(team, "Small list").await;
    db.leads(team, campaign, 300).await;
    let mut tasks = Vec::new();
    for n in 0..20 {
        let agent = db.agent(team, &format!("Agent {n}"), false).await;
        let session = db.session(&agent).await;
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(lead) = session.claim_next(campaign, LEASE).await.expect("claim") {
                got.push(lead.id);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("claimer"));
    }
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), 300, "every lead handed out once");
    assert_eq!(distinct.len(), 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapsed_lease_comes_back_and_finished_or_do_not_call_leads_never_do() {
    let AnaAndBen { db, campaign, ana_s, mut ben_s, .. } = ana_and_ben(6).await;

    // Ana claims the first lead, then her laptop dies: nobody renews the lease. Time passes
    // (the lease is made to have lapsed).
    let first = ana_s.claim_next(campaign, LEASE).await.expect("claim").expect("a lead");
    assert_eq!(first.phone, common::number(0));
    assert!(ben_s.claim_next(campaign, LEASE).await.expect("claim").is_some_and(|l| l.id != first.id));
    db.owner
        .client
        .execute("UPDATE leads SET lease_expires_at = now() - interval '1 second' WHERE id = $1", &[&first.id])
        .await
        .expect("the lease lapses");
    let back = ben_s.claim_next(campaign, LEASE).await.expect("claim").expect("a lead");
    assert_eq!(back.id, first.id, "a lapsed lease is handed out before fresh leads");
    assert!(!ana_s.release(first.id, true, Some("answered"), None).await.expect("release runs"), "Ana's lease is gone");
    assert!(ben_s.release(first.id, true, Some("answered"), None).await.expect("release"), "Ben holds it");

    // Finished: never again. Renewing keeps Ben's other lease.
    assert_eq!(ben_s.renew(LEASE).await.expect("renew"), 1);
    // The third lead's number goes on the team's do-not-call list.
    ben_s
        .push(&[TeamChange::DoNotCall(TeamDoNotCall { phone: common::number(2), reason: "asked".into() })])
        .await
        .expect("do-not-call");
    let mut handed = Vec::new();
    while let Some(lead) = ana_s.claim_next(campaign, LEASE).await.expect("claim") {
        handed.push(lead.phone);
    }
    assert_eq!(handed, vec![common::number(3), common::number(4), common::number(5)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assigned_leads_go_to_their_agent_and_a_due_callback_comes_first() {
    let AnaAndBen { db, campaign, mut ana_s, ben_s, .. } = ana_and_ben(10).await;
    let assigned = admin::assign(&db.owner.client, campaign, ben_s.me().agent_id, 3).await.expect("assign");
    assert_eq!(assigned, 3);
    let first_for_ana = ana_s.claim_next(campaign, LEASE).await.expect("claim").expect("lead");
    assert_eq!(first_for_ana.phone, common::number(3), "the first three are Ben's");
    let first_for_ben = ben_s.claim_next(campaign, LEASE).await.expect("claim").expect("lead");
    assert_eq!(first_for_ben.phone, common::number(0));

    // Ana promises the ninth lead a callback, due now, for anyone.
    let ninth: i64 = db
        .owner
        .client
        .query_one("SELECT id FROM leads WHERE phone = $1", &[&common::number(8)])
        .await
        .expect("lead")
        .get(0);
    ana_s
        .push(&[TeamChange::Callback(TeamCallback {
            id: Uuid::new_v4(),
            lead_id: ninth,
            agent_id: None,
            due_at_ms: 0,
        })])
        .await
        .expect("callback");
    let next_for_ben = ben_s.claim_next(campaign, LEASE).await.expect("claim").expect("lead");
    assert_eq!(next_for_ben.id, ninth, "a due callback is handed out first");

    // The team lead takes Ben's leads back: his lease and remaining assignment end.
    let released = admin::release(&db.owner.client, campaign, Some(ben_s.me().agent_id)).await.expect("release");
    assert_eq!(released, 4, "two leases and two more assigned leads");
    let next_for_ana = ana_s.claim_next(campaign, LEASE).await.expect("claim").expect("lead");
    assert_eq!(next_for_ana.id, ninth, "the callback is still due (nobody finished it): it comes first");
    let then_for_ana = ana_s.claim_next(campaign, LEASE).await.expect("claim").expect("lead");
    assert_eq!(then_for_ana.phone, common::number(0), "released leads are anyone's again");
    assert!(ana_s.release(ninth, true, Some("answered"), None).await.expect("release"));
    let after = ana_s.claim_next(campaign, LEASE).await.expect("claim").expect("lead");
    assert_eq!(after.phone, common::number(1), "a finished callback is not handed out again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_given_back_for_later_waits_out_the_gap_and_then_goes_to_anyone() {
    let AnaAndBen { db, campaign, ana_s, ben_s, .. } = ana_and_ben(2).await;
    let first = ana_s.claim_next(campaign, LEASE).await.expect("claim").expect("lead");
    // No answer: back in four hours, for anyone.
    let four_hours = Duration::from_secs(4 * 3600);
    assert!(ana_s.release(first.id, false, Some("no-answer"), Some(four_hours)).await.expect("release"));
    assert!(
        !ana_s.release(first.id, false, None, None).await.expect("release"),
        "a parked lead is nobody's to release"
    );
    assert_eq!(ana_s.renew(LEASE).await.expect("renew"), 0, "the heartbeat does not keep a parked lead");
    let next = ben_s.claim_next(campaign, LEASE).await.expect("claim").expect("lead");
    assert_ne!(next.id, first.id, "not before the gap");
    assert_eq!(ana_s.claim_next(campaign, LEASE).await.expect("claim"), None, "nor for Ana");
    db.owner
        .client
        .execute("UPDATE leads SET lease_expires_at = now() - interval '1 second' WHERE id = $1", &[&first.id])
        .await
        .expect("four hours pass");
    let back = ana_s.claim_next(campaign, LEASE).await.expect("claim").expect("lead");
    assert_eq!((back.id, back.last_disposition.as_deref()), (first.id, Some("no-answer")));
}

#[tokio::test]
async fn a_restarted_app_gives_back_the_leads_it_held_but_not_its_resumed_or_parked_ones_nor_a_teammates() {
    let AnaAndBen { db, campaign, ana, ana_s, ben_s } = ana_and_ben(5).await;
    let held = ana_s.claim_next(campaign, LEASE).await.expect("claim").expect("lead");
    let resumed = ana_s.claim_next(campaign, LEASE).await.expect("claim").expect("lead");
    let parked = ana_s.claim_next(campaign, LEASE).await.expect("claim").expect("lead");
    assert!(ana_s.release(parked.id, false, Some("no-answer"), Some(Duration::from_secs(3600))).await.expect("park"));
    let bens = ben_s.claim_next(campaign, LEASE).await.expect("claim").expect("lead");

    // Ana's app starts again and resumes its session (which holds `resumed`): what else it held
    // comes back to the team; the rest stays as it was.
    let restarted = db.session(&ana).await;
    assert_eq!(restarted.give_back_held(&[resumed.id]).await.expect("give back"), 1);
    let leases: Vec<(i64, Option<String>, bool, bool)> = db
        .owner
        .client
        .query(
            "SELECT l.id, a.name, l.parked, l.done FROM leads l LEFT JOIN agents a ON a.id = l.leased_by ORDER BY l.id",
            &[],
        )
        .await
        .expect("leases")
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
        .collect();
    let of = |id: i64| leases.iter().find(|lease| lease.0 == id).cloned().expect("the lead");
    assert_eq!(of(held.id), (held.id, None, false, false), "given back, not finished");
    assert_eq!(of(resumed.id), (resumed.id, Some("Ana".into()), false, false), "still hers: her session goes on");
    assert_eq!(of(parked.id), (parked.id, Some("Ana".into()), true, false), "still waiting out its gap");
    assert_eq!(of(bens.id), (bens.id, Some("Ben".into()), false, false), "a teammate's lead is untouched");
    let next = ben_s.claim_next(campaign, LEASE).await.expect("claim").expect("lead");
    assert_eq!(next.id, held.id, "the lead Ana held is next in line for anyone");
    assert_eq!(restarted.renew(LEASE).await.expect("renew"), 1, "the heartbeat keeps the resumed one");
}

#[tokio::test]
async fn a_wrap_up_sent_after_its_lease_lapsed_still_finishes_the_lead_unless_a_teammate_has_it_now() {
    let AnaAndBen { db, campaign, ana_s, ben_s, .. } = ana_and_ben(3).await;
    let first = ana_s.claim_next(campaign, LEASE).await.expect("claim").expect("lead");
    let second = ana_s.claim_next(campaign, LEASE).await.expect("claim").expect("lead");
    // Ana is offline past her leases; Ben is handed the second meanwhile.
    db.owner
        .client
        .execute("UPDATE leads SET lease_expires_at = now() - interval '1 second' WHERE leased_by IS NOT NULL", &[])
        .await
        .expect("the leases lapse");
    let bens = ben_s.claim_next(campaign, LEASE).await.expect("claim").expect("lead");
    assert_eq!(bens.id, first.id, "the oldest lapsed lease first");
    // Her wrap-ups arrive: the first is Ben's now (he is calling it), the second nobody's.
    assert!(!ana_s.release(first.id, true, Some("sale"), None).await.expect("release runs"), "Ben has it");
    assert!(ana_s.release(second.id, true, Some("wrong-number"), None).await.expect("release"), "nobody has it");
    let state = |id: i64| {
        let client = &db.owner.client;
        async move {
            let row = client
                .query_one("SELECT done, last_disposition, leased_by IS NULL FROM leads WHERE id = $1", &[&id])
                .await
                .expect("lead");
            (row.get::<_, bool>(0), row.get::<_, Option<String>>(1), row.get::<_, bool>(2))
        }
    };
    assert_eq!(state(first.id).await, (false, None, false), "Ben's call goes on");
    assert_eq!(state(second.id).await, (true, Some("wrong-number".into()), true), "finished for the team");
}
