//! What a terminal is told, by its access settings, over a real socket: deny mode for clients
//! that read only BL and CQ (restrictions answered CQ=N with the reason and the flags, the PIN
//! still verified and counted), no personal data without a verified PIN unless the terminal is
//! trusted for barcode-only look-ups (SECURITY.md §2 item 32), and the login id of a failed 93
//! logged and audited cut to 64 characters, never with its CO. Both backends.

use secrecy::SecretString;
use sip2auth::accounts::{Accounts, Operator};
use sip2auth::auth::{DetailWithoutPin, RestrictedAnswer, TerminalSettings};
use sip2auth::clock::SharedClock;
use sip2auth::config::Config;
use sip2auth::store::{AuditQuery, Backend};

use crate::support::{self, test_config, Client, TestServer, World};

const SECRET: &str = "deny-mode-Xq7Lm2Pz9Rw4";

/// A server over the standard world plus the terminal `login` with `settings`, added through
/// the accounts API (what `terminal add` runs).
async fn server_with(backend: Backend, login: &str, settings: TerminalSettings) -> TestServer {
    let config = test_config();
    let world = World::new(backend, &config).await;
    let accounts = accounts(&world, &config);
    let operator = Operator::new("alice").expect("operator");
    accounts
        .add_terminal(
            &operator,
            login,
            settings,
            Some(SecretString::from(SECRET.to_owned())),
        )
        .await
        .expect("terminal added");
    world.serve(config).await
}

fn accounts(world: &World, config: &Config) -> Accounts {
    let clock: SharedClock = world.clock.clone();
    Accounts::with_authenticator(world.store.clone(), config, clock, world.auth.clone())
}

async fn logged_in(server: &TestServer, login: &str) -> Client {
    let mut client = server.client().await;
    let answer = client.exchange(&format!("9300CN{login}|CO{SECRET}|")).await;
    assert_eq!(answer, "941", "{login}");
    client
}

fn check_63(card: &str, pin: &str) -> String {
    format!("6300120250314    093005          AOMAIN|AA{card}|AC|AD{pin}|")
}

async fn pin_failures(server: &TestServer, card: &str) -> u32 {
    let record = server
        .store
        .find_by_card("MAIN", card)
        .await
        .expect("lookup");
    record.expect("patron").patron.pin_lock.failures
}

async fn deny_mode_refuses_restricted_patrons_and_still_counts_the_pin(backend: Backend) {
    let mut settings = TerminalSettings::new("MAIN");
    settings.restricted = RestrictedAnswer::Deny;
    let server = server_with(backend, "booking", settings).await;
    let mut client = logged_in(&server, "booking").await;
    // Expired, blocked and lost: CQ=N, the flags and the reason as in flags mode.
    let expired = client.exchange(&check_63("21234000022222", "2749")).await;
    assert!(expired.starts_with("64YYYY      "), "{expired}");
    assert!(expired.contains("|BLY|CQN|"), "{expired}");
    assert!(expired.contains("|AFCard expired|"), "{expired}");
    let blocked = client
        .exchange("2300120250314    093000AOMAIN|AA21234000033333|AC|AD5836|")
        .await;
    assert!(blocked.starts_with("24YYYY"), "{blocked}");
    assert!(blocked.contains("|BLY|CQN|"), "{blocked}");
    assert!(
        blocked.contains("|AFAccount blocked, see staff|"),
        "{blocked}"
    );
    let lost = client.exchange(&check_63("21234000044444", "6185")).await;
    assert!(lost.starts_with("64YYYYY"), "{lost}");
    assert!(lost.contains("|BLY|CQN|") && lost.contains("|AFCard reported lost|"));
    // Fines over the limit are not refused by default: the flag, and CQ as verified.
    let fines = client.exchange(&check_63("21234000055555", "3917")).await;
    assert!(fines.contains("|BLY|CQY|"), "{fines}");
    // A patron in good standing is accepted as in flags mode.
    let good = client.exchange(&check_63("21234000012345", "4931")).await;
    assert!(good.contains("|BLY|CQY|"), "{good}");
    // The PIN is still verified and counted: a wrong one is a failure (and says so, with no
    // standing), the right one clears it even though the answer is CQ=N.
    let wrong = client.exchange(&check_63("21234000022222", "0000")).await;
    assert!(wrong.contains("|CQN|AFInvalid PIN|"), "{wrong}");
    assert!(!wrong.contains("Card expired"), "{wrong}");
    assert_eq!(pin_failures(&server, "21234000022222").await, 1);
    let right = client.exchange(&check_63("21234000022222", "2749")).await;
    assert!(right.contains("|BLY|CQN|") && right.contains("|AFCard expired|"));
    assert_eq!(pin_failures(&server, "21234000022222").await, 0);
}

