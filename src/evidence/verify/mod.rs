//! `verify_execution` / `cc-executor verify`: checks an execution against its evidence and
//! against what really happened, each check reported on its own, and a verdict that reflects
//! every check — never a default PASS.
//!
//! Checks, per execution:
//!
//! | check | passes when | on failure |
//! |---|---|---|
//! | `record` | the history store has the record | tampered |
//! | `response_file` | the response file exists, belongs to this execution, and its SHA-256 is the one its chain link (and the record) names | tampered |
//! | `chain` | the link recomputes, follows its predecessor and is followed by its successor, and equals the record's copy | tampered |
//! | `record_matches_response` | the store record says what the response file says | tampered |
//! | `status` | the execution succeeded | unverified |
//! | `uuid_echo` | the answer contains the execution's UUID (re-checked from the answer text) | unverified (skipped when the hook was off) |
//! | `transcript` | Claude Code's own transcript of the session exists and contains the final answer | unverified |
//! | `permission_denials` | no tool use was denied | unverified |
//! | `files` | every file the run wrote still exists | unverified; a file changed since is reported (`modified_since`) but does not fail the check: later steps legitimately edit files |
//!
//! Verdict: `tampered` when any hash or chain check fails, else `unverified` when any other
//! check fails, else `verified`.
//!
//! Layout: [`verify`] picks the executions (`targets.rs`); `one.rs` reads what is on record
//! about each once and runs the checks in the order of the table, one file per check
//! (`record.rs`, `response_file.rs`, `chain_link.rs`, `record_matches.rs`, `outcome.rs` for
//! status, UUID echo and denials, `transcript.rs`, `written_files.rs`); `verdict.rs` judges;
//! `markdown.rs` writes the report for people.

mod chain_link;
mod checks;
mod markdown;
mod one;
mod outcome;
mod record;
mod record_matches;
mod response_file;
mod targets;
mod transcript;
mod verdict;
mod written_files;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use checks::{Check, CheckState};
pub use markdown::to_markdown;
pub use one::verify_one;
pub use targets::verify;
pub use verdict::{Verdict, VerdictCounts};
pub use written_files::{FileCheck, FileState};

use crate::store::StoreError;
use crate::types::result::Status;

/// `last_n` above this is capped (and the report says so).
pub const MAX_LAST_N: usize = 100;

/// Errors that stop a verification before it starts.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(
        "unknown execution id {0}: no history record, no response file and no chain link has it, and it is no task-list run"
    )]
    Unknown(Uuid),
    #[error("last_n must be at least 1 (it is capped at {MAX_LAST_N})")]
    ZeroLast,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The verification of one execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecutionVerification {
    pub execution_id: Uuid,
    pub verdict: Verdict,
    /// What a person should look at: the detail of every failed check.
    pub reasons: Vec<String>,
    pub checks: Vec<Check>,
    pub files: Vec<FileCheck>,
    /// The execution's status, as recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// The first 200 characters of the task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_file: Option<String>,
}

/// What `verify_execution` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerifyReport {
    /// The worst verdict of all executions checked (`verified` only when all are).
    pub verdict: Verdict,
    pub counts: VerdictCounts,
    pub executions: Vec<ExecutionVerification>,
    /// Things about the request itself (e.g. `last_n` was capped).
    pub notes: Vec<String>,
    /// The same as a markdown report, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
}

/// Which executions to verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// One execution — or, given a task-list run id, every execution of its tasks.
    One(Uuid),
    /// The newest N in the history (capped at [`MAX_LAST_N`]), plus any response file in the
    /// evidence directory that has no chain link (fabricated or inserted).
    Last(usize),
}
