//! What the history keeps of an execution ([`ExecutionRecord`]), the row lists show of it
//! ([`ExecutionSummary`]), and which executions a query is about ([`HistoryFilter`]).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::types::result::{ExecutionResult, Status};

/// One execution as the history keeps it: what was asked, where, how it was classified, and
/// the full result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecutionRecord {
    pub execution_id: Uuid,
    pub task: String,
    /// SHA-256 of the task text (hex): finds repeats without comparing texts.
    pub task_hash: String,
    pub cwd: String,
    /// From the planner, when it classified the task.
    pub category: Option<String>,
    pub complexity: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub result: ExecutionResult,
    /// Set when the answer was too big to keep in the history store (over
    /// [`HISTORY_ANSWER_MAX`]): then `result.result` holds only its first
    /// [`HISTORY_ANSWER_HEAD`] bytes, and the whole answer is in the execution's response file
    /// (its evidence), from which readers load it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_elsewhere: Option<AnswerRef>,
}

/// Answers up to this size are kept whole in the history store; bigger ones stay in the
/// response file (a store row, or a Redis value, of hundreds of MB helps nobody).
pub const HISTORY_ANSWER_MAX: usize = 1024 * 1024;
/// How much of a bigger answer the history keeps (its beginning).
pub const HISTORY_ANSWER_HEAD: usize = 64 * 1024;

/// Where a big answer is, and how to recognise it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AnswerRef {
    /// Its length in bytes.
    pub bytes: u64,
    /// SHA-256 (hex) of its UTF-8 bytes.
    pub sha256: String,
}

impl ExecutionRecord {
    /// Moves a big answer out of the record, leaving its head and an [`AnswerRef`]: the form
    /// the history store keeps. `None` when the answer is small (the record is unchanged).
    /// [`ExecutionRecord::restore_answer`] puts it back.
    pub(crate) fn stash_big_answer(&mut self) -> Option<String> {
        if self.result.result.as_ref()?.len() <= HISTORY_ANSWER_MAX {
            return None;
        }
        let answer = self.result.result.take()?;
        let mut end = HISTORY_ANSWER_HEAD.min(answer.len());
        while !answer.is_char_boundary(end) {
            end -= 1;
        }
        self.result.result = Some(answer[..end].to_string());
        self.answer_elsewhere = Some(AnswerRef {
            bytes: answer.len() as u64,
            sha256: crate::types::chain::sha256_hex(answer.as_bytes()),
        });
        Some(answer)
    }

    /// Undoes [`ExecutionRecord::stash_big_answer`]; also takes a whole answer read back from
    /// the response file, when it is the one the reference names.
    pub(crate) fn restore_answer(&mut self, answer: String) -> bool {
        if let Some(r) = &self.answer_elsewhere
            && (r.bytes != answer.len() as u64
                || r.sha256 != crate::types::chain::sha256_hex(answer.as_bytes()))
        {
            return false;
        }
        self.result.result = Some(answer);
        self.answer_elsewhere = None;
        true
    }

    /// Stands in for a record lost to an internal failure (a panicked blocking task).
    pub(crate) fn lost(id: Uuid) -> Self {
        let result = ExecutionResult::empty(
            id,
            Status::Crashed,
            vec!["internal error: the execution record was lost while being written".into()],
        );
        ExecutionRecord::new("", "", None, None, result.started_at, result)
    }

    pub fn new(
        task: &str,
        cwd: &str,
        category: Option<String>,
        complexity: Option<String>,
        submitted_at: DateTime<Utc>,
        result: ExecutionResult,
    ) -> Self {
        ExecutionRecord {
            execution_id: result.execution_id,
            task: task.to_string(),
            task_hash: task_hash(task),
            cwd: cwd.to_string(),
            category,
            complexity,
            submitted_at,
            result,
            answer_elsewhere: None,
        }
    }

    pub fn status(&self) -> Status {
        self.result.status
    }

    /// How its acceptance checks went (`None`: it had none) and its place in a repair loop
    /// (0: a first attempt): what the statistics count.
    pub fn acceptance_outcome(&self) -> (Option<bool>, u32) {
        (
            self.result.acceptance.as_ref().map(|a| a.passed),
            self.result.repair.as_ref().map_or(0, |r| r.repairs),
        )
    }

    /// The time the history is ordered by.
    pub fn finished_at(&self) -> DateTime<Utc> {
        self.result.finished_at
    }

    fn usage_tokens(&self, key: &str) -> Option<u64> {
        self.result.usage.as_ref()?.get(key)?.as_u64()
    }

    /// A compact row for lists and CSV.
    pub fn summary(&self) -> ExecutionSummary {
        let r = &self.result;
        ExecutionSummary {
            execution_id: self.execution_id,
            status: r.status,
            task: crate::types::text::truncate_chars(&self.task, 200),
            cwd: self.cwd.clone(),
            model: r.model.clone(),
            category: self.category.clone(),
            complexity: self.complexity.clone(),
            submitted_at: self.submitted_at,
            finished_at: r.finished_at,
            queue_wait_ms: r.queue_wait_ms,
            duration_ms: r.duration_ms,
            total_cost_usd: r.total_cost_usd,
            input_tokens: self.usage_tokens("input_tokens"),
            output_tokens: self.usage_tokens("output_tokens"),
            num_turns: r.num_turns,
            attempts: r.attempts.len() as u32,
            files_written: r.files_written.len() as u32,
            permission_denials: r.permission_denials.len() as u32,
            exit_code: r.exit_code,
            session_id: r.session_id.clone(),
        }
    }
}

/// SHA-256 of a task text, hex.
fn task_hash(task: &str) -> String {
    crate::types::text::sha256_hex(task.as_bytes())
}

/// One line of history: what lists, the tool and CSV show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecutionSummary {
    pub execution_id: Uuid,
    pub status: Status,
    /// The first 200 characters of the task.
    pub task: String,
    pub cwd: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complexity: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub queue_wait_ms: u64,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_cost_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_turns: Option<u32>,
    pub attempts: u32,
    pub files_written: u32,
    pub permission_denials: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

/// Which executions a query is about. Times compare with `finished_at`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryFilter {
    pub status: Option<Status>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Case-insensitive substring of the task text.
    pub search: Option<String>,
    pub limit: usize,
    pub offset: usize,
}

impl HistoryFilter {
    pub fn matches(&self, r: &ExecutionRecord) -> bool {
        let at = r.finished_at();
        self.status.is_none_or(|s| r.status() == s)
            && self.since.is_none_or(|t| at >= t)
            && self.until.is_none_or(|t| at <= t)
            && self
                .search
                .as_ref()
                .is_none_or(|q| r.task.to_lowercase().contains(&q.to_lowercase()))
    }
}
