//! What a team lead does, connected as the database's owner (`softphone-team`): teams,
//! campaigns, agents (a login role each, its one-time password made here and shown once),
//! leads imported with the app's rules through COPY, handed to agents or taken back.

use std::io::Read;

use futures_util::SinkExt;
use rand::Rng;
use rand::distr::Alphanumeric;
use softphone_core::phone::Region;
use softphone_core::secret::Secret;
use softphone_store::{CsvRow, ImportReport};
use tokio_postgres::Client;
use uuid::Uuid;

use crate::error::TeamError;

/// Length of a new agent's password: 24 letters and digits, about 143 bits.
const PASSWORD_CHARS: usize = 24;

/// A new agent's login, and its password, shown once.
#[derive(Debug)]
pub struct NewAgent {
    pub agent_id: Uuid,
    pub login: String,
    pub password: Secret,
}

fn denied(what: &'static str) -> impl Fn(tokio_postgres::Error) -> TeamError {
    move |e| TeamError::from_statement(e, what)
}

/// Makes a team (or finds the one of that name).
pub async fn add_team(client: &Client, name: &str) -> Result<Uuid, TeamError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(TeamError::Invalid("A team needs a name.".into()));
    }
    let row = client
        .query_one(
            "INSERT INTO teams (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
            &[&name],
        )
        .await
        .map_err(denied("adding a team"))?;
    Ok(row.get(0))
}

pub async fn team_id(client: &Client, name: &str) -> Result<Uuid, TeamError> {
    let row = client
        .query_opt("SELECT id FROM teams WHERE name = $1", &[&name.trim()])
        .await
        .map_err(denied("finding the team"))?;
    row.map(|row| row.get(0)).ok_or_else(|| TeamError::Invalid(format!("There is no team \"{}\".", name.trim())))
}

/// Makes a campaign of the team (or finds the one of that name).
pub async fn add_campaign(client: &Client, team: Uuid, name: &str) -> Result<Uuid, TeamError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(TeamError::Invalid("A campaign needs a name.".into()));
    }
    let row = client
        .query_one(
            "INSERT INTO campaigns (team_id, name) VALUES ($1, $2)
             ON CONFLICT (team_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
            &[&team, &name],
        )
        .await
        .map_err(denied("adding a campaign"))?;
    Ok(row.get(0))
}

pub async fn campaign_id(client: &Client, team: Uuid, name: &str) -> Result<Uuid, TeamError> {
    let row = client
        .query_opt("SELECT id FROM campaigns WHERE team_id = $1 AND name = $2", &[&team, &name.trim()])
        .await
        .map_err(denied("finding the campaign"))?;
    row.map(|row| row.get(0))
        .ok_or_else(|| TeamError::Invalid(format!("The team has no campaign \"{}\".", name.trim())))
}

/// A login made from a person's name: lower-case letters, digits and `_`, starting with a letter.
pub fn login_from_name(name: &str) -> String {
    let mut login = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            login.push(c);
        } else if !login.ends_with('_') && !login.is_empty() {
            login.push('_');
        }
    }
    let login = login.trim_end_matches('_').to_owned();
    match login.chars().next() {
        Some(c) if c.is_alphabetic() => login,
        _ => format!("agent_{login}").trim_end_matches('_').to_owned(),
    }
}

fn new_password() -> Secret {
    Secret::new(rand::rng().sample_iter(&Alphanumeric).take(PASSWORD_CHARS).map(char::from).collect::<String>())
}

