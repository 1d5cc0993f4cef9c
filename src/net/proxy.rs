//! The PROXY protocol header (HAProxy's v1 text and v2 binary) that a trusted load balancer
//! sends before the client's bytes: read with a bounded size and time, exactly up to its end
//! (nothing of the client's own bytes is consumed), and parsed with the `ppp` crate.
//!
//! Owns: [`read_header`] and [`ProxyError`]. Must not log the header's bytes (only reasons).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::detect::{PROXY_V1_START, PROXY_V2_SIGNATURE};

/// The longest v1 header, CR LF included (the protocol's own limit).
const V1_MAX_BYTES: usize = 107;
/// The fixed part of a v2 header: signature, version and command, family, length.
const V2_FIXED_BYTES: usize = 16;
/// The longest v2 address block and TLVs accepted (addresses take at most 216 bytes; a
/// balancer's TLVs, e.g. an AWS VPC endpoint id, fit well within this).
const V2_MAX_PAYLOAD_BYTES: usize = 1024;

/// Why a PROXY header was refused (the connection is closed).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProxyError {
    #[error("a PROXY header from a peer that is not a trusted proxy")]
    Untrusted,
    #[error("no PROXY header from a trusted proxy")]
    Missing,
    #[error("the PROXY header did not arrive within {0:?}")]
    Timeout(Duration),
    #[error("the PROXY header is longer than allowed")]
    TooLong,
    #[error("the PROXY header does not parse: {0}")]
    Malformed(String),
    #[error("reading the PROXY header: {0}")]
    Io(#[from] std::io::Error),
}

impl ProxyError {
    pub(super) fn reason(&self) -> &'static str {
        match self {
            ProxyError::Untrusted => "proxy_header_untrusted",
            ProxyError::Missing => "proxy_header_missing",
            ProxyError::Timeout(_) => "proxy_header_timeout",
            ProxyError::TooLong => "proxy_header_too_long",
            ProxyError::Malformed(_) => "proxy_header_malformed",
            ProxyError::Io(_) => "io",
        }
    }
}

/// Reads one header within `timeout`: the client's address it carries, or `None` for a header
/// that carries none (v1 `UNKNOWN`, v2 `LOCAL`: the proxy's own health check).
pub(super) async fn read_header(
    stream: &mut TcpStream,
    timeout: Duration,
) -> Result<Option<SocketAddr>, ProxyError> {
    let bytes = tokio::time::timeout(timeout, header_bytes(stream))
        .await
        .map_err(|_| ProxyError::Timeout(timeout))??;
    parse(&bytes)
}

/// The header's bytes, read exactly to its end.
async fn header_bytes(stream: &mut TcpStream) -> Result<Vec<u8>, ProxyError> {
    let mut bytes = vec![0u8; PROXY_V1_START.len()];
    stream
        .read_exact(&mut bytes)
        .await
        .map_err(missing_on_eof)?;
    if bytes == PROXY_V1_START {
        // A text line: byte by byte to its CR LF, so nothing after it is consumed.
        while !bytes.ends_with(b"\r\n") {
            if bytes.len() >= V1_MAX_BYTES {
                return Err(ProxyError::TooLong);
            }
            bytes.push(stream.read_u8().await.map_err(missing_on_eof)?);
        }
        return Ok(bytes);
    }
    if !PROXY_V2_SIGNATURE.starts_with(&bytes) {
        return Err(ProxyError::Missing);
    }
    bytes.resize(V2_FIXED_BYTES, 0);
    stream
        .read_exact(&mut bytes[PROXY_V1_START.len()..])
        .await
        .map_err(missing_on_eof)?;
    if !bytes.starts_with(PROXY_V2_SIGNATURE) {
        return Err(ProxyError::Missing);
    }
    let payload = usize::from(u16::from_be_bytes([bytes[14], bytes[15]]));
    if payload > V2_MAX_PAYLOAD_BYTES {
        return Err(ProxyError::TooLong);
    }
    bytes.resize(V2_FIXED_BYTES + payload, 0);
    stream
        .read_exact(&mut bytes[V2_FIXED_BYTES..])
        .await
        .map_err(missing_on_eof)?;
    Ok(bytes)
}

/// A connection closed inside what should have been a header had no header.
fn missing_on_eof(error: std::io::Error) -> ProxyError {
    if error.kind() == std::io::ErrorKind::UnexpectedEof {
        ProxyError::Missing
    } else {
        ProxyError::Io(error)
    }
}

/// The source address a complete header carries.
fn parse(bytes: &[u8]) -> Result<Option<SocketAddr>, ProxyError> {
    if bytes.starts_with(PROXY_V2_SIGNATURE) {
        let header = ppp::v2::Header::try_from(bytes)
            .map_err(|error| ProxyError::Malformed(error.to_string()))?;
        if header.command == ppp::v2::Command::Local {
            return Ok(None);
        }
        return Ok(match header.addresses {
            ppp::v2::Addresses::IPv4(a) => {
                Some(SocketAddr::new(IpAddr::V4(a.source_address), a.source_port))
            }
            ppp::v2::Addresses::IPv6(a) => {
                Some(SocketAddr::new(IpAddr::V6(a.source_address), a.source_port))
            }
            ppp::v2::Addresses::Unspecified | ppp::v2::Addresses::Unix(_) => None,
        });
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ProxyError::Malformed("a v1 header is ASCII text".into()))?;
    let header = ppp::v1::Header::try_from(text)
        .map_err(|error| ProxyError::Malformed(error.to_string()))?;
    Ok(match header.addresses {
        ppp::v1::Addresses::Tcp4(a) => {
            Some(SocketAddr::new(IpAddr::V4(a.source_address), a.source_port))
        }
        ppp::v1::Addresses::Tcp6(a) => {
            Some(SocketAddr::new(IpAddr::V6(a.source_address), a.source_port))
        }
        ppp::v1::Addresses::Unknown => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_v1_header_gives_its_source_and_unknown_gives_none() {
        let source = parse(b"PROXY TCP4 192.0.2.7 10.0.0.1 40000 6001\r\n").expect("parses");
        assert_eq!(source, Some("192.0.2.7:40000".parse().expect("addr")));
        let v6 = parse(b"PROXY TCP6 2001:db8::7 2001:db8::1 40000 6001\r\n").expect("parses");
        assert_eq!(v6, Some("[2001:db8::7]:40000".parse().expect("addr")));
        assert_eq!(parse(b"PROXY UNKNOWN\r\n").expect("parses"), None);
    }

    #[test]
    fn a_v2_header_gives_its_source_and_local_gives_none() {
        let mut proxy = PROXY_V2_SIGNATURE.to_vec();
        proxy.extend([
            0x21, 0x11, 0, 12, 192, 0, 2, 7, 10, 0, 0, 1, 0x9c, 0x40, 0x17, 0x71,
        ]);
        assert_eq!(
            parse(&proxy).expect("parses"),
            Some("192.0.2.7:40000".parse().expect("addr"))
        );
        let mut local = PROXY_V2_SIGNATURE.to_vec();
        local.extend([0x20, 0x00, 0, 0]);
        assert_eq!(parse(&local).expect("parses"), None);
    }

    #[test]
    fn garbage_after_the_start_is_malformed() {
        assert!(matches!(
            parse(b"PROXY TCP4 not-an-address 10.0.0.1 1 2\r\n"),
            Err(ProxyError::Malformed(_))
        ));
    }
}
