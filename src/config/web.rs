//! `[web]`: the patron web pages (My Account, changing the PIN and the online password): the
//! listener, the public URL every link and origin check is built from, the library's branding,
//! which credential logs in, session lifetimes and the log-in rate limits.
//!
//! Uses nothing else in the crate.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::problems::Section;

/// `[web]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// Serve the patron pages beside SIP2.
    pub enabled: bool,
    /// Address and port of the web listener.
    pub listen: SocketAddr,
    /// The address patrons use (`https://account.example.org`), without a path. Empty: `http://`
    /// and the bound listen address (for a local trial). Links, redirects and the origin check
    /// are built from it, never from the request's Host header.
    pub public_url: String,
    /// Shown in the page header; empty: `server.library_name`.
    pub library_name: String,
    /// An image shown beside the name (a URL on the library's own site); empty: none.
    pub logo_url: String,
    /// Accent colour of the pages, `#rrggbb`.
    pub accent_colour: String,
    /// A paragraph under the log-in form (where to get a card, opening hours …); empty: none.
    pub help_text: String,
    /// The contact line at the foot of every page; empty: none.
    pub contact: String,
    /// Which credential logs in: `pin`, `password` or `either` (a patron without an online
    /// password then uses the PIN).
    pub login_with: WebLogin,
    /// A session unused for this long ends.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// A session ends this long after log-in, however active.
    #[serde(with = "humantime_serde")]
    pub session_lifetime: Duration,
    /// Largest request body accepted (forms are small).
    pub max_body_bytes: usize,
    /// Log-in attempts per card within `login_rate_window` (counted in the database, so the
    /// limit holds across instances); further attempts get 429 until the window ends.
    pub login_attempts_per_card: u32,
    /// Log-in attempts per client address within `login_rate_window` (counted in memory).
    pub login_attempts_per_address: u32,
    #[serde(with = "humantime_serde")]
    pub login_rate_window: Duration,
    /// Show the staff's block reason to a blocked patron on My Account.
    pub show_block_reason: bool,
    /// Patron classes (`patron_class`) that must use two-factor log-in: such a patron without
    /// it is sent to the enrolment page after log-in, and cannot turn it off. Empty: optional
    /// for every patron.
    pub two_factor_required_classes: Vec<String>,
    /// How long the code may take after the PIN or password (the half-done log-in's life).
    #[serde(with = "humantime_serde")]
    pub two_factor_timeout: Duration,
    /// A folder of Fluent catalogues `LANG.ftl` (read at start): each overrides the built-in
    /// messages of its language or adds a language. Empty: none.
    pub locales_dir: PathBuf,
    /// Single messages per language (`[web.texts.es] log-out = "Cerrar sesión"`), over the
    /// catalogues.
    pub texts: BTreeMap<String, BTreeMap<String, String>>,
    /// What a forgotten PIN or password mail carries: `link` (a single-use link to set a new
    /// one) or `temporary_password` (a temporary online password, to change at first log-in).
    pub reset: ResetMode,
    /// What the patron types to ask for a reset: the `card` number or the `email` on file.
    pub reset_lookup: ResetLookupBy,
    /// How long a reset link stays valid.
    #[serde(with = "humantime_serde")]
    pub reset_link_lifetime: Duration,
    /// Reset requests per account within `reset_rate_window` (further ones send nothing).
    pub reset_requests_per_account: u32,
    /// Reset requests per client address within `reset_rate_window` (further ones get 429).
    pub reset_requests_per_address: u32,
    #[serde(with = "humantime_serde")]
    pub reset_rate_window: Duration,
    /// What the reset page says about coming in without an email on file; empty: the
    /// catalogue's sentence (card and photo ID at the library).
    pub reset_in_person_text: String,
}

/// What a reset mail carries.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ResetMode {
    Link,
    TemporaryPassword,
}

/// What a reset request names the account by.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ResetLookupBy {
    Card,
    Email,
}

/// Which credential the web log-in form takes.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum WebLogin {
    Pin,
    Password,
    Either,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: String::new(),
            library_name: String::new(),
            logo_url: String::new(),
            accent_colour: "#1f4e8c".into(),
            help_text: String::new(),
            contact: String::new(),
            login_with: WebLogin::Either,
            idle_timeout: Duration::from_secs(15 * 60),
            session_lifetime: Duration::from_secs(8 * 3600),
            max_body_bytes: 8 * 1024,
            login_attempts_per_card: 10,
            login_attempts_per_address: 60,
            login_rate_window: Duration::from_secs(15 * 60),
            show_block_reason: false,
            two_factor_required_classes: Vec::new(),
            two_factor_timeout: Duration::from_secs(5 * 60),
            locales_dir: PathBuf::new(),
            texts: BTreeMap::new(),
            reset: ResetMode::Link,
            reset_lookup: ResetLookupBy::Card,
            reset_link_lifetime: Duration::from_secs(30 * 60),
            reset_requests_per_account: 3,
            reset_requests_per_address: 20,
            reset_rate_window: Duration::from_secs(3600),
            reset_in_person_text: String::new(),
        }
    }
}

