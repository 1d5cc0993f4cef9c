//! Session hardening (SECURITY.md §2 items 31 and 33, issue 10): the login deadline whatever a
//! connection sends, eviction of connections not logged in (never of logged-in terminals) when
//! the server is full, sessions of a disabled or removed terminal ended on every instance
//! sharing the database, the patron's failure still recorded for a removed terminal, every
//! answer within the timeout advertised in 98 while the database stalls, and a shutdown that
//! answers every request already read. Every test runs on SQLite and on PostgreSQL.

use std::time::Duration;

use secrecy::SecretString;
use sip2auth::accounts::{Accounts, Operator};
use sip2auth::app::App;
use sip2auth::auth::Presented;
use sip2auth::clock::SharedClock;
use sip2auth::config::Config;
use sip2auth::server::Server;
use sip2auth::store::testing::TempDb;
use sip2auth::store::{Backend, ConnectOptions, Store};
use sqlx::Connection;
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use crate::support::world::{self, SC_USER_LOGIN};
use crate::support::{
    self, fixed_now, seal, start_with, test_config, Client, TestServer, World, STEP_TIMEOUT,
};

const STATUS: &str = "9900302.00";
const VALID_63: &str = "6300120250314    093005          AOMAIN|AA21234000012345|AC|AD4931|";
const MINIMAL_LOGIN: &str = "9300CNminimal|COm3Rv8NcY2pLq6TgH|";

/// Sends `message`; the response, or `None` once the server has closed the connection.
async fn try_exchange(client: &mut Client, message: &str) -> Option<String> {
    let mut bytes = message.as_bytes().to_vec();
    bytes.push(b'\r');
    if tokio::io::AsyncWriteExt::write_all(&mut client.stream, &bytes)
        .await
        .is_err()
    {
        return None;
    }
    let mut out = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match tokio::time::timeout(STEP_TIMEOUT, client.stream.read(&mut byte)).await {
            Ok(Ok(1)) if byte[0] == b'\r' => return Some(String::from_utf8_lossy(&out).into()),
            Ok(Ok(1)) => out.push(byte[0]),
            Ok(Ok(_)) | Ok(Err(_)) => return None,
            Err(_) => panic!("neither an answer nor a close within the step timeout"),
        }
    }
}

async fn logged_in_sc_user(server: &TestServer) -> Client {
    let mut client = server.client().await;
    assert_eq!(client.exchange(SC_USER_LOGIN).await, "941AY0AZFDFD");
    client
}

async fn a_connection_sending_only_99_is_closed_at_the_login_deadline(backend: Backend) {
    let mut config = test_config();
    config.server.login_deadline = Duration::from_secs(1);
    let server = start_with(backend, config).await;
    let mut terminal = logged_in_sc_user(&server).await;
    // libki is the login-free terminal of 127.0.0.5: no deadline for it.
    let mut login_free = server.client_from([127, 0, 0, 5]).await;
    let mut anonymous = server.client().await;
    let mut answered = 0;
    while let Some(answer) = try_exchange(&mut anonymous, STATUS).await {
        assert!(answer.starts_with("98"), "{answer}");
        answered += 1;
        assert!(answered < 200, "still open after 200 status requests");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answered >= 1, "99 is answered before the deadline");
    // Past the deadline the logged-in and the login-free terminals are still served.
    let answer = terminal.exchange(VALID_63).await;
    assert!(answer.contains("|BLY|CQY|"), "{answer}");
    let answer = try_exchange(&mut login_free, VALID_63).await;
    assert!(answer.is_some_and(|a| a.contains("|BLY|CQY|")));
    // A failed 93 ends the terminal's login long after its connection's first deadline: it gets
    // a new one to log in again, not an instant close.
    let refused = try_exchange(&mut terminal, "9300CNsc_user|COwrong-secret|").await;
    assert_eq!(refused.as_deref(), Some("940"));
    assert_eq!(terminal.exchange(SC_USER_LOGIN).await, "941AY0AZFDFD");
}

async fn a_full_server_evicts_connections_not_logged_in_never_terminals(backend: Backend) {
    let mut config = test_config();
    config.server.max_connections = 3;
    let server = start_with(backend, config).await;
    let mut terminal = logged_in_sc_user(&server).await;
    // Two connections that hold no credential, admitted in this order (each answered once).
    let mut oldest = server.client().await;
    assert!(try_exchange(&mut oldest, STATUS).await.is_some());
    let mut younger = server.client().await;
    assert!(try_exchange(&mut younger, STATUS).await.is_some());
    // The server is full: a new connection evicts the oldest one not logged in, and logs in.
    let mut newcomer = server.client().await;
    assert_eq!(newcomer.exchange(SC_USER_LOGIN).await, "941AY0AZFDFD");
    assert!(
        oldest.is_closed().await,
        "the oldest waiting connection is evicted"
    );
    assert!(try_exchange(&mut younger, STATUS).await.is_some());
    let mut next = server.client().await;
    assert_eq!(next.exchange(SC_USER_LOGIN).await, "941AY0AZFDFD");
    assert!(younger.is_closed().await);
    // Every slot holds a logged-in terminal: a further connection is refused, none evicted.
    let mut refused = server.client().await;
    assert!(refused.is_closed().await, "nothing to evict: refused");
    for client in [&mut terminal, &mut newcomer, &mut next] {
        let answer = client.exchange(VALID_63).await;
        assert!(answer.contains("|BLY|CQY|"), "{answer}");
    }
}

