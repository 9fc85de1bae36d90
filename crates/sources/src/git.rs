//! Local git repositories, read with gix: the commits of a range, with the files each one
//! touched, and the tag a range starts from.

use covalynce_domain::Commit;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GitError(pub String);

fn err(context: impl std::fmt::Display, e: impl std::fmt::Display) -> GitError {
    GitError(format!("{context}: {e}"))
}

/// The commits in `from..to`, oldest first, and how the range was resolved.
#[derive(Debug, Clone)]
pub struct Range {
    pub commits: Vec<Commit>,
    /// The start, as given or as found (the previous tag); `None` means from the root.
    pub from: Option<String>,
    pub to: String,
    /// A tag pointing at `to`, if `to` is (or is tagged as) a release.
    pub to_tag: Option<String>,
    /// Commit time of `to`, Unix ms.
    pub to_time: Option<i64>,
}

/// Diff analysis for changed files: `(path, old text, new text)` → what changed in the
/// public surface. Supplied by the caller (understanding), so this crate stays a reader.
pub type Analyzer = fn(&str, Option<&str>, Option<&str>) -> covalynce_domain::FileAnalysis;

/// A changed file: its path, and its blob before and after (None where it did not exist).
type FileChange = (String, Option<gix::ObjectId>, Option<gix::ObjectId>);

/// Which paths the analyzer wants to see.
pub type Wants = fn(&str) -> bool;

pub struct Repo {
    repo: gix::Repository,
    analyzer: Option<(Wants, Analyzer)>,
}

impl Repo {
    pub fn open(path: &Path) -> Result<Self, GitError> {
        let mut repo = gix::discover(path)
            .map_err(|e| err(format!("{} is not a git repository", path.display()), e))?;
        // Each commit is looked up again for its tree; a cache avoids decoding it twice.
        repo.object_cache_size_if_unset(16 * 1024 * 1024);
        Ok(Self {
            repo,
            analyzer: None,
        })
    }

    /// Also analyse each commit's changed files (those `wants` accepts, up to 256 KiB each).
    pub fn with_analyzer(mut self, wants: Wants, analyze: Analyzer) -> Self {
        self.analyzer = Some((wants, analyze));
        self
    }

    /// `owner/name` when the `origin` remote is on GitHub.
    pub fn github_slug(&self) -> Option<covalynce_domain::RepoSlug> {
        let remote = self.repo.find_remote("origin").ok()?;
        let url = remote
            .url(gix::remote::Direction::Fetch)?
            .to_bstring()
            .to_string();
        github_slug_from_url(&url)
    }

    /// The directory name of the work tree (or of the bare repository).
    pub fn name(&self) -> String {
        let dir = self.repo.workdir().unwrap_or_else(|| self.repo.git_dir());
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        dir.file_name()
            .map(|n| n.to_string_lossy().trim_end_matches(".git").to_owned())
            .unwrap_or_else(|| "repository".to_owned())
    }

    fn commit_id(&self, rev: &str) -> Result<gix::ObjectId, GitError> {
        let id = self
            .repo
            .rev_parse_single(rev)
            .map_err(|e| err(format!("unknown revision {rev:?}"), e))?;
        let commit = id
            .object()
            .map(|o| o.peel_to_commit())
            .map_err(|e| err(format!("{rev:?} does not name a commit"), e))?
            .map_err(|e| err(format!("{rev:?} does not name a commit"), e))?;
        Ok(commit.id)
    }

    /// The checked-out commit and branch (`None` when HEAD is detached); `None` for an
    /// empty repository.
    pub fn head(&self) -> Result<Option<(String, Option<String>)>, GitError> {
        let mut head = self.repo.head().map_err(|e| err("reading HEAD", e))?;
        let branch = head.referent_name().map(|n| n.shorten().to_string());
        match head.peel_to_commit() {
            Ok(commit) => Ok(Some((commit.id.to_string(), branch))),
            Err(_) => Ok(None),
        }
    }

    /// Every tag and the commit it points at, by name.
    pub fn tag_names(&self) -> Result<std::collections::BTreeMap<String, String>, GitError> {
        Ok(self
            .tags()?
            .into_iter()
            .flat_map(|(id, names)| names.into_iter().map(move |n| (n, id.to_string())))
            .collect())
    }

    /// Tag names by the commit they point at (annotated tags peeled).
    pub fn tags(&self) -> Result<HashMap<gix::ObjectId, Vec<String>>, GitError> {
        let mut out: HashMap<gix::ObjectId, Vec<String>> = HashMap::new();
        let refs = self.repo.references().map_err(|e| err("reading refs", e))?;
        for r in refs.tags().map_err(|e| err("reading tags", e))? {
            let Ok(mut r) = r else { continue };
            let name = r.name().shorten().to_string();
            if let Ok(commit) = r.peel_to_commit() {
                out.entry(commit.id).or_default().push(name);
            }
        }
        for names in out.values_mut() {
            names.sort();
        }
        Ok(out)
    }

