//! A terminal as callers see it: the SIP2 client account (self-check machine, PC-booking system)
//! with its login hash, source allowlist and per-terminal protocol settings, and the TEXT kinds
//! those settings are stored as. The store keeps message codes as opaque two-digit strings: it
//! must not import `sip2` (which owns their meaning) or `auth` (which owns hashing).

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use ipnet::IpNet;

use super::error::{Error, Result};
use super::values::{text_enum, TerminalId};

text_enum! {
    /// Which credential patrons present at a terminal.
    pub enum PatronCredential { Pin = "pin", Password = "password", Either = "either" }
}
text_enum! {
    /// How much patron data a terminal receives.
    pub enum PatronDetail { Full = "full", Minimal = "minimal" }
}
text_enum! {
    /// Text encoding a terminal speaks.
    pub enum Charset { Utf8 = "utf-8", Latin1 = "latin-1", Cp850 = "cp850" }
}
text_enum! {
    /// Message terminator a terminal expects.
    pub enum Terminator { Cr = "cr", CrLf = "crlf" }
}
text_enum! {
    /// Whether a terminal's messages carry sequence numbers and checksums.
    pub enum ErrorDetection { Off = "off", Auto = "auto", Required = "required" }
}

/// A set of two-digit request codes a terminal may send, stored as space-separated text.
/// The store checks only the shape (two ASCII digits); the meaning belongs to `sip2`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageCodes(BTreeSet<String>);

impl MessageCodes {
    pub fn new<I, S>(codes: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = BTreeSet::new();
        for code in codes {
            let code = code.as_ref();
            if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::Invalid {
                    what: "message code",
                    reason: "expected two ASCII digits".into(),
                });
            }
            set.insert(code.to_owned());
        }
        Ok(Self(set))
    }

    pub fn contains(&self, code: &str) -> bool {
        self.0.contains(code)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The stored form: codes separated by single spaces.
    pub(super) fn to_text(&self) -> String {
        self.0.iter().cloned().collect::<Vec<_>>().join(" ")
    }
}

impl FromStr for MessageCodes {
    type Err = Error;
    /// Parses codes separated by spaces and/or commas.
    fn from_str(s: &str) -> Result<Self> {
        MessageCodes::new(s.split([' ', ',']).filter(|c| !c.is_empty()))
    }
}

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

/// Everything about a terminal except its identity and login hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalSettings {
    pub institution: String,
    pub location_code: Option<String>,
    pub enabled: bool,
    /// Source networks allowed to connect as this terminal.
    pub allowed_cidrs: Vec<IpNet>,
    /// Whether the login message may be skipped from `allowed_cidrs`.
    pub login_optional: bool,
    pub patron_credential: PatronCredential,
    /// Request codes this terminal may send (the caller decides what an empty set means).
    pub allowed_messages: MessageCodes,
    pub patron_detail: PatronDetail,
    pub charset: Charset,
    pub terminator: Terminator,
    pub error_detection: ErrorDetection,
}

impl TerminalSettings {
    /// Settings with the schema defaults: enabled, PIN, full detail, UTF-8, CR, auto.
    pub fn new(institution: impl Into<String>) -> Self {
        Self {
            institution: institution.into(),
            location_code: None,
            enabled: true,
            allowed_cidrs: Vec::new(),
            login_optional: false,
            patron_credential: PatronCredential::Pin,
            allowed_messages: MessageCodes::default(),
            patron_detail: PatronDetail::Full,
            charset: Charset::Utf8,
            terminator: Terminator::Cr,
            error_detection: ErrorDetection::Auto,
        }
    }
}

/// A terminal to create.
#[derive(Debug, Clone)]
pub struct NewTerminal {
    pub login_id: String,
    /// `None` for a login-free terminal.
    pub password: Option<StoredHash>,
    pub settings: TerminalSettings,
}

/// A stored terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminal {
    pub id: TerminalId,
    pub login_id: String,
    pub password: Option<StoredHash>,
    pub settings: TerminalSettings,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