async fn deny_mode_refuses_fines_when_chosen(backend: Backend) {
    let mut settings = TerminalSettings::new("MAIN");
    settings.restricted = RestrictedAnswer::Deny;
    settings.denied_restrictions = "fines".parse().expect("restrictions");
    let server = server_with(backend, "proxy", settings).await;
    let mut client = logged_in(&server, "proxy").await;
    let fines = client.exchange(&check_63("21234000055555", "3917")).await;
    assert!(fines.starts_with("64          Y   "), "{fines}");
    assert!(fines.contains("|BLY|CQN|") && fines.contains("|AFFines exceed limit|"));
    // Only fines were chosen: an expired card is told by its flags, CQ as verified.
    let expired = client.exchange(&check_63("21234000022222", "2749")).await;
    assert!(expired.starts_with("64YYYY") && expired.contains("|BLY|CQY|"));
}

/// The fields of a response other than the fixed part.
fn fields(response: &str) -> Vec<&str> {
    response.split('|').skip(1).collect()
}

async fn no_personal_data_without_a_verified_pin_unless_trusted(backend: Backend) {
    let mut trusted = TerminalSettings::new("MAIN");
    trusted.detail_without_pin = DetailWithoutPin::Full;
    let server = server_with(backend, "barcode_only", trusted).await;
    let without_pin = "6300120250314    093005          AOMAIN|AA21234000055555|AC|";
    // sc_user: a full-detail terminal at the default (minimal without a PIN).
    let mut client = server.client().await;
    assert!(client
        .exchange("9300CNsc_user|COk7Qp2vXe9LmT4wZs|CPBRANCH1|")
        .await
        .starts_with("941"));
    let answer = client.exchange(without_pin).await;
    assert!(answer.starts_with("64          Y   "), "flags: {answer}");
    assert!(
        answer.contains("|AFFines exceed limit|"),
        "messages: {answer}"
    );
    for field in fields(&answer) {
        for personal in ["BD", "BE", "BF", "PB", "BV", "BH", "CC", "PA", "PC"] {
            assert!(!field.starts_with(personal), "{personal} in {answer}");
        }
        assert!(
            !field.starts_with("AE") || field == "AE",
            "a name in {answer}"
        );
    }
    let verified = client.exchange(&check_63("21234000055555", "3917")).await;
    assert!(verified.contains("|AEFinch, Fiona|"), "{verified}");
    // A terminal trusted for barcode-only look-ups gets the name and fees.
    let mut lookup = logged_in(&server, "barcode_only").await;
    let answer = lookup.exchange(without_pin).await;
    assert!(answer.contains("|AEFinch, Fiona|"), "{answer}");
    assert!(answer.contains("|BV12.50|"), "{answer}");
}

async fn a_failed_login_id_is_logged_and_audited_cut_and_without_its_co(backend: Backend) {
    let logs = support::logs::captured();
    let server = support::start(backend).await;
    let mut client = server.client().await;
    // A 1,000-character login id, and one that swallowed its CO (a missing |).
    let long: String = "L".repeat(1000);
    assert_eq!(
        client.exchange(&format!("9300CN{long}|COwhatever|")).await,
        "940"
    );
    let swallowed = "sc_userCOk7Qp2vXe9LmT4wZs";
    assert_eq!(
        client.exchange(&format!("9300CN{swallowed}|CO|")).await,
        "940"
    );
    let query = AuditQuery {
        action: Some("terminal_login".into()),
        ..AuditQuery::default()
    };
    let audit = server.store.list_audit(&query).await.expect("audit");
    let actors: Vec<&str> = audit.iter().map(|a| a.entry.actor.as_str()).collect();
    let cut = format!("{} [truncated]", "L".repeat(64));
    assert!(actors.contains(&cut.as_str()), "{actors:?}");
    assert!(actors.contains(&"sc_user [truncated]"), "{actors:?}");
    assert!(actors
        .iter()
        .all(|a| !a.contains("k7Qp2") && a.len() <= 64 + 12));
    let text = logs.text();
    assert!(text.contains(&format!("login_id={} truncated=true", "L".repeat(64))));
    assert!(
        !text.contains(&"L".repeat(65)),
        "a login id longer than 64 logged"
    );
    assert!(!text.contains("k7Qp2vXe9LmT4wZs"), "a swallowed CO logged");
}

sip2auth::store_test_on_both_backends!(
    deny_mode_refuses_restricted_patrons_and_still_counts_the_pin,
    deny_mode_refuses_fines_when_chosen,
    no_personal_data_without_a_verified_pin_unless_trusted,
    a_failed_login_id_is_logged_and_audited_cut_and_without_its_co,
);
