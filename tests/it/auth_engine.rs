//! The authentication engine against a real database, each test on SQLite and on PostgreSQL
//! (SECURITY.md §2 items 1-3, 10-19 and 25; the race of item 12 is in `auth_race.rs`).
//! Most tests use cheap argon2 parameters (m=64 KiB, t=1): they are about decisions, not cost.
//! Item 15 uses the defaults and checks the PHC string.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use secrecy::SecretString;
use sip2auth::auth::{
    Authenticator, BudgetAction, Chosen, CredentialVerdict, KeyRing, NewCredential, NewTerminal,
    PasswordContext, PasswordRejection, PatronCredential, PepperKey, PinContext, PinRejection,
    Presented, Rejection, TerminalDecision, TerminalProfile, TerminalRefusal, TerminalSettings,
};
use sip2auth::clock::ManualClock;
use sip2auth::config::security::SecurityConfig;
use sip2auth::store::testing::TempDb;
use sip2auth::store::{CredentialHash, NewPatron, PatronDetails, PatronId, PersonName, Store};

const INSTITUTION: &str = "MAIN";
const TERMINAL_SECRET: &str = "term-secret-XYZ-0123456789abcdef";
const PIN: &str = "493817";

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_741_944_600, 0).unwrap()
}

/// Cheap argon2 parameters: these tests are about decisions, not cost.
fn cheap() -> SecurityConfig {
    let mut config = SecurityConfig::default();
    config.hashing.memory_kib = 64;
    config.hashing.iterations = 1;
    config
}

fn key(byte: u8) -> PepperKey {
    PepperKey::from_bytes([byte; 32])
}

