//! The public changelog: a workspace's choice to show one (off by default, and which
//! sources it shows) and the entries its changelog channels published, one per version.
//!
//! An entry is written by the publisher inside its own unit of work, keyed by the
//! workspace and the version: a publication sent again after a crash writes the same row
//! again (nothing doubles), and a later card for the same version from the same source (a
//! corrected release) replaces the text while the entry keeps its first publication time.
//! Another source's release of the same version is refused, never written over. Taking an entry
//! down keeps the row (withdrawn) so the feeds' `updated` times stay honest.

use crate::Result;
use async_trait::async_trait;
use covalynce_domain::{CardId, PublicationId, SourceId, UnixMillis, WorkspaceId, WorkspaceSlug};

/// Whether the workspace shows a public changelog, and which sources' releases it shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangelogSetting {
    /// Since when it is public; `None`: off (the default).
    pub public_since: Option<UnixMillis>,
    /// The sources it shows; empty: every source.
    pub sources: Vec<SourceId>,
    /// When the setting last changed (a feed's `updated` moves with it).
    pub updated_at: UnixMillis,
}

impl ChangelogSetting {
    pub fn is_public(&self) -> bool {
        self.public_since.is_some()
    }
}

/// Source ids as the `sources` column and the [`SHOWN`] filter hold them: space-separated.
pub(crate) fn sources_text(sources: &[SourceId]) -> String {
    sources
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a changelog channel writes for one approved release card.
#[derive(Debug, Clone, PartialEq)]
pub struct NewChangelogEntry {
    pub workspace_id: WorkspaceId,
    /// The release's tag as written (`v2.3.0`, `0.0.1`).
    pub version: String,
    pub card_id: CardId,
    pub publication_id: PublicationId,
    pub source_id: Option<SourceId>,
    /// The project's own name.
    pub project: String,
    pub title: String,
    /// The approved release notes (markdown; rendered with any HTML in it escaped).
    pub body: String,
    /// The release's page (GitHub's), when there is one.
    pub release_url: Option<String>,
    pub at: UnixMillis,
}

/// A published (not withdrawn) entry, as the public pages show it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangelogEntry {
    pub version: String,
    pub project: String,
    pub title: String,
    pub body: String,
    pub release_url: Option<String>,
    pub published_at: UnixMillis,
    pub updated_at: UnixMillis,
}

/// One page of a public changelog.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangelogPage {
    /// Newest first.
    pub entries: Vec<ChangelogEntry>,
    /// Live entries in all (for the page count).
    pub total: i64,
    /// The latest change to anything the changelog shows: an entry published, replaced or
    /// taken down, or the setting changed (for Last-Modified and ETag).
    pub modified: UnixMillis,
}

#[async_trait]
pub trait ChangelogStore {
    /// The workspace's setting (off when never set).
    async fn changelog_setting(&self, ws: WorkspaceId) -> Result<ChangelogSetting>;
    async fn set_changelog_setting(
        &self,
        ws: WorkspaceId,
        public: bool,
        sources: &[SourceId],
        at: UnixMillis,
    ) -> Result<ChangelogSetting>;
    /// The workspace behind a public changelog address: only when it is public.
    async fn public_changelog(
        &self,
        slug: &WorkspaceSlug,
    ) -> Result<Option<(WorkspaceId, ChangelogSetting)>>;
    /// Writes (or, for the same version from the same source, replaces) an entry; a
    /// withdrawn one is shown again. False when the version is another source's live entry
    /// (two repositories tagged `v1.0.0`): nothing is written.
    async fn put_changelog_entry(&self, entry: &NewChangelogEntry) -> Result<bool>;
    /// Takes an entry down; false when there is no live entry for that version.
    async fn withdraw_changelog_entry(
        &self,
        ws: WorkspaceId,
        version: &str,
        at: UnixMillis,
    ) -> Result<bool>;
    /// Live entries of the sources `setting` shows, newest first.
    async fn changelog_page(
        &self,
        ws: WorkspaceId,
        setting: &ChangelogSetting,
        offset: i64,
        limit: i64,
    ) -> Result<ChangelogPage>;
    /// One live entry of the sources `setting` shows.
    async fn changelog_entry(
        &self,
        ws: WorkspaceId,
        setting: &ChangelogSetting,
        version: &str,
    ) -> Result<Option<ChangelogEntry>>;
}

