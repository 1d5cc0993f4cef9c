//! The HTTP listeners (axum over hyper): the patron pages of `web/` ([`WebServer`]) and the
//! admin listener of `admin/` (health, metrics; [`admin::AdminServer`]), each on its own port
//! with the same shape and the same drain (`drain.rs`).
//!
//! Owns the listening socket and the drain: [`WebServer::bind`] exposes
//! [`WebServer::local_addr`]; [`WebServer::run`] serves until its token is cancelled, then lets
//! requests in flight finish, bounded by `server.shutdown_grace` (the same drain as SIP2).
//!
//! Uses `accounts` and `auth` (through `web/`), `config` and `clock`. Must not import `store`,
//! `server` or `sip2`. Only `app`, the CLI, `main` and tests import it.

pub mod admin;
mod drain;
pub(crate) mod listener;
mod web;
pub(crate) mod window_limit;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;

use listener::GatedListener;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::accounts::Accounts;
use crate::clock::SharedClock;
use crate::config::Config;

/// Why an HTTP listener could not start or serve.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot listen for the admin API on {address}: {source}")]
    AdminBind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the admin listener failed: {0}")]
    AdminServe(#[source] std::io::Error),
    #[error("cannot listen for the web pages on {address}: {source}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot load the TLS certificate for the web listener: {0}")]
    Tls(#[source] crate::net::TlsError),
    #[error("cannot read the web listener's address: {0}")]
    LocalAddress(#[source] std::io::Error),
    #[error("the web listener failed: {0}")]
    Serve(#[source] std::io::Error),
    #[error("web pages' languages: {0}")]
    Languages(#[from] web::CatalogueError),
}

/// The shared handles the web pages use (built once, by `app`).
#[derive(Debug, Clone)]
pub struct Handles {
    pub accounts: Accounts,
    pub clock: SharedClock,
}

/// A bound web listener, ready to [`run`](WebServer::run).
#[derive(Debug)]
pub struct WebServer {
    listener: GatedListener,
    local: SocketAddr,
    router: axum::Router,
    origin: String,
    grace: Duration,
}

impl WebServer {
    /// Binds `web.listen` (port 0 picks a free port).
    pub async fn bind(config: &Config, handles: Handles) -> Result<WebServer, Error> {
        let address = config.web.listen;
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| Error::Bind { address, source })?;
        let bound = listener.local_addr().map_err(Error::LocalAddress)?;
        let listener = GatedListener::new(listener, bound, &config.server).map_err(Error::Tls)?;
        let origin = config.web.origin(bound);
        // Links in mails point here too.
        handles.accounts.set_site_origin(&origin);
        let router = web::router(config, &origin, handles)?;
        Ok(WebServer {
            listener,
            local: bound,
            router,
            origin,
            grace: config.server.shutdown_grace,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        Ok(self.local)
    }

    /// The address patrons use (`web.public_url`, or the bound address).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Serves until `shutdown` is cancelled, then drains requests in flight (bounded by the
    /// shutdown grace).
    pub(crate) async fn run(self, shutdown: CancellationToken) -> Result<(), Error> {
        let WebServer {
            listener,
            local: _,
            router,
            origin,
            grace,
        } = self;
        info!(%origin, "web pages listening");
        let served = drain::serve(listener, router, grace, shutdown, "web").await;
        info!("web pages stopped");
        served.map_err(Error::Serve)
    }
}
