//! Channels: where approved cards are published. A member disables, enables, deletes and
//! tests them here; the server plugs in what opens a stored channel and sends to it
//! ([`Publisher`]), since credentials are sealed with the server's key and sending needs
//! its HTTP client and token renewal.

use crate::audit::Action;
use crate::connect::{CreateChannel, Platforms};
use crate::{Acting, App, AppError, Editor};
use covalynce_domain::{ChannelConfig, ChannelId, ChannelKind, ChannelStatus};
use covalynce_storage::{ChannelRecord, NewChannel};
use serde_json::json;
use std::future::Future;

/// What the server does with a stored channel: open it (settings and unsealed secrets
/// parsed into something that can publish) and send it a test.
pub trait Publisher: Send + Sync {
    /// Why the channel could not publish as stored (an outbox naming a server path, a
    /// credential that does not read), if it could not.
    fn check(&self, channel: &ChannelRecord) -> Result<(), String>;
    /// Sends the channel's test (a message, a signed ping, an outbox opened): what was done,
    /// or what the platform said.
    fn test(&self, channel: &ChannelRecord) -> impl Future<Output = Result<String, String>> + Send;
}

/// A channel test's outcome: `ok` when the platform accepted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tested {
    pub ok: bool,
    pub detail: String,
}

impl App {
    /// Adds a channel to the workspace: connected with its platform
    /// ([`crate::connect::connect`]), its credentials sealed by `seal` (the server's key).
    /// The record, and a secret Covalynce generated to show once (a webhook's).
    pub async fn create_channel(
        &self,
        who: &Acting<Editor>,
        request: &CreateChannel,
        platforms: &Platforms<'_>,
        seal: impl Fn(&[u8]) -> Vec<u8>,
    ) -> Result<(ChannelRecord, Option<String>), AppError> {
        let github = if request.kind == ChannelKind::GithubRelease.as_str() {
            Some(self.github_grant(who, request, platforms).await?)
        } else {
            None
        };
        let connected = crate::connect::connect(request, platforms, github).await?;
        if let Some(cap) = request.daily_cap
            && !(1..=10_000).contains(&cap)
        {
            return Err(AppError::Invalid(format!(
                "daily_cap must be between 1 and 10000, got {cap}"
            )));
        }
        let kind = connected.settings.kind();
        let name = match request.name.as_deref().map(str::trim) {
            Some("") => return Err(AppError::Invalid("name must not be empty".into())),
            Some(n) if n.chars().count() > 100 => {
                return Err(AppError::Invalid(
                    "name must be at most 100 characters".into(),
                ));
            }
            Some(n) => n.to_owned(),
            None => kind.heading().to_owned(),
        };
        let channel = self
            .store()
            .insert_channel(&NewChannel {
                id: ChannelId::new(),
                workspace_id: who.workspace().id,
                name,
                config: ChannelConfig {
                    settings: connected.settings,
                    daily_cap: request.daily_cap,
                },
                sealed_credentials: connected.secrets.to_json().map(|s| seal(&s)),
            })
            .await?;
        self.record(
            who,
            Action::CreateChannel,
            channel.id,
            json!({ "kind": kind.to_string(), "name": channel.name }),
        )
        .await;
        Ok((channel, connected.generated))
    }

    /// One of the workspace's channels (not deleted): anyone in it may read it.
    pub async fn channel<R: crate::MinRole>(
        &self,
        who: &Acting<R>,
        id: ChannelId,
    ) -> Result<ChannelRecord, AppError> {
        self.store()
            .workspace_channel(who.workspace().id, id)
            .await?
            .ok_or_else(|| AppError::missing(id))
    }

    /// Stops publishing to a channel: its publications wait (queued) until it is enabled.
    pub async fn disable_channel(
        &self,
        who: &Acting<Editor>,
        id: ChannelId,
    ) -> Result<ChannelRecord, AppError> {
        let channel = self.channel(who, id).await?;
        self.set_channel_status(who, &channel, ChannelStatus::Disabled)
            .await
    }

