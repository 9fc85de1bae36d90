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

/// Creates the workspace if needed and a token for it; returns the token text (shown once).
pub async fn create_token(
    store: &dyn covalynce_storage::Store,
    slug: &covalynce_domain::WorkspaceSlug,
    name: &str,
) -> anyhow::Result<String> {
    let ws = store.ensure_workspace(slug).await?;
    let token = generate();
    store
        .insert_token(&covalynce_storage::NewToken {
            id: covalynce_domain::TokenId::new(),
            workspace_id: ws.id,
            name: name.to_owned(),
            token_hash: hash(&token),
            prefix: display_prefix(&token),
            role: covalynce_domain::Role::Owner,
            user_id: None,
        })
        .await?;
    Ok(token)
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
