//! `[server.tls]` (the certificate, whether plain text is refused, a TLS-only listener, reload)
//! and `[server.proxy_protocol]` (which peers are load balancers that send a PROXY header).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

use super::problems::Section;

/// `[server.tls]`: TLS on the SIP2 port (told from plain text by the first byte) and, if set,
/// on a TLS-only listener too. Off while `certificate` is unset.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain (the server's own first); relative to the configuration file.
    pub certificate: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of the first certificate.
    pub key: Option<PathBuf>,
    /// Refuse plain-text connections on every listener (per terminal: `--require-tls`).
    pub require: bool,
    /// An extra listener that speaks TLS only (e.g. `0.0.0.0:6443`); none when unset.
    pub listen: Option<SocketAddr>,
    /// How long a TLS handshake may take.
    #[serde(with = "humantime_serde")]
    pub handshake_timeout: Duration,
    /// How often the two files are checked for change (SIGHUP reloads them at once).
    #[serde(with = "humantime_serde")]
    pub reload_check_interval: Duration,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            certificate: None,
            key: None,
            require: false,
            listen: None,
            handshake_timeout: Duration::from_secs(10),
            reload_check_interval: Duration::from_secs(10),
        }
    }
}

impl TlsConfig {
    /// Whether a certificate is configured.
    pub(crate) fn enabled(&self) -> bool {
        self.certificate.is_some()
    }

    pub(super) fn resolve_paths(&mut self, dir: &Path) {
        for path in [&mut self.certificate, &mut self.key].into_iter().flatten() {
            if path.is_relative() {
                *path = dir.join(&*path);
            }
        }
    }

    pub(super) fn validate(&self, at: &mut Section<'_>) {
        match (&self.certificate, &self.key) {
            (Some(_), None) => at.push("key", "must be set with certificate"),
            (None, Some(_)) => at.push("certificate", "must be set with key"),
            _ => {}
        }
        if !self.enabled() {
            if self.require {
                at.push("require", "needs a certificate (server.tls.certificate)");
            }
            if self.listen.is_some() {
                at.push("listen", "needs a certificate (server.tls.certificate)");
            }
        }
        for (key, wait) in [
            ("handshake_timeout", self.handshake_timeout),
            ("reload_check_interval", self.reload_check_interval),
        ] {
            if wait < Duration::from_secs(1) {
                at.push(key, "must be at least 1s");
            }
        }
    }
}

/// `[server.proxy_protocol]`: connections from `trusted` peers must open with a PROXY protocol
/// header (v1 or v2), whose source address then stands for the client everywhere; from any
/// other peer a header is refused.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ProxyProtocolConfig {
    /// Networks of the load balancers (e.g. `["10.0.0.0/8"]`); empty: no PROXY protocol.
    pub trusted: Vec<IpNet>,
    /// How long a trusted peer may take to send its header.
    #[serde(with = "humantime_serde")]
    pub header_timeout: Duration,
}

impl Default for ProxyProtocolConfig {
    fn default() -> Self {
        Self {
            trusted: Vec::new(),
            header_timeout: Duration::from_secs(5),
        }
    }
}

impl ProxyProtocolConfig {
    pub(super) fn validate(&self, at: &mut Section<'_>) {
        if self.header_timeout < Duration::from_secs(1) {
            at.push("header_timeout", "must be at least 1s");
        }
    }
}
