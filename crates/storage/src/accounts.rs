//! Accounts: users, memberships (a role per workspace), sessions, invitations, API tokens
//! with roles, and the audit log. A separate trait from [`Store`](crate::Store) (which
//! requires it) so the pipeline's storage and the people's storage read apart.

use crate::{Result, Workspace};
use async_trait::async_trait;
use covalynce_domain::{
    AuditId, Email, InvitationId, Role, TokenId, UnixMillis, UserId, WorkspaceId, WorkspaceSlug,
};

#[derive(Clone)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: String,
    /// argon2id PHC string; `None` for people who only sign in with GitHub.
    pub password_hash: Option<String>,
    pub github_id: Option<i64>,
    pub github_login: Option<String>,
    pub created_at: UnixMillis,
}

// The password hash stays out of logs even as a hash.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("github_login", &self.github_login)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct NewUser {
    pub id: UserId,
    pub email: Email,
    pub name: String,
    pub password_hash: Option<String>,
    pub github_id: Option<i64>,
    pub github_login: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Membership {
    pub workspace: Workspace,
    pub role: Role,
}

#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: UserId,
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub joined_at: UnixMillis,
}

/// What changing or removing a member did. The last owner can be neither demoted nor
/// removed: a workspace nobody can administer is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    Done,
    NotFound,
    LastOwner,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 (hex) of the cookie value.
    pub id_hash: String,
    pub user_id: UserId,
    pub csrf_token: String,
    pub expires_at: UnixMillis,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id_hash: String,
    pub user: User,
    pub csrf_token: String,
    pub created_at: UnixMillis,
    pub last_seen_at: UnixMillis,
    pub expires_at: UnixMillis,
}

#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub id: InvitationId,
    pub workspace_id: WorkspaceId,
    pub role: Role,
    pub token_hash: String,
    pub created_by: Option<UserId>,
    pub expires_at: UnixMillis,
}

#[derive(Debug, Clone)]
pub struct InvitationRecord {
    pub id: InvitationId,
    pub role: Role,
    pub created_at: UnixMillis,
    pub expires_at: UnixMillis,
    pub accepted_at: Option<UnixMillis>,
    pub accepted_by: Option<UserId>,
}

/// What accepting an invitation did.
#[derive(Debug, Clone, PartialEq)]
pub enum Acceptance {
    Joined {
        workspace: WorkspaceId,
        role: Role,
    },
    /// Unknown, expired or already used: told apart only in logs.
    Invalid,
    /// The workspace's plan has no seat left; the invitation stays unused.
    Full {
        plan: String,
        seats: i64,
    },
}

/// What a bearer token may do.
#[derive(Debug, Clone)]
pub struct TokenAuth {
    pub token_id: TokenId,
    pub workspace: Workspace,
    pub role: Role,
    pub user_id: Option<UserId>,
    pub last_used_at: Option<UnixMillis>,
}

#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub id: TokenId,
    pub name: String,
    pub prefix: String,
    pub role: Role,
    pub user_id: Option<UserId>,
    pub created_at: UnixMillis,
    pub last_used_at: Option<UnixMillis>,
    pub revoked_at: Option<UnixMillis>,
}

#[derive(Debug, Clone)]
pub struct NewAudit {
    pub workspace_id: Option<WorkspaceId>,
    pub user_id: Option<UserId>,
    /// `user:ID`, `token:ID`, `cli` or `system`.
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: serde_json::Value,
    pub ip: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub id: AuditId,
    pub user_id: Option<UserId>,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: serde_json::Value,
    pub ip: Option<String>,
    pub created_at: UnixMillis,
}

/// Where a sealed (encrypted) secret is stored, for re-sealing under a new key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedPlace {
    /// `sources.secret`, by source id.
    Source,
    /// `channels.credentials`, by channel id.
    Channel,
    /// `integrations.credentials`, by `workspace_id` and provider joined with a newline.
    Integration,
    /// `ai_providers.api_key`, by provider row id.
    AiKey,
}

impl SealedPlace {
    pub(crate) const ALL: [SealedPlace; 4] = [
        SealedPlace::Source,
        SealedPlace::Channel,
        SealedPlace::Integration,
        SealedPlace::AiKey,
    ];

    /// (table, column) for the places keyed by their row's `id`; None for integrations
    /// (keyed by workspace and provider).
    pub(crate) fn by_id(self) -> Option<(&'static str, &'static str)> {
        match self {
            SealedPlace::Source => Some(("sources", "secret")),
            SealedPlace::Channel => Some(("channels", "credentials")),
            SealedPlace::AiKey => Some(("ai_providers", "api_key")),
            SealedPlace::Integration => None,
        }
    }
}

