//! The default PIN (`[security.default_credential]`) through the real binary: SECURITY.md §2
//! item 25 at the command line. A patron created without a PIN gets the last digits of the
//! registered phone as a hashed, must-change, expiring PIN; changing the phone does not change
//! it (and over SIP2 the old digits still verify, with the change notice); the new PIN may equal
//! neither the default nor the phone digits; with the policy off (the default) nothing is issued;
//! an import issues default PINs to new patrons only and a rerun changes nothing.

use crate::cli_common;

use chrono::{Duration, Utc};
use cli_common::{Env, Out, CHEAP_HASHING};
use sip2auth::app::App;
use sip2auth::server::Server;
use sip2auth::store::{AuditQuery, CredentialHash, Store};
use tokio_util::sync::CancellationToken;

const CARD: &str = "21000123";
/// The registered phone; its last 4 digits are the default PIN.
const PHONE: &str = "+1 555 010 4938";
const DEFAULT_DIGITS: &str = "4938";
/// The phone after `patron update --phone`.
const NEW_PHONE: &str = "+1 555 010 7261";
const NEW_PHONE_DIGITS: &str = "7261";
const TERMINAL_SECRET: &str = "Default-Pin-Terminal-Secret-42";
const IMPORT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/import/default_pins.csv"
);

fn policy_on(extra: &str) -> Env {
    Env::with_config(&format!(
        "{CHEAP_HASHING}\n[security.default_credential]\nenabled = true\n{extra}"
    ))
}

fn ok(env: &Env, args: &[&str], stdin: Option<&str>) -> Out {
    let out = env.run(args, stdin);
    assert_eq!(out.code, 0, "{args:?}: {}", out.all());
    out
}

fn add(env: &Env, phone: Option<&str>) -> Out {
    let mut args = vec!["patron", "add", CARD, "--family-name", "Okafor"];
    if let Some(phone) = phone {
        args.extend(["--phone", phone]);
    }
    args.extend(["--operator", "alice"]);
    ok(env, &args, None)
}

async fn stored_pin(store: &Store, card: &str) -> Option<CredentialHash> {
    store
        .find_by_card("MAIN", card)
        .await
        .expect("query")
        .expect("patron exists")
        .patron
        .pin
}

async fn audit_actions(store: &Store, action: &str) -> Vec<sip2auth::store::AuditEntry> {
    let all = store
        .list_audit(&AuditQuery {
            limit: 1000,
            ..AuditQuery::default()
        })
        .await
        .expect("audit");
    all.into_iter()
        .filter(|a| a.entry.action == action)
        .collect()
}

fn assert_no_digits(out: &Out, digits: &[&str]) {
    for d in digits {
        assert!(!out.all().contains(d), "{d} printed:\n{}", out.all());
    }
}

/// The "pin" line of `explain`.
fn explain_pin(env: &Env) -> String {
    let out = ok(env, &["explain", CARD], None);
    out.stdout
        .lines()
        .find(|l| l.trim_start().starts_with("pin "))
        .unwrap_or_else(|| panic!("no pin line:\n{}", out.stdout))
        .to_owned()
}

#[tokio::test]
async fn patron_add_with_a_phone_sets_a_hashed_must_change_expiring_default_pin() {
    let env = policy_on("");
    let out = add(&env, Some(PHONE));
    assert!(
        out.stdout
            .contains("default PIN set from the last 4 digits of the phone")
            && out.stdout.contains("14 days"),
        "{}",
        out.stdout
    );
    assert_no_digits(&out, &[DEFAULT_DIGITS]);
    let store = env.store().await;
    let pin = stored_pin(&store, CARD).await.expect("a default PIN");
    assert!(pin.phc.starts_with("$argon2id$v=19$"), "hashed at creation");
    assert!(pin.must_change);
    let expires = pin.default_expires_at.expect("expiry");
    let expected = Utc::now() + Duration::days(14);
    assert!(
        (expires - expected).num_seconds().abs() < 120,
        "expires {expires}, expected about {expected}"
    );
    let issued = audit_actions(&store, "default_pin_issued").await;
    assert_eq!(issued.len(), 1, "one audit record of the default PIN");
    assert_eq!(issued[0].entry.actor, "staff:alice");
    let text = format!("{:?}", issued[0]);
    assert!(
        !text.contains(DEFAULT_DIGITS) && !text.contains(CARD),
        "{text}"
    );
    let line = explain_pin(&env);
    let until = expires.format("%Y-%m-%d %H:%M UTC").to_string();
    assert!(
        line.contains("must be changed") && line.contains(&format!("valid until {until}")),
        "{line}"
    );
    let show = ok(&env, &["patron", "show", CARD], None);
    assert!(
        show.stdout.contains("must change") && show.stdout.contains(&until),
        "{}",
        show.stdout
    );
}

