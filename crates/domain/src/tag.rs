//! Tag names: a project's own release (`v1.2.3`, `1.2.3`) or, in a monorepo, one package's
//! (`globset-0.4.20`, `@scope/pkg@1.2.3`, `pkg/v1.2.3`).

/// The package and version of a per-package tag: `globset-0.4.20` → `("globset",
/// "0.4.20")`, `@tailwindcss/oxide@4.3.3` → `("@tailwindcss/oxide", "4.3.3")`,
/// `tools/v0.2.0` → `("tools", "0.2.0")`. `None` for a plain version tag (`v1.2.3`) or a
/// name with no version.
pub fn package_tag(tag: &str) -> Option<(&str, &str)> {
    let at = tag.rfind(['-', '@', '/', '_'])?;
    let (package, version) = (&tag[..at], &tag[at + 1..]);
    let version = version.strip_prefix('v').unwrap_or(version);
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let numeric = core.split('.').count() >= 2
        && core
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let named = package
        .trim_start_matches('@')
        .chars()
        .next()
        .is_some_and(char::is_alphabetic)
        && !package.eq_ignore_ascii_case("v")
        && !package.eq_ignore_ascii_case("release");
    (numeric && named).then_some((package, version))
}

/// Whether a tag names a pre-release: a dotted version followed by `-` and a pre-release
/// word (`v0.28.1-rc.1`, `4.0.0-beta5`, `pkg@2.0.0-next.3`, `1.0.0-alpha`). `v1.2.3`,
/// `globset-0.4.20`, `ed25519-dalek-2.0.0`, `v17.5.1-ee` and `v1.2.3-hotfix` are releases.
/// Python's (PEP 440) are written without the `-`: `5.0rc1`, `v2.0.0b1`, `1.0a2`, `2.1.dev3`.
pub fn is_prerelease(tag: &str) -> bool {
    pep440_prerelease(tag) || semver_prerelease(tag)
}

/// `5.0rc1`, `v2.0.0b1`, `1.0a2`, `2.1.dev3`: a dotted version, then a pre-release letter or
/// word and its number, to the end of the tag.
fn pep440_prerelease(tag: &str) -> bool {
    let version = tag.trim_start_matches(['v', 'V']);
    let digits_end = version
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(version.len());
    let (core, rest) = version.split_at(digits_end);
    let rest = rest.strip_prefix('.').unwrap_or(rest);
    core.contains('.')
        && core.starts_with(|c: char| c.is_ascii_digit())
        && ["rc", "a", "b", "alpha", "beta", "dev", "pre"]
            .iter()
            .any(|w| {
                rest.strip_prefix(w)
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            })
}

fn semver_prerelease(tag: &str) -> bool {
    const WORDS: [&str; 12] = [
        "rc",
        "alpha",
        "beta",
        "pre",
        "preview",
        "dev",
        "next",
        "canary",
        "nightly",
        "snapshot",
        "insiders",
        "experimental",
    ];
    let tag = tag.split('+').next().unwrap_or_default();
    tag.match_indices('-').any(|(at, _)| {
        let version = tag[..at]
            .rsplit(|c: char| !(c.is_ascii_digit() || c == '.'))
            .next()
            .unwrap_or_default();
        let pre = tag[at + 1..].to_ascii_lowercase();
        version.contains('.')
            && version.starts_with(|c: char| c.is_ascii_digit())
            && WORDS.iter().any(|w| {
                pre.strip_prefix(w)
                    .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_alphabetic()))
            })
    })
}

/// Whether a monorepo package is the project itself: `ripgrep` in BurntSushi/ripgrep,
/// `vue` in vuejs/core named "Vue"; `@tailwindcss/cli` is not `tailwindcss`.
pub fn is_main_product(package: &str, repo: &str, project: &str) -> bool {
    let key = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let name = key(package.rsplit('/').next().unwrap_or(package));
    name == key(repo.rsplit('/').next().unwrap_or(repo)) || name == key(project)
}

/// What a tag releases, as (name, version): a package's tag is that package's release
/// ("globset", "0.4.20") unless the package is the project itself (then the project's
/// name and the package's version); any other tag is the project's, named by the tag.
pub fn released_as(tag: &str, repo: &str, project: &str) -> (String, String) {
    match package_tag(tag) {
        Some((package, version)) if !is_main_product(package, repo, project) => {
            (package.to_owned(), version.to_owned())
        }
        Some((_, version)) => (project.to_owned(), version.to_owned()),
        None => (project.to_owned(), tag.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::{is_prerelease, package_tag, released_as};

    #[test]
    fn release_candidates_and_betas_are_pre_releases() {
        for tag in [
            "v0.28.1-rc.1",
            "4.0.0-beta5",
            "v2.0.0-alpha",
            "pkg@2.0.0-next.3",
            "5.0rc1",
            "v2.0.0b1",
            "1.0a2",
            "2.1.dev3",
        ] {
            assert!(is_prerelease(tag), "{tag}");
        }
        for tag in [
            "v1.2.3",
            "3.10.0",
            "globset-0.4.20",
            "v1.0.0+build.5",
            "rm",
            "release-2024",
            "ed25519-dalek-2.0.0",
            "v17.5.1-ee",
            "v1.2.3-hotfix",
            "v1.2.3-1",
            "1.0b",
            "v2.0.0.1",
        ] {
            assert!(!is_prerelease(tag), "{tag}");
        }
    }

    #[test]
    fn a_package_tag_releases_its_package_unless_it_is_the_project() {
        let r = |tag: &str| released_as(tag, "BurntSushi/ripgrep", "ripgrep");
        assert_eq!(r("globset-0.4.20"), ("globset".into(), "0.4.20".into()));
        assert_eq!(r("ripgrep-14.1.0"), ("ripgrep".into(), "14.1.0".into()));
        assert_eq!(r("14.1.1"), ("ripgrep".into(), "14.1.1".into()));
        assert_eq!(
            released_as("vue@3.5.0", "vuejs/core", "Vue"),
            ("Vue".into(), "3.5.0".into())
        );
    }

    #[test]
    fn per_package_tags_name_their_package_and_plain_versions_do_not() {
        assert_eq!(package_tag("globset-0.4.20"), Some(("globset", "0.4.20")));
        assert_eq!(package_tag("ignore-0.4.33"), Some(("ignore", "0.4.33")));
        assert_eq!(
            package_tag("@tailwindcss/oxide@4.3.3"),
            Some(("@tailwindcss/oxide", "4.3.3"))
        );
        assert_eq!(package_tag("tools/v0.2.0"), Some(("tools", "0.2.0")));
        assert_eq!(package_tag("grep-cli-v0.1.9"), Some(("grep-cli", "0.1.9")));
        for plain in [
            "v1.2.3",
            "1.2.3",
            "v4.0.0-beta5",
            "release-1.2.3",
            "nightly",
            "v1",
        ] {
            assert_eq!(package_tag(plain), None, "{plain}");
        }
    }
}
