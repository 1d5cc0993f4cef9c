//! The whole benchmark table in one run: for each path a ramp against the server and against
//! the baseline of the same run (the echo, the argon2 bound, or pgbench), printed as ratios,
//! with the server's RSS before, during (peak) and after each step.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::client::{self, Load, Outcome};
use crate::frames::{self, Path};
use crate::rss::{self, Sampler};
use crate::{bound, Common};

#[derive(Args)]
pub(crate) struct SuiteArgs {
    #[arg(long)]
    server: SocketAddr,
    /// A second instance sharing the server's database: the lookup is also measured over both.
    #[arg(long)]
    server2: Option<SocketAddr>,
    #[arg(long)]
    server_pid: u32,
    #[arg(long)]
    echo: SocketAddr,
    /// `card` per line: known cards for the lookup (no AD).
    #[arg(long)]
    lookup_cards: PathBuf,
    /// `card,pin` per line: the right PINs for the 63 flood.
    #[arg(long)]
    pin_cards: PathBuf,
    /// Connection counts of the ramp.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16,64,256")]
    ramp: Vec<usize>,
    /// Which parts to run.
    #[arg(long, value_delimiter = ',', default_value = "status,lookup,pin,idle")]
    parts: Vec<Part>,
    /// Seconds measured in each PIN step (after a warm-up of the same Common setting).
    #[arg(long, default_value_t = 15.0)]
    pin_seconds: f64,
    /// The address of a login-free terminal to hold idle connections from (no 93 needed).
    #[arg(long)]
    idle_source: Option<IpAddr>,
    #[arg(long, default_value_t = 10_000)]
    idle_count: usize,
    /// A pgbench command whose `tps = ` is the lookup's baseline (PostgreSQL runs).
    #[arg(long)]
    pgbench: Option<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    Status,
    Lookup,
    Pin,
    Idle,
}

/// One line for `run`: rate, latencies, failures.
pub(crate) fn line(o: &Outcome) -> String {
    format!(
        "{:.0} req/s, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} failed {:?}",
        o.rate(),
        o.quantile_ms(0.5),
        o.quantile_ms(0.9),
        o.quantile_ms(0.99),
        o.quantile_ms(1.0),
        o.failed(),
        o.failures
    )
}

fn header() {
    println!(
        "| path | conns | sip2auth req/s | p50 ms | p90 ms | p99 ms | max ms | failed | baseline | baseline /s | ratio | RSS peak / after MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
}

struct Row<'a> {
    path: &'a str,
    connections: usize,
    measured: &'a Outcome,
    baseline: &'a str,
    baseline_rate: Option<f64>,
    rss_peak_kib: u64,
    rss_after_kib: u64,
}

impl Row<'_> {
    fn print(&self) {
        let m = self.measured;
        let (base, ratio) = match self.baseline_rate {
            Some(b) => (format!("{b:.0}"), format!("{:.0}%", 100.0 * m.rate() / b)),
            None => ("—".to_owned(), "—".to_owned()),
        };
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} | {:.0} / {:.0} |",
            self.path,
            self.connections,
            m.rate(),
            m.quantile_ms(0.5),
            m.quantile_ms(0.9),
            m.quantile_ms(0.99),
            m.quantile_ms(1.0),
            failures(m),
            self.baseline,
            base,
            ratio,
            rss::mib(self.rss_peak_kib),
            rss::mib(self.rss_after_kib),
        );
    }
}

fn failures(o: &Outcome) -> String {
    if o.failures.is_empty() {
        return "0".to_owned();
    }
    let kinds: Vec<String> = o
        .failures
        .iter()
        .map(|(f, n)| format!("{n} {f:?}"))
        .collect();
    kinds.join(", ")
}

struct Suite {
    args: SuiteArgs,
    lookup_cards: Arc<Vec<frames::Card>>,
    pin_cards: Arc<Vec<frames::Card>>,
}

impl Suite {
    fn load(&self, addr: SocketAddr, path: Path, connections: usize) -> Load {
        let cards = match path {
            Path::Information => self.pin_cards.clone(),
            _ => self.lookup_cards.clone(),
        };
        let mut load = self.args.common.load(addr, path, cards);
        load.connections = connections;
        if path == Path::Information {
            load.pin = true;
            load.expect = Some("CQY".to_owned());
            let seconds = Duration::from_secs_f64(self.args.pin_seconds);
            load.measure = seconds;
            load.warmup = seconds / 3;
        }
        load
    }

    /// One server step with its RSS peak and the RSS after it.
    async fn measure(&self, load: Load) -> (Outcome, u64, u64) {
        let sampler = Sampler::start(self.args.server_pid);
        let outcome = client::run(load).await;
        let peak = sampler.stop();
        (outcome, peak, rss::kib(self.args.server_pid))
    }

    /// The ramp of `path` against the echo and the server, ratio per step.
    async fn ramp(&self, name: &str, path: Path) {
        for &n in &self.args.ramp {
            let echo = client::run(self.load(self.args.echo, path, n)).await;
            let (measured, peak, after) = self.measure(self.load(self.args.server, path, n)).await;
            Row {
                path: name,
                connections: n,
                measured: &measured,
                baseline: "echo",
                baseline_rate: Some(echo.rate()),
                rss_peak_kib: peak,
                rss_after_kib: after,
            }
            .print();
        }
    }

