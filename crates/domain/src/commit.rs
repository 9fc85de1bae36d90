use serde::{Deserialize, Serialize};

/// A commit as any source can describe it: a webhook's commit list or a local repository.
/// Understanding works from this alone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    /// Full hex SHA.
    pub id: String,
    /// The whole message: subject, blank line, body, trailers.
    pub message: String,
    pub author_name: String,
    pub author_email: String,
    /// The forge login when the source knows it (GitHub webhooks do).
    pub author_login: Option<String>,
    /// Unix milliseconds, UTC.
    pub timestamp: Option<i64>,
    /// Paths added, modified or removed; empty when the source does not say.
    pub files: Vec<String>,
    /// More than one parent: a merge commit.
    pub is_merge: bool,
    /// Public functions, types, flags and routes it added, changed or removed, when the
    /// source could diff the files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symbols: Vec<crate::SymbolChange>,
    /// Kinds of credentials found in lines the commit added (the lines themselves are never
    /// kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diff_secrets: Vec<String>,
    /// The pull request merge commit that brought this commit in, when the range holds it:
    /// the commit is then part of that PR's item, not an item of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_of: Option<String>,
}

impl Commit {
    pub fn subject(&self) -> &str {
        self.message.lines().next().unwrap_or_default().trim()
    }

    /// The message after the subject line, trimmed.
    pub fn body(&self) -> &str {
        match self.message.split_once('\n') {
            Some((_, rest)) => rest.trim(),
            None => "",
        }
    }

    pub fn short_id(&self) -> &str {
        self.id.get(..7).unwrap_or(&self.id)
    }
}
