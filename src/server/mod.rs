//! The SIP2 TCP server: accept loop, connection limits and graceful shutdown of its sessions.
//!
//! Owns: the listening socket, admission of connections (global and per-address limits), the
//! login defence against repeated failed 93s (`login_defence.rs`), one task per connection, and
//! the drain of its sessions on shutdown. A connection's failure is logged once in its own span
//! (`session`) and never reaches this loop. The handles it serves with ([`Handles`]) come from
//! the application root (`app`), which also owns the housekeeping task.
//!
//! Uses `sip2` (through `session`), `auth` and `accounts` (through `answer`, and `auth`'s
//! terminal profile, whose SIP2 vocabulary `session` reads), `config` and `clock`; never
//! `store`. Must not be imported by anything but `app`, the CLI, `main` and tests.
//!
//! Shutdown: [`Server::run`] stops accepting as soon as its token is cancelled; sessions answer
//! every request already read (the one in flight and those pipelined behind it), then close.
//! After `shutdown_grace` what remains is aborted. Every wait is a `select!` on the token; the
//! one periodic task is the terminal watch (`terminal_watch.rs`), which ends with it.

mod answer;
mod error;
mod framing;
mod limits;
mod login_defence;
mod outcome;
mod patron;
mod refusal;
mod session;
mod terminal_watch;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::accounts::Accounts;
use crate::auth::Authenticator;
use crate::clock::SharedClock;
use crate::config::{Config, ServerConfig};

pub use error::Error;

/// The request codes a terminal's allowed-message list may name (what this server serves), for
/// the CLI's check of `--allow-messages`.
pub(crate) fn allowable_message_codes() -> Vec<[u8; 2]> {
    answer::service::may_be_allowed()
        .map(|request| request.code())
        .collect()
}

use answer::Answerer;
use limits::Limits;
use login_defence::LoginDefence;
use terminal_watch::TerminalWatch;

/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// What every session shares: settings, limits and the way to answer requests.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) settings: ServerConfig,
    pub(crate) limits: Limits,
    pub(crate) defence: LoginDefence,
    pub(crate) answerer: Answerer,
    /// The enabled terminals, as open sessions follow them (`terminal_watch.rs`).
    pub(crate) terminals: TerminalWatch,
}

/// The shared handles the SIP2 server answers with (built once, by `app`).
#[derive(Debug, Clone)]
pub struct Handles {
    pub accounts: Accounts,
    pub auth: Authenticator,
    pub clock: SharedClock,
}

/// A bound SIP2 listener, ready to [`run`](Server::run).
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl Server {
    /// Binds `config.server.listen` (port 0 picks a free port; see [`Server::local_addr`]).
    pub async fn bind(config: &Config, handles: Handles) -> Result<Server, Error> {
        let Handles {
            accounts,
            auth,
            clock,
        } = handles;
        let listen = config.server.listen;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| Error::Bind {
                address: listen,
                source,
            })?;
        let shared = Shared {
            settings: config.server.clone(),
            limits: Limits::new(&config.server),
            defence: LoginDefence::new(&config.server.login_defence, clock.clone()),
            answerer: Answerer::new(config, accounts, auth, clock),
            terminals: TerminalWatch::new(),
        };
        Ok(Server {
            listener,
            shared: Arc::new(shared),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.listener.local_addr().map_err(Error::LocalAddress)
    }

    /// Serves connections until `shutdown` is cancelled, then drains (bounded by
    /// `shutdown_grace`). Returns once every session has ended or been aborted.
    pub(crate) async fn run(self, shutdown: CancellationToken) -> Result<(), Error> {
        let Server { listener, shared } = self;
        let mut sessions = JoinSet::new();
        let watcher = {
            let shared = Arc::clone(&shared);
            let shutdown = shutdown.clone();
            tokio::spawn(async move { shared.terminals.run(&shared.answerer, &shutdown).await })
        };
        if let Ok(address) = listener.local_addr() {
            info!(%address, "SIP2 server listening");
        }
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                Some(ended) = sessions.join_next(), if !sessions.is_empty() => {
                    if let Err(error) = ended {
                        // A session task panicked; it ended alone and the loop goes on.
                        warn!(%error, "session task failed");
                    }
                }
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => admit(&shared, &mut sessions, stream, peer, &shutdown),
                    Err(error) => {
                        warn!(%error, "accept failed");
                        tokio::select! {
                            () = shutdown.cancelled() => break,
                            () = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => {}
                        }
                    }
                },
            }
        }
        drop(listener);
        let open = sessions.len();
        info!(open, "SIP2 server stopped accepting; draining sessions");
        let drained = tokio::time::timeout(shared.settings.shutdown_grace, async {
            while sessions.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            warn!(
                aborted = sessions.len(),
                "shutdown grace elapsed; aborting remaining sessions"
            );
            sessions.shutdown().await;
        }
        // It ends with the token; a read in progress is not waited for.
        watcher.abort();
        info!("SIP2 server stopped");
        Ok(())
    }
}

fn admit(
    shared: &Arc<Shared>,
    sessions: &mut JoinSet<()>,
    stream: TcpStream,
    peer: SocketAddr,
    shutdown: &CancellationToken,
) {
    match shared.limits.admit(peer.ip()) {
        Ok(permit) => {
            sessions.spawn(session::serve(
                Arc::clone(shared),
                stream,
                peer,
                permit,
                shutdown.clone(),
            ));
        }
        Err(refusal) => {
            // Dropping the stream closes it; nothing is sent (no SIP2 message fits a refusal).
            info!(%peer, reason = refusal.as_str(), "connection refused");
        }
    }
}
