//! Two agents' files synced through a real PostgreSQL: what one agent logs reaches the other's
//! file; the database stopped mid-shift and started again loses and doubles nothing; a laptop
//! that dies mid-call sends the call as interrupted when it comes back, and gives its lease back.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TeamDb;
use softphone_core::disposition::Disposition;
use softphone_store::{CallEngine, CallFinish, Direction, Lead, LoggedCallState, NewCall, Store, TeamLeadRelease};
use softphone_team::{TeamLink, TeamSession, TeamSync};
use uuid::Uuid;

const LEASE: Duration = Duration::from_secs(300);
const NOW: i64 = 1_796_680_000_000;

struct Agent {
    store: Arc<Mutex<Store>>,
    claims: TeamSession,
    sync: TeamSync,
}

impl Agent {
    async fn claim(&self, campaign: Uuid) -> Lead {
        let claimed = self.claims.claim_next(campaign, LEASE).await.expect("claim").expect("a lead is left");
        let local = claimed.to_local().expect("usable");
        self.store.lock().expect("store").keep_claimed_team_lead(&local, NOW).expect("kept")
    }

    /// A whole call to `lead`: answered, a minute, a disposition and a note.
    fn call(&self, lead: &Lead, disposition: Disposition, note: &str) -> String {
        let store = self.store.lock().expect("store");
        let entry = store
            .start_call(&NewCall {
                direction: Direction::Outbound,
                remote_number: lead.phone.as_e164().to_owned(),
                lead_id: Some(lead.id),
                engine: CallEngine::Native,
                started_at_ms: NOW,
            })
            .expect("start");
        store.answer_call(entry.id, NOW + 2_000).expect("answer");
        store
            .finish_call(
                entry.id,
                &CallFinish {
                    state: LoggedCallState::Completed,
                    ended_at_ms: NOW + 62_000,
                    hangup_cause: None,
                    sip_code: None,
                },
            )
            .expect("finish");
        drop(store);
        let mut store = self.store.lock().expect("store");
        store.set_call_disposition(entry.id, Some(&disposition), note, NOW + 70_000).expect("wrap-up");
        let uuid = store.call_uuid(entry.id).expect("uuid").expect("uuid");
        drop(store);
        self.sync.wake();
        uuid
    }

    fn team_lead_id(&self, lead: &Lead) -> i64 {
        self.store.lock().expect("store").team_lead_id(lead.id).expect("read").expect("a team lead").0
    }

    fn uuids(&self) -> Vec<String> {
        self.store.lock().expect("store").all_call_uuids().expect("uuids")
    }
}

async fn agent(
    db: &mut TeamDb,
    team: Uuid,
    name: &str,
    folder: &std::path::Path,
) -> (Agent, softphone_team::admin::NewAgent) {
    let new = db.agent(team, name, false).await;
    let store = Arc::new(Mutex::new(Store::open(folder.join(format!("{name}.sqlite3"))).expect("open")));
    let sync = TeamSync::start(db.login(&new), store.clone());
    let claims = db.session(&new).await;
    (Agent { store, claims, sync }, new)
}

