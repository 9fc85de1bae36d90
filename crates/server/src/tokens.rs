//! API tokens (see `covalynce_app::tokens`: made and hashed there, for every adapter).

pub use covalynce_app::tokens::{PREFIX, display_prefix, generate, hash, random_secret};

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
