//! Connection limits and the 93 login-failure address block.
//!
//! Owns: the global connection semaphore, the per-source-address connection count, and the
//! in-memory record of failed 93 logins per source address (SECURITY.md §1.2: 5 failures within
//! 15 minutes block the address for 15 minutes). Time comes from the server's clock so tests can
//! move it. Must not import `sip2`, `auth` or `store`: limits know addresses, not messages.
//!
//! The failure record lives in this process only; several instances behind one address each keep
//! their own (the per-patron counters that matter most are kept atomically in the database).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::clock::SharedClock;
use crate::config::ServerConfig;

/// Beyond this many tracked addresses, stale entries are swept on the next failure.
const SWEEP_ABOVE_ADDRESSES: usize = 4096;

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `max_connections` connections are already being served.
    ServerFull,
    /// `max_connections_per_address` connections are already open from this address.
    AddressFull,
    /// The address failed too many 93 logins recently.
    AddressBlocked,
}

impl Refusal {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Refusal::ServerFull => "server_full",
            Refusal::AddressFull => "address_full",
            Refusal::AddressBlocked => "address_blocked",
        }
    }
}

/// Held by a session for its whole life; dropping it frees both slots.
#[derive(Debug)]
pub(crate) struct ConnectionPermit {
    _global: OwnedSemaphorePermit,
    _address: AddressSlot,
}

#[derive(Debug)]
struct AddressSlot {
    address: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = lock(&self.open);
        if let Some(count) = open.get_mut(&self.address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

#[derive(Debug, Default)]
struct FailureRecord {
    failures: VecDeque<DateTime<Utc>>,
    blocked_until: Option<DateTime<Utc>>,
}

/// Global and per-address connection limits plus the login-failure address block.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    global: Arc<Semaphore>,
    per_address: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    failures: Arc<Mutex<HashMap<IpAddr, FailureRecord>>>,
    failures_per_address: usize,
    failure_window: chrono::Duration,
    address_block: chrono::Duration,
    clock: SharedClock,
}

impl Limits {
    pub(crate) fn new(config: &ServerConfig, clock: SharedClock) -> Self {
        Self {
            global: Arc::new(Semaphore::new(config.max_connections)),
            per_address: config.max_connections_per_address,
            open: Arc::default(),
            failures: Arc::default(),
            failures_per_address: usize::try_from(config.login_failures_per_address)
                .unwrap_or(usize::MAX),
            failure_window: to_chrono(config.login_failure_window),
            address_block: to_chrono(config.address_block),
            clock,
        }
    }

    /// Admits a new connection from `address`, or says why not. Never waits.
    pub(crate) fn admit(&self, address: IpAddr) -> Result<ConnectionPermit, Refusal> {
        if self.is_blocked(address) {
            return Err(Refusal::AddressBlocked);
        }
        let global = Arc::clone(&self.global)
            .try_acquire_owned()
            .map_err(|_| Refusal::ServerFull)?;
        {
            let mut open = lock(&self.open);
            let count = open.entry(address).or_insert(0);
            if *count >= self.per_address {
                return Err(Refusal::AddressFull);
            }
            *count += 1;
        }
        Ok(ConnectionPermit {
            _global: global,
            _address: AddressSlot {
                address,
                open: Arc::clone(&self.open),
            },
        })
    }

    /// True while `address` is blocked for failed logins.
    pub(crate) fn is_blocked(&self, address: IpAddr) -> bool {
        let now = self.clock.now();
        let failures = lock(&self.failures);
        failures
            .get(&address)
            .and_then(|record| record.blocked_until)
            .is_some_and(|until| now < until)
    }

