//! `sip2auth terminal …` through the real binary.

use crate::cli_common;

use cli_common::Env;

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
