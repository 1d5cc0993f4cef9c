//! The session's login state: the 93 login (`Session::login`), the login-free terminal of a
//! source address, and entering a terminal's profile (recorded in the session's span).
//!
//! Decisions come from `answer` (which asks `auth`); must not import `auth`, parse or frame
//! bytes, or log the login password (CO) or any field value other than the terminal's login id
//! and location.

use tracing::{warn, Span};

use super::outcome::{Dispatched, End};
use super::{Access, Session};
use crate::server::answer::{AddressTerminal, Answer, Login, Profile};
use crate::server::outcome::Outcome;
use crate::sip2::request::LoginRequest;
use crate::sip2::response::LoginResponse;
use crate::sip2::Response;

impl Session {
    /// Gives the connection a login-free terminal's profile when its address has one.
    pub(super) async fn decide_address(&mut self) {
        match self
            .shared
            .answerer
            .terminal_for_address(self.peer.ip())
            .await
        {
            AddressTerminal::Found(profile) => self.enter(profile),
            AddressTerminal::None => self.access = Access::NotLoggedIn,
            AddressTerminal::Undecided => self.access = Access::AddressUndecided,
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
            let mut dispatched = refused(Outcome::LoginAddressBlocked);
            dispatched.end = Some(End::AddressBlocked);
            self.access = Access::NotLoggedIn;
            return dispatched;
        }
        match self.shared.answerer.login(&login, self.peer.ip()).await {
            Login::Accepted(profile) => {
                self.enter(profile);
                return Dispatched::answer(Answer::new(
                    login_response(true),
                    Outcome::LoginAccepted,
                ));
            }
            // Could not decide: refused, but not counted against the terminal or the address.
            Login::Busy => return refused(Outcome::LoginBusy),
            Login::Unavailable => return refused(Outcome::LoginUnavailable),
            Login::Refused => {}
        }
        self.access = Access::NotLoggedIn;
        self.failed_logins += 1;
        let blocked = self.shared.limits.record_login_failure(self.peer.ip());
        let mut dispatched = refused(Outcome::LoginRefused);
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
