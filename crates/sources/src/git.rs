//! Local git repositories, read with gix: the commits of a range, with the files each one
//! touched, and the tag a range starts from.

use covalynce_domain::Commit;
/// Whether a root file is the project's release notes (kept here for the server's readers).
pub use covalynce_domain::notes_file_rank;
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

/// The analyzer for a file many commits of a range changed: `(path, changes)`, newest first,
/// each `(old, new)` → one analysis per change. Supplied by the caller (understanding): it
/// can compare the public surface once across the range rather than at every commit.
pub type RangeAnalyzer =
    fn(&str, &[(Option<&str>, Option<&str>)]) -> Vec<covalynce_domain::FileAnalysis>;

/// One file's queued versions: its path, and `(queue position, what to read)` per commit.
type FileGroup = (String, Vec<(usize, Pending)>);

/// Files a range changes more often than this have their public surface compared once,
/// between the range's first and last versions, instead of at every commit: parsing every
/// version of a 5,000-line file is most of a big release's drafting time.
const ONCE_PER_RANGE: usize = 2;

pub struct Repo {
    repo: gix::Repository,
    analyzer: Option<(Wants, Analyzer, RangeAnalyzer)>,
    /// The tags as first read: a `Repo` is opened per scan or draft, and peeling every tag
    /// of a long-lived project (clap: 700) three times was a twentieth of a draft.
    tags: std::cell::OnceCell<HashMap<gix::ObjectId, Vec<String>>>,
}

/// A repository that can be sent to another thread ([`Repo::share`]).
pub struct Shared(
    gix::ThreadSafeRepository,
    /// The tags, if the `Repo` shared had read them.
    Option<HashMap<gix::ObjectId, Vec<String>>>,
);

impl Shared {
    /// The repository on this thread, without diff analysis.
    pub fn open(&self) -> Repo {
        let mut repo = self.0.to_thread_local();
        repo.object_cache_size_if_unset(16 * 1024 * 1024);
        Repo {
            repo,
            analyzer: None,
            tags: self
                .1
                .clone()
                .map(std::cell::OnceCell::from)
                .unwrap_or_default(),
        }
    }
}

/// A changed file the analyzer will read: the commit it belongs to (index into the commits
/// being described), its path and its blobs before and after.
struct Pending {
    commit: usize,
    path: String,
    old: Option<gix::ObjectId>,
    new: Option<gix::ObjectId>,
}

/// Files a repository marks as generated or vendored in its root `.gitattributes`
/// (`linguist-generated`, `linguist-vendored`, as GitHub reads them): not analysed.
struct Marked(Vec<gix::glob::Pattern>);

