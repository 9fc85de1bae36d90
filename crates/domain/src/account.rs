//! Who may do what: roles in a workspace, and the email addresses people sign in with.

use crate::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A person's (or a token's) role in one workspace. Ordered: each role can do everything
/// the ones below it can.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads cards, sources, channels and history.
    Viewer,
    /// Also reviews, edits, approves; manages sources and channels.
    Editor,
    /// Everything, including members, tokens of any role, the audit log, export and
    /// deleting the workspace.
    Owner,
}

impl Role {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s {
            "owner" => Ok(Role::Owner),
            "editor" => Ok(Role::Editor),
            "viewer" => Ok(Role::Viewer),
            other => Err(ParseError(format!(
                "role {:?} must be one of owner, editor, viewer",
                other.chars().take(40).collect::<String>()
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An email address as people sign in with it: trimmed, lowercased, one `@` with text on
/// both sides and a dot in the domain. Deliberately not RFC 5322: this is an identifier,
/// and the only real check of an address is a message reaching it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim().to_lowercase();
        let ok = s.len() <= 254
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            && s.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            });
        if ok {
            Ok(Self(s))
        } else {
            Err(ParseError(
                "email must be an address like name@example.com".into(),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_what_they_may_do() {
        assert!(Role::Owner > Role::Editor && Role::Editor > Role::Viewer);
        for r in [Role::Owner, Role::Editor, Role::Viewer] {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert!(Role::parse("admin").is_err());
    }

    #[test]
    fn emails_are_normalised_and_obvious_mistakes_refused() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@c.d",
            "ada@example.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
