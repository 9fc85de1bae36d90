//! Which file is a project's release notes: read by sources (to learn the house style from
//! it) and by understanding (a commit that only edits it is the notes being written).

/// Whether a file's name is the project's release notes, and how much it is preferred
/// (lower first): CHANGELOG, CHANGES, HISTORY, NEWS, RELEASES or RELEASE-NOTES, bare or as
/// `.md`, `.markdown`, `.rst` or `.txt`.
pub fn notes_file_rank(name: &str) -> Option<usize> {
    let lower = name.to_ascii_lowercase();
    let stem = lower
        .strip_suffix(".md")
        .or_else(|| lower.strip_suffix(".markdown"))
        .or_else(|| lower.strip_suffix(".rst"))
        .or_else(|| lower.strip_suffix(".txt"))
        .unwrap_or(&lower);
    [
        "changelog",
        "changes",
        "history",
        "news",
        "releases",
        "release-notes",
    ]
    .iter()
    .position(|s| *s == stem)
}
