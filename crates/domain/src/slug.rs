use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a value from outside could not become a domain value. The message is written for the
/// person who typed it: it names the rule, never echoes secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// A GitHub repository, `owner/name`, following GitHub's own naming rules: owners are 1–39
/// ASCII letters, digits or single hyphens (not leading or trailing); names are 1–100 ASCII
/// letters, digits, `.`, `_` or `-`, and never `.` or `..`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepoSlug {
    owner: String,
    name: String,
}

impl RepoSlug {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        let (owner, name) = s.split_once('/').ok_or_else(|| {
            ParseError(format!(
                "repository must look like \"owner/name\", got {:?}",
                truncate(s)
            ))
        })?;
        let owner_ok = !owner.is_empty()
            && owner.len() <= 39
            && owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !owner.starts_with('-')
            && !owner.ends_with('-')
            && !owner.contains("--");
        if !owner_ok {
            return Err(ParseError(format!(
                "repository owner {:?} is not a valid GitHub user or organisation name",
                truncate(owner)
            )));
        }
        let name_ok = !name.is_empty()
            && name.len() <= 100
            && name != "."
            && name != ".."
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !name_ok {
            return Err(ParseError(format!(
                "repository name {:?} is not a valid GitHub repository name",
                truncate(name)
            )));
        }
        Ok(Self {
            owner: owner.to_owned(),
            name: name.to_owned(),
        })
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// GitHub treats repository names case-insensitively; so do we when matching payloads.
    pub fn same_repo(&self, other: &RepoSlug) -> bool {
        self.owner.eq_ignore_ascii_case(&other.owner) && self.name.eq_ignore_ascii_case(&other.name)
    }
}

impl fmt::Display for RepoSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl TryFrom<String> for RepoSlug {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<RepoSlug> for String {
    fn from(value: RepoSlug) -> Self {
        value.to_string()
    }
}

/// A workspace's short name, as typed on the command line (`--workspace acme`): 1–40
/// lowercase ASCII letters, digits and hyphens, starting with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkspaceSlug(String);

impl WorkspaceSlug {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let ok = !s.is_empty()
            && s.len() <= 40
            && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(ParseError(format!(
                "workspace name {:?} must be 1-40 lowercase letters, digits or hyphens, starting with a letter or digit",
                truncate(s)
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkspaceSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for WorkspaceSlug {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<WorkspaceSlug> for String {
    fn from(value: WorkspaceSlug) -> Self {
        value.0
    }
}

/// Error messages quote what the user sent; a megabyte of junk should not come back whole.
fn truncate(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn repo_slugs_follow_githubs_rules() {
        let r = RepoSlug::parse("Codertocat/Hello-World").unwrap();
        assert_eq!(r.owner(), "Codertocat");
        assert_eq!(r.name(), "Hello-World");
        assert_eq!(r.to_string(), "Codertocat/Hello-World");
        assert!(RepoSlug::parse("rust-lang/rust.vim").is_ok());
        assert!(RepoSlug::parse("a/b_c.d-e").is_ok());
        for bad in [
            "", "nope", "/x", "x/", "a/b/c", "-a/b", "a-/b", "a--b/c", "a/..", "a/.", "a b/c",
            "a/b c", "ä/b",
        ] {
            assert!(RepoSlug::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(RepoSlug::parse(&format!("{}/x", "a".repeat(40))).is_err());
        assert!(RepoSlug::parse(&format!("a/{}", "x".repeat(101))).is_err());
    }

    #[test]
    fn repo_matching_ignores_case_like_github() {
        let a = RepoSlug::parse("Codertocat/Hello-World").unwrap();
        let b = RepoSlug::parse("codertocat/hello-world").unwrap();
        let c = RepoSlug::parse("codertocat/other").unwrap();
        assert!(a.same_repo(&b));
        assert!(!a.same_repo(&c));
    }

    #[test]
    fn workspace_slugs_are_cli_safe() {
        assert!(WorkspaceSlug::parse("default").is_ok());
        assert!(WorkspaceSlug::parse("acme-2").is_ok());
        for bad in ["", "-x", "Acme", "a b", "a/b", "ünï", &"x".repeat(41)] {
            assert!(
                WorkspaceSlug::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn error_messages_do_not_echo_huge_input() {
        let err = RepoSlug::parse(&"x".repeat(10_000)).unwrap_err();
        assert!(err.0.len() < 200, "{}", err.0);
    }

    proptest! {
        #[test]
        fn parsed_repo_slugs_round_trip(s in "\\PC{0,80}") {
            if let Ok(r) = RepoSlug::parse(&s) {
                let again = RepoSlug::parse(&r.to_string()).unwrap();
                prop_assert_eq!(again, r);
            }
        }

        #[test]
        fn valid_repo_slugs_are_accepted(owner in "[a-zA-Z0-9]([a-zA-Z0-9]|-[a-zA-Z0-9]){0,15}", name in "[a-zA-Z0-9_][a-zA-Z0-9._-]{0,40}") {
            let slug = format!("{owner}/{name}");
            prop_assert!(RepoSlug::parse(&slug).is_ok(), "{}", slug);
        }

        #[test]
        fn workspace_slug_parse_never_panics_and_round_trips(s in "\\PC{0,60}") {
            if let Ok(w) = WorkspaceSlug::parse(&s) {
                prop_assert_eq!(w.as_str(), s.as_str());
            }
        }
    }
}
