//! The response file and the receipt of an execution.
//!
//! Both are written atomically — a temp file in the same directory (created `0600`, exclusive),
//! fsync, rename, fsync of the directory (the receipt skips the two fsyncs: it summarises the
//! response file for people and can be regenerated) — so a crash leaves either the old state
//! or the whole file, never half of one; names come from the execution id, so two executions finishing in
//! the same second (or in two processes) can never overwrite each other.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{EvidenceDraft, EvidenceError};
use crate::store::ExecutionRecord;
use crate::types::text::truncate_chars;

/// Response files larger than this are not read back: a response file holds one result, far
/// smaller; a larger file was put there by someone else, and reading it would only cost memory.
const MAX_RESPONSE_BYTES: u64 = 1024 * 1024 * 1024;

/// Format tag of response files.
pub const RESPONSE_FORMAT: &str = "cc-executor-response/1";

/// The response file: the whole record (task, cwd, timings, full result) plus the UUID.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResponseDocument {
    pub format: String,
    /// The UUID the UUID hook asked Claude to echo (the execution id).
    pub execution_uuid: Uuid,
    pub record: ExecutionRecord,
}

/// [`ResponseDocument`] as written: the record borrowed, not copied.
#[derive(Serialize)]
struct ResponseDocumentRef<'a> {
    format: String,
    execution_uuid: Uuid,
    record: &'a ExecutionRecord,
}

/// Creates `dir` (and parents) owner-only.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let meta = std::fs::metadata(dir)?;
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically with mode 0600 and durably (see the module
/// documentation): when it returns, the file is on disk under its name.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_replacing(path, bytes, true)
}

/// Writes `bytes` to `path` atomically (readers see the old file or the whole new one) with
/// mode 0600; with `durable`, also fsyncs the file and its directory. The fsyncs are most of
/// the cost of evidence (each is a disk flush), so only what the chain depends on pays them.
pub fn write_replacing(path: &Path, bytes: &[u8], durable: bool) -> std::io::Result<()> {
    write_replacing_with(path, durable, |f| f.write_all(bytes))
}

