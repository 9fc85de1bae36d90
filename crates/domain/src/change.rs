//! What kind of change something is, and how a project's notes list changes: the words
//! understanding decides and drafting writes with, here so that an event's stored facts
//! (a release's house style) are typed end to end. `understanding` re-exports them.

use serde::{Deserialize, Serialize};

/// What kind of change an item is. Ordered as release notes list them: what users notice
/// first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Feature,
    Fix,
    Performance,
    Security,
    Docs,
    Refactor,
    Test,
    Chore,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::Feature,
        Category::Fix,
        Category::Performance,
        Category::Security,
        Category::Docs,
        Category::Refactor,
        Category::Test,
        Category::Chore,
    ];

    /// The heading in release notes.
    pub fn heading(self) -> &'static str {
        match self {
            Category::Feature => "Features",
            Category::Fix => "Bug fixes",
            Category::Performance => "Performance",
            Category::Security => "Security",
            Category::Docs => "Documentation",
            Category::Refactor => "Refactoring",
            Category::Test => "Tests",
            Category::Chore => "Maintenance",
        }
    }

    /// How many changes of this kind, in words a post can use: "1 bug fix", "3 bug fixes"
    /// (never "1 bug fixes" or "2 maintenance").
    pub fn counted(self, n: usize) -> String {
        let (one, many) = match self {
            Category::Feature => ("new feature", "new features"),
            Category::Fix => ("bug fix", "bug fixes"),
            Category::Performance => ("speed-up", "speed-ups"),
            Category::Security => ("security fix", "security fixes"),
            Category::Docs => ("documentation update", "documentation updates"),
            Category::Refactor => ("refactor", "refactors"),
            Category::Test => ("test change", "test changes"),
            Category::Chore => ("maintenance change", "maintenance changes"),
        };
        format!("{n} {}", if n == 1 { one } else { many })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Feature => "feature",
            Category::Fix => "fix",
            Category::Performance => "performance",
            Category::Security => "security",
            Category::Docs => "docs",
            Category::Refactor => "refactor",
            Category::Test => "test",
            Category::Chore => "chore",
        }
    }

    /// Changes a user of the software would notice; the rest is for the team.
    pub fn user_visible(self) -> bool {
        matches!(
            self,
            Category::Feature | Category::Fix | Category::Performance | Category::Security
        )
    }
}

/// Why a commit is not announced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Noise {
    /// A merge that only joins branches (`Merge branch 'main' into …`).
    Merge,
    /// Release bookkeeping: a release or version bump, or the release notes being written.
    VersionBump,
    /// A dependency update (Dependabot, Renovate, `chore(deps)`).
    DependencyBump,
    /// Only CI configuration changed.
    CiOnly,
    /// Only a typo was fixed.
    TypoOnly,
    /// Only the maintainers' own process documents changed (how to release, contribute,
    /// report a vulnerability; issue templates): nothing a user of the release gets.
    ProjectDocs,
    /// Upkeep of the project's own tools: "Fix latest clippy", "Fix nightly ci", "Address
    /// clippy issues". Selective notes never list it, and lists that do say nothing to users.
    ToolingFix,
    /// A change and its revert, both in the range: nothing shipped.
    Reverted,
    /// Already in the notes of an earlier release (a fix backported and published in a
    /// patch release of a maintenance line): announced once, not again.
    Announced,
}

impl Noise {
    /// "1 typo fix", "4 typo fixes": how many commits of this kind were left out.
    pub fn counted(self, n: usize) -> String {
        let many = match self {
            Noise::Merge => "merges",
            Noise::VersionBump => "version and changelog updates",
            Noise::DependencyBump => "dependency updates",
            Noise::CiOnly => "CI-only changes",
            Noise::TypoOnly => "typo fixes",
            Noise::ProjectDocs => "contributor guide updates",
            Noise::ToolingFix => "build, lint and test tooling fixes",
            Noise::Reverted => "changes and reverts that cancel out",
            Noise::Announced => "changes already in an earlier release's notes",
        };
        format!("{n} {}", if n == 1 { self.describe() } else { many })
    }

    /// The heading notes that list this upkeep give it.
    pub fn heading(self) -> &'static str {
        match self {
            Noise::Merge => "Merges",
            Noise::VersionBump => "Release bookkeeping",
            Noise::DependencyBump => "Dependency updates",
            Noise::CiOnly => "Build and CI",
            Noise::TypoOnly => "Typo fixes",
            Noise::ProjectDocs => "Contributor guides",
            Noise::ToolingFix => "Tooling",
            Noise::Reverted => "Reverted",
            Noise::Announced => "Announced before",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Noise::Merge => "merge",
            Noise::VersionBump => "version or changelog update",
            Noise::DependencyBump => "dependency update",
            Noise::CiOnly => "CI-only change",
            Noise::TypoOnly => "typo fix",
            Noise::ProjectDocs => "contributor guide update",
            Noise::ToolingFix => "build, lint or test tooling fix",
            Noise::Reverted => "change or revert that cancels out",
            Noise::Announced => "change already in an earlier release's notes",
        }
    }
}

/// What release notes list and cite, as the project's maintainers do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseStyle {
    /// Entries cite the pull request a change was merged through.
    pub cites_prs: bool,
    /// Entries cite the issues a change refers to ("fixes #12").
    pub cites_issues: bool,
    /// Kinds of change the notes list; the others are counted in one line, not listed.
    pub lists: Vec<Category>,
    /// Upkeep the notes list under its own heading, as gin's "Dependency updates" and
    /// "Build process updates / CI" do. Never news in posts; by default not listed.
    #[serde(default)]
    pub lists_upkeep: Vec<Noise>,
    /// Which references an entry with both its pull request and the issues it fixes
    /// cites: gitui's notes cite the issue, monolog's the pull request.
    #[serde(default, skip_serializing_if = "WhenBoth::is_both")]
    pub when_both: WhenBoth,
    /// The references the notes' recent releases already cite: a change they all name was
    /// announced in an earlier release (backported to a maintenance line) and is not
    /// announced again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub announced: Vec<u64>,
    /// How many past releases this was learned from (0: the defaults).
    pub learned_from: usize,
}

/// What notes cite for a change merged through a pull request that fixes issues.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenBoth {
    /// Both, as far as the project cites each kind at all.
    #[default]
    Both,
    /// Only the pull request.
    PullRequest,
    /// Only the issues.
    Issues,
}

impl WhenBoth {
    /// The default: what every release before this setting stored.
    pub fn is_both(&self) -> bool {
        *self == WhenBoth::Both
    }
}

impl Default for HouseStyle {
    /// Without past notes: list everything but test work; cite everything known.
    fn default() -> Self {
        Self {
            cites_prs: true,
            cites_issues: true,
            // Test work is never news; everything else may be, until past notes say
            // otherwise (a "chore" by its wording is often a change users notice).
            lists: Category::ALL
                .into_iter()
                .filter(|c| *c != Category::Test)
                .collect(),
            lists_upkeep: Vec::new(),
            when_both: WhenBoth::Both,
            announced: Vec::new(),
            learned_from: 0,
        }
    }
}

impl HouseStyle {
    pub fn lists(&self, c: Category) -> bool {
        self.lists.contains(&c)
    }

    /// Whether the notes list this kind of upkeep under a heading of its own.
    pub fn lists_upkeep(&self, n: Noise) -> bool {
        self.lists_upkeep.contains(&n)
    }
}
