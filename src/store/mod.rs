//! The history store: every execution, durably — failures, timeouts and cancellations
//! included — because verification, timeout prediction, task-list resume and people's own
//! questions ("what did it cost this week?") all read it.
//!
//! What callers ask of it is split by need: [`RecordStore`] (executions), [`RunStore`]
//! (task-list runs), [`ChainStore`] (the evidence hash chain) and [`InFlightJournal`]
//! (executions acknowledged, not yet recorded); [`HistoryStore`] is the four together. Two real
//! backends implement them:
//! - [`sqlite`]: the embedded default (WAL, safe for several server processes at once);
//! - [`redis`]: shared across orchestrators and machines, with a local outbox so that nothing
//!   is lost while Redis is away.
//!
//! [`open`] picks the backend from the configuration; [`DeferredStore`] opens it after the MCP
//! handshake. The rest: [`ExecutionRecord`] and [`HistoryFilter`] (what is kept, and which of
//! it a query is about), [`HistoryStats`] (computed the same way by both backends),
//! [`StoreError`], [`query`] (history queries as callers write them) and [`inflight`] (the
//! journal's table).

pub(crate) mod chain;
mod deferred;
mod error;
pub mod inflight;
pub mod query;
mod record;
pub mod redis;
pub mod sqlite;
mod stats;
mod traits;

use std::sync::Arc;

use crate::config::Config;
pub use deferred::DeferredStore;
pub use error::{RedisFailure, StoreError};
pub use inflight::{InFlight, InFlightRow};
pub use record::{
    AnswerRef, ExecutionRecord, ExecutionSummary, HISTORY_ANSWER_HEAD, HISTORY_ANSWER_MAX,
    HistoryFilter,
};
pub use stats::{HistoryStats, Stats};
pub(crate) use stats::{StatRow, StatsBuilder, compute_stats, percentile};
pub use traits::{ChainStore, HistoryStore, InFlightJournal, RecordStore, RunStore, StoreHealth};

/// Opens the configured backend: Redis when a URL is configured, else the embedded store.
pub async fn open(config: &Config) -> Result<Arc<dyn HistoryStore>, StoreError> {
    match &config.redis_url {
        Some(url) => Ok(Arc::new(
            redis::RedisStore::open(
                url,
                &config.redis_prefix,
                config.redis_retention_days,
                config.data_dir.join("outbox.sqlite3"),
            )
            .await?,
        )),
        None => Ok(Arc::new(sqlite::SqliteStore::open(
            &config.data_dir.join("history.sqlite3"),
        )?)),
    }
}
