//! The pepper: the 32-byte server-side key mixed into every argon2id hash, kept outside the
//! database. Owns loading the active and previous keys (file or environment hex), their
//! fingerprints (what the database records to detect a wrong or missing key at start-up), keyed
//! hashing of non-secret identifiers (card pseudonyms for the audit trail) and writing a new key
//! file. Reads files, so it runs at start-up or on a blocking thread only.
//!
//! Uses `config` only; must not import `store`, `sip2`, `server` or `accounts`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::config::security::PepperConfig;

/// Length of a pepper key in bytes.
pub(crate) const KEY_BYTES: usize = 32;

/// Label mixed into the fingerprint, so a fingerprint is useless for anything else.
const FINGERPRINT_LABEL: &[u8] = b"sip2auth pepper fingerprint v1";
/// Label mixed into card pseudonyms.
const PSEUDONYM_LABEL: &[u8] = b"sip2auth card pseudonym v1:";

/// Why a pepper key could not be loaded or written.
#[derive(Debug, thiserror::Error)]
pub enum PepperError {
    #[error(
        "pepper key file {path} cannot be read ({source}); create one with \
         `sip2auth pepper generate --out {path}` or set SIP2AUTH_PEPPER"
    )]
    Missing {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "pepper key file {path} is open to other users (mode {mode:o}); make it owner-only: \
         chmod 600 {path}"
    )]
    OpenToOthers { path: PathBuf, mode: u32 },
    #[error("pepper key {origin} must be {KEY_BYTES} raw bytes or {} hex digits", KEY_BYTES * 2)]
    Malformed { origin: String },
    #[error("cannot write pepper key file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A 32-byte pepper key. Zeroed on drop; `Debug` never shows it; compared in constant time.
#[derive(Clone)]
pub struct PepperKey(Zeroizing<[u8; KEY_BYTES]>);

impl PartialEq for PepperKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes().ct_eq(other.bytes()).into()
    }
}

impl Eq for PepperKey {}

impl fmt::Debug for PepperKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PepperKey([redacted])")
    }
}

impl PepperKey {
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// A fresh random key from the operating system's generator.
    pub(crate) fn random() -> Self {
        use rand::RngCore;
        let mut bytes = Zeroizing::new([0u8; KEY_BYTES]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        Self(bytes)
    }

    /// Parses a key file's content: exactly 32 raw bytes, or 64 hex digits with optional
    /// surrounding whitespace (a trailing newline is fine).
    pub(crate) fn parse(content: &[u8], origin: &str) -> Result<Self, PepperError> {
        let malformed = || PepperError::Malformed {
            origin: origin.to_owned(),
        };
        let mut key = Zeroizing::new([0u8; KEY_BYTES]);
        let trimmed = content.trim_ascii();
        if trimmed.len() == KEY_BYTES * 2 && trimmed.iter().all(u8::is_ascii_hexdigit) {
            hex::decode_to_slice(trimmed, key.as_mut()).map_err(|_| malformed())?;
        } else if content.len() == KEY_BYTES {
            key.copy_from_slice(content);
        } else {
            return Err(malformed());
        }
        Ok(Self(key))
    }

    /// Reads and parses a key file.
    pub(crate) fn read(path: &Path) -> Result<Self, PepperError> {
        refuse_open_to_others(path)?;
        let content =
            Zeroizing::new(std::fs::read(path).map_err(|source| PepperError::Missing {
                path: path.to_owned(),
                source,
            })?);
        Self::parse(&content, &path.display().to_string())
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        self.0.as_ref()
    }

    /// A keyed hash of a fixed label (hex): recorded in the database per key id, so a start with
    /// a different key is detected without storing the key.
    pub(crate) fn fingerprint(&self) -> String {
        hex::encode(hmac_sha256(self.bytes(), FINGERPRINT_LABEL))
    }

    /// Whether `fingerprint` is this key's, compared in constant time.
    pub(crate) fn has_fingerprint(&self, fingerprint: &str) -> bool {
        self.fingerprint()
            .as_bytes()
            .ct_eq(fingerprint.trim().as_bytes())
            .into()
    }

    /// A 32-byte key for one purpose (`label`), derived by HMAC so that no derived key reveals
    /// the pepper or another purpose's key. Used to seal secrets the server must read back.
    pub(crate) fn derive(&self, label: &[u8]) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(hmac_sha256(self.bytes(), label))
    }

    /// A stable pseudonym for a card number (truncated keyed hash, 24 hex digits): lets the audit
    /// trail link events about one card without ever holding the number.
    pub(crate) fn pseudonym(&self, card: &str) -> String {
        let mut message = Vec::with_capacity(PSEUDONYM_LABEL.len() + card.len());
        message.extend_from_slice(PSEUDONYM_LABEL);
        message.extend_from_slice(card.as_bytes());
        hex::encode(&hmac_sha256(self.bytes(), &message)[..12])
    }
}

/// HMAC-SHA256 (RFC 2104) over a 32-byte key.
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = Zeroizing::new([0u8; BLOCK]);
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| Zeroizing::new(block.map(|b| b ^ byte));
    let mut inner = Sha256::new();
    inner.update(pad(0x36).as_ref());
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(pad(0x5c).as_ref());
    outer.update(inner);
    outer.finalize().into()
}

