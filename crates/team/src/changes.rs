//! What an agent's app sends to the team database (an outbox entry each) and what comes back
//! from the change feed. Times are Unix milliseconds on the way in; the feed gives the server's
//! rows as they were written.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A finished call (or one a crash interrupted), as the agent's app logged it. Calls are
/// append-only: the first push of an id wins, a repeat is ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamCall {
    /// Made by the app when the call starts.
    pub id: Uuid,
    /// The team database's lead, when the call was to or from one.
    pub lead_id: Option<i64>,
    pub campaign_id: Option<Uuid>,
    pub direction: Direction,
    /// E.164.
    pub number: String,
    /// answered, no_answer, busy, failed, missed, rejected, cancelled, transferred, interrupted.
    pub outcome: String,
    pub started_at_ms: i64,
    pub answered_at_ms: Option<i64>,
    pub ended_at_ms: Option<i64>,
    pub talk_seconds: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Outbound,
    Inbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Outbound => "outbound",
            Direction::Inbound => "inbound",
        }
    }

    fn from_column(text: &str) -> Direction {
        if text == "inbound" { Direction::Inbound } else { Direction::Outbound }
    }
}

/// The agent's disposition of one of its own calls; a later one (by `set_at_ms`) replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamDisposition {
    pub call_id: Uuid,
    pub disposition: String,
    pub set_at_ms: i64,
}

/// A note on a lead or a call: append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamNote {
    pub id: Uuid,
    pub lead_id: Option<i64>,
    pub call_id: Option<Uuid>,
    pub body: String,
    pub written_at_ms: i64,
}

/// A promised callback, for one agent or (`agent_id` None) anyone on the team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamCallback {
    pub id: Uuid,
    pub lead_id: i64,
    pub agent_id: Option<Uuid>,
    pub due_at_ms: i64,
}

/// A number put on the team's do-not-call list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamDoNotCall {
    /// E.164.
    pub phone: String,
    pub reason: String,
}

/// An agent's edit of a lead's fields; the last writer (by server time) wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamLeadEdit {
    pub lead_id: i64,
    pub name: String,
    pub company: String,
    pub email: String,
    pub city: String,
    pub notes: String,
    pub tags: String,
}

/// One local change waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TeamChange {
    Call(TeamCall),
    Disposition(TeamDisposition),
    Note(TeamNote),
    Callback(TeamCallback),
    DoNotCall(TeamDoNotCall),
    LeadEdit(TeamLeadEdit),
}

impl TeamChange {
    /// The idempotency key: the same change queued twice has the same key, and the team
    /// database keeps it once.
    pub fn key(&self) -> String {
        match self {
            TeamChange::Call(call) => format!("call:{}", call.id),
            TeamChange::Disposition(d) => format!("disposition:{}:{}", d.call_id, d.set_at_ms),
            TeamChange::Note(note) => format!("note:{}", note.id),
            TeamChange::Callback(callback) => format!("callback:{}", callback.id),
            TeamChange::DoNotCall(dnc) => format!("do_not_call:{}", dnc.phone),
            TeamChange::LeadEdit(edit) => format!("lead_edit:{}", edit.lead_id),
        }
    }
}

/// Where a reader of the feed stands: the last change it has, by (transaction, id).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FeedCursor {
    pub tx: i64,
    pub id: i64,
}

/// A change made by someone on the team (the reader included), as the feed gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedChange {
    pub id: i64,
    pub item: FeedItem,
}

/// What changed. Unknown kinds (a newer schema's) are kept as `Other` and skipped by readers.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedItem {
    Call {
        agent_id: Uuid,
        call: TeamCall,
    },
    Disposition {
        agent_id: Uuid,
        disposition: TeamDisposition,
    },
    Note {
        agent_id: Uuid,
        note: TeamNote,
    },
    Callback {
        created_by: Uuid,
        callback: TeamCallback,
        done: bool,
    },
    DoNotCall {
        dnc: TeamDoNotCall,
        added_at_ms: i64,
    },
    Lead {
        lead_id: i64,
        edit: TeamLeadEdit,
        done: bool,
        do_not_call: bool,
        last_disposition: Option<String>,
        updated_at_ms: i64,
    },
    Other {
        kind: String,
    },
}

fn ms(row: &serde_json::Value, key: &str) -> Option<i64> {
    let text = row.get(key)?.as_str()?;
    text.parse::<jiff::Timestamp>().ok().map(|t| t.as_millisecond())
}

fn text(row: &serde_json::Value, key: &str) -> String {
    row.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_owned()
}

fn uuid(row: &serde_json::Value, key: &str) -> Option<Uuid> {
    row.get(key)?.as_str()?.parse().ok()
}

fn int(row: &serde_json::Value, key: &str) -> Option<i64> {
    row.get(key)?.as_i64()
}

