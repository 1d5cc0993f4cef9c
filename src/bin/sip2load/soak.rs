//! The endurance run: lockstep connections mixing 99, 23 and 63 with right and wrong PINs across
//! many cards (so locks set and lift), each connection closed and reopened every `churn`
//! requests. Every minute one CSV line: requests, errors (answers that fail their checks, or a
//! connection lost), 63 answers with CQ=Y and CQ=N (the intended refusals: wrong PINs and locked
//! cards), and the server's RSS.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use rand::{Rng, SeedableRng};

use crate::client::{Connection, Load};
use crate::frames::{self, Card, Failure, Path};
use crate::{rss, Common};

#[derive(Args)]
pub(crate) struct SoakArgs {
    #[arg(long)]
    server: SocketAddr,
    #[arg(long)]
    server_pid: u32,
    /// `card,pin` per line (the right PINs).
    #[arg(long)]
    cards: PathBuf,
    #[arg(long, default_value_t = 64)]
    connections: usize,
    #[arg(long, default_value_t = 60)]
    minutes: u64,
    /// Requests per connection before it is closed and reopened.
    #[arg(long, default_value_t = 500)]
    churn: u64,
    /// Share of 63s sent with a wrong PIN.
    #[arg(long, default_value_t = 0.1)]
    wrong_share: f64,
    #[command(flatten)]
    common: Common,
}

#[derive(Default)]
struct Counts {
    requests: AtomicU64,
    errors: AtomicU64,
    accepted: AtomicU64,
    refused: AtomicU64,
    reconnects: AtomicU64,
}

/// What a request of the mix is.
#[derive(Clone, Copy)]
enum Kind {
    Status,
    Lookup,
    RightPin,
    WrongPin,
}

fn pick(rng: &mut impl Rng, wrong_share: f64) -> Kind {
    let x: f64 = rng.gen();
    if x < 0.3 {
        Kind::Status
    } else if x < 0.6 {
        Kind::Lookup
    } else if x < 1.0 - 0.4 * wrong_share.clamp(0.0, 1.0) {
        Kind::RightPin
    } else {
        Kind::WrongPin
    }
}

/// A wrong PIN for `card`: its right one with the last digit changed.
fn wrong(card: &Card) -> Card {
    let mut pin = card.pin.clone().unwrap_or_else(|| "0000".to_owned());
    let last = pin.pop().unwrap_or('0');
    pin.push(if last == '9' { '0' } else { '9' });
    Card {
        number: card.number.clone(),
        pin: Some(pin),
    }
}

pub(crate) async fn run(args: SoakArgs) -> anyhow::Result<()> {
    let cards = Arc::new(frames::read_cards(&args.cards)?);
    let mut load = args.common.load(args.server, Path::Status, cards.clone());
    load.connections = args.connections;
    let load = Arc::new(load);
    let counts = Arc::new(Counts::default());
    let end = Instant::now() + Duration::from_secs(args.minutes * 60);
    for index in 0..args.connections {
        let (load, counts, cards) = (load.clone(), counts.clone(), cards.clone());
        let (churn, wrong_share) = (args.churn, args.wrong_share);
        tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(index as u64);
            while Instant::now() < end {
                connection(&load, &counts, &cards, churn, wrong_share, &mut rng, end).await;
                counts.reconnects.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    println!("minute,requests,errors,cq_y,cq_n,reconnects,rss_mib");
    let mut ticks = tokio::time::interval(Duration::from_secs(60));
    ticks.tick().await;
    for minute in 1..=args.minutes {
        ticks.tick().await;
        let take = |c: &AtomicU64| c.swap(0, Ordering::Relaxed);
        println!(
            "{minute},{},{},{},{},{},{:.1}",
            take(&counts.requests),
            take(&counts.errors),
            take(&counts.accepted),
            take(&counts.refused),
            take(&counts.reconnects),
            rss::mib(rss::kib(args.server_pid)),
        );
    }
    Ok(())
}

/// One connection's life: a 93, then `churn` requests of the mix.
async fn connection(
    load: &Load,
    counts: &Counts,
    cards: &[Card],
    churn: u64,
    wrong_share: f64,
    rng: &mut rand::rngs::StdRng,
    end: Instant,
) {
    let Ok(mut conn) = Connection::open(load).await else {
        counts.errors.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(100)).await;
        return;
    };
    for _ in 0..churn {
        if Instant::now() >= end {
            return;
        }
        let card = &cards[rng.gen_range(0..cards.len())];
        let kind = pick(rng, wrong_share);
        let (path, card, pin) = match kind {
            Kind::Status => (Path::Status, card.clone(), false),
            Kind::Lookup => (Path::Lookup, card.clone(), false),
            Kind::RightPin => (Path::Information, card.clone(), true),
            Kind::WrongPin => (Path::Information, wrong(card), true),
        };
        let body = frames::request(path, &load.institution, &card, pin);
        let answered = conn.exchange(load, &body, path.answer_code(), None).await;
        counts.requests.fetch_add(1, Ordering::Relaxed);
        match answered {
            Ok(answer) if path == Path::Information => {
                let accepted = answer.windows(4).any(|w| w == b"|CQY");
                let counter = if accepted {
                    &counts.accepted
                } else {
                    &counts.refused
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
            Ok(_) => {}
            Err(failure) => {
                counts.errors.fetch_add(1, Ordering::Relaxed);
                if matches!(failure, Failure::Closed | Failure::Timeout) {
                    return;
                }
            }
        }
    }
}
