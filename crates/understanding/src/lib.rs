//! Understanding: what a range of commits means for the people who use the software.
//!
//! Public entry: [`understand`] turns commits into a [`Changeset`] — items with a category,
//! scope, breaking note, `#N` references and authors, the noise (merges, version and
//! dependency bumps, CI-only and typo-only commits) set aside but counted. It works on
//! conventional commits and, by wording and by the files touched, on the many
//! repositories that do not use them. Pure functions, no I/O.

mod classify;
mod conventional;
mod project;
mod refs;
mod secrets;
mod style;
mod symbols;

use covalynce_domain::Commit;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub use classify::classify_commit;
pub use conventional::{Conventional, parse_conventional};
pub use covalynce_domain::change::{Category, HouseStyle, Noise, WhenBoth};
pub use project::{PROJECT_FILES, ProjectFacts, project_facts};
pub use refs::{Person, co_authors, issue_refs, pr_ref};
pub use secrets::{Finding, REDACTED, redact_secrets};
pub use style::{
    announced_of, announced_refs, learn as learn_house_style, note_sections, section_refs,
    teaches as teaches_style,
};
pub use symbols::{
    Change, FileAnalysis, SymbolChange, SymbolKind, analyze_file, analyze_range, diff_symbols,
    is_analyzable, is_generated_path, looks_generated, scan_secrets,
};

/// One announceable change: a commit, or a merged pull request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub category: Category,
    pub scope: Option<String>,
    /// What breaks, when the change is breaking (the `!` marker or a BREAKING CHANGE footer).
    pub breaking: Option<String>,
    /// The change in a line, as its author wrote it (conventional prefix removed).
    pub title: String,
    /// The pull request this change was merged through, when known.
    pub pr: Option<u64>,
    /// Pull request first, then issues: `#N` references.
    pub refs: Vec<u64>,
    /// Full SHAs of the commits behind this item.
    pub commits: Vec<String>,
    /// Author logins (when known) or names, then co-authors; no bots, no duplicates.
    pub authors: Vec<String>,
    /// Why it is left out of announcements, if it is.
    pub noise: Option<Noise>,
    /// What diff analysis found worth naming: "new `--wrap` flag".
    pub highlights: Vec<String>,
    /// Of `refs`, other pull requests the message only links to ("Follow-up to …/pull/90"):
    /// cited as references, never taken for issues the change fixes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub linked_prs: Vec<u64>,
}

impl Item {
    /// The references an entry for this item cites: its pull request and issues, as the
    /// maintainers cite them. Breaking changes and security fixes keep everything known.
    pub fn cited_by(&self, style: &HouseStyle) -> Vec<u64> {
        let keep_all = self.breaking.is_some() || self.category == Category::Security;
        let mut cited: Vec<u64> = self
            .refs
            .iter()
            .copied()
            .filter(|r| {
                keep_all
                    || if self.pr == Some(*r) {
                        style.cites_prs
                    } else {
                        style.cites_issues
                    }
            })
            .collect();
        if keep_all {
            return cited;
        }
        let is_pr = |r: &u64| self.pr == Some(*r);
        let has_pr = cited.iter().any(is_pr);
        let has_issue = cited
            .iter()
            .any(|r| !is_pr(r) && !self.linked_prs.contains(r));
        match style.when_both {
            WhenBoth::Issues if has_pr && has_issue => {
                cited.retain(|r| !is_pr(r) && !self.linked_prs.contains(r))
            }
            // Linked pull requests go too: these notes cite the entry's own alone.
            WhenBoth::PullRequest if has_pr => cited.retain(is_pr),
            _ => {}
        }
        cited
    }
}

/// A range of commits, understood.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Changeset {
    /// Announceable items, ordered by category (user-visible first), then as committed
    /// (oldest first).
    pub items: Vec<Item>,
    /// What was left out, and why; counted in the notes, never announced.
    pub noise: Vec<Item>,
    /// Secrets found (and redacted) in the commit text, by kind.
    pub secrets: Vec<Finding>,
}

impl Changeset {
    pub fn breaking(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.breaking.is_some())
    }

    pub fn in_category(&self, c: Category) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(move |i| i.category == c)
    }

    /// Everyone who contributed an announceable item, in first-appearance order.
    pub fn contributors(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for a in self.items.iter().flat_map(|i| &i.authors) {
            if !out.contains(a) {
                out.push(a.clone());
            }
        }
        out
    }

    pub fn user_visible(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.category.user_visible())
    }

    /// Sets aside the changes an earlier release's notes announced: an item merged
    /// through a pull request whose number `announced` holds (a fix cherry-picked to a
    /// maintenance line and published in its patch release, then merged into the next
    /// minor) is set aside as [`Noise::Announced`]. Only the item's own pull request counts:
    /// a commit that only "fixes #12", an issue an old release named, may be new work (a
    /// second fix of it), and stays; so does anything without a pull request.
    pub fn set_aside_announced(&mut self, announced: &[u64]) {
        if announced.is_empty() {
            return;
        }
        // A set, whatever order a stored style kept them in.
        let announced: std::collections::BTreeSet<u64> = announced.iter().copied().collect();
        let (before, kept): (Vec<Item>, Vec<Item>) = std::mem::take(&mut self.items)
            .into_iter()
            .partition(|i| i.pr.is_some_and(|pr| announced.contains(&pr)));
        self.items = kept;
        self.noise.extend(before.into_iter().map(|mut i| {
            i.noise = Some(Noise::Announced);
            i
        }));
    }
}

/// A change and its revert in the same range ship nothing: gitui 0.28.0 listed "Show
/// cursor on panic" as a feature and `Revert "Show cursor on panic"` as a bug fix. Both are
/// set aside as reverted; a revert of something outside the range stays a change. The
/// revert names its target as git writes it ("This reverts commit <id>.").
fn cancel_reverts(commits: &[Commit], items: &mut Vec<Item>, noise: &mut Vec<Item>) {
    // Newest first, so a chain settles the same way every time: `Revert "Revert "X""`
    // cancels the revert it undoes, and X stays.
    let reverted: Vec<(&str, &str)> = commits
        .iter()
        .rev()
        .filter(|c| c.subject().starts_with("Revert \""))
        .filter_map(|c| {
            let rest = c.body().split("This reverts commit ").nth(1)?;
            let id = rest
                .get(..40)
                .filter(|id| id.bytes().all(|b| b.is_ascii_hexdigit()))?;
            Some((c.id.as_str(), id))
        })
        .collect();
    if reverted.is_empty() {
        return;
    }
    let merges: std::collections::HashSet<&str> = commits
        .iter()
        .filter(|c| c.is_merge)
        .map(|c| c.id.as_str())
        .collect();
    let holds = |item: &Item, id: &str| item.commits.iter().any(|c| c == id);
    // Only whole items cancel: the revert item is reverts (and the merge that brought
    // them), and what they revert is all of the other item (its own commits, or its merge).
    // A pull request that reverts one commit of another (clap's epage/raw undid a commit
    // of an earlier branch) cancels neither.
    let targets: std::collections::HashSet<&str> = reverted.iter().map(|(_, t)| *t).collect();
    let reverts: std::collections::HashSet<&str> = reverted.iter().map(|(r, _)| *r).collect();
    let all_reverts = |item: &Item| {
        item.commits
            .iter()
            .all(|c| reverts.contains(c.as_str()) || merges.contains(c.as_str()))
    };
    let all_reverted = |item: &Item| {
        item.commits
            .iter()
            .any(|c| targets.contains(c.as_str()) && merges.contains(c.as_str()))
            || item
                .commits
                .iter()
                .all(|c| targets.contains(c.as_str()) || merges.contains(c.as_str()))
    };
    let mut cancelled: Vec<usize> = Vec::new();
    for (revert, target) in &reverted {
        let (Some(r), Some(t)) = (
            items.iter().position(|i| holds(i, revert)),
            items.iter().position(|i| holds(i, target)),
        ) else {
            continue;
        };
        if r != t
            && all_reverts(&items[r])
            && all_reverted(&items[t])
            && !cancelled.contains(&r)
            && !cancelled.contains(&t)
        {
            cancelled.extend([r, t]);
        }
    }
    cancelled.sort_unstable();
    for at in cancelled.into_iter().rev() {
        let mut item = items.remove(at);
        item.noise = Some(Noise::Reverted);
        noise.push(item);
    }
}

/// Understands commits given oldest first (as `git log --reverse` lists them).
pub fn understand(commits: &[Commit]) -> Changeset {
    understand_in(commits, None)
}

