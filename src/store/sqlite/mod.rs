//! The embedded history store: one SQLite file in the data dir (bundled SQLite, nothing to
//! install).
//!
//! - WAL mode and a busy timeout: several server processes (several Claude Code windows) share
//!   the file without corruption or lost writes.
//! - `synchronous = FULL`: a record is on disk when [`RecordStore::record`] returns.
//! - Schema migrations are versioned in code (`PRAGMA user_version`); a file from a newer
//!   version is refused rather than touched.
//! - An unreadable or corrupt file is an error naming the path; it is never overwritten.
//!
//! Each record is kept whole as JSON next to the columns queries filter and aggregate on.

mod schema;
mod stats;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params_from_iter};
use uuid::Uuid;

pub(crate) use self::schema::open_connection;
use self::stats::{StatsCache, add_to_stats, stats_filter};
use super::{
    ChainStore, ExecutionRecord, HistoryFilter, HistoryStats, InFlightJournal, RecordStore,
    RunStore, StoreError, StoreHealth,
};
use crate::store::inflight::{InFlight, InFlightRow};
use crate::types::chain::{ChainLink, ChainPos};
use crate::types::evidence::EvidenceDraft;
use crate::types::run::{Run, RunOwner};

/// The embedded store.
#[derive(Clone)]
pub struct SqliteStore {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
    /// The statistics of the last filter asked for, kept as a builder. Our own new records
    /// are added to it as they are written (under the connection lock); a commit by another
    /// process (`PRAGMA data_version` changes), a replaced record or a text search make the
    /// next call read everything again.
    stats_cache: Arc<Mutex<Option<StatsCache>>>,
}

impl SqliteStore {
    /// Opens (or creates, owner-only) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = open_connection(path)?;
        schema::migrate(&conn, path)?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            conn: Arc::new(Mutex::new(conn)),
            stats_cache: Arc::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the connection in the blocking pool.
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&guard).map_err(|source| StoreError::Sqlite { path, source })
        })
        .await
        .map_err(StoreError::Task)?
    }
}

fn millis(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_millis()
}

/// SQL `WHERE` clause and parameters for a filter.
fn where_clause(f: &HistoryFilter) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value;
    let mut conds = Vec::new();
    let mut params = Vec::new();
    if let Some(s) = f.status {
        conds.push("status = ?");
        params.push(Value::Text(s.as_str().into()));
    }
    if let Some(t) = f.since {
        conds.push("finished_at >= ?");
        params.push(Value::Integer(millis(t)));
    }
    if let Some(t) = f.until {
        conds.push("finished_at <= ?");
        params.push(Value::Integer(millis(t)));
    }
    if let Some(q) = &f.search {
        conds.push("task LIKE ? ESCAPE '\\'");
        let escaped = q
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        params.push(Value::Text(format!("%{escaped}%")));
    }
    let sql = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    (sql, params)
}

fn decode(id: &str, json: &str) -> rusqlite::Result<ExecutionRecord> {
    serde_json::from_str(json).map_err(|e| undecodable(format!("record {id}"), e))
}

fn decode_run(id: &str, json: &str) -> rusqlite::Result<Run> {
    serde_json::from_str(json).map_err(|e| undecodable(format!("run {id}"), e))
}

/// A stored JSON value that does not decode, carried out of the query as the cause of a
/// rusqlite error (so it reaches the caller as [`StoreError::Sqlite`], JSON error included).
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
struct Undecodable {
    /// What the value is: `record {id}`, `run {id}`.
    what: String,
    #[source]
    source: serde_json::Error,
}

fn undecodable(what: String, source: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        Box::new(Undecodable { what, source }),
    )
}

