//! What every POST passes before its handler acts: the origin check (an `Origin` header must be
//! the public origin; without one, or with `null`, `Sec-Fetch-Site` must say same-origin or a
//! user's own navigation), constant-time CSRF token comparison, and the per-address log-in limit kept in
//! memory (a [`WindowLimiter`](crate::http::window_limit::WindowLimiter) on the injected clock;
//! the per-card limit is in the database, in `accounts`). The address is the TCP peer's: no forwarded-for header is trusted.
//!
//! Uses `clock`; nothing else in the crate.

use std::net::IpAddr;

use axum::http::HeaderMap;
use subtle::ConstantTimeEq;

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

/// Log-in attempts per client address, in fixed windows.
pub(crate) type AddressLimiter = crate::http::window_limit::WindowLimiter<IpAddr>;

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

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
    fn an_empty_csrf_token_never_matches() {
        assert!(!csrf_matches("", ""));
        assert!(csrf_matches("ab", "ab"));
        assert!(!csrf_matches("ab", "ac"));
    }
}
