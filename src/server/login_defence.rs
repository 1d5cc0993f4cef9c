//! The login defence: throttles failed 93 logins without locking out good terminals.
//!
//! Owns: the in-memory token buckets of failed logins per (source address, login id) and per
//! source address, their penalties, and the login ids known to have logged in from an address.
//! Settings are `[server.login_defence]` (see `config/login_defence.rs` for the model). Time
//! comes from the server's clock so tests can move it. Must not import `sip2`, `auth` or
//! `store`: the defence knows addresses and login ids, not messages or secrets.
//!
//! Why two buckets: all self-checks of a branch usually reach the server from one NAT address, so
//! one misconfigured machine must not shut out its neighbours (its own bucket empties, theirs do
//! not); a guesser cycling login ids from one address is caught by the address bucket. A login id
//! that logged in from an address is exempt from that address's penalty, so a guesser beside a
//! working terminal does not stop it.
//!
//! Login ids are kept only as keyed hashes: nothing from the wire is stored, and the memory per
//! source is fixed whatever a client sends.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use super::limits::lock;
use crate::clock::SharedClock;
use crate::config::server::LoginDefenceConfig;

/// Beyond this many tracked sources, idle ones are swept on the next failure.
const SWEEP_ABOVE_SOURCES: usize = 8192;

/// Whose failures started a penalty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PenaltyScope {
    /// One login id from one address.
    Login,
    /// Every login id from one address.
    Address,
}

impl PenaltyScope {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PenaltyScope::Login => "login",
            PenaltyScope::Address => "address",
        }
    }
}

/// A penalty just started: the caller logs it (and counts it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Penalty {
    pub(crate) scope: PenaltyScope,
    pub(crate) length: std::time::Duration,
}

/// May a login be checked now?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Check the secret.
    Check,
    /// Answer 940 without checking; `started` is set when this attempt began the penalty.
    Penalised { started: Option<Penalty> },
}

/// A login id as the defence keeps it: a hash keyed per process.
type LoginKey = u64;

/// A token bucket with the penalty it leads to.
#[derive(Debug)]
struct Source {
    tokens: f64,
    updated: DateTime<Utc>,
    penalty_until: Option<DateTime<Utc>>,
    /// The length of the last penalty, doubled for the next one.
    last_penalty: Option<Duration>,
}

/// How one kind of bucket fills.
#[derive(Debug, Clone, Copy)]
struct Rate {
    burst: u32,
    refill: Duration,
}

impl Source {
    fn new(rate: Rate, now: DateTime<Utc>) -> Source {
        Source {
            tokens: f64::from(rate.burst),
            updated: now,
            penalty_until: None,
            last_penalty: None,
        }
    }

    fn refill(&mut self, rate: Rate, now: DateTime<Utc>) {
        let elapsed = (now - self.updated).num_milliseconds().max(0) as f64;
        let per_token = rate.refill.num_milliseconds().max(1) as f64;
        self.tokens = (self.tokens + elapsed / per_token).min(f64::from(rate.burst));
        self.updated = now;
    }

    fn penalised(&self, now: DateTime<Utc>) -> bool {
        self.penalty_until.is_some_and(|until| now < until)
    }

    /// A refused attempt during a penalty keeps the bucket empty, so a guesser that goes on
    /// finds it empty when the penalty ends and is penalised again, for longer.
    fn drain(&mut self) {
        self.tokens = 0.0;
    }

    fn start_penalty(&mut self, settings: &Settings, now: DateTime<Utc>) -> Duration {
        // A source quiet for `penalty_max` since its last penalty starts again from the first.
        if self
            .penalty_until
            .is_some_and(|until| now - until >= settings.penalty_max)
        {
            self.last_penalty = None;
        }
        let length = match self.last_penalty {
            Some(last) => (last * 2).min(settings.penalty_max),
            None => settings.penalty,
        };
        self.penalty_until = Some(now + length);
        self.last_penalty = Some(length);
        self.tokens = 0.0;
        length
    }

    /// Idle long enough to be forgotten: full bucket, no penalty history.
    fn is_idle(&self, rate: Rate, settings: &Settings, now: DateTime<Utc>) -> bool {
        let since = now - self.updated;
        let refilled = rate.refill * i32::try_from(rate.burst).unwrap_or(i32::MAX);
        !self.penalised(now) && since >= settings.penalty_max && since >= refilled
    }
}

#[derive(Debug)]
struct Settings {
    login: Rate,
    address: Rate,
    penalty: Duration,
    penalty_max: Duration,
    known_good_for: Duration,
}

