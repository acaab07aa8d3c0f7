//! The Redis history store: one history shared by every orchestrator and machine that points
//! at the same Redis, with a local outbox so that nothing is lost while Redis is away.
//!
//! # Key schema
//!
//! Every key starts with the configured prefix `{p}` (`redis_prefix`, default `cc_executor`).
//! `{id}` is the execution id (UUID, lowercase, hyphenated); times are Unix milliseconds; a
//! *summary* is `finished_ms|status|duration_ms|cost|category|complexity`, and for an execution
//! with acceptance checks `|p<repairs>` (passed) or `|r<repairs>` (rejected) after it.
//!
//! | key | type | content |
//! |---|---|---|
//! | `{p}:exec:{id}` | STRING | the whole [`ExecutionRecord`] as JSON (`EX` = retention + 1 h) |
//! | `{p}:idx` | ZSET | member `{id}`, score `finished_at`: the time-ordered index |
//! | `{p}:sum` | HASH | field `{id}` → its summary (looked up by the scripts) |
//! | `{p}:sumb:{hour}` | STRING | summary rows `\n{id}\|{summary}\n…` of the executions that finished in that hour (`finished_ms / 3600000`): what `stats` reads |
//! | `{p}:buckets` | ZSET | the `{hour}`s that have a `sumb` key (member = score = hour) |
//! | `{p}:written` | ZSET | member `{id}`, score = time of its last write: the retention clock |
//! | `{p}:dur:{category}:{complexity}` | ZSET | member `{id}`, score `finished_at`: the 200 newest of a class (`recent_durations`) |
//! | `{p}:counters` | HASH | `count`, `status:{status}`, `duration_ms`, `cost_known`, `cost_usd`: running totals |
//! | `{p}:run:{run_id}` | HASH | `rev` (revision) and `json` (the whole task-list [`Run`]) (`EX` = retention + 1 h) |
//! | `{p}:runs` | ZSET | member `{run_id}`, score = time of its last update: runs newest first |
//!
//! In a summary an unknown cost is an empty field, an unknown category/complexity is empty and
//! a known one is `+` followed by the text, in which (as in `dur` key names) `%`, `|`, `:` and
//! newlines are escaped as `%25`, `%7C`, `%3A`, `%0A`.
//!
//! # Writes
//!
//! One Lua script (`EVALSHA`, atomic) per record. When the summary of `{id}` is new, or changed
//! (a replaced record), it updates the counters (undoing the old summary first), the summary
//! hash and the hour bucket (`APPEND`; a changed row is cut out of its old bucket); an
//! identical summary touches none of them, so a replayed record is never counted twice. Then it
//! `SET`s the record with `EX`, `ZADD`s the index, the retention clock and the class set
//! (trimmed to the 200 newest with `ZREMRANGEBYRANK`), and refreshes `EXPIRE` on every key it
//! wrote (index, summaries, buckets, counters, class). Retention: a record lives
//! `redis_retention_days` after its last write; executions whose last write is older are
//! trimmed from every structure (`ZRANGEBYSCORE` on `{p}:written`, at most 500 per call) by
//! every write and once a minute by the background task. A history nobody writes to expires
//! whole. Nothing enumerates the keyspace (every key is reachable from `{p}:idx` or
//! `{p}:buckets`): no `KEYS`, and no `SCAN` needed. Standalone Redis ≥ 6 (or a primary behind
//! Sentinel), not Redis Cluster: the scripts touch keys they derive from summaries.
//!
//! Task-list runs are saved by a second script that writes `{p}:run:{id}` only when the
//! revision it brings is newer than the stored one (a replayed or late snapshot never rolls a
//! run back), `ZADD`s `{p}:runs`, drops runs older than the retention from it and refreshes
//! both keys' `EXPIRE`.
//!
//! # Reads
//!
//! `stats` reads the hour buckets of the filter's time range (`ZRANGEBYSCORE {p}:buckets`, then
//! `MGET`: two round trips, a few large strings, no per-execution reply element), filters the
//! rows by status and exact time, and hands them to `compute_stats`, the function the SQLite
//! store uses, so the numbers are the same. `list` without a status or text filter reads one
//! page of the index; with them it filters the bucket rows and fetches records (`MGET`, in
//! chunks; the text search reads records until the page is full). `recent_durations` is one
//! script call (`ZREVRANGE` on the class, `HMGET` on the summaries). Order and time comparison
//! follow the SQLite store: newest first, ties by id, times at millisecond precision.
//!
//! # Outbox: nothing is lost when Redis fails
//!
//! A local SQLite file (`outbox_path`, WAL, `synchronous = FULL`) with a table
//! `outbox(seq INTEGER PRIMARY KEY AUTOINCREMENT, execution_id, queued_at, record)`.
//! Redis unreachable at start-up is not an error: the store opens *degraded*. While degraded,
//! or when a write to Redis fails, [`RecordStore::record`] appends the record to the outbox and
//! returns `Ok` (the record is on disk). A background task probes Redis every 500 ms while
//! degraded, then replays the outbox in `seq` order, deleting entries only after Redis
//! confirmed their script; every write that reaches Redis replays the outbox first, so order is
//! kept. An entry that cannot be parsed is moved to `outbox_rejected` (kept, logged) rather than
//! blocking the rest. While degraded, `get` still finds records waiting in the outbox; other
//! reads fail with an error that says Redis is unreachable and how many records wait. Run
//! snapshots wait in a second table, `outbox_runs(run_id PRIMARY KEY, revision, queued_at,
//! run)`, which keeps only the newest revision of each run; they are replayed after the
//! execution records, and `get_run` reads them first. Every
//! connection attempt and command is bounded (1 s connect, 2 s response, 3 s overall).
//!
//! # Evidence chain
//!
//! The evidence hash chain ([`crate::types::chain`]) is kept in the same local file (table
//! `evidence_chain`), not in Redis, on purpose: the chain protects the response files, and those
//! live in this machine's data dir. A chain in Redis would interleave the links of every machine
//! (so no machine could walk its own), would be unwritable while Redis is away (the outbox case),
//! and would expire with the retention. Appends take SQLite's write lock (`BEGIN IMMEDIATE`), so
//! several processes sharing the data dir extend one chain safely. Every record still carries its
//! link (`result.evidence.chain`), so the link also reaches Redis with the record.
//!
//! # Files
//!
//! - `mod.rs`: this overview, the store, its connection and its health;
//! - `write.rs`: records and run snapshots to Redis, or to the outbox;
//! - `read.rs`: records, pages, statistics and durations read back;
//! - `summary.rs`: the summary codec (and the escaping of key names);
//! - `scripts.rs` and `lua/*.lua`: the Lua scripts;
//! - `background.rs`: the background task (outbox replay, retention trims);
//! - `outbox.rs`: the local outbox file;
//! - `local.rs`: the evidence chain and the in-flight journal, kept in that file.