/// A second server instance over the same database: its own pool, authenticator and token.
async fn second_instance(db: &TempDb, config: &Config, clock: SharedClock) -> (TestInstance, u16) {
    let options = ConnectOptions {
        clock: clock.clone(),
        ..ConnectOptions::default()
    };
    let store = Store::connect(db.url(), &options)
        .await
        .expect("second pool");
    let auth = world::authenticator(config, store.clone(), clock.clone()).await;
    let app = App::with_authenticator(config.clone(), store, auth, clock);
    let server = Server::bind(app.config(), app.sip2()).await.expect("bind");
    let port = server.local_addr().expect("address").port();
    let shutdown = app.shutdown();
    tokio::spawn(app.run(server));
    (TestInstance { shutdown }, port)
}

struct TestInstance {
    shutdown: CancellationToken,
}

impl Drop for TestInstance {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn disabling_or_removing_a_terminal_ends_its_sessions_on_every_instance(backend: Backend) {
    let config = test_config();
    let world = World::new(backend, &config).await;
    let clock: SharedClock = world.clock.clone();
    let accounts = Accounts::with_authenticator(
        world.store.clone(),
        &config,
        clock.clone(),
        world.auth.clone(),
    );
    let server = world.serve(config.clone()).await;
    let (_other, port) = second_instance(&server.db, &config, clock).await;
    let other = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut here = logged_in_sc_user(&server).await;
    let mut there = Client::connect(other, [127, 0, 0, 1].into()).await;
    assert_eq!(there.exchange(SC_USER_LOGIN).await, "941AY0AZFDFD");
    let mut bystander = Client::connect(other, [127, 0, 0, 1].into()).await;
    assert_eq!(bystander.exchange(MINIMAL_LOGIN).await, "941");
    let operator = Operator::new("alice").expect("operator");
    accounts
        .set_terminal_enabled(&operator, "sc_user", false)
        .await
        .expect("disabled");
    assert!(
        here.is_closed().await,
        "closed on the instance that changed it"
    );
    assert!(there.is_closed().await, "closed on the other instance");
    assert_eq!(
        try_exchange(&mut here, VALID_63).await,
        None,
        "nothing answered"
    );
    let answer = bystander.exchange(VALID_63).await;
    assert!(
        answer.contains("|BLY|CQY|"),
        "other terminals are served: {answer}"
    );
    // A disabled terminal cannot log in again; enabled, it can.
    let mut again = server.client().await;
    assert_eq!(again.exchange(SC_USER_LOGIN).await, "940AY0AZFDFE");
    accounts
        .set_terminal_enabled(&operator, "sc_user", true)
        .await
        .expect("enabled");
    let mut again = logged_in_sc_user(&server).await;
    accounts
        .remove_terminal(&operator, "minimal")
        .await
        .expect("removed");
    assert!(
        bystander.is_closed().await,
        "a removed terminal's session ends"
    );
    assert!(try_exchange(&mut again, VALID_63).await.is_some());
}

async fn a_patron_failure_at_a_removed_terminal_is_still_recorded(backend: Backend) {
    let config = test_config();
    let world = World::new(backend, &config).await;
    let clock: SharedClock = world.clock.clone();
    let accounts =
        Accounts::with_authenticator(world.store.clone(), &config, clock, world.auth.clone());
    let profile = accounts
        .terminal("plain")
        .await
        .expect("terminal")
        .profile();
    let operator = Operator::new("alice").expect("operator");
    accounts
        .remove_terminal(&operator, "plain")
        .await
        .expect("removed");
    // A session opened before the removal asks once more before it is ended.
    let wrong = Presented::Given(SecretString::from("0000".to_owned()));
    let decision = world
        .auth
        .check_patron(&profile, "21234000012345", wrong)
        .await
        .expect("decided, not unavailable");
    assert_eq!(
        decision.credential,
        sip2auth::auth::CredentialVerdict::WrongCredential
    );
    let record = world.store.find_by_card("MAIN", "21234000012345").await;
    let failures = record
        .expect("lookup")
        .expect("patron")
        .patron
        .pin_lock
        .failures;
    assert_eq!(failures, 1, "the patron's failure is counted");
}

/// Holds the database so that writing a PIN attempt waits (a stalled database).
enum Stall {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Stall {
    async fn begin(db: &TempDb) -> Stall {
        match db.backend() {
            Backend::Sqlite => {
                let mut connection = sqlx::SqliteConnection::connect(db.url())
                    .await
                    .expect("connection");
                sqlx::query("BEGIN IMMEDIATE")
                    .execute(&mut connection)
                    .await
                    .expect("write lock");
                Stall::Sqlite(connection)
            }
            Backend::Postgres => {
                let mut connection = sqlx::PgConnection::connect(db.url())
                    .await
                    .expect("connection");
                sqlx::query("BEGIN")
                    .execute(&mut connection)
                    .await
                    .expect("begin");
                sqlx::query("SELECT id FROM patrons FOR UPDATE")
                    .execute(&mut connection)
                    .await
                    .expect("row locks");
                Stall::Postgres(connection)
            }
        }
    }

