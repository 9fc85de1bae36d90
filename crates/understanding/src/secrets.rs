//! Secret scanning: credentials that slipped into commit text are replaced before anything
//! is drafted, so a draft can never carry one. What was found is reported by kind only.

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What it looked like: "GitHub token", "AWS access key", …
    pub kind: &'static str,
}

pub const REDACTED: &str = "[redacted]";

/// Returns `text` with every secret-looking token replaced by `[redacted]`, and what was
/// found.
pub fn redact_secrets(text: &str) -> (String, Vec<Finding>) {
    let mut findings = Vec::new();
    if text.contains(KEY_ARMOUR) && text.contains("PRIVATE KEY-----") {
        findings.push(Finding {
            kind: "private key",
        });
        return (REDACTED.to_owned(), findings);
    }
    let mut out = String::with_capacity(text.len());
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String, findings: &mut Vec<Finding>| {
        if token.is_empty() {
            return;
        }
        match secret_kind(token) {
            Some(kind) => {
                findings.push(Finding { kind });
                out.push_str(REDACTED);
            }
            None => out.push_str(token),
        }
        token.clear();
    };
    for c in text.chars() {
        if c.is_whitespace()
            || matches!(
                c,
                '"' | '\'' | '`' | '=' | ',' | ';' | '(' | ')' | '<' | '>' | '[' | ']' | '{' | '}'
            )
        {
            flush(&mut token, &mut out, &mut findings);
            out.push(c);
        } else {
            token.push(c);
        }
    }
    flush(&mut token, &mut out, &mut findings);
    let out = redact_assignments(&out, &mut findings);
    (out, findings)
}

/// What each kind of token starts with (read by `secret_kind`; every one is also a hint).
const GITHUB_PREFIXES: [&str; 6] = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"];
const AWS_PREFIXES: [&str; 2] = ["AKIA", "ASIA"];
const SLACK_PREFIXES: [&str; 5] = ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-"];
const WEBHOOK_PREFIXES: [&str; 2] = [
    "https://hooks.slack.com/services/",
    "https://discord.com/api/webhooks/",
];
const API_KEY_PREFIXES: [&str; 3] = ["sk-", "sk_live_", "rk_live_"];
const GITLAB_PREFIX: &str = "glpat-";
const COVALYNCE_PREFIX: &str = "cvl_";
const JWT_PREFIX: &str = "eyJ";
const GOOGLE_PREFIX: &str = "AIza";
/// A private key's armour (with "PRIVATE KEY-----" after it).
const KEY_ARMOUR: &str = "-----BEGIN";

/// Every token prefix `secret_kind` knows.
fn token_prefixes() -> impl Iterator<Item = &'static str> {
    GITHUB_PREFIXES
        .into_iter()
        .chain(AWS_PREFIXES)
        .chain(SLACK_PREFIXES)
        .chain(WEBHOOK_PREFIXES)
        .chain(API_KEY_PREFIXES)
        .chain([GITLAB_PREFIX, COVALYNCE_PREFIX, JWT_PREFIX, GOOGLE_PREFIX])
}

/// Fragments, in any case, one of which every line [`redact_secrets`] finds something in
/// contains: each token kind's prefix, a private key's armour, and each secret-sounding
/// name (`-` or `_` between its words). A superset: a line without any of them holds
/// nothing to find, so scanning a change's added lines looks only at lines with one (the
/// property tests below hold the two together).
fn hints() -> Vec<String> {
    token_prefixes()
        .chain([KEY_ARMOUR])
        .map(str::to_owned)
        .chain(
            SECRET_NAMES
                .iter()
                .flat_map(|n| [n.to_string(), n.replace('_', "-")]),
        )
        .collect()
}

static HINT_SEARCH: std::sync::LazyLock<aho_corasick::AhoCorasick> =
    std::sync::LazyLock::new(|| {
        // A DFA: this runs over every version of every changed file, and the default NFA
        // was a quarter of a large release's drafting time.
        aho_corasick::AhoCorasick::builder()
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .ascii_case_insensitive(true)
            .build(hints())
            .expect("fixed patterns build")
    });

/// The lines of `text` (cut as `str::lines` cuts them) that contain one of the [`hints`]: the
/// only lines in which [`redact_secrets`] can find anything.
pub(crate) fn candidate_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= text.len() {
            return None;
        }
        let found = HINT_SEARCH.find(aho_corasick::Input::new(text).span(at..text.len()))?;
        let start = memchr::memrchr(b'\n', &text.as_bytes()[..found.start()]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &text.as_bytes()[found.end()..])
            .map_or(text.len(), |i| found.end() + i);
        at = end + 1;
        let line = &text[start..end];
        // As `str::lines`: a carriage return ends a line only before a newline.
        Some(match end < text.len() {
            true => line.strip_suffix('\r').unwrap_or(line),
            false => line,
        })
    })
}

/// Words that make `NAME=value` a credential whatever the value looks like.
const SECRET_NAMES: [&str; 8] = [
    "secret",
    "password",
    "passwd",
    "token",
    "api_key",
    "apikey",
    "private_key",
    "access_key",
];

