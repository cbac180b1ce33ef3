//! The agent's side of a team (issue 21): which team this computer works for, the outbox of
//! local changes waiting for the team database (filled by the triggers of migration 0009, in the
//! same transaction as each change), and the team's changes written back here. The team crate
//! (`softphone-team`) moves them; the store never talks to the network.

use rusqlite::{OptionalExtension, params};
use softphone_core::call::Direction;
use softphone_core::call_log::LoggedCallState;

use crate::Store;
use crate::error::StoreError;
use crate::lead::{Lead, LeadFields, LeadId, join_tags, normalize_tags};

/// The team this computer works for, as the team database names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMembership {
    pub team_id: String,
    pub agent_id: String,
}

/// The most teammates' calls read for one lead (its card shows the newest).
pub const TEAM_CALLS_OF_A_LEAD: u32 = 50;

/// A claimed team lead given back, waiting for the team database (see migration 0010).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamLeadRelease {
    pub team_lead_id: i64,
    /// Done for the whole team; otherwise back for anyone (after `retry_after_ms`, if any).
    pub finished: bool,
    pub disposition: Option<String>,
    pub retry_after_ms: Option<i64>,
    pub queued_at_ms: i64,
}

/// One local change waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamOutboxEntry {
    pub id: i64,
    /// The idempotency key (`call:<uuid>`, `disposition:<uuid>`, …).
    pub key: String,
    pub item: TeamOutboxItem,
}

/// What the change is, read from the local row as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamOutboxItem {
    Call {
        uuid: String,
        direction: Direction,
        remote_number: String,
        state: LoggedCallState,
        transferred: bool,
        team_lead_id: Option<i64>,
        team_campaign: Option<String>,
        started_at_ms: i64,
        answered_at_ms: Option<i64>,
        ended_at_ms: Option<i64>,
        duration_ms: Option<i64>,
    },
    Disposition {
        call_uuid: String,
        code: String,
        set_at_ms: i64,
    },
    Note {
        call_uuid: String,
        team_lead_id: Option<i64>,
        body: String,
        written_at_ms: i64,
    },
    DoNotCall {
        number: String,
    },
    LeadEdit {
        team_lead_id: i64,
        name: String,
        company: String,
        email: String,
        city: String,
        notes: String,
        tags: String,
    },
}

/// How many changes wait, and how many the team database refused (kept, not retried).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TeamOutboxCounts {
    pub waiting: u64,
    pub refused: u64,
}

/// A change made by a teammate (or by the team lead), to be written here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamFeedEntry {
    Call {
        uuid: String,
        agent: String,
        team_lead_id: Option<i64>,
        direction: Direction,
        remote_number: String,
        outcome: String,
        started_at_ms: i64,
        answered_at_ms: Option<i64>,
        ended_at_ms: Option<i64>,
        talk_seconds: i64,
    },
    Disposition {
        call_uuid: String,
        code: String,
        set_at_ms: i64,
    },
    Note {
        id: String,
        agent: String,
        team_lead_id: Option<i64>,
        call_uuid: Option<String>,
        body: String,
        written_at_ms: i64,
    },
    DoNotCall {
        number: String,
        added_at_ms: i64,
    },
    Lead {
        team_lead_id: i64,
        name: String,
        company: String,
        email: String,
        city: String,
        notes: String,
        tags: String,
        do_not_call: bool,
        last_disposition: Option<String>,
        updated_at_ms: i64,
    },
}

pub use softphone_core::call_log::TeamCallEntry;

/// A teammate's note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamNoteEntry {
    pub id: String,
    pub agent: String,
    pub body: String,
    pub written_at_ms: i64,
}

/// A lead claimed from a team campaign, to keep here as the agent's working copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedTeamLead {
    pub team_lead_id: i64,
    pub team_campaign: String,
    pub fields: LeadFields,
    pub time_zone: String,
    pub last_disposition: Option<String>,
}

fn direction(text: &str) -> Direction {
    Direction::from_stored(text).unwrap_or(Direction::Outbound)
}

