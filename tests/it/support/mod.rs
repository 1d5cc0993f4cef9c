//! Test support for the SIP2 server tests: a real server on 127.0.0.1:0 over a fresh database
//! (SQLite or PostgreSQL) with a fixed clock, the standard world of terminals and patrons
//! (fixtures/transcripts/README.md, fixtures/demo/patrons.csv), a transcript replayer, and a
//! small SIP2 client over a socket bound to a chosen loopback source address.

pub mod admin;
pub mod browser;
pub mod escapes;
pub mod logs;
pub mod mail;
pub mod outage;
pub mod tls;
pub mod transcript;
pub mod web;
// Also compiled into the fuzz harness's session world (fuzz/harness/session.rs).
#[allow(clippy::duplicate_mod)]
pub mod world;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sip2auth::app::App;
use sip2auth::auth::Authenticator;
use sip2auth::clock::{ManualClock, SharedClock};
use sip2auth::config::server::SipTimezone;
use sip2auth::config::Config;
use sip2auth::server::Server;
use sip2auth::store::testing::TempDb;
use sip2auth::store::{Backend, ConnectOptions, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Longest wait for any expected byte or close in a test; a hang fails instead of blocking.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// 2025-03-14 09:30:00 UTC, the transaction date of every transcript.
pub fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 14, 9, 30, 0)
        .single()
        .expect("valid date")
}

/// A running server and what a test needs to drive it.
pub struct TestServer {
    pub addr: SocketAddr,
    /// The TLS-only listener, when `server.tls.listen` is set.
    pub tls_addr: Option<SocketAddr>,
    pub shutdown: CancellationToken,
    pub handle: Option<JoinHandle<Result<(), sip2auth::app::Error>>>,
    pub clock: Arc<ManualClock>,
    pub store: Store,
    /// The server's authenticator (its hashing pool counts show what work a request did).
    pub auth: Authenticator,
    pub db: TempDb,
}

/// The configuration tests start from: port 0 on loopback, UTC dates.
pub fn test_config() -> Config {
    let mut config = Config::default();
    config.server.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.server.timezone = SipTimezone::Utc;
    config.server.shutdown_grace = Duration::from_secs(5);
    world::cheap_hashing(&mut config);
    config
}

/// A server over a fresh database holding the standard world.
pub async fn start(backend: Backend) -> TestServer {
    start_with(backend, test_config()).await
}

pub async fn start_with(backend: Backend, config: Config) -> TestServer {
    World::new(backend, &config).await.serve(config).await
}

/// A fresh database holding the standard world, with a server not yet started: for tests that
/// put records in place before the server sees them. Start it with [`serve`].
pub struct World {
    pub db: TempDb,
    pub store: Store,
    pub auth: Authenticator,
    pub clock: Arc<ManualClock>,
}

impl World {
    pub async fn new(backend: Backend, config: &Config) -> World {
        let clock = Arc::new(ManualClock::new(fixed_now()));
        let shared: SharedClock = clock.clone();
        let options = ConnectOptions {
            clock: shared.clone(),
            acquire_timeout: Duration::from_secs(2),
            busy_timeout: Duration::from_secs(2),
            ..ConnectOptions::default()
        };
        let db = TempDb::with_options(backend, &options)
            .await
            .expect("temporary database");
        let store = db.store().clone();
        // The authenticator records the pepper fingerprint, which must precede the first hash.
        let auth = world::authenticator(config, store.clone(), shared.clone()).await;
        world::seed(&store, &world::hasher(config), fixed_now()).await;
        World {
            db,
            store,
            auth,
            clock,
        }
    }

    /// Starts the server over this world.
    pub async fn serve(self, config: Config) -> TestServer {
        serve(config, self.db, self.store, self.auth, self.clock).await
    }
}

/// Starts a server over an already seeded store.
pub async fn serve(
    config: Config,
    db: TempDb,
    store: Store,
    auth: Authenticator,
    clock: Arc<ManualClock>,
) -> TestServer {
    let shared: SharedClock = clock.clone();
    let app = App::with_authenticator(config, store.clone(), auth.clone(), shared);
    let server = Server::bind(app.config(), app.sip2())
        .await
        .expect("server binds");
    let addr = server.local_addr().expect("bound address");
    let tls_addr = server.tls_local_addr().expect("bound TLS address");
    let shutdown = app.shutdown();
    let handle = tokio::spawn(app.run(server));
    TestServer {
        addr,
        tls_addr,
        shutdown,
        handle: Some(handle),
        clock,
        store,
        auth,
        db,
    }
}

impl TestServer {
    /// A client connected from 127.0.0.1.
    pub async fn client(&self) -> Client {
        self.client_from([127, 0, 0, 1]).await
    }

    /// A client connected from another loopback address (the whole 127/8 is local on Linux).
    pub async fn client_from(&self, source: [u8; 4]) -> Client {
        Client::connect(self.addr, IpAddr::from(source)).await
    }

    /// Cancels the server and waits for `run` to return.
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(handle) = self.handle.take() {
            tokio::time::timeout(STEP_TIMEOUT, handle)
                .await
                .expect("server stops within the step timeout")
                .expect("server task")
                .expect("server run");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A raw SIP2 client.
pub struct Client {
    pub stream: TcpStream,
}

impl Client {
    pub async fn connect(server: SocketAddr, source: IpAddr) -> Client {
        let socket = TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::new(source, 0))
            .expect("bind source address");
        let stream = tokio::time::timeout(STEP_TIMEOUT, socket.connect(server))
            .await
            .expect("connect in time")
            .expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Client { stream }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("send");
    }

    /// Sends one message followed by CR.
    pub async fn send_message(&mut self, message: &str) {
        let mut bytes = message.as_bytes().to_vec();
        bytes.push(b'\r');
        self.send(&bytes).await;
    }

    /// Reads exactly `n` bytes.
    pub async fn read_exact(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0; n];
        tokio::time::timeout(STEP_TIMEOUT, self.stream.read_exact(&mut buf))
            .await
            .expect("response in time")
            .expect("read");
        buf
    }

    /// Reads one response up to and including its CR (and a following LF if `crlf`).
    pub async fn read_message(&mut self) -> String {
        let mut out = Vec::new();
        loop {
            let byte = self.read_exact(1).await[0];
            if byte == b'\r' {
                break;
            }
            out.push(byte);
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Sends a message and returns the response without its terminator.
    pub async fn exchange(&mut self, message: &str) -> String {
        self.send_message(message).await;
        self.read_message().await
    }

    /// True when the server closes the connection (EOF or reset) within the step timeout.
    pub async fn is_closed(&mut self) -> bool {
        let mut buf = [0u8; 256];
        match tokio::time::timeout(STEP_TIMEOUT, self.stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => true,
            Ok(Ok(_)) | Err(_) => false,
        }
    }
}

/// Appends the AY/AZ trailer (PROTOCOL.md §2.2), for tests that build messages at run time.
pub fn seal(body: &str, sequence: Option<u8>) -> String {
    let mut out = body.to_owned();
    if let Some(seq) = sequence {
        out.push_str(&format!("AY{seq}"));
    }
    out.push_str("AZ");
    let sum = out.bytes().fold(0u16, |a, b| a.wrapping_add(u16::from(b)));
    out.push_str(&format!("{:04X}", sum.wrapping_neg()));
    out
}
