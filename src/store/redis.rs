//! Redis history store — being written (see the Redis helper brief).
use std::path::PathBuf;

use async_trait::async_trait;
use uuid::Uuid;

use super::{ExecutionRecord, HistoryFilter, HistoryStats, HistoryStore, StoreError, StoreHealth};

pub struct RedisStore;

impl RedisStore {
    pub async fn open(
        url: &str,
        _prefix: &str,
        _retention_days: u64,
        _outbox: PathBuf,
    ) -> Result<Self, StoreError> {
        Err(StoreError::RedisUrl {
            url: crate::config::redact_url(url),
            message: "the Redis backend is not built yet".into(),
        })
    }
}

#[async_trait]
impl HistoryStore for RedisStore {
    async fn record(&self, _: &ExecutionRecord) -> Result<(), StoreError> {
        Err(StoreError::Redis("unavailable".into()))
    }
    async fn get(&self, _: Uuid) -> Result<Option<ExecutionRecord>, StoreError> {
        Err(StoreError::Redis("unavailable".into()))
    }
    async fn list(&self, _: &HistoryFilter) -> Result<Vec<ExecutionRecord>, StoreError> {
        Err(StoreError::Redis("unavailable".into()))
    }
    async fn stats(&self, _: &HistoryFilter) -> Result<HistoryStats, StoreError> {
        Err(StoreError::Redis("unavailable".into()))
    }
    async fn recent_durations(&self, _: &str, _: &str, _: usize) -> Result<Vec<u64>, StoreError> {
        Err(StoreError::Redis("unavailable".into()))
    }
    async fn health(&self) -> StoreHealth {
        unreachable!()
    }
}
