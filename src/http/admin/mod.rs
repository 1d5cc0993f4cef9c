//! The admin listener: health checks for load balancers and orchestrators (`health.rs`), the
//! Prometheus scrape (`metrics.rs`) and the JSON API under `/api/v1/` (`api/`), on its own port (`[admin]`), answering only the client
//! networks `admin.allowed_cidrs` names.
//!
//! Owns the admin socket, its routes and the address guard. Same shape as the web listener:
//! [`AdminServer::bind`], [`AdminServer::local_addr`], [`AdminServer::run`] with the shared drain.
//! Uses `accounts`, `auth`, `config` and `instruments`. Must not import `store`,
//! `server` or `sip2`.

mod api;
mod health;
mod metrics;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use super::listener::{ClientAddr, GatedListener};
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::Error;
use crate::accounts::Accounts;
use crate::auth::Authenticator;
use crate::clock::SharedClock;
use crate::config::{AdminConfig, Config};

pub(crate) use health::{Listener, Listening};

/// The shared handles the admin listener uses (built once, by `app`).
#[derive(Debug, Clone)]
pub struct Handles {
    pub accounts: Accounts,
    pub auth: Authenticator,
    /// Which listeners of the process are serving (readiness).
    pub listening: Listening,
    /// The process's shutdown token: a draining process is not ready.
    pub shutdown: CancellationToken,
    /// The SIP2 request codes the server answers (what a terminal may be allowed to send).
    pub served_requests: Arc<[[u8; 2]]>,
    pub clock: SharedClock,
}

/// What the admin handlers share.
struct Admin {
    handles: Handles,
    config: AdminConfig,
    limits: api::Limits,
}

type Shared = Arc<Admin>;

/// A bound admin listener, ready to [`run`](AdminServer::run).
#[derive(Debug)]
pub struct AdminServer {
    listener: GatedListener,
    local: SocketAddr,
    router: Router,
    grace: Duration,
}

impl AdminServer {
    /// Binds `admin.listen` (port 0 picks a free port).
    pub async fn bind(config: &Config, handles: Handles) -> Result<AdminServer, Error> {
        let address = config.admin.listen;
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| Error::AdminBind { address, source })?;
        let local = listener.local_addr().map_err(Error::LocalAddress)?;
        // The SIP2 port's transport settings: TLS when configured, PROXY from trusted peers.
        let listener = GatedListener::new(listener, local, &config.server).map_err(Error::Tls)?;
        let state = Arc::new(Admin {
            limits: api::Limits::new(&config.admin, handles.clock.clone()),
            handles,
            config: config.admin.clone(),
        });
        Ok(AdminServer {
            listener,
            local,
            router: router(state),
            grace: config.server.shutdown_grace,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        Ok(self.local)
    }

    /// Serves until `shutdown` is cancelled, then drains requests in flight (bounded by the
    /// shutdown grace).
    pub(crate) async fn run(self, shutdown: CancellationToken) -> Result<(), Error> {
        let address = self.local_addr()?;
        info!(%address, "admin listener listening");
        let served =
            super::drain::serve(self.listener, self.router, self.grace, shutdown, "admin").await;
        info!("admin listener stopped");
        served.map_err(Error::AdminServe)
    }
}

fn router(state: Shared) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::scrape))
        .route("/api/v1/openapi.json", get(api::openapi))
        .nest("/api/v1", api::router(state.clone()))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            allowed_address,
        ))
        .with_state(state)
}

/// Refuses clients outside `admin.allowed_cidrs` before any handler runs.
async fn allowed_address(
    State(admin): State<Shared>,
    ConnectInfo(ClientAddr(peer)): ConnectInfo<ClientAddr>,
    request: Request,
    next: Next,
) -> Response {
    if admin.config.allows(peer.ip()) {
        return next.run(request).await;
    }
    let body = serde_json::json!({
        "type": "urn:sip2auth:problem:address-not-allowed",
        "title": "This address may not use the admin listener",
        "status": 403,
    });
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}
