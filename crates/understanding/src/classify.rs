//! One commit → one [`Item`]: category from the conventional type when there is one,
//! otherwise from the wording and the files touched; noise recognised and set aside.

use crate::conventional::parse_conventional;
use crate::refs::{co_authors, issue_refs, linked_pulls, merge_source_login, pr_ref};
use crate::{Category, Item, Noise};
use covalynce_domain::Commit;

pub fn classify_commit(commit: &Commit) -> Item {
    let subject = commit.subject();
    let pr = pr_ref(subject);
    // A GitHub merge commit's body is the pull request's title.
    let is_pr_merge = subject.starts_with("Merge pull request #");
    // GitHub merges a security advisory's private fork as "Merge pull request from
    // GHSA-…", its fixes as bullets in the body: the first is the title, the advisory a
    // reference (rack 3.2.0's posts said "Merge pull request from GHSA-cj83-2ww7-mvq7").
    let advisory = subject
        .strip_prefix("Merge pull request from ")
        .map(str::trim)
        .filter(|a| a.len() > 5 && a.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("GHSA-")));
    // Newer advisories merge as "Merge commit from fork", naming none.
    let from_fork = advisory.is_some() || subject.trim() == "Merge commit from fork";
    let first_bullet = || {
        commit
            .body()
            .lines()
            .map(|l| l.trim().trim_start_matches(['*', '-']).trim())
            .find(|l| !l.is_empty())
    };
    let text = if is_pr_merge {
        commit.body().lines().next().unwrap_or(subject).trim()
    } else if from_fork {
        first_bullet().unwrap_or(subject)
    } else {
        subject
    };
    let message_for_parsing = if is_pr_merge {
        commit.body().to_owned()
    } else if from_fork {
        text.to_owned()
    } else {
        commit.message.clone()
    };
    let conventional = parse_conventional(&message_for_parsing).filter(|c| known_type(&c.kind));

    let (category, scope, breaking, title) = match &conventional {
        Some(c) => (
            category_of_type(
                &c.kind,
                c.scope.as_deref(),
                &format!("{}\n{}", c.description, commit.body()),
                &commit.files,
            ),
            c.scope.clone(),
            c.breaking.then(|| {
                c.breaking_note
                    .clone()
                    .unwrap_or_else(|| c.description.clone())
            }),
            c.description.clone(),
        ),
        None => {
            // "searcher: fix panic when…", "ignore,globset: increase pool capacity": the
            // component is the scope, not the first words of the title.
            let (component, text) = match component_prefix(text, &commit.files) {
                Some((component, rest)) => (Some(component_name(component)), rest),
                None => (None, text),
            };
            let mut category = infer_category(text, &commit.files);
            // "website: convert .ts to .js + extract helpers" (htmx): the component says
            // it is the site, and every file is in the site's folder.
            if component.as_deref().is_some_and(|c| {
                matches!(c.to_ascii_lowercase().as_str(), "website" | "site" | "www")
            }) && !commit.files.is_empty()
                && commit
                    .files
                    .iter()
                    .all(|f| in_website_folder(&f.to_ascii_lowercase()))
            {
                category = Category::Docs;
            }
            // A change that adds a flag, an endpoint or public API is a feature, whatever
            // its wording.
            if category == Category::Chore
                && commit
                    .symbols
                    .iter()
                    .any(|s| s.change == covalynce_domain::Change::Added)
            {
                category = Category::Feature;
            } else if category == Category::Chore && acts_on_the_program(text, &commit.files) {
                category = Category::Fix;
            }
            // How the title reads, once its kind is known from the words as written:
            // "Add: exponential backoff…" (client_golang 1.21.0) starts with the verb,
            // not a component; "Process collector: Fixed pedantic…" names a component
            // of a few words before the verb.
            let verb_colon;
            let (component, text) = match (component, text.split_once(": ")) {
                (None, Some((head, rest)))
                    if VERBS.iter().any(|(v, _)| head.eq_ignore_ascii_case(v)) =>
                {
                    verb_colon = format!("{head} {}", rest.trim());
                    (None, verb_colon.as_str())
                }
                // "add: exponential backoff" taken for a component named "add".
                (Some(c), _) if VERBS.iter().any(|(v, _)| c.eq_ignore_ascii_case(v)) => {
                    verb_colon = format!("{c} {text}");
                    (None, verb_colon.as_str())
                }
                (None, Some((head, rest)))
                    if (2..=3).contains(&head.split_whitespace().count())
                        // A label, not a component: "BREAKING CHANGE: removed X",
                        // "Bug fix: fixed Y", "Security fix: updated Z".
                        && !head.split_whitespace().any(|w| {
                            matches!(
                                w.to_ascii_lowercase().as_str(),
                                "breaking" | "change" | "changes" | "fix" | "fixes" | "bug"
                                    | "bugfix" | "security" | "note" | "important"
                                    | "warning" | "deprecated" | "todo" | "hotfix"
                            )
                        })
                        && head.len() <= 30
                        && head
                            .chars()
                            .all(|c| c.is_alphabetic() || c == ' ' || c == '-')
                        && rest.split_whitespace().next().is_some_and(|w| {
                            VERBS.iter().any(|(v, i)| {
                                w.eq_ignore_ascii_case(v) || w.eq_ignore_ascii_case(i)
                            })
                        }) =>
                {
                    (Some(head.to_lowercase()), rest.trim())
                }
                (component, _) => (component, text),
            };
            (category, component, None, text.to_owned())
        }
    };
    let (title, owned) = strip_owner_ref(&strip_pr_suffix(&title, pr));
    let untagged = strip_security_tag(&title);
    // The label leaves the title, not the judgement: a merged Renovate branch whose title
    // said "[security]" is still no mere dependency update (see `noise` below).
    let security_tagged = untagged != title;
    let title = untagged;
    let (title, pointed) = strip_issue_pointer(&strip_closing_ref(&title));
    let pointed = pointed.into_iter().chain(owned);
    let title = match advisory {
        Some(id) if !title.contains(id) => format!("{title} ({id})"),
        _ => title,
    };
    // A change whose body names a published advisory is a security fix, whatever its
    // subject says ("Bump x from 1.0 to 1.1 … Fixes CVE-2024-1234").
    let body = commit.body().to_ascii_lowercase();
    let category = if (body.contains("cve-") || body.contains("ghsa-") || from_fork)
        && !matches!(category, Category::Docs | Category::Test)
    {
        Category::Security
    } else {
        category
    };

    let mut refs: Vec<u64> = pr.into_iter().collect();
    for n in issue_refs(&commit.message).into_iter().chain(pointed) {
        if !refs.contains(&n) {
            refs.push(n);
        }
    }

    let mut authors = Vec::new();
    let author = if is_pr_merge {
        merge_source_login(subject).map(|l| format!("@{l}"))
    } else {
        None
    }
    .or_else(|| commit.author_login.as_ref().map(|l| format!("@{l}")))
    .unwrap_or_else(|| {
        if placeholder_name(&commit.author_name) {
            github_login(&commit.author_email)
                .map(|l| format!("@{l}"))
                .unwrap_or_default()
        } else {
            clean_name(&commit.author_name)
        }
    });
    if !is_bot(&author, &commit.author_email)
        && !is_assistant(&commit.author_name, &commit.author_email)
        && !author.is_empty()
    {
        authors.push(author);
    }
    for p in co_authors(&commit.message) {
        // A trailer naming the commit's own author is not a second person: the same
        // address, or only their first name from another address (client_golang #2000:
        // "Pedram Pd" co-authored by "Pedram <pedram@…>", one person).
        let first_name = commit.author_name.split_whitespace().next();
        let same = (!p.email.is_empty() && p.email.eq_ignore_ascii_case(&commit.author_email))
            || (!p.name.contains(char::is_whitespace)
                && commit.author_name.contains(char::is_whitespace)
                && first_name.is_some_and(|f| f.eq_ignore_ascii_case(p.name.trim())));
        let name = clean_name(&p.name);
        if !same
            && !name.is_empty()
            && !is_bot(&p.name, &p.email)
            && !is_assistant(&p.name, &p.email)
            && !authors.contains(&name)
        {
            authors.push(name);
        }
    }

    let noise = noise(
        commit,
        subject,
        conventional.as_ref().map(|c| c.kind.as_str()),
        &title,
        breaking.is_some(),
        security_tagged,
    );
    Item {
        highlights: highlights(&commit.symbols),
        category: if noise == Some(Noise::DependencyBump) || noise == Some(Noise::CiOnly) {
            Category::Chore
        } else {
            category
        },
        scope,
        breaking,
        title: sentence_case(&title),
        pr,
        refs,
        commits: vec![commit.id.clone()],
        authors,
        noise,
        linked_prs: linked_pulls(&commit.message)
            .into_iter()
            .filter(|n| Some(*n) != pr)
            .collect(),
    }
}

/// What users will notice first: new flags and endpoints, then new public API; at most 3.
fn highlights(symbols: &[covalynce_domain::SymbolChange]) -> Vec<String> {
    use covalynce_domain::{Change, SymbolKind};
    let mut picked: Vec<&covalynce_domain::SymbolChange> = symbols
        .iter()
        .filter(|s| s.change != Change::Removed)
        .collect();
    picked.sort_by_key(|s| {
        (
            s.change != Change::Added,
            match s.kind {
                SymbolKind::Flag => 0,
                SymbolKind::Route => 1,
                SymbolKind::Function => 2,
                SymbolKind::Type => 3,
            },
        )
    });
    // The same name changed in two files ("new `hooks_pre_push` function" in a crate and in
    // its wrapper) is said once.
    let mut out: Vec<String> = Vec::new();
    for d in picked.into_iter().map(|s| s.describe()) {
        if out.len() == 3 {
            break;
        }
        if !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

pub(crate) fn known_type(kind: &str) -> bool {
    matches!(
        kind,
        "feat"
            | "feature"
            | "fix"
            | "bugfix"
            | "bug"
            | "hotfix"
            | "perf"
            | "security"
            | "sec"
            | "docs"
            | "doc"
            | "refactor"
            | "style"
            | "test"
            | "tests"
            | "chore"
            | "ci"
            | "build"
            | "deps"
            | "release"
            | "revert"
            // "dx(runtime-core): warn when innerHTML overrides children" (Vue): developer
            // experience, upkeep (a security fix if its words say so).
            | "dx"
    )
}

/// A conventional commit's category: its type, except that security work is security
/// however it is written — the type, a `security` scope, its words (subject or body), or
/// the files a fix touches.
fn category_of_type(
    kind: &str,
    scope: Option<&str>,
    description: &str,
    files: &[String],
) -> Category {
    let security_scope = scope.is_some_and(|s| {
        let s = s.to_ascii_lowercase();
        s == "security" || s == "sec" || s.starts_with("security") || s == "cve"
    });
    let base = match kind {
        "feat" | "feature" => Category::Feature,
        "fix" | "bugfix" | "bug" | "hotfix" | "revert" => Category::Fix,
        "perf" => Category::Performance,
        "security" | "sec" => Category::Security,
        "docs" | "doc" => Category::Docs,
        "refactor" | "style" => Category::Refactor,
        "test" | "tests" => Category::Test,
        _ => Category::Chore,
    };
    let shipped = !matches!(base, Category::Docs | Category::Test | Category::Refactor)
        && !ignores_an_advisory(&description.to_ascii_lowercase(), files)
        && !docs_only(files);
    if shipped
        && (security_scope
            || sounds_like_security(description)
            || (base == Category::Fix && touches_security_code(files)))
    {
        return Category::Security;
    }
    if base == Category::Chore && !files.is_empty() && files.iter().all(|f| is_doc(f)) {
        return Category::Docs;
    }
    // "fix(test): accept zero GC pause increment on Windows", "fix: use keyed fields in
    // SamplePair struct literals in api_test.go" (client_golang 1.24.0): a change to the
    // test suite alone is test work, whatever its type says; users get nothing from it.
    // "fix: replace fmt.Errorf with errors.New" (client_golang 1.21.0, a linter's
    // suggestion): one piece of code swapped for another, named by its identifiers, with
    // no word of what went wrong for anyone.
    let title = description.lines().next().unwrap_or_default();
    if base == Category::Fix && swaps_code(title) {
        return Category::Refactor;
    }
    // `revert: ci: daggerize the pipelines`: undoing upkeep is upkeep.
    if kind == "revert" {
        let inner = title.trim().trim_matches('"');
        // `revert: Revert "…"`: the innermost subject; a plain one as it is.
        let inner = reverted(inner).unwrap_or(inner);
        if !inner.to_ascii_lowercase().starts_with("revert")
            && let Some(undone) = reverted_upkeep(inner, files)
        {
            return undone;
        }
    }
    let scope_test =
        scope.is_some_and(|s| matches!(s.to_ascii_lowercase().as_str(), "test" | "tests"));
    if base != Category::Docs && !files.is_empty() && files.iter().all(|f| is_test(f))
        || (scope_test && matches!(base, Category::Fix | Category::Chore | Category::Refactor))
    {
        return Category::Test;
    }
    base
}

/// "SECURITY.md: Exclude DoS from scope" (mitmproxy 12.2.2, announced as a security fix):
/// the policy's text, not a fix; security work edits something users run.
fn docs_only(files: &[String]) -> bool {
    !files.is_empty() && files.iter().all(|f| is_doc(f))
}

/// "add ignore for another CVE" (gitui 0.28.1, editing `deny.toml` and the Makefile): an
/// advisory acknowledged in the project's own audit tooling. Nothing users run changed, so
/// it is upkeep, not a security fix to announce.
fn ignores_an_advisory(lower: &str, files: &[String]) -> bool {
    let ignoring = lower.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
        matches!(
            w,
            "ignore" | "ignores" | "ignored" | "ignoring" | "allowlist" | "acknowledge"
        )
    });
    ignoring && !files.is_empty() && files.iter().all(|f| is_upkeep(f) || is_ci(f))
}

/// A fix in code whose path says it guards something: `src/security/…`, `csrf.rs`.
fn touches_security_code(files: &[String]) -> bool {
    // Shipped code only: an example named "escaped-positional.rs" (clap) is no escaping
    // code. A word of the path must start like one of these ("sanitize", "escaping.go").
    let shipped: Vec<String> = files
        .iter()
        .map(|f| f.to_ascii_lowercase())
        .filter(|f| !is_doc(f) && !is_test(f) && !is_example(f))
        .collect();
    let named = shipped
        .iter()
        .filter(|f| {
            f.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
                ["security", "csrf", "xss", "sanitiz"]
                    .iter()
                    .any(|s| w.starts_with(s))
                    || matches!(w, "escape" | "escaping" | "escaper" | "htmlescape")
            })
        })
        .count();
    // A wide change that happens to touch one such file is not security work.
    named > 0 && named * 3 >= shipped.len()
}

/// Example programs, benchmarks and snapshots: shipped in the repository, not the product.
fn is_example(path: &str) -> bool {
    path.split('/').any(|d| {
        matches!(
            d,
            "example" | "examples" | "bench" | "benches" | "benchmarks" | "snapshots"
        )
    })
}

pub(crate) fn sounds_like_security(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    let words: Vec<&str> = t
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.iter().any(|w| {
        matches!(
            *w,
            "cve"
                | "ghsa"
                | "xss"
                | "csrf"
                | "ssrf"
                | "rce"
                | "redos"
                | "xxe"
                | "rustsec"
                | "vuln"
                | "vulns"
        )
    }) {
        return true;
    }
    // Injection is an attack, except the design pattern.
    if t.contains("injection") && !t.contains("dependency injection") {
        return true;
    }
    [
        "security",
        "vulnerab",
        "cve-",
        "ghsa-",
        "path traversal",
        "directory traversal",
        "sql injection",
        "command injection",
        "header injection",
        "code injection",
        "html injection",
        "prototype pollution",
        "open redirect",
        "denial of service",
        "auth bypass",
        "authentication bypass",
        "unescaped",
        "xss",
        "csrf",
        "sanitiz",
        "sanitis",
        "privilege",
        "exploit",
        "timing attack",
        "secret leak",
        "leaked",
        "audit fix",
    ]
    .iter()
    .any(|w| t.contains(w))
}

/// The project's own upkeep in a few words: "Fix build", "Fix build issues", "Fix CI",
/// "Fix tests", "Update baseline" (a static analyser's). Work for the team, never news.
fn is_housekeeping(lower: &str) -> bool {
    // "(#2650)" is not a word of the subject, and a name in the code is not a tool:
    // "Fix Rack::Lint error message" fixes the product's own linter.
    let words: Vec<&str> = lower
        .split_whitespace()
        .flat_map(|token| {
            let code = token.contains("::")
                || token
                    .trim_matches(|c: char| !c.is_ascii_alphanumeric())
                    .contains(['.', '/']);
            token
                .split(|c: char| !c.is_ascii_alphanumeric())
                .map(move |w| if code { "" } else { w })
        })
        .filter(|w| !w.is_empty() && !w.chars().all(|c| c.is_ascii_digit()))
        .collect();
    if words.is_empty() || words.len() > 5 {
        return false;
    }
    let verb = matches!(
        words[0],
        "fix"
            | "fixed"
            | "fixes"
            | "update"
            | "updated"
            | "regenerate"
            | "repair"
            | "unbreak"
            | "address"
            | "silence"
            | "appease"
    );
    // "Fix latest clippy", "Fix nightly ci", "Fix clippy errors on nightly": a tool of the
    // project's own upkeep anywhere in a short subject.
    verb && words.iter().skip(1).any(|w| {
        matches!(
            *w,
            "build"
                | "builds"
                | "ci"
                | "tests"
                | "test"
                | "lint"
                | "linting"
                | "lints"
                | "clippy"
                | "nightly"
                | "warnings"
                | "phpstan"
                | "psalm"
                | "mypy"
                | "cs"
                | "baseline"
                | "formatting"
                | "pipeline"
                | "msrv"
                | "rustfmt"
                | "eslint"
                | "ruff"
        )
    })
}

