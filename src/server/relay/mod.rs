//! The SIP2 relay: a relayed terminal's circulation goes to the library's own SIP2 server (the
//! upstream ILS) over one upstream connection per downstream session, and its answers come
//! back. Authentication, PIN rules, lockout and the decisions about what is forwarded are made
//! in `answer/relay.rs`; this module only moves bytes to and from the upstream.
//!
//! Owns: [`Relay`] (a session's handle on its upstream link, opened when first needed and
//! replaced when the terminal's upstream settings change), [`RelayError`]. By noun, in its
//! children: `link.rs` (the task owning the connection: keep-alive, reconnect, backoff,
//! timeouts), `connection.rs` (TCP/TLS, the relay's 93, exchanges with the upstream's own
//! trailers and 96) and `frame.rs` (taking the PIN and terminal secret out, trailers on the
//! upstream side, charsets). Must not log message bodies or secrets.

mod connection;
pub(crate) mod frame;
mod link;

use tokio::sync::{mpsc, oneshot};
use zeroize::Zeroizing;

pub(crate) use connection::ConnectError;
use link::Job;

use crate::auth::{upstream, SealPurpose, Sealer, TerminalProfile, Upstream};
use crate::sip2::response::AcsStatusResponse;

/// Why a forwarded message got no upstream answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RelayError {
    #[error("no answer from the upstream within its timeout")]
    TimedOut,
    #[error("the upstream is off-line (waiting before the next connection attempt)")]
    Offline,
    #[error(transparent)]
    Connect(#[from] ConnectError),
}

/// A session's upstream link.
#[derive(Default)]
pub(crate) struct Relay {
    link: Option<(Upstream, mpsc::Sender<Job>)>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("linked", &self.link.is_some())
            .finish()
    }
}

impl Relay {
    /// The link for `profile`'s upstream, started on first use (or after its settings changed).
    fn link(
        &mut self,
        profile: &TerminalProfile,
        upstream: &Upstream,
        sealer: &Sealer,
    ) -> Result<mpsc::Sender<Job>, RelayError> {
        if let Some((current, jobs)) = &self.link {
            if current == upstream && !jobs.is_closed() {
                return Ok(jobs.clone());
            }
        }
        let password = match &upstream.password {
            Some(sealed) => sealer
                .open(
                    SealPurpose::UpstreamPassword,
                    &upstream::record(profile.id),
                    &sealed.0,
                )
                .map_err(|e| {
                    tracing::error!(error = %e, "upstream password could not be opened");
                    ConnectError::Password(e)
                })?,
            None => Zeroizing::new(Vec::new()),
        };
        let (jobs, receiver) = mpsc::channel(1);
        tokio::spawn(link::run(upstream.clone(), password, receiver));
        self.link = Some((upstream.clone(), jobs.clone()));
        Ok(jobs)
    }

    /// The upstream's answer body to `body` (a request body in the upstream's charset, without
    /// trailer).
    pub(crate) async fn forward(
        &mut self,
        profile: &TerminalProfile,
        upstream: &Upstream,
        sealer: &Sealer,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, RelayError> {
        let jobs = self.link(profile, upstream, sealer)?;
        let (reply, answer) = oneshot::channel();
        let job = Job::Forward {
            body: Zeroizing::new(body),
            reply,
        };
        ask(&jobs, job, answer, upstream).await
    }

    /// The upstream's 98.
    pub(crate) async fn status(
        &mut self,
        profile: &TerminalProfile,
        upstream: &Upstream,
        sealer: &Sealer,
    ) -> Result<AcsStatusResponse, RelayError> {
        let jobs = self.link(profile, upstream, sealer)?;
        let (reply, answer) = oneshot::channel();
        ask(&jobs, Job::Status { reply }, answer, upstream).await
    }
}

/// Hands `job` to the link and waits for its answer, never longer than the upstream timeout
/// (plus a little: the task bounds its own work by the same timeout).
async fn ask<T>(
    jobs: &mpsc::Sender<Job>,
    job: Job,
    answer: oneshot::Receiver<Result<T, RelayError>>,
    upstream: &Upstream,
) -> Result<T, RelayError> {
    let limit = upstream.timeout + std::time::Duration::from_millis(250);
    let asked = async {
        jobs.send(job).await.map_err(|_| RelayError::Offline)?;
        answer.await.map_err(|_| RelayError::Offline)?
    };
    tokio::time::timeout(limit, asked)
        .await
        .unwrap_or(Err(RelayError::TimedOut))
}
