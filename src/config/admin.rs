//! `[admin]`: the admin listener (health checks, metrics and, later, the admin API): whether it
//! runs, where it listens, and which client addresses it answers.
//!
//! Uses nothing else in the crate.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use serde::Deserialize;

use super::problems::Section;

/// `[admin]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Serve `/healthz`, `/readyz` and `/metrics` beside SIP2.
    pub enabled: bool,
    /// Address and port of the admin listener (keep it off the public network).
    pub listen: SocketAddr,
    /// Client networks the admin listener answers; empty: any address that can reach it.
    pub allowed_cidrs: Vec<IpNet>,
    /// Largest bulk import body (`POST /api/v1/patrons/import`), in bytes.
    pub max_import_bytes: usize,
    /// Requests one API key may make per minute; beyond, 429 until the minute has passed.
    pub requests_per_minute: u32,
    /// Requests with an unknown key one client address may make per minute; beyond, 429 (a
    /// guessing defence; the keys themselves have 256 bits).
    pub unknown_keys_per_minute: u32,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: SocketAddr::from(([127, 0, 0, 1], 9090)),
            allowed_cidrs: Vec::new(),
            max_import_bytes: 64 * 1024 * 1024,
            requests_per_minute: 1200,
            unknown_keys_per_minute: 20,
        }
    }
}

impl AdminConfig {
    pub(super) fn validate(&self, at: &mut Section<'_>, others: &[(&str, SocketAddr)]) {
        if self.requests_per_minute == 0 {
            at.push("requests_per_minute", "must be at least 1");
        }
        if self.unknown_keys_per_minute == 0 {
            at.push("unknown_keys_per_minute", "must be at least 1");
        }
        if !self.enabled || self.listen.port() == 0 {
            return;
        }
        for (key, address) in others {
            if *address == self.listen {
                at.push("listen", format!("must differ from {key} ({address})"));
            }
        }
    }

    /// Whether a client at `address` may use the admin listener. An IPv4 client seen through
    /// an IPv6 socket (`::ffff:a.b.c.d`) is matched as IPv4.
    pub(crate) fn allows(&self, address: IpAddr) -> bool {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        self.allowed_cidrs.is_empty() || self.allowed_cidrs.iter().any(|net| net.contains(&address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn no_networks_allow_every_address_and_a_list_only_its_own() {
        let mut admin = AdminConfig::default();
        let outside: IpAddr = "192.0.2.7".parse().unwrap();
        assert!(admin.allows(outside));
        admin.allowed_cidrs = vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
        assert!(!admin.allows(outside));
        assert!(admin.allows("10.1.2.3".parse().unwrap()));
        assert!(admin.allows("::ffff:10.1.2.3".parse().unwrap()));
        assert!(admin.allows("::1".parse().unwrap()));
    }

    #[test]
    fn the_admin_port_must_not_be_the_sip2_port_and_networks_must_parse() {
        let err = Config::from_toml(
            "[server]\nlisten = \"127.0.0.1:7000\"\n[admin]\nenabled = true\nlisten = \"127.0.0.1:7000\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("admin.listen"), "{err}");
        let err = Config::from_toml("[admin]\nallowed_cidrs = [\"10.0.0.0/33\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("admin.allowed_cidrs"), "{err}");
    }
}
