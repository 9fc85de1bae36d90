//! House style: how a project's maintainers select and cite in their release notes, learned
//! from the notes they had already published when the range starts (the CHANGELOG as it
//! stood at the previous tag). Never from what the range itself adds to those notes: that
//! would be copying the answer, and a drafter must work before anyone wrote it.
//!
//! Learning compares past releases' changes (understood like any range) with the section
//! the maintainers wrote for them: which kinds of change they listed, and whether they
//! cited the pull request, the issues it fixed, or both.

use crate::{Category, Changeset, HouseStyle, Noise, WhenBoth};

/// Upkeep some notes list under their own headings.
const UPKEEP: [Noise; 3] = [Noise::DependencyBump, Noise::CiOnly, Noise::ToolingFix];

/// Fewer than this many past entries of a kind say nothing about it: the default holds.
const EVIDENCE: usize = 5;

/// Whether a past release's notes say anything about style. One whose notes cite almost
/// nothing its commits name does not: its numbers differ (a patch release of cherry-picks
/// cites the original pull requests) or its notes cite nothing at all.
pub fn teaches(changes: &Changeset, section: &str) -> bool {
    let cited = section_refs(section);
    let with_refs = changes.items.iter().filter(|i| !i.refs.is_empty()).count();
    let named = changes
        .items
        .iter()
        .filter(|i| i.refs.iter().any(|r| cited.contains(r)))
        .count();
    with_refs > 0 && named * 5 >= with_refs
}