#[tokio::test]
async fn set_pin_refuses_the_default_and_the_phone_digits_then_clears_must_change() {
    let env = policy_on("");
    add(&env, Some(PHONE));
    let refused = |pin: &str, reason: &str| {
        let out = env.run(
            &["patron", "set-pin", CARD, "--pin-stdin"],
            Some(&format!("{pin}\n")),
        );
        assert_eq!(out.code, 1, "{pin}: {}", out.all());
        assert!(out.stderr.contains(reason), "{pin}: {}", out.stderr);
        assert_no_digits(&out, &[pin]);
    };
    // While the phone is unchanged the default digits are the phone digits.
    refused(DEFAULT_DIGITS, "phone number digits");
    ok(
        &env,
        &["patron", "update", CARD, "--phone", NEW_PHONE],
        None,
    );
    refused(DEFAULT_DIGITS, "different from your current PIN");
    refused(NEW_PHONE_DIGITS, "phone number digits");
    let store = env.store().await;
    let still_default = stored_pin(&store, CARD).await.expect("pin");
    assert!(still_default.must_change && still_default.default_expires_at.is_some());
    ok(
        &env,
        &["patron", "set-pin", CARD, "--pin-stdin"],
        Some("2749\n"),
    );
    let chosen = stored_pin(&store, CARD).await.expect("pin");
    assert!(!chosen.must_change && chosen.default_expires_at.is_none());
    assert_ne!(chosen.phc, still_default.phc);
    let line = explain_pin(&env);
    assert!(
        line.contains("PIN set") && !line.contains("must be changed"),
        "{line}"
    );
    let refusals = audit_actions(&store, "pin_set").await;
    assert_eq!(
        refusals
            .iter()
            .filter(|a| a.entry.outcome == "refused")
            .count(),
        3
    );
    for entry in &refusals {
        let text = format!("{entry:?}");
        assert!(
            !text.contains(DEFAULT_DIGITS) && !text.contains(NEW_PHONE_DIGITS),
            "{text}"
        );
    }
}

#[tokio::test]
async fn the_policy_is_off_by_default_and_needs_a_phone_with_enough_digits() {
    let off = Env::new();
    let out = add(&off, Some(PHONE));
    assert!(!out.stdout.contains("default PIN"), "{}", out.stdout);
    let store = off.store().await;
    assert!(
        stored_pin(&store, CARD).await.is_none(),
        "policy off: no PIN"
    );
    assert!(audit_actions(&store, "default_pin_issued").await.is_empty());
    assert!(explain_pin(&off).contains("no PIN on file"));

    for phone in [None, Some("555")] {
        let on = policy_on("");
        let out = add(&on, phone);
        assert!(
            out.stdout
                .contains("no PIN set: the patron has no phone with at least 4 digits"),
            "{phone:?}: {}",
            out.stdout
        );
        assert!(stored_pin(&on.store().await, CARD).await.is_none());
    }

    let chosen = policy_on("");
    let out = ok(
        &chosen,
        &[
            "patron",
            "add",
            CARD,
            "--family-name",
            "Okafor",
            "--phone",
            PHONE,
            "--pin-stdin",
        ],
        Some("2749\n"),
    );
    assert!(!out.stdout.contains("default PIN"), "{}", out.stdout);
    let pin = stored_pin(&chosen.store().await, CARD)
        .await
        .expect("chosen PIN");
    assert!(!pin.must_change && pin.default_expires_at.is_none());
}

