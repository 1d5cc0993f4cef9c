//! Test support for the admin listener: the real application (SIP2, and the admin listener on
//! port 0, one app) over the standard world, and plain GETs with their status and body.

use std::net::SocketAddr;

use reqwest::StatusCode;
use secrecy::ExposeSecret;
use sip2auth::accounts::api_key::ApiScope;
use sip2auth::accounts::{Accounts, Operator};
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
    pub http: reqwest::Client,
    config: Config,
}

pub async fn start_admin(backend: Backend, config: Config) -> AdminTest {
    let world = World::new(backend, &config).await;
    let shared: SharedClock = world.clock.clone();
    let kept = config.clone();
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
        tls_addr: None,
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
        config: kept,
    }
}

/// One answer: status, content type, body.
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
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
        let request = self.http.get(format!("http://{}{path}", self.admin_addr));
        Self::answer(request).await
    }

    /// The accounts context of the running server (the same store and hashing pool).
    pub fn accounts(&self) -> Accounts {
        let clock: SharedClock = self.server.clock.clone();
        Accounts::with_authenticator(
            self.server.store.clone(),
            &self.config,
            clock,
            self.server.auth.clone(),
        )
    }

    /// A new API key of this scope, as `api-key add` makes it.
    pub async fn key(&self, name: &str, scope: ApiScope) -> String {
        let operator = Operator::new("tester").expect("operator");
        let key = self
            .accounts()
            .add_api_key(&operator, name, scope)
            .await
            .expect("key");
        key.expose_secret().to_owned()
    }

    /// A request to the API with an optional key and JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<&str>,
    ) -> Answer {
        let mut request = self
            .http
            .request(method, format!("http://{}{path}", self.admin_addr));
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        Self::answer(request).await
    }

    async fn answer(request: reqwest::RequestBuilder) -> Answer {
        Answer::from_request(request).await
    }
}

impl Answer {
    /// Sends `request` and reads its answer.
    pub async fn from_request(request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.text().await.expect("body");
        Answer {
            status,
            headers,
            content_type,
            body,
        }
    }
}
