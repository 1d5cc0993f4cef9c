//! Connection limits: the global connection semaphore and the per-source-address connection
//! count. Failed logins are the login defence's (`login_defence.rs`), not a reason to refuse a
//! connection: a good terminal behind the same address must still get in. Must not import
//! `sip2`, `auth` or `store`: limits know addresses, not messages.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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

/// Global and per-address connection limits.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    global: Arc<Semaphore>,
    per_address: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Limits {
    pub(crate) fn new(config: &ServerConfig) -> Self {
        Self {
            global: Arc::new(Semaphore::new(config.max_connections)),
            per_address: config.max_connections_per_address,
            open: Arc::default(),
        }
    }

    /// Admits a new connection from `address`, or says why not. Never waits.
    pub(crate) fn admit(&self, address: IpAddr) -> Result<ConnectionPermit, Refusal> {
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
}
