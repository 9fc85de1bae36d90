//! Which local paths a workspace may read: only what the server's operator allowed it.
//!
//! A workspace member may name a repository on the server, but the name is resolved first
//! (symlinks and `..`, by the filesystem) and must then lie at or below one of the
//! workspace's allowed roots. The refusal reads the same whether or not the path exists,
//! so it tells a member nothing about the server's disk.

use std::path::{Path, PathBuf};

/// The one answer for any path outside what the operator allowed (missing or not).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0} is not a path the server's operator allowed this workspace to use (an operator allows one with `covalynce paths allow --workspace SLUG PATH`)"
)]
pub struct NotAllowed(pub String);

/// `requested`, resolved, if it lies at or below one of `allowed` (themselves resolved
/// again now: a root whose link was repointed since it was allowed is followed to where it
/// points today, and a root that is gone allows nothing).
pub fn confine(requested: &str, allowed: &[impl AsRef<Path>]) -> Result<PathBuf, NotAllowed> {
    let refuse = || NotAllowed(requested.to_owned());
    let path = Path::new(requested);
    // Relative paths would resolve against the server's working directory.
    if !path.is_absolute() || requested.contains('\0') {
        return Err(refuse());
    }
    let resolved = path.canonicalize().map_err(|_| refuse())?;
    allowed
        .iter()
        .filter_map(|root| root.as_ref().canonicalize().ok())
        .any(|root| resolved.starts_with(&root))
        .then_some(resolved)
        .ok_or_else(refuse)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// root/allowed/{repo/.git, sub/}, root/outside/secret/, and inside the allowed root
    /// links that lead out: `allowed/out -> ../outside`, `allowed/abs -> /`.
    fn tree() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let allowed = root.join("allowed");
        let outside = root.join("outside");
        std::fs::create_dir_all(allowed.join("repo/.git")).unwrap();
        std::fs::create_dir_all(allowed.join("sub")).unwrap();
        std::fs::create_dir_all(outside.join("secret")).unwrap();
        std::fs::create_dir_all(root.join("allowed-not")).unwrap();
        std::os::unix::fs::symlink("../outside", allowed.join("out")).unwrap();
        std::os::unix::fs::symlink("/", allowed.join("abs")).unwrap();
        std::os::unix::fs::symlink(allowed.join("repo"), outside.join("in")).unwrap();
        (dir, allowed, outside)
    }

    #[test]
    fn only_what_the_operator_allowed_is_readable_and_refusals_do_not_tell_what_exists() {
        let (_dir, allowed, outside) = tree();
        let roots = [allowed.clone()];
        let s = |p: &Path| p.display().to_string();
        assert_eq!(
            confine(&s(&allowed.join("repo")), &roots).unwrap(),
            allowed.join("repo")
        );
        assert_eq!(
            confine(&s(&allowed.join("sub/../repo")), &roots).unwrap(),
            allowed.join("repo")
        );
        // A link from outside into the allowed root is fine: what counts is where it leads.
        assert_eq!(
            confine(&s(&outside.join("in")), &roots).unwrap(),
            allowed.join("repo")
        );
        let existing = confine(&s(&outside.join("secret")), &roots).unwrap_err();
        let missing = confine(&s(&outside.join("nothing-here")), &roots).unwrap_err();
        assert_eq!(
            existing.to_string().replace("secret", "X"),
            missing.to_string().replace("nothing-here", "X")
        );
        for escape in [
            "out/secret",
            "abs/etc",
            "repo/../../outside",
            "../allowed-not",
        ] {
            assert!(
                confine(&s(&allowed.join(escape)), &roots).is_err(),
                "{escape}"
            );
        }
        assert!(confine("relative/repo", &roots).is_err());
        assert!(confine(&s(&allowed.join("repo")), &[] as &[PathBuf]).is_err());
    }

    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("..".to_owned()),
            Just(".".to_owned()),
            Just("".to_owned()),
            Just("out".to_owned()),
            Just("abs".to_owned()),
            Just("repo".to_owned()),
            Just("sub".to_owned()),
            Just("secret".to_owned()),
            Just("allowed".to_owned()),
            Just("outside".to_owned()),
            Just("in".to_owned()),
            Just("\u{2215}".to_owned()),
            Just("r\u{e9}po".to_owned()),
            "\\PC{1,4}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn no_mix_of_dots_links_unicode_and_roots_escapes_the_allowed_root(
            start in 0..4usize,
            pieces in proptest::collection::vec(piece(), 0..8),
        ) {
            let (_dir, allowed, outside) = tree();
            let base = [allowed.clone(), outside.clone(), PathBuf::from("/"), PathBuf::from("")][start].clone();
            let requested = format!("{}/{}", base.display(), pieces.join("/"));
            match confine(&requested, std::slice::from_ref(&allowed)) {
                Ok(p) => {
                    prop_assert!(p.starts_with(&allowed), "{} escaped to {}", requested, p.display());
                    prop_assert_eq!(Some(p), Path::new(&requested).canonicalize().ok());
                }
                Err(e) => {
                    // Refused: it really lies outside (or does not exist), and the answer
                    // names only what was asked.
                    let real = Path::new(&requested).canonicalize().ok();
                    prop_assert!(!Path::new(&requested).is_absolute() || real.is_none_or(|r| !r.starts_with(&allowed)));
                    prop_assert_eq!(e, NotAllowed(requested.clone()));
                }
            }
        }
    }
}
