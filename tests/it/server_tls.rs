//! TLS on the SIP2 port, driven by real clients: the server's own rustls peer, `openssl
//! s_client` (Debian's openssl), Python's `ssl` module and the PyPI `Sip2` client with its
//! default TLS-first connect. Plain and TLS share the port (told apart by the first byte);
//! `server.tls.require` refuses plain text; `server.tls.listen` is TLS only; the certificate
//! reloads on a file change and on SIGHUP while sessions already open go on, and a bad new file
//! keeps the old certificate. Server tests run on SQLite and PostgreSQL.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use sip2auth::config::Config;
use sip2auth::store::Backend;

use crate::support::tls::{self, Issued, TlsClient};
use crate::support::world::SC_USER_LOGIN;
use crate::support::{logs, start_with, test_config};

const VALID_63: &str = "6300120250314    093005          AOMAIN|AA21234000012345|AC|AD4931|";
/// A valid 64 for Jane Doe starts like this (no trailer requested).
const VALID_64_PREFIX: &str = "64              00120250314   Z093000";
const VALID_23: &str = "2300120250314    093005AOMAIN|AA21234000012345|AC|AD4931|";
const LOGGED_IN: &str = "941AY0AZFDFD";

/// The test configuration with `server`'s certificate in use.
fn tls_config(server: &Issued) -> Config {
    let mut config = test_config();
    config.server.tls.certificate = Some(server.certificate.clone());
    config.server.tls.key = Some(server.key.clone());
    config
}

async fn plain_and_tls_share_the_port(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let certificate = tls::server_certificate(dir.path(), "server");
    let server = start_with(backend, tls_config(&certificate)).await;
    let mut plain = server.client().await;
    assert_eq!(plain.exchange(SC_USER_LOGIN).await, LOGGED_IN);
    let mut secure = TlsClient::connect(server.addr, tls::client_config(&certificate, None))
        .await
        .expect("TLS handshake");
    assert_eq!(secure.server_fingerprint(), certificate.fingerprint());
    assert_eq!(secure.exchange(SC_USER_LOGIN).await, LOGGED_IN);
    let answer = secure.exchange(VALID_63).await;
    assert!(answer.starts_with(VALID_64_PREFIX), "{answer}");
    let answer = plain.exchange(VALID_63).await;
    assert!(answer.starts_with(VALID_64_PREFIX), "{answer}");
}

async fn require_refuses_plain_text_and_serves_tls(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let certificate = tls::server_certificate(dir.path(), "server");
    let mut config = tls_config(&certificate);
    config.server.tls.require = true;
    let server = start_with(backend, config).await;
    let mut plain = server.client().await;
    plain.send_message(SC_USER_LOGIN).await;
    assert!(plain.is_closed().await, "plain text is refused");
    let mut secure = TlsClient::connect(server.addr, tls::client_config(&certificate, None))
        .await
        .expect("TLS handshake");
    assert_eq!(secure.exchange(SC_USER_LOGIN).await, LOGGED_IN);
}

async fn the_tls_listener_speaks_tls_only(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let certificate = tls::server_certificate(dir.path(), "server");
    let mut config = tls_config(&certificate);
    config.server.tls.listen = Some("127.0.0.1:0".parse().expect("addr"));
    let server = start_with(backend, config).await;
    let tls_addr = server.tls_addr.expect("TLS listener bound");
    let mut secure = TlsClient::connect(tls_addr, tls::client_config(&certificate, None))
        .await
        .expect("TLS handshake");
    assert_eq!(secure.exchange(SC_USER_LOGIN).await, LOGGED_IN);
    let mut plain = crate::support::Client::connect(tls_addr, [127, 0, 0, 1].into()).await;
    plain.send_message(SC_USER_LOGIN).await;
    assert!(plain.is_closed().await, "plain text is refused there");
    let mut plain = server.client().await;
    assert_eq!(
        plain.exchange(SC_USER_LOGIN).await,
        LOGGED_IN,
        "the SIP2 port still serves plain text"
    );
}

/// `openssl s_client` input: log in, ask about a patron, then a byte no SIP2 message starts
/// with, which makes the server close (so s_client ends without a timeout).
fn s_client_input() -> String {
    format!("{SC_USER_LOGIN}\r{VALID_63}\r~\r")
}