/// Learns the house style from past releases: each one's changes beside the section its
/// maintainers wrote for it.
pub fn learn(past: &[(Changeset, String)]) -> HouseStyle {
    let default = HouseStyle::default();
    if past.is_empty() {
        return default;
    }
    // Per release, (offered, cited) for each kind of reference and each category; then
    // each release gets one vote, so one huge release does not outvote the others.
    let mut prs: Vec<(usize, usize)> = Vec::new();
    let mut issues: Vec<(usize, usize)> = Vec::new();
    let mut by_category: Vec<Vec<(usize, usize)>> = vec![Vec::new(); Category::ALL.len()];
    let mut by_upkeep: Vec<Vec<(usize, usize)>> = vec![Vec::new(); UPKEEP.len()];
    // Entries with both a pull request and issues, one of them cited: (seen, only the
    // pull request cited, only issues cited).
    let mut both = (0usize, 0usize, 0usize);
    let mut used = 0;
    for (changes, section) in past {
        if !teaches(changes, section) {
            continue;
        }
        let cited = section_refs(section);
        let (mut p, mut i) = ((0, 0), (0, 0));
        let mut c = [(0usize, 0usize); Category::ALL.len()];
        for item in &changes.items {
            if item.refs.is_empty() {
                continue;
            }
            let mut any = false;
            for r in &item.refs {
                let hit = cited.contains(r);
                any |= hit;
                let tally = if item.pr == Some(*r) { &mut p } else { &mut i };
                tally.0 += 1;
                tally.1 += usize::from(hit);
            }
            if let Some(pr) = item.pr
                && item.refs.len() > 1
            {
                let pr_hit = cited.contains(&pr);
                let issue_hit = item
                    .refs
                    .iter()
                    .any(|r| *r != pr && !item.linked_prs.contains(r) && cited.contains(r));
                if pr_hit || issue_hit {
                    both.0 += 1;
                    both.1 += usize::from(pr_hit && !issue_hit);
                    both.2 += usize::from(issue_hit && !pr_hit);
                }
            }
            let at = Category::ALL
                .iter()
                .position(|k| *k == item.category)
                .unwrap_or_default();
            c[at].0 += 1;
            c[at].1 += usize::from(any);
        }
        let mut u = [(0usize, 0usize); UPKEEP.len()];
        for item in &changes.noise {
            let Some(at) = UPKEEP.iter().position(|k| Some(*k) == item.noise) else {
                continue;
            };
            if item.refs.is_empty() {
                continue;
            }
            u[at].0 += 1;
            u[at].1 += usize::from(item.refs.iter().any(|r| cited.contains(r)));
        }
        for (at, tally) in u.into_iter().enumerate() {
            by_upkeep[at].push(tally);
        }
        used += 1;
        prs.push(p);
        issues.push(i);
        for (at, tally) in c.into_iter().enumerate() {
            by_category[at].push(tally);
        }
    }
    // The mean share cited over the releases that offered any, once there is evidence.
    let share = |votes: &[(usize, usize)]| -> Option<f64> {
        let offered: usize = votes.iter().map(|v| v.0).sum();
        let voting: Vec<f64> = votes
            .iter()
            .filter(|v| v.0 > 0)
            .map(|v| v.1 as f64 / v.0 as f64)
            .collect();
        (offered >= EVIDENCE && !voting.is_empty())
            .then(|| voting.iter().sum::<f64>() / voting.len() as f64)
    };
    // Maintainers who cite a kind of reference cite a good part of what they list; a
    // tenth is well below any project that does and well above one that never does.
    let decide =
        |votes: &[(usize, usize)], default: bool| share(votes).map_or(default, |s| s >= 0.1);
    let cites_prs = decide(&prs, default.cites_prs);
    // Issue references are few and often the very ones maintainers cite: they are dropped
    // only when the notes plainly never cite them (at least five offered, next to none
    // cited: mitmproxy's notes cite pull requests only, and its drafts cited both).
    let mut cites_issues = issues.iter().map(|v| v.0).sum::<usize>() < EVIDENCE
        || share(&issues).is_none_or(|s| s >= 0.05);
    if !cites_prs && !cites_issues {
        // Notes that cite neither are not learned from references at all.
        cites_issues = true;
    }
    let lists = Category::ALL
        .into_iter()
        .zip(&by_category)
        .filter(|(c, votes)| match share(votes) {
            None => default.lists(*c),
            // Security fixes are always worth listing; features and fixes unless the notes
            // plainly never list them (issue-citing notes hide many of their hits: an entry
            // that cites only the issue a squashed PR fixed is not seen as a hit); other kinds
            // when the maintainers listed more than a few of them.
            Some(s) => match c {
                Category::Security => true,
                Category::Feature | Category::Fix => s >= 0.05,
                _ => s >= 0.15,
            },
        })
        .map(|(c, _)| c)
        .collect();
    // Upkeep is listed only by notes that list most of it: a stray bump cited in passing
    // does not make a "Dependency updates" section.
    let lists_upkeep = UPKEEP
        .into_iter()
        .zip(&by_upkeep)
        .filter(|(_, votes)| share(votes).is_some_and(|s| s >= 0.5))
        .map(|(n, _)| n)
        .collect();
    // Notes that, given both, nearly always cite one kind: three entries or more over two
    // releases or more, seven in ten citing that kind alone.
    let when_both = match both {
        _ if used < 2 => WhenBoth::Both,
        (seen, pr, _) if seen >= 3 && pr * 10 >= seen * 7 => WhenBoth::PullRequest,
        (seen, _, issues) if seen >= 3 && issues * 10 >= seen * 7 => WhenBoth::Issues,
        _ => WhenBoth::Both,
    };
    HouseStyle {
        cites_prs,
        cites_issues,
        lists,
        lists_upkeep,
        when_both,
        announced: Vec::new(),
        learned_from: used,
    }
}

/// The `#N`, `/pull/N` and `/issues/N` references in a notes section.
pub fn section_refs(text: &str) -> std::collections::BTreeSet<u64> {
    scan_refs(text, false)
}

