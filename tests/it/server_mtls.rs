//! Client certificates (mTLS) and TLS-only terminals, driven over real TLS connections (the
//! rustls test client and Python's `ssl` module with a client certificate): a terminal bound to
//! a certificate's SHA-256 fingerprint or to a CA and subject is logged in by it (`skip-93`) or
//! must still send its 93 over it (`require-93`); a certificate that matches no terminal gets no
//! patron answers; a terminal that requires TLS is refused over plain text. Both backends.

use std::process::Command;

use sip2auth::auth::hashing::Hasher;
use sip2auth::auth::{CertificateBinding, CertificateLogin, NewTerminal, TerminalSettings};
use sip2auth::config::Config;
use sip2auth::net::CertificateAuthority;
use sip2auth::store::{Backend, Store};

use crate::support::tls::{self, Issued, TlsClient};
use crate::support::world::{self, SC_USER_LOGIN};
use crate::support::{test_config, TestServer, World};

const VALID_63: &str = "6300120250314    093005          AOMAIN|AA21234000012345|AC|AD4931|";
const VALID_64_PREFIX: &str = "64              00120250314   Z093000";
const VALID_23: &str = "2300120250314    093005AOMAIN|AA21234000012345|AC|AD4931|";
const SECRET: &str = "t4Ls9QwE2rTy7UiO";

/// The certificates of one test and the server that knows them.
struct Mtls {
    server: TestServer,
    server_certificate: Issued,
    /// Pinned by fingerprint, `skip-93` (terminal `pinned`).
    pinned: Issued,
    /// Pinned by fingerprint, `require-93` (terminal `pinned93`).
    pinned93: Issued,
    /// Issued by the test CA to CN=selfcheck-ca (terminal `ca_bound`, `skip-93`).
    by_ca: Issued,
    /// Issued by the same CA to another subject.
    other_subject: Issued,
    /// Self-signed, with the CA-bound terminal's subject.
    impostor: Issued,
    /// Matches no terminal.
    stranger: Issued,
    _dir: tempfile::TempDir,
}

async fn bound_terminal(
    store: &Store,
    hasher: &Hasher,
    login_id: &str,
    configure: impl FnOnce(&mut TerminalSettings),
) {
    let mut settings = TerminalSettings::new("MAIN");
    settings.allowed_cidrs = vec!["127.0.0.0/8".parse().expect("net")];
    configure(&mut settings);
    let new = NewTerminal {
        login_id: login_id.to_owned(),
        password: Some(world::terminal_hash(hasher, SECRET)),
        settings,
    };
    store.create_terminal(&new.row()).await.expect("terminal");
}

async fn start(backend: Backend) -> Mtls {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path();
    let server_certificate = tls::server_certificate(path, "server");
    let authority = tls::Authority::new(path, "terminals");
    let certs = (
        tls::client_certificate(path, "pinned", "selfcheck-pinned"),
        tls::client_certificate(path, "pinned93", "selfcheck-93"),
        authority.client(path, "by-ca", "selfcheck-ca"),
        authority.client(path, "other", "someone-else"),
        tls::client_certificate(path, "impostor", "selfcheck-ca"),
        tls::client_certificate(path, "stranger", "stranger"),
    );
    let mut config: Config = test_config();
    config.server.tls.certificate = Some(server_certificate.certificate.clone());
    config.server.tls.key = Some(server_certificate.key.clone());
    let world = World::new(backend, &config).await;
    let hasher = world::hasher(&config);
    let pinned = certs.0.fingerprint();
    bound_terminal(&world.store, &hasher, "pinned", |s| {
        s.client_certificate = Some(CertificateBinding::Fingerprint(pinned));
        s.certificate_login = CertificateLogin::Skip93;
    })
    .await;
    let pinned93 = certs.1.fingerprint();
    bound_terminal(&world.store, &hasher, "pinned93", |s| {
        s.client_certificate = Some(CertificateBinding::Fingerprint(pinned93));
        s.certificate_login = CertificateLogin::Require93;
    })
    .await;
    let ca = CertificateAuthority::from_pem(&authority.issued.pem).expect("CA");
    bound_terminal(&world.store, &hasher, "ca_bound", |s| {
        s.client_certificate = Some(CertificateBinding::Authority {
            authority: ca,
            subject: "CN=selfcheck-ca".parse().expect("subject"),
        });
        s.certificate_login = CertificateLogin::Skip93;
    })
    .await;
    bound_terminal(&world.store, &hasher, "tls_only", |s| s.require_tls = true).await;
    let server = world.serve(config).await;
    Mtls {
        server,
        server_certificate,
        pinned: certs.0,
        pinned93: certs.1,
        by_ca: certs.2,
        other_subject: certs.3,
        impostor: certs.4,
        stranger: certs.5,
        _dir: dir,
    }
}