/// [`understand`], for a repository whose owner (the GitHub user or organisation in
/// `owner/name`) is known. A pull request merged from a branch of the repository itself
/// ("Merge pull request #1770 from prometheus/superq/update_test_url" in
/// prometheus/client_golang) names the owner, not the person: the credit goes to the
/// people whose commits it brought, never "@prometheus".
pub fn understand_in(commits: &[Commit], owner: Option<&str>) -> Changeset {
    let mut items = Vec::new();
    let mut noise = Vec::new();
    let mut secrets = Vec::new();
    // A pull request's merge commit lists no files of its own (its branch's commits carry
    // them); what the PR touched tells what kind of change it is ("Merge pull request #1964
    // … Remove Arthur from the list of maintainers" touched CODEOWNERS and MAINTAINERS.md).
    let mut brought: HashMap<&str, std::collections::BTreeSet<&str>> = HashMap::new();
    // A merge whose message has no title (merged from the command line or an old client:
    // "Merge pull request #1981 from thegdsks/examples/native-histogram" and nothing else)
    // is titled by the first commit it brought that is a change of its own: never by a
    // "Fix typo" or "Merge branch 'main'" that came first, which would make the whole PR a
    // typo fix or a merge. With none, by its branch ("native-histogram" → "Native
    // histogram").
    let mut own: HashMap<&str, Vec<&Commit>> = HashMap::new();
    for c in commits {
        if let Some(merge) = c.part_of.as_deref() {
            brought
                .entry(merge)
                .or_default()
                .extend(c.files.iter().map(String::as_str));
            own.entry(merge).or_default().push(c);
        }
    }
    let pr_title = |merge: &Commit| -> Option<String> {
        let brought = own.get(merge.id.as_str())?;
        let title = match brought
            .iter()
            .find(|c| brought.len() == 1 || classify_commit(c).noise.is_none())
        {
            Some(c) => c.subject().to_owned(),
            None => {
                let branch = crate::refs::merge_source_branch(merge.subject())?;
                let name = branch.rsplit('/').next().unwrap_or(branch);
                name.replace(['-', '_'], " ").trim().to_owned()
            }
        };
        // Redacted: the title joins a message that has already been scanned.
        (!title.is_empty()).then(|| redact_secrets(&title).0)
    };
    // The subjects of the range, for a squashed release's folded lines (made once, when
    // the range has such a release).
    let said_elsewhere: std::cell::OnceCell<std::collections::HashSet<String>> =
        std::cell::OnceCell::new();
    // "For https://github.com/open-telemetry/opentelemetry-go/pull/5755" or "see
    // golang/go#19841" points at another project's numbers, not this one's; then an item is
    // a change or noise.
    let keep = |mut item: Item, message: &str, items: &mut Vec<Item>, noise: &mut Vec<Item>| {
        if let Some(owner) = owner {
            let foreign = crate::refs::foreign_refs(message, owner);
            item.refs.retain(|r| !foreign.contains(r));
        }
        if item.noise.is_some() {
            noise.push(item);
        } else {
            items.push(item);
        }
    };
    // Website folders this range shows to be a site generator's: what changes only them
    // is documentation, whatever its files are written in.
    let sites = crate::classify::site_roots(
        commits
            .iter()
            .flat_map(|c| c.files.iter().map(String::as_str)),
    );
    for commit in commits {
        // Nothing downstream ever sees a credential that slipped into a message.
        let (message, found) = redact_secrets(&commit.message);
        secrets.extend(found);
        for kind in &commit.diff_secrets {
            secrets.push(Finding {
                kind: secret_kind_name(kind),
            });
        }
        let files = match brought.get(commit.id.as_str()) {
            Some(files) if commit.files.is_empty() => {
                Some(files.iter().map(|f| (*f).to_owned()).collect::<Vec<_>>())
            }
            _ => None,
        };
        let untitled =
            commit.subject().starts_with("Merge pull request #") && commit.body().trim().is_empty();
        let message = match untitled.then(|| pr_title(commit)).flatten() {
            Some(title) => format!("{}\n\n{title}", message.trim_end()),
            None => message,
        };
        let clean;
        let commit = if message == commit.message && files.is_none() {
            commit
        } else {
            clean = Commit {
                message,
                files: files.unwrap_or_else(|| commit.files.clone()),
                ..commit.clone()
            };
            &clean
        };
        let mut item = classify_commit(commit);
        if item.noise.is_none()
            && item.breaking.is_none()
            && !matches!(item.category, Category::Security | Category::Docs)
            && crate::classify::all_in_site(&commit.files, &sites)
        {
            item.category = Category::Docs;
        }
        // A squashed release pull request ("release: cut v1.24.1 (#2076)") carries the
        // changes cherry-picked onto its branch, one `* subject` line each: those are the
        // release's changes, each understood on its own.
        if let Some(folded) = (item.noise == Some(Noise::VersionBump))
            .then(|| {
                release_squash(commit, || {
                    said_elsewhere.get_or_init(|| {
                        commits
                            .iter()
                            .filter(|c| c.id != commit.id)
                            .map(|c| said(c.subject()))
                            .collect()
                    })
                })
            })
            .flatten()
        {
            for c in &folded {
                keep(classify_commit(c), &c.message, &mut items, &mut noise);
            }
            continue;
        }
        if let Some(owner) = owner
            && crate::refs::merge_source_login(commit.subject())
                .is_some_and(|l| l.eq_ignore_ascii_case(owner))
        {
            let handle = format!("@{owner}");
            item.authors.retain(|a| !a.eq_ignore_ascii_case(&handle));
        }
        keep(item, &commit.message, &mut items, &mut noise);
    }
    // A merged PR's own commits (marked `part_of` by the source) fold into the PR's item:
    // their authors and what they changed count, their subjects are not listed.
    // Lookups go through maps: a range can hold tens of thousands of commits.
    let part_of_commit: HashMap<&str, &str> = commits
        .iter()
        .filter_map(|c| c.part_of.as_deref().map(|m| (c.id.as_str(), m)))
        .collect();
    let part_of = |item: &Item| -> Option<String> {
        item.commits
            .first()
            .and_then(|id| part_of_commit.get(id.as_str()))
            .map(|m| (*m).to_owned())
    };
    let (folded, items): (Vec<Item>, Vec<Item>) =
        items.into_iter().partition(|i| part_of(i).is_some());
    // The same pull request can arrive as several commits (a merge and its squash, or a
    // PR's commits each carrying "(#N)"): one item per PR, the first title kept.
    let mut merged: Vec<Item> = Vec::new();
    let mut by_pr: HashMap<u64, usize> = HashMap::new();
    for item in items {
        match item.pr.and_then(|n| by_pr.get(&n).copied()) {
            Some(at) => absorb(&mut merged[at], item),
            None => {
                if let Some(n) = item.pr {
                    by_pr.insert(n, merged.len());
                }
                merged.push(item);
            }
        }
    }
    // Noise inside a pull request (a "fix typo" commit, a bump's own commit) belongs to
    // the PR as well: a PR is counted once, whatever it carries.
    let (folded_noise, mut noise): (Vec<Item>, Vec<Item>) =
        noise.into_iter().partition(|i| part_of(i).is_some());
    let first_commit = |items: &[Item]| -> HashMap<String, usize> {
        items
            .iter()
            .enumerate()
            .filter_map(|(at, i)| i.commits.first().map(|c| (c.clone(), at)))
            .collect()
    };
    let merged_at = first_commit(&merged);
    let noise_at = first_commit(&noise);
    for item in folded.into_iter().chain(folded_noise) {
        let Some(merge) = part_of(&item) else {
            continue;
        };
        if let Some(&at) = merged_at.get(&merge) {
            if item.noise.is_some() {
                merged[at].commits.extend(item.commits);
            } else {
                absorb(&mut merged[at], item);
            }
        } else if let Some(&at) = noise_at.get(&merge) {
            noise[at].commits.extend(item.commits);
        } else if item.noise.is_some() {
            // The merge itself lies outside the range: keep the commit as it is.
            noise.push(item);
        } else {
            merged.push(item);
        }
    }
    cancel_reverts(commits, &mut merged, &mut noise);
    // Stable: within a category, items keep commit order.
    merged.sort_by_key(|i| i.category);
    let people = People::from_commits(commits);
    for item in merged.iter_mut().chain(noise.iter_mut()) {
        people.canonical(&mut item.authors);
    }
    credit_names_as_logins(merged.iter_mut().chain(noise.iter_mut()));
    drop_reviewing_co_authors(&mut merged);
    Changeset {
        items: merged,
        noise,
        secrets,
    }
}

