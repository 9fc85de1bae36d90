//! API tokens (see `covalynce_app::tokens`: made and hashed there, for every adapter).

pub use covalynce_app::tokens::{PREFIX, display_prefix, generate, hash, random_secret};

/// An owner token for the operator's own tool in `slug` (the workspace made if needed),
/// through the use case; returns the token text (shown once).
pub async fn create_token(
    store: &std::sync::Arc<dyn covalynce_storage::Store>,
    slug: &covalynce_domain::WorkspaceSlug,
    name: &str,
) -> anyhow::Result<String> {
    let app = covalynce_app::App::new(store.clone());
    let (_, made) = app
        .operator_token(slug, name, covalynce_app::operator::Earlier::Keep)
        .await?;
    Ok(made.token)
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
