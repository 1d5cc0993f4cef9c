//! What every POST passes before its handler acts: the origin check (an `Origin` header must be
//! the public origin; without one, or with `null`, `Sec-Fetch-Site` must say same-origin or a
//! user's own navigation), constant-time CSRF token comparison, and the per-address log-in limit kept in
//! memory (fixed windows on the injected clock; the per-card limit is in the database, in
//! `accounts`). The address is the TCP peer's: no forwarded-for header is trusted.
//!
//! Uses `clock`; nothing else in the crate.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use axum::http::HeaderMap;
use chrono::{DateTime, Duration, Utc};
use subtle::ConstantTimeEq;

use crate::clock::SharedClock;

/// Whether a POST comes from the site's own pages. Browsers send `Origin: null` for the
/// pages' own forms because of `Referrer-Policy: no-referrer`; then `Sec-Fetch-Site` decides.
pub(crate) fn same_origin(headers: &HeaderMap, origin: &str) -> bool {
    if let Some(sent) = headers.get("origin").filter(|o| o.as_bytes() != b"null") {
        return sent.as_bytes() == origin.as_bytes();
    }
    match headers.get("sec-fetch-site").map(|v| v.as_bytes()) {
        Some(b"same-origin" | b"none") | None => true,
        Some(_) => false,
    }
}

/// Whether a form's CSRF token is the expected one (constant time; an empty one never is).
pub(crate) fn csrf_matches(sent: &str, expected: &str) -> bool {
    !expected.is_empty() && bool::from(sent.as_bytes().ct_eq(expected.as_bytes()))
}

/// Beyond this many remembered addresses, finished windows are forgotten at the next count.
const PRUNE_ABOVE: usize = 10_000;

/// Log-in attempts per client address, in fixed windows.
#[derive(Debug)]
pub(crate) struct AddressLimiter {
    limit: u32,
    window: Duration,
    clock: SharedClock,
    windows: Mutex<HashMap<IpAddr, (DateTime<Utc>, u32)>>,
}

impl AddressLimiter {
    pub(crate) fn new(limit: u32, window: std::time::Duration, clock: SharedClock) -> Self {
        AddressLimiter {
            limit,
            window: Duration::from_std(window).unwrap_or(Duration::minutes(15)),
            clock,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt from `address`; `Err(wait)` when it is over the limit.
    pub(crate) fn count(&self, address: IpAddr) -> Result<(), Duration> {
        let now = self.clock.now();
        // A poisoned lock only means a panic elsewhere; the counts are still usable.
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > PRUNE_ABOVE {
            windows.retain(|_, (start, _)| now - *start < self.window);
        }
        let entry = windows.entry(address).or_insert((now, 0));
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
    use axum::http::HeaderValue;
    use std::sync::Arc;

    #[test]
    fn a_foreign_origin_or_cross_site_fetch_is_refused() {
        let origin = "http://127.0.0.1:8080";
        let mut headers = HeaderMap::new();
        assert!(same_origin(&headers, origin));
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&headers, origin));
        headers.insert("origin", HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&headers, origin));
        headers.insert("origin", HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&headers, origin));
        headers.insert("origin", HeaderValue::from_static("null"));
        assert!(!same_origin(&headers, origin), "null, and cross-site");
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(
            same_origin(&headers, origin),
            "null from the site's own form"
        );
    }

    #[test]
    fn the_address_limit_lifts_when_its_window_ends() {
        let start = DateTime::from_timestamp(1_741_944_600, 0).expect("time");
        let clock = Arc::new(ManualClock::new(start));
        let limiter = AddressLimiter::new(2, std::time::Duration::from_secs(60), clock.clone());
        let address = IpAddr::from([127, 0, 0, 9]);
        assert!(limiter.count(address).is_ok());
        assert!(limiter.count(address).is_ok());
        assert_eq!(limiter.count(address), Err(Duration::seconds(60)));
        clock.advance(Duration::seconds(60));
        assert!(limiter.count(address).is_ok());
    }

    #[test]
    fn an_empty_csrf_token_never_matches() {
        assert!(!csrf_matches("", ""));
        assert!(csrf_matches("ab", "ab"));
        assert!(!csrf_matches("ab", "ac"));
    }
}
