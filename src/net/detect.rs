//! Plain or TLS, told from the first byte of a connection without consuming it (`peek`), and
//! whether an untrusted peer opens with a PROXY protocol header.
//!
//! A TLS record of a ClientHello starts 0x16 (handshake) 0x03 (the version's major byte); no
//! SIP2 message (digits after blanks or line ends) nor HTTP request starts with 0x16, so the
//! first byte decides. Must not read (consume) bytes: the protocol after it reads them all.

use tokio::net::TcpStream;

/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// The PROXY protocol v1 header's start and the v2 signature.
pub(super) const PROXY_V1_START: &[u8] = b"PROXY ";
pub(super) const PROXY_V2_SIGNATURE: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";

/// How a connection opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opening {
    /// A TLS record: the client wants a TLS session.
    TlsHello,
    /// Anything else: the protocol reads it as plain text.
    Plain,
    /// The client closed before sending a byte.
    Closed,
}

/// Waits for the first byte and says what it opens (the caller bounds the wait).
pub(super) async fn opening(stream: &TcpStream) -> std::io::Result<Opening> {
    let mut first = [0u8; 1];
    Ok(match stream.peek(&mut first).await? {
        0 => Opening::Closed,
        _ if first[0] == TLS_HANDSHAKE_RECORD => Opening::TlsHello,
        _ => Opening::Plain,
    })
}

/// Whether the bytes already received start a PROXY header (v1 or v2). Never waits for bytes
/// that have not arrived: a peer that sends nothing yet is not a proxy.
pub(super) async fn opens_with_proxy_header(stream: &TcpStream) -> bool {
    let mut start = [0u8; 12];
    let Some(Ok(seen)) = futures_util::FutureExt::now_or_never(stream.peek(&mut start)) else {
        return false;
    };
    let seen = &start[..seen];
    seen.starts_with(PROXY_V1_START) || seen == PROXY_V2_SIGNATURE
}