fn ring(byte: u8) -> KeyRing {
    KeyRing::new(1, key(byte), vec![])
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

fn given(s: &str) -> Presented {
    Presented::Given(secret(s))
}

struct Harness {
    store: Store,
    auth: Authenticator,
    clock: Arc<ManualClock>,
    terminal: TerminalProfile,
}

async fn harness_with(store: Store, config: &SecurityConfig, keys: KeyRing) -> Harness {
    let clock = Arc::new(ManualClock::new(start()));
    let auth = Authenticator::with_keys(store.clone(), config, clock.clone(), keys)
        .await
        .unwrap();
    let login_id = "selfcheck-1";
    if store.terminal_by_login(login_id).await.unwrap().is_none() {
        let hash = auth
            .hash_terminal_password(&secret(TERMINAL_SECRET))
            .await
            .unwrap();
        let mut settings = TerminalSettings::new(INSTITUTION);
        settings.allowed_cidrs = vec!["127.0.0.0/8".parse().unwrap()];
        store
            .create_terminal(
                &NewTerminal {
                    login_id: login_id.into(),
                    password: hash,
                    settings,
                }
                .row(),
            )
            .await
            .unwrap();
    }
    let decision = auth
        .login_terminal(
            login_id,
            &secret(TERMINAL_SECRET),
            &plain_peer("127.0.0.1".parse().unwrap()),
        )
        .await
        .unwrap();
    let TerminalDecision::Accepted(terminal) = decision else {
        panic!("terminal login refused: {decision:?}");
    };
    Harness {
        store,
        auth,
        clock,
        terminal,
    }
}

async fn harness(db: &TempDb, config: &SecurityConfig) -> Harness {
    harness_with(db.store().clone(), config, ring(1)).await
}

fn details(phone: Option<&str>) -> PatronDetails {
    PatronDetails {
        name: PersonName::new("Hamilton", "Margaret"),
        email: Some("mhamilton@example.org".into()),
        phone: phone.map(str::to_owned),
        birth_date: NaiveDate::from_ymd_opt(1987, 3, 14),
        patron_class: Some("adult".into()),
        home_library: Some("central".into()),
        expires_on: NaiveDate::from_ymd_opt(2030, 1, 1),
        fines_owed_minor: 0,
        fee_limit_minor: Some(1000),
        currency: "EUR".parse().unwrap(),
    }
}

impl Harness {
    async fn hashed_pin(&self, pin: &str) -> CredentialHash {
        match self
            .auth
            .hash_pin(&secret(pin), &PinContext::default(), None)
            .await
            .unwrap()
        {
            NewCredential::Hashed(h) => h,
            other => panic!("PIN not hashed: {other:?}"),
        }
    }

    async fn patron(&self, card: &str, pin: Option<CredentialHash>) -> PatronId {
        self.store
            .create_patron(&NewPatron {
                institution: INSTITUTION.into(),
                card_number: card.into(),
                details: details(Some("+44 20 7946 0958")),
                pin,
                password: None,
            })
            .await
            .unwrap()
    }

    async fn patron_with_pin(&self, card: &str) -> PatronId {
        let pin = self.hashed_pin(PIN).await;
        self.patron(card, Some(pin)).await
    }

    async fn check(&self, card: &str, presented: Presented) -> CredentialVerdict {
        self.auth
            .check_patron(&self.terminal, card, presented)
            .await
            .unwrap()
            .credential
    }

    async fn failures(&self, id: PatronId) -> u32 {
        self.store
            .get_patron(id)
            .await
            .unwrap()
            .unwrap()
            .pin_lock
            .failures
    }

    async fn pin_phc(&self, id: PatronId) -> CredentialHash {
        self.store
            .get_patron(id)
            .await
            .unwrap()
            .unwrap()
            .pin
            .unwrap()
    }
}

// Item 1: malformed PINs are refused when set, and are simply wrong (no crash) at verify time.
async fn malformed_pins_are_refused_when_set_and_wrong_at_verify_time(db: TempDb) {
    let mut config = cheap();
    config.lockout.pin_temporary_threshold = 100;
    config.lockout.pin_hard_threshold = 100;
    let h = harness(&db, &config).await;
    h.patron_with_pin("2900001").await;
    let long_ad = "9".repeat(2048);
    for pin in [
        "123",
        "1234567890123",
        "12a4",
        " 1234",
        "1234 ",
        "١٢٣٤",
        "１２３４",
        "-123",
        "+1234",
        "12\u{0}4",
        long_ad.as_str(),
    ] {
        let set = h
            .auth
            .hash_pin(&secret(pin), &PinContext::default(), None)
            .await
            .unwrap();
        assert!(
            matches!(set, NewCredential::Rejected(_)),
            "{pin:?} accepted when set"
        );
        assert_eq!(
            h.check("2900001", given(pin)).await,
            CredentialVerdict::WrongCredential
        );
    }
    let empty = h
        .auth
        .hash_pin(&secret(""), &PinContext::default(), None)
        .await
        .unwrap();
    assert!(matches!(
        empty,
        NewCredential::Rejected(Rejection::Pin(PinRejection::NotDigits))
    ));
    assert_eq!(
        h.check("2900001", given(PIN)).await,
        CredentialVerdict::Valid
    );
}

// Item 2 (engine half; the table itself is unit-tested in pin_rules): personal details and the
// previous PIN, which is only known by verifying against its hash.
async fn personal_details_and_the_previous_pin_are_refused(db: TempDb) {
    let h = harness(&db, &cheap()).await;
    let current = h.hashed_pin(PIN).await;
    let context = PinContext {
        card: Some("29000104938271"),
        phone: None,
        birth_date: NaiveDate::from_ymd_opt(1987, 3, 14),
    };
    for (pin, why) in [
        ("8271", PinRejection::CardDigits),
        ("1987", PinRejection::BirthDate),
        ("1403", PinRejection::BirthDate),
        ("0314", PinRejection::BirthDate),
        (PIN, PinRejection::PreviousPin),
    ] {
        let out = h
            .auth
            .hash_pin(&secret(pin), &context, Some(&current))
            .await
            .unwrap();
        assert_eq!(out, NewCredential::Rejected(Rejection::Pin(why)), "{pin}");
    }
    for pin in ["4931", "2749"] {
        let out = h
            .auth
            .hash_pin(&secret(pin), &context, Some(&current))
            .await
            .unwrap();
        assert!(matches!(out, NewCredential::Hashed(_)), "{pin}");
    }
}

// Item 3: password length, blocklist, NFKC equivalence, no truncation, different from the PIN.
async fn passwords_are_normalised_checked_and_never_truncated(db: TempDb) {
    let h = harness(&db, &cheap()).await;
    let none = PasswordContext::default();
    let hash = |pw: &str| {
        let (auth, pw) = (h.auth.clone(), secret(pw));
        async move {
            auth.hash_password(&pw, &PasswordContext::default(), None)
                .await
                .unwrap()
        }
    };
    assert!(matches!(hash("Xk7#pQ2").await, NewCredential::Rejected(_)));
    assert!(matches!(hash("Xk7#pQ2m").await, NewCredential::Hashed(_)));
    assert!(matches!(
        hash(&"Aa1!".repeat(33)).await,
        NewCredential::Rejected(_)
    ));
    let NewCredential::Rejected(common) = hash("Password1!").await else {
        panic!("Password1! accepted");
    };
    assert!(common.to_string().contains("too common"), "{common}");

    let NewCredential::Hashed(password) = h
        .auth
        .hash_password(&secret("ﬁsh-Tank-42x"), &none, None)
        .await
        .unwrap()
    else {
        panic!("password not hashed");
    };
    let pin = h.hashed_pin(PIN).await;
    let id = h.patron("2900002", Some(pin.clone())).await;
    h.store.set_password_hash(id, &password).await.unwrap();
    let check = |pw: &str| {
        let (auth, pw) = (h.auth.clone(), given(pw));
        async move {
            auth.check_password(INSTITUTION, "2900002", pw)
                .await
                .unwrap()
                .credential
        }
    };
    assert_eq!(check("ﬁsh-Tank-42x").await, CredentialVerdict::Valid);
    assert_eq!(check("fish-Tank-42x").await, CredentialVerdict::Valid);
    assert_eq!(
        check("fish-Tank-42y").await,
        CredentialVerdict::WrongCredential
    );
    assert_eq!(
        check("fish-Tank-42").await,
        CredentialVerdict::WrongCredential
    );

    let relaxed = {
        let mut c = cheap();
        c.password.require_composition = false;
        c.password.reject_common = false;
        c.password.min_length = 4;
        c
    };
    let h2 = harness_with(h.store.clone(), &relaxed, ring(1)).await;
    let same = h2
        .auth
        .hash_password(&secret(PIN), &none, Some(&pin))
        .await
        .unwrap();
    assert_eq!(
        same.to_string_reason(),
        Some("Password must be different from your PIN".into())
    );
}

trait Reason {
    fn to_string_reason(&self) -> Option<String>;
}

impl Reason for NewCredential {
    fn to_string_reason(&self) -> Option<String> {
        match self {
            NewCredential::Rejected(r) => Some(r.to_string()),
            _ => None,
        }
    }
}

// Item 10: five wrong PINs lock for 15 minutes; the correct PIN is refused meanwhile and the
// counter kept; after the lock the correct PIN works and resets the counter.
async fn five_wrong_pins_lock_for_fifteen_minutes(db: TempDb) {
    let h = harness(&db, &cheap()).await;
    let id = h.patron_with_pin("2900003").await;
    for _ in 0..5 {
        assert_eq!(
            h.check("2900003", given("2749")).await,
            CredentialVerdict::WrongCredential
        );
    }
    let until = start() + Duration::minutes(15);
    let locked = CredentialVerdict::Locked { until: Some(until) };
    assert_eq!(h.check("2900003", given(PIN)).await, locked);
    assert_eq!(h.failures(id).await, 5);
    h.clock.advance(Duration::minutes(14));
    assert_eq!(h.check("2900003", given(PIN)).await, locked);
    h.clock.advance(Duration::minutes(1) + Duration::seconds(1));
    assert_eq!(
        h.check("2900003", given(PIN)).await,
        CredentialVerdict::Valid
    );
    assert_eq!(h.failures(id).await, 0);
    let audit = h.store.list_audit(&Default::default()).await.unwrap();
    assert!(audit.iter().any(|a| a.entry.outcome == "locked"
        && a.entry.card_pseudonym.as_deref() == Some(h.auth.pseudonym("2900003").as_str())));
}

// Item 11: ten consecutive wrong PINs across temporary locks set the hard lock, which only an
// unlock (reset or staff) clears; the patron notification is queued.
async fn ten_wrong_pins_hard_lock_until_unlocked(db: TempDb) {
    let h = harness(&db, &cheap()).await;
    let id = h.patron_with_pin("2900004").await;
    for round in 0..2 {
        for _ in 0..5 {
            assert_eq!(
                h.check("2900004", given("2749")).await,
                CredentialVerdict::WrongCredential
            );
        }
        if round == 0 {
            h.clock.advance(Duration::minutes(16));
        }
    }
    h.clock.advance(Duration::days(3));
    let hard = CredentialVerdict::Locked { until: None };
    assert_eq!(h.check("2900004", given(PIN)).await, hard);
    let audit = h.store.list_audit(&Default::default()).await.unwrap();
    assert!(audit.iter().any(|a| a.entry.outcome == "hard_locked"));
    assert!(audit
        .iter()
        .any(|a| a.entry.action == "patron_notification" && a.entry.outcome == "queued"));
    h.store.unlock(id).await.unwrap();
    assert_eq!(
        h.check("2900004", given(PIN)).await,
        CredentialVerdict::Valid
    );
}

// §1.2: an absent or empty PIN, and an unknown card, never touch the patron's counter.
async fn absent_and_empty_pins_are_not_failures(db: TempDb) {
    let h = harness(&db, &cheap()).await;
    let id = h.patron_with_pin("2900005").await;
    for _ in 0..10 {
        assert_eq!(
            h.check("2900005", Presented::Absent).await,
            CredentialVerdict::NotGiven
        );
        assert_eq!(
            h.check("2900005", given("")).await,
            CredentialVerdict::Empty
        );
    }
    assert_eq!(h.failures(id).await, 0);
    let nopin = h.patron("2900006", None).await;
    assert_eq!(
        h.check("2900006", given("")).await,
        CredentialVerdict::Empty
    );
    assert_eq!(
        h.check("2900006", given("2749")).await,
        CredentialVerdict::NoPinOnFile
    );
    assert_eq!(h.failures(nopin).await, 0);
    let unknown = h
        .auth
        .check_patron(&h.terminal, "999999", given(PIN))
        .await
        .unwrap();
    assert_eq!(unknown.patron, None);
    assert_eq!(unknown.credential, CredentialVerdict::WrongCredential);
    let known = h
        .auth
        .check_patron(&h.terminal, "2900005", given(PIN))
        .await
        .unwrap();
    assert_eq!(known.credential, CredentialVerdict::Valid);
    assert!(known.standing.is_good());
    assert_eq!(known.patron.unwrap().display_name, "Hamilton, Margaret");
}

// Item 13: 20 failures over 20 different cards (spraying) delay and alert although no account
// reaches its threshold.
async fn spraying_twenty_cards_triggers_the_terminal_budget(db: TempDb) {
    let h = harness(&db, &cheap()).await;
    let mut alerts = 0;
    let mut last = BudgetAction::None;
    for n in 0..20 {
        let card = format!("31000{n:02}");
        h.patron_with_pin(&card).await;
        let decision = h
            .auth
            .check_patron(&h.terminal, &card, given("2749"))
            .await
            .unwrap();
        assert_eq!(decision.credential, CredentialVerdict::WrongCredential);
        alerts += usize::from(decision.budget.alert);
        if n < 9 {
            assert_eq!(decision.budget.action, BudgetAction::None, "card {n}");
        }
        last = decision.budget.action;
    }
    assert_eq!(last, BudgetAction::Delay(std::time::Duration::from_secs(2)));
    assert!(alerts >= 1);
    // Once the window has passed, the terminal is back to normal.
    h.clock.advance(Duration::minutes(11));
    let later = h
        .auth
        .check_patron(&h.terminal, "3100000", given(PIN))
        .await
        .unwrap();
    assert_eq!(later.budget.action, BudgetAction::None);
}

// Item 14: "busy" (no hashing slot within the queue timeout) is never counted as a failure.
async fn busy_answers_are_not_failures(db: TempDb) {
    let mut config = SecurityConfig::default(); // real cost, so the single slot stays taken
    config.hashing.max_concurrent = 1;
    config.hashing.queue_timeout = std::time::Duration::from_millis(1);
    config.lockout.pin_temporary_threshold = 100;
    config.lockout.pin_hard_threshold = 100;
    let h = harness(&db, &config).await;
    let id = h.patron_with_pin("2900007").await;
    let checks = (0..12).map(|_| {
        let (auth, terminal) = (h.auth.clone(), h.terminal.clone());
        tokio::spawn(async move {
            auth.check_patron(&terminal, "2900007", given("2749"))
                .await
                .unwrap()
                .credential
        })
    });
    let mut wrong = 0;
    let mut busy = 0;
    for check in checks.collect::<Vec<_>>() {
        match check.await.unwrap() {
            CredentialVerdict::WrongCredential => wrong += 1,
            CredentialVerdict::Busy => busy += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(busy > 0, "the pool was never saturated");
    assert_eq!(h.failures(id).await, wrong);
}

// Item 15: default parameters give the OWASP PHC string; equal PINs hash differently; no PIN in
// clear anywhere in the database.
async fn stored_pins_are_argon2id_phc_strings_with_unique_salts(db: TempDb) {
    let h = harness(&db, &SecurityConfig::default()).await;
    let a = h.patron_with_pin("2900008").await;
    let b = h.patron_with_pin("2900009").await;
    let (ha, hb) = (h.pin_phc(a).await, h.pin_phc(b).await);
    assert!(
        ha.phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        ha.phc
    );
    assert_ne!(ha.phc, hb.phc);
    assert_eq!(
        h.check("2900008", given(PIN)).await,
        CredentialVerdict::Valid
    );
    assert_eq!(
        h.check("2900009", given("2749")).await,
        CredentialVerdict::WrongCredential
    );
    let leaks = db
        .text_columns_containing(&[PIN, TERMINAL_SECRET])
        .await
        .unwrap();
    assert!(leaks.is_empty(), "secrets stored in clear in {leaks:?}");
}

// Item 16: the database alone (no pepper) does not verify the right PIN.
async fn the_database_without_the_pepper_does_not_verify(db: TempDb) {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    let h = harness(&db, &cheap()).await;
    let id = h.patron_with_pin("2900010").await;
    let stored = h.pin_phc(id).await;
    let parsed = PasswordHash::new(&stored.phc).unwrap();
    assert!(argon2::Argon2::default()
        .verify_password(PIN.as_bytes(), &parsed)
        .is_err());
    let wrong_key = [2u8; 32];
    let keyed = argon2::Argon2::new_with_secret(
        &wrong_key,
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(64, 1, 1, Some(32)).unwrap(),
    )
    .unwrap();
    assert!(keyed.verify_password(PIN.as_bytes(), &parsed).is_err());
}

// Item 17: a missing or different pepper refuses to start while hashes exist; nobody is locked.
async fn a_missing_or_wrong_pepper_refuses_to_start(db: TempDb) {
    let h = harness(&db, &cheap()).await;
    let id = h.patron_with_pin("2900011").await;
    let clock = Arc::new(ManualClock::new(start()));
    let mut missing = cheap();
    missing.pepper.key_file = "/nonexistent/pepper.key".into();
    let err = Authenticator::new(db.store().clone(), &missing, clock.clone())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/pepper.key"), "{err}");
    let err = Authenticator::with_keys(db.store().clone(), &cheap(), clock.clone(), ring(9))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            sip2auth::auth::Error::FingerprintMismatch { key_id: 1 }
        ),
        "{err}"
    );
    assert_eq!(h.failures(id).await, 0);
    let again = harness_with(db.store().clone(), &cheap(), ring(1)).await;
    assert_eq!(
        again.check("2900011", given(PIN)).await,
        CredentialVerdict::Valid
    );
}

// Item 17, start-up race: instances starting at once on a fresh database with different peppers
// must not each record their own fingerprint; exactly one key is accepted, the others refused.
async fn concurrent_first_starts_with_different_peppers_accept_one_key(db: TempDb) {
    let starts = (1..=6u8).map(|byte| {
        let store = db.store().clone();
        tokio::spawn(async move {
            let clock = Arc::new(ManualClock::new(start()));
            Authenticator::with_keys(store, &cheap(), clock, ring(byte)).await
        })
    });
    let mut accepted = 0;
    for start in starts.collect::<Vec<_>>() {
        match start.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(sip2auth::auth::Error::FingerprintMismatch { key_id: 1 }) => {}
            Err(other) => panic!("unexpected start-up error: {other}"),
        }
    }
    assert_eq!(accepted, 1, "exactly one pepper may claim key id 1");
}

