//! The task that owns one downstream session's upstream connection: opened and logged in when
//! first needed, kept alive with 99 at the upstream's interval, reopened after it drops (with a
//! bounded backoff between failed attempts, during which requests are refused at once), and
//! closed when the session drops its handle. Every exchange is bounded by the terminal's
//! upstream timeout; a connection that timed out is dropped (its late answer must not be taken
//! for the next request's).
//!
//! Owns: the task loop, `Backoff`. Must not log secrets or message bodies.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use zeroize::Zeroizing;

use super::connection::{ConnectError, Connection};
use super::RelayError;
use crate::auth::Upstream;
use crate::sip2::response::AcsStatusResponse;

const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What the session asks of the task.
pub(super) enum Job {
    /// Forward a request body; answered with the upstream's answer body.
    Forward {
        body: Zeroizing<Vec<u8>>,
        reply: oneshot::Sender<Result<Vec<u8>, RelayError>>,
    },
    /// A 99 for the terminal's own 99.
    Status {
        reply: oneshot::Sender<Result<AcsStatusResponse, RelayError>>,
    },
}

/// The wait before the next connection attempt after failures: doubling, capped.
struct Backoff {
    next_attempt: Option<Instant>,
    wait: Duration,
}

impl Backoff {
    fn new() -> Self {
        Self {
            next_attempt: None,
            wait: FIRST_BACKOFF,
        }
    }

    fn ready(&self) -> bool {
        self.next_attempt.is_none_or(|at| Instant::now() >= at)
    }

    fn failed(&mut self) {
        self.next_attempt = Some(Instant::now() + self.wait);
        self.wait = (self.wait * 2).min(MAX_BACKOFF);
    }

    fn succeeded(&mut self) {
        *self = Self::new();
    }
}

struct Task {
    upstream: Upstream,
    password: Zeroizing<Vec<u8>>,
    connection: Option<Connection>,
    /// The connection has answered before (an EOF on it may be a close while idle).
    reused: bool,
    backoff: Backoff,
}

/// Runs until every handle is dropped; the connection closes with it.
pub(super) async fn run(
    upstream: Upstream,
    password: Zeroizing<Vec<u8>>,
    mut jobs: mpsc::Receiver<Job>,
) {
    let mut task = Task {
        upstream,
        password,
        connection: None,
        reused: false,
        backoff: Backoff::new(),
    };
    loop {
        let keepalive = task.connection.as_ref().map(|c| c.keepalive);
        tokio::select! {
            job = jobs.recv() => match job {
                Some(job) => task.serve(job).await,
                None => break,
            },
            () = idle(&mut task.connection, keepalive) => task.keep_alive().await,
        }
    }
}

/// Resolves when the idle connection needs a 99, or has been closed by the upstream.
async fn idle(connection: &mut Option<Connection>, keepalive: Option<Duration>) {
    let (Some(connection), Some(every)) = (connection.as_mut(), keepalive) else {
        return std::future::pending().await;
    };
    tokio::select! {
        () = tokio::time::sleep(every) => {}
        () = connection.closed() => {}
    }
}

impl Task {
    async fn serve(&mut self, job: Job) {
        let limit = self.upstream.timeout;
        match job {
            Job::Forward { body, reply } => {
                let done = tokio::time::timeout(limit, self.forward(&body)).await;
                let settled = self.settle(done);
                let _ = reply.send(settled);
            }
            Job::Status { reply } => {
                let done = tokio::time::timeout(limit, self.status()).await;
                let settled = self.settle(done);
                let _ = reply.send(settled);
            }
        }
    }

    /// The result of a bounded exchange; a failed or late one drops the connection.
    fn settle<T>(
        &mut self,
        done: Result<Result<T, RelayError>, tokio::time::error::Elapsed>,
    ) -> Result<T, RelayError> {
        let result = done.unwrap_or(Err(RelayError::TimedOut));
        match result {
            Ok(_) => self.reused = true,
            Err(_) => self.connection = None,
        }
        result
    }

    async fn forward(&mut self, body: &[u8]) -> Result<Vec<u8>, RelayError> {
        let reused = self.connected().await?;
        let connection = self.connection.as_mut().ok_or(RelayError::Offline)?;
        match connection.exchange(body).await {
            // Closed while idle, before it read this request: once more on a new connection.
            Err(ConnectError::Closed) if reused => {
                tracing::info!("upstream closed the connection; reconnecting");
                self.connection = None;
                self.connected().await?;
                let connection = self.connection.as_mut().ok_or(RelayError::Offline)?;
                connection.exchange(body).await.map_err(RelayError::from)
            }
            other => other.map_err(RelayError::from),
        }
    }

    async fn status(&mut self) -> Result<AcsStatusResponse, RelayError> {
        self.connected().await?;
        let connection = self.connection.as_mut().ok_or(RelayError::Offline)?;
        connection.status().await.map_err(RelayError::from)
    }

    /// Opens the connection when there is none; true when an open one is reused.
    async fn connected(&mut self) -> Result<bool, RelayError> {
        if self.connection.is_some() {
            return Ok(self.reused);
        }
        if !self.backoff.ready() {
            return Err(RelayError::Offline);
        }
        match Connection::open(&self.upstream, &self.password).await {
            Ok(connection) => {
                self.backoff.succeeded();
                self.connection = Some(connection);
                self.reused = false;
                tracing::info!(upstream = %self.upstream.address, "upstream connection logged in");
                Ok(false)
            }
            Err(error) => {
                self.backoff.failed();
                match &error {
                    ConnectError::LoginRefused { .. } => {
                        tracing::error!(upstream = %self.upstream.address, %error, "upstream login refused")
                    }
                    _ => {
                        tracing::warn!(upstream = %self.upstream.address, %error, "upstream connection failed")
                    }
                }
                Err(RelayError::Connect(error))
            }
        }
    }

    async fn keep_alive(&mut self) {
        let Some(connection) = self.connection.as_mut() else {
            return;
        };
        let limit = self.upstream.timeout;
        match tokio::time::timeout(limit, connection.status()).await {
            Ok(Ok(_)) => self.reused = true,
            Ok(Err(error)) => {
                tracing::info!(%error, "upstream connection ended while idle");
                self.connection = None;
            }
            Err(_) => {
                tracing::info!("upstream keep-alive not answered in time; connection dropped");
                self.connection = None;
            }
        }
    }
}