    /// Records a failed 93 from `address`; returns true when the address is blocked after it
    /// (by this failure, or by others recorded while this login was being checked).
    pub(crate) fn record_login_failure(&self, address: IpAddr) -> bool {
        let now = self.clock.now();
        let window_start = now - self.failure_window;
        let mut failures = lock(&self.failures);
        if failures.len() > SWEEP_ABOVE_ADDRESSES {
            failures.retain(|_, record| {
                record.blocked_until.is_some_and(|until| now < until)
                    || record.failures.back().is_some_and(|at| *at > window_start)
            });
        }
        let record = failures.entry(address).or_default();
        if record.blocked_until.is_some_and(|until| until <= now) {
            record.blocked_until = None;
        }
        while record
            .failures
            .front()
            .is_some_and(|at| *at <= window_start)
        {
            record.failures.pop_front();
        }
        if record.blocked_until.is_some() {
            return true;
        }
        record.failures.push_back(now);
        if record.failures.len() >= self.failures_per_address {
            record.blocked_until = Some(now + self.address_block);
            record.failures.clear();
            return true;
        }
        false
    }

    /// Connections currently open from `address` (for tests and diagnostics).
    #[cfg(test)]
    fn open_from(&self, address: IpAddr) -> usize {
        lock(&self.open).get(&address).copied().unwrap_or(0)
    }
}

fn to_chrono(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

/// These maps are only touched in short, await-free sections; a poisoned lock means a panic in
/// one of them, and the counts are still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn limits(config: ServerConfig) -> (Limits, Arc<ManualClock>) {
        let start = DateTime::from_timestamp(1_741_944_600, 0).expect("valid timestamp");
        let clock = Arc::new(ManualClock::new(start));
        (Limits::new(&config, clock.clone()), clock)
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn per_address_limit_frees_its_slot_when_the_permit_drops() {
        let (limits, _) = limits(ServerConfig {
            max_connections_per_address: 2,
            ..ServerConfig::default()
        });
        let first = limits.admit(ip(1)).expect("first");
        let _second = limits.admit(ip(1)).expect("second");
        assert_eq!(limits.admit(ip(1)).unwrap_err(), Refusal::AddressFull);
        assert!(
            limits.admit(ip(2)).is_ok(),
            "other addresses are unaffected"
        );
        drop(first);
        assert!(limits.admit(ip(1)).is_ok());
    }

    #[test]
    fn global_limit_counts_every_address() {
        let (limits, _) = limits(ServerConfig {
            max_connections: 2,
            ..ServerConfig::default()
        });
        let _a = limits.admit(ip(1)).expect("a");
        let b = limits.admit(ip(2)).expect("b");
        assert_eq!(limits.admit(ip(3)).unwrap_err(), Refusal::ServerFull);
        assert_eq!(
            limits.open_from(ip(3)),
            0,
            "a refused connection holds no slot"
        );
        drop(b);
        assert!(limits.admit(ip(3)).is_ok());
    }

    #[test]
    fn five_failures_in_the_window_block_the_address_until_the_block_ends() {
        let (limits, clock) = limits(ServerConfig::default());
        for _ in 0..4 {
            assert!(!limits.record_login_failure(ip(1)));
        }
        assert!(limits.admit(ip(1)).is_ok());
        assert!(limits.record_login_failure(ip(1)));
        assert_eq!(limits.admit(ip(1)).unwrap_err(), Refusal::AddressBlocked);
        assert!(limits.admit(ip(2)).is_ok());
        clock.advance(chrono::Duration::minutes(15));
        assert!(limits.admit(ip(1)).is_ok(), "the block lifts on its own");
    }

    #[test]
    fn a_failure_recorded_while_blocked_reports_the_block() {
        let (limits, _) = limits(ServerConfig::default());
        for _ in 0..5 {
            limits.record_login_failure(ip(1));
        }
        assert!(
            limits.record_login_failure(ip(1)),
            "a login checked while the block began still ends its connection"
        );
    }

    #[test]
    fn failures_older_than_the_window_do_not_count() {
        let (limits, clock) = limits(ServerConfig::default());
        for _ in 0..4 {
            limits.record_login_failure(ip(1));
        }
        clock.advance(chrono::Duration::minutes(16));
        assert!(!limits.record_login_failure(ip(1)));
        assert!(!limits.is_blocked(ip(1)));
    }
}
