//! A whole session: the input is what a client sends over an in-memory duplex
//! (`tokio::io::duplex`) to a server over a real store (a temporary database holding the test
//! suite's standard world, fixtures/transcripts/README.md; SQLite when fuzzing, both backends
//! when the suite replays the corpus). One world per process, reused
//! across inputs, so lockouts, budgets and login penalties carry over from one input to the
//! next as they would on a busy server.
//!
//! The first byte picks the source address (127.0.0.1, or 127.0.0.5 where `libki` needs no
//! login) and whether the input follows a valid 93 of `sc_user`, `plain` (error detection off)
//! or `strict` (required). Invariants: the session ends once the client has sent everything and
//! closed its side (no hang: a bounded wait), without a panic, and every byte it wrote is a
//! SIP2 response that parses, each ended by CR or CRLF.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sip2auth::app::App;
use sip2auth::clock::{ManualClock, SharedClock};
use sip2auth::config::server::SipTimezone;
use sip2auth::config::Config;
use sip2auth::net::Peer;
use sip2auth::server::Server;
use sip2auth::sip2::{parse, ChecksumPolicy, ParseOptions};
use sip2auth::store::testing::TempDb;
use sip2auth::store::{Backend, ConnectOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

// The suite's own world, compiled here too (the test binary also has it as support::world).
#[allow(dead_code, clippy::duplicate_mod)]
#[path = "../../tests/it/support/world.rs"]
mod world;

/// Longest a session may take to end after its client closed (the inputs are at most a few KiB).
const SESSION_TIMEOUT: Duration = Duration::from_secs(20);

/// The logins an input may start from: nothing, or a valid 93 of a terminal of the world.
const LOGINS: [&[u8]; 4] = [
    b"",
    b"9300CNsc_user|COk7Qp2vXe9LmT4wZs|CPBRANCH1|AY0AZF04C\r",
    b"9300CNplain|COp5Hy8MzC3vRt6KeW|AY0AZF44C\r",
    b"9300CNstrict|COs9Dk4WbX7nJf2QaZ|AY0AZF3E8\r\n",
];

struct World {
    runtime: Runtime,
    /// Not `Sync` (its certificate reload task); one input at a time holds it.
    server: Mutex<Server>,
    /// Kept for the process's life: dropping it removes the database.
    _db: TempDb,
}

/// 2025-03-14 09:30:00 UTC, the day of the transcripts.
fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 14, 9, 30, 0)
        .single()
        .expect("valid date")
}

fn config() -> Config {
    let mut config = Config::default();
    config.server.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.server.timezone = SipTimezone::Utc;
    // The terminal budget's delay would hold every later input for seconds; the thresholds and
    // the session end still apply.
    config.security.terminal_budget.delay = Duration::ZERO;
    world::cheap_hashing(&mut config);
    config
}

fn world(backend: Backend) -> &'static World {
    static SQLITE: OnceLock<World> = OnceLock::new();
    static POSTGRES: OnceLock<World> = OnceLock::new();
    let world = match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    };
    world.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let (server, db) = runtime.block_on(async {
            let config = config();
            let clock = Arc::new(ManualClock::new(fixed_now()));
            let shared: SharedClock = clock;
            let options = ConnectOptions {
                clock: shared.clone(),
                ..ConnectOptions::default()
            };
            let db = TempDb::with_options(backend, &options)
                .await
                .expect("temporary database");
            let store = db.store().clone();
            let auth = world::authenticator(&config, store.clone(), shared.clone()).await;
            world::seed(&store, &world::hasher(&config), fixed_now()).await;
            let app = App::with_authenticator(config, store, auth, shared);
            let server = Server::bind(app.config(), app.sip2())
                .await
                .expect("server binds");
            (server, db)
        });
        World {
            runtime,
            server: Mutex::new(server),
            _db: db,
        }
    })
}

/// Runs one input against the SQLite world (the fuzz target).
pub fn run(data: &[u8]) {
    run_on(Backend::Sqlite, data);
}

/// Runs one input against the world on `backend` (the corpus replay runs both).
pub fn run_on(backend: Backend, data: &[u8]) {
    let Some((&choice, sent)) = data.split_first() else {
        return;
    };
    let world = world(backend);
    let source = if choice & 4 == 0 {
        [127, 0, 0, 1]
    } else {
        [127, 0, 0, 5]
    };
    let peer = Peer::direct(SocketAddr::from((source, 40000)));
    let mut input = LOGINS[usize::from(choice % 4)].to_vec();
    input.extend_from_slice(sent);
    // A broken invariant in an earlier input (replayed under catch_unwind) leaves it poisoned.
    let server = world.server.lock().unwrap_or_else(PoisonError::into_inner);
    let received = world.runtime.block_on(async {
        let (mut client, server_side) = tokio::io::duplex(64 * 1024);
        let shutdown = CancellationToken::new();
        let serve = server.serve_stream(server_side, peer, shutdown.clone());
        let talk = async move {
            // The server may close first (a request before login); the rest is then unsent.
            let _ = client.write_all(&input).await;
            let _ = client.shutdown().await;
            let mut received = Vec::new();
            let _ = client.read_to_end(&mut received).await;
            received
        };
        let both = async { tokio::join!(serve, talk).1 };
        tokio::time::timeout(SESSION_TIMEOUT, both)
            .await
            .expect("the session ends after its client closed")
    });
    check_responses(&received);
}

/// Every response parses as one (checksum verified when it has a trailer) and ends in CR or CRLF.
fn check_responses(received: &[u8]) {
    let opts = ParseOptions {
        checksum: ChecksumPolicy::Strict,
        ..ParseOptions::default()
    };
    let mut rest = received;
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|&b| b == b'\r')
            .expect("a response ends in CR");
        let frame = &rest[..end];
        let after = if rest.get(end + 1) == Some(&b'\n') {
            end + 2
        } else {
            end + 1
        };
        assert!(!frame.contains(&b'\n'), "LF inside a response");
        if let Err(error) = parse::response(frame, &opts) {
            panic!("the server sent a response that does not parse: {error}");
        }
        rest = &rest[after..];
    }
}
