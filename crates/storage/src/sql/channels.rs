//! Channels: where approved cards go, their health and their credentials' renewal.

use crate::{ChannelRecord, NewChannel, Result};
use async_trait::async_trait;
use covalynce_domain::WorkspaceId;

#[async_trait]
pub trait ChannelStore {
    async fn insert_channel(&self, channel: &NewChannel) -> Result<ChannelRecord>;
    /// The workspace's channels, deleted ones left out.
    async fn list_channels(&self, ws: WorkspaceId) -> Result<Vec<ChannelRecord>>;
    /// A channel by id alone, deleted ones included (the publisher's view).
    async fn channel(&self, id: covalynce_domain::ChannelId) -> Result<Option<ChannelRecord>>;
    /// One of the workspace's channels, unless deleted.
    async fn workspace_channel(
        &self,
        ws: WorkspaceId,
        id: covalynce_domain::ChannelId,
    ) -> Result<Option<ChannelRecord>>;
    /// Disables every active outbox channel whose settings name a path on the server (made
    /// before outboxes were confined to the data dir), with `reason` as its last error, in
    /// every workspace; returns how many. Run at start, so such a channel stops visibly
    /// instead of waiting for its next publication to fail.
    async fn stop_outboxes_naming_paths(&self, reason: &str) -> Result<u64>;
    /// Enables, disables or deletes a channel and returns it as it now is; None when the
    /// workspace has no such (undeleted) channel. Enabling queues again what waited while it was disabled; deleting erases its
    /// credentials and fails what was still queued for it (history stays).
    async fn set_channel_status(
        &self,
        ws: WorkspaceId,
        id: covalynce_domain::ChannelId,
        status: covalynce_domain::ChannelStatus,
    ) -> Result<Option<ChannelRecord>>;
    /// Replaces a channel's posting times; None when the workspace has no such (undeleted)
    /// channel.
    async fn set_channel_slots(
        &self,
        ws: WorkspaceId,
        id: covalynce_domain::ChannelId,
        slots: &covalynce_domain::schedule::Slots,
    ) -> Result<Option<ChannelRecord>>;
    /// Records a pause the platform asked for and why the channel stopped working (None:
    /// it works); `succeeded`: it just published or passed a test.
    async fn set_channel_health(
        &self,
        id: covalynce_domain::ChannelId,
        paused_until: Option<i64>,
        last_error: Option<&str>,
        succeeded: bool,
    ) -> Result<()>;
    /// Takes the channel's credential-refresh lease until `until` (Unix ms) unless another
    /// holder's lease is still running. Only the holder trades the refresh token: X's are
    /// single-use, and two refreshes at once (two workers, two replicas) would burn the
    /// whole token family. False: someone else is refreshing.
    async fn lease_credential_refresh(
        &self,
        id: covalynce_domain::ChannelId,
        until: i64,
    ) -> Result<bool>;
    /// Stores rotated credentials (sealed) and the channel's settings, and ends the lease —
    /// only if the stored credentials are still `expected` (compare-and-set: a sealed blob
    /// is never sealed twice the same). False: they changed meanwhile, nothing written.
    async fn rotate_credentials(
        &self,
        id: covalynce_domain::ChannelId,
        expected: &[u8],
        sealed: &[u8],
        config: &covalynce_domain::ChannelConfig,
    ) -> Result<bool>;
    /// Ends the lease without a change (the refresh failed).
    async fn release_credential_refresh(&self, id: covalynce_domain::ChannelId) -> Result<()>;
}

