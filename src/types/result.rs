//! The structured result: one JSON shape for the MCP tool, `run --json` and the library.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::types::accept::{Acceptance, RepairLink};
use crate::types::evidence::{EvidenceRef, UuidEcho, WrittenFile};

/// A tool use that Claude Code's permission mode refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PermissionDenial {
    pub tool_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
    /// What the tool was asked to do, when the CLI reported it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_input: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// How an execution ended. Exactly one; each is documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The CLI reported success and nothing contradicts it.
    Succeeded,
    /// The CLI reported success but some tool uses were denied: the work may not be done.
    Unverified,
    /// HTTP 429 or a subscription usage limit (`resets_at` when known).
    RateLimited,
    /// HTTP 529: the API is overloaded.
    Overloaded,
    /// HTTP 401/403 or "Not logged in".
    AuthFailed,
    /// `--max-turns` was reached.
    MaxTurns,
    /// `--max-budget-usd` was reached.
    BudgetExceeded,
    /// Any other error the CLI reported.
    ApiError,
    /// Our deadline passed; the process tree was killed.
    TimedOut,
    /// No output and no CPU use by the whole process tree for `stall_timeout_secs`: hung
    /// (e.g. on a stalled API stream), not working silently; the tree was stopped.
    Stalled,
    /// Cancelled by the caller (or server shutdown); the process tree was killed.
    Cancelled,
    /// The CLI ended without a result line (killed, crashed, or interrupted).
    Crashed,
    /// The `claude` binary was not found.
    CliNotFound,
    /// The process could not be started for another reason.
    SpawnFailed,
    /// A `pre_execute` hook vetoed the task (exit code 2); it never ran.
    RejectedByHook,
    /// The server that ran it (or queued it) died before it finished; found and recorded by
    /// the next server on the same data dir, with whatever evidence it left.
    Interrupted,
    /// One stream-json record was over the record cap (`max_record_mib`): the answer could not
    /// be read. The raw output is kept (`raw_output_path`).
    OutputTooLarge,
    /// It ran, but an acceptance check failed (`acceptance` says which and why).
    Rejected,
}

impl Status {
    /// Every status, in documentation order.
    pub const ALL: [Status; 18] = [
        Status::Succeeded,
        Status::Unverified,
        Status::RateLimited,
        Status::Overloaded,
        Status::AuthFailed,
        Status::MaxTurns,
        Status::BudgetExceeded,
        Status::ApiError,
        Status::TimedOut,
        Status::Stalled,
        Status::Cancelled,
        Status::Crashed,
        Status::CliNotFound,
        Status::SpawnFailed,
        Status::RejectedByHook,
        Status::Interrupted,
        Status::OutputTooLarge,
        Status::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Unverified => "unverified",
            Status::RateLimited => "rate_limited",
            Status::Overloaded => "overloaded",
            Status::AuthFailed => "auth_failed",
            Status::MaxTurns => "max_turns",
            Status::BudgetExceeded => "budget_exceeded",
            Status::ApiError => "api_error",
            Status::TimedOut => "timed_out",
            Status::Stalled => "stalled",
            Status::Cancelled => "cancelled",
            Status::Crashed => "crashed",
            Status::CliNotFound => "cli_not_found",
            Status::SpawnFailed => "spawn_failed",
            Status::RejectedByHook => "rejected_by_hook",
            Status::Interrupted => "interrupted",
            Status::OutputTooLarge => "output_too_large",
            Status::Rejected => "rejected",
        }
    }

    /// Worth another attempt after a pause.
    pub fn is_transient(self) -> bool {
        matches!(self, Status::RateLimited | Status::Overloaded)
    }
}

/// Parses the snake_case name (no allocation: stores read it for every row).
impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
                format!(
                    "unknown status `{s}` (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One try at running the task (retries add more).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Attempt {
    pub number: u32,
    pub status: Status,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    pub api_retries: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

/// Everything known about one execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecutionResult {
    pub execution_id: Uuid,
    pub status: Status,
    /// Final text: the result line's text, or the last assistant text when that is empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// With `json_schema`: the structured output the CLI validated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub structured_output: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claude_version: Option<String>,
    /// Which credential the CLI used (`apiKeySource` of its init line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_turns: Option<u32>,
    /// Wall-clock time from the first spawn to the end of the last attempt.
    pub duration_ms: u64,
    /// Time spent in API calls, as the CLI reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_api_ms: Option<u64>,
    /// Time spent waiting in the queue before the first spawn.
    pub queue_wait_ms: u64,
    /// Cost of all attempts, as the CLI reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_cost_usd: Option<f64>,
    /// Token usage of the last attempt, as the CLI reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Value>,
    /// Tool name → number of uses.
    pub tools_used: BTreeMap<String, u32>,
    /// Paths written by successful Write/Edit/MultiEdit/NotebookEdit tool uses.
    pub files_written: Vec<String>,
    pub permission_denials: Vec<PermissionDenial>,
    /// The CLI's own API retries (`system/api_retry` lines), over all attempts.
    pub api_retries: u32,
    pub attempts: Vec<Attempt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// Last bytes of the CLI's stderr.
    pub stderr_tail: String,
    /// When a usage limit resets, if the CLI said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resets_at: Option<DateTime<Utc>>,
    /// Things the caller should know: why the status is what it is, prompt warnings, noise.
    pub warnings: Vec<String>,
    /// The complete raw stdout of the last attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_output_path: Option<String>,
    /// The wall-clock limit each attempt ran under, seconds. Always set by this version
    /// (`None` only in records written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// Where that timeout came from: `{"kind": "explicit" | "default" | "learned", …}` with,
    /// when the history was consulted, the class, its sample count and p95.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_basis: Option<crate::types::timeout::TimeoutBasis>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    // Evidence (see `crate::evidence`). `serde(default)`: records written before these fields
    // existed still load.
    /// Whether the answer echoed the execution's UUID; `None` when the UUID hook was off or
    /// nothing ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid_echo: Option<UuidEcho>,
    /// The files in `files_written`, with the SHA-256 of what the run wrote.
    #[serde(default)]
    pub written_files: Vec<WrittenFile>,
    /// Claude Code's own transcript of the session (`~/.claude/projects/…/<session>.jsonl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript_path: Option<String>,
    /// The response file, receipt and chain link. Empty inside the response file itself (it
    /// cannot contain its own hash) and when writing the evidence failed (see `warnings`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<EvidenceRef>,
    /// The acceptance checks run after the task (its `accept` and `json_schema`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance: Option<Acceptance>,
    /// Its place in a repair loop (`repair`): the first execution, how many repairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair: Option<RepairLink>,
    /// The execution this one validated (it is an `accept.validator` run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validates: Option<Uuid>,
}

