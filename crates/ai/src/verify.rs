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
    if !covalynce_understanding::redact_secrets(text).1.is_empty() {
        return Err("it contains something that looks like a secret".into());
    }
    let length = channel.length(text);
    if length > channel.limit() {
        return Err(format!(
            "it is {length} long; {} allows {}",
            channel.as_str(),
            channel.limit()
        ));
    }
    Ok(())
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
    fn numbers_that_are_not_versions_are_not_versions() {
        assert!(versions("3 fixes, 10x faster, v2").is_empty());
        assert_eq!(versions("v1.2.3 and 0.9."), ["1.2.3", "0.9"]);
        assert!(versions("abc1.2").is_empty(), "part of a word");
    }
}