impl Marked {
    fn parse(text: &str) -> Self {
        let mut patterns = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            let Some(pattern) = words.next() else {
                continue;
            };
            let marked = words.any(|a| {
                matches!(
                    a,
                    "linguist-generated"
                        | "linguist-generated=true"
                        | "linguist-vendored"
                        | "linguist-vendored=true"
                )
            });
            if let Some(p) = marked
                .then(|| gix::glob::Pattern::from_bytes(pattern.as_bytes()))
                .flatten()
            {
                patterns.push(p);
            }
        }
        Self(patterns)
    }

    fn contains(&self, path: &str) -> bool {
        use gix::glob::pattern::Case;
        // Where the file name starts, or `None` for a path at the root (gix checks this).
        let name_start = path.rfind('/').map(|i| i + 1);
        self.0.iter().any(|p| {
            p.matches_repo_relative_path(
                path.into(),
                name_start,
                Some(false),
                Case::Sensitive,
                gix::glob::wildmatch::Mode::NO_MATCH_SLASH_LITERAL,
            )
        })
    }
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
            tags: Default::default(),
        })
    }

    /// Also analyse each commit's changed files (those `wants` accepts, up to 256 KiB each).
    pub fn with_analyzer(
        mut self,
        wants: Wants,
        analyze: Analyzer,
        analyze_range: RangeAnalyzer,
    ) -> Self {
        self.analyzer = Some((wants, analyze, analyze_range));
        self
    }

    /// A handle from which another thread opens this repository (without diff analysis).
    pub fn share(&self) -> Shared {
        Shared(self.repo.clone().into_sync(), self.tags.get().cloned())
    }

    /// The same repository without diff analysis: for reading history fast (learning a
    /// house style from past releases needs messages and paths, not parsed files).
    pub fn plain(&self) -> Repo {
        Repo {
            repo: self.repo.clone(),
            analyzer: None,
            tags: self.tags.clone(),
        }
    }

    /// Small text files at the root of `rev`'s tree whose names `wanted` accepts, as
    /// `(name, text)` (up to 256 KiB each).
    pub fn root_files(&self, rev: &str, wanted: impl Fn(&str) -> bool) -> Vec<(String, String)> {
        let Ok(id) = self.commit_id(rev) else {
            return Vec::new();
        };
        let Some(tree) = self.repo.find_commit(id).ok().and_then(|c| c.tree().ok()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for entry in tree.iter().filter_map(Result::ok) {
            let name = entry.filename().to_string();
            if entry.mode().is_blob()
                && wanted(&name)
                && let Some(text) = self.blob_text(Some(entry.oid().to_owned()))
            {
                out.push((name, text));
            }
        }
        out
    }

    /// When `rev`'s commit was made (Unix seconds).
    pub fn commit_time(&self, rev: &str) -> Option<i64> {
        let id = self.commit_id(rev).ok()?;
        let commit = self.repo.find_commit(id).ok()?;
        commit.time().ok().map(|t| t.seconds)
    }

    /// The project's release notes as they stood at `rev`: the root CHANGELOG, CHANGES,
    /// HISTORY, NEWS or RELEASES file (`.md`, `.rst`, `.txt` or bare), preferring CHANGELOG.
    pub fn notes_at(&self, rev: &str) -> Option<String> {
        let mut files = self.root_files(rev, |n| notes_file_rank(n).is_some());
        files.sort_by_key(|(n, _)| notes_file_rank(n));
        files.into_iter().next().map(|(_, text)| text)
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

    /// Tag names by the commit they point at (annotated tags peeled), as they were when this
    /// `Repo` first read them.
    pub fn tags(&self) -> Result<HashMap<gix::ObjectId, Vec<String>>, GitError> {
        if let Some(tags) = self.tags.get() {
            return Ok(tags.clone());
        }
        let tags = self.read_tags()?;
        Ok(self.tags.get_or_init(|| tags).clone())
    }

    fn read_tags(&self) -> Result<HashMap<gix::ObjectId, Vec<String>>, GitError> {
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

    /// The most recent tag reachable from `to` that does not point at `to` itself, of the
    /// same kind: a package's tag (`globset-0.4.20`) follows that package's previous tag,
    /// the project's own release (`14.1.0`) its previous own release, so a monorepo's
    /// per-package tags never cut another release's range short.
    pub fn previous_tag(&self, to: &str) -> Result<Option<String>, GitError> {
        let to_id = self.commit_id(to)?;
        let mut tags = self.tags()?;
        let package = |name: &str| covalynce_domain::package_tag(name).map(|(p, _)| p.to_owned());
        let is_tag = tags.values().flatten().any(|t| t == to);
        let wanted = if is_tag { package(to) } else { None };
        let mut same_kind = tags.clone();
        for names in same_kind.values_mut() {
            names.retain(|n| package(n) == wanted);
        }
        same_kind.retain(|_, names| !names.is_empty());
        // A commit that is not a tag in a repository with only package tags: any tag.
        if is_tag || !same_kind.is_empty() {
            tags = same_kind;
        }
        if tags.is_empty() {
            return Ok(None);
        }
        // A release proper follows the previous release proper, not its own release
        // candidate: gitui's v0.28.1 after v0.28.1-rc.1 is everything since v0.28.0 (as its
        // notes say), not the one commit since the candidate. A pre-release follows any tag;
        // so does a first release made after pre-releases only (1.0.0 after 1.0.0-rc.1).
        if is_tag && !covalynce_domain::is_prerelease(to) {
            let mut finals = tags.clone();
            for names in finals.values_mut() {
                names.retain(|n| !covalynce_domain::is_prerelease(n));
            }
            finals.retain(|_, names| !names.is_empty());
            if let Some(found) = self.nearest_tag(to_id, &finals)? {
                return Ok(Some(found));
            }
        }
        self.nearest_tag(to_id, &tags)
    }

    /// The newest of `tags` reachable from `to_id`, other than on `to_id` itself.
    fn nearest_tag(
        &self,
        to_id: gix::ObjectId,
        tags: &HashMap<gix::ObjectId, Vec<String>>,
    ) -> Result<Option<String>, GitError> {
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
        let mut diff_state = gix::diff::tree::State::default();
        let mut pending = Vec::new();
        let marked = self.marked(self.commit_id(rev)?);
        for info in walk.take(limit) {
            let info = info.map_err(|e| err("walking history", e))?;
            let commit = info.object().map_err(|e| err("reading a commit", e))?;
            let c = self.describe(&commit, &mut diff_state, &marked, out.len(), &mut pending)?;
            out.push(c);
        }
        self.analyze(&mut out, pending);
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
        let mut diff_state = gix::diff::tree::State::default();
        let mut pr_merges: Vec<(String, gix::ObjectId, gix::ObjectId)> = Vec::new();
        let mut pending = Vec::new();
        let marked = self.marked(to_id);
        for info in walk {
            let info = info.map_err(|e| err("walking history", e))?;
            let commit = info.object().map_err(|e| err("reading a commit", e))?;
            let c = self.describe(
                &commit,
                &mut diff_state,
                &marked,
                commits.len(),
                &mut pending,
            )?;
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
        self.analyze(&mut commits, pending);
        commits.reverse();
        // Several tags on one commit (`v0.28.0-rc.2` and `v0.28.0`): the one asked for, else
        // the release proper rather than a pre-release, else the last by name.
        let to_tag = self.tags()?.get(&to_id).and_then(|names| {
            names
                .iter()
                .find(|n| *n == to)
                .or_else(|| names.iter().rev().find(|n| !n.contains('-')))
                .or(names.last())
                .cloned()
        });
        Ok(Range {
            commits,
            from,
            to: to.to_owned(),
            to_tag,
            to_time,
        })
    }

    /// A commit's message, author and changed files; the files the analyzer wants are queued
    /// in `pending` (as commit number `index`) for [`Repo::analyze`].
    fn describe(
        &self,
        commit: &gix::Commit<'_>,
        diff_state: &mut gix::diff::tree::State,
        marked: &Marked,
        index: usize,
        pending: &mut Vec<Pending>,
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
        let files = if parents.len() > 1 {
            // A merge's own changes are its branches' commits; listing its diff against the
            // first parent would repeat them.
            Vec::new()
        } else {
            self.changed_files(
                commit,
                parents.first().copied(),
                diff_state,
                marked,
                index,
                pending,
            )?
        };
        Ok(Commit {
            message,
            author_name: author.name.to_string(),
            author_email: author.email.to_string(),
            author_login: None,
            timestamp: time,
            files,
            is_merge: parents.len() > 1,
            symbols: Vec::new(),
            diff_secrets: Vec::new(),
            part_of: None,
            id,
        })
    }

    fn changed_files(
        &self,
        commit: &gix::Commit<'_>,
        parent: Option<gix::ObjectId>,
        diff_state: &mut gix::diff::tree::State,
        marked: &Marked,
        index: usize,
        pending: &mut Vec<Pending>,
    ) -> Result<Vec<String>, GitError> {
        let changes = self.file_changes(commit, parent, diff_state)?;
        if let Some((wants, ..)) = self.analyzer {
            pending.extend(
                changes
                    .iter()
                    .filter(|(path, ..)| wants(path) && !marked.contains(path))
                    .take(64)
                    .map(|(path, old, new)| Pending {
                        commit: index,
                        path: path.clone(),
                        old: *old,
                        new: *new,
                    }),
            );
        }
        let mut files: Vec<String> = changes.into_iter().map(|(path, ..)| path).collect();
        files.sort();
        files.dedup();
        Ok(files)
    }

    /// The root `.gitattributes` at `commit`: which files it marks generated or vendored.
    fn marked(&self, commit: gix::ObjectId) -> Marked {
        let text = (|| {
            let tree = self.repo.find_commit(commit).ok()?.tree().ok()?;
            let entry = tree.find_entry(".gitattributes")?;
            let blob = self.repo.find_object(entry.oid()).ok()?;
            Some(String::from_utf8_lossy(&blob.data).into_owned())
        })();
        Marked::parse(&text.unwrap_or_default())
    }

    /// Runs the analyzer over the queued files on every core. Each file goes to one worker
    /// (its versions share blobs, and the analyzer caches by content); a file changed by
    /// more than [`ONCE_PER_RANGE`] commits has its surface compared once across the range
    /// (see [`analyze_once`]). Results are put back in queue order: the same range always
    /// gives the same commits.
    fn analyze(&self, commits: &mut [Commit], pending: Vec<Pending>) {
        let Some((_, analyze, analyze_range)) = self.analyzer else {
            return;
        };
        if pending.is_empty() {
            return;
        }
        // By path, in queue order (newest commit first).
        let mut groups: Vec<FileGroup> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        for (seq, p) in pending.into_iter().enumerate() {
            let g = *at.entry(p.path.clone()).or_insert_with(|| {
                groups.push((p.path.clone(), Vec::new()));
                groups.len() - 1
            });
            groups[g].1.push((seq, p));
        }
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 8)
            .min(groups.len().div_ceil(4));
        // Workers take the next file from one queue, the most changed files first: dealt out
        // in turns, one worker got clap's biggest files and the other sat idle (a 4.0 release
        // drafted on 1.1 cores of 2).
        groups.sort_by_key(|(_, entries)| std::cmp::Reverse(entries.len()));
        let next = std::sync::atomic::AtomicUsize::new(0);
        let shared = self.share();
        let run = || {
            let repo = shared.open().repo;
            let mut found = Vec::new();
            let take = || groups.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
            while let Some((path, entries)) = take() {
                if entries.len() > ONCE_PER_RANGE {
                    found.extend(analyze_once(&repo, analyze_range, path, entries));
                    continue;
                }
                for (seq, p) in entries {
                    let (old, new) = (blob_text(&repo, p.old), blob_text(&repo, p.new));
                    if old.is_none() && new.is_none() {
                        continue;
                    }
                    found.push((
                        *seq,
                        p.commit,
                        analyze(path, old.as_deref(), new.as_deref()),
                    ));
                }
            }
            found
        };
        let mut found: Vec<(usize, usize, covalynce_domain::FileAnalysis)> = if workers == 1 {
            run()
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..workers).map(|_| s.spawn(run)).collect();
                handles
                    .into_iter()
                    .flat_map(|h| {
                        // The analyzer is pure; a panic in it (a parser bug) costs what
                        // that worker found (symbols and credentials), not the draft.
                        h.join().unwrap_or_default()
                    })
                    .collect()
            })
        };
        found.sort_by_key(|(seq, ..)| *seq);
        for (_, index, analysis) in found {
            let c = &mut commits[index];
            c.symbols.extend(analysis.symbols);
            for s in analysis.secrets {
                if !c.diff_secrets.contains(&s) {
                    c.diff_secrets.push(s);
                }
            }
        }
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
        let mut changes =
            self.file_changes(&commit, parent, &mut gix::diff::tree::State::default())?;
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
    /// root commit), with their blobs before and after. `diff_state` is the tree-diff state a
    /// walk reuses. Paths and blob ids are all a walk needs, so trees are compared directly:
    /// gix's tree-diff platform first builds a blob diff cache from HEAD's index and
    /// attributes, a twentieth of a draft when the house style walks eight past releases.
    fn file_changes(
        &self,
        commit: &gix::Commit<'_>,
        parent: Option<gix::ObjectId>,
        diff_state: &mut gix::diff::tree::State,
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
        // Paths only: rename detection would read blobs, and a rename is two paths anyway.
        let mut recorder = gix::diff::tree::Recorder::default();
        gix::diff::tree(
            gix::objs::TreeRefIter::from_bytes(&parent_tree.data, parent_tree.id.kind()),
            gix::objs::TreeRefIter::from_bytes(&tree.data, tree.id.kind()),
            diff_state,
            &self.repo.objects,
            &mut recorder,
        )
        .map_err(|e| err("diffing trees", e))?;
        use gix::diff::tree::recorder::Change as C;
        Ok(recorder
            .records
            .into_iter()
            .filter_map(|change| match change {
                C::Addition {
                    entry_mode,
                    oid,
                    path,
                    ..
                } => entry_mode
                    .is_blob_or_symlink()
                    .then(|| (path.to_string(), None, Some(oid))),
                C::Deletion {
                    entry_mode,
                    oid,
                    path,
                    ..
                } => entry_mode
                    .is_blob_or_symlink()
                    .then(|| (path.to_string(), Some(oid), None)),
                C::Modification {
                    previous_oid,
                    entry_mode,
                    oid,
                    path,
                    ..
                } => entry_mode
                    .is_blob_or_symlink()
                    .then(|| (path.to_string(), Some(previous_oid), Some(oid))),
            })
            .collect())
    }

    fn blob_text(&self, id: Option<gix::ObjectId>) -> Option<String> {
        blob_text(&self.repo, id)
    }
}