// Item 18, the other way a hash cannot be verified: an unreadable PHC string (hand-edited or
// corrupt row) needs a reset like a retired key; it costs a dummy verification, is decided before
// any reservation and never counts failures, so it cannot lock the patron.
async fn an_unreadable_stored_hash_needs_a_reset_without_counting_failures(db: TempDb) {
    let h = harness(&db, &cheap()).await;
    let id = h.patron_with_pin("2900014").await;
    let mut garbage = h.pin_phc(id).await;
    garbage.phc = "$argon2id$not-a-phc-string".into();
    h.store.set_pin_hash(id, &garbage).await.unwrap();
    let before = h.auth.pool_counts();
    for _ in 0..6 {
        assert_eq!(
            h.check("2900014", given("555555")).await,
            CredentialVerdict::ResetRequired
        );
    }
    assert_eq!(h.failures(id).await, 0);
    let after = h.auth.pool_counts();
    assert_eq!(after.verifications, before.verifications);
    assert_eq!(after.dummy_verifications, before.dummy_verifications + 6);
}

// Item 18: rotation re-hashes to the new key on login; retiring the old key makes the remaining
// old rows need a reset.
async fn key_rotation_rehashes_and_retired_keys_need_a_reset(db: TempDb) {
    let h = harness(&db, &cheap()).await;
    let moved = h.patron_with_pin("2900012").await;
    let stays = h.patron_with_pin("2900013").await;
    let mut rotated = cheap();
    rotated.pepper.key_id = 2;
    let keys = KeyRing::new(2, key(2), vec![(1, key(1))]);
    let h2 = harness_with(db.store().clone(), &rotated, keys).await;
    assert_eq!(
        h2.check("2900012", given(PIN)).await,
        CredentialVerdict::Valid
    );
    assert_eq!(h2.pin_phc(moved).await.key_id, 2);
    assert_eq!(
        h2.check("2900012", given(PIN)).await,
        CredentialVerdict::Valid
    );
    let retired = KeyRing::new(2, key(2), vec![]);
    let h3 = harness_with(db.store().clone(), &rotated, retired).await;
    assert_eq!(
        h3.check("2900012", given(PIN)).await,
        CredentialVerdict::Valid
    );
    assert_eq!(
        h3.check("2900013", given(PIN)).await,
        CredentialVerdict::ResetRequired
    );
    assert_eq!(h3.pin_phc(stays).await.key_id, 1);
}