/// `AWS_SECRET_ACCESS_KEY=…`, `password: …`, `api_key = "…"`: a value of 8 or more
/// characters assigned to a secret-sounding name is redacted (references such as
/// `${SECRET}` or `$TOKEN` are not values and stay).
fn redact_assignments(text: &str, findings: &mut Vec<Finding>) -> String {
    let bytes = text.as_bytes();
    let is_name = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if !is_name(bytes[i]) || (i > 0 && is_name(bytes[i - 1])) {
            let c = text[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
            continue;
        }
        let start = i;
        while i < bytes.len() && is_name(bytes[i]) {
            i += 1;
        }
        let name = text[start..i].to_ascii_lowercase().replace('-', "_");
        out.push_str(&text[start..i]);
        if !SECRET_NAMES.iter().any(|w| name.contains(w)) {
            continue;
        }
        // `=` or `:`, with spaces and an optional quote around the value.
        let mut j = i;
        while j < bytes.len() && bytes[j] == b' ' {
            j += 1;
        }
        if j >= bytes.len() || !(bytes[j] == b'=' || bytes[j] == b':') {
            continue;
        }
        j += 1;
        while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'"' || bytes[j] == b'\'') {
            j += 1;
        }
        let value_start = j;
        while j < bytes.len()
            && !bytes[j].is_ascii_whitespace()
            && !matches!(bytes[j], b'"' | b'\'' | b',' | b';')
        {
            j += 1;
        }
        let value = &text[value_start..j];
        if value.len() >= 8
            && value != REDACTED
            && !value.starts_with('$')
            && !value.starts_with('{')
            && !reads_code(value)
        {
            out.push_str(&text[i..value_start]);
            out.push_str(REDACTED);
            findings.push(Finding { kind: "credential" });
            i = j;
        }
    }
    out
}

/// A value that is code, not a secret: a call (`os.getenv(`) or a dotted path of plain
/// words (`self.xsrf_token`, `config.api_key`; mitmproxy 12.2.1's `token =
/// self.xsrf_token` was reported as a credential to rotate). A dotted value with a digit
/// in it may be a password and is still redacted.
fn reads_code(value: &str) -> bool {
    let dotted_words = value.contains('.')
        && value.split('.').all(|part| {
            part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
        });
    dotted_words || value.contains('(')
}

fn secret_kind(token: &str) -> Option<&'static str> {
    let t = token.trim_end_matches(['.', ':']);
    let body = |prefix: &str| {
        t.strip_prefix(prefix)
            .filter(|rest| rest.len() >= 20 && charset(rest))
    };
    if GITHUB_PREFIXES.iter().any(|p| body(p).is_some()) {
        return Some("GitHub token");
    }
    if AWS_PREFIXES.iter().any(|p| t.starts_with(p))
        && t.len() == 20
        && t[4..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Some("AWS access key");
    }
    if SLACK_PREFIXES
        .iter()
        .any(|p| t.starts_with(p) && t.len() > 20)
    {
        return Some("Slack token");
    }
    if WEBHOOK_PREFIXES.iter().any(|p| t.starts_with(p)) {
        return Some("webhook URL");
    }
    if API_KEY_PREFIXES.iter().any(|p| body(p).is_some()) {
        return Some("API key");
    }
    if body(GITLAB_PREFIX).is_some() {
        return Some("GitLab token");
    }
    if body(COVALYNCE_PREFIX).is_some() {
        return Some("Covalynce token");
    }
    if t.starts_with(JWT_PREFIX) && t.matches('.').count() == 2 && t.len() > 40 {
        return Some("JSON web token");
    }
    if t.starts_with(GOOGLE_PREFIX) && t.len() == 39 {
        return Some("Google API key");
    }
    None
}

