//! The terminal decisions a session acts on: the 93 login and the login-free terminal of a
//! source address, asked of `auth` and the session's `TerminalProfile` (or why not).
//!
//! Must not log the login password (CO), keep session state, or count failures (the session
//! and `limits` do).

use secrecy::SecretString;
use tracing::warn;

use super::Answerer;
use crate::auth::TerminalDecision;
use crate::auth::TerminalProfile;
use crate::net::Peer;
use crate::sip2::request::LoginRequest;

/// What a 93 decided.
#[derive(Debug)]
pub(crate) enum Login {
    Accepted(TerminalProfile),
    /// Wrong login, password, address, disabled terminal, or an encrypted UID/PWD: a failure.
    Refused,
    /// No hashing slot: refused, but not counted as a failure.
    Busy,
    /// The database could not be asked: refused, but not counted as a failure.
    Unavailable,
}

/// Whether a connection's source address is a login-free terminal's.
#[derive(Debug)]
pub(crate) enum AddressTerminal {
    Found(TerminalProfile),
    None,
    /// The lookup could not be decided (database down); ask again at the next request.
    Undecided,
}

impl Answerer {
    /// The 93: UID and PWD algorithm must be `0` (not encrypted); anything else is refused.
    pub(crate) async fn login(&self, login: &LoginRequest, peer: &Peer) -> Login {
        if login.uid_algorithm != b'0' || login.pwd_algorithm != b'0' {
            return Login::Refused;
        }
        let password =
            SecretString::from(String::from_utf8_lossy(login.login_password.expose()).into_owned());
        let decided = self
            .bounded(
                self.auth
                    .login_terminal(&login.login_user_id, &password, peer),
            )
            .await;
        match decided {
            Some(Ok(TerminalDecision::Accepted(terminal))) => Login::Accepted(terminal),
            Some(Ok(TerminalDecision::Refused(_))) => Login::Refused,
            Some(Ok(TerminalDecision::Busy)) => Login::Busy,
            Some(Err(error)) => {
                warn!(%error, "terminal login could not be checked");
                Login::Unavailable
            }
            None => Login::Unavailable,
        }
    }

    /// The terminal generation; `None` when it could not be read (in time).
    pub(crate) async fn terminal_generation(&self) -> Option<i64> {
        match self.bounded(self.auth.terminal_generation()).await? {
            Ok(generation) => Some(generation),
            Err(error) => {
                tracing::debug!(%error, "terminal generation could not be read");
                None
            }
        }
    }

    /// Every enabled terminal; `None` when they could not be read (in time).
    pub(crate) async fn enabled_terminals(&self) -> Option<Vec<TerminalProfile>> {
        match self.bounded(self.auth.enabled_terminals()).await? {
            Ok(terminals) => Some(terminals),
            Err(error) => {
                warn!(%error, "terminals could not be read; open sessions are checked later");
                None
            }
        }
    }

    /// The terminal `peer` is logged in as without a 93 (its certificate's, or its address's
    /// login-free terminal), if any.
    pub(crate) async fn terminal_for_connection(&self, peer: &Peer) -> AddressTerminal {
        match self.bounded(self.auth.terminal_for_connection(peer)).await {
            Some(Ok(Some(terminal))) => AddressTerminal::Found(terminal),
            Some(Ok(None)) => AddressTerminal::None,
            Some(Err(error)) => {
                warn!(%error, "login-free terminal lookup failed; retried at the next request");
                AddressTerminal::Undecided
            }
            None => AddressTerminal::Undecided,
        }
    }
}
