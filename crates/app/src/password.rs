//! Password hashing: argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane — the
//! OWASP minimum), run off the async threads.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use std::sync::OnceLock;

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 1024;

/// A password people may choose: long enough to resist guessing, short enough that
/// hashing it is not a denial of service. No composition rules (NIST SP 800-63B).
pub fn check_new(password: &str, email: &str) -> Result<(), String> {
    if password.chars().count() < MIN_LEN {
        return Err(format!("password must be at least {MIN_LEN} characters"));
    }
    if password.len() > MAX_LEN {
        return Err(format!("password must be at most {MAX_LEN} bytes"));
    }
    if password.trim().eq_ignore_ascii_case(email.trim()) {
        return Err("password must not be your email address".into());
    }
    Ok(())
}

pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
    })
    .await?
}

/// Whether `password` matches `stored`. With no stored hash (unknown email, or an account
/// that signs in with GitHub only) a dummy hash is checked instead, so the answer takes
/// as long either way and timing tells nobody which emails have accounts.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    let known = stored.is_some();
    let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
    let ok = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false);
    ok && known
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        Argon2::default()
            .hash_password(b"covalynce-dummy-password")
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_do() {
        let h = super::hash("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("correct horse"));
        assert!(super::verify("correct horse battery".into(), Some(h.clone())).await);
        assert!(!super::verify("wrong horse battery".into(), Some(h)).await);
        assert!(!super::verify("covalynce-dummy-password".into(), None).await);
    }

    #[test]
    fn new_passwords_are_long_enough_and_not_the_email() {
        assert!(super::check_new("short", "a@b.co").is_err());
        assert!(super::check_new("ada@example.com", "ada@example.com").is_err());
        assert!(super::check_new(&"x".repeat(2000), "a@b.co").is_err());
        assert!(super::check_new("a long enough passphrase", "a@b.co").is_ok());
    }
}
