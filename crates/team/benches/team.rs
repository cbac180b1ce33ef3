//! Claim latency with twenty agents claiming at once from 100,000 leads, and the time to push
//! 10,000 changes and pull them as another agent, against a private PostgreSQL on loopback.
//!
//! `cargo bench -p softphone-team` (figures in LEARNINGS.md).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use softphone_core::phone::Region;
use softphone_team::TeamSession;
use softphone_team::admin;
use softphone_team::changes::{Direction, FeedCursor, TeamCall, TeamChange, TeamDisposition, TeamNote};
use softphone_team::connect::{TeamLogin, connect};
use softphone_team::schema;
use softphone_team::test_support::TestServer;
use uuid::Uuid;

const AGENTS: usize = 20;
const LEADS: u32 = 100_000;
const CLAIMS_EACH: usize = 500;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let server = TestServer::start();
    let mut owner = connect(&TeamLogin::from_url(server.superuser_url())).await.expect("owner");
    schema::migrate(&mut owner.client).await.expect("schema");
    let team = admin::add_team(&owner.client, "Bench").await.expect("team");
    let campaign = admin::add_campaign(&owner.client, team, "Big").await.expect("campaign");
    let mut csv = String::from("Name,Phone\n");
    for n in 0..LEADS {
        csv.push_str(&format!("Lead {n},+1415{:03}{:04}\n", 200 + n / 10_000, n % 10_000));
    }
    let started = Instant::now();
    let report = admin::import_csv(&mut owner.client, team, campaign, std::io::Cursor::new(csv), Region::US)
        .await
        .expect("import");
    println!("import (COPY) of {} leads: {:.2} s", report.inserted, started.elapsed().as_secs_f64());

    let mut sessions = Vec::new();
    for n in 0..AGENTS {
        let agent = admin::add_agent(&mut owner.client, team, &format!("Agent {n}"), false).await.expect("agent");
        let login = TeamLogin::new(server.url(), agent.login, agent.password);
        sessions.push(TeamSession::open(&login).await.expect("session"));
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for session in sessions {
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(CLAIMS_EACH);
            let mut ids = Vec::with_capacity(CLAIMS_EACH);
            for _ in 0..CLAIMS_EACH {
                let t = Instant::now();
                let lead = session.claim_next(campaign, Duration::from_secs(600)).await.expect("claim").expect("lead");
                latencies.push(t.elapsed());
                ids.push(lead.id);
            }
            (latencies, ids, session)
        }));
    }
    let mut latencies = Vec::new();
    let mut ids = Vec::new();
    let mut sessions = Vec::new();
    for task in tasks {
        let (l, i, s) = task.await.expect("claimer");
        latencies.extend(l);
        ids.extend(i);
        sessions.push(s);
    }
    let wall = started.elapsed();
    latencies.sort();
    let distinct: HashSet<i64> = ids.iter().copied().collect();
    println!(
        "claims: {} by {AGENTS} agents at once in {:.2} s ({:.0}/s); duplicates {}; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ids.len(),
        wall.as_secs_f64(),
        ids.len() as f64 / wall.as_secs_f64(),
        ids.len() - distinct.len(),
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().expect("claims").as_secs_f64() * 1e3,
    );

    // The same agents at a pace: each claims every 20 ms, out of step with the others (1,000
    // claims a second for the team, far above twenty people dialing), so the latency is mostly the
    // claim's own, not the queue's.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (n, session) in sessions.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(CLAIMS_EACH);
            // Agents are not in step: each starts 1 ms after the one before.
            tokio::time::sleep(Duration::from_millis(n as u64)).await;
            let mut ticker = tokio::time::interval(Duration::from_millis(20));
            for _ in 0..CLAIMS_EACH / 2 {
                ticker.tick().await;
                let t = Instant::now();
                session.claim_next(campaign, Duration::from_secs(600)).await.expect("claim").expect("lead");
                latencies.push(t.elapsed());
            }
            (latencies, session)
        }));
    }
    let mut latencies = Vec::new();
    let mut sessions = Vec::new();
    for task in tasks {
        let (l, s) = task.await.expect("claimer");
        latencies.extend(l);
        sessions.push(s);
    }
    latencies.sort();
    println!(
        "paced claims: {} by {AGENTS} agents, each every 20 ms, in {:.2} s; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        started.elapsed().as_secs_f64(),
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().expect("claims").as_secs_f64() * 1e3,
    );

    let mut changes = Vec::new();
    for n in 0..4_000i64 {
        let id = Uuid::new_v4();
        changes.push(TeamChange::Call(TeamCall {
            id,
            lead_id: None,
            campaign_id: Some(campaign),
            direction: Direction::Outbound,
            number: "+14152000001".into(),
            outcome: "answered".into(),
            started_at_ms: 1_796_680_000_000 + n,
            answered_at_ms: None,
            ended_at_ms: None,
            talk_seconds: 0,
        }));
        changes.push(TeamChange::Disposition(TeamDisposition {
            call_id: id,
            disposition: "answered".into(),
            set_at_ms: 1,
        }));
        if n % 2 == 0 {
            changes.push(TeamChange::Note(TeamNote {
                id: Uuid::new_v4(),
                lead_id: None,
                call_id: Some(id),
                body: "note".into(),
                written_at_ms: 1,
            }));
        }
    }
    let reader = sessions.pop().expect("reader");
    let (_, mut cursor) = reader.pull(FeedCursor::default()).await.expect("pull");
    let writer = sessions.first_mut().expect("writer");
    let started = Instant::now();
    for batch in changes.chunks(1_000) {
        writer.push(batch).await.expect("push");
    }
    let pushed = started.elapsed();
    let mut pulled = 0;
    loop {
        let (page, next) = reader.pull(cursor).await.expect("pull");
        if page.is_empty() {
            break;
        }
        pulled += page.len();
        cursor = next;
    }
    println!(
        "{} changes pushed in batches of 1,000 in {:.2} s; pulled by another agent: {pulled} in {:.2} s in all",
        changes.len(),
        pushed.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
