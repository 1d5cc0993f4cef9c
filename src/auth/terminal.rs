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

use crate::net::Peer;
use secrecy::SecretString;

use super::audit::{AuditAction, AuditOutcome};
use super::authenticator::{secret_bytes, Authenticator};
use super::decision::{TerminalDecision, TerminalRefusal};
use super::hashing::{HashedSecret, Verification};
use super::login_id::ShownLoginId;
use super::pool::Job;
use super::terminal_settings::{Terminal, TerminalProfile};
use super::Result;
use crate::store::StoredHash;

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
            Some(t) if !t.settings.admits_address(peer.source.ip()) => {
                Some(TerminalRefusal::AddressNotAllowed)
            }
            Some(t) => t.settings.transport_refusal(peer),
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
        // A known login id is the stored one; an unknown one is whatever the client sent.
        let shown = match &terminal {
            Some(t) => ShownLoginId::of(&t.login_id),
            None => ShownLoginId::of(login_id),
        };
        tracing::warn!(
            login_id = %shown.text,
            truncated = shown.truncated,
            peer = %peer.source.ip(),
            terminal_id = terminal.as_ref().map(|t| t.id.0),
            reason = refusal.as_str(),
            "terminal login refused"
        );
        self.audit(
            &shown.to_string(),
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
        let found = terminals
            .iter()
            .find(|t| t.settings.admits_without_login(peer));
        if let (None, Some(certificate)) = (found, &peer.client_certificate) {
            tracing::warn!(
                peer = %address,
                fingerprint = %certificate.fingerprint,
                "client certificate matches no terminal allowed here"
            );
        }
        Ok(found.map(Terminal::profile))
    }

    /// The terminal generation, raised by every change open sessions must see.
    pub(crate) async fn terminal_generation(&self) -> Result<i64> {
        Ok(self.inner.store.terminal_generation().await?)
    }

    /// Every enabled terminal, as sessions serve it.
    pub(crate) async fn enabled_terminals(&self) -> Result<Vec<TerminalProfile>> {
        let rows = self.inner.store.list_terminals().await?;
        let mut enabled = Vec::with_capacity(rows.len());
        for row in rows {
            let terminal = Terminal::from_row(row)?;
            if terminal.settings.enabled {
                enabled.push(terminal.profile());
            }
        }
        Ok(enabled)
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
