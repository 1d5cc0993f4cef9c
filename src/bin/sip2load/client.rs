//! Lockstep connections: each connects, logs in with 93 when asked, then sends one request,
//! reads its answer, checks it and sends the next, until the run ends. Latencies are kept only
//! after the warm-up; every response is checked, and failures are counted by kind.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Barrier, Semaphore};

use crate::frames::{self, Card, Failure, Path};

/// What one run sends.
#[derive(Debug, Clone)]
pub(crate) struct Load {
    pub(crate) addr: SocketAddr,
    /// Local address to connect from (e.g. a login-free terminal's address).
    pub(crate) source: Option<IpAddr>,
    pub(crate) connections: usize,
    pub(crate) path: Path,
    /// Terminal login id and password for a 93 first; None sends no 93.
    pub(crate) login: Option<(String, String)>,
    pub(crate) institution: String,
    pub(crate) cards: Arc<Vec<Card>>,
    /// Send AD from the cards file.
    pub(crate) pin: bool,
    /// AY/AZ on every request (and checked on every answer).
    pub(crate) error_detection: bool,
    /// A field every answer must carry, e.g. `CQY`.
    pub(crate) expect: Option<String>,
    pub(crate) warmup: Duration,
    pub(crate) measure: Duration,
    pub(crate) request_timeout: Duration,
    /// 93s in flight at once: each costs the server an argon2 verification, and hundreds at
    /// once would wait past its hashing queue timeout and be refused as busy.
    pub(crate) logins: Arc<Semaphore>,
}

/// What a run measured.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) requests: u64,
    pub(crate) elapsed: Duration,
    /// Microseconds, sorted.
    pub(crate) latencies_us: Vec<u32>,
    pub(crate) failures: BTreeMap<Failure, u64>,
}

impl Outcome {
    pub(crate) fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub(crate) fn failed(&self) -> u64 {
        self.failures.values().sum()
    }

    /// The `q` quantile in milliseconds (0 when nothing was measured).
    pub(crate) fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let last = self.latencies_us.len() - 1;
        let index = ((last as f64) * q).round() as usize;
        f64::from(self.latencies_us[index.min(last)]) / 1000.0
    }
}

/// One connection's share of the run.
#[derive(Default)]
struct Tally {
    requests: u64,
    latencies_us: Vec<u32>,
    failures: BTreeMap<Failure, u64>,
}

pub(crate) struct Connection {
    reader: BufReader<TcpStream>,
    buffer: Vec<u8>,
    seq: u8,
}

impl Connection {
    pub(crate) async fn open(load: &Load) -> Result<Connection, Failure> {
        let stream = connect(load).await.map_err(|_| Failure::Closed)?;
        let _ = stream.set_nodelay(true);
        let mut connection = Connection {
            reader: BufReader::new(stream),
            buffer: Vec::with_capacity(512),
            seq: 0,
        };
        if let Some((user, password)) = &load.login {
            let _turn = load.logins.acquire().await.map_err(|_| Failure::Closed)?;
            let body = frames::login(user, password);
            connection
                .exchange(load, &body, b"94", Some(b"941"))
                .await
                .map(|_| ())
                .map_err(|f| match f {
                    Failure::WrongCode | Failure::Unexpected => Failure::LoginRefused,
                    other => other,
                })?;
        }
        Ok(connection)
    }

    /// Sends `body` and checks its answer; returns it (with its CR).
    pub(crate) async fn exchange(
        &mut self,
        load: &Load,
        body: &str,
        code: &[u8; 2],
        expect: Option<&[u8]>,
    ) -> Result<&[u8], Failure> {
        let seq = load.error_detection.then_some(self.seq);
        self.seq = (self.seq + 1) % 10;
        let frame = frames::frame(body, seq);
        let stream = self.reader.get_mut();
        stream
            .write_all(&frame)
            .await
            .map_err(|_| Failure::Closed)?;
        self.buffer.clear();
        let read = self.reader.read_until(b'\r', &mut self.buffer);
        match tokio::time::timeout(load.request_timeout, read).await {
            Err(_) => return Err(Failure::Timeout),
            Ok(Err(_)) | Ok(Ok(0)) => return Err(Failure::Closed),
            Ok(Ok(_)) => {}
        }
        // A server configured for CRLF leaves the LF before the next answer.
        let start = usize::from(self.buffer.first() == Some(&b'\n'));
        let answer = &self.buffer[start..];
        frames::check(answer, code, seq, expect)?;
        Ok(answer)
    }
}

