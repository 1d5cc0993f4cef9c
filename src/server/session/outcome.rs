//! What handling one frame produced (`Handled`), what dispatching a parsed request produced
//! (`Dispatched`), and why a session ended (`End`, logged once).
//!
//! Plain values: must not import `sip2`, `auth`, the network or the clock. How a request went
//! is an [`Outcome`](crate::server::outcome::Outcome), named in one table.

use crate::server::answer::Answer;
use crate::server::outcome::Outcome;

/// Why a session ended (logged once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    ClientClosed,
    IdleTimeout,
    Shutdown,
    NotSip2,
    Oversized,
    RequestBeforeLogin,
    LoginAttempts,
    TerminalBudget,
    /// Not logged in by `server.login_deadline`.
    LoginDeadline,
    /// Not logged in, and the oldest such connection when the server was full.
    Evicted,
    /// The terminal was disabled, removed, or no longer admits this connection.
    TerminalWithdrawn,
}

impl End {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            End::ClientClosed => "client_closed",
            End::IdleTimeout => "idle_timeout",
            End::Shutdown => "shutdown",
            End::NotSip2 => "not_sip2",
            End::Oversized => "frame_too_long",
            End::RequestBeforeLogin => "request_before_login",
            End::LoginAttempts => "login_attempts_exhausted",
            End::TerminalBudget => "terminal_failure_budget",
            End::LoginDeadline => "login_deadline",
            End::Evicted => "evicted_before_login",
            End::TerminalWithdrawn => "terminal_withdrawn",
        }
    }
}

/// What handling one frame produced.
pub(super) struct Handled {
    pub(super) code: String,
    pub(super) outcome: Outcome,
    pub(super) reply: Option<Vec<u8>>,
    pub(super) end: Option<End>,
}

/// The outcome of dispatching a parsed request.
pub(super) struct Dispatched {
    pub(super) answer: Option<Answer>,
    pub(super) outcome: Outcome,
    pub(super) end: Option<End>,
}

impl Dispatched {
    pub(super) fn answer(answer: Answer) -> Dispatched {
        Dispatched {
            outcome: answer.outcome,
            answer: Some(answer),
            end: None,
        }
    }

    pub(super) fn close(outcome: Outcome, end: End) -> Dispatched {
        Dispatched {
            answer: None,
            outcome,
            end: Some(end),
        }
    }
}

impl Handled {
    pub(super) fn silent(code: String, outcome: Outcome) -> Handled {
        Handled {
            code,
            outcome,
            reply: None,
            end: None,
        }
    }

    pub(super) fn reply(code: String, outcome: Outcome, reply: Vec<u8>) -> Handled {
        Handled {
            code,
            outcome,
            reply: Some(reply),
            end: None,
        }
    }

    pub(super) fn close(code: String, outcome: Outcome, end: End) -> Handled {
        Handled {
            code,
            outcome,
            reply: None,
            end: Some(end),
        }
    }
}
