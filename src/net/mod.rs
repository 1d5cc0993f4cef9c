//! The transport under every listener: who is on the other end of an accepted TCP connection
//! (its source address, through a trusted PROXY protocol hop if any) and how it speaks (plain,
//! or TLS with perhaps a client certificate), before any application byte is read.
//!
//! Owns: [`Peer`] (source address, proxy hop, TLS and client-certificate identity),
//! [`Transport`] (the plain or TLS byte stream handed to a protocol) and [`Gate`], which turns an
//! accepted `TcpStream` into both in two steps ([`Gate::source`], then [`Gate::transport`];
//! connection limits are applied on the source between them). By noun, in its
//! children: `proxy.rs` (the PROXY protocol header), `detect.rs` (plain or TLS from the first
//! byte), `tls.rs` (the reloadable certificate and the handshake), `identity.rs` (a client
//! certificate as a value).
//!
//! Uses `config` only (its `[server.tls]` and `[server.proxy_protocol]` types); must not import
//! `server`, `auth`, `store` or `sip2`: the SIP2 server and the web listeners both stand on it.
//!
//! From an axum (or any) listener: build one [`TlsAcceptor::configured`] per process, a
//! [`Gate::new`] per listener, then for each accepted `(TcpStream, SocketAddr)` call
//! [`Gate::source`] and [`Gate::transport`], which give the [`Peer`] and the [`Transport`] to
//! serve (run the
//! acceptor's [`TlsAcceptor::watch`] once to reload the certificate).

mod detect;
mod identity;
mod proxy;
mod stream;
pub(crate) mod tls;

use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;
use tokio::net::TcpStream;

use crate::config::server::{ProxyProtocolConfig, TlsConfig};

pub(crate) use detect::Opening;
pub use identity::{
    CertificateAuthority, ClientCertificate, Fingerprint, FingerprintError, IdentityError,
    SubjectName,
};
pub(crate) use proxy::ProxyError;
pub(crate) use stream::Transport;
pub(crate) use tls::{TlsAcceptor, TlsError};

/// Who a connection comes from and how it reached the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// The client's address: the PROXY header's source behind a trusted proxy, else the TCP
    /// peer. Terminal address rules, limits, the login defence and logs all use this one.
    pub source: SocketAddr,
    /// The trusted proxy the connection came through, when there was one.
    pub proxy: Option<SocketAddr>,
    /// Whether the connection is TLS.
    pub tls: bool,
    /// The certificate the client presented in the TLS handshake, if any.
    pub client_certificate: Option<ClientCertificate>,
}

impl Peer {
    /// A plain connection straight from `source` (no proxy, no TLS).
    pub fn direct(source: SocketAddr) -> Peer {
        Peer {
            source,
            proxy: None,
            tls: false,
            client_certificate: None,
        }
    }
}

/// Why a connection was closed before any application byte was read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GateError {
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    #[error("plain text refused: this listener requires TLS")]
    PlainRefused,
    #[error("the client sent nothing within {0:?}")]
    Silent(Duration),
    #[error("the client closed before sending anything")]
    Closed,
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("reading the first bytes: {0}")]
    Io(#[from] std::io::Error),
}

impl GateError {
    /// A short stable reason for log lines and tests.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            GateError::Proxy(error) => error.reason(),
            GateError::PlainRefused => "plain_refused",
            GateError::Silent(_) => "silent",
            GateError::Closed => "closed",
            GateError::Tls(_) => "tls_handshake",
            GateError::Io(_) => "io",
        }
    }
}

/// Whether a listener serves plain text, TLS, or both on one port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accepts {
    /// Plain, and TLS too when a certificate is configured (told apart by the first byte).
    PlainOrTls,
    /// TLS only: a plain client is closed.
    TlsOnly,
}

/// What a listener needs to turn accepted connections into peers and transports.
#[derive(Debug, Clone)]
pub(crate) struct Gate {
    /// Peers that must (and alone may) open with a PROXY protocol header.
    pub trusted_proxies: Vec<IpNet>,
    /// Longest wait for a PROXY header.
    pub header_timeout: Duration,
    /// The certificate, when TLS is configured.
    pub tls: Option<TlsAcceptor>,
    pub accepts: Accepts,
    /// Longest wait for the first byte (to tell plain from TLS).
    pub first_byte_timeout: Duration,
    /// Longest TLS handshake.
    pub handshake_timeout: Duration,
}

impl Gate {
    /// The gate of a listener that serves plain text and TLS on one port (plain refused under
    /// `tls.require`), behind the trusted proxies of `proxy`. `acceptor` is the process's one
    /// certificate ([`TlsAcceptor::configured`]), shared by its listeners; `first_byte_timeout`
    /// is how long the protocol waits for a client's first bytes.
    pub(crate) fn new(
        tls: &TlsConfig,
        proxy: &ProxyProtocolConfig,
        acceptor: Option<TlsAcceptor>,
        first_byte_timeout: Duration,
    ) -> Gate {
        Gate {
            trusted_proxies: proxy.trusted.clone(),
            header_timeout: proxy.header_timeout,
            tls: acceptor,
            accepts: if tls.require {
                Accepts::TlsOnly
            } else {
                Accepts::PlainOrTls
            },
            first_byte_timeout,
            handshake_timeout: tls.handshake_timeout,
        }
    }

    /// The same gate, TLS only (for a listener such as `server.tls.listen`).
    pub(crate) fn tls_only(&self) -> Gate {
        Gate {
            accepts: Accepts::TlsOnly,
            ..self.clone()
        }
    }

    /// Step one: the connection's true source, from a PROXY header when `remote` is a trusted
    /// proxy (required there, refused anywhere else).
    pub(crate) async fn source(
        &self,
        stream: &mut TcpStream,
        remote: SocketAddr,
    ) -> Result<Peer, GateError> {
        let trusted = self
            .trusted_proxies
            .iter()
            .any(|net| net.contains(&remote.ip()));
        if !trusted {
            if detect::opens_with_proxy_header(stream).await {
                return Err(ProxyError::Untrusted.into());
            }
            return Ok(Peer::direct(remote));
        }
        let source = proxy::read_header(stream, self.header_timeout)
            .await?
            .unwrap_or(remote);
        Ok(Peer {
            source,
            proxy: Some(remote),
            tls: false,
            client_certificate: None,
        })
    }

    /// Step two: plain or TLS, from the first byte, and the TLS handshake when it is TLS.
    /// Without a certificate nothing is peeked: the stream is plain, and a ClientHello is left
    /// to the protocol, which refuses what is not its own.
    pub(crate) async fn transport(
        &self,
        stream: TcpStream,
        peer: &mut Peer,
    ) -> Result<Transport, GateError> {
        let Some(tls) = &self.tls else {
            return Ok(Transport::Plain(stream));
        };
        let opening = tokio::time::timeout(self.first_byte_timeout, detect::opening(&stream))
            .await
            .map_err(|_| GateError::Silent(self.first_byte_timeout))??;
        match opening {
            Opening::Closed => Err(GateError::Closed),
            Opening::TlsHello => {
                let stream = tls.handshake(stream, self.handshake_timeout).await?;
                peer.tls = true;
                peer.client_certificate = identity::of_connection(stream.get_ref().1);
                Ok(Transport::Tls(Box::new(stream)))
            }
            Opening::Plain if self.accepts == Accepts::TlsOnly => Err(GateError::PlainRefused),
            Opening::Plain => Ok(Transport::Plain(stream)),
        }
    }
}
