//! The one error type of the store, with a closed set of codes the UI can branch on.

use thiserror::Error;

/// What a missing row was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    /// A lead.
    Lead,
    /// A call-log entry.
    Call,
    /// A custom disposition.
    Disposition,
}

/// Why a store operation failed. Messages are sentences a person can act on; they never contain
/// credentials (the store holds none) nor the SQL parameters of the failed statement.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database file or an import file could not be read or written.
    #[error("Could not read or write {what}: {reason}. Check the disk and the file's permissions.")]
    Io {
        /// Which file, in words ("the database", "the CSV file").
        what: &'static str,
        /// The operating system's or SQLite's reason.
        reason: String,
    },
    /// The file is damaged or is not a SQLite database.
    #[error(
        "The database file is damaged or is not a softphone database. Restore a backup, or move the file away to start with an empty one."
    )]
    Corrupt,
    /// Another process holds the write lock longer than the busy timeout.
    #[error("The database is locked by another program. Close other copies of the app and try again.")]
    Busy,
    /// The file was migrated by a newer version of the app.
    #[error("The database was written by a newer version of the app. Update the app to open it.")]
    NewerSchema,
    /// No row with that id (it may have been deleted meanwhile).
    #[error("{}", match .0 {
        Entity::Lead => "This lead no longer exists; refresh the list.",
        Entity::Call => "This call is not in the call log.",
        Entity::Disposition => "This disposition does not exist; add it under Settings first.",
    })]
    NotFound(Entity),
    /// The caller passed something the store refuses; the message says what and how to fix it.
    #[error("{0}")]
    InvalidInput(String),
    /// The change contradicts what is stored (a duplicate number, a call finished twice).
    #[error("{0}")]
    Conflict(String),
    /// A database error the app does not expect; a bug, or a damaged file.
    #[error("Unexpected database error: {0}.")]
    Internal(String),
}

impl StoreError {
    /// A stable code for the IPC error (`{ "code": ..., "message": ... }`).
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Io { .. } => "StoreIo",
            StoreError::Corrupt => "StoreCorrupt",
            StoreError::Busy => "StoreBusy",
            StoreError::NewerSchema => "StoreNewerSchema",
            StoreError::NotFound(_) => "NotFound",
            StoreError::InvalidInput(_) => "InvalidInput",
            StoreError::Conflict(_) => "Conflict",
            StoreError::Internal(_) => "StoreInternal",
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> StoreError {
        StoreError::InvalidInput(message.into())
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        use rusqlite::ErrorCode;
        match &error {
            rusqlite::Error::SqliteFailure(failure, _) => match failure.code {
                ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => StoreError::Corrupt,
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Busy,
                ErrorCode::CannotOpen
                | ErrorCode::ReadOnly
                | ErrorCode::DiskFull
                | ErrorCode::SystemIoFailure
                | ErrorCode::PermissionDenied => StoreError::Io { what: "the database", reason: error.to_string() },
                _ => StoreError::Internal(error.to_string()),
            },
            _ => StoreError::Internal(error.to_string()),
        }
    }
}

impl From<rusqlite_migration::Error> for StoreError {
    fn from(error: rusqlite_migration::Error) -> StoreError {
        match error {
            rusqlite_migration::Error::RusqliteError { err, .. } => err.into(),
            rusqlite_migration::Error::MigrationDefinition(
                rusqlite_migration::MigrationDefinitionError::DatabaseTooFarAhead,
            ) => StoreError::NewerSchema,
            other => StoreError::Internal(other.to_string()),
        }
    }
}

impl From<StoreError> for softphone_core::ipc::IpcError {
    /// A store failure as the window reads it: not found, refused input, or the database failed.
    fn from(error: StoreError) -> Self {
        use softphone_core::ipc::ErrorCode;
        let code = match error {
            StoreError::NotFound(_) => ErrorCode::NotFound,
            StoreError::InvalidInput(_) | StoreError::Conflict(_) => ErrorCode::InvalidArgument,
            _ => ErrorCode::StoreFailed,
        };
        Self::new(code, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_failures_map_to_codes_the_ui_can_branch_on() {
        let failure = |code| rusqlite::Error::SqliteFailure(rusqlite::ffi::Error { code, extended_code: 0 }, None);
        let cases = [
            (rusqlite::ErrorCode::NotADatabase, "StoreCorrupt"),
            (rusqlite::ErrorCode::DatabaseCorrupt, "StoreCorrupt"),
            (rusqlite::ErrorCode::DatabaseBusy, "StoreBusy"),
            (rusqlite::ErrorCode::DiskFull, "StoreIo"),
            (rusqlite::ErrorCode::ConstraintViolation, "StoreInternal"),
        ];
        for (code, expected) in cases {
            assert_eq!(StoreError::from(failure(code)).code(), expected, "{code:?}");
        }
    }

    #[test]
    fn messages_are_sentences() {
        let errors = [
            StoreError::Corrupt,
            StoreError::Busy,
            StoreError::NewerSchema,
            StoreError::NotFound(Entity::Lead),
            StoreError::NotFound(Entity::Call),
            StoreError::NotFound(Entity::Disposition),
        ];
        for error in errors {
            let message = error.to_string();
            assert!(message.ends_with('.'), "{message}");
            assert!(message.starts_with(char::is_uppercase), "{message}");
        }
    }
}
