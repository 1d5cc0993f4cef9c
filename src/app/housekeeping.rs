//! The process's housekeeping task: runs the retention purge (`Accounts::purge_expired`) once at
//! start and then every `audit.purge_interval`, until the shutdown token is cancelled.
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