/// [`write_replacing`] with the content produced by `fill` straight into the file (buffered):
/// a big record is serialized to disk without being built in memory first.
pub fn write_replacing_with(
    path: &Path,
    durable: bool,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("the path has no parent directory"))?;
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("the path has no file name"))?
        .to_string_lossy();
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{:016x}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let written = (|| {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        let mut w = std::io::BufWriter::with_capacity(256 * 1024, f);
        fill(&mut w)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        if durable {
            f.sync_all()?;
        }
        drop(f);
        std::fs::rename(&tmp, path)?;
        if durable {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Writes the response file (atomically, flushed) and returns the evidence still missing its
/// chain link. `record.result.evidence` must be empty: the response file cannot hold its own
/// hash. Blocking file I/O runs off the runtime.
pub async fn write_response(
    data_dir: &Path,
    record: ExecutionRecord,
) -> (ExecutionRecord, Result<EvidenceDraft, EvidenceError>) {
    let id = record.execution_id;
    let path = super::response_path(data_dir, id);
    let target = path.clone();
    // The record moves to the blocking thread and back: serialized straight into the file,
    // hashed on the way, never copied (its answer may be hundreds of MB).
    let joined = tokio::task::spawn_blocking(move || {
        let mut sha = None;
        let written = (|| {
            if let Some(dir) = target.parent() {
                create_private_dir(dir)?;
            }
            write_atomic_with(&target, |w| {
                let mut hashing = HashingWriter::new(w);
                let doc = ResponseDocumentRef {
                    format: RESPONSE_FORMAT.into(),
                    execution_uuid: id,
                    record: &record,
                };
                serde_json::to_writer_pretty(&mut hashing, &doc).map_err(std::io::Error::from)?;
                hashing.write_all(b"\n")?;
                sha = Some(hashing.finish());
                Ok(())
            })
        })();
        (record, written.map(|()| sha.unwrap_or_default()))
    })
    .await;
    let (record, written) = match joined {
        Ok(r) => r,
        Err(e) => {
            // The blocking task panicked: the record is gone with it (never in practice).
            return (
                ExecutionRecord::lost(id),
                Err(EvidenceError::Write {
                    path,
                    source: std::io::Error::other(e.to_string()),
                }),
            );
        }
    };
    let result = written
        .map(|sha| EvidenceDraft {
            response_file: path.display().to_string(),
            response_sha256: sha,
            receipt_file: Some(super::receipt_path(data_dir, id).display().to_string()),
        })
        .map_err(|source| EvidenceError::Write { path, source });
    (record, result)
}

/// Writes everything through to `inner` and hashes it (SHA-256) on the way.
struct HashingWriter<'a> {
    inner: &'a mut dyn Write,
    hasher: sha2::Sha256,
}

impl<'a> HashingWriter<'a> {
    fn new(inner: &'a mut dyn Write) -> Self {
        use sha2::Digest;
        HashingWriter {
            inner,
            hasher: sha2::Sha256::new(),
        }
    }

    fn finish(self) -> String {
        use sha2::Digest;
        let digest = self.hasher.finalize();
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl Write for HashingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// [`write_atomic`] with the content produced by `fill`.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    write_replacing_with(path, true, fill)
}

/// Writes the markdown receipt of a recorded execution (its evidence linked). Not flushed:
/// the receipt is a summary of the response file for people and can be regenerated from it;
/// what verification relies on (the response file and the link) is durable already.
pub async fn write_receipt(data_dir: &Path, record: &ExecutionRecord) -> std::io::Result<()> {
    let Some(evidence) = &record.result.evidence else {
        return Ok(());
    };
    let path = super::receipt_path(data_dir, record.execution_id);
    let text = receipt_text(
        record,
        Path::new(&evidence.response_file),
        &evidence.response_sha256,
        &evidence.chain,
        data_dir,
    );
    blocking(move || write_replacing(&path, text.as_bytes(), false)).await
}

async fn blocking(f: impl FnOnce() -> std::io::Result<()> + Send + 'static) -> std::io::Result<()> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?
}

/// The markdown receipt: what a person reads first.
fn receipt_text(
    record: &ExecutionRecord,
    response: &Path,
    sha: &str,
    chain: &super::ChainLink,
    data_dir: &Path,
) -> String {
    let r = &record.result;
    let one_line = record.task.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut s = format!("# cc-executor receipt {}\n\n", record.execution_id);
    s.push_str(&format!("- **Task:** {}\n", truncate_chars(&one_line, 300)));
    s.push_str(&format!("- **Status:** `{}`\n", r.status));
    s.push_str(&format!(
        "- **Duration:** {:.1} s (queued {:.1} s), finished {}\n",
        r.duration_ms as f64 / 1000.0,
        r.queue_wait_ms as f64 / 1000.0,
        r.finished_at.format("%Y-%m-%d %H:%M:%S UTC")
    ));
    s.push_str(&format!(
        "- **Cost:** {}\n",
        r.total_cost_usd
            .map_or("unknown".to_string(), |c| format!("${c:.4}"))
    ));
    if let Some(session) = &r.session_id {
        s.push_str(&format!("- **Claude Code session:** `{session}`\n"));
    }
    match &r.uuid_echo {
        Some(u) => s.push_str(&format!(
            "- **UUID echo:** {}\n",
            if u.echoed { "echoed" } else { "NOT echoed" }
        )),
        None => s.push_str("- **UUID echo:** not requested\n"),
    }
    if r.permission_denials.is_empty() {
        s.push_str("- **Permission denials:** none\n");
    } else {
        let tools: Vec<&str> = r
            .permission_denials
            .iter()
            .map(|d| d.tool_name.as_str())
            .collect();
        s.push_str(&format!(
            "- **Permission denials:** {} ({})\n",
            tools.len(),
            tools.join(", ")
        ));
    }
    if r.written_files.is_empty() {
        s.push_str("- **Files written:** none\n");
    } else {
        s.push_str("- **Files written:**\n");
        for f in &r.written_files {
            s.push_str(&format!(
                "  - `{}` (sha256 {})\n",
                f.path,
                f.sha256.as_deref().unwrap_or("— gone right after the run")
            ));
        }
    }
    s.push_str(&format!(
        "\n## Evidence\n\n- Response file: `{}`\n- Its SHA-256: `{sha}`\n- Chain link #{}: `{}` (previous `{}`)\n",
        response.display(),
        chain.seq,
        chain.hash,
        chain.prev_hash
    ));
    if let Some(raw) = &r.raw_output_path {
        s.push_str(&format!("- Raw output: `{raw}`\n"));
    }
    if let Some(t) = &r.transcript_path {
        s.push_str(&format!("- Claude Code transcript: `{t}`\n"));
    }
    s.push_str(&format!(
        "\n## Verify\n\n```sh\ncc-executor --data-dir {} verify {}\n```\n",
        shell_word(&data_dir.display().to_string()),
        record.execution_id
    ));
    s
}

/// Quotes a path for the copy-paste command in the receipt (display only; nothing runs it).
fn shell_word(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Reads and parses a response file; `Ok(None)` when it does not exist.
pub fn read_response(path: &Path) -> std::io::Result<Option<(Vec<u8>, ResponseDocument)>> {
    use std::io::Read;
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > MAX_RESPONSE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_RESPONSE_BYTES} bytes; a response file is never that large"
        )));
    }
    let mut bytes = Vec::new();
    f.take(MAX_RESPONSE_BYTES + 1).read_to_end(&mut bytes)?;
    let doc = serde_json::from_slice(&bytes)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    Ok(Some((bytes, doc)))
}

/// The answer an execution's response file holds (read as a stream: it may be hundreds of MB,
/// and only the answer is kept).
pub fn read_answer(path: &Path) -> std::io::Result<Option<String>> {
    let f = std::fs::File::open(path)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let doc: ResponseDocument = serde_json::from_reader(std::io::BufReader::new(f))
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    Ok(doc.record.result.result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn atomic_writes_are_owner_only_and_leave_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("evidence");
        create_private_dir(&sub).unwrap();
        let p = sub.join("a.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&p), 0o600);
        assert_eq!(mode(&sub), 0o700);
        let names: Vec<_> = std::fs::read_dir(&sub).unwrap().collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("/a/b-c"), "/a/b-c");
        assert_eq!(shell_word("/a b/it's"), r"'/a b/it'\''s'");
    }
}