#[tokio::test]
async fn a_default_pin_past_its_lifetime_is_refused() {
    let env = policy_on("lifetime = \"1s\"\n");
    let out = add(&env, Some(PHONE));
    assert!(out.stdout.contains("(1 second)"), "{}", out.stdout);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let out = ok(&env, &["explain", CARD], None);
    assert!(
        out.stdout.contains("default PIN expired") && out.stdout.contains("CQ)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("N: refused whatever PIN is typed"),
        "{}",
        out.stdout
    );
}

async fn start_server(env: &Env) -> (String, CancellationToken) {
    let mut config = env.config();
    config.server.listen = "127.0.0.1:0".parse().expect("address");
    let store = env.store().await;
    let clock = sip2auth::clock::system();
    let app = App::build(config, store, clock)
        .await
        .expect("authenticator");
    let server = Server::bind(app.config(), app.sip2()).await.expect("bind");
    let address = server.local_addr().expect("address").to_string();
    let shutdown = app.shutdown();
    tokio::spawn(app.run(server));
    (address, shutdown)
}

/// `probe --patron CARD` with `pin`, run off the reactor (the binary blocks).
async fn probe(env: &Env, address: &str, pin: &str) -> Out {
    let mut cmd = env.command(&[
        "probe",
        address,
        "--login",
        "sc-default",
        "--password-stdin",
        "--patron",
        CARD,
        "--pin-stdin",
    ]);
    let stdin = format!("{TERMINAL_SECRET}\n{pin}\n");
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        use std::process::Stdio;
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write");
        let output = child.wait_with_output().expect("wait");
        Out {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    })
    .await
    .expect("probe task")
}

fn field<'a>(out: &'a Out, name: &str) -> &'a str {
    out.stdout
        .lines()
        .find(|l| l.contains(name))
        .unwrap_or_else(|| panic!("{name} missing:\n{}", out.stdout))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_phone_keeps_the_default_pin_and_its_digits_still_verify_over_sip2() {
    let env = policy_on("");
    add(&env, Some(PHONE));
    ok(
        &env,
        &[
            "terminal",
            "add",
            "sc-default",
            "--cidr",
            "127.0.0.0/8",
            "--password-stdin",
        ],
        Some(&format!("{TERMINAL_SECRET}\n")),
    );
    let store = env.store().await;
    let before = stored_pin(&store, CARD).await.expect("default PIN");
    let update = ok(
        &env,
        &["patron", "update", CARD, "--phone", NEW_PHONE],
        None,
    );
    assert!(
        update
            .stdout
            .contains("the PIN did not change with the phone"),
        "{}",
        update.stdout
    );
    let after = stored_pin(&store, CARD).await.expect("still a PIN");
    assert_eq!(before, after, "changing the phone does not change the PIN");
    assert!(explain_pin(&env).contains("must be changed"));

    let (address, shutdown) = start_server(&env).await;
    let old_digits = probe(&env, &address, DEFAULT_DIGITS).await;
    assert_eq!(old_digits.code, 0, "{}", old_digits.all());
    assert!(
        field(&old_digits, "CQ valid patron password").ends_with('Y'),
        "{}",
        old_digits.stdout
    );
    assert!(
        field(&old_digits, "AF").contains("Please change your temporary PIN"),
        "{}",
        old_digits.stdout
    );
    let new_digits = probe(&env, &address, NEW_PHONE_DIGITS).await;
    assert_eq!(new_digits.code, 1, "{}", new_digits.all());
    assert!(
        field(&new_digits, "CQ valid patron password").ends_with('N'),
        "{}",
        new_digits.stdout
    );
    shutdown.cancel();
}

