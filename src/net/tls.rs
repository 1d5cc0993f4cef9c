//! The server certificate and the TLS handshake: a [`TlsAcceptor`] loads the PEM certificate
//! chain and private key (with rustls-pki-types' `PemObject`), serves TLS 1.2 and 1.3 only, and
//! reloads both files while connections are served ([`TlsAcceptor::watch`]: on SIGHUP, and when
//! either file changes). A new pair that does not load keeps the one in use and says why;
//! sessions already open keep the configuration they were accepted with.
//!
//! Files are checked for change on a bounded interval (size and modification time) rather
//! than through a file-notification crate: certificate renewals (certbot, a Kubernetes secret
//! swapping a symlink, a copy over NFS) replace files in ways that inotify watches lose track
//! of, while a stat of two files every few seconds is free and always right.
//!
//! Client certificates: the handshake asks for one but does not require it, and checks that the
//! client holds the certificate's key; which terminal (if any) a certificate names is decided
//! after the handshake by whoever binds certificates (`auth`), so self-signed certificates can
//! be pinned by fingerprint. Must not import anything of the crate but `net` and `config`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::rustls::client::danger::HandshakeSignatureValid;
use tokio_rustls::rustls::crypto::{self, CryptoProvider};
use tokio_rustls::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tokio_rustls::rustls::{self, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// The largest certificate or key file read (a chain of a few certificates is a few KiB).
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// Why a certificate and key could not be put in use, or a handshake failed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is larger than {MAX_PEM_BYTES} bytes")]
    TooLarge { path: PathBuf },
    #[error("{path} holds no PEM certificate ({reason})")]
    NoCertificate { path: PathBuf, reason: String },
    #[error("{path} holds no PEM private key ({reason})")]
    NoKey { path: PathBuf, reason: String },
    #[error("the certificate and key cannot be used together: {0}")]
    Unusable(#[source] rustls::Error),
    #[error("TLS handshake did not finish within {0:?}")]
    HandshakeTimeout(Duration),
    #[error("TLS handshake failed: {0}")]
    Handshake(#[source] std::io::Error),
}

/// Where the server certificate chain and its private key are (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertificateFiles {
    pub certificate: PathBuf,
    pub key: PathBuf,
}

/// What the files looked like when last read: a change in either starts a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    certificate: Option<(u64, SystemTime)>,
    key: Option<(u64, SystemTime)>,
}

impl Stamp {
    fn of(files: &CertificateFiles) -> Stamp {
        let look = |path: &Path| {
            let meta = std::fs::metadata(path).ok()?;
            Some((meta.len(), meta.modified().ok()?))
        };
        Stamp {
            certificate: look(&files.certificate),
            key: look(&files.key),
        }
    }
}

/// The certificate in use and the TLS acceptor built from it; cheap to clone, shared by every
/// listener of a process.
#[derive(Debug, Clone)]
pub(crate) struct TlsAcceptor {
    files: Arc<CertificateFiles>,
    current: Arc<RwLock<Arc<rustls::ServerConfig>>>,
}

impl TlsAcceptor {
    /// The acceptor of `[server.tls]`: `None` without a certificate.
    pub(crate) fn configured(
        tls: &crate::config::server::TlsConfig,
    ) -> Result<Option<TlsAcceptor>, TlsError> {
        match (&tls.certificate, &tls.key) {
            (Some(certificate), Some(key)) => TlsAcceptor::load(CertificateFiles {
                certificate: certificate.clone(),
                key: key.clone(),
            })
            .map(Some),
            _ => Ok(None),
        }
    }

    /// Loads the certificate and key; refuses to start on a pair that does not load.
    pub(crate) fn load(files: CertificateFiles) -> Result<TlsAcceptor, TlsError> {
        let config = server_config(&files)?;
        Ok(TlsAcceptor {
            files: Arc::new(files),
            current: Arc::new(RwLock::new(config)),
        })
    }

    /// Reads the files again; on success new handshakes use them, on failure the old pair stays.
    pub(crate) fn reload(&self) -> Result<(), TlsError> {
        let config = server_config(&self.files)?;
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = config;
        Ok(())
    }

    fn config(&self) -> Arc<rustls::ServerConfig> {
        Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// The TLS handshake over `stream`, bounded by `timeout`.
    pub(crate) async fn handshake<S>(
        &self,
        stream: S,
        timeout: Duration,
    ) -> Result<TlsStream<S>, TlsError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let acceptor = tokio_rustls::TlsAcceptor::from(self.config());
        tokio::time::timeout(timeout, acceptor.accept(stream))
            .await
            .map_err(|_| TlsError::HandshakeTimeout(timeout))?
            .map_err(TlsError::Handshake)
    }