fn s_client(server: std::net::SocketAddr, ca: &Path, version: &[&str]) -> (bool, String) {
    let output = tls::run_with_input(
        Command::new("openssl")
            .args(["s_client", "-quiet", "-ign_eof", "-verify_return_error"])
            .args(["-connect", &server.to_string(), "-servername", "localhost"])
            .arg("-CAfile")
            .arg(ca)
            .args(version),
        &s_client_input(),
    );
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.stdout.windows(3).any(|w| w == b"941"), text)
}

async fn openssl_s_client_gets_tls_1_2_and_1_3_and_nothing_older(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let certificate = tls::server_certificate(dir.path(), "server");
    let server = start_with(backend, tls_config(&certificate)).await;
    let addr = server.addr;
    let ca = certificate.certificate.clone();
    let run = move |version: &'static [&'static str]| {
        let ca = ca.clone();
        tokio::task::spawn_blocking(move || s_client(addr, &ca, version))
    };
    for version in [&["-tls1_3"][..], &["-tls1_2"][..]] {
        let (logged_in, text) = run(version).await.expect("s_client");
        assert!(logged_in, "{version:?}: {text}");
        assert!(text.contains(VALID_64_PREFIX), "{version:?}: {text}");
    }
    // The client allows TLS 1.1 (security level 0); the server must not.
    let (logged_in, text) = run(&["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
        .await
        .expect("s_client");
    assert!(!logged_in, "TLS 1.1 was accepted: {text}");
}

async fn python_ssl_verifies_the_server_and_speaks_sip2(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let certificate = tls::server_certificate(dir.path(), "server");
    let server = start_with(backend, tls_config(&certificate)).await;
    let (addr, ca) = (server.addr, certificate.certificate.clone());
    let output = tokio::task::spawn_blocking(move || {
        tls::run_with_input(
            Command::new("python3")
                .arg(tls::peer_script("ssl_client.py"))
                .args(["localhost", &addr.port().to_string()])
                .arg(&ca),
            &format!("{SC_USER_LOGIN}\n{VALID_23}\n"),
        )
    })
    .await
    .expect("python");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(lines[0], LOGGED_IN, "{stdout}");
    assert!(lines[1].contains("|BLY|CQY|"), "{stdout}");
    assert_eq!(lines[2], "TLSv1.3", "{stdout}");
}

/// The PyPI `Sip2` client at its defaults (TLS first, self-signed accepted), in `dir`: which
/// transport it ended on, and its 94 and 24 results.
fn sip2_client(dir: &Path, port: u16) -> serde_json::Value {
    let output = tls::run_with_input(
        Command::new(tls::peers_python())
            .current_dir(dir)
            .arg(tls::peer_script("sip2_client.py"))
            .args(["localhost", &port.to_string()])
            .args(["sc_user", crate::support::world::SC_USER_PASSWORD])
            .args(["21234000012345", "4931"]),
        "",
    );
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The client prints a line of its own when it is dropped; the result is the first.
    let first = stdout.lines().next().unwrap_or_default();
    serde_json::from_str(first).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

async fn the_python_sip2_client_ends_on_tls_with_a_certificate_and_plain_without(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let certificate = tls::server_certificate(dir.path(), "server");
    let with_tls = start_with(backend, tls_config(&certificate)).await;
    let port = with_tls.addr.port();
    let path = dir.path().to_owned();
    let result = tokio::task::spawn_blocking(move || sip2_client(&path, port))
        .await
        .expect("client");
    assert_eq!(result["transport"], "tls", "{result}");
    assert_eq!(result["login"], "1", "{result}");
    assert_eq!(result["valid_patron"], "Y", "{result}");
    assert_eq!(result["valid_pin"], "Y", "{result}");

    let without = start_with(backend, test_config()).await;
    let port = without.addr.port();
    let path = dir.path().to_owned();
    let result = tokio::task::spawn_blocking(move || sip2_client(&path, port))
        .await
        .expect("client");
    assert_eq!(result["transport"], "plain", "{result}");
    assert_eq!(result["login"], "1", "{result}");
    assert_eq!(result["valid_pin"], "Y", "{result}");
}

/// Connects with a client that trusts `expected` only, until the server presents it (the
/// reload happens on the server's next file check); bounded.
async fn wait_for_certificate(server: std::net::SocketAddr, expected: &Issued) -> TlsClient {
    for _ in 0..100 {
        if let Ok(client) = TlsClient::connect(server, tls::client_config(expected, None)).await {
            return client;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server never presented the new certificate");
}

fn replace_files(with: &Issued, certificate: &Issued) {
    std::fs::copy(&with.certificate, &certificate.certificate).expect("certificate replaced");
    std::fs::copy(&with.key, &certificate.key).expect("key replaced");
}

async fn a_certificate_change_reloads_during_traffic_and_sessions_go_on(backend: Backend) {
    let logs = logs::captured();
    let dir = tempfile::tempdir().expect("dir");
    let first = tls::server_certificate(dir.path(), "server");
    let second = tls::server_certificate(dir.path(), "second");
    let mut config = tls_config(&first);
    config.server.tls.reload_check_interval = Duration::from_secs(1);
    let server = start_with(backend, config).await;
    let mut open = TlsClient::connect(server.addr, tls::client_config(&first, None))
        .await
        .expect("TLS handshake");
    assert_eq!(open.exchange(SC_USER_LOGIN).await, LOGGED_IN);

    replace_files(&second, &first);
    // Traffic on the open session while the server notices the change.
    let mut fresh = loop {
        let answer = open.exchange(VALID_63).await;
        assert!(answer.starts_with(VALID_64_PREFIX), "{answer}");
        match TlsClient::connect(server.addr, tls::client_config(&second, None)).await {
            Ok(client) => break client,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    assert_eq!(fresh.server_fingerprint(), second.fingerprint());
    assert_eq!(fresh.exchange(SC_USER_LOGIN).await, LOGGED_IN);
    let answer = open.exchange(VALID_63).await;
    assert!(
        answer.starts_with(VALID_64_PREFIX),
        "the session opened before goes on: {answer}"
    );

    // A broken new file: the certificate in use stays, and the log says why.
    std::fs::write(
        &first.certificate,
        "-----BEGIN CERTIFICATE-----\nnot base64\n",
    )
    .expect("broken");
    for _ in 0..100 {
        if logs.text().contains("TLS certificate not reloaded") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = logs.text();
    assert!(text.contains("TLS certificate not reloaded"), "{text}");
    assert!(
        text.contains(&first.certificate.display().to_string()),
        "{text}"
    );
    let mut after = wait_for_certificate(server.addr, &second).await;
    assert_eq!(after.exchange(SC_USER_LOGIN).await, LOGGED_IN);
}

sip2auth::store_test_on_both_backends!(
    plain_and_tls_share_the_port,
    require_refuses_plain_text_and_serves_tls,
    the_tls_listener_speaks_tls_only,
    openssl_s_client_gets_tls_1_2_and_1_3_and_nothing_older,
    python_ssl_verifies_the_server_and_speaks_sip2,
    the_python_sip2_client_ends_on_tls_with_a_certificate_and_plain_without,
    a_certificate_change_reloads_during_traffic_and_sessions_go_on,
);

/// `sip2auth serve` reloads its certificate on SIGHUP (the file check is set to an hour, so
/// only the signal can have done it), and a TLS session opened before goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_certificate_of_a_running_server() {
    use std::io::BufRead;
    let env = crate::cli_common::Env::with_config(&format!(
        "{}[server]\nlisten = \"127.0.0.1:0\"\n[server.tls]\ncertificate = \"server.pem\"\n\
         key = \"server.key\"\nreload_check_interval = \"1h\"\n",
        crate::cli_common::CHEAP_HASHING
    ));
    let first = tls::server_certificate(env.dir.path(), "server");
    let second = tls::server_certificate(env.dir.path(), "second");
    let mut child = env
        .command(&["serve"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready line");
    let address: std::net::SocketAddr = line
        .split_whitespace()
        .find_map(|word| word.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    let mut open = TlsClient::connect(address, tls::client_config(&first, None))
        .await
        .expect("TLS handshake");
    assert!(open.exchange("9900302.00").await.starts_with("98"));

    replace_files(&second, &first);
    assert!(
        TlsClient::connect(address, tls::client_config(&second, None))
            .await
            .is_err(),
        "no reload before the signal"
    );
    let signalled = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(signalled.success());
    let mut fresh = wait_for_certificate(address, &second).await;
    assert!(fresh.exchange("9900302.00").await.starts_with("98"));
    assert!(
        open.exchange("9900302.00").await.starts_with("98"),
        "the session opened before the reload goes on"
    );
    let _ = child.kill();
    let _ = child.wait();
}