/// The keys the server holds: the active one (new hashes) and previous ones (verification only,
/// re-hashed to the active key on a successful login). A key id absent here is retired.
#[derive(Debug, Clone)]
pub struct KeyRing {
    active_id: u32,
    keys: BTreeMap<u32, PepperKey>,
}

impl KeyRing {
    /// A ring from keys already in memory (tests, demos). `active_id` must be among `keys`.
    pub fn new(active_id: u32, active: PepperKey, previous: Vec<(u32, PepperKey)>) -> Self {
        let mut keys: BTreeMap<u32, PepperKey> = previous.into_iter().collect();
        keys.insert(active_id, active);
        Self { active_id, keys }
    }

    /// Loads the keys named by `[security.pepper]`: the active key from the environment hex when
    /// set, else from `key_file`; previous keys from their files. Start-up only (file I/O).
    pub(crate) fn load(config: &PepperConfig) -> Result<Self, PepperError> {
        let active = match &config.key_hex_from_env {
            Some(hex_key) => {
                PepperKey::parse(hex_key.expose_secret().as_bytes(), "from SIP2AUTH_PEPPER")?
            }
            None => PepperKey::read(&config.key_file)?,
        };
        let previous = config
            .previous_keys
            .iter()
            .map(|k| Ok((k.id, PepperKey::read(&k.file)?)))
            .collect::<Result<Vec<_>, PepperError>>()?;
        Ok(Self::new(config.key_id, active, previous))
    }

    pub(crate) fn active_id(&self) -> u32 {
        self.active_id
    }

    pub(crate) fn active(&self) -> &PepperKey {
        // Invariant: `new` always inserts the active key under `active_id`.
        self.keys
            .get(&self.active_id)
            .unwrap_or_else(|| unreachable!("active key is always in the ring"))
    }

    /// The key with this id, or `None` when it was retired (not configured).
    pub(crate) fn get(&self, key_id: u32) -> Option<&PepperKey> {
        self.keys.get(&key_id)
    }

    /// Every configured key with its id, active first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &PepperKey)> {
        std::iter::once((self.active_id, self.active())).chain(
            self.keys
                .iter()
                .filter(|(id, _)| **id != self.active_id)
                .map(|(id, k)| (*id, k)),
        )
    }
}

/// A key file that other users may read (or write) is refused: with the key, a copied database
/// falls to an offline search of every PIN in minutes.
fn refuse_open_to_others(path: &Path) -> Result<(), PepperError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // A missing file is reported by the read that follows, with its own message.
        if let Ok(metadata) = std::fs::metadata(path) {
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o007 != 0 {
                return Err(PepperError::OpenToOthers {
                    path: path.to_owned(),
                    mode,
                });
            }
        }
    }
    Ok(())
}

/// Writes a new random key to `path` as 64 hex digits and a newline, readable by the owner only
/// (0600 on Unix). Refuses to overwrite an existing file. For the CLI and demos.
pub(crate) fn write_new_key_file(path: &Path) -> Result<PepperKey, PepperError> {
    use std::io::Write;
    let key = PepperKey::random();
    let write_error = |source| PepperError::Write {
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(write_error)?;
    let mut text = Zeroizing::new(hex::encode(key.bytes()));
    text.push('\n');
    file.write_all(text.as_bytes()).map_err(write_error)?;
    file.sync_all().map_err(write_error)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_raw_key_files_parse_to_the_same_key() {
        let raw = [7u8; KEY_BYTES];
        let from_raw = PepperKey::parse(&raw, "raw").unwrap();
        let text = format!("{}\n", hex::encode(raw));
        let from_hex = PepperKey::parse(text.as_bytes(), "hex").unwrap();
        assert_eq!(from_raw, from_hex);
        assert_ne!(from_raw, PepperKey::from_bytes([8u8; KEY_BYTES]));
        assert!(PepperKey::parse(b"abc", "short").is_err());
        assert!(PepperKey::parse(&[b'z'; 64], "not hex").is_err());
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn fingerprint_and_pseudonym_depend_on_the_key() {
        let a = PepperKey::from_bytes([1; KEY_BYTES]);
        let b = PepperKey::from_bytes([2; KEY_BYTES]);
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert!(a.has_fingerprint(&a.fingerprint()));
        assert!(!a.has_fingerprint(&b.fingerprint()));
        assert_eq!(a.pseudonym("29000123"), a.pseudonym("29000123"));
        assert_ne!(a.pseudonym("29000123"), b.pseudonym("29000123"));
        assert_eq!(a.pseudonym("29000123").len(), 24);
        assert!(!format!("{a:?}").contains("01"));
    }

    #[test]
    fn new_key_file_is_private_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pepper.key");
        let key = write_new_key_file(&path).unwrap();
        assert_eq!(PepperKey::read(&path).unwrap(), key);
        assert!(write_new_key_file(&path).is_err(), "never overwrites");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn missing_key_file_names_the_path() {
        let err = PepperKey::read(Path::new("/nonexistent/pepper.key")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/pepper.key"));
    }
}