#[derive(sqlx::FromRow)]
pub(crate) struct SettingRow {
    pub public_since: Option<i64>,
    pub sources: String,
    pub updated_at: i64,
}

impl TryFrom<SettingRow> for ChangelogSetting {
    type Error = crate::StoreError;
    fn try_from(r: SettingRow) -> Result<Self> {
        let sources = r
            .sources
            .split_whitespace()
            .map(|s| {
                SourceId::parse(s)
                    .ok_or_else(|| crate::StoreError::Corrupt(format!("changelog source {s:?}")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ChangelogSetting {
            public_since: r.public_since,
            sources,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EntryRow {
    pub version: String,
    pub project: String,
    pub title: String,
    pub body: String,
    pub release_url: Option<String>,
    pub published_at: i64,
    pub updated_at: i64,
}

impl From<EntryRow> for ChangelogEntry {
    fn from(r: EntryRow) -> Self {
        ChangelogEntry {
            version: r.version,
            project: r.project,
            title: r.title,
            body: r.body,
            release_url: r.release_url,
            published_at: r.published_at,
            updated_at: r.updated_at,
        }
    }
}

pub(crate) const ENTRY_COLS: &str =
    "version, project, title, body, release_url, published_at, updated_at";

/// Entries of the sources a setting shows: `$2` is their ids, space-separated, or empty
/// for every source. The same text on both backends.
pub(crate) const SHOWN: &str =
    "($2 = '' OR (' ' || $2 || ' ') LIKE ('% ' || COALESCE(source_id, '') || ' %'))";

/// One implementation for both pools, like `impl_store!`.
macro_rules! impl_changelog {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::changelog::ChangelogStore for $store {
            async fn changelog_setting(
                &self,
                ws: covalynce_domain::WorkspaceId,
            ) -> $crate::Result<$crate::changelog::ChangelogSetting> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let row: Option<$crate::changelog::SettingRow> = sqlx::query_as(
                    "SELECT public_since, sources, updated_at FROM changelogs WHERE workspace_id = $1",
                )
                .bind(ws.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.map(TryInto::try_into)
                    .transpose()
                    .map(Option::unwrap_or_default)
            }

            async fn set_changelog_setting(
                &self,
                ws: covalynce_domain::WorkspaceId,
                public: bool,
                sources: &[covalynce_domain::SourceId],
                at: covalynce_domain::UnixMillis,
            ) -> $crate::Result<$crate::changelog::ChangelogSetting> {
                let text = $crate::changelog::sources_text(sources);
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                // Turning it on again keeps the first time it went public.
                sqlx::query(
                    "INSERT INTO changelogs (workspace_id, public_since, sources, updated_at)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (workspace_id) DO UPDATE SET
                        public_since = CASE WHEN $2 IS NULL THEN NULL
                                            ELSE COALESCE(changelogs.public_since, $2) END,
                        sources = $3, updated_at = $4",
                )
                .bind(ws.to_string())
                .bind(public.then_some(at))
                .bind(&text)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                let row: $crate::changelog::SettingRow = sqlx::query_as(
                    "SELECT public_since, sources, updated_at FROM changelogs WHERE workspace_id = $1",
                )
                .bind(ws.to_string())
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                row.try_into()
            }

            async fn public_changelog(
                &self,
                slug: &covalynce_domain::WorkspaceSlug,
            ) -> $crate::Result<
                Option<(
                    covalynce_domain::WorkspaceId,
                    $crate::changelog::ChangelogSetting,
                )>,
            > {
                // Who is behind an address is the system's to look up; what it shows is
                // then read in that workspace's own scope.
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                let id: Option<String> = sqlx::query_scalar(
                    "SELECT w.id FROM workspaces w JOIN changelogs c ON c.workspace_id = w.id
                     WHERE w.slug = $1 AND c.public_since IS NOT NULL",
                )
                .bind(slug.as_str())
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                let Some(id) = id else { return Ok(None) };
                let ws = $crate::sql::parse_id(&id, covalynce_domain::WorkspaceId::parse)?;
                let setting = self.changelog_setting(ws).await?;
                Ok(setting.is_public().then_some((ws, setting)))
            }

            async fn put_changelog_entry(
                &self,
                e: &$crate::changelog::NewChangelogEntry,
            ) -> $crate::Result<bool> {
                let mut tx = self
                    .pools
                    .write($crate::unit::Scope::Workspace(e.workspace_id))
                    .await?;
                let done = sqlx::query(
                    "INSERT INTO changelog_entries (workspace_id, version, card_id, publication_id,
                        source_id, project, title, body, release_url, published_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
                     ON CONFLICT (workspace_id, version) DO UPDATE SET
                        card_id = $3, publication_id = $4, source_id = $5, project = $6,
                        title = $7, body = $8, release_url = $9, updated_at = $10,
                        withdrawn_at = NULL
                     WHERE changelog_entries.source_id IS NOT DISTINCT FROM excluded.source_id
                        OR changelog_entries.withdrawn_at IS NOT NULL",
                )
                .bind(e.workspace_id.to_string())
                .bind(&e.version)
                .bind(e.card_id.to_string())
                .bind(e.publication_id.to_string())
                .bind(e.source_id.map(|s| s.to_string()))
                .bind(&e.project)
                .bind(&e.title)
                .bind(&e.body)
                .bind(e.release_url.as_deref())
                .bind(e.at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(done == 1)
            }

            async fn withdraw_changelog_entry(
                &self,
                ws: covalynce_domain::WorkspaceId,
                version: &str,
                at: covalynce_domain::UnixMillis,
            ) -> $crate::Result<bool> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                let done = sqlx::query(
                    "UPDATE changelog_entries SET withdrawn_at = $3, updated_at = $3
                     WHERE workspace_id = $1 AND version = $2 AND withdrawn_at IS NULL",
                )
                .bind(ws.to_string())
                .bind(version)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(done == 1)
            }

            async fn changelog_page(
                &self,
                ws: covalynce_domain::WorkspaceId,
                setting: &$crate::changelog::ChangelogSetting,
                offset: i64,
                limit: i64,
            ) -> $crate::Result<$crate::changelog::ChangelogPage> {
                let shown = $crate::changelog::sources_text(&setting.sources);
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let rows: Vec<$crate::changelog::EntryRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM changelog_entries
                         WHERE workspace_id = $1 AND withdrawn_at IS NULL AND {}
                         ORDER BY published_at DESC, version DESC LIMIT $3 OFFSET $4",
                        $crate::changelog::ENTRY_COLS,
                        $crate::changelog::SHOWN
                    )))
                    .bind(ws.to_string())
                    .bind(&shown)
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&mut *tx)
                    .await?;
                // Withdrawn entries count toward `modified`: a take-down changes the feed.
                let (total, modified): (i64, Option<i64>) =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT COUNT(*) FILTER (WHERE withdrawn_at IS NULL), MAX(updated_at)
                         FROM changelog_entries WHERE workspace_id = $1 AND {}",
                        $crate::changelog::SHOWN
                    )))
                    .bind(ws.to_string())
                    .bind(&shown)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok($crate::changelog::ChangelogPage {
                    entries: rows.into_iter().map(Into::into).collect(),
                    total,
                    modified: modified.unwrap_or(0).max(setting.updated_at),
                })
            }

            async fn changelog_entry(
                &self,
                ws: covalynce_domain::WorkspaceId,
                setting: &$crate::changelog::ChangelogSetting,
                version: &str,
            ) -> $crate::Result<Option<$crate::changelog::ChangelogEntry>> {
                let shown = $crate::changelog::sources_text(&setting.sources);
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let row: Option<$crate::changelog::EntryRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM changelog_entries
                         WHERE workspace_id = $1 AND withdrawn_at IS NULL AND {} AND version = $3",
                        $crate::changelog::ENTRY_COLS,
                        $crate::changelog::SHOWN
                    )))
                    .bind(ws.to_string())
                    .bind(&shown)
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(row.map(Into::into))
            }
        }
    };
}
pub(crate) use impl_changelog;
