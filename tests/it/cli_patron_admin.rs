//! `patron list / show / add / update` details and `sip2auth audit`, through the real binary:
//! card numbers in the list, `show` by card or by the listed id, accent- and case-insensitive
//! name search, email and phone syntax, the hard-lock wording, and the audit log filters.

use crate::cli_common;

use cli_common::Env;
use sip2auth::store::{AttemptSlot, LockPolicy};

fn ready() -> Env {
    let env = Env::new();
    let out = env.run(&["migrate"], None);
    assert_eq!(out.code, 0, "{}", out.all());
    env
}

fn add(env: &Env, card: &str, family: &str, given: &str) -> cli_common::Out {
    env.run(
        &[
            "patron",
            "add",
            card,
            "--family-name",
            family,
            "--given-names",
            given,
        ],
        None,
    )
}

/// The internal id `patron list` shows for the row with this card.
fn listed_id(env: &Env, card: &str) -> String {
    let list = env.run(&["patron", "list"], None);
    let line = list
        .stdout
        .lines()
        .find(|l| l.contains(card))
        .unwrap_or_else(|| panic!("{card} not listed:\n{}", list.stdout));
    line.split_whitespace().next().unwrap().to_string()
}

#[test]
fn list_shows_cards_and_show_takes_the_listed_id() {
    let env = ready();
    assert_eq!(add(&env, "21000123", "García", "Ana").code, 0);
    assert_eq!(add(&env, "21000456", "Okafor", "Ada").code, 0);
    let list = env.run(&["patron", "list"], None);
    assert!(list.stdout.contains("CARDS"), "{}", list.stdout);
    let id = listed_id(&env, "21000456");
    let shown = env.run(&["patron", "show", &id], None);
    assert_eq!(shown.code, 0, "{}", shown.all());
    assert!(shown.stdout.contains("Okafor, Ada"), "{}", shown.stdout);
    let by_card = env.run(&["patron", "show", "21000123"], None);
    assert!(by_card.stdout.contains("García, Ana"), "{}", by_card.stdout);
    let missing = env.run(&["patron", "show", "999999"], None);
    assert_eq!(missing.code, 4, "{}", missing.all());
}

#[test]
fn name_search_ignores_case_and_accents() {
    let env = ready();
    assert_eq!(add(&env, "21000123", "García", "Ana").code, 0);
    assert_eq!(add(&env, "21000456", "Okafor", "Ada").code, 0);
    for query in ["garcia", "GARCÍA", "garc"] {
        let found = env.run(&["patron", "list", "--name", query], None);
        assert_eq!(found.code, 0, "{}", found.all());
        assert!(
            found.stdout.contains("21000123"),
            "{query}: {}",
            found.stdout
        );
        assert!(
            !found.stdout.contains("21000456"),
            "{query}: {}",
            found.stdout
        );
    }
}

#[test]
fn add_and_update_refuse_a_malformed_email_or_phone() {
    let env = ready();
    let phone = env.run(
        &[
            "patron",
            "add",
            "21000789",
            "--family-name",
            "Lee",
            "--phone",
            "call me",
        ],
        None,
    );
    assert_eq!(phone.code, 2, "{}", phone.all());
    assert!(
        phone.stderr.contains("not a phone number"),
        "{}",
        phone.stderr
    );
    let email = env.run(
        &[
            "patron",
            "add",
            "21000789",
            "--family-name",
            "Lee",
            "--email",
            "lee at home",
        ],
        None,
    );
    assert_eq!(email.code, 2, "{}", email.all());
    assert!(
        email.stderr.contains("not an email address"),
        "{}",
        email.stderr
    );
    let good = env.run(
        &[
            "patron",
            "add",
            "21000789",
            "--family-name",
            "Lee",
            "--phone",
            "+44 (20) 7946-0958",
            "--email",
            "lee@example.org",
        ],
        None,
    );
    assert_eq!(good.code, 0, "{}", good.all());
    let update = env.run(
        &["patron", "update", "21000789", "--phone", "555-CALL"],
        None,
    );
    assert_eq!(update.code, 2, "{}", update.all());
}

#[tokio::test]
async fn show_on_a_hard_locked_patron_says_it_waits_for_a_reset() {
    let env = ready();
    assert_eq!(add(&env, "21000123", "García", "Ana").code, 0);
    let store = env.store().await;
    let record = store
        .find_by_card("MAIN", "21000123")
        .await
        .unwrap()
        .unwrap();
    let policy = LockPolicy {
        temp_threshold: 5,
        temp_lock: chrono::Duration::minutes(15),
        hard_threshold: 10,
    };
    let start = chrono::Utc::now() - chrono::Duration::days(20);
    for hour in 0..10 {
        let at = start + chrono::Duration::hours(hour);
        let slot = store
            .reserve_pin_attempt(record.patron.id, at, &policy)
            .await;
        assert!(matches!(slot, Ok(AttemptSlot::Granted { .. })), "{slot:?}");
    }
    let shown = env.run(&["patron", "show", "21000123"], None);
    assert_eq!(shown.code, 0, "{}", shown.all());
    assert!(
        shown.stdout.contains("locked until a staff reset")
            && shown.stdout.contains("or an email reset"),
        "{}",
        shown.stdout
    );
}

#[test]
fn audit_lists_newest_first_and_filters_by_card_operator_and_action() {
    let env = ready();
    assert_eq!(add(&env, "21000123", "García", "Ana").code, 0);
    assert_eq!(add(&env, "21000456", "Okafor", "Ada").code, 0);
    let block = env.run(
        &[
            "patron",
            "block",
            "21000456",
            "--reason",
            "address unknown",
            "--operator",
            "bob",
        ],
        None,
    );
    assert_eq!(block.code, 0, "{}", block.all());
    let all = env.run(&["audit"], None);
    assert_eq!(all.code, 0, "{}", all.all());
    let actions: Vec<&str> = all.stdout.lines().skip(1).collect();
    assert!(actions.len() >= 3, "{}", all.stdout);
    assert!(
        actions[0].contains("staff:bob"),
        "newest first:\n{}",
        all.stdout
    );
    assert!(
        !all.stdout.contains("21000456"),
        "cards are pseudonymised:\n{}",
        all.stdout
    );

    let by_operator = env.run(&["audit", "--operator", "bob", "--json"], None);
    let lines: Vec<serde_json::Value> = by_operator
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 1, "{}", by_operator.stdout);
    assert_eq!(lines[0]["actor"], "staff:bob");

    let by_card = env.run(&["audit", "--card", "21000123", "--json"], None);
    let lines: Vec<&str> = by_card.stdout.lines().collect();
    assert!(!lines.is_empty(), "{}", by_card.all());
    assert!(
        lines.iter().all(|l| l.contains("staff:tester")),
        "{}",
        by_card.stdout
    );

    let action = lines[0]
        .split("\"action\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let by_action = env.run(
        &["audit", "--action", action, "--limit", "1", "--json"],
        None,
    );
    assert_eq!(by_action.stdout.lines().count(), 1, "{}", by_action.stdout);
    let future = env.run(&["audit", "--since", "2999-01-01"], None);
    assert!(
        future.stdout.contains("no audit records match"),
        "{}",
        future.stdout
    );
    let bad = env.run(&["audit", "--since", "yesterday"], None);
    assert_eq!(bad.code, 2, "{}", bad.all());
}
