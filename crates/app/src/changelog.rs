//! The public changelog: an owner turns it on (off by default) and picks the sources it
//! shows; changelog channels put approved release cards on it; an editor can take an entry
//! down. Anyone may read a public one by the workspace's slug — and nothing else of the
//! workspace: these reads return entries only, and an unknown, private or switched-off
//! changelog is one answer, `None`.

pub mod formats;

use crate::audit::Action;
use crate::{Acting, App, AppError, Editor, Owner, Viewer};
use covalynce_domain::{SourceId, WorkspaceSlug, now_millis};
use covalynce_storage::{ChangelogEntry, ChangelogPage, ChangelogSetting};

/// Entries per page of the public changelog.
pub const PER_PAGE: i64 = 20;
/// Entries in each feed: the newest, as feed readers expect.
pub const IN_FEED: i64 = 50;
/// Pages past this are not served (a crawler's `?page=999999` costs nothing).
const MAX_PAGE: i64 = 10_000;

/// Where an entry is seen on this server: `/changelog/{workspace}/{version}`.
pub fn entry_path(slug: &WorkspaceSlug, version: &str) -> String {
    format!("/changelog/{}/{version}", slug.as_str())
}

/// A public changelog, as its pages and feeds read it.
#[derive(Debug, Clone)]
pub struct Public {
    pub slug: WorkspaceSlug,
    /// What the page is called: the project's name when every entry is one project's,
    /// else the workspace's.
    pub title: String,
    pub page: ChangelogPage,
    /// 1-based.
    pub number: i64,
    pub pages: i64,
}

/// The workspace's changelog setting, with the sources it may pick from.
#[derive(Debug, Clone)]
pub struct Setting {
    pub setting: ChangelogSetting,
    /// (id, name) of every source of the workspace.
    pub sources: Vec<(SourceId, String)>,
    /// The newest entries on it (public or not, of every source): what can be taken down.
    pub entries: Vec<ChangelogEntry>,
}

impl App {
    pub async fn changelog_setting(&self, who: &Acting<Viewer>) -> Result<Setting, AppError> {
        let ws = who.workspace().id;
        let setting = self.store().changelog_setting(ws).await?;
        let sources = self
            .store()
            .list_sources(ws)
            .await?
            .into_iter()
            .map(|s| {
                let name = s
                    .repo
                    .clone()
                    .or(s.path.clone())
                    .unwrap_or_else(|| s.id.to_string());
                (s.id, name)
            })
            .collect();
        let entries = self
            .store()
            .changelog_page(ws, &ChangelogSetting::default(), 0, PER_PAGE)
            .await?
            .entries;
        Ok(Setting {
            setting,
            sources,
            entries,
        })
    }

    /// Turns the public changelog on or off and picks its sources (none: all of them).
    pub async fn set_changelog(
        &self,
        who: &Acting<Owner>,
        public: bool,
        sources: &[String],
    ) -> Result<ChangelogSetting, AppError> {
        let ws = who.workspace().id;
        let known = self.store().list_sources(ws).await?;
        let mut picked = Vec::new();
        for raw in sources {
            let id = SourceId::parse(raw)
                .filter(|id| known.iter().any(|s| s.id == *id))
                .ok_or_else(|| {
                    AppError::Invalid(format!("there is no source \"{raw}\" in this workspace"))
                })?;
            if !picked.contains(&id) {
                picked.push(id);
            }
        }
        let setting = self
            .store()
            .set_changelog_setting(ws, public, &picked, now_millis())
            .await?;
        self.record(
            who,
            Action::SetChangelog,
            who.workspace().slug.clone(),
            serde_json::json!({
                "public": public,
                "sources": picked.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            }),
        )
        .await;
        Ok(setting)
    }

    /// Takes an entry off the changelog (its feeds drop it too). Approving a card for the
    /// same version again puts it back.
    pub async fn take_down_changelog_entry(
        &self,
        who: &Acting<Editor>,
        version: &str,
    ) -> Result<(), AppError> {
        let ws = who.workspace().id;
        if !self
            .store()
            .withdraw_changelog_entry(ws, version, now_millis())
            .await?
        {
            return Err(AppError::NotFound(format!(
                "the changelog has no entry \"{version}\""
            )));
        }
        self.record(
            who,
            Action::TakeDownChangelogEntry,
            version,
            serde_json::json!({}),
        )
        .await;
        Ok(())
    }

    /// Page `number` (1-based) of a public changelog; `None` when there is no public
    /// changelog at `slug`, or no such page.
    pub async fn public_changelog(
        &self,
        slug: &str,
        number: i64,
        per_page: i64,
    ) -> Result<Option<Public>, AppError> {
        let Some((slug, ws, setting)) = self.public(slug).await? else {
            return Ok(None);
        };
        if !(1..=MAX_PAGE).contains(&number) {
            return Ok(None);
        }
        let page = self
            .store()
            .changelog_page(ws, &setting, (number - 1) * per_page, per_page)
            .await?;
        let pages = ((page.total + per_page - 1) / per_page).max(1);
        if number > pages {
            return Ok(None);
        }
        let title = title(&slug, &page.entries);
        Ok(Some(Public {
            slug,
            title,
            page,
            number,
            pages,
        }))
    }

    /// One entry of a public changelog, with the workspace's slug; `None` like a page.
    pub async fn public_changelog_entry(
        &self,
        slug: &str,
        version: &str,
    ) -> Result<Option<(WorkspaceSlug, ChangelogEntry)>, AppError> {
        let Some((slug, ws, setting)) = self.public(slug).await? else {
            return Ok(None);
        };
        Ok(self
            .store()
            .changelog_entry(ws, &setting, version)
            .await?
            .map(|entry| (slug, entry)))
    }

    async fn public(
        &self,
        slug: &str,
    ) -> Result<
        Option<(
            WorkspaceSlug,
            covalynce_domain::WorkspaceId,
            ChangelogSetting,
        )>,
        AppError,
    > {
        // A slug that cannot be one is the same answer as one that is not public.
        let Ok(slug) = WorkspaceSlug::parse(slug) else {
            return Ok(None);
        };
        Ok(self
            .store()
            .public_changelog(&slug)
            .await?
            .map(|(ws, setting)| (slug, ws, setting)))
    }
}

/// The project's name when the entries are all one project's, else the workspace's slug.
fn title(slug: &WorkspaceSlug, entries: &[ChangelogEntry]) -> String {
    match entries.first() {
        Some(first) if entries.iter().all(|e| e.project == first.project) => first.project.clone(),
        _ => slug.as_str().to_owned(),
    }
}
