//! Judged against a real project: pyenv's hand-written release notes (an excerpt, in
//! `fixtures/pyenv-changelog.md`). Its history is rebuilt the way GitHub makes it — each
//! pull request a branch commit plus a "Merge pull request #N" commit, each release a tag —
//! and `covalynce draft` must name what the maintainers named and little else: every pull
//! request, except dependency bumps and CI-only changes, which it counts instead (by design).

use crate::draft::{git, git_as};
use crate::helpers::covalynce_cmd;
use std::collections::BTreeSet;

struct Pr {
    title: String,
    login: String,
    number: u64,
}

fn releases() -> Vec<(String, Vec<Pr>)> {
    let text = include_str!("fixtures/pyenv-changelog.md");
    let mut out: Vec<(String, Vec<Pr>)> = Vec::new();
    for line in text.lines() {
        if let Some(tag) = line.strip_prefix("## Release ") {
            out.push((tag.trim().to_owned(), Vec::new()));
        } else if let Some(rest) = line.strip_prefix("* ") {
            let (title, tail) = rest.rsplit_once(" by @").unwrap();
            let (login, url) = tail.split_once(" in ").unwrap();
            let number = url.rsplit('/').next().unwrap().parse().unwrap();
            out.last_mut().unwrap().1.push(Pr {
                title: title.to_owned(),
                login: login.trim_end_matches("[bot]").to_owned(),
                number,
            });
        }
    }
    out.reverse(); // oldest first
    out
}

#[test]
fn release_notes_name_what_pyenvs_maintainers_named() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    let mut t = 1_760_000_000u64;
    git(repo, &["init", "-q", "-b", "master"], t);
    std::fs::write(repo.join("README.md"), "pyenv").unwrap();
    git(repo, &["add", "-A"], t);
    git(repo, &["commit", "-q", "-m", "Initial import"], t);
    git(repo, &["tag", "v2.6.25"], t);
    let releases = releases();
    assert_eq!(releases.len(), 4);
    for (tag, prs) in &releases {
        for pr in prs {
            t += 600;
            let branch = format!("pr-{}", pr.number);
            git_as(
                repo,
                &pr.login,
                &["checkout", "-q", "-b", &branch, "master"],
                t,
            );
            std::fs::write(repo.join(format!("change-{}.txt", pr.number)), &pr.title).unwrap();
            git_as(repo, &pr.login, &["add", "-A"], t);
            git_as(repo, &pr.login, &["commit", "-q", "-m", &pr.title], t);
            git_as(repo, "maintainer", &["checkout", "-q", "master"], t + 60);
            let subject = format!(
                "Merge pull request #{} from {}/{}",
                pr.number, pr.login, branch
            );
            git_as(
                repo,
                "maintainer",
                &[
                    "merge", "-q", "--no-ff", "-m", &subject, "-m", &pr.title, &branch,
                ],
                t + 60,
            );
        }
        git(repo, &["tag", tag], t + 120);
    }

    for (tag, prs) in &releases {
        let data = tempfile::tempdir().unwrap();
        let out = covalynce_cmd(data.path(), None)
            .args([
                "draft",
                "--repo",
                repo.to_str().unwrap(),
                "--to",
                tag,
                "--format",
                "json",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let items = v["items"].as_array().unwrap();

        let left_out = |p: &Pr| p.title.starts_with("Bump ") || p.title.starts_with("CI:");
        let expected: BTreeSet<u64> = prs
            .iter()
            .filter(|p| !left_out(p))
            .map(|p| p.number)
            .collect();
        let named: BTreeSet<u64> = items.iter().filter_map(|i| i["refs"][0].as_u64()).collect();
        assert_eq!(
            named, expected,
            "{tag}: the notes name exactly the maintainers' PRs"
        );
        assert_eq!(
            items.len(),
            expected.len(),
            "{tag}: one item per PR, none for its branch commit"
        );
        assert_eq!(
            v["noise"],
            prs.iter().filter(|p| left_out(p)).count(),
            "{tag}: bumps and CI counted"
        );
        for pr in prs.iter().filter(|p| !left_out(p)) {
            let item = items.iter().find(|i| i["refs"][0] == pr.number).unwrap();
            assert!(
                item["title"]
                    .as_str()
                    .unwrap()
                    .eq_ignore_ascii_case(&pr.title)
                    || pr
                        .title
                        .to_lowercase()
                        .ends_with(&item["title"].as_str().unwrap().to_lowercase()),
                "{tag} #{}: {:?} vs the maintainers' {:?}",
                pr.number,
                item["title"],
                pr.title
            );
            if !pr.login.contains("bot") {
                assert!(
                    item["authors"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|a| a == &format!("@{}", pr.login)),
                    "{tag} #{} credits @{}: {item}",
                    pr.number,
                    pr.login
                );
            }
        }
        let notes = v["release_notes"].as_str().unwrap();
        assert!(notes.starts_with(&format!("## {tag}")), "{notes}");
        for n in &expected {
            assert!(
                notes.contains(&format!("#{n}")),
                "{tag}: #{n} cited:\n{notes}"
            );
        }
    }
}
