//! `[server]` (the SIP2 listener) and `[messages]` (the screen texts terminals show patrons).

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

pub(crate) use super::login_defence::LoginDefenceConfig;
use super::problems::Section;
pub(crate) use super::transport::{ProxyProtocolConfig, TlsConfig};

/// `[server]`: the SIP2 TCP listener, its limits and the ACS status it reports.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port of the SIP2 listener (6001 is the usual SIP2 port).
    pub listen: SocketAddr,
    /// Connections served at once; further ones are closed at accept.
    pub max_connections: usize,
    /// Connections served at once from one source address.
    pub max_connections_per_address: usize,
    /// A connection with no complete message for this long is closed. Longer than the usual
    /// 5-7 minute SC-status heartbeat.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// A response the client does not read within this time closes the connection (a client
    /// that stops reading must not hold its connection slot for the whole idle timeout).
    #[serde(with = "humantime_serde")]
    pub write_timeout: Duration,
    /// Longest accepted message; a longer one closes the connection.
    pub max_frame_bytes: usize,
    /// How long shutdown waits for requests in flight.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Failed 93 logins on one connection before it is closed.
    pub login_attempts_per_connection: u32,
    /// A connection that is not a logged-in (or login-free) terminal this long after it was
    /// accepted is closed, whatever it sends.
    #[serde(with = "humantime_serde")]
    pub login_deadline: Duration,
    /// `[server.login_defence]`: throttling of failed 93 logins per address and login id.
    pub login_defence: LoginDefenceConfig,
    /// `[server.tls]`: the certificate, plain text refused or not, a TLS-only listener.
    pub tls: TlsConfig,
    /// `[server.proxy_protocol]`: load balancers whose PROXY header names the client.
    pub proxy_protocol: ProxyProtocolConfig,
    /// Zone of the SIP dates sent: `local` (four blanks) or `utc` (`   Z`).
    pub timezone: SipTimezone,
    /// Institution id (AO) sent when a request carries none.
    pub institution_id: String,
    /// Library name (AM) in the ACS status.
    pub library_name: String,
    /// ACS status timeout period, tenths of a second (000-999).
    pub timeout_period: u16,
    /// ACS status retries allowed (000-999).
    pub retries_allowed: u16,
    /// Unknown command codes: `ignore` (spec) or `resend` (answer 96, as Koha does).
    pub unknown_command: UnknownCommand,
    /// A 63 without AD answers CQ=N (true) instead of leaving CQ out (false, SIPServer/Koha).
    pub pin_required: bool,
    /// Answer a lost card as an unknown patron (BL=N), as Evergreen and FOLIO do.
    pub lost_card_as_unknown: bool,
    /// Send the PA/PB/PC/XI extension fields in 64 to full-detail terminals.
    pub extensions: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 6001)),
            max_connections: 1000,
            max_connections_per_address: 64,
            idle_timeout: Duration::from_secs(600),
            write_timeout: Duration::from_secs(30),
            max_frame_bytes: 16 * 1024,
            shutdown_grace: Duration::from_secs(10),
            login_attempts_per_connection: 3,
            login_deadline: Duration::from_secs(30),
            login_defence: LoginDefenceConfig::default(),
            tls: TlsConfig::default(),
            proxy_protocol: ProxyProtocolConfig::default(),
            timezone: SipTimezone::Local,
            institution_id: "MAIN".into(),
            library_name: "Main Library".into(),
            timeout_period: 100,
            retries_allowed: 3,
            unknown_command: UnknownCommand::Ignore,
            pin_required: false,
            lost_card_as_unknown: false,
            extensions: true,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SipTimezone {
    Local,
    Utc,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UnknownCommand {
    Ignore,
    Resend,
}

/// The institution (AO) to use: `given` when there is one and it is not empty, else `fallback`.
/// The one statement of the fallback, for command-line flags, a request's AO and a terminal's
/// institution alike.
pub(crate) fn institution_or(given: Option<&str>, fallback: &str) -> String {
    match given {
        Some(institution) if !institution.is_empty() => institution.to_owned(),
        _ => fallback.to_owned(),
    }
}

impl ServerConfig {
    /// The institution (AO) a card or terminal belongs to: the one given (a command-line flag)
    /// when there is one and it is not empty, else `institution_id`. The one statement of the
    /// fallback for every command.
    pub(crate) fn institution_or_default(&self, given: Option<&str>) -> String {
        institution_or(given, &self.institution_id)
    }

    pub(super) fn validate(&self, at: &mut Section<'_>) {
        if self.max_connections == 0 {
            at.push("max_connections", "must be at least 1");
        }
        if self.max_connections_per_address == 0 {
            at.push("max_connections_per_address", "must be at least 1");
        }
        if !(256..=1024 * 1024).contains(&self.max_frame_bytes) {
            at.push("max_frame_bytes", "must be between 256 and 1048576");
        }
        if self.idle_timeout < Duration::from_secs(1) {
            at.push("idle_timeout", "must be at least 1s");
        }
        if self.write_timeout < Duration::from_secs(1) {
            at.push("write_timeout", "must be at least 1s");
        }
        if self.login_attempts_per_connection == 0 {
            at.push("login_attempts_per_connection", "must be at least 1");
        }
        if self.login_deadline < Duration::from_secs(1) {
            at.push("login_deadline", "must be at least 1s");
        }
        self.login_defence.validate(&mut at.at("login_defence"));
        self.tls.validate(&mut at.at("tls"));
        self.proxy_protocol.validate(&mut at.at("proxy_protocol"));
        if self.tls.listen == Some(self.listen) {
            at.push(
                "tls.listen",
                "must differ from listen (which serves TLS too)",
            );
        }
        if self.timeout_period > 999 {
            at.push(
                "timeout_period",
                "must be between 0 and 999 (tenths of a second)",
            );
        }
        if self.retries_allowed > 999 {
            at.push("retries_allowed", "must be between 0 and 999");
        }
        if self.institution_id.is_empty() || self.institution_id.contains(['|', '\r', '\n']) {
            at.push(
                "institution_id",
                "must be non-empty and free of '|', CR and LF",
            );
        }
        if self.library_name.contains(['|', '\r', '\n']) {
            at.push("library_name", "must not contain '|', CR or LF");
        }
    }
}

/// `[messages]`: screen messages (AF) sent to terminals. Keep the keywords clients match on:
/// EZproxy sites deny on "expir", so the expired text must contain it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MessagesConfig {
    /// Sent with a valid PIN; empty sends no AF.
    pub welcome: String,
    pub wrong_pin: String,
    /// Sent for a wrong online password, at terminals that check the password (not the PIN).
    pub wrong_password: String,
    pub unknown_patron: String,
    pub pin_required: String,
    pub expired: String,
    pub blocked: String,
    pub card_lost: String,
    pub fines_over_limit: String,
    pub locked: String,
    pub default_pin_change: String,
    pub default_pin_expired: String,
    pub unavailable: String,
    pub busy: String,
    pub circulation_refused: String,
    /// Sent when a relayed terminal's library system (the upstream ILS) does not answer.
    pub upstream_unavailable: String,
    /// Sent with the negative answer to a message the terminal's allowed list leaves out.
    pub message_not_allowed: String,
    pub end_session: String,
    pub patron_blocked_by_terminal: String,
}

