//! The PROXY protocol (v1 and v2) on the SIP2 port: from a trusted proxy the header is required
//! and its source address is the client's for terminal address rules (allow and deny),
//! login-free terminals, connection limits and logs; from any other peer a header is refused.
//! Distinct source addresses are real: each client binds its socket to a loopback address of
//! its own (the whole 127/8 is local on Linux, no set-up needed). Both backends.

use std::net::Ipv4Addr;

use sip2auth::config::Config;
use sip2auth::store::Backend;

use crate::support::world::SC_USER_LOGIN;
use crate::support::{logs, start_with, test_config, Client, TestServer};

/// The load balancer's address; only it is trusted.
const PROXY: [u8; 4] = [127, 0, 0, 7];
/// A request a login-free terminal answers without a 93.
const VALID_63: &str = "6300120250314    093005          AOMAIN|AA21234000012345|AC|AD4931|";
const VALID_64_PREFIX: &str = "64              00120250314   Z093000";

fn proxied_config() -> Config {
    let mut config = test_config();
    config.server.proxy_protocol.trusted = vec!["127.0.0.7/32".parse().expect("net")];
    config
}

fn v1(source: Ipv4Addr) -> Vec<u8> {
    format!("PROXY TCP4 {source} 127.0.0.1 40000 6001\r\n").into_bytes()
}

fn v2(source: Ipv4Addr) -> Vec<u8> {
    let mut header = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    header.extend([0x21, 0x11, 0, 12]);
    header.extend(source.octets());
    header.extend([127, 0, 0, 1, 0x9c, 0x40, 0x17, 0x71]);
    header
}

/// A connection from the proxy that opens with `header`.
async fn through_proxy(server: &TestServer, header: &[u8]) -> Client {
    let mut client = server.client_from(PROXY).await;
    client.send(header).await;
    client
}

async fn the_header_source_binds_a_login_free_terminal_and_is_logged(backend: Backend) {
    let logs = logs::captured();
    let server = start_with(backend, proxied_config()).await;
    // `libki` is login-free from 127.0.0.5 only; the TCP peer is the proxy, 127.0.0.7.
    for header in [
        v1(Ipv4Addr::new(127, 0, 0, 5)),
        v2(Ipv4Addr::new(127, 0, 0, 5)),
    ] {
        let mut client = through_proxy(&server, &header).await;
        let answer = client.exchange(VALID_63).await;
        assert!(answer.starts_with(VALID_64_PREFIX), "{answer}");
    }
    let text = logs.text();
    assert!(
        text.lines()
            .any(|line| line.contains("peer=127.0.0.5:40000") && line.contains("libki")),
        "the session's log lines name the client behind the proxy: {text}"
    );
}

async fn terminal_address_rules_use_the_header_source(backend: Backend) {
    let server = start_with(backend, proxied_config()).await;
    // `sc_user` is allowed from 127.0.0.0/8: a client outside it is refused through the proxy
    // (whose own address is inside).
    let mut outside = through_proxy(&server, &v2(Ipv4Addr::new(192, 0, 2, 7))).await;
    assert!(outside.exchange(SC_USER_LOGIN).await.starts_with("940"));
    let mut inside = through_proxy(&server, &v1(Ipv4Addr::new(127, 0, 0, 3))).await;
    assert_eq!(inside.exchange(SC_USER_LOGIN).await, "941AY0AZFDFD");
    // `lab_only` is allowed from 127.0.0.9/32 only.
    let lab = "9300CNlab_only|COl2Fx7QdN9wBs4VcM|";
    let mut lab_machine = through_proxy(&server, &v1(Ipv4Addr::new(127, 0, 0, 9))).await;
    assert_eq!(lab_machine.exchange(lab).await, "941");
    let mut other = through_proxy(&server, &v1(Ipv4Addr::new(127, 0, 0, 8))).await;
    assert_eq!(other.exchange(lab).await, "940");
    // A client behind the proxy whose address is no login-free terminal's must log in.
    let mut not_libki = through_proxy(&server, &v1(Ipv4Addr::new(127, 0, 0, 6))).await;
    not_libki.send_message(VALID_63).await;
    assert!(
        not_libki.is_closed().await,
        "no terminal: closed before login"
    );
}

