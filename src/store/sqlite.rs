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

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params_from_iter};
use uuid::Uuid;

use super::inflight::{InFlight, InFlightRow};
use super::{
    ChainStore, ExecutionRecord, HistoryFilter, HistoryStats, InFlightJournal, RecordStore,
    RunStore, StatRow, StatsBuilder, StoreError, StoreHealth,
};
use crate::evidence::EvidenceDraft;
use crate::evidence::chain::{ChainLink, ChainPos};
use crate::exec::result::Status;
use crate::runs::{Run, RunOwner};

/// Migrations, in order; `user_version` = how many have been applied.
const MIGRATIONS: &[&str] = &[
    // 1: executions
    "CREATE TABLE executions (
        id TEXT PRIMARY KEY,
        finished_at INTEGER NOT NULL,
        submitted_at INTEGER NOT NULL,
        status TEXT NOT NULL,
        category TEXT,
        complexity TEXT,
        duration_ms INTEGER NOT NULL,
        cost REAL,
        task TEXT NOT NULL,
        record TEXT NOT NULL
     );
     CREATE INDEX executions_by_time ON executions(finished_at);
     CREATE INDEX executions_by_class ON executions(category, complexity, finished_at);
     -- Statistics read only this index (a covering index), not the records.
     CREATE INDEX executions_stats ON executions(finished_at, status, duration_ms, cost, category, complexity);",
    // 2: pages ordered by (finished_at, id) without sorting ties
    "CREATE INDEX executions_by_time_id ON executions(finished_at, id);
     DROP INDEX executions_by_time;",
    // 3 (evidence): the hash chain over response files; see `crate::evidence::chain`.
    super::chain::SCHEMA,
    // 4: task-list runs, one row per run (the newest revision)
    "CREATE TABLE IF NOT EXISTS runs (
        id TEXT PRIMARY KEY,
        revision INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        state TEXT NOT NULL,
        run TEXT NOT NULL
     );
     CREATE INDEX IF NOT EXISTS runs_by_update ON runs(updated_at, id);",
    // 5: executions acknowledged and not yet recorded; see `super::inflight`.
    super::inflight::SCHEMA,
];

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

struct StatsCache {
    /// The filter, with `limit`/`offset` zeroed (statistics ignore them).
    filter: HistoryFilter,
    data_version: i64,
    builder: StatsBuilder,
}

fn stats_filter(f: &HistoryFilter) -> HistoryFilter {
    HistoryFilter {
        limit: 0,
        offset: 0,
        ..f.clone()
    }
}

/// Whether the `WHERE` clause of [`where_clause`] selects `r` (times in whole milliseconds,
/// as stored). Text search is never applied incrementally.
fn matches_sql(f: &HistoryFilter, r: &ExecutionRecord) -> bool {
    let at = millis(r.finished_at());
    f.status.is_none_or(|s| r.status() == s)
        && f.since.is_none_or(|t| at >= millis(t))
        && f.until.is_none_or(|t| at <= millis(t))
}

fn stat_row(r: &ExecutionRecord) -> StatRow<'_> {
    StatRow {
        status: r.status(),
        duration_ms: r.result.duration_ms,
        cost: r.result.total_cost_usd,
        category: r.category.as_deref(),
        complexity: r.complexity.as_deref(),
    }
}

impl SqliteStore {
    /// Opens (or creates, owner-only) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = open_connection(path)?;
        migrate(&conn).map_err(|message| StoreError::Open {
            path: path.to_path_buf(),
            message,
        })?;
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
            f(&guard).map_err(|e| StoreError::Sqlite {
                path,
                message: e.to_string(),
            })
        })
        .await
        .map_err(|e| StoreError::Internal(e.to_string()))?
    }
}