/// The queries, once for both backends (`impl_store!`).
macro_rules! impl_channels {
    ($store:ty, $db:ty) => {

        #[async_trait::async_trait]
        impl $crate::ChannelStore for $store {
            async fn insert_channel(
                &self,
                c: &$crate::NewChannel,
            ) -> $crate::Result<$crate::ChannelRecord> {
                let now = covalynce_domain::now_millis();
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(c.workspace_id)).await?;
                sqlx::query(
                    "INSERT INTO channels (id, workspace_id, kind, name, config, credentials, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(c.id.to_string())
                .bind(c.workspace_id.to_string())
                .bind(c.config.kind().as_str())
                .bind(&c.name)
                .bind(c.config.to_value().to_string())
                .bind(c.sealed_credentials.as_deref())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok($crate::ChannelRecord {
                    id: c.id,
                    workspace_id: c.workspace_id,
                    kind: c.config.kind(),
                    name: c.name.clone(),
                    config: c.config.clone(),
                    sealed_credentials: c.sealed_credentials.clone(),
                    status: covalynce_domain::ChannelStatus::Active,
                    slots: covalynce_domain::schedule::Slots::default(),
                    created_at: now,
                    paused_until: None,
                    sent_today: 0,
                    last_error: None,
                    last_error_at: None,
                    last_success_at: None,
                })
            }

            async fn list_channels(
                &self,
                ws: covalynce_domain::WorkspaceId,
            ) -> $crate::Result<Vec<$crate::ChannelRecord>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let rows: Vec<$crate::sql::ChannelRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM channels WHERE workspace_id = $1 AND status <> 'deleted' ORDER BY id",
                    $crate::sql::CHANNEL_COLS
                )))
                .bind(ws.to_string())
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                $crate::sql::collect(rows)
            }

            async fn channel(
                &self,
                id: covalynce_domain::ChannelId,
            ) -> $crate::Result<Option<$crate::ChannelRecord>> {
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                let row: Option<$crate::sql::ChannelRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM channels WHERE id = $1",
                    $crate::sql::CHANNEL_COLS
                )))
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn set_channel_health(
                &self,
                id: covalynce_domain::ChannelId,
                paused_until: Option<i64>,
                last_error: Option<&str>,
                succeeded: bool,
            ) -> $crate::Result<()> {
                let mut tx = self.pools.relaxed($crate::unit::Scope::System).await?;
                sqlx::query(
                    "UPDATE channels SET paused_until = $1, last_error = $2,
                            last_error_at = CASE WHEN $2 IS NULL THEN NULL ELSE $3 END,
                            last_success_at = CASE WHEN $5 THEN $3 ELSE last_success_at END
                     WHERE id = $4",
                )
                .bind(paused_until)
                .bind(last_error)
                .bind(covalynce_domain::now_millis())
                .bind(id.to_string())
                .bind(succeeded)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn lease_credential_refresh(
                &self,
                id: covalynce_domain::ChannelId,
                until: i64,
            ) -> $crate::Result<bool> {
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                let taken = sqlx::query(
                    "UPDATE channels SET refresh_lease_until = $1
                     WHERE id = $2 AND (refresh_lease_until IS NULL OR refresh_lease_until <= $3)",
                )
                .bind(until)
                .bind(id.to_string())
                .bind(covalynce_domain::now_millis())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                tx.commit().await?;
                Ok(taken)
            }

            async fn rotate_credentials(
                &self,
                id: covalynce_domain::ChannelId,
                expected: &[u8],
                sealed: &[u8],
                config: &covalynce_domain::ChannelConfig,
            ) -> $crate::Result<bool> {
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                let swapped = sqlx::query(
                    "UPDATE channels SET credentials = $1, config = $2, refresh_lease_until = NULL
                     WHERE id = $3 AND credentials = $4",
                )
                .bind(sealed)
                .bind(config.to_value().to_string())
                .bind(id.to_string())
                .bind(expected)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                tx.commit().await?;
                Ok(swapped)
            }

            async fn release_credential_refresh(
                &self,
                id: covalynce_domain::ChannelId,
            ) -> $crate::Result<()> {
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                sqlx::query("UPDATE channels SET refresh_lease_until = NULL WHERE id = $1")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn stop_outboxes_naming_paths(&self, reason: &str) -> $crate::Result<u64> {
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                // The settings are JSON text: a stored outbox names either "file" or "path".
                let done = sqlx::query(
                    "UPDATE channels SET status = 'disabled', last_error = $1, last_error_at = $2
                     WHERE kind = 'outbox' AND status = 'active' AND config LIKE '%\"path\":%'",
                )
                .bind(reason)
                .bind(covalynce_domain::now_millis())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(done)
            }

            async fn set_channel_slots(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::ChannelId,
                slots: &covalynce_domain::schedule::Slots,
            ) -> $crate::Result<Option<$crate::ChannelRecord>> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                let changed: Option<String> = sqlx::query_scalar(
                    "UPDATE channels SET slots = $1
                     WHERE id = $2 AND workspace_id = $3 AND status <> 'deleted' RETURNING id",
                )
                .bind(slots.to_string())
                .bind(id.to_string())
                .bind(ws.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                if changed.is_none() {
                    return Ok(None);
                }
                Ok(self.channel(id).await?.filter(|c| c.workspace_id == ws))
            }

            async fn set_channel_status(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::ChannelId,
                status: covalynce_domain::ChannelStatus,
            ) -> $crate::Result<Option<$crate::ChannelRecord>> {
                use covalynce_domain::ChannelStatus;
                let now = covalynce_domain::now_millis();
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                let changed: Option<String> = sqlx::query_scalar(
                    "UPDATE channels SET status = $1,
                            credentials = CASE WHEN $1 = 'deleted' THEN NULL ELSE credentials END,
                            last_error = CASE WHEN $1 = 'active' THEN NULL ELSE last_error END
                     WHERE id = $2 AND workspace_id = $3 AND status <> 'deleted' RETURNING id",
                )
                .bind(status.as_str())
                .bind(id.to_string())
                .bind(ws.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                if changed.is_none() {
                    tx.rollback().await?;
                    return Ok(None);
                }
                match status {
                    ChannelStatus::Active => {
                        // Publications held while it was disabled go out now.
                        let held: Vec<String> = sqlx::query_scalar(
                            "SELECT p.id FROM publications p JOIN cards c ON c.id = p.card_id
                             WHERE p.channel_id = $1 AND p.status = 'queued' AND c.status = 'APPROVED'",
                        )
                        .bind(id.to_string())
                        .fetch_all(&mut *tx)
                        .await?;
                        for p in held {
                            sqlx::query($crate::sql::ENQUEUE_PUBLISH)
                                .bind(covalynce_domain::JobId::new().to_string())
                                .bind(ws.to_string())
                                .bind($crate::sql::publish_job(&p)?)
                                .bind(now)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                    ChannelStatus::Deleted => {
                        let cards: Vec<String> = sqlx::query_scalar(
                            "UPDATE publications SET status = 'failed',
                                    error = 'the channel was deleted before this went out'
                             WHERE channel_id = $1 AND status = 'queued' RETURNING card_id",
                        )
                        .bind(id.to_string())
                        .fetch_all(&mut *tx)
                        .await?;
                        for card in cards {
                            sqlx::query($crate::sql::SETTLE_CARD)
                                .bind(now)
                                .bind(card)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                    ChannelStatus::Disabled => {}
                }
                tx.commit().await?;
                self.channel(id).await
            }

            async fn workspace_channel(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::ChannelId,
            ) -> $crate::Result<Option<$crate::ChannelRecord>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let row: Option<$crate::sql::ChannelRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM channels WHERE id = $1 AND workspace_id = $2 AND status <> 'deleted'",
                    $crate::sql::CHANNEL_COLS
                )))
                .bind(id.to_string())
                .bind(ws.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }
        }
    };
}

pub(crate) use impl_channels;
