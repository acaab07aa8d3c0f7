//! The store's interface, split by what a caller needs: the execution records
//! ([`RecordStore`]), task-list runs ([`RunStore`]), the evidence hash chain ([`ChainStore`])
//! and the journal of executions in flight ([`InFlightJournal`]). A function that only reads
//! durations or saves runs can ask for just that (`&dyn RecordStore`, `&dyn RunStore`) and be
//! tested with a store that has nothing else; [`HistoryStore`] is all four together, for the
//! executor and whoever hands a whole store around (`Arc<dyn HistoryStore>` coerces to any of
//! the four).

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ExecutionRecord, HistoryFilter, HistoryStats, InFlight, InFlightRow, StoreError};
use crate::types::chain::{ChainLink, ChainPos};
use crate::types::evidence::EvidenceDraft;
use crate::types::run::{Run, RunOwner};

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

/// The history of executions: records written, and everything read back from them.
#[async_trait]
pub trait RecordStore: Send + Sync {
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
    /// Appends the chain link of an execution's response file and stores its record carrying
    /// that link (`evidence` completed with it); returns the record as stored. There is no
    /// default: each backend decides how the two become one step (SQLite: one transaction, one
    /// disk flush instead of two; Redis: the link in the local file first, then the record).
    ///
    /// The record is handed back whether or not it was stored (it is moved, never copied: it
    /// may carry a very large answer).
    async fn record_linked(
        &self,
        record: ExecutionRecord,
        evidence: EvidenceDraft,
    ) -> (ExecutionRecord, Result<(), StoreError>);
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
    /// Which backend keeps the records, and whether they reach it. Never fails: a store that
    /// cannot be read says so in its health.
    async fn health(&self) -> StoreHealth;
}

/// Task-list runs, saved at every step so that a run can be resumed after a crash.
#[async_trait]
pub trait RunStore: Send + Sync {
    /// Saves a task-list run (durable when it returns). A snapshot never replaces a newer
    /// revision of the same run, so a late or replayed write cannot roll a run back.
    async fn save_run(&self, run: &Run) -> Result<(), StoreError>;
    async fn get_run(&self, id: Uuid) -> Result<Option<Run>, StoreError>;
    /// The most recently updated runs first.
    async fn list_runs(&self, limit: usize) -> Result<Vec<Run>, StoreError>;
}

/// The evidence hash chain (see [`crate::types::chain`]): appended as executions are
/// recorded, read by verification.
#[async_trait]
pub trait ChainStore: Send + Sync {
    /// Appends the chain link of an execution's response file after the current head,
    /// atomically even with other processes appending to the same store.
    async fn chain_append(
        &self,
        execution_id: Uuid,
        response_sha256: &str,
    ) -> Result<ChainLink, StoreError>;
    /// One link of the chain (the head, a position, or an execution's link).
    async fn chain_link(&self, pos: ChainPos) -> Result<Option<ChainLink>, StoreError>;
}

/// The journal of executions in flight (see [`super::inflight`]): what lets a server that
/// starts after a crash record what the dead one left unfinished.
#[async_trait]
pub trait InFlightJournal: Send + Sync {
    /// Journals an execution before its id is given out (durably: one transaction). It leaves
    /// the journal when its record is stored.
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
}

/// The whole store: records, runs, the chain and the journal. Nothing to implement: every type
/// that has the four parts is a `HistoryStore`, so a backend implements the parts and
/// `Arc<dyn HistoryStore>` works as before. With only this trait in scope, a `dyn HistoryStore`
/// answers every method of the four; a concrete store needs the part's trait imported.
pub trait HistoryStore: RecordStore + RunStore + ChainStore + InFlightJournal {}

impl<T: RecordStore + RunStore + ChainStore + InFlightJournal + ?Sized> HistoryStore for T {}
