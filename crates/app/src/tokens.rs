//! Secrets made for people: API tokens (256 random bits shown once, stored only as a
//! SHA-256 hash) and invitation links. A hash (not argon2) is right here: the token is
//! high-entropy, so there is nothing to brute-force, and every API request must look it up
//! fast.

use sha2::{Digest, Sha256};

pub const PREFIX: &str = "cvl_";

/// A fresh API token: `cvl_` followed by 64 hex digits.
pub fn generate() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{PREFIX}{}", hex::encode(bytes))
}

/// A generated signing secret (webhooks in and out): 192 random bits, hex.
pub fn random_secret() -> String {
    hex::encode(rand::random::<[u8; 24]>())
}

/// A random token without a prefix (invitation links, sessions, sign-in links): 256 bits, hex.
pub fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// What may be shown of a token after creation, to tell tokens apart.
pub fn display_prefix(token: &str) -> String {
    token.chars().take(PREFIX.len() + 6).collect()
}

/// What an API token lets its bearer do, and as whom.
pub struct Grant {
    pub token_id: covalynce_domain::TokenId,
    pub workspace: covalynce_storage::Workspace,
    /// The token's role, never more than its person's role today.
    pub role: covalynce_domain::Role,
    /// The person who made it; none for the operator's (made at the command line).
    pub user_id: Option<covalynce_domain::UserId>,
}

/// What a token as sent turns out to be.
pub enum Lookup {
    Granted(Box<Grant>),
    /// No such token, or revoked: someone may be guessing.
    Unknown,
    /// A person's token whose person is no longer a member of its workspace (removing a
    /// member revokes their tokens in the same transaction, so only a store changed by
    /// hand gets here): it opens nothing, and it is no one's guess, so it costs no
    /// address's sign-in allowance.
    Orphaned,
}

impl crate::App {
    /// What a token as sent may do. A person's token can do no more than the person:
    /// demoted, their tokens follow; removed from the workspace, the token opens nothing.
    /// Its last use is recorded at most once a minute (every API request comes through
    /// here, and a write each would cost more than the request).
    pub async fn token_grant(&self, token: &str) -> Result<Lookup, crate::AppError> {
        let Some(auth) = self.store().token_auth(&hash(token)).await? else {
            return Ok(Lookup::Unknown);
        };
        let role = match auth.user_id {
            None => auth.role,
            Some(user) => match self.store().member_role(auth.workspace.id, user).await? {
                Some(member) => auth.role.min(member),
                None => return Ok(Lookup::Orphaned),
            },
        };
        let now = covalynce_domain::now_millis();
        if auth.last_used_at.is_none_or(|at| at < now - 60_000)
            && let Err(e) = self.store().touch_token(auth.token_id, now).await
        {
            tracing::warn!(error = %e, "could not record a token's last use");
        }
        Ok(Lookup::Granted(Box::new(Grant {
            token_id: auth.token_id,
            workspace: auth.workspace,
            role,
            user_id: auth.user_id,
        })))
    }
}
