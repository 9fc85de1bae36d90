//! Keeping an AI answer to the facts: nothing it may add that the input did not have.

use covalynce_drafting::Channel;

/// The structured understanding as text lines (title, items, refs, symbols, links), and
/// the diffs (sent only when the workspace allows).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub lines: Vec<String>,
    pub diffs: Vec<String>,
}

/// URLs in `text` (up to the next whitespace, trailing punctuation trimmed).
fn urls(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = [rest.find("https://"), rest.find("http://")]
        .into_iter()
        .flatten()
        .min()
    {
        let tail = &rest[start..];
        let end = tail.find(char::is_whitespace).unwrap_or(tail.len());
        out.push(tail[..end].trim_end_matches(['.', ',', ')', '!', '?', ';', ':', '"', '\'']));
        rest = &tail[end..];
    }
    out
}

/// Version-like tokens: `1.2`, `v1.2.3`, `2.0.0-rc.1` (digits and dots, at least one dot).
fn versions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit()
            && (i == 0 || !chars[i - 1].is_ascii_alphanumeric() || chars[i - 1] == 'v')
        {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let token: String = chars[start..i].iter().collect::<String>();
            let token = token.trim_end_matches('.');
            if token.contains('.') && token.split('.').all(|p| !p.is_empty()) {
                out.push(token.to_owned());
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Names that only code has: `backticked` spans, `snake_case`, `camelCase`, `Type::path`,
/// `calls()`, `--flags` and file paths. An answer that names one the input did not is
/// describing a feature nobody shipped. Hashtags, mentions and links are not names here
/// (links are checked on their own); well-known product names are allowed.
fn code_names(text: &str) -> Vec<String> {
    const ALLOWED: [&str; 12] = [
        "github",
        "gitlab",
        "linkedin",
        "youtube",
        "javascript",
        "typescript",
        "macos",
        "ios",
        "iphone",
        "ipad",
        "devops",
        "openai",
    ];
    let mut out = Vec::new();
    let mut rest = text;
    // Backticked spans are code by the writer's own say.
    while let Some(start) = rest.find('`') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('`') else { break };
        let span = after[..end].trim();
        if !span.is_empty() {
            out.push(span.to_owned());
        }
        rest = &after[end + 1..];
    }
    for raw in text.split(|c: char| c.is_whitespace() || c == '`') {
        if raw.starts_with('#') || raw.starts_with('@') || raw.contains("://") {
            continue;
        }
        let call = raw
            .trim_end_matches(['.', ',', ';', ':', '!', '?'])
            .ends_with("()");
        let word = raw.trim_matches(|c: char| {
            matches!(
                c,
                '.' | ','
                    | ';'
                    | ':'
                    | '!'
                    | '?'
                    | '"'
                    | '\''
                    | '('
                    | ')'
                    | '['
                    | ']'
                    | '{'
                    | '}'
                    | '<'
                    | '>'
                    | '*'
            )
        });
        if word.len() < 3 || ALLOWED.contains(&word.to_ascii_lowercase().as_str()) {
            continue;
        }
        let chars: Vec<char> = word.chars().collect();
        let inner_underscore = chars
            .windows(3)
            .any(|w| w[0].is_alphanumeric() && w[1] == '_' && w[2].is_alphanumeric());
        let camel = chars
            .windows(2)
            .any(|w| w[0].is_lowercase() && w[1].is_uppercase());
        let path = word.contains("::")
            || (word.contains('/') && word.rsplit('/').next().is_some_and(|f| f.contains('.')));
        let flag = word.starts_with("--") && word.len() > 3;
        if inner_underscore || camel || path || flag || call {
            out.push(word.to_owned());
        }
    }
    out
}

/// Why `text` cannot be posted on `channel` given `facts` and the offline draft, if it
/// cannot: an invented link or version, a secret, empty, or over the platform's limit.
pub fn verify(text: &str, channel: Channel, facts: &Facts, offline: &str) -> Result<(), String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("the answer is empty".into());
    }
    let mut known = facts.lines.join("\n");
    known.push('\n');
    known.push_str(offline);
    for diff in &facts.diffs {
        known.push('\n');
        known.push_str(diff);
    }
    for url in urls(text) {
        if !known.contains(url) {
            return Err(format!("it adds a link that is not in the facts: {url}"));
        }
    }
    for v in versions(text) {
        if !known.contains(&v) {
            return Err(format!("it names a version that is not in the facts: {v}"));
        }
    }
    let known_lower = known.to_lowercase();
    for name in code_names(text) {
        if !known_lower.contains(&name.to_lowercase()) {
            return Err(format!(
                "it names something that is not in the facts: {name}"
            ));
        }
    }
    if !covalynce_understanding::redact_secrets(text).1.is_empty() {
        return Err("it contains something that looks like a secret".into());
    }
    // A thread (posts separated by `---` lines) is checked post by post.
    match covalynce_drafting::thread::over_limit(channel, text) {
        Some((1, length)) if covalynce_drafting::thread::posts(text).len() < 2 => Err(format!(
            "it is {length} long; {} allows {}",
            channel.as_str(),
            channel.limit()
        )),
        Some((n, length)) => Err(format!(
            "post {n} of the thread is {length} long; {} allows {}",
            channel.as_str(),
            channel.limit()
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            lines: vec![
                "release v1.4.0 of acme/rocket".into(),
                "https://github.com/acme/rocket/releases/tag/v1.4.0".into(),
                "feat: CSV export".into(),
            ],
            diffs: vec![],
        }
    }

    #[test]
    fn a_faithful_answer_passes() {
        let ok = "Rocket 1.4.0 is out with CSV export: https://github.com/acme/rocket/releases/tag/v1.4.0";
        assert_eq!(verify(ok, Channel::Linkedin, &facts(), ""), Ok(()));
    }

    #[test]
    fn invented_versions_links_secrets_and_length_are_refused() {
        let f = facts();
        assert!(
            verify("Rocket 2.0 is here", Channel::X, &f, "")
                .unwrap_err()
                .contains("2.0")
        );
        assert!(
            verify("see https://evil.example/x", Channel::X, &f, "")
                .unwrap_err()
                .contains("link")
        );
        assert!(
            verify("key AKIAIOSFODNN7EXAMPLE", Channel::X, &f, "")
                .unwrap_err()
                .contains("secret")
        );
        assert!(
            verify(&"a".repeat(281), Channel::X, &f, "")
                .unwrap_err()
                .contains("280")
        );
        assert!(verify("   ", Channel::X, &f, "").is_err());
    }

    #[test]
    fn code_names_must_come_from_the_input() {
        let f = Facts {
            lines: vec![
                "commit: feat: add export_csv and the --wrap flag".into(),
                "changed function: parseConfig (added)".into(),
                "changed file: src/export.rs".into(),
            ],
            diffs: vec![],
        };
        let ok = "New: `export_csv`, parseConfig() and --wrap (see src/export.rs). Built on GitHub. #RustLang @acme";
        assert_eq!(verify(ok, Channel::Linkedin, &f, ""), Ok(()));
        for (stray, name) in [
            ("Now with `import_json` too", "import_json"),
            ("Try the new exportPdf helper", "exportPdf"),
            ("Pass --dry-run to preview", "--dry-run"),
            ("Call sync_all() after", "sync_all"),
            ("see src/dashboard.rs", "src/dashboard.rs"),
            ("Config::reload landed", "Config::reload"),
        ] {
            let why = verify(stray, Channel::Linkedin, &f, "").unwrap_err();
            assert!(
                why.contains("not in the facts") && why.contains(name),
                "{stray}: {why}"
            );
        }
        assert_eq!(
            code_names("plain words, a (parenthesis), a list: one, two. LinkedIn and macOS."),
            Vec::<String>::new()
        );
    }

    #[test]
    fn numbers_that_are_not_versions_are_not_versions() {
        assert!(versions("3 fixes, 10x faster, v2").is_empty());
        assert_eq!(versions("v1.2.3 and 0.9."), ["1.2.3", "0.9"]);
        assert!(versions("abc1.2").is_empty(), "part of a word");
    }
}
