//! The validator: a fresh `claude -p` that judges finished work against the caller's criteria.
//!
//! It is an execution like any other — queued behind whatever arrived before it (its place is
//! taken when the task's own run has ended and given its slot up, so a single slot cannot
//! deadlock), under the same policy, recorded with evidence and linked to the execution it
//! judged (`validates`) — so `verify_execution` covers it. It runs read-only (the policy's
//! default tools only, in a mode where writes are denied) and answers through `--json-schema`
//! with a verdict `{valid, reasons, fix}`: structured, not parsed out of prose.

use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::types::result::{ExecutionResult, Status};
use crate::types::task::{AcceptPlan, SpecLink, TaskSpec};

/// Longest part of the answer shown to the validator (characters); it can read files itself.
const ANSWER_SHOWN: usize = 8000;

/// The verdict the validator must return.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct Verdict {
    pub valid: bool,
    #[serde(default)]
    pub reasons: Vec<String>,
    #[serde(default)]
    pub fix: String,
}

/// The JSON Schema given to the validator's `--json-schema`.
pub(crate) fn verdict_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "valid": {"type": "boolean", "description": "true only if every criterion is met"},
            "reasons": {"type": "array", "items": {"type": "string"}},
            "fix": {"type": "string", "description": "what to change so that it passes; empty when valid"}
        },
        "required": ["valid", "reasons", "fix"],
        "additionalProperties": false
    })
}

/// What the validator is told: the criteria, the task, the answer, the files written and the
/// other checks' outcomes.
pub(crate) fn prompt(
    criteria: &str,
    task: &str,
    result: &ExecutionResult,
    earlier_checks: &[crate::types::accept::CheckResult],
) -> String {
    let answer = result
        .result
        .as_deref()
        .map(|a| crate::evidence::uuid_hook::strip_echo(a, result.execution_id))
        .unwrap_or_default();
    let answer = crate::types::text::truncate_chars(&answer, ANSWER_SHOWN);
    let mut p = format!(
        "You are a reviewer. Check whether the task below was done, against the criteria. Do not change any file; read files and look around as you need.\n\n## Criteria\n{criteria}\n\n## The task\n{task}\n\n## Its answer\n{answer}\n"
    );
    if !result.files_written.is_empty() {
        p.push_str("\n## Files it wrote (read them)\n");
        for f in &result.files_written {
            p.push_str(&format!("- {f}\n"));
        }
    }
    if let Some(s) = &result.structured_output {
        p.push_str(&format!("\n## Its structured output\n{s}\n"));
    }
    if !earlier_checks.is_empty() {
        p.push_str("\n## Checks already run\n");
        for c in earlier_checks {
            let mark = if c.passed { "passed" } else { "FAILED" };
            p.push_str(&format!("- {} {mark}: {}\n", c.kind.as_str(), c.detail));
        }
    }
    p.push_str(
        "\nAnswer with the verdict: `valid` (true only if every criterion is met), `reasons` (short, specific), `fix` (what to change so that it passes; empty when valid).\n",
    );
    p
}

/// The validator's task: the checked task's place and model, read-only, answering the verdict.
pub(crate) fn spec(
    checked: &TaskSpec,
    plan: &AcceptPlan,
    prompt: String,
    default_tools: &[String],
    of: Uuid,
) -> TaskSpec {
    TaskSpec {
        prompt,
        timeout: checked.timeout,
        cwd: checked.cwd.clone(),
        model: checked.model.clone(),
        permission_mode: plan.validator_mode,
        allowed_tools: default_tools.to_vec(),
        disallowed_tools: checked.disallowed_tools.clone(),
        max_turns: checked.max_turns,
        max_budget_usd: checked.max_budget_usd,
        append_system_prompt: None,
        json_schema: Some(verdict_schema()),
        resume_session_id: None,
        warnings: Vec::new(),
        category: Some("validation".into()),
        complexity: checked.complexity.clone(),
        timeout_basis: checked.timeout_basis.clone(),
        pool_queue: checked.pool_queue.clone(),
        idempotent: false,
        accept: None,
        repair_max: 0,
        link: Some(SpecLink::Validates(of)),
    }
}

/// The verdict of a finished validator execution: `Ok` with it, or `Err` saying why there is
/// none (it did not succeed, or answered something else).
pub(crate) fn verdict(r: &ExecutionResult) -> Result<Verdict, String> {
    if r.status != Status::Succeeded {
        let why = r
            .warnings
            .first()
            .map(String::as_str)
            .unwrap_or("no detail");
        return Err(format!(
            "the validator (execution {}) ended `{}` without a verdict: {why}",
            r.execution_id, r.status
        ));
    }
    let Some(v) = &r.structured_output else {
        return Err(format!(
            "the validator (execution {}) returned no structured verdict",
            r.execution_id
        ));
    };
    let mut v = v.clone();
    // The UUID echo the evidence asks for is part of the answer, not of the verdict.
    if let Value::Object(m) = &mut v {
        m.retain(|k, _| k != crate::evidence::uuid_hook::JSON_KEY);
    }
    serde_json::from_value(v).map_err(|e| {
        format!(
            "the validator (execution {}) returned a verdict of the wrong shape: {e}",
            r.execution_id
        )
    })
}

/// The check's detail for a verdict.
pub(crate) fn detail(v: &Verdict) -> String {
    let reasons = if v.reasons.is_empty() {
        "no reasons given".to_string()
    } else {
        v.reasons.join("; ")
    };
    let mut d = format!("{}: {reasons}", if v.valid { "valid" } else { "invalid" });
    if !v.valid && !v.fix.trim().is_empty() {
        d.push_str(&format!("; fix: {}", v.fix.trim()));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_reads_with_or_without_the_uuid_echo_and_says_why_not() {
        let mut r = ExecutionResult::empty(Uuid::new_v4(), Status::Succeeded, vec![]);
        r.structured_output =
            Some(json!({"valid": false, "reasons": ["no test"], "fix": "add one"}));
        let v = verdict(&r).unwrap();
        assert!(!v.valid);
        assert_eq!(detail(&v), "invalid: no test; fix: add one");
        r.structured_output = Some(json!({"valid": "yes"}));
        assert!(verdict(&r).unwrap_err().contains("wrong shape"));
        r.structured_output = None;
        assert!(verdict(&r).unwrap_err().contains("no structured verdict"));
        r.status = Status::Crashed;
        assert!(verdict(&r).unwrap_err().contains("`crashed`"));
    }
}
