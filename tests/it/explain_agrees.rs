//! `explain` and the SIP2 answer agree: for every demo patron, at terminals taking the PIN, the
//! online password or either (full and minimal detail), under each default-PIN SIP policy (and
//! with and without `lost_card_as_unknown`), what `explain` (through the accounts API) says the
//! terminal is told for each credential, typed correctly and wrongly, is what a real 23 or 63
//! over a socket answers: BL, CQ, the patron status flags, AF, and whether the name is shown.
//! The same in deny mode (restrictions answered CQ=N), with the default restrictions at
//! full-detail terminals and every restriction, fines included, at minimal ones.

use chrono::Duration;
use sip2auth::accounts::demo;
use sip2auth::accounts::patron::CardRef;
use sip2auth::accounts::Accounts;
use sip2auth::auth::{
    NewTerminal, PatronCredential, PatronDetail, RestrictedAnswer, StatusFlag, TerminalSettings,
    Told, Typed,
};
use sip2auth::clock::SharedClock;
use sip2auth::config::security::DefaultPinSipPolicy;
use sip2auth::config::Config;
use sip2auth::store::{Backend, CredentialHash, LockPolicy, PasswordLockPolicy, Store, StoredHash};

use crate::support::{self, fixed_now, seal, world, Client, World};

/// The card left without an online password (the others get one).
const NO_PASSWORD: &str = "21234000022222";
/// Hard-locked PIN before the checks begin.
const PIN_LOCKED: &str = "21234000077777";
/// Temporarily locked password before the checks begin.
const PASSWORD_LOCKED: &str = "21234000055555";
const WRONG_PIN: &str = "0000";
const WRONG_PASSWORD: &str = "not-the-password";

fn password_of(card: &str) -> String {
    format!("pw-{card}-secret")
}

/// The terminals of this test: every credential kind at both detail levels.
fn terminals() -> Vec<(String, PatronCredential, PatronDetail)> {
    let mut out = Vec::new();
    for credential in [
        PatronCredential::Pin,
        PatronCredential::Password,
        PatronCredential::Either,
    ] {
        for detail in [PatronDetail::Full, PatronDetail::Minimal] {
            out.push((format!("agree_{credential}_{detail}"), credential, detail));
        }
    }
    out
}

fn terminal_password(login: &str) -> String {
    format!("{login}-Xq7Lm2Pz9Rw4")
}

async fn prepare(store: &Store, config: &Config, restricted: RestrictedAnswer) {
    let hasher = world::hasher(config);
    for (login, credential, detail) in terminals() {
        let mut settings = TerminalSettings::new("MAIN");
        settings.patron_credential = credential;
        settings.patron_detail = detail;
        settings.restricted = restricted;
        if detail == PatronDetail::Minimal {
            settings.denied_restrictions = "expired,blocked,lost,fines".parse().expect("all");
        }
        let hashed = hasher
            .hash(terminal_password(&login).as_bytes())
            .expect("hash");
        let new = NewTerminal {
            login_id: login,
            password: Some(StoredHash {
                phc: hashed.phc,
                key_id: hashed.key_id,
            }),
            settings,
        };
        store
            .create_terminal(&new.row())
            .await
            .expect("terminal created");
    }
    for patron in demo::patrons().expect("demo patrons") {
        let card = &patron.card_number;
        let id = store
            .find_by_card("MAIN", card)
            .await
            .expect("lookup")
            .expect("demo patron")
            .patron
            .id;
        if card != NO_PASSWORD {
            let hashed = hasher.hash(password_of(card).as_bytes()).expect("hash");
            let password = CredentialHash {
                phc: hashed.phc,
                key_id: hashed.key_id,
                must_change: false,
                default_expires_at: None,
            };
            store.set_password_hash(id, &password).await.expect("set");
        }
        if card == PIN_LOCKED {
            let policy = LockPolicy {
                temp_threshold: 0,
                temp_lock: Duration::minutes(15),
                hard_threshold: 10,
            };
            for _ in 0..10 {
                let slot = store.reserve_pin_attempt(id, fixed_now(), &policy).await;
                slot.expect("reserve");
            }
        }
        if card == PASSWORD_LOCKED {
            let policy = PasswordLockPolicy {
                threshold: 1,
                base_lock: Duration::minutes(15),
                max_lock: Duration::hours(1),
            };
            let slot = store.reserve_password_attempt(id, fixed_now(), &policy);
            slot.await.expect("reserve");
        }
    }
}

/// What a 24 or 64 said, in the terms of `auth::Told`.
#[derive(Debug, PartialEq, Eq)]
struct Said {
    valid_patron: bool,
    valid_credential: Option<bool>,
    flags: Vec<StatusFlag>,
    messages: Vec<String>,
    name_shown: bool,
}

const FLAG_POSITIONS: [(StatusFlag, usize); 6] = [
    (StatusFlag::ChargePrivilegesDenied, 0),
    (StatusFlag::RenewalPrivilegesDenied, 1),
    (StatusFlag::RecallPrivilegesDenied, 2),
    (StatusFlag::HoldPrivilegesDenied, 3),
    (StatusFlag::CardReportedLost, 4),
    (StatusFlag::ExcessiveOutstandingFines, 10),
];

