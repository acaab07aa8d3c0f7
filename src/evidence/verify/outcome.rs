//! Checks of what the execution claims it did, read from its record: it succeeded, it echoed
//! its UUID, and no tool use was denied. (The transcript and the written files have their own
//! files: they read more than the record.)

use serde_json::Value;

use super::checks::{CheckState, Checks};
use crate::store::ExecutionRecord;
use crate::types::result::Status;

/// `status`: the execution succeeded.
pub(super) fn status(c: &mut Checks, s: &ExecutionRecord) {
    let r = &s.result;
    if r.status == Status::Succeeded {
        c.add("status", CheckState::Pass, "succeeded");
    } else {
        c.add(
            "status",
            CheckState::Fail,
            format!(
                "the execution ended `{}`{}",
                r.status,
                r.warnings
                    .first()
                    .map(|w| format!(": {w}"))
                    .unwrap_or_default()
            ),
        );
    }
}

/// `uuid_echo`: the answer contains the execution's UUID, re-checked from the answer text
/// (skipped when the hook was off).
pub(super) fn uuid_echo(c: &mut Checks, s: &ExecutionRecord) {
    let r = &s.result;
    match &r.uuid_echo {
        None => c.add(
            "uuid_echo",
            CheckState::Skip,
            "the UUID hook was off for this execution (or nothing ran)",
        ),
        Some(_) => {
            // Re-checked from the answer itself, not taken from the recorded flag.
            let again = crate::evidence::uuid_hook::check(
                s.execution_id,
                r.result.as_deref(),
                r.structured_output.as_ref(),
            );
            if again.echoed {
                let json = match again.last_key {
                    Some(true) => " (JSON answer; `execution_uuid` is its last key)",
                    Some(false) => " (JSON answer, but `execution_uuid` is not its last key)",
                    None => "",
                };
                c.add(
                    "uuid_echo",
                    CheckState::Pass,
                    format!("the answer contains the execution UUID{json}"),
                );
            } else {
                c.add(
                    "uuid_echo",
                    CheckState::Fail,
                    "the answer does not contain the execution UUID it was asked to echo: it may not come from this run, or the model ignored the instruction",
                );
            }
        }
    }
}

/// `permission_denials`: no tool use was denied (the real CLI ends such a run as a success,
/// although the work the tool was for was not done).
pub(super) fn permission_denials(c: &mut Checks, s: &ExecutionRecord) {
    let r = &s.result;
    if r.permission_denials.is_empty() {
        c.add("permission_denials", CheckState::Pass, "none");
    } else {
        let what: Vec<String> = r
            .permission_denials
            .iter()
            .map(|d| {
                let target = d
                    .tool_input
                    .as_ref()
                    .and_then(|i| i.get("file_path").or_else(|| i.get("command")))
                    .and_then(Value::as_str)
                    .map(|t| format!(" {t}"))
                    .unwrap_or_default();
                format!("{}{target}", d.tool_name)
            })
            .collect();
        c.add(
            "permission_denials",
            CheckState::Fail,
            format!(
                "{} tool use(s) were denied by the permission mode ({}): the work they were for was not done",
                what.len(),
                what.join(", ")
            ),
        );
    }
}