    /// Reloads on SIGHUP and whenever a file's size or modification time changes (checked every
    /// `interval`), until `shutdown`. Each reload is logged; a failed one says why and keeps the
    /// pair in use (and is not retried until a file changes again or SIGHUP asks).
    ///
    /// SIGHUP is taken over when this is called, not when the future first runs, so a signal
    /// sent between start-up and serving reloads instead of ending the process.
    pub(crate) fn watch(
        self,
        interval: Duration,
        shutdown: CancellationToken,
    ) -> impl std::future::Future<Output = ()> + Send {
        let hangup = hangup_signal();
        self.watch_with(hangup, interval, shutdown)
    }

    async fn watch_with(self, mut hangup: Hangup, interval: Duration, shutdown: CancellationToken) {
        let mut seen = Stamp::of(&self.files);
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let asked = tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticks.tick() => false,
                Some(()) = next_hangup(&mut hangup) => true,
            };
            let now = Stamp::of(&self.files);
            if !asked && now == seen {
                continue;
            }
            seen = now;
            let trigger = if asked { "SIGHUP" } else { "file change" };
            let acceptor = self.clone();
            match tokio::task::spawn_blocking(move || acceptor.reload()).await {
                Ok(Ok(())) => {
                    info!(trigger, certificate = %self.files.certificate.display(), "TLS certificate reloaded")
                }
                Ok(Err(error)) => {
                    warn!(trigger, %error, "TLS certificate not reloaded; the one in use stays")
                }
                Err(error) => {
                    warn!(trigger, %error, "TLS certificate reload failed; the one in use stays")
                }
            }
        }
    }
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = Option<()>;

#[cfg(unix)]
fn hangup_signal() -> Hangup {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::hangup()) {
        Ok(signal) => Some(signal),
        Err(error) => {
            warn!(%error, "cannot listen for SIGHUP; the certificate reloads on file change only");
            None
        }
    }
}

#[cfg(not(unix))]
fn hangup_signal() -> Hangup {
    None
}

/// The next SIGHUP; never, without a signal stream.
async fn next_hangup(hangup: &mut Hangup) -> Option<()> {
    #[cfg(unix)]
    if let Some(signal) = hangup {
        return signal.recv().await;
    }
    let _ = hangup;
    std::future::pending().await
}

/// A file's bytes, bounded.
fn read_bounded(path: &Path) -> Result<Vec<u8>, TlsError> {
    let read = |source| TlsError::Read {
        path: path.to_owned(),
        source,
    };
    let length = std::fs::metadata(path).map_err(read)?.len();
    if length > MAX_PEM_BYTES {
        return Err(TlsError::TooLarge {
            path: path.to_owned(),
        });
    }
    std::fs::read(path).map_err(read)
}

/// The certificate chain and key of `files`, checked to belong together.
fn load_pair(
    files: &CertificateFiles,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let pem = read_bounded(&files.certificate)?;
    let no_certificate = |reason: String| TlsError::NoCertificate {
        path: files.certificate.clone(),
        reason,
    };
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| no_certificate(error.to_string()))?;
    if chain.is_empty() {
        return Err(no_certificate("no CERTIFICATE section".into()));
    }
    let pem = read_bounded(&files.key)?;
    let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|error| TlsError::NoKey {
        path: files.key.clone(),
        reason: error.to_string(),
    })?;
    Ok((chain, key))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls server configuration for `files`: TLS 1.2 and 1.3, client certificates asked for.
fn server_config(files: &CertificateFiles) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let (chain, key) = load_pair(files)?;
    let provider = provider();
    let verifier = Arc::new(AnyClientCertificate {
        algorithms: provider.signature_verification_algorithms,
    });
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(TlsError::Unusable)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(TlsError::Unusable)?;
    Ok(Arc::new(config))
}

/// Asks for a client certificate, lets a client without one through, and checks that a client
/// with one holds its key. Trust in the certificate itself is decided after the handshake.
#[derive(Debug)]
struct AnyClientCertificate {
    algorithms: crypto::WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCertificate {
    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Not trust: the certificate is matched to a terminal (fingerprint, or CA and subject)
        // after the handshake, and a certificate that matches none gets nothing.
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