/// For commits without a conventional prefix: the leading verb, then telling words, then
/// what the files say.
/// The subject a revert quotes (`Revert "ci: daggerize test and lint pipelines (#1534)"`,
/// as git and GitHub write it).
/// A revert of a revert is the change again: the innermost subject is what is undone or
/// redone (found in a loop, so no subject can recurse deeply).
fn reverted(text: &str) -> Option<&str> {
    let mut inner: Option<&str> = None;
    let mut rest = text.trim();
    for _ in 0..32 {
        let Some(quoted) = rest
            .strip_prefix("Revert \"")
            .or_else(|| rest.strip_prefix("revert \""))
        else {
            break;
        };
        let Some(end) = quoted.rfind('"') else { break };
        rest = quoted[..end].trim();
        inner = Some(rest);
    }
    inner.filter(|s| !s.is_empty() && !s.starts_with("Revert \""))
}

/// What undoing `inner` is when `inner` was upkeep (CI, tooling, tests, docs, code tidying):
/// the same kind of work. `None` when it changed what users get: undoing that is a fix.
fn reverted_upkeep(inner: &str, files: &[String]) -> Option<Category> {
    // `inner` is no revert itself (see `reverted`), so this classifies once, never again.
    let category =
        match parse_conventional(inner).filter(|c| known_type(&c.kind) && c.kind != "revert") {
            Some(c) => category_of_type(&c.kind, c.scope.as_deref(), &c.description, files),
            None => infer_category(inner, files),
        };
    matches!(
        category,
        Category::Chore | Category::Test | Category::Docs | Category::Refactor
    )
    .then_some(category)
}

/// "Replace fmt.Errorf with errors.New", "Use `io.ReadAll` instead of `ioutil.ReadAll`":
/// one identifier swapped for another, nothing said of a failure users saw.
fn swaps_code(description: &str) -> bool {
    let lower = description.to_ascii_lowercase();
    let first = lower.split_whitespace().next().unwrap_or_default();
    matches!(
        first,
        "replace" | "replaces" | "use" | "uses" | "switch" | "migrate"
    ) && (lower.contains(" with ") || lower.contains(" instead of ") || lower.contains(" to "))
        && names_code(description)
        && ![
            "bug",
            "crash",
            "panic",
            "leak",
            "race",
            "wrong",
            "incorrect",
            "broken",
            "fail",
            "error when",
            "regression",
        ]
        .iter()
        .any(|w| lower.contains(w))
}

fn infer_category(text: &str, files: &[String]) -> Category {
    if let Some(inner) = reverted(text)
        && let Some(undone) = reverted_upkeep(inner, files)
    {
        return undone;
    }
    if swaps_code(text) {
        return Category::Refactor;
    }
    let lower = text.to_ascii_lowercase();
    let first = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| !w.is_empty())
        .unwrap_or_default();
    if sounds_like_security(&lower) && !ignores_an_advisory(&lower, files) && !docs_only(files) {
        return Category::Security;
    }
    if is_housekeeping(&lower) {
        return Category::Chore;
    }
    // The project's own Rust tooling named in the subject ("New cargo-sort", "Fix cargo
    // deny advisory warning", gitui): upkeep, whatever the verb. Other ecosystems' tools
    // are caught by their config files (`is_upkeep`).
    if [
        "cargo-sort",
        "cargo sort",
        "cargo-deny",
        "cargo deny",
        "cargo-machete",
        "cargo machete",
        "cargo-udeps",
        "cargo-hack",
        "cargo-semver-checks",
    ]
    .iter()
    .any(|t| lower.contains(t))
    {
        return Category::Chore;
    }
    if !files.is_empty() {
        if files.iter().all(|f| is_doc(f)) {
            return Category::Docs;
        }
        // Tests, maybe with the CI that runs them ("Revert \"Skip Rack::Deflater tests on
        // JRuby\"" touched a test and a workflow): the test suite, not a fix users get.
        if files.iter().all(|f| is_test(f) || is_ci(f)) && files.iter().any(|f| is_test(f)) {
            return Category::Test;
        }
        // The repository's own tooling and meta files (CI, linters, editor settings,
        // CODEOWNERS, MAINTAINERS), maybe with docs beside them: upkeep, whatever the verb.
        if files.iter().all(|f| is_ci(f) || is_upkeep(f) || is_doc(f)) {
            return Category::Chore;
        }
    }
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    // "Fix grammar in exemplar option doc comments", "Improve godoc": the code's comments.
    if has(&[
        "doc comment",
        "docstring",
        "godoc",
        "in comments",
        "code comments",
        "rustdoc",
    ]) {
        return Category::Docs;
    }
    // "Remove redundant `to_str()` conversion", "Remove some #[allow]s", "Fix all
    // mismatched_lifetime_syntaxes warnings": the code's upkeep, not a change users see.
    let user_words = has(&["--", "flag", "option", "command", "setting"]);
    let tidying = !user_words
        && matches!(
            first,
            "remove" | "removes" | "removed" | "drop" | "delete" | "clean" | "cleanup" | "run"
        )
        && has(&[
            "redundant",
            "unused",
            "dead code",
            "#[allow",
            "pyupgrade",
            "f-strings",
        ]);
    let silencing = matches!(
        first,
        "fix"
            | "fixes"
            | "fixed"
            | "address"
            | "silence"
            | "resolve"
            | "enable"
            | "disable"
            | "deny"
            | "allow"
    ) && (has(&["clippy", "linter", "lint ", "lints"])
        // Compiler warnings, not warnings users are shown.
        || (has(&["warnings"])
            && (has(&["compiler", "rustc", "nightly", "deprecat", "build", "_"]))));
    if tidying || silencing || retypes(&lower) {
        return Category::Refactor;
    }
    // "Gix upgrade", "Ratatui update", "Cargo updates": a dependency named, then the verb.
    let words: Vec<&str> = lower.split_whitespace().collect();
    let verb_first = matches!(
        first,
        "add"
            | "fix"
            | "support"
            | "enable"
            | "allow"
            | "improve"
            | "implement"
            | "show"
            | "handle"
            | "disable"
            | "remove"
            | "auto"
    );
    if words.len() <= 3
        && !verb_first
        && words.last().is_some_and(|w| {
            matches!(
                w.trim_end_matches(|c: char| !c.is_ascii_alphabetic()),
                "upgrade" | "upgrades" | "update" | "updates" | "bump" | "bumps"
            )
        })
    {
        return Category::Chore;
    }
    // "Add test for …", "Add unit tests": test work, whatever the first verb says.
    let second = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .nth(1)
        .unwrap_or_default();
    if matches!(
        first,
        "add" | "adds" | "added" | "adding" | "improve" | "extend" | "update"
    ) && matches!(
        second,
        "test" | "tests" | "unit" | "integration" | "e2e" | "snapshot" | "snapshots" | "missing"
    ) && (second.starts_with("test") || has(&[" test"]))
    {
        return Category::Test;
    }
    // "update links to openmetrics to reference the v1.0.0 release" (client_golang 1.21.0,
    // a doc comment's URL), "Fix broken links in README": where the docs point.
    if matches!(
        first,
        "update"
            | "updates"
            | "fix"
            | "fixes"
            | "fixed"
            | "correct"
            | "change"
            | "changes"
            | "point"
            | "repoint"
    ) && words_of_text(&lower)
        .iter()
        .skip(1)
        // What the verb acts on, its first two words past articles and adjectives ("Fix
        // broken image links", "Update Discord invite link"): "Fix panic on requests with
        // nil URL" (client_golang 1.24.1) fixes a panic, whatever it says of URLs.
        .filter(|w| {
            !matches!(
                **w,
                "the"
                    | "a"
                    | "an"
                    | "some"
                    | "all"
                    | "any"
                    | "broken"
                    | "dead"
                    | "outdated"
                    | "old"
                    | "stale"
                    | "wrong"
                    | "invalid"
                    | "incorrect"
                    | "bad"
                    | "missing"
                    | "relative"
                    | "external"
                    | "internal"
                    | "doc"
                    | "docs"
                    | "documentation"
                    | "readme"
                    | "website"
                    | "badge"
                    | "badges"
                    | "more"
                    | "homepage"
                    | "invite"
                    | "discord"
                    | "slack"
                    | "chat"
                    | "contributing"
                    | "download"
                    | "repo"
                    | "repository"
            )
        })
        .take(2)
        .any(|w| {
            matches!(*w, "link" | "links")
                // "Change default API URL to …" is a change users get; "update links to …"
                // and "Fix broken URLs in README" are where the docs point.
                || (matches!(*w, "url" | "urls")
                    && !matches!(first, "change" | "changes" | "point" | "repoint"))
        })
        && !has(&["--", "flag", "option", "command", "header", "redirect"])
        // "Fix URL parsing of IPv6 hosts", "Fix link detection in markdown": the program's
        // handling of links.
        && !words_of_text(&lower).windows(2).any(|w| {
            matches!(w[0], "url" | "urls" | "link" | "links")
                && matches!(
                    w[1],
                    "parsing" | "parser" | "encoding" | "decoding" | "handling" | "validation"
                        | "detection" | "escaping" | "normalization" | "generation"
                )
        })
    {
        return Category::Docs;
    }
    // "Fix broken paragraph", "Remove incorrect text in SPEC", "Remove unnecessary
    // `:startdoc:`" (rack 3.2.0): the words of a document, wherever it is kept.
    if has(&[
        "paragraph",
        "wording",
        "grammar",
        "spelling",
        "incorrect text",
        ":startdoc:",
        ":nodoc:",
        ":stopdoc:",
    ]) {
        return Category::Docs;
    }
    // "Make x502 signing test less flaky on macos" (gitui, a test inside a source file):
    // the test suite's reliability, not the program's.
    // A race or crash that made tests flaky is the program's bug, found by them.
    let said = words_of_text(&lower);
    if said
        .iter()
        .any(|w| matches!(*w, "flaky" | "flakey" | "flakiness"))
        && said
            .iter()
            .any(|w| matches!(*w, "test" | "tests" | "spec" | "specs" | "testing"))
        && !said.iter().any(|w| {
            matches!(
                *w,
                "race" | "deadlock" | "crash" | "panic" | "leak" | "overflow"
            )
        })
    {
        return Category::Test;
    }
    // "Add nocov markings around code only executed in Ruby < 3.2": the coverage report.
    if has(&["nocov", "code coverage", "coverage report", "simplecov"]) {
        return Category::Test;
    }
    // "Add documentation for Rack::Multipart::UploadedFile", "Improve docs for X" (rack
    // 3.2.0 listed them as features): the documentation, whatever the verb.
    if matches!(
        first,
        "add" | "adds" | "added" | "adding" | "improve" | "improves" | "update" | "updates" | "fix"
    ) && matches!(
        second,
        "documentation" | "docs" | "doc" | "docstring" | "docstrings" | "comments" | "rdoc"
    ) {
        return Category::Docs;
    }
    // "Add grape as an external test", "Remove Sinatra as an external test until…": the
    // project's test suite, not its users' features.
    let words_of: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if matches!(
        first,
        "add" | "adds" | "added" | "remove" | "removes" | "drop" | "skip" | "disable"
    ) && words_of.iter().any(|w| matches!(*w, "test" | "tests"))
        && !words_of
            .iter()
            .any(|w| matches!(*w, "support" | "flag" | "option" | "command" | "mode"))
    {
        return Category::Test;
    }
    // "Option to hide quickhelp UI" (mitmproxy): a new option, named as a noun.
    if lower.starts_with("option to ") || lower.starts_with("options to ") {
        return Category::Feature;
    }
    match first {
        "fix" | "fixes" | "fixed" | "fixing" | "resolve" | "resolves" | "correct" | "corrects"
        | "repair" | "prevent" | "prevents" | "handle" | "handles" | "revert" | "hotfix"
        | "avoid" | "avoids" | "ensure" | "ensures" | "restore" | "restores" | "preserve"
        | "preserves" | "respect" | "respects" | "honor" | "honour" | "escape" | "escapes" => {
            return Category::Fix;
        }
        "add" | "adds" | "added" | "adding" | "introduce" | "introduces" | "implement"
        | "implements" | "support" | "supports" | "allow" | "allows" | "enable" | "enables"
        | "new" | "create" | "creates" | "expose" | "show" | "display" | "let" | "accept"
        | "accepts" | "detect" | "detects" | "rotate" | "rotates" | "deprecate" | "deprecates"
        | "warn" | "warns" | "emit" | "emits" | "print" | "prints" => {
            return Category::Feature;
        }
        "optimize" | "optimise" | "optimizes" | "speed" | "perf" | "accelerate" | "cache" => {
            return Category::Performance;
        }
        "refactor" | "refactors" | "cleanup" | "clean" | "rename" | "renames" | "move"
        | "moves" | "extract" | "simplify" | "simplifies" | "restructure" | "reorganize"
        | "tidy" => return Category::Refactor,
        "doc" | "docs" | "document" | "documents" | "readme" => return Category::Docs,
        "test" | "tests" | "testing" => return Category::Test,
        "bump" | "upgrade" | "ci" | "build" | "chore" | "release" | "lint" | "format" | "fmt" => {
            return Category::Chore;
        }
        _ => {}
    }
    if big_o(&lower)
        || has(&[
            "faster",
            "performance",
            "speed up",
            "speedup",
            "latency",
            "memory usage",
            "allocation",
        ])
    {
        Category::Performance
    } else if has(&[
        "bug",
        "crash",
        "panic",
        "regression",
        "broken",
        "error when",
        "fails",
        "failure",
        "incorrect",
        "wrong",
    ]) {
        Category::Fix
    } else if has(&["readme", "documentation", "docs"]) {
        Category::Docs
    } else if has(&[
        " will now ",
        " now raise",
        " now return",
        " now accept",
        " now reject",
        " now support",
        " now allow",
    ]) {
        // "Invalid cookie keys will now raise an error" (rack 3.1.0): what the project
        // does differently from now on, said as such, is a change users must hear about.
        Category::Feature
    } else if matches!(first, "use" | "replace" | "switch" | "migrate") && names_code(text) {
        // "Use `gitoxide` in `get_commit_info`", "Use gix_path::env::shell()": how the code
        // does something, named by its own identifiers.
        Category::Refactor
    } else if matches!(
        first,
        "improve"
            | "improves"
            | "update"
            | "updates"
            | "make"
            | "makes"
            | "use"
            | "change"
            | "changes"
            | "increase"
            | "reduce"
            | "replace"
            | "remove"
            | "drop"
    ) {
        // Behaviour changes without a telling word: announce them, as a maintainer would.
        Category::Feature
    } else {
        Category::Chore
    }
}

/// "Copy text using OSC52", "Set the terminal title to `gitui ({repo_path})`", "Dismiss
/// commit msg key" (gitui 0.28.0's notes list all three; the drafts had them under
/// Maintenance), "Skipping messages containing only whitespace" (Monolog's "Fixed
/// TelegramBotHandler sending empty messages"): a verb doing something to the program its
/// users run, in a change to its code, is a change they get. Asked only of what would
/// otherwise be upkeep and adds no public surface (that makes a feature). Most such changes
/// mend how something behaves (the notes put them under "Fixed" or "Changed"), and a post
/// should not lead with them over what a release adds: a fix.
fn acts_on_the_program(text: &str, files: &[String]) -> bool {
    let lower = text.to_ascii_lowercase();
    let words = words_of_text(&lower);
    let first = words.first().copied().unwrap_or_default();
    // The code's upkeep, said so: "Set @env directly to avoid unneeded call", "Stop using
    // deprecated OpenSSL constants", "Run cargo fmt", "Sort imports", work in progress.
    let upkeep = words.iter().any(|w| {
        matches!(
            *w,
            "clippy"
                | "lint"
                | "linter"
                | "warning"
                | "warnings"
                | "unneeded"
                | "unnecessary"
                | "redundant"
                | "deprecated"
                | "wip"
                | "fmt"
                | "rustfmt"
                | "gofmt"
                | "format"
                | "formatting"
                | "prettier"
                | "black"
                | "isort"
                | "imports"
                | "version"
                | "typo"
                | "typos"
        )
    }) || lower.contains("still needs");
    acts(first) && ships_code(files) && !upkeep
}

/// Verbs that say what the program now does (imperative, third person or gerund) rather
/// than what was done to the repository.
fn acts(first: &str) -> bool {
    let stems = [
        Some(first),
        first.strip_suffix("ing"),
        first.strip_suffix("es"),
        first.strip_suffix('s'),
    ];
    // With the stems the suffixes above leave ("copies" → "copi", "closes" → "clos").
    const VERBS: &str = "copy copi set sett dismiss overwrite overwrit validate validat convert \
         normalize normaliz normalise exclude exclud skip skipp open close clos jump \
         hide hid keep limit sort send load reload retry retri track include includ \
         treat strip stripp wrap wrapp bind reset clear mark highlight color colour \
         render write writ parse pars return check stop stopp execute execut run \
         runn reopen retain reject truncate truncat unify unifi suppress";
    stems
        .into_iter()
        .flatten()
        .any(|stem| VERBS.split_whitespace().any(|v| v == stem))
}