/// Opens (or creates, owner-only) a SQLite file for durable shared use: a corrupt or foreign
/// file is an error naming the path and is never overwritten; busy timeout; WAL (retried: a
/// new file's switch to WAL can race another process); `synchronous = FULL`. Both the history
/// and the Redis outbox open their files through here.
pub(crate) fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let err = |message: String| StoreError::Open {
        path: path.to_path_buf(),
        message,
    };
    if path.exists() {
        let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
        if !meta.is_file() {
            return Err(err("not a regular file".into()));
        }
        // Unreadable (permissions) is reported as such, not as "not a database".
        std::fs::File::open(path).map_err(|e| err(format!("cannot read it: {e}")))?;
    } else {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        }
        use std::os::unix::fs::OpenOptionsExt;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            // Another process (a second server) created it a moment ago: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(err(e.to_string())),
        }
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| err(e.to_string()))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| err(e.to_string()))?;
    // The first statement that reads the file tells a corrupt or foreign file apart.
    // Switching a new file to WAL needs an exclusive lock, and SQLite does not always run
    // the busy handler for it: two servers starting together would fail. Retry, bounded.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mode: String = loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)) {
            Ok(mode) => break mode,
            Err(rusqlite::Error::SqliteFailure(f, _))
                if matches!(
                    f.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5 + fastrand::u64(0..20)));
            }
            Err(e) => return Err(err(format!("{e} (the file is left untouched)"))),
        }
    };
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(err(format!("cannot switch to WAL mode (got {mode})")));
    }
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        .map_err(|e| err(e.to_string()))?;
    Ok(conn)
}

fn migrate(conn: &Connection) -> Result<(), String> {
    let version = |c: &Connection| -> Result<usize, String> {
        c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
            .map(|v| v as usize)
            .map_err(|e| e.to_string())
    };
    if version(conn)? > MIGRATIONS.len() {
        return Err(format!(
            "schema version {} is newer than this cc-executor understands ({}); upgrade cc-executor",
            version(conn)?,
            MIGRATIONS.len()
        ));
    }
    if version(conn)? == MIGRATIONS.len() {
        return Ok(()); // up to date: no write lock, no transaction
    }
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        // The write lock is taken before the version is read, so two processes opening a new
        // file at once cannot both apply the same migration.
        conn.execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| e.to_string())?;
        let applied = (|| {
            if version(conn)? <= i {
                conn.execute_batch(sql)
                    .map_err(|e| format!("migration {}: {e}", i + 1))?;
                conn.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
                    .map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        })();
        match applied {
            Ok(()) => conn.execute_batch("COMMIT").map_err(|e| e.to_string())?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
    }
    Ok(())
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
    serde_json::from_str(json).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            Box::new(std::io::Error::other(format!("record {id}: {e}"))),
        )
    })
}

fn decode_run(id: &str, json: &str) -> rusqlite::Result<Run> {
    serde_json::from_str(json).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            Box::new(std::io::Error::other(format!("run {id}: {e}"))),
        )
    })
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
         (id, finished_at, submitted_at, status, category, complexity, duration_ms, cost, task, record)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for (r, json) in rows {
        // Recorded: no longer in flight (same transaction, so never in neither place).
        super::inflight::remove(tx, r.execution_id)?;
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
        ])?;
    }
    Ok(replaced)
}