// Item 19: a hash with weaker parameters than configured is replaced on a successful login.
async fn weaker_parameters_are_rehashed_on_login(db: TempDb) {
    let h = harness(&db, &cheap()).await;
    let id = h.patron_with_pin("2900014").await;
    assert!(h.pin_phc(id).await.phc.contains("m=64,t=1"));
    let mut stronger = cheap();
    stronger.hashing.memory_kib = 256;
    stronger.hashing.iterations = 2;
    let h2 = harness_with(db.store().clone(), &stronger, ring(1)).await;
    assert_eq!(
        h2.check("2900014", given("2749")).await,
        CredentialVerdict::WrongCredential
    );
    assert!(
        h2.pin_phc(id).await.phc.contains("m=64,t=1"),
        "no re-hash on a wrong PIN"
    );
    assert_eq!(
        h2.check("2900014", given(PIN)).await,
        CredentialVerdict::Valid
    );
    assert!(h2.pin_phc(id).await.phc.contains("m=256,t=2"));
}

// Item 25: the default PIN is hashed at creation, survives a phone change, expires after 14 days,
// and the new PIN may equal neither the default nor the phone digits.
async fn default_pin_from_the_phone(db: TempDb) {
    let mut config = cheap();
    config.default_credential.enabled = true;
    let h = harness(&db, &config).await;
    let Some(NewCredential::Hashed(default)) =
        h.auth.default_pin(Some("+44 20 7946 0958")).await.unwrap()
    else {
        panic!("no default PIN");
    };
    assert!(default.must_change);
    assert_eq!(
        default.default_expires_at,
        Some(start() + Duration::days(14))
    );
    assert!(!default.phc.contains("0958"));
    let id = h.patron("2900015", Some(default.clone())).await;
    assert_eq!(
        h.check("2900015", given("0958")).await,
        CredentialVerdict::DefaultToChange
    );
    h.store
        .update_patron(id, &details(Some("+44 20 7946 1357")))
        .await
        .unwrap();
    assert_eq!(
        h.check("2900015", given("0958")).await,
        CredentialVerdict::DefaultToChange
    );
    assert_eq!(
        h.check("2900015", given("1357")).await,
        CredentialVerdict::WrongCredential
    );
    let context = PinContext {
        phone: Some("+44 20 7946 1357"),
        ..PinContext::default()
    };
    let reject = |pin: &str| {
        let (auth, pin, context, default) = (
            h.auth.clone(),
            secret(pin),
            context.clone(),
            default.clone(),
        );
        async move { auth.hash_pin(&pin, &context, Some(&default)).await.unwrap() }
    };
    assert_eq!(
        reject("0958").await,
        NewCredential::Rejected(Rejection::Pin(PinRejection::PreviousPin))
    );
    assert_eq!(
        reject("1357").await,
        NewCredential::Rejected(Rejection::Pin(PinRejection::PhoneDigits))
    );
    h.clock.advance(Duration::days(14));
    assert_eq!(
        h.check("2900015", given("0958")).await,
        CredentialVerdict::DefaultExpired
    );
    let disabled = harness_with(db.store().clone(), &cheap(), ring(1)).await;
    assert_eq!(
        disabled
            .auth
            .default_pin(Some("+44 20 7946 0958"))
            .await
            .unwrap(),
        None
    );
}