async fn until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_see_each_others_outcomes_and_a_database_outage_loses_and_doubles_nothing() {
    let mut db = TeamDb::start().await;
    let team = db.team("Team").await;
    let campaign = db.campaign(team, "Spring").await;
    db.leads(team, campaign, 20).await;
    let folder = tempfile::tempdir().expect("folder");
    let (ana, _) = agent(&mut db, team, "Ana", folder.path()).await;
    let (ben, _) = agent(&mut db, team, "Ben", folder.path()).await;
    until("both online", Duration::from_secs(20), || {
        ana.sync.status().link == TeamLink::Online && ben.sync.status().link == TeamLink::Online
    })
    .await;

    // Ana calls her lead; Ben's file has the call, its disposition and note.
    let ana_lead = ana.claim(campaign).await;
    let ben_lead = ben.claim(campaign).await;
    assert_ne!(ana_lead.phone, ben_lead.phone, "no lead for two agents");
    let call = ana.call(&ana_lead, Disposition::Callback, "Call back after 5 pm");
    let took = until("Ana's call in Ben's file", Duration::from_secs(20), || ben.uuids().contains(&call)).await;
    println!("Ana's call reached Ben's file in {took:?}");

    // Ana gives the lead back unfinished; Ben claims it later and sees her call and note on it.
    assert!(ana.claims.release(ana.team_lead_id(&ana_lead), false, Some("callback"), None).await.expect("release"));
    ben.claims.release(ben.team_lead_id(&ben_lead), false, None, None).await.expect("release");
    let again = ben.claim(campaign).await;
    assert_eq!(again.phone, ana_lead.phone, "the released lead is next in line");
    {
        let store = ben.store.lock().expect("store");
        let calls = store.team_calls_of_lead(again.id).expect("team calls");
        assert_eq!(calls.len(), 1);
        assert_eq!((calls[0].agent.as_str(), calls[0].disposition.as_deref()), ("Ana", Some("callback")));
        let notes = store.team_notes_of_lead(again.id).expect("team notes");
        assert_eq!(notes.iter().map(|n| n.body.as_str()).collect::<Vec<_>>(), vec!["Call back after 5 pm"]);
    }

    // The team database stops mid-shift; both agents keep working.
    db.server.stop();
    until("both offline", Duration::from_secs(30), || {
        matches!(ana.sync.status().link, TeamLink::Offline { .. })
            && matches!(ben.sync.status().link, TeamLink::Offline { .. })
    })
    .await;
    let mut offline_calls = Vec::new();
    for n in 0..3 {
        offline_calls.push(ana.call(&ana_lead, Disposition::NoAnswer, &format!("offline try {n}")));
        offline_calls.push(ben.call(&again, Disposition::VoicemailLeft, ""));
    }
    // Ben is done with his lead while the team is away: its give-back waits with the rest.
    let bens_lead = ben.team_lead_id(&again);
    ben.store
        .lock()
        .expect("store")
        .queue_team_release(&TeamLeadRelease {
            team_lead_id: bens_lead,
            finished: true,
            disposition: Some("not-interested".into()),
            retry_after_ms: None,
            queued_at_ms: NOW + 80_000,
        })
        .expect("queued");
    until("the changes wait", Duration::from_secs(10), || {
        ana.sync.status().waiting >= 9 && ben.sync.status().waiting >= 7
    })
    .await;
    assert_eq!(ana.sync.status().sentence(), "Team offline · 9 waiting", "3 calls, 3 dispositions, 3 notes");
    assert_eq!(ben.sync.status().sentence(), "Team offline · 7 waiting", "3 calls, 3 dispositions, a give-back");

    db.server.start_again();
    until("everything sent and received", Duration::from_secs(60), || {
        let (a, b) = (ana.sync.status(), ben.sync.status());
        a.link == TeamLink::Online
            && b.link == TeamLink::Online
            && a.waiting == 0
            && b.waiting == 0
            && ana.uuids().len() == 7
            && ben.uuids().len() == 7
    })
    .await;
    db.reconnect_owner().await;
    let rows = db.owner.client.query("SELECT id::text FROM calls ORDER BY 1", &[]).await.expect("calls");
    let on_team: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    assert_eq!(on_team.len(), 7);
    assert_eq!(ana.uuids(), on_team, "Ana's file holds every call once");
    assert_eq!(ben.uuids(), on_team, "Ben's file holds every call once");
    for call in offline_calls.iter().chain([&call]) {
        assert!(on_team.contains(call));
    }
    let dispositions: i64 =
        db.owner.client.query_one("SELECT count(*) FROM dispositions", &[]).await.expect("count").get(0);
    let notes: i64 = db.owner.client.query_one("SELECT count(*) FROM notes", &[]).await.expect("count").get(0);
    assert_eq!((dispositions, notes), (7, 4));
    let lead: (bool, Option<String>, bool) = {
        let row = db
            .owner
            .client
            .query_one("SELECT done, last_disposition, leased_by IS NULL FROM leads WHERE id = $1", &[&bens_lead])
            .await
            .expect("Ben's lead");
        (row.get(0), row.get(1), row.get(2))
    };
    assert_eq!(lead, (true, Some("not-interested".into()), true), "finished for the team once it was back");
    assert_eq!(ana.sync.status().sentence(), "Team synced");
    assert_eq!(ben.sync.status().sentence(), "Team synced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_laptop_that_dies_mid_call_sends_the_call_as_interrupted_and_gives_back_the_leads_it_held() {
    let mut db = TeamDb::start().await;
    let team = db.team("Team").await;
    let campaign = db.campaign(team, "Spring").await;
    db.leads(team, campaign, 5).await;
    let folder = tempfile::tempdir().expect("folder");
    let (ana, new) = agent(&mut db, team, "Ana", folder.path()).await;
    until("online", Duration::from_secs(20), || ana.sync.status().link == TeamLink::Online).await;
    let lead = ana.claim(campaign).await;
    let team_lead = ana.team_lead_id(&lead);
    let uuid = {
        let store = ana.store.lock().expect("store");
        let entry = store
            .start_call(&NewCall {
                direction: Direction::Outbound,
                remote_number: lead.phone.as_e164().to_owned(),
                lead_id: Some(lead.id),
                engine: CallEngine::Native,
                started_at_ms: NOW,
            })
            .expect("start");
        store.answer_call(entry.id, NOW + 1_000).expect("answer");
        store.call_uuid(entry.id).expect("uuid").expect("uuid")
    };
    // The laptop dies: nothing is finished, nothing released.
    drop(ana);

    let store = Arc::new(Mutex::new(Store::open(folder.path().join("Ana.sqlite3")).expect("reopen")));
    assert_eq!(store.lock().expect("store").interrupted_at_open(), 1);
    let sync = TeamSync::start(db.login(&new), store.clone());
    let outcome = || async {
        db.owner
            .client
            .query_opt("SELECT outcome FROM calls WHERE id = $1", &[&uuid.parse::<Uuid>().expect("uuid")])
            .await
    };
    let started = Instant::now();
    loop {
        if let Some(row) = outcome().await.expect("query") {
            assert_eq!(row.get::<_, String>(0), "interrupted");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the interrupted call reached the team");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Back at work, nobody else was handed the lead while she was away; the app gives it back
    // (no session of hers holds it now), and then it is anyone's, not finished.
    let claims = db.session(&new).await;
    let held: Option<String> = db
        .owner
        .client
        .query_one("SELECT leased_by::text FROM leads WHERE id = $1", &[&team_lead])
        .await
        .expect("lease")
        .get(0);
    assert!(held.is_some(), "still Ana's until she is back");
    assert_eq!(claims.give_back_held(&[]).await.expect("give back"), 1);
    assert_eq!(claims.renew(LEASE).await.expect("renew"), 0, "no lease of hers left to keep");
    let (held, done): (Option<String>, bool) = {
        let row = db
            .owner
            .client
            .query_one("SELECT leased_by::text, done FROM leads WHERE id = $1", &[&team_lead])
            .await
            .expect("lease");
        (row.get(0), row.get(1))
    };
    assert_eq!((held, done), (None, false), "given back, not finished");
    drop(sync);
}
