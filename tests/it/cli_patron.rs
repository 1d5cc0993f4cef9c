//! `sip2auth patron …` through the real binary, including SECURITY.md §2 item 26 (a staff reset
//! writes an audit record and sets must_change).

use crate::cli_common;

use cli_common::Env;
use sip2auth::store::AuditQuery;

fn add_ada(env: &Env) {
    let out = env.run(
        &[
            "patron",
            "add",
            "21000123",
            "--family-name",
            "Okafor",
            "--given-names",
            "Ada",
            "--phone",
            "+1 555 0100",
            "--birth-date",
            "1980-02-29",
            "--pin-stdin",
            "--operator",
            "alice",
        ],
        Some("4931\n"),
    );
    assert_eq!(out.code, 0, "{}", out.all());
}

#[tokio::test]
async fn staff_reset_is_audited_sets_must_change_and_prints_the_pin_once() {
    let env = Env::new();
    add_ada(&env);
    let out = env.run(
        &["patron", "reset-pin", "21000123", "--operator", "alice"],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let pin = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("one-time PIN: "))
        .expect("one-time PIN printed")
        .trim()
        .to_owned();
    assert!(pin.len() >= 6 && pin.bytes().all(|b| b.is_ascii_digit()));
    let store = env.store().await;
    let record = store
        .find_by_card("MAIN", "21000123")
        .await
        .unwrap()
        .unwrap();
    let stored = record.patron.pin.expect("pin");
    assert!(stored.must_change && stored.default_expires_at.is_some());
    let audit = store.list_audit(&AuditQuery::default()).await.unwrap();
    let reset = audit
        .iter()
        .find(|a| a.entry.action == "pin_reset")
        .expect("audit record of the reset");
    assert_eq!(reset.entry.actor, "staff:alice");
    assert_eq!(reset.entry.outcome, "ok");
    let pseudonym = reset
        .entry
        .card_pseudonym
        .clone()
        .expect("pseudonymised card");
    assert!(!pseudonym.contains("21000123"));
    for entry in &audit {
        let text = format!("{:?}", entry);
        assert!(
            !text.contains(&pin) && !text.contains("4931"),
            "secret in audit: {text}"
        );
    }
    let show = env.run(&["patron", "show", "21000123"], None);
    assert!(show.stdout.contains("must change") && !show.all().contains(&pin));
}

#[test]
fn set_pin_refuses_with_the_rule_and_never_echoes_the_pin() {
    let env = Env::new();
    add_ada(&env);
    for (pin, reason) in [
        ("3456", "sequence"),
        ("6543", "sequence"),
        ("12a4", "digits 0 to 9"),
        ("0229", "birth"),
        ("4931", "different from your current PIN"),
    ] {
        let out = env.run(
            &["patron", "set-pin", "21000123", "--pin-stdin"],
            Some(&format!("{pin}\n")),
        );
        assert_eq!(out.code, 1, "{pin}: {}", out.all());
        assert!(out.stderr.contains(reason), "{pin}: {}", out.stderr);
        assert!(!out.all().contains(pin), "{pin} echoed");
    }
    let ok = env.run(
        &["patron", "set-pin", "21000123", "--pin-stdin"],
        Some("2749\n"),
    );
    assert_eq!(ok.code, 0, "{}", ok.all());
}

#[tokio::test]
async fn lifecycle_commands_change_the_record_and_unknown_cards_exit_4() {
    let env = Env::new();
    add_ada(&env);
    let ok = |args: &[&str]| {
        let out = env.run(args, None);
        assert_eq!(out.code, 0, "{args:?}: {}", out.all());
        out
    };
    ok(&[
        "patron",
        "update",
        "21000123",
        "--email",
        "ada@example.org",
        "--phone",
        "",
        "--fines",
        "3.50",
    ]);
    let show = ok(&["patron", "show", "21000123"]);
    assert!(show.stdout.contains("ada@example.org") && show.stdout.contains("3.50"));
    ok(&["patron", "block", "21000123", "--reason", "address unknown"]);
    assert!(ok(&["patron", "show", "21000123"])
        .stdout
        .contains("blocked: address unknown"));
    ok(&["patron", "unblock", "21000123"]);
    ok(&["patron", "mark-lost", "21000123"]);
    let store = env.store().await;
    assert!(
        store
            .find_by_card("MAIN", "21000123")
            .await
            .unwrap()
            .unwrap()
            .card
            .lost
    );
    ok(&["patron", "mark-lost", "21000123", "--found"]);
    ok(&["patron", "unlock", "21000123"]);
    let list = ok(&["patron", "list", "--name", "okaf"]);
    assert!(list.stdout.contains("Okafor, Ada"));
    let weak = env.run(
        &["patron", "set-password", "21000123", "--password-stdin"],
        Some("password\n"),
    );
    assert_eq!(weak.code, 1, "{}", weak.all());
    assert!(!weak.all().contains("password\n") && weak.stderr.contains("Password"));
    let good = env.run(
        &["patron", "set-password", "21000123", "--password-stdin"],
        Some("Lantern-Quiet-Harbor-71\n"),
    );
    assert_eq!(good.code, 0, "{}", good.all());
    ok(&["patron", "remove", "21000123"]);
    let gone = env.run(&["patron", "show", "21000123"], None);
    assert_eq!(gone.code, 4);
    assert_eq!(
        env.run(&["patron", "block", "999", "--reason", "x"], None)
            .code,
        4
    );
    let no_name = env.run(&["patron", "add", "555"], None);
    assert_eq!(no_name.code, 2, "{}", no_name.all());
    assert_eq!(
        env.run(
            &[
                "patron",
                "add",
                "556",
                "--family-name",
                "X",
                "--birth-date",
                "1.2.1980"
            ],
            None
        )
        .code,
        2
    );
}

#[test]
fn a_pin_is_never_accepted_on_the_command_line() {
    let env = Env::new();
    let out = env.run(&["patron", "set-pin", "21000123", "--pin", "4931"], None);
    assert_eq!(out.code, 2, "no --pin option exists: {}", out.all());
}

#[test]
fn every_rule_a_new_pin_or_password_breaks_is_reported() {
    let env = Env::new();
    add_ada(&env);
    // 1111: one digit repeated, a repeated pattern and a common PIN.
    let pin = env.run(
        &["patron", "set-pin", "21000123", "--pin-stdin"],
        Some("1111\n"),
    );
    assert_eq!(pin.code, 1, "{}", pin.all());
    for reason in [
        "one digit repeated",
        "repeated pattern",
        "most commonly used",
    ] {
        assert!(pin.stderr.contains(reason), "{reason}: {}", pin.stderr);
    }
    let password = env.run(
        &["patron", "set-password", "21000123", "--password-stdin"],
        Some("xkq\n"),
    );
    assert_eq!(password.code, 1, "{}", password.all());
    for reason in [
        "at least 8 characters",
        "upper-case letter",
        "needs a digit",
        "special character",
    ] {
        assert!(
            password.stderr.contains(reason),
            "{reason}: {}",
            password.stderr
        );
    }
    assert!(!password.all().contains("xkq"), "password echoed");
}
