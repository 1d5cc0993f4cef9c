//! `store::Error`: the one error type of the persistence boundary.
//!
//! Owns the mapping from sqlx errors to the cases callers act on: the database is unavailable
//! (answer "busy"/"out of service", retry later), a constraint refused the write (a duplicate card,
//! a duplicate terminal login), a row was not found, or a stored value could not be read back.
//! Messages never carry bound values, so no secret (PIN, password, hash, token) can reach a log
//! line through this type. Imports nothing else from the crate but `instruments` (errors are
//! counted here, where every sqlx error passes).

use sqlx::error::ErrorKind;

/// Why a store operation could not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database could not be reached or is not answering (connection refused, pool timed out,
    /// SQLite busy past the busy timeout, I/O failure). Retrying later may succeed.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// A uniqueness rule refused the write; `what` names the duplicated thing ("card number").
    #[error("duplicate {what}")]
    Duplicate { what: &'static str },
    /// Another constraint (foreign key, check, not-null) refused the write.
    #[error("constraint violated: {constraint}")]
    Constraint { constraint: String },
    /// The addressed row does not exist.
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// The caller passed a value the store cannot hold (e.g. a malformed message code).
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    /// A stored value could not be read back into its type (the database was edited by hand or by
    /// a newer version).
    #[error("unreadable stored value in column {column}")]
    Corrupt { column: &'static str },
    /// The database URL names no supported backend (only the scheme is reported, never the URL,
    /// which may hold a password).
    #[error("unsupported database URL scheme {scheme:?} (expected sqlite: or postgres:)")]
    UnsupportedUrl { scheme: String },
    /// The SQLite database file does not exist, and this command does not create one.
    #[error("no database at {} (run sip2auth migrate to create one)", path.display())]
    NoDatabase { path: std::path::PathBuf },
    /// The SQLite database file could not be created.
    #[error("cannot create the database file {}: {source}", path.display())]
    CreateFile {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// The directory that should hold the SQLite database file does not exist.
    #[error("the directory {} for the database does not exist", path.display())]
    NoDirectory { path: std::path::PathBuf },
    /// A lock reservation kept racing with concurrent resets; the caller could not decide.
    #[error("lock counters kept changing during a reservation; retry")]
    Contended,
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

/// Result alias for store operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// True when the database could not be reached or answered "busy": the caller cannot decide
    /// and should say so (SIP2 "out of service", HTTP 503) rather than treat it as a refusal.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Error::Unavailable(_) | Error::NoDatabase { .. } | Error::NoDirectory { .. } => true,
            Error::Migrate(sqlx::migrate::MigrateError::Execute(e)) => is_unavailable(e),
            _ => false,
        }
    }

    /// Maps a sqlx error, naming the duplicated thing when a uniqueness rule fired.
    pub(crate) fn from_sqlx(err: sqlx::Error, duplicate: &'static str) -> Error {
        if is_unavailable(&err) {
            crate::instruments::database_error(true);
            super::health::failed();
            return Error::Unavailable(err);
        }
        if !matches!(err, sqlx::Error::RowNotFound) {
            crate::instruments::database_error(false);
        }
        match &err {
            sqlx::Error::RowNotFound => Error::NotFound { what: "row" },
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => Error::Duplicate { what: duplicate },
                ErrorKind::ForeignKeyViolation
                | ErrorKind::NotNullViolation
                | ErrorKind::CheckViolation => Error::Constraint {
                    constraint: db.constraint().unwrap_or("unnamed").to_owned(),
                },
                _ => Error::Database(err),
            },
            _ => Error::Database(err),
        }
    }

    /// Shorthand for a value read back from the database that does not parse.
    pub(crate) fn corrupt(column: &'static str) -> Error {
        Error::Corrupt { column }
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::from_sqlx(err, "record")
    }
}

/// SQLite primary result codes that mean "cannot reach or use the database right now".
const SQLITE_UNAVAILABLE: [i64; 6] = [
    5,  // SQLITE_BUSY (after the busy timeout)
    6,  // SQLITE_LOCKED
    10, // SQLITE_IOERR
    13, // SQLITE_FULL
    14, // SQLITE_CANTOPEN
    8,  // SQLITE_READONLY
];

fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else { return false };
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // SQLite reports extended codes; the primary code is the low byte.
                code.parse::<i64>()
                    .is_ok_and(|numeric| SQLITE_UNAVAILABLE.contains(&(numeric & 0xff)))
            } else {
                // PostgreSQL SQLSTATE: 08 connection exception, 53 insufficient resources,
                // 57P01..57P03 shutdown / cannot connect now.
                code.starts_with("08") || code.starts_with("53") || code.starts_with("57P0")
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_timeout_is_unavailable() {
        assert!(Error::from(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(!Error::NotFound { what: "patron" }.is_unavailable());
    }
}