/// Adds committed records to the statistics kept in memory (or drops them when they can no
/// longer be kept current). Called under the connection lock, right after the commit.
fn add_to_stats(
    cache: &Mutex<Option<StatsCache>>,
    rows: &[(ExecutionRecord, String)],
    replaced: bool,
) {
    let mut cached = cache.lock().unwrap_or_else(|p| p.into_inner());
    match cached.as_mut() {
        Some(sc) if !replaced && sc.filter.search.is_none() => {
            for (r, _) in rows {
                if matches_sql(&sc.filter, r) {
                    sc.builder.add(&stat_row(r));
                }
            }
        }
        _ => *cached = None,
    }
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
                        message: e.to_string(),
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
        self.with(move |c| {
            let data_version: i64 = c.query_row("PRAGMA data_version", [], |r| r.get(0))?;
            if let Some(sc) = cache.lock().unwrap_or_else(|p| p.into_inner()).as_ref()
                && sc.filter == wanted
                && sc.data_version == data_version
            {
                return Ok(sc.builder.finish());
            }
            let sql = format!(
                "SELECT status, duration_ms, cost, category, complexity FROM executions {cond}"
            );
            let mut stmt = c.prepare(&sql)?;
            let mut rows = stmt.query(params_from_iter(params))?;
            // Classes are few: intern each (category, complexity) pair once, with one hashed
            // lookup per row, instead of allocating or scanning per row.
            let mut classes: Vec<(Option<String>, Option<String>)> = Vec::new();
            let mut index: std::collections::HashMap<Vec<u8>, u32> =
                std::collections::HashMap::new();
            let mut key: Vec<u8> = Vec::with_capacity(64);
            let mut raw: Vec<(Status, u64, Option<f64>, u32)> = Vec::new();
            while let Some(r) = rows.next()? {
                let status = r
                    .get_ref(0)?
                    .as_str()
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(Status::Crashed);
                let cat = r.get_ref(3)?.as_str().ok();
                let cx = r.get_ref(4)?.as_str().ok();
                key.clear();
                for part in [cat, cx] {
                    match part {
                        Some(t) => {
                            key.push(1);
                            key.extend_from_slice(t.as_bytes());
                            key.push(0);
                        }
                        None => key.push(2),
                    }
                }
                let class = match index.get(key.as_slice()) {
                    Some(c) => *c,
                    None => {
                        classes.push((cat.map(str::to_string), cx.map(str::to_string)));
                        let c = classes.len() as u32 - 1;
                        index.insert(key.clone(), c);
                        c
                    }
                };
                raw.push((status, r.get::<_, i64>(1)? as u64, r.get(2)?, class));
            }
            let mut builder = StatsBuilder::default();
            for (s, d, c, class) in &raw {
                let (cat, cx) = &classes[*class as usize];
                builder.add(&StatRow {
                    status: *s,
                    duration_ms: *d,
                    cost: *c,
                    category: cat.as_deref(),
                    complexity: cx.as_deref(),
                });
            }
            let stats = builder.finish();
            *cache.lock().unwrap_or_else(|p| p.into_inner()) = Some(StatsCache {
                filter: wanted,
                data_version,
                builder,
            });
            Ok(stats)
        })
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
                let chain = super::chain::append_in(&tx, id, &evidence.response_sha256)?;
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
                written.map_err(|e: rusqlite::Error| StoreError::Sqlite {
                    path,
                    message: e.to_string(),
                }),
            ),
            Err(e) => (
                ExecutionRecord::lost(id),
                Err(StoreError::Internal(e.to_string())),
            ),
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
            message: e.to_string(),
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
        self.with(move |c| super::chain::append(c, execution_id, &hash))
            .await
    }

    async fn chain_link(&self, pos: ChainPos) -> Result<Option<ChainLink>, StoreError> {
        self.with(move |c| super::chain::get(c, pos)).await
    }
}

#[async_trait]
impl InFlightJournal for SqliteStore {
    async fn inflight_add(&self, entry: &InFlight) -> Result<(), StoreError> {
        let entry = entry.clone();
        self.with(move |c| super::inflight::add(c, &entry)).await
    }

    async fn inflight_list(&self) -> Result<Vec<InFlightRow>, StoreError> {
        self.with(super::inflight::list).await
    }

    async fn inflight_get(&self, id: Uuid) -> Result<Option<InFlight>, StoreError> {
        self.with(move |c| super::inflight::get(c, id)).await
    }

    async fn inflight_claim(
        &self,
        id: Uuid,
        expected: Option<&RunOwner>,
        claimer: &RunOwner,
    ) -> Result<bool, StoreError> {
        let (expected, claimer) = (expected.cloned(), claimer.clone());
        self.with(move |c| super::inflight::claim(c, id, expected.as_ref(), &claimer))
            .await
    }

    async fn inflight_remove(&self, id: Uuid) -> Result<(), StoreError> {
        self.with(move |c| super::inflight::remove(c, id).map(|_| ()))
            .await
    }
}