/// Adds an agent to the team: a login role (member of `softphone_agent`, and of
/// `softphone_team_lead` for a lead) with a new password. Only its SCRAM verifier reaches the
/// server: the password itself is never in a statement or a server log.
pub async fn add_agent(client: &mut Client, team: Uuid, name: &str, is_lead: bool) -> Result<NewAgent, TeamError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(TeamError::Invalid("An agent needs a name.".into()));
    }
    let base = login_from_name(name);
    let tx = client.transaction().await.map_err(denied("adding an agent"))?;
    let mut login = base.clone();
    let mut suffix = 1;
    while tx
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&login])
        .await
        .map_err(denied("adding an agent"))?
        .is_some()
    {
        suffix += 1;
        login = format!("{base}_{suffix}");
    }
    let password = new_password();
    let verifier = postgres_protocol::password::scram_sha_256(password.expose().as_bytes());
    let groups = if is_lead { "softphone_agent, softphone_team_lead" } else { "softphone_agent" };
    let statement: String = tx
        .query_one(
            "SELECT format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE ' || $3, $1::text, $2::text)",
            &[&login, &verifier, &groups],
        )
        .await
        .map_err(denied("adding an agent"))?
        .get(0);
    tx.batch_execute(&statement).await.map_err(denied("making the agent's login (the owner needs CREATEROLE)"))?;
    let row = tx
        .query_one(
            "INSERT INTO agents (team_id, name, role_name, is_lead) VALUES ($1, $2, $3, $4) RETURNING id",
            &[&team, &name, &login, &is_lead],
        )
        .await
        .map_err(|e| match TeamError::from_statement(e, "adding an agent") {
            TeamError::Invalid(_) => TeamError::Invalid(format!("The team already has an agent named \"{name}\".")),
            other => other,
        })?;
    tx.commit().await.map_err(denied("adding an agent"))?;
    Ok(NewAgent { agent_id: row.get(0), login, password })
}

/// A new password for an agent (a forgotten one, a laptop lost): the old one stops working.
pub async fn reset_password(client: &Client, login: &str) -> Result<Secret, TeamError> {
    agent_by_login(client, login).await?;
    let password = new_password();
    let verifier = postgres_protocol::password::scram_sha_256(password.expose().as_bytes());
    let statement: String = client
        .query_one("SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)", &[&login, &verifier])
        .await
        .map_err(denied("changing the password"))?
        .get(0);
    client.batch_execute(&statement).await.map_err(denied("changing the password"))?;
    Ok(password)
}

pub async fn agent_by_login(client: &Client, login: &str) -> Result<Uuid, TeamError> {
    let row = client
        .query_opt("SELECT id FROM agents WHERE role_name = $1", &[&login.trim()])
        .await
        .map_err(denied("finding the agent"))?;
    row.map(|row| row.get(0))
        .ok_or_else(|| TeamError::Invalid(format!("There is no agent with the login \"{}\".", login.trim())))
}

