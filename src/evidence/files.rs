//! Hashes of the files a run wrote, so that verification can later tell `as_written`,
//! `modified_since` and `missing` apart.
//!
//! A successful `Write` carries the full content in its tool input: we hash that, which is what
//! the run wrote even if something changed the file before the run ended. `Edit`, `MultiEdit`
//! and `NotebookEdit` events carry only the change, not the resulting content, so for a file
//! whose last successful change was one of those we hash the file right after the run and say
//! so (`source: after_run`) — the best honest statement available.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::WrittenFile;

/// Read buffer: files are hashed streaming, so memory stays bounded whatever their size.
const BUF: usize = 64 * 1024;

/// SHA-256 (hex) of a file's content; `Ok(None)` when it does not exist.
pub fn hash_file(path: &Path) -> std::io::Result<Option<String>> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    // A path named in a record could be a device or a FIFO (`/dev/zero`): never read one.
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut h = Sha256::new();
    let mut buf = vec![0u8; BUF];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(Some(
        h.finalize().iter().map(|b| format!("{b:02x}")).collect(),
    ))
}

/// The written files of a run, without I/O: `written` is the run's `files_written` (in
/// order), `content` maps a path to the SHA-256 of its last successful Write content (`None`
/// when a later Edit-like tool changed it). Relative paths are taken relative to `cwd`. Entries
/// without a content hash get `source: after_run` and are hashed by [`hash_after_run`].
pub fn from_run(
    cwd: &Path,
    written: &[String],
    content: &std::collections::BTreeMap<String, Option<String>>,
) -> Vec<WrittenFile> {
    written
        .iter()
        .map(|p| {
            let path = cwd.join(p).display().to_string();
            match content.get(p).cloned().flatten() {
                Some(sha) => WrittenFile {
                    path,
                    sha256: Some(sha),
                    source: "write_content".into(),
                },
                None => WrittenFile {
                    path,
                    sha256: None,
                    source: "after_run".into(),
                },
            }
        })
        .collect()
}

/// Hashes, from disk, the files whose content the events did not carry (blocking I/O).
pub fn hash_after_run(files: &mut [WrittenFile]) {
    for f in files
        .iter_mut()
        .filter(|f| f.source == "after_run" && f.sha256.is_none())
    {
        f.sha256 = hash_file(Path::new(&f.path)).ok().flatten();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_content_hashes_win_and_edits_are_hashed_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("e.txt"), b"edited").unwrap();
        let mut content = std::collections::BTreeMap::new();
        content.insert("w.txt".to_string(), Some("abc".to_string()));
        content.insert("e.txt".to_string(), None);
        let mut files = from_run(
            dir.path(),
            &["w.txt".into(), "e.txt".into(), "gone.txt".into()],
            &content,
        );
        assert_eq!(files[1].sha256, None, "no I/O before hash_after_run");
        hash_after_run(&mut files);
        assert_eq!(files[0].sha256.as_deref(), Some("abc"));
        assert_eq!(files[0].source, "write_content");
        assert_eq!(
            files[1].sha256.as_deref(),
            Some(crate::types::chain::sha256_hex(b"edited").as_str())
        );
        assert_eq!(files[1].source, "after_run");
        assert_eq!(files[2].sha256, None);
        assert!(
            hash_file(Path::new("/dev/zero")).is_err(),
            "devices are not read"
        );
    }
}
