//! A workspace's drafting settings, as stored and as the API spells them: parsed when a row
//! is read, so a value no version of Covalynce wrote is an error, never a silent default.

use serde::{Deserialize, Serialize};

/// How posts sound. The founding document's default is sassy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Voice {
    #[default]
    Sassy,
    Plain,
    Technical,
}

impl Voice {
    pub const ALL: [Voice; 3] = [Voice::Sassy, Voice::Plain, Voice::Technical];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Voice::Sassy => "sassy",
            Voice::Plain => "plain",
            Voice::Technical => "technical",
        }
    }
}

/// What may leave the machine for AI drafting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Privacy {
    /// Nothing: drafts stay offline (the default).
    #[default]
    Offline,
    /// Commit messages, titles and the analysis (categories, changed symbols).
    Messages,
    /// The above and the diffs.
    Diffs,
}

impl Privacy {
    pub const ALL: [Privacy; 3] = [Privacy::Offline, Privacy::Messages, Privacy::Diffs];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Privacy::Offline => "offline",
            Privacy::Messages => "messages",
            Privacy::Diffs => "diffs",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_setting_reads_back_as_it_is_written_and_nothing_else_parses() {
        for v in Voice::ALL {
            assert_eq!(Voice::parse(v.as_str()), Some(v));
            assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
        }
        for p in Privacy::ALL {
            assert_eq!(Privacy::parse(p.as_str()), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        for bad in ["", "Sassy", "loud", " plain"] {
            assert_eq!(Voice::parse(bad), None, "{bad}");
        }
        for bad in ["", "Diffs", "everything"] {
            assert_eq!(Privacy::parse(bad), None, "{bad}");
        }
    }
}
