//! The database's health as last seen, so that a 99 costs no query: a probe (the background one
//! in `app`, or an inline one when none ran lately) records whether the database answered, and
//! any query that fails as unavailable turns the answer off-line at once, until a later probe
//! succeeds.
//!
//! Failures are counted where every sqlx error passes (`error.rs`), in one counter per process:
//! a store of the process that fails turns every store of the process off-line until its next
//! probe (at most [`PROBE_INTERVAL`] later). Must not import anything but `error`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often the background probe pings the database.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// A probe older than this is not trusted: the next caller probes inline.
const STALE_AFTER: Duration = Duration::from_secs(2);

/// Queries failed as unavailable in this process, ever.
static UNAVAILABLE: AtomicU64 = AtomicU64::new(0);

/// Counts one query that failed as unavailable (called by `Error::from_sqlx`).
pub(super) fn failed() {
    UNAVAILABLE.fetch_add(1, Ordering::Relaxed);
}

fn failures() -> u64 {
    UNAVAILABLE.load(Ordering::Relaxed)
}

/// What the last probe saw.
#[derive(Debug)]
pub(super) struct Health {
    base: Instant,
    online: AtomicBool,
    /// The failure count when the last successful probe began.
    failures_seen: AtomicU64,
    /// When the last probe finished, in milliseconds since `base` (0: never).
    probed_ms: AtomicU64,
}

impl Health {
    pub(super) fn new() -> Health {
        Health {
            base: Instant::now(),
            online: AtomicBool::new(false),
            failures_seen: AtomicU64::new(0),
            probed_ms: AtomicU64::new(0),
        }
    }

    /// On-line or not, when a probe ran within `STALE_AFTER`; `None` otherwise.
    pub(super) fn known(&self) -> Option<bool> {
        let probed = self.probed_ms.load(Ordering::Acquire);
        let age = self.elapsed_ms().saturating_sub(probed);
        if probed == 0 || age > millis(STALE_AFTER) {
            return None;
        }
        Some(
            self.online.load(Ordering::Acquire)
                && self.failures_seen.load(Ordering::Acquire) == failures(),
        )
    }

    /// The failure count to pass to [`record`](Self::record) when a probe starts.
    pub(super) fn probe_started(&self) -> u64 {
        failures()
    }

    /// Records a probe that started when the count was `failures_before`.
    pub(super) fn record(&self, answered: bool, failures_before: u64) {
        self.failures_seen.store(failures_before, Ordering::Release);
        self.online.store(answered, Ordering::Release);
        self.probed_ms
            .store(self.elapsed_ms().max(1), Ordering::Release);
    }

    fn elapsed_ms(&self) -> u64 {
        millis(self.base.elapsed())
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_query_turns_a_good_probe_off_line_until_the_next_probe() {
        let health = Health::new();
        assert_eq!(health.known(), None, "never probed");
        let before = health.probe_started();
        health.record(true, before);
        assert_eq!(health.known(), Some(true));
        failed();
        assert_eq!(health.known(), Some(false), "flipped at once");
        let before = health.probe_started();
        health.record(true, before);
        assert_eq!(health.known(), Some(true), "back with the next probe");
        health.record(false, health.probe_started());
        assert_eq!(health.known(), Some(false));
    }
}
