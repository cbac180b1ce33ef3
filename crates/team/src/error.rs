//! The one error type of the team database, with sentences a person can act on. Never carries a
//! password: the connection string's password is set apart (`Secret`) and not part of any message.

use thiserror::Error;
use tokio_postgres::error::SqlState;

#[derive(Debug, Error)]
pub enum TeamError {
    /// The server could not be reached (down, wrong address, network gone).
    #[error("The team database at {host} cannot be reached ({reason}). Work goes on here and is sent when it is back.")]
    Unreachable { host: String, reason: String },
    /// The login or password was refused.
    #[error(
        "The team database refused the login \"{login}\": check the agent login and password your team lead gave you."
    )]
    LoginRefused { login: String },
    /// The server's certificate is not one this computer trusts, or the server offers no TLS.
    #[error("The team database at {host} cannot be reached securely: {reason}.")]
    Insecure { host: String, reason: String },
    /// Row-level security or a missing privilege refused the statement.
    #[error("The team database refused this: {what}.")]
    Denied { what: String },
    /// The login is not an agent of any team (a role the team tool did not make).
    #[error("The login \"{login}\" is not an agent of any team; ask your team lead to add you with softphone-team.")]
    NotAnAgent { login: String },
    /// Input the team database cannot take; the message says what.
    #[error("{0}")]
    Invalid(String),
    /// The schema is older or newer than this app expects.
    #[error("{0}")]
    Schema(String),
    /// The connection broke mid-way (the server stopped or the network went).
    #[error("The connection to the team database was lost ({0}). Work goes on here and is sent when it is back.")]
    ConnectionLost(String),
    /// Anything else the server said.
    #[error("The team database failed: {0}.")]
    Database(String),
    /// A local file (the CSV to import, the report to write).
    #[error("Could not read or write {what}: {reason}.")]
    Io { what: String, reason: String },
}

impl TeamError {
    /// A stable code for logs and the IPC error.
    pub fn code(&self) -> &'static str {
        match self {
            TeamError::Unreachable { .. } => "team_unreachable",
            TeamError::LoginRefused { .. } => "team_login_refused",
            TeamError::Insecure { .. } => "team_insecure",
            TeamError::Denied { .. } => "team_denied",
            TeamError::NotAnAgent { .. } => "team_not_an_agent",
            TeamError::Invalid(_) => "team_invalid",
            TeamError::Schema(_) => "team_schema",
            TeamError::ConnectionLost(_) => "team_connection_lost",
            TeamError::Database(_) => "team_database",
            TeamError::Io { .. } => "team_io",
        }
    }

    /// Whether trying again later may work (the link, not the request, failed): pushes stay in
    /// the outbox on these.
    pub fn is_transient(&self) -> bool {
        matches!(self, TeamError::Unreachable { .. } | TeamError::ConnectionLost(_))
    }

    /// Reads a statement's error: row-level security and privileges become [`TeamError::Denied`]
    /// with `what` (what was being done, in words), a broken link [`TeamError::ConnectionLost`].
    pub fn from_statement(error: tokio_postgres::Error, what: &str) -> TeamError {
        if error.is_closed() {
            return TeamError::ConnectionLost(error.to_string());
        }
        let Some(db) = error.as_db_error() else {
            // Not the server's answer: the socket failed under the statement, or (a bug) a value
            // could not be sent as the statement's type.
            let io = std::error::Error::source(&error).is_some_and(|source| source.is::<std::io::Error>());
            return if io {
                TeamError::ConnectionLost(error.to_string())
            } else {
                TeamError::Database(format!("{what}: {error}"))
            };
        };
        let code = db.code();
        if *code == SqlState::INSUFFICIENT_PRIVILEGE {
            return TeamError::Denied { what: format!("{what} ({})", db.message()) };
        }
        if *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
        {
            return TeamError::ConnectionLost(db.message().to_owned());
        }
        if *code == SqlState::UNDEFINED_TABLE || *code == SqlState::UNDEFINED_FUNCTION {
            return TeamError::Schema(format!(
                "The team database has no team schema ({}); the team lead runs `softphone-team init` first.",
                db.message()
            ));
        }
        if code.code().starts_with("22") || code.code().starts_with("23") {
            return TeamError::Invalid(format!("The team database refused {what}: {}.", db.message()));
        }
        TeamError::Database(format!("{what}: {}", db.message()))
    }
}
