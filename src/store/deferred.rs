//! [`DeferredStore`]: the store the MCP server opens after answering `initialize`.

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use super::{
    ExecutionRecord, HistoryFilter, HistoryStats, HistoryStore, InFlight, InFlightRow, StoreError,
    StoreHealth, open,
};
use crate::config::Config;
use crate::evidence::EvidenceDraft;
use crate::evidence::chain::{ChainLink, ChainPos};
use crate::runs::{Run, RunOwner};

/// A store opened after start-up: the MCP server answers `initialize` first and opens the
/// database (migrations, fsyncs, a Redis connection) right after — on a 2-core machine an
/// open racing the handshake doubled the cold start. Every store call waits for the open; a
/// failure to open is reported by [`Self::ready`] (the server exits with it) and by every call.
#[derive(Clone)]
pub struct DeferredStore {
    cell: Arc<tokio::sync::OnceCell<Result<Arc<dyn HistoryStore>, String>>>,
    config: Arc<Config>,
}

impl DeferredStore {
    /// A store that opens on first use (or when [`Self::ready`] is first awaited).
    pub fn new(config: &Config) -> Self {
        DeferredStore {
            cell: Arc::default(),
            config: Arc::new(config.clone()),
        }
    }

    /// Waits for the store to be open.
    pub async fn ready(&self) -> Result<&Arc<dyn HistoryStore>, StoreError> {
        let config = self.config.clone();
        self.cell
            .get_or_init(|| async move { open(&config).await.map_err(|e| e.to_string()) })
            .await
            .as_ref()
            .map_err(|e| StoreError::Unavailable(e.clone()))
    }
}

#[async_trait]
impl HistoryStore for DeferredStore {
    async fn record(&self, record: &ExecutionRecord) -> Result<(), StoreError> {
        self.ready().await?.record(record).await
    }
    async fn record_batch(&self, records: &[ExecutionRecord]) -> Result<(), StoreError> {
        self.ready().await?.record_batch(records).await
    }
    async fn get(&self, id: Uuid) -> Result<Option<ExecutionRecord>, StoreError> {
        self.ready().await?.get(id).await
    }
    async fn list(&self, filter: &HistoryFilter) -> Result<Vec<ExecutionRecord>, StoreError> {
        self.ready().await?.list(filter).await
    }
    async fn stats(&self, filter: &HistoryFilter) -> Result<HistoryStats, StoreError> {
        self.ready().await?.stats(filter).await
    }
    async fn recent_durations(
        &self,
        category: &str,
        complexity: &str,
        limit: usize,
    ) -> Result<Vec<u64>, StoreError> {
        self.ready()
            .await?
            .recent_durations(category, complexity, limit)
            .await
    }
    async fn save_run(&self, run: &Run) -> Result<(), StoreError> {
        self.ready().await?.save_run(run).await
    }
    async fn get_run(&self, id: Uuid) -> Result<Option<Run>, StoreError> {
        self.ready().await?.get_run(id).await
    }
    async fn list_runs(&self, limit: usize) -> Result<Vec<Run>, StoreError> {
        self.ready().await?.list_runs(limit).await
    }
    async fn chain_append(
        &self,
        execution_id: Uuid,
        response_sha256: &str,
    ) -> Result<ChainLink, StoreError> {
        self.ready()
            .await?
            .chain_append(execution_id, response_sha256)
            .await
    }
    async fn inflight_add(&self, entry: &InFlight) -> Result<(), StoreError> {
        self.ready().await?.inflight_add(entry).await
    }
    async fn inflight_list(&self) -> Result<Vec<InFlightRow>, StoreError> {
        self.ready().await?.inflight_list().await
    }
    async fn inflight_get(&self, id: Uuid) -> Result<Option<InFlight>, StoreError> {
        self.ready().await?.inflight_get(id).await
    }
    async fn inflight_claim(
        &self,
        id: Uuid,
        expected: Option<&RunOwner>,
        claimer: &RunOwner,
    ) -> Result<bool, StoreError> {
        self.ready()
            .await?
            .inflight_claim(id, expected, claimer)
            .await
    }
    async fn inflight_remove(&self, id: Uuid) -> Result<(), StoreError> {
        self.ready().await?.inflight_remove(id).await
    }
    async fn chain_link(&self, pos: ChainPos) -> Result<Option<ChainLink>, StoreError> {
        self.ready().await?.chain_link(pos).await
    }
    async fn record_linked(
        &self,
        record: ExecutionRecord,
        evidence: EvidenceDraft,
    ) -> (ExecutionRecord, Result<(), StoreError>) {
        match self.ready().await {
            Ok(store) => store.record_linked(record, evidence).await,
            Err(e) => (record, Err(e)),
        }
    }
    async fn health(&self) -> StoreHealth {
        match self.ready().await {
            Ok(s) => s.health().await,
            Err(e) => StoreHealth {
                backend: if self.config.redis_url.is_some() {
                    "redis"
                } else {
                    "sqlite"
                }
                .into(),
                location: String::new(),
                state: "unavailable".into(),
                outbox_pending: 0,
                detail: Some(e.to_string()),
            },
        }
    }
}