/// The references of a text; with `own_only`, only the `#N` that are this project's: not
/// `owner/repo#N` (another repository's), and not the numbers of links (which may point
/// anywhere).
fn scan_refs(text: &str, own_only: bool) -> std::collections::BTreeSet<u64> {
    let mut out = std::collections::BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let qualified = i > 0
            && (bytes[i - 1].is_ascii_alphanumeric()
                || matches!(bytes[i - 1], b'/' | b'-' | b'_' | b'.'));
        let start = if bytes[i] == b'#' && !(own_only && qualified) {
            Some(i + 1)
        } else if !own_only && text[i..].starts_with("/pull/") {
            Some(i + 6)
        } else if !own_only && text[i..].starts_with("/issues/") {
            Some(i + 8)
        } else {
            None
        };
        if let Some(s) = start {
            let end = s + bytes[s..].iter().take_while(|b| b.is_ascii_digit()).count();
            let bounded = bytes.get(end).is_none_or(|b| !b.is_ascii_alphanumeric());
            if (1..=6).contains(&(end - s))
                && bounded
                && let Ok(n) = text[s..end].parse()
            {
                out.insert(n);
            }
            i = end.max(i + 1);
        } else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    out
}

/// The references a notes file's releases cite (its 64 newest sections that name a
/// version, as [`note_sections`] reads them, of those `released` accepts by version): what
/// was announced already. Enough to reach back over a maintenance line's patch releases
/// (rack's 3.1.x ran to 22 before 3.2.0). Never an "Unreleased" section, which names no
/// version, nor one `released` refuses ("## 4.0.0 - Upcoming", whose entries may be the
/// very changes being drafted).
pub fn announced_refs(notes: &str, released: impl Fn(&str) -> bool) -> Vec<u64> {
    let mut out: std::collections::BTreeSet<u64> = std::collections::BTreeSet::new();
    for (version, section) in note_sections(notes).into_iter().take(64) {
        if released(&version) {
            out.extend(scan_refs(&section, true));
        }
    }
    out.into_iter().collect()
}

/// Of the `announced` numbers, those `subjects` landed through (their pull requests): all a
/// range needs to keep in its stored style.
pub fn announced_of<'a>(
    announced: &[u64],
    subjects: impl IntoIterator<Item = &'a str>,
) -> Vec<u64> {
    let prs: std::collections::BTreeSet<u64> = subjects
        .into_iter()
        .filter_map(crate::refs::pr_ref)
        .collect();
    announced
        .iter()
        .copied()
        .filter(|n| prs.contains(n))
        .collect()
}

/// A release-notes file split into its releases: `(version, section)` in file order, for
/// headings that name a version (`## 1.2.3`, `## [v1.2.3] - 2024-01-01`, `1.2.3 (date)`
/// underlined with `===`). Headings of the most common depth are releases; a deeper heading
/// naming a version (a sub-package's) ends a section but names none. Versions are given
/// without a leading `v`.
pub fn note_sections(text: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut heads: Vec<(usize, String, usize)> = Vec::new();
    let mut fence = false;
    for (i, line) in lines.iter().enumerate() {
        let s = line.trim();
        if s.trim_start_matches(['-', '*', '+', ' '])
            .starts_with("```")
        {
            fence = !fence;
            continue;
        }
        if fence || s.len() >= 140 {
            continue;
        }
        let underline = lines.get(i + 1).map(|l| l.trim()).filter(|u| {
            !u.is_empty() && (u.chars().all(|c| c == '=') || u.chars().all(|c| c == '-'))
        });
        let level = if s.starts_with('#') {
            s.len() - s.trim_start_matches('#').len()
        } else if let Some(u) = underline {
            if u.starts_with('=') { 1 } else { 2 }
        } else if s.starts_with('[') && !s.contains("]:") && !s.contains("...") {
            0
        } else {
            continue;
        };
        if let Some(v) = version_in(s) {
            heads.push((i, v, level));
        }
    }
    let mut depths: Vec<(usize, usize)> = Vec::new();
    for (_, _, level) in &heads {
        match depths.iter_mut().find(|(l, _)| l == level) {
            Some((_, n)) => *n += 1,
            None => depths.push((*level, 1)),
        }
    }
    let top = depths
        .iter()
        .max_by_key(|(_, n)| *n)
        .map(|(l, _)| *l)
        .unwrap_or(0);
    let mut out: Vec<(String, String)> = Vec::new();
    for (n, (i, version, level)) in heads.iter().enumerate() {
        if *level != top && *level != 0 {
            continue;
        }
        let end = heads.get(n + 1).map_or(lines.len(), |h| h.0);
        if out.iter().any(|(v, _)| v == version) {
            continue;
        }
        out.push((version.clone(), lines[i + 1..end].join("\n")));
    }
    out
}

