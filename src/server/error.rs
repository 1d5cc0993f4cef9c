//! `server::Error`: what can stop the server itself. A single connection's failure is never one
//! of these (it is logged in the session's span and ends that connection only).

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // The cause is the source, printed once by whoever reports the chain.
    #[error("cannot listen on {address}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the bound address")]
    LocalAddress(#[source] std::io::Error),
    #[error("cannot use the TLS certificate (server.tls)")]
    Tls(#[source] crate::net::TlsError),
}
