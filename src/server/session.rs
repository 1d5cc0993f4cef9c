//! One SIP2 connection: framing, error detection (AY/AZ, 96/97, duplicates), the login state and
//! the idle timeout. Turns each frame into at most one response, written in one `write_all`.
//!
//! Owns: `serve` and the per-connection state (who the terminal is, the last response for 97,
//! failed logins on this connection). Decisions about patrons and terminals come from
//! `answer.rs` and `auth`; this file never looks a patron up. Must not log frames, field values or
//! parse-error values (they may hold a PIN): only command codes, outcomes and reason codes.
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
//!   connection close it, and the 93 failure address block closes it at once.
//! - a login that could not be decided (database down, hashing busy) is answered 940 but not
//!   counted as a failure.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use secrecy::SecretString;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;
use tracing::{field, info, info_span, warn, Instrument, Span};

use super::answer::{Answer, Budget};
use super::framing::{command_code, has_trailer, strip_trailer, ReadError, SessionCodec};
use super::limits::ConnectionPermit;
use super::terminal::{terminator_bytes, Profile};
use super::Shared;
use crate::auth::TerminalDecision;
use crate::config::server::UnknownCommand;
use crate::sip2::encode::{self, EncodeOptions, TrailerMode};
use crate::sip2::parse::{self, ParseOptions, Parsed, Trailer};
use crate::sip2::request::LoginRequest;
use crate::sip2::response::{LoginResponse, RequestScResend};
use crate::sip2::{Charset, Frame, FrameCodec, ParseError, Request, Response};
use crate::store::{ErrorDetection, Terminator};

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

/// Why a session ended (logged once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    ClientClosed,
    IdleTimeout,
    Shutdown,
    NotSip2,
    Oversized,
    RequestBeforeLogin,
    LoginAttempts,
    AddressBlocked,
    TerminalBudget,
}

impl End {
    fn as_str(self) -> &'static str {
        match self {
            End::ClientClosed => "client_closed",
            End::IdleTimeout => "idle_timeout",
            End::Shutdown => "shutdown",
            End::NotSip2 => "not_sip2",
            End::Oversized => "frame_too_long",
            End::RequestBeforeLogin => "request_before_login",
            End::LoginAttempts => "login_attempts_exhausted",
            End::AddressBlocked => "address_blocked",
            End::TerminalBudget => "terminal_failure_budget",
        }
    }
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
    Terminal(Profile),
}

/// What handling one frame produced.
struct Handled {
    code: String,
    outcome: &'static str,
    reply: Option<Vec<u8>>,
    end: Option<End>,
}

