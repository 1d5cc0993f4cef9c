//! The standard world: the terminals of fixtures/transcripts/README.md and the patrons of
//! fixtures/demo/patrons.csv, created through the store and auth APIs with cheap hashing.

use chrono::{DateTime, Duration, Utc};
use ipnet::IpNet;
use std::sync::Arc;

use sip2auth::accounts::demo::{self, DemoPatron};
use sip2auth::auth::hashing::Hasher;
use sip2auth::auth::{
    Authenticator, DetailWithoutPin, ErrorDetection, KeyRing, NewTerminal, PatronDetail, PepperKey,
    RestrictedAnswer, TerminalSettings, Terminator,
};
use sip2auth::clock::SharedClock;
use sip2auth::config::Config;
use sip2auth::store::{CredentialHash, NewPatron, PatronStatus, Store, StoredHash};

/// Terminal password of `sc_user`.
pub const SC_USER_PASSWORD: &str = "k7Qp2vXe9LmT4wZs";
/// The 93 that logs `sc_user` in, sealed with AY0.
pub const SC_USER_LOGIN: &str = "9300CNsc_user|COk7Qp2vXe9LmT4wZs|CPBRANCH1|AY0AZF04C";

/// A terminal of the world.
pub struct TerminalSpec {
    pub login: &'static str,
    pub password: Option<&'static str>,
    pub cidrs: &'static [&'static str],
    pub login_optional: bool,
    pub allowed: &'static [&'static str],
    pub detail: PatronDetail,
    pub terminator: Terminator,
    pub error_detection: ErrorDetection,
    pub location: Option<&'static str>,
}

pub const TERMINALS: &[TerminalSpec] = &[
    TerminalSpec {
        login: "sc_user",
        password: Some(SC_USER_PASSWORD),
        cidrs: &["127.0.0.0/8"],
        login_optional: false,
        allowed: &["23", "63", "35", "01"],
        detail: PatronDetail::Full,
        terminator: Terminator::Cr,
        error_detection: ErrorDetection::Auto,
        location: Some("BRANCH1"),
    },
    TerminalSpec {
        login: "minimal",
        password: Some("m3Rv8NcY2pLq6TgH"),
        cidrs: &["127.0.0.0/8"],
        login_optional: false,
        allowed: &[],
        detail: PatronDetail::Minimal,
        terminator: Terminator::Cr,
        error_detection: ErrorDetection::Auto,
        location: None,
    },
    TerminalSpec {
        login: "strict",
        password: Some("s9Dk4WbX7nJf2QaZ"),
        cidrs: &["127.0.0.0/8"],
        login_optional: false,
        allowed: &[],
        detail: PatronDetail::Full,
        terminator: Terminator::CrLf,
        error_detection: ErrorDetection::Required,
        location: None,
    },
    TerminalSpec {
        login: "plain",
        password: Some("p5Hy8MzC3vRt6KeW"),
        cidrs: &["127.0.0.0/8"],
        login_optional: false,
        allowed: &[],
        detail: PatronDetail::Full,
        terminator: Terminator::Cr,
        error_detection: ErrorDetection::Off,
        location: None,
    },
    TerminalSpec {
        login: "lab_only",
        password: Some("l2Fx7QdN9wBs4VcM"),
        cidrs: &["127.0.0.9/32"],
        login_optional: false,
        allowed: &[],
        detail: PatronDetail::Full,
        terminator: Terminator::Cr,
        error_detection: ErrorDetection::Auto,
        location: None,
    },
    TerminalSpec {
        login: "libki",
        password: None,
        cidrs: &["127.0.0.5/32"],
        login_optional: true,
        allowed: &[],
        detail: PatronDetail::Full,
        terminator: Terminator::Cr,
        error_detection: ErrorDetection::Auto,
        location: Some("LAB"),
    },
];

/// Terminals of the world with access settings other than the defaults (each otherwise like
/// `plain`'s defaults: full detail, auto, CR, from 127.0.0.0/8): login, password, how
/// restrictions are told, and what a check without a PIN shows.
pub const ACCESS_TERMINALS: &[(&str, &str, RestrictedAnswer, DetailWithoutPin)] = &[
    (
        "pcbook",
        "b8Wq3Zr6Tn2Vy5Kp",
        RestrictedAnswer::Deny,
        DetailWithoutPin::Minimal,
    ),
    (
        "lookup",
        "u4Gd9Hs2Xc7Mb3Nf",
        RestrictedAnswer::Flags,
        DetailWithoutPin::Full,
    ),
];

