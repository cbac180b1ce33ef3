//! An agent's session with the team database, as its own login role: who it is, the campaigns it
//! can work, leads claimed by lease, changes pushed (idempotently, in one transaction a batch)
//! and the team's changes pulled from the feed.

use std::collections::HashMap;
use std::time::Duration;

use tokio_postgres::Row;
use uuid::Uuid;

use crate::changes::{FeedChange, FeedCursor, FeedItem, TeamCall, TeamChange, TeamDisposition};
use crate::connect::{Connection, TeamLogin, connect};
use crate::error::TeamError;
use crate::schema;

/// Who the session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentIdentity {
    pub agent_id: Uuid,
    pub team_id: Uuid,
    pub team_name: String,
    pub name: String,
    pub login: String,
    pub is_lead: bool,
}

impl AgentIdentity {
    /// The channel the feed's trigger notifies for this team.
    pub fn channel(&self) -> String {
        format!("softphone_team_{}", self.team_id.simple())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: Uuid,
    pub name: String,
}

/// A lead handed to the agent, with its lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedLead {
    pub id: i64,
    pub campaign_id: Uuid,
    /// E.164.
    pub phone: String,
    pub name: String,
    pub company: String,
    pub email: String,
    pub city: String,
    pub notes: String,
    pub tags: String,
    pub time_zone: String,
    pub last_disposition: Option<String>,
    /// Unix milliseconds, server clock.
    pub lease_expires_at_ms: i64,
}

impl ClaimedLead {
    /// The lead as the agent's file keeps it (its working copy).
    pub fn to_local(&self) -> Result<softphone_store::ClaimedTeamLead, TeamError> {
        let phone = softphone_core::phone::PhoneNumber::from_stored(&self.phone)
            .map_err(|e| TeamError::Invalid(format!("The team's lead {} has an unusable number: {e}", self.id)))?;
        Ok(softphone_store::ClaimedTeamLead {
            team_lead_id: self.id,
            team_campaign: self.campaign_id.to_string(),
            fields: softphone_store::LeadFields {
                name: self.name.clone(),
                company: self.company.clone(),
                phone,
                email: self.email.clone(),
                city: self.city.clone(),
                tags: self.tags.split(',').map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect(),
                notes: self.notes.clone(),
            },
            time_zone: self.time_zone.clone(),
            last_disposition: self.last_disposition.clone(),
        })
    }

    fn from_row(row: &Row) -> ClaimedLead {
        ClaimedLead {
            id: row.get("id"),
            campaign_id: row.get("campaign_id"),
            phone: row.get("phone"),
            name: row.get("name"),
            company: row.get("company"),
            email: row.get("email"),
            city: row.get("city"),
            notes: row.get("notes"),
            tags: row.get("tags"),
            time_zone: row.get("time_zone"),
            last_disposition: row.get("last_disposition"),
            lease_expires_at_ms: row.get("lease_expires_ms"),
        }
    }
}

/// Most changes the feed hands over per pull.
pub const PULL_LIMIT: i64 = 5_000;

#[derive(Debug)]
pub struct TeamSession {
    connection: Connection,
    me: AgentIdentity,
}

fn seconds(lease: Duration) -> i32 {
    i32::try_from(lease.as_secs()).unwrap_or(i32::MAX)
}

impl TeamSession {
    /// Connects as the agent, checks the schema and reads who it is.
    pub async fn open(login: &TeamLogin) -> Result<TeamSession, TeamError> {
        let connection = connect(login).await?;
        schema::check(&connection.client).await?;
        let row = connection
            .client
            .query_opt(
                "SELECT a.id, a.team_id, t.name AS team_name, a.name, a.role_name, a.is_lead
                 FROM agents a JOIN teams t ON t.id = a.team_id WHERE a.id = current_agent()",
                &[],
            )
            .await
            .map_err(|e| TeamError::from_statement(e, "reading who this agent is"))?;
        let Some(row) = row else {
            let login = login.login.clone().unwrap_or_default();
            return Err(TeamError::NotAnAgent { login });
        };
        let me = AgentIdentity {
            agent_id: row.get("id"),
            team_id: row.get("team_id"),
            team_name: row.get("team_name"),
            name: row.get("name"),
            login: row.get("role_name"),
            is_lead: row.get("is_lead"),
        };
        Ok(TeamSession { connection, me })
    }

