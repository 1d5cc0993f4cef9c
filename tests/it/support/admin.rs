//! Test support for the admin listener: the real application (SIP2, and the admin listener on
//! port 0, one app) over the standard world, and plain GETs with their status and body.

use std::net::SocketAddr;

use reqwest::StatusCode;
use sip2auth::app::{App, Listeners};
use sip2auth::clock::SharedClock;
use sip2auth::config::Config;
use sip2auth::http::admin::AdminServer;
use sip2auth::server::Server;
use sip2auth::store::Backend;

use super::{test_config, TestServer, World};

/// The configuration of admin tests: the test config with the admin listener on a free port.
pub fn admin_config() -> Config {
    let mut config = test_config();
    config.admin.enabled = true;
    config.admin.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config
}

/// The application with its SIP2 and admin listeners.
pub struct AdminTest {
    pub server: TestServer,
    pub admin_addr: SocketAddr,
    http: reqwest::Client,
}

pub async fn start_admin(backend: Backend, config: Config) -> AdminTest {
    let world = World::new(backend, &config).await;
    let shared: SharedClock = world.clock.clone();
    let app = App::with_authenticator(config, world.store.clone(), world.auth.clone(), shared);
    let sip2 = Server::bind(app.config(), app.sip2())
        .await
        .expect("SIP2 binds");
    let admin = AdminServer::bind(app.config(), app.admin())
        .await
        .expect("admin binds");
    let addr = sip2.local_addr().expect("SIP2 address");
    let admin_addr = admin.local_addr().expect("admin address");
    let shutdown = app.shutdown();
    let listeners = Listeners {
        sip2,
        web: None,
        admin: Some(admin),
    };
    let handle = tokio::spawn(app.run_listeners(listeners));
    let server = TestServer {
        addr,
        shutdown,
        handle: Some(handle),
        clock: world.clock,
        store: world.store,
        auth: world.auth,
        db: world.db,
    };
    AdminTest {
        server,
        admin_addr,
        http: reqwest::Client::new(),
    }
}

/// One answer: status, content type, body.
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl AdminTest {
    pub async fn get(&self, path: &str) -> Answer {
        let response = self
            .http
            .get(format!("http://{}{path}", self.admin_addr))
            .send()
            .await
            .expect("GET");
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.text().await.expect("body");
        Answer {
            status,
            content_type,
            body,
        }
    }
}
