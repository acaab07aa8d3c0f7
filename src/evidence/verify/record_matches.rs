//! The `record_matches_response` check: the history record says what the response file says.
//! The file is hash-protected, the record is not: a difference means the record was edited.

use super::checks::{CheckState, Checks};
use crate::evidence::artifacts::ResponseDocument;
use crate::store::ExecutionRecord;

/// Adds the check when there are both a record and a response file to compare.
pub(super) fn check(
    c: &mut Checks,
    record: Option<&ExecutionRecord>,
    doc: Option<&ResponseDocument>,
) {
    let (Some(r), Some(d)) = (record, doc) else {
        return;
    };
    let diffs = differences(r, &d.record);
    if diffs.is_empty() {
        c.add(
            "record_matches_response",
            CheckState::Pass,
            "the history record and the response file agree",
        );
    } else {
        c.add(
            "record_matches_response",
            CheckState::Tampered,
            format!(
                "the history record and the response file disagree on: {}",
                diffs.join(", ")
            ),
        );
    }
}

/// Fields on which the store record and the response file must agree.
fn differences(store: &ExecutionRecord, file: &ExecutionRecord) -> Vec<String> {
    let (a, b) = (&store.result, &file.result);
    let mut d = Vec::new();
    let mut cmp = |name: &str, same: bool| {
        if !same {
            d.push(name.to_string());
        }
    };
    cmp("task", store.task == file.task);
    cmp("cwd", store.cwd == file.cwd);
    cmp("status", a.status == b.status);
    cmp(
        "result",
        match &store.answer_elsewhere {
            None => a.result == b.result,
            // A big answer: the history keeps its beginning and a reference to the whole.
            Some(r) => b.result.as_deref().is_some_and(|whole| {
                whole.len() as u64 == r.bytes
                    && crate::types::chain::sha256_hex(whole.as_bytes()) == r.sha256
                    && whole.starts_with(a.result.as_deref().unwrap_or(""))
            }),
        },
    );
    cmp("session_id", a.session_id == b.session_id);
    cmp("files_written", a.files_written == b.files_written);
    cmp(
        "permission_denials",
        a.permission_denials == b.permission_denials,
    );
    cmp("total_cost_usd", a.total_cost_usd == b.total_cost_usd);
    cmp("finished_at", a.finished_at == b.finished_at);
    cmp("uuid_echo", a.uuid_echo == b.uuid_echo);
    cmp("written_files", a.written_files == b.written_files);
    if d.is_empty() {
        let mut without = a.clone();
        without.evidence = None;
        if store.answer_elsewhere.is_some() {
            without.result.clone_from(&b.result);
        }
        if &without != b {
            d.push("other result fields".into());
        }
    }
    d
}