    /// The most recent tag reachable from `to` that does not point at `to` itself.
    pub fn previous_tag(&self, to: &str) -> Result<Option<String>, GitError> {
        let to_id = self.commit_id(to)?;
        let tags = self.tags()?;
        if tags.is_empty() {
            return Ok(None);
        }
        let walk = self
            .repo
            .rev_walk([to_id])
            .sorting(gix::revision::walk::Sorting::ByCommitTime(
                Default::default(),
            ))
            .all()
            .map_err(|e| err("walking history", e))?;
        for info in walk {
            let info = info.map_err(|e| err("walking history", e))?;
            if info.id == to_id {
                continue;
            }
            if let Some(names) = tags.get(&info.id) {
                return Ok(names.last().cloned());
            }
        }
        Ok(None)
    }

    /// Tags reachable from HEAD, newest first, at most `limit`.
    pub fn recent_tags(&self, limit: usize) -> Result<Vec<String>, GitError> {
        let Some((head, _)) = self.head()? else {
            return Ok(Vec::new());
        };
        let tags = self.tags()?;
        let mut out = Vec::new();
        if tags.is_empty() {
            return Ok(out);
        }
        let walk = self
            .repo
            .rev_walk([self.commit_id(&head)?])
            .sorting(gix::revision::walk::Sorting::ByCommitTime(
                Default::default(),
            ))
            .all()
            .map_err(|e| err("walking history", e))?;
        for info in walk {
            let info = info.map_err(|e| err("walking history", e))?;
            if let Some(names) = tags.get(&info.id) {
                out.extend(names.iter().rev().cloned());
                if out.len() >= limit {
                    out.truncate(limit);
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The latest `limit` commits reachable from `rev`, newest first.
    pub fn log(&self, rev: &str, limit: usize) -> Result<Vec<Commit>, GitError> {
        let walk = self
            .repo
            .rev_walk([self.commit_id(rev)?])
            .sorting(gix::revision::walk::Sorting::ByCommitTime(
                Default::default(),
            ))
            .all()
            .map_err(|e| err("walking history", e))?;
        let mut out = Vec::new();
        let mut cache = self.diff_cache()?;
        for info in walk.take(limit) {
            let info = info.map_err(|e| err("walking history", e))?;
            let commit = info.object().map_err(|e| err("reading a commit", e))?;
            out.push(self.describe(&commit, &mut cache)?);
        }
        Ok(out)
    }

    /// The commits in `from..to` (everything reachable from `to` but not from `from`),
    /// oldest first. Without `from`, the range starts after the previous tag.
    pub fn range(&self, from: Option<&str>, to: &str) -> Result<Range, GitError> {
        let to_id = self.commit_id(to)?;
        let from = match from {
            Some(f) => Some(f.to_owned()),
            None => self.previous_tag(to)?,
        };
        let hidden: Vec<gix::ObjectId> = match &from {
            Some(f) => vec![self.commit_id(f)?],
            None => Vec::new(),
        };
        let walk = self
            .repo
            .rev_walk([to_id])
            .with_hidden(hidden)
            .sorting(gix::revision::walk::Sorting::ByCommitTime(
                Default::default(),
            ))
            .all()
            .map_err(|e| err("walking history", e))?;
        let mut commits = Vec::new();
        let mut to_time = None;
        let mut cache = self.diff_cache()?;
        let mut pr_merges: Vec<(String, gix::ObjectId, gix::ObjectId)> = Vec::new();
        for info in walk {
            let info = info.map_err(|e| err("walking history", e))?;
            let commit = info.object().map_err(|e| err("reading a commit", e))?;
            let c = self.describe(&commit, &mut cache)?;
            if info.id == to_id {
                to_time = c.timestamp;
            }
            let parents: Vec<gix::ObjectId> = commit.parent_ids().map(|p| p.detach()).collect();
            if c.is_merge && c.subject().starts_with("Merge pull request #") && parents.len() == 2 {
                pr_merges.push((c.id.clone(), parents[0], parents[1]));
            }
            commits.push(c);
        }
        // A merged pull request's own commits are part of it, not changes of their own: mark
        // what each PR merge brought in (reachable from its second parent, not its first).
        for (merge, first, second) in pr_merges {
            let walk = self
                .repo
                .rev_walk([second])
                .with_hidden([first])
                .all()
                .map_err(|e| err("walking a pull request", e))?;
            let brought: std::collections::HashSet<String> = walk
                .filter_map(|i| i.ok().map(|i| i.id.to_string()))
                .collect();
            for c in commits
                .iter_mut()
                .filter(|c| brought.contains(&c.id) && c.part_of.is_none())
            {
                c.part_of = Some(merge.clone());
            }
        }
        commits.reverse();
        let to_tag = self.tags()?.get(&to_id).and_then(|n| n.last().cloned());
        Ok(Range {
            commits,
            from,
            to: to.to_owned(),
            to_tag,
            to_time,
        })
    }

    /// A cache for tree diffs, made once per walk: making one reads attributes and the index.
    fn diff_cache(&self) -> Result<gix::diff::blob::Platform, GitError> {
        self.repo
            .diff_resource_cache_for_tree_diff()
            .map_err(|e| err("preparing to diff", e))
    }

    fn describe(
        &self,
        commit: &gix::Commit<'_>,
        cache: &mut gix::diff::blob::Platform,
    ) -> Result<Commit, GitError> {
        let id = commit.id.to_string();
        let message = commit
            .message_raw()
            .map(|m| String::from_utf8_lossy(m).into_owned())
            .map_err(|e| err(format!("reading commit {id}"), e))?;
        let author = commit
            .author()
            .map_err(|e| err(format!("reading commit {id}"), e))?;
        let time = author.time().ok().map(|t| t.seconds * 1000);
        let parents: Vec<gix::ObjectId> = commit.parent_ids().map(|p| p.detach()).collect();
        let (files, analysis) = if parents.len() > 1 {
            // A merge's own changes are its branches' commits; listing its diff against the
            // first parent would repeat them.
            (Vec::new(), covalynce_domain::FileAnalysis::default())
        } else {
            self.changed_files(commit, parents.first().copied(), cache)?
        };
        Ok(Commit {
            message,
            author_name: author.name.to_string(),
            author_email: author.email.to_string(),
            author_login: None,
            timestamp: time,
            files,
            is_merge: parents.len() > 1,
            symbols: analysis.symbols,
            diff_secrets: analysis.secrets,
            part_of: None,
            id,
        })
    }

    fn changed_files(
        &self,
        commit: &gix::Commit<'_>,
        parent: Option<gix::ObjectId>,
        cache: &mut gix::diff::blob::Platform,
    ) -> Result<(Vec<String>, covalynce_domain::FileAnalysis), GitError> {
        let changes = self.file_changes(commit, parent, cache)?;
        let wants = self.analyzer.map(|(w, _)| w);
        // (path, old blob, new blob) of the files the analyzer wants to see.
        let to_analyze: Vec<&FileChange> = changes
            .iter()
            .filter(|(path, ..)| wants.is_some_and(|w| w(path)))
            .collect();
        let mut files: Vec<String> = changes.iter().map(|(path, ..)| path.clone()).collect();
        files.sort();
        files.dedup();
        let mut analysis = covalynce_domain::FileAnalysis::default();
        if let Some((_, analyze)) = self.analyzer {
            for (path, old, new) in to_analyze.into_iter().take(64) {
                let (old, new) = (self.blob_text(*old), self.blob_text(*new));
                if old.is_none() && new.is_none() {
                    continue;
                }
                let found = analyze(path, old.as_deref(), new.as_deref());
                analysis.symbols.extend(found.symbols);
                for s in found.secrets {
                    if !analysis.secrets.contains(&s) {
                        analysis.secrets.push(s);
                    }
                }
            }
        }
        Ok((files, analysis))
    }

    /// What `rev` changed against its first parent, as unified-diff hunks without context
    /// (`--- a/…`, `+++ b/…`, `@@ -l,n +l,n @@`, `-`/`+` lines), cut at about `budget` bytes.
    /// Binary and very large files are named, not shown. For AI drafting, when a workspace
    /// allows diffs to leave the machine.
    pub fn patch(&self, rev: &str, budget: usize) -> Result<String, GitError> {
        use gix::diff::blob::{Algorithm, Diff, InternedInput};
        use std::fmt::Write as _;
        let id = self.commit_id(rev)?;
        let commit = self
            .repo
            .find_commit(id)
            .map_err(|e| err("reading a commit", e))?;
        let parent = commit.parent_ids().next().map(|p| p.detach());
        let mut changes = self.file_changes(&commit, parent, &mut self.diff_cache()?)?;
        changes.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = String::new();
        for (path, old_id, new_id) in changes {
            if out.len() >= budget {
                let _ = writeln!(out, "… (more files not shown)");
                break;
            }
            let old = old_id.map(|id| self.blob_text(Some(id)));
            let new = new_id.map(|id| self.blob_text(Some(id)));
            let (a, b) = (
                if old_id.is_some() {
                    format!("a/{path}")
                } else {
                    "/dev/null".into()
                },
                if new_id.is_some() {
                    format!("b/{path}")
                } else {
                    "/dev/null".into()
                },
            );
            let _ = writeln!(out, "--- {a}\n+++ {b}");
            if matches!(old, Some(None)) || matches!(new, Some(None)) {
                let _ = writeln!(out, "(binary or large file, not shown)");
                continue;
            }
            let (old, new) = (
                old.flatten().unwrap_or_default(),
                new.flatten().unwrap_or_default(),
            );
            let input = InternedInput::new(old.as_str(), new.as_str());
            let diff = Diff::compute(Algorithm::Histogram, &input);
            let line =
                |t: &gix::diff::blob::Token| input.interner[*t].trim_end_matches(['\n', '\r']);
            for hunk in diff.hunks() {
                if out.len() >= budget {
                    let _ = writeln!(out, "… (cut)");
                    break;
                }
                let _ = writeln!(
                    out,
                    "@@ -{},{} +{},{} @@",
                    hunk.before.start + 1,
                    hunk.before.len(),
                    hunk.after.start + 1,
                    hunk.after.len()
                );
                for t in &input.before[hunk.before.start as usize..hunk.before.end as usize] {
                    let _ = writeln!(out, "-{}", line(t));
                }
                for t in &input.after[hunk.after.start as usize..hunk.after.end as usize] {
                    let _ = writeln!(out, "+{}", line(t));
                }
            }
        }
        Ok(out)
    }

    /// The files `commit` added, modified or removed against `parent` (the empty tree for a
    /// root commit), with their blobs before and after.
    fn file_changes(
        &self,
        commit: &gix::Commit<'_>,
        parent: Option<gix::ObjectId>,
        cache: &mut gix::diff::blob::Platform,
    ) -> Result<Vec<FileChange>, GitError> {
        let tree = commit.tree().map_err(|e| err("reading a tree", e))?;
        let parent_tree = match parent {
            Some(p) => self
                .repo
                .find_commit(p)
                .map_err(|e| err("reading a parent commit", e))?
                .tree()
                .map_err(|e| err("reading a parent tree", e))?,
            None => self.repo.empty_tree(),
        };
        let mut changes = Vec::new();
        parent_tree
            .changes()
            .map_err(|e| err("diffing trees", e))?
            // Paths only: rename detection would read blobs, and a rename is two paths anyway.
            .options(|o| {
                o.track_path();
                o.track_rewrites(None);
            })
            .for_each_to_obtain_tree_with_cache(&tree, cache, |change| {
                if change.entry_mode().is_blob_or_symlink() {
                    let (old, new) = blob_ids(&change);
                    changes.push((change.location().to_string(), old, new));
                }
                Ok(std::ops::ControlFlow::Continue(()))
            })
            .map_err(|e| err("diffing trees", e))?;
        Ok(changes)
    }

    /// A blob as text, if it is small UTF-8.
    fn blob_text(&self, id: Option<gix::ObjectId>) -> Option<String> {
        let object = self.repo.find_object(id?).ok()?;
        if object.data.len() > 256 * 1024 {
            return None;
        }
        String::from_utf8(object.data.clone()).ok()
    }
}

/// The blobs before and after a tree change (None where the file did not exist).
fn blob_ids(
    change: &gix::object::tree::diff::Change<'_, '_, '_>,
) -> (Option<gix::ObjectId>, Option<gix::ObjectId>) {
    use gix::object::tree::diff::Change as C;
    match change {
        C::Addition { id, .. } => (None, Some(id.detach())),
        C::Deletion { id, .. } => (Some(id.detach()), None),
        C::Modification {
            previous_id, id, ..
        } => (Some(previous_id.detach()), Some(id.detach())),
        C::Rewrite { source_id, id, .. } => (Some(source_id.detach()), Some(id.detach())),
    }
}

/// `owner/name` from a GitHub remote URL (`https://github.com/o/n.git`, `git@github.com:o/n`).
pub fn github_slug_from_url(url: &str) -> Option<covalynce_domain::RepoSlug> {
    let rest = url
        .strip_prefix("https://github.com/")
        .or_else(|| url.strip_prefix("http://github.com/"))
        .or_else(|| url.strip_prefix("git@github.com:"))
        .or_else(|| url.strip_prefix("ssh://git@github.com/"))?;
    let rest = rest.trim_end_matches('/').trim_end_matches(".git");
    covalynce_domain::RepoSlug::parse(rest).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn github_remotes_name_their_repository() {
        for url in [
            "https://github.com/acme/rocket.git",
            "https://github.com/acme/rocket",
            "git@github.com:acme/rocket.git",
            "ssh://git@github.com/acme/rocket",
        ] {
            assert_eq!(
                super::github_slug_from_url(url).unwrap().to_string(),
                "acme/rocket",
                "{url}"
            );
        }
        assert!(super::github_slug_from_url("https://gitlab.com/acme/rocket").is_none());
    }
}
