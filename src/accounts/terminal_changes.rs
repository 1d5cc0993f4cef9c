//! The settings a staff member changes on a terminal, each `None` when left as it is: the one
//! shape `sip2auth terminal update` and the admin API both fill, applied to a copy of the stored
//! settings by [`TerminalChanges::apply`] before `Accounts::update_terminal` checks the result.
//!
//! Plain values; uses `auth`'s terminal types only.

use ipnet::IpNet;

use crate::auth::{
    CertificateBinding, CertificateLogin, Charset, DetailWithoutPin, ErrorDetection,
    PatronCredential, PatronDetail, RequestSet, RestrictedAnswer, Restrictions, TerminalSettings,
    Terminator, Upstream,
};

/// What to do with the terminal's client certificate binding.
#[derive(Debug, Clone, Default)]
pub(crate) enum CertificateChange {
    #[default]
    Keep,
    Bind(CertificateBinding),
    Unbind,
}

/// Changes to a terminal's settings; `None` keeps the stored value.
#[derive(Debug, Clone, Default)]
pub(crate) struct TerminalChanges {
    pub institution: Option<String>,
    /// `Some(None)` removes the location code.
    pub location_code: Option<Option<String>>,
    /// Replaces the networks; an empty list allows any address.
    pub allowed_cidrs: Option<Vec<IpNet>>,
    pub login_optional: Option<bool>,
    pub patron_credential: Option<PatronCredential>,
    pub allowed_messages: Option<RequestSet>,
    pub patron_detail: Option<PatronDetail>,
    pub charset: Option<Charset>,
    pub terminator: Option<Terminator>,
    pub error_detection: Option<ErrorDetection>,
    pub restricted: Option<RestrictedAnswer>,
    pub denied_restrictions: Option<Restrictions>,
    pub detail_without_pin: Option<DetailWithoutPin>,
    pub require_tls: Option<bool>,
    pub certificate: CertificateChange,
    pub certificate_login: Option<CertificateLogin>,
    /// `Some(None)` stops relaying; `Some(Some(_))` relays to that upstream.
    pub upstream: Option<Option<Upstream>>,
}

/// Replaces `slot` when a value is given.
fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

impl TerminalChanges {
    /// Applies the changes given; the other settings keep their value.
    pub(crate) fn apply(self, settings: &mut TerminalSettings) {
        match self.certificate {
            CertificateChange::Keep => {}
            CertificateChange::Bind(binding) => settings.client_certificate = Some(binding),
            CertificateChange::Unbind => settings.client_certificate = None,
        }
        set(&mut settings.institution, self.institution);
        set(
            &mut settings.location_code,
            self.location_code
                .map(|code| code.filter(|c| !c.trim().is_empty())),
        );
        set(&mut settings.allowed_cidrs, self.allowed_cidrs);
        set(&mut settings.login_optional, self.login_optional);
        set(&mut settings.patron_credential, self.patron_credential);
        set(&mut settings.allowed_messages, self.allowed_messages);
        set(&mut settings.patron_detail, self.patron_detail);
        set(&mut settings.charset, self.charset);
        set(&mut settings.terminator, self.terminator);
        set(&mut settings.error_detection, self.error_detection);
        set(&mut settings.restricted, self.restricted);
        set(&mut settings.denied_restrictions, self.denied_restrictions);
        set(&mut settings.detail_without_pin, self.detail_without_pin);
        set(&mut settings.require_tls, self.require_tls);
        set(&mut settings.certificate_login, self.certificate_login);
        set(&mut settings.upstream, self.upstream);
    }
}

/// Refuses request codes this server never answers (`served`: the codes it does), naming both:
/// a terminal allowed only messages that are always refused would be told it may send them.
pub(crate) fn served_only(requests: &RequestSet, served: &[[u8; 2]]) -> Result<(), String> {
    let never: Vec<[u8; 2]> = requests
        .iter()
        .map(|request| request.code())
        .filter(|code| !served.contains(code))
        .collect();
    if never.is_empty() {
        return Ok(());
    }
    Err(format!(
        "this server never answers {}; it answers {}",
        codes_text(&never),
        codes_text(served)
    ))
}

/// Codes as an administrator writes them: `23 63 35`.
fn codes_text(codes: &[[u8; 2]]) -> String {
    codes
        .iter()
        .map(|code| String::from_utf8_lossy(code).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
