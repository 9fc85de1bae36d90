//! Secrets made for people: API tokens (256 random bits shown once, stored only as a
//! SHA-256 hash) and invitation links. A hash (not argon2) is right here: the token is
//! high-entropy, so there is nothing to brute-force, and every API request must look it up
//! fast.

use sha2::{Digest, Sha256};

pub const PREFIX: &str = "cvl_";

/// A fresh API token: `cvl_` followed by 64 hex digits.
pub fn generate() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{PREFIX}{}", hex::encode(bytes))
}

/// A generated signing secret (webhooks in and out): 192 random bits, hex.
pub fn random_secret() -> String {
    hex::encode(rand::random::<[u8; 24]>())
}

/// A random token without a prefix (invitation links, sessions, sign-in links): 256 bits, hex.
pub fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// What may be shown of a token after creation, to tell tokens apart.
pub fn display_prefix(token: &str) -> String {
    token.chars().take(PREFIX.len() + 6).collect()
}
