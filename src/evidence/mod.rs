//! Evidence of what an execution really did, and the checks that read it back.
//!
//! The predecessor's "verification" always said PASS and only proved that the model echoed a
//! UUID. Users' commonest complaint about agents is false completion ("Done!" while nothing was
//! written — the real CLI even ends a run as success when every write was denied), so every
//! execution leaves evidence that can be checked later against what really happened:
//!
//! - [`artifacts`]: a JSON response file (the full record) and a markdown receipt per
//!   execution in `<data_dir>/evidence/`, written atomically, owner-only.
//! - [`chain`]: the hash chain over response files; its links live in the history store.
//! - [`uuid_hook`]: the built-in hook that asks Claude to echo the execution's UUID, and the
//!   check of whether it came back.
//! - [`files`]: hashes of the files a run wrote, as it wrote them.
//! - [`verify`]: `verify_execution` / `cc-executor verify`: every check, a verdict, reasons.

pub mod artifacts;
pub mod files;
pub mod uuid_hook;
pub mod verify;

use std::path::{Path, PathBuf};

pub use crate::types::chain::{self, ChainLink};
pub use crate::types::evidence::{EvidenceDraft, EvidenceRef, UuidEcho, WrittenFile};

/// Errors while writing or reading evidence. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("cannot write evidence file {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot encode the evidence of execution {id}: {message}")]
    Encode { id: String, message: String },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// `<data_dir>/evidence`.
pub fn evidence_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("evidence")
}

/// Where the response file of an execution is.
pub fn response_path(data_dir: &Path, id: uuid::Uuid) -> PathBuf {
    evidence_dir(data_dir).join(format!("{id}.json"))
}

/// Where the receipt of an execution is.
pub fn receipt_path(data_dir: &Path, id: uuid::Uuid) -> PathBuf {
    evidence_dir(data_dir).join(format!("{id}.md"))
}

/// Claude Code's transcript of a session: `<config dir>/projects/<cwd with every character that
/// is not an ASCII letter or digit replaced by '-'>/<session_id>.jsonl`, where the config dir
/// is `CLAUDE_CONFIG_DIR` or `$HOME/.claude` — from the child's environment (`[env]`) first,
/// as that is what the CLI saw.
pub fn transcript_path(
    child_env: &std::collections::BTreeMap<String, String>,
    cwd: &Path,
    session_id: &str,
) -> Option<PathBuf> {
    // A session id is a UUID; anything with a path separator is not one of ours to read.
    if session_id.is_empty() || session_id.contains(['/', '\\']) || session_id.contains("..") {
        return None;
    }
    let var = |k: &str| {
        child_env
            .get(k)
            .cloned()
            .or_else(|| std::env::var(k).ok())
            .filter(|v| !v.is_empty())
    };
    let config_dir = match var("CLAUDE_CONFIG_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(var("HOME")?).join(".claude"),
    };
    let project: String = cwd
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    Some(
        config_dir
            .join("projects")
            .join(project)
            .join(format!("{session_id}.jsonl")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcript_path_follows_the_clis_rule_and_the_childs_env() {
        let mut env = std::collections::BTreeMap::new();
        env.insert("HOME".to_string(), "/h".to_string());
        let p = transcript_path(&env, Path::new("/tmp/.x_y/work"), "abc").unwrap();
        assert_eq!(
            p,
            PathBuf::from("/h/.claude/projects/-tmp--x-y-work/abc.jsonl")
        );
        env.insert("CLAUDE_CONFIG_DIR".to_string(), "/c".to_string());
        let p = transcript_path(&env, Path::new("/w"), "abc").unwrap();
        assert_eq!(p, PathBuf::from("/c/projects/-w/abc.jsonl"));
        assert_eq!(transcript_path(&env, Path::new("/w"), "../x"), None);
    }
}
