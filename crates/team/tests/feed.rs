//! Pushing and pulling: changes land once however often they are sent, another agent reads them
//! from the feed in order and none is skipped (a transaction that commits late under a lower id
//! included), LISTEN wakes a reader, and a database that goes away mid-push loses nothing.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::TeamDb;
use softphone_team::changes::{Direction, FeedCursor, FeedItem, TeamCall, TeamChange, TeamDisposition, TeamNote};
use softphone_team::{TeamError, TeamSession};
use uuid::Uuid;

fn call(n: i64) -> TeamCall {
    TeamCall {
        id: Uuid::new_v4(),
        lead_id: None,
        campaign_id: None,
        direction: Direction::Outbound,
        number: common::number(u32::try_from(n).expect("small")),
        outcome: "answered".into(),
        started_at_ms: 1_796_680_000_000 + n * 1000,
        answered_at_ms: Some(1_796_680_000_500 + n * 1000),
        ended_at_ms: Some(1_796_680_000_900 + n * 1000),
        talk_seconds: 1,
    }
}

/// Everything the feed has after `cursor`, page by page.
async fn pull_all(session: &TeamSession, mut cursor: FeedCursor) -> (Vec<FeedItem>, FeedCursor) {
    let mut items = Vec::new();
    loop {
        let (page, next) = session.pull(cursor).await.expect("pull");
        if page.is_empty() {
            return (items, next);
        }
        items.extend(page.into_iter().map(|c| c.item));
        cursor = next;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_changes_pushed_land_once_and_another_agent_pulls_them_all() {
    let mut db = TeamDb::start().await;
    let team = db.team("Team").await;
    let ana = db.agent(team, "Ana", false).await;
    let ben = db.agent(team, "Ben", false).await;
    let mut ana_s = db.session(&ana).await;
    let ben_s = db.session(&ben).await;

    let mut changes = Vec::new();
    for n in 0..4_000 {
        let call = call(n);
        changes.push(TeamChange::Disposition(TeamDisposition {
            call_id: call.id,
            disposition: "answered".into(),
            set_at_ms: call.started_at_ms + 5_000,
        }));
        if n % 2 == 0 {
            changes.push(TeamChange::Note(TeamNote {
                id: Uuid::new_v4(),
                lead_id: None,
                call_id: Some(call.id),
                body: format!("note {n}"),
                written_at_ms: call.started_at_ms + 6_000,
            }));
        }
        changes.insert(changes.len() - 1 - usize::from(n % 2 == 0), TeamChange::Call(call));
    }
    assert_eq!(changes.len(), 10_000);
    for batch in changes.chunks(1_000) {
        ana_s.push(batch).await.expect("push");
    }
    // Sent again (the app did not hear the commit before the link dropped): nothing doubles.
    ana_s.push(&changes[..2_500]).await.expect("push again");

    let (items, _) = pull_all(&ben_s, FeedCursor::default()).await;
    let calls: HashSet<Uuid> =
        items.iter().filter_map(|i| if let FeedItem::Call { call, .. } = i { Some(call.id) } else { None }).collect();
    let notes = items.iter().filter(|i| matches!(i, FeedItem::Note { .. })).count();
    let dispositions = items.iter().filter(|i| matches!(i, FeedItem::Disposition { .. })).count();
    assert_eq!((calls.len(), dispositions, notes), (4_000, 4_000, 2_000));
    assert_eq!(items.len(), 10_000, "each change once in the feed");
    let stored: i64 = db.owner.client.query_one("SELECT count(*) FROM calls", &[]).await.expect("count").get(0);
    assert_eq!(stored, 4_000);
    let agent = items.iter().find_map(|i| if let FeedItem::Note { agent_id, .. } = i { Some(*agent_id) } else { None });
    assert_eq!(agent, Some(ana_s.me().agent_id), "the feed says whose note it is");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_committed_late_is_not_skipped_and_listen_wakes_the_reader() {
    let mut db = TeamDb::start().await;
    let team = db.team("Team").await;
    let ana = db.agent(team, "Ana", false).await;
    let ben = db.agent(team, "Ben", false).await;
    let ana_slow = db.session(&ana).await;
    let mut ana_s = db.session(&ana).await;
    let mut ben_s = db.session(&ben).await;
    ben_s.listen().await.expect("listen");

    // A slow transaction writes first (taking the lower change id) and commits last.
    let slow_call = call(1);
    let slow = ana_slow.client();
    slow.batch_execute("BEGIN").await.expect("begin");
    slow.execute(
        "INSERT INTO calls (id, team_id, agent_id, direction, number, outcome, started_at)
         VALUES ($1, $2, $3, 'outbound', $4, 'answered', now())",
        &[&slow_call.id, &team, &ana_slow.me().agent_id, &slow_call.number],
    )
    .await
    .expect("insert");
    let fast_call = call(2);
    ana_s.push(&[TeamChange::Call(fast_call.clone())]).await.expect("push");
    tokio::time::timeout(Duration::from_secs(5), ben_s.notified()).await.expect("notified in time").expect("alive");

    let (first, cursor) = pull_all(&ben_s, FeedCursor::default()).await;
    assert!(first.is_empty(), "nothing is handed over while an older transaction is still open: {first:?}");
    slow.batch_execute("COMMIT").await.expect("commit");
    let (second, cursor) = pull_all(&ben_s, cursor).await;
    let ids: Vec<Uuid> =
        second.iter().filter_map(|i| if let FeedItem::Call { call, .. } = i { Some(call.id) } else { None }).collect();
    assert_eq!(ids, vec![slow_call.id, fast_call.id], "both, the late one included");
    let (third, _) = pull_all(&ben_s, cursor).await;
    assert!(third.is_empty(), "and never again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_gone_mid_shift_refuses_pushes_as_transient_and_nothing_is_lost_after() {
    let mut db = TeamDb::start().await;
    let team = db.team("Team").await;
    let ana = db.agent(team, "Ana", false).await;
    let mut ana_s = db.session(&ana).await;
    let before = call(1);
    ana_s.push(&[TeamChange::Call(before.clone())]).await.expect("push");

    db.server.stop();
    let during = call(2);
    let error = ana_s.push(&[TeamChange::Call(during.clone())]).await.expect_err("the database is gone");
    assert!(error.is_transient(), "kept for later: {error:?}");
    assert!(!ana_s.is_alive());
    let reconnect = db.try_session(&ana).await.expect_err("still down");
    assert!(matches!(reconnect, TeamError::Unreachable { .. }), "{reconnect:?}");

    db.server.start_again();
    let mut ana_s = db.session(&ana).await;
    ana_s.push(&[TeamChange::Call(before), TeamChange::Call(during)]).await.expect("pushed after");
    let stored: i64 = ana_s.client().query_one("SELECT count(*) FROM calls", &[]).await.expect("count").get(0);
    assert_eq!(stored, 2, "each call once");
}