/// COPY's text format: tab-separated, `\N` is NULL; these characters are escaped.
fn copy_text(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// Imports a lead CSV into a campaign: the app's rules read it (header names, numbers in
/// `region`, the same report of rows left out); the leads go in through COPY in one transaction.
/// A number already in the campaign keeps its lead: empty fields are filled, new notes appended.
/// A number twice in the file: the first row is the lead, the rest count as merged.
pub async fn import_csv(
    client: &mut Client,
    team: Uuid,
    campaign: Uuid,
    input: impl Read + Send + 'static,
    region: Region,
) -> Result<ImportReport, TeamError> {
    let (rows_sender, mut rows) = tokio::sync::mpsc::channel::<Vec<CsvRow>>(8);
    let reading = tokio::task::spawn_blocking(move || {
        let mut batch = Vec::with_capacity(4096);
        let result = softphone_store::read_lead_csv(input, region, |row| {
            batch.push(row);
            if batch.len() == 4096 {
                let _ = rows_sender.blocking_send(std::mem::replace(&mut batch, Vec::with_capacity(4096)));
            }
        });
        let _ = rows_sender.blocking_send(batch);
        result
    });
    let tx = client.transaction().await.map_err(denied("importing leads"))?;
    tx.batch_execute(
        "CREATE TEMP TABLE import_rows (line bigint, phone text, name text, company text, email text, city text,
                                        notes text, tags text) ON COMMIT DROP",
    )
    .await
    .map_err(denied("importing leads"))?;
    let sink = tx.copy_in("COPY import_rows FROM STDIN (FORMAT text)").await.map_err(denied("importing leads"))?;
    futures_util::pin_mut!(sink);
    let mut report = ImportReport::default();
    let mut valid: u64 = 0;
    while let Some(batch) = rows.recv().await {
        let mut text = String::with_capacity(batch.len() * 96);
        for row in batch {
            match row {
                CsvRow::Rejected(rejected) => report.rejected.push(rejected),
                CsvRow::Lead(lead) => {
                    valid += 1;
                    // The row's place in the file: the first of a repeated number wins.
                    text.push_str(&valid.to_string());
                    for field in [
                        lead.phone.as_ref(),
                        &lead.name,
                        &lead.company,
                        &lead.email,
                        &lead.city,
                        &lead.notes,
                        &lead.tags.join(", "),
                    ] {
                        text.push('\t');
                        copy_text(field, &mut text);
                    }
                    text.push('\n');
                }
            }
        }
        sink.send(bytes::Bytes::from(text)).await.map_err(denied("importing leads"))?;
    }
    sink.finish().await.map_err(denied("importing leads"))?;
    reading
        .await
        .map_err(|e| TeamError::Io { what: "the CSV file".into(), reason: e.to_string() })?
        .map_err(|e| TeamError::Invalid(e.to_string()))?;
    let inserted: i64 = tx
        .query_one(
            "WITH incoming AS (
                 SELECT DISTINCT ON (phone) * FROM import_rows ORDER BY phone, line),
             landed AS (
                 INSERT INTO leads (team_id, campaign_id, phone, name, company, email, city, notes, tags, do_not_call)
                 SELECT $1, $2, i.phone, i.name, i.company, i.email, i.city, i.notes, i.tags,
                        EXISTS (SELECT 1 FROM do_not_call d WHERE d.team_id = $1 AND d.phone = i.phone)
                 FROM incoming i ORDER BY i.line
                 ON CONFLICT (campaign_id, phone) DO UPDATE SET
                     name = CASE WHEN leads.name = '' THEN EXCLUDED.name ELSE leads.name END,
                     company = CASE WHEN leads.company = '' THEN EXCLUDED.company ELSE leads.company END,
                     email = CASE WHEN leads.email = '' THEN EXCLUDED.email ELSE leads.email END,
                     city = CASE WHEN leads.city = '' THEN EXCLUDED.city ELSE leads.city END,
                     notes = CASE WHEN EXCLUDED.notes = '' OR strpos(leads.notes, EXCLUDED.notes) > 0 THEN leads.notes
                                  WHEN leads.notes = '' THEN EXCLUDED.notes
                                  ELSE leads.notes || E'\\n' || EXCLUDED.notes END,
                     tags = CASE WHEN leads.tags = '' THEN EXCLUDED.tags ELSE leads.tags END
                 RETURNING (xmax = 0) AS is_new)
             SELECT count(*) FILTER (WHERE is_new) FROM landed",
            &[&team, &campaign],
        )
        .await
        .map_err(denied("importing leads"))?
        .get(0);
    tx.commit().await.map_err(denied("importing leads"))?;
    report.inserted = u64::try_from(inserted).unwrap_or(0);
    report.merged = valid - report.inserted;
    Ok(report)
}

/// Hands up to `count` of the campaign's next free leads to the agent: only it is given them.
pub async fn assign(client: &Client, campaign: Uuid, agent: Uuid, count: i64) -> Result<u64, TeamError> {
    client
        .execute(
            "UPDATE leads SET assigned_to = $2 WHERE id IN (
                 SELECT id FROM leads WHERE campaign_id = $1 AND assigned_to IS NULL AND leased_by IS NULL
                   AND NOT done AND NOT do_not_call
                 ORDER BY priority, id LIMIT $3 FOR UPDATE SKIP LOCKED)",
            &[&campaign, &agent, &count],
        )
        .await
        .map_err(denied("assigning leads"))
}

/// Takes back the campaign's leads from one agent (or from everyone): their leases end and
/// their assignments are undone, so anyone on the team is handed them next.
pub async fn release(client: &Client, campaign: Uuid, agent: Option<Uuid>) -> Result<u64, TeamError> {
    client
        .execute(
            "UPDATE leads SET leased_by = NULL, lease_expires_at = NULL, parked = false,
                 assigned_to = CASE WHEN $2::uuid IS NULL OR assigned_to = $2 THEN NULL ELSE assigned_to END
             WHERE campaign_id = $1 AND NOT done
               AND (($2::uuid IS NULL AND (leased_by IS NOT NULL OR assigned_to IS NOT NULL))
                    OR leased_by = $2 OR assigned_to = $2)",
            &[&campaign, &agent],
        )
        .await
        .map_err(denied("releasing leads"))
}
