//! sip2load: the load generator of the benchmarks (BENCHMARKS.md, "Load"), with its own echo
//! baseline. Lockstep SIP2 connections (a 93 first or not), 99, 23 or 63 with cards cycled from
//! a file, AY/AZ on or off, every answer's code, CR and checksum checked; latencies as
//! p50/p90/p99/max; the argon2 bound of this machine; the server's RSS. `suite` measures the
//! whole table with each figure as a ratio to a baseline of the same run.
//!
//! A benchmark tool, not part of the server: uses the library only for the SIP2 checksum and the
//! default argon2 parameters.

#![forbid(unsafe_code)]

mod bound;
mod client;
mod echo;
mod frames;
mod rss;
mod soak;
mod suite;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use client::Load;
use frames::Path;

/// 93s a run sends at once (see `Load::logins`).
const LOGINS_AT_ONCE: usize = 8;

#[derive(Parser)]
#[command(name = "sip2load", about = "SIP2 load generator and echo baseline")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The baseline: answer every frame with a fixed valid frame, without parsing.
    Echo {
        #[arg(long, default_value = "127.0.0.1:6100")]
        listen: SocketAddr,
    },
    /// One run against one address; prints one line.
    Run(RunArgs),
    /// The argon2 bound: verifications per second on every core at the default parameters.
    Bound {
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
    /// The whole table: ramps against the server and the echo, the argon2 bound, the PIN
    /// flood, 99 under the flood, idle connections; every figure as a ratio.
    Suite(suite::SuiteArgs),
    /// The endurance run: a mix of 99, 23 and 63 (right and wrong PINs) with connection churn;
    /// a CSV line per minute with errors and the server's RSS.
    Soak(soak::SoakArgs),
}

#[derive(Args, Clone)]
pub(crate) struct Common {
    /// Terminal `login:password` for a 93 on each connection (none: no 93).
    #[arg(long)]
    login: Option<String>,
    #[arg(long, default_value = "MAIN")]
    institution: String,
    /// AY/AZ on every request, checked on every answer.
    #[arg(long, default_value = "on")]
    ay_az: OnOff,
    #[arg(long, default_value_t = 1.0)]
    warmup_seconds: f64,
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    #[arg(long, default_value_t = 30.0)]
    timeout_seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OnOff {
    On,
    Off,
}

#[derive(Args)]
struct RunArgs {
    #[arg(long)]
    addr: SocketAddr,
    #[arg(long, default_value_t = 64)]
    connections: usize,
    #[arg(long, value_enum)]
    path: Path,
    /// `card[,pin]` per line.
    #[arg(long)]
    cards: PathBuf,
    /// Send AD from the cards file.
    #[arg(long)]
    pin: bool,
    /// A field every answer must carry, e.g. CQY.
    #[arg(long)]
    expect: Option<String>,
    /// Connect from this local address.
    #[arg(long)]
    source: Option<IpAddr>,
    #[command(flatten)]
    common: Common,
}

impl Common {
    pub(crate) fn load(&self, addr: SocketAddr, path: Path, cards: Arc<Vec<frames::Card>>) -> Load {
        Load {
            addr,
            source: None,
            connections: 1,
            path,
            login: self
                .login
                .as_deref()
                .and_then(|l| l.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned()))),
            institution: self.institution.clone(),
            cards,
            pin: false,
            error_detection: self.ay_az == OnOff::On,
            expect: None,
            warmup: Duration::from_secs_f64(self.warmup_seconds),
            measure: Duration::from_secs_f64(self.seconds),
            request_timeout: Duration::from_secs_f64(self.timeout_seconds),
            logins: Arc::new(tokio::sync::Semaphore::new(LOGINS_AT_ONCE)),
        }
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Echo { listen } => Ok(echo::serve(listen).await?),
            Command::Bound { seconds } => {
                let threads = std::thread::available_parallelism().map_or(1, usize::from);
                let rate = tokio::task::spawn_blocking(move || {
                    bound::measure(threads, Duration::from_secs(seconds))
                })
                .await??;
                println!("argon2 bound: {rate:.1}/s on {threads} threads");
                Ok(())
            }
            Command::Run(args) => {
                let cards = Arc::new(frames::read_cards(&args.cards)?);
                let mut load = args.common.load(args.addr, args.path, cards);
                load.connections = args.connections;
                load.pin = args.pin;
                load.expect = args.expect;
                load.source = args.source;
                let outcome = client::run(load).await;
                println!("{}", suite::line(&outcome));
                Ok(())
            }
            Command::Suite(args) => suite::run(args).await,
            Command::Soak(args) => soak::run(args).await,
        }
    })
}
