//! Terminal checks: the SIP2 login (login id, password, source address, transport), login-free
//! terminals recognised by address, and terminals logged in by their client certificate. A
//! terminal that requires TLS is refused over plain text; a terminal bound to a certificate is
//! refused without it, and a connection that shows a certificate is refused as every terminal
//! not bound to it (a certificate that matches no terminal gets nothing). Every refusal costs one argon2 verification (against the dummy hash when
//! there is nothing real to verify) and is answered the same way, so neither timing nor answer
//! tells which part was wrong.
//!
//! Uses `store` (rows, read through `terminal_settings`) and `config`; must not import `server`
//! or `accounts`.

use std::net::IpAddr;

use crate::net::Peer;
use secrecy::SecretString;

use super::audit::{AuditAction, AuditOutcome};
use super::authenticator::{secret_bytes, Authenticator};
use super::decision::{TerminalDecision, TerminalRefusal};
use super::hashing::{HashedSecret, Verification};
use super::pool::Job;
use super::terminal_settings::{CertificateLogin, Terminal, TerminalProfile};
use super::Result;
use crate::store::StoredHash;

/// Whether `peer` may connect as `terminal` (an empty allowlist admits any address).
fn address_allowed(terminal: &Terminal, peer: IpAddr) -> bool {
    let cidrs = &terminal.settings.allowed_cidrs;
    cidrs.is_empty() || cidrs.iter().any(|net| net.contains(&peer))
}

/// Why `peer`'s transport does not suit `terminal`, if it does not.
fn transport_refusal(terminal: &Terminal, peer: &Peer) -> Option<TerminalRefusal> {
    let settings = &terminal.settings;
    if settings.require_tls && !peer.tls {
        return Some(TerminalRefusal::TlsRequired);
    }
    let fits = match (&settings.client_certificate, &peer.client_certificate) {
        (None, None) => true,
        (Some(binding), Some(certificate)) => binding.matches(certificate),
        _ => false,
    };
    (!fits).then_some(TerminalRefusal::CertificateMismatch)
}

impl Authenticator {
    /// The SIP2 login (93): login id and password from `peer`.
    pub async fn login_terminal(
        &self,
        login_id: &str,
        password: &SecretString,
        peer: &Peer,
    ) -> Result<TerminalDecision> {
        let Ok(slot) = self.inner.pool.acquire().await else {
            return Ok(TerminalDecision::Busy);
        };
        let terminal = self
            .inner
            .store
            .terminal_by_login(login_id)
            .await?
            .map(Terminal::from_row)
            .transpose()?;
        let refusal = match &terminal {
            None => Some(TerminalRefusal::UnknownLogin),
            Some(t) if t.password.is_none() => Some(TerminalRefusal::UnknownLogin),
            Some(t) if !t.settings.enabled => Some(TerminalRefusal::Disabled),
            Some(t) if !address_allowed(t, peer.source.ip()) => {
                Some(TerminalRefusal::AddressNotAllowed)
            }
            Some(t) => transport_refusal(t, peer),
        };
        let hasher = self.inner.hasher.clone();
        let secret = secret_bytes(password);
        let stored = terminal.as_ref().and_then(|t| t.password.clone());
        let verification = match (refusal, stored) {
            (None, Some(stored)) => {
                let stored = HashedSecret::from(stored);
                let checked = stored.clone();
                let outcome = slot
                    .run(Job::Verify, move || hasher.verify(&checked, &secret))
                    .await;
                Some((outcome, stored))
            }
            _ => {
                slot.run(Job::DummyVerify, move || hasher.verify_dummy(&secret))
                    .await;
                None
            }
        };
        let (refusal, terminal) = match (verification, terminal) {
            (Some((Verification::Match, stored)), Some(terminal)) => {
                self.rehash_terminal(&terminal, &stored, password).await?;
                return Ok(TerminalDecision::Accepted(terminal.profile()));
            }
            (_, terminal) => (refusal.unwrap_or(TerminalRefusal::WrongPassword), terminal),
        };
        tracing::warn!(
            login_id,
            peer = %peer.source.ip(),
            terminal_id = terminal.as_ref().map(|t| t.id.0),
            reason = refusal.as_str(),
            "terminal login refused"
        );
        self.audit(
            login_id,
            None,
            AuditAction::TerminalLogin,
            AuditOutcome::Refused,
            Some(refusal.as_str()),
        )
        .await?;
        Ok(TerminalDecision::Refused(refusal))
    }

    /// The terminal a connection is logged in as without a 93: the terminal whose certificate
    /// binding the client's certificate matches (with `skip-93`), or without a certificate the
    /// login-free terminal whose allowlist contains the source address. Either must be enabled,
    /// allow the address and suit the transport.
    pub async fn terminal_for_connection(&self, peer: &Peer) -> Result<Option<TerminalProfile>> {
        let terminals = self.inner.store.list_terminals().await?;
        let terminals = terminals
            .into_iter()
            .map(Terminal::from_row)
            .collect::<crate::store::Result<Vec<_>>>()?;
        let address = peer.source.ip();
        let admitted = |t: &&Terminal| {
            t.settings.enabled
                && address_allowed(t, address)
                && transport_refusal(t, peer).is_none()
        };
        let found = match &peer.client_certificate {
            Some(certificate) => {
                let bound = terminals
                    .iter()
                    .filter(|t| t.settings.client_certificate.is_some())
                    .find(admitted);
                if bound.is_none() {
                    tracing::warn!(
                        peer = %address,
                        fingerprint = %certificate.fingerprint,
                        "client certificate matches no terminal allowed here"
                    );
                }
                bound.filter(|t| t.settings.certificate_login == CertificateLogin::Skip93)
            }
            None => terminals
                .iter()
                .filter(|t| t.settings.login_optional && !t.settings.allowed_cidrs.is_empty())
                .find(admitted),
        };
        Ok(found.map(Terminal::profile))
    }

    /// After a correct login: re-hash a terminal password made with old parameters or key.
    async fn rehash_terminal(
        &self,
        terminal: &Terminal,
        stored: &HashedSecret,
        password: &SecretString,
    ) -> Result<()> {
        if !self.inner.hasher.needs_rehash(stored) {
            return Ok(());
        }
        let hasher = self.inner.hasher.clone();
        let secret = secret_bytes(password);
        let Ok(fresh) = self
            .inner
            .pool
            .run(Job::Hash, move || hasher.hash(&secret))
            .await
        else {
            return Ok(()); // Busy: try again at the next login.
        };
        let stored = StoredHash::from(fresh?);
        self.inner
            .store
            .set_terminal_password_hash(terminal.id, Some(&stored))
            .await?;
        Ok(())
    }
}
