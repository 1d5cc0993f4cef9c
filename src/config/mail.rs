//! `[mail]`: how mail leaves the server (SMTP, a folder of `.eml` files, or not at all), the
//! sender and the library's contact line in every mail, the editable templates, and the
//! outbox's retries. SMTP credentials never come from `sip2.toml`: the environment
//! (`SIP2AUTH_SMTP_USERNAME`, `SIP2AUTH_SMTP_PASSWORD`) or a file named here.
//!
//! Uses nothing else in the crate.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::problems::Section;

/// Environment variable holding the SMTP user name.
pub(crate) const ENV_SMTP_USERNAME: &str = "SIP2AUTH_SMTP_USERNAME";
/// Environment variable holding the SMTP password.
pub(crate) const ENV_SMTP_PASSWORD: &str = "SIP2AUTH_SMTP_PASSWORD";

/// `[mail]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// `none` (no mail is queued or sent), `smtp`, or `file` (one `.eml` per mail in `folder`).
    pub transport: MailTransport,
    /// The sender, `Name <address>` or an address.
    pub from: String,
    /// The contact line at the foot of every mail; empty: `web.contact`.
    pub contact: String,
    /// A folder of templates (`KIND.txt`, `KIND.html`) that replace the built-in ones; empty:
    /// the built-in ones only.
    pub templates_dir: PathBuf,
    /// Where the file transport writes.
    pub folder: PathBuf,
    pub smtp: SmtpConfig,
    /// Attempts per mail before it is given up as failed.
    pub max_attempts: u32,
    /// Wait after the first failed attempt; doubled after each further one, up to `retry_max`.
    #[serde(with = "humantime_serde")]
    pub retry_initial: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_max: Duration,
    /// How often the outbox is looked at (mail queued by this process is sent at once).
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// How long a claimed mail stays with its sender before another instance may take it.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    /// Sent and failed mails are kept this long (for the desk and `mail status`).
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
}

/// How mail leaves the server.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    None,
    Smtp,
    File,
}

/// `[mail.smtp]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    /// 0: the usual port of `security` (587, 465 or 25).
    pub port: u16,
    pub security: SmtpSecurity,
    /// A file holding the user name on its first line and the password on its second (a
    /// systemd credential, a mounted secret); the environment wins when set. Empty: none.
    pub credentials_file: PathBuf,
    /// How long one SMTP conversation may take (keep it well under `mail.lease`).
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

/// Transport security toward the SMTP server.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (required).
    Starttls,
    /// TLS from the first byte.
    Tls,
    /// No TLS at all (a relay on the same host only).
    None,
}

impl SmtpSecurity {
    pub(crate) fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        }
    }
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 0,
            security: SmtpSecurity::Starttls,
            credentials_file: PathBuf::new(),
            timeout: Duration::from_secs(30),
        }
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            transport: MailTransport::None,
            from: String::new(),
            contact: String::new(),
            templates_dir: PathBuf::new(),
            folder: PathBuf::from("outbox"),
            smtp: SmtpConfig::default(),
            max_attempts: 10,
            retry_initial: Duration::from_secs(30),
            retry_max: Duration::from_secs(3600),
            poll_interval: Duration::from_secs(10),
            lease: Duration::from_secs(120),
            retention: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

impl MailConfig {
    /// Whether mail is sent at all.
    pub(crate) fn enabled(&self) -> bool {
        self.transport != MailTransport::None
    }

    pub(super) fn validate(&self, at: &mut Section<'_>) {
        if self.enabled() && !self.from.contains('@') {
            at.push(
                "from",
                "must be the sender's address (Name <address> or address)",
            );
        }
        if self.transport == MailTransport::Smtp && self.smtp.host.trim().is_empty() {
            at.push(
                "smtp.host",
                "must name the SMTP server when transport = \"smtp\"",
            );
        }
        if self.transport == MailTransport::File && self.folder.as_os_str().is_empty() {
            at.push("folder", "must name a folder when transport = \"file\"");
        }
        if self.max_attempts == 0 {
            at.push("max_attempts", "must be at least 1");
        }
        if self.retry_initial.is_zero() || self.retry_max < self.retry_initial {
            at.push(
                "retry_max",
                "must be at least retry_initial, which must be above 0",
            );
        }
        if self.poll_interval < Duration::from_millis(10) {
            at.push("poll_interval", "must be at least 10ms");
        }
        if self.lease <= self.smtp.timeout {
            at.push("lease", "must be longer than smtp.timeout");
        }
        if self.contact.len() > 2000 {
            at.push("contact", "must be at most 2000 bytes");
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn every_mail_problem_is_reported_at_its_key() {
        let err =
            Config::from_toml("[mail]\ntransport = \"smtp\"\nmax_attempts = 0\nlease = \"1s\"\n")
                .unwrap_err()
                .to_string();
        for key in [
            "mail.from",
            "mail.smtp.host",
            "mail.max_attempts",
            "mail.lease",
        ] {
            assert!(err.contains(key), "{key} missing from {err}");
        }
    }

    #[test]
    fn smtp_settings_parse_without_any_credential_key() {
        let config = Config::from_toml(
            "[mail]\ntransport = \"smtp\"\nfrom = \"Library <noreply@example.org>\"\n\
             [mail.smtp]\nhost = \"mail.example.org\"\nsecurity = \"tls\"\n",
        )
        .unwrap();
        assert_eq!(config.mail.smtp.security.default_port(), 465);
        assert!(Config::from_toml("[mail.smtp]\npassword = \"x\"\n").is_err());
    }
}