/// The first `1.2` / `1.2.3` / `v1.2.3-rc.1` in a heading, without the `v`.
fn version_in(s: &str) -> Option<String> {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-')))
        .map(|w| w.trim_start_matches('v').trim_end_matches(['.', '-']))
        .find(|w| {
            let core = w.split('-').next().unwrap_or_default();
            let parts: Vec<&str> = core.split('.').collect();
            (2..=4).contains(&parts.len())
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.len() <= 6 && p.chars().all(|c| c.is_ascii_digit()))
        })
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::understand;
    use covalynce_domain::Commit;

    fn commit(n: usize, message: &str, files: &[&str]) -> Commit {
        Commit {
            id: format!("{n:040x}"),
            message: message.into(),
            author_name: "Ada".into(),
            author_email: "ada@example.com".into(),
            files: files.iter().map(|f| f.to_string()).collect(),
            ..Commit::default()
        }
    }

    #[test]
    fn what_released_sections_cite_was_announced_and_what_is_unreleased_was_not() {
        let notes = "# Changelog\n\n## [Unreleased]\n- Not out yet (#30)\n\n## [2.0.0] - Upcoming\n- Next (#40)\n\n## [1.0.1]\n- Fix crash ([#12](https://github.com/a/b/pull/12))\n\n## [1.0.0]\n- First (#1), closes #2\n";
        let released = |v: &str| v != "2.0.0";
        assert_eq!(announced_refs(notes, released), vec![1, 2, 12]);
        // Another repository's number is not this project's.
        assert_eq!(
            announced_refs("## [1.0.0]\n- Works with nuxt/nuxt#33694 (#7)\n", |_| true),
            vec![7]
        );
        let announced = announced_refs(notes, released);
        let changes = understand(&[
            commit(1, "Fix crash (#12)", &["src/a.rs"]),
            commit(2, "Not out yet (#30)", &["src/b.rs"]),
            // A follow-up to an announced issue, by a pull request of its own, or by a
            // commit that only names the issue: new work.
            commit(3, "Fix the crash again (#31)\n\nFixes #12", &["src/a.rs"]),
            commit(4, "Tidy the parser", &["src/c.rs"]),
            commit(5, "Fix the crash a third time\n\nFixes #12", &["src/a.rs"]),
        ]);
        let mut fresh = changes.clone();
        fresh.set_aside_announced(&announced);
        let titles: Vec<&str> = fresh.items.iter().map(|i| i.title.as_str()).collect();
        assert!(!titles.contains(&"Fix crash"), "{titles:?}");
        for kept in [
            "Not out yet",
            "Fix the crash again",
            "Tidy the parser",
            "Fix the crash a third time",
        ] {
            assert!(titles.contains(&kept), "{kept}: {titles:?}");
        }
        let set_aside: Vec<_> = fresh
            .noise
            .iter()
            .filter(|i| i.noise == Some(Noise::Announced))
            .map(|i| i.title.as_str())
            .collect();
        assert_eq!(set_aside, ["Fix crash"]);
        let mut untouched = changes.clone();
        untouched.set_aside_announced(&[]);
        assert_eq!(untouched, changes);
    }

    #[test]
    fn sections_are_found_in_the_shapes_maintainers_write() {
        let keep_a_changelog = "# Changelog\n\n## [Unreleased]\n\n## [1.2.0] - 2024-05-01\n### Added\n- Dark mode (#12)\n\n## [1.1.0] - 2024-04-01\n- Fix crash (#9)\n\n[1.2.0]: https://example.com/compare/v1.1.0...v1.2.0\n";
        let s = note_sections(keep_a_changelog);
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(s[0].0, "1.2.0");
        assert!(s[0].1.contains("#12") && !s[0].1.contains("#9"));
        let underlined = "3.10.0 (2025-01-02)\n-------------------\n\n  * Added thing (#1999)\n\n3.9.0 (2024-12-01)\n------------------\n\n  * Fixed other (#1900)\n";
        let s = note_sections(underlined);
        assert_eq!(
            s.iter().map(|(v, _)| v.as_str()).collect::<Vec<_>>(),
            ["3.10.0", "3.9.0"]
        );
        let fenced = "## v0.2.0\n```\n## 9.9.9 not a heading\n```\n- x (#3)\n## v0.1.0\n- y\n";
        let s = note_sections(fenced);
        assert_eq!(s.len(), 2);
        assert!(s[0].1.contains("#3"));
    }

    #[test]
    fn references_are_read_in_every_form_notes_use_them() {
        let refs = section_refs(
            "- Fix (#12), see [#13](https://github.com/o/n/pull/13) and https://github.com/o/n/issues/14\n- not a ref: #abc, C#, #1234567",
        );
        assert_eq!(refs.into_iter().collect::<Vec<_>>(), [12, 13, 14]);
    }

    /// gin's notes list its dependency updates under a heading of their own; most projects'
    /// notes never do. Fixes stay listed even when issue-citing notes hide most hits.
    #[test]
    fn upkeep_is_listed_only_when_the_notes_list_most_of_it() {
        let release = |base: usize| {
            let n = |k: usize| 3904 + base + k;
            understand(&[
                commit(
                    base,
                    &format!("feat: add BindPlain (#{})", n(0)),
                    &["binding/plain.go"],
                ),
                commit(
                    base + 1,
                    &format!("fix: handle nil handler (#{})", n(1)),
                    &["context.go"],
                ),
                commit(
                    base + 2,
                    &format!(
                        "chore(deps): bump golang.org/x/net from 0.37.0 to 0.38.0 (#{})",
                        n(2)
                    ),
                    &["go.mod", "go.sum"],
                ),
                commit(
                    base + 3,
                    &format!(
                        "chore(deps): bump github.com/stretchr/testify from 1.10.0 to 1.11.1 (#{})",
                        n(3)
                    ),
                    &["go.mod", "go.sum"],
                ),
                commit(
                    base + 4,
                    &format!("ci: support Go 1.25 (#{})", n(4)),
                    &[".github/workflows/gin.yml"],
                ),
            ])
        };
        let listing = |base: usize| {
            format!(
                "### Features\n- feat: add BindPlain (#{})\n### Bug Fixes\n- fix: handle nil handler (#{})\n### Dependency updates\n- bump x/net (#{})\n- bump testify (#{})\n",
                3904 + base,
                3905 + base,
                3906 + base,
                3907 + base
            )
        };
        let past: Vec<_> = [0, 10, 20]
            .into_iter()
            .map(|b| (release(b), listing(b)))
            .collect();
        let style = learn(&past);
        assert_eq!(style.lists_upkeep, [Noise::DependencyBump], "{style:?}");
        // Notes that leave bumps out never list them.
        let plain: Vec<_> = [0, 10, 20]
            .into_iter()
            .map(|b| {
                let notes = format!(
                    "- add BindPlain (#{})\n- handle nil handler (#{})\n",
                    3904 + b,
                    3905 + b
                );
                (release(b), notes)
            })
            .collect();
        let style = learn(&plain);
        assert!(style.lists_upkeep.is_empty(), "{style:?}");
        assert!(HouseStyle::default().lists_upkeep.is_empty());
    }

    /// mitmproxy's and monolog's maintainers cite the pull request, never the issue it
    /// closes: two issues offered in each of three releases, none cited, is plain enough.
    #[test]
    fn a_project_that_cites_prs_not_issues_is_learned() {
        let release = |base: usize| {
            understand(&[
                commit(
                    base,
                    &format!(
                        "Fix crash on empty flows (#{})\n\nfixes #{}",
                        8100 + base,
                        7000 + base
                    ),
                    &["src/a.py"],
                ),
                commit(
                    base + 1,
                    &format!(
                        "Add ZIP content view (#{})\n\ncloses #{}",
                        8101 + base,
                        7001 + base
                    ),
                    &["src/b.py"],
                ),
                commit(
                    base + 2,
                    &format!("Add HAR export (#{})", 8102 + base),
                    &["src/c.py"],
                ),
            ])
        };
        let notes = |base: usize| {
            format!(
                "- Fix crash on empty flows (#{})\n- Add ZIP content view (#{})\n- Add HAR export (#{})\n",
                8100 + base,
                8101 + base,
                8102 + base
            )
        };
        let style = learn(&[0, 10, 20].map(|b| (release(b), notes(b))));
        assert!(style.cites_prs && !style.cites_issues, "{style:?}");
        // One release's two issues are too few to say so.
        let style = learn(&[(release(0), notes(0))]);
        assert!(style.cites_issues, "{style:?}");
    }

    /// gitui's maintainers cite the issue a change fixes, not its pull request, and never
    /// list refactors: the style learned from three past releases says so.
    #[test]
    fn a_project_that_cites_issues_not_prs_and_skips_refactors_is_learned() {
        let release = |base: usize| {
            understand(&[
                commit(
                    base,
                    "Fix crash on empty repo (#2101)\n\nfixes #2001",
                    &["src/a.rs"],
                ),
                commit(
                    base + 1,
                    "Add blame search (#2102)\n\ncloses #2002",
                    &["src/b.rs"],
                ),
                commit(
                    base + 2,
                    "Fix scrolling (#2103)\n\nfixes #2003",
                    &["src/c.rs"],
                ),
                commit(base + 3, "refactor: split app state (#2104)", &["src/d.rs"]),
                commit(base + 4, "refactor: tidy keys (#2105)", &["src/e.rs"]),
            ])
        };
        let notes = "### Fixes\n- crash on empty repo [[@ada](x)] ([#2001](https://github.com/o/n/issues/2001))\n- scrolling ([#2003](https://github.com/o/n/issues/2003))\n### Added\n- blame search ([#2002](https://github.com/o/n/issues/2002))\n";
        let style = learn(&[
            (release(0), notes.into()),
            (release(10), notes.into()),
            (release(30), notes.into()),
        ]);
        assert!(!style.cites_prs && style.cites_issues, "{style:?}");
        assert!(style.lists(Category::Feature) && style.lists(Category::Fix));
        assert!(!style.lists(Category::Refactor), "{style:?}");
        assert_eq!(style.learned_from, 3);
        let later = release(20);
        let fix = later
            .items
            .iter()
            .find(|i| i.title.starts_with("Fix crash"))
            .expect("the fix is an item");
        assert_eq!(fix.cited_by(&style), [2001]);
        // Without past notes: the defaults cite both and list what users notice.
        let d = learn(&[]);
        assert!(d.cites_prs && d.cites_issues && d.lists(Category::Fix));
        assert!(d.lists(Category::Chore) && !d.lists(Category::Test));
        assert_eq!(fix.cited_by(&d), [2101, 2001]);
    }

    fn cited_by(changes: &Changeset, title: &str, style: &HouseStyle) -> Vec<u64> {
        let item = changes.items.iter().find(|i| i.title.starts_with(title));
        item.expect("the item").cited_by(style)
    }

    /// gitui's notes cite a pull request when nothing else names the change, but the issue
    /// when a pull request fixes one; monolog's cite the pull request and never the issue
    /// its title closes ("Add NoDiscard attr, fixes #2012 (#2013)").
    #[test]
    fn which_reference_an_entry_with_both_cites_is_learned() {
        let release = |base: usize| {
            understand(&[
                commit(
                    base,
                    &format!(
                        "Fix crash on empty repo (#{})\n\nfixes #{}",
                        2101 + base,
                        2001 + base
                    ),
                    &["src/a.rs"],
                ),
                commit(
                    base + 1,
                    &format!(
                        "Add blame search (#{})\n\ncloses #{}",
                        2102 + base,
                        2002 + base
                    ),
                    &["src/b.rs"],
                ),
                commit(
                    base + 2,
                    &format!("Fix scrolling (#{})\n\nfixes #{}", 2103 + base, 2003 + base),
                    &["src/c.rs"],
                ),
                commit(
                    base + 3,
                    &format!("Add a remotes popup (#{})", 2104 + base),
                    &["src/d.rs"],
                ),
            ])
        };
        // The issue when there is one, else the pull request.
        let issues_first = |b: usize| {
            format!(
                "- crash on empty repo (#{})\n- blame search (#{})\n- scrolling (#{})\n- remotes popup (#{})\n",
                2001 + b,
                2002 + b,
                2003 + b,
                2104 + b
            )
        };
        let style = learn(&[0, 10, 20].map(|b| (release(b), issues_first(b))));
        assert!(style.cites_prs && style.cites_issues, "{style:?}");
        assert_eq!(style.when_both, WhenBoth::Issues);
        let later = release(40);
        let cited = |title: &str| {
            let item = later
                .items
                .iter()
                .find(|i| i.title.starts_with(title))
                .unwrap();
            item.cited_by(&style)
        };
        assert_eq!(cited("Fix crash"), [2041]);
        assert_eq!(cited("Add a remotes"), [2144]);
        // A pull request the message only links to is no issue: the entry keeps its own.
        let follow_up = understand(&[commit(
            99,
            "Fix the popup (#2200)\n\nFollow-up to https://github.com/o/n/pull/2190",
            &["src/e.rs"],
        )]);
        assert_eq!(follow_up.items[0].cited_by(&style), [2200, 2190]);
        // The pull request only.
        let prs_only = |b: usize| {
            format!(
                "- crash on empty repo (#{})\n- blame search (#{})\n- scrolling (#{})\n- remotes popup (#{})\n",
                2101 + b,
                2102 + b,
                2103 + b,
                2104 + b
            )
        };
        let style = learn(&[0, 10, 20].map(|b| (release(b), prs_only(b))));
        assert_eq!(style.when_both, WhenBoth::PullRequest, "{style:?}");
        assert_eq!(cited_by(&later, "Fix crash", &style), [2141]);
        // client_golang 1.24.0's "Support matchers in rules API (#1843)" links the older
        // #828 it resembles: notes that cite the pull request alone cite #1843.
        let similar = understand(&[commit(
            98,
            "Support matchers in rules API (#1843)\n\nSimilar to https://github.com/o/n/pull/828",
            &["api/prometheus/v1/api.go"],
        )]);
        assert_eq!(similar.items[0].cited_by(&style), [1843]);
        // A breaking change or a security fix keeps every reference, whatever the style.
        let mut security = later
            .items
            .iter()
            .find(|i| i.title.starts_with("Fix crash"))
            .unwrap()
            .clone();
        security.category = Category::Security;
        assert_eq!(security.cited_by(&style), [2141, 2041]);
        let mut breaking = security.clone();
        breaking.category = Category::Fix;
        breaking.breaking = Some("the crash is now an error".into());
        assert_eq!(breaking.cited_by(&style), [2141, 2041]);
        // Both, as written.
        let both = |b: usize| {
            format!(
                "- crash on empty repo (#{}, #{})\n- blame search (#{}, #{})\n- scrolling (#{})\n- remotes popup (#{})\n",
                2101 + b,
                2001 + b,
                2102 + b,
                2002 + b,
                2003 + b,
                2104 + b
            )
        };
        let style = learn(&[0, 10, 20].map(|b| (release(b), both(b))));
        assert_eq!(style.when_both, WhenBoth::Both, "{style:?}");
        let fix = later
            .items
            .iter()
            .find(|i| i.title.starts_with("Fix crash"))
            .unwrap();
        assert_eq!(fix.cited_by(&style), [2141, 2041]);
    }
}