/// A file many commits of a range changed (`entries`, newest first), handed to the range
/// analyzer with each change's versions. Consecutive changes share a version (one's new
/// blob is the next one's old): each blob is read and decoded once.
fn analyze_once(
    repo: &gix::Repository,
    analyze_range: RangeAnalyzer,
    path: &str,
    entries: &[(usize, Pending)],
) -> Vec<(usize, usize, covalynce_domain::FileAnalysis)> {
    type Text = Option<std::rc::Rc<str>>;
    let mut blobs: rustc_hash::FxHashMap<gix::ObjectId, Text> = rustc_hash::FxHashMap::default();
    let mut text = |id: Option<gix::ObjectId>| -> Text {
        let id = id?;
        blobs
            .entry(id)
            .or_insert_with(|| blob_text(repo, Some(id)).map(std::rc::Rc::from))
            .clone()
    };
    let texts: Vec<(Text, Text)> = entries
        .iter()
        .map(|(_, p)| (text(p.old), text(p.new)))
        .collect();
    let changes: Vec<(Option<&str>, Option<&str>)> = texts
        .iter()
        .map(|(old, new)| (old.as_deref(), new.as_deref()))
        .collect();
    entries
        .iter()
        .zip(analyze_range(path, &changes))
        .map(|((seq, p), analysis)| (*seq, p.commit, analysis))
        .collect()
}

