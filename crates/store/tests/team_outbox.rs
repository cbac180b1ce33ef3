//! The agent's side of a team in a real SQLite file: what a team computer queues (in the same
//! transaction as the change), what it does not (before joining, the team's own changes), and
//! the team's changes written back with the feed's cursor.

use softphone_core::disposition::Disposition;
use softphone_core::phone::PhoneNumber;
use softphone_store::{
    CallEngine, CallFinish, ClaimedTeamLead, Direction, LeadFields, LoggedCallState, NewCall, Store, TeamFeedEntry,
    TeamMembership, TeamOutboxItem,
};

const NOW: i64 = 1_790_000_000_000;

fn phone(e164: &str) -> PhoneNumber {
    PhoneNumber::from_e164(e164).expect("valid")
}

fn member() -> TeamMembership {
    TeamMembership { team_id: "team-1".into(), agent_id: "agent-1".into() }
}

fn claimed(id: i64, e164: &str) -> ClaimedTeamLead {
    ClaimedTeamLead {
        team_lead_id: id,
        team_campaign: "campaign-1".into(),
        fields: LeadFields { name: format!("Lead {id}"), ..LeadFields::with_phone(phone(e164)) },
        time_zone: String::new(),
        last_disposition: None,
    }
}

fn call(store: &Store, lead: Option<softphone_store::LeadId>, number: &str) -> softphone_store::CallLogEntry {
    store
        .start_call(&NewCall {
            direction: Direction::Outbound,
            remote_number: number.into(),
            lead_id: lead,
            engine: CallEngine::Native,
            started_at_ms: NOW,
        })
        .expect("call starts")
}

fn finish(store: &Store, id: softphone_store::CallLogId) {
    store
        .finish_call(
            id,
            &CallFinish {
                state: LoggedCallState::Completed,
                ended_at_ms: NOW + 60_000,
                hangup_cause: None,
                sip_code: None,
            },
        )
        .expect("call ends");
}

#[test]
fn a_team_computer_queues_its_calls_dispositions_notes_and_do_not_call_numbers() {
    let dir = tempfile::tempdir().expect("dir");
    let mut store = Store::open(dir.path().join("a.sqlite3")).expect("open");
    let before = call(&store, None, "+14155550100");
    finish(&store, before.id);
    assert_eq!(store.team_outbox_counts().expect("counts").waiting, 0, "not on a team yet: nothing queued");

    store.set_team_membership(Some(&member())).expect("join");
    let lead = store.keep_claimed_team_lead(&claimed(42, "+14155550101"), NOW).expect("claimed lead kept");
    assert_eq!(store.team_lead_id(lead.id).expect("team id"), Some((42, "campaign-1".into())));
    assert_eq!(store.team_outbox_counts().expect("counts").waiting, 0, "a claimed lead is the team's, not a change");

    let live = call(&store, Some(lead.id), "+14155550101");
    store.answer_call(live.id, NOW + 5_000).expect("answered");
    store
        .set_call_disposition(live.id, Some(&Disposition::Callback), "call back Tuesday", NOW + 10_000)
        .expect("wrap-up");
    assert!(
        store.team_pending(10).expect("pending").is_empty(),
        "a disposition or note of a call still in progress waits for the call"
    );
    finish(&store, live.id);
    store.add_to_do_not_call(&phone("+14155550199"), NOW).expect("dnc");
    let pending = store.team_pending(10).expect("pending");
    let uuid = store.call_uuid(live.id).expect("uuid").expect("a new call has one");
    assert!(
        matches!(&pending[0].item, TeamOutboxItem::Call { uuid: u, team_lead_id: Some(42), answered_at_ms: Some(_), .. } if *u == uuid),
        "{pending:?}"
    );
    assert_eq!(pending.len(), 4, "{pending:?}");
    assert!(pending.iter().any(|e| matches!(&e.item, TeamOutboxItem::Disposition { code, set_at_ms, .. } if code == "callback" && *set_at_ms == NOW + 10_000)));
    assert!(pending.iter().any(
        |e| matches!(&e.item, TeamOutboxItem::Note { body, team_lead_id: Some(42), .. } if body == "call back Tuesday")
    ));
    assert!(
        pending.iter().any(|e| matches!(&e.item, TeamOutboxItem::DoNotCall { number } if number == "+14155550199"))
    );

    // Sent: gone. A later edit of the note queues it again; a refused change is kept, not retried.
    store.team_sent(&pending.iter().map(|e| e.id).collect::<Vec<_>>()).expect("sent");
    store
        .set_call_disposition(live.id, Some(&Disposition::Callback), "call back Wednesday", NOW + 20_000)
        .expect("edit");
    let again = store.team_pending(10).expect("pending");
    assert_eq!(again.len(), 1, "only the note changed: {again:?}");
    store.team_refused(again[0].id, "The team database refused this.").expect("refused");
    assert!(store.team_pending(10).expect("pending").is_empty());
    let counts = store.team_outbox_counts().expect("counts");
    assert_eq!((counts.waiting, counts.refused), (0, 1));

    // An agent's edit of a claimed lead is queued; the team's own edit is not queued back.
    let fields = LeadFields { name: "Lead Renamed".into(), ..LeadFields::with_phone(phone("+14155550101")) };
    store.update_lead(lead.id, &fields, NOW + 30_000).expect("edit");
    let edit = store.team_pending(10).expect("pending");
    assert!(
        matches!(&edit[..], [e] if matches!(&e.item, TeamOutboxItem::LeadEdit { team_lead_id: 42, name, .. } if name == "Lead Renamed")),
        "{edit:?}"
    );
    store.team_sent(&[edit[0].id]).expect("sent");
    store
        .apply_team_feed(
            &[TeamFeedEntry::Lead {
                team_lead_id: 42,
                name: "Lead By Ben".into(),
                company: String::new(),
                email: String::new(),
                city: String::new(),
                notes: String::new(),
                tags: String::new(),
                do_not_call: false,
                last_disposition: Some("callback".into()),
                updated_at_ms: NOW + 40_000,
            }],
            (7, 70),
        )
        .expect("applied");
    assert_eq!(store.lead(lead.id).expect("lead").name, "Lead By Ben", "the last writer by server time");
    assert!(store.team_pending(10).expect("pending").is_empty(), "the team's change is not sent back");
    assert_eq!(store.team_feed_cursor().expect("cursor"), (7, 70));
}

