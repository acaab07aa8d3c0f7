//! Building an execution's result from its attempts: the last attempt decides the status and
//! the answer; every attempt is listed with its own outcome, cost and retries.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use uuid::Uuid;

use super::attempt::{self, AttemptOutput};
use super::result::{Attempt, ExecutionResult, Status};
use super::spec::TaskSpec;

/// The result of an execution that never ran `claude`.
pub(super) fn early(id: Uuid, spec: &TaskSpec, status: Status, why: &str) -> ExecutionResult {
    let mut warnings = spec.warnings.clone();
    warnings.push(why.to_string());
    ExecutionResult::empty(id, status, warnings)
}

pub(super) fn ms(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
}

/// Builds the result from every attempt; the last one decides the status and the answer.
#[allow(clippy::too_many_arguments)]
pub(super) fn assemble(
    id: Uuid,
    cwd: &Path,
    max_record_bytes: usize,
    attempts: Vec<(AttemptOutput, Status)>,
    mut warnings: Vec<String>,
    queue_wait: Duration,
    run_started: Instant,
) -> ExecutionResult {
    let started_at = attempts
        .first()
        .map(|(a, _)| a.started_at)
        .unwrap_or_else(Utc::now);
    let mut records = Vec::new();
    let mut api_retries = 0;
    let mut total_cost: Option<f64> = None;
    for (i, (a, status)) in attempts.iter().enumerate() {
        let c = &a.collector;
        let cost = c.result.as_ref().and_then(|r| r.total_cost_usd);
        if let Some(cost) = cost {
            *total_cost.get_or_insert(0.0) += cost;
        }
        api_retries += c.api_retries;
        records.push(Attempt {
            number: i as u32 + 1,
            status: *status,
            started_at: a.started_at,
            duration_ms: ms(a.duration),
            exit_code: a.exit_code,
            signal: a.signal,
            session_id: c.session_id.clone(),
            api_retries: c.api_retries,
            cost_usd: cost,
        });
    }
    let Some((last, status)) = attempts.into_iter().last() else {
        return ExecutionResult::empty(id, Status::Crashed, warnings);
    };
    warnings.extend(last.warnings);
    let mut c = last.collector;
    if c.diagnostic_count > 0 {
        warnings.push(format!(
            "{} stdout line(s) were not stream-json events (first: {})",
            c.diagnostic_count,
            c.diagnostics.first().map(String::as_str).unwrap_or("")
        ));
    }
    let mut r = c.result.take().unwrap_or_default();
    // The CLI sometimes ends with an empty result while the model did answer: then the last
    // assistant text is the answer (read back from the raw output when it was too big to keep).
    let text = r
        .result
        .take()
        .filter(|t| !t.is_empty())
        .or_else(|| c.last_assistant_text.take())
        .or_else(|| {
            let (path, at) = (last.raw_output_path.as_ref()?, c.last_assistant_at?);
            match attempt::read_assistant_text(path, at, max_record_bytes) {
                Ok(text) => text,
                Err(e) => {
                    warnings.push(format!(
                        "the answer could not be read back from {}: {e}",
                        path.display()
                    ));
                    None
                }
            }
        })
        .or_else(|| c.synthetic_text.take());
    ExecutionResult {
        execution_id: id,
        status,
        result: text,
        structured_output: r.structured_output,
        session_id: c.session_id,
        model: c.model.or_else(|| {
            r.model_usage
                .as_ref()
                .and_then(|m: &BTreeMap<String, _>| m.keys().next().cloned())
        }),
        claude_version: c.claude_version,
        api_key_source: c.api_key_source,
        num_turns: r.num_turns,
        duration_ms: ms(run_started.elapsed()),
        duration_api_ms: r.duration_api_ms,
        queue_wait_ms: ms(queue_wait),
        total_cost_usd: total_cost,
        usage: r.usage,
        tools_used: c.tools_used,
        written_files: crate::evidence::files::from_run(cwd, &c.files_written, &c.write_content),
        files_written: c.files_written,
        permission_denials: c.permission_denials,
        api_retries,
        attempts: records,
        exit_code: last.exit_code,
        signal: last.signal,
        stderr_tail: last.stderr_tail,
        resets_at: None,
        warnings,
        raw_output_path: last.raw_output_path.map(|p| p.display().to_string()),
        timeout_secs: None,
        timeout_basis: None,
        started_at,
        finished_at: Utc::now(),
        uuid_echo: None,
        transcript_path: None,
        evidence: None,
        acceptance: None,
        repair: None,
        validates: None,
    }
}
