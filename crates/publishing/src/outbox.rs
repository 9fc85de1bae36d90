//! The outbox: a local JSON-lines file, the try-it-now channel (CONTRACT.md). One line per
//! publication: `{"card_id", "channel_id", "text", "idempotency_key", "published_at"}`.

use crate::{Failure, Post, Sent};
use serde_json::Value;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// Writes `post`'s `variant` as one line, unless its key is already there.
pub async fn publish(path: &Path, variant: &str, post: &Post<'_>) -> Result<Sent, Failure> {
    let line = serde_json::json!({
        "card_id": post.card_id,
        "channel_id": post.channel_id,
        "text": post.text_for(variant),
        "idempotency_key": post.idempotency_key,
        "published_at": covalynce_domain::time::format_rfc3339(covalynce_domain::now_millis()),
    });
    let file = path.to_path_buf();
    tokio::task::spawn_blocking(move || append_once(&file, &line))
        .await
        .map_err(|e| Failure::retry(format!("the outbox writer stopped: {e}"), None))?
        .map_err(|e| io_failure(path, e))?;
    Ok(Sent {
        url: Some(format!("file://{}", path.display())),
        pause_until: None,
        note: None,
    })
}

/// The channel test for an outbox: the file can be opened for appending (nothing is
/// written: every line in the outbox is a publication).
pub async fn check_writable(path: &Path) -> Result<String, Failure> {
    let file: PathBuf = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&file)
            .map(|_| ())
    })
    .await
    .map_err(|e| Failure::retry(format!("the outbox check stopped: {e}"), None))?
    .map_err(|e| io_failure(path, e))?;
    Ok(format!("{} is writable", path.display()))
}

fn io_failure(path: &Path, e: std::io::Error) -> Failure {
    let message = format!("cannot write {}: {e}", path.display());
    match e.kind() {
        // A person has to fix these; retrying will not.
        std::io::ErrorKind::PermissionDenied
        | std::io::ErrorKind::IsADirectory
        | std::io::ErrorKind::NotADirectory
        | std::io::ErrorKind::ReadOnlyFilesystem => Failure::broken(message),
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
    let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)?;
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
}
