//! The upstream flags of `sip2auth terminal update`: relay a terminal's circulation to the
//! library's own SIP2 server. The upstream password is read from standard input only, sealed
//! before it is stored, and never printed again (`terminal show` says "set").

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::accounts::Error as AccountsError;
use crate::auth::{ErrorDetection, PatronMode, SealedPassword, Terminator, UnknownHere, Upstream};
use crate::net::CertificateAuthority;
use crate::sip2::Charset;

fn parse<T: std::str::FromStr>(text: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    text.parse::<T>().map_err(|e| e.to_string())
}

/// `HOST:PORT`, with a port.
fn address(text: &str) -> Result<String, String> {
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| "give HOST:PORT".to_string())?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err("give HOST:PORT with a port number".into());
    }
    Ok(text.to_owned())
}

#[derive(Debug, Default, Args)]
pub struct UpstreamArgs {
    /// Relay this terminal's circulation to the library's SIP2 server at HOST:PORT.
    #[arg(long, value_name = "HOST:PORT", value_parser = address, conflicts_with = "no_upstream")]
    pub upstream: Option<String>,
    /// Stop relaying: forget the upstream and its password.
    #[arg(long)]
    pub no_upstream: bool,
    /// The login id (CN) sip2auth sends in its 93 to the upstream for this terminal.
    #[arg(long, value_name = "LOGIN")]
    pub upstream_login: Option<String>,
    /// Read the upstream login password (CO) from the first line of standard input.
    #[arg(long)]
    pub upstream_password_stdin: bool,
    /// The upstream location code (CP); an empty value removes it.
    #[arg(long, value_name = "CODE")]
    pub upstream_location: Option<String>,
    /// TLS to the upstream (its certificate is verified): true or false.
    #[arg(long, value_name = "BOOL")]
    pub upstream_tls: Option<bool>,
    /// The CA (a PEM file, stored in the database) the upstream's certificate must chain to.
    #[arg(long, value_name = "FILE")]
    pub upstream_ca: Option<PathBuf>,
    /// The upstream's character set: utf-8, latin-1 or cp850.
    #[arg(long, value_parser = parse::<Charset>)]
    pub upstream_charset: Option<Charset>,
    /// The upstream's message terminator: cr or crlf.
    #[arg(long, value_parser = parse::<Terminator>)]
    pub upstream_terminator: Option<Terminator>,
    /// Error detection towards the upstream: off, auto (trailers sent, checked when present)
    /// or required.
    #[arg(long, value_parser = parse::<ErrorDetection>)]
    pub upstream_error_detection: Option<ErrorDetection>,
    /// 23 and 63 at a relayed terminal: local (this database) or merge (the ILS's fields with
    /// this server's BL, CQ and restriction flags).
    #[arg(long, value_parser = parse::<PatronMode>)]
    pub patron_mode: Option<PatronMode>,
    /// A card unknown here: refuse, or ask_upstream (forwarded as it came, for migration).
    #[arg(long, value_parser = parse::<UnknownHere>)]
    pub unknown_here: Option<UnknownHere>,
    /// Send the patron's PIN on to the upstream after checking it here: true or false.
    #[arg(long, value_name = "BOOL")]
    pub forward_pin: Option<bool>,
    /// How long one upstream exchange may take, e.g. "10s" or "2500ms".
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub upstream_timeout: Option<Duration>,
}

impl UpstreamArgs {
    /// Whether any upstream flag was given.
    fn any(&self) -> bool {
        self.upstream.is_some()
            || self.upstream_login.is_some()
            || self.upstream_password_stdin
            || self.upstream_location.is_some()
            || self.upstream_tls.is_some()
            || self.upstream_ca.is_some()
            || self.upstream_charset.is_some()
            || self.upstream_terminator.is_some()
            || self.upstream_error_detection.is_some()
            || self.patron_mode.is_some()
            || self.unknown_here.is_some()
            || self.forward_pin.is_some()
            || self.upstream_timeout.is_some()
    }