// Terminal logins: every refusal looks the same from outside; login-free terminals by address.
async fn terminal_logins_are_refused_alike(db: TempDb) {
    let h = harness(&db, &cheap()).await;
    let here: IpAddr = "127.0.0.1".parse().unwrap();
    let elsewhere: IpAddr = "192.0.2.7".parse().unwrap();
    let login = |id: &str, pw: &str, peer: IpAddr| {
        let (auth, id, pw) = (h.auth.clone(), id.to_owned(), secret(pw));
        async move {
            auth.login_terminal(&id, &pw, &plain_peer(peer))
                .await
                .unwrap()
        }
    };
    let refused = |r| TerminalDecision::Refused(r);
    assert_eq!(
        login("nobody", TERMINAL_SECRET, here).await,
        refused(TerminalRefusal::UnknownLogin)
    );
    assert_eq!(
        login("selfcheck-1", "wrong", here).await,
        refused(TerminalRefusal::WrongPassword)
    );
    assert_eq!(
        login("selfcheck-1", TERMINAL_SECRET, elsewhere).await,
        refused(TerminalRefusal::AddressNotAllowed)
    );
    h.store
        .set_terminal_enabled(h.terminal.id, false)
        .await
        .unwrap();
    assert_eq!(
        login("selfcheck-1", TERMINAL_SECRET, here).await,
        refused(TerminalRefusal::Disabled)
    );
    assert!(h.auth.pool_counts().dummy_verifications >= 3);
    assert_eq!(
        h.auth
            .terminal_for_connection(&plain_peer(here))
            .await
            .unwrap(),
        None
    );
    let mut settings = TerminalSettings::new(INSTITUTION);
    settings.login_optional = true;
    settings.allowed_cidrs = vec!["10.1.0.0/16".parse().unwrap()];
    h.store
        .create_terminal(
            &NewTerminal {
                login_id: "pc-booking".into(),
                password: None,
                settings,
            }
            .row(),
        )
        .await
        .unwrap();
    let found = h
        .auth
        .terminal_for_connection(&plain_peer("10.1.2.3".parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(found.map(|t| t.login_id), Some("pc-booking".into()));
    assert_eq!(
        login("pc-booking", "", "10.1.2.3".parse().unwrap()).await,
        refused(TerminalRefusal::UnknownLogin)
    );
}

// Each terminal checks the credential it is set to take: the PIN, the online password, or
// either (digits are tried as the PIN when one is on file).
async fn terminals_check_the_credential_they_are_set_to_take(db: TempDb) {
    let h = harness(&db, &cheap()).await;
    let id = h.patron_with_pin("2900042").await;
    let NewCredential::Hashed(password) = h
        .auth
        .hash_password(&secret("Xk7#pQ2m-lib"), &PasswordContext::default(), None)
        .await
        .unwrap()
    else {
        panic!("password not hashed");
    };
    h.store.set_password_hash(id, &password).await.unwrap();
    let at = |credential: PatronCredential| {
        let mut terminal = h.terminal.clone();
        std::sync::Arc::make_mut(&mut terminal.settings).patron_credential = credential;
        terminal
    };
    let check = |terminal: TerminalProfile, presented: &'static str| {
        let auth = h.auth.clone();
        async move {
            auth.check_patron(&terminal, "2900042", given(presented))
                .await
                .unwrap()
                .credential
        }
    };
    let pin = at(PatronCredential::Pin);
    assert_eq!(check(pin.clone(), PIN).await, CredentialVerdict::Valid);
    assert_eq!(
        check(pin, "Xk7#pQ2m-lib").await,
        CredentialVerdict::WrongCredential
    );
    let web = at(PatronCredential::Password);
    assert_eq!(
        check(web.clone(), "Xk7#pQ2m-lib").await,
        CredentialVerdict::Valid
    );
    assert_eq!(check(web, PIN).await, CredentialVerdict::WrongCredential);
    let either = at(PatronCredential::Either);
    assert_eq!(check(either.clone(), PIN).await, CredentialVerdict::Valid);
    assert_eq!(
        check(either.clone(), "Xk7#pQ2m-lib").await,
        CredentialVerdict::Valid
    );
    assert_eq!(
        check(either, "000000").await,
        CredentialVerdict::WrongCredential
    );
}

// A new PIN or password is refused with every rule it breaks, the current PIN included.
async fn every_rule_a_new_credential_breaks_is_reported(db: TempDb) {
    let h = harness(&db, &cheap()).await;
    // 8271 passes the rules without context, so it can be the current PIN; with the card as
    // context it is both the card's last digits and the current PIN.
    let current = h.hashed_pin("8271").await;
    let context = PinContext {
        card: Some("29000104938271"),
        ..PinContext::default()
    };
    let chosen = h
        .auth
        .choose_pin(&secret("8271"), &context, Some(&current))
        .await
        .unwrap();
    let Chosen::Rejected(all) = chosen else {
        panic!("8271 accepted: {chosen:?}");
    };
    let reasons: Vec<Rejection> = all.iter().cloned().collect();
    assert_eq!(
        reasons,
        [PinRejection::CardDigits, PinRejection::PreviousPin].map(Rejection::Pin)
    );
    assert_eq!(all.first(), &Rejection::Pin(PinRejection::CardDigits));
    assert_eq!(
        all.to_string(),
        "PIN cannot be the last digits of your card number; \
         PIN must be different from your current PIN"
    );
    // The single-reason call names the first of them.
    assert_eq!(
        h.auth
            .hash_pin(&secret("8271"), &context, Some(&current))
            .await
            .unwrap(),
        NewCredential::Rejected(Rejection::Pin(PinRejection::CardDigits))
    );
    let pin = h.hashed_pin(PIN).await;
    let chosen = h
        .auth
        .choose_password(&secret(PIN), &PasswordContext::default(), Some(&pin))
        .await
        .unwrap();
    let Chosen::Rejected(all) = chosen else {
        panic!("{PIN} accepted as a password");
    };
    let reasons: Vec<Rejection> = all.iter().cloned().collect();
    assert!(reasons.contains(&Rejection::Password(PasswordRejection::TooShort { min: 8 })));
    assert!(reasons.contains(&Rejection::Password(PasswordRejection::MissingUpper)));
    assert_eq!(
        reasons.last(),
        Some(&Rejection::Password(PasswordRejection::SameAsPin))
    );
}

sip2auth::store_test_on_both_backends!(
    terminals_check_the_credential_they_are_set_to_take,
    malformed_pins_are_refused_when_set_and_wrong_at_verify_time,
    personal_details_and_the_previous_pin_are_refused,
    passwords_are_normalised_checked_and_never_truncated,
    five_wrong_pins_lock_for_fifteen_minutes,
    ten_wrong_pins_hard_lock_until_unlocked,
    absent_and_empty_pins_are_not_failures,
    spraying_twenty_cards_triggers_the_terminal_budget,
    busy_answers_are_not_failures,
    stored_pins_are_argon2id_phc_strings_with_unique_salts,
    the_database_without_the_pepper_does_not_verify,
    a_missing_or_wrong_pepper_refuses_to_start,
    concurrent_first_starts_with_different_peppers_accept_one_key,
    key_rotation_rehashes_and_retired_keys_need_a_reset,
    an_unreadable_stored_hash_needs_a_reset_without_counting_failures,
    weaker_parameters_are_rehashed_on_login,
    default_pin_from_the_phone,
    terminal_logins_are_refused_alike,
    every_rule_a_new_credential_breaks_is_reported,
);

/// A plain connection straight from `address`.
fn plain_peer(address: IpAddr) -> sip2auth::net::Peer {
    sip2auth::net::Peer::direct(std::net::SocketAddr::new(address, 40000))
}
