//! Secrets at rest: AES-256-GCM with a random 96-bit nonce per message, under a key
//! with an id so keys can be rotated.
//!
//! Sealed layout: `2 ‖ key id (4 bytes: the start of SHA-256 of the key) ‖ nonce (12) ‖
//! ciphertext+tag`. Blobs of the first layout (`1 ‖ nonce ‖ …`, before key ids) are still
//! opened, by trying each known key. Keys: the current one seals; previous ones (kept
//! until `covalynce keys rotate` has re-sealed everything) only open.

use aes_gcm::aead::{Aead, Generate, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

const VERSION_1: u8 = 1;
const VERSION: u8 = 2;
const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 12;

#[derive(Clone)]
struct Key {
    id: [u8; KEY_ID_LEN],
    cipher: Aes256Gcm,
    /// What proves a transaction's row level scope to PostgreSQL (derived, never the key).
    scope: covalynce_storage::ScopeKey,
}

#[derive(Clone)]
pub struct SecretBox {
    /// The current key first.
    keys: Vec<Key>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBox(key {}, ***)", self.key_id())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("a secret key must be 64 hexadecimal characters (32 bytes)")]
    BadKey,
    #[error("cannot read or create the key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("a stored secret could not be decrypted (was the secret key changed?)")]
    Undecryptable,
}

fn parse_key(hex_key: &str) -> Result<Key, CryptoError> {
    let bytes = hex::decode(hex_key.trim()).map_err(|_| CryptoError::BadKey)?;
    let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| CryptoError::BadKey)?;
    let digest = Sha256::digest(&bytes);
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(&digest[..KEY_ID_LEN]);
    Ok(Key {
        id,
        cipher,
        scope: covalynce_storage::ScopeKey::derive(&bytes),
    })
}

/// Where a data dir keeps its keys: the current one, and the ones it replaced.
pub fn key_files(data_dir: &Path) -> (PathBuf, PathBuf) {
    (
        data_dir.join("secret.key"),
        data_dir.join("secret.key.previous"),
    )
}

