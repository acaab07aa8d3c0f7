//! [`DeferredStore`]: the store the MCP server opens after answering `initialize`.

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use super::{
    ChainStore, ExecutionRecord, HistoryFilter, HistoryStats, HistoryStore, InFlight,
    InFlightJournal, InFlightRow, RecordStore, RunStore, StoreError, StoreHealth, open,
};
use crate::config::Config;
use crate::types::chain::{ChainLink, ChainPos};
use crate::types::evidence::EvidenceDraft;
use crate::types::run::{Run, RunOwner};

/// A store opened after start-up: the MCP server answers `initialize` first and opens the
/// database (migrations, fsyncs, a Redis connection) right after — on a 2-core machine an
/// open racing the handshake doubled the cold start. Every store call waits for the open; a
/// failure to open is reported by [`Self::ready`] (the server exits with it) and by every call.
///
/// Code that holds a `DeferredStore` and wants several calls can take the opened store once
/// from [`Self::ready`]; the store traits are implemented too, because the executor is built
/// (with an `Arc<dyn HistoryStore>`) before the store is open.
#[derive(Clone)]
pub struct DeferredStore {
    cell: Arc<tokio::sync::OnceCell<Opened>>,
    config: Arc<Config>,
}

/// The outcome of the open, kept for every later call; the error is shared, not cloned.
type Opened = Result<Arc<dyn HistoryStore>, Arc<StoreError>>;

impl DeferredStore {
    /// A store that opens on first use (or when [`Self::ready`] is first awaited).
    pub fn new(config: &Config) -> Self {
        DeferredStore {
            cell: Arc::default(),
            config: Arc::new(config.clone()),
        }
    }

    /// Waits for the store to be open. An open that failed is not retried: every call gets
    /// the same error (shared: the handle is cloned, a store error cannot be).
    pub async fn ready(&self) -> Result<&Arc<dyn HistoryStore>, StoreError> {
        let config = self.config.clone();
        self.cell
            .get_or_init(|| async move { open(&config).await.map_err(Arc::new) })
            .await
            .as_ref()
            .map_err(|e| StoreError::Unavailable(e.clone()))
    }
}

/// Implements a store trait for [`DeferredStore`] by forwarding: each listed method waits for
/// the open ([`DeferredStore::ready`], whose error it returns) and calls the same method on
/// the opened store. Every forwarded method has that same body, so it is written once, here,
/// and each method is one line below; the compiler checks each line against the trait.
/// Methods that must answer even when the open failed (`health`, `record_linked`) are written
/// out after the list.
///
/// Methods with a default body (`record_batch`) are listed too: left out, they would fall
/// back to the default instead of the backend's own (SQLite: one transaction).
macro_rules! forward {
    (impl $trait:ident {
        $(async fn $method:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*
    } $($own:tt)*) => {
        #[async_trait]
        impl $trait for DeferredStore {
            $(async fn $method(&self $(, $arg: $ty)*) -> $ret {
                self.ready().await?.$method($($arg),*).await
            })*
            $($own)*
        }
    };
}

forward!(impl RecordStore {
    async fn record(&self, record: &ExecutionRecord) -> Result<(), StoreError>;
    async fn record_batch(&self, records: &[ExecutionRecord]) -> Result<(), StoreError>;
    async fn get(&self, id: Uuid) -> Result<Option<ExecutionRecord>, StoreError>;
    async fn list(&self, filter: &HistoryFilter) -> Result<Vec<ExecutionRecord>, StoreError>;
    async fn stats(&self, filter: &HistoryFilter) -> Result<HistoryStats, StoreError>;
    async fn recent_durations(
        &self, category: &str, complexity: &str, limit: usize
    ) -> Result<Vec<u64>, StoreError>;
}

    /// The record comes back even when the store could not be opened.
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

    /// A store that could not be opened is `unavailable`, with the reason.
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
);

forward!(impl RunStore {
    async fn save_run(&self, run: &Run) -> Result<(), StoreError>;
    async fn get_run(&self, id: Uuid) -> Result<Option<Run>, StoreError>;
    async fn list_runs(&self, limit: usize) -> Result<Vec<Run>, StoreError>;
});

forward!(impl ChainStore {
    async fn chain_append(
        &self, execution_id: Uuid, response_sha256: &str
    ) -> Result<ChainLink, StoreError>;
    async fn chain_link(&self, pos: ChainPos) -> Result<Option<ChainLink>, StoreError>;
});

forward!(impl InFlightJournal {
    async fn inflight_add(&self, entry: &InFlight) -> Result<(), StoreError>;
    async fn inflight_list(&self) -> Result<Vec<InFlightRow>, StoreError>;
    async fn inflight_get(&self, id: Uuid) -> Result<Option<InFlight>, StoreError>;
    async fn inflight_claim(
        &self, id: Uuid, expected: Option<&RunOwner>, claimer: &RunOwner
    ) -> Result<bool, StoreError>;
    async fn inflight_remove(&self, id: Uuid) -> Result<(), StoreError>;
});