impl FeedItem {
    /// Reads a feed row (`kind` is the table, `row` its `to_jsonb`); `None` when the row lacks
    /// what its kind must have (never written by this schema).
    pub fn from_row(kind: &str, row: &serde_json::Value) -> Option<FeedItem> {
        Some(match kind {
            "calls" => FeedItem::Call {
                agent_id: uuid(row, "agent_id")?,
                call: TeamCall {
                    id: uuid(row, "id")?,
                    lead_id: int(row, "lead_id"),
                    campaign_id: uuid(row, "campaign_id"),
                    direction: Direction::from_column(&text(row, "direction")),
                    number: text(row, "number"),
                    outcome: text(row, "outcome"),
                    started_at_ms: ms(row, "started_at")?,
                    answered_at_ms: ms(row, "answered_at"),
                    ended_at_ms: ms(row, "ended_at"),
                    talk_seconds: i32::try_from(int(row, "talk_seconds").unwrap_or(0)).unwrap_or(i32::MAX),
                },
            },
            "dispositions" => FeedItem::Disposition {
                agent_id: uuid(row, "agent_id")?,
                disposition: TeamDisposition {
                    call_id: uuid(row, "call_id")?,
                    disposition: text(row, "disposition"),
                    set_at_ms: ms(row, "set_at")?,
                },
            },
            "notes" => FeedItem::Note {
                agent_id: uuid(row, "agent_id")?,
                note: TeamNote {
                    id: uuid(row, "id")?,
                    lead_id: int(row, "lead_id"),
                    call_id: uuid(row, "call_id"),
                    body: text(row, "body"),
                    written_at_ms: ms(row, "written_at")?,
                },
            },
            "callbacks" => FeedItem::Callback {
                created_by: uuid(row, "created_by")?,
                done: row.get("done_at").is_some_and(|v| !v.is_null()),
                callback: TeamCallback {
                    id: uuid(row, "id")?,
                    lead_id: int(row, "lead_id")?,
                    agent_id: uuid(row, "agent_id"),
                    due_at_ms: ms(row, "due_at")?,
                },
            },
            "do_not_call" => FeedItem::DoNotCall {
                dnc: TeamDoNotCall { phone: text(row, "phone"), reason: text(row, "reason") },
                added_at_ms: ms(row, "added_at")?,
            },
            "leads" => FeedItem::Lead {
                lead_id: int(row, "id")?,
                edit: TeamLeadEdit {
                    lead_id: int(row, "id")?,
                    name: text(row, "name"),
                    company: text(row, "company"),
                    email: text(row, "email"),
                    city: text(row, "city"),
                    notes: text(row, "notes"),
                    tags: text(row, "tags"),
                },
                done: row.get("done").and_then(|v| v.as_bool()).unwrap_or(false),
                do_not_call: row.get("do_not_call").and_then(|v| v.as_bool()).unwrap_or(false),
                last_disposition: row.get("last_disposition").and_then(|v| v.as_str()).map(str::to_owned),
                updated_at_ms: ms(row, "updated_at")?,
            },
            other => FeedItem::Other { kind: other.to_owned() },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_row_as_postgres_writes_it_reads_back() {
        let row = serde_json::json!({
            "id": "5f0c8f4e-2f55-4d7e-9a43-1f1f6f0d0a01",
            "team_id": "5f0c8f4e-2f55-4d7e-9a43-1f1f6f0d0a02",
            "agent_id": "5f0c8f4e-2f55-4d7e-9a43-1f1f6f0d0a03",
            "lead_id": 7,
            "campaign_id": null,
            "direction": "outbound",
            "number": "+14155550100",
            "outcome": "answered",
            "started_at": "2026-12-07T21:47:33.123+00:00",
            "answered_at": "2026-12-07T21:47:40+00:00",
            "ended_at": null,
            "talk_seconds": 42,
            "received_at": "2026-12-07T21:48:00.5+00:00"
        });
        let Some(FeedItem::Call { call, .. }) = FeedItem::from_row("calls", &row) else { panic!("not a call") };
        assert_eq!(call.lead_id, Some(7));
        assert_eq!(call.started_at_ms, 1_796_680_053_123);
        assert_eq!(call.answered_at_ms, Some(1_796_680_060_000));
        assert_eq!(call.ended_at_ms, None);
        assert_eq!(call.talk_seconds, 42);
    }

    #[test]
    fn a_row_missing_its_keys_is_not_read() {
        assert_eq!(FeedItem::from_row("calls", &serde_json::json!({"id": "x"})), None);
        assert_eq!(
            FeedItem::from_row("surveys", &serde_json::json!({})),
            Some(FeedItem::Other { kind: "surveys".into() })
        );
    }

    #[test]
    fn outbox_keys_are_stable_per_change() {
        let dnc = TeamChange::DoNotCall(TeamDoNotCall { phone: "+14155550100".into(), reason: String::new() });
        assert_eq!(dnc.key(), "do_not_call:+14155550100");
        let json = serde_json::to_string(&dnc).expect("serializes");
        assert_eq!(serde_json::from_str::<TeamChange>(&json).expect("reads back"), dnc);
    }
}