/// Whether a change touches the program itself: a file that is no doc, test, CI or tooling
/// file, lockfile or dependency manifest.
fn ships_code(files: &[String]) -> bool {
    files.iter().any(|f| {
        !(is_doc(f)
            || is_test(f)
            || is_ci(f)
            || is_upkeep(f)
            || is_lockfile(f)
            || is_dependency_manifest(f))
    })
}

/// The code moved to (more) static types: "web: increase typescript use for ducks"
/// (mitmproxy 12.1.0's posts led with it), "Convert the router to TypeScript", "Add type
/// hints to the handlers". Its users get the same program. Typings a library ships to its
/// users ("Add TypeScript definitions", "Ship type declarations") are theirs, and stay.
fn retypes(lower: &str) -> bool {
    let first = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| !w.is_empty())
        .unwrap_or_default();
    // A migration, said so: not "Fix crash in TypeScript parser" nor "Support `satisfies`
    // in TypeScript", a JavaScript tool's own features.
    let migrating = matches!(
        first,
        "increase" | "more" | "convert" | "converted" | "migrate" | "port" | "rewrite"
    );
    let typescript_use =
        lower.contains("typescript use") || (migrating && lower.contains("typescript"));
    let hints = matches!(
        first,
        "add" | "adds" | "added" | "increase" | "more" | "improve"
    ) && ["type hints", "type annotations", "typing annotations"]
        .iter()
        .any(|w| lower.contains(w));
    let shipped = [
        "definitions",
        "declarations",
        ".d.ts",
        "typings for",
        "export",
    ]
    .iter()
    .any(|w| lower.contains(w));
    (typescript_use || hints) && !shipped
}

/// Complexity written as such: "from O(rows) to O(1)" (mitmproxy 12.2.2) is a speed-up.
fn big_o(lower: &str) -> bool {
    lower.match_indices("o(").any(|(at, _)| {
        let before = lower[..at].chars().next_back();
        before.is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_')
            && lower[at + 2..]
                .split(')')
                .next()
                .is_some_and(|inner| !inner.is_empty() && inner.len() <= 12 && !inner.contains(' '))
            && lower[at + 2..].contains(')')
    })
}

fn words_of_text(lower: &str) -> Vec<&str> {
    lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

/// `labelled_security`: the title carried a "[security]" label, taken off it for reading.
fn noise(
    commit: &Commit,
    subject: &str,
    kind: Option<&str>,
    title: &str,
    breaking: bool,
    labelled_security: bool,
) -> Option<Noise> {
    // For a PR merge, what the change is lies in the PR title, and who made it in the
    // branch it came from.
    let pr_merge = subject.starts_with("Merge pull request #");
    let lower = if pr_merge { title } else { subject }.to_ascii_lowercase();
    let bot = is_bot(&commit.author_name, &commit.author_email)
        || (pr_merge && merge_source_login(subject).is_some_and(|l| is_bot(l, "")));
    // A dependency update that fixes a vulnerability is a change users must hear about.
    let body = commit.body().to_ascii_lowercase();
    // "sec: Upgrade golang.org/x/crypto to 0.17.0" (gin 1.10.0): the scope says it.
    let security_scope = ["sec:", "sec(", "fix(sec)", "chore(sec)", "fix(security)"]
        .iter()
        .any(|p| lower.starts_with(p));
    let security = labelled_security
        || security_scope
        || sounds_like_security(&lower)
        || body.contains("cve-")
        || body.contains("ghsa-");
    if bot
        && !security
        && (lower.contains("bump") || lower.contains("update") || lower.contains("deps"))
    {
        return Some(Noise::DependencyBump);
    }
    // "update dist" (htmx): the bundles a release ships, built again from the sources
    // whose changes the notes list.
    if !security && !commit.files.is_empty() && commit.files.iter().all(|f| is_built(f)) {
        return Some(Noise::VersionBump);
    }
    if !security
        && (lower.starts_with("chore(deps")
            || lower.starts_with("build(deps")
            || lower.starts_with("fix(deps")
            || lower.starts_with("deps:")
            || lower.starts_with("deps(")
            || (lower.starts_with("bump ") && lower.contains(" from ") && lower.contains(" to "))
            || lower.starts_with("update dependency ")
            || lower.starts_with("update rust crate ")
            || lower.starts_with("chore(deps-dev)"))
    {
        return Some(Noise::DependencyBump);
    }
    if commit.is_merge && !pr_merge {
        return Some(Noise::Merge);
    }
    // A PR that merges a release, sync or bot branch back joins work announced (or not
    // news) elsewhere: "Merge pull request #1744 from prometheus/release-1.21".
    if pr_merge && let Some(branch) = crate::refs::merge_source_branch(subject) {
        let b = branch.to_ascii_lowercase();
        if !security && (b.starts_with("dependabot/") || b.starts_with("renovate/")) {
            return Some(Noise::DependencyBump);
        }
        if b.starts_with("release")
            || b.starts_with("main-")
            || b.starts_with("master-")
            || b.starts_with("backport")
            || b.contains("repo_sync")
            || b == "sync"
        {
            return Some(Noise::Merge);
        }
    }
    if lower.starts_with("merge branch ")
        || lower.starts_with("merge remote-tracking branch ")
        || lower.starts_with("merge tag ")
        // A release line merged back, as its pull request's title says ("Merge
        // release-1.23 into main", "Sync main with release-1.23").
        || ["merge release", "sync release", "sync main with", "merge main into", "merge master into"]
            .iter()
            .any(|w| lower.starts_with(w))
    {
        return Some(Noise::Merge);
    }
    // A release bot that touches only the version ("reopen main for development",
    // mitmproxy's, editing `mitmproxy/version.py`) keeps the books, whatever it says.
    let version_file = |f: &String| {
        let name = f.rsplit('/').next().unwrap_or(f).to_ascii_lowercase();
        let stem = name.split('.').next().unwrap_or_default();
        matches!(stem, "version" | "_version" | "__version__") || is_notes_file(f)
    };
    if bot && !commit.files.is_empty() && commit.files.iter().all(version_file) {
        return Some(Noise::VersionBump);
    }
    // "docs: Update changelog": the description is the bookkeeping, whatever the type.
    if is_version_bump(&lower, kind, &commit.files)
        || (kind.is_some() && is_release_bookkeeping(&title.to_ascii_lowercase()))
    {
        return Some(Noise::VersionBump);
    }
    // "web: upgrade dependencies (#7707)" (mitmproxy): behind a scope, the title says it —
    // unless it moves to a new major line users' code meets ("upgrade bson dependency to
    // mongo-driver v2", gin 1.12.0 lists it).
    let title_lower = title.to_ascii_lowercase();
    let new_major = title_lower.split_whitespace().any(|w| {
        let w = w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '.');
        let w = w.trim_end_matches(".0").trim_end_matches(".0");
        w.strip_prefix('v')
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    });
    // The title is read only when no type says the change is a feature or a fix.
    let untyped = matches!(kind, None | Some("chore" | "build" | "deps" | "ci"));
    if !security
        && !breaking
        && !new_major
        && (is_dependency_update(&lower, &commit.files)
            || (untyped && is_dependency_update(&title_lower, &commit.files)))
    {
        return Some(Noise::DependencyBump);
    }
    if kind == Some("ci") || (!commit.files.is_empty() && commit.files.iter().all(|f| is_ci(f))) {
        return Some(Noise::CiOnly);
    }
    // client_golang 1.22.0 listed three edits of RELEASE.md; its maintainers listed none.
    if !security && !commit.files.is_empty() && commit.files.iter().all(|f| is_project_doc(f)) {
        return Some(Noise::ProjectDocs);
    }
    let t = title.to_ascii_lowercase();
    // "Fix typos", "Correct typos in comments and test error messages": however many
    // files, a short subject about typos is no news.
    let first_word = t.split_whitespace().next().unwrap_or_default();
    if (t.contains("typo") || t.contains("spelling") || t.contains("misspell"))
        && matches!(
            first_word,
            "fix"
                | "fixes"
                | "fixed"
                | "correct"
                | "corrects"
                | "corrected"
                | "typo"
                | "typos"
                | "spelling"
        )
        && (commit.files.len() <= 3 || t.split_whitespace().count() <= 10)
    {
        return Some(Noise::TypoOnly);
    }
    // gitui 0.28.0 listed eleven clippy, nightly and warning fixes its notes left out; a
    // new feature is never that, however it is worded.
    if !security
        && kind != Some("feat")
        && !breaking
        && !commit
            .symbols
            .iter()
            .any(|s| s.change == covalynce_domain::Change::Added)
        && is_tooling_fix(&t)
    {
        return Some(Noise::ToolingFix);
    }
    None
}

/// "Fix latest clippy", "Fix clippy errors on nightly", "Update baseline", "Fix build":
/// the project's own linters and checks made to pass again. Stricter than
/// [`is_housekeeping`] (which only files a change as maintenance): a linter named, or a
/// build, test or CI word with nothing but filler beside it. "Fix formatting of negative
/// numbers", "Fix build on FreeBSD" and "Update MSRV to 1.74" say something to users.
fn is_tooling_fix(lower: &str) -> bool {
    if !is_housekeeping(lower) {
        return false;
    }
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && !w.chars().all(|c| c.is_ascii_digit()))
        .collect();
    let linter = |w: &str| {
        matches!(
            w,
            "clippy"
                | "rustfmt"
                | "mypy"
                | "phpstan"
                | "psalm"
                | "eslint"
                | "ruff"
                | "lint"
                | "lints"
                | "linting"
                | "nightly"
                | "baseline"
        )
    };
    let check = |w: &str| matches!(w, "build" | "builds" | "test" | "tests" | "ci" | "warnings");
    let filler = |w: &str| {
        matches!(
            w,
            "fix"
                | "fixed"
                | "fixes"
                | "update"
                | "updated"
                | "repair"
                | "unbreak"
                | "address"
                | "silence"
                | "appease"
                | "regenerate"
                | "the"
                | "latest"
                | "broken"
                | "failing"
                | "failures"
                | "errors"
                | "error"
                | "issues"
                | "issue"
                | "usage"
                | "a"
                | "some"
                | "all"
                | "again"
        )
    };
    words.iter().skip(1).any(|w| linter(w))
        || (words.iter().skip(1).any(|w| check(w))
            && words.iter().all(|w| check(w) || filler(w) || linter(w)))
}

/// The maintainers' own process documents: how the project releases, takes contributions,
/// governs itself and handles reports, and the templates its issues and pull requests
/// start from. A user of the release reads none of them.
fn is_project_doc(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    let name = p.rsplit('/').next().unwrap_or(&p);
    let stem = name.split('.').next().unwrap_or_default();
    let github_meta = p.starts_with(".github/")
        && !p.starts_with(".github/workflows/")
        && !p.starts_with(".github/actions/")
        && !name.starts_with("readme");
    // Only at the root: `docs/security.md` may well be the user's guide to a feature.
    let root = !p.contains('/');
    github_meta
        || (root
            && matches!(
                stem,
                "release"
                    | "releasing"
                    | "release_process"
                    | "contributing"
                    | "code_of_conduct"
                    | "code-of-conduct"
                    | "governance"
                    | "maintainers"
                    | "maintaining"
                    | "security"
                    | "support"
                    | "pull_request_template"
                    | "issue_template"
            )
            && (name.ends_with(".md") || name.ends_with(".rst") || !name.contains('.')))
}

fn is_version_bump(lower: &str, kind: Option<&str>, files: &[String]) -> bool {
    let release_words = lower.starts_with("chore(release)")
        || lower.starts_with("release")
        || lower.starts_with("bump version")
        // "Bump minor version.", "bump the patch version" (rack); not "Bump Go version".
        || bumps_own_version(lower)
        || lower.starts_with("version bump")
        || lower.starts_with("prepare release")
        || lower.starts_with("chore: release")
        || lower.starts_with("chore: bump version")
        || lower.starts_with("chore: prepare release")
        || kind == Some("release")
        || looks_like_bare_version(lower);
    let version_files_only = !files.is_empty()
        && files.iter().all(|f| {
            let name = f.rsplit('/').next().unwrap_or(f).to_ascii_lowercase();
            matches!(
                name.as_str(),
                "cargo.toml"
                    | "cargo.lock"
                    | "package.json"
                    | "package-lock.json"
                    | "changelog.md"
                    | "version"
                    | "version.txt"
                    | "pyproject.toml"
                    | "setup.py"
                    | "go.mod"
                    | "yarn.lock"
                    | "pnpm-lock.yaml"
            ) || name.starts_with("version")
        });
    (release_words && (files.is_empty() || version_files_only))
        || is_release_bookkeeping(lower)
        || (!files.is_empty() && files.iter().all(|f| is_notes_file(f) && !is_test(f)))
}

/// "Bump version", "Bump minor version", "bump the patch version": the project's own
/// version, not a toolchain's ("Bump Go version to 1.23", "Bump MSRV version").
fn bumps_own_version(lower: &str) -> bool {
    let mut words = lower
        .split_whitespace()
        .map(|w| w.trim_end_matches(['.', ':']))
        .skip_while(|w| *w != "bump")
        .skip(1)
        .skip_while(|w| *w == "the");
    match words.next() {
        Some("version") => true,
        Some("major" | "minor" | "patch") => words.next() == Some("version"),
        _ => false,
    }
}

/// A file a release itself writes: its notes, its version file, manifests and lockfiles.
pub(crate) fn is_release_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let stem = name.split('.').next().unwrap_or_default();
    is_notes_file(path)
        || is_lockfile(path)
        || is_dependency_manifest(path)
        || matches!(stem, "version" | "_version" | "__version__")
}

/// The project's release notes file, anywhere (`covalynce_domain::notes_file_rank`): a
/// commit that edits only such files is the notes being written ("Add JS MIME type change
/// to CHANGELOG", rack), never a change.
fn is_notes_file(path: &str) -> bool {
    covalynce_domain::notes_file_rank(path.rsplit('/').next().unwrap_or(path)).is_some()
}

/// A component as the notes name it: one capitalised word in lower case, as the project's
/// other subjects write it ("Mitmweb: …" and "mitmweb: …" are one scope); a type's name
/// ("TelegramBotHandler") keeps its capitals.
fn component_name(component: &str) -> String {
    let mut chars = component.chars();
    let capitalised = chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if capitalised {
        component.to_ascii_lowercase()
    } else {
        component.to_owned()
    }
}

/// `component: rest` as projects without Conventional Commits write it (ripgrep's
/// `searcher: …`, `ignore,globset: …`, `crates/cli: …`): a short name or comma/slash list
/// of names, lower case (or one capital first letter when it is a list), then the title.
/// A capitalised single word is a component only when it names a part of the project the
/// change touches (mitmproxy's "Console: Option to hide quickhelp UI" changes
/// `tools/console/…`) or a verb starts what follows ("Mitmweb: Add number of selected
/// flows"); a label (`Note: …`, `WIP: …`, `Fix: …`) never is.
fn component_prefix<'a>(subject: &'a str, files: &[String]) -> Option<(&'a str, &'a str)> {
    let (head, rest) = subject.split_once(": ")?;
    let rest = rest.trim();
    let list = head.contains([',', '/']);
    let shape = !head.is_empty()
        && head.len() <= 30
        && rest.len() >= 3
        && head
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ',' | '/' | '_' | '-' | '.'))
        && head.chars().skip(1).all(|c| !c.is_ascii_uppercase())
        && (list || !head.starts_with(|c: char| c.is_ascii_uppercase()));
    // A type's name as the component ("TelegramBotHandler: three dots replacement"): a
    // capital, more capitals inside, letters and digits only — never a word like "Note".
    let type_name = head.len() <= 40
        && rest.len() >= 3
        && head.starts_with(|c: char| c.is_ascii_uppercase())
        && head.chars().all(|c| c.is_ascii_alphanumeric())
        && head.chars().skip(1).any(|c| c.is_ascii_uppercase())
        && head.chars().any(|c| c.is_ascii_lowercase());
    (shape || type_name || capitalised_component(head, rest, files)).then_some((head, rest))
}

/// "Console: …", "Mitmweb: Add …": one capitalised word naming a part of the project.
fn capitalised_component(head: &str, rest: &str, files: &[String]) -> bool {
    let word = head.len() >= 3
        && head.len() <= 20
        && head.starts_with(|c: char| c.is_ascii_uppercase())
        && head.chars().skip(1).all(|c| c.is_ascii_lowercase());
    let lower = head.to_ascii_lowercase();
    // Words that label a commit rather than name a part of it.
    let label = matches!(
        lower.as_str(),
        "note"
            | "wip"
            | "fix"
            | "fixes"
            | "fixed"
            | "bugfix"
            | "hotfix"
            | "feat"
            | "feature"
            | "breaking"
            | "docs"
            | "doc"
            | "update"
            | "revert"
            | "merge"
            | "chore"
            | "refactor"
            | "security"
            | "deprecated"
            | "important"
            | "warning"
            | "draft"
            | "todo"
            | "release"
            | "test"
            | "tests"
            | "build"
            | "perf"
            | "style"
            | "fixup"
            | "squash"
            | "backport"
            | "example"
            | "examples"
            | "tip"
            | "nit"
            | "minor"
            | "misc"
            | "bug"
            | "bugs"
            | "enhancement"
            | "improvement"
            | "cleanup"
            | "typo"
            | "features"
            | "chores"
            | "tweak"
            | "followup"
            | "workaround"
            | "question"
    );
    if !word || label || rest.len() < 3 {
        return false;
    }
    let names_a_path = files.iter().any(|f| {
        f.split('/')
            .rev()
            .skip(1)
            .any(|dir| dir.eq_ignore_ascii_case(head))
    });
    let first = rest
        .split(|c: char| c.is_whitespace() || c == '/')
        .next()
        .unwrap_or_default();
    let verb_follows = first.starts_with(|c: char| c.is_ascii_uppercase())
        && VERBS
            .iter()
            .any(|(v, i)| first.eq_ignore_ascii_case(v) || first.eq_ignore_ascii_case(i));
    names_a_path || verb_follows
}

