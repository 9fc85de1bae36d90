//! The outbox: a local JSON-lines file, the try-it-now channel (CONTRACT.md). One line per
//! publication: `{"card_id", "channel_id", "text", "idempotency_key", "published_at"}`.
//!
//! A workspace member never names a path on the server: an outbox is a *file name*
//! ([`OutboxFile`]), and the server decides the folder (its data dir, one folder per
//! workspace). The name is parsed to one plain path component, so nothing a member sends
//! can climb out of that folder; the file is opened without following a symlink, so
//! nothing planted there can lead elsewhere either.

use crate::platform::{Opening, Platform, mismatch};
use crate::preview::{Draft, Preview};
use crate::{ChannelConfig, ChannelSecrets, ChannelSettings, Http, Recovery};
use crate::{Failure, Post, Sent};
use serde_json::Value;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Why an outbox made before files were confined no longer publishes: it names a path on
/// the server, which only the operator may choose.
pub const LEGACY_PATH: &str = "this outbox names a path on the server, which workspace members may no longer choose: delete it and add an outbox with a file name (e.g. {\"kind\": \"outbox\", \"file\": \"launches.jsonl\"}), which is written to this workspace's folder in the server's data dir";

/// The file an outbox channel writes, when the channel names none.
pub const DEFAULT_FILE: &str = covalynce_domain::channel::OUTBOX_FILE;

/// A file name for an outbox: 1 to 100 characters of ASCII letters, digits, `.`, `_` and
/// `-`, starting with a letter or digit. No separator, no `..`, no hidden file: it can
/// only ever name a file directly inside the folder it is joined to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxFile(String);