/// Whether `text` is an absolute `http://` or `https://` URL with a host and no path, query or
/// fragment (a trailing `/` is allowed).
fn is_origin_url(text: &str) -> bool {
    let rest = match text.split_once("://") {
        Some(("http" | "https", rest)) => rest.strip_suffix('/').unwrap_or(rest),
        _ => return false,
    };
    !rest.is_empty()
        && !rest.contains(['/', '?', '#', '@'])
        && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
}

impl WebConfig {
    pub(super) fn validate(&self, at: &mut Section<'_>) {
        if !self.public_url.is_empty() && !is_origin_url(&self.public_url) {
            at.push(
                "public_url",
                "must be http:// or https:// and a host (with an optional port), without a path",
            );
        }
        if !self.logo_url.is_empty() && !self.logo_url.starts_with("https://") {
            at.push("logo_url", "must be an https:// URL (or empty)");
        }
        let colour = self.accent_colour.strip_prefix('#').unwrap_or("");
        if colour.len() != 6 || !colour.bytes().all(|b| b.is_ascii_hexdigit()) {
            at.push("accent_colour", "must be a colour written #rrggbb");
        }
        if self.idle_timeout < Duration::from_secs(60) {
            at.push("idle_timeout", "must be at least 1m");
        }
        if self.session_lifetime < self.idle_timeout {
            at.push("session_lifetime", "must be at least idle_timeout");
        }
        if !(1024..=1024 * 1024).contains(&self.max_body_bytes) {
            at.push("max_body_bytes", "must be between 1024 and 1048576");
        }
        if !(Duration::from_secs(30)..=Duration::from_secs(3600)).contains(&self.two_factor_timeout)
        {
            at.push("two_factor_timeout", "must be between 30s and 1h");
        }
        if self.login_attempts_per_card == 0 {
            at.push("login_attempts_per_card", "must be at least 1");
        }
        if self.login_attempts_per_address == 0 {
            at.push("login_attempts_per_address", "must be at least 1");
        }
        if self.login_rate_window < Duration::from_secs(1) {
            at.push("login_rate_window", "must be at least 1s");
        }
        if self.reset_link_lifetime < Duration::from_secs(60)
            || self.reset_link_lifetime > Duration::from_secs(24 * 3600)
        {
            at.push("reset_link_lifetime", "must be between 1m and 24h");
        }
        if self.reset_requests_per_account == 0 {
            at.push("reset_requests_per_account", "must be at least 1");
        }
        if self.reset_requests_per_address == 0 {
            at.push("reset_requests_per_address", "must be at least 1");
        }
        if self.reset_rate_window < Duration::from_secs(1) {
            at.push("reset_rate_window", "must be at least 1s");
        }
        for (language, texts) in &self.texts {
            if language.is_empty()
                || !language
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                at.push(
                    &format!("texts.{language}"),
                    "must be a language tag such as es or zh-Hant",
                );
            }
            for (id, text) in texts {
                let valid_id = id.starts_with(|c: char| c.is_ascii_lowercase())
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                if !valid_id {
                    at.push(
                        &format!("texts.{language}.{id}"),
                        "must be a message id such as log-out",
                    );
                }
                if text.trim().is_empty() || text.chars().any(char::is_control) {
                    at.push(
                        &format!("texts.{language}.{id}"),
                        "must be one line of text, not empty",
                    );
                }
            }
        }
        for (key, text) in [
            ("library_name", &self.library_name),
            ("help_text", &self.help_text),
            ("contact", &self.contact),
            ("reset_in_person_text", &self.reset_in_person_text),
        ] {
            if text.len() > 2000 {
                at.push(key, "must be at most 2000 bytes");
            }
        }
    }

    /// The public URL without a trailing `/`, or `http://` and `bound` when none is configured.
    pub(crate) fn origin(&self, bound: SocketAddr) -> String {
        if self.public_url.is_empty() {
            format!("http://{bound}")
        } else {
            self.public_url.trim_end_matches('/').to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn origin_urls_are_told_apart_from_urls_with_paths() {
        for good in ["https://account.example.org", "http://127.0.0.1:8080/"] {
            assert!(is_origin_url(good), "{good}");
        }
        for bad in [
            "ftp://x",
            "https://",
            "https://x/path",
            "x.org",
            "https://a b",
        ] {
            assert!(!is_origin_url(bad), "{bad}");
        }
    }

    #[test]
    fn every_web_problem_is_reported_at_its_key() {
        let err = Config::from_toml(
            "[web]\npublic_url = \"https://x/y\"\naccent_colour = \"blue\"\nidle_timeout = \"2h\"\n\
             session_lifetime = \"1h\"\nmax_body_bytes = 10\nlogin_with = \"card\"\n",
        )
        .unwrap_err()
        .to_string();
        for key in [
            "web.public_url",
            "web.accent_colour",
            "web.session_lifetime",
            "web.max_body_bytes",
            "web.login_with",
        ] {
            assert!(err.contains(key), "{key} missing from {err}");
        }
    }

    #[test]
    fn the_origin_follows_the_bound_address_without_a_public_url() {
        let mut web = WebConfig::default();
        let bound = SocketAddr::from(([127, 0, 0, 1], 4321));
        assert_eq!(web.origin(bound), "http://127.0.0.1:4321");
        web.public_url = "https://account.example.org/".into();
        assert_eq!(web.origin(bound), "https://account.example.org");
    }
}