/// Inserts (or replaces) records inside the caller's write transaction; `true` when any
/// replaced an existing one (the statistics kept in memory must then be read again).
fn write_rows(tx: &Connection, rows: &[(ExecutionRecord, String)]) -> rusqlite::Result<bool> {
    let mut replaced = false;
    {
        let mut exists = tx.prepare_cached("SELECT 1 FROM executions WHERE id = ?1")?;
        for (r, _) in rows {
            replaced |= exists.exists([r.execution_id.to_string()])?;
        }
    }
    let mut stmt = tx.prepare_cached(
        "INSERT OR REPLACE INTO executions
         (id, finished_at, submitted_at, status, category, complexity, duration_ms, cost, task, record, accepted, repairs)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    for (r, json) in rows {
        // Recorded: no longer in flight (same transaction, so never in neither place).
        crate::store::inflight::remove(tx, r.execution_id)?;
        let (accepted, repairs) = r.acceptance_outcome();
        stmt.execute(rusqlite::params![
            r.execution_id.to_string(),
            millis(r.finished_at()),
            millis(r.submitted_at),
            r.status().as_str(),
            r.category,
            r.complexity,
            r.result.duration_ms as i64,
            r.result.total_cost_usd,
            r.task,
            json,
            accepted,
            repairs,
        ])?;
    }
    Ok(replaced)
}

#[async_trait]
impl RecordStore for SqliteStore {
    async fn record(&self, record: &ExecutionRecord) -> Result<(), StoreError> {
        self.record_batch(std::slice::from_ref(record)).await
    }

    async fn record_batch(&self, records: &[ExecutionRecord]) -> Result<(), StoreError> {
        let rows = records
            .iter()
            .map(|r| {
                serde_json::to_string(r)
                    .map(|json| (r.clone(), json))
                    .map_err(|e| StoreError::Corrupt {
                        id: r.execution_id.to_string(),
                        source: e,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cache = self.stats_cache.clone();
        self.with(move |c| {
            // One transaction: all or nothing, one fsync. IMMEDIATE takes the write lock up
            // front (waiting out other processes through the busy timeout): a transaction that
            // reads first and upgrades later fails at once in WAL mode when another process
            // committed in between.
            let tx =
                rusqlite::Transaction::new_unchecked(c, rusqlite::TransactionBehavior::Immediate)?;
            let replaced = write_rows(&tx, &rows)?;
            tx.commit()?;
            // Still under the connection lock: no other write or read can interleave.
            add_to_stats(&cache, &rows, replaced);
            Ok(())
        })
        .await
    }

    async fn get(&self, id: Uuid) -> Result<Option<ExecutionRecord>, StoreError> {
        self.with(move |c| {
            let key = id.to_string();
            let json: Option<String> = c
                .query_row("SELECT record FROM executions WHERE id = ?1", [&key], |r| {
                    r.get(0)
                })
                .optional()?;
            json.map(|j| decode(&key, &j)).transpose()
        })
        .await
    }

    async fn list(&self, filter: &HistoryFilter) -> Result<Vec<ExecutionRecord>, StoreError> {
        let (cond, mut params) = where_clause(filter);
        params.push(rusqlite::types::Value::Integer(filter.limit as i64));
        params.push(rusqlite::types::Value::Integer(filter.offset as i64));
        self.with(move |c| {
            let sql = format!(
                "SELECT id, record FROM executions {cond} ORDER BY finished_at DESC, id LIMIT ? OFFSET ?"
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(params), |r| {
                let id: String = r.get(0)?;
                let json: String = r.get(1)?;
                decode(&id, &json)
            })?;
            rows.collect()
        })
        .await
    }

    async fn stats(&self, filter: &HistoryFilter) -> Result<HistoryStats, StoreError> {
        let (cond, params) = where_clause(filter);
        let wanted = stats_filter(filter);
        let cache = self.stats_cache.clone();
        self.with(move |c| stats::read(c, &cond, params, wanted, &cache))
            .await
    }

    async fn recent_durations(
        &self,
        category: &str,
        complexity: &str,
        limit: usize,
    ) -> Result<Vec<u64>, StoreError> {
        let (cat, cx) = (category.to_string(), complexity.to_string());
        self.with(move |c| {
            let mut stmt = c.prepare(
                "SELECT duration_ms FROM executions WHERE category = ?1 AND complexity = ?2
                 ORDER BY finished_at DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(rusqlite::params![cat, cx, limit as i64], |r| {
                r.get::<_, i64>(0).map(|d| d as u64)
            })?;
            rows.collect()
        })
        .await
    }

    /// The chain link and the record in one transaction: one disk flush instead of two.
    async fn record_linked(
        &self,
        record: ExecutionRecord,
        evidence: EvidenceDraft,
    ) -> (ExecutionRecord, Result<(), StoreError>) {
        let cache = self.stats_cache.clone();
        let (conn, path) = (self.conn.clone(), self.path.clone());
        let id = record.execution_id;
        // The record moves to the blocking thread and back (never copied: it may carry a
        // 200 MB answer), and comes back whether or not it could be stored.
        let joined = tokio::task::spawn_blocking(move || {
            let c = conn.lock().unwrap_or_else(|p| p.into_inner());
            let mut rows = [(record, String::new())];
            let written = (|| {
                let tx = rusqlite::Transaction::new_unchecked(
                    &c,
                    rusqlite::TransactionBehavior::Immediate,
                )?;
                let chain = crate::store::chain::append_in(&tx, id, &evidence.response_sha256)?;
                rows[0].0.result.evidence = Some(evidence.linked(chain));
                rows[0].1 = serde_json::to_string(&rows[0].0)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
                let replaced = write_rows(&tx, &rows)?;
                tx.commit()?;
                Ok(replaced)
            })();
            if let Ok(replaced) = written {
                add_to_stats(&cache, &rows, replaced);
            }
            let [(record, _)] = rows;
            (record, written.map(|_| ()))
        })
        .await;
        match joined {
            Ok((record, written)) => (
                record,
                written.map_err(|source| StoreError::Sqlite { path, source }),
            ),
            Err(e) => (ExecutionRecord::lost(id), Err(StoreError::Task(e))),
        }
    }

    async fn health(&self) -> StoreHealth {
        let ok = self
            .with(|c| {
                c.query_row("SELECT count(*) FROM executions", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .await;
        StoreHealth {
            backend: "sqlite".into(),
            location: self.path.display().to_string(),
            state: if ok.is_ok() { "ok" } else { "degraded" }.into(),
            outbox_pending: 0,
            detail: match ok {
                Ok(n) => Some(format!("{n} executions recorded")),
                Err(e) => Some(e.to_string()),
            },
        }
    }
}

#[async_trait]
impl RunStore for SqliteStore {
    async fn save_run(&self, run: &Run) -> Result<(), StoreError> {
        let json = serde_json::to_string(run).map_err(|e| StoreError::Corrupt {
            id: run.run_id.to_string(),
            source: e,
        })?;
        let (id, revision, updated, state) = (
            run.run_id.to_string(),
            run.revision as i64,
            millis(run.updated_at),
            run.state.as_str(),
        );
        self.with(move |c| {
            // An older revision (a late writer) never replaces a newer one.
            c.execute(
                "INSERT INTO runs (id, revision, updated_at, state, run) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(id) DO UPDATE SET revision = excluded.revision,
                    updated_at = excluded.updated_at, state = excluded.state, run = excluded.run
                 WHERE excluded.revision > runs.revision",
                rusqlite::params![id, revision, updated, state, json],
            )
            .map(|_| ())
        })
        .await
    }

    async fn get_run(&self, id: Uuid) -> Result<Option<Run>, StoreError> {
        self.with(move |c| {
            let key = id.to_string();
            let json: Option<String> = c
                .query_row("SELECT run FROM runs WHERE id = ?1", [&key], |r| r.get(0))
                .optional()?;
            json.map(|j| decode_run(&key, &j)).transpose()
        })
        .await
    }

    async fn list_runs(&self, limit: usize) -> Result<Vec<Run>, StoreError> {
        self.with(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, run FROM runs ORDER BY updated_at DESC, id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit.min(i64::MAX as usize) as i64], |r| {
                let id: String = r.get(0)?;
                let json: String = r.get(1)?;
                decode_run(&id, &json)
            })?;
            rows.collect()
        })
        .await
    }
}

#[async_trait]
impl ChainStore for SqliteStore {
    async fn chain_append(
        &self,
        execution_id: Uuid,
        response_sha256: &str,
    ) -> Result<ChainLink, StoreError> {
        let hash = response_sha256.to_string();
        self.with(move |c| crate::store::chain::append(c, execution_id, &hash))
            .await
    }

    async fn chain_link(&self, pos: ChainPos) -> Result<Option<ChainLink>, StoreError> {
        self.with(move |c| crate::store::chain::get(c, pos)).await
    }
}

#[async_trait]
impl InFlightJournal for SqliteStore {
    async fn inflight_add(&self, entry: &InFlight) -> Result<(), StoreError> {
        let entry = entry.clone();
        self.with(move |c| crate::store::inflight::add(c, &entry))
            .await
    }

    async fn inflight_list(&self) -> Result<Vec<InFlightRow>, StoreError> {
        self.with(crate::store::inflight::list).await
    }

    async fn inflight_get(&self, id: Uuid) -> Result<Option<InFlight>, StoreError> {
        self.with(move |c| crate::store::inflight::get(c, id)).await
    }

    async fn inflight_claim(
        &self,
        id: Uuid,
        expected: Option<&RunOwner>,
        claimer: &RunOwner,
    ) -> Result<bool, StoreError> {
        let (expected, claimer) = (expected.cloned(), claimer.clone());
        self.with(move |c| crate::store::inflight::claim(c, id, expected.as_ref(), &claimer))
            .await
    }

    async fn inflight_remove(&self, id: Uuid) -> Result<(), StoreError> {
        self.with(move |c| crate::store::inflight::remove(c, id).map(|_| ()))
            .await
    }
}