fn write_private(path: &Path, contents: &str, create_new: bool) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if create_new {
        opts.create_new(true);
    } else {
        opts.create(true).truncate(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}

impl SecretBox {
    pub fn from_hex(hex_key: &str) -> Result<Self, CryptoError> {
        Ok(Self {
            keys: vec![parse_key(hex_key)?],
        })
    }

    /// The current key and previous ones (which only open).
    pub fn with_previous<'a>(
        current: &str,
        previous: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, CryptoError> {
        let mut keys = vec![parse_key(current)?];
        for k in previous
            .into_iter()
            .map(str::trim)
            .filter(|k| !k.is_empty())
        {
            let key = parse_key(k)?;
            if keys.iter().all(|known| known.id != key.id) {
                keys.push(key);
            }
        }
        Ok(Self { keys })
    }

    /// The scope key derived from the current key: HMAC-SHA256(key, "covalynce row-level
    /// scope v1"). PostgreSQL keeps a copy the runtime role cannot read and believes a
    /// transaction's scope only with a proof made with it; a new current key (`keys
    /// rotate`) means a new scope key in the database too.
    pub fn scope_key(&self) -> covalynce_storage::ScopeKey {
        self.keys[0].scope.clone()
    }

    /// The current key's id, as shown to operators.
    pub fn key_id(&self) -> String {
        hex::encode(self.keys[0].id)
    }

    /// The key from `COVALYNCE_SECRET_KEY` when given (previous ones from
    /// `COVALYNCE_PREVIOUS_SECRET_KEYS`, comma-separated); otherwise `DATA_DIR/secret.key`,
    /// created on first start (mode 0600), with previous ones in `secret.key.previous`.
    /// Replicas on several machines must share the key through the environment.
    pub fn load(env_key: Option<&str>, data_dir: &Path) -> Result<Self, CryptoError> {
        if let Some(k) = env_key.filter(|k| !k.trim().is_empty()) {
            let previous = std::env::var("COVALYNCE_PREVIOUS_SECRET_KEYS").unwrap_or_default();
            return Self::with_previous(k, previous.split(','));
        }
        let (path, previous_path) = key_files(data_dir);
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| CryptoError::KeyFile { path, source }
        };
        let previous = match std::fs::read_to_string(&previous_path) {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io(&previous_path)(e)),
        };
        match std::fs::read_to_string(&path) {
            Ok(k) => Self::with_previous(&k, previous.lines()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir).map_err(io(&path))?;
                let key = hex::encode(rand::random::<[u8; 32]>());
                match write_private(&path, &key, true) {
                    Ok(()) => Self::with_previous(&key, previous.lines()),
                    // Another process created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        let k = std::fs::read_to_string(&path).map_err(io(&path))?;
                        Self::with_previous(&k, previous.lines())
                    }
                    Err(e) => Err(io(&path)(e)),
                }
            }
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Makes a new current key in the data dir's key file, keeping the old one in
    /// `secret.key.previous` so what it sealed still opens until re-sealed.
    pub fn rotate_key_file(data_dir: &Path) -> Result<Self, CryptoError> {
        let (path, previous_path) = key_files(data_dir);
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| CryptoError::KeyFile { path, source }
        };
        let old = std::fs::read_to_string(&path).map_err(io(&path))?;
        parse_key(&old)?;
        let mut previous = match std::fs::read_to_string(&previous_path) {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io(&previous_path)(e)),
        };
        previous.push_str(old.trim());
        previous.push('\n');
        write_private(&previous_path, &previous, false).map_err(io(&previous_path))?;
        let new = hex::encode(rand::random::<[u8; 32]>());
        let tmp = data_dir.join("secret.key.new");
        let _ = std::fs::remove_file(&tmp);
        write_private(&tmp, &new, true).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        Self::with_previous(&new, previous.lines())
    }

    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let key = &self.keys[0];
        let nonce = Nonce::generate();
        let ciphertext = key
            .cipher
            .encrypt(&nonce, plaintext)
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(1 + KEY_ID_LEN + NONCE_LEN + ciphertext.len());
        out.push(VERSION);
        out.extend_from_slice(&key.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let decrypt = |key: &Key, rest: &[u8]| {
            if rest.len() < NONCE_LEN + 16 {
                return Err(CryptoError::Undecryptable);
            }
            let nonce =
                Nonce::try_from(&rest[..NONCE_LEN]).map_err(|_| CryptoError::Undecryptable)?;
            key.cipher
                .decrypt(&nonce, &rest[NONCE_LEN..])
                .map_err(|_| CryptoError::Undecryptable)
        };
        match sealed.first() {
            Some(&VERSION) if sealed.len() > 1 + KEY_ID_LEN => {
                let id = &sealed[1..1 + KEY_ID_LEN];
                let key = self
                    .keys
                    .iter()
                    .find(|k| k.id == id)
                    .ok_or(CryptoError::Undecryptable)?;
                decrypt(key, &sealed[1 + KEY_ID_LEN..])
            }
            Some(&VERSION_1) => self
                .keys
                .iter()
                .find_map(|k| decrypt(k, &sealed[1..]).ok())
                .ok_or(CryptoError::Undecryptable),
            _ => Err(CryptoError::Undecryptable),
        }
    }

    /// Whether a blob is sealed under the current key (else it needs re-sealing).
    pub fn is_current(&self, sealed: &[u8]) -> bool {
        sealed.first() == Some(&VERSION)
            && sealed.get(1..1 + KEY_ID_LEN) == Some(&self.keys[0].id[..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_round_trip_and_do_not_contain_the_plaintext() {
        let b = SecretBox::from_hex(&"ab".repeat(32)).unwrap();
        let sealed = b.seal(b"webhook-secret-123");
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(b.open(&sealed).unwrap(), b"webhook-secret-123");
        // Two seals of the same text differ (fresh nonce each time).
        assert_ne!(b.seal(b"x"), b.seal(b"x"));
    }

    #[test]
    fn tampered_or_foreign_blobs_are_refused() {
        let b = SecretBox::from_hex(&"ab".repeat(32)).unwrap();
        let other = SecretBox::from_hex(&"cd".repeat(32)).unwrap();
        let mut sealed = b.seal(b"hello");
        assert!(other.open(&sealed).is_err());
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(b.open(&sealed).is_err());
        assert!(b.open(b"short").is_err());
    }

    #[test]
    fn bad_keys_are_explained() {
        assert!(matches!(
            SecretBox::from_hex("nothex"),
            Err(CryptoError::BadKey)
        ));
        assert!(matches!(
            SecretBox::from_hex("abcd"),
            Err(CryptoError::BadKey)
        ));
    }

    #[test]
    fn rotated_keys_still_open_what_they_sealed_and_old_blobs_open_too() {
        let dir = tempfile::tempdir().unwrap();
        let old = SecretBox::load(None, dir.path()).unwrap();
        let sealed = old.seal(b"before");
        let new = SecretBox::rotate_key_file(dir.path()).unwrap();
        assert_ne!(new.key_id(), old.key_id());
        assert_eq!(new.open(&sealed).unwrap(), b"before");
        assert!(!new.is_current(&sealed));
        assert!(new.is_current(&new.seal(b"after")));
        assert!(
            old.open(&new.seal(b"after")).is_err(),
            "the old key cannot read new blobs"
        );
        // Reloading finds both keys.
        let again = SecretBox::load(None, dir.path()).unwrap();
        assert_eq!(again.key_id(), new.key_id());
        assert_eq!(again.open(&sealed).unwrap(), b"before");
        // A blob of the first layout (no key id) still opens.
        let key = std::fs::read_to_string(dir.path().join("secret.key")).unwrap();
        let k = parse_key(&key).unwrap();
        let nonce = Nonce::generate();
        let mut v1 = vec![VERSION_1];
        v1.extend_from_slice(&nonce);
        v1.extend_from_slice(&k.cipher.encrypt(&nonce, &b"legacy"[..]).unwrap());
        assert_eq!(again.open(&v1).unwrap(), b"legacy");
        assert!(!format!("{again:?}").contains(key.trim()));
    }

    #[test]
    fn a_key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = SecretBox::load(None, dir.path()).unwrap();
        let b = SecretBox::load(None, dir.path()).unwrap();
        assert_eq!(b.open(&a.seal(b"x")).unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secret.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
