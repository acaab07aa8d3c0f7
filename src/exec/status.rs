//! Reading executions: waiting for one, its live status, and — for executions this process
//! does not hold — the history (finished ones, big results) and the in-flight journal (ones
//! another process runs, or one that died left behind).

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use uuid::Uuid;

use super::Executor;
use super::registry::{self, ExecutionStatus};
use super::result::ExecutionResult;
use crate::store::{ExecutionRecord, StoreError};

impl Executor {
    /// Waits for an execution to finish; `None` for an unknown id. Executions of earlier runs
    /// of the server, and results too big to keep in memory, come from the history.
    pub async fn wait(&self, id: Uuid) -> Option<ExecutionResult> {
        let Some(entry) = self.inner.registry.get(id) else {
            return self.history_record(id).await.map(|r| r.result);
        };
        loop {
            let seen = entry.version();
            if entry.is_finished() {
                return match entry.result() {
                    Some(r) => Some((*r).clone()),
                    None => self.history_record(id).await.map(|r| r.result),
                };
            }
            entry.changed_since(seen, Duration::from_secs(3600)).await;
        }
    }

    /// The live status of one execution of this process.
    pub fn status(&self, id: Uuid) -> Option<ExecutionStatus> {
        let entry = self.inner.registry.get(id)?;
        Some(entry.snapshot(self.inner.queue.position(id)))
    }

    /// The status of an execution of this process, or else of an earlier one from the history
    /// (so results survive a restart).
    pub async fn lookup(&self, id: Uuid) -> Option<ExecutionStatus> {
        if let Some(s) = self.status(id) {
            return Some(self.with_result(s).await);
        }
        if let Some(r) = self.history_record(id).await {
            return Some(ExecutionStatus::from_record(&r));
        }
        self.in_flight_elsewhere(id).await
    }

    /// An execution in the in-flight journal but not in this process: one another live
    /// process runs (reported as such), or one a dead process left — settled now, so a caller
    /// asking right after a restart gets `interrupted`, not "unknown".
    async fn in_flight_elsewhere(&self, id: Uuid) -> Option<ExecutionStatus> {
        let entry = match self.inner.store.inflight_get(id).await {
            Ok(e) => e?,
            Err(e) => {
                tracing::warn!(%id, "in-flight journal lookup failed: {e}");
                return None;
            }
        };
        use crate::process::owner::{Liveness, liveness};
        if liveness(&entry.owner) == Liveness::Gone {
            match self.recover_interrupted().await {
                Ok(_) => {}
                Err(e) => tracing::warn!(%id, "could not settle an interrupted execution: {e}"),
            }
            if let Some(r) = self.history_record(id).await {
                return Some(ExecutionStatus::from_record(&r));
            }
        }
        Some(ExecutionStatus::elsewhere(&entry))
    }

    async fn history_record(&self, id: Uuid) -> Option<ExecutionRecord> {
        match self.record(id).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(%id, "history lookup failed: {e}");
                None
            }
        }
    }

    /// An execution's record from the history, with its whole answer: one too big for the
    /// store (see [`crate::store::AnswerRef`]) is read back from its response file.
    pub async fn record(&self, id: Uuid) -> Result<Option<ExecutionRecord>, StoreError> {
        let Some(mut record) = self.inner.store.get(id).await? else {
            return Ok(None);
        };
        if record.answer_elsewhere.is_some() {
            self.load_answer(&mut record).await;
        }
        Ok(Some(record))
    }

    async fn load_answer(&self, record: &mut ExecutionRecord) {
        let Some(path) = record
            .result
            .evidence
            .as_ref()
            .map(|e| PathBuf::from(&e.response_file))
        else {
            return;
        };
        let read = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || crate::evidence::artifacts::read_answer(&path))
                .await
                .unwrap_or_else(|e| Err(io::Error::other(e.to_string())))
        };
        let why = match read {
            Ok(Some(answer)) => {
                if record.restore_answer(answer) {
                    return;
                }
                "it is not the answer the history names (edited?)".to_string()
            }
            Ok(None) => "it has no answer".to_string(),
            Err(e) => e.to_string(),
        };
        let bytes = record.answer_elsewhere.as_ref().map_or(0, |a| a.bytes);
        record.result.warnings.push(format!(
            "the whole answer ({bytes} bytes) could not be read from {}: {why}; only its beginning is shown",
            path.display()
        ));
    }

    /// Every execution this process knows (active ones and up to 100 recent finished ones),
    /// oldest first.
    pub fn list(&self) -> Vec<ExecutionStatus> {
        self.inner
            .registry
            .all()
            .iter()
            .map(|e| e.snapshot(self.inner.queue.position(e.id)))
            .collect()
    }

    /// Waits (at most `max`) until execution `id` changes after version `seen`, then returns
    /// its status. `None` for an unknown id.
    pub async fn watch(&self, id: Uuid, seen: u64, max: Duration) -> Option<ExecutionStatus> {
        let entry = self.inner.registry.get(id)?;
        entry.changed_since(seen, max).await;
        Some(self.with_result(self.status(id)?).await)
    }

    /// A finished execution's status with its result: from memory when cached, else read
    /// back from the history (big results are not kept in memory).
    async fn with_result(&self, mut s: ExecutionStatus) -> ExecutionStatus {
        if s.phase == registry::Phase::Finished && s.result.is_none() {
            s.result = self.history_record(s.execution_id).await.map(|r| r.result);
        }
        s
    }
}
