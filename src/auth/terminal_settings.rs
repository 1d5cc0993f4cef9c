//! The terminal as one typed value: [`TerminalSettings`] (everything about a SIP2 client account
//! except its identity and login hash), the stored [`Terminal`], a [`NewTerminal`] to create, and
//! the [`TerminalProfile`] a session serves an admitted terminal with. The SIP2 vocabulary of a
//! terminal (charset, terminator, error detection, the allowed requests as a `sip2::RequestSet`)
//! is typed here once.
//!
//! This is the one edge between the typed terminal and the store's plain columns
//! (`store::TerminalColumns`): [`TerminalSettings::columns`] writes them and
//! [`Terminal::from_row`] reads them back. Adding a terminal setting is a migration per backend,
//! a field here (with its default in [`TerminalSettings::new`]) and the command-line flag.
//!
//! A terminal's transport rules are typed here too: whether it requires TLS, the client
//! certificate it is bound to ([`CertificateBinding`]: a pinned SHA-256 fingerprint, or a CA and
//! subject) and whether that certificate logs it in without a 93 ([`CertificateLogin`]).
//!
//! Uses `store` (rows and ids), `sip2` value types and `net`'s certificate values only; must not
//! import `server` or `accounts`.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use ipnet::IpNet;

use super::decision::TerminalRefusal;
use super::terminal_access::{DetailWithoutPin, RestrictedAnswer, Restrictions};
use super::upstream::Upstream;
use crate::net::{CertificateAuthority, ClientCertificate, Fingerprint, Peer, SubjectName};
use crate::sip2::{Charset, RequestSet, RequestSetError};
use crate::store::values::{parse_column, text_enum};
use crate::store::{self, StoredHash, TerminalColumns, TerminalId, TerminalRow};

text_enum! {
    /// Which credential patrons present at a terminal.
    pub enum PatronCredential { Pin = "pin", Password = "password", Either = "either" }
}
text_enum! {
    /// How much patron data a terminal receives.
    pub enum PatronDetail { Full = "full", Minimal = "minimal" }
}
text_enum! {
    /// Message terminator a terminal expects.
    pub enum Terminator { Cr = "cr", CrLf = "crlf" }
}
text_enum! {
    /// Whether a terminal's messages carry sequence numbers and checksums.
    pub enum ErrorDetection { Off = "off", Auto = "auto", Required = "required" }
}
text_enum! {
    /// Whether a terminal bound to a client certificate is logged in by it (`skip-93`) or must
    /// still send its 93 over that certificate's connection (`require-93`).
    pub enum CertificateLogin { Skip93 = "skip-93", Require93 = "require-93" }
}

/// The client certificate a terminal is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateBinding {
    /// Exactly this certificate (its SHA-256 fingerprint), self-signed or not.
    Fingerprint(Fingerprint),
    /// Any valid certificate issued by `authority` whose subject is exactly `subject`.
    Authority {
        authority: CertificateAuthority,
        subject: SubjectName,
    },
}

impl CertificateBinding {
    /// Whether `certificate` is the one this binding names.
    pub(crate) fn matches(&self, certificate: &ClientCertificate) -> bool {
        match self {
            CertificateBinding::Fingerprint(pinned) => bool::from(subtle::ConstantTimeEq::ct_eq(
                &pinned.0[..],
                &certificate.fingerprint.0[..],
            )),
            CertificateBinding::Authority { authority, subject } => {
                certificate.subject().as_ref() == Some(subject) && certificate.issued_by(authority)
            }
        }
    }
}

impl Terminator {
    /// Bytes ending each response.
    pub(crate) fn bytes(self) -> &'static [u8] {
        match self {
            Terminator::Cr => b"\r",
            Terminator::CrLf => b"\r\n",
        }
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
    /// Requests this terminal may send (the server decides what an empty set means).
    pub allowed_messages: RequestSet,
    pub patron_detail: PatronDetail,
    pub charset: Charset,
    pub terminator: Terminator,
    pub error_detection: ErrorDetection,
    /// How the patron's restrictions reach the terminal: status flags, or CQ=N (deny mode).
    pub restricted: RestrictedAnswer,
    /// The restrictions deny mode refuses.
    pub denied_restrictions: Restrictions,
    /// What a check without a verified PIN shows.
    pub detail_without_pin: DetailWithoutPin,
    /// Refuse this terminal over plain text (its 93 and its login-free address).
    pub require_tls: bool,
    /// The client certificate this terminal must connect with, if any.
    pub client_certificate: Option<CertificateBinding>,
    /// Whether that certificate logs the terminal in without a 93.
    pub certificate_login: CertificateLogin,
    /// The library's SIP2 server this terminal's circulation is relayed to, if any.
    pub upstream: Option<Upstream>,
}

