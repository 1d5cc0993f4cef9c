//! The cookies of the patron pages: the session (its value is the session token), the
//! log-in form's CSRF token (double-submit, before there is a session) and the half-done
//! log-in waiting for its two-factor code. All are HttpOnly,
//! SameSite=Lax and Path=/, with no Domain; with an https public URL they are Secure and
//! `__Host-`-prefixed. Browsers refuse `__Host-` and Secure cookies from a plain-http site, so
//! a local trial over http gets the same cookies without the prefix and without Secure.
//!
//! Uses nothing else in the crate.

use axum::http::header::{HeaderMap, COOKIE};
use axum::http::HeaderValue;

/// Which cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cookie {
    Session,
    LoginForm,
    /// A log-in that passed the PIN or password and waits for its code (no session yet).
    HalfLogin,
}

/// How this site writes its cookies.
#[derive(Debug, Clone)]
pub(crate) struct Jar {
    secure: bool,
}

impl Jar {
    pub(crate) fn new(origin: &str) -> Jar {
        Jar {
            secure: origin.starts_with("https://"),
        }
    }

    pub(crate) fn name(&self, cookie: Cookie) -> &'static str {
        match (cookie, self.secure) {
            (Cookie::Session, true) => "__Host-sip2auth-session",
            (Cookie::Session, false) => "sip2auth-session",
            (Cookie::LoginForm, true) => "__Host-sip2auth-login",
            (Cookie::LoginForm, false) => "sip2auth-login",
            (Cookie::HalfLogin, true) => "__Host-sip2auth-code",
            (Cookie::HalfLogin, false) => "sip2auth-code",
        }
    }

    /// The value of `cookie` in the request, if sent.
    pub(crate) fn read<'h>(&self, headers: &'h HeaderMap, cookie: Cookie) -> Option<&'h str> {
        let name = self.name(cookie);
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|line| line.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    }

    /// A `Set-Cookie` value giving `cookie` this value (a browser-session cookie: the server
    /// decides when the session ends).
    pub(crate) fn set(&self, cookie: Cookie, value: &str) -> HeaderValue {
        self.header(cookie, value, "")
    }

    /// A `Set-Cookie` value removing `cookie`.
    pub(crate) fn clear(&self, cookie: Cookie) -> HeaderValue {
        self.header(cookie, "", "; Max-Age=0")
    }

    fn header(&self, cookie: Cookie, value: &str, extra: &str) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let text = format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{extra}",
            self.name(cookie)
        );
        // Names are constants and values are hex tokens: always a valid header value.
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_cookies_are_host_prefixed_and_secure() {
        let jar = Jar::new("https://account.example.org");
        let set = jar.set(Cookie::Session, "ab12");
        assert_eq!(
            set.to_str().expect("ascii"),
            "__Host-sip2auth-session=ab12; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
    }

    #[test]
    fn a_cookie_is_found_among_others() {
        let jar = Jar::new("http://127.0.0.1:8080");
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; sip2auth-session=cafe; b=2"),
        );
        assert_eq!(jar.read(&headers, Cookie::Session), Some("cafe"));
        assert_eq!(jar.read(&headers, Cookie::LoginForm), None);
    }
}
