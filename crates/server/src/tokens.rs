//! API tokens: 256 random bits shown once, stored only as a SHA-256 hash. A hash (not
//! argon2) is right here: the token is high-entropy, so there is nothing to brute-force,
//! and every API request must look it up fast.

use sha2::{Digest, Sha256};

pub const PREFIX: &str = "cvl_";

/// A fresh token: `cvl_` followed by 64 hex digits.
pub fn generate() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{PREFIX}{}", hex::encode(bytes))
}

/// A generated signing secret (webhooks in and out): 192 random bits, hex.
pub fn random_secret() -> String {
    hex::encode(rand::random::<[u8; 24]>())
}

pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// What may be shown of a token after creation, to tell tokens apart.
pub fn display_prefix(token: &str) -> String {
    token.chars().take(PREFIX.len() + 6).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_unique_prefixed_and_hash_stably() {
        let a = super::generate();
        let b = super::generate();
        assert_ne!(a, b);
        assert!(a.starts_with("cvl_") && a.len() == 68);
        assert_eq!(super::hash(&a), super::hash(&a));
        assert_ne!(super::hash(&a), super::hash(&b));
        assert!(!super::hash(&a).contains(&a[4..]));
    }
}