impl OutboxFile {
    pub fn parse(name: &str) -> Result<Self, String> {
        let ok = (1..=100).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            && !name.contains("..");
        if ok {
            Ok(Self(name.to_owned()))
        } else {
            Err(format!(
                "file must be a plain file name like \"launches.jsonl\" (letters, digits, '.', '_' and '-', at most 100, no folders); got {name:?}"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file inside `folder`: always a direct child of it.
    pub fn within(&self, folder: &Path) -> PathBuf {
        folder.join(&self.0)
    }
}

/// The line an outbox writes for `post`'s `variant` (also what the review shows).
pub fn line(post: &Post<'_>, variant: &str, published_at: i64) -> serde_json::Value {
    serde_json::json!({
        "card_id": post.card_id,
        "channel_id": post.channel_id,
        "text": post.text_for(variant),
        "idempotency_key": post.idempotency_key,
        "published_at": covalynce_domain::time::format_rfc3339(published_at),
    })
}

/// Writes `post`'s `variant` as one line, unless its key is already there.
pub async fn publish(path: &Path, variant: &str, post: &Post<'_>) -> Result<Sent, Failure> {
    let line = line(post, variant, covalynce_domain::now_millis());
    let file = path.to_path_buf();
    tokio::task::spawn_blocking(move || append_once(&file, &line))
        .await
        .map_err(|e| Failure::retry(format!("the outbox writer stopped: {e}"), None))?
        .map_err(|e| io_failure(path, e))?;
    Ok(Sent {
        // The file's name only: where the data dir is is the operator's business.
        url: Some(format!("outbox:{}", file_name(path))),
        pause_until: None,
        note: None,
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The channel test for an outbox: the file can be opened for appending (nothing is
/// written: every line in the outbox is a publication).
pub async fn check_writable(path: &Path) -> Result<String, Failure> {
    let file: PathBuf = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        open_no_follow(&file, false).map(|_| ())
    })
    .await
    .map_err(|e| Failure::retry(format!("the outbox check stopped: {e}"), None))?
    .map_err(|e| io_failure(path, e))?;
    Ok(format!(
        "the outbox file {} is writable (in the server's data dir)",
        file_name(path)
    ))
}

/// Opens for appending (and reading), creating it, but never through a symlink: the
/// final component must be the file itself (`O_NOFOLLOW`: a link answers ELOOP).
fn open_no_follow(path: &Path, read: bool) -> std::io::Result<std::fs::File> {
    OpenOptions::new()
        .create(true)
        .read(read)
        .append(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

fn io_failure(path: &Path, e: std::io::Error) -> Failure {
    // The file's name only: a member reads this, and the server's paths are not theirs.
    let message = format!("cannot write the outbox file {}: {e}", file_name(path));
    match e.kind() {
        // A person has to fix these; retrying will not.
        std::io::ErrorKind::PermissionDenied
        | std::io::ErrorKind::IsADirectory
        | std::io::ErrorKind::NotADirectory
        | std::io::ErrorKind::ReadOnlyFilesystem => Failure::broken(message),
        // ELOOP: the name is a symlink, which an outbox never follows.
        _ if e.raw_os_error() == Some(libc::ELOOP) => Failure::broken(message),
        _ => Failure::retry(message, None),
    }
}

/// Appends `line` unless a line with the same `idempotency_key` is already there; true when
/// it appended. An exclusive file lock makes the check-and-append atomic across threads,
/// processes and replicas on one machine, and the append is synced before returning, so a
/// publication is in the file exactly once whatever crashed around it.
pub fn append_once(path: &Path, line: &Value) -> std::io::Result<bool> {
    let key = line["idempotency_key"]
        .as_str()
        .ok_or_else(|| std::io::Error::other("the outbox line has no idempotency_key"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = open_no_follow(path, true)?;
    file.lock()?;
    let already = BufReader::new(&file).lines().any(|l| {
        l.ok()
            .and_then(|l| serde_json::from_str::<Value>(&l).ok())
            .is_some_and(|v| v["idempotency_key"] == key)
    });
    if already {
        file.unlock()?;
        return Ok(false);
    }
    let mut text = line.to_string();
    text.push('\n');
    file.write_all(text.as_bytes())?;
    file.sync_data()?;
    file.unlock()?;
    Ok(true)
}

/// An outbox channel, opened: the file it appends to and the text it writes.
#[derive(Clone)]
pub struct Outbox {
    pub(crate) path: PathBuf,
    variant: String,
}

impl Platform for Outbox {
    // The key is checked under a lock before a line is written.
    const RECOVERY: Recovery = Recovery::Replay;
    const REPLAY_NOTE: &'static str = "sent again after Covalynce stopped mid-send; the outbox kept one line (its key was checked)";

    fn open(
        config: &ChannelConfig,
        secrets: &ChannelSecrets,
        at: &Opening<'_>,
    ) -> Result<Self, String> {
        let (ChannelSettings::Outbox(o), ChannelSecrets::Outbox) = (&config.settings, secrets)
        else {
            return Err(mismatch(config, secrets));
        };
        if o.path.is_some() {
            return Err(LEGACY_PATH.to_owned());
        }
        let file = OutboxFile::parse(o.file.as_deref().unwrap_or(DEFAULT_FILE))?;
        Ok(Outbox {
            path: file.within(at.outbox_dir),
            variant: o.variant.clone(),
        })
    }

    async fn publish(&self, _: &Http, post: &Post<'_>) -> Result<Sent, Failure> {
        publish(&self.path, &self.variant, post).await
    }

    async fn test(&self, _: &Http, _: &str) -> Result<String, Failure> {
        check_writable(&self.path).await
    }

    fn preview(settings: &ChannelSettings, card: &Draft<'_>) -> Result<Preview, String> {
        let (variant, text) = crate::preview::text(settings, card)?;
        Ok(Preview::one(variant, text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_publication_is_written_once_however_often_it_is_sent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/outbox.jsonl");
        let line = json!({"card_id": "c", "channel_id": "o", "text": "hi", "idempotency_key": "k1", "published_at": "t"});
        assert!(append_once(&path, &line).unwrap());
        assert!(!append_once(&path, &line).unwrap());
        let other = json!({"card_id": "c2", "channel_id": "o", "text": "yo", "idempotency_key": "k2", "published_at": "t"});
        assert!(append_once(&path, &other).unwrap());
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(append_once(&path, &json!({"text": "no key"})).is_err());
    }

    #[test]
    fn concurrent_writers_of_the_same_publication_write_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.jsonl");
        let handles: Vec<_> = (0..8)
            .map(|n| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for k in 0..20 {
                        let line = json!({"idempotency_key": format!("k{k}"), "text": format!("from {n}")});
                        append_once(&path, &line).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 20);
    }

    #[test]
    fn a_symlink_planted_where_the_outbox_file_goes_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside.txt");
        std::fs::write(&outside, "untouched\n").unwrap();
        let folder = dir.path().join("outbox/ws1");
        std::fs::create_dir_all(&folder).unwrap();
        let file = OutboxFile::parse("launches.jsonl").unwrap();
        std::os::unix::fs::symlink(&outside, file.within(&folder)).unwrap();
        let line = json!({"idempotency_key": "k", "text": "$(touch /tmp/PWNED)"});
        let err = append_once(&file.within(&folder), &line).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ELOOP));
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "untouched\n");
        assert!(matches!(
            io_failure(&file.within(&folder), err),
            Failure::Permanent {
                channel_broken: true,
                ..
            }
        ));
    }

    mod confinement {
        use super::super::OutboxFile;
        use proptest::prelude::*;
        use std::path::{Component, Path};

        /// Pieces attackers reach for: parents, separators, absolute roots, dots, NUL,
        /// unicode look-alikes of `/` and `.`, and ordinary names.
        fn piece() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("..".to_owned()),
                Just("/".to_owned()),
                Just(".".to_owned()),
                Just("/etc/passwd".to_owned()),
                Just("~".to_owned()),
                Just("\0".to_owned()),
                Just("\u{2215}".to_owned()),
                Just("\u{ff0e}\u{ff0e}".to_owned()),
                Just("\\".to_owned()),
                "[a-zA-Z0-9._-]{1,12}",
                "\\PC{1,6}",
            ]
        }

        proptest! {
            #[test]
            fn no_name_a_member_sends_escapes_the_workspace_folder(
                pieces in proptest::collection::vec(piece(), 1..6)
            ) {
                let name: String = pieces.concat();
                let folder = Path::new("/srv/data/outbox/ws1");
                if let Ok(file) = OutboxFile::parse(&name) {
                    let path = file.within(folder);
                    // Exactly one more component, a plain name, directly inside the folder.
                    prop_assert_eq!(path.parent(), Some(folder));
                    let last: Vec<_> = path.strip_prefix(folder).unwrap().components().collect();
                    prop_assert_eq!(last.len(), 1);
                    prop_assert!(matches!(last[0], Component::Normal(_)));
                    prop_assert!(!name.starts_with('.') && !name.contains(".."));
                }
            }
        }
    }
}
