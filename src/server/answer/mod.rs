//! Request -> Response using authentication decisions: the one place where SIP2 meets `auth`.
//!
//! Owns: routing each request to its answer, end session (36), the answer when the terminal
//! could not be decided, and routing of everything else to `refusal.rs`. By noun, in its
//! children: `service.rs` (the table of what the server answers, which routing reads),
//! `terminal.rs` (what a terminal may send), `login.rs` (the 93 and the
//! login-free terminal of an address, as `auth` decides them), `status.rs` (99 -> 98),
//! `patron_check.rs` (23 -> 24, 63 -> 64), `disclosure.rs` (an `auth` patron decision -> a
//! reply) and `block.rs` (01 -> 24). Session code reaches `auth` only through this module. Must not frame, parse or write bytes (that is `session`), and never verifies a
//! credential itself.
//!
//! Rules (PROTOCOL.md §5.3-5.4, §6), with the choices made where it offers them:
//! - BL and CQ are always explicit, except CQ in a 64 without AD (left out unless
//!   `pin_required`). CQ=Y only when `auth` verified the credential (`Valid`, `DefaultToChange`).
//! - Disclosure: a verified patron gets name, fees and (64, `extensions`) PA/PB/PC; a check with
//!   no credential presented (AD absent or empty) gets the status flags and AF (and name and fees
//!   only at a terminal set `detail_without_pin = full`), no extensions; a presented credential
//!   that failed (wrong, locked, expired default, busy) gets no personal data, no fees and blank
//!   status flags, only BL=Y, CQ=N and the reason in AF. Minimal-detail terminals never get a
//!   name, fees or extensions. A terminal in deny mode gets CQ=N for the restrictions it denies.
//! - Every wait on the database or the hashing pool is bounded (`Answerer::bounded`) below the
//!   timeout advertised in 98; past it the request is answered as if the database were down.
//! - Standing: expired -> 0-3 + `expired` AF (+ PA); blocked -> 0-3; card lost -> 0-4 (or an
//!   unknown patron with `lost_card_as_unknown`); fines over the limit -> 10 (+ BH, BV, CC).
//! - Database unavailable: 98 on-line N; 24/64 answered like an unknown card with the
//!   `unavailable` AF (BL=N, CQ=N); nothing is cached, so the next request retries.
//! - Free text (AE, PC, AF) is sanitised: no `|`, CR, LF, control bytes, and never "BLN".

mod block;
mod disclosure;
mod login;
mod patron_check;
mod relay;
pub(crate) mod service;
mod status;
pub(crate) mod terminal;

use std::future::Future;
use std::time::Duration;

use chrono::Local;

use super::outcome::Outcome;
use super::patron::{self, PatronReply};
use super::refusal::Refusal;
use crate::accounts::Accounts;
use crate::auth::{Authenticator, TerminalProfile};
use crate::clock::SharedClock;
use crate::config::server::{institution_or, SipTimezone};
use crate::config::{Config, MessagesConfig, ServerConfig};
use crate::sip2::request::EndPatronSessionRequest;
use crate::sip2::response::EndSessionResponse;
use crate::sip2::{Request, Response, SipDate};
pub(crate) use login::{AddressTerminal, Login};
use service::Handling;

/// What the terminal-failure budget asks the session to do with this answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Budget {
    Within,
    /// Wait this long before answering (spraying defence).
    Delay(Duration),
    /// Answer, then end the session: the terminal must log in again.
    EndSession,
}

/// A response and how the request went, for the request log line.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) response: Response,
    pub(crate) outcome: Outcome,
    pub(crate) budget: Budget,
    /// The upstream's answer body, sent byte for byte in place of `response`'s encoding
    /// (`response` is that answer parsed); only the trailer is made for the terminal.
    pub(crate) relayed: Option<Vec<u8>>,
}

impl Answer {
    pub(crate) fn new(response: Response, outcome: Outcome) -> Answer {
        Answer {
            response,
            outcome,
            budget: Budget::Within,
            relayed: None,
        }
    }
}

/// Why a request gets its negative answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    /// The server does not perform it (the service table says so).
    NotServed,
    /// This terminal's allowed-message list leaves it out.
    NotAllowed,
}

/// Answers requests for every session of a server.
#[derive(Debug)]
pub(crate) struct Answerer {
    accounts: Accounts,
    auth: Authenticator,
    clock: SharedClock,
    settings: ServerConfig,
    messages: MessagesConfig,
    /// How long a request may wait on the database and the hashing pool (see `decide_within`).
    decide_within: Option<Duration>,
}

