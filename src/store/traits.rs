//! The store's interface: what callers ask of the history, whatever the backend.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ExecutionRecord, HistoryFilter, HistoryStats, InFlight, InFlightRow, StoreError};
use crate::evidence::EvidenceDraft;
use crate::evidence::chain::{ChainLink, ChainPos};
use crate::runs::{Run, RunOwner};

/// Which backend serves, and whether it is healthy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StoreHealth {
    /// `sqlite` or `redis`.
    pub backend: String,
    /// Path or URL (password redacted).
    pub location: String,
    /// `ok`, or `degraded` (Redis unreachable; records wait in the local outbox).
    pub state: String,
    /// Records waiting in the outbox for Redis.
    pub outbox_pending: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The history of executions.
#[async_trait]
pub trait HistoryStore: Send + Sync {
    /// Stores (or replaces) a record; durable when it returns.
    async fn record(&self, record: &ExecutionRecord) -> Result<(), StoreError>;
    /// Stores many records, in order (imports, replays). Backends may make this one
    /// transaction; the default records them one by one.
    async fn record_batch(&self, records: &[ExecutionRecord]) -> Result<(), StoreError> {
        for r in records {
            self.record(r).await?;
        }
        Ok(())
    }
    async fn get(&self, id: Uuid) -> Result<Option<ExecutionRecord>, StoreError>;
    /// Newest first, filtered, paged by `limit`/`offset`.
    async fn list(&self, filter: &HistoryFilter) -> Result<Vec<ExecutionRecord>, StoreError>;
    /// Statistics over every execution the filter matches (its limit/offset are ignored).
    async fn stats(&self, filter: &HistoryFilter) -> Result<HistoryStats, StoreError>;
    /// Durations (ms) of the most recent `limit` executions of a category+complexity, newest
    /// first (for timeout prediction).
    async fn recent_durations(
        &self,
        category: &str,
        complexity: &str,
        limit: usize,
    ) -> Result<Vec<u64>, StoreError>;
    async fn health(&self) -> StoreHealth;

    /// Saves a task-list run (durable when it returns). A snapshot never replaces a newer
    /// revision of the same run, so a late or replayed write cannot roll a run back.
    async fn save_run(&self, run: &Run) -> Result<(), StoreError>;
    async fn get_run(&self, id: Uuid) -> Result<Option<Run>, StoreError>;
    /// The most recently updated runs first.
    async fn list_runs(&self, limit: usize) -> Result<Vec<Run>, StoreError>;

    // --- The evidence hash chain (see `crate::evidence::chain`) ---

    /// Appends the chain link of an execution's response file after the current head,
    /// atomically even with other processes appending to the same store.
    async fn chain_append(
        &self,
        execution_id: Uuid,
        response_sha256: &str,
    ) -> Result<ChainLink, StoreError>;
    /// One link of the chain (the head, a position, or an execution's link).
    async fn chain_link(&self, pos: ChainPos) -> Result<Option<ChainLink>, StoreError>;

    /// Journals an execution before its id is given out (durably: one transaction). It leaves
    /// the journal when its record is stored. See [`inflight`].
    async fn inflight_add(&self, entry: &InFlight) -> Result<(), StoreError>;
    /// Every execution in the journal, oldest first.
    async fn inflight_list(&self) -> Result<Vec<InFlightRow>, StoreError>;
    /// One execution's journal entry, if it is in flight.
    async fn inflight_get(&self, id: Uuid) -> Result<Option<InFlight>, StoreError>;
    /// Claims a journal entry for recovery if its claim is still `expected`; `true` if won.
    async fn inflight_claim(
        &self,
        id: Uuid,
        expected: Option<&RunOwner>,
        claimer: &RunOwner,
    ) -> Result<bool, StoreError>;
    /// Drops a journal entry (its execution is recorded, or was never started).
    async fn inflight_remove(&self, id: Uuid) -> Result<(), StoreError>;

    /// Appends the chain link of an execution's response file and stores its record carrying
    /// that link (`evidence` completed with it); returns the record as stored. Backends that
    /// can do both in one transaction (SQLite: one disk flush instead of two) override this.
    ///
    /// The record is handed back whether or not it was stored (it is moved, never copied: it
    /// may carry a very large answer).
    async fn record_linked(
        &self,
        mut record: ExecutionRecord,
        evidence: EvidenceDraft,
    ) -> (ExecutionRecord, Result<(), StoreError>) {
        let chain = match self
            .chain_append(record.execution_id, &evidence.response_sha256)
            .await
        {
            Ok(chain) => chain,
            Err(e) => return (record, Err(e)),
        };
        record.result.evidence = Some(evidence.linked(chain));
        let stored = self.record(&record).await;
        (record, stored)
    }
}
