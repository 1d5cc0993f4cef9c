//! What a new administrator trips over, through the real binary: no administration command
//! creates a database, a missing directory is named, a closed pipe ends quietly, every option
//! has help, password rules use the patron's email and given name, and logs carry no colour
//! codes and print the listening address as an address.

use crate::cli_common;

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

use cli_common::Env;

#[test]
fn an_admin_command_on_a_mistyped_sqlite_path_creates_nothing_and_exits_3() {
    let env = Env::without_database();
    let typo = env.path("typo.db");
    let url = format!("sqlite://{}", typo.display());
    let out = env
        .command(&["patron", "list"])
        .env("SIP2AUTH_DATABASE_URL", &url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("no database at {}", typo.display()))
            && stderr.contains("run sip2auth migrate to create one"),
        "{stderr}"
    );
    assert!(!typo.exists(), "patron list created the database");
    // migrate creates it; then the command works.
    let migrate = env
        .command(&["migrate"])
        .env("SIP2AUTH_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(migrate.status.code(), Some(0));
    assert!(typo.exists());
}

#[test]
fn a_missing_directory_is_named() {
    let env = Env::without_database();
    let dir = env.path("no-such-dir");
    let url = format!("sqlite://{}/sip2auth.db", dir.display());
    for args in [&["migrate"][..], &["terminal", "list"][..]] {
        let out = env
            .command(args)
            .env("SIP2AUTH_DATABASE_URL", &url)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert!(
            stderr.contains(&format!(
                "the directory {} for the database does not exist",
                dir.display()
            )),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn writing_to_a_closed_pipe_exits_quietly() {
    let env = Env::new();
    for i in 0..300 {
        let card = format!("2100{i:04}");
        let out = env.run(&["patron", "add", &card, "--family-name", "Reader"], None);
        assert_eq!(out.code, 0, "{}", out.all());
    }
    let mut child = env
        .command(&["patron", "list", "--limit", "300"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then close the pipe, as `| head -1` does.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(status.code(), Some(0), "{stderr}");
}

#[test]
fn help_describes_every_option() {
    let env = Env::new();
    for command in [
        &["patron", "add"][..],
        &["patron", "update"][..],
        &["patron", "list"][..],
        &["patron", "set-pin"][..],
        &["patron", "set-password"][..],
        &["patron", "mark-lost"][..],
        &["audit"][..],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let out = env.run(&args, None);
        assert_eq!(out.code, 0, "{}", out.all());
        for line in out
            .stdout
            .lines()
            .filter(|l| l.trim_start().starts_with("--"))
        {
            let option = line.split_whitespace().next().unwrap();
            // Everything after the option and its value name is the description.
            let rest = line.trim_start().trim_start_matches(option).trim_start();
            let rest = if rest.starts_with('<') {
                rest.split_once('>').map_or("", |(_, r)| r)
            } else {
                rest
            };
            assert!(
                !rest.trim().is_empty(),
                "{command:?}: {option} has no help:\n{line}"
            );
        }
    }
}

fn add_ada(env: &Env) {
    let out = env.run(
        &[
            "patron",
            "add",
            "21000123",
            "--family-name",
            "Lovelace",
            "--given-names",
            "Ada",
            "--email",
            "ada@example.org",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
}

#[test]
fn a_password_with_the_email_local_part_or_given_name_is_refused() {
    let env = Env::new();
    add_ada(&env);
    for password in ["ada@example.org1A!", "Xq7#Ada-pQ2m"] {
        let out = env.run(
            &["patron", "set-password", "21000123", "--password-stdin"],
            Some(&format!("{password}\n")),
        );
        assert_eq!(out.code, 1, "{password}: {}", out.all());
        assert!(
            out.stderr.contains("name, card number or email"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn a_long_passphrase_is_accepted_when_composition_is_off() {
    let env = Env::with_config(&format!(
        "{}[security.password]\nrequire_composition = false\n",
        cli_common::CHEAP_HASHING
    ));
    add_ada(&env);
    let out = env.run(
        &["patron", "set-password", "21000123", "--password-stdin"],
        Some("the otters of the lending library read at noon\n"),
    );
    assert_eq!(out.code, 0, "{}", out.all());
}

#[test]
fn server_logs_have_no_colour_codes_and_print_the_address_plainly() {
    let env = Env::with_config(&format!(
        "{}[server]\nlisten = \"127.0.0.1:0\"\n",
        cli_common::CHEAP_HASHING
    ));
    let mut child = env
        .command(&["serve"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    let address = ready
        .split_whitespace()
        .find_map(|w| w.trim_end_matches(':').parse::<std::net::SocketAddr>().ok())
        .unwrap_or_else(|| panic!("no address in {ready:?}"));
    // Once it accepts a connection, the accept loop has started and logged.
    drop(std::net::TcpStream::connect(address).unwrap());
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let _ = child.wait();
    assert!(!stderr.contains('\u{1b}'), "escape codes in: {stderr:?}");
    let listening = stderr
        .lines()
        .find(|l| l.contains("SIP2 server listening"))
        .unwrap_or_else(|| panic!("no listening line: {stderr}"));
    assert!(
        listening.contains(&format!("address={address}")),
        "{listening}"
    );
    assert!(!listening.contains("Some("), "{listening}");
}

#[test]
fn relative_paths_in_a_config_file_are_resolved_against_its_directory() {
    let site = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(
        site.path().join("sip2.toml"),
        format!(
            "{}[database]\nurl = \"sqlite://data/sip2auth.db\"\n[security.pepper]\nkey_file = \"pepper.key\"\n",
            cli_common::CHEAP_HASHING
        ),
    )
    .unwrap();
    std::fs::create_dir(site.path().join("data")).unwrap();
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sip2auth"));
        cmd.current_dir(elsewhere.path())
            .arg("--config")
            .arg(site.path().join("sip2.toml"))
            .args(args)
            .env_remove("SIP2AUTH_DATABASE_URL")
            .env_remove("SIP2AUTH_PEPPER")
            .env_remove("SIP2AUTH_PEPPER_FILE")
            .env_remove("SIP2AUTH_CONFIG")
            .env("USER", "tester")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let Some(text) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        child.wait_with_output().unwrap()
    };
    let key = run(
        &[
            "pepper",
            "generate",
            "--out",
            site.path().join("pepper.key").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(
        key.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&key.stderr)
    );
    let migrate = run(&["migrate"], None);
    assert_eq!(
        migrate.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    assert!(site.path().join("data/sip2auth.db").exists());
    let add = run(
        &[
            "patron",
            "add",
            "21000123",
            "--family-name",
            "Okafor",
            "--pin-stdin",
        ],
        Some("4931\n"),
    );
    assert_eq!(
        add.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    assert!(!elsewhere.path().join("data").exists());
}

#[test]
fn a_missing_pepper_on_an_existing_database_asks_for_that_key_back() {
    let env = Env::new();
    let add = env.run(
        &[
            "patron",
            "add",
            "21000123",
            "--family-name",
            "Okafor",
            "--pin-stdin",
        ],
        Some("4931\n"),
    );
    assert_eq!(add.code, 0, "{}", add.all());
    let gone = env.path("moved-away.key");
    let out = env
        .command(&["patron", "show", "21000123"])
        .env("SIP2AUTH_PEPPER_FILE", &gone)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("pepper key 1, which made the"), "{stderr}");
    assert!(stderr.contains(&gone.display().to_string()), "{stderr}");
    assert!(stderr.contains("do not generate a new key"), "{stderr}");
    assert!(!stderr.contains("sip2auth pepper generate"), "{stderr}");
}

#[test]
fn check_config_reports_every_problem_including_the_environment_and_the_pepper() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sip2.toml");
    std::fs::write(
        &file,
        "[server]\nlisten = \"0.0.0.0:99999\"\n[database]\nmax_connections = -1\n\
         [security.pepper]\nkey_file = \"missing.key\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sip2auth"))
        .args(["check-config"])
        .arg(&file)
        .env("SIP2AUTH_DATABASE_URL", "mysql://db/x")
        .env_remove("SIP2AUTH_PEPPER")
        .env_remove("SIP2AUTH_PEPPER_FILE")
        .env_remove("SIP2AUTH_CONFIG")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2), "{text}");
    for expected in [
        "server.listen",
        "port 1-65535",
        "database.max_connections",
        "whole number",
        "SIP2AUTH_DATABASE_URL",
        "\"mysql\" is not supported",
        "security.pepper.key_file",
    ] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
    assert!(
        !text.contains("expected u32") && !text.contains("usize"),
        "{text}"
    );
}

#[test]
fn the_demo_says_where_its_cards_are_and_admin_commands_in_its_folder_use_it() {
    let dir = tempfile::tempdir().unwrap();
    let sip2auth = |cwd: &std::path::Path, args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sip2auth"));
        cmd.current_dir(cwd)
            .args(args)
            .env_remove("SIP2AUTH_DATABASE_URL")
            .env_remove("SIP2AUTH_PEPPER")
            .env_remove("SIP2AUTH_PEPPER_FILE")
            .env_remove("SIP2AUTH_CONFIG")
            .env("USER", "tester");
        cmd
    };
    std::fs::write(
        dir.path().join("sip2.toml"),
        "[server]\nlisten = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    let mut child = sip2auth(dir.path(), &["serve", "--demo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    assert!(ready.contains("sip2auth demo cards"), "{ready}");
    let cards = sip2auth(dir.path(), &["demo", "cards"]).output().unwrap();
    let cards = String::from_utf8_lossy(&cards.stdout);
    assert!(
        cards
            .lines()
            .any(|l| l.contains("21234000012345") && l.contains("4931")),
        "{cards}"
    );
    let demo = dir.path().join("demo");
    let shown = sip2auth(&demo, &["patron", "show", "21234000012345"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&shown.stdout);
    assert_eq!(
        shown.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    assert!(text.contains("Doe, Jane"), "{text}");
}