    pub fn me(&self) -> &AgentIdentity {
        &self.me
    }

    pub fn is_alive(&self) -> bool {
        self.connection.is_alive()
    }

    /// The raw client, for a team lead's own queries and for tests that try what the database
    /// must refuse.
    pub fn client(&self) -> &tokio_postgres::Client {
        &self.connection.client
    }

    pub async fn campaigns(&self) -> Result<Vec<Campaign>, TeamError> {
        let rows = self
            .connection
            .client
            .query("SELECT id, name FROM campaigns ORDER BY name", &[])
            .await
            .map_err(|e| TeamError::from_statement(e, "listing the team's campaigns"))?;
        Ok(rows.iter().map(|row| Campaign { id: row.get(0), name: row.get(1) }).collect())
    }

    /// The next lead of the campaign for this agent, leased for `lease`; `None` when the campaign
    /// has none left for it.
    pub async fn claim_next(&self, campaign: Uuid, lease: Duration) -> Result<Option<ClaimedLead>, TeamError> {
        let row = self
            .connection
            .client
            .query_opt(
                "SELECT *, (extract(epoch FROM lease_expires_at) * 1000)::bigint AS lease_expires_ms
                 FROM claim_lead($1, $2)",
                &[&campaign, &seconds(lease)],
            )
            .await
            .map_err(|e| TeamError::from_statement(e, "claiming the next lead"))?;
        Ok(row.as_ref().map(ClaimedLead::from_row))
    }

    /// Gives a claimed lead back; `finished` ends it for the whole team, else `retry_after` keeps
    /// it from everyone that long. Whether this agent held it (false: its lease had lapsed and
    /// another agent has it now).
    pub async fn release(
        &self,
        lead_id: i64,
        finished: bool,
        disposition: Option<&str>,
        retry_after: Option<Duration>,
    ) -> Result<bool, TeamError> {
        let retry = retry_after.map(seconds);
        let row = self
            .connection
            .client
            .query_one("SELECT release_lead($1, $2, $3, $4)", &[&lead_id, &finished, &disposition, &retry])
            .await
            .map_err(|e| TeamError::from_statement(e, "giving the lead back"))?;
        Ok(row.get(0))
    }

    /// Extends every lease this agent holds to `lease` from now; how many.
    pub async fn renew(&self, lease: Duration) -> Result<i32, TeamError> {
        let row = self
            .connection
            .client
            .query_one("SELECT renew_leases($1)", &[&seconds(lease)])
            .await
            .map_err(|e| TeamError::from_statement(e, "keeping the claimed leads"))?;
        Ok(row.get(0))
    }

    /// Gives back every lead this agent holds that is not parked and not in `keep` (not
    /// finished: anyone may have it now): what an app does when it starts, for the leads a crash
    /// or a restart left held, `keep` being those of the session it resumes. Returns how many.
    pub async fn give_back_held(&self, keep: &[i64]) -> Result<i32, TeamError> {
        let row = self
            .connection
            .client
            .query_one("SELECT give_back_held_leads($1)", &[&keep])
            .await
            .map_err(|e| TeamError::from_statement(e, "giving back the leads held before a restart"))?;
        Ok(row.get(0))
    }

    /// Starts near-live updates: the server then notifies this connection when the team's feed
    /// grows (see [`TeamSession::notified`]).
    pub async fn listen(&self) -> Result<(), TeamError> {
        // The channel is made of a UUID's hex digits: nothing to quote.
        let statement = format!("LISTEN {}", self.me.channel());
        self.connection.client.batch_execute(&statement).await.map_err(|e| TeamError::from_statement(e, "listening"))
    }

    /// Waits for the next notification of the team's channel; `None` once the connection ended.
    pub async fn notified(&mut self) -> Option<()> {
        self.connection.notifications.recv().await.map(|_| ())
    }