#[derive(Debug, Default)]
struct State {
    logins: HashMap<(IpAddr, LoginKey), Source>,
    addresses: HashMap<IpAddr, Source>,
    known_good: HashMap<(IpAddr, LoginKey), DateTime<Utc>>,
}

/// Failed-login throttling for one server instance.
#[derive(Debug)]
pub(crate) struct LoginDefence {
    settings: Settings,
    keys: RandomState,
    state: Mutex<State>,
    clock: SharedClock,
}

impl LoginDefence {
    pub(crate) fn new(config: &LoginDefenceConfig, clock: SharedClock) -> LoginDefence {
        let rate = |burst: u32, refill| Rate {
            burst,
            refill: to_chrono(refill),
        };
        LoginDefence {
            settings: Settings {
                login: rate(config.per_login_burst, config.per_login_refill),
                address: rate(config.per_address_burst, config.per_address_refill),
                penalty: to_chrono(config.penalty),
                penalty_max: to_chrono(config.penalty_max),
                known_good_for: to_chrono(config.known_good_for),
            },
            keys: RandomState::new(),
            state: Mutex::default(),
            clock,
        }
    }

    /// Before a login is checked: may its secret be verified?
    pub(crate) fn admit(&self, address: IpAddr, login_id: &[u8]) -> Admission {
        let now = self.clock.now();
        let key = (address, self.keys.hash_one(login_id));
        let settings = &self.settings;
        let mut state = lock(&self.state);
        let known_good = state
            .known_good
            .get(&key)
            .is_some_and(|at| now - *at < settings.known_good_for);
        if let Some(login) = state.logins.get_mut(&key) {
            if let Some(admission) = gate(login, settings.login, PenaltyScope::Login, settings, now)
            {
                return admission;
            }
        }
        if known_good {
            return Admission::Check;
        }
        match state.addresses.get_mut(&address) {
            Some(source) => gate(
                source,
                settings.address,
                PenaltyScope::Address,
                settings,
                now,
            )
            .unwrap_or(Admission::Check),
            None => Admission::Check,
        }
    }

    /// After a secret was checked and was wrong.
    pub(crate) fn record_failure(&self, address: IpAddr, login_id: &[u8]) {
        let now = self.clock.now();
        let key = (address, self.keys.hash_one(login_id));
        let settings = &self.settings;
        let mut state = lock(&self.state);
        if state.logins.len() + state.addresses.len() > SWEEP_ABOVE_SOURCES {
            sweep(&mut state, settings, now);
        }
        let login = state
            .logins
            .entry(key)
            .or_insert_with(|| Source::new(settings.login, now));
        spend(login, settings.login, now);
        let source = state
            .addresses
            .entry(address)
            .or_insert_with(|| Source::new(settings.address, now));
        spend(source, settings.address, now);
    }

    /// After a login succeeded: this login id is known good from this address.
    pub(crate) fn record_success(&self, address: IpAddr, login_id: &[u8]) {
        let now = self.clock.now();
        let key = (address, self.keys.hash_one(login_id));
        let mut state = lock(&self.state);
        state.known_good.insert(key, now);
        state.logins.remove(&key);
    }
}