#[tokio::test]
async fn import_issues_default_pins_to_new_patrons_only_and_a_rerun_changes_nothing() {
    let env = policy_on("");
    // An existing patron without a PIN (no phone at creation): the import adds a phone but never
    // a default PIN.
    ok(
        &env,
        &["patron", "add", "21000900", "--family-name", "Existing"],
        None,
    );
    let dry = ok(&env, &["import", IMPORT, "--dry-run"], None);
    assert!(
        dry.stdout
            .contains("default PINs: 2 new patron(s) would get a default PIN"),
        "{}",
        dry.stdout
    );
    let store = env.store().await;
    assert!(store
        .find_by_card("MAIN", "21000901")
        .await
        .expect("query")
        .is_none());

    let first = ok(&env, &["import", IMPORT], None);
    assert!(
        first
            .stdout
            .contains("5 rows: 4 created, 1 updated, 0 unchanged, 0 rejected"),
        "{}",
        first.stdout
    );
    assert!(
        first
            .stdout
            .contains("default PINs: 2 new patron(s) got a default PIN from the last 4 digits"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("1 new patron(s) got no PIN"),
        "{}",
        first.stdout
    );
    assert_no_digits(&first, &["0958", "3847"]);
    let mut defaults = Vec::new();
    for card in ["21000901", "21000902"] {
        let pin = stored_pin(&store, card).await.expect("default PIN");
        assert!(
            pin.must_change && pin.default_expires_at.is_some(),
            "{card}"
        );
        defaults.push(pin);
    }
    assert!(stored_pin(&store, "21000903").await.is_none(), "no phone");
    let file_pin = stored_pin(&store, "21000904").await.expect("file PIN");
    assert!(!file_pin.must_change && file_pin.default_expires_at.is_none());
    assert!(
        stored_pin(&store, "21000900").await.is_none(),
        "existing patrons never get a default PIN"
    );
    assert_eq!(audit_actions(&store, "default_pin_issued").await.len(), 2);

    let rerun = ok(&env, &["import", IMPORT], None);
    assert!(
        rerun
            .stdout
            .contains("5 rows: 0 created, 0 updated, 5 unchanged, 0 rejected"),
        "{}",
        rerun.stdout
    );
    assert!(
        rerun.stdout.contains("default PINs: 0 new patron(s)"),
        "{}",
        rerun.stdout
    );
    for (card, before) in ["21000901", "21000902"].iter().zip(&defaults) {
        assert_eq!(
            stored_pin(&store, card).await.as_ref(),
            Some(before),
            "{card}"
        );
    }
    assert!(stored_pin(&store, "21000900").await.is_none());
    assert_eq!(audit_actions(&store, "default_pin_issued").await.len(), 2);
    let imports = audit_actions(&store, "import").await;
    assert!(
        imports.iter().any(|a| a
            .entry
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("default PINs 2")),
        "{imports:?}"
    );
}

/// With `sip_policy = "reject"`, `explain` and the SIP2 answer agree: a correct default PIN is
/// answered CQ=N, and explain says so.
#[tokio::test]
async fn with_the_reject_policy_explain_and_the_server_both_refuse_a_correct_default_pin() {
    let env = policy_on("sip_policy = \"reject\"\n");
    add(&env, Some(PHONE));
    ok(
        &env,
        &[
            "terminal",
            "add",
            "sc-default",
            "--cidr",
            "127.0.0.0/8",
            "--password-stdin",
        ],
        Some(&format!("{TERMINAL_SECRET}\n")),
    );
    let explained = ok(&env, &["explain", CARD], None);
    assert!(
        explained
            .stdout
            .contains("N: refused whatever PIN is typed"),
        "{}",
        explained.stdout
    );
    assert!(!explained.stdout.contains("CQ=Y"), "{}", explained.stdout);

    let (address, shutdown) = start_server(&env).await;
    let answered = probe(&env, &address, DEFAULT_DIGITS).await;
    assert!(
        field(&answered, "CQ valid patron password").ends_with('N'),
        "{}",
        answered.stdout
    );
    shutdown.cancel();
}

/// At a terminal that checks the online password, a wrong password is answered with the
/// password's text, not "Invalid PIN"; the right one is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_terminal_answers_a_wrong_password_with_the_password_text() {
    let env = Env::new();
    add(&env, None);
    ok(
        &env,
        &["patron", "set-password", CARD, "--password-stdin"],
        Some("Lantern-Quiet-Harbor-71\n"),
    );
    ok(
        &env,
        &[
            "terminal",
            "add",
            "sc-default",
            "--cidr",
            "127.0.0.0/8",
            "--credential",
            "password",
            "--password-stdin",
        ],
        Some(&format!("{TERMINAL_SECRET}\n")),
    );
    let explained = ok(&env, &["explain", CARD, "--terminal", "sc-default"], None);
    assert!(
        explained.stdout.contains("a correct password is accepted"),
        "{}",
        explained.stdout
    );
    assert!(
        !explained.stdout.contains("correct PIN"),
        "{}",
        explained.stdout
    );
    let (address, shutdown) = start_server(&env).await;
    let wrong = probe(&env, &address, "Lantern-Quiet-Harbor-72").await;
    assert!(
        field(&wrong, "CQ valid patron password").ends_with('N'),
        "{}",
        wrong.stdout
    );
    assert!(
        field(&wrong, "AF").contains("Invalid password"),
        "{}",
        wrong.stdout
    );
    assert!(!wrong.stdout.contains("Invalid PIN"), "{}", wrong.stdout);
    let right = probe(&env, &address, "Lantern-Quiet-Harbor-71").await;
    assert!(
        field(&right, "CQ valid patron password").ends_with('Y'),
        "{}",
        right.stdout
    );
    shutdown.cancel();
}
