//! The session's login state: the 93 login (`Session::login`), the terminal of a client
//! certificate or the login-free terminal of a source address, and entering a terminal's
//! profile (recorded in the session's span).
//!
//! Decisions come from `answer` (which asks `auth`); must not import `auth`, parse or frame
//! bytes, or log the login password (CO) or any field value other than the terminal's login id
//! and location.

use tracing::{warn, Span};

use super::outcome::{Dispatched, End};
use super::{Access, Session};
use crate::auth::{ShownLoginId, TerminalProfile};
use crate::instruments;
use crate::server::answer::{AddressTerminal, Answer, Login};
use crate::server::login_defence::{Admission, Penalty};
use crate::server::outcome::Outcome;
use crate::sip2::request::LoginRequest;
use crate::sip2::response::LoginResponse;
use crate::sip2::Response;

impl Session {
    /// Gives the connection the profile of the terminal it is logged in as without a 93 (by its
    /// client certificate, or a login-free terminal's address), when there is one.
    pub(super) async fn decide_address(&mut self) {
        match self
            .shared
            .answerer
            .terminal_for_connection(&self.peer)
            .await
        {
            AddressTerminal::Found(profile) => {
                self.enter(profile);
                self.by_address = true;
            }
            AddressTerminal::None => self.access = Access::NotLoggedIn,
            AddressTerminal::Undecided => self.access = Access::AddressUndecided,
        }
    }

    pub(super) fn enter(&mut self, profile: TerminalProfile) {
        let span = Span::current();
        span.record("terminal", &profile.login_id);
        if let Some(location) = profile.settings.location_code.as_deref() {
            span.record("location", location);
        }
        self.access = Access::Terminal(profile);
    }

    pub(super) async fn login(&mut self, login: LoginRequest) -> Dispatched {
        let refused = |outcome| Dispatched::answer(Answer::new(login_response(false), outcome));
        let address = self.peer.source.ip();
        let login_id = login.login_user_id.as_bytes();
        // During a penalty nothing is verified: the refusal costs no hashing, and a connection
        // kept open cannot go on guessing.
        if let Admission::Penalised { started } = self.shared.defence.admit(address, login_id) {
            if let Some(penalty) = started {
                warn_penalty(penalty, &login.login_user_id);
                instruments::sip2_login_penalty(penalty.scope.as_str());
            }
            instruments::sip2_login_failure();
            self.access = Access::NotLoggedIn;
            return self.count_failed_login(refused(Outcome::LoginPenalised));
        }
        match self.shared.answerer.login(&login, &self.peer).await {
            Login::Accepted(profile) => {
                self.shared.defence.record_success(address, login_id);
                self.enter(profile);
                self.by_address = false;
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
        self.shared.defence.record_failure(address, login_id);
        instruments::sip2_login_failure();
        self.count_failed_login(refused(Outcome::LoginRefused))
    }

    /// A refused login counts toward this connection's attempts, which end it when used up.
    fn count_failed_login(&mut self, mut dispatched: Dispatched) -> Dispatched {
        self.failed_logins += 1;
        if self.failed_logins >= self.shared.settings.login_attempts_per_connection {
            dispatched.end = Some(End::LoginAttempts);
        }
        dispatched
    }
}

/// One line per penalty: the address is in the session's span; the login id comes from the
/// wire, so it is shown as `auth::ShownLoginId` cuts it (as the audit record keeps it).
fn warn_penalty(penalty: Penalty, login_id: &str) {
    let shown = ShownLoginId::of(login_id);
    warn!(
        scope = penalty.scope.as_str(),
        login_id = %shown.text,
        truncated = shown.truncated,
        penalty_seconds = penalty.length.as_secs(),
        "failed logins: penalty started, logins refused without checking"
    );
}

fn login_response(ok: bool) -> Response {
    Response::LoginResponse(LoginResponse {
        ok,
        extra: Vec::new(),
    })
}