#[derive(Clone)]
pub struct SealedBlob {
    pub place: SealedPlace,
    pub id: String,
    pub blob: Vec<u8>,
}

#[async_trait]
pub trait Accounts: Send + Sync {
    /// Every sealed secret in the database (for key rotation).
    async fn sealed_blobs(&self) -> Result<Vec<SealedBlob>>;
    /// Replaces sealed secrets, all in one transaction: a rotation is whole or not at all.
    async fn replace_sealed(&self, blobs: &[SealedBlob]) -> Result<()>;

    /// `None` when the email (or GitHub account) is already taken.
    async fn create_user(&self, user: &NewUser) -> Result<Option<User>>;
    /// Whether anyone has signed up yet (the first person may without an invitation).
    async fn has_users(&self) -> Result<bool>;
    async fn user(&self, id: UserId) -> Result<Option<User>>;
    async fn user_by_email(&self, email: &Email) -> Result<Option<User>>;
    async fn user_by_github(&self, github_id: i64) -> Result<Option<User>>;
    async fn link_github(&self, id: UserId, github_id: i64, login: &str) -> Result<()>;
    /// Deletes the user (sessions, tokens, memberships go with them) and, in the same
    /// transaction, the listed workspaces (the caller lists those nobody else is in).
    async fn delete_user(&self, id: UserId, with_workspaces: &[WorkspaceId]) -> Result<()>;

    /// A new workspace with `owner` as its owner; `None` when the slug is taken.
    async fn create_workspace(
        &self,
        slug: &WorkspaceSlug,
        owner: UserId,
    ) -> Result<Option<Workspace>>;
    async fn workspace_by_slug(&self, slug: &WorkspaceSlug) -> Result<Option<Workspace>>;
    async fn delete_workspace(&self, id: WorkspaceId) -> Result<()>;

    async fn memberships(&self, user: UserId) -> Result<Vec<Membership>>;
    async fn member_role(&self, ws: WorkspaceId, user: UserId) -> Result<Option<Role>>;
    async fn members(&self, ws: WorkspaceId) -> Result<Vec<Member>>;
    async fn set_member_role(
        &self,
        ws: WorkspaceId,
        user: UserId,
        role: Role,
    ) -> Result<MemberChange>;
    async fn remove_member(&self, ws: WorkspaceId, user: UserId) -> Result<MemberChange>;

    async fn create_session(&self, session: &NewSession) -> Result<()>;
    /// The live (unexpired) session with this hash.
    async fn session(&self, id_hash: &str, now: UnixMillis) -> Result<Option<SessionRecord>>;
    async fn touch_session(
        &self,
        id_hash: &str,
        now: UnixMillis,
        expires_at: UnixMillis,
    ) -> Result<()>;
    async fn delete_session(&self, id_hash: &str) -> Result<()>;
    /// Log out everywhere; returns how many sessions ended.
    async fn delete_user_sessions(&self, user: UserId) -> Result<u64>;

    /// Stores a one-time sign-in link (its token's hash) for a person, in place of any
    /// earlier one of theirs: only the newest link printed works.
    async fn create_login_link(
        &self,
        id_hash: &str,
        user: UserId,
        expires_at: UnixMillis,
    ) -> Result<()>;
    /// Uses a sign-in link: it is deleted whatever its age, and its person is returned
    /// when it was still fresh at `now`. Two requests with one link: only one gets the
    /// person. Expired links are swept when a new one is made.
    async fn take_login_link(&self, id_hash: &str, now: UnixMillis) -> Result<Option<UserId>>;

    async fn create_invitation(&self, inv: &NewInvitation) -> Result<()>;
    async fn invitations(&self, ws: WorkspaceId) -> Result<Vec<InvitationRecord>>;
    async fn revoke_invitation(&self, ws: WorkspaceId, id: InvitationId) -> Result<bool>;
    /// Uses the invitation once (atomically) and adds the user with its role; a user
    /// already in the workspace keeps the higher of the two roles.
    async fn accept_invitation(
        &self,
        token_hash: &str,
        user: UserId,
        now: UnixMillis,
    ) -> Result<Acceptance>;

    async fn token_auth(&self, token_hash: &str) -> Result<Option<TokenAuth>>;
    /// Records use, at most once a minute per token (a write per request would cost the
    /// one SQLite writer).
    async fn touch_token(&self, id: TokenId, now: UnixMillis) -> Result<()>;
    async fn tokens(&self, ws: WorkspaceId) -> Result<Vec<TokenRecord>>;
    async fn revoke_token(&self, ws: WorkspaceId, id: TokenId) -> Result<bool>;

