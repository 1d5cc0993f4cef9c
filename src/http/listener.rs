//! The accept path of the HTTP listeners: a TCP listener behind `net`'s gate, so the web pages
//! take the SIP2 port's transport settings: a PROXY header from the trusted proxies of
//! `server.proxy_protocol` (whose source address is the client's for rate limits and logs), and
//! TLS when `[server.tls]` has a certificate, told apart from plain HTTP by the first byte (TLS
//! only with `server.tls.require`). The certificate reloads on SIGHUP and on file change.
//!
//! Handshakes run in tasks of their own, so a slow or silent client never holds up the next
//! accept. Owns [`GatedListener`] (an axum `Listener`) and [`ClientAddr`] (its connect info).
//! Uses `net` and `config`; must not import `server` or `store`.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::ServerConfig;
use crate::net::{Gate, TlsAcceptor, TlsError, Transport};

/// Connections whose handshake finished, waiting for the HTTP server to take them.
const READY_QUEUE: usize = 64;
/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);
/// A browser speaks first; this long it may stay silent before its first byte.
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(10);

/// The client's address: the PROXY header's source behind a trusted proxy, else the TCP peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientAddr(pub(crate) SocketAddr);

impl Connected<IncomingStream<'_, GatedListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, GatedListener>) -> Self {
        *stream.remote_addr()
    }
}

/// A bound TCP listener whose connections come out through the gate.
#[derive(Debug)]
pub(crate) struct GatedListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(Transport, ClientAddr)>,
    accepting: JoinHandle<()>,
    /// Stops the certificate reload task with the listener.
    reloads: CancellationToken,
}

impl GatedListener {
    /// Puts `listener` behind the gate the server's transport settings describe.
    pub(crate) fn new(
        listener: TcpListener,
        local: SocketAddr,
        settings: &ServerConfig,
    ) -> Result<Self, TlsError> {
        let acceptor = TlsAcceptor::configured(&settings.tls)?;
        let reloads = CancellationToken::new();
        if let Some(tls) = acceptor.clone() {
            let interval = settings.tls.reload_check_interval;
            tokio::spawn(tls.watch(interval, reloads.clone()));
        }
        let gate = Gate::new(
            &settings.tls,
            &settings.proxy_protocol,
            acceptor,
            FIRST_BYTE_TIMEOUT,
        );
        let (sender, ready) = mpsc::channel(READY_QUEUE);
        let handshakes = Arc::new(Semaphore::new(settings.max_connections.max(1)));
        let accepting = tokio::spawn(accept_loop(listener, gate, handshakes, sender));
        Ok(GatedListener {
            local,
            ready,
            accepting,
            reloads,
        })
    }
}

impl Drop for GatedListener {
    fn drop(&mut self) {
        self.accepting.abort();
        self.reloads.cancel();
    }
}

impl axum::serve::Listener for GatedListener {
    type Io = Transport;
    type Addr = ClientAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(ready) => ready,
            // The accept loop only ends when the listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(ClientAddr(self.local))
    }
}

/// Accepts TCP connections and passes each through the gate in a task of its own. At most
/// `server.max_connections` handshakes wait at once (each bounded in time by the gate): a
/// connection beyond that is closed at once, so silent clients cannot pile up tasks.
async fn accept_loop(
    listener: TcpListener,
    gate: Gate,
    handshakes: Arc<Semaphore>,
    ready: mpsc::Sender<(Transport, ClientAddr)>,
) {
    let gate = Arc::new(gate);
    loop {
        let (mut stream, remote) = tokio::select! {
            () = ready.closed() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    warn!(%error, "web accept failed");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
        };
        let Ok(handshake) = Arc::clone(&handshakes).try_acquire_owned() else {
            info!(%remote, reason = "too many handshakes", "web connection refused");
            continue;
        };
        let (gate, ready) = (Arc::clone(&gate), ready.clone());
        tokio::spawn(async move {
            let _handshake = handshake;
            let mut peer = match gate.source(&mut stream, remote).await {
                Ok(peer) => peer,
                Err(error) => {
                    return info!(%remote, reason = error.reason(), "web connection refused")
                }
            };
            match gate.transport(stream, &mut peer).await {
                Ok(transport) => {
                    let _ = ready.send((transport, ClientAddr(peer.source))).await;
                }
                Err(error) => {
                    debug!(%error, "web transport refused");
                    info!(peer = %peer.source, reason = error.reason(), "web connection refused");
                }
            }
        });
    }
}