#[test]
fn teammates_calls_and_notes_land_once_and_a_crash_mid_call_is_queued_as_interrupted() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("b.sqlite3");
    let mut store = Store::open(&path).expect("open");
    store.set_team_membership(Some(&member())).expect("join");
    let lead = store.keep_claimed_team_lead(&claimed(7, "+14155550102"), NOW).expect("kept");
    let entries = vec![
        TeamFeedEntry::Call {
            uuid: "c-1".into(),
            agent: "Ana".into(),
            team_lead_id: Some(7),
            direction: Direction::Outbound,
            remote_number: "+14155550102".into(),
            outcome: "answered".into(),
            started_at_ms: NOW,
            answered_at_ms: Some(NOW + 1_000),
            ended_at_ms: Some(NOW + 61_000),
            talk_seconds: 60,
        },
        TeamFeedEntry::Disposition { call_uuid: "c-1".into(), code: "not-interested".into(), set_at_ms: NOW + 62_000 },
        TeamFeedEntry::Note {
            id: "n-1".into(),
            agent: "Ana".into(),
            team_lead_id: Some(7),
            call_uuid: Some("c-1".into()),
            body: "Has a supplier".into(),
            written_at_ms: NOW + 62_000,
        },
    ];
    store.apply_team_feed(&entries, (1, 3)).expect("applied");
    store.apply_team_feed(&entries, (1, 3)).expect("applied twice (a retry after a crash)");
    let calls = store.team_calls_of_lead(lead.id).expect("calls");
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0].agent.as_str(), calls[0].disposition.as_deref()), ("Ana", Some("not-interested")));
    assert_eq!(store.team_notes_of_lead(lead.id).expect("notes").len(), 1);
    let listed = store.team_calls(10).expect("the team's calls");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].note.as_deref(), Some("Has a supplier"), "a call shows its latest note");
    assert_eq!(store.team_outbox_counts().expect("counts").waiting, 0, "none of it is queued back");

    // This agent's own call, and the laptop dies mid-call.
    let live = call(&store, Some(lead.id), "+14155550102");
    let uuid = store.call_uuid(live.id).expect("uuid").expect("uuid");
    drop(store);
    let store = Store::open(&path).expect("reopen");
    assert_eq!(store.interrupted_at_open(), 1);
    let pending = store.team_pending(10).expect("pending");
    assert!(
        matches!(&pending[..], [e] if matches!(&e.item, TeamOutboxItem::Call { uuid: u, state: LoggedCallState::Interrupted, .. } if *u == uuid)),
        "{pending:?}"
    );
    let mut all = store.all_call_uuids().expect("uuids");
    all.dedup();
    assert_eq!(all.len(), 2);
}

#[test]
fn a_lead_given_back_waits_once_survives_a_restart_and_a_newer_give_back_is_not_lost_to_an_older_send() {
    let folder = tempfile::tempdir().expect("folder");
    let path = folder.path().join("agent.sqlite3");
    let release = |queued_at_ms: i64, finished: bool| softphone_store::TeamLeadRelease {
        team_lead_id: 42,
        finished,
        disposition: Some(if finished { "sale" } else { "no-answer" }.into()),
        retry_after_ms: (!finished).then_some(3_600_000),
        queued_at_ms,
    };
    {
        let store = Store::open(&path).expect("open");
        store.set_team_membership(Some(&member())).expect("member");
        store.queue_team_release(&release(NOW, false)).expect("queued");
        // Given back again (the agent changed the wrap-up): one give-back, the newer.
        store.queue_team_release(&release(NOW + 5_000, true)).expect("queued again");
        assert_eq!(store.team_outbox_counts().expect("counts").waiting, 1);
    }
    let store = Store::open(&path).expect("the app starts again");
    let waiting = store.team_releases().expect("releases");
    assert_eq!(waiting, vec![release(NOW + 5_000, true)], "kept through the restart");
    // A send of the older one (queued before the newer) does not take the newer away.
    store.team_release_sent(&release(NOW, false)).expect("sent");
    assert_eq!(store.team_releases().expect("releases").len(), 1);
    store.team_release_attempted(42).expect("attempted");
    store.team_release_sent(&waiting[0]).expect("sent");
    assert!(store.team_releases().expect("releases").is_empty());
    assert_eq!(store.team_outbox_counts().expect("counts").waiting, 0);
}
