//! A terminal as the store keeps it: plain columns ([`TerminalColumns`]), the row read back
//! ([`TerminalRow`]), the row to insert ([`NewTerminalRow`]) and the login hash. The typed
//! terminal (its SIP2 vocabulary, patron credential and detail) is `auth`'s, which converts at
//! one edge; the store must not import `sip2` (which owns message codes and charsets) or `auth`.

use chrono::{DateTime, Utc};

use super::values::TerminalId;

/// A terminal's login hash (opaque PHC string) and pepper key id. `Debug` never prints the hash.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredHash {
    pub phc: String,
    pub key_id: u32,
}

impl std::fmt::Debug for StoredHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredHash")
            .field("phc", &"[redacted]")
            .field("key_id", &self.key_id)
            .finish()
    }
}

/// The settings columns of `terminals`, as stored: text the typed settings write and read.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TerminalColumns {
    pub institution: String,
    pub location_code: Option<String>,
    pub enabled: bool,
    /// Source networks, comma-separated.
    pub allowed_cidrs: String,
    pub login_optional: bool,
    pub patron_credential: String,
    /// Two-digit request codes, space-separated.
    pub allowed_messages: String,
    pub patron_detail: String,
    pub charset: String,
    pub terminator: String,
    pub error_detection: String,
    /// `flags` or `deny`.
    pub restricted: String,
    /// Restriction words, comma-separated.
    pub denied_restrictions: String,
    pub detail_without_pin: String,
    pub require_tls: bool,
    /// 64 lower-case hex digits.
    pub client_cert_sha256: Option<String>,
    /// PEM text of the CA whose certificates this terminal accepts (with `client_subject`).
    pub client_ca_pem: Option<String>,
    pub client_subject: Option<String>,
    pub certificate_login: String,
    /// The relay's upstream settings (JSON written by the typed settings); `None`: not relayed.
    pub upstream: Option<String>,
    /// The upstream login password, sealed (`auth::Sealer`); never plain text.
    pub upstream_password_sealed: Option<String>,
}

/// A terminal row to insert.
#[derive(Debug, Clone)]
pub struct NewTerminalRow {
    pub login_id: String,
    /// `None` for a login-free terminal.
    pub password: Option<StoredHash>,
    pub columns: TerminalColumns,
}

/// A stored terminal row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalRow {
    pub id: TerminalId,
    pub login_id: String,
    pub password: Option<StoredHash>,
    pub columns: TerminalColumns,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