impl TerminalSettings {
    /// Settings with the defaults the schema states too: enabled, PIN, full detail, UTF-8, CR,
    /// auto, restrictions as flags (deny mode refusing expired, blocked and lost cards), minimal
    /// detail without a verified PIN (a test keeps the migrations' `DEFAULT`s and these in step).
    pub fn new(institution: impl Into<String>) -> Self {
        Self {
            institution: institution.into(),
            location_code: None,
            enabled: true,
            allowed_cidrs: Vec::new(),
            login_optional: false,
            patron_credential: PatronCredential::Pin,
            allowed_messages: RequestSet::default(),
            patron_detail: PatronDetail::Full,
            charset: Charset::Utf8,
            terminator: Terminator::Cr,
            error_detection: ErrorDetection::Auto,
            restricted: RestrictedAnswer::Flags,
            denied_restrictions: Restrictions::default(),
            detail_without_pin: DetailWithoutPin::Minimal,
            require_tls: false,
            client_certificate: None,
            certificate_login: CertificateLogin::Require93,
            upstream: None,
        }
    }

    /// Whether `peer` may connect as this terminal (an empty allowlist admits any address).
    pub(crate) fn admits_address(&self, peer: IpAddr) -> bool {
        let cidrs = &self.allowed_cidrs;
        cidrs.is_empty() || cidrs.iter().any(|net| net.contains(&peer))
    }

    /// Whether a connection from `peer` is this terminal without a login: enabled, login-free,
    /// and `peer` in one of its networks (never an empty list).
    pub(crate) fn login_free_from(&self, peer: IpAddr) -> bool {
        self.enabled
            && self.login_optional
            && self.allowed_cidrs.iter().any(|net| net.contains(&peer))
    }

    /// Why `peer`'s transport does not suit this terminal, if it does not: plain text when TLS is
    /// required, or a client certificate other than the bound one (or one when none is bound).
    pub(crate) fn transport_refusal(&self, peer: &Peer) -> Option<TerminalRefusal> {
        if self.require_tls && !peer.tls {
            return Some(TerminalRefusal::TlsRequired);
        }
        let fits = match (&self.client_certificate, &peer.client_certificate) {
            (None, None) => true,
            (Some(binding), Some(certificate)) => binding.matches(certificate),
            _ => false,
        };
        (!fits).then_some(TerminalRefusal::CertificateMismatch)
    }

    /// Whether `peer` is this terminal without a 93: by its bound client certificate when it
    /// presents one (and the terminal skips the 93 for it), else by a login-free address.
    pub(crate) fn admits_without_login(&self, peer: &Peer) -> bool {
        let by_certificate = match &peer.client_certificate {
            Some(_) => {
                self.client_certificate.is_some()
                    && self.certificate_login == CertificateLogin::Skip93
                    && self.enabled
                    && self.admits_address(peer.source.ip())
            }
            None => self.login_free_from(peer.source.ip()),
        };
        by_certificate && self.transport_refusal(peer).is_none()
    }

    /// Whether `peer` may be logged in as this terminal (after a 93): its address and transport.
    pub(crate) fn admits_connection(&self, peer: &Peer) -> bool {
        self.admits_address(peer.source.ip()) && self.transport_refusal(peer).is_none()
    }

    /// Whether this terminal receives the patron's full details.
    pub(crate) fn full_detail(&self) -> bool {
        self.patron_detail == PatronDetail::Full
    }

