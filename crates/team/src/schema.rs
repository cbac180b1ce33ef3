//! The team schema, by numbered migrations kept in `migrations/`, applied in order in one
//! transaction each under an advisory lock (two team leads running `init` at once do not race).

use tokio_postgres::Client;

use crate::error::TeamError;

/// Every migration: its number and its SQL. Applied ones are never edited; a change is a new one.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../migrations/0001_team.sql")),
    (2, include_str!("../migrations/0002_give_back_held_leads.sql")),
];

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: i32 = 2;

/// Any number, the same for every caller: the advisory lock `init` holds while it migrates.
const MIGRATION_LOCK: i64 = 0x5EF7_7EA3;

/// Brings the schema up to [`SCHEMA_VERSION`]; returns the versions it applied. Needs a role that
/// may create tables and roles (the database's owner with CREATEROLE, or a superuser).
pub async fn migrate(client: &mut Client) -> Result<Vec<i32>, TeamError> {
    let what = "setting up the team schema";
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS team_schema (
                version integer PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .map_err(|e| TeamError::from_statement(e, what))?;
    let mut applied = Vec::new();
    for (version, sql) in MIGRATIONS {
        let tx = client.transaction().await.map_err(|e| TeamError::from_statement(e, what))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(|e| TeamError::from_statement(e, what))?;
        let done = tx
            .query_opt("SELECT 1 FROM team_schema WHERE version = $1", &[version])
            .await
            .map_err(|e| TeamError::from_statement(e, what))?
            .is_some();
        if done {
            continue;
        }
        tx.batch_execute(sql).await.map_err(|e| TeamError::from_statement(e, &format!("migration {version}")))?;
        tx.execute("INSERT INTO team_schema (version) VALUES ($1)", &[version])
            .await
            .map_err(|e| TeamError::from_statement(e, what))?;
        tx.batch_execute("GRANT SELECT ON team_schema TO softphone_agent")
            .await
            .map_err(|e| TeamError::from_statement(e, what))?;
        tx.commit().await.map_err(|e| TeamError::from_statement(e, what))?;
        applied.push(*version);
    }
    Ok(applied)
}

/// Checks that the database holds the schema this build speaks.
pub async fn check(client: &Client) -> Result<(), TeamError> {
    let version: Option<i32> = client
        .query_one("SELECT max(version) FROM team_schema", &[])
        .await
        .map_err(|e| TeamError::from_statement(e, "reading the team schema's version"))?
        .get(0);
    match version {
        Some(SCHEMA_VERSION) => Ok(()),
        Some(newer) if newer > SCHEMA_VERSION => Err(TeamError::Schema(format!(
            "The team database has schema {newer}, newer than this app's {SCHEMA_VERSION}: update the app."
        ))),
        _ => Err(TeamError::Schema(
            "The team database's schema is older than this app's: the team lead runs `softphone-team init`.".into(),
        )),
    }
}
