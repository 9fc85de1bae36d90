//! `covalynce draft` on a real git repository, as a user tries Covalynce in ten seconds.

use crate::helpers::covalynce_cmd;
use covalynce_drafting::Channel;
use std::path::Path;
use std::process::Command;

pub fn git(repo: &Path, args: &[&str], time: u64) {
    git_as(repo, "Ada Lovelace", args, time);
}

/// Runs git as `who` at a fixed time, ignoring the machine's git configuration.
pub fn git_as(repo: &Path, who: &str, args: &[&str], time: u64) {
    let date = format!("{time} +0000");
    let email = format!("{}@example.com", who.to_lowercase().replace(' ', "."));
    let status = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_AUTHOR_NAME", who)
        .env("GIT_AUTHOR_EMAIL", &email)
        .env("GIT_COMMITTER_NAME", who)
        .env("GIT_COMMITTER_EMAIL", &email)
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

pub fn commit(repo: &Path, file: &str, content: &str, message: &str, time: u64) {
    let path = repo.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
    git(repo, &["add", "-A"], time);
    git(repo, &["commit", "-q", "-m", message], time);
}

/// A small project with two releases and a commit after the second.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    git(r, &["init", "-q", "-b", "main"], 1_700_000_000);
    git(
        r,
        &["remote", "add", "origin", "git@github.com:acme/rocket.git"],
        1_700_000_000,
    );
    commit(
        r,
        "src/parser.rs",
        "fn parse() {}",
        "feat: initial parser",
        1_700_000_100,
    );
    commit(
        r,
        "Cargo.toml",
        "version = \"0.1.0\"",
        "chore(release): 0.1.0",
        1_700_000_200,
    );
    git(r, &["tag", "v0.1.0"], 1_700_000_200);
    commit(
        r,
        "src/parser.rs",
        "fn parse() { /* empty ok */ }",
        "fix(parser): handle empty input\n\nFixes #4",
        1_700_000_300,
    );
    commit(
        r,
        "src/cli.rs",
        "fn wrap() {}",
        "feat: add --wrap=word flag (#5)",
        1_700_000_400,
    );
    commit(
        r,
        "Cargo.toml",
        "version = \"0.2.0\"",
        "chore(release): 0.2.0",
        1_700_000_500,
    );
    commit(
        r,
        "README.md",
        "# rocket",
        "docs: explain the flags",
        1_700_000_600,
    );
    git(r, &["tag", "-a", "v0.2.0", "-m", "v0.2.0"], 1_700_000_600);
    commit(
        r,
        "src/later.rs",
        "fn later() {}",
        "feat: later work",
        1_700_000_700,
    );
    dir
}