    /// The store's columns for these settings.
    pub fn columns(&self) -> TerminalColumns {
        let (upstream, upstream_password_sealed) = Upstream::columns(self.upstream.as_ref());
        TerminalColumns {
            institution: self.institution.clone(),
            location_code: self.location_code.clone(),
            enabled: self.enabled,
            allowed_cidrs: self
                .allowed_cidrs
                .iter()
                .map(IpNet::to_string)
                .collect::<Vec<_>>()
                .join(","),
            login_optional: self.login_optional,
            patron_credential: self.patron_credential.as_str().to_owned(),
            allowed_messages: self.allowed_messages.to_string(),
            patron_detail: self.patron_detail.as_str().to_owned(),
            charset: self.charset.to_string(),
            terminator: self.terminator.as_str().to_owned(),
            error_detection: self.error_detection.as_str().to_owned(),
            restricted: self.restricted.as_str().to_owned(),
            denied_restrictions: self.denied_restrictions.to_string(),
            detail_without_pin: self.detail_without_pin.as_str().to_owned(),
            require_tls: self.require_tls,
            client_cert_sha256: match &self.client_certificate {
                Some(CertificateBinding::Fingerprint(pinned)) => Some(pinned.to_string()),
                _ => None,
            },
            client_ca_pem: match &self.client_certificate {
                Some(CertificateBinding::Authority { authority, .. }) => {
                    Some(authority.pem().to_owned())
                }
                _ => None,
            },
            client_subject: match &self.client_certificate {
                Some(CertificateBinding::Authority { subject, .. }) => Some(subject.to_string()),
                _ => None,
            },
            certificate_login: self.certificate_login.as_str().to_owned(),
            upstream,
            upstream_password_sealed,
        }
    }

    /// The settings stored in `columns`; `store::Error::Corrupt` names a column that holds
    /// something no setting writes.
    pub(crate) fn from_columns(columns: TerminalColumns) -> store::Result<Self> {
        let allowed_cidrs = columns
            .allowed_cidrs
            .split(',')
            .filter(|c| !c.is_empty())
            .map(|c| parse_column(c, "terminals.allowed_cidrs"))
            .collect::<store::Result<_>>()?;
        Ok(Self {
            institution: columns.institution,
            location_code: columns.location_code,
            enabled: columns.enabled,
            allowed_cidrs,
            login_optional: columns.login_optional,
            patron_credential: parse_column(
                &columns.patron_credential,
                "terminals.patron_credential",
            )?,
            allowed_messages: stored_requests(&columns.allowed_messages)?,
            patron_detail: parse_column(&columns.patron_detail, "terminals.patron_detail")?,
            charset: parse_column(&columns.charset, "terminals.charset")?,
            terminator: parse_column(&columns.terminator, "terminals.terminator")?,
            error_detection: parse_column(&columns.error_detection, "terminals.error_detection")?,
            restricted: parse_column(&columns.restricted, "terminals.restricted")?,
            denied_restrictions: parse_column(
                &columns.denied_restrictions,
                "terminals.denied_restrictions",
            )?,
            detail_without_pin: parse_column(
                &columns.detail_without_pin,
                "terminals.detail_without_pin",
            )?,
            require_tls: columns.require_tls,
            client_certificate: stored_binding(
                columns.client_cert_sha256.as_deref(),
                columns.client_ca_pem.as_deref(),
                columns.client_subject.as_deref(),
            )?,
            certificate_login: parse_column(
                &columns.certificate_login,
                "terminals.certificate_login",
            )?,
            upstream: Upstream::from_columns(
                columns.upstream.as_deref(),
                columns.upstream_password_sealed,
            )?,
        })
    }
}

/// The stored certificate binding: a fingerprint, or a CA with a subject, or none.
fn stored_binding(
    fingerprint: Option<&str>,
    authority: Option<&str>,
    subject: Option<&str>,
) -> store::Result<Option<CertificateBinding>> {
    Ok(match (fingerprint, authority, subject) {
        (None, None, None) => None,
        (Some(pinned), None, None) => Some(CertificateBinding::Fingerprint(parse_column(
            pinned,
            "terminals.client_cert_sha256",
        )?)),
        (None, Some(pem), Some(subject)) => Some(CertificateBinding::Authority {
            authority: CertificateAuthority::from_pem(pem)
                .map_err(|_| store::Error::corrupt("terminals.client_ca_pem"))?,
            subject: parse_column(subject, "terminals.client_subject")?,
        }),
        _ => return Err(store::Error::corrupt("terminals.client_cert_sha256")),
    })
}

