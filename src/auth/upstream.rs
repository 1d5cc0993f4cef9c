//! A relayed terminal's upstream: the library's own SIP2 server (the ILS) that this terminal's
//! circulation is forwarded to, the login sip2auth uses there, the link's SIP2 vocabulary and
//! what is decided here rather than there ([`PatronMode`], [`UnknownHere`], `forward_pin`).
//!
//! Stored in two columns (`store::TerminalColumns::upstream`, a JSON document of the non-secret
//! settings, and `upstream_password_sealed`), converted here at one edge like the rest of the
//! terminal. The password is only ever held sealed ([`SealedPassword`]); it is opened by the
//! relay with [`crate::auth::Sealer`] when it logs in, bound to the record [`record`] names.
//!
//! Uses `store` values and `sip2` value types only; must not import `server` or `accounts`.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::terminal_settings::{ErrorDetection, Terminator};
use crate::sip2::Charset;
use crate::store::values::{parse_column, text_enum};
use crate::store::{self, TerminalId};

text_enum! {
    /// How 23 and 63 are answered at a relayed terminal: from this database alone, or with the
    /// ILS's fields (fines, holds, items) and this server's BL, CQ and restriction flags.
    pub enum PatronMode { Local = "local", Merge = "merge" }
}
text_enum! {
    /// What happens to a card this database does not know: refused here, or asked upstream
    /// with the request as it came (the ILS checks the PIN; for gradual migration).
    pub enum UnknownHere { Refuse = "refuse", AskUpstream = "ask_upstream" }
}

/// The default wait for an upstream answer: below the usual self-check timeout.
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);

/// The upstream password as stored: sealed. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedPassword(pub String);

impl fmt::Debug for SealedPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealedPassword([sealed])")
    }
}

/// The record an upstream password is sealed to: moved to another terminal, it fails to open.
pub fn record(id: TerminalId) -> String {
    format!("terminal:{}", id.0)
}

/// A relayed terminal's upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// `HOST:PORT` of the ILS's SIP2 service.
    pub address: String,
    /// TLS to the upstream; its certificate is always verified (against `ca_pem` when given,
    /// else against the public web roots).
    pub tls: bool,
    /// PEM text of the CA the upstream's certificate must chain to (TLS only).
    pub ca_pem: Option<String>,
    /// The 93's CN sip2auth sends for this terminal.
    pub login: String,
    /// The 93's CO, sealed; `None`: an empty CO.
    pub password: Option<SealedPassword>,
    /// The 93's CP.
    pub location: Option<String>,
    pub charset: Charset,
    pub terminator: Terminator,
    pub error_detection: ErrorDetection,
    pub patron_mode: PatronMode,
    pub unknown_here: UnknownHere,
    /// Send the patron's PIN (AD) on to the ILS after checking it here.
    pub forward_pin: bool,
    /// How long one exchange (connect, log in, answer) may take before the terminal is told
    /// the library system is unavailable.
    pub timeout: Duration,
}

impl Upstream {
    /// An upstream at `address` logging in as `login`, with the defaults.
    pub fn new(address: impl Into<String>, login: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            tls: false,
            ca_pem: None,
            login: login.into(),
            password: None,
            location: None,
            charset: Charset::Utf8,
            terminator: Terminator::Cr,
            error_detection: ErrorDetection::Auto,
            patron_mode: PatronMode::Local,
            unknown_here: UnknownHere::Refuse,
            forward_pin: false,
            timeout: DEFAULT_UPSTREAM_TIMEOUT,
        }
    }

    /// The two columns: the JSON document and the sealed password.
    pub(crate) fn columns(upstream: Option<&Upstream>) -> (Option<String>, Option<String>) {
        let Some(u) = upstream else {
            return (None, None);
        };
        let document = Document {
            address: u.address.clone(),
            tls: u.tls,
            ca_pem: u.ca_pem.clone(),
            login: u.login.clone(),
            location: u.location.clone(),
            charset: u.charset.to_string(),
            terminator: u.terminator.as_str().to_owned(),
            error_detection: u.error_detection.as_str().to_owned(),
            patron_mode: u.patron_mode.as_str().to_owned(),
            unknown_here: u.unknown_here.as_str().to_owned(),
            forward_pin: u.forward_pin,
            timeout_ms: u64::try_from(u.timeout.as_millis()).unwrap_or(u64::MAX),
        };
        // Invariant: a struct of strings, numbers and booleans always serialises.
        let json = serde_json::to_string(&document).expect("upstream document serialises");
        (Some(json), u.password.as_ref().map(|p| p.0.clone()))
    }

    /// The upstream the two columns hold.
    pub(crate) fn from_columns(
        document: Option<&str>,
        sealed: Option<String>,
    ) -> store::Result<Option<Upstream>> {
        const COLUMN: &str = "terminals.upstream";
        let Some(document) = document else {
            return match sealed {
                None => Ok(None),
                Some(_) => Err(store::Error::corrupt("terminals.upstream_password_sealed")),
            };
        };
        let d: Document =
            serde_json::from_str(document).map_err(|_| store::Error::corrupt(COLUMN))?;
        Ok(Some(Upstream {
            address: d.address,
            tls: d.tls,
            ca_pem: d.ca_pem,
            login: d.login,
            password: sealed.map(SealedPassword),
            location: d.location,
            charset: parse_column(&d.charset, COLUMN)?,
            terminator: parse_column(&d.terminator, COLUMN)?,
            error_detection: parse_column(&d.error_detection, COLUMN)?,
            patron_mode: parse_column(&d.patron_mode, COLUMN)?,
            unknown_here: parse_column(&d.unknown_here, COLUMN)?,
            forward_pin: d.forward_pin,
            timeout: Duration::from_millis(d.timeout_ms),
        }))
    }
}

/// The stored document: every non-secret setting as text, number or boolean.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    address: String,
    tls: bool,
    ca_pem: Option<String>,
    login: String,
    location: Option<String>,
    charset: String,
    terminator: String,
    error_detection: String,
    patron_mode: String,
    unknown_here: String,
    forward_pin: bool,
    timeout_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upstream_round_trips_through_its_columns() {
        let mut upstream = Upstream::new("ils.example.org:6001", "sip2auth");
        upstream.tls = true;
        upstream.ca_pem = Some("-----BEGIN CERTIFICATE-----".into());
        upstream.password = Some(SealedPassword("s1.1.00".into()));
        upstream.location = Some("BRANCH1".into());
        upstream.charset = Charset::Cp850;
        upstream.terminator = Terminator::CrLf;
        upstream.error_detection = ErrorDetection::Off;
        upstream.patron_mode = PatronMode::Merge;
        upstream.unknown_here = UnknownHere::AskUpstream;
        upstream.forward_pin = true;
        upstream.timeout = Duration::from_millis(2500);
        let (document, sealed) = Upstream::columns(Some(&upstream));
        let back = Upstream::from_columns(document.as_deref(), sealed).expect("read back");
        assert_eq!(back, Some(upstream));
    }

    #[test]
    fn a_sealed_password_without_an_upstream_is_corrupt_and_never_printed() {
        assert!(Upstream::from_columns(None, Some("s1".into())).is_err());
        assert!(Upstream::from_columns(Some("{}"), None).is_err());
        let shown = format!("{:?}", SealedPassword("s1.1.abcdef".into()));
        assert!(!shown.contains("abcdef"));
    }
}