struct Session {
    shared: Arc<Shared>,
    peer: SocketAddr,
    access: Access,
    failed_logins: u32,
    last_request: Option<Trailer>,
    last_response: Option<Vec<u8>>,
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
                tokio::time::timeout(idle, writer.write_all(reply))
                    .await
                    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "write timed out"))??;
            }
            info!(
                request = %handled.code,
                outcome = handled.outcome,
                latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                "request"
            );
            if let Some(end) = handled.end {
                // Best effort: the peer may already be gone.
                let _ = writer.shutdown().await;
                return Ok(end);
            }
        }
    }

    /// Gives the connection a login-free terminal's profile when its address has one.
    async fn decide_address(&mut self) {
        match self.shared.auth.terminal_for_address(self.peer.ip()).await {
            Ok(Some(terminal)) => self.enter(Profile::new(terminal)),
            Ok(None) => self.access = Access::NotLoggedIn,
            Err(error) => {
                warn!(%error, "login-free terminal lookup failed; retried at the next request");
                self.access = Access::AddressUndecided;
            }
        }
    }

    fn enter(&mut self, profile: Profile) {
        let span = Span::current();
        span.record("terminal", profile.login_id());
        if let Some(location) = profile.location() {
            span.record("location", location);
        }
        self.access = Access::Terminal(profile);
    }

    fn profile(&self) -> Option<&Profile> {
        match &self.access {
            Access::Terminal(profile) => Some(profile),
            _ => None,
        }
    }

    fn error_detection(&self) -> ErrorDetection {
        self.profile()
            .map_or(ErrorDetection::Auto, Profile::error_detection)
    }

    async fn handle(&mut self, frame: &[u8]) -> Handled {
        let code = command_code(frame);
        let mode = self.error_detection();
        let carried_trailer = has_trailer(frame);
        let input = if mode == ErrorDetection::Off {
            strip_trailer(frame)
        } else {
            frame
        };
        let echo = mode != ErrorDetection::Off && carried_trailer;
        let charset = self.profile().map_or(Charset::Utf8, |p| p.charset);
        let options = ParseOptions {
            charset,
            ..ParseOptions::default()
        };
        let Parsed { message, trailer } = match parse::request(input, &options) {
            Ok(parsed) => parsed,
            Err(ParseError::UnknownCommand { .. }) => {
                return match self.shared.settings.unknown_command {
                    UnknownCommand::Ignore => Handled::silent(code, "unknown_command_ignored"),
                    UnknownCommand::Resend => self.ask_resend(code, echo, "unknown_command"),
                };
            }
            Err(ParseError::BadChecksum { .. }) => {
                return self.ask_resend(code, true, "bad_checksum")
            }
            Err(error) => {
                // The reason code only: an error's value may hold part of a PIN.
                tracing::debug!(reason = error.kind().reason_code(), "malformed request");
                return self.ask_resend(code, echo, "malformed");
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
                    return Handled::reply(code, "duplicate_resent", last.clone());
                }
            }
        }
        if mode == ErrorDetection::Required && trailer.is_none() {
            return self.ask_resend(code, true, "trailer_required");
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
                Dispatched::answer(answerer.acs_status(profile_of(access), &status).await)
            }
            (Access::Terminal(profile), request) => {
                Dispatched::answer(answerer.answer(request, profile).await)
            }
            (Access::AddressUndecided, request) => {
                Dispatched::answer(answerer.unavailable(&request))
            }
            (Access::NotLoggedIn, _) => {
                Dispatched::close("refused_before_login", End::RequestBeforeLogin)
            }
        }
    }

    async fn login(&mut self, login: LoginRequest) -> Dispatched {
        let refused = |outcome| Dispatched::answer(Answer::new(login_response(false), outcome));
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

    /// Answers 96, with `AZ` when `checksum` (96 never carries AY), and remembers it for 97.
    fn ask_resend(&mut self, code: String, checksum: bool, outcome: &'static str) -> Handled {
        let mode = if checksum {
            TrailerMode::Checksum { sequence: None }
        } else {
            TrailerMode::None
        };
        let reply = self.encode(
            &Response::RequestScResend(RequestScResend { extra: Vec::new() }),
            mode,
        );
        self.last_request = None;
        self.last_response = Some(reply.clone());
        Handled::reply(code, outcome, reply)
    }

    /// 97: the last response byte for byte, or 96 when nothing was sent yet.
    fn resend_last(&mut self, code: String, checksum: bool) -> Handled {
        match &self.last_response {
            Some(last) => Handled::reply(code, "resent", last.clone()),
            None => self.ask_resend(code, checksum, "nothing_to_resend"),
        }
    }

    fn encode(&self, response: &Response, trailer: TrailerMode) -> Vec<u8> {
        let (charset, terminator) = match self.profile() {
            Some(profile) => (profile.charset, profile.terminator()),
            None => (Charset::Utf8, terminator_bytes(Terminator::Cr)),
        };
        let mut out = encode::response(response, &EncodeOptions { charset, trailer });
        out.extend_from_slice(terminator);
        out
    }
}

/// The outcome of dispatching a parsed request.
struct Dispatched {
    answer: Option<Answer>,
    outcome: &'static str,
    end: Option<End>,
}

impl Dispatched {
    fn answer(answer: Answer) -> Dispatched {
        Dispatched {
            outcome: answer.outcome,
            answer: Some(answer),
            end: None,
        }
    }

    fn close(outcome: &'static str, end: End) -> Dispatched {
        Dispatched {
            answer: None,
            outcome,
            end: Some(end),
        }
    }
}

impl Handled {
    fn silent(code: String, outcome: &'static str) -> Handled {
        Handled {
            code,
            outcome,
            reply: None,
            end: None,
        }
    }

    fn reply(code: String, outcome: &'static str, reply: Vec<u8>) -> Handled {
        Handled {
            code,
            outcome,
            reply: Some(reply),
            end: None,
        }
    }

    fn close(code: String, outcome: &'static str, end: End) -> Handled {
        Handled {
            code,
            outcome,
            reply: None,
            end: Some(end),
        }
    }
}

fn profile_of(access: &Access) -> Option<&Profile> {
    match access {
        Access::Terminal(profile) => Some(profile),
        _ => None,
    }
}

fn login_response(ok: bool) -> Response {
    Response::LoginResponse(LoginResponse {
        ok,
        extra: Vec::new(),
    })
}
