//! `sip2auth terminal …` through the real binary.

use crate::cli_common;

use cli_common::Env;
use sip2auth::auth::Terminal;

fn secret_of(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .expect("secret line")
        .trim()
        .to_owned()
}

#[tokio::test]
async fn add_shows_a_generated_secret_once_and_never_again() {
    let env = Env::new();
    let out = env.run(
        &[
            "terminal",
            "add",
            "selfcheck-01",
            "--cidr",
            "10.1.2.0/24",
            "--location",
            "BR1",
            "--terminator",
            "crlf",
            "--error-detection",
            "required",
            "--detail",
            "minimal",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let secret = secret_of(&out.stdout);
    assert!(secret.len() >= 26, "at least 128 bits: {secret}");
    let list = env.run(&["terminal", "list"], None);
    let show = env.run(&["terminal", "show", "selfcheck-01"], None);
    assert_eq!(show.code, 0);
    for out in [&list, &show] {
        assert!(!out.all().contains(&secret), "secret shown again");
    }
    assert!(show.stdout.contains("10.1.2.0/24") && show.stdout.contains("crlf"));
    assert!(show.stdout.contains("required") && show.stdout.contains("minimal"));
    let terminal = env
        .store()
        .await
        .terminal_by_login("selfcheck-01")
        .await
        .unwrap()
        .unwrap();
    let hash = terminal.password.expect("hashed secret");
    assert!(hash.phc.starts_with("$argon2id$") && !hash.phc.contains(&secret));
}

#[test]
fn password_stdin_refuses_a_weak_secret_without_echoing_it() {
    let env = Env::new();
    let out = env.run(
        &["terminal", "add", "ezproxy", "--password-stdin"],
        Some("hunter2\n"),
    );
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("at least 16 characters"));
    assert!(!out.all().contains("hunter2"));
    let out = env.run(
        &["terminal", "add", "ezproxy", "--password-stdin"],
        Some("Tr0ub4dor-and-more-words\n"),
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        !out.all().contains("Tr0ub4dor"),
        "a given secret is never printed"
    );
    let again = env.run(&["terminal", "add", "ezproxy"], None);
    assert_eq!(again.code, 1, "duplicate: {}", again.all());
    assert!(again.stderr.contains("already exists"));
}

#[test]
fn set_password_disable_enable_remove_and_exit_codes() {
    let env = Env::new();
    assert_eq!(env.run(&["terminal", "add", "pc-booking"], None).code, 0);
    let first = env.run(&["terminal", "set-password", "pc-booking"], None);
    assert_eq!(first.code, 0, "{}", first.all());
    assert!(first.stdout.contains("secret: "));
    let out = env.run(&["terminal", "disable", "pc-booking"], None);
    assert_eq!(out.code, 0);
    assert!(env
        .run(&["terminal", "show", "pc-booking"], None)
        .stdout
        .contains("enabled              no"));
    assert_eq!(env.run(&["terminal", "enable", "pc-booking"], None).code, 0);
    assert_eq!(env.run(&["terminal", "remove", "pc-booking"], None).code, 0);
    let gone = env.run(&["terminal", "show", "pc-booking"], None);
    assert_eq!(gone.code, 4, "{}", gone.all());
    assert!(gone.stderr.contains("not found"));
    let usage = env.run(&["terminal", "add", "x", "--charset", "ebcdic"], None);
    assert_eq!(usage.code, 2);
    let login_free = env.run(&["terminal", "add", "lb", "--login-free"], None);
    assert_eq!(
        login_free.code,
        2,
        "login-free needs a --cidr: {}",
        login_free.all()
    );
}

#[test]
fn every_command_help_shows_an_example() {
    let env = Env::new();
    let commands: &[&[&str]] = &[
        &[],
        &["serve"],
        &["check-config"],
        &["migrate"],
        &["pepper"],
        &["pepper", "generate"],
        &["terminal"],
        &["patron"],
        &["terminal", "add"],
        &["terminal", "list"],
        &["terminal", "show"],
        &["terminal", "set-password"],
        &["terminal", "disable"],
        &["terminal", "enable"],
        &["terminal", "remove"],
        &["patron", "add"],
        &["patron", "show"],
        &["patron", "list"],
        &["patron", "update"],
        &["patron", "set-pin"],
        &["patron", "set-password"],
        &["patron", "reset-pin"],
        &["patron", "unlock"],
        &["patron", "block"],
        &["patron", "unblock"],
        &["patron", "mark-lost"],
        &["patron", "remove"],
        &["import"],
        &["explain"],
        &["probe"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let out = env.run(&args, None);
        assert_eq!(out.code, 0, "{command:?}");
        assert!(out.stdout.contains("Example"), "{command:?} has no example");
    }
}

#[test]
fn an_unreachable_database_exits_3_and_says_what_to_fix() {
    let env = Env::new();
    let mut cmd = env.command(&["terminal", "list"]);
    cmd.env(
        "SIP2AUTH_DATABASE_URL",
        "sqlite:///nonexistent-dir/sub/db.sqlite",
    );
    let out = cmd.output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("database.url"), "{stderr}");
}

/// The terminal as stored, read through its one typed value.
async fn terminal(env: &Env, login_id: &str) -> Terminal {
    let row = env.store().await.terminal_by_login(login_id).await.unwrap();
    Terminal::from_row(row.expect("the terminal exists")).expect("readable")
}

#[tokio::test]
async fn update_changes_only_the_settings_given_and_keeps_the_secret() {
    let env = Env::new();
    let out = env.run(
        &["terminal", "add", "lab-pc", "--cidr", "10.1.2.0/24"],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let before = terminal(&env, "lab-pc").await;
    let out = env.run(
        &[
            "terminal",
            "update",
            "lab-pc",
            "--cidr",
            "10.9.0.0/16",
            "--cidr",
            "192.0.2.7/32",
            "--location",
            "BR2",
            "--detail",
            "minimal",
            "--charset",
            "latin-1",
            "--terminator",
            "crlf",
            "--error-detection",
            "off",
            "--credential",
            "either",
            "--allow-messages",
            "63 01",
            "--login-free",
            "true",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("terminal lab-pc updated"),
        "{}",
        out.all()
    );
    let after = terminal(&env, "lab-pc").await;
    let s = &after.settings;
    let nets: Vec<String> = s.allowed_cidrs.iter().map(|n| n.to_string()).collect();
    assert_eq!(nets, ["10.9.0.0/16", "192.0.2.7/32"]);
    assert_eq!(s.location_code.as_deref(), Some("BR2"));
    assert!(s.login_optional);
    assert_eq!(s.allowed_messages.to_string(), "01 63");
    assert_eq!(
        (s.patron_detail.to_string(), s.charset.to_string()),
        ("minimal".to_owned(), "latin-1".to_owned())
    );
    assert_eq!(
        (s.terminator.to_string(), s.error_detection.to_string()),
        ("crlf".to_owned(), "off".to_owned())
    );
    assert_eq!(s.patron_credential.to_string(), "either");
    assert_eq!(
        after.password.map(|h| h.phc),
        before.password.map(|h| h.phc),
        "the secret is not replaced"
    );
    // A second update changes one thing and leaves the rest.
    let out = env.run(
        &[
            "terminal",
            "update",
            "lab-pc",
            "--detail",
            "full",
            "--allow-messages",
            "default",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let again = terminal(&env, "lab-pc").await;
    assert_eq!(again.settings.patron_detail.to_string(), "full");
    assert!(again.settings.allowed_messages.is_empty());
    assert_eq!(again.settings.allowed_cidrs, s.allowed_cidrs);
    let audit = env.run(&["audit", "--action", "terminal_update"], None);
    assert_eq!(audit.code, 0, "{}", audit.all());
    assert!(audit.stdout.contains("terminal_update"), "{}", audit.all());
}

#[test]
fn add_without_a_cidr_warns_that_the_terminal_may_connect_from_anywhere() {
    let env = Env::new();
    let out = env.run(&["terminal", "add", "anywhere"], None);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr.contains("may connect from any address"),
        "{}",
        out.all()
    );
    let out = env.run(&["terminal", "add", "fenced", "--cidr", "10.0.0.0/8"], None);
    assert!(!out.stderr.contains("any address"), "{}", out.all());
}

#[test]
fn allow_messages_takes_circulation_codes_which_a_relayed_terminal_forwards() {
    let env = Env::new();
    let out = env.run(
        &["terminal", "add", "selfcheck", "--allow-messages", "63 11"],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("11 63") || out.stdout.contains("63 11"),
        "{}",
        out.all()
    );
    let refused = env.run(
        &["terminal", "add", "other", "--allow-messages", "63 42"],
        None,
    );
    assert_eq!(refused.code, 2, "no request 42: {}", refused.all());
    let listed = env.run(&["terminal", "list"], None);
    assert!(!listed.stdout.contains("other"), "nothing created");
}

#[tokio::test]
async fn a_cidr_with_host_bits_is_stored_as_its_network_with_a_note() {
    let env = Env::new();
    let out = env.run(
        &["terminal", "add", "branch", "--cidr", "10.0.4.5/24"],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr
            .contains("10.0.4.5/24 is the network 10.0.4.0/24"),
        "{}",
        out.all()
    );
    let nets: Vec<String> = terminal(&env, "branch")
        .await
        .settings
        .allowed_cidrs
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(nets, ["10.0.4.0/24"]);
}

#[test]
fn terminal_not_found_does_not_mention_institution() {
    let env = Env::new();
    for args in [
        &["terminal", "show", "nobody"][..],
        &["terminal", "update", "nobody", "--detail", "full"][..],
        &["terminal", "disable", "nobody"][..],
    ] {
        let out = env.run(args, None);
        assert_eq!(out.code, 4, "{}", out.all());
        assert!(!out.stderr.contains("--institution"), "{}", out.all());
        assert!(out.stderr.contains("terminal list"), "{}", out.all());
    }
}

#[tokio::test]
async fn certificate_and_tls_flags_bind_show_and_unbind() {
    let env = Env::new();
    let pinned = "AB:".repeat(31) + "AB";
    let out = env.run(
        &[
            "terminal",
            "add",
            "selfcheck-02",
            "--cidr",
            "10.1.2.0/24",
            "--require-tls",
            "--client-cert-sha256",
            &pinned,
            "--cert-login",
            "skip-93",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains(&format!("SHA-256 {}", "ab".repeat(32))),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("skip-93"), "{}", out.stdout);
    let stored = terminal(&env, "selfcheck-02").await;
    assert!(stored.settings.require_tls);
    assert_eq!(
        stored.settings.certificate_login,
        sip2auth::auth::CertificateLogin::Skip93
    );

    // A CA and subject replace the fingerprint; the CA file is read and stored.
    let ca = crate::support::tls::Authority::new(env.dir.path(), "terminals-ca");
    let ca_path = ca.issued.certificate.to_str().expect("utf-8").to_owned();
    let out = env.run(
        &[
            "terminal",
            "update",
            "selfcheck-02",
            "--client-ca",
            &ca_path,
            "--client-subject",
            "CN=selfcheck-02, O=City Library",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .contains("issued by its CA to CN=selfcheck-02, O=City Library"),
        "{}",
        out.stdout
    );
    // skip-93 with no certificate left is refused, and nothing changes.
    let out = env.run(
        &["terminal", "update", "selfcheck-02", "--no-client-cert"],
        None,
    );
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.all().contains("skip-93 needs a client certificate"),
        "{}",
        out.all()
    );
    let out = env.run(
        &[
            "terminal",
            "update",
            "selfcheck-02",
            "--no-client-cert",
            "--cert-login",
            "require-93",
            "--require-tls",
            "false",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let stored = terminal(&env, "selfcheck-02").await;
    assert_eq!(stored.settings.client_certificate, None);
    assert!(!stored.settings.require_tls);
}

#[test]
fn bad_certificate_flags_are_refused_with_a_reason() {
    let env = Env::new();
    for (args, says) in [
        (vec!["--client-cert-sha256", "abc"], "64 hex digits"),
        (
            vec![
                "--client-ca",
                "/nonexistent/ca.pem",
                "--client-subject",
                "CN=x",
            ],
            "/nonexistent/ca.pem",
        ),
        (
            vec!["--client-ca", "/nonexistent/ca.pem"],
            "--client-subject",
        ),
        (vec!["--client-subject", "selfcheck"], "ATTRIBUTE=value"),
        (
            vec!["--cert-login", "skip-93"],
            "skip-93 needs a client certificate",
        ),
    ] {
        let mut all = vec!["terminal", "add", "t1", "--cidr", "10.0.0.0/8"];
        all.extend(&args);
        let out = env.run(&all, None);
        assert_eq!(out.code, 2, "{args:?}: {}", out.all());
        assert!(out.all().contains(says), "{args:?}: {}", out.all());
    }
    let not_pem = env.path("not-a-ca.pem");
    std::fs::write(&not_pem, "hello\n").expect("file");
    let out = env.run(
        &[
            "terminal",
            "add",
            "t1",
            "--client-ca",
            not_pem.to_str().expect("utf-8"),
            "--client-subject",
            "CN=t1",
        ],
        None,
    );
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.all().contains("no usable CA certificate"),
        "{}",
        out.all()
    );
}

#[tokio::test]
async fn update_relays_a_terminal_with_a_sealed_upstream_password_never_shown() {
    let env = Env::new();
    let added = env.run(&["terminal", "add", "selfcheck"], None);
    assert_eq!(added.code, 0, "{}", added.all());
    let password = "ils-secret-Vq3Lm8Rt";
    let out = env.run(
        &[
            "terminal",
            "update",
            "selfcheck",
            "--upstream",
            "ils.example.org:6001",
            "--upstream-login",
            "sip2auth-sc01",
            "--upstream-password-stdin",
            "--patron-mode",
            "merge",
            "--upstream-timeout",
            "4s",
        ],
        Some(&format!("{password}\n")),
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let shown = env.run(&["terminal", "show", "selfcheck"], None);
    assert_eq!(shown.code, 0, "{}", shown.all());
    for fact in [
        "ils.example.org:6001",
        "sip2auth-sc01",
        "upstream password",
        "merge",
        "4s",
    ] {
        assert!(shown.stdout.contains(fact), "{fact}: {}", shown.all());
    }
    assert!(shown.stdout.contains("set"), "{}", shown.all());
    assert!(!out.all().contains(password) && !shown.all().contains(password));
    // Relaying needs both an address and a login.
    let half = env.run(&["terminal", "add", "other"], None);
    assert_eq!(half.code, 0, "{}", half.all());
    let refused = env.run(
        &["terminal", "update", "other", "--upstream", "ils:6001"],
        None,
    );
    assert_ne!(refused.code, 0, "{}", refused.all());
    assert!(
        refused.all().contains("--upstream-login"),
        "{}",
        refused.all()
    );
    let stopped = env.run(&["terminal", "update", "selfcheck", "--no-upstream"], None);
    assert_eq!(stopped.code, 0, "{}", stopped.all());
    assert!(
        stopped.stdout.contains("none (not relayed)"),
        "{}",
        stopped.all()
    );
}