/// Refuses an attempt while `source` is penalised, or starts a penalty when its bucket is empty
/// (the failures before it used the burst up).
/// `None` means the bucket lets the attempt through.
fn gate(
    source: &mut Source,
    rate: Rate,
    scope: PenaltyScope,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Option<Admission> {
    if source.penalised(now) {
        source.refill(rate, now);
        source.drain();
        return Some(Admission::Penalised { started: None });
    }
    source.refill(rate, now);
    if source.tokens >= 1.0 {
        return None;
    }
    let length = source.start_penalty(settings, now);
    Some(Admission::Penalised {
        started: Some(penalty(scope, length)),
    })
}

/// Takes one failure from `source`'s bucket. An emptied bucket does not refuse this failure
/// (it was checked already) but the next attempt, in [`gate`].
fn spend(source: &mut Source, rate: Rate, now: DateTime<Utc>) {
    source.refill(rate, now);
    source.tokens = (source.tokens - 1.0).max(0.0);
}

fn penalty(scope: PenaltyScope, length: Duration) -> Penalty {
    Penalty {
        scope,
        length: length.to_std().unwrap_or_default(),
    }
}

fn sweep(state: &mut State, settings: &Settings, now: DateTime<Utc>) {
    state
        .logins
        .retain(|_, source| !source.is_idle(settings.login, settings, now));
    state
        .addresses
        .retain(|_, source| !source.is_idle(settings.address, settings, now));
    state
        .known_good
        .retain(|_, at| now - *at < settings.known_good_for);
}

fn to_chrono(duration: std::time::Duration) -> Duration {
    Duration::from_std(duration).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;

    fn defence() -> (LoginDefence, Arc<ManualClock>) {
        let start = DateTime::from_timestamp(1_741_944_600, 0).expect("valid timestamp");
        let clock = Arc::new(ManualClock::new(start));
        let defence = LoginDefence::new(&LoginDefenceConfig::default(), clock.clone());
        (defence, clock)
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    /// One wrong login as the session makes it: admitted and checked, or penalised.
    fn fail(defence: &LoginDefence, address: IpAddr, login: &[u8]) -> bool {
        match defence.admit(address, login) {
            Admission::Check => {
                defence.record_failure(address, login);
                true
            }
            Admission::Penalised { .. } => false,
        }
    }

    #[test]
    fn a_burst_of_ten_failures_passes_and_the_eleventh_is_penalised() {
        let (defence, _) = defence();
        for attempt in 1..=10 {
            assert!(
                fail(&defence, ip(1), b"sc1"),
                "attempt {attempt} is checked"
            );
        }
        assert_eq!(
            defence.admit(ip(1), b"sc1"),
            Admission::Penalised {
                started: Some(Penalty {
                    scope: PenaltyScope::Login,
                    length: std::time::Duration::from_secs(60),
                })
            }
        );
    }

    #[test]
    fn eight_bad_logins_then_a_good_one_is_checked() {
        let (defence, _) = defence();
        for client in 0..8u8 {
            assert!(fail(&defence, ip(1), &[b'a' + client]));
        }
        assert_eq!(defence.admit(ip(1), b"sc_user"), Admission::Check);
    }

    #[test]
    fn ten_failures_of_one_login_do_not_stop_another_login_from_that_address() {
        let (defence, _) = defence();
        for _ in 0..10 {
            fail(&defence, ip(1), b"broken");
        }
        assert!(matches!(
            defence.admit(ip(1), b"broken"),
            Admission::Penalised { .. }
        ));
        assert_eq!(defence.admit(ip(1), b"good"), Admission::Check);
    }

    #[test]
    fn a_client_retrying_every_30_seconds_is_never_penalised() {
        let (defence, clock) = defence();
        for attempt in 0..2_000 {
            assert!(
                fail(&defence, ip(1), b"sc1"),
                "attempt {attempt} is checked"
            );
            clock.advance(Duration::seconds(30));
        }
    }

    #[test]
    fn a_brute_force_is_stopped_within_20_failures_and_stays_stopped() {
        let (defence, clock) = defence();
        let mut checked = 0;
        // 100 attempts a minute for 30 minutes, a new login id each time.
        for attempt in 0u32..3_000 {
            if fail(&defence, ip(1), &attempt.to_be_bytes()) {
                checked += 1;
            }
            if attempt == 19 {
                assert!(checked <= 20);
            }
            clock.advance(Duration::milliseconds(600));
        }
        assert_eq!(checked, 15, "nothing is checked once the burst is used up");
    }

    #[test]
    fn a_login_that_succeeded_from_an_address_passes_its_penalty() {
        let (defence, _) = defence();
        defence.record_success(ip(1), b"sc_user");
        for attempt in 0u32..40 {
            fail(&defence, ip(1), &attempt.to_be_bytes());
        }
        assert!(matches!(
            defence.admit(ip(1), b"newcomer"),
            Admission::Penalised { .. }
        ));
        assert_eq!(defence.admit(ip(1), b"sc_user"), Admission::Check);
        assert_eq!(defence.admit(ip(2), b"newcomer"), Admission::Check);
    }

    #[test]
    fn penalties_double_on_repeat_up_to_the_cap_and_are_forgotten_after_quiet() {
        let (defence, clock) = defence();
        let mut lengths = Vec::new();
        for _ in 0..9 {
            loop {
                match defence.admit(ip(1), b"sc1") {
                    Admission::Check => defence.record_failure(ip(1), b"sc1"),
                    Admission::Penalised { started } => {
                        let started = started.expect("the first refusal starts it");
                        lengths.push(started.length.as_secs());
                        clock.advance(Duration::from_std(started.length).expect("short"));
                        break;
                    }
                }
            }
        }
        assert_eq!(lengths, [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        clock.advance(Duration::hours(2));
        for _ in 0..10 {
            fail(&defence, ip(1), b"sc1");
        }
        let Admission::Penalised { started } = defence.admit(ip(1), b"sc1") else {
            panic!("the burst is used up");
        };
        assert_eq!(started.map(|p| p.length.as_secs()), Some(60));
    }
}
