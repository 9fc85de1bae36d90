//! The repository webhook Covalynce creates when a source is connected and removes when it
//! is deleted.

use super::{Api, api_for};
use covalynce_domain::{RepoSlug, SourceId};
use covalynce_storage::Source;

/// After a source is deleted: remove the webhook Covalynce created for it. A failure is
/// logged, not returned: the source is gone either way, and GitHub disables a hook whose
/// deliveries keep failing.
pub async fn after_delete(
    secrets: &crate::secrets::SecretBox,
    config: Option<&crate::github::GithubOAuth>,
    source: &Source,
) {
    let (Some(hook), Some(repo)) = (
        source.hook_id,
        source.repo.as_deref().and_then(|r| RepoSlug::parse(r).ok()),
    ) else {
        return;
    };
    let base = Api::base_for(config);
    let Some(api) = api_for(secrets, &base, source) else {
        return;
    };
    if let Err(e) = api.delete_hook(&repo, hook).await {
        tracing::warn!(source = %source.id, %repo, hook, error = %e, "could not remove the GitHub webhook");
    }
}

/// Creates the repository webhook for a connected source, when GitHub can reach this
/// server (a public URL is configured) and the token may; otherwise says why the source
/// only polls.
pub async fn create_hook_for(
    public_url: Option<&str>,
    source_id: SourceId,
    repo: &RepoSlug,
    api: &Api,
    secret: &str,
) -> Result<i64, String> {
    let Some(public) = public_url else {
        return Err("no public URL is configured (COVALYNCE_PUBLIC_URL), so GitHub cannot reach this server; polling instead".into());
    };
    let url = format!("{}/hooks/github/{source_id}", public.trim_end_matches('/'));
    api.create_hook(repo, &url, secret)
        .await
        .map_err(|e| format!("the webhook could not be created ({e}); polling instead"))
}
