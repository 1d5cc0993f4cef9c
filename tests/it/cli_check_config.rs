//! `sip2auth check-config`: the real binary on the reference and fixture configurations.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

fn check_config(file: &Path, pepper_file: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sip2auth"));
    command
        .arg("check-config")
        .arg(file)
        .env_remove("SIP2AUTH_PEPPER")
        .env_remove("SIP2AUTH_DATABASE_URL")
        .env_remove("SIP2AUTH_CONFIG");
    match pepper_file {
        Some(path) => command.env("SIP2AUTH_PEPPER_FILE", path),
        None => command.env("SIP2AUTH_PEPPER_FILE", "/nonexistent/pepper.key"),
    };
    command.output().expect("the binary runs")
}

fn pepper() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), [0x5a; 32]).expect("write key");
    file
}

#[test]
fn the_reference_configuration_is_valid() {
    let key = pepper();
    let output = check_config(&fixture("sip2.toml"), Some(key.path()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains(": ok"), "{stdout}");
}

#[test]
fn the_production_example_is_valid() {
    let key = pepper();
    let output = check_config(&fixture("fixtures/configs/postgres.toml"), Some(key.path()));
    assert_eq!(output.status.code(), Some(0), "{output:?}");
}

#[test]
fn every_problem_is_listed_with_its_key_path_and_the_exit_status_is_2() {
    let key = pepper();
    let output = check_config(&fixture("fixtures/configs/invalid.toml"), Some(key.path()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    for key in [
        "server.lisen: unknown key",
        "server.max_frame_bytes: must be a whole number",
        "server.idle_timeout: must be at least 1s",
        "database.url: must start with",
        "security.pin.strictt: unknown key",
    ] {
        assert!(stdout.contains(key), "{key:?} missing from:\n{stdout}");
    }
    assert!(stdout.contains("5 problem(s)"), "{stdout}");
}

#[test]
fn a_missing_pepper_key_is_a_problem_before_the_server_refuses_to_start() {
    let output = check_config(&fixture("sip2.toml"), None);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("security.pepper.key_file"), "{stdout}");
}

#[test]
fn an_unreadable_file_says_which_and_exits_2() {
    let output = check_config(Path::new("/nonexistent/sip2.toml"), None);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/sip2.toml"));
}

#[test]
fn tls_settings_are_checked_and_a_certificate_that_does_not_load_is_a_problem() {
    let key = pepper();
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("sip2.toml");
    std::fs::write(
        &config,
        "[server.tls]\nrequire = true\nhandshake_timeout = \"0s\"\n\
         [server.proxy_protocol]\ntrusted = [\"10.0.0.0/33\"]\n",
    )
    .expect("config");
    let output = check_config(&config, Some(key.path()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("server.proxy_protocol.trusted"), "{stdout}");

    std::fs::write(
        &config,
        "[server.tls]\nrequire = true\nhandshake_timeout = \"0s\"\n",
    )
    .expect("config");
    let output = check_config(&config, Some(key.path()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for problem in [
        "server.tls.require: needs a certificate",
        "server.tls.handshake_timeout: must be at least 1s",
    ] {
        assert!(
            stdout.contains(problem),
            "{problem:?} missing from:\n{stdout}"
        );
    }

    std::fs::write(dir.path().join("server.pem"), "not a certificate\n").expect("pem");
    std::fs::write(dir.path().join("server.key"), "not a key\n").expect("key");
    std::fs::write(
        &config,
        "[server.tls]\ncertificate = \"server.pem\"\nkey = \"server.key\"\n",
    )
    .expect("config");
    let output = check_config(&config, Some(key.path()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("server.tls.certificate") && stdout.contains("server.pem"),
        "{stdout}"
    );
}
