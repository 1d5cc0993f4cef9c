//! One SIP2 connection: framing, error detection (AY/AZ, 96/97, duplicates), the login state and
//! the idle timeout. Turns each frame into at most one response, written in one `write_all`.
//!
//! Owns: `serve`, the per-connection state (who the terminal is, the last response for 97,
//! failed logins on this connection) and the request loop. By noun, in its children:
//! `login.rs` (93 and login-free terminals), `wait.rs` (the wait for the next frame, and the
//! drain at shutdown), `error_detection.rs` (trailer mode, 96, 97, encoding) and `outcome.rs` (what handling a frame produced, why a session ended).
//! Decisions about patrons and terminals come from `answer` (which alone asks `auth`); this
//! module never looks a patron up and must not import `auth` decisions (it serves the
//! `auth::TerminalProfile` it is given). Must not log frames, field values or parse-error values
//! (they may hold a PIN): only command codes, outcomes and reason codes.
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
//! - a connection that is not a terminal `server.login_deadline` after it was accepted (or after
//!   a failed 93 ended its login) is closed, whatever it sends; until it logs in it may be evicted
//!   (`limits.rs`) to admit a newer one.
//! - a logged-in session follows its terminal as `terminal_watch.rs` publishes it: withdrawn
//!   (disabled, removed, address no longer admitted), it closes without answering more; changed,
//!   its new settings apply to the next request.
//! - on shutdown, every complete request already read is answered (the one in flight, then
//!   those buffered behind it); nothing more is read, then the connection closes.

mod error_detection;
mod login;
mod outcome;
mod wait;

use std::io;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, WriteHalf};
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;
use tracing::{debug, field, info, info_span, warn, Instrument};

use self::outcome::{Dispatched, End, Handled};
use self::wait::Next;
use super::answer::{Answer, Budget};
use super::framing::{command_code, SessionCodec};
use super::limits::ConnectionPermit;
use super::outcome::Outcome;
use super::relay::Relay;
use super::terminal_watch::{self, Followed, Published};
use super::Shared;
use crate::auth::{ErrorDetection, TerminalProfile};
use crate::config::server::UnknownCommand;
use crate::instruments;
use crate::net::Peer;
use crate::sip2::encode::TrailerMode;
use crate::sip2::parse::{self, ParseOptions, Parsed, Trailer};
use crate::sip2::{Charset, FrameCodec, ParseError, Request};