    async fn audit(&self, entry: &NewAudit) -> Result<()>;
    async fn audit_log(
        &self,
        ws: WorkspaceId,
        before: Option<AuditId>,
        limit: i64,
    ) -> Result<Vec<AuditRecord>>;
    /// Account events (sign-ins, sign-ups) of one user, newest first.
    async fn user_audit_log(&self, user: UserId, limit: i64) -> Result<Vec<AuditRecord>>;
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password_hash: Option<String>,
    pub github_id: Option<i64>,
    pub github_login: Option<String>,
    pub created_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = crate::StoreError;
    fn try_from(r: UserRow) -> Result<Self> {
        Ok(User {
            id: crate::sql::parse_id(&r.id, UserId::parse)?,
            email: Email::parse(&r.email).map_err(|e| crate::StoreError::Corrupt(e.0))?,
            name: r.name,
            password_hash: r.password_hash,
            github_id: r.github_id,
            github_login: r.github_login,
            created_at: r.created_at,
        })
    }
}

pub(crate) fn parse_role(s: &str) -> Result<Role> {
    Role::parse(s).map_err(|e| crate::StoreError::Corrupt(e.0))
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    pub id: String,
    pub user_id: Option<String>,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: String,
    pub ip: Option<String>,
    pub created_at: i64,
}

impl TryFrom<AuditRow> for AuditRecord {
    type Error = crate::StoreError;
    fn try_from(r: AuditRow) -> Result<Self> {
        Ok(AuditRecord {
            id: crate::sql::parse_id(&r.id, AuditId::parse)?,
            user_id: r
                .user_id
                .as_deref()
                .map(|u| crate::sql::parse_id(u, UserId::parse))
                .transpose()?,
            actor: r.actor,
            action: r.action,
            target: r.target,
            detail: serde_json::from_str(&r.detail)
                .map_err(|e| crate::StoreError::Corrupt(format!("audit detail: {e}")))?,
            ip: r.ip,
            created_at: r.created_at,
        })
    }
}

macro_rules! workspace_cols {
    () => {
        "w.id, w.slug, w.plan, w.card_limit, w.cards_used, w.voice, w.created_at, w.halted_at, w.trust_after, w.trust_channels, w.trust_streak, w.ai_privacy, w.seat_limit, w.period_end, w.billing, w.time_zone"
    };
}
pub(crate) use workspace_cols;

macro_rules! user_cols {
    () => {
        "id, email, name, password_hash, github_id, github_login, created_at"
    };
}
pub(crate) use user_cols;

