//! The session's login state: the 93 login (`Session::login`), the login-free terminal of a
//! source address, and entering a terminal's profile (recorded in the session's span).
//!
//! Decisions come from `auth`; must not parse or frame bytes, and must not log the login
//! password (CO) or any field value other than the terminal's login id and location.

use secrecy::SecretString;
use tracing::{warn, Span};

use super::outcome::{Dispatched, End};
use super::{Access, Session};
use crate::auth::TerminalDecision;
use crate::server::answer::Answer;
use crate::server::terminal::Profile;
use crate::sip2::request::LoginRequest;
use crate::sip2::response::LoginResponse;
use crate::sip2::Response;

impl Session {
    /// Gives the connection a login-free terminal's profile when its address has one.
    pub(super) async fn decide_address(&mut self) {
        match self.shared.auth.terminal_for_address(self.peer.ip()).await {
            Ok(Some(terminal)) => self.enter(Profile::new(terminal)),
            Ok(None) => self.access = Access::NotLoggedIn,
            Err(error) => {
                warn!(%error, "login-free terminal lookup failed; retried at the next request");
                self.access = Access::AddressUndecided;
            }
        }
    }

    pub(super) fn enter(&mut self, profile: Profile) {
        let span = Span::current();
        span.record("terminal", profile.login_id());
        if let Some(location) = profile.location() {
            span.record("location", location);
        }
        self.access = Access::Terminal(profile);
    }

    pub(super) async fn login(&mut self, login: LoginRequest) -> Dispatched {
        let refused = |outcome| Dispatched::answer(Answer::new(login_response(false), outcome));
        // The address block applies to connections opened before it too: no password is checked
        // from a blocked address, so a connection kept open cannot go on guessing.
        if self.shared.limits.is_blocked(self.peer.ip()) {
            let mut dispatched = refused("login_address_blocked");
            dispatched.end = Some(End::AddressBlocked);
            self.access = Access::NotLoggedIn;
            return dispatched;
        }
        // UID and PWD algorithm must be 0 (not encrypted); anything else is a failed login.
        let decision = if login.uid_algorithm == b'0' && login.pwd_algorithm == b'0' {
            let password = SecretString::from(
                String::from_utf8_lossy(login.login_password.expose()).into_owned(),
            );
            let decision = self
                .shared
                .auth
                .login_terminal(&login.login_user_id, &password, self.peer.ip())
                .await;
            Some(decision)
        } else {
            None
        };
        match decision {
            Some(Ok(TerminalDecision::Accepted(terminal))) => {
                self.enter(Profile::new(terminal));
                return Dispatched::answer(Answer::new(login_response(true), "login_accepted"));
            }
            // Could not decide: refused, but not counted against the terminal or the address.
            Some(Ok(TerminalDecision::Busy)) => return refused("login_busy"),
            Some(Err(error)) => {
                warn!(%error, "terminal login could not be checked");
                return refused("login_unavailable");
            }
            Some(Ok(TerminalDecision::Refused(_))) | None => {}
        }
        self.access = Access::NotLoggedIn;
        self.failed_logins += 1;
        let blocked = self.shared.limits.record_login_failure(self.peer.ip());
        let mut dispatched = refused("login_refused");
        if blocked {
            warn!("address blocked after repeated failed logins");
            dispatched.end = Some(End::AddressBlocked);
        } else if self.failed_logins >= self.shared.settings.login_attempts_per_connection {
            dispatched.end = Some(End::LoginAttempts);
        }
        dispatched
    }
}

fn login_response(ok: bool) -> Response {
    Response::LoginResponse(LoginResponse {
        ok,
        extra: Vec::new(),
    })
}