/// The commits a squashed release pull request folds in, as GitHub writes them in the
/// squash's body (`* subject` at the start of a line, then that commit's own paragraph): for
/// a commit that is release bookkeeping itself (its caller knows), names a version, and
/// lists two or more. `None` for any other commit: a feature's squash lists its
/// work-in-progress commits, which its title already says; the notes' tooling
/// ("ci(release): refactor changelog regex patterns", gin) names no version.
///
/// A body that is a changelog or GitHub's generated notes (headings, markdown links,
/// "… by @ada in https://…") lists changes already in the range, not commits: not unfolded.
/// When some lines cite their pull request ("Fix X (#12)"), those are the changes and the
/// rest is work in progress. A line that another commit of the range already says (its
/// subject, less its reference) is that commit, not a second change.
///
/// Each folded commit keeps the squash's id and its files less those the release itself
/// wrote (a fix folded beside the changelog is a fix); its message is its own line and
/// paragraph (its trailers credit its co-authors), never the release pull request's number
/// or the person who cut the release.
fn release_squash<'a>(
    commit: &Commit,
    said_elsewhere: impl FnOnce() -> &'a std::collections::HashSet<String>,
) -> Option<Vec<Commit>> {
    if !classify::has_version_number(&commit.subject().to_ascii_lowercase()) {
        return None;
    }
    let body = commit.body();
    if body
        .lines()
        .any(|l| l.starts_with("## ") || l.starts_with("### "))
    {
        return None;
    }
    let mut folded: Vec<(String, String)> = Vec::new();
    for line in body.lines() {
        if let Some(subject) = line.strip_prefix("* ") {
            folded.push((subject.trim().to_owned(), String::new()));
        } else if let Some((_, paragraph)) = folded.last_mut() {
            paragraph.push_str(line);
            paragraph.push('\n');
        }
    }
    folded.retain(|(subject, _)| !subject.is_empty());
    if folded
        .iter()
        .any(|(s, _)| s.contains("](") || s.contains(" in https://") || s.contains(" by @"))
    {
        return None;
    }
    if folded.iter().any(|(s, _)| cites_its_pull_request(s)) {
        folded.retain(|(s, _)| cites_its_pull_request(s));
    }
    // What the changes touched, without what the release wrote itself (its notes, its
    // version, manifests and lockfiles). A release that touched nothing else carried no
    // change to unfold.
    let files: Vec<String> = commit
        .files
        .iter()
        .filter(|f| !classify::is_release_file(f))
        .cloned()
        .collect();
    if folded.len() < 2 || files.is_empty() {
        return None;
    }
    let elsewhere = said_elsewhere();
    Some(
        folded
            .into_iter()
            .filter(|(subject, _)| !elsewhere.contains(&said(subject)))
            .map(|(subject, paragraph)| Commit {
                message: format!("{subject}\n\n{}", paragraph.trim()),
                files: files.clone(),
                author_name: String::new(),
                author_email: String::new(),
                author_login: None,
                symbols: Vec::new(),
                diff_secrets: Vec::new(),
                ..commit.clone()
            })
            .collect(),
    )
}

/// "Fix X (#12)": a subject ending in its pull request's number.
fn cites_its_pull_request(subject: &str) -> bool {
    subject
        .trim_end()
        .strip_suffix(')')
        .and_then(|s| s.rsplit_once("(#"))
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// What a subject says, for telling one change written twice: lower case, without its
/// trailing pull request number.
pub fn said(subject: &str) -> String {
    let s = subject.trim();
    let s = match s.rsplit_once(" (#") {
        Some((head, tail)) if tail.ends_with(')') => head,
        _ => s,
    };
    s.to_lowercase()
}

/// Who is who across a range: one person appears as a login on one commit, a name on
/// another, and again in a `Co-authored-by:` trailer, maybe under a placeholder name. Two
/// appearances are one person when they share an email, a login (GitHub's no-reply address
/// `123+login@users.noreply.github.com` carries it) or a name; each person is credited once,
/// as `@login` when one is known.
struct People {
    /// Lower-cased name or `@login` → how the person is credited.
    alias: HashMap<String, String>,
}

impl People {
    fn from_commits(commits: &[Commit]) -> Self {
        // Each group: its identifying tokens and its credit.
        let mut groups: Vec<(std::collections::HashSet<String>, String, Vec<String>)> = Vec::new();
        let login_of = |email: &str| {
            let at = email.rfind('@')?;
            let (local, domain) = (&email[..at], &email[at + 1..]);
            if !domain.eq_ignore_ascii_case("users.noreply.github.com") {
                return None;
            }
            Some(local.rsplit('+').next().unwrap_or(local).to_owned())
        };
        let mut add = |name: &str, email: &str, login: Option<String>, named: bool| {
            let login = login.or_else(|| login_of(email));
            let mut tokens = std::collections::HashSet::new();
            let mut displays = Vec::new();
            if !email.is_empty() {
                tokens.insert(format!("e:{}", email.to_ascii_lowercase()));
            }
            if let Some(l) = &login {
                tokens.insert(format!("l:{}", l.to_ascii_lowercase()));
                // A name equal to a login is that login ("bruceNu1l" and @bruceNu1l).
                tokens.insert(format!("n:{}", l.to_ascii_lowercase()));
                displays.push(format!("@{l}"));
            }
            if !name.is_empty() {
                // Only an author's own name identifies them: trailers carry placeholders
                // ("Co-authored-by: Name <…>") that would join strangers.
                if named {
                    tokens.insert(format!("n:{}", name.to_lowercase()));
                    // The same mailbox name and the same first and last names, at two
                    // addresses ("Jean byroot Boussier" <jean.boussier+github@shopify.com>
                    // and "Jean Boussier" <jean.boussier@gmail.com>): one person.
                    let words: Vec<String> =
                        name.split_whitespace().map(str::to_lowercase).collect();
                    let local = email.split('@').next().unwrap_or_default();
                    let local = local.split('+').next().unwrap_or_default();
                    if let ([first, .., last], false) = (words.as_slice(), local.is_empty()) {
                        tokens.insert(format!("m:{}|{first}|{last}", local.to_ascii_lowercase()));
                    }
                } else if !name.contains(' ') && name.len() > 4 {
                    // A trailer naming someone by a single handle-like word is that
                    // login ("Co-authored-by: pawannn <…>" is @pawannn).
                    tokens.insert(format!("l:{}", name.to_lowercase()));
                }
                displays.push(name.to_owned());
            }
            let credit = login
                .map(|l| format!("@{l}"))
                .unwrap_or_else(|| name.to_owned());
            let matching: Vec<usize> = (0..groups.len())
                .filter(|&g| !groups[g].0.is_disjoint(&tokens))
                .collect();
            let mut group = (tokens, credit, displays);
            for &g in matching.iter().rev() {
                let (t, c, d) = groups.remove(g);
                group.0.extend(t);
                group.2.extend(d);
                // A login beats a name; otherwise the first appearance stays.
                if c.starts_with('@') || !group.1.starts_with('@') {
                    group.1 = c;
                }
            }
            groups.push(group);
        };
        for c in commits {
            add(
                &c.author_name,
                &c.author_email,
                c.author_login.clone(),
                true,
            );
            for p in co_authors(&c.message) {
                add(&p.name, &p.email, None, false);
            }
        }
        // A display two people share ("Name") is left as it is.
        let mut alias: HashMap<String, Option<String>> = HashMap::new();
        for (_, credit, displays) in groups {
            for d in displays {
                alias
                    .entry(d.to_lowercase())
                    .and_modify(|c| {
                        if c.as_ref() != Some(&credit) {
                            *c = None;
                        }
                    })
                    .or_insert_with(|| Some(credit.clone()));
            }
        }
        Self {
            alias: alias
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect(),
        }
    }

    /// Credits each person in `authors` once, as the group names them.
    fn canonical(&self, authors: &mut Vec<String>) {
        let mut out: Vec<String> = Vec::new();
        for a in authors.drain(..) {
            let credit = self.alias.get(&a.to_lowercase()).cloned().unwrap_or(a);
            if !out.contains(&credit) {
                out.push(credit);
            }
        }
        *authors = out;
    }
}

/// A maintainer who applies review suggestions becomes a co-author of many squashed pull
/// requests (gin v1.12.0: Bo-Yi Wu on 18 of them); crediting them on each reads as if they
/// wrote the release. Someone with work of their own in the release (first author of an
/// item) who is also a co-author of at least three items and of a fifth of the items that
/// credit anyone keeps the credit only where they come first. A co-author with no item of
/// their own (a pair) keeps every credit: they would vanish from the release otherwise.
fn drop_reviewing_co_authors(items: &mut [Item]) {
    let credited = items.iter().filter(|i| !i.authors.is_empty()).count();
    let firsts: std::collections::HashSet<String> = items
        .iter()
        .filter_map(|i| i.authors.first().map(|a| a.to_lowercase()))
        .collect();
    let mut seconds: HashMap<String, usize> = HashMap::new();
    for item in items.iter() {
        for a in item.authors.iter().skip(1) {
            *seconds.entry(a.to_lowercase()).or_default() += 1;
        }
    }
    let reviewing: Vec<String> = seconds
        .into_iter()
        .filter(|(a, n)| *n >= 3 && n * 5 >= credited && firsts.contains(a))
        .map(|(a, _)| a)
        .collect();
    if reviewing.is_empty() {
        return;
    }
    for item in items.iter_mut() {
        let mut at = 0;
        item.authors.retain(|a| {
            at += 1;
            at == 1 || !reviewing.contains(&a.to_lowercase())
        });
    }
}

/// A pull request's merge names its author by login ("from epage/branch"), its commits by
/// name ("Ed Page"), with nothing else joining the two. A login that is the name written the
/// way logins are (`epage`, `edpage`, `ed-page`, `page`) is that person, credited once, as
/// the login. A name two logins could be is left alone.
/// A login made of a short form of the first name and the surname ("DannyStoll1" for
/// Daniel Stoll, gitui 0.28.1 credited both): the surname (4 letters or more) ends the
/// login, before any digits, and what comes before it starts like the first name (3
/// letters or more). Unique matches only, as for every other form.
fn nickname_and_surname(login: &str, name: &str) -> bool {
    let words: Vec<String> = name.split_whitespace().map(|w| w.to_lowercase()).collect();
    let [first, last] = words.as_slice() else {
        return false;
    };
    let login = login.to_ascii_lowercase();
    let login = login.trim_end_matches(|c: char| c.is_ascii_digit());
    let Some(nick) = login.strip_suffix(last.as_str()) else {
        return false;
    };
    last.chars().count() >= 4
        && nick.len() >= 3
        && first.len() >= 3
        && first.is_ascii()
        && nick[..3] == first[..3]
}

fn credit_names_as_logins<'a>(items: impl Iterator<Item = &'a mut Item>) {
    let items: Vec<&mut Item> = items.collect();
    // Lower-cased login → the login as first credited (its case kept: `@JohnDoe`).
    let mut logins: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for a in items.iter().flat_map(|i| &i.authors) {
        if let Some(l) = a.strip_prefix('@') {
            logins
                .entry(l.to_ascii_lowercase())
                .or_insert_with(|| a.clone());
        }
    }
    if logins.is_empty() {
        return;
    }
    // Each name → the logins credited beside it on the same items.
    let mut beside: HashMap<&str, std::collections::HashSet<String>> = HashMap::new();
    for item in &items {
        for name in item.authors.iter().filter(|a| !a.starts_with('@')) {
            beside.entry(name.as_str()).or_default().extend(
                item.authors
                    .iter()
                    .filter_map(|a| a.strip_prefix('@'))
                    .map(str::to_ascii_lowercase),
            );
        }
    }
    // Each name → the one login it could be; a login two names could be is no one's.
    let mut login_of: HashMap<String, Option<String>> = HashMap::new();
    for item in &items {
        for name in item.authors.iter().filter(|a| !a.starts_with('@')) {
            if login_of.contains_key(name) {
                continue;
            }
            let forms = login_forms(name);
            // Or the whole name run together after a short prefix or before digits
            // ("thegdsks" for GDS K S, "johnsmith42"); never inside a longer name
            // ("weiliang" is not Wei Li).
            let run = forms.first().filter(|f| f.len() >= 5);
            let holds_run = |login: &str| {
                run.is_some_and(|r| {
                    let login = login.to_ascii_lowercase();
                    login.strip_suffix(r.as_str()).is_some_and(|p| p.len() <= 3)
                        || login
                            .strip_prefix(r.as_str())
                            .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
                })
            };
            // A one-word name that starts a login credited on the same change, which
            // adds at most three characters ("Shivanth" and @shivanthzen co-authoring
            // client_golang #1654). Elsewhere in the release it could be someone else.
            let word = (!name.contains(char::is_whitespace) && name.chars().count() >= 7)
                .then(|| name.to_lowercase());
            let near = beside.get(name.as_str());
            let starts = |login: &str| {
                near.is_some_and(|n| n.contains(login))
                    && word.as_deref().is_some_and(|w| {
                        login
                            .strip_prefix(w)
                            .is_some_and(|rest| !rest.is_empty() && rest.len() <= 3)
                    })
            };
            let mut found = logins.keys().filter(|l| {
                // A one-word name that is the login itself ("s3onghyun" and
                // @s3onghyun, client_golang 1.24.0) is that person.
                **l == name.to_ascii_lowercase()
                    || starts(l)
                    || forms.contains(*l)
                    || holds_run(l)
                    || nickname_and_surname(l, name)
            });
            let only = match (found.next(), found.next()) {
                (Some(l), None) => Some(l.clone()),
                _ => None,
            };
            login_of.insert(name.clone(), only);
        }
    }
    let mut claims: HashMap<&str, usize> = HashMap::new();
    for login in login_of.values().flatten() {
        *claims.entry(login.as_str()).or_default() += 1;
    }
    let credit_of: HashMap<&String, &String> = login_of
        .iter()
        .filter_map(|(name, login)| {
            let login = login.as_ref()?;
            (claims.get(login.as_str()) == Some(&1)).then(|| (name, &logins[login]))
        })
        .collect();
    for item in items {
        let mut out: Vec<String> = Vec::new();
        for a in item.authors.drain(..) {
            let credit = credit_of.get(&a).map_or(a, |login| (*login).clone());
            if !out.contains(&credit) {
                out.push(credit);
            }
        }
        item.authors = out;
    }
}

