//! Renewing a channel's access token before it is used.
//!
//! X access tokens last two hours and their refresh tokens are single-use: each renewal
//! spends the refresh token and hands out a new one, and spending one twice (two workers,
//! two replicas) can revoke the whole family. Bluesky sessions are alike: the access JWT
//! lasts two hours, `refreshSession` rotates the refresh JWT, and signing in again is
//! limited to 30 per 5 minutes — so it is only the fallback when the refresh JWT itself is
//! refused. So one holder at a time renews — a lease in the database
//! (`lease_credential_refresh`) — and the new tokens are stored (compare-and-set on the
//! sealed blob) before the new access token is used. Whoever waited reads the stored
//! result instead of renewing again.

use super::Context;
use covalynce_domain::{ChannelConfig, ChannelSecrets, now_millis};
use covalynce_publishing::Failure;
use covalynce_storage::ChannelRecord;
use std::time::Duration;
use tracing::Instrument as _;

/// Renew this long before the token's end, so a post never starts with a dying token.
const MARGIN_MS: i64 = 60_000;
/// How long a holder may take to renew before another may try.
const LEASE_MS: i64 = 30_000;
/// How long a worker waits for another's renewal.
const WAIT: Duration = Duration::from_secs(20);

fn broken(message: impl Into<String>) -> Failure {
    Failure::Permanent {
        message: message.into(),
        channel_broken: true,
    }
}

/// The channel with an access token that works for the next minute: as stored, or renewed
/// (when it is about to expire, or when `refused` says the platform already refused it).
/// Channels of other kinds come back as they are.
pub async fn fresh(
    ctx: &Context,
    channel: ChannelRecord,
    refused: bool,
) -> Result<ChannelRecord, Failure> {
    if !channel.kind.has_tokens() {
        return Ok(channel);
    }
    let expiring = |c: &ChannelRecord| {
        c.config
            .expires_at()
            .is_some_and(|at| at <= now_millis() + MARGIN_MS)
    };
    if !refused && !expiring(&channel) {
        return Ok(channel);
    }
    let seen = channel.sealed_credentials.clone();
    let store = ctx.store.as_ref();
    let reread = || async {
        store
            .channel(channel.id)
            .await
            .map_err(|e| Failure::Retry {
                message: e.to_string(),
                after: None,
            })?
            .ok_or_else(|| broken("the channel is gone"))
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let leased = store
            .lease_credential_refresh(channel.id, now_millis() + LEASE_MS)
            .await
            .map_err(|e| Failure::Retry {
                message: e.to_string(),
                after: None,
            })?;
        if leased {
            let current = reread().await?;
            if current.sealed_credentials != seen {
                // Renewed by someone else between our read and the lease.
                let _ = store.release_credential_refresh(channel.id).await;
                return Ok(current);
            }
            let result = renew(ctx, &current).await;
            if result.is_err() {
                let _ = store.release_credential_refresh(channel.id).await;
            }
            return result;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let current = reread().await?;
        if current.sealed_credentials != seen {
            return Ok(current);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Failure::Retry {
                message: format!(
                    "the {} token is being renewed by another worker",
                    platform(&channel)
                ),
                after: Some(Duration::from_secs(5)),
            });
        }
    }
}

fn platform(channel: &ChannelRecord) -> &'static str {
    channel.kind.label()
}

/// Spends the refresh token (the lease is held) and stores what the platform gave back.
async fn renew(ctx: &Context, channel: &ChannelRecord) -> Result<ChannelRecord, Failure> {
    let name = platform(channel);
    let sealed = channel.sealed_credentials.as_deref().ok_or_else(|| {
        broken(format!(
            "the {name} channel has no stored credentials; connect {name} again"
        ))
    })?;
    let secrets = ctx
        .secrets
        .open(sealed)
        .ok()
        .and_then(|plain| ChannelSecrets::parse(channel.kind, Some(&plain)).ok())
        .ok_or_else(|| {
            broken(format!(
                "the {name} channel's stored credentials are not readable"
            ))
        })?;
    let unrenewable = || broken(format!("the {name} channel's tokens cannot be renewed"));
    // Each platform renews its own kind (`Platform::renew` in `publishing`).
    // Its logs name the channel (a Bluesky account may be connected in several workspaces).
    let span = tracing::info_span!("renew", channel = %channel.id);
    let (next, settings) =
        covalynce_publishing::renew(&ctx.http, &channel.config.settings, secrets)
            .instrument(span)
            .await?;
    let config = ChannelConfig {
        settings,
        daily_cap: channel.config.daily_cap,
    };
    let new_sealed = ctx
        .secrets
        .seal(next.to_json().ok_or_else(unrenewable)?.as_slice());
    let stored = ctx
        .store
        .rotate_credentials(channel.id, sealed, &new_sealed, &config)
        .await
        .map_err(|e| Failure::Unknown {
            message: format!(
                "{name} renewed the token but it could not be stored ({e}); if posts fail, connect {name} again"
            ),
        })?;
    if !stored {
        return Err(broken(format!(
            "{name} renewed the token but the channel changed meanwhile; connect {name} again"
        )));
    }
    tracing::info!(channel = %channel.id, platform = name, "access token renewed");
    let mut renewed = channel.clone();
    renewed.sealed_credentials = Some(new_sealed);
    renewed.config = config;
    Ok(renewed)
}
