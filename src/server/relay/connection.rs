//! One connection to the upstream ILS: TCP or TLS (the certificate verified against the
//! terminal's CA file, else the public web roots), the 93 login as this terminal's upstream
//! account, the 99 that learns the upstream's timeout, and request/answer exchanges with the
//! upstream's own sequence numbers and checksums (a 96 from the upstream is answered by sending
//! the request again, at most twice).
//!
//! Owns: `Connection` and `ConnectError`. Must not log secrets or message bodies.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio_util::codec::FramedRead;
use zeroize::Zeroizing;

use super::frame::{self, FrameError};
use crate::auth::{ErrorDetection, Upstream};
use crate::net::CertificateAuthority;
use crate::sip2::parse::{self, ParseOptions};
use crate::sip2::request::{LoginRequest, ScStatusRequest};
use crate::sip2::response::RequestScResend;
use crate::sip2::{ChecksumPolicy, FieldId, Frame, FrameCodec, Response};

/// How often an upstream 96 is answered by sending the request again.
const RESENDS: usize = 2;
/// The keep-alive interval when the upstream's 98 states no timeout.
const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(60);

/// Why the relay has no usable upstream connection.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    #[error("upstream address {address} could not be reached: {source}")]
    Unreachable {
        address: String,
        source: std::io::Error,
    },
    #[error("upstream TLS: {0}")]
    Tls(String),
    #[error("the upstream refused the relay's 93 login as {login} (check --upstream-login and its password)")]
    LoginRefused { login: String },
    #[error("the upstream password does not open (sealed under another key or row): {0}")]
    Password(#[from] crate::auth::SealError),
    #[error("upstream connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("upstream closed the connection")]
    Closed,
    #[error("{0}")]
    Frame(#[from] FrameError),
    #[error("upstream answered 96 to every resend")]
    Resends,
    #[error("upstream answer does not parse ({reason})")]
    Unparsable { reason: &'static str },
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A logged-in upstream connection.
pub(super) struct Connection {
    frames: FramedRead<ReadHalf<Box<dyn Stream>>, FrameCodec>,
    writer: WriteHalf<Box<dyn Stream>>,
    detection: ErrorDetection,
    terminator: &'static [u8],
    options: ParseOptions,
    sequence: u8,
    /// The upstream's interval between 99s, from its 98.
    pub(super) keepalive: Duration,
}

impl Connection {
    /// Connects, logs in with `password` (opened by the caller) and asks the upstream's status.
    pub(super) async fn open(
        upstream: &Upstream,
        password: &Zeroizing<Vec<u8>>,
    ) -> Result<Connection, ConnectError> {
        let tcp = TcpStream::connect(&upstream.address)
            .await
            .map_err(|source| ConnectError::Unreachable {
                address: upstream.address.clone(),
                source,
            })?;
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn Stream> = if upstream.tls {
            Box::new(tls(upstream, tcp).await?)
        } else {
            Box::new(tcp)
        };
        let (reader, writer) = tokio::io::split(stream);
        let mut connection = Connection {
            frames: FramedRead::new(reader, FrameCodec::default()),
            writer,
            detection: upstream.error_detection,
            terminator: upstream.terminator.bytes(),
            options: ParseOptions {
                charset: upstream.charset,
                checksum: ChecksumPolicy::Lenient,
                ..ParseOptions::default()
            },
            sequence: 0,
            keepalive: DEFAULT_KEEPALIVE,
        };
        connection.login(upstream, password).await?;
        let status = connection.status().await?;
        connection.keepalive = match status.timeout_period {
            0 | 999 => DEFAULT_KEEPALIVE,
            tenths => Duration::from_millis(u64::from(tenths) * 100).max(Duration::from_secs(1)),
        };
        Ok(connection)
    }

    async fn login(
        &mut self,
        upstream: &Upstream,
        password: &Zeroizing<Vec<u8>>,
    ) -> Result<(), ConnectError> {
        let mut body = Zeroizing::new(Vec::with_capacity(64));
        body.extend_from_slice(&LoginRequest::CODE);
        body.extend_from_slice(b"00");
        body.extend_from_slice(&FieldId::LoginUserId.code());
        body.extend_from_slice(&upstream.charset.encode(&upstream.login));
        body.push(b'|');
        body.extend_from_slice(&FieldId::LoginPassword.code());
        body.extend_from_slice(password);
        body.push(b'|');
        if let Some(location) = &upstream.location {
            body.extend_from_slice(&FieldId::LocationCode.code());
            body.extend_from_slice(&upstream.charset.encode(location));
            body.push(b'|');
        }
        let answer = self.exchange(&body).await?;
        match self.parsed(&answer)? {
            Response::LoginResponse(login) if login.ok => Ok(()),
            _ => Err(ConnectError::LoginRefused {
                login: upstream.login.clone(),
            }),
        }
    }

    /// 99 -> the upstream's 98.
    pub(super) async fn status(
        &mut self,
    ) -> Result<crate::sip2::response::AcsStatusResponse, ConnectError> {
        let mut body = ScStatusRequest::CODE.to_vec();
        body.extend_from_slice(b"0030");
        body.extend_from_slice(b"2.00");
        let answer = self.exchange(&body).await?;
        match self.parsed(&answer)? {
            Response::AcsStatusResponse(status) => Ok(status),
            _ => Err(ConnectError::Unparsable {
                reason: "a 99 not answered by a 98",
            }),
        }
    }

    /// The upstream's answer to `body` parsed in its charset.
    pub(super) fn parsed(&self, answer: &[u8]) -> Result<Response, ConnectError> {
        parse::response(answer, &self.options)
            .map(|parsed| parsed.message)
            .map_err(|error| ConnectError::Unparsable {
                reason: error.kind().reason_code(),
            })
    }

    /// Sends `body` (no trailer) and returns the answer's body (trailer checked and removed).
    pub(super) async fn exchange(&mut self, body: &[u8]) -> Result<Vec<u8>, ConnectError> {
        let sequence = self.sequence;
        self.sequence = (self.sequence + 1) % 10;
        let framed = Zeroizing::new(frame::sealed(
            body,
            self.detection,
            sequence,
            self.terminator,
        ));
        for _ in 0..=RESENDS {
            self.writer.write_all(&framed).await?;
            self.writer.flush().await?;
            let answer = self.next_frame().await?;
            let answer = frame::unsealed(&answer, self.detection)?;
            if !answer.starts_with(&RequestScResend::CODE) {
                return Ok(answer.to_vec());
            }
        }
        Err(ConnectError::Resends)
    }

    async fn next_frame(&mut self) -> Result<Vec<u8>, ConnectError> {
        match self.frames.next().await {
            Some(Ok(Frame::Message(bytes))) => Ok(bytes.to_vec()),
            Some(Ok(Frame::Oversized)) => Err(ConnectError::Unparsable {
                reason: "oversized",
            }),
            Some(Err(error)) => Err(error.into()),
            None => Err(ConnectError::Closed),
        }
    }

    /// Resolves when the upstream closes the idle connection (or sends something unasked).
    pub(super) async fn closed(&mut self) {
        let _ = self.frames.next().await;
    }
}

/// TLS over `tcp`, the upstream's certificate verified for the address's host name.
async fn tls(
    upstream: &Upstream,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ConnectError> {
    let roots = match &upstream.ca_pem {
        Some(pem) => CertificateAuthority::from_pem(pem)
            .map_err(|e| ConnectError::Tls(e.to_string()))?
            .roots(),
        None => Arc::new(rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        }),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let host = upstream
        .address
        .rsplit_once(':')
        .map_or(upstream.address.as_str(), |(host, _)| host)
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let name = rustls_pki_types::ServerName::try_from(host)
        .map_err(|e| ConnectError::Tls(e.to_string()))?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| ConnectError::Tls(e.to_string()))
}
