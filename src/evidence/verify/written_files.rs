//! The `files` check: every file the run wrote must still exist. A file changed since is
//! reported (`modified_since`) but does not fail the check: later steps legitimately edit
//! files.

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::checks::{CheckState, Checks};
use crate::types::result::ExecutionResult;

/// What became of a file the run wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// Its content is what the run wrote.
    AsWritten,
    /// It exists but its content changed since the run.
    ModifiedSince,
    /// It does not exist.
    Missing,
    /// It could not be read.
    Unreadable,
}

/// One written file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FileCheck {
    pub path: String,
    pub state: FileState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256_written: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256_now: Option<String>,
    /// `write_content` or `after_run` (see the result's `written_files`).
    pub source: String,
}

/// Adds the `files` check of `r` and returns what became of each file it wrote.
pub(super) async fn check(c: &mut Checks, r: &ExecutionResult) -> Vec<FileCheck> {
    let written = r.written_files.clone();
    let checked = tokio::task::spawn_blocking(move || {
        written
            .iter()
            .map(|w| {
                let now = crate::evidence::files::hash_file(Path::new(&w.path));
                let (state, sha256_now) = match now {
                    Ok(None) => (FileState::Missing, None),
                    Err(_) => (FileState::Unreadable, None),
                    Ok(Some(h)) if Some(&h) == w.sha256.as_ref() => (FileState::AsWritten, Some(h)),
                    Ok(Some(h)) => (FileState::ModifiedSince, Some(h)),
                };
                FileCheck {
                    path: w.path.clone(),
                    state,
                    sha256_written: w.sha256.clone(),
                    sha256_now,
                    source: w.source.clone(),
                }
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    if r.files_written.is_empty() {
        c.add("files", CheckState::Pass, "the run wrote no files");
    } else if checked.len() < r.files_written.len() {
        c.add(
            "files",
            CheckState::Fail,
            "the run lists written files but no content hashes were recorded for them",
        );
    } else {
        let bad: Vec<String> = checked
            .iter()
            .filter(|f| matches!(f.state, FileState::Missing | FileState::Unreadable))
            .map(|f| format!("{} is {}", f.path, file_state(f.state)))
            .collect();
        let modified: Vec<&str> = checked
            .iter()
            .filter(|f| f.state == FileState::ModifiedSince)
            .map(|f| f.path.as_str())
            .collect();
        let note = if modified.is_empty() {
            String::new()
        } else {
            format!("; changed since the run: {}", modified.join(", "))
        };
        if bad.is_empty() {
            c.add(
                "files",
                CheckState::Pass,
                format!("{} file(s) exist{note}", checked.len()),
            );
        } else {
            c.add(
                "files",
                CheckState::Fail,
                format!("{}{note}", bad.join("; ")),
            );
        }
    }
    checked
}

/// A file's state as the report spells it.
pub(super) fn file_state(s: FileState) -> &'static str {
    match s {
        FileState::AsWritten => "as_written",
        FileState::ModifiedSince => "modified_since",
        FileState::Missing => "missing",
        FileState::Unreadable => "unreadable",
    }
}
