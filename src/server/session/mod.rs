//! One SIP2 connection: framing, error detection (AY/AZ, 96/97, duplicates), the login state and
//! the idle timeout. Turns each frame into at most one response, written in one `write_all`.
//!
//! Owns: `serve`, the per-connection state (who the terminal is, the last response for 97,
//! failed logins on this connection) and the request loop. By noun, in its children:
//! `login.rs` (93 and login-free terminals), `error_detection.rs` (trailer mode, 96, 97,
//! encoding) and `outcome.rs` (what handling a frame produced, why a session ended).
//! Decisions about patrons and terminals come from `answer` (which alone asks `auth`); this
//! module never looks a patron up and must not import `auth`. Must not log frames, field values or parse-error values (they may hold a
//! PIN): only command codes, outcomes and reason codes.
//!
//! Behaviours where PROTOCOL.md offers a choice (per terminal where it says so):
//! - error detection `auto`: a trailer in, a trailer out (AY echoed); `required`: a request
//!   without a trailer gets `96AZFEF6`; `off`: trailers are stripped unchecked and never sent.
//! - a bad checksum gets 96; a known command that does not parse gets 96 (trailer iff the
//!   request had one); an unknown two-digit code is ignored or answered 96 (`unknown_command`).
//! - bytes that cannot start a SIP2 message (a first byte other than a digit after leading
//!   blanks/CR/LF: TLS ClientHello, NUL, binary, HTTP) close the connection at once.
//! - 97 resends the last response byte for byte (96 if nothing was sent); a request with the
//!   same AY and AZ as the previous one gets the last response again without reprocessing.
//! - before a successful 93 only 93, 99 and 97 are answered; anything else closes. A failed 93
//!   also ends an earlier login (including a login-free terminal's profile); 3 failures on one
//!   connection close it; a login refused by the login defence (`login_defence.rs`) is answered
//!   940 without its secret being checked, and counts as one of those failures.
//! - a login that could not be decided (database down, hashing busy) is answered 940 but not
//!   counted as a failure.

mod error_detection;
mod login;
mod outcome;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;
use tracing::{field, info, info_span, warn, Instrument};

use self::outcome::{Dispatched, End, Handled};
use super::answer::{Answer, Budget};
use super::framing::{command_code, ReadError, SessionCodec};
use super::limits::ConnectionPermit;
use super::outcome::Outcome;
use super::Shared;
use crate::auth::{ErrorDetection, TerminalProfile};
use crate::config::server::UnknownCommand;
use crate::instruments;
use crate::sip2::encode::TrailerMode;
use crate::sip2::parse::{self, ParseOptions, Parsed, Trailer};
use crate::sip2::{Charset, Frame, FrameCodec, ParseError, Request};

/// Serves one connection until it ends; logs how it ended, once, in the session's span.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    permit: ConnectionPermit,
    shutdown: CancellationToken,
) {
    let span = info_span!("session", %peer, terminal = field::Empty, location = field::Empty);
    async move {
        let _open = instruments::OpenConnection::new();
        let mut session = Session::new(shared, peer);
        match session.run(stream, &shutdown).await {
            Ok(end) => info!(reason = end.as_str(), "session closed"),
            Err(error) => warn!(%error, "session failed"),
        }
        drop(permit);
    }
    .instrument(span)
    .await;
}

/// Who the connection speaks for.
#[derive(Debug)]
enum Access {
    /// No terminal yet: only 93, 99 and 97 are answered.
    NotLoggedIn,
    /// The login-free lookup for this address could not be decided (database down); retried
    /// at the next request.
    AddressUndecided,
    /// A terminal, by 93 or by a login-free source address.
    Terminal(TerminalProfile),
}

impl Access {
    fn profile(&self) -> Option<&TerminalProfile> {
        match self {
            Access::Terminal(profile) => Some(profile),
            _ => None,
        }
    }
}

struct Session {
    shared: Arc<Shared>,
    peer: SocketAddr,
    access: Access,
    failed_logins: u32,
    last_request: Option<Trailer>,
    last_response: Option<Vec<u8>>,
    /// The terminal this connection is counted as logged in for (metrics).
    logged_in: Option<instruments::LoggedIn>,
}

impl Session {
    fn new(shared: Arc<Shared>, peer: SocketAddr) -> Session {
        Session {
            shared,
            peer,
            access: Access::AddressUndecided,
            failed_logins: 0,
            last_request: None,
            last_response: None,
            logged_in: None,
        }
    }

