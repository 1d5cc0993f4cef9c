//! Fixed-window counters kept in memory on the injected clock: the web log-in limit per client
//! address, and the admin API's limits per key and per address. One instance's counts; limits
//! that must hold across instances live in the database.
//!
//! Uses `clock`; nothing else in the crate.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::clock::SharedClock;

/// Beyond this many remembered keys, finished windows are forgotten at the next count.
const PRUNE_ABOVE: usize = 10_000;

/// Events per key (a client address, an API key) in fixed windows.
#[derive(Debug)]
pub(crate) struct WindowLimiter<K> {
    limit: u32,
    window: Duration,
    clock: SharedClock,
    windows: Mutex<HashMap<K, (DateTime<Utc>, u32)>>,
}

impl<K: Hash + Eq> WindowLimiter<K> {
    pub(crate) fn new(limit: u32, window: std::time::Duration, clock: SharedClock) -> Self {
        WindowLimiter {
            limit,
            window: Duration::from_std(window).unwrap_or(Duration::minutes(15)),
            clock,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one event of `key`; `Err(wait)` when it is over the limit.
    pub(crate) fn count(&self, key: K) -> Result<(), Duration> {
        let now = self.clock.now();
        // A poisoned lock only means a panic elsewhere; the counts are still usable.
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > PRUNE_ABOVE {
            windows.retain(|_, (start, _)| now - *start < self.window);
        }
        let entry = windows.entry(key).or_insert((now, 0));
        if now - entry.0 >= self.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        if entry.1 > self.limit {
            Err((entry.0 + self.window - now).max(Duration::seconds(1)))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::net::IpAddr;
    use std::sync::Arc;

    #[test]
    fn the_address_limit_lifts_when_its_window_ends() {
        let start = DateTime::from_timestamp(1_741_944_600, 0).expect("time");
        let clock = Arc::new(ManualClock::new(start));
        let limiter = WindowLimiter::new(2, std::time::Duration::from_secs(60), clock.clone());
        let address = IpAddr::from([127, 0, 0, 9]);
        assert!(limiter.count(address).is_ok());
        assert!(limiter.count(address).is_ok());
        assert_eq!(limiter.count(address), Err(Duration::seconds(60)));
        clock.advance(Duration::seconds(60));
        assert!(limiter.count(address).is_ok());
    }
}