    /// Sends a batch of changes in one transaction: all land or none. A change the database has
    /// already (same key) is not doubled.
    pub async fn push(&mut self, changes: &[TeamChange]) -> Result<(), TeamError> {
        let me = self.me.clone();
        let tx =
            self.connection.client.transaction().await.map_err(|e| TeamError::from_statement(e, "sending changes"))?;
        let mut calls = Vec::new();
        let mut dispositions: HashMap<Uuid, &TeamDisposition> = HashMap::new();
        let mut notes = Vec::new();
        let mut callbacks = Vec::new();
        let mut do_not_call = Vec::new();
        let mut edits = Vec::new();
        for change in changes {
            match change {
                TeamChange::Call(call) => calls.push(call),
                TeamChange::Disposition(d) => {
                    // The latest of one call's dispositions (one statement cannot set a row twice).
                    let keep = dispositions.get(&d.call_id).is_none_or(|kept| kept.set_at_ms <= d.set_at_ms);
                    if keep {
                        dispositions.insert(d.call_id, d);
                    }
                }
                TeamChange::Note(note) => notes.push(note),
                TeamChange::Callback(callback) => callbacks.push(callback),
                TeamChange::DoNotCall(dnc) => do_not_call.push(dnc),
                TeamChange::LeadEdit(edit) => edits.push(edit),
            }
        }
        if !calls.is_empty() {
            push_calls(&tx, &me, &calls).await?;
        }
        if !dispositions.is_empty() {
            let call_ids: Vec<Uuid> = dispositions.keys().copied().collect();
            let labels: Vec<&str> = call_ids.iter().map(|id| dispositions[id].disposition.as_str()).collect();
            let set_at: Vec<i64> = call_ids.iter().map(|id| dispositions[id].set_at_ms).collect();
            tx.execute(
                "INSERT INTO dispositions (call_id, team_id, agent_id, disposition, set_at)
                 SELECT c, $1, $2, d, to_timestamp(t / 1000.0)
                 FROM unnest($3::uuid[], $4::text[], $5::bigint[]) AS u(c, d, t)
                 ON CONFLICT (call_id) DO UPDATE SET disposition = EXCLUDED.disposition, set_at = EXCLUDED.set_at
                 WHERE dispositions.set_at < EXCLUDED.set_at",
                &[&me.team_id, &me.agent_id, &call_ids, &labels, &set_at],
            )
            .await
            .map_err(|e| TeamError::from_statement(e, "recording dispositions (only of this agent's own calls)"))?;
        }
        if !notes.is_empty() {
            let ids: Vec<Uuid> = notes.iter().map(|n| n.id).collect();
            let leads: Vec<Option<i64>> = notes.iter().map(|n| n.lead_id).collect();
            let calls: Vec<Option<Uuid>> = notes.iter().map(|n| n.call_id).collect();
            let bodies: Vec<&str> = notes.iter().map(|n| n.body.as_str()).collect();
            let written: Vec<i64> = notes.iter().map(|n| n.written_at_ms).collect();
            tx.execute(
                "INSERT INTO notes (id, team_id, agent_id, lead_id, call_id, body, written_at)
                 SELECT i, $1, $2, l, c, b, to_timestamp(w / 1000.0)
                 FROM unnest($3::uuid[], $4::bigint[], $5::uuid[], $6::text[], $7::bigint[]) AS u(i, l, c, b, w)
                 ON CONFLICT (id) DO NOTHING",
                &[&me.team_id, &me.agent_id, &ids, &leads, &calls, &bodies, &written],
            )
            .await
            .map_err(|e| TeamError::from_statement(e, "recording notes"))?;
        }
        for callback in callbacks {
            tx.execute(
                "INSERT INTO callbacks (id, team_id, lead_id, agent_id, due_at, created_by)
                 VALUES ($1, $2, $3, $4, to_timestamp($5::bigint / 1000.0), $6) ON CONFLICT (id) DO NOTHING",
                &[&callback.id, &me.team_id, &callback.lead_id, &callback.agent_id, &callback.due_at_ms, &me.agent_id],
            )
            .await
            .map_err(|e| TeamError::from_statement(e, "recording a callback"))?;
        }
        for dnc in do_not_call {
            tx.execute(
                "INSERT INTO do_not_call (team_id, phone, added_by, reason) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (team_id, phone) DO NOTHING",
                &[&me.team_id, &dnc.phone, &me.agent_id, &dnc.reason],
            )
            .await
            .map_err(|e| TeamError::from_statement(e, "adding to the team's do-not-call list"))?;
        }
        for edit in edits {
            tx.execute(
                "UPDATE leads SET name = $2, company = $3, email = $4, city = $5, notes = $6, tags = $7 WHERE id = $1",
                &[&edit.lead_id, &edit.name, &edit.company, &edit.email, &edit.city, &edit.notes, &edit.tags],
            )
            .await
            .map_err(|e| TeamError::from_statement(e, "changing a lead"))?;
        }
        tx.commit().await.map_err(|e| TeamError::from_statement(e, "sending changes"))
    }

