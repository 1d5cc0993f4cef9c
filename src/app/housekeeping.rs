//! The process's housekeeping tasks: the retention purge (`Accounts::purge_expired`) once at
//! start and then every `audit.purge_interval`, and the database probe every
//! `accounts::DATABASE_PROBE_INTERVAL` (so a 99 reads the database's health without a query), until the
//! shutdown token is cancelled.
//!
//! Owns only the schedule and its log lines (counts at info, a failure at warn). A failed purge
//! is retried at the next tick and never ends the process. Uses `accounts` and `clock`; must not
//! import `store` (the purge rules live in `accounts`) or touch connections.

use std::time::Duration;

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::accounts::Accounts;
use crate::clock::SharedClock;

/// The shortest interval honoured: `tokio::time::interval` refuses zero, and purging more often
/// than this only loads the database.
const MIN_PURGE_INTERVAL: Duration = Duration::from_secs(1);

/// What the purge task needs.
#[derive(Debug)]
pub(crate) struct Housekeeping {
    pub(crate) accounts: Accounts,
    pub(crate) clock: SharedClock,
    pub(crate) purge_interval: Duration,
}

impl Housekeeping {
    /// Purges at once, then at every tick, until `shutdown` is cancelled. A purge in progress
    /// is finished, not cut off.
    pub(crate) async fn run(self, shutdown: CancellationToken) {
        let mut ticks = tokio::time::interval(self.purge_interval.max(MIN_PURGE_INTERVAL));
        // After a long purge (or a suspended host), purge once, not once per missed tick.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                _ = ticks.tick() => self.purge().await,
            }
        }
    }

    /// Probes the database every `DATABASE_PROBE_INTERVAL` until `shutdown` is cancelled; logs
    /// each change of state once.
    pub(crate) async fn probe(accounts: Accounts, shutdown: CancellationToken) {
        let mut was_online = true;
        let mut ticks = tokio::time::interval(crate::accounts::DATABASE_PROBE_INTERVAL);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                _ = ticks.tick() => {
                    let online = accounts.probe_database().await;
                    match (was_online, online) {
                        (true, false) => warn!("database probe failed; status answers off-line"),
                        (false, true) => info!("database probe answered; status answers on-line"),
                        _ => {}
                    }
                    was_online = online;
                }
            }
        }
    }

    async fn purge(&self) {
        match self.accounts.purge_expired(self.clock.now()).await {
            Ok(counts) => info!(
                audit_entries = counts.audit_entries,
                terminal_failures = counts.terminal_failures,
                reset_tokens = counts.reset_tokens,
                web_sessions = counts.web_sessions,
                "expired records purged"
            ),
            Err(error) => {
                warn!(%error, "purge of expired records failed; retried at the next interval")
            }
        }
    }
}