    async fn end(self) {
        match self {
            Stall::Sqlite(mut c) => sqlx::query("ROLLBACK").execute(&mut c).await.map(|_| ()),
            Stall::Postgres(mut c) => sqlx::query("ROLLBACK").execute(&mut c).await.map(|_| ()),
        }
        .expect("released");
    }
}

/// A server over the standard world whose store waits a minute for a lock (a stalled database
/// is seen as such, not as an error).
async fn patient_server(backend: Backend, config: Config) -> TestServer {
    let clock = std::sync::Arc::new(sip2auth::clock::ManualClock::new(fixed_now()));
    let shared: SharedClock = clock.clone();
    let options = ConnectOptions {
        clock: shared.clone(),
        acquire_timeout: Duration::from_secs(60),
        busy_timeout: Duration::from_secs(60),
        ..ConnectOptions::default()
    };
    let db = TempDb::with_options(backend, &options).await.expect("db");
    let store = db.store().clone();
    let auth = world::authenticator(&config, store.clone(), shared).await;
    world::seed(&store, &world::hasher(&config), fixed_now()).await;
    support::serve(config, db, store, auth, clock).await
}

async fn every_answer_comes_within_the_advertised_timeout_while_the_database_stalls(
    backend: Backend,
) {
    let mut config = test_config();
    // 98 advertises 2.0 s; the store itself would wait a minute for the lock.
    config.server.timeout_period = 20;
    let server = patient_server(backend, config).await;
    let mut client = logged_in_sc_user(&server).await;
    let status = client.exchange(&seal(STATUS, Some(1))).await;
    assert!(
        status.starts_with("98YNNNYN020"),
        "timeout 020 advertised: {status}"
    );
    let stall = Stall::begin(&server.db).await;
    // Far less than the store's minute: the step timeout (10 s) fails the test otherwise.
    let answer = client.exchange(VALID_63).await;
    assert!(
        answer.contains("|BLN|CQN|"),
        "answered as unavailable: {answer}"
    );
    stall.end().await;
    let answer = client.exchange(VALID_63).await;
    assert!(answer.contains("|BLY|CQY|"), "served again: {answer}");
}

async fn shutdown_answers_every_request_already_read_on_16_connections(backend: Backend) {
    let mut config = test_config();
    // No advertised timeout: the checks below wait for the stalled database as long as it lasts.
    config.server.timeout_period = 999;
    let server = patient_server(backend, config).await;
    let mut clients = Vec::new();
    for _ in 0..16 {
        clients.push(logged_in_sc_user(&server).await);
    }
    // Per connection, in one write: a 99 (answered while the database stalls) and three 63s,
    // which wait for it. The 98 shows the server has read the write.
    let mut pipelined = seal(STATUS, Some(1)).into_bytes();
    pipelined.push(b'\r');
    for sequence in 2..=4 {
        pipelined.extend_from_slice(seal(VALID_63, Some(sequence)).as_bytes());
        pipelined.push(b'\r');
    }
    let stall = Stall::begin(&server.db).await;
    for client in &mut clients {
        client.send(&pipelined).await;
    }
    for client in &mut clients {
        let status = client.read_message().await;
        assert!(
            status.starts_with("98") && status.contains("AY1AZ"),
            "{status}"
        );
    }
    // SIGTERM's token, with a 63 in flight and two more read on every connection.
    server.shutdown.cancel();
    stall.end().await;
    for client in &mut clients {
        for sequence in 2..=4 {
            let answer = client.read_message().await;
            assert!(answer.contains("|BLY|CQY|"), "{answer}");
            assert!(answer.contains(&format!("AY{sequence}AZ")), "{answer}");
        }
        assert!(
            client.is_closed().await,
            "closed once everything read is answered"
        );
    }
}

sip2auth::store_test_on_both_backends!(
    a_connection_sending_only_99_is_closed_at_the_login_deadline,
    a_full_server_evicts_connections_not_logged_in_never_terminals,
    disabling_or_removing_a_terminal_ends_its_sessions_on_every_instance,
    a_patron_failure_at_a_removed_terminal_is_still_recorded,
    every_answer_comes_within_the_advertised_timeout_while_the_database_stalls,
    shutdown_answers_every_request_already_read_on_16_connections,
);