impl Mtls {
    async fn connect(&self, client: Option<&Issued>) -> TlsClient {
        TlsClient::connect(
            self.server.addr,
            tls::client_config(&self.server_certificate, client),
        )
        .await
        .expect("TLS handshake")
    }
}

/// A 63 before any login: answered for a terminal logged in by its certificate, else the
/// connection is closed (nothing is told before a login).
async fn answers_without_login(client: &mut TlsClient) -> bool {
    use tokio::io::AsyncWriteExt;
    client
        .stream
        .write_all(format!("{VALID_63}\r").as_bytes())
        .await
        .expect("send");
    client.stream.flush().await.expect("flush");
    !client.is_closed().await
}

async fn a_pinned_certificate_logs_its_terminal_in_without_a_93(backend: Backend) {
    let t = start(backend).await;
    let mut client = t.connect(Some(&t.pinned)).await;
    let answer = client.exchange(VALID_63).await;
    assert!(answer.starts_with(VALID_64_PREFIX), "{answer}");
    // The same with Python's ssl module presenting the certificate.
    let (port, ca) = (
        t.server.addr.port(),
        t.server_certificate.certificate.clone(),
    );
    let (cert, key) = (t.pinned.certificate.clone(), t.pinned.key.clone());
    let output = tokio::task::spawn_blocking(move || {
        tls::run_with_input(
            Command::new("python3")
                .arg(tls::peer_script("ssl_client.py"))
                .args(["localhost", &port.to_string()])
                .args([&ca, &cert, &key]),
            &format!("{VALID_23}\n"),
        )
    })
    .await
    .expect("python");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout
            .lines()
            .next()
            .is_some_and(|l| l.contains("|BLY|CQY|")),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn a_require_93_certificate_still_needs_its_login(backend: Backend) {
    let t = start(backend).await;
    let login = format!("9300CNpinned93|CO{SECRET}|");
    let mut silent = t.connect(Some(&t.pinned93)).await;
    assert!(
        !answers_without_login(&mut silent).await,
        "no patron answer before the 93"
    );
    let mut client = t.connect(Some(&t.pinned93)).await;
    assert_eq!(client.exchange(&login).await, "941");
    assert!(client.exchange(VALID_63).await.starts_with(VALID_64_PREFIX));
    // Its secret alone is not enough: without the certificate, or with another one.
    let mut bare = t.connect(None).await;
    assert_eq!(bare.exchange(&login).await, "940");
    let mut wrong = t.connect(Some(&t.pinned)).await;
    assert_eq!(wrong.exchange(&login).await, "940");
    let mut plain = t.server.client().await;
    assert_eq!(plain.exchange(&login).await, "940");
}

async fn a_ca_and_subject_binding_takes_that_subject_from_that_ca_only(backend: Backend) {
    let t = start(backend).await;
    let mut client = t.connect(Some(&t.by_ca)).await;
    assert!(
        answers_without_login(&mut client).await,
        "the CA's certificate for CN=selfcheck-ca"
    );
    for (what, certificate) in [
        ("another subject of the CA", &t.other_subject),
        ("the subject, self-signed", &t.impostor),
    ] {
        let mut client = t.connect(Some(certificate)).await;
        assert!(!answers_without_login(&mut client).await, "{what}");
    }
}

async fn a_certificate_that_matches_no_terminal_gets_no_patron_answers(backend: Backend) {
    let t = start(backend).await;
    let mut client = t.connect(Some(&t.stranger)).await;
    assert!(!answers_without_login(&mut client).await);
    // Not even through a terminal's correct secret: the certificate is no terminal's.
    let mut client = t.connect(Some(&t.stranger)).await;
    assert!(client.exchange(SC_USER_LOGIN).await.starts_with("940"));
    let mut without = t.connect(None).await;
    assert_eq!(without.exchange(SC_USER_LOGIN).await, "941AY0AZFDFD");
}

async fn a_terminal_that_requires_tls_is_refused_over_plain_text(backend: Backend) {
    let t = start(backend).await;
    let login = format!("9300CNtls_only|CO{SECRET}|");
    let mut plain = t.server.client().await;
    assert_eq!(plain.exchange(&login).await, "940");
    let mut secure = t.connect(None).await;
    assert_eq!(secure.exchange(&login).await, "941");
    let mut plain = t.server.client().await;
    assert_eq!(
        plain.exchange(SC_USER_LOGIN).await,
        "941AY0AZFDFD",
        "other terminals keep plain text"
    );
}

sip2auth::store_test_on_both_backends!(
    a_pinned_certificate_logs_its_terminal_in_without_a_93,
    a_require_93_certificate_still_needs_its_login,
    a_ca_and_subject_binding_takes_that_subject_from_that_ca_only,
    a_certificate_that_matches_no_terminal_gets_no_patron_answers,
    a_terminal_that_requires_tls_is_refused_over_plain_text,
);