/// How people make a login of their name "Ed Page": `edpage`, `epage`, `ed-page`, `ed.page`,
/// `ed_page`, `pagee`, `pageed`; a first or last name of six letters or more alone
/// (`sylvestre` for Sylvestre Ledru; `page` is too short). Single-word names are joined by `People` already.
fn login_forms(name: &str) -> Vec<String> {
    // A name with letters a login cannot hold is written both ways: "Jan-Otto Kröpke" is
    // @jkroepke (German spelling) or @jkropke (the mark dropped).
    let mut forms = login_forms_of(name, true);
    for f in login_forms_of(name, false) {
        if !forms.contains(&f) {
            forms.push(f);
        }
    }
    forms
}

/// A letter as a login writes it: `ö` as `oe` (`german`) or `o`.
fn ascii_letter(c: char, german: bool, out: &mut String) {
    let plain = match c.to_lowercase().next().unwrap_or(c) {
        'ä' => return out.push_str(if german { "ae" } else { "a" }),
        'ö' | 'ø' => return out.push_str(if german { "oe" } else { "o" }),
        'ü' => return out.push_str(if german { "ue" } else { "u" }),
        'ß' => return out.push_str("ss"),
        'à' | 'á' | 'â' | 'ã' | 'å' | 'ą' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'ę' | 'ě' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' => 'o',
        'ù' | 'ú' | 'û' | 'ů' => 'u',
        'ý' | 'ÿ' => 'y',
        'ł' => 'l',
        'ś' | 'š' => 's',
        'ź' | 'ż' | 'ž' => 'z',
        'ř' => 'r',
        other => other,
    };
    if plain.is_ascii_alphanumeric() {
        out.push(plain.to_ascii_lowercase());
    }
}

fn login_forms_of(name: &str, german: bool) -> Vec<String> {
    let words: Vec<String> = name
        .split_whitespace()
        .map(|w| {
            let mut out = String::new();
            for c in w.chars() {
                ascii_letter(c, german, &mut out);
            }
            out
        })
        .filter(|w| !w.is_empty())
        .collect();
    if words.len() < 2 {
        return Vec::new();
    }
    let (first, last) = (&words[0], &words[words.len() - 1]);
    let initial = &first[..first.chars().next().map_or(0, char::len_utf8)];
    let mut forms = vec![
        words.concat(),
        format!("{first}{last}"),
        format!("{initial}{last}"),
        format!("{first}-{last}"),
        format!("{first}.{last}"),
        format!("{first}_{last}"),
        format!("{last}{first}"),
        format!("{last}{initial}"),
    ];
    // A login that is one of the names alone ("@sylvestre" for Sylvestre Ledru, and a
    // middle name: "@mushfiqur" for Md Mushfiqur Rahim, client_golang 1.24.0), when the name
    // is long enough to be told apart from other people's.
    for name in &words {
        if name.len() >= 6 && !forms.contains(name) {
            forms.push(name.clone());
        }
    }
    // Too short to tell people apart ("ep"): never a match.
    forms.retain(|f| f.len() >= 4);
    forms
}

/// Kinds arrive as text from sources; findings name them with the scanner's own words.
fn secret_kind_name(kind: &str) -> &'static str {
    const KNOWN: [&str; 11] = [
        "GitHub token",
        "AWS access key",
        "Slack token",
        "webhook URL",
        "API key",
        "GitLab token",
        "Covalynce token",
        "JSON web token",
        "Google API key",
        "private key",
        "secret",
    ];
    KNOWN
        .iter()
        .find(|k| **k == kind)
        .copied()
        .unwrap_or("secret")
}