/// The stored allowed-message list: two-digit codes separated by spaces. A code of the right
/// shape that names no request (written before the list was checked against the request table)
/// allows nothing; anything else is a corrupt column.
fn stored_requests(text: &str) -> store::Result<RequestSet> {
    let mut kinds = Vec::new();
    for code in text.split([' ', ',']).filter(|c| !c.is_empty()) {
        match code.parse::<RequestSet>() {
            Ok(one) => kinds.extend(one.iter()),
            Err(RequestSetError::NotARequest(_)) => {}
            Err(RequestSetError::NotACode(_)) => {
                return Err(store::Error::Corrupt {
                    column: "terminals.allowed_messages",
                })
            }
        }
    }
    Ok(kinds.into_iter().collect::<RequestSet>())
}

/// A stored terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminal {
    pub id: TerminalId,
    pub login_id: String,
    /// `None` for a login-free terminal.
    pub password: Option<StoredHash>,
    pub settings: TerminalSettings,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Terminal {
    /// The terminal a store row holds.
    pub fn from_row(row: TerminalRow) -> store::Result<Self> {
        Ok(Self {
            id: row.id,
            login_id: row.login_id,
            password: row.password,
            settings: TerminalSettings::from_columns(row.columns)?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    /// The terminal as a session serves it once admitted.
    pub fn profile(&self) -> TerminalProfile {
        TerminalProfile {
            id: self.id,
            login_id: self.login_id.clone(),
            settings: std::sync::Arc::new(self.settings.clone()),
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

impl NewTerminal {
    /// The row the store inserts.
    pub fn row(&self) -> store::NewTerminalRow {
        store::NewTerminalRow {
            login_id: self.login_id.clone(),
            password: self.password.clone(),
            columns: self.settings.columns(),
        }
    }
}

/// An admitted terminal: its identity for logs and audit, and its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalProfile {
    pub id: TerminalId,
    pub login_id: String,
    /// Shared: every session of the terminal holds the same settings, and a profile stays small
    /// inside the decisions and session states that carry it.
    pub settings: std::sync::Arc<TerminalSettings>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ConnectOptions, Store};

    #[test]
    fn settings_round_trip_through_the_columns() {
        let mut settings = TerminalSettings::new("MAIN");
        settings.location_code = Some("BRANCH1".into());
        settings.allowed_cidrs = vec!["10.0.0.0/8".parse().expect("net")];
        settings.allowed_messages = "63 23".parse().expect("requests");
        settings.charset = Charset::Cp850;
        settings.terminator = Terminator::CrLf;
        settings.error_detection = ErrorDetection::Required;
        settings.restricted = RestrictedAnswer::Deny;
        settings.denied_restrictions = "fines".parse().expect("restrictions");
        settings.detail_without_pin = DetailWithoutPin::Full;
        settings.require_tls = true;
        settings.client_certificate = Some(CertificateBinding::Fingerprint(
            "ab".repeat(32).parse().expect("fingerprint"),
        ));
        settings.certificate_login = CertificateLogin::Skip93;
        settings.upstream = Some(crate::auth::Upstream::new("ils:6001", "relay"));
        let back = TerminalSettings::from_columns(settings.columns()).expect("read back");
        assert_eq!(back, settings);
    }

    #[test]
    fn stored_codes_of_no_request_allow_nothing_and_bad_shapes_are_corrupt() {
        assert_eq!(
            stored_requests("94 23").expect("read").to_string(),
            "23".to_string()
        );
        assert!(matches!(
            stored_requests("2A"),
            Err(store::Error::Corrupt { .. })
        ));
    }

    /// A row inserted with only the required columns reads back as `TerminalSettings::new`,
    /// which the command line's flags take their defaults from.
    #[tokio::test]
    async fn the_schema_defaults_are_the_rust_defaults() {
        // One connection: every connection to `sqlite::memory:` is a database of its own.
        let options = ConnectOptions {
            max_connections: 1,
            ..ConnectOptions::default()
        };
        let store = Store::connect("sqlite::memory:", &options)
            .await
            .expect("in-memory store");
        store.migrate().await.expect("migrated");
        store
            .insert_bare_terminal_for_test("bare", "MAIN")
            .await
            .expect("a bare row");
        let bare = store
            .terminal_by_login("bare")
            .await
            .expect("read")
            .expect("found");
        let bare = Terminal::from_row(bare).expect("typed");
        assert_eq!(bare.settings, TerminalSettings::new("MAIN"));
    }
}
