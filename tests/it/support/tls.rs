//! TLS test support: certificates made at run time with `rcgen` (nothing private is kept in the
//! repository), written as PEM files under a temporary directory; a Rust TLS client (rustls)
//! that trusts exactly one server certificate and may present a client certificate; and the
//! external peers (`openssl`, Python) the TLS tests drive.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use sip2auth::net::Fingerprint;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::{self, RootCertStore};

use super::STEP_TIMEOUT;

/// A certificate and its key, as PEM files and DER.
pub struct Issued {
    pub certificate: PathBuf,
    pub key: PathBuf,
    pub der: Vec<u8>,
    pub key_der: Vec<u8>,
    pub pem: String,
}

impl Issued {
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.der)
    }
}

/// A certificate authority made for one test.
pub struct Authority {
    pub issued: Issued,
    certificate: rcgen::Certificate,
    key: KeyPair,
}

/// Writes `pem` and `key_pem` as `<name>.pem` and `<name>.key` under `dir`.
fn write_pair(dir: &Path, name: &str, cert: &rcgen::Certificate, key: &KeyPair) -> Issued {
    let certificate = dir.join(format!("{name}.pem"));
    let key_path = dir.join(format!("{name}.key"));
    std::fs::write(&certificate, cert.pem()).expect("certificate written");
    std::fs::write(&key_path, key.serialize_pem()).expect("key written");
    Issued {
        certificate,
        key: key_path,
        der: cert.der().to_vec(),
        key_der: key.serialize_der(),
        pem: cert.pem(),
    }
}

/// A self-signed server certificate for `localhost` and 127.0.0.1 (CN localhost), as
/// `<name>.pem` / `<name>.key`.
pub fn server_certificate(dir: &Path, name: &str) -> Issued {
    let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let key = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("self-signed");
    write_pair(dir, name, &cert, &key)
}

/// A self-signed client certificate with the common name `cn`.
pub fn client_certificate(dir: &Path, name: &str, cn: &str) -> Issued {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name.push(DnType::CommonName, cn);
    let key = KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("self-signed");
    write_pair(dir, name, &cert, &key)
}

impl Authority {
    pub fn new(dir: &Path, name: &str) -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().expect("key");
        let certificate = params.self_signed(&key).expect("self-signed CA");
        let issued = write_pair(dir, name, &certificate, &key);
        Authority {
            issued,
            certificate,
            key,
        }
    }

    /// A client certificate with common name `cn`, signed by this authority.
    pub fn client(&self, dir: &Path, name: &str, cn: &str) -> Issued {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate().expect("key");
        let cert = params
            .signed_by(&key, &self.certificate, &self.key)
            .expect("signed");
        write_pair(dir, name, &cert, &key)
    }
}

/// A rustls client that trusts `server` only, presenting `client` when given.
pub fn client_config(server: &Issued, client: Option<&Issued>) -> Arc<rustls::ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(server.der.clone()))
        .expect("root");
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots);
    let config = match client {
        Some(client) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from(client.der.clone())],
                PrivateKeyDer::try_from(client.key_der.clone()).expect("key"),
            )
            .expect("client certificate"),
        None => builder.with_no_client_auth(),
    };
    Arc::new(config)
}

/// A SIP2 client over TLS (from 127.0.0.1) that also tells which certificate the server showed.
pub struct TlsClient {
    pub stream: TlsStream<TcpStream>,
}

impl TlsClient {
    /// Connects and completes the handshake, or returns the handshake's error.
    pub async fn connect(
        server: SocketAddr,
        config: Arc<rustls::ClientConfig>,
    ) -> std::io::Result<TlsClient> {
        let tcp = tokio::time::timeout(STEP_TIMEOUT, TcpStream::connect(server))
            .await
            .expect("connect in time")?;
        let connector = tokio_rustls::TlsConnector::from(config);
        let name = ServerName::try_from("localhost").expect("name");
        let stream = tokio::time::timeout(STEP_TIMEOUT, connector.connect(name, tcp))
            .await
            .expect("handshake in time")?;
        Ok(TlsClient { stream })
    }

    /// The fingerprint of the certificate the server presented.
    pub fn server_fingerprint(&self) -> Fingerprint {
        let certificates = self.stream.get_ref().1.peer_certificates().expect("certs");
        Fingerprint::of(certificates[0].as_ref())
    }

    /// Sends one message (CR added) and returns the response without its CR.
    pub async fn exchange(&mut self, message: &str) -> String {
        let mut bytes = message.as_bytes().to_vec();
        bytes.push(b'\r');
        self.stream.write_all(&bytes).await.expect("send");
        self.stream.flush().await.expect("flush");
        let mut out = Vec::new();
        loop {
            let mut byte = [0u8; 1];
            let read = tokio::time::timeout(STEP_TIMEOUT, self.stream.read(&mut byte))
                .await
                .expect("response in time")
                .expect("read");
            if read == 0 || byte[0] == b'\r' {
                break;
            }
            out.push(byte[0]);
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// True when the server closes the connection (EOF or error) within the step timeout.
    pub async fn is_closed(&mut self) -> bool {
        let mut buf = [0u8; 256];
        match tokio::time::timeout(STEP_TIMEOUT, self.stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => true,
            Ok(Ok(_)) | Err(_) => false,
        }
    }
}

/// Runs a command with `stdin` as its input, bounded by the step timeout (killed after it).
pub fn run_with_input(command: &mut Command, stdin: &str) -> Output {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("input written");
    let deadline = std::time::Instant::now() + STEP_TIMEOUT * 3;
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// The Python with the PyPI `Sip2` client, prepared by `scripts/python-peers.sh` (which
/// `scripts/test.sh` runs and names in SIP2AUTH_PEERS_PYTHON).
pub fn peers_python() -> PathBuf {
    if let Some(python) = std::env::var_os("SIP2AUTH_PEERS_PYTHON") {
        return PathBuf::from(python);
    }
    let prepared = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/python-peers/bin/python");
    assert!(
        prepared.is_file(),
        "the Python peers are missing: run `bash scripts/python-peers.sh` (scripts/test.sh does)"
    );
    prepared
}

/// A script of `tests/peers/`.
pub fn peer_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(name)
}
