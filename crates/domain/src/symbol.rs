//! What a change did to a file's public surface (found by diff analysis).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SymbolKind {
    Function,
    Type,
    Flag,
    Route,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Added,
    Changed,
    Removed,
}

impl SymbolKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SymbolKind::Function => "function",
            SymbolKind::Type => "type",
            SymbolKind::Flag => "flag",
            SymbolKind::Route => "route",
        }
    }
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Changed => "changed",
            Change::Removed => "removed",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SymbolChange {
    pub kind: SymbolKind,
    pub name: String,
    pub change: Change,
}

impl SymbolChange {
    /// How release notes and posts mention it: "new `--wrap` flag".
    pub fn describe(&self) -> String {
        let what = match self.kind {
            SymbolKind::Function => "function",
            SymbolKind::Type => "type",
            SymbolKind::Flag => "flag",
            SymbolKind::Route => "endpoint",
        };
        let verb = match self.change {
            Change::Added => "new",
            Change::Changed => "changed",
            Change::Removed => "removed",
        };
        format!("{verb} `{}` {what}", self.name)
    }
}

/// What diff analysis found in one changed file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileAnalysis {
    pub symbols: Vec<SymbolChange>,
    /// Kinds of credentials found in the lines this change added ("GitHub token").
    pub secrets: Vec<String>,
}