    async fn run(&mut self, stream: TcpStream, shutdown: &CancellationToken) -> io::Result<End> {
        // Responses are single small writes; do not let Nagle hold them back.
        stream.set_nodelay(true)?;
        self.decide_address().await;
        let (reader, mut writer) = stream.into_split();
        let codec = SessionCodec(FrameCodec::new(self.shared.settings.max_frame_bytes));
        let mut frames = FramedRead::new(reader, codec);
        let idle = self.shared.settings.idle_timeout;
        let write_timeout = self.shared.settings.write_timeout;
        loop {
            if shutdown.is_cancelled() {
                return Ok(End::Shutdown);
            }
            let next = tokio::select! {
                biased;
                next = tokio::time::timeout(idle, frames.next()) => next,
                () = shutdown.cancelled() => return Ok(End::Shutdown),
            };
            let frame = match next {
                Err(_) => return Ok(End::IdleTimeout),
                Ok(None) => return Ok(End::ClientClosed),
                Ok(Some(Err(ReadError::NotSip2))) => return Ok(End::NotSip2),
                Ok(Some(Err(ReadError::Io(error)))) => return Err(error),
                Ok(Some(Ok(Frame::Oversized))) => return Ok(End::Oversized),
                Ok(Some(Ok(Frame::Message(frame)))) => frame,
            };
            let started = Instant::now();
            let handled = self.handle(&frame).await;
            if let Some(reply) = &handled.reply {
                tokio::time::timeout(write_timeout, writer.write_all(reply))
                    .await
                    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "write timed out"))??;
            }
            let took = started.elapsed();
            info!(
                request = %handled.code,
                outcome = handled.outcome.as_str(),
                latency_us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
                "request"
            );
            instruments::sip2_request(&handled.code, handled.outcome.as_str(), took);
            self.count_logged_in();
            if let Some(end) = handled.end {
                // Best effort: the peer may already be gone.
                let _ = writer.shutdown().await;
                return Ok(end);
            }
        }
    }

    fn profile(&self) -> Option<&TerminalProfile> {
        self.access.profile()
    }

    /// Keeps the logged-in count in step with who the connection speaks for now.
    fn count_logged_in(&mut self) {
        let now = self.access.profile().map(|p| p.login_id.as_str());
        if self.logged_in.as_ref().map(instruments::LoggedIn::terminal) != now {
            self.logged_in = now.map(instruments::LoggedIn::new);
        }
    }

    async fn handle(&mut self, frame: &[u8]) -> Handled {
        let code = command_code(frame);
        let mode = self.error_detection();
        let (body, carried_trailer) = parse::unchecked_trailer(frame);
        let input = if mode == ErrorDetection::Off {
            body
        } else {
            frame
        };
        let echo = mode != ErrorDetection::Off && carried_trailer;
        let charset = self.profile().map_or(Charset::Utf8, |p| p.settings.charset);
        let options = ParseOptions {
            charset,
            ..ParseOptions::default()
        };
        let Parsed { message, trailer } = match parse::request(input, &options) {
            Ok(parsed) => parsed,
            Err(ParseError::UnknownCommand { .. }) => {
                return match self.shared.settings.unknown_command {
                    UnknownCommand::Ignore => Handled::silent(code, Outcome::UnknownCommandIgnored),
                    UnknownCommand::Resend => self.ask_resend(code, echo, Outcome::UnknownCommand),
                };
            }
            Err(ParseError::BadChecksum { .. }) => {
                return self.ask_resend(code, true, Outcome::BadChecksum)
            }
            Err(error) => {
                // The reason code only: an error's value may hold part of a PIN.
                tracing::debug!(reason = error.kind().reason_code(), "malformed request");
                return self.ask_resend(code, echo, Outcome::Malformed);
            }
        };
        let trailer = if mode == ErrorDetection::Off {
            None
        } else {
            trailer
        };
        if matches!(message, Request::RequestAcsResend(_)) {
            return self.resend_last(code, trailer.is_some());
        }
        if let (Some(now), Some(before)) = (trailer, self.last_request) {
            if now.sequence.is_some() && now == before {
                if let Some(last) = &self.last_response {
                    return Handled::reply(code, Outcome::DuplicateResent, last.clone());
                }
            }
        }
        if mode == ErrorDetection::Required && trailer.is_none() {
            return self.ask_resend(code, true, Outcome::TrailerRequired);
        }
        let answer = self.dispatch(message).await;
        let Some(Answer {
            response,
            outcome,
            budget,
        }) = answer.answer
        else {
            return Handled::close(
                code,
                answer.outcome,
                answer.end.unwrap_or(End::RequestBeforeLogin),
            );
        };
        // After a 93 the new terminal's setting applies to its 94 too (`off` sends no trailer).
        let mode = match trailer {
            Some(t) if self.error_detection() != ErrorDetection::Off => TrailerMode::Checksum {
                sequence: t.sequence,
            },
            _ => TrailerMode::None,
        };
        if let Budget::Delay(pause) = budget {
            tokio::time::sleep(pause).await;
        }
        let reply = self.encode(&response, mode);
        self.last_request = trailer;
        self.last_response = Some(reply.clone());
        let mut end = answer.end;
        if budget == Budget::EndSession {
            self.access = Access::NotLoggedIn;
            end = Some(End::TerminalBudget);
        }
        Handled {
            code,
            outcome,
            reply: Some(reply),
            end,
        }
    }

    async fn dispatch(&mut self, message: Request) -> Dispatched {
        if let Request::LoginRequest(login) = message {
            return self.login(login).await;
        }
        if matches!(self.access, Access::AddressUndecided) {
            self.decide_address().await;
        }
        let answerer = &self.shared.answerer;
        match (&self.access, message) {
            (access, Request::ScStatusRequest(status)) => {
                Dispatched::answer(answerer.acs_status(access.profile(), &status).await)
            }
            (Access::Terminal(profile), request) => {
                Dispatched::answer(answerer.answer(request, profile).await)
            }
            (Access::AddressUndecided, request) => {
                Dispatched::answer(answerer.unavailable(&request))
            }
            (Access::NotLoggedIn, _) => {
                Dispatched::close(Outcome::RefusedBeforeLogin, End::RequestBeforeLogin)
            }
        }
    }
}