async fn connect(load: &Load) -> std::io::Result<TcpStream> {
    let Some(source) = load.source else {
        return TcpStream::connect(load.addr).await;
    };
    let socket = match source {
        IpAddr::V4(_) => TcpSocket::new_v4()?,
        IpAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.bind(SocketAddr::new(source, 0))?;
    socket.connect(load.addr).await
}

/// Runs `load` and gathers every connection's tally.
pub(crate) async fn run(load: Load) -> Outcome {
    let load = Arc::new(load);
    let barrier = Arc::new(Barrier::new(load.connections + 1));
    let mut tasks = Vec::with_capacity(load.connections);
    for index in 0..load.connections {
        let (load, barrier) = (load.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let opened = Connection::open(&load).await;
            barrier.wait().await;
            let start = Instant::now();
            drive(&load, index, opened, start).await
        }));
    }
    barrier.wait().await;
    let mut outcome = Outcome::default();
    for task in tasks {
        let Ok(tally) = task.await else { continue };
        outcome.requests += tally.requests;
        outcome.latencies_us.extend(tally.latencies_us);
        for (failure, n) in tally.failures {
            *outcome.failures.entry(failure).or_default() += n;
        }
    }
    outcome.elapsed = load.measure;
    outcome.latencies_us.sort_unstable();
    outcome
}

/// One connection's loop: lockstep requests until the end of the run, reconnecting after a
/// closed connection so the load holds.
async fn drive(
    load: &Load,
    index: usize,
    opened: Result<Connection, Failure>,
    start: Instant,
) -> Tally {
    let measured_from = start + load.warmup;
    let end = measured_from + load.measure;
    let mut tally = Tally::default();
    let mut connection = match opened {
        Ok(c) => Some(c),
        Err(f) => {
            *tally.failures.entry(f).or_default() += 1;
            None
        }
    };
    let expect = load.expect.as_deref().map(str::as_bytes);
    let mut turn = index;
    while Instant::now() < end {
        let Some(conn) = connection.as_mut() else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            connection = Connection::open(load).await.ok();
            continue;
        };
        let card = &load.cards[turn % load.cards.len()];
        turn += load.connections;
        let body = frames::request(load.path, &load.institution, card, load.pin);
        let sent = Instant::now();
        let result = conn
            .exchange(load, &body, load.path.answer_code(), expect)
            .await
            .map(|_| ());
        let done = Instant::now();
        if sent < measured_from || done > end {
            if matches!(result, Err(Failure::Closed | Failure::Timeout)) {
                connection = None;
            }
            continue;
        }
        match result {
            Ok(()) => {
                tally.requests += 1;
                let us = done.duration_since(sent).as_micros();
                tally
                    .latencies_us
                    .push(u32::try_from(us).unwrap_or(u32::MAX));
            }
            Err(failure) => {
                *tally.failures.entry(failure).or_default() += 1;
                if matches!(failure, Failure::Closed | Failure::Timeout) {
                    connection = None;
                }
            }
        }
    }
    tally
}

/// Opens `count` connections, logs each in, and holds them until `hold` has passed; returns
/// how many logged in and the failures.
pub(crate) async fn idle(
    load: &Load,
    count: usize,
    hold: Duration,
) -> (usize, BTreeMap<Failure, u64>) {
    let mut held = Vec::with_capacity(count);
    let mut failures = BTreeMap::new();
    for _ in 0..count {
        match Connection::open(load).await {
            Ok(c) => held.push(c),
            Err(f) => *failures.entry(f).or_default() += 1,
        }
    }
    tokio::time::sleep(hold).await;
    (held.len(), failures)
}
