//! `accounts::Error`: why a staff action could not be done, in words that say what to fix.
//! Never carries a PIN, password, token or hash. Uses `store` and `auth` error and rejection types only.

use crate::auth::Rejections;
use crate::store;

/// The broad class of an error, which the CLI maps to an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request was understood and refused (a PIN rule, a duplicate, a locked state).
    Refused,
    /// The input is malformed (a bad option value, a bad file header).
    Invalid,
    /// The database could not be reached.
    Unavailable,
    /// The addressed patron or terminal does not exist.
    NotFound,
    /// Anything else: a server-side problem (pepper key, hashing, a corrupt row).
    Internal,
}

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what} {id:?} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{what} {id:?} already exists")]
    Duplicate { what: &'static str, id: String },
    /// A rule refused the request; `reason` is the sentence for the person at the desk.
    #[error("{0}")]
    Refused(String),
    /// The PIN or password rules refused a new credential: every rule broken, each with its
    /// sentence for the patron (a form attaches each to its field).
    #[error("{0}")]
    Rejected(Rejections),
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    #[error("{0}; check database.url (or SIP2AUTH_DATABASE_URL) and that the database is running")]
    Unavailable(#[source] store::Error),
    /// The database file (or its directory) does not exist; the message names the path.
    #[error("{0}; check database.url (or SIP2AUTH_DATABASE_URL)")]
    NoDatabase(#[source] store::Error),
    #[error("{0}")]
    Store(#[source] store::Error),
    #[error("pepper key: {0}")]
    Pepper(String),
    #[error("hashing: {0}")]
    Hashing(String),
}

impl Error {
    pub(crate) fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::Duplicate { .. } | Error::Refused(_) | Error::Rejected(_) => ErrorKind::Refused,
            Error::Invalid { .. } => ErrorKind::Invalid,
            Error::Unavailable(_) | Error::NoDatabase(_) => ErrorKind::Unavailable,
            Error::Store(_) | Error::Pepper(_) | Error::Hashing(_) => ErrorKind::Internal,
        }
    }
}

impl From<store::Error> for Error {
    fn from(err: store::Error) -> Self {
        if matches!(
            err,
            store::Error::NoDatabase { .. } | store::Error::NoDirectory { .. }
        ) {
            Error::NoDatabase(err)
        } else if err.is_unavailable() {
            Error::Unavailable(err)
        } else {
            Error::Store(err)
        }
    }
}
