//! `server::Error`: what can stop the server itself. A single connection's failure is never one
//! of these (it is logged in the session's span and ends that connection only).

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the bound address: {0}")]
    LocalAddress(#[source] std::io::Error),
}
