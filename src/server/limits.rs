//! Connection limits: the global connection semaphore, the per-source-address connection
//! count, and the waiting room of connections not logged in. Failed logins are the login
//! defence's (`login_defence.rs`), not a reason to refuse a connection: a good terminal behind
//! the same address must still get in. Must not import `sip2`, `auth` or `store`: limits know
//! addresses, not messages.
//!
//! Logged-in terminals are never pushed out by connections that hold no credential: a
//! connection's global slot is kept in the waiting room until it logs in, and when the server
//! is full a new connection evicts the oldest one still waiting (its slot is freed at once, and
//! its session ends). Eviction rather than a reserve: a reserve would refuse a real terminal's
//! new connection as soon as the unauthenticated share is full, which is the attack; with
//! eviction an attacker holding every free slot loses the oldest one to each newcomer, and a
//! terminal logs in within one round trip of connecting.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::config::ServerConfig;

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `max_connections` connections are already being served.
    ServerFull,
    /// `max_connections_per_address` connections are already open from this address.
    AddressFull,
}

impl Refusal {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Refusal::ServerFull => "server_full",
            Refusal::AddressFull => "address_full",
        }
    }
}

/// Held by a session for its whole life; dropping it frees both slots.
#[derive(Debug)]
pub(crate) struct ConnectionPermit {
    /// The global slot once logged in; until then the waiting room holds it under `id`.
    global: Option<OwnedSemaphorePermit>,
    id: u64,
    waiting: Arc<Mutex<WaitingRoom>>,
    /// Cancelled when the connection is evicted from the waiting room.
    evicted: CancellationToken,
    _address: AddressSlot,
}

impl ConnectionPermit {
    /// Cancelled when this connection was evicted to admit a newer one.
    pub(crate) fn evicted(&self) -> &CancellationToken {
        &self.evicted
    }

    /// Says whether the connection speaks for a terminal now: a logged-in connection takes its
    /// slot out of the waiting room (it can no longer be evicted); one that lost its login goes
    /// back in, as the youngest.
    pub(crate) fn set_logged_in(&mut self, logged_in: bool) {
        let mut waiting = lock(&self.waiting);
        match (logged_in, self.global.take()) {
            (true, None) => self.global = waiting.entries.remove(&self.id).map(|(slot, _)| slot),
            (false, Some(slot)) => self.id = waiting.enter(slot, self.evicted.clone()),
            (_, kept) => self.global = kept,
        }
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        if self.global.is_none() {
            lock(&self.waiting).entries.remove(&self.id);
        }
    }
}

/// Global slots of connections not logged in, oldest first.
#[derive(Debug, Default)]
struct WaitingRoom {
    next_id: u64,
    entries: BTreeMap<u64, (OwnedSemaphorePermit, CancellationToken)>,
}

impl WaitingRoom {
    fn enter(&mut self, slot: OwnedSemaphorePermit, evicted: CancellationToken) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.entries.insert(id, (slot, evicted));
        id
    }

    /// Frees the oldest waiting connection's slot and tells its session; false if none waits.
    fn evict_oldest(&mut self) -> bool {
        match self.entries.pop_first() {
            Some((_, (slot, evicted))) => {
                evicted.cancel();
                drop(slot);
                true
            }
            None => false,
        }
    }
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

/// Global and per-address connection limits.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    global: Arc<Semaphore>,
    per_address: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    waiting: Arc<Mutex<WaitingRoom>>,
}

impl Limits {
    pub(crate) fn new(config: &ServerConfig) -> Self {
        Self {
            global: Arc::new(Semaphore::new(config.max_connections)),
            per_address: config.max_connections_per_address,
            open: Arc::default(),
            waiting: Arc::default(),
        }
    }

    /// Admits a new connection from `address`, or says why not. Never waits. When the server
    /// is full, the oldest connection not logged in makes room; the new one starts waiting.
    pub(crate) fn admit(&self, address: IpAddr) -> Result<ConnectionPermit, Refusal> {
        let address_slot = self.address_slot(address)?;
        let global = match Arc::clone(&self.global).try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if !lock(&self.waiting).evict_oldest() {
                    return Err(Refusal::ServerFull);
                }
                info!("server full: closed the oldest connection not logged in");
                Arc::clone(&self.global)
                    .try_acquire_owned()
                    .map_err(|_| Refusal::ServerFull)?
            }
        };
        let evicted = CancellationToken::new();
        let id = lock(&self.waiting).enter(global, evicted.clone());
        Ok(ConnectionPermit {
            global: None,
            id,
            waiting: Arc::clone(&self.waiting),
            evicted,
            _address: address_slot,
        })
    }

    fn address_slot(&self, address: IpAddr) -> Result<AddressSlot, Refusal> {
        let mut open = lock(&self.open);
        let count = open.entry(address).or_insert(0);
        if *count >= self.per_address {
            return Err(Refusal::AddressFull);
        }
        *count += 1;
        Ok(AddressSlot {
            address,
            open: Arc::clone(&self.open),
        })
    }

    /// Connections currently open from `address` (for tests and diagnostics).
    #[cfg(test)]
    fn open_from(&self, address: IpAddr) -> usize {
        lock(&self.open).get(&address).copied().unwrap_or(0)
    }
}

/// These maps are only touched in short, await-free sections; a poisoned lock means a panic in
/// one of them, and the counts are still usable.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(config: ServerConfig) -> Limits {
        Limits::new(&config)
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn per_address_limit_frees_its_slot_when_the_permit_drops() {
        let limits = limits(ServerConfig {
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
        let limits = limits(ServerConfig {
            max_connections: 2,
            ..ServerConfig::default()
        });
        let mut a = limits.admit(ip(1)).expect("a");
        let mut b = limits.admit(ip(2)).expect("b");
        a.set_logged_in(true);
        b.set_logged_in(true);
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
    fn a_full_server_evicts_the_oldest_connection_not_logged_in_never_a_terminal() {
        let limits = limits(ServerConfig {
            max_connections: 3,
            ..ServerConfig::default()
        });
        let mut terminal = limits.admit(ip(1)).expect("terminal");
        terminal.set_logged_in(true);
        let oldest = limits.admit(ip(2)).expect("oldest waiting");
        let younger = limits.admit(ip(3)).expect("younger waiting");
        let newcomer = limits.admit(ip(4)).expect("admitted by eviction");
        assert!(oldest.evicted().is_cancelled());
        assert!(!younger.evicted().is_cancelled() && !newcomer.evicted().is_cancelled());
        assert!(!terminal.evicted().is_cancelled());
        drop(oldest);
        // A connection that logs out waits again, as the youngest.
        terminal.set_logged_in(false);
        let _next = limits.admit(ip(5)).expect("admitted by eviction");
        assert!(younger.evicted().is_cancelled());
        assert!(!terminal.evicted().is_cancelled());
    }

    #[test]
    fn logged_in_connections_fill_the_server_without_eviction() {
        let limits = limits(ServerConfig {
            max_connections: 1,
            ..ServerConfig::default()
        });
        let mut terminal = limits.admit(ip(1)).expect("terminal");
        terminal.set_logged_in(true);
        assert_eq!(limits.admit(ip(2)).unwrap_err(), Refusal::ServerFull);
        assert!(!terminal.evicted().is_cancelled());
        drop(terminal);
        assert!(limits.admit(ip(2)).is_ok());
    }
}