/// Release bookkeeping whatever files it touched (a squashed release PR also regenerates
/// docs, lockfiles and packaging): "Release 1.58.0 (#3686)", "Bump version to v0.24.0",
/// "Update CHANGELOG.md for v0.24.0", "Update changelog and version for prerelease", and a
/// package-and-version subject as monorepos write them ("Globset-0.4.20", "pkg@1.2.3").
/// Most need a version or release word beside the verb (a few short subjects about the
/// changelog or a bare "Release" do not), so "Add --version flag" and
/// "Release notes render tables" stay changes.
fn is_release_bookkeeping(lower: &str) -> bool {
    let versioned = has_version_number(lower);
    let first = lower.split_whitespace().next().unwrap_or_default();
    // "Release", "release.", "chore: Release": the whole subject says it.
    let bare = lower
        .rsplit(": ")
        .next()
        .unwrap_or(lower)
        .trim()
        .trim_end_matches('.');
    if matches!(
        bare,
        "release" | "prepare release" | "release prep" | "prep release"
    ) {
        return true;
    }
    // `docs(changelog): …`: an edit of the notes themselves, whatever it says.
    if lower.starts_with("docs(changelog)") || lower.starts_with("chore(changelog)") {
        return true;
    }
    (matches!(first, "release" | "release:" | "releasing" | "prepare" | "cut") && versioned)
        // "Prep 2.0.8 release" (htmx), not "Prep 3.0 deprecations".
        || (first == "prep" && versioned && lower.contains("release"))
        // "Prepare for rc", "Prepare release": no version named, the words say it.
        || (first == "prepare"
            && lower.split_whitespace().count() <= 4
            && lower
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| matches!(w, "rc" | "release")))
        || ((lower.starts_with("bump ")
            || lower.starts_with("set ")
            || lower.starts_with("update "))
            && lower.contains("version")
            && !names_toolchain_version(lower)
            && (versioned || lower.contains("release")))
        || (lower.contains("changelog")
            && (versioned || lower.contains("version") || lower.contains("release")))
        // "Update changelog", "Changelog", "Add changelog entry": the notes themselves.
        || (lower.contains("changelog")
            && lower.split_whitespace().count() <= 4
            && matches!(first, "update" | "updated" | "changelog" | "changelog:" | "edit" | "tweak"))
        // "Missing changelog", "Cleanup changelog", "Fix changelog": the notes, in a word.
        || (lower.contains("changelog")
            && lower.split_whitespace().count() <= 3
            && matches!(first, "missing" | "cleanup" | "clean" | "fix" | "fixup" | "polish" | "tidy"))
        || looks_like_package_version(lower)
}

/// Languages and runtimes a project runs on: a new version of one is news to its users,
/// not a dependency bump to hide.
const TOOLCHAINS: [&str; 15] = [
    "python", "go", "golang", "rust", "node", "nodejs", "ruby", "php", "java", "jdk", "dotnet",
    "deno", "elixir", "erlang", "otp",
];

/// "Bump Go version to 1.23", "update minimum Node version": a toolchain's version, which
/// users may have to act on (gin lists "update Gin minimum Go version to 1.21").
fn names_toolchain_version(lower: &str) -> bool {
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(2).any(|w| {
        w[1] == "version"
            && (TOOLCHAINS.contains(&w[0])
                || matches!(w[0], "rustc" | "msrv" | "minimum" | "min" | "toolchain"))
    })
}

/// A `1.2` or `1.2.3` somewhere (optionally after `v`).
pub(crate) fn has_version_number(lower: &str) -> bool {
    lower
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .map(|w| w.trim_start_matches('v').trim_end_matches('.'))
        .any(|w| {
            let parts: Vec<&str> = w.split('.').collect();
            parts.len() >= 2
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        })
}

/// `globset-0.4.20`, `@scope/pkg@1.2.3`, `ignore 0.4.33`: a package's name and version as the
/// whole subject.
fn looks_like_package_version(lower: &str) -> bool {
    let s = lower.trim();
    if s.split_whitespace().count() > 2 || s.len() > 60 {
        return false;
    }
    let Some(at) = s.rfind(['-', '@', ' ']) else {
        return false;
    };
    let (name, version) = (&s[..at], &s[at + 1..]);
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '@' | '.'))
        && looks_like_bare_version(version)
}

/// `v1.2.3`, `1.2.3`, `Release 1.2.0-rc.1` as the whole subject.
fn looks_like_bare_version(lower: &str) -> bool {
    let s = lower.trim().trim_start_matches('v');
    let core = s.split(['-', '+', ' ']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() >= 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        && s.len() < 30
}

/// The name git writes for someone who never set theirs, or a tutorial's example: gin
/// v1.11.0's posts credited "Name and 1911860538", one person (the co-author trailer names
/// them). Such a name credits no one: an address's own words are not published, only a
/// GitHub no-reply address's login, which is public anyway.
fn placeholder_name(name: &str) -> bool {
    matches!(
        name.trim().to_ascii_lowercase().as_str(),
        "name" | "your name" | "yourname" | "user" | "username" | "unknown" | "root" | "author"
    )
}

/// The login in a GitHub no-reply address (`12345678+octocat@users.noreply.github.com`).
fn github_login(email: &str) -> Option<&str> {
    let local = email.strip_suffix("@users.noreply.github.com")?;
    let login = local.split_once('+').map_or(local, |(_, l)| l);
    (!login.is_empty()).then_some(login)
}

pub(crate) fn is_bot(name: &str, email: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let e = email.to_ascii_lowercase();
    // A project's own automation account named as one: "bot" as a word of its own
    // ("mitmproxy release bot", "k8s-ci-robot", "PrometheusBot"). A name that merely ends
    // in the letters ("Talbot", "jtalbot", "mchabot") is a person's.
    let raw = name.trim().trim_start_matches('@');
    let automation = n.ends_with(" bot")
        || n.ends_with("-bot")
        || n.ends_with("_bot")
        || n.ends_with("-robot")
        || (raw.ends_with("Bot")
            && raw[..raw.len() - 3].ends_with(|c: char| c.is_ascii_lowercase()));
    automation
        || n.ends_with("[bot]")
        || n.contains("dependabot")
        || n.contains("renovate")
        || n == "github-actions"
        || e.contains("[bot]@")
        || e.starts_with("bot@")
}

/// A person's name as a post may print it: git accepts anything, and a name half typed as
/// an address ("zdw@", mitmproxy 12.2) or quoted reads as a typo in a thank-you.
fn clean_name(name: &str) -> String {
    name.trim()
        .trim_matches(|c: char| matches!(c, '@' | '"' | '\'' | '<' | '>' | ',' | ';'))
        .trim()
        .to_owned()
}

/// A coding assistant a person worked with ("Co-authored-by: Claude <noreply@anthropic.com>"):
/// the person is credited, the tool is not. Unlike a bot, its commits are ordinary work.
fn is_assistant(name: &str, email: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    let e = email.trim().to_ascii_lowercase();
    matches!(
        e.as_str(),
        "noreply@anthropic.com"
            | "noreply@openai.com"
            | "cursoragent@cursor.com"
            | "copilot@github.com"
    ) || e.ends_with("+copilot@users.noreply.github.com")
        || matches!(
            n.as_str(),
            "claude" | "claude code" | "copilot" | "github copilot" | "cursor agent" | "codex"
        )
}

/// The built bundles a project commits for its releases (`dist/htmx.min.js`): scripts,
/// styles and their maps and compressed copies under `dist/` (a `dist/` of packaging
/// scripts is not built output).
fn is_built(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    p.starts_with("dist/")
        && [
            ".js", ".mjs", ".cjs", ".css", ".map", ".br", ".gz", ".d.ts", ".wasm",
        ]
        .iter()
        .any(|x| p.ends_with(x))
}

/// A folder where projects keep their website beside their code (htmx's `www/`); `lower`
/// is the path in lower case.
fn in_website_folder(lower: &str) -> bool {
    ["www/", "website/", "site/", "homepage/"]
        .iter()
        .any(|d| lower.starts_with(d))
}

/// The website folders (`www`, `website`, `site`, `homepage`) that a range shows to be a
/// site generator's: some file there is one no program keeps (an Astro page, MDX content,
/// a Docusaurus, Hugo, Jekyll, Eleventy, Gatsby or MkDocs config; not Handlebars or
/// Nunjucks views, which servers render too). In such a folder the scripts and data are
/// the site's too (htmx's `www/src/lib/jsonld.js`, `www/public/js/htmx.js`, its
/// `integrity.json`), where a Cordova app's `www/js/` stays the program.
pub(crate) fn site_roots<'a>(files: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut roots: Vec<String> = Vec::new();
    for f in files {
        let lower = f.to_ascii_lowercase();
        if !in_website_folder(&lower) {
            continue;
        }
        let name = lower.rsplit('/').next().unwrap_or(&lower);
        let generator = [".astro", ".mdx"].iter().any(|x| name.ends_with(x))
            || [
                "astro.config.",
                "docusaurus.config.",
                "hugo.",
                "_config.yml",
                ".eleventy.js",
                "eleventy.config.",
                "gatsby-config.",
                "mkdocs.yml",
            ]
            .iter()
            .any(|x| name.starts_with(x));
        let root = lower.split('/').next().unwrap_or_default();
        if generator && !roots.iter().any(|r| r == root) {
            roots.push(root.to_owned());
        }
    }
    roots
}

/// Whether every file is a page, style, script or data file inside one of the range's
/// [`site_roots`]: a server's code kept there (`website/server.go`, a `Dockerfile`) is
/// still the program.
pub(crate) fn all_in_site(files: &[String], roots: &[String]) -> bool {
    !roots.is_empty()
        && !files.is_empty()
        && files.iter().all(|f| {
            let lower = f.to_ascii_lowercase();
            let root = lower.split('/').next().unwrap_or_default();
            let web = is_website(&lower)
                || [".js", ".mjs", ".cjs", ".ts", ".jsx", ".tsx", ".json"]
                    .iter()
                    .any(|x| lower.ends_with(x));
            lower.contains('/') && web && roots.iter().any(|r| r == root)
        })
}

/// The project's website kept beside its code: the pages, content, styles and settings of a
/// site generator (an Astro site's `.astro`, `.md`, `.css`). Scripts there may be an app's
/// own (a Cordova app's `www/js/`) and a server's code under a `www/` web root is the
/// program: neither counts by its folder alone. `lower` is the path in lower case.
fn is_website(lower: &str) -> bool {
    in_website_folder(lower)
        && [
            ".astro", ".md", ".mdx", ".html", ".htm", ".css", ".scss", ".sass", ".less", ".toml",
            ".yaml", ".yml", ".njk", ".liquid", ".hbs", ".svg", ".png", ".jpg", ".jpeg", ".gif",
            ".webp", ".ico", ".txt", ".xml", ".woff2",
        ]
        .iter()
        .any(|x| lower.ends_with(x))
}

