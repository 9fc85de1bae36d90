//! What a project calls itself and what it is about, from the files at its root: the name in
//! its manifest (Cargo.toml, package.json, pyproject.toml, go.mod, composer.json, mix.exs,
//! a gemspec), written as its README's title writes it ("Tailwind CSS" for `tailwindcss`),
//! its language and its topics (the manifest's keywords), for hashtags.

use serde::{Deserialize, Serialize};

/// The root files [`project_facts`] reads.
pub const PROJECT_FILES: [&str; 10] = [
    "Cargo.toml",
    "package.json",
    "pyproject.toml",
    "setup.cfg",
    "go.mod",
    "composer.json",
    "mix.exs",
    "README.md",
    "README.rst",
    "README",
];

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectFacts {
    /// The project's own name, as people write it.
    pub name: Option<String>,
    /// Hashtags without `#`: the language's, then up to two topics.
    pub hashtags: Vec<String>,
    /// Where the project lives on the web, from its manifest (`repository`, `homepage`,
    /// a Go module path): the link of last resort when the clone has no GitHub remote.
    #[serde(default)]
    pub repository: Option<String>,
}

/// Reads the root files given as `(file name, text)` (a `*.gemspec` counts too).
pub fn project_facts(files: &[(String, String)]) -> ProjectFacts {
    let get = |name: &str| {
        files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.as_str())
    };
    let mut manifest: Option<(String, &str, Vec<String>)> = None;
    if let Some(t) = get("Cargo.toml")
        && let Some(name) = toml_value(t, "package", "name")
    {
        manifest = Some((name, "rustlang", toml_list(t, "package", "keywords")));
    }
    if manifest.is_none()
        && let Some(t) = get("package.json")
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(t)
    {
        // A private monorepo root may have no name: its language still counts.
        let name = v["name"].as_str().unwrap_or_default();
        let typescript = v["devDependencies"].get("typescript").is_some()
            || v["dependencies"].get("typescript").is_some();
        let keywords = v["keywords"]
            .as_array()
            .map(|k| {
                k.iter()
                    .filter_map(|w| w.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let name = name.rsplit('/').next().unwrap_or(name).to_owned();
        manifest = Some((
            name,
            if typescript {
                "typescript"
            } else {
                "javascript"
            },
            keywords,
        ));
    }
    if manifest.is_none()
        && let Some(t) = get("pyproject.toml")
        && let Some(name) =
            toml_value(t, "project", "name").or_else(|| toml_value(t, "tool.poetry", "name"))
    {
        let keywords = toml_list(t, "project", "keywords");
        manifest = Some((name, "python", keywords));
    }
    if manifest.is_none()
        && let Some(t) = get("go.mod")
        && let Some(module) = t
            .lines()
            .find_map(|l| l.trim().strip_prefix("module "))
            .map(str::trim)
    {
        // `github.com/owner/name/v2` is `name`.
        let mut parts = module.rsplit('/');
        let last = parts.next().unwrap_or(module);
        let name = if last.starts_with('v') && last[1..].chars().all(|c| c.is_ascii_digit()) {
            parts.next().unwrap_or(last)
        } else {
            last
        };
        manifest = Some((name.to_owned(), "golang", Vec::new()));
    }
    if manifest.is_none()
        && let Some(t) = get("composer.json")
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(t)
        && let Some(name) = v["name"].as_str()
    {
        let keywords = v["keywords"]
            .as_array()
            .map(|k| {
                k.iter()
                    .filter_map(|w| w.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let name = name.rsplit('/').next().unwrap_or(name).to_owned();
        manifest = Some((name, "php", keywords));
    }
    if manifest.is_none()
        && let Some(t) = get("mix.exs")
        && let Some(app) = t.split("app: :").nth(1)
    {
        let name: String = app
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        manifest = Some((name, "elixir", Vec::new()));
    }
    if manifest.is_none()
        && let Some((_, t)) = files.iter().find(|(n, _)| n.ends_with(".gemspec"))
        && let Some(name) = t.lines().find_map(|l| {
            let l = l.trim();
            let rest = l
                .strip_prefix("s.name")
                .or_else(|| l.strip_prefix("spec.name"))?;
            quoted(rest.trim_start().strip_prefix('=')?)
        })
    {
        manifest = Some((name, "ruby", Vec::new()));
    }
    let title = ["README.md", "README.rst", "README"]
        .iter()
        .find_map(|r| get(r).and_then(readme_title));
    let named = manifest
        .as_ref()
        .map(|(n, ..)| n.as_str())
        .filter(|n| !n.is_empty());
    let name = match (named, &title) {
        (Some(name), Some(title)) => Some(as_written(name, title)),
        (Some(name), None) => Some(name.to_owned()),
        // A README title of a few words (not "owner/name") names the project.
        (None, Some(title)) if title.split_whitespace().count() <= 3 && !title.contains('/') => {
            Some(title.clone())
        }
        // "# vuejs/core [![npm](…/npm/v/vue.svg)](https://www.npmjs.com/package/vue)": a
        // private monorepo root titled by its repository, whose README names the package
        // its users install.
        _ => ["README.md", "README.rst", "README"]
            .iter()
            .find_map(|r| get(r).and_then(npm_badge)),
    };
    let mut hashtags: Vec<String> = Vec::new();
    if let Some((_, language, keywords)) = &manifest {
        hashtags.push((*language).to_owned());
        for k in keywords {
            let tag: String = k.chars().filter(|c| c.is_alphanumeric()).collect();
            let lower = tag.to_lowercase();
            if tag.len() >= 2
                && tag.len() <= 24
                && !hashtags.iter().any(|h| h.to_lowercase() == lower)
                && name.as_ref().is_none_or(|n| n.to_lowercase() != lower)
            {
                hashtags.push(tag);
            }
            if hashtags.len() >= 3 {
                break;
            }
        }
    }
    ProjectFacts {
        name,
        hashtags,
        repository: repository(&get, files),
    }
}

/// The project's web address as its manifest states it, as an `https://` link.
fn repository<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
    files: &'a [(String, String)],
) -> Option<String> {
    let json =
        |name: &str| get(name).and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok());
    let mut found: Vec<String> = Vec::new();
    if let Some(t) = get("Cargo.toml") {
        found.extend(toml_value(t, "package", "repository"));
        found.extend(toml_value(t, "package", "homepage"));
    }
    if let Some(v) = json("package.json") {
        found.extend(v["repository"].as_str().map(str::to_owned));
        found.extend(v["repository"]["url"].as_str().map(str::to_owned));
        found.extend(v["homepage"].as_str().map(str::to_owned));
    }
    if let Some(t) = get("pyproject.toml") {
        for key in [
            "Repository",
            "Source",
            "Homepage",
            "repository",
            "source",
            "homepage",
        ] {
            found.extend(toml_value(t, "project.urls", key));
        }
        found.extend(toml_value(t, "tool.poetry", "repository"));
    }
    if let Some(v) = json("composer.json") {
        found.extend(v["support"]["source"].as_str().map(str::to_owned));
        found.extend(v["homepage"].as_str().map(str::to_owned));
    }
    if let Some(t) = get("go.mod")
        && let Some(module) = t.lines().find_map(|l| l.trim().strip_prefix("module "))
    {
        // `github.com/owner/name/v2` lives at github.com/owner/name.
        let parts: Vec<&str> = module.trim().split('/').collect();
        if parts.len() >= 3 && parts[0].contains('.') {
            found.push(format!("https://{}/{}/{}", parts[0], parts[1], parts[2]));
        }
    }
    if let Some(t) = get("mix.exs") {
        found.extend(
            t.lines()
                .filter_map(|l| {
                    let l = l.trim();
                    l.strip_prefix("source_url:")
                        .or_else(|| l.strip_prefix("@source_url"))
                })
                .filter_map(quoted),
        );
    }
    if let Some((_, t)) = files.iter().find(|(n, _)| n.ends_with(".gemspec")) {
        found.extend(t.lines().filter_map(|l| {
            let l = l.trim();
            let rest = l
                .strip_prefix("s.homepage")
                .or_else(|| l.strip_prefix("spec.homepage"))?;
            quoted(rest.trim_start().strip_prefix('=')?)
        }));
    }
    found.iter().find_map(|u| web_link(u))
}

/// `git+https://github.com/o/n.git`, `git@github.com:o/n.git`, `github:o/n` → an https
/// link; anything else that is not http(s) → none.
fn web_link(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let url = if let Some(rest) = raw.strip_prefix("git@") {
        format!("https://{}", rest.replacen(':', "/", 1))
    } else if let Some(rest) = raw.strip_prefix("github:") {
        format!("https://github.com/{rest}")
    } else if let Some(rest) = raw.strip_prefix("git+") {
        rest.to_owned()
    } else if let Some(rest) = raw.strip_prefix("git://") {
        format!("https://{rest}")
    } else if !raw.contains(':') && raw.split('/').count() == 2 {
        // npm's shorthand `owner/name` is GitHub.
        format!("https://github.com/{raw}")
    } else {
        raw.to_owned()
    };
    let url = url.trim_end_matches('/');
    let url = url.strip_suffix(".git").unwrap_or(url);
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    (host.contains('.') && !host.contains(char::is_whitespace)).then(|| url.to_owned())
}

/// The manifest's name as the README's title spells it: the longest run of title words
/// that spells the name ("Tailwind CSS" for `tailwindcss`, "Gin" from "Gin Web Framework").
fn as_written(name: &str, title: &str) -> String {
    let key = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let want = key(name);
    let words: Vec<&str> = title.split_whitespace().collect();
    for end in (1..=words.len().min(4)).rev() {
        let candidate = words[..end].join(" ");
        if key(&candidate) == want {
            return candidate
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_owned();
        }
    }
    name.to_owned()
}

/// The npm package a README's first heading links to, as its users say it: `vue` → "Vue".
/// Only a plain lowercase name (a scoped `@org/pkg` is no product's name).
fn npm_badge(text: &str) -> Option<String> {
    let heading = text.lines().find(|l| l.starts_with('#'))?;
    let (_, rest) = heading.split_once("npmjs.com/package/")?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .collect();
    let plain = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_lowercase())
        && rest[name.len()..].starts_with([')', '/', '"', ' ']);
    plain.then(|| {
        let mut chars = name.chars();
        chars
            .next()
            .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
            .unwrap_or_default()
    })
}

/// The first heading of a README, without images, links and badges.
fn readme_title(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate().take(40) {
        let l = line.trim();
        let heading = if let Some(h) = l.strip_prefix("# ") {
            Some(h)
        } else if lines
            .get(i + 1)
            .is_some_and(|u| u.trim().len() >= 3 && u.trim().chars().all(|c| c == '=' || c == '#'))
            && !l.is_empty()
        {
            Some(l)
        } else {
            None
        };
        let Some(h) = heading else { continue };
        let cleaned = strip_markup(h);
        if !cleaned.is_empty() {
            return Some(cleaned);
        }
    }
    None
}

/// `![logo](x.png) [Gin](url) Web Framework` → `Gin Web Framework`.
fn strip_markup(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("![") {
            // An image: skip its alt text and target.
            rest = after
                .find("](")
                .and_then(|i| after[i..].find(')').map(|j| &after[i + j + 1..]))
                .unwrap_or("");
        } else if let Some(after) = rest.strip_prefix('<') {
            rest = after.find('>').map_or("", |i| &after[i + 1..]);
        } else if rest.starts_with("](") {
            rest = rest.find(')').map_or("", |i| &rest[i + 1..]);
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            if !matches!(c, '[' | ']' | '*' | '_' | '`') {
                out.push(c);
            }
            rest = &rest[c.len_utf8()..];
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `key = "value"` in a TOML `[table]` (a line-level reading: enough for names).
fn toml_value(text: &str, table: &str, key: &str) -> Option<String> {
    toml_line(text, table, key).and_then(quoted)
}

/// `key = ["a", "b"]` on one line in a TOML `[table]`.
fn toml_list(text: &str, table: &str, key: &str) -> Vec<String> {
    toml_line(text, table, key)
        .map(|v| {
            v.trim_matches(|c| c == '[' || c == ']' || c == ' ')
                .split(',')
                .filter_map(quoted)
                .collect()
        })
        .unwrap_or_default()
}

fn toml_line<'a>(text: &'a str, table: &str, key: &str) -> Option<&'a str> {
    let header = format!("[{table}]");
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == header;
            continue;
        }
        if inside
            && let Some(rest) = line.strip_prefix(key)
            && let Some(value) = rest.trim_start().strip_prefix('=')
        {
            return Some(value.trim());
        }
    }
    None
}