/// One implementation for both pool types, like `impl_store!`.
macro_rules! impl_accounts {
    ($store:ty, lock = $lock:literal) => {
        #[async_trait::async_trait]
        impl $crate::Accounts for $store {
            async fn sealed_blobs(&self) -> $crate::Result<Vec<$crate::SealedBlob>> {
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                let mut out = Vec::new();
                for (place, (table, column)) in $crate::SealedPlace::ALL
                    .into_iter()
                    .filter_map(|p| p.by_id().map(|at| (p, at)))
                {
                    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL"
                    )))
                    .fetch_all(&mut *tx)
                    .await?;
                    out.extend(rows.into_iter().map(|(id, blob)| $crate::SealedBlob { place, id, blob }));
                }
                let rows: Vec<(String, String, Vec<u8>)> =
                    sqlx::query_as("SELECT workspace_id, provider, credentials FROM integrations")
                        .fetch_all(&mut *tx)
                        .await?;
                out.extend(rows.into_iter().map(|(ws, provider, blob)| $crate::SealedBlob {
                    place: $crate::SealedPlace::Integration,
                    id: format!("{ws}\n{provider}"),
                    blob,
                }));
                tx.commit().await?;
                Ok(out)
            }

            async fn replace_sealed(&self, blobs: &[$crate::SealedBlob]) -> $crate::Result<()> {
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                for b in blobs {
                    match b.place.by_id() {
                        Some((table, column)) => {
                            sqlx::query(sqlx::AssertSqlSafe(format!(
                                "UPDATE {table} SET {column} = $1 WHERE id = $2"
                            )))
                            .bind(&b.blob)
                            .bind(&b.id)
                            .execute(&mut *tx)
                            .await?;
                        }
                        None => {
                            let (ws, provider) = b.id.split_once('\n').unwrap_or((&b.id, ""));
                            sqlx::query(
                                "UPDATE integrations SET credentials = $1 WHERE workspace_id = $2 AND provider = $3",
                            )
                            .bind(&b.blob)
                            .bind(ws)
                            .bind(provider)
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                }
                tx.commit().await?;
                Ok(())
            }

            async fn create_user(
                &self,
                u: &$crate::NewUser,
            ) -> $crate::Result<Option<$crate::User>> {
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                let now = covalynce_domain::now_millis();
                let done = sqlx::query(
                    "INSERT INTO users (id, email, name, password_hash, github_id, github_login, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                )
                .bind(u.id.to_string())
                .bind(u.email.as_str())
                .bind(&u.name)
                .bind(u.password_hash.as_deref())
                .bind(u.github_id)
                .bind(u.github_login.as_deref())
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok((done == 1).then(|| $crate::User {
                    id: u.id,
                    email: u.email.clone(),
                    name: u.name.clone(),
                    password_hash: u.password_hash.clone(),
                    github_id: u.github_id,
                    github_login: u.github_login.clone(),
                    created_at: now,
                }))
            }

            async fn has_users(&self) -> $crate::Result<bool> {
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)")
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(any)
            }

            async fn user(
                &self,
                id: covalynce_domain::UserId,
            ) -> $crate::Result<Option<$crate::User>> {
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                let row: Option<$crate::accounts::UserRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    $crate::accounts::user_cols!(),
                    " FROM users WHERE id = $1"
                ))
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn user_by_email(
                &self,
                email: &covalynce_domain::Email,
            ) -> $crate::Result<Option<$crate::User>> {
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                let row: Option<$crate::accounts::UserRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    $crate::accounts::user_cols!(),
                    " FROM users WHERE email = $1"
                ))
                .bind(email.as_str())
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn user_by_github(
                &self,
                github_id: i64,
            ) -> $crate::Result<Option<$crate::User>> {
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                let row: Option<$crate::accounts::UserRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    $crate::accounts::user_cols!(),
                    " FROM users WHERE github_id = $1"
                ))
                .bind(github_id)
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn link_github(
                &self,
                id: covalynce_domain::UserId,
                github_id: i64,
                login: &str,
            ) -> $crate::Result<()> {
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                sqlx::query("UPDATE users SET github_id = $1, github_login = $2 WHERE id = $3")
                    .bind(github_id)
                    .bind(login)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn delete_user(
                &self,
                id: covalynce_domain::UserId,
                with_workspaces: &[covalynce_domain::WorkspaceId],
            ) -> $crate::Result<()> {
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                for ws in with_workspaces {
                    sqlx::query("DELETE FROM workspaces WHERE id = $1")
                        .bind(ws.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
                // What they did in workspaces that live on stays in those audit logs,
                // without their name; their own account events go with them.
                sqlx::query("DELETE FROM audit_log WHERE user_id = $1 AND workspace_id IS NULL")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE audit_log SET actor = 'deleted-user', ip = NULL WHERE user_id = $1")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM users WHERE id = $1")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                // The freed pages leave the files too (`unit`).
                self.pools.erased().await?;
                Ok(())
            }

            async fn create_workspace(
                &self,
                slug: &covalynce_domain::WorkspaceSlug,
                owner: covalynce_domain::UserId,
            ) -> $crate::Result<Option<$crate::Workspace>> {
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                let id = covalynce_domain::WorkspaceId::new();
                let now = covalynce_domain::now_millis();
                let done = sqlx::query(
                    "INSERT INTO workspaces (id, slug, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (slug) DO NOTHING",
                )
                .bind(id.to_string())
                .bind(slug.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if done == 0 {
                    return Ok(None);
                }
                sqlx::query(
                    "INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ($1, $2, 'owner', $3)",
                )
                .bind(id.to_string())
                .bind(owner.to_string())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let row: $crate::sql::WorkspaceRow = sqlx::query_as(concat!(
                    "SELECT ",
                    $crate::accounts::workspace_cols!(),
                    " FROM workspaces w WHERE w.id = $1"
                ))
                .bind(id.to_string())
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(Some(row.try_into()?))
            }

            async fn workspace_by_slug(
                &self,
                slug: &covalynce_domain::WorkspaceSlug,
            ) -> $crate::Result<Option<$crate::Workspace>> {
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                let row: Option<$crate::sql::WorkspaceRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    $crate::accounts::workspace_cols!(),
                    " FROM workspaces w WHERE w.slug = $1"
                ))
                .bind(slug.as_str())
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn delete_workspace(
                &self,
                id: covalynce_domain::WorkspaceId,
            ) -> $crate::Result<()> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(id)).await?;
                sqlx::query("DELETE FROM workspaces WHERE id = $1")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                // The freed pages leave the files too (`unit`).
                self.pools.erased().await?;
                Ok(())
            }

            async fn memberships(
                &self,
                user: covalynce_domain::UserId,
            ) -> $crate::Result<Vec<$crate::Membership>> {
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                #[derive(sqlx::FromRow)]
                struct Row {
                    #[sqlx(flatten)]
                    w: $crate::sql::WorkspaceRow,
                    role: String,
                }
                let rows: Vec<Row> = sqlx::query_as(concat!(
                    "SELECT ",
                    $crate::accounts::workspace_cols!(),
                    ", m.role FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
                     WHERE m.user_id = $1 ORDER BY m.created_at, w.slug"
                ))
                .bind(user.to_string())
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                rows.into_iter()
                    .map(|r| {
                        Ok($crate::Membership {
                            role: $crate::accounts::parse_role(&r.role)?,
                            workspace: r.w.try_into()?,
                        })
                    })
                    .collect()
            }

            async fn member_role(
                &self,
                ws: covalynce_domain::WorkspaceId,
                user: covalynce_domain::UserId,
            ) -> $crate::Result<Option<covalynce_domain::Role>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let role: Option<String> = sqlx::query_scalar(
                    "SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2",
                )
                .bind(ws.to_string())
                .bind(user.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                role.as_deref().map($crate::accounts::parse_role).transpose()
            }

            async fn members(
                &self,
                ws: covalynce_domain::WorkspaceId,
            ) -> $crate::Result<Vec<$crate::Member>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
                    "SELECT u.id, u.email, u.name, m.role, m.created_at
                     FROM memberships m JOIN users u ON u.id = m.user_id
                     WHERE m.workspace_id = $1 ORDER BY m.created_at, u.email",
                )
                .bind(ws.to_string())
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                rows.into_iter()
                    .map(|(id, email, name, role, at)| {
                        Ok($crate::Member {
                            user_id: $crate::sql::parse_id(&id, covalynce_domain::UserId::parse)?,
                            email: covalynce_domain::Email::parse(&email)
                                .map_err(|e| $crate::StoreError::Corrupt(e.0))?,
                            name,
                            role: $crate::accounts::parse_role(&role)?,
                            joined_at: at,
                        })
                    })
                    .collect()
            }

            async fn set_member_role(
                &self,
                ws: covalynce_domain::WorkspaceId,
                user: covalynce_domain::UserId,
                role: covalynce_domain::Role,
            ) -> $crate::Result<$crate::MemberChange> {
                self.change_member(ws, user, Some(role)).await
            }

            async fn remove_member(
                &self,
                ws: covalynce_domain::WorkspaceId,
                user: covalynce_domain::UserId,
            ) -> $crate::Result<$crate::MemberChange> {
                self.change_member(ws, user, None).await
            }

            async fn create_session(&self, s: &$crate::NewSession) -> $crate::Result<()> {
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                let now = covalynce_domain::now_millis();
                sqlx::query(
                    "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent)
                     VALUES ($1, $2, $3, $4, $4, $5, $6, $7)",
                )
                .bind(&s.id_hash)
                .bind(s.user_id.to_string())
                .bind(&s.csrf_token)
                .bind(now)
                .bind(s.expires_at)
                .bind(s.ip.as_deref())
                .bind(s.user_agent.as_deref())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn session(
                &self,
                id_hash: &str,
                now: covalynce_domain::UnixMillis,
            ) -> $crate::Result<Option<$crate::SessionRecord>> {
                #[derive(sqlx::FromRow)]
                struct Row {
                    #[sqlx(flatten)]
                    u: $crate::accounts::UserRow,
                    csrf_token: String,
                    s_created_at: i64,
                    last_seen_at: i64,
                    expires_at: i64,
                }
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                let row: Option<Row> = sqlx::query_as(
                    "SELECT u.id, u.email, u.name, u.password_hash, u.github_id, u.github_login, u.created_at,
                            s.csrf_token, s.created_at AS s_created_at, s.last_seen_at, s.expires_at
                     FROM sessions s JOIN users u ON u.id = s.user_id
                     WHERE s.id_hash = $1 AND s.expires_at > $2",
                )
                .bind(id_hash)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.map(|r| {
                    Ok($crate::SessionRecord {
                        id_hash: id_hash.to_owned(),
                        user: r.u.try_into()?,
                        csrf_token: r.csrf_token,
                        created_at: r.s_created_at,
                        last_seen_at: r.last_seen_at,
                        expires_at: r.expires_at,
                    })
                })
                .transpose()
            }

            async fn touch_session(
                &self,
                id_hash: &str,
                now: covalynce_domain::UnixMillis,
                expires_at: covalynce_domain::UnixMillis,
            ) -> $crate::Result<()> {
                let mut tx = self.pools.relaxed($crate::unit::Scope::System).await?;
                sqlx::query("UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE id_hash = $3")
                    .bind(now)
                    .bind(expires_at)
                    .bind(id_hash)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn delete_session(&self, id_hash: &str) -> $crate::Result<()> {
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                    .bind(id_hash)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn create_login_link(
                &self,
                id_hash: &str,
                user: covalynce_domain::UserId,
                expires_at: covalynce_domain::UnixMillis,
            ) -> $crate::Result<()> {
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                // One row per person (a unique key): the newest link replaces the last
                // in one statement, so two made at once still leave one.
                sqlx::query(
                    "INSERT INTO login_links (id_hash, user_id, expires_at) VALUES ($1, $2, $3)
                     ON CONFLICT (user_id) DO UPDATE
                     SET id_hash = excluded.id_hash, expires_at = excluded.expires_at",
                )
                .bind(id_hash)
                .bind(user.to_string())
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
                // Links nobody used go here, not when one is taken: taking must not
                // write for a guess.
                sqlx::query("DELETE FROM login_links WHERE expires_at <= $1")
                    .bind(covalynce_domain::now_millis())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn take_login_link(
                &self,
                id_hash: &str,
                now: covalynce_domain::UnixMillis,
            ) -> $crate::Result<Option<covalynce_domain::UserId>> {
                // A guess (no such link) costs a read, not a write: strangers cannot keep
                // the one SQLite writer busy by asking for links that do not exist.
                let mut read = self.pools.read($crate::unit::Scope::System).await?;
                let known: Option<(String,)> =
                    sqlx::query_as("SELECT id_hash FROM login_links WHERE id_hash = $1")
                        .bind(id_hash)
                        .fetch_optional(&mut *read)
                        .await?;
                read.commit().await?;
                if known.is_none() {
                    return Ok(None);
                }
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                // Deleted in the same statement that reads it: a link is used at most once.
                let row: Option<(String, i64)> = sqlx::query_as(
                    "DELETE FROM login_links WHERE id_hash = $1 RETURNING user_id, expires_at",
                )
                .bind(id_hash)
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.filter(|(_, until)| *until > now)
                    .map(|(id, _)| $crate::sql::parse_id(&id, covalynce_domain::UserId::parse))
                    .transpose()
            }

            async fn delete_user_sessions(
                &self,
                user: covalynce_domain::UserId,
            ) -> $crate::Result<u64> {
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                let ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(user.to_string())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(ended)
            }

            async fn create_invitation(&self, i: &$crate::NewInvitation) -> $crate::Result<()> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(i.workspace_id)).await?;
                sqlx::query(
                    "INSERT INTO invitations (id, workspace_id, role, token_hash, created_by, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(i.id.to_string())
                .bind(i.workspace_id.to_string())
                .bind(i.role.as_str())
                .bind(&i.token_hash)
                .bind(i.created_by.map(|u| u.to_string()))
                .bind(covalynce_domain::now_millis())
                .bind(i.expires_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn invitations(
                &self,
                ws: covalynce_domain::WorkspaceId,
            ) -> $crate::Result<Vec<$crate::InvitationRecord>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let rows: Vec<(String, String, i64, i64, Option<i64>, Option<String>)> =
                    sqlx::query_as(
                        "SELECT id, role, created_at, expires_at, accepted_at, accepted_by
                         FROM invitations WHERE workspace_id = $1 ORDER BY id DESC",
                    )
                    .bind(ws.to_string())
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                rows.into_iter()
                    .map(|(id, role, created_at, expires_at, accepted_at, accepted_by)| {
                        Ok($crate::InvitationRecord {
                            id: $crate::sql::parse_id(&id, covalynce_domain::InvitationId::parse)?,
                            role: $crate::accounts::parse_role(&role)?,
                            created_at,
                            expires_at,
                            accepted_at,
                            accepted_by: accepted_by
                                .as_deref()
                                .map(|u| $crate::sql::parse_id(u, covalynce_domain::UserId::parse))
                                .transpose()?,
                        })
                    })
                    .collect()
            }

            async fn revoke_invitation(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::InvitationId,
            ) -> $crate::Result<bool> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                let done = sqlx::query(
                    "DELETE FROM invitations WHERE workspace_id = $1 AND id = $2 AND accepted_at IS NULL",
                )
                .bind(ws.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                tx.commit().await?;
                Ok(done)
            }

            async fn accept_invitation(
                &self,
                token_hash: &str,
                user: covalynce_domain::UserId,
                now: covalynce_domain::UnixMillis,
            ) -> $crate::Result<$crate::Acceptance> {
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                // Marking it used and reading it in one statement: two people racing for
                // the same link cannot both get in.
                let used: Option<(String, String)> = sqlx::query_as(
                    "UPDATE invitations SET accepted_at = $1, accepted_by = $2
                     WHERE token_hash = $3 AND accepted_at IS NULL AND expires_at > $1
                     RETURNING workspace_id, role",
                )
                .bind(now)
                .bind(user.to_string())
                .bind(token_hash)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((ws, role)) = used else {
                    return Ok($crate::Acceptance::Invalid);
                };
                let role = $crate::accounts::parse_role(&role)?;
                let current: Option<String> = sqlx::query_scalar(
                    "SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2",
                )
                .bind(&ws)
                .bind(user.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                let current = current.as_deref().map($crate::accounts::parse_role).transpose()?;
                if current.is_none() {
                    // A new member takes a seat: the plan must have one. (The invitation
                    // itself held one while open, so this only refuses after a downgrade.)
                    let (plan, seats, members): (String, i64, i64) = sqlx::query_as(
                        "SELECT plan, seat_limit,
                                (SELECT COUNT(*) FROM memberships WHERE workspace_id = $1)
                         FROM workspaces WHERE id = $1",
                    )
                    .bind(&ws)
                    .fetch_one(&mut *tx)
                    .await?;
                    if members >= seats {
                        tx.rollback().await?;
                        return Ok($crate::Acceptance::Full { plan, seats });
                    }
                }
                let role = current.map_or(role, |c| c.max(role));
                sqlx::query(
                    "INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = excluded.role",
                )
                .bind(&ws)
                .bind(user.to_string())
                .bind(role.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok($crate::Acceptance::Joined {
                    workspace: $crate::sql::parse_id(&ws, covalynce_domain::WorkspaceId::parse)?,
                    role,
                })
            }

            async fn token_auth(
                &self,
                token_hash: &str,
            ) -> $crate::Result<Option<$crate::TokenAuth>> {
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                #[derive(sqlx::FromRow)]
                struct Row {
                    #[sqlx(flatten)]
                    w: $crate::sql::WorkspaceRow,
                    token_id: String,
                    role: String,
                    user_id: Option<String>,
                    last_used_at: Option<i64>,
                }
                let row: Option<Row> = sqlx::query_as(concat!(
                    "SELECT ",
                    $crate::accounts::workspace_cols!(),
                    ", t.id AS token_id, t.role, t.user_id, t.last_used_at
                     FROM api_tokens t JOIN workspaces w ON w.id = t.workspace_id
                     WHERE t.token_hash = $1 AND t.revoked_at IS NULL"
                ))
                .bind(token_hash)
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.map(|r| {
                    Ok($crate::TokenAuth {
                        token_id: $crate::sql::parse_id(&r.token_id, covalynce_domain::TokenId::parse)?,
                        role: $crate::accounts::parse_role(&r.role)?,
                        user_id: r
                            .user_id
                            .as_deref()
                            .map(|u| $crate::sql::parse_id(u, covalynce_domain::UserId::parse))
                            .transpose()?,
                        last_used_at: r.last_used_at,
                        workspace: r.w.try_into()?,
                    })
                })
                .transpose()
            }

            async fn touch_token(
                &self,
                id: covalynce_domain::TokenId,
                now: covalynce_domain::UnixMillis,
            ) -> $crate::Result<()> {
                let mut tx = self.pools.relaxed($crate::unit::Scope::System).await?;
                sqlx::query(
                    "UPDATE api_tokens SET last_used_at = $1
                     WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1 - 60000)",
                )
                .bind(now)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn tokens(
                &self,
                ws: covalynce_domain::WorkspaceId,
            ) -> $crate::Result<Vec<$crate::TokenRecord>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                #[allow(clippy::type_complexity)]
                let rows: Vec<(String, String, String, String, Option<String>, i64, Option<i64>, Option<i64>)> =
                    sqlx::query_as(
                        "SELECT id, name, prefix, role, user_id, created_at, last_used_at, revoked_at
                         FROM api_tokens WHERE workspace_id = $1 ORDER BY id DESC",
                    )
                    .bind(ws.to_string())
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                rows.into_iter()
                    .map(|(id, name, prefix, role, user_id, created_at, last_used_at, revoked_at)| {
                        Ok($crate::TokenRecord {
                            id: $crate::sql::parse_id(&id, covalynce_domain::TokenId::parse)?,
                            name,
                            prefix,
                            role: $crate::accounts::parse_role(&role)?,
                            user_id: user_id
                                .as_deref()
                                .map(|u| $crate::sql::parse_id(u, covalynce_domain::UserId::parse))
                                .transpose()?,
                            created_at,
                            last_used_at,
                            revoked_at,
                        })
                    })
                    .collect()
            }

            async fn revoke_token(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::TokenId,
            ) -> $crate::Result<bool> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                let done = sqlx::query(
                    "UPDATE api_tokens SET revoked_at = $1
                     WHERE workspace_id = $2 AND id = $3 AND revoked_at IS NULL",
                )
                .bind(covalynce_domain::now_millis())
                .bind(ws.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                tx.commit().await?;
                Ok(done)
            }

            async fn audit(&self, e: &$crate::NewAudit) -> $crate::Result<()> {
                // The system scope: the entry must name its person even when they have just
                // left the workspace (a workspace's scope sees only its members in `users`),
                // or erasing that person later would miss it. The row's workspace is the
                // caller's own value either way, and must exist (below).
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                sqlx::query(
                    // A change that deleted its own workspace or user is not recorded
                    // against rows that no longer exist.
                    "INSERT INTO audit_log (id, workspace_id, user_id, actor, action, target, detail, ip, created_at)
                     SELECT $1, $2, (SELECT id FROM users WHERE id = $3), $4, $5, $6, $7, $8, $9
                     WHERE $2 IS NULL OR EXISTS (SELECT 1 FROM workspaces WHERE id = $2)",
                )
                .bind(covalynce_domain::AuditId::new().to_string())
                .bind(e.workspace_id.map(|w| w.to_string()))
                .bind(e.user_id.map(|u| u.to_string()))
                .bind(&e.actor)
                .bind(&e.action)
                .bind(e.target.as_deref())
                .bind(e.detail.to_string())
                .bind(e.ip.as_deref())
                .bind(covalynce_domain::now_millis())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn audit_log(
                &self,
                ws: covalynce_domain::WorkspaceId,
                before: Option<covalynce_domain::AuditId>,
                limit: i64,
            ) -> $crate::Result<Vec<$crate::AuditRecord>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let rows: Vec<$crate::accounts::AuditRow> = sqlx::query_as(
                    "SELECT id, user_id, actor, action, target, detail, ip, created_at FROM audit_log
                     WHERE workspace_id = $1 AND ($2 IS NULL OR id < $2)
                     ORDER BY id DESC LIMIT $3",
                )
                .bind(ws.to_string())
                .bind(before.map(|b| b.to_string()))
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn user_audit_log(
                &self,
                user: covalynce_domain::UserId,
                limit: i64,
            ) -> $crate::Result<Vec<$crate::AuditRecord>> {
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                let rows: Vec<$crate::accounts::AuditRow> = sqlx::query_as(
                    "SELECT id, user_id, actor, action, target, detail, ip, created_at FROM audit_log
                     WHERE user_id = $1 AND workspace_id IS NULL ORDER BY id DESC LIMIT $2",
                )
                .bind(user.to_string())
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }
        }

        impl $store {
            /// Changes (`Some`) or removes (`None`) a member, refusing to leave the
            /// workspace without an owner. One transaction on the writer: two owners
            /// demoting each other at once cannot both succeed.
            async fn change_member(
                &self,
                ws: covalynce_domain::WorkspaceId,
                user: covalynce_domain::UserId,
                role: Option<covalynce_domain::Role>,
            ) -> $crate::Result<$crate::MemberChange> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                // On PostgreSQL, lock the workspace's memberships so concurrent changes
                // queue; SQLite's single writer already serialises them.
                let current: Option<String> = sqlx::query_scalar(concat!(
                    "SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2",
                    $lock
                ))
                .bind(ws.to_string())
                .bind(user.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                let Some(current) = current else {
                    return Ok($crate::MemberChange::NotFound);
                };
                let stays_owner = role == Some(covalynce_domain::Role::Owner);
                if current == "owner" && !stays_owner {
                    let owners: i64 = sqlx::query_scalar(concat!(
                        "SELECT COUNT(*) FROM (SELECT user_id FROM memberships
                         WHERE workspace_id = $1 AND role = 'owner'",
                        $lock,
                        ") o"
                    ))
                    .bind(ws.to_string())
                    .fetch_one(&mut *tx)
                    .await?;
                    if owners <= 1 {
                        return Ok($crate::MemberChange::LastOwner);
                    }
                }
                match role {
                    Some(role) => {
                        sqlx::query(
                            "UPDATE memberships SET role = $1 WHERE workspace_id = $2 AND user_id = $3",
                        )
                        .bind(role.as_str())
                        .bind(ws.to_string())
                        .bind(user.to_string())
                        .execute(&mut *tx)
                        .await?;
                    }
                    None => {
                        sqlx::query("DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2")
                            .bind(ws.to_string())
                            .bind(user.to_string())
                            .execute(&mut *tx)
                            .await?;
                        // Their tokens for this workspace stop working with them.
                        sqlx::query(
                            "UPDATE api_tokens SET revoked_at = $1
                             WHERE workspace_id = $2 AND user_id = $3 AND revoked_at IS NULL",
                        )
                        .bind(covalynce_domain::now_millis())
                        .bind(ws.to_string())
                        .bind(user.to_string())
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                tx.commit().await?;
                Ok($crate::MemberChange::Done)
            }
        }
    };
}
pub(crate) use impl_accounts;

#[cfg(test)]
mod cols_tests {
    #[test]
    fn the_joined_workspace_columns_are_the_workspace_columns() {
        assert_eq!(
            workspace_cols!().replace("w.", ""),
            crate::sql::WORKSPACE_COLS
        );
    }
}