impl ExecutionResult {
    /// A result for an execution that never got to run `claude` (or never produced anything).
    pub fn empty(execution_id: Uuid, status: Status, warnings: Vec<String>) -> Self {
        let now = Utc::now();
        ExecutionResult {
            execution_id,
            status,
            result: None,
            structured_output: None,
            session_id: None,
            model: None,
            claude_version: None,
            api_key_source: None,
            num_turns: None,
            duration_ms: 0,
            duration_api_ms: None,
            queue_wait_ms: 0,
            total_cost_usd: None,
            usage: None,
            tools_used: BTreeMap::new(),
            files_written: Vec::new(),
            permission_denials: Vec::new(),
            api_retries: 0,
            attempts: Vec::new(),
            exit_code: None,
            signal: None,
            stderr_tail: String::new(),
            resets_at: None,
            warnings,
            raw_output_path: None,
            timeout_secs: None,
            timeout_basis: None,
            started_at: now,
            finished_at: now,
            uuid_echo: None,
            written_files: Vec::new(),
            transcript_path: None,
            evidence: None,
            acceptance: None,
            repair: None,
            validates: None,
        }
    }

    /// One line for people: status, time, cost.
    /// Roughly how many bytes this result holds (its texts dominate): what keeping it in
    /// memory costs.
    pub fn approx_bytes(&self) -> usize {
        let texts = self.result.as_ref().map_or(0, String::len)
            + self.stderr_tail.len()
            + self.warnings.iter().map(String::len).sum::<usize>()
            + self.files_written.iter().map(String::len).sum::<usize>();
        let structured = self
            .structured_output
            .as_ref()
            .map_or(0, |v| serde_json::to_vec(v).map_or(0, |b| b.len()));
        1024 + texts + structured
    }

    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} in {:.1}s",
            self.status,
            self.duration_ms as f64 / 1000.0
        );
        if let Some(c) = self.total_cost_usd {
            s.push_str(&format!(", ${c:.4}"));
        }
        if !self.files_written.is_empty() {
            s.push_str(&format!(", {} file(s) written", self.files_written.len()));
        }
        if let Some(w) = self.warnings.first() {
            s.push_str(&format!(" — {w}"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_recorded_before_the_evidence_fields_still_load() {
        let mut v = serde_json::to_value(ExecutionResult::empty(
            Uuid::new_v4(),
            Status::Succeeded,
            vec![],
        ))
        .unwrap();
        let obj = v.as_object_mut().unwrap();
        for k in [
            "uuid_echo",
            "written_files",
            "transcript_path",
            "evidence",
            "timeout_secs",
            "timeout_basis",
        ] {
            // Absent when empty today; absent because unknown in older records.
            obj.remove(k);
        }
        let back: ExecutionResult = serde_json::from_value(v).unwrap();
        assert!(back.written_files.is_empty() && back.evidence.is_none());
    }

    #[test]
    fn what_is_not_known_is_left_out_not_null() {
        let mut r = ExecutionResult::empty(Uuid::new_v4(), Status::Crashed, vec![]);
        r.attempts.push(Attempt {
            number: 1,
            status: Status::Crashed,
            started_at: r.started_at,
            duration_ms: 0,
            exit_code: None,
            signal: Some(9),
            session_id: None,
            api_retries: 0,
            cost_usd: None,
        });
        let json = serde_json::to_string(&r).unwrap();
        assert!(!json.contains("null"), "{json}");
        assert!(json.contains(r#""signal":9"#), "{json}");
        let back: ExecutionResult = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        // Records written while unknown values were `null` load the same.
        let mut v = serde_json::to_value(&r).unwrap();
        v["result"] = Value::Null;
        v["attempts"][0]["exit_code"] = Value::Null;
        assert_eq!(serde_json::from_value::<ExecutionResult>(v).unwrap(), r);
    }

    #[test]
    fn rejected_by_hook_is_a_status_with_a_name() {
        assert_eq!(
            "rejected_by_hook".parse::<Status>(),
            Ok(Status::RejectedByHook)
        );
        assert!(Status::ALL.contains(&Status::RejectedByHook));
        for st in Status::ALL {
            assert_eq!(st.as_str().parse::<Status>(), Ok(st));
        }
    }
}
