//! Which executions a request verifies — one, every execution of a task-list run, or the
//! newest N plus whatever the chain and the evidence directory hold that the history does not
//! (a deleted record, a fabricated response file) — and the report over them.

use std::path::Path;

use uuid::Uuid;

use super::markdown::to_markdown;
use super::one::verify_one;
use super::{ExecutionVerification, MAX_LAST_N, Target, VerifyError, VerifyReport, verdict};
use crate::store::{HistoryFilter, HistoryStore, StoreError};
use crate::types::chain::ChainPos;

/// Response files looked at when searching the evidence directory for files without a link.
const MAX_ORPHAN_SCAN: usize = 10_000;

/// Verifies executions; `markdown` adds the report as markdown.
pub async fn verify(
    data_dir: &Path,
    store: &dyn HistoryStore,
    target: Target,
    markdown: bool,
) -> Result<VerifyReport, VerifyError> {
    let mut notes = Vec::new();
    let executions = match target {
        Target::One(id) => one_or_run(data_dir, store, id, &mut notes).await?,
        Target::Last(0) => return Err(VerifyError::ZeroLast),
        Target::Last(n) => last(data_dir, store, n, &mut notes).await?,
    };
    let (verdict, counts) = verdict::tally(&executions);
    let mut report = VerifyReport {
        verdict,
        counts,
        executions,
        notes,
        markdown: None,
    };
    if markdown {
        report.markdown = Some(to_markdown(&report));
    }
    Ok(report)
}

/// One execution — or, when `id` is no execution's, a task-list run's: every execution of its
/// tasks (interrupted ones included).
async fn one_or_run(
    data_dir: &Path,
    store: &dyn HistoryStore,
    id: Uuid,
    notes: &mut Vec<String>,
) -> Result<Vec<ExecutionVerification>, VerifyError> {
    let mut executions = Vec::new();
    match verify_one(data_dir, store, id).await {
        Err(VerifyError::Unknown(_)) => {
            let Some(run) = store.get_run(id).await? else {
                return Err(VerifyError::Unknown(id));
            };
            notes.push(format!(
                "run {id}: the executions of its {} task(s)",
                run.tasks.len()
            ));
            for e in run.tasks.iter().flat_map(|t| t.executions.iter()) {
                executions.push(verify_one(data_dir, store, *e).await?);
            }
            if executions.is_empty() {
                notes.push("no task of this run has run yet: nothing to verify".into());
            }
        }
        r => executions.push(r?),
    }
    Ok(executions)
}

/// The newest `n` (capped at [`MAX_LAST_N`]) in the history, the newest `n` links of the chain,
/// and every response file without a link.
async fn last(
    data_dir: &Path,
    store: &dyn HistoryStore,
    n: usize,
    notes: &mut Vec<String>,
) -> Result<Vec<ExecutionVerification>, VerifyError> {
    let mut executions = Vec::new();
    let n = if n > MAX_LAST_N {
        notes.push(format!(
            "last_n {n} was capped at {MAX_LAST_N}; verify older executions by id"
        ));
        MAX_LAST_N
    } else {
        n
    };
    let records = store
        .list(&HistoryFilter {
            limit: n,
            ..Default::default()
        })
        .await?;
    if records.is_empty() {
        notes.push("the history is empty: nothing to verify".into());
    }
    for r in &records {
        executions.push(verify_one(data_dir, store, r.execution_id).await?);
    }
    // The newest links too: an execution whose history record was deleted is not in
    // the list above, but its link still is in the chain.
    if let Some(head) = store.chain_link(ChainPos::Head).await? {
        let first = head.seq.saturating_sub(n as u64 - 1).max(1);
        for seq in first..=head.seq {
            if let Some(l) = store.chain_link(ChainPos::Seq(seq)).await?
                && !executions.iter().any(|e| e.execution_id == l.execution_id)
            {
                executions.push(verify_one(data_dir, store, l.execution_id).await?);
            }
        }
    }
    for id in unlinked_response_files(data_dir, store, notes).await? {
        if !executions.iter().any(|e| e.execution_id == id) {
            executions.push(verify_one(data_dir, store, id).await?);
        }
    }
    Ok(executions)
}

/// Response files named `<uuid>.json` in the evidence directory that have no chain link.
async fn unlinked_response_files(
    data_dir: &Path,
    store: &dyn HistoryStore,
    notes: &mut Vec<String>,
) -> Result<Vec<Uuid>, StoreError> {
    let dir = crate::evidence::evidence_dir(data_dir);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut ids = Vec::new();
    for (i, entry) in entries.flatten().enumerate() {
        if i == MAX_ORPHAN_SCAN {
            notes.push(format!(
                "only the first {MAX_ORPHAN_SCAN} files of {} were searched for response files without a chain link",
                dir.display()
            ));
            break;
        }
        let name = entry.file_name();
        let Some(id) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| Uuid::parse_str(n).ok())
        else {
            continue;
        };
        if store.chain_link(ChainPos::Execution(id)).await?.is_none() {
            ids.push(id);
        }
    }
    Ok(ids)
}