impl Default for MessagesConfig {
    fn default() -> Self {
        Self {
            welcome: String::new(),
            wrong_pin: "Invalid PIN".into(),
            wrong_password: "Invalid password".into(),
            unknown_patron: "Unknown library card".into(),
            pin_required: "PIN required".into(),
            expired: "Card expired".into(),
            blocked: "Account blocked, see staff".into(),
            card_lost: "Card reported lost".into(),
            fines_over_limit: "Fines exceed limit".into(),
            locked: "Account locked - please see staff or reset online".into(),
            default_pin_change: "Please change your temporary PIN".into(),
            default_pin_expired: "Temporary PIN expired - please see staff or reset online".into(),
            unavailable: "Service unavailable, please try again later".into(),
            busy: "Service busy, please try again".into(),
            circulation_refused: "This service does not handle circulation".into(),
            upstream_unavailable: "The library system is unavailable, please try again later"
                .into(),
            message_not_allowed: "This terminal may not send this message".into(),
            end_session: "Thank you".into(),
            patron_blocked_by_terminal: "Card blocked".into(),
        }
    }
}

impl MessagesConfig {
    fn texts(&self) -> [(&'static str, &str); 19] {
        [
            ("welcome", &self.welcome),
            ("wrong_pin", &self.wrong_pin),
            ("wrong_password", &self.wrong_password),
            ("unknown_patron", &self.unknown_patron),
            ("pin_required", &self.pin_required),
            ("expired", &self.expired),
            ("blocked", &self.blocked),
            ("card_lost", &self.card_lost),
            ("fines_over_limit", &self.fines_over_limit),
            ("locked", &self.locked),
            ("default_pin_change", &self.default_pin_change),
            ("default_pin_expired", &self.default_pin_expired),
            ("unavailable", &self.unavailable),
            ("busy", &self.busy),
            ("circulation_refused", &self.circulation_refused),
            ("upstream_unavailable", &self.upstream_unavailable),
            ("message_not_allowed", &self.message_not_allowed),
            ("end_session", &self.end_session),
            (
                "patron_blocked_by_terminal",
                &self.patron_blocked_by_terminal,
            ),
        ]
    }

    pub(super) fn validate(&self, at: &mut Section<'_>) {
        for (key, text) in self.texts() {
            if text.contains(['|', '\r', '\n']) {
                at.push(key, "must not contain '|', CR or LF");
            }
            // Libki rejects any response containing "BLN", wherever it appears.
            if text.contains("BLN") {
                at.push(
                    key,
                    "must not contain \"BLN\" (Libki treats it as an invalid patron)",
                );
            }
            if text.len() > 255 {
                at.push(key, "must be at most 255 bytes");
            }
        }
        if !self.expired.to_lowercase().contains("expir") {
            at.push(
                "expired",
                "should contain \"expir\": EZproxy rules match it to deny expired cards",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_institution_given_wins_over_the_servers_unless_it_is_empty() {
        let server = ServerConfig {
            institution_id: "MAIN".into(),
            ..ServerConfig::default()
        };
        assert_eq!(server.institution_or_default(Some("BRANCH")), "BRANCH");
        assert_eq!(server.institution_or_default(None), "MAIN");
        assert_eq!(server.institution_or_default(Some("")), "MAIN");
    }
}