fn is_doc(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    if is_website(&p) {
        return true;
    }
    let name = p.rsplit('/').next().unwrap_or(&p);
    // The project's pictures beside its docs (a logo), not an app's own images.
    let picture = [".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".ico"]
        .iter()
        .any(|x| name.ends_with(x))
        && ![
            "src/", "lib/", "app/", "public/", "static/", "assets/", "web/", "ui/", "www/",
        ]
        .iter()
        .any(|d| p.starts_with(d) || p.contains(&format!("/{d}")));
    p.ends_with(".md")
        || p.ends_with(".rst")
        || p.ends_with(".rdoc")
        || p.ends_with(".adoc")
        || picture
        || p.ends_with(".txt") && !p.ends_with("cmakelists.txt") && !p.contains("requirements")
        || p.starts_with("docs/")
        || p.starts_with("doc/")
        || p.contains("/docs/")
}

pub(crate) fn is_test(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    p.starts_with("tests/")
        || p.starts_with("test/")
        || p.contains("/tests/")
        || p.contains("/test/")
        || p.contains("__tests__")
        || p.ends_with("_test.go")
        || p.ends_with("_test.py")
        || p.rsplit('/').next().is_some_and(|n| n.starts_with("test_"))
        || p.contains(".test.")
        || p.contains(".spec.")
        || p.contains("/snapshots/")
}

/// A dependency update whoever wrote it: "Update gix from 0.71.0 to 0.74.1", "Update
/// flask requirement from <=3.1.2 to <=3.1.3", "Update lockfile", "Cargo updates", "Upgrade
/// dependencies"; or a bump whose files are only manifests and lockfiles ("Bump env_logger",
/// "Update log"). A toolchain floor ("Update minimum Go version to 1.21", "MSRV bump to
/// 1.88") is not: users must hear about it.
fn is_dependency_update(lower: &str, files: &[String]) -> bool {
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .filter(|w| !w.is_empty())
        .collect();
    let bumps = |w: &str| {
        matches!(
            w,
            "bump"
                | "bumps"
                | "bumped"
                | "update"
                | "updates"
                | "updated"
                | "upgrade"
                | "upgrades"
                | "upgraded"
        )
    };
    let verb = |w: &str| bumps(w) || matches!(w, "pin" | "unpin" | "refresh");
    // Only lockfiles moved: dependencies' versions and nothing else, whatever the subject
    // says (gitui's "fix #2987" was a card of its own in the demo). A vulnerability fixed
    // that way is told apart before this is asked.
    if !files.is_empty() && files.iter().all(|f| is_lockfile(f)) {
        return true;
    }
    let only_manifests = !files.is_empty() && files.iter().all(|f| is_dependency_manifest(f));
    // "Add `logger` to the gemfile": a dependency added or dropped, and nothing else. Not in
    // manifests that also declare features and exports (Cargo.toml, package.json, …).
    let only_dependency_lists = !files.is_empty()
        && files.iter().all(|f| {
            let name = f.rsplit('/').next().unwrap_or(f).to_ascii_lowercase();
            is_dependency_manifest(f)
                && !matches!(
                    name.as_str(),
                    "cargo.toml" | "package.json" | "pyproject.toml" | "composer.json" | "mix.exs"
                )
                && !name.ends_with(".gemspec")
        });
    if only_dependency_lists
        && matches!(
            words.first(),
            Some(&("add" | "adds" | "remove" | "removes" | "drop"))
        )
        && !has_version_number(lower)
    {
        return true;
    }
    // The verb leads ("Update gix from…", "Bump env_logger") or, in a subject of a few
    // words, ends it ("Gix upgrade", "Cargo updates"); "Fix crash when dependencies are
    // updated" is a fix.
    let leads = words.first().is_some_and(|w| verb(w));
    let ends = words.len() <= 3 && words.last().is_some_and(|w| verb(w));
    if !(leads || ends) {
        return false;
    }
    if words
        .iter()
        .any(|w| matches!(*w, "minimum" | "msrv" | "toolchain" | "min"))
    {
        return false;
    }
    // A language or runtime the project now runs on ("Update to Python 3.14", mitmproxy
    // 12.2.0; "update go to 1.22"): its users hear of it.
    let toolchain = words.iter().any(|w| TOOLCHAINS.contains(w));
    if toolchain && (has_version_number(lower) || words.contains(&"version")) {
        return false;
    }
    // "update log (#2766)" (gitui: the `log` crate, with the code it needed): a bump verb and
    // one or two names, with the lockfile moving — a dependency, whatever else it touched.
    // Not the project's own things ("Update README", "Bump version to 1.2.3"), which move a
    // workspace's lockfile too.
    let bump_verb = words.first().is_some_and(|w| bumps(w));
    let names: Vec<&&str> = words
        .iter()
        .skip(1)
        .filter(|w| {
            !w.trim_start_matches('v')
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.')
                && !matches!(
                    **w,
                    "to" | "from" | "the" | "crate" | "package" | "gem" | "module"
                )
        })
        .collect();
    let own_things = names.iter().any(|w| {
        matches!(
            **w,
            "readme"
                | "docs"
                | "doc"
                | "documentation"
                | "version"
                | "versions"
                | "changelog"
                | "test"
                | "tests"
                | "license"
                | "ci"
                | "website"
                | "site"
                | "example"
                | "examples"
                | "copyright"
                | "year"
                | "snapshot"
                | "snapshots"
        )
    });
    if bump_verb
        && !own_things
        && (1..=2).contains(&names.len())
        && files.iter().any(|f| is_lockfile(f))
    {
        return true;
    }
    let moves_versions = lower.contains(" requirement from ")
        || (lower.contains(" from ") && lower.contains(" to ") && has_version_number(lower));
    let names_dependencies = words.len() <= 7
        && (words.iter().any(|w| {
            matches!(
                *w,
                "dependencies" | "dependency" | "deps" | "lockfile" | "lockfiles"
            )
        }) || lower.contains("cargo update")
            || lower.contains("cargo upgrade"));
    moves_versions || names_dependencies || only_manifests
}

/// Files that lock dependencies' versions: they move only when a dependency does.
fn is_lockfile(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    matches!(
        name.as_str(),
        "cargo.lock"
            | "go.sum"
            | "package-lock.json"
            | "yarn.lock"
            | "pnpm-lock.yaml"
            | "bun.lockb"
            | "uv.lock"
            | "poetry.lock"
            | "pdm.lock"
            | "pipfile.lock"
            | "composer.lock"
            | "gemfile.lock"
            | "mix.lock"
    )
}

/// Files that declare or lock dependencies.
fn is_dependency_manifest(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    is_lockfile(path)
        || matches!(
            name.as_str(),
            "cargo.toml"
                | "go.mod"
                | "package.json"
                | "pipfile"
                | "pyproject.toml"
                | "composer.json"
                | "gemfile"
                | "mix.exs"
                | "deny.toml"
        )
        || (name.starts_with("requirements") && name.ends_with(".txt"))
        || name.ends_with(".gemspec")
}

/// The repository's own tooling and meta files: linters, formatters, editor settings,
/// build helpers, ownership. Changing only these is upkeep.
fn is_upkeep(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    let name = p.rsplit('/').next().unwrap_or(&p);
    matches!(
        name,
        ".editorconfig"
            | ".gitignore"
            | ".gitattributes"
            | ".mailmap"
            | "makefile"
            | "makefile.common"
            | "justfile"
            | "rakefile"
            | ".simplecov"
            | ".rubocop.yml"
            | "deny.toml"
            | "clippy.toml"
            | ".clippy.toml"
            | "rustfmt.toml"
            | ".rustfmt.toml"
            | "rust-toolchain"
            | "rust-toolchain.toml"
            | ".golangci.yml"
            | ".golangci.yaml"
            | ".pre-commit-config.yaml"
            | "tox.ini"
            | "noxfile.py"
            | "biome.json"
            | "renovate.json"
            | "codecov.yml"
            | ".codecov.yml"
            | "_typos.toml"
            | ".typos.toml"
            | ".yamllint"
            | ".nvmrc"
            | ".node-version"
            | ".python-version"
            | "codeowners"
            | "maintainers"
            | "maintainers.md"
            | ".promu.yml"
            | ".dockerignore"
            | ".prettierignore"
            | ".eslintignore"
    ) || name.starts_with(".eslintrc")
        || name.starts_with("eslint.config.")
        || name.starts_with(".prettierrc")
        || name.starts_with("prettier.config.")
        || name.starts_with(".markdownlint")
        || name.ends_with(".mk")
}

/// Whether a subject names the code's own identifiers: `backticked`, `snake_case`,
/// `path::to`, `call()`, `pkg.Name`, `NewTextParser`.
fn names_code(text: &str) -> bool {
    // A backticked word alone may be a crate's or tool's name ("Switch to `rustls`"): what
    // is inside the backticks must look like code too.
    text.contains("::")
        || text.contains("()")
        || text.split_whitespace().any(|w| {
            let w = w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && !matches!(c, '_' | '.'));
            let snake =
                w.contains('_') && w.chars().any(|c| c.is_ascii_lowercase()) && !w.starts_with('_');
            // `NewTextParser`, `getElementById`: two humps or more. One hump is as often a
            // product's name (MongoDB, GitHub, OpenSSL) as an identifier.
            let humps = w
                .as_bytes()
                .windows(2)
                .filter(|p| p[0].is_ascii_lowercase() && p[1].is_ascii_uppercase())
                .count();
            let camel = humps >= 2 && w.chars().all(|c| c.is_ascii_alphanumeric());
            // `fmt.Errorf`, `expfmt.NewTextParser`: a package and an exported name (not
            // `1.2`, `config.toml` or `Node.js`).
            let dotted = w.split_once('.').is_some_and(|(a, rest)| {
                a.chars().any(|c| c.is_ascii_alphabetic())
                    && rest
                        .split('.')
                        .any(|seg| seg.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
            });
            snake || camel || dotted
        })
}

fn is_ci(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    p.starts_with(".github/")
        || p.starts_with(".circleci/")
        || p == ".gitlab-ci.yml"
        || p == ".travis.yml"
        || p.starts_with(".ci/")
        || p == "azure-pipelines.yml"
        || p == ".woodpecker.yml"
}

/// "Update dependency postcss to v8.5.23 [security]" (Renovate's label): the section
/// and the post's 🔒 already say it; the bracket read as a bot's.
fn strip_security_tag(title: &str) -> String {
    let trimmed = title.trim_end();
    match trimmed.len().checked_sub(" [security]".len()) {
        Some(at)
            if trimmed.is_char_boundary(at)
                && trimmed[at..].eq_ignore_ascii_case(" [security]")
                && !trimmed[..at].trim().is_empty() =>
        {
            trimmed[..at].trim_end().to_owned()
        }
        _ => title.to_owned(),
    }
}

/// "Add ZIP content view for issue #8051" (mitmproxy 12.2.2): the issue a change answers,
/// as a reference of the item rather than words of its title.
fn strip_issue_pointer(title: &str) -> (String, Option<u64>) {
    let lower = title.to_ascii_lowercase();
    for tail in [" for issue #", " for #"] {
        if let Some(at) = lower.rfind(tail) {
            let digits = &title[at + tail.len()..];
            if !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
                && let Ok(n) = digits.parse::<u64>()
                && !title[..at].trim().is_empty()
            {
                return (title[..at].trim_end().to_owned(), Some(n));
            }
        }
    }
    (title.to_owned(), None)
}

/// "Message tab supports pageup and pagedown (gitui-org#2623)": a reference written with
/// its owner closing the title is no words of it. An owner alone (the project's
/// organisation, as its people write it) names one of this project's numbers, which the
/// item keeps; `owner/repo#N` names another repository's, which it does not. So is a plain
/// one left before the squash's own ("Option to hide quickhelp UI (#5746) (#8095)",
/// mitmproxy: the issue it closes).
fn strip_owner_ref(title: &str) -> (String, Option<u64>) {
    let trimmed = title.trim_end();
    let Some((at, inner)) = trimmed
        .strip_suffix(')')
        .and_then(|t| t.rfind('(').map(|at| (at, &t[at + 1..])))
    else {
        return (title.to_owned(), None);
    };
    let Some((owner, number)) = inner.split_once('#') else {
        return (title.to_owned(), None);
    };
    // "(C#9)", "(F#8)" are languages, not an owner's references.
    let names_ref = (owner.is_empty() || owner.contains('/') || owner.len() >= 3)
        && owner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit());
    if !names_ref || trimmed[..at].trim().is_empty() {
        return (title.to_owned(), None);
    }
    let ours = (!owner.contains('/'))
        .then(|| number.parse().ok())
        .flatten();
    (trimmed[..at].trim_end().to_owned(), ours)
}

/// "avoid a compiler warning on macOS (fixes #1660)": the issue is one of the item's
/// references (cited beside the pull request), not words of its title.
fn strip_closing_ref(title: &str) -> String {
    let trimmed = title.trim_end();
    // "(fixes #12)", or "…, fixes #12" / "… - closes #3, #4" closing the title.
    let bracketed = trimmed
        .strip_suffix(')')
        .and_then(|t| t.rfind('(').map(|at| (at, &t[at + 1..])));
    let clauses = [", ", "; ", " - ", " – "].iter().flat_map(|sep| {
        trimmed
            .match_indices(sep)
            .map(move |(i, _)| (i, &trimmed[i + sep.len()..]))
    });
    match bracketed
        .into_iter()
        .chain(clauses)
        .find(|(at, inner)| *at > 0 && only_closes(inner))
    {
        Some((at, _)) if !trimmed[..at].trim().is_empty() => trimmed[..at].trim_end().to_owned(),
        _ => title.to_owned(),
    }
}

/// "fixes #12", "closes #3, #4 and #5": a closing word, then references only.
fn only_closes(clause: &str) -> bool {
    let lower = clause.to_ascii_lowercase();
    let Some(rest) = [
        "fixes ",
        "fix ",
        "fixed ",
        "closes ",
        "close ",
        "closed ",
        "resolves ",
        "resolve ",
        "resolved ",
    ]
    .iter()
    .find_map(|w| lower.strip_prefix(w)) else {
        // "see #12", "refs #3": not references the message closes, so not among the
        // item's references (`issue_refs`); taken out, they would be lost.
        return false;
    };
    rest.split([',', ' ']).filter(|p| !p.is_empty()).all(|p| {
        p.strip_prefix('#')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            || p == "and"
    })
}

fn strip_pr_suffix(title: &str, pr: Option<u64>) -> String {
    match pr {
        Some(n) => title
            .strip_suffix(&format!("(#{n})"))
            .map(str::trim_end)
            .unwrap_or(title)
            .to_owned(),
        None => title.to_owned(),
    }
}

/// Release-note style: first letter uppercase, no trailing period.
/// Verbs a title starts with, as written and in the imperative that release notes use.
const VERBS: [(&str, &str); 28] = [
    ("added", "add"),
    ("adds", "add"),
    ("fixed", "fix"),
    ("fixes", "fix"),
    ("updated", "update"),
    ("updates", "update"),
    ("removed", "remove"),
    ("removes", "remove"),
    ("implemented", "implement"),
    ("implements", "implement"),
    ("improved", "improve"),
    ("improves", "improve"),
    ("changed", "change"),
    ("changes", "change"),
    ("replaced", "replace"),
    ("replaces", "replace"),
    ("renamed", "rename"),
    ("moved", "move"),
    ("optimized", "optimize"),
    ("upgraded", "upgrade"),
    ("introduced", "introduce"),
    ("corrected", "correct"),
    ("allowed", "allow"),
    ("created", "create"),
    ("refactored", "refactor"),
    ("add", "add"),
    ("fix", "fix"),
    ("update", "update"),
];

/// "Implemented Delete method", "Fixes crash on exit": the imperative the rest of the
/// notes use ("Implement Delete method"). Only a title's first word, and only these; not
/// where the word describes ("Changed files are not detected", "Removed items can
/// reappear": a sentence about a bug, whose verb follows).
fn imperative(title: &str) -> String {
    let Some((first, rest)) = title.split_once(' ') else {
        return title.to_owned();
    };
    let describes = rest.split_whitespace().take(3).any(|w| {
        matches!(
            w.to_ascii_lowercase().trim_end_matches([',', '.']),
            "is" | "are"
                | "was"
                | "were"
                | "can"
                | "cannot"
                | "can't"
                | "could"
                | "no"
                | "not"
                | "do"
                | "does"
                | "don't"
                | "doesn't"
                | "did"
                | "didn't"
                | "should"
                | "will"
                | "would"
                | "still"
                | "being"
                | "been"
                | "have"
                | "has"
                | "had"
                | "may"
                | "might"
                | "must"
                | "never"
                | "now"
        )
    });
    if describes {
        return title.to_owned();
    }
    match VERBS.iter().find(|(v, _)| first.eq_ignore_ascii_case(v)) {
        Some((_, i)) if !first.eq_ignore_ascii_case(i) => {
            let upper = first.starts_with(|c: char| c.is_uppercase());
            let mut verb = (*i).to_owned();
            if upper {
                verb[..1].make_ascii_uppercase();
            }
            format!("{verb} {rest}")
        }
        _ => title.to_owned(),
    }
}