/// How long a request may wait on the database and the hashing pool: three quarters of the
/// timeout advertised in 98, so the answer (with a spraying delay and the write) still comes
/// within it. `None` when 98 advertises no timeout (`000` off-line, `999` unknown): the store's
/// own timeouts bound the wait.
fn decide_within(settings: &ServerConfig) -> Option<Duration> {
    match settings.timeout_period {
        0 | 999 => None,
        tenths => Some(Duration::from_millis(u64::from(tenths) * 100 * 3 / 4)),
    }
}

impl Answerer {
    pub(crate) fn new(
        config: &Config,
        accounts: Accounts,
        auth: Authenticator,
        clock: SharedClock,
    ) -> Self {
        Answerer {
            accounts,
            auth,
            clock,
            settings: config.server.clone(),
            messages: config.messages.clone(),
            decide_within: decide_within(&config.server),
        }
    }

    /// `work` (a wait on the database or the hashing pool), or `None` when it did not finish
    /// within `decide_within`: the caller answers as if the database were unavailable.
    pub(crate) async fn bounded<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        let Some(limit) = self.decide_within else {
            return Some(work.await);
        };
        let done = tokio::time::timeout(limit, work).await.ok();
        if done.is_none() {
            tracing::warn!(
                limit_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
                "request not decided in time; answered as unavailable"
            );
        }
        done
    }

    /// The transaction date: now, in local time (four blanks) or UTC (`   Z`).
    pub(crate) fn now(&self) -> SipDate {
        let now = self.clock.now();
        match self.settings.timezone {
            SipTimezone::Utc => SipDate::utc(now.naive_utc()),
            SipTimezone::Local => SipDate::local(now.with_timezone(&Local).naive_local()),
        }
    }

    /// Every request of a terminal other than 93, 99 and 97.
    pub(crate) async fn answer(&self, request: Request, profile: &TerminalProfile) -> Answer {
        // What the server never performs is refused as such, whoever sends it; what it answers
        // is refused only to a terminal whose list leaves it out, saying so.
        let kind = request.kind();
        if service::handling(kind) != Handling::Answered {
            return self.refuse(&request, Some(profile), Refused::NotServed);
        }
        if !terminal::may_send(Some(profile), kind) {
            return self.refuse(&request, Some(profile), Refused::NotAllowed);
        }
        match request {
            Request::PatronStatusRequest(r) => self.patron_status(r, profile).await,
            Request::PatronInformationRequest(r) => self.patron_information(r, profile).await,
            Request::EndPatronSessionRequest(r) => self.end_session(&r, profile),
            Request::BlockPatronRequest(r) => self.block_patron(r, profile).await,
            other => self.refuse(&other, Some(profile), Refused::NotServed),
        }
    }

    /// The answer when the terminal could not be decided (database down at accept).
    pub(crate) fn unavailable(&self, request: &Request) -> Answer {
        let reply = PatronReply::unavailable(&self.messages);
        let date = self.now();
        match request {
            Request::PatronStatusRequest(r) => {
                let ao = self.institution(None, &r.institution_id);
                Answer::new(
                    reply.into_24(r.language, date, &ao, &r.patron_identifier),
                    Outcome::Unavailable,
                )
            }
            Request::PatronInformationRequest(r) => {
                let ao = self.institution(None, &r.institution_id);
                Answer::new(
                    reply.into_64(r.language, date, &ao, &r.patron_identifier),
                    Outcome::Unavailable,
                )
            }
            other => self.refuse(other, None, Refused::NotServed),
        }
    }

    fn end_session(&self, request: &EndPatronSessionRequest, profile: &TerminalProfile) -> Answer {
        let response = EndSessionResponse {
            end_session: true,
            transaction_date: self.now(),
            institution_id: self.institution(Some(profile), &request.institution_id),
            patron_identifier: request.patron_identifier.clone(),
            screen_message: patron::text(&self.messages.end_session),
            print_line: Vec::new(),
            extra: Vec::new(),
        };
        Answer::new(
            Response::EndSessionResponse(response),
            Outcome::SessionEnded,
        )
    }

    /// The negative answer to `request`, saying why.
    fn refuse(&self, request: &Request, profile: Option<&TerminalProfile>, why: Refused) -> Answer {
        let (text, outcome) = match why {
            Refused::NotServed => (&self.messages.circulation_refused, Outcome::Refused),
            Refused::NotAllowed => (&self.messages.message_not_allowed, Outcome::NotAllowed),
        };
        let institution = self.institution(profile, "");
        let refusal = Refusal {
            date: self.now(),
            institution: &institution,
            text,
        };
        Answer::new(refusal.answer(request), outcome)
    }

    /// AO: the request's when given, else the terminal's institution, else the server's.
    fn institution(&self, profile: Option<&TerminalProfile>, requested: &str) -> String {
        let terminal = profile.map(|p| p.settings.institution.as_str());
        let fallback = self.settings.institution_or_default(terminal);
        institution_or(Some(requested), &fallback)
    }
}