/// Folds `item` into `existing` (same pull request): commits, authors, refs, breaking note
/// and highlights join; the title stays.
fn absorb(existing: &mut Item, item: Item) {
    existing.commits.extend(item.commits);
    for a in item.authors {
        if !existing.authors.contains(&a) {
            existing.authors.push(a);
        }
    }
    for r in item.refs {
        if !existing.refs.contains(&r) {
            existing.refs.push(r);
        }
    }
    for r in item.linked_prs {
        if !existing.linked_prs.contains(&r) {
            existing.linked_prs.push(r);
        }
    }
    if existing.breaking.is_none() {
        existing.breaking = item.breaking;
    }
    for h in item.highlights {
        if existing.highlights.len() < 3 && !existing.highlights.contains(&h) {
            existing.highlights.push(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Category, Commit, Noise, understand};
    use proptest::prelude::*;

    fn by(n: usize, message: &str, name: &str, email: &str, login: Option<&str>) -> Commit {
        Commit {
            id: format!("{n:040x}"),
            message: message.into(),
            author_name: name.into(),
            author_email: email.into(),
            author_login: login.map(str::to_owned),
            files: vec![format!("src/f{n}.rs")],
            ..Commit::default()
        }
    }

    /// htmx v4.0.0-beta5 listed "update www" (the bundle copied into its Astro site),
    /// "add BreadcrumbList JSON-LD structured data" and "update integrity.json" as features:
    /// scripts and data of its website. A Cordova app's `www/js/` is the app.
    #[test]
    fn a_site_generators_folder_is_documentation_scripts_and_all() {
        let site = [
            commit(
                1,
                "add BreadcrumbList JSON-LD structured data",
                &["www/src/lib/jsonld.js", "www/src/pages/[...slug].astro"],
            ),
            commit(2, "update www", &["www/public/js/htmx.js"]),
            commit(3, "update integrity.json", &["www/src/data/integrity.json"]),
            commit(4, "add hx-prompt extension", &["src/ext/hx-prompt.js"]),
            commit(
                5,
                "fix: escape titles in the search index (XSS)",
                &["www/src/pages/search-index.json.js"],
            ),
        ];
        let c = understand(&site);
        let category = |title: &str| {
            c.items
                .iter()
                .find(|i| i.title.to_lowercase().contains(title))
                .map(|i| i.category)
        };
        assert_eq!(category("breadcrumblist"), Some(Category::Docs));
        assert_eq!(category("update www"), Some(Category::Docs));
        assert_eq!(category("integrity.json"), Some(Category::Docs));
        assert_eq!(category("hx-prompt"), Some(Category::Feature));
        assert_eq!(category("escape titles"), Some(Category::Security));
        // No site generator's file in the range: `www/` is an app's web root.
        let app = [
            commit(
                1,
                "add offline mode",
                &["www/js/index.js", "www/css/index.css"],
            ),
            commit(2, "update www", &["www/index.html", "www/js/sync.js"]),
        ];
        let c = understand(&app);
        assert!(
            c.items.iter().all(|i| i.category == Category::Feature),
            "{:?}",
            c.items
        );
        // A server kept in `website/` with its views: its code is the program.
        let server = [
            commit(
                1,
                "add signup form",
                &["website/views/signup.hbs", "website/server.go"],
            ),
            commit(2, "fix session expiry", &["website/server.go"]),
            commit(3, "add pricing page", &["website/src/pages/pricing.mdx"]),
        ];
        let c = understand(&server);
        assert_eq!(
            c.items
                .iter()
                .find(|i| i.title.contains("session"))
                .map(|i| i.category),
            Some(Category::Fix)
        );
        assert_eq!(
            c.items
                .iter()
                .find(|i| i.title.contains("signup"))
                .map(|i| i.category),
            Some(Category::Feature)
        );
    }

    /// prometheus/client_golang v1.24.1 is one commit, "release: cut v1.24.1 (#2076)", a
    /// squash of the fix cherry-picked for it, a dependency bump and the changelog and
    /// version edits. The draft said "no user-facing changes"; the maintainers' notes list
    /// the fix. A feature's squash keeps its title, whatever commits it folded.
    #[test]
    fn a_squashed_release_lists_the_changes_it_folded_in() {
        let release = commit(
            1,
            "release: cut v1.24.1 (#2076)\n\n* build(deps): bump github.com/prometheus/common from 0.69.0 to 0.70.1\n\nBumps [github.com/prometheus/common](https://github.com/prometheus/common) from 0.69.0 to 0.70.1.\n- [Release notes](https://github.com/prometheus/common/releases)\n\nSigned-off-by: dependabot[bot] <support@github.com>\n(cherry picked from commit f3a330f444c71d7816b5e028bc5aac386f87fe16)\n\n* promhttp: fix panic on requests with nil URL\n\n(cherry picked from commit 4976da8694931d49ba1c70811225391835bdd09d)\n\n* Update CHANGELOG.md for 1.24.1\n\n* Update VERSION to 1.24.1",
            &[
                "CHANGELOG.md",
                "VERSION",
                "go.mod",
                "go.sum",
                "prometheus/promhttp/http.go",
                "prometheus/promhttp/http_test.go",
            ],
        );
        let changes = understand_in(std::slice::from_ref(&release), Some("prometheus"));
        let titles: Vec<(&str, Category)> = changes
            .items
            .iter()
            .map(|i| (i.title.as_str(), i.category))
            .collect();
        assert_eq!(
            titles,
            [("Fix panic on requests with nil URL", Category::Fix)],
            "{changes:?}"
        );
        // The release pull request's number is the release's, not the fix's.
        assert!(changes.items[0].refs.is_empty(), "{:?}", changes.items[0]);
        assert_eq!(
            changes.noise.len(),
            3,
            "the bump, the changelog and the version"
        );
        // The fix is not credited to whoever cut the release.
        assert!(
            changes.items[0].authors.is_empty(),
            "{:?}",
            changes.items[0]
        );

        // A release pull request whose body is the changelog (release-please) or GitHub's
        // generated notes lists changes the range already holds: not unfolded.
        for body in [
            "## [1.2.3](https://github.com/acme/x/compare/v1.2.2...v1.2.3)\n\n### Bug Fixes\n\n* **parser:** stop crashing ([#43](https://github.com/acme/x/issues/43)) ([abc1234](https://github.com/acme/x/commit/abc1234))\n* **cli:** exit 1 on error ([#44](https://github.com/acme/x/issues/44))",
            "* Fix X by @ada in https://github.com/acme/x/pull/12\n* Fix Y by @bob in https://github.com/acme/x/pull/13",
        ] {
            let generated = commit(
                4,
                &format!("chore(main): release 1.2.3 (#45)\n\n{body}"),
                &["CHANGELOG.md", "src/lib.rs"],
            );
            let changes = understand_in(std::slice::from_ref(&generated), None);
            assert!(changes.items.is_empty(), "{changes:?}");
        }
        // A line that another commit of the range says is that commit, once; lines that
        // cite their pull request are the changes, the rest work in progress.
        let fix = commit(5, "Fix panic on empty input (#40)", &["src/lib.rs"]);
        let cut = commit(
            6,
            "Release v2.0.1 (#41)\n\n* Fix panic on empty input (#40)\n\n* Add retry to uploads (#39)\n\n* wip\n\n* review",
            &["CHANGELOG.md", "src/lib.rs"],
        );
        let changes = understand_in(&[fix, cut], None);
        let titles: Vec<&str> = changes.items.iter().map(|i| i.title.as_str()).collect();
        assert_eq!(
            titles,
            ["Add retry to uploads", "Fix panic on empty input"],
            "{changes:?}"
        );

        // The notes' tooling is not a release, whatever it folded (gin v1.10.0).
        let tooling = commit(
            3,
            "ci(release): refactor changelog regex patterns and exclusions (#3914)\n\n* chore: refactor changelog regex patterns and exclusions\n\n* chore: update configuration file field names\n\n* update",
            &[".goreleaser.yaml", "src/lib.rs"],
        );
        let changes = understand_in(std::slice::from_ref(&tooling), None);
        assert!(changes.items.is_empty(), "{changes:?}");
        assert_eq!(changes.noise.len(), 1);

        let feature = commit(
            2,
            "Add CSV export (#12)\n\n* wip\n\n* fix tests\n\n* review",
            &["src/export.rs"],
        );
        let changes = understand_in(std::slice::from_ref(&feature), None);
        assert_eq!(changes.items.len(), 1);
        assert_eq!(changes.items[0].title, "Add CSV export");
        assert_eq!(changes.items[0].refs, vec![12]);
    }

    /// A link to another project's issue is context, not this project's work: the notes
    /// cite the pull request, not golang/go's issue 19841.
    #[test]
    fn links_to_another_projects_issues_are_not_cited_as_this_ones() {
        let c = commit(
            1,
            "process_collector: fill in memory values on macOS (#1616)\n\n[2] https://github.com/golang/go/issues/19841#issuecomment-1",
            &["prometheus/process_collector_darwin.go"],
        );
        let changes = understand_in(std::slice::from_ref(&c), Some("prometheus"));
        assert_eq!(changes.items[0].refs, vec![1616]);
        // Without the owner the link cannot be told apart, and stays.
        let unknown = understand_in(std::slice::from_ref(&c), None);
        assert_eq!(unknown.items[0].refs, vec![1616, 19841]);
    }

    /// gitui 0.28.1 thanked "@DannyStoll1" and "Daniel Stoll": one person.
    /// prometheus/client_golang v1.23.0 thanked "@prometheus and SuperQ" for #1770, merged
    /// from the project's own branch `prometheus/superq/update_test_url`: the organisation is
    /// not a contributor. A fork's branch still credits its owner, and so does the same
    /// merge when the owner is not known.
    #[test]
    fn a_pull_request_from_the_repositorys_own_branch_credits_its_authors_not_the_owner() {
        let merge = |n: u32, from: &str| Commit {
            id: format!("{n:040x}"),
            message: format!("Merge pull request #{n} from {from}\n\nUpdate example server URL"),
            author_name: "Ben Kochie".into(),
            author_email: "superq@gmail.com".into(),
            is_merge: true,
            ..Commit::default()
        };
        let brought = |n: u32, part_of: u32, name: &str| Commit {
            id: format!("{n:040x}"),
            message: "Update example server URL".into(),
            author_name: name.into(),
            author_email: format!("{}@example.com", name.to_lowercase()),
            files: vec!["examples/simple/main.go".into()],
            part_of: Some(format!("{part_of:040x}")),
            ..Commit::default()
        };
        let own = [
            brought(1, 2, "SuperQ"),
            merge(2, "prometheus/superq/update_test_url"),
        ];
        let cs = understand_in(&own, Some("prometheus"));
        assert_eq!(cs.items.len(), 1, "{cs:?}");
        assert_eq!(cs.items[0].authors, ["SuperQ"]);
        assert!(
            understand(&own).items[0]
                .authors
                .contains(&"@prometheus".to_owned()),
            "without the owner, the login is all there is to go on"
        );
        let fork = [
            brought(3, 4, "Gaurav"),
            merge(4, "thegdsks/examples/native-histogram"),
        ];
        let cs = understand_in(&fork, Some("prometheus"));
        assert!(
            cs.items[0].authors.contains(&"@thegdsks".to_owned()),
            "{cs:?}"
        );
    }

    #[test]
    fn a_login_of_a_short_first_name_and_the_surname_is_that_person() {
        assert!(nickname_and_surname("DannyStoll1", "Daniel Stoll"));
        assert!(nickname_and_surname("chrisevans", "Christopher Evans"));
        // A surname alone, a different first name, a short surname: someone else.
        assert!(!nickname_and_surname("stoll", "Daniel Stoll"));
        assert!(!nickname_and_surname("AnnaStoll", "Daniel Stoll"));
        assert!(!nickname_and_surname("danli", "Daniel Li"));
    }

    /// gin v1.12.0: the maintainer who applied review suggestions is a co-author of most
    /// squashed pull requests. They are credited for their own, not on every line; a
    /// one-off co-author keeps the credit.
    #[test]
    fn a_maintainer_applying_suggestions_is_not_credited_on_every_pull_request() {
        let trailer = "Co-authored-by: Bo-Yi Wu <appleboy.tw@gmail.com>";
        let changes = understand(&[
            by(
                1,
                &format!("fix: a (#1)\n\n{trailer}"),
                "Ana",
                "ana@example.com",
                Some("ana"),
            ),
            by(
                2,
                &format!("fix: b (#2)\n\n{trailer}"),
                "Ben",
                "ben@example.com",
                Some("ben"),
            ),
            by(
                3,
                &format!("feat: c (#3)\n\n{trailer}"),
                "Cy",
                "cy@example.com",
                Some("cy"),
            ),
            by(
                4,
                "feat: d (#4)\n\nCo-authored-by: Dee Pair <dee@example.com>",
                "Eve",
                "eve@example.com",
                Some("eve"),
            ),
            by(
                5,
                "feat: e (#5)",
                "Bo-Yi Wu",
                "appleboy.tw@gmail.com",
                Some("appleboy"),
            ),
        ]);
        let credit = |pr: u64| credited(&changes, pr);
        assert_eq!(credit(1), ["@ana"]);
        assert_eq!(credit(2), ["@ben"]);
        assert_eq!(credit(3), ["@cy"]);
        assert_eq!(credit(4), ["@eve", "Dee Pair"]);
        assert_eq!(credit(5), ["@appleboy"]);
        // Someone who pairs on most changes but has none of their own keeps the credit.
        let pair = "Co-authored-by: Pat Pair <pat@example.com>";
        let changes = understand(&[
            by(
                1,
                &format!("fix: a (#1)\n\n{pair}"),
                "Ana",
                "ana@example.com",
                Some("ana"),
            ),
            by(
                2,
                &format!("fix: b (#2)\n\n{pair}"),
                "Ben",
                "ben@example.com",
                Some("ben"),
            ),
            by(
                3,
                &format!("feat: c (#3)\n\n{pair}"),
                "Cy",
                "cy@example.com",
                Some("cy"),
            ),
        ]);
        assert!(
            changes
                .items
                .iter()
                .all(|i| i.authors.contains(&"Pat Pair".to_owned()))
        );
    }

    /// Who the item of pull request `pr` credits.
    fn credited(changes: &Changeset, pr: u64) -> Vec<String> {
        changes
            .items
            .iter()
            .find(|i| i.pr == Some(pr))
            .map(|i| i.authors.clone())
            .unwrap_or_default()
    }

    fn item_for_credit() -> Item {
        Item {
            category: Category::Fix,
            scope: None,
            breaking: None,
            title: "Fix".into(),
            pr: None,
            refs: Vec::new(),
            commits: Vec::new(),
            authors: Vec::new(),
            noise: None,
            highlights: Vec::new(),
            linked_prs: Vec::new(),
        }
    }

    /// client_golang 1.21.0 thanked "@jkroepke, Jan-Otto Kröpke" and "@shivanthzen,
    /// Shivanth": one person each.
    #[test]
    fn a_login_spelled_from_an_accented_or_shortened_name_is_that_person() {
        let mut items = [
            Item {
                authors: vec!["@jkroepke".into(), "Jan-Otto Kröpke".into()],
                ..item_for_credit()
            },
            Item {
                authors: vec![
                    "@shivanthzen".into(),
                    "Shivanth".into(),
                    "René Müller".into(),
                ],
                ..item_for_credit()
            },
            Item {
                authors: vec!["@rmueller".into()],
                ..item_for_credit()
            },
            // Too short to tell apart: "Daniel" is not @danielle.
            Item {
                authors: vec!["@danielle".into(), "Daniel".into()],
                ..item_for_credit()
            },
        ];
        credit_names_as_logins(items.iter_mut());
        assert_eq!(items[0].authors, ["@jkroepke"]);
        assert_eq!(items[1].authors, ["@shivanthzen", "@rmueller"]);
        assert_eq!(items[3].authors, ["@danielle", "Daniel"]);
        // A one-word name and a login on different changes: perhaps two people.
        let mut apart = [
            Item {
                authors: vec!["Michaelis".into()],
                ..item_for_credit()
            },
            Item {
                authors: vec!["@michaelisk".into()],
                ..item_for_credit()
            },
        ];
        credit_names_as_logins(apart.iter_mut());
        assert_eq!(apart[0].authors, ["Michaelis"]);
    }

    /// One person is credited once: a login on one commit, a name on another, a
    /// co-author trailer with their address, a placeholder trailer name, GitHub's no-reply
    /// address. Two different people who share a placeholder name stay two people.
    #[test]
    fn each_person_is_credited_once_whatever_name_they_appear_under() {
        let changes = understand(&[
            by(
                1,
                "feat: add search (#1)",
                "Jane Doe",
                "jane@example.com",
                Some("janedoe"),
            ),
            by(
                2,
                "fix: keep scroll (#2)",
                "Jane Doe",
                "jane@example.com",
                None,
            ),
            by(
                3,
                "perf: cache configs (#3)\n\nCo-authored-by: Name <huang@example.com>",
                "huangzw",
                "huang@example.com",
                None,
            ),
            by(
                4,
                "fix: stop crash (#4)\n\nCo-authored-by: Bruce Lee <77+bruceNu1l@users.noreply.github.com>",
                "bruceNu1l",
                "bruce@example.com",
                None,
            ),
            by(
                5,
                "fix: other crash (#5)\n\nCo-authored-by: Name <other@example.com>",
                "Otto",
                "otto@example.com",
                None,
            ),
        ]);
        let credit = |pr: u64| credited(&changes, pr);
        assert_eq!(credit(1), ["@janedoe"]);
        assert_eq!(credit(2), ["@janedoe"]);
        assert_eq!(credit(3), ["huangzw"]);
        assert_eq!(credit(4), ["@bruceNu1l"]);
        // "Name" is the trailer's template left unfilled: nobody to credit.
        assert_eq!(credit(5), ["Otto"]);
        // A trailer naming a login as a single word is that person.
        let again = understand(&[
            by(
                1,
                "feat: add search (#1)",
                "P",
                "p@example.com",
                Some("pawannn"),
            ),
            by(
                2,
                "fix: stop crash (#2)\n\nCo-authored-by: pawannn <other@example.com>",
                "Bo",
                "bo@example.com",
                Some("bo"),
            ),
        ]);
        assert_eq!(again.contributors(), ["@pawannn", "@bo"]);
        let people = changes.contributors();
        assert_eq!(
            people.iter().filter(|p| p.as_str() == "@janedoe").count(),
            1,
            "{people:?}"
        );
        assert!(
            !people.iter().any(|p| p == "Jane Doe" || p == "Bruce Lee"),
            "{people:?}"
        );
    }

    /// Security work is security however it is written: the type, a scope, the words of
    /// the subject or body, the files a fix touches; a dependency update that fixes a
    /// vulnerability is announced, not counted as a bump.
    #[test]
    fn security_work_is_recognised_however_it_is_written() {
        let security = |message: &str, files: &[&str], author: &str| {
            let mut c = by(9, message, author, "a@example.com", None);
            c.files = files.iter().map(|f| f.to_string()).collect();
            let changes = understand(&[c]);
            changes
                .items
                .first()
                .is_some_and(|i| i.category == Category::Security)
        };
        for message in [
            "security: escape user names",
            "fix(security): escape user names in the admin list",
            "chore(security): update vendor to fix CVE (#4121)",
            "fix: prevent XSS in the markdown preview",
            "Fix path traversal in static file serving",
            "fix: reject oversized headers\n\nThis fixes GHSA-abcd-1234-wxyz.",
            "feat(sec): rotate session keys on password change",
        ] {
            assert!(security(message, &["src/app.rs"], "Ada"), "{message}");
        }
        assert!(security(
            "fix: compare tokens in constant time",
            &["src/security/tokens.rs"],
            "Ada"
        ));
        assert!(security(
            "Bump golang.org/x/net from 0.17.0 to 0.23.0\n\nFixes CVE-2023-45288.",
            &["go.mod", "go.sum"],
            "dependabot[bot]"
        ));
        for message in [
            "feat: add dependency injection container",
            "fix: escape key closes the dialog",
            "docs: describe the security policy",
        ] {
            assert!(!security(message, &["src/app.rs"], "Ada"), "{message}");
        }
        let bump = understand(&[by(
            7,
            "Bump serde from 1.0.1 to 1.0.2",
            "dependabot[bot]",
            "x@example.com",
            None,
        )]);
        assert_eq!(bump.noise.len(), 1);
    }

    proptest! {
        #[test]
        fn counts_are_singular_for_one_and_plural_otherwise(n in 0usize..100_000, c in 0usize..8, k in 0usize..7) {
            let category = Category::ALL[c];
            let noise = [Noise::Merge, Noise::VersionBump, Noise::DependencyBump, Noise::CiOnly, Noise::TypoOnly, Noise::ProjectDocs, Noise::ToolingFix][k];
            for text in [category.counted(n), noise.counted(n)] {
                let noun = text.strip_prefix(&format!("{n} ")).expect("starts with the count");
                prop_assert!(!noun.is_empty());
                prop_assert!(!noun.contains("fixs"));
                if n == 1 {
                    prop_assert!(!noun.ends_with('s') || noun.ends_with("ss"), "{}", text);
                } else {
                    prop_assert!(noun.ends_with('s'), "{}", text);
                }
            }
        }
    }

    use super::*;

    fn commit(id: u8, message: &str, files: &[&str]) -> Commit {
        Commit {
            id: format!("{id:040x}"),
            message: message.into(),
            author_name: "Ada".into(),
            author_email: "ada@example.com".into(),
            files: files.iter().map(|f| f.to_string()).collect(),
            ..Commit::default()
        }
    }

    #[test]
    fn a_release_range_is_grouped_user_visible_first_with_noise_counted() {
        let commits = vec![
            commit(1, "docs: explain config precedence", &["docs/config.md"]),
            commit(
                2,
                "fix(parser): handle empty input (#4)",
                &["src/parser.rs"],
            ),
            commit(3, "feat: add --wrap=word flag (#5)", &["src/cli.rs"]),
            commit(4, "Merge branch 'main' into next", &[]),
            commit(5, "chore(release): 0.3.0", &["Cargo.toml"]),
            commit(6, "feat: wrap in the renderer too (#5)", &["src/render.rs"]),
        ];
        let cs = understand(&commits);
        assert!(cs.secrets.is_empty());
        let titles: Vec<&str> = cs.items.iter().map(|i| i.title.as_str()).collect();
        assert_eq!(
            titles,
            vec![
                "Add --wrap=word flag",
                "Handle empty input",
                "Explain config precedence"
            ]
        );
        assert_eq!(
            cs.items[0].commits.len(),
            2,
            "both commits of PR #5 are one item"
        );
        assert_eq!(cs.noise.len(), 2);
        assert_eq!(cs.user_visible().count(), 2);
        assert_eq!(cs.contributors(), vec!["Ada"]);
    }

    /// client_golang merges pull requests with merge commits, which list no files of their
    /// own: what the PR's commits touched says what it was.
    #[test]
    fn a_merged_pull_request_is_judged_by_the_files_its_commits_touched() {
        let mut own = commit(
            1,
            "Remove Arthur from maintainers",
            &[".github/CODEOWNERS", "MAINTAINERS.md"],
        );
        let merge_id = format!("{:040x}", 2);
        own.part_of = Some(merge_id.clone());
        let mut merge = commit(
            2,
            "Merge pull request #1964 from prometheus/arthur\n\nRemove Arthur from the list of maintainers",
            &[],
        );
        merge.is_merge = true;
        let cs = understand(&[own, merge]);
        // The maintainers' own list: upkeep no user of the release reads.
        assert!(cs.items.is_empty(), "{cs:?}");
        assert_eq!(cs.noise.len(), 1, "{cs:?}");
        assert_eq!(cs.noise[0].noise, Some(Noise::ProjectDocs), "{cs:?}");
        assert_eq!(cs.noise[0].pr, Some(1964));
        // The same merge of code is a change.
        let mut code = commit(3, "Guard against empty remotes", &["src/remotes.rs"]);
        code.part_of = Some(format!("{:040x}", 4));
        let mut merge = commit(
            4,
            "Merge pull request #2010 from someone/branch\n\nRemove the stale remote check",
            &[],
        );
        merge.is_merge = true;
        let cs = understand(&[code, merge]);
        assert_eq!(cs.items[0].category, Category::Feature, "{cs:?}");
    }

    /// gitui 0.28.0 listed "Show cursor on panic" and its revert: neither shipped.
    #[test]
    fn a_change_reverted_in_the_same_range_is_not_announced() {
        let change = commit(1, "Show cursor on panic (#2620)", &["src/main.rs"]);
        let revert = commit(
            2,
            &format!(
                "Revert \"Show cursor on panic (#2620)\"\n\nThis reverts commit {}.",
                change.id
            ),
            &["src/main.rs"],
        );
        let other = commit(3, "Add --logfile (#2539)", &["src/args.rs"]);
        let cs = understand(&[change.clone(), revert.clone(), other]);
        let titles: Vec<&str> = cs.items.iter().map(|i| i.title.as_str()).collect();
        assert_eq!(titles, ["Add --logfile"], "{cs:?}");
        assert_eq!(
            cs.noise
                .iter()
                .filter(|n| n.noise == Some(Noise::Reverted))
                .count(),
            2
        );
        // A revert of something released before stays a change.
        let cs = understand(&[revert]);
        assert_eq!(cs.items.len(), 1, "{cs:?}");
        // A revert of a revert: the change stays, the two reverts cancel.
        let change = commit(10, "Show cursor on panic (#2620)", &["src/main.rs"]);
        let undo = commit(
            11,
            &format!(
                "Revert \"Show cursor on panic\"\n\nThis reverts commit {}.",
                change.id
            ),
            &["src/main.rs"],
        );
        let redo = commit(
            12,
            &format!(
                "Revert \"Revert \"Show cursor on panic\"\"\n\nThis reverts commit {}.",
                undo.id
            ),
            &["src/main.rs"],
        );
        for _ in 0..8 {
            let cs = understand(&[change.clone(), undo.clone(), redo.clone()]);
            let titles: Vec<&str> = cs.items.iter().map(|i| i.title.as_str()).collect();
            assert_eq!(titles, ["Show cursor on panic"], "{cs:?}");
        }
        // A pull request that, among its work, reverts one commit of another pull request
        // cancels neither (clap 4.0's epage/raw).
        let mut first = commit(4, "Add OsStr support", &["src/a.rs"]);
        let mut second = commit(5, "Add raw values", &["src/a.rs"]);
        let (pr1, pr2) = (format!("{:040x}", 6), format!("{:040x}", 9));
        first.part_of = Some(pr1.clone());
        second.part_of = Some(pr1);
        let mut merge1 = commit(
            6,
            "Merge pull request #4090 from epage/os\n\nOsStr support",
            &[],
        );
        merge1.is_merge = true;
        let mut undo = commit(
            7,
            &format!(
                "Revert \"Add raw values\"\n\nThis reverts commit {}.",
                second.id
            ),
            &["src/a.rs"],
        );
        let mut owned = commit(8, "Switch to owned OsStr type", &["src/b.rs"]);
        undo.part_of = Some(pr2.clone());
        owned.part_of = Some(pr2);
        let mut merge2 = commit(
            9,
            "Merge pull request #4096 from epage/raw\n\nSwitch to owned OsStr type",
            &[],
        );
        merge2.is_merge = true;
        let cs = understand(&[first, second, merge1, undo, owned, merge2]);
        assert_eq!(cs.items.len(), 2, "{cs:?}");
    }

    /// rack's Jean Boussier commits as "Jean byroot Boussier" from one address and
    /// "Jean Boussier" from another; credited once. Two people who share only a first and
    /// last name are not joined.
    #[test]
    fn one_person_at_two_addresses_is_credited_once() {
        let mut a = commit(
            1,
            "Fix Rack::Lint error message (#2007)",
            &["lib/rack/lint.rb"],
        );
        a.author_name = "Jean byroot Boussier".into();
        a.author_email = "jean.boussier+github@shopify.com".into();
        let mut b = commit(
            2,
            "Fix Rack::Lint error message (#2007)",
            &["lib/rack/lint.rb"],
        );
        b.author_name = "Jean Boussier".into();
        b.author_email = "jean.boussier@gmail.com".into();
        let cs = understand(&[a.clone(), b.clone()]);
        assert_eq!(cs.contributors(), ["Jean byroot Boussier"], "{cs:?}");
        b.author_email = "jb@example.org".into();
        let cs = understand(&[a, b]);
        assert_eq!(cs.contributors().len(), 2, "{cs:?}");
    }

    /// client_golang's #1981 was merged with no title in its message: the draft reads the
    /// first commit it brought, not "Merge pull request #1981 from thegdsks/examples/…".
    #[test]
    fn a_merge_without_a_title_is_titled_by_its_first_commit() {
        let mut first = commit(
            1,
            "examples: add native histogram usage example",
            &["examples/nativehistogram/main.go"],
        );
        let mut second = commit(2, "Address review", &["examples/nativehistogram/main.go"]);
        let merge_id = format!("{:040x}", 3);
        first.part_of = Some(merge_id.clone());
        second.part_of = Some(merge_id);
        for c in [&mut first, &mut second] {
            c.author_name = "GDS K S".into();
            c.author_email = "gds@example.com".into();
        }
        let mut merge = commit(
            3,
            "Merge pull request #1981 from thegdsks/examples/native-histogram\n",
            &[],
        );
        merge.is_merge = true;
        let cs = understand(&[first.clone(), merge.clone()]);
        assert_eq!(cs.items.len(), 1, "{cs:?}");
        assert_eq!(cs.items[0].title, "Add native histogram usage example");
        assert_eq!(cs.items[0].scope.as_deref(), Some("examples"));
        assert_eq!(cs.items[0].pr, Some(1981));
        // One person, by login and by name: "@thegdsks and GDS K S" was one author twice.
        assert_eq!(cs.contributors(), ["@thegdsks"]);
        // A login that only holds a name inside a longer one is someone else.
        for (login, joined) in [("weiliang", false), ("weili42", true), ("itsweili", true)] {
            let mut own = commit(20, "Add the wrap flag", &["src/wrap.rs"]);
            own.author_name = "Wei Li".into();
            own.author_email = "wei@example.com".into();
            own.part_of = Some(format!("{:040x}", 21));
            let mut merge = commit(
                21,
                &format!("Merge pull request #7 from {login}/wrap\n\nAdd the wrap flag"),
                &[],
            );
            merge.is_merge = true;
            let cs = understand(&[own, merge]);
            assert_eq!(cs.contributors().len() == 1, joined, "{login}: {cs:?}");
        }
        // Several commits: the first that is a change of its own names the PR, not a typo
        // fix that came first; with none, the branch does.
        let mut typo = commit(4, "Fix typo in docs", &["README.md"]);
        typo.part_of = first.part_of.clone();
        let cs = understand(&[typo.clone(), first, second, merge.clone()]);
        assert_eq!(cs.items.len(), 1, "{cs:?}");
        assert_eq!(cs.items[0].title, "Add native histogram usage example");
        let mut bump = commit(5, "Bump version to 1.2.3", &["VERSION"]);
        bump.part_of = typo.part_of.clone();
        let cs = understand(&[typo, bump, merge]);
        assert_eq!(cs.noise.len() + cs.items.len(), 1, "{cs:?}");
        let titled = cs.items.iter().chain(&cs.noise).next().unwrap();
        assert_eq!(titled.title, "Native histogram");
        // A credential in the borrowed title is redacted like any other.
        let mut leaky = commit(
            5,
            "Use ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 in CI",
            &["ci.sh"],
        );
        leaky.part_of = Some(format!("{:040x}", 6));
        let mut merge = commit(6, "Merge pull request #50 from u/x\n", &[]);
        merge.is_merge = true;
        let cs = understand(&[leaky, merge]);
        let all = format!("{cs:?}");
        assert!(!all.contains("ghp_aBcD"), "{all}");
    }

    /// clap's pull requests are merged as "from epage/…" while their commits are Ed Page's:
    /// one person, credited once as @epage, on the item and in the thanks.
    /// client_golang 1.24.0 thanked both "@s3onghyun" and "s3onghyun", and listed "Merge
    /// release-1.23 into main" as a change.
    #[test]
    fn a_name_that_is_a_login_is_that_person_and_a_release_merged_back_is_no_change() {
        let mut fix = commit(
            1,
            "promhttp: fix grammar in exemplar option doc comments",
            &["prometheus/promhttp/option.go"],
        );
        fix.author_name = "s3onghyun".into();
        fix.author_email = "s3onghyun.hong@gmail.com".into();
        fix.part_of = Some(format!("{:040x}", 2));
        let mut merge = commit(
            2,
            "Merge pull request #2023 from s3onghyun/docs-fix-exemplar-grammar\n\nFix grammar in exemplar option doc comments",
            &[],
        );
        merge.author_name = "Kemal Akkoyun".into();
        merge.author_email = "kakkoyun@users.noreply.github.com".into();
        merge.is_merge = true;
        let mut back = commit(
            3,
            "Merge pull request #1861 from prometheus/arve/merge-release\n\nMerge release-1.23 into main",
            &[],
        );
        back.author_name = "Arve Knudsen".into();
        back.author_email = "arve.knudsen@gmail.com".into();
        back.is_merge = true;
        let cs = understand(&[fix, merge, back]);
        assert_eq!(cs.contributors(), ["@s3onghyun"], "{cs:?}");
        assert_eq!(cs.items.len(), 1, "{cs:?}");
        assert_eq!(cs.noise.first().and_then(|n| n.noise), Some(Noise::Merge));
    }

    #[test]
    fn a_login_written_from_a_name_is_that_person() {
        let mut own = commit(1, "fix(parser): Loosen asserts for now", &["src/parser.rs"]);
        own.author_name = "Ed Page".into();
        own.author_email = "eopage@gmail.com".into();
        own.part_of = Some(format!("{:040x}", 2));
        let mut merge = commit(
            2,
            "Merge pull request #3264 from epage/external\n\nfix(parser): Loosen asserts for now",
            &[],
        );
        merge.author_name = "Ed Page".into();
        merge.is_merge = true;
        let mut other = commit(
            3,
            "fix: correct replacement for from_clap",
            &["src/derive.rs"],
        );
        other.author_name = "Ed Page".into();
        other.author_email = "eopage@gmail.com".into();
        let cs = understand(&[own, merge, other]);
        for item in &cs.items {
            assert_eq!(item.authors, ["@epage"], "{cs:?}");
        }
        assert_eq!(cs.contributors(), ["@epage"]);
        // Two people whose names merely start alike are not joined.
        assert!(login_forms("Ed Page").contains(&"epage".to_owned()));
        assert!(!login_forms("Eve Pagels").contains(&"epage".to_owned()));
        assert!(login_forms("Ada").is_empty());
        assert!(login_forms("Sylvestre Ledru").contains(&"sylvestre".to_owned()));
        assert!(login_forms("Md Mushfiqur Rahim").contains(&"mushfiqur".to_owned()));
        // Two people who could both be @martin: neither is.
        let mut a = commit(4, "fix: a (#1)", &["a.rs"]);
        a.author_name = "Martin Fowler".into();
        a.author_email = "fowler@example.com".into();
        let mut b = commit(5, "fix: b (#2)", &["b.rs"]);
        b.author_name = "Martin Kleppmann".into();
        b.author_email = "kleppmann@example.com".into();
        let mut m = commit(6, "Merge pull request #3 from martin/c\n\nfix: c", &[]);
        m.author_name = "GitHub".into();
        m.author_email = "noreply@github.com".into();
        m.is_merge = true;
        let cs = understand(&[a, b, m]);
        let people = cs.contributors();
        assert!(
            people.contains(&"Martin Fowler".to_owned())
                && people.contains(&"Martin Kleppmann".to_owned())
                && people.contains(&"@martin".to_owned()),
            "{people:?}"
        );
        assert!(!login_forms("Ed Page").contains(&"page".to_owned()));
    }

    #[test]
    fn secrets_in_messages_never_reach_items() {
        let cs = understand(&[commit(
            1,
            "fix: rotate ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 after leak",
            &["src/a.rs"],
        )]);
        assert_eq!(cs.secrets.len(), 1);
        assert!(!format!("{cs:?}").contains("ghp_aBcD"), "{cs:?}");
        assert!(cs.items[0].title.contains(REDACTED));
    }

    #[test]
    fn understanding_is_deterministic() {
        let commits = vec![
            commit(1, "Add export", &["a.rs"]),
            commit(2, "Fix import", &["b.rs"]),
        ];
        assert_eq!(understand(&commits), understand(&commits));
    }
}
