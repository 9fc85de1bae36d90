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
use covalynce_domain::channel::{
    BlueskySession, BlueskySettings, LinkedinSettings, OAuthTokens, XSettings,
};
use covalynce_domain::{ChannelConfig, ChannelSecrets, ChannelSettings, now_millis};
use covalynce_publishing::{Failure, Url, bluesky, linkedin, x};
use covalynce_storage::ChannelRecord;
use std::time::Duration;

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
    let (next, settings) = match (&channel.config.settings, secrets) {
        (ChannelSettings::Bluesky(settings), ChannelSecrets::Bluesky(session)) => {
            let (session, settings) = renew_bluesky(ctx, channel, settings, session).await?;
            (
                ChannelSecrets::Bluesky(session),
                ChannelSettings::Bluesky(settings),
            )
        }
        (ChannelSettings::Linkedin(settings), ChannelSecrets::Linkedin(tokens)) => {
            let (tokens, settings) = renew_linkedin(ctx, settings, tokens).await?;
            (
                ChannelSecrets::Linkedin(tokens),
                ChannelSettings::Linkedin(settings),
            )
        }
        (ChannelSettings::X(settings), ChannelSecrets::X(tokens)) => {
            let (tokens, settings) = renew_x(ctx, settings, tokens).await?;
            (ChannelSecrets::X(tokens), ChannelSettings::X(settings))
        }
        _ => return Err(unrenewable()),
    };
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

/// Bluesky: `refreshSession` with the refresh JWT; when that is refused (90 days passed,
/// or the session was revoked), one sign-in with the stored app password.
async fn renew_bluesky(
    ctx: &Context,
    channel: &ChannelRecord,
    settings: &BlueskySettings,
    mut session: BlueskySession,
) -> Result<(BlueskySession, BlueskySettings), Failure> {
    let service = Url::parse(&settings.service)
        .map_err(|_| broken("the Bluesky channel's service address is invalid"))?;
    let refreshed = match &session.refresh_jwt {
        Some(refresh) => bluesky::refresh_session(&ctx.http, &service, refresh).await,
        None => Err(Failure::Expired {
            message: "no session to renew".into(),
        }),
    };
    let renewed = match refreshed {
        Err(Failure::Expired { message }) => {
            let Some(identifier) = settings.identifier.as_deref() else {
                return Err(broken(format!(
                    "{message}, and no account is stored to sign in again; connect Bluesky again"
                )));
            };
            tracing::info!(channel = %channel.id, "Bluesky session refused: signing in again");
            bluesky::create_session(&ctx.http, &service, identifier, &session.app_password).await?
        }
        other => other?,
    };
    if renewed.did != settings.did {
        return Err(broken(format!(
            "the Bluesky session now belongs to another account ({}); connect Bluesky again",
            renewed.handle
        )));
    }
    session.access_jwt = renewed.access_jwt.clone();
    session.refresh_jwt = Some(renewed.refresh_jwt.clone());
    let settings = BlueskySettings {
        expires_at: renewed.expires_at(),
        account: renewed.handle.clone(),
        ..settings.clone()
    };
    Ok((session, settings))
}

/// LinkedIn: the refresh token (365 days from the first authorization; it does not
/// rotate) for a new 60-day access token.
async fn renew_linkedin(
    ctx: &Context,
    settings: &LinkedinSettings,
    mut tokens: OAuthTokens,
) -> Result<(OAuthTokens, LinkedinSettings), Failure> {
    let (Some(refresh_token), Some(client_id), Some(client_secret)) = (
        tokens.refresh_token.as_deref(),
        settings.client_id.as_deref(),
        tokens.client_secret.as_deref(),
    ) else {
        return Err(broken(
            "the LinkedIn access token expired and this channel has no refresh token to renew it; connect LinkedIn again",
        ));
    };
    let web = settings.web_base.as_deref().unwrap_or(linkedin::WEB_BASE);
    let web = Url::parse(web).map_err(|_| broken("the LinkedIn channel's address is invalid"))?;
    let grant = linkedin::refresh(&ctx.http, &web, client_id, client_secret, refresh_token)
        .await
        .map_err(|f| match f {
            Failure::Expired { message } => broken(format!(
                "{message}; the refresh token ran out (a year after connecting) or was revoked: connect LinkedIn again"
            )),
            other => other,
        })?;
    tokens.access_token = grant.access_token;
    tokens.refresh_token = grant.refresh_token;
    let mut settings = settings.clone();
    settings.expires_at = grant.expires_in.map(|s| now_millis() + s * 1000);
    if let Some(s) = grant.refresh_token_expires_in {
        settings.refresh_expires_at = Some(now_millis() + s * 1000);
    }
    Ok((tokens, settings))
}

/// X: the single-use refresh token for a new pair.
async fn renew_x(
    ctx: &Context,
    settings: &XSettings,
    mut tokens: OAuthTokens,
) -> Result<(OAuthTokens, XSettings), Failure> {
    let refresh_token = tokens.refresh_token.as_deref().ok_or_else(|| {
        broken("the X access token expired and this channel has no refresh token (offline.access) to renew it; connect X again")
    })?;
    let client_id = settings.client_id.as_deref().ok_or_else(|| {
        broken("the X access token expired and no X OAuth client is known to renew it (--x-client-id); connect X again")
    })?;
    let client = x::Client {
        id: client_id.to_owned(),
        secret: tokens.client_secret.clone(),
    };
    let api = Url::parse(&settings.api_base)
        .map_err(|_| broken("the X channel's API address is invalid"))?;
    let grant = x::refresh(&ctx.http, &api, &client, refresh_token).await?;
    tokens.access_token = grant.access_token;
    if let Some(r) = grant.refresh_token {
        tokens.refresh_token = Some(r);
    }
    let mut settings = settings.clone();
    settings.expires_at = grant.expires_in.map(|s| now_millis() + s * 1000);
    Ok((tokens, settings))
}
