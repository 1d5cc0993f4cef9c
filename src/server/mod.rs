//! The SIP2 TCP server: accept loop, connection limits, housekeeping and graceful shutdown.
//!
//! Owns: the listening socket, admission of connections (global and per-address limits, the 93
//! failure address block), one task per connection, the housekeeping task (retention purge,
//! `housekeeping.rs`), and the drain on shutdown. A connection's failure is logged once in its
//! own span (`session`) and never reaches this loop.
//!
//! Uses `sip2` (through `session`), `auth` and `accounts` (through `answer` and
//! `housekeeping.rs`), `config` and `clock`. Of `store`, only the handle passed on to `accounts`
//! and terminal setting types: behaviour never calls the store directly. Must not be imported by
//! anything but the CLI, `main` and tests.
//!
//! Shutdown: [`Server::run`] stops accepting as soon as its token is cancelled; sessions finish
//! the request they are answering, then close, and the housekeeping task finishes a purge in
//! progress. After `shutdown_grace` what remains is aborted. Nothing polls: every wait is a
//! `select!` on the token.

mod answer;
mod error;
mod framing;
mod housekeeping;
mod limits;
mod patron;
mod refusal;
mod session;
mod terminal;

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
use crate::store::Store;

pub use error::Error;

use answer::Answerer;
use housekeeping::Housekeeping;
use limits::Limits;

/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// What every session shares: settings, limits and the way to answer requests.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) settings: ServerConfig,
    pub(crate) limits: Limits,
    pub(crate) answerer: Answerer,
    pub(crate) auth: Authenticator,
}

/// A bound SIP2 listener, ready to [`run`](Server::run).
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
    housekeeping: Housekeeping,
}

impl Server {
    /// Binds `config.server.listen` (port 0 picks a free port; see [`Server::local_addr`]).
    pub async fn bind(
        config: &Config,
        store: Store,
        auth: Authenticator,
        clock: SharedClock,
    ) -> Result<Server, Error> {
        let listen = config.server.listen;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| Error::Bind {
                address: listen,
                source,
            })?;
        let accounts = Accounts::with_authenticator(store, config, clock.clone(), auth.clone());
        let housekeeping = Housekeeping {
            accounts: accounts.clone(),
            clock: clock.clone(),
            purge_interval: config.audit.purge_interval,
        };
        let shared = Shared {
            settings: config.server.clone(),
            limits: Limits::new(&config.server, clock.clone()),
            answerer: Answerer::new(config, accounts, auth.clone(), clock),
            auth,
        };
        Ok(Server {
            listener,
            shared: Arc::new(shared),
            housekeeping,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.listener.local_addr().map_err(Error::LocalAddress)
    }

    /// Serves connections until `shutdown` is cancelled, then drains (bounded by
    /// `shutdown_grace`). Returns once every session has ended or been aborted.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), Error> {
        let Server {
            listener,
            shared,
            housekeeping,
        } = self;
        let mut housekeeping = tokio::spawn(housekeeping.run(shutdown.clone()));
        let mut sessions = JoinSet::new();
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
            (&mut housekeeping).await
        })
        .await;
        match drained {
            Ok(Ok(())) => {}
            // The purge task panicked; the server stops as planned all the same.
            Ok(Err(error)) => warn!(%error, "housekeeping task failed"),
            Err(_) => {
                warn!(
                    aborted = sessions.len(),
                    "shutdown grace elapsed; aborting remaining sessions"
                );
                sessions.shutdown().await;
                housekeeping.abort();
            }
        }
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
