//! The public changelog: a release card's approved notes, as one entry of the workspace's
//! own page and feeds on this server. Nothing leaves the machine. The entry is written
//! through the publication's [`Progress`](crate::Progress) (the publisher's store) in one
//! statement keyed by the version, so sending again after a crash writes the same entry
//! again and nothing doubles.

use crate::platform::{Opening, Platform, mismatch};
use crate::preview::{Draft, Preview};
use crate::{ChannelConfig, ChannelSecrets, ChannelSettings, Http, Recovery};
use crate::{Failure, Post, Sent};

/// What the changelog keeps for one release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The release's tag as written (`v2.3.0`, `0.0.1`): the entry's address.
    pub version: String,
    pub project: String,
    pub title: String,
    /// The approved release notes (markdown).
    pub body: String,
    /// The release's own page, when there is one.
    pub release_url: Option<String>,
}

/// What keeping an entry came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shelved {
    /// Kept; where it is seen.
    At(String),
    /// The version is another source's entry: why, in words a person can act on.
    Taken(String),
}

/// The most a changelog entry keeps: a release's notes, not a book.
pub const MAX_NOTES: usize = 100_000;

/// Names the changelog's own pages use beside versions.
const RESERVED: [&str; 3] = ["feed.atom", "feed.json", "og.png"];

/// Whether `version` can be an entry's address (`/changelog/{workspace}/{version}`): a tag
/// of letters, digits and `. _ + @ -`, as tags are written, at most 100 long.
pub fn check_version(version: &str) -> Result<(), String> {
    let ok = !version.is_empty()
        && version.len() <= 100
        && !version.starts_with('.')
        && !RESERVED.contains(&version)
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '@' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the changelog cannot show the tag {version:?}: a tag of letters, digits and . _ + @ - (at most 100) is its address"
        ))
    }
}

/// Why the changelog would refuse a card: it takes releases and tags with notes.
pub fn check(release_notes: &str, version: Option<&str>) -> Result<(), String> {
    let Some(version) = version else {
        return Err("the changelog takes releases and tags; this card is not about one".to_owned());
    };
    check_version(version)?;
    if release_notes.trim().is_empty() {
        return Err("the card has no release notes to show".to_owned());
    }
    if release_notes.len() > MAX_NOTES {
        return Err(format!(
            "the release notes are {} characters; the changelog keeps at most {MAX_NOTES}",
            release_notes.len()
        ));
    }
    Ok(())
}

/// Puts the card's notes on the changelog.
pub async fn publish(post: &Post<'_>) -> Result<Sent, Failure> {
    let release = post.release.as_ref();
    check(post.release_notes, release.map(|r| r.version)).map_err(Failure::permanent)?;
    let release = release.expect("checked above");
    let entry = Entry {
        version: release.version.to_owned(),
        project: release.project.to_owned(),
        title: post.title.to_owned(),
        body: post.release_notes.to_owned(),
        release_url: release.url.map(str::to_owned),
    };
    // The store did not take it: nothing was shown, so trying again is safe.
    let shelved = post
        .progress
        .shelve(&entry)
        .await
        .map_err(|e| Failure::retry(format!("the changelog entry was not saved: {e}"), None))?;
    match shelved {
        Shelved::At(url) => Ok(Sent {
            url: Some(url),
            ..Sent::default()
        }),
        Shelved::Taken(why) => Err(Failure::permanent(why)),
    }
}

/// The changelog channel: this server's own public page.
#[derive(Clone)]
pub struct Changelog;

impl Platform for Changelog {
    // The entry is keyed by its version: written again, it is the same entry.
    const RECOVERY: Recovery = Recovery::Replay;
    const REPLAY_NOTE: &'static str = "written again after Covalynce stopped mid-send: the entry is keyed by its version, so there is one";

    fn open(
        config: &ChannelConfig,
        secrets: &ChannelSecrets,
        _: &Opening<'_>,
    ) -> Result<Self, String> {
        match (&config.settings, secrets) {
            (ChannelSettings::Changelog(_), ChannelSecrets::Changelog) => Ok(Changelog),
            _ => Err(mismatch(config, secrets)),
        }
    }

    async fn publish(&self, _: &Http, post: &Post<'_>) -> Result<Sent, Failure> {
        publish(post).await
    }

    // The changelog is this server's own page: there is nothing to reach.
    async fn test(&self, _: &Http, _: &str) -> Result<String, Failure> {
        Ok("the changelog is on this server: approved release cards appear on its public page once an owner turns it on".to_owned())
    }

    /// The notes, not a post.
    fn preview(_: &ChannelSettings, card: &Draft<'_>) -> Result<Preview, String> {
        check(card.release_notes, card.version)?;
        Ok(Preview::release_notes(card))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_as_projects_write_them_are_addresses_and_nothing_else_is() {
        for ok in [
            "v2.3.0",
            "0.0.1",
            "globset-0.4.20",
            "pkg@1.2.0",
            "v1.0.0+build.5",
            "v3.0.0-rc.1",
        ] {
            assert!(check_version(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "../etc",
            "a/b",
            "feed.atom",
            "og.png",
            "v1 beta",
            ".hidden",
            &"1".repeat(101),
        ] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn github_takes_any_tag_it_has_the_changelog_only_those_that_can_be_addresses() {
        assert!(crate::github_release::check("notes", Some("api/v1.2.3")).is_ok());
        assert!(crate::github_release::check("notes", Some("@scope/pkg@1.0.0")).is_ok());
        assert!(crate::github_release::check("notes", None).is_err());
        assert!(crate::github_release::check("  ", Some("v1")).is_err());
        assert!(check("notes", Some("api/v1.2.3")).is_err());
    }

    #[test]
    fn only_releases_with_notes_go_on_the_changelog() {
        assert!(check("## Fixed\n- a crash", Some("v1.0.0")).is_ok());
        assert!(
            check("## Fixed", None)
                .unwrap_err()
                .contains("releases and tags")
        );
        assert!(
            check("  \n", Some("v1.0.0"))
                .unwrap_err()
                .contains("no release notes")
        );
        let long = "a".repeat(MAX_NOTES + 1);
        assert!(
            check(&long, Some("v1.0.0"))
                .unwrap_err()
                .contains("at most")
        );
    }
}
