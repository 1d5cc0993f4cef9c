//! The SIP2 TCP server: accept loop, connection limits and graceful shutdown of its sessions.
//!
//! Owns: the listening sockets (the SIP2 port, plain or TLS told apart by the first byte, and
//! the optional TLS-only `server.tls.listen`), admission of connections (global and
//! per-address limits, on the source address a trusted PROXY header names), the login defence
//! against repeated failed 93s (`login_defence.rs`), one task per connection, the certificate
//! reload task, and the drain of its sessions on shutdown. A connection's failure is logged once in its own span
//! (`session`) and never reaches this loop. The handles it serves with ([`Handles`]) come from
//! the application root (`app`), which also owns the housekeeping task.
//!
//! Uses `net` (PROXY header, TLS, the peer of a connection), `sip2` (through `session`), `auth`
//! and `accounts` (through `answer`, and `auth`'s terminal profile, whose SIP2 vocabulary
//! `session` reads), `config` and `clock`; never `store`. Must not be imported by anything but
//! `app`, the CLI, `main` and tests.
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
pub(crate) mod relay;
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
use crate::net::{Gate, TlsAcceptor};

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

/// The certificate reload task of a bound server, not yet running.
struct Reloader(futures_util::future::BoxFuture<'static, ()>);

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reloader")
    }
}

/// A bound SIP2 listener (and the TLS-only one when configured), ready to [`run`](Server::run).
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    tls_listener: Option<TcpListener>,
    shared: Arc<Shared>,
    /// How connections to `listener` are turned into peers and transports.
    gate: Arc<Gate>,
    /// The certificate reload task, made at bind (SIGHUP is taken over from then on) and run
    /// with the server; stopped by `reloads`.
    reloader: Option<Reloader>,
    reloads: CancellationToken,
}

