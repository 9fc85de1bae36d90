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

#[cfg(test)]
mod tests {
    use super::package_tag;

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