fn quoted(s: &str) -> Option<String> {
    let s = s.trim();
    let q = s.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let inner = &s[1..];
    inner.find(q).map(|end| inner[..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_says_where_the_project_lives() {
        let link = |files: &[(&str, &str)]| facts(files).repository;
        assert_eq!(
            link(&[(
                "package.json",
                r#"{"name":"x","repository":{"type":"git","url":"git+https://github.com/acme/x.git"}}"#
            )]),
            Some("https://github.com/acme/x".into())
        );
        assert_eq!(
            link(&[("package.json", r#"{"name":"x","repository":"acme/x"}"#)]),
            Some("https://github.com/acme/x".into())
        );
        assert_eq!(
            link(&[(
                "Cargo.toml",
                "[package]\nname = \"x\"\nrepository = \"https://codeberg.org/acme/x\"\n"
            )]),
            Some("https://codeberg.org/acme/x".into())
        );
        assert_eq!(
            link(&[("go.mod", "module gitlab.com/acme/x/v2\n\ngo 1.22\n")]),
            Some("https://gitlab.com/acme/x".into())
        );
        assert_eq!(
            link(&[(
                "pyproject.toml",
                "[project]\nname = \"x\"\n\n[project.urls]\nRepository = \"https://sr.ht/~acme/x\"\n"
            )]),
            Some("https://sr.ht/~acme/x".into())
        );
        assert_eq!(
            link(&[(
                "x.gemspec",
                "  s.name = \"x\"\n  s.homepage = \"https://acme.dev/x\"\n"
            )]),
            Some("https://acme.dev/x".into())
        );
        assert_eq!(
            link(&[("package.json", r#"{"name":"x","repository":"file:../x"}"#)]),
            None,
            "only web links"
        );
    }

    fn facts(files: &[(&str, &str)]) -> ProjectFacts {
        let owned: Vec<(String, String)> = files
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        project_facts(&owned)
    }

    #[test]
    fn the_project_is_named_as_it_names_itself_in_every_ecosystem() {
        let tailwind = facts(&[
            (
                "package.json",
                r#"{"name": "tailwindcss", "keywords": ["css", "utility-first"], "devDependencies": {"typescript": "5"}}"#,
            ),
            (
                "README.md",
                "<p align=\"center\"><img src=\"x.svg\"></p>\n\n# Tailwind CSS\n",
            ),
        ]);
        assert_eq!(tailwind.name.as_deref(), Some("Tailwind CSS"));
        assert_eq!(tailwind.hashtags, ["typescript", "css", "utilityfirst"]);
        let gin = facts(&[
            ("go.mod", "module github.com/gin-gonic/gin\n\ngo 1.23\n"),
            (
                "README.md",
                "# Gin Web Framework\n\n<img align=\"right\" src=\"logo.jpg\">\n",
            ),
        ]);
        assert_eq!(gin.name.as_deref(), Some("Gin"));
        assert_eq!(gin.hashtags, ["golang"]);
        let clap = facts(&[(
            "Cargo.toml",
            "[workspace]\nmembers = [\"clap_builder\"]\n\n[package]\nname = \"clap\"\nkeywords = [\"argument\", \"cli\", \"arg\", \"parser\"]\n",
        )]);
        assert_eq!(clap.name.as_deref(), Some("clap"));
        assert_eq!(clap.hashtags, ["rustlang", "argument", "cli"]);
        let monolog = facts(&[
            (
                "composer.json",
                r#"{"name": "monolog/monolog", "keywords": ["log", "logging", "psr-3"]}"#,
            ),
            (
                "README.md",
                "![Monolog](logo.jpg)\n\n# Monolog - Logging for PHP [![Continuous Integration](x)](y)\n",
            ),
        ]);
        assert_eq!(monolog.name.as_deref(), Some("Monolog"));
        let rack = facts(&[(
            "rack.gemspec",
            "Gem::Specification.new do |s|\n  s.name = \"rack\"\n",
        )]);
        assert_eq!(rack.name.as_deref(), Some("rack"));
        assert_eq!(rack.hashtags, ["ruby"]);
        let mitm = facts(&[(
            "pyproject.toml",
            "[build-system]\nrequires = []\n\n[project]\nname = \"mitmproxy\"\nkeywords = [\"proxy\"]\n",
        )]);
        assert_eq!(mitm.name.as_deref(), Some("mitmproxy"));
        assert_eq!(mitm.hashtags, ["python", "proxy"]);
        let go_v2 = facts(&[("go.mod", "module github.com/acme/thing/v2\n")]);
        assert_eq!(go_v2.name.as_deref(), Some("thing"));
        // A private monorepo root: no name, but its language; "owner/name" is no name.
        let vue = facts(&[
            (
                "package.json",
                r#"{"private": true, "devDependencies": {"typescript": "5"}}"#,
            ),
            ("README.md", "# vuejs/core [![npm](x)](y)\n"),
        ]);
        assert_eq!(vue.name, None);
        assert_eq!(vue.hashtags, ["typescript"]);
        // Its real README links the npm package users install: that names it.
        let vue = facts(&[
            ("package.json", r#"{"private": true}"#),
            (
                "README.md",
                "# vuejs/core [![npm](https://img.shields.io/npm/v/vue.svg)](https://www.npmjs.com/package/vue) [![build status](https://github.com/vuejs/core/actions/workflows/ci.yml/badge.svg?branch=main)](https://github.com/vuejs/core/actions/workflows/ci.yml)\n",
            ),
        ]);
        assert_eq!(vue.name.as_deref(), Some("Vue"));
        let scoped = facts(&[(
            "README.md",
            "# acme/ui [![npm](x)](https://www.npmjs.com/package/@acme/ui)\n",
        )]);
        assert_eq!(scoped.name, None);
        assert_eq!(facts(&[]), ProjectFacts::default());
    }
}