impl Server {
    /// Binds `config.server.listen` (port 0 picks a free port; see [`Server::local_addr`]).
    pub async fn bind(config: &Config, handles: Handles) -> Result<Server, Error> {
        let Handles {
            accounts,
            auth,
            clock,
        } = handles;
        let listener = bind(config.server.listen).await?;
        let tls_listener = match config.server.tls.listen {
            Some(address) => Some(bind(address).await?),
            None => None,
        };
        let gate = gate(&config.server)?;
        let reloads = CancellationToken::new();
        let reloader = gate.tls.clone().map(|tls| {
            let interval = config.server.tls.reload_check_interval;
            Reloader(Box::pin(tls.watch(interval, reloads.clone())))
        });
        let shared = Shared {
            settings: config.server.clone(),
            limits: Limits::new(&config.server),
            defence: LoginDefence::new(&config.server.login_defence, clock.clone()),
            answerer: Answerer::new(config, accounts, auth, clock),
            terminals: TerminalWatch::new(),
        };
        Ok(Server {
            listener,
            tls_listener,
            shared: Arc::new(shared),
            gate: Arc::new(gate),
            reloader,
            reloads,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.listener.local_addr().map_err(Error::LocalAddress)
    }

    /// The TLS-only listener's address, when `server.tls.listen` is set.
    pub fn tls_local_addr(&self) -> Result<Option<SocketAddr>, Error> {
        self.tls_listener
            .as_ref()
            .map(|l| l.local_addr().map_err(Error::LocalAddress))
            .transpose()
    }

    /// Serves connections until `shutdown` is cancelled, then drains (bounded by
    /// `shutdown_grace`). Returns once every session has ended or been aborted.
    pub(crate) async fn run(self, shutdown: CancellationToken) -> Result<(), Error> {
        let Server {
            listener,
            tls_listener,
            shared,
            gate,
            reloader,
            reloads,
        } = self;
        let tls_gate = Arc::new(gate.tls_only());
        let mut sessions = JoinSet::new();
        let watcher = {
            let shared = Arc::clone(&shared);
            let shutdown = shutdown.clone();
            tokio::spawn(async move { shared.terminals.run(&shared.answerer, &shutdown).await })
        };
        if let Ok(address) = listener.local_addr() {
            info!(%address, tls = gate.tls.is_some(), "SIP2 server listening");
        }
        if let Some(Ok(address)) = tls_listener.as_ref().map(TcpListener::local_addr) {
            info!(%address, "SIP2 server listening (TLS only)");
        }
        if let Some(reloader) = reloader {
            tokio::spawn(reloader.0);
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
                accepted = accept(&listener, &gate, tls_listener.as_ref(), &tls_gate) => match accepted {
                    Ok((stream, remote, gate)) => {
                        sessions.spawn(connection(Arc::clone(&shared), gate, stream, remote, shutdown.clone()));
                    }
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
        drop(tls_listener);
        reloads.cancel();
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

#[cfg(feature = "testing")]
impl Server {
    /// Serves one connection already open over `stream`, as coming from `peer`: the limits of
    /// its source, then its session, as [`Server::run`] serves an accepted one once its
    /// transport is known. For in-memory connections (the fuzzing harness drives sessions over
    /// `tokio::io::duplex`, and the test suite replays its corpus the same way).
    pub async fn serve_stream<S>(
        &self,
        stream: S,
        peer: crate::net::Peer,
        shutdown: CancellationToken,
    ) where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
    {
        match self.shared.limits.admit(peer.source.ip()) {
            Ok(permit) => {
                session::serve(Arc::clone(&self.shared), stream, peer, permit, shutdown).await
            }
            Err(refusal) => {
                info!(peer = %peer.source, reason = refusal.as_str(), "connection refused")
            }
        }
    }
}

async fn bind(address: SocketAddr) -> Result<TcpListener, Error> {
    TcpListener::bind(address)
        .await
        .map_err(|source| Error::Bind { address, source })
}

/// The gate of the SIP2 port: plain, or TLS when a certificate is configured, behind the
/// trusted proxies of `server.proxy_protocol`.
fn gate(settings: &ServerConfig) -> Result<Gate, Error> {
    let acceptor = TlsAcceptor::configured(&settings.tls).map_err(Error::Tls)?;
    // A client speaks first; the wait for its first byte is the one for its first message.
    Ok(Gate::new(
        &settings.tls,
        &settings.proxy_protocol,
        acceptor,
        settings.idle_timeout,
    ))
}

/// The next connection on either listener, with the gate it came through.
async fn accept(
    listener: &TcpListener,
    gate: &Arc<Gate>,
    tls_listener: Option<&TcpListener>,
    tls_gate: &Arc<Gate>,
) -> std::io::Result<(TcpStream, SocketAddr, Arc<Gate>)> {
    let tls_only = async {
        match tls_listener {
            Some(listener) => listener.accept().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        accepted = listener.accept() => accepted.map(|(s, a)| (s, a, Arc::clone(gate))),
        accepted = tls_only => accepted.map(|(s, a)| (s, a, Arc::clone(tls_gate))),
    }
}

/// One connection: its source (a trusted proxy's header), the limits of that source, then its
/// transport (plain or TLS) and its session. Refusals close it without a byte sent (no SIP2
/// message fits one).
async fn connection(
    shared: Arc<Shared>,
    gate: Arc<Gate>,
    mut stream: TcpStream,
    remote: SocketAddr,
    shutdown: CancellationToken,
) {
    // Responses are single small writes; do not let Nagle hold them back.
    if let Err(error) = stream.set_nodelay(true) {
        info!(%remote, %error, "connection lost at accept");
        return;
    }
    let refused =
        |peer: SocketAddr, reason: &str| info!(%peer, %remote, reason, "connection refused");
    let mut peer = tokio::select! {
        () = shutdown.cancelled() => return,
        source = gate.source(&mut stream, remote) => match source {
            Ok(peer) => peer,
            Err(error) => return refused(remote, error.reason()),
        },
    };
    let permit = match shared.limits.admit(peer.source.ip()) {
        Ok(permit) => permit,
        Err(refusal) => return refused(peer.source, refusal.as_str()),
    };
    let transport = tokio::select! {
        () = shutdown.cancelled() => return,
        transport = gate.transport(stream, &mut peer) => match transport {
            Ok(transport) => transport,
            Err(error) => {
                tracing::debug!(%error, "transport refused");
                return refused(peer.source, error.reason());
            }
        },
    };
    session::serve(shared, transport, peer, permit, shutdown).await;
}
