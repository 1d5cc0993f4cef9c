//! The relay's cost: item information (17) answered by the upstream ILS alone, over a
//! connection of its own, against the same 17 relayed through sip2auth to that upstream, in one
//! run. The upstream is pysip2's `SIP2Server` (tests/peers/ils_upstream.py, in the venv
//! scripts/python-peers.sh prepares); each iteration is one request and its answer on one
//! connection, so time per op is latency and its inverse one connection's throughput.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use secrecy::SecretString;
use sip2auth::accounts::Operator;
use sip2auth::app::App;
use sip2auth::auth::{
    upstream_password_record, Authenticator, KeyRing, PepperKey, SealPurpose, SealedPassword,
    Terminal, TerminalSettings, Upstream,
};
use sip2auth::clock::{self, SharedClock};
use sip2auth::config::Config;
use sip2auth::server::Server;
use sip2auth::store::testing::TempDb;
use sip2auth::store::Backend;

const UPSTREAM_LOGIN: &str = "relay-bench";
const UPSTREAM_PASSWORD: &str = "ils-bench-Pw7Qz";
const TERMINAL_SECRET: &str = "bench-terminal-Secret-4711";
const ITEM: &[u8] = b"1720250314    093000AOMAIN|AB3900012|AC|\r";

/// The upstream ILS process; killed when dropped.
struct Ils(Child, u16);

impl Drop for Ils {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_ils() -> Ils {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var_os("SIP2AUTH_PEERS_PYTHON")
        .map_or_else(|| root.join("target/python-peers/bin/python"), Into::into);
    let mut child = Command::new(python)
        .arg(root.join("tests/peers/ils_upstream.py"))
        .args(["0", UPSTREAM_LOGIN, UPSTREAM_PASSWORD])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the upstream ILS starts (run scripts/python-peers.sh first)");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("read");
    let port = first
        .strip_prefix("listening ")
        .and_then(|p| p.parse().ok())
        .expect("the ILS's port");
    // The ILS prints a line per message: keep its pipe drained.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    Ils(child, port)
}

/// sip2auth with the terminal `selfcheck` relayed to the ILS on `port`.
async fn start_relay(port: u16) -> (SocketAddr, TempDb) {
    let mut config = Config::default();
    config.server.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let db = TempDb::new(Backend::Sqlite).await.expect("database");
    let store = db.store().clone();
    let clock: SharedClock = clock::system();
    let keys = KeyRing::new(1, PepperKey::from_bytes([7; 32]), Vec::new());
    let auth = Authenticator::with_keys(store.clone(), &config.security, clock.clone(), keys)
        .await
        .expect("authenticator");
    let app = App::with_authenticator(config, store.clone(), auth.clone(), clock);
    let operator = Operator::new("bench").expect("operator");
    let (terminal, _) = app
        .accounts()
        .add_terminal(
            &operator,
            "selfcheck",
            TerminalSettings::new("MAIN"),
            Some(SecretString::from(TERMINAL_SECRET)),
        )
        .await
        .expect("terminal");
    let mut upstream = Upstream::new(format!("127.0.0.1:{port}"), UPSTREAM_LOGIN);
    upstream.password = Some(SealedPassword(auth.sealer().seal(
        SealPurpose::UpstreamPassword,
        &upstream_password_record(terminal.id),
        UPSTREAM_PASSWORD.as_bytes(),
    )));
    let row = store
        .terminal_by_login("selfcheck")
        .await
        .expect("read")
        .expect("row");
    let mut settings = Terminal::from_row(row).expect("typed").settings;
    settings.upstream = Some(upstream);
    store
        .update_terminal(terminal.id, &settings.columns())
        .await
        .expect("relayed");
    let server = Server::bind(app.config(), app.sip2()).await.expect("SIP2");
    let addr = server.local_addr().expect("address");
    tokio::spawn(app.run(server));
    (addr, db)
}

/// A connection logged in with `login` (a 93 without trailer).
fn connect(addr: SocketAddr, login: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let answer = exchange(&mut stream, login.as_bytes());
    assert_eq!(&answer[..3], b"941", "logged in");
    stream
}

fn exchange(stream: &mut TcpStream, request: &[u8]) -> Vec<u8> {
    stream.write_all(request).expect("write");
    let mut answer = Vec::with_capacity(128);
    let mut byte = [0u8; 1];
    loop {
        stream.read_exact(&mut byte).expect("read");
        if byte[0] == b'\r' {
            return answer;
        }
        answer.push(byte[0]);
    }
}

fn relay(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let ils = start_ils();
    let (addr, _db) = runtime.block_on(start_relay(ils.1));
    let mut direct = connect(
        SocketAddr::from(([127, 0, 0, 1], ils.1)),
        &format!("9300CN{UPSTREAM_LOGIN}|CO{UPSTREAM_PASSWORD}|\r"),
    );
    let mut relayed = connect(addr, &format!("9300CNselfcheck|CO{TERMINAL_SECRET}|\r"));
    let warm = exchange(&mut relayed, ITEM);
    assert!(
        warm.starts_with(b"18"),
        "relayed: {}",
        String::from_utf8_lossy(&warm)
    );
    assert!(exchange(&mut direct, ITEM).starts_with(b"18"));

    let mut group = c.benchmark_group("relay");
    group.throughput(Throughput::Elements(1));
    group.bench_function("upstream_alone_17", |b| {
        b.iter(|| exchange(&mut direct, ITEM))
    });
    group.bench_function("relayed_17", |b| b.iter(|| exchange(&mut relayed, ITEM)));
    group.finish();
}

criterion_group!(benches, relay);
criterion_main!(benches);