impl Store {
    /// The team database's address and the agent's login, when the agent joined a team.
    pub fn team_login(&self) -> Result<Option<(String, String)>, StoreError> {
        let row: (Option<String>, Option<String>) =
            self.conn.query_row("SELECT url, login FROM team_state", [], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(row.0.zip(row.1))
    }

    /// Keeps where and as whom the agent joined; `None` leaves the team (nothing more is queued;
    /// what waits stays, for a later join).
    pub fn set_team_login(&self, login: Option<(&str, &str)>) -> Result<(), StoreError> {
        let (url, name) = login.map(|(url, name)| (Some(url), Some(name))).unwrap_or_default();
        self.conn.execute("UPDATE team_state SET url = ?1, login = ?2", params![url, name])?;
        if login.is_none() {
            self.set_team_membership(None)?;
        }
        Ok(())
    }

    /// The team this computer works for, if any.
    pub fn team_membership(&self) -> Result<Option<TeamMembership>, StoreError> {
        let row: (Option<String>, Option<String>) =
            self.conn
                .query_row("SELECT team_id, agent_id FROM team_state", [], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(match row {
            (Some(team_id), Some(agent_id)) => Some(TeamMembership { team_id, agent_id }),
            _ => None,
        })
    }

    /// Joins a team (local changes are queued for it from now on) or leaves it (`None`: nothing
    /// more is queued; what waits stays). Joining another team or as another agent starts the
    /// change feed from its beginning.
    pub fn set_team_membership(&self, membership: Option<&TeamMembership>) -> Result<(), StoreError> {
        let current = self.team_membership()?;
        if current.as_ref() == membership {
            return Ok(());
        }
        let (team, agent) =
            membership.map(|m| (Some(m.team_id.as_str()), Some(m.agent_id.as_str()))).unwrap_or_default();
        let same_team = current.as_ref().zip(membership).is_some_and(|(a, b)| a == b);
        self.conn.execute(
            "UPDATE team_state SET team_id = ?1, agent_id = ?2,
                 feed_tx = CASE WHEN ?3 THEN feed_tx ELSE 0 END, feed_id = CASE WHEN ?3 THEN feed_id ELSE 0 END",
            params![team, agent, same_team],
        )?;
        Ok(())
    }

    /// Up to `limit` changes to send, oldest first, calls before what refers to them; a note or
    /// disposition of a call still in progress waits for the call. Refused ones are left out.
    pub fn team_pending(&self, limit: usize) -> Result<Vec<TeamOutboxEntry>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT o.id, o.key, o.kind, o.ref,
                    c.uuid, c.direction, c.remote_number, c.state, c.transferred_to, l.team_lead_id, l.team_campaign,
                    c.started_at, c.answered_at, c.ended_at, c.duration_ms, c.disposition, c.disposition_at, c.note,
                    el.team_lead_id, el.name, el.company, el.email, el.city, el.notes, el.tags
             FROM team_outbox o
             LEFT JOIN calls c ON o.kind IN ('call', 'disposition', 'note') AND c.id = CAST(o.ref AS INTEGER)
             LEFT JOIN leads l ON l.id = c.lead_id
             LEFT JOIN leads el ON o.kind = 'lead_edit' AND el.id = CAST(o.ref AS INTEGER)
             WHERE o.refused IS NULL
               AND (o.kind IN ('call', 'do_not_call', 'lead_edit') OR c.state <> 'in_progress')
             ORDER BY o.kind <> 'call', o.id
             LIMIT ?1",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement.query_map([limit], |row| {
            let id: i64 = row.get(0)?;
            let key: String = row.get(1)?;
            let kind: String = row.get(2)?;
            let reference: String = row.get(3)?;
            let call_uuid: Option<String> = row.get(4)?;
            let item = match kind.as_str() {
                "call" => call_uuid.map(|uuid| -> rusqlite::Result<TeamOutboxItem> {
                    let state: String = row.get(7)?;
                    Ok(TeamOutboxItem::Call {
                        uuid,
                        direction: direction(&row.get::<_, String>(5)?),
                        remote_number: row.get(6)?,
                        state: LoggedCallState::from_stored(&state).unwrap_or(LoggedCallState::Interrupted),
                        transferred: row.get::<_, Option<String>>(8)?.is_some(),
                        team_lead_id: row.get(9)?,
                        team_campaign: row.get(10)?,
                        started_at_ms: row.get(11)?,
                        answered_at_ms: row.get(12)?,
                        ended_at_ms: row.get(13)?,
                        duration_ms: row.get(14)?,
                    })
                }),
                "disposition" => call_uuid.map(|call_uuid| -> rusqlite::Result<TeamOutboxItem> {
                    let started: i64 = row.get(11)?;
                    Ok(TeamOutboxItem::Disposition {
                        call_uuid,
                        code: row.get::<_, Option<String>>(15)?.unwrap_or_default(),
                        set_at_ms: row.get::<_, Option<i64>>(16)?.unwrap_or(started),
                    })
                }),
                "note" => call_uuid.map(|call_uuid| -> rusqlite::Result<TeamOutboxItem> {
                    let started: i64 = row.get(11)?;
                    Ok(TeamOutboxItem::Note {
                        call_uuid,
                        team_lead_id: row.get(9)?,
                        body: row.get(17)?,
                        written_at_ms: row.get::<_, Option<i64>>(16)?.unwrap_or(started),
                    })
                }),
                "do_not_call" => Some(Ok(TeamOutboxItem::DoNotCall { number: reference })),
                "lead_edit" => row.get::<_, Option<i64>>(18)?.map(|team_lead_id| -> rusqlite::Result<TeamOutboxItem> {
                    Ok(TeamOutboxItem::LeadEdit {
                        team_lead_id,
                        name: row.get(19)?,
                        company: row.get(20)?,
                        email: row.get(21)?,
                        city: row.get(22)?,
                        notes: row.get(23)?,
                        tags: row.get(24)?,
                    })
                }),
                _ => None,
            }
            .transpose()?;
            Ok((id, key, item))
        })?;
        let mut entries = Vec::new();
        let mut gone = Vec::new();
        for row in rows {
            let (id, key, item) = row?;
            match item {
                Some(item) => entries.push(TeamOutboxEntry { id, key, item }),
                // The row it refers to was deleted (a lead removed): nothing left to send.
                None => gone.push(id),
            }
        }
        self.team_sent(&gone)?;
        Ok(entries)
    }

    /// The team database took these: they leave the outbox.
    pub fn team_sent(&self, ids: &[i64]) -> Result<(), StoreError> {
        let mut statement = self.conn.prepare_cached("DELETE FROM team_outbox WHERE id = ?1")?;
        for id in ids {
            statement.execute([id])?;
        }
        Ok(())
    }

    /// A try failed for a reason that may pass (the link): counted, kept.
    pub fn team_attempted(&self, ids: &[i64]) -> Result<(), StoreError> {
        let mut statement = self.conn.prepare_cached("UPDATE team_outbox SET attempts = attempts + 1 WHERE id = ?1")?;
        for id in ids {
            statement.execute([id])?;
        }
        Ok(())
    }

    /// The team database refused this change: kept with its sentence, not retried.
    pub fn team_refused(&self, id: i64, reason: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE team_outbox SET refused = ?2, attempts = attempts + 1 WHERE id = ?1",
            params![id, reason],
        )?;
        Ok(())
    }

    /// What waits to be sent (lead give-backs included) and what was refused.
    pub fn team_outbox_counts(&self) -> Result<TeamOutboxCounts, StoreError> {
        let (waiting, refused): (i64, i64) = self.conn.query_row(
            "SELECT count(*) FILTER (WHERE refused IS NULL) + (SELECT count(*) FROM team_releases),
                    count(*) FILTER (WHERE refused IS NOT NULL)
             FROM team_outbox",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        Ok(TeamOutboxCounts { waiting: waiting.unsigned_abs(), refused: refused.unsigned_abs() })
    }

    /// Where the reader of the team's change feed stands: (transaction, change id).
    pub fn team_feed_cursor(&self) -> Result<(i64, i64), StoreError> {
        Ok(self.conn.query_row("SELECT feed_tx, feed_id FROM team_state", [], |row| Ok((row.get(0)?, row.get(1)?)))?)
    }

    /// Writes the team's changes here and moves the feed cursor, in one transaction: a crash
    /// between the two cannot apply a change twice or skip one. None of it is queued back.
    pub fn apply_team_feed(&mut self, entries: &[TeamFeedEntry], cursor: (i64, i64)) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute("UPDATE team_state SET applying = 1", [])?;
        for entry in entries {
            match entry {
                TeamFeedEntry::Call {
                    uuid,
                    agent,
                    team_lead_id,
                    direction,
                    remote_number,
                    outcome,
                    started_at_ms,
                    answered_at_ms,
                    ended_at_ms,
                    talk_seconds,
                } => {
                    tx.execute(
                        "INSERT INTO team_calls (uuid, agent, lead_id, team_lead_id, direction, remote_number, outcome,
                                                 started_at, answered_at, ended_at, talk_seconds)
                         VALUES (?1, ?2, (SELECT id FROM leads WHERE team_lead_id = ?3), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                         ON CONFLICT (uuid) DO NOTHING",
                        params![
                            uuid,
                            agent,
                            team_lead_id,
                            direction.as_str(),
                            remote_number,
                            outcome,
                            started_at_ms,
                            answered_at_ms,
                            ended_at_ms,
                            talk_seconds
                        ],
                    )?;
                }
                TeamFeedEntry::Disposition { call_uuid, code, set_at_ms } => {
                    tx.execute(
                        "UPDATE team_calls SET disposition = ?2, disposition_at = ?3
                         WHERE uuid = ?1 AND (disposition_at IS NULL OR disposition_at <= ?3)",
                        params![call_uuid, code, set_at_ms],
                    )?;
                }
                TeamFeedEntry::Note { id, agent, team_lead_id, call_uuid, body, written_at_ms } => {
                    tx.execute(
                        "INSERT INTO team_notes (id, agent, lead_id, team_lead_id, call_uuid, body, written_at)
                         VALUES (?1, ?2, (SELECT id FROM leads WHERE team_lead_id = ?3), ?3, ?4, ?5, ?6)
                         ON CONFLICT (id) DO NOTHING",
                        params![id, agent, team_lead_id, call_uuid, body, written_at_ms],
                    )?;
                }
                TeamFeedEntry::DoNotCall { number, added_at_ms } => {
                    tx.execute(
                        "INSERT INTO do_not_call (number, added_at, source) VALUES (?1, ?2, 'team') ON CONFLICT DO NOTHING",
                        params![number, added_at_ms],
                    )?;
                }
                TeamFeedEntry::Lead {
                    team_lead_id,
                    name,
                    company,
                    email,
                    city,
                    notes,
                    tags,
                    do_not_call,
                    last_disposition,
                    updated_at_ms,
                } => {
                    tx.execute(
                        "UPDATE leads SET name = ?2, company = ?3, email = ?4, city = ?5, notes = ?6, tags = ?7,
                             do_not_call = ?8, last_disposition = coalesce(?9, last_disposition), updated_at = ?10
                         WHERE team_lead_id = ?1",
                        params![
                            team_lead_id,
                            name,
                            company,
                            email,
                            city,
                            notes,
                            tags,
                            do_not_call,
                            last_disposition,
                            updated_at_ms
                        ],
                    )?;
                }
            }
        }
        tx.execute("UPDATE team_state SET applying = 0, feed_tx = ?1, feed_id = ?2", params![cursor.0, cursor.1])?;
        tx.commit()?;
        Ok(())
    }

    /// Keeps a lead claimed from a team campaign here (the agent's working copy): a new lead, or
    /// the local lead with the same number, which takes the team's fields and ids.
    pub fn keep_claimed_team_lead(&mut self, claimed: &ClaimedTeamLead, now_ms: i64) -> Result<Lead, StoreError> {
        let fields = &claimed.fields;
        let tags = join_tags(&normalize_tags(fields.tags.iter().map(String::as_str)));
        let tx = self.conn.transaction()?;
        tx.execute("UPDATE team_state SET applying = 1", [])?;
        // Another local lead may carry this team id (its number changed on the team): it lets go.
        tx.execute(
            "UPDATE leads SET team_lead_id = NULL, team_campaign = NULL WHERE team_lead_id = ?1 AND phone <> ?2",
            params![claimed.team_lead_id, fields.phone.as_e164()],
        )?;
        let existing: Option<i64> = tx
            .query_row("SELECT id FROM leads WHERE phone = ?1", [fields.phone.as_e164()], |row| row.get(0))
            .optional()?;
        let id = match existing {
            Some(id) => {
                tx.execute(
                    "UPDATE leads SET name = ?2, company = ?3, email = ?4, city = ?5, tags = ?6, notes = ?7,
                         time_zone = ?8, last_disposition = coalesce(?9, last_disposition), team_lead_id = ?10,
                         team_campaign = ?11, updated_at = ?12
                     WHERE id = ?1",
                    params![
                        id,
                        fields.name.trim(),
                        fields.company.trim(),
                        fields.email.trim(),
                        fields.city.trim(),
                        tags,
                        fields.notes.trim(),
                        claimed.time_zone,
                        claimed.last_disposition,
                        claimed.team_lead_id,
                        claimed.team_campaign,
                        now_ms
                    ],
                )?;
                id
            }
            None => {
                tx.execute(
                    "INSERT INTO leads (name, company, phone, phone_digits, national_digits, email, city, tags, notes,
                                        time_zone, last_disposition, team_lead_id, team_campaign, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14)",
                    params![
                        fields.name.trim(),
                        fields.company.trim(),
                        fields.phone.as_e164(),
                        fields.phone.digits(),
                        fields.phone.national_digits(),
                        fields.email.trim(),
                        fields.city.trim(),
                        tags,
                        fields.notes.trim(),
                        claimed.time_zone,
                        claimed.last_disposition,
                        claimed.team_lead_id,
                        claimed.team_campaign,
                        now_ms
                    ],
                )?;
                let id = tx.last_insert_rowid();
                crate::lead::insert_lead_tags(&tx, id, &tags)?;
                id
            }
        };
        // Teammates' calls and notes of this lead that came before the claim now point at it.
        tx.execute("UPDATE team_calls SET lead_id = ?1 WHERE team_lead_id = ?2", params![id, claimed.team_lead_id])?;
        tx.execute("UPDATE team_notes SET lead_id = ?1 WHERE team_lead_id = ?2", params![id, claimed.team_lead_id])?;
        tx.execute("UPDATE team_state SET applying = 0", [])?;
        tx.commit()?;
        self.lead(LeadId(id))
    }

    /// The team database's id of a local lead claimed from a team campaign.
    pub fn team_lead_id(&self, lead: LeadId) -> Result<Option<(i64, String)>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT team_lead_id, team_campaign FROM leads WHERE id = ?1", [lead.0], |row| {
                Ok(row.get::<_, Option<i64>>(0)?.zip(row.get::<_, Option<String>>(1)?))
            })
            .optional()?
            .flatten())
    }

    /// Queues the give-back of a claimed team lead (replacing one queued before for it), for the
    /// sync to send when the team database is reachable.
    pub fn queue_team_release(&self, release: &TeamLeadRelease) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO team_releases (team_lead_id, finished, disposition, retry_after_ms, queued_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                release.team_lead_id,
                release.finished,
                release.disposition,
                release.retry_after_ms,
                release.queued_at_ms
            ],
        )?;
        Ok(())
    }

    /// The give-backs waiting, oldest first.
    pub fn team_releases(&self) -> Result<Vec<TeamLeadRelease>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT team_lead_id, finished, disposition, retry_after_ms, queued_at FROM team_releases
             ORDER BY queued_at, team_lead_id",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(TeamLeadRelease {
                team_lead_id: row.get(0)?,
                finished: row.get(1)?,
                disposition: row.get(2)?,
                retry_after_ms: row.get(3)?,
                queued_at_ms: row.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The team database took this give-back (unless a newer one was queued for the lead since).
    pub fn team_release_sent(&self, release: &TeamLeadRelease) -> Result<(), StoreError> {
        self.conn.execute(
            "DELETE FROM team_releases WHERE team_lead_id = ?1 AND queued_at = ?2",
            params![release.team_lead_id, release.queued_at_ms],
        )?;
        Ok(())
    }

    /// A try to send this give-back failed for a reason that may pass: counted, kept.
    pub fn team_release_attempted(&self, team_lead_id: i64) -> Result<(), StoreError> {
        self.conn
            .execute("UPDATE team_releases SET attempts = attempts + 1 WHERE team_lead_id = ?1", [team_lead_id])?;
        Ok(())
    }

    /// Teammates' calls to or from a lead, newest first, at most [`TEAM_CALLS_OF_A_LEAD`].
    pub fn team_calls_of_lead(&self, lead: LeadId) -> Result<Vec<TeamCallEntry>, StoreError> {
        self.team_calls_where("c.lead_id = ?1", lead.0, TEAM_CALLS_OF_A_LEAD)
    }

    /// Teammates' calls, newest first, at most `limit`.
    pub fn team_calls(&self, limit: u32) -> Result<Vec<TeamCallEntry>, StoreError> {
        self.team_calls_where("?1 >= 0", 0, limit)
    }

    fn team_calls_where(&self, condition: &str, value: i64, limit: u32) -> Result<Vec<TeamCallEntry>, StoreError> {
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT c.uuid, c.agent, c.direction, c.remote_number, c.outcome, c.started_at, c.talk_seconds,
                    c.disposition,
                    (SELECT n.body FROM team_notes n WHERE n.call_uuid = c.uuid ORDER BY n.written_at DESC LIMIT 1)
             FROM team_calls c WHERE {condition} ORDER BY c.started_at DESC, c.uuid LIMIT ?2"
        ))?;
        let rows = statement.query_map(params![value, limit], |row| {
            Ok(TeamCallEntry {
                uuid: row.get(0)?,
                agent: row.get(1)?,
                direction: direction(&row.get::<_, String>(2)?),
                remote_number: row.get(3)?,
                outcome: row.get(4)?,
                started_at_ms: row.get(5)?,
                talk_seconds: row.get(6)?,
                disposition: row.get(7)?,
                note: row.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Teammates' notes on a lead, newest first.
    pub fn team_notes_of_lead(&self, lead: LeadId) -> Result<Vec<TeamNoteEntry>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, agent, body, written_at FROM team_notes WHERE lead_id = ?1 ORDER BY written_at DESC",
        )?;
        let rows = statement.query_map([lead.0], |row| {
            Ok(TeamNoteEntry { id: row.get(0)?, agent: row.get(1)?, body: row.get(2)?, written_at_ms: row.get(3)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every call id this file holds, the agent's own and its teammates': for checking that
    /// nothing is held twice or missing.
    pub fn all_call_uuids(&self) -> Result<Vec<String>, StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT uuid FROM calls WHERE uuid IS NOT NULL UNION ALL SELECT uuid FROM team_calls ORDER BY 1",
        )?;
        let rows = statement.query_map([], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A call-log entry's global id (the team database's call id).
    pub fn call_uuid(&self, id: crate::CallLogId) -> Result<Option<String>, StoreError> {
        Ok(self.conn.query_row("SELECT uuid FROM calls WHERE id = ?1", [id.0], |row| row.get(0)).optional()?.flatten())
    }
}