/// The pepper of every test world (tests only).
pub const TEST_PEPPER: [u8; 32] = [0x5a; 32];

/// Cheap argon2id parameters: the tests are about the protocol, not hashing cost.
pub fn cheap_hashing(config: &mut Config) {
    config.security.hashing.memory_kib = 64;
    config.security.hashing.iterations = 1;
    config.security.hashing.parallelism = 1;
}

fn keys() -> KeyRing {
    KeyRing::new(1, PepperKey::from_bytes(TEST_PEPPER), Vec::new())
}

/// The authenticator tests use: the configured policy and the test pepper.
pub async fn authenticator(config: &Config, store: Store, clock: SharedClock) -> Authenticator {
    Authenticator::with_keys(store, &config.security, clock, keys())
        .await
        .expect("authenticator")
}

/// The hasher the authenticator uses (same parameters and pepper), for seeding.
pub fn hasher(config: &Config) -> Hasher {
    Hasher::new(&config.security.hashing, Arc::new(keys())).expect("hasher")
}

pub fn terminal_hash(hasher: &Hasher, secret: &str) -> StoredHash {
    let hashed = hasher.hash(secret.as_bytes()).expect("hash");
    StoredHash {
        phc: hashed.phc,
        key_id: hashed.key_id,
    }
}

fn pin_hash(hasher: &Hasher, pin: &str, default_until: Option<DateTime<Utc>>) -> CredentialHash {
    let hashed = hasher.hash(pin.as_bytes()).expect("hash");
    CredentialHash {
        phc: hashed.phc,
        key_id: hashed.key_id,
        must_change: default_until.is_some(),
        default_expires_at: default_until,
    }
}

/// Creates every terminal and patron of the world.
pub async fn seed(store: &Store, hasher: &Hasher, now: DateTime<Utc>) {
    for spec in TERMINALS {
        let mut settings = TerminalSettings::new("MAIN");
        settings.location_code = spec.location.map(str::to_owned);
        settings.allowed_cidrs = spec
            .cidrs
            .iter()
            .map(|c| c.parse::<IpNet>().expect("cidr"))
            .collect();
        settings.login_optional = spec.login_optional;
        settings.allowed_messages = spec.allowed.join(" ").parse().expect("codes");
        settings.patron_detail = spec.detail;
        settings.terminator = spec.terminator;
        settings.error_detection = spec.error_detection;
        let new = NewTerminal {
            login_id: spec.login.to_owned(),
            password: spec.password.map(|p| terminal_hash(hasher, p)),
            settings,
        };
        store
            .create_terminal(&new.row())
            .await
            .expect("terminal created");
    }
    for (login, password, restricted, detail_without_pin) in ACCESS_TERMINALS {
        let mut settings = TerminalSettings::new("MAIN");
        settings.allowed_cidrs = vec!["127.0.0.0/8".parse().expect("cidr")];
        settings.restricted = *restricted;
        settings.detail_without_pin = *detail_without_pin;
        let new = NewTerminal {
            login_id: (*login).to_owned(),
            password: Some(terminal_hash(hasher, password)),
            settings,
        };
        store
            .create_terminal(&new.row())
            .await
            .expect("terminal created");
    }
    for patron in demo::patrons().expect("demo patrons") {
        create_patron(&patron, store, hasher, now).await;
    }
}

/// Creates one demo patron directly through the store, with the test's cheap hashing and its
/// fixed clock (the fixture day, so dates stay as the file writes them).
async fn create_patron(patron: &DemoPatron, store: &Store, hasher: &Hasher, now: DateTime<Utc>) {
    let default_until = patron.default_pin.then(|| now + Duration::days(14));
    let new = NewPatron {
        institution: "MAIN".into(),
        card_number: patron.card_number.clone(),
        details: patron.details(now.date_naive()).expect("demo details"),
        pin: patron.pin().map(|pin| pin_hash(hasher, pin, default_until)),
        password: None,
    };
    let id = store.create_patron(&new).await.expect("patron created");
    let status = patron.status();
    if status != PatronStatus::Active {
        store.set_status(id, &status).await.expect("status");
    }
    if patron.card_lost() {
        store
            .mark_card_lost("MAIN", &patron.card_number, true)
            .await
            .expect("card lost");
    }
}
