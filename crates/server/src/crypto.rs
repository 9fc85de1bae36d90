//! Secrets at rest: AES-256-GCM with a random 96-bit nonce per message.
//!
//! Sealed layout: `version (1 byte) ‖ nonce (12) ‖ ciphertext+tag`. The version byte
//! leaves room to rotate keys later without guessing what an old blob is.

use aes_gcm::aead::{Aead, Generate, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use std::io::Write;
use std::path::Path;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("COVALYNCE_SECRET_KEY must be 64 hexadecimal characters (32 bytes)")]
    BadKey,
    #[error("cannot read or create the key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("a stored secret could not be decrypted (was the secret key changed?)")]
    Undecryptable,
}

impl SecretBox {
    pub fn from_hex(hex_key: &str) -> Result<Self, CryptoError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| CryptoError::BadKey)?;
        let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| CryptoError::BadKey)?;
        Ok(Self { cipher })
    }

    /// The key from `COVALYNCE_SECRET_KEY` when given; otherwise `DATA_DIR/secret.key`,
    /// created on first start (mode 0600). Replicas on several machines must share the
    /// key through the environment.
    pub fn load(env_key: Option<&str>, data_dir: &Path) -> Result<Self, CryptoError> {
        if let Some(k) = env_key.filter(|k| !k.trim().is_empty()) {
            return Self::from_hex(k);
        }
        let path = data_dir.join("secret.key");
        let io = |source| CryptoError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(k) => Self::from_hex(&k),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir).map_err(io)?;
                let key: [u8; 32] = rand::random();
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
                match opts.open(&path) {
                    Ok(mut f) => {
                        f.write_all(hex::encode(key).as_bytes()).map_err(io)?;
                        f.sync_all().map_err(io)?;
                        Self::from_hex(&hex::encode(key))
                    }
                    // Another process created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::from_hex(&std::fs::read_to_string(&path).map_err(io)?)
                    }
                    Err(e) => Err(io(e)),
                }
            }
            Err(e) => Err(io(e)),
        }
    }

    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let nonce = Nonce::generate();
        let ciphertext = self
            .cipher
            .encrypt(&nonce, plaintext)
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != VERSION {
            return Err(CryptoError::Undecryptable);
        }
        let nonce =
            Nonce::try_from(&sealed[1..1 + NONCE_LEN]).map_err(|_| CryptoError::Undecryptable)?;
        self.cipher
            .decrypt(&nonce, &sealed[1 + NONCE_LEN..])
            .map_err(|_| CryptoError::Undecryptable)
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
