//! The web pages take the SIP2 port's transport settings: TLS from `[server.tls]` on the same
//! port as plain HTTP (told apart by the first byte), and the PROXY protocol from
//! `server.proxy_protocol`'s trusted peers, whose header gives the client address.

use std::net::SocketAddr;

use sip2auth::store::Backend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::support::tls::{client_config, server_certificate, TlsClient};
use crate::support::web::{start_web, web_config};
use crate::support::STEP_TIMEOUT;

/// Sends one HTTP/1.1 request on `stream` and reads the whole answer (the server closes); empty
/// when the connection was refused.
async fn get<S>(stream: &mut S, path: &str) -> String
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    // A refused connection may be closed before the request is written: then nothing is read.
    if stream.write_all(request.as_bytes()).await.is_err() {
        return String::new();
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(STEP_TIMEOUT, stream.read_to_end(&mut answer))
        .await
        .expect("answer in time");
    String::from_utf8_lossy(&answer).into_owned()
}

async fn the_pages_are_served_over_tls_and_plain_on_one_port(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let certificate = server_certificate(dir.path(), "web");
    let mut config = web_config();
    config.server.tls.certificate = Some(certificate.certificate.clone());
    config.server.tls.key = Some(certificate.key.clone());
    let web = start_web(backend, config).await;

    let mut tls = TlsClient::connect(web.web_addr, client_config(&certificate, None))
        .await
        .expect("TLS handshake on the web port");
    assert_eq!(tls.server_fingerprint(), certificate.fingerprint());
    let answer = get(&mut tls.stream, "/login").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("<form"), "the log-in page over TLS");

    let mut plain = TcpStream::connect(web.web_addr).await.expect("connect");
    let answer = get(&mut plain, "/login").await;
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "plain HTTP still served: {answer}"
    );
}

async fn a_proxy_header_is_required_from_a_trusted_peer_and_refused_from_others(backend: Backend) {
    let mut config = web_config();
    config.server.proxy_protocol.trusted = vec!["127.0.0.7/32".parse().expect("net")];
    let web = start_web(backend, config).await;

    let from = |last: u8| async move {
        let socket = TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::from(([127, 0, 0, last], 0)))
            .expect("bind a loopback address");
        socket.connect(web.web_addr).await.expect("connect")
    };
    let mut proxied = from(7).await;
    proxied
        .write_all(b"PROXY TCP4 198.51.100.9 127.0.0.1 40000 8080\r\n")
        .await
        .expect("header");
    let answer = get(&mut proxied, "/login").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let mut bare = from(7).await;
    let answer = get(&mut bare, "/login").await;
    assert!(
        answer.is_empty(),
        "a trusted peer without a header is refused: {answer}"
    );

    let mut untrusted = from(8).await;
    untrusted
        .write_all(b"PROXY TCP4 198.51.100.9 127.0.0.1 40000 8080\r\n")
        .await
        .expect("header");
    let answer = get(&mut untrusted, "/login").await;
    assert!(
        !answer.starts_with("HTTP/1.1 200"),
        "a header from an untrusted peer gets no page (closed, or 400 for the PROXY line): {answer}"
    );
}

sip2auth::store_test_on_both_backends!(
    the_pages_are_served_over_tls_and_plain_on_one_port,
    a_proxy_header_is_required_from_a_trusted_peer_and_refused_from_others,
);