    /// The terminal's upstream after these flags (`current` before them; `password` the new
    /// one, sealed, when `--upstream-password-stdin` was given). Reads the CA file.
    pub(super) fn applied(
        self,
        current: Option<Upstream>,
        password: Option<SealedPassword>,
    ) -> Result<Option<Upstream>, AccountsError> {
        if self.no_upstream {
            return Ok(None);
        }
        if !self.any() {
            return Ok(current);
        }
        let invalid = |what, reason: String| AccountsError::Invalid { what, reason };
        let mut upstream = match (current, &self.upstream, &self.upstream_login) {
            (Some(u), _, _) => u,
            (None, Some(address), Some(login)) => Upstream::new(address.clone(), login.clone()),
            (None, _, _) => {
                return Err(invalid(
                    "--upstream",
                    "a terminal becomes relayed with both --upstream HOST:PORT and \
                     --upstream-login"
                        .into(),
                ))
            }
        };
        if let Some(path) = &self.upstream_ca {
            let pem = std::fs::read_to_string(path)
                .map_err(|e| invalid("--upstream-ca", format!("{}: {e}", path.display())))?;
            CertificateAuthority::from_pem(&pem)
                .map_err(|e| invalid("--upstream-ca", format!("{}: {e}", path.display())))?;
            upstream.ca_pem = Some(pem);
        }
        if let Some(address) = self.upstream {
            upstream.address = address;
        }
        if let Some(login) = self.upstream_login {
            upstream.login = login;
        }
        if password.is_some() {
            upstream.password = password;
        }
        if let Some(location) = self.upstream_location {
            upstream.location = Some(location).filter(|l| !l.is_empty());
        }
        upstream.tls = self.upstream_tls.unwrap_or(upstream.tls);
        upstream.charset = self.upstream_charset.unwrap_or(upstream.charset);
        upstream.terminator = self.upstream_terminator.unwrap_or(upstream.terminator);
        upstream.error_detection = self
            .upstream_error_detection
            .unwrap_or(upstream.error_detection);
        upstream.patron_mode = self.patron_mode.unwrap_or(upstream.patron_mode);
        upstream.unknown_here = self.unknown_here.unwrap_or(upstream.unknown_here);
        upstream.forward_pin = self.forward_pin.unwrap_or(upstream.forward_pin);
        upstream.timeout = self.upstream_timeout.unwrap_or(upstream.timeout);
        check(&upstream)?;
        Ok(Some(upstream))
    }
}

/// Settings that cannot work together.
fn check(upstream: &Upstream) -> Result<(), AccountsError> {
    let invalid = |what, reason: &str| {
        Err(AccountsError::Invalid {
            what,
            reason: reason.into(),
        })
    };
    if upstream.login.is_empty() || upstream.login.contains('|') {
        return invalid("--upstream-login", "give a non-empty login id without |");
    }
    if upstream.ca_pem.is_some() && !upstream.tls {
        return invalid("--upstream-ca", "a CA file needs --upstream-tls true");
    }
    if upstream.timeout < Duration::from_millis(100) || upstream.timeout > Duration::from_secs(60) {
        return invalid("--upstream-timeout", "give between 100ms and 60s");
    }
    Ok(())
}

/// The facts `terminal show` prints about an upstream (never its password, only "set").
pub(super) fn facts(upstream: Option<&Upstream>) -> Vec<(&'static str, String)> {
    let Some(u) = upstream else {
        return vec![("upstream", "none (not relayed)".into())];
    };
    vec![
        (
            "upstream",
            format!("{}{}", u.address, if u.tls { " (TLS)" } else { "" }),
        ),
        ("upstream login", u.login.clone()),
        (
            "upstream password",
            if u.password.is_some() { "set" } else { "none" }.into(),
        ),
        (
            "upstream location",
            u.location.clone().unwrap_or_else(|| "-".into()),
        ),
        (
            "upstream CA",
            if u.ca_pem.is_some() {
                "from file"
            } else {
                "web roots"
            }
            .into(),
        ),
        (
            "upstream link",
            format!("{} {} {}", u.charset, u.terminator, u.error_detection),
        ),
        ("patron mode", u.patron_mode.to_string()),
        ("unknown here", u.unknown_here.to_string()),
        (
            "forward PIN",
            if u.forward_pin { "yes" } else { "no" }.into(),
        ),
        (
            "upstream timeout",
            humantime::format_duration(u.timeout).to_string(),
        ),
    ]
}