mod background;
mod local;
mod outbox;
mod read;
mod scripts;
mod summary;
mod write;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::FromRedisValue;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use uuid::Uuid;

use self::outbox::Outbox;
use self::scripts::Scripts;
use self::summary::esc;
use super::{
    ChainStore, ExecutionRecord, HistoryFilter, HistoryStats, RecordStore, RedisFailure, RunStore,
    StoreError, StoreHealth,
};
use crate::config::redact_url;
use crate::types::evidence::EvidenceDraft;
use crate::types::run::Run;

/// Each connection attempt gives up after this.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Each command gives up after this.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Outer guard around every Redis call (connect + command), in case a layer below misbehaves.
const CALL_GUARD: Duration = Duration::from_secs(3);
/// How often the background task probes Redis while degraded (or while the outbox has entries).
const RETRY_INTERVAL: Duration = Duration::from_millis(500);
/// How often it looks at the outbox (other processes may share it) when all is well.
const IDLE_INTERVAL: Duration = Duration::from_secs(5);
/// How often it trims the index by retention when nothing is written.
const TRIM_INTERVAL: Duration = Duration::from_secs(60);
/// Durations kept per category+complexity (newest by `finished_at`).
const DURATIONS_KEPT: usize = 200;
/// Record keys (and aggregates) outlive the retention by this much, so the index is always
/// trimmed before a record it points to expires.
const TTL_GRACE_SECS: u64 = 3600;
/// Index entries trimmed by retention per script call (bounds the time a script blocks Redis).
const TRIM_BATCH: usize = 500;
/// Outbox entries replayed per batch (the write lock is released between batches).
const REPLAY_BATCH: usize = 100;
/// A `record` call replays at most this many waiting entries before its own record; beyond that
/// its record joins the outbox (still in order) and the background task carries on.
const REPLAY_BUDGET: usize = 1000;
/// Records fetched per `MGET`.
const FETCH_CHUNK: usize = 200;