/// Serves one connection (plain or TLS, from `peer`) until it ends; logs how it ended, once, in
/// the session's span.
pub(crate) async fn serve<S>(
    shared: Arc<Shared>,
    stream: S,
    peer: Peer,
    permit: ConnectionPermit,
    shutdown: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let span = info_span!(
        "session",
        peer = %peer.source,
        tls = peer.tls,
        terminal = field::Empty,
        location = field::Empty
    );
    async move {
        let _open = instruments::OpenConnection::new();
        let mut session = Session::new(shared, peer, permit);
        match session.run(stream, &shutdown).await {
            Ok(end) => info!(reason = end.as_str(), "session closed"),
            Err(error) => warn!(%error, "session failed"),
        }
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
    peer: Peer,
    access: Access,
    /// The terminal was entered by the connection's source address, not by a 93.
    by_address: bool,
    /// The connection's slots; it can be evicted while not logged in.
    permit: ConnectionPermit,
    failed_logins: u32,
    last_request: Option<Trailer>,
    last_response: Option<Vec<u8>>,
    /// The terminal this connection is counted as logged in for (metrics).
    logged_in: Option<instruments::LoggedIn>,
    /// The upstream link of a relayed terminal (opened when first needed, closed with the
    /// session).
    relay: Relay,
}

impl Session {
    fn new(shared: Arc<Shared>, peer: Peer, permit: ConnectionPermit) -> Session {
        Session {
            shared,
            peer,
            access: Access::AddressUndecided,
            by_address: false,
            permit,
            failed_logins: 0,
            last_request: None,
            last_response: None,
            logged_in: None,
            relay: Relay::default(),
        }
    }

    async fn run<S>(&mut self, stream: S, shutdown: &CancellationToken) -> io::Result<End>
    where
        S: AsyncRead + AsyncWrite,
    {
        let deadline = self.shared.settings.login_deadline;
        let mut login_by = tokio::time::Instant::now() + deadline;
        let mut terminals = self.shared.terminals.subscribe();
        self.decide_address().await;
        self.permit.set_logged_in(self.profile().is_some());
        let (reader, mut writer) = tokio::io::split(stream);
        let codec = SessionCodec(FrameCodec::new(self.shared.settings.max_frame_bytes));
        let mut frames = FramedRead::new(reader, codec);
        loop {
            let frame = match self
                .next(&mut frames, &mut terminals, login_by, shutdown)
                .await?
            {
                Next::Frame(frame) => frame,
                Next::End(end) => return Ok(end),
                Next::Drain => return self.drain(&mut frames, &mut writer).await,
                Next::TerminalsChanged => {
                    if self.follow_terminal(&terminals.borrow_and_update()) {
                        return Ok(End::TerminalWithdrawn);
                    }
                    continue;
                }
            };
            // A withdrawn terminal's next request gets nothing.
            if terminals.has_changed().unwrap_or(false)
                && self.follow_terminal(&terminals.borrow_and_update())
            {
                return Ok(End::TerminalWithdrawn);
            }
            let was_terminal = self.profile().is_some();
            if let Some(end) = self.respond(&frame, &mut writer).await? {
                return Ok(end);
            }
            match (was_terminal, self.profile().is_some()) {
                // Just admitted from the database itself: what was published before is older.
                (false, true) => {
                    terminals.borrow_and_update();
                }
                // A failed 93 ended the login: a new deadline for the next one.
                (true, false) => login_by = tokio::time::Instant::now() + deadline,
                _ => {}
            }
        }
    }

    /// Answers one frame and logs the request; `Some` when the session ends after it.
    async fn respond<S: AsyncWrite>(
        &mut self,
        frame: &[u8],
        writer: &mut WriteHalf<S>,
    ) -> io::Result<Option<End>> {
        let started = Instant::now();
        let handled = self.handle(frame).await;
        self.permit.set_logged_in(self.profile().is_some());
        if let Some(reply) = &handled.reply {
            let write_timeout = self.shared.settings.write_timeout;
            // Flushed: inside TLS a write may wait in the record layer.
            let written = async {
                writer.write_all(reply).await?;
                writer.flush().await
            };
            tokio::time::timeout(write_timeout, written)
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "write timed out"))??;
        }
        let took = started.elapsed();
        // At DEBUG: a line per request costs more than the request at INFO; the metrics below
        // count every request by command and outcome, and security events log on their own.
        debug!(
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
            return Ok(Some(end));
        }
        Ok(None)
    }

    /// Serves this session's terminal as published; true when it was withdrawn.
    fn follow_terminal(&mut self, published: &Published) -> bool {
        let (Some(live), Access::Terminal(profile)) = (published.as_deref(), &mut self.access)
        else {
            return false;
        };
        match terminal_watch::follow(live, profile, &self.peer, self.by_address) {
            Followed::Current(current) => {
                *profile = current;
                false
            }
            Followed::Withdrawn => true,
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
        let answer = self.dispatch(message, body).await;
        let Some(Answer {
            response,
            outcome,
            budget,
            relayed,
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
        let reply = match relayed {
            Some(body) => self.encode_relayed(&body, mode),
            None => self.encode(&response, mode),
        };
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

    async fn dispatch(&mut self, message: Request, body: &[u8]) -> Dispatched {
        if let Request::LoginRequest(login) = message {
            return self.login(login).await;
        }
        if matches!(self.access, Access::AddressUndecided) {
            self.decide_address().await;
        }
        let answerer = &self.shared.answerer;
        match (&self.access, message) {
            (Access::Terminal(profile), request) if profile.settings.upstream.is_some() => {
                let settings = profile.settings.clone();
                // Invariant: matched on `is_some` just above.
                let upstream = settings.upstream.as_ref().expect("a relayed terminal");
                let answer = answerer
                    .relayed(request, body, profile, upstream, &mut self.relay)
                    .await;
                Dispatched::answer(answer)
            }
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