    /// Publishes to a channel again (what waited goes out now) and clears its last error;
    /// refused, with the reason, when the channel as stored could not publish anyway.
    pub async fn enable_channel(
        &self,
        who: &Acting<Editor>,
        id: ChannelId,
        publisher: &impl Publisher,
    ) -> Result<ChannelRecord, AppError> {
        let current = self.channel(who, id).await?;
        publisher.check(&current).map_err(AppError::Invalid)?;
        // The channel read once: checked, then changed.
        self.set_channel_status(who, &current, ChannelStatus::Active)
            .await
    }

    /// Deletes a channel: its credentials are erased, what was still queued for it fails,
    /// and what it published stays on the cards.
    pub async fn delete_channel(
        &self,
        who: &Acting<Editor>,
        id: ChannelId,
    ) -> Result<ChannelRecord, AppError> {
        let channel = self.channel(who, id).await?;
        self.set_channel_status(who, &channel, ChannelStatus::Deleted)
            .await
    }

    /// Tests a channel. A failed test becomes the channel's last error; a passed one clears
    /// it. Either way the answer is the test's, not an error.
    pub async fn test_channel(
        &self,
        who: &Acting<Editor>,
        id: ChannelId,
        publisher: &impl Publisher,
    ) -> Result<Tested, AppError> {
        let channel = self.channel(who, id).await?;
        let (ok, detail) = match publisher.test(&channel).await {
            Ok(done) => (true, done),
            Err(why) => (false, why),
        };
        self.store()
            .set_channel_health(
                channel.id,
                channel.paused_until,
                (!ok).then_some(detail.as_str()),
                ok,
            )
            .await?;
        // The platform's answer is not logged: it may quote what was sent.
        self.record(who, Action::TestChannel, channel.id, json!({ "ok": ok }))
            .await;
        Ok(Tested { ok, detail })
    }

    async fn set_channel_status(
        &self,
        who: &Acting<Editor>,
        channel: &ChannelRecord,
        status: ChannelStatus,
    ) -> Result<ChannelRecord, AppError> {
        let changed = self
            .store()
            .set_channel_status(who.workspace().id, channel.id, status)
            .await?;
        self.wake_workers();
        // None: it was deleted in the meantime.
        let changed = changed.ok_or_else(|| AppError::missing(channel.id))?;
        let action = match status {
            ChannelStatus::Active => Action::EnableChannel,
            ChannelStatus::Disabled => Action::DisableChannel,
            ChannelStatus::Deleted => Action::DeleteChannel,
        };
        self.record(
            who,
            action,
            channel.id,
            json!({ "kind": channel.kind.to_string() }),
        )
        .await;
        Ok(changed)
    }
}

impl App {
    /// The GitHub source a `github_release` channel writes with: this workspace's, with a
    /// token; its repository and the token (unsealed, to be sealed again as the channel's).
    async fn github_grant(
        &self,
        who: &Acting<Editor>,
        request: &CreateChannel,
        platforms: &Platforms<'_>,
    ) -> Result<crate::connect::GithubGrant, AppError> {
        let raw = request.source.as_deref().map(str::trim).unwrap_or_default();
        let missing = || {
            AppError::Invalid(format!(
                "source must be the id of this workspace's GitHub source with a token; got {raw:?}"
            ))
        };
        let id = covalynce_domain::SourceId::parse(raw).ok_or_else(missing)?;
        let source = self
            .store()
            .source(id)
            .await?
            .filter(|s| s.workspace_id == who.workspace().id)
            .ok_or_else(missing)?;
        let repo = source
            .repo
            .clone()
            .filter(|_| source.kind == covalynce_domain::SourceKind::Github)
            .ok_or_else(missing)?;
        let secrets = platforms.secrets.ok_or_else(|| {
            AppError::Invalid("this server cannot read source tokens here".into())
        })?;
        let api = crate::github::api_for(secrets, &platforms.github_api, &source)
            .ok_or_else(|| {
                AppError::Invalid(format!(
                    "the source for {repo} has no token: connect it with one (contents: write) first"
                ))
            })?;
        Ok(crate::connect::GithubGrant {
            repo,
            source: source.id.to_string(),
            token: api.token().to_owned(),
        })
    }
}

impl App {
    /// The workspace's channels (credentials stay sealed): anyone in it may read them.
    pub async fn channels<R: crate::MinRole>(
        &self,
        who: &Acting<R>,
    ) -> Result<Vec<covalynce_storage::ChannelRecord>, AppError> {
        Ok(self.store().list_channels(who.workspace().id).await?)
    }
}