/// The Redis store. See the [module documentation](self) for the key schema and the outbox.
pub struct RedisStore {
    inner: Arc<Inner>,
    task: tokio::task::AbortHandle,
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Default)]
struct State {
    degraded: bool,
    last_error: Option<String>,
}

struct Inner {
    /// The URL with its password redacted (health, errors).
    location: String,
    prefix: String,
    key_ttl_secs: u64,
    retention_ms: i64,
    conn: ConnectionManager,
    scripts: Scripts,
    outbox: Outbox,
    /// Held while writing to Redis or replaying the outbox: keeps writes in order.
    write_lock: tokio::sync::Mutex<()>,
    state: Mutex<State>,
    /// The outbox may have entries (this process put some there, or found some).
    dirty: AtomicBool,
    wake: tokio::sync::Notify,
    last_trim: Mutex<Instant>,
}

impl RedisStore {
    /// Opens the store. A malformed URL or an unusable outbox file is an error; Redis being
    /// unreachable is not: the store starts degraded and connects in the background.
    pub async fn open(
        url: &str,
        prefix: &str,
        retention_days: u64,
        outbox_path: PathBuf,
    ) -> Result<Self, StoreError> {
        let location = redact_url(url);
        let client = redis::Client::open(url).map_err(|e| StoreError::RedisUrl {
            url: location.clone(),
            message: format!(
                "{} (expected redis://[user:password@]host[:port][/db] or unix:///path/to/socket)",
                scrub(&e.to_string(), url)
            ),
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            // No retry loop inside a call: a call fails fast, the background task retries.
            .set_number_of_retries(0);
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(|e| {
            StoreError::RedisUrl {
                url: location.clone(),
                message: scrub(&e.to_string(), url),
            }
        })?;
        let outbox = {
            let path = outbox_path.clone();
            tokio::task::spawn_blocking(move || Outbox::open(&path))
                .await
                .map_err(StoreError::Task)??
        };
        let retention_secs = retention_days.max(1).saturating_mul(86_400);
        let inner = Arc::new(Inner {
            location,
            prefix: prefix.to_string(),
            key_ttl_secs: retention_secs.saturating_add(TTL_GRACE_SECS),
            retention_ms: i64::try_from(retention_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
            conn,
            scripts: Scripts::load(),
            outbox,
            write_lock: tokio::sync::Mutex::new(()),
            state: Mutex::new(State::default()),
            dirty: AtomicBool::new(false),
            wake: tokio::sync::Notify::new(),
            last_trim: Mutex::new(Instant::now()),
        });
        if inner.outbox.count().await? > 0 {
            inner.dirty.store(true, Ordering::SeqCst);
        }
        match inner.ping().await {
            Ok(()) => inner.wake.notify_one(),
            Err(e) => inner.set_degraded(&e),
        }
        let task = tokio::spawn(background::background(Arc::downgrade(&inner))).abort_handle();
        Ok(RedisStore { inner, task })
    }

    /// The outbox file.
    pub fn outbox_path(&self) -> &Path {
        &self.inner.outbox.path
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Removes the URL (it may hold a password) from a message of the redis crate.
fn scrub(message: &str, url: &str) -> String {
    if url.is_empty() {
        message.to_string()
    } else {
        message.replace(url, &redact_url(url))
    }
}

impl Inner {
    fn key(&self, rest: &str) -> String {
        format!("{}:{rest}", self.prefix)
    }

    fn exec_key(&self, id: &str) -> String {
        self.key(&format!("exec:{id}"))
    }

    fn dur_key(&self, category: &str, complexity: &str) -> String {
        self.key(&format!("dur:{}:{}", esc(category), esc(complexity)))
    }

    fn is_degraded(&self) -> bool {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .degraded
    }

    fn set_degraded(&self, e: &StoreError) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if !s.degraded {
            tracing::warn!(
                location = %self.location,
                error = %e,
                "Redis history store degraded: records go to the local outbox until Redis is back"
            );
        }
        s.degraded = true;
        s.last_error = Some(e.detail());
    }

    fn set_ok(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.degraded {
            tracing::info!(location = %self.location, "Redis history store reachable again");
        }
        s.degraded = false;
    }

    /// Runs one Redis call under the outer guard.
    async fn call<T>(
        &self,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(CALL_GUARD, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(source)) => Err(StoreError::Redis(RedisFailure::Command {
                location: self.location.clone(),
                source,
            })),
            Err(_) => Err(StoreError::Redis(RedisFailure::Timeout {
                location: self.location.clone(),
                secs: CALL_GUARD.as_secs(),
            })),
        }
    }

    async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StoreError> {
        let mut con = self.conn.clone();
        self.call(cmd.query_async(&mut con)).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let pong: String = self.query(&redis::cmd("PING")).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(StoreError::Redis(RedisFailure::UnexpectedPing {
                location: self.location.clone(),
                answer: pong,
            }))
        }
    }

    fn run_key(&self, id: &str) -> String {
        self.key(&format!("run:{id}"))
    }

    /// See [`RecordStore::health`]: also wakes the background task when Redis is back.
    pub(super) async fn health(&self) -> StoreHealth {
        let pending = self.outbox.count().await;
        let ping = self.ping().await;
        if ping.is_ok() && (self.is_degraded() || matches!(pending, Ok(n) if n > 0)) {
            self.dirty.store(true, Ordering::SeqCst);
            self.wake.notify_one();
        }
        let last_error = self
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last_error
            .clone();
        let (state, detail) = match (&ping, &pending) {
            (Ok(()), Ok(0)) => {
                let indexed: Result<u64, _> =
                    self.query(redis::cmd("ZCARD").arg(self.key("idx"))).await;
                (
                    "ok",
                    match indexed {
                        Ok(n) => format!("{n} executions indexed under `{}:`", self.prefix),
                        Err(e) => e.to_string(),
                    },
                )
            }
            (Ok(()), Ok(n)) => (
                "degraded",
                format!(
                    "Redis is reachable; {n} record(s) in the outbox {} wait to be replayed{}",
                    self.outbox.path.display(),
                    last_error
                        .map(|e| format!(" (last error: {e})"))
                        .unwrap_or_default()
                ),
            ),
            (Err(e), Ok(n)) => (
                "degraded",
                format!(
                    "Redis unreachable: {}; {n} record(s) wait in the outbox {}",
                    e.detail(),
                    self.outbox.path.display()
                ),
            ),
            (_, Err(e)) => ("degraded", format!("outbox unusable: {e}")),
        };
        StoreHealth {
            backend: "redis".into(),
            location: self.location.clone(),
            state: state.into(),
            outbox_pending: pending.unwrap_or(0),
            detail: Some(detail),
        }
    }
}

#[async_trait]
impl RecordStore for RedisStore {
    async fn record(&self, record: &ExecutionRecord) -> Result<(), StoreError> {
        self.inner.record(record).await
    }

    /// The link first (in the local file, with the end of the journal entry), then the record
    /// (to Redis or the outbox): two steps, as the chain is not in Redis.
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

    async fn get(&self, id: Uuid) -> Result<Option<ExecutionRecord>, StoreError> {
        self.inner.get(id).await
    }

    async fn list(&self, filter: &HistoryFilter) -> Result<Vec<ExecutionRecord>, StoreError> {
        self.inner.list(filter).await
    }

    async fn stats(&self, filter: &HistoryFilter) -> Result<HistoryStats, StoreError> {
        self.inner.stats(filter).await
    }

    async fn recent_durations(
        &self,
        category: &str,
        complexity: &str,
        limit: usize,
    ) -> Result<Vec<u64>, StoreError> {
        self.inner
            .recent_durations(category, complexity, limit)
            .await
    }

    async fn health(&self) -> StoreHealth {
        self.inner.health().await
    }
}

#[async_trait]
impl RunStore for RedisStore {
    async fn save_run(&self, run: &Run) -> Result<(), StoreError> {
        self.inner.save_run(run).await
    }

    async fn get_run(&self, id: Uuid) -> Result<Option<Run>, StoreError> {
        self.inner.get_run(id).await
    }

    async fn list_runs(&self, limit: usize) -> Result<Vec<Run>, StoreError> {
        self.inner.list_runs(limit).await
    }
}