/// A blob as text, if it is small UTF-8.
fn blob_text(repo: &gix::Repository, id: Option<gix::ObjectId>) -> Option<String> {
    let object = repo.find_object(id?).ok()?;
    if object.data.len() > 256 * 1024 {
        return None;
    }
    String::from_utf8(object.detach().data).ok()
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

    fn git(dir: &std::path::Path, args: &[&str]) {
        let ok = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Ada")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Ada")
            .env("GIT_COMMITTER_EMAIL", "ada@example.com")
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }

    /// A file four commits of a range change has its surface compared once across the
    /// range, and each new symbol is still credited to the commit that added it; secrets
    /// are still found at the commit that added them. The same as analysing every commit.
    #[test]
    fn a_much_changed_file_is_analysed_once_per_range_and_credited_per_commit() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        git(r, &["init", "-q", "-b", "master"]);
        let steps = [
            ("pub fn a() {}\n", "start"),
            ("pub fn a() {}\npub fn b() {}\n", "add b"),
            ("pub fn a() {}\npub fn b() {}\n// tidy\n", "tidy"),
            (
                "pub fn a() {}\npub fn b() {}\npub fn c() {}\n// tidy\n",
                "add c",
            ),
            (
                "pub fn a() {}\npub fn b() {}\npub fn c() {}\n// tidy\nconst K: &str = \"ghp_0123456789abcdefghijklmnopqrstuvwxyzAB\";\n",
                "add key",
            ),
        ];
        for (text, message) in steps {
            std::fs::write(r.join("lib.rs"), text).unwrap();
            git(r, &["add", "-A"]);
            git(r, &["commit", "-q", "-m", message]);
        }
        git(r, &["tag", "v1"]);
        use covalynce_understanding as u;
        let repo = super::Repo::open(r).unwrap().with_analyzer(
            u::is_analyzable,
            u::analyze_file,
            u::analyze_range,
        );
        let range = repo.range(Some("HEAD~4"), "v1").unwrap();
        let by_subject = |s: &str| {
            range
                .commits
                .iter()
                .find(|c| c.message.trim() == s)
                .unwrap()
                .clone()
        };
        let names = |s: &str| -> Vec<String> {
            by_subject(s)
                .symbols
                .iter()
                .map(|x| x.name.clone())
                .collect()
        };
        assert_eq!(names("add b"), ["b"]);
        assert_eq!(names("add c"), ["c"]);
        assert!(names("tidy").is_empty() && names("add key").is_empty());
        assert_eq!(by_subject("add key").diff_secrets, ["GitHub token"]);
        assert!(by_subject("add c").diff_secrets.is_empty());
    }

    /// A repository on `master` with one commit per entry, tagged as the entry says.
    fn tagged_history(tags: &[Option<&str>]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        git(r, &["init", "-q", "-b", "master"]);
        for (n, tag) in tags.iter().enumerate() {
            std::fs::write(r.join("f.txt"), n.to_string()).unwrap();
            git(r, &["add", "-A"]);
            git(r, &["commit", "-q", "-m", &format!("change {n}")]);
            if let Some(t) = tag {
                git(r, &["tag", t]);
            }
        }
        dir
    }

    /// A monorepo tags its main release (`14.1.0`) and its crates (`globset-0.4.20`): each
    /// tag's range starts at the previous tag of its own kind.
    #[test]
    fn a_package_tag_follows_its_own_previous_tag_and_a_release_its_own() {
        let dir = tagged_history(&[
            Some("14.0.0"),
            Some("globset-0.4.19"),
            None,
            Some("ignore-0.4.30"),
            Some("globset-0.4.20"),
            Some("14.1.0"),
            None,
        ]);
        let repo = super::Repo::open(dir.path()).unwrap();
        assert_eq!(
            repo.previous_tag("globset-0.4.20").unwrap().as_deref(),
            Some("globset-0.4.19")
        );
        assert_eq!(
            repo.previous_tag("14.1.0").unwrap().as_deref(),
            Some("14.0.0")
        );
        assert_eq!(repo.previous_tag("ignore-0.4.30").unwrap(), None);
        assert_eq!(
            repo.previous_tag("HEAD").unwrap().as_deref(),
            Some("14.1.0")
        );
        assert_eq!(repo.range(None, "globset-0.4.20").unwrap().commits.len(), 3);
    }

    /// gitui tags `v0.28.1-rc.1`, then `v0.28.1` a commit later: the release's range is
    /// everything since `v0.28.0`, as its notes are; the candidate's, since `v0.28.0` too.
    #[test]
    fn a_release_follows_the_previous_release_not_its_own_candidate() {
        let dir = tagged_history(&[
            Some("v0.28.0"),
            None,
            Some("v0.28.1-rc.1"),
            Some("v0.28.1"),
            Some("v0.29.0-beta.1"),
        ]);
        let repo = super::Repo::open(dir.path()).unwrap();
        assert_eq!(
            repo.previous_tag("v0.28.1").unwrap().as_deref(),
            Some("v0.28.0")
        );
        assert_eq!(repo.range(None, "v0.28.1").unwrap().commits.len(), 3);
        assert_eq!(
            repo.previous_tag("v0.28.1-rc.1").unwrap().as_deref(),
            Some("v0.28.0")
        );
        // A pre-release follows whatever was tagged before it.
        assert_eq!(
            repo.previous_tag("v0.29.0-beta.1").unwrap().as_deref(),
            Some("v0.28.1")
        );
    }

    /// A first release made after pre-releases only follows its last candidate, not the
    /// beginning of history.
    #[test]
    fn a_first_release_after_candidates_only_follows_the_last_candidate() {
        let dir = tagged_history(&[Some("v1.0.0-alpha.1"), Some("v1.0.0-rc.1"), Some("v1.0.0")]);
        let repo = super::Repo::open(dir.path()).unwrap();
        assert_eq!(
            repo.previous_tag("v1.0.0").unwrap().as_deref(),
            Some("v1.0.0-rc.1")
        );
    }

    /// A release tagged on the same commit as its last release candidate is the release.
    #[test]
    fn a_release_on_its_candidates_commit_is_named_as_the_release() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        git(r, &["init", "-q", "-b", "master"]);
        for n in 0..2 {
            std::fs::write(r.join("f.txt"), n.to_string()).unwrap();
            git(r, &["add", "-A"]);
            git(r, &["commit", "-q", "-m", &format!("change {n}")]);
            if n == 0 {
                git(r, &["tag", "v0.27.0"]);
            }
        }
        git(r, &["tag", "v0.28.0-rc.2"]);
        git(r, &["tag", "v0.28.0"]);
        let repo = super::Repo::open(r).unwrap();
        let by_head = repo.range(Some("v0.27.0"), "HEAD").unwrap();
        assert_eq!(by_head.to_tag.as_deref(), Some("v0.28.0"));
        let asked = repo.range(Some("v0.27.0"), "v0.28.0-rc.2").unwrap();
        assert_eq!(asked.to_tag.as_deref(), Some("v0.28.0-rc.2"));
    }
}