async fn a_trusted_peer_without_a_header_and_an_untrusted_one_with_a_header_are_refused(
    backend: Backend,
) {
    let mut config = proxied_config();
    config.server.proxy_protocol.header_timeout = std::time::Duration::from_secs(1);
    let server = start_with(backend, config).await;
    let mut silent = server.client_from(PROXY).await;
    assert!(
        silent.is_closed().await,
        "a proxy that sends nothing is closed after the timeout"
    );
    let mut bare = server.client_from(PROXY).await;
    bare.send_message(SC_USER_LOGIN).await;
    assert!(bare.is_closed().await, "the proxy must send a header");
    // An untrusted client claiming the login-free terminal's address gets nothing.
    let mut forged = server.client_from([127, 0, 0, 1]).await;
    let mut bytes = v1(Ipv4Addr::new(127, 0, 0, 5));
    bytes.extend_from_slice(VALID_63.as_bytes());
    bytes.push(b'\r');
    forged.send(&bytes).await;
    assert!(forged.is_closed().await, "a header from an untrusted peer");
    let mut forged = server.client_from([127, 0, 0, 1]).await;
    let mut bytes = v2(Ipv4Addr::new(127, 0, 0, 5));
    bytes.extend_from_slice(VALID_63.as_bytes());
    bytes.push(b'\r');
    forged.send(&bytes).await;
    assert!(
        forged.is_closed().await,
        "a v2 header from an untrusted peer"
    );
    // A malformed header from the proxy.
    let mut broken = through_proxy(&server, b"PROXY TCP4 nonsense\r\n").await;
    broken.send_message(SC_USER_LOGIN).await;
    assert!(broken.is_closed().await, "a malformed header");
    // The untrusted client without a header is served as usual.
    let mut direct = server.client_from([127, 0, 0, 1]).await;
    assert_eq!(direct.exchange(SC_USER_LOGIN).await, "941AY0AZFDFD");
}

async fn connection_limits_count_the_header_source(backend: Backend) {
    let mut config = proxied_config();
    config.server.max_connections_per_address = 1;
    let server = start_with(backend, config).await;
    let mut first = through_proxy(&server, &v1(Ipv4Addr::new(127, 0, 0, 3))).await;
    assert_eq!(first.exchange(SC_USER_LOGIN).await, "941AY0AZFDFD");
    // Another client behind the same proxy has its own slot.
    let mut second = through_proxy(&server, &v1(Ipv4Addr::new(127, 0, 0, 4))).await;
    assert_eq!(second.exchange(SC_USER_LOGIN).await, "941AY0AZFDFD");
    // The same client again is over its limit.
    let mut again = through_proxy(&server, &v1(Ipv4Addr::new(127, 0, 0, 3))).await;
    again.send_message(SC_USER_LOGIN).await;
    assert!(again.is_closed().await, "one connection per address");
    assert!(first.exchange(VALID_63).await.starts_with(VALID_64_PREFIX));
}

async fn the_login_defence_counts_the_header_source(backend: Backend) {
    let mut config = proxied_config();
    config.server.login_defence.per_address_burst = 3;
    config.server.login_defence.per_login_burst = 3;
    let server = start_with(backend, config).await;
    let guesser = Ipv4Addr::new(127, 0, 0, 3);
    for attempt in 0..6 {
        let mut client = through_proxy(&server, &v1(guesser)).await;
        let answer = client
            .exchange(&format!("9300CNguess{attempt}|COwrong|"))
            .await;
        assert_eq!(answer, "940", "attempt {attempt}");
    }
    let mut penalised = through_proxy(&server, &v1(guesser)).await;
    assert!(
        penalised.exchange(SC_USER_LOGIN).await.starts_with("940"),
        "the guessing client is in its penalty"
    );
    let mut neighbour = through_proxy(&server, &v1(Ipv4Addr::new(127, 0, 0, 4))).await;
    assert_eq!(
        neighbour.exchange(SC_USER_LOGIN).await,
        "941AY0AZFDFD",
        "another client behind the same proxy is not"
    );
}

async fn a_header_can_precede_tls(backend: Backend) {
    use crate::support::tls;
    let dir = tempfile::tempdir().expect("dir");
    let certificate = tls::server_certificate(dir.path(), "server");
    let mut config = proxied_config();
    config.server.tls.certificate = Some(certificate.certificate.clone());
    config.server.tls.key = Some(certificate.key.clone());
    let server = start_with(backend, config).await;
    let client = through_proxy(&server, &v2(Ipv4Addr::new(127, 0, 0, 5))).await;
    let connector = tokio_rustls::TlsConnector::from(tls::client_config(&certificate, None));
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let stream = connector
        .connect(name, client.stream)
        .await
        .expect("TLS after the header");
    let mut secure = tls::TlsClient { stream };
    let answer = secure.exchange(VALID_63).await;
    assert!(
        answer.starts_with(VALID_64_PREFIX),
        "the login-free terminal of the header's source, over TLS: {answer}"
    );
}

sip2auth::store_test_on_both_backends!(
    the_login_defence_counts_the_header_source,
    a_header_can_precede_tls,
    the_header_source_binds_a_login_free_terminal_and_is_logged,
    terminal_address_rules_use_the_header_source,
    a_trusted_peer_without_a_header_and_an_untrusted_one_with_a_header_are_refused,
    connection_limits_count_the_header_source,
);