fn sentence_case(s: &str) -> String {
    let s = imperative(s.trim());
    let s = s.trim().trim_end_matches('.');
    let mut chars = s.chars();
    match chars.next() {
        // Leave code-ish starts (`--flag`, `foo()`, camelCase identifiers) alone.
        Some(c)
            if c.is_lowercase()
                && !s.split_whitespace().next().is_some_and(|w| {
                    w.chars().any(|c| c.is_uppercase() || c == '_' || c == '(')
                }) =>
        {
            c.to_uppercase().chain(chars).collect()
        }
        _ => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(message: &str, files: &[&str]) -> Commit {
        Commit {
            id: format!("{:040x}", message.len()),
            message: message.to_owned(),
            author_name: "Ada".into(),
            author_email: "ada@example.com".into(),
            author_login: None,
            timestamp: None,
            files: files.iter().map(|f| f.to_string()).collect(),
            is_merge: false,
            symbols: Vec::new(),
            diff_secrets: Vec::new(),
            part_of: None,
        }
    }

    #[test]
    fn conventional_commits_keep_type_scope_and_breaking_note() {
        let i = classify_commit(&commit(
            "feat(cli)!: add --wrap=word flag (#88)\n\nBREAKING CHANGE: --wrap now takes a mode",
            &["src/cli.rs"],
        ));
        assert_eq!(i.category, Category::Feature);
        assert_eq!(i.scope.as_deref(), Some("cli"));
        assert_eq!(i.breaking.as_deref(), Some("--wrap now takes a mode"));
        assert_eq!(i.title, "Add --wrap=word flag");
        assert_eq!(i.pr, Some(88));
        assert_eq!(i.refs, vec![88]);
        assert_eq!(i.noise, None);
    }

    #[test]
    fn plain_english_commits_are_categorised_by_wording_and_files() {
        let cases: &[(&str, &[&str], Category)] = &[
            (
                "Fix crash when the config file is empty",
                &["src/config.rs"],
                Category::Fix,
            ),
            ("Add dark mode toggle", &["web/app.ts"], Category::Feature),
            (
                "Speed up startup by caching the index",
                &["src/index.rs"],
                Category::Performance,
            ),
            (
                "Sanitize HTML in comments to prevent XSS",
                &["src/render.rs"],
                Category::Security,
            ),
            ("Explain the install steps", &["README.md"], Category::Docs),
            (
                "Cover the parser edge cases",
                &["tests/parser.rs"],
                Category::Test,
            ),
            (
                "Rename Widget to Gadget",
                &["src/lib.rs"],
                Category::Refactor,
            ),
            (
                "Parser panics on empty input",
                &["src/parse.rs"],
                Category::Fix,
            ),
            (
                "Make uploads resumable",
                &["src/upload.rs"],
                Category::Feature,
            ),
            // gitui and monolog wrote these; they were filed as a feature and as upkeep.
            (
                "Add test for the commit message popup",
                &["src/popups/commit.rs"],
                Category::Test,
            ),
            (
                "Add missing tests for the blame view",
                &["src/components/blame.rs"],
                Category::Test,
            ),
            (
                "Rotate files based on timezone",
                &["src/Monolog/Handler/RotatingFileHandler.php"],
                Category::Feature,
            ),
            (
                "Respect NO_COLOR in the pager",
                &["src/pager.rs"],
                Category::Fix,
            ),
            ("Add testing mode flag", &["src/cli.rs"], Category::Feature),
        ];
        for (msg, files, expected) in cases {
            let i = classify_commit(&commit(msg, files));
            assert_eq!(i.category, *expected, "{msg}");
            assert_eq!(i.noise, None, "{msg}");
        }
    }

    /// The product's own parts named like tools stay changes: rack's `Rack::Lint` is
    /// middleware its users run, not the project's linter.
    #[test]
    fn a_tool_named_in_the_code_is_not_the_projects_tooling() {
        for msg in [
            "Fix Rack::Lint error message (#2007)",
            "Fix eslint.config.js detection in the scanner",
        ] {
            let i = classify_commit(&commit(msg, &["lib/rack/lint.rb"]));
            assert_eq!(i.noise, None, "{msg}");
        }
        let i = classify_commit(&commit("Fix lint errors", &["lib/rack/lint.rb"]));
        assert_eq!(i.noise, Some(Noise::ToolingFix));
        // Short, and a tool word only as part of a name in the code.
        let i = classify_commit(&commit("Fix eslint.config.js detection", &["src/scan.ts"]));
        assert_eq!(i.noise, None);
        // A build, test or CI word says something to users when other words qualify it,
        // and a breaking change is never upkeep.
        for msg in [
            "Fix formatting of negative numbers",
            "Fix test discovery on Windows",
            "Fix build on FreeBSD",
            "Update MSRV to 1.74",
            "Update cs translation",
            "Fix pipeline stall under load",
            "fix!: fix clippy lints in the public API",
        ] {
            let i = classify_commit(&commit(msg, &["src/lib.rs"]));
            assert_eq!(i.noise, None, "{msg}");
        }
        for msg in [
            "Fix build",
            "Fix failing tests",
            "Fix CI",
            "Address clippy issues",
        ] {
            let i = classify_commit(&commit(msg, &["src/lib.rs"]));
            assert_eq!(i.noise, Some(Noise::ToolingFix), "{msg}");
        }
    }

    /// Users' documentation is not the maintainers' process: a guide under `docs/` named like
    /// a policy, or a README, stays a change; so does a code change that also edits a guide.
    #[test]
    fn only_the_maintainers_own_guides_are_project_docs() {
        for (msg, files) in [
            ("Document TLS pinning", &["docs/security.md"][..]),
            ("Explain the release channels", &["docs/release.md"][..]),
            ("Rewrite the README quick start", &["README.md"][..]),
            (
                "Add --check flag and document it",
                &["src/cli.rs", "CONTRIBUTING.md"][..],
            ),
        ] {
            let i = classify_commit(&commit(msg, files));
            assert_eq!(i.noise, None, "{msg}");
        }
        // GitHub shows `.github/README.md` as the repository's README (filed with the
        // rest of `.github/` as CI, but not as the maintainers' guides).
        let i = classify_commit(&commit("Rewrite the README", &[".github/README.md"]));
        assert_ne!(i.noise, Some(Noise::ProjectDocs));
        let i = classify_commit(&commit("Bug: Fix crash on exit", &["src/app.rs"]));
        assert_eq!(i.scope, None);
    }

    #[test]
    fn a_component_prefix_is_the_scope_not_the_start_of_the_title() {
        let i = classify_commit(&commit(
            "searcher: fix panic when searching empty files",
            &["crates/searcher/src/lib.rs"],
        ));
        assert_eq!(i.scope.as_deref(), Some("searcher"));
        assert_eq!(i.title, "Fix panic when searching empty files");
        assert_eq!(i.category, Category::Fix);
        let i = classify_commit(&commit(
            "Ignore,globset: increase pool capacity",
            &["crates/ignore/src/lib.rs"],
        ));
        assert_eq!(i.scope.as_deref(), Some("Ignore,globset"));
        assert_eq!(i.title, "Increase pool capacity");
        let i = classify_commit(&commit(
            "TelegramBotHandler: skipping messages containing only whitespace",
            &["src/Monolog/Handler/TelegramBotHandler.php"],
        ));
        assert_eq!(i.scope.as_deref(), Some("TelegramBotHandler"));
        assert_eq!(i.title, "Skipping messages containing only whitespace");
        // mitmproxy writes its components capitalised: named by the paths it touches, or
        // followed by a verb.
        let i = classify_commit(&commit(
            "Console: Option to hide quickhelp UI (#5746) (#8095)",
            &["mitmproxy/tools/console/statusbar.py"],
        ));
        // Named as the project's other subjects name it ("console: …").
        assert_eq!(i.scope.as_deref(), Some("console"));
        assert_eq!(i.title, "Option to hide quickhelp UI");
        assert_eq!(i.refs, vec![8095, 5746]);
        // A new option, named as a noun, is a feature (it was listed under Maintenance).
        assert_eq!(i.category, Category::Feature);
        let i = classify_commit(&commit(
            "Mitmweb: Add number of selected flows in the footer (#8057)",
            &["web/src/js/components/Footer.tsx"],
        ));
        assert_eq!(i.scope.as_deref(), Some("mitmweb"));
        assert_eq!(i.title, "Add number of selected flows in the footer");
        assert_eq!(i.category, Category::Feature);
        // Complexity written as such is a speed-up (mitmproxy 12.2.2 listed it as a feature).
        let i = classify_commit(&commit(
            "[web] Reduce FlowTable Redux subscriptions from O(rows) to O(1) (#8104)",
            &["web/src/js/components/FlowTable.tsx"],
        ));
        assert_eq!(i.category, Category::Performance);
        for not_big_o in [
            "Add IO(bytes) helper",
            "Support foo(bar) calls",
            "Show info (o)",
        ] {
            let i = classify_commit(&commit(not_big_o, &["src/a.rs"]));
            assert_ne!(i.category, Category::Performance, "{not_big_o}");
        }
        for whole in [
            "Note: this breaks nothing",
            "WIP: try a new parser",
            "Make it: faster",
            "TODO: later",
            "Important: Remove the old flag",
            "Cleanup: Remove unused code",
            "Parser: the old one stays",
        ] {
            let i = classify_commit(&commit(whole, &["src/lib.rs"]));
            assert_eq!(i.scope, None, "{whole}");
            assert_eq!(i.title, whole, "{whole}");
        }
    }

    #[test]
    fn release_bookkeeping_is_never_a_change_whatever_files_it_touched() {
        let many = &[
            "CHANGELOG.md",
            "Cargo.toml",
            "Cargo.lock",
            "doc/rg.1.txt.tpl",
            "pkg/brew/ripgrep.rb",
        ];
        for subject in [
            "Release 1.58.0 (#3686)",
            "Bump version to v0.24.0",
            "Update CHANGELOG.md for v0.24.0",
            "Update changelog and version and engine for prerelease",
            "Globset-0.4.20",
            "ignore-0.4.33",
            "@tailwindcss/oxide@4.3.3",
            "release: v2.3.0",
            "Update changelog",
            // client_golang cuts its releases.
            "Cut v1.23.0-rc.0 (#1837)",
            "Cut 1.22.0 (#1793)",
            // htmx's.
            "Prep 2.0.8 release",
            // clap's: a bare release commit, and edits of the changelog by scope.
            "Release",
            "docs(changelog): Call out more breaking changes",
            "docs: Update changelog",
            // gitui's.
            "Missing changelog",
            "cleanup changelog",
        ] {
            let item = classify_commit(&commit(subject, many));
            assert_eq!(item.noise, Some(Noise::VersionBump), "{subject}");
        }
        for change in [
            "Add --version flag",
            "Release notes render tables",
            "fix: release the lock on error",
            "Show the version in --help",
            "feat: add a changelog command",
            "Update README",
            "Handle 1.5x scaling",
            "Add changelog command",
        ] {
            let item = classify_commit(&commit(change, &["src/main.rs"]));
            assert_eq!(item.noise, None, "{change}");
        }
        // Whatever it says, a commit that edits only the notes is the notes being written
        // (rack's "[ci skip] Add link to account name in CHANGELOG.md (#2108)").
        for (subject, files) in [
            (
                "Add JS MIME type change to CHANGELOG (#2040)",
                &["CHANGELOG.md"][..],
            ),
            (
                "[ci skip] Add link to account name in CHANGELOG.md (#2108)",
                &["CHANGELOG.md"],
            ),
            (
                "Document the new flag",
                &["docs/CHANGES.rst", "packages/a/HISTORY.md"],
            ),
        ] {
            let item = classify_commit(&commit(subject, files));
            assert_eq!(item.noise, Some(Noise::VersionBump), "{subject}");
        }
        let docs = classify_commit(&commit(
            "Document the new flag",
            &["CHANGELOG.md", "README.md"],
        ));
        assert_eq!(docs.noise, None);
    }

    #[test]
    fn noise_is_recognised() {
        let mut bot = commit("Bump serde from 1.0.1 to 1.0.2", &["Cargo.lock"]);
        bot.author_name = "dependabot[bot]".into();
        bot.author_email = "49699333+dependabot[bot]@users.noreply.github.com".into();
        let cases = vec![
            (bot, Noise::DependencyBump),
            (
                commit(
                    "chore(deps): update rust crate tokio to 1.40",
                    &["Cargo.toml"],
                ),
                Noise::DependencyBump,
            ),
            (
                commit("Merge branch 'main' into feature", &[]),
                Noise::Merge,
            ),
            (
                commit("chore(release): 1.4.0", &["Cargo.toml", "CHANGELOG.md"]),
                Noise::VersionBump,
            ),
            (commit("v2.0.1", &["package.json"]), Noise::VersionBump),
            (
                commit("ci: cache cargo registry", &[".github/workflows/ci.yml"]),
                Noise::CiOnly,
            ),
            (
                commit("Tweak workflow", &[".github/workflows/ci.yml"]),
                Noise::CiOnly,
            ),
            (
                commit("Fix typo in error message", &["src/error.rs"]),
                Noise::TypoOnly,
            ),
            // Fixes to the project's own tools (gitui #2597, #2688).
            (
                commit("fix latest clippy (#2597)", &["asyncgit/src/sync/mod.rs"]),
                Noise::ToolingFix,
            ),
            (
                commit(
                    "Fix clippy errors on nightly (#2688)",
                    &["src/app.rs", "src/main.rs"],
                ),
                Noise::ToolingFix,
            ),
            // The maintainers' own guides and templates (client_golang #1722, #1723).
            (
                commit(
                    "Added tips on releasing client and checking with k8s. (#1723)",
                    &["RELEASE.md"],
                ),
                Noise::ProjectDocs,
            ),
            (
                commit(
                    "docs: revamp GitHub contribution and support templates (#4364)",
                    &[
                        ".github/ISSUE_TEMPLATE/bug_report.yml",
                        ".github/PULL_REQUEST_TEMPLATE.md",
                        "CONTRIBUTING.md",
                    ],
                ),
                Noise::ProjectDocs,
            ),
            // A release branch merged back, a repository sync, a bot's branch: no news.
            (
                commit(
                    "Merge pull request #1744 from prometheus/release-1.21\n\nMerge release-1.21 into main",
                    &["prometheus/counter.go"],
                ),
                Noise::Merge,
            ),
            (
                commit(
                    "Merge pull request #1815 from prometheus/repo_sync\n\nSynchronize common files from prometheus/prometheus",
                    &["Makefile.common"],
                ),
                Noise::Merge,
            ),
            (
                commit(
                    "Merge pull request #1817 from prometheus/dependabot/github_actions/github-actions-1\n\nbuild(deps): bump the github-actions group",
                    &["src/lib.go"],
                ),
                Noise::DependencyBump,
            ),
        ];
        for (c, expected) in cases {
            assert_eq!(classify_commit(&c).noise, Some(expected), "{}", c.message);
        }
        // A feature branch named like anything else is a change.
        let feature = classify_commit(&commit(
            "Merge pull request #2010 from ProjectMutilation/fix-handle-leak\n\nFix handle leak in process collector",
            &["prometheus/process_collector.go"],
        ));
        assert_eq!(feature.noise, None);
        // A release commit that also changes code is not just a bump.
        let real = classify_commit(&commit("Release the new parser", &["src/parser.rs"]));
        assert_eq!(real.noise, None);
    }

    #[test]
    fn pull_request_merges_carry_the_pr_title_and_author() {
        let mut c = commit(
            "Merge pull request #12 from alice/wrap\n\nAdd word wrapping to the renderer",
            &[],
        );
        c.is_merge = true;
        let i = classify_commit(&c);
        assert_eq!(i.title, "Add word wrapping to the renderer");
        assert_eq!(i.pr, Some(12));
        assert_eq!(i.category, Category::Feature);
        assert_eq!(i.authors, vec!["@alice"]);
        assert_eq!(i.noise, None);
    }

    #[test]
    fn a_name_changed_in_two_files_is_said_once() {
        use covalynce_domain::{Change, SymbolChange, SymbolKind};
        let mut c = commit(
            "Support pre-push hooks (#2737)",
            &["asyncgit/src/hooks.rs", "git2-hooks/src/lib.rs"],
        );
        // One per file the analysis read.
        let hook = || SymbolChange {
            kind: SymbolKind::Function,
            name: "hooks_pre_push".into(),
            change: Change::Added,
        };
        c.symbols = vec![hook(), hook()];
        let item = classify_commit(&c);
        assert_eq!(item.highlights, ["new `hooks_pre_push` function"]);
    }

    #[test]
    fn added_public_surface_makes_an_unclear_commit_a_feature_and_is_named() {
        let mut c = commit("Wrap long lines", &["src/cli.rs"]);
        c.symbols = vec![covalynce_domain::SymbolChange {
            kind: covalynce_domain::SymbolKind::Flag,
            name: "--wrap".into(),
            change: covalynce_domain::Change::Added,
        }];
        let i = classify_commit(&c);
        assert_eq!(i.category, Category::Feature);
        assert_eq!(i.highlights, vec!["new `--wrap` flag"]);
        // Without the flag, a verb acting on the program: a fix, not a feature.
        assert_eq!(
            classify_commit(&commit("Wrap long lines", &["src/cli.rs"])).category,
            Category::Fix
        );
        assert_eq!(
            classify_commit(&commit("Long lines", &["src/cli.rs"])).category,
            Category::Chore
        );
    }

    #[test]
    fn authors_include_co_authors_and_never_bots() {
        let i = classify_commit(&commit(
            "fix: handle timeouts\n\nFixes #7\n\nCo-authored-by: Grace Hopper <grace@example.com>\nCo-authored-by: renovate[bot] <bot@renovateapp.com>",
            &["src/net.rs"],
        ));
        assert_eq!(i.authors, vec!["Ada", "Grace Hopper"]);
        assert_eq!(i.refs, vec![7]);
    }

    /// client_golang #2000: "Pedram Pd" co-authored by "Pedram" from another address was
    /// thanked as two people. A co-author whose one-word name is the author's first name is
    /// the author; a co-author with a name of their own is someone else.
    #[test]
    fn a_co_author_trailer_with_only_the_authors_first_name_is_the_author() {
        let mut c = commit(
            "promhttp: add regression test (#2000)\n\nCo-authored-by: Pedram <pedram@arpdigital.io>\nCo-authored-by: Bartlomiej Plotka <bwplotka@gmail.com>\nCo-authored-by: Pedro <pedro@example.com>",
            &["prometheus/promhttp/instrument_server_test.go"],
        );
        c.author_name = "Pedram Pd".into();
        c.author_email = "eragon.pedy@gmail.com".into();
        assert_eq!(
            classify_commit(&c).authors,
            ["Pedram Pd", "Bartlomiej Plotka", "Pedro"]
        );
        // mitmproxy thanked "zdw@", a git name typed like the start of an address; a
        // trailer whose name is nothing but such marks names no one.
        c.author_name = "zdw@".into();
        c.author_email = "zdw@google.com".into();
        c.message = "fix: keep the flow\n\nCo-authored-by: @ <x@y.org>".into();
        assert_eq!(classify_commit(&c).authors, ["zdw"]);
    }

    /// rack 3.2.0 merged a security advisory's private fork; its posts said "🔒 Merge pull
    /// request from GHSA-cj83-2ww7-mvq7".
    #[test]
    fn an_advisory_merge_is_titled_by_its_fix_and_names_the_advisory() {
        let i = classify_commit(&commit(
            "Merge pull request from GHSA-cj83-2ww7-mvq7\n\n* fix: ReDoS in the `parse_http_accept_header` method\n\nSigned-off-by: Dwi Siswanto <git@dw1.io>\n\n* fix: optimize HTTP Accept headers parsing",
            &["lib/rack/request.rb"],
        ));
        assert_eq!(i.category, Category::Security);
        assert_eq!(
            i.title,
            "ReDoS in the `parse_http_accept_header` method (GHSA-cj83-2ww7-mvq7)"
        );
        assert_eq!(i.noise, None);
        // Any subject is safe to read, whatever its characters.
        for subject in [
            "Merge pull request from fix 🔒 x",
            "Merge pull request from dev/ü",
            "Merge pull request from GHSA",
            "Merge pull request from ",
        ] {
            // Not an advisory: no advisory is named (and reading it does not panic).
            let i = classify_commit(&commit(subject, &["src/lib.rs"]));
            assert!(!i.title.contains("(GHSA"), "{subject}: {}", i.title);
        }
        // Newer advisories merge as "Merge commit from fork" (rack 3.2.0 listed that title
        // under Maintenance): the first bullet is the fix.
        let fork = classify_commit(&commit(
            "Merge commit from fork\n\n* Apply bytesize and number of param limits in QueryParser\n\nThe param limit is 4096.\n\n* Update CHANGELOG.\n\n---------\n\nCo-authored-by: Samuel Williams <samuel.williams@oriontransfer.co.nz>",
            &[
                "CHANGELOG.md",
                "lib/rack/query_parser.rb",
                "test/spec_query_parser.rb",
            ],
        ));
        assert_eq!(fork.category, Category::Security);
        assert_eq!(
            fork.title,
            "Apply bytesize and number of param limits in QueryParser"
        );
        assert_eq!(fork.noise, None);
        // Merged with both parents, the fork's own commits are in the range and list the
        // fix; the merge itself only joins them.
        let mut joined = commit(
            "Merge commit from fork\n\n* Apply bytesize and number of param limits in QueryParser",
            &["lib/rack/query_parser.rb"],
        );
        joined.is_merge = true;
        assert_eq!(classify_commit(&joined).noise, Some(Noise::Merge));
    }

    /// rack 3.2.0 listed "Bump minor version." under Maintenance.
    #[test]
    fn a_version_bump_is_bookkeeping_however_it_names_the_part() {
        for subject in [
            "Bump minor version.",
            "bump the patch version",
            "Bump major version",
        ] {
            let i = classify_commit(&commit(subject, &["lib/rack/version.rb"]));
            assert_eq!(i.noise, Some(Noise::VersionBump), "{subject}");
        }
        // A dependency's or a toolchain's version is not the project's own.
        let dep = classify_commit(&commit("Bump rack-test version", &["Gemfile"]));
        assert_ne!(dep.noise, Some(Noise::VersionBump));
        for (subject, file) in [
            ("Bump Go version to 1.23", "go.mod"),
            ("Bump MSRV version to 1.74", "Cargo.toml"),
        ] {
            let i = classify_commit(&commit(subject, &[file]));
            assert_ne!(i.noise, Some(Noise::VersionBump), "{subject}");
        }
    }

    /// gin v1.11.0's posts were "made by … Name and 1911860538": a git that was never told
    /// its user's name writes a placeholder, and the address says who it is.
    #[test]
    fn a_placeholder_author_name_is_credited_by_its_address() {
        let mut c = commit(
            "perf(context): optimize getMapFromFormData performance (#4339)\n\nCo-authored-by: 1911860538 <alxps1911@gmail.com>",
            &["context.go"],
        );
        c.author_name = "Name".into();
        c.author_email = "1911860538@qq.com".into();
        assert_eq!(classify_commit(&c).authors, vec!["1911860538"]);
        // An address's own words are never published; a GitHub no-reply login is public.
        c.message = "fix: handle timeouts".into();
        for (name, email) in [
            ("Your Name", "noreply@example.com"),
            ("root", "jane.doe.1987@example.com"),
        ] {
            c.author_name = name.into();
            c.author_email = email.into();
            assert!(classify_commit(&c).authors.is_empty(), "{email}");
        }
        c.author_name = "Name".into();
        c.author_email = "12345678+octocat@users.noreply.github.com".into();
        assert_eq!(classify_commit(&c).authors, vec!["@octocat"]);
    }

    /// client_golang 1.24.0 thanked "Claude" (a Co-authored-by trailer) and "PrometheusBot"; mitmproxy
    /// 12.2.2 "@Copilot", "Claude Opus 4.6 (1M context)" and "mitmproxy release bot". The people
    /// who worked with a coding assistant are credited, the assistant and the automation not,
    /// and a commit made with an assistant is still a change.
    #[test]
    fn coding_assistants_and_automation_accounts_are_never_credited() {
        let with_claude = classify_commit(&commit(
            "feat: expose Desc error through public Err() method (#1902)\n\nCo-authored-by: Claude <noreply@anthropic.com>\nCo-authored-by: Claude Opus 4.6 (1M context) <noreply@anthropic.com>",
            &["prometheus/desc.go"],
        ));
        assert_eq!(with_claude.authors, vec!["Ada"]);
        let mut by_copilot = commit(
            "Fix mitmweb blank page on Windows (#8041)\n\nCo-authored-by: Maximilian Hils <git@maximilianhils.com>",
            &["mitmproxy/tools/web/app.py"],
        );
        by_copilot.author_name = "Copilot".into();
        by_copilot.author_email = "198982749+Copilot@users.noreply.github.com".into();
        let i = classify_commit(&by_copilot);
        assert_eq!(i.authors, vec!["Maximilian Hils"]);
        assert_eq!((i.noise, i.category), (None, Category::Fix));
        let mut release_bot = commit("reopen main for development", &["mitmproxy/version.py"]);
        release_bot.author_name = "mitmproxy release bot".into();
        let reopen = classify_commit(&release_bot);
        assert!(reopen.authors.is_empty());
        // Its version edits are release bookkeeping, not a change.
        assert_eq!(reopen.noise, Some(Noise::VersionBump));
        // A person whose name merely ends so is a person, and their updates are changes.
        for person in ["Talbot", "jtalbot", "mchabot"] {
            let mut c = commit("Fix crash when the config is updated", &["src/lib.rs"]);
            c.author_name = person.into();
            let i = classify_commit(&c);
            assert_eq!(i.authors, vec![person]);
            assert_eq!(i.noise, None, "{person}");
        }
        let mut synced = commit("Update common Prometheus files", &["Makefile.common"]);
        synced.author_name = "PrometheusBot".into();
        assert!(classify_commit(&synced).authors.is_empty());
        // Only the version itself: `versions.go` is code.
        let mut bot_code = commit("reopen main for development", &["src/versions.go"]);
        bot_code.author_name = "mitmproxy release bot".into();
        assert_eq!(classify_commit(&bot_code).noise, None);
    }

    /// clap 4.0.0's "fix!: Replace `multiple_values` with `number_of_values`" touched 40
    /// files, one of them `examples/escaped-positional.rs`, and was listed under Security.
    #[test]
    fn a_fix_is_security_work_by_its_files_only_when_they_are_mostly_guarding_code() {
        let wide = classify_commit(&commit(
            "fix!: Ignore required when subcommands conflict",
            &[
                "examples/escaped-positional.rs",
                "src/builder/arg.rs",
                "src/builder/command.rs",
                "src/parser/matches/arg_matches.rs",
            ],
        ));
        assert_eq!(wide.category, Category::Fix);
        let escaping = classify_commit(&commit(
            "fix: handle quotes in attribute values",
            &["src/html/escape.rs"],
        ));
        assert_eq!(escaping.category, Category::Security);
        let sanitizer = classify_commit(&commit(
            "fix(ldap): handle empty filters",
            &[
                "mitmproxy/addons/sanitize_ldap.py",
                "mitmproxy/addons/proxyauth.py",
            ],
        ));
        assert_eq!(sanitizer.category, Category::Security);
        // One guarding file among many others is a wide change, not security work.
        let mut files: Vec<&str> = vec!["src/security/headers.rs"];
        files.extend(["src/a.rs", "src/b.rs", "src/c.rs", "src/d.rs"]);
        let broad = classify_commit(&commit("fix: tidy error paths", &files));
        assert_eq!(broad.category, Category::Fix);
    }

    /// gitui 0.28.1's posts announced "Add ignore for another CVE" as a security fix: it
    /// acknowledges an advisory in `deny.toml`. Its "fix time CVE" (the lockfile) stays one.
    #[test]
    fn an_advisory_ignored_in_the_audit_tooling_is_upkeep() {
        let ignore = classify_commit(&commit(
            "add ignore for another CVE",
            &["Makefile", "deny.toml"],
        ));
        assert_eq!(ignore.category, Category::Chore);
        let conventional = classify_commit(&commit(
            "chore: ignore CVE-2026-1234 in cargo deny",
            &["deny.toml"],
        ));
        assert_eq!(conventional.category, Category::Chore);
        let fix = classify_commit(&commit("fix time CVE", &["Cargo.lock"]));
        assert_eq!(fix.category, Category::Security);
        assert_eq!(fix.noise, None);
        // The lockfile alone, without a word of a vulnerability: a dependency update.
        let locked = classify_commit(&commit("fix #2987", &["Cargo.lock"]));
        assert_eq!(locked.noise, Some(Noise::DependencyBump), "{locked:?}");
        // With one, however it is said, a security fix.
        for message in [
            "Fix RUSTSEC-2024-0421",
            "upgrade vuln dep",
            "npm audit fix",
            "fix vulnerable ws version",
        ] {
            let lock = ["Cargo.lock", "package-lock.json"][usize::from(message.contains("npm"))];
            let i = classify_commit(&commit(message, &[lock]));
            assert_eq!(
                (i.category, i.noise),
                (Category::Security, None),
                "{message}"
            );
        }
        // The security policy's own text is documentation.
        let policy = classify_commit(&commit(
            "SECURITY.md: Exclude DoS from scope (#8089)",
            &["SECURITY.md"],
        ));
        assert_eq!(policy.category, Category::Docs);
        let conventional = classify_commit(&commit(
            "chore: update the security policy",
            &["SECURITY.md"],
        ));
        assert_eq!(conventional.category, Category::Docs);
        // Ignoring something in the code itself is no tooling config.
        let code = classify_commit(&commit(
            "Ignore CSRF tokens from other origins",
            &["src/csrf.rs"],
        ));
        assert_eq!(code.category, Category::Security);
    }

    /// client_golang 1.24.0 listed two changes to its test suite as bug fixes users get.
    #[test]
    fn a_fix_to_the_test_suite_is_test_work() {
        for (subject, files) in [
            (
                "fix(test): accept zero GC pause increment on Windows (#1968)",
                &["prometheus/go_collector_test.go"][..],
            ),
            (
                "fix: use keyed fields in SamplePair struct literals in api_test.go (#2012)",
                &["api/prometheus/v1/api_test.go"][..],
            ),
        ] {
            assert_eq!(
                classify_commit(&commit(subject, files)).category,
                Category::Test,
                "{subject}"
            );
        }
        // The code beside its test is a fix.
        let real = classify_commit(&commit(
            "fix: respect context cancellation in httpClient.Do (#1971)",
            &["api/client.go", "api/client_test.go"],
        ));
        assert_eq!(real.category, Category::Fix);
    }

    /// client_golang writes some fixes as `bug(remote_write): …`.
    #[test]
    fn bug_is_a_conventional_type_for_fixes() {
        let i = classify_commit(&commit(
            "bug(remote_write): Fix compression buffer pooling (#1889)",
            &["exp/api/remote/remote_api.go"],
        ));
        assert_eq!(i.category, Category::Fix);
        assert_eq!(i.scope.as_deref(), Some("remote_write"));
        assert_eq!(i.title, "Fix compression buffer pooling");
    }

    /// Vue v3.5.41's notes said "dx(runtime-core): warn when innerHTML/textContent
    /// overrides children" and "Update dependency postcss to v8.5.23 [security]": a type
    /// pasted into a public post, and Renovate's label after the 🔒 that says it already.
    #[test]
    fn developer_experience_is_a_type_and_a_security_label_is_not_words() {
        let i = classify_commit(&commit(
            "dx(runtime-core): warn when innerHTML/textContent overrides children (#15194)",
            &["packages/runtime-core/src/renderer.ts"],
        ));
        assert_eq!(i.scope.as_deref(), Some("runtime-core"));
        assert_eq!(
            i.title,
            "Warn when innerHTML/textContent overrides children"
        );
        let i = classify_commit(&commit(
            "fix(deps): update dependency postcss to v8.5.23 [security] (#15209)",
            &["package.json", "pnpm-lock.yaml"],
        ));
        assert_eq!(i.category, Category::Security);
        assert_eq!(i.title, "Update dependency postcss to v8.5.23");
        // Merged from Renovate's branch, the title in the merge's body: still security.
        let merged = Commit {
            is_merge: true,
            ..commit(
                "Merge pull request #15209 from vuejs/renovate/npm-postcss-vulnerability\n\nUpdate dependency postcss to v8.5.23 [security]",
                &["package.json", "pnpm-lock.yaml"],
            )
        };
        let i = classify_commit(&merged);
        assert_eq!((i.category, i.noise), (Category::Security, None), "{i:?}");
        assert_eq!(i.title, "Update dependency postcss to v8.5.23");
        // A bracket that is the whole subject stays.
        assert_eq!(strip_security_tag("[security]"), "[security]");
        assert_eq!(strip_security_tag("Bump x [SECURITY]"), "Bump x");
    }

    /// Subjects from gitui, mitmproxy and client_golang releases that were listed as
    /// features and fixes although their maintainers never list them.
    #[test]
    fn dependency_updates_are_recognised_however_they_are_written() {
        let cases: &[(&str, &[&str])] = &[
            (
                "Update gix from 0.71.0 to 0.74.1 (#2601)",
                &["Cargo.toml", "Cargo.lock", "asyncgit/src/sync/status.rs"],
            ),
            (
                "Update flask requirement from <=3.1.2,>=3.0 to >=3.0,<=3.1.3 (#8111)",
                &["pyproject.toml"],
            ),
            ("Update lockfile (#7962)", &["uv.lock"]),
            (
                "Update pinned dependencies (#7991)",
                &["pyproject.toml", "uv.lock"],
            ),
            ("Cargo updates", &["Cargo.lock"]),
            ("some cargo upgrades", &["Cargo.lock", "Cargo.toml"]),
            (
                "Upgrade dependencies",
                &["package.json", "package-lock.json"],
            ),
            // Named by the dependency alone: the files say it.
            ("bump env_logger (#2880)", &["Cargo.toml", "Cargo.lock"]),
            ("Update log", &["Cargo.toml", "Cargo.lock"]),
            ("Git2 upgrade", &["Cargo.toml", "Cargo.lock"]),
            // gitui 0.28.0: the `log` crate, with the code the new version needed.
            (
                "update log (#2766)",
                &[
                    "Cargo.lock",
                    "asyncgit/src/lib.rs",
                    "asyncgit/src/sync/submodules.rs",
                    "src/main.rs",
                ],
            ),
            ("Bump ratatui to 0.29", &["Cargo.lock", "src/ui/mod.rs"]),
            // mitmproxy 12.1.0: a scope before it.
            (
                "web: upgrade dependencies (#7707)",
                &[
                    "web/package.json",
                    "web/package-lock.json",
                    "web/src/js/ducks/ui.ts",
                ],
            ),
        ];
        for (subject, files) in cases {
            let item = classify_commit(&commit(subject, files));
            assert_eq!(item.noise, Some(Noise::DependencyBump), "{subject}");
        }
        // A toolchain floor, install docs and a security upgrade are not bumps to hide.
        for (subject, files) in [
            (
                "Update minimum Go version from 1.20 to 1.21",
                &["go.mod"][..],
            ),
            ("Update cargo install instructions", &["src/cli.rs"][..]),
            (
                "Upgrade tornado to 6.5.0 to fix CVE-2025-47287",
                &["pyproject.toml"][..],
            ),
            (
                "Update the progress bar while fetching",
                &["src/fetch.rs"][..],
            ),
            // A bump word that is not the verb of the subject.
            (
                "Fix crash when dependencies are updated",
                &["src/deps.rs"][..],
            ),
            ("Fix lockfile not updated after add", &["src/lock.rs"][..]),
            (
                "Fix `cargo update --precise` with prereleases",
                &["src/ops/update.rs"][..],
            ),
            (
                "Fix crash on upgrade from 2.3 to 2.4",
                &["src/migrate.rs"][..],
            ),
            // A manifest that declares features too.
            ("Add `serde` feature", &["Cargo.toml"][..]),
            ("Add `exports` field to package.json", &["package.json"][..]),
            // More than a name after the verb: a change that also moved the lockfile.
            (
                "Update the progress bar while fetching",
                &["src/fetch.rs", "Cargo.lock"][..],
            ),
            ("Update log", &["src/log.rs"][..]),
            // The project's own things, or a feature, moving a workspace's lockfile.
            ("Update README", &["README.md", "Cargo.lock"][..]),
            (
                "Bump version to 1.2.3",
                &["Cargo.toml", "Cargo.lock", "README.md"][..],
            ),
            ("feat: pin tabs", &["src/tabs.ts", "package-lock.json"][..]),
            (
                "feat: refresh tokens automatically",
                &["src/auth.ts", "yarn.lock"][..],
            ),
            ("fix(ui): update sidebar", &["src/ui.ts", "yarn.lock"][..]),
            // A language the project runs on, with only its manifests.
            ("update go to 1.22", &["go.mod", "go.sum"][..]),
            ("Update to Python 3.14", &["pyproject.toml", "uv.lock"][..]),
            // A new major line, however written.
            (
                "Upgrade bson dependency to mongo-driver v2",
                &["go.mod", "go.sum"][..],
            ),
            (
                "upgrade bson dependency to mongo-driver v2.0.0",
                &["go.mod", "go.sum"][..],
            ),
            // gin 1.10.0: a dependency upgraded for its security fix, as its scope says.
            (
                "sec: Upgrade golang.org/x/crypto to 0.17.0 (#3832)",
                &["go.mod", "go.sum"][..],
            ),
            // gin 1.12.0: a new major line of a dependency users' code meets.
            (
                "chore(binding): upgrade bson dependency to mongo-driver v2 (#4549)",
                &["go.mod", "go.sum", "binding/bson.go"][..],
            ),
            // A language the project now runs on (mitmproxy 12.2.0), lockfile and all.
            (
                "Update to Python 3.14 (#7918)",
                &["pyproject.toml", "uv.lock", "mitmproxy/utils/compat.py"][..],
            ),
        ] {
            let item = classify_commit(&commit(subject, files));
            assert_ne!(item.noise, Some(Noise::DependencyBump), "{subject}");
        }
    }

    #[test]
    fn the_projects_cargo_tooling_is_upkeep() {
        for (subject, files) in [
            ("New cargo-sort", &["Cargo.toml"][..]),
            (
                "fix cargo deny advisory warning (#2598)",
                &["Cargo.lock", "asyncgit/Cargo.toml"],
            ),
            ("Check cargo sort in `make check` (#2572)", &["Makefile"]),
        ] {
            assert_eq!(
                classify_commit(&commit(subject, files)).category,
                Category::Chore,
                "{subject}"
            );
        }
        // A user's cargo subcommand is a feature of a tool made for cargo.
        assert_eq!(
            classify_commit(&commit(
                "Add the cargo-dist installer",
                &["src/installer.rs"]
            ))
            .category,
            Category::Feature
        );
    }

    /// client_golang 1.21.0 and gin 1.12.0 as a founder read them: "Add: exponential
    /// backoff…", "Process collector: Fixed pedantic…", "Implemented Delete method".
    #[test]
    fn titles_read_as_one_imperative_sentence_without_pasted_prefixes() {
        for (subject, title, scope) in [
            (
                "Add: exponential backoff for CAS operations on floats (#1661)",
                "Add exponential backoff for CAS operations on floats",
                None,
            ),
            (
                "Process collector: Fixed pedantic registry failures on darwin with cgo (#1715)",
                "Fix pedantic registry failures on darwin with cgo",
                Some("process collector"),
            ),
            (
                "Implemented Delete method (#12)",
                "Implement Delete method",
                None,
            ),
            ("fixes crash on exit", "Fix crash on exit", None),
            // A sentence about a bug keeps its words.
            (
                "Changed files are not detected",
                "Changed files are not detected",
                None,
            ),
            ("add: retry on 503", "Add retry on 503", None),
            (
                "BREAKING CHANGE: removed the v1 API",
                "BREAKING CHANGE: removed the v1 API",
                None,
            ),
            // Not a verb, not a prefix of a few words: left as written.
            (
                "Fixture loading is faster",
                "Fixture loading is faster",
                None,
            ),
            ("Note: tokens expire", "Note: tokens expire", None),
        ] {
            let item = classify_commit(&commit(subject, &["src/lib.rs"]));
            assert_eq!(item.title, title, "{subject}");
            assert_eq!(item.scope.as_deref(), scope, "{subject}");
        }
    }

    #[test]
    fn tests_with_the_ci_that_runs_them_are_test_work_even_as_a_revert() {
        let item = classify_commit(&commit(
            "Revert \"Skip Rack::Deflater tests on JRuby\" (#2186)",
            &[".github/workflows/test.yaml", "test/spec_deflater.rb"],
        ));
        assert_eq!(item.category, Category::Test);
        // A revert of code is still a fix.
        let item = classify_commit(&commit(
            "Revert \"Cache the parsed query\"",
            &["lib/rack/request.rb", "test/spec_request.rb"],
        ));
        assert_eq!(item.category, Category::Fix);
    }

    /// rack 3.2.0 listed these among its features.
    #[test]
    fn documents_pictures_and_the_coverage_report_are_not_features() {
        for (subject, files, want) in [
            (
                "Fix broken paragraph.",
                &["SPEC.rdoc", "lib/rack/lint.rb"][..],
                Category::Docs,
            ),
            (
                "Remove incorrect text in SPEC",
                &["SPEC.rdoc", "lib/rack/lint.rb"][..],
                Category::Docs,
            ),
            (
                "New logo.",
                &["contrib/logo-lossless.webp", "contrib/logo.webp"][..],
                Category::Docs,
            ),
            (
                "Add nocov markings around code only executed in Ruby < 3.2",
                &["lib/rack/show_exceptions.rb", "lib/rack/utils.rb"][..],
                Category::Test,
            ),
            (
                "Allow rake spec task to work when environment does not default to UTF-8",
                &["Rakefile"][..],
                Category::Chore,
            ),
            // An app's own images are its interface.
            (
                "New toolbar icons",
                &["src/ui/icons/save.svg"][..],
                Category::Feature,
            ),
        ] {
            let item = classify_commit(&commit(subject, files));
            assert_eq!(item.category, want, "{subject}");
        }
    }

    /// client_golang 1.21.0's notes left these out; the drafts called them a bug fix, a
    /// feature and a bug fix.
    #[test]
    fn reverted_upkeep_swapped_identifiers_and_moved_links_are_not_news() {
        let revert = classify_commit(&commit(
            "Revert \"ci: daggerize test and lint pipelines (#1534)\" (#1717)",
            &[".github/workflows/go.yml", "dagger/main.go", "Makefile"],
        ));
        assert_eq!(revert.category, Category::Chore, "{revert:?}");
        let conventional = classify_commit(&commit(
            "revert: ci: daggerize test and lint pipelines",
            &[".github/workflows/go.yml", "dagger/main.go"],
        ));
        assert_eq!(conventional.category, Category::Chore, "{conventional:?}");
        let swap = classify_commit(&commit(
            "fix: replace fmt.Errorf with errors.New (#1689)\n\nprometheus/process_collector_darwin.go:28:25: fmt.Errorf can be replaced with errors.New (perfsprint)",
            &["prometheus/process_collector_darwin.go"],
        ));
        assert_eq!(swap.category, Category::Refactor, "{swap:?}");
        let links = classify_commit(&commit(
            "update links to openmetrics to reference the v1.0.0 release",
            &["prometheus/promhttp/http.go"],
        ));
        assert_eq!(links.category, Category::Docs, "{links:?}");
        for docs in [
            "Fix broken URLs in README",
            "Update README links",
            "fix the link to the guide",
            "Update Discord invite link",
            "Update homepage URL",
            "Fix CONTRIBUTING link",
        ] {
            let item = classify_commit(&commit(docs, &["prometheus/promhttp/http.go"]));
            assert_eq!(item.category, Category::Docs, "{docs}: {item:?}");
        }
        // A URL in what was fixed is not a link fixed (client_golang 1.24.1).
        let panic = classify_commit(&commit(
            "promhttp: fix panic on requests with nil URL",
            &["prometheus/promhttp/http.go"],
        ));
        assert_eq!(panic.category, Category::Fix, "{panic:?}");
        for program in [
            "Fix URL parsing of IPv6 hosts",
            "Fix link detection in markdown",
        ] {
            let item = classify_commit(&commit(program, &["src/url.rs"]));
            assert_eq!(item.category, Category::Fix, "{program}: {item:?}");
        }
        // The object's second word counts too.
        let images = classify_commit(&commit("Fix broken image links", &["src/lib.rs"]));
        assert_eq!(images.category, Category::Docs, "{images:?}");
        // A swap that fixes something a user saw is still a fix.
        let fix = classify_commit(&commit(
            "fix: use time.Since instead of time.Now to avoid a wrong duration",
            &["prometheus/summary.go"],
        ));
        assert_eq!(fix.category, Category::Fix, "{fix:?}");
    }

    /// htmx v4.0.0-beta5's posts led with "detects macOS once in <head>, switch UI with a
    /// Tailwind mac: variant" (its website's header) and listed "update dist" (the bundles
    /// rebuilt) as a feature.
    #[test]
    fn the_projects_website_is_docs_and_its_rebuilt_bundles_are_bookkeeping() {
        for (message, files) in [
            (
                "ui: detect macOS once in <head>, switch UI with a Tailwind mac: variant",
                &[
                    "www/src/assets/css/input.css",
                    "www/src/components/Head.astro",
                ][..],
            ),
            (
                "add reset and site stylesheets",
                &[
                    "www/src/assets/css/site.css",
                    "www/src/layouts/Layout.astro",
                ],
            ),
            (
                "website: convert .ts to .js + extract helpers",
                &["website/src/content.config.js"],
            ),
        ] {
            let item = classify_commit(&commit(message, files));
            assert_eq!(item.category, Category::Docs, "{message}: {item:?}");
        }
        let dist = classify_commit(&commit(
            "update dist",
            &["dist/htmx.js", "dist/htmx.min.js", "dist/ext/hx-csp.js.br"],
        ));
        assert_eq!(dist.noise, Some(Noise::VersionBump), "{dist:?}");
        // The program's own code, wherever it lives, stays the program's.
        let app = classify_commit(&commit("Fix login redirect", &["www/login.php"]));
        assert_eq!(app.category, Category::Fix, "{app:?}");
        // A Cordova app's scripts live in `www/`: an XSS fixed there is a security fix.
        let cordova = classify_commit(&commit("Fix XSS in search", &["www/js/search.js"]));
        assert_eq!(cordova.category, Category::Security, "{cordova:?}");
        // Packaging scripts under `dist/` are not built bundles.
        let packaging = classify_commit(&commit(
            "Fix install script on Debian",
            &["dist/common/scripts/install.sh"],
        ));
        assert_eq!(packaging.noise, None, "{packaging:?}");
        let lib = classify_commit(&commit(
            "Add hx-prompt extension",
            &["src/ext/hx-prompt.js", "dist/ext/hx-prompt.js"],
        ));
        assert_eq!(lib.category, Category::Feature, "{lib:?}");
    }

    #[test]
    fn reverts_of_reverts_are_read_in_a_loop_however_deep() {
        // A revert of a revert of CI work is CI work again.
        let twice = classify_commit(&commit(
            "Revert \"Revert \"ci: daggerize test and lint pipelines\"\"",
            &[".github/workflows/go.yml", "dagger/main.go"],
        ));
        assert_eq!(twice.category, Category::Chore, "{twice:?}");
        // Thousands of nested reverts: classified at once, without recursion.
        let deep = format!("{}ci: x{}", "Revert \"".repeat(5_000), "\"".repeat(5_000));
        let started = std::time::Instant::now();
        let item = classify_commit(&commit(&deep, &["src/lib.rs"]));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(item.category, Category::Fix);
    }

    #[test]
    fn an_issue_the_title_closes_is_a_reference_not_words_of_the_title() {
        let item = classify_commit(&commit(
            "process_collector: avoid a compiler warning on macOS (fixes #1660) (#1675)",
            &["prometheus/process_collector_darwin.go"],
        ));
        assert_eq!(item.title, "Avoid a compiler warning on macOS");
        assert_eq!(item.refs, vec![1675, 1660]);
        // Words in brackets that are not a closing reference stay.
        let item = classify_commit(&commit(
            "Fix the parser (see the RFC) (#12)",
            &["src/parse.rs"],
        ));
        assert_eq!(item.title, "Fix the parser (see the RFC)");
        // monolog's "Add NoDiscard attr, fixes #2012 (#2013)": the closing clause too.
        let item = classify_commit(&commit(
            "Add NoDiscard attr, fixes #2012 (#2013)",
            &["src/Monolog/Logger.php"],
        ));
        assert_eq!(item.title, "Add NoDiscard attr");
        assert_eq!(item.refs, vec![2013, 2012]);
        // gitui 0.28.0's "Message tab supports pageup and pagedown (gitui-org#2623)
        // (#2730)": a reference written with its owner is no words of the title.
        let item = classify_commit(&commit(
            "Message tab supports pageup and pagedown (gitui-org#2623) (#2730)",
            &["src/popups/commit.rs"],
        ));
        assert_eq!(item.title, "Message tab supports pageup and pagedown");
        assert_eq!(item.refs, vec![2730, 2623]);
        // mitmproxy 12.2.2's "Option to hide quickhelp UI (#5746) (#8095)": the issue too.
        let item = classify_commit(&commit(
            "Option to hide quickhelp UI (#5746) (#8095)",
            &["mitmproxy/tools/console/quickhelp.py"],
        ));
        assert_eq!(item.title, "Option to hide quickhelp UI");
        assert_eq!(item.refs, vec![8095, 5746]);
        // Not a reference: "(C#9)", "(#)".
        assert_eq!(
            classify_commit(&commit("Support records (C#9)", &["src/a.cs"])).title,
            "Support records (C#9)"
        );
        let item = classify_commit(&commit("Fix a crash (nuxt/nuxt#33694)", &["src/a.ts"]));
        assert_eq!(item.title, "Fix a crash");
        assert!(
            item.refs.is_empty(),
            "another repository's number: {:?}",
            item.refs
        );
        // mitmproxy 12.2.2's "Add ZIP content view for issue #8051 (#8054)".
        let item = classify_commit(&commit(
            "Add ZIP content view for issue #8051 (#8054)",
            &["mitmproxy/contentviews/_view_zip.py"],
        ));
        assert_eq!(item.title, "Add ZIP content view");
        assert_eq!(item.refs, vec![8054, 8051]);
        // Words after the number, or a number that is not one, stay.
        for title in ["Add a view for #8051 users", "Support colour for #fff"] {
            assert_eq!(classify_commit(&commit(title, &["src/a.py"])).title, title);
        }
        let item = classify_commit(&commit(
            "Fix normalizeException types - closes #1924, #1925",
            &["src/Monolog/Formatter/NormalizerFormatter.php"],
        ));
        assert_eq!(item.title, "Fix normalizeException types");
        // A clause with words besides references stays; so does one that only points at
        // a reference (it is not among the item's references, and would be lost).
        for title in [
            "Fix the parser, see #12 for why",
            "Fix the parser, see #12",
            "Fix the parser (see #12)",
        ] {
            let item = classify_commit(&commit(title, &["src/parse.rs"]));
            assert_eq!(item.title, title);
        }
    }

    #[test]
    fn the_repositorys_own_tooling_and_code_upkeep_are_not_features() {
        // Only tooling and meta files: upkeep, whatever the verb says.
        for (subject, files) in [
            (
                "Remove Arthur from the list of maintainers (#1964)",
                &[".github/CODEOWNERS", "MAINTAINERS.md"][..],
            ),
            (
                "Update common Prometheus files (#2028)",
                &["Makefile.common", ".golangci.yml"][..],
            ),
            ("Add .editorconfig file", &[".editorconfig"][..]),
            (
                "use nextest (#2833)",
                &[".github/workflows/ci.yml", "Makefile"][..],
            ),
        ] {
            let item = classify_commit(&commit(subject, files));
            assert_eq!(item.category, Category::Chore, "{subject}");
        }
        // The code's upkeep, named as such.
        for (subject, expected) in [
            ("Remove redundant `to_str()` conversion", Category::Refactor),
            ("Remove some `#[allow]`s II", Category::Refactor),
            (
                "Fix all mismatched_lifetime_syntaxes warnings",
                Category::Refactor,
            ),
            ("Fix clippy issues on nightly (#2852)", Category::Chore),
            (
                "Add documentation for Rack::Multipart::UploadedFile",
                Category::Docs,
            ),
            ("Improve docs for the streaming body", Category::Docs),
            ("Enable usestdlibvars linter", Category::Refactor),
            // mitmproxy 12.1.0's posts led with it.
            (
                "web: increase typescript use for ducks (#7692)",
                Category::Refactor,
            ),
            ("Convert the flow list to TypeScript", Category::Refactor),
            ("Add type hints to the addon API", Category::Refactor),
            // Typings a library ships are its users'; a JavaScript tool's TypeScript
            // support is its users' too.
            ("Add TypeScript definitions", Category::Feature),
            ("Fix crash in TypeScript parser", Category::Fix),
            ("Support `satisfies` in TypeScript", Category::Feature),
            // gitui 0.28.0's notes list them as changes; Monolog 3.10.0's call the last a fix.
            ("Copy text using OSC52 (#2548)", Category::Fix),
            (
                "Set the terminal title to `gitui ({repo_path})` (#2484)",
                Category::Fix,
            ),
            ("Dismiss commit msg key (#2563)", Category::Fix),
            (
                "Skipping messages containing only whitespace",
                Category::Fix,
            ),
            (
                "Set @env directly to avoid unneeded call maintained for extensibility",
                Category::Chore,
            ),
            ("Run cargo fmt", Category::Chore),
            ("Sort imports", Category::Chore),
            ("Set version to 2.0.0", Category::Chore),
            ("Derive Default per clippy recommendation", Category::Chore),
            // gitui's demo card: a test kept in a source file, made reliable.
            (
                "make x502 signing test less flaky on macos (#2992)",
                Category::Test,
            ),
            ("Fix race in scheduler that made tests flaky", Category::Fix),
            ("Use `gitoxide` in `get_commit_info`", Category::Refactor),
            (
                "Use gix_path::env::shell() to get the shell",
                Category::Refactor,
            ),
            (
                "Fix grammar in exemplar option doc comments",
                Category::Docs,
            ),
            ("Ratatui update", Category::Chore),
            // gitui 0.28.0: where the links point, across README, docs and manifests.
            (
                "Change links to point to gitui-org instead of extrawurst",
                Category::Docs,
            ),
            // A URL the code uses is no link in the docs.
            (
                "Change default API URL to api.example.com",
                Category::Feature,
            ),
            // rack 3.1.0: a behaviour change said as one.
            (
                "Invalid cookie keys will now raise an error",
                Category::Feature,
            ),
        ] {
            let item = classify_commit(&commit(subject, &["src/app.rs"]));
            assert_eq!(item.category, expected, "{subject}");
        }
        // rack's and client_golang's: the test suite, example programs, internal swaps.
        for (subject, files, expected) in [
            (
                "Add grape as an external test",
                &["test/external/grape.rb"][..],
                Category::Test,
            ),
            (
                "Add rails smoke tests to external tests",
                &[".github/workflows/external.yml", "test/external/rails.rb"][..],
                Category::Test,
            ),
            (
                "Use prometheus/common.expfmt.NewTextParser (#1859)",
                &["prometheus/testutil/testutil.go"][..],
                Category::Refactor,
            ),
        ] {
            let item = classify_commit(&commit(subject, files));
            assert_eq!(item.category, expected, "{subject}");
        }
        let gem = classify_commit(&commit("Add `logger` to the gemfile", &["Gemfile"]));
        assert_eq!(gem.noise, Some(Noise::DependencyBump));
        // Users' words stay changes: warnings shown to users, a crash fixed, a flag removed,
        // a proxy used, a test filter supported, a product named.
        for (subject, expected) in [
            ("Show warnings for deprecated options", Category::Feature),
            (
                "Fix crash when a template has unused variables",
                Category::Fix,
            ),
            ("Use the system proxy for downloads", Category::Feature),
            (
                "Add support for test filters to the runner",
                Category::Feature,
            ),
            ("Replace the progress bar with a spinner", Category::Feature),
            ("Fix crash when warnings are disabled", Category::Fix),
            ("Fix TypeScript types for useQuery", Category::Fix),
            ("Remove unused --flag option", Category::Feature),
            ("Add auto update", Category::Feature),
            ("Fix firmware update", Category::Fix),
            ("Use config.toml instead of config.yaml", Category::Feature),
            // monolog's: a product's name is not an identifier.
            (
                "Replace deprecated code in MongoDB classes and allow 2.0+",
                Category::Feature,
            ),
        ] {
            let item = classify_commit(&commit(subject, &["src/app.rs"]));
            assert_eq!(item.category, expected, "{subject}");
            assert_eq!(item.noise, None, "{subject}");
        }
        // Typos however many files they touch; release preparation without a version.
        let typos = classify_commit(&commit(
            "Fix typos (#2649)",
            &["a.rs", "b.rs", "c.rs", "d.rs", "e.rs"],
        ));
        assert_eq!(typos.noise, Some(Noise::TypoOnly));
        let prep = classify_commit(&commit("Prepare for rc", &["Cargo.toml", "src/main.rs"]));
        assert_eq!(prep.noise, Some(Noise::VersionBump));
    }

    /// "Fix build", "Update baseline": the project's upkeep is maintenance, not a bug fix
    /// or a feature users hear about; a real fix that mentions a build is still a fix.
    #[test]
    fn upkeep_is_maintenance_not_news() {
        for subject in [
            "Fix build",
            "Fix build issues",
            "Fix CI",
            "Fix the tests",
            "Update baseline",
            "Fix phpstan",
            "Fix latest clippy",
            "Fix nightly ci",
            "Fix clippy errors on nightly",
        ] {
            let item = classify_commit(&commit(subject, &["src/Logger.php"]));
            assert_eq!(item.category, Category::Chore, "{subject}");
        }
        for subject in [
            "Fix build of the docs site when the theme is missing its logo",
            "Fix crash when the test pattern is empty",
            "Avoid collecting duplicate logs if the file cannot be locked",
        ] {
            let item = classify_commit(&commit(subject, &["src/main.rs"]));
            assert_eq!(item.category, Category::Fix, "{subject}");
        }
    }
}