fn parse(response: &str) -> Said {
    let fixed = if response.starts_with("64") { 61 } else { 37 };
    let status = &response.as_bytes()[2..16];
    assert!(
        status
            .iter()
            .enumerate()
            .all(|(i, b)| *b == b' '
                || (*b == b'Y' && FLAG_POSITIONS.iter().any(|(_, at)| *at == i))),
        "only the flags the server sets: {response}"
    );
    let flags = FLAG_POSITIONS
        .iter()
        .filter(|(_, at)| status[*at] == b'Y')
        .map(|(flag, _)| *flag)
        .collect();
    let fields: Vec<(&str, &str)> = response[fixed..]
        .split('|')
        .filter(|f| f.len() >= 2)
        .map(|f| f.split_at(2))
        .collect();
    let yn = |code: &str| {
        fields
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| *v == "Y")
    };
    Said {
        valid_patron: yn("BL").expect("BL always sent"),
        valid_credential: yn("CQ"),
        flags,
        messages: fields
            .iter()
            .filter(|(c, _)| *c == "AF")
            .map(|(_, v)| (*v).to_owned())
            .collect(),
        name_shown: fields.iter().any(|(c, v)| *c == "AE" && !v.is_empty()),
    }
}

fn expected(told: &Told) -> Said {
    Said {
        valid_patron: told.valid_patron,
        valid_credential: told.valid_credential,
        flags: told.flags.iter().copied().collect(),
        messages: told.messages.iter().map(|m| m.text.clone()).collect(),
        name_shown: told.name_and_fees,
    }
}

/// What the patron of `card` types for `typed`.
fn typed_value(typed: Typed, card: &str, pin: Option<&str>) -> String {
    match typed {
        Typed::Pin { correct: true } => pin.unwrap_or(WRONG_PIN).to_owned(),
        Typed::Pin { correct: false } => WRONG_PIN.to_owned(),
        Typed::Password { correct: true } if card != NO_PASSWORD => password_of(card),
        Typed::Password { .. } => WRONG_PASSWORD.to_owned(),
    }
}

struct Session {
    client: Client,
    sequence: u8,
}

impl Session {
    async fn exchange(&mut self, body: &str) -> String {
        self.sequence = (self.sequence + 1) % 10;
        self.client.exchange(&seal(body, Some(self.sequence))).await
    }
}

async fn agree(
    policy: DefaultPinSipPolicy,
    lost_card_as_unknown: bool,
    restricted: RestrictedAnswer,
) {
    let mut config = support::test_config();
    config.security.default_credential.sip_policy = policy;
    config.server.lost_card_as_unknown = lost_card_as_unknown;
    config.server.extensions = true;
    // The checks fail on purpose; the terminal budget is not what this test is about.
    let budget = &mut config.security.terminal_budget;
    budget.delay_after_failures = u32::MAX;
    budget.delay_after_distinct_cards = u32::MAX;
    budget.end_session_after_failures = u32::MAX;
    budget.throttle_after_unknown_cards = u32::MAX;
    let world = World::new(Backend::Sqlite, &config).await;
    prepare(&world.store, &config, restricted).await;
    let clock: SharedClock = world.clock.clone();
    let accounts =
        Accounts::with_authenticator(world.store.clone(), &config, clock, world.auth.clone());
    let server = world.serve(config).await;
    let mut cards: Vec<(String, Option<String>)> = demo::patrons()
        .expect("demo patrons")
        .iter()
        .map(|p| (p.card_number.clone(), p.pin().map(str::to_owned)))
        .collect();
    cards.push(("21234000099999".into(), None)); // unknown
    let mut checked = 0;
    for (login, _, _) in terminals() {
        let mut session = Session {
            client: server.client().await,
            sequence: 0,
        };
        let password = terminal_password(&login);
        let login_answer = session
            .exchange(&format!("9300CN{login}|CO{password}|CPMAIN|"))
            .await;
        assert!(login_answer.starts_with("941"), "{login}: {login_answer}");
        for (card, pin) in &cards {
            let at = CardRef {
                institution: "MAIN".into(),
                card: card.clone(),
            };
            let count = accounts.explain(&at, Some(&login)).await.expect("explain");
            for i in 0..count.answers.len() {
                // Explained right before each check: the previous one may have counted a failure.
                let explanation = accounts.explain(&at, Some(&login)).await.expect("explain");
                let answer = &explanation.answers[i];
                let ad = typed_value(answer.typed, card, pin.as_deref());
                let body = if (checked % 2) == 0 {
                    format!("6300120250314    093005          AOMAIN|AA{card}|AC|AD{ad}|")
                } else {
                    format!("2300120250314    093005AOMAIN|AA{card}|AC|AD{ad}|")
                };
                let response = session.exchange(&body).await;
                assert_eq!(
                    parse(&response),
                    expected(&answer.told),
                    "{policy:?}, lost as unknown {lost_card_as_unknown}, {restricted}, {login}, \
                     card {card}, {:?}: {response}\n{explanation:#?}",
                    answer.typed
                );
                checked += 1;
            }
        }
    }
    // 10 cards; 2 answers at each PIN or password terminal, 4 at each `either` one.
    assert_eq!(checked, 10 * (2 * 2 + 2 * 2 + 4 * 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_agrees_with_the_server_accepting_default_pins() {
    agree(
        DefaultPinSipPolicy::AcceptWithNotice,
        false,
        RestrictedAnswer::Flags,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_agrees_with_the_server_rejecting_default_pins() {
    agree(DefaultPinSipPolicy::Reject, false, RestrictedAnswer::Flags).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_agrees_with_the_server_answering_lost_cards_as_unknown() {
    agree(
        DefaultPinSipPolicy::AcceptWithNotice,
        true,
        RestrictedAnswer::Flags,
    )
    .await;
    agree(DefaultPinSipPolicy::Reject, true, RestrictedAnswer::Flags).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_agrees_with_the_server_in_deny_mode() {
    agree(
        DefaultPinSipPolicy::AcceptWithNotice,
        false,
        RestrictedAnswer::Deny,
    )
    .await;
    agree(DefaultPinSipPolicy::Reject, true, RestrictedAnswer::Deny).await;
}