    /// The team's changes after `cursor`, oldest first, at most [`PULL_LIMIT`], and where to
    /// continue. Only changes of finished transactions are given, so none is ever skipped.
    pub async fn pull(&self, cursor: FeedCursor) -> Result<(Vec<FeedChange>, FeedCursor), TeamError> {
        let rows = self
            .connection
            .client
            .query(
                "SELECT id, tx, kind, row_data FROM changes
                 WHERE (tx, id) > ($1, $2) AND tx < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
                 ORDER BY tx, id LIMIT $3",
                &[&cursor.tx, &cursor.id, &PULL_LIMIT],
            )
            .await
            .map_err(|e| TeamError::from_statement(e, "reading the team's changes"))?;
        let mut next = cursor;
        let mut changes = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.get("id");
            next = FeedCursor { tx: row.get("tx"), id };
            let kind: &str = row.get("kind");
            let data: serde_json::Value = row.get("row_data");
            match FeedItem::from_row(kind, &data) {
                Some(item) => changes.push(FeedChange { id, item }),
                None => tracing::warn!(id, kind, "a change of the feed cannot be read; skipped"),
            }
        }
        Ok((changes, next))
    }
}

async fn push_calls(
    tx: &tokio_postgres::Transaction<'_>,
    me: &AgentIdentity,
    calls: &[&TeamCall],
) -> Result<(), TeamError> {
    let ids: Vec<Uuid> = calls.iter().map(|c| c.id).collect();
    let leads: Vec<Option<i64>> = calls.iter().map(|c| c.lead_id).collect();
    let campaigns: Vec<Option<Uuid>> = calls.iter().map(|c| c.campaign_id).collect();
    let directions: Vec<&str> = calls.iter().map(|c| c.direction.as_str()).collect();
    let numbers: Vec<&str> = calls.iter().map(|c| c.number.as_str()).collect();
    let outcomes: Vec<&str> = calls.iter().map(|c| c.outcome.as_str()).collect();
    let started: Vec<i64> = calls.iter().map(|c| c.started_at_ms).collect();
    let answered: Vec<Option<i64>> = calls.iter().map(|c| c.answered_at_ms).collect();
    let ended: Vec<Option<i64>> = calls.iter().map(|c| c.ended_at_ms).collect();
    let talk: Vec<i32> = calls.iter().map(|c| c.talk_seconds).collect();
    tx.execute(
        "INSERT INTO calls (id, team_id, agent_id, lead_id, campaign_id, direction, number, outcome,
                            started_at, answered_at, ended_at, talk_seconds)
         SELECT i, $1, $2, l, c, d, n, o, to_timestamp(s / 1000.0), to_timestamp(a / 1000.0),
                to_timestamp(e / 1000.0), t
         FROM unnest($3::uuid[], $4::bigint[], $5::uuid[], $6::text[], $7::text[], $8::text[], $9::bigint[],
                     $10::bigint[], $11::bigint[], $12::integer[]) AS u(i, l, c, d, n, o, s, a, e, t)
         ON CONFLICT (id) DO NOTHING",
        &[
            &me.team_id,
            &me.agent_id,
            &ids,
            &leads,
            &campaigns,
            &directions,
            &numbers,
            &outcomes,
            &started,
            &answered,
            &ended,
            &talk,
        ],
    )
    .await
    .map_err(|e| TeamError::from_statement(e, "recording calls (an agent records only its own)"))?;
    Ok(())
}