fn charset(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn values_assigned_to_secret_names_are_redacted() {
        for text in [
            "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "db password: correct-horse-battery",
            "api_key = \"0123456789abcdef\"",
            "export GITHUB_TOKEN=abcdefgh12345678",
        ] {
            let (out, found) = redact_secrets(text);
            assert!(out.contains(REDACTED), "{text} -> {out}");
            assert!(!found.is_empty(), "{text}");
            assert!(
                !out.contains("wJalr")
                    && !out.contains("horse")
                    && !out.contains("0123456789abcdef")
                    && !out.contains("abcdefgh1234"),
                "{out}"
            );
        }
        // Code that reads a secret is not one; a dotted value with digits may be one.
        for text in ["token = self.xsrf_token", "password = os.getenv(\"PW\")"] {
            assert_eq!(redact_secrets(text).0, text, "left alone");
        }
        let (out, found) = redact_secrets("password = hunter2.hunter2");
        assert!(out.contains(REDACTED) && !found.is_empty(), "{out}");
        for text in [
            "SECRET=${SECRET}",
            "token: $TOKEN",
            "the password reset page",
            "password: short",
            "rotate the secret key",
        ] {
            let (out, found) = redact_secrets(text);
            assert_eq!(out, text, "left alone");
            assert!(found.is_empty(), "{text}");
        }
    }

    #[test]
    fn known_credentials_are_redacted_and_named() {
        let cases = [
            (
                "oops ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 committed",
                "GitHub token",
            ),
            ("AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS access key"),
            (
                "token: xoxb-123456789012-123456789012-abcdefABCDEF",
                "Slack token",
            ),
            (
                "key=\"sk-proj-abcdefghijklmnopqrstuvwxyz123456\"",
                "API key",
            ),
            (
                "hook https://hooks.slack.com/services/T000/B000/XXXX",
                "webhook URL",
            ),
            (
                "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijklmnop",
                "JSON web token",
            ),
        ];
        for (text, kind) in cases {
            let (clean, found) = redact_secrets(text);
            assert_eq!(found.first().map(|f| f.kind), Some(kind), "{text}");
            assert!(clean.contains(REDACTED), "{clean}");
            for word in text.split(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-') {
                if word.len() >= 20 {
                    assert!(!clean.contains(word), "{word} survived in {clean}");
                }
            }
        }
        let (clean, found) = redact_secrets(
            "-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY-----",
        );
        assert_eq!(clean, REDACTED);
        assert_eq!(found[0].kind, "private key");
    }

    #[test]
    fn ordinary_text_is_untouched() {
        for text in [
            "Fix the parser (#12)",
            "Add --wrap=word flag",
            "Rename AKIA to something",
            "sk-short",
            "v1.2.3",
        ] {
            let (clean, found) = redact_secrets(text);
            assert_eq!(clean, text);
            assert!(found.is_empty(), "{text}: {found:?}");
        }
    }

    proptest! {
        #[test]
        fn redaction_never_panics_and_removes_every_github_token(prefix in "\\PC{0,50}", secret in "[A-Za-z0-9]{36}", suffix in "\\PC{0,50}") {
            let token = format!("ghp_{secret}");
            let text = format!("{prefix} {token} {suffix}");
            let (clean, found) = redact_secrets(&text);
            prop_assert!(!clean.contains(&token));
            prop_assert!(!found.is_empty());
        }

    }

    proptest! {
        // Cheap cases, and every kind of credential must come up many times.
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// The scan of a change's added lines looks only at candidate lines: any line in
        /// which redaction finds something must be one, whatever its case or company.
        #[test]
        fn every_line_with_a_credential_is_a_candidate(
            before in filler(), credential in credential(), after in filler()) {
            let line = format!("{before}{credential}{after}");
            let found = redact_secrets(&line).1;
            prop_assert!(found.is_empty() || candidate_lines(&line).next() == Some(line.as_str()),
                "{line:?}: {found:?}");
        }

        /// Candidate lines are cut exactly as `str::lines` cuts them (`\r\n` too), so a
        /// line the old version had is recognised as the same line.
        #[test]
        fn candidate_lines_are_the_lines_that_hold_a_hint(pieces in prop::collection::vec(
            prop_oneof![credential(), filler(), Just("\n".to_owned()), Just("\r\n".to_owned()), Just("\r".to_owned())], 0..24)) {
            let text: String = pieces.concat();
            let expected: Vec<&str> = text.lines().filter(|l| HINT_SEARCH.is_match(*l)).collect();
            prop_assert_eq!(candidate_lines(&text).collect::<Vec<_>>(), expected);
        }
    }

    /// Every secret-sounding name, however its words are joined and in any case, makes a
    /// line a candidate (the names are what `redact_assignments` looks for).
    #[test]
    fn every_secret_name_is_a_hint() {
        for name in SECRET_NAMES {
            for spelled in [name.to_owned(), name.replace('_', "-"), name.to_uppercase()] {
                assert!(HINT_SEARCH.is_match(&spelled), "{spelled}");
            }
        }
    }

    /// A credential of any kind: a token by its prefix, a value assigned to a
    /// secret-sounding name in varied case, a private key's armour.
    fn credential() -> impl Strategy<Value = String> {
        let prefix = prop::sample::select(token_prefixes().collect::<Vec<_>>());
        let name = prop::sample::select(vec![
            "token",
            "GITHUB_TOKEN",
            "Password",
            "db_passwd",
            "Secret",
            "api-key",
            "API_KEY",
            "ApiKey",
            "private-key",
            "PRIVATE_KEY",
            "aws_access-key",
            "Access_Key",
        ]);
        prop_oneof![
            (prefix, "[A-Z0-9]{16}|[A-Za-z0-9_-]{20,44}|[A-Za-z0-9]{10}\\.[A-Za-z0-9]{10}\\.[A-Za-z0-9]{20}")
                .prop_map(|(p, body)| format!("{p}{body}")),
            (name, " {0,2}[=:] {0,2}[\"']?", "[A-Za-z0-9/+]{8,20}")
                .prop_map(|(n, op, value)| format!("{n}{op}{value}")),
            Just("-----BEGIN RSA PRIVATE KEY-----".to_owned()),
        ]
    }

    /// Text around a credential: code, punctuation, anything printable.
    fn filler() -> impl Strategy<Value = String> {
        prop_oneof![
            "[ =:\"'.,;`()_-]{1,3}",
            "[A-Za-z0-9_ =:\"'.,;`()-]{0,12} ",
            "\\PC{0,6}"
        ]
    }
}