fn run(args: &[&str]) -> std::process::Output {
    let data = tempfile::tempdir().unwrap();
    covalynce_cmd(data.path(), None)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_release_is_drafted_from_the_previous_tag_as_json() {
    let repo = project();
    let path = repo.path().to_str().unwrap();
    let out = run(&[
        "draft", "--repo", path, "--to", "v0.2.0", "--format", "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let titles: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        vec![
            "Add --wrap=word flag",
            "Handle empty input",
            "Explain the flags"
        ]
    );
    assert_eq!(v["items"][0]["category"], "feature");
    assert_eq!(v["items"][0]["refs"], serde_json::json!([5]));
    assert_eq!(v["items"][1]["category"], "fix");
    assert_eq!(v["items"][1]["refs"], serde_json::json!([4]));
    assert_eq!(v["items"][1]["commits"].as_array().unwrap().len(), 1);
    assert_eq!(v["noise"], 1, "the release bump is counted, not listed");
    // The project calls itself "rocket" (its README's title), not by its GitHub slug.
    assert_eq!(v["project"], "rocket");
    assert_eq!(v["version"], "v0.2.0");
    let notes = v["release_notes"].as_str().unwrap();
    assert!(notes.starts_with("## v0.2.0 (2023-11-14)"), "{notes}");
    assert!(
        notes.contains("- Add --wrap=word flag (#5) by Ada Lovelace"),
        "{notes}"
    );
    assert!(
        notes.contains("- **parser:** Handle empty input (#4)"),
        "{notes}"
    );
    assert!(
        notes.contains("https://github.com/acme/rocket/releases/tag/v0.2.0"),
        "{notes}"
    );
    assert!(
        !notes.contains("Initial parser") && !notes.contains("Later work"),
        "only the range: {notes}"
    );
    for channel in Channel::ALL {
        let text = v["posts"][channel.as_str()]
            .as_str()
            .unwrap_or_else(|| panic!("no {channel:?} post"));
        assert_eq!(
            covalynce_drafting::thread::over_limit(channel, text),
            None,
            "{channel:?}"
        );
        assert!(
            text.to_lowercase().contains("wrap=word flag"),
            "{channel:?}: {text}"
        );
    }
}

/// A project like gitui: its CHANGELOG cites the issue each fix closes, never the pull
/// request, and never lists test work. Four releases in, the next release's draft does the
/// same, names the project as its manifest and README do, tags it with its language and
/// topics, and never reads the CHANGELOG section the release itself adds.
#[test]
fn a_release_is_drafted_in_the_projects_own_style_and_under_its_own_name() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    git(r, &["init", "-q", "-b", "master"], 1_700_000_000);
    git(
        r,
        &[
            "remote",
            "add",
            "origin",
            "https://github.com/acme/rocket-cli.git",
        ],
        1_700_000_000,
    );
    commit(
        r,
        "Cargo.toml",
        "[package]\nname = \"rocketcli\"\nkeywords = [\"terminal\", \"git-ui\"]\n",
        "chore: initial manifest",
        1_700_000_010,
    );
    commit(
        r,
        "README.md",
        "# Rocket CLI\n\nA terminal UI.\n",
        "docs: readme",
        1_700_000_020,
    );
    git(r, &["tag", "v0.1.0"], 1_700_000_030);
    let mut notes = String::from("# Changelog\n\n## [0.1.0]\n- First release\n");
    // Newest release first, as changelogs are written.
    let heading = "# Changelog\n\n";
    let mut t = 1_700_000_100;
    for release in 2..=5u64 {
        let mut section = format!("## [0.{release}.0]\n");
        for k in 0..3u64 {
            let (pr, issue) = (release * 100 + k, release * 10 + k);
            t += 10;
            commit(
                r,
                &format!("src/m{release}_{k}.rs"),
                "pub fn x() {}",
                &format!("Fix crash number {pr} (#{pr})\n\nFixes #{issue}"),
                t,
            );
            section.push_str(&format!("- crash number {pr} ([#{issue}](https://github.com/acme/rocket-cli/issues/{issue}))\n"));
        }
        t += 10;
        commit(
            r,
            &format!("tests/t{release}.rs"),
            "#[test] fn t() {}",
            &format!("test: cover release {release} (#{})", release * 100 + 50),
            t,
        );
        // The release's own notes land in the release commit, as maintainers do.
        notes = notes.replacen(heading, &format!("{heading}{section}\n"), 1);
        t += 10;
        commit(
            r,
            "CHANGELOG.md",
            &notes,
            &format!("Release 0.{release}.0"),
            t,
        );
        git(r, &["tag", &format!("v0.{release}.0")], t);
    }
    let path = r.to_str().unwrap();
    let out = run(&[
        "draft", "--repo", path, "--to", "v0.5.0", "--format", "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["project"], "Rocket CLI");
    assert_eq!(v["house_style"]["cites_prs"], false, "{}", v["house_style"]);
    assert_eq!(v["house_style"]["learned_from"], 3);
    let notes = v["release_notes"].as_str().unwrap();
    for issue in ["#50", "#51", "#52"] {
        assert!(notes.contains(issue), "cites the issue {issue}: {notes}");
    }
    for pr in ["#500", "#501", "#502", "#550"] {
        assert!(!notes.contains(pr), "no pull request {pr}: {notes}");
    }
    assert!(
        !notes.contains("Cover release"),
        "test work is not listed: {notes}"
    );
    let mastodon = v["posts"]["mastodon"].as_str().unwrap();
    assert!(
        mastodon.contains("#rustlang #terminal #gitui"),
        "{mastodon}"
    );
    assert!(
        mastodon.starts_with("🐛 Rocket CLI v0.5.0 fixes crash number"),
        "{mastodon}"
    );
    let slack = v["posts"]["slack"].as_str().unwrap();
    assert!(slack.contains("#50") && !slack.contains("#500"), "{slack}");
}

#[test]
fn markdown_is_the_default_and_an_explicit_range_is_honoured() {
    let repo = project();
    let path = repo.path().to_str().unwrap();
    let out = run(&["draft", "--repo", path, "--from", "v0.2.0", "--to", "HEAD"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.contains("### Features\n\n- Later work"), "{md}");
    assert!(!md.contains("wrap=word"), "{md}");
    assert!(md.contains("## X ("), "posts follow the notes: {md}");
    // Same input, same draft.
    let again = run(&["draft", "--repo", path, "--from", "v0.2.0", "--to", "HEAD"]);
    assert_eq!(String::from_utf8(again.stdout).unwrap(), md);
}

#[test]
fn voices_change_the_posts_not_the_notes() {
    let repo = project();
    let path = repo.path().to_str().unwrap();
    let json = |voice: &str| {
        let out = run(&[
            "draft", "--repo", path, "--to", "v0.2.0", "--format", "json", "--voice", voice,
        ]);
        assert!(out.status.success());
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let (sassy, plain) = (json("sassy"), json("plain"));
    assert_eq!(sassy["release_notes"], plain["release_notes"]);
    assert_ne!(sassy["posts"]["linkedin"], plain["posts"]["linkedin"]);
}

#[test]
fn bad_ranges_and_paths_get_readable_errors() {
    let repo = project();
    let path = repo.path().to_str().unwrap();
    let not_repo = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    git(empty.path(), &["init", "-q"], 1_700_000_000);
    let cases: [(&[&str], &str); 4] = [
        (
            &["draft", "--repo", empty.path().to_str().unwrap()],
            "has no commits yet",
        ),
        (
            &["draft", "--repo", path, "--to", "v9.9.9"],
            "unknown revision \"v9.9.9\"",
        ),
        (
            &["draft", "--repo", not_repo.path().to_str().unwrap()],
            "is not a git repository",
        ),
        (
            &["draft", "--repo", path, "--voice", "snarky"],
            "--voice must be sassy, plain or technical",
        ),
    ];
    for (args, expected) in cases {
        let out = run(args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("error:") && stderr.contains(expected),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"));
    }
}

#[test]
fn diff_analysis_names_new_flags_routes_and_public_api() {
    let repo = project();
    let r = repo.path();
    commit(
        r,
        "src/cli.rs",
        "#[derive(clap::Parser)]\nstruct Cli {\n    #[arg(long)]\n    color: bool,\n}\npub fn export_csv() {}\n",
        "Colour output and CSV export",
        1_700_000_800,
    );
    commit(
        r,
        "web/server.ts",
        "app.get('/api/export', handler);\n",
        "Serve exports over HTTP",
        1_700_000_900,
    );
    let out = run(&[
        "draft",
        "--repo",
        r.to_str().unwrap(),
        "--from",
        "v0.2.0",
        "--to",
        "HEAD",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(
        md.contains("Colour output and CSV export")
            && md.contains("new `--color` flag, new `export_csv` function"),
        "{md}"
    );
    assert!(md.contains("new `GET /api/export` endpoint"), "{md}");
}

#[test]
fn secrets_in_commits_are_reported_and_never_printed() {
    let repo = project();
    let r = repo.path();
    let token = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
    commit(
        r,
        "deploy.env",
        &format!("TOKEN={token}\n"),
        "Add deploy settings",
        1_700_000_800,
    );
    commit(
        r,
        "src/x.rs",
        "pub fn x() {}",
        &format!("feat: use key {token}"),
        1_700_000_900,
    );
    let out = run(&[
        "draft",
        "--repo",
        r.to_str().unwrap(),
        "--from",
        "v0.2.0",
        "--to",
        "HEAD",
        "--format",
        "json",
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains(token), "the token never reaches a draft");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        v["secrets"],
        serde_json::json!(["GitHub token", "GitHub token"]),
        "one in a diff, one in a message"
    );
    let md = run(&[
        "draft",
        "--repo",
        r.to_str().unwrap(),
        "--from",
        "v0.2.0",
        "--to",
        "HEAD",
    ]);
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(
        md.starts_with("> ⚠️ Secrets found") && !md.contains(token),
        "{md}"
    );
}

/// A monorepo whose packages are tagged on their own (`globset-0.4.20`, as ripgrep does),
/// in a clone with no GitHub remote: the package's tag is drafted as that package's
/// release, from its own previous tag, and linked where its manifest says it lives.
#[test]
fn a_package_tag_is_drafted_as_that_packages_release_linked_from_its_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    git(r, &["init", "-q", "-b", "master"], 1_700_000_000);
    commit(
        r,
        "Cargo.toml",
        "[package]\nname = \"ripgrep\"\nrepository = \"https://codeberg.org/burnt/ripgrep\"\n",
        "initial",
        1_700_000_100,
    );
    git(r, &["tag", "globset-0.4.19"], 1_700_000_100);
    git(r, &["tag", "14.1.0"], 1_700_000_100);
    commit(
        r,
        "crates/globset/src/lib.rs",
        "pub fn glob() {}",
        "globset: add case-insensitive matching",
        1_700_000_200,
    );
    git(r, &["tag", "globset-0.4.20"], 1_700_000_200);
    let out = run(&[
        "draft",
        "--repo",
        r.to_str().unwrap(),
        "--to",
        "globset-0.4.20",
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["project"], "globset");
    assert_eq!(v["version"], "0.4.20");
    for channel in ["x", "linkedin", "mastodon"] {
        let text = v["posts"][channel].as_str().unwrap();
        assert!(text.contains("globset 0.4.20"), "{channel}: {text}");
        assert!(
            !text.contains("ripgrep globset-0.4.20"),
            "{channel}: {text}"
        );
        assert!(
            text.contains("https://codeberg.org/burnt/ripgrep"),
            "no GitHub remote: the manifest's link: {text}"
        );
    }
}

/// A project with a maintenance line, as rack keeps its: a fix lands on `main`, is
/// cherry-picked to `1.0-stable` and published in 1.0.1, whose notes (merged back into
/// `main`'s CHANGELOG) cite it. The 1.1.0 release brings it to `main`'s users too, but its
/// draft does not announce it again; it counts it, and lists what is new.
#[test]
fn a_fix_an_earlier_patch_release_announced_is_not_announced_again() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    git(r, &["init", "-q", "-b", "main"], 1_700_000_000);
    git(
        r,
        &[
            "remote",
            "add",
            "origin",
            "https://github.com/acme/rocket.git",
        ],
        1_700_000_000,
    );
    let v100 = "# Changelog\n\n## [1.0.0]\n- First release ([#1](https://github.com/acme/rocket/pull/1))\n";
    commit(r, "CHANGELOG.md", v100, "Release 1.0.0 (#1)", 1_700_000_010);
    git(r, &["tag", "v1.0.0"], 1_700_000_010);
    git(r, &["branch", "1.0-stable"], 1_700_000_010);
    // On main: the fix, and a feature.
    commit(
        r,
        "src/parser.rs",
        "fn parse() { /* empty ok */ }",
        "Fix a crash on empty input (#12)",
        1_700_000_100,
    );
    commit(
        r,
        "src/wrap.rs",
        "pub fn wrap() {}",
        "Add a wrap mode (#13)",
        1_700_000_200,
    );
    // The fix, cherry-picked to the maintenance line and released there.
    git(r, &["checkout", "-q", "1.0-stable"], 1_700_000_300);
    commit(
        r,
        "src/parser.rs",
        "fn parse() { /* empty ok */ }",
        "Fix a crash on empty input (#12)",
        1_700_000_300,
    );
    let v101 = "# Changelog\n\n## [1.0.1]\n- Fix a crash on empty input ([#12](https://github.com/acme/rocket/pull/12))\n\n## [1.0.0]\n- First release ([#1](https://github.com/acme/rocket/pull/1))\n";
    commit(r, "CHANGELOG.md", v101, "Release 1.0.1", 1_700_000_310);
    git(r, &["tag", "v1.0.1"], 1_700_000_310);
    // main takes the maintenance line's notes, then releases 1.1.0 from its own history.
    git(r, &["checkout", "-q", "main"], 1_700_000_400);
    commit(
        r,
        "CHANGELOG.md",
        v101,
        "Merge the 1.0.1 notes",
        1_700_000_400,
    );
    git(r, &["tag", "v1.1.0"], 1_700_000_500);
    let path = r.to_str().unwrap();
    // Named, or found: 1.0.0 is 1.1.0's previous tag in its history; 1.0.1, on the
    // maintenance line, is the newest release made before it.
    for from in [&["--from", "v1.0.1"][..], &[][..]] {
        let mut args = vec![
            "draft", "--repo", path, "--to", "v1.1.0", "--format", "json",
        ];
        args.extend_from_slice(from);
        let out = run(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        announces_only_the_new(&v, from);
    }
}

fn announces_only_the_new(v: &serde_json::Value, from: &[&str]) {
    assert_eq!(
        v["house_style"]["announced"],
        serde_json::json!([12]),
        "{from:?}"
    );
    let notes = v["release_notes"].as_str().unwrap();
    assert!(notes.contains("Add a wrap mode (#13)"), "{notes}");
    assert!(
        !notes.contains("#12") && !notes.contains("crash"),
        "1.0.1's fix is not announced again: {notes}"
    );
    assert!(
        notes.contains("1 change already in an earlier release's notes"),
        "{notes}"
    );
    for (channel, post) in v["posts"].as_object().unwrap() {
        let post = post.as_str().unwrap();
        assert!(!post.contains("crash"), "{channel}: {post}");
        assert!(post.contains("wrap mode"), "{channel}: {post}");
    }
}