    async fn pin(&self, bound: f64) {
        for n in [64, 256] {
            let (measured, peak, after) = self
                .measure(self.load(self.args.server, Path::Information, n))
                .await;
            Row {
                path: "63 right PIN",
                connections: n,
                measured: &measured,
                baseline: "argon2 bound",
                baseline_rate: Some(bound),
                rss_peak_kib: peak,
                rss_after_kib: after,
            }
            .print();
        }
        // 99 from 8 connections while 256 flood 63.
        let flood = self.load(self.args.server, Path::Information, 256);
        let mut status = self.load(self.args.server, Path::Status, 8);
        status.warmup = flood.warmup;
        status.measure = flood.measure;
        let sampler = Sampler::start(self.args.server_pid);
        let (_, during) = tokio::join!(client::run(flood), client::run(status));
        let peak = sampler.stop();
        Row {
            path: "99 during a 256-connection 63 flood",
            connections: 8,
            measured: &during,
            baseline: "—",
            baseline_rate: None,
            rss_peak_kib: peak,
            rss_after_kib: rss::kib(self.args.server_pid),
        }
        .print();
    }

    async fn pgbench(&self, command: &str) -> anyhow::Result<()> {
        let tps = pgbench_tps(command).await?;
        let mut loads = vec![self.load(self.args.server, Path::Lookup, 64)];
        if let Some(second) = self.args.server2 {
            let mut half = self.load(second, Path::Lookup, 32);
            loads[0].connections = 32;
            half.connections = 32;
            let (a, b) = tokio::join!(client::run(loads[0].clone()), client::run(half));
            let both = merge(a, b);
            let after = rss::kib(self.args.server_pid);
            Row {
                path: "23 lookup, two instances",
                connections: 64,
                measured: &both,
                baseline: "pgbench -S -M prepared -c 16",
                baseline_rate: Some(tps),
                rss_peak_kib: after,
                rss_after_kib: after,
            }
            .print();
            loads[0].connections = 64;
        }
        let (measured, peak, after) = self.measure(loads.remove(0)).await;
        Row {
            path: "23 lookup, one instance",
            connections: 64,
            measured: &measured,
            baseline: "pgbench -S -M prepared -c 16",
            baseline_rate: Some(tps),
            rss_peak_kib: peak,
            rss_after_kib: after,
        }
        .print();
        Ok(())
    }

    async fn idle(&self, source: IpAddr) {
        let mut load = self.load(self.args.server, Path::Status, 1);
        load.login = None;
        load.source = Some(source);
        let before = rss::kib(self.args.server_pid);
        let sampler = Sampler::start(self.args.server_pid);
        let count = self.args.idle_count;
        let (held, failures) = client::idle(&load, count, Duration::from_secs(5)).await;
        let peak = sampler.stop();
        println!(
            "\nidle connections: {held} of {count} held ({failures:?} failed); RSS before {:.0} MiB, peak {:.0} MiB, after closing {:.0} MiB",
            rss::mib(before),
            rss::mib(peak),
            rss::mib(rss::kib(self.args.server_pid)),
        );
    }
}

fn merge(mut a: Outcome, b: Outcome) -> Outcome {
    a.requests += b.requests;
    a.latencies_us.extend(b.latencies_us);
    a.latencies_us.sort_unstable();
    for (f, n) in b.failures {
        *a.failures.entry(f).or_default() += n;
    }
    a
}

/// Runs `command` (a pgbench) and reads its `tps = N`.
async fn pgbench_tps(command: &str) -> anyhow::Result<f64> {
    let run = command.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("sh").arg("-c").arg(run).output()
    })
    .await??;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|l| l.trim().strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no tps in the output of {command}:\n{text}"))
}

pub(crate) async fn run(args: SuiteArgs) -> anyhow::Result<()> {
    let suite = Suite {
        lookup_cards: Arc::new(frames::read_cards(&args.lookup_cards)?),
        pin_cards: Arc::new(frames::read_cards(&args.pin_cards)?),
        args,
    };
    let pid = suite.args.server_pid;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "RSS at start: {:.1} MiB; {cores} cores; AY/AZ {:?}\n",
        rss::mib(rss::kib(pid)),
        suite.args.common.ay_az
    );
    header();
    if let Some(command) = suite.args.pgbench.clone() {
        suite.pgbench(&command).await?;
    }
    let parts = &suite.args.parts;
    if parts.contains(&Part::Status) {
        suite.ramp("99 SC status", Path::Status).await;
    }
    if parts.contains(&Part::Lookup) {
        suite.ramp("23 lookup, no PIN", Path::Lookup).await;
    }
    if parts.contains(&Part::Pin) {
        let bound =
            tokio::task::spawn_blocking(move || bound::measure(cores, Duration::from_secs(5)))
                .await??;
        suite.pin(bound).await;
    }
    if parts.contains(&Part::Idle) {
        if let Some(source) = suite.args.idle_source {
            suite.idle(source).await;
        }
    }
    println!("\nRSS at the end: {:.1} MiB", rss::mib(rss::kib(pid)));
    Ok(())
}
