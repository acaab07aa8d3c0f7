//! The Redis history store: one history shared by every orchestrator and machine that points
//! at the same Redis, with a local outbox so that nothing is lost while Redis is away.
//!
//! # Key schema
//!
//! Every key starts with the configured prefix `{p}` (`redis_prefix`, default `cc_executor`).
//! `{id}` is the execution id (UUID, lowercase, hyphenated); times are Unix milliseconds; a
//! *summary* is `finished_ms|status|duration_ms|cost|category|complexity`.
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
//! rows by status and exact time, and hands them to [`compute_stats`], the function the SQLite
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
//! The evidence hash chain ([`crate::evidence::chain`]) is kept in the same local file (table
//! `evidence_chain`), not in Redis, on purpose: the chain protects the response files, and those
//! live in this machine's data dir. A chain in Redis would interleave the links of every machine
//! (so no machine could walk its own), would be unwritable while Redis is away (the outbox case),
//! and would expire with the retention. Appends take SQLite's write lock (`BEGIN IMMEDIATE`), so
//! several processes sharing the data dir extend one chain safely. Every record still carries its
//! link (`result.evidence.chain`), so the link also reaches Redis with the record.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, Script};
use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

use crate::runs::{Run, RunOwner};

use super::inflight::{InFlight, InFlightRow};
use super::{
    ChainStore, ExecutionRecord, HistoryFilter, HistoryStats, InFlightJournal, RecordStore,
    RunStore, StatRow, StoreError, StoreHealth, compute_stats,
};
use crate::config::redact_url;
use crate::evidence::EvidenceDraft;
use crate::evidence::chain::{ChainLink, ChainPos};
use crate::exec::result::Status;

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
pub const DURATIONS_KEPT: usize = 200;
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

/// Helper functions shared by the write and trim scripts. `KEYS[2..6]` are the index, the
/// retention clock, the summaries, the counters and the bucket set in both; `ARGV[1]` is the
/// key prefix, `ARGV[2]` the key TTL (seconds).
const LUA_PRELUDE: &str = r#"
local PREFIX, TTL = ARGV[1], tonumber(ARGV[2])
local IDX, WRITTEN, SUM, COUNTERS, BUCKETS = KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local BUCKET_MS = 3600000
local function split(s)
  local f = {}
  for part in string.gmatch(s .. '|', '([^|]*)|') do f[#f + 1] = part end
  return f
end
-- Negates a decimal string ('-0' is not an integer to Redis).
local function neg(x)
  if string.sub(x, 1, 1) == '-' then return string.sub(x, 2) end
  if tonumber(x) == 0 then return '0' end
  return '-' .. x
end
local function durkey(f)
  if f[5] ~= '' and f[6] ~= '' then
    return PREFIX .. ':dur:' .. string.sub(f[5], 2) .. ':' .. string.sub(f[6], 2)
  end
  return nil
end
local function bucket(f)
  return string.format('%d', math.floor(tonumber(f[1]) / BUCKET_MS))
end
-- Summary rows of an hour of finished executions: '\n' .. row .. '\n' .. row .. '\n' …
local function bucket_add(f, row)
  local b = bucket(f)
  local key = PREFIX .. ':sumb:' .. b
  if redis.call('EXISTS', key) == 0 then
    redis.call('SET', key, '\n' .. row .. '\n')
  else
    redis.call('APPEND', key, row .. '\n')
  end
  redis.call('EXPIRE', key, TTL)
  redis.call('ZADD', BUCKETS, b, b)
end
local function bucket_remove(f, row)
  local b = bucket(f)
  local key = PREFIX .. ':sumb:' .. b
  local blob = redis.call('GET', key)
  if not blob then return end
  local needle = '\n' .. row .. '\n'
  local at = string.find(blob, needle, 1, true)
  if not at then return end
  local rest = string.sub(blob, 1, at) .. string.sub(blob, at + #needle)
  if rest == '\n' then
    redis.call('DEL', key)
    redis.call('ZREM', BUCKETS, b)
  else
    redis.call('SET', key, rest, 'KEEPTTL')
  end
end
-- Adds (sign 1) or removes (sign -1) a summary's contribution to the counters. Values a
-- counter cannot hold are left out of it (an error here would leave the script half done).
local function apply(f, sign)
  local function s(x) if sign > 0 then return x end return neg(x) end
  redis.call('HINCRBY', COUNTERS, 'count', sign)
  redis.call('HINCRBY', COUNTERS, 'status:' .. f[2], sign)
  if #f[3] <= 15 then
    redis.call('HINCRBY', COUNTERS, 'duration_ms', s(f[3]))
  end
  local c = tonumber(f[4])
  if c and c == c and c > -1e15 and c < 1e15 then
    redis.call('HINCRBY', COUNTERS, 'cost_known', sign)
    redis.call('HINCRBYFLOAT', COUNTERS, 'cost_usd', s(f[4]))
  end
end
local function forget(id, old)
  local f = split(old)
  apply(f, -1)
  bucket_remove(f, id .. '|' .. old)
  local dk = durkey(f)
  if dk then redis.call('ZREM', dk, id) end
end
-- Removes executions whose last write is older than the retention.
local function trim(cutoff, batch)
  local ids = redis.call('ZRANGEBYSCORE', WRITTEN, '-inf', cutoff, 'LIMIT', 0, batch)
  for _, id in ipairs(ids) do
    local old = redis.call('HGET', SUM, id)
    if old then
      forget(id, old)
      redis.call('HDEL', SUM, id)
    end
    redis.call('ZREM', IDX, id)
    redis.call('ZREM', WRITTEN, id)
    redis.call('DEL', PREFIX .. ':exec:' .. id)
  end
  return #ids
end
"#;

/// KEYS: exec, idx, written, sum, counters, buckets, dur (or '').
/// ARGV: prefix, key_ttl_secs, id, json, summary, finished_ms, now_ms, retention_ms, dur_cap,
/// trim_batch. Returns 1 (new), 2 (replaced with another summary) or 0 (same summary).
const LUA_WRITE: &str = r#"
local id, json, summary = ARGV[3], ARGV[4], ARGV[5]
local finished, now = ARGV[6], ARGV[7]
local outcome = 0
local old = redis.call('HGET', SUM, id)
if old ~= summary then
  if old then
    forget(id, old)
    outcome = 2
  else
    outcome = 1
  end
  local f = split(summary)
  apply(f, 1)
  bucket_add(f, id .. '|' .. summary)
  redis.call('HSET', SUM, id, summary)
end
redis.call('SET', KEYS[1], json, 'EX', TTL)
redis.call('ZADD', IDX, finished, id)
redis.call('ZADD', WRITTEN, now, id)
if KEYS[7] ~= '' then
  redis.call('ZADD', KEYS[7], finished, id)
  redis.call('ZREMRANGEBYRANK', KEYS[7], 0, -(tonumber(ARGV[9]) + 1))
  redis.call('EXPIRE', KEYS[7], TTL)
end
for i = 2, 6 do redis.call('EXPIRE', KEYS[i], TTL) end
trim(tonumber(now) - tonumber(ARGV[8]), tonumber(ARGV[10]))
return outcome
"#;

/// KEYS: '', idx, written, sum, counters, buckets. ARGV: prefix, key_ttl_secs, now_ms,
/// retention_ms, batch.
const LUA_TRIM: &str = r#"
return trim(tonumber(ARGV[3]) - tonumber(ARGV[4]), tonumber(ARGV[5]))
"#;

/// Summaries of the newest executions of a class. KEYS: dur, sum. ARGV: limit.
const LUA_DURATIONS: &str = r#"
local ids = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #ids == 0 then return {} end
local vals = redis.call('HMGET', KEYS[2], unpack(ids))
local out = {}
for k = 1, #vals do
  if vals[k] then out[#out + 1] = vals[k] end
end
return out
"#;

/// Saves a run unless a newer revision is stored. KEYS: run, runs. ARGV: id, revision, json,
/// updated_ms, key_ttl_secs, oldest_kept_ms.
const LUA_SAVE_RUN: &str = r#"
local cur = tonumber(redis.call('HGET', KEYS[1], 'rev') or '0')
if cur >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'json', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return 1
"#;

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

struct Scripts {
    write: Script,
    trim: Script,
    durations: Script,
    save_run: Script,
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
                .map_err(|e| StoreError::Internal(e.to_string()))??
        };
        let retention_secs = retention_days.max(1).saturating_mul(86_400);
        let inner = Arc::new(Inner {
            location,
            prefix: prefix.to_string(),
            key_ttl_secs: retention_secs.saturating_add(TTL_GRACE_SECS),
            retention_ms: i64::try_from(retention_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
            conn,
            scripts: Scripts {
                write: Script::new(&format!("{LUA_PRELUDE}{LUA_WRITE}")),
                trim: Script::new(&format!("{LUA_PRELUDE}{LUA_TRIM}")),
                durations: Script::new(LUA_DURATIONS),
                save_run: Script::new(LUA_SAVE_RUN),
            },
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
        let task = tokio::spawn(background(Arc::downgrade(&inner))).abort_handle();
        Ok(RedisStore { inner, task })
    }

    /// The outbox file.
    pub fn outbox_path(&self) -> &Path {
        &self.inner.outbox.path
    }
}

/// Retries and housekeeping: replays the outbox when Redis is reachable, trims by retention.
async fn background(inner: Weak<Inner>) {
    // The store aborts this task when it is dropped; the weak reference lets it end on its
    // own too if that ever fails.
    while let Some(i) = inner.upgrade() {
        let wait = if i.is_degraded() || i.dirty.load(Ordering::SeqCst) {
            RETRY_INTERVAL
        } else {
            IDLE_INTERVAL
        };
        tokio::select! {
            () = i.wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
        i.maintain().await;
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
        s.last_error = Some(inner_message(e));
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
            Ok(Err(e)) => Err(StoreError::Redis(format!("{}: {e}", self.location))),
            Err(_) => Err(StoreError::Redis(format!(
                "{}: no answer within {} s",
                self.location,
                CALL_GUARD.as_secs()
            ))),
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
            Err(StoreError::Redis(format!(
                "{}: unexpected PING answer {pong:?}",
                self.location
            )))
        }
    }

    /// Writes one record with the write script (atomic, idempotent). Returns the script's
    /// outcome: 1 new, 2 replaced, 0 unchanged.
    async fn write_one(&self, r: &ExecutionRecord, json: &str) -> Result<i64, StoreError> {
        let id = r.execution_id.to_string();
        let dur_key = match (&r.category, &r.complexity) {
            (Some(cat), Some(cx)) => self.dur_key(cat, cx),
            _ => String::new(),
        };
        let mut inv = self.scripts.write.prepare_invoke();
        inv.key(self.exec_key(&id))
            .key(self.key("idx"))
            .key(self.key("written"))
            .key(self.key("sum"))
            .key(self.key("counters"))
            .key(self.key("buckets"))
            .key(dur_key)
            .arg(&self.prefix)
            .arg(self.key_ttl_secs)
            .arg(&id)
            .arg(json)
            .arg(summary_of(r))
            .arg(r.finished_at().timestamp_millis())
            .arg(now_ms())
            .arg(self.retention_ms)
            .arg(DURATIONS_KEPT)
            .arg(TRIM_BATCH);
        let mut con = self.conn.clone();
        self.call(inv.invoke_async(&mut con)).await
    }

    fn run_key(&self, id: &str) -> String {
        self.key(&format!("run:{id}"))
    }

    /// Writes one run snapshot with the save script. `Ok(false)`: a newer revision is stored.
    async fn write_run(
        &self,
        id: &str,
        revision: u64,
        updated_ms: i64,
        json: &str,
    ) -> Result<bool, StoreError> {
        let mut inv = self.scripts.save_run.prepare_invoke();
        inv.key(self.run_key(id))
            .key(self.key("runs"))
            .arg(id)
            .arg(revision)
            .arg(json)
            .arg(updated_ms)
            .arg(self.key_ttl_secs)
            .arg(now_ms().saturating_sub(self.retention_ms));
        let mut con = self.conn.clone();
        let written: i64 = self.call(inv.invoke_async(&mut con)).await?;
        Ok(written == 1)
    }

    /// Replays waiting run snapshots; the caller holds `write_lock`.
    async fn replay_runs(&self) -> Result<(), StoreError> {
        for (id, revision, json) in self.outbox.runs().await? {
            match serde_json::from_str::<Run>(&json) {
                Ok(run) => {
                    self.write_run(&id, revision, run.updated_at.timestamp_millis(), &json)
                        .await?;
                }
                Err(e) => tracing::error!(
                    run = %id,
                    error = %e,
                    "unreadable run snapshot in the outbox dropped"
                ),
            }
            self.outbox.delete_run(id, revision).await?;
        }
        Ok(())
    }

    /// Replays waiting outbox entries in order, up to `budget`; the caller holds `write_lock`.
    /// `Ok(true)`: the outbox is empty.
    async fn replay_locked(&self, budget: usize) -> Result<bool, StoreError> {
        if !self.dirty.load(Ordering::SeqCst) {
            return Ok(true);
        }
        let mut replayed = 0;
        while replayed < budget {
            let batch = self
                .outbox
                .batch(REPLAY_BATCH.min(budget - replayed))
                .await?;
            if batch.is_empty() {
                self.replay_runs().await?;
                self.dirty.store(false, Ordering::SeqCst);
                return Ok(true);
            }
            let mut done = Vec::with_capacity(batch.len());
            let mut failure = None;
            for (seq, json) in batch {
                replayed += 1;
                match serde_json::from_str::<ExecutionRecord>(&json) {
                    Ok(r) => match self.write_one(&r, &json).await {
                        Ok(_) => done.push(seq),
                        Err(e) => {
                            failure = Some(e);
                            break;
                        }
                    },
                    Err(e) => {
                        tracing::error!(
                            seq,
                            error = %e,
                            outbox = %self.outbox.path.display(),
                            "unreadable outbox entry moved to outbox_rejected"
                        );
                        self.outbox.reject(seq, e.to_string()).await?;
                    }
                }
            }
            self.outbox.delete(done).await?;
            if let Some(e) = failure {
                return Err(e);
            }
        }
        Ok(false)
    }

    /// Brings waiting outbox entries into Redis (up to `budget`) when it is reachable; after
    /// the last one the store is healthy again. `Err`: Redis does not answer (the caller need
    /// not try it again right away).
    async fn try_flush(&self, budget: usize) -> Result<(), StoreError> {
        if !self.is_degraded() && !self.dirty.load(Ordering::SeqCst) {
            return Ok(());
        }
        if self.is_degraded()
            && let Err(e) = self.ping().await
        {
            self.set_degraded(&e);
            return Err(e);
        }
        let _g = self.write_lock.lock().await;
        match self.replay_locked(budget).await {
            Ok(true) => self.set_ok(),
            Ok(false) => {}
            // Reads go on: Redis answered, this entry (or the connection) failed.
            Err(e) => self.set_degraded(&e),
        }
        Ok(())
    }

    /// One round of the background task.
    async fn maintain(&self) {
        if !self.is_degraded() && !self.dirty.load(Ordering::SeqCst) {
            // Another process sharing the data dir may have left entries.
            if matches!(self.outbox.count().await, Ok(n) if n > 0) {
                self.dirty.store(true, Ordering::SeqCst);
            } else {
                self.trim_if_due().await;
                return;
            }
        }
        let _ = self.try_flush(REPLAY_BATCH).await;
    }

    async fn trim_if_due(&self) {
        {
            let mut last = self.last_trim.lock().unwrap_or_else(|p| p.into_inner());
            if last.elapsed() < TRIM_INTERVAL {
                return;
            }
            *last = Instant::now();
        }
        let mut inv = self.scripts.trim.prepare_invoke();
        inv.key("")
            .key(self.key("idx"))
            .key(self.key("written"))
            .key(self.key("sum"))
            .key(self.key("counters"))
            .key(self.key("buckets"))
            .arg(&self.prefix)
            .arg(self.key_ttl_secs)
            .arg(now_ms())
            .arg(self.retention_ms)
            .arg(TRIM_BATCH);
        let mut con = self.conn.clone();
        if let Err(e) = self.call(inv.invoke_async::<i64>(&mut con)).await {
            tracing::debug!(error = %e, "retention trim failed; retried later");
        }
    }

    /// An error for a read that needed Redis and could not reach it.
    async fn read_error(&self, e: StoreError) -> StoreError {
        let pending = self.outbox.count().await.unwrap_or(0);
        let waiting = if pending > 0 {
            format!(
                "; {pending} record(s) wait in the local outbox {} and will be written when \
                 Redis is back",
                self.outbox.path.display()
            )
        } else {
            String::new()
        };
        StoreError::Redis(format!(
            "cannot read the history: {}{waiting}",
            inner_message(&e)
        ))
    }

    /// The summary buckets covering the filter's time range (a bucket is one hour of
    /// `finished_at`; the rows are filtered exactly by [`rows`]).
    async fn buckets(&self, f: &HistoryFilter) -> Result<Vec<String>, StoreError> {
        let hour = |t: chrono::DateTime<chrono::Utc>| t.timestamp_millis().div_euclid(BUCKET_MS);
        // One bucket of slack on each side: the exact bounds are applied row by row.
        let min = f.since.map_or("-inf".into(), |t| (hour(t) - 1).to_string());
        let max = f.until.map_or("+inf".into(), |t| (hour(t) + 1).to_string());
        let names: Vec<String> = self
            .query(
                redis::cmd("ZRANGEBYSCORE")
                    .arg(self.key("buckets"))
                    .arg(min)
                    .arg(max),
            )
            .await?;
        // Plain MGETs (no script): the server only copies the strings into the reply.
        let mut blobs = Vec::with_capacity(names.len());
        for chunk in names.chunks(1000) {
            let keys: Vec<String> = chunk
                .iter()
                .map(|n| self.key(&format!("sumb:{n}")))
                .collect();
            let got: Vec<Option<String>> = self.query(redis::cmd("MGET").arg(keys)).await?;
            blobs.extend(got.into_iter().flatten());
        }
        Ok(blobs)
    }

    /// Fetches records by id, in the given order; ids whose record is gone are skipped.
    async fn fetch(&self, ids: &[String]) -> Result<Vec<ExecutionRecord>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(FETCH_CHUNK) {
            let keys: Vec<String> = chunk.iter().map(|id| self.exec_key(id)).collect();
            let vals: Vec<Option<String>> = self.query(redis::cmd("MGET").arg(keys)).await?;
            for (id, v) in chunk.iter().zip(vals) {
                if let Some(json) = v {
                    out.push(decode(id, &json)?);
                }
            }
        }
        Ok(out)
    }

    async fn list_redis(&self, f: &HistoryFilter) -> Result<Vec<ExecutionRecord>, StoreError> {
        if f.limit == 0 {
            return Ok(Vec::new());
        }
        let wanted = f.offset.saturating_add(f.limit);
        if f.status.is_none() && f.search.is_none() {
            // One page of the index, plus every entry tied with its last score (ties are
            // ordered by id, as in the SQLite store).
            let (min, max) = score_bounds(f);
            let mut cmd = redis::cmd("ZREVRANGEBYSCORE");
            cmd.arg(self.key("idx"))
                .arg(&max)
                .arg(&min)
                .arg("WITHSCORES");
            if wanted < 1_000_000 {
                cmd.arg("LIMIT").arg(0).arg(wanted);
            }
            let mut page: Vec<(String, f64)> = self.query(&cmd).await?;
            if page.len() >= wanted
                && let Some(&(_, last)) = page.last()
            {
                let tied: Vec<String> = self
                    .query(
                        redis::cmd("ZRANGEBYSCORE")
                            .arg(self.key("idx"))
                            .arg(last)
                            .arg(last),
                    )
                    .await?;
                page.retain(|(_, s)| *s != last);
                page.extend(tied.into_iter().map(|id| (id, last)));
            }
            page.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let ids: Vec<String> = page
                .into_iter()
                .skip(f.offset)
                .take(f.limit)
                .map(|(id, _)| id)
                .collect();
            return self.fetch(&ids).await;
        }
        let blobs = self.buckets(f).await?;
        let mut rows = rows(&blobs, f)?;
        rows.sort_unstable_by(|a, b| {
            b.finished_ms
                .cmp(&a.finished_ms)
                .then_with(|| a.id.cmp(b.id))
        });
        let ids: Vec<String> = rows.into_iter().map(|r| r.id.to_string()).collect();
        match &f.search {
            None => {
                let page: Vec<String> = ids.into_iter().skip(f.offset).take(f.limit).collect();
                self.fetch(&page).await
            }
            Some(q) => {
                let q = q.to_lowercase();
                let mut skipped = 0;
                let mut out = Vec::new();
                for chunk in ids.chunks(FETCH_CHUNK) {
                    for r in self.fetch(chunk).await? {
                        if !r.task.to_lowercase().contains(&q) {
                            continue;
                        }
                        if skipped < f.offset {
                            skipped += 1;
                        } else {
                            out.push(r);
                            if out.len() >= f.limit {
                                return Ok(out);
                            }
                        }
                    }
                }
                Ok(out)
            }
        }
    }

    async fn stats_redis(&self, f: &HistoryFilter) -> Result<HistoryStats, StoreError> {
        let blobs = self.buckets(f).await?;
        let mut rows = rows(&blobs, f)?;
        if let Some(q) = &f.search {
            let q = q.to_lowercase();
            let ids: Vec<String> = rows.iter().map(|r| r.id.to_string()).collect();
            let mut keep = std::collections::HashSet::new();
            for chunk in ids.chunks(FETCH_CHUNK) {
                for r in self.fetch(chunk).await? {
                    if r.task.to_lowercase().contains(&q) {
                        keep.insert(r.execution_id.to_string());
                    }
                }
            }
            rows.retain(|r| keep.contains(r.id));
        }
        Ok(compute_stats(rows.iter().map(|r| StatRow {
            status: r.s.status,
            duration_ms: r.s.duration_ms,
            cost: r.s.cost,
            category: r.s.category.as_deref(),
            complexity: r.s.complexity.as_deref(),
        })))
    }

    async fn durations_redis(
        &self,
        category: &str,
        complexity: &str,
        limit: usize,
    ) -> Result<Vec<u64>, StoreError> {
        let limit = limit.min(DURATIONS_KEPT);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut inv = self.scripts.durations.prepare_invoke();
        inv.key(self.dur_key(category, complexity))
            .key(self.key("sum"))
            .arg(limit);
        let mut con = self.conn.clone();
        let raw: Vec<String> = self.call(inv.invoke_async(&mut con)).await?;
        raw.iter()
            .map(|s| {
                Summary::parse(s)
                    .map(|s| s.duration_ms)
                    .ok_or_else(|| StoreError::Corrupt {
                        id: "?".into(),
                        message: format!("unreadable summary {s:?} in {}", self.key("sum")),
                    })
            })
            .collect()
    }
}

/// The text of an error without the variant's prefix.
fn inner_message(e: &StoreError) -> String {
    match e {
        StoreError::Redis(m) => m.clone(),
        e => e.to_string(),
    }
}

/// Score range of a filter's time bounds (milliseconds, inclusive).
fn score_bounds(f: &HistoryFilter) -> (String, String) {
    (
        f.since
            .map_or("-inf".into(), |t| t.timestamp_millis().to_string()),
        f.until
            .map_or("+inf".into(), |t| t.timestamp_millis().to_string()),
    )
}

fn decode_run(id: &str, json: &str) -> Result<Run, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        id: format!("run {id}"),
        message: e.to_string(),
    })
}

fn decode(id: &str, json: &str) -> Result<ExecutionRecord, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        id: id.to_string(),
        message: e.to_string(),
    })
}

#[async_trait]
impl RecordStore for RedisStore {
    async fn record(&self, record: &ExecutionRecord) -> Result<(), StoreError> {
        let json = serde_json::to_string(record).map_err(|e| StoreError::Corrupt {
            id: record.execution_id.to_string(),
            message: e.to_string(),
        })?;
        let i = &self.inner;
        let _g = i.write_lock.lock().await;
        let id = record.execution_id;
        if !i.is_degraded() {
            match i.replay_locked(REPLAY_BUDGET).await {
                Ok(true) => match i.write_one(record, &json).await {
                    Ok(_) => {
                        i.outbox
                            .with(move |c| super::inflight::remove(c, id).map(|_| ()))
                            .await?;
                        return Ok(());
                    }
                    Err(e) => i.set_degraded(&e),
                },
                // Still a backlog: this record goes after it, in the outbox.
                Ok(false) => {}
                Err(e) => i.set_degraded(&e),
            }
        }
        i.outbox.push(id, json).await?;
        i.dirty.store(true, Ordering::SeqCst);
        i.wake.notify_one();
        Ok(())
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
        let i = &self.inner;
        let key = id.to_string();
        // The outbox holds the newest version of anything not yet in Redis.
        if i.dirty.load(Ordering::SeqCst)
            && let Some(json) = i.outbox.latest(&key).await?
        {
            return decode(&key, &json).map(Some);
        }
        match i
            .query::<Option<String>>(redis::cmd("GET").arg(i.exec_key(&key)))
            .await
        {
            Ok(json) => json.map(|j| decode(&key, &j)).transpose(),
            Err(e) => Err(i.read_error(e).await),
        }
    }

    async fn list(&self, filter: &HistoryFilter) -> Result<Vec<ExecutionRecord>, StoreError> {
        let i = &self.inner;
        // Read what was written: the outbox first, when Redis is there.
        if let Err(e) = i.try_flush(REPLAY_BUDGET).await {
            return Err(i.read_error(e).await);
        }
        match i.list_redis(filter).await {
            Err(e @ StoreError::Redis(_)) => Err(i.read_error(e).await),
            other => other,
        }
    }

    async fn stats(&self, filter: &HistoryFilter) -> Result<HistoryStats, StoreError> {
        let i = &self.inner;
        // Read what was written: the outbox first, when Redis is there.
        if let Err(e) = i.try_flush(REPLAY_BUDGET).await {
            return Err(i.read_error(e).await);
        }
        match i.stats_redis(filter).await {
            Err(e @ StoreError::Redis(_)) => Err(i.read_error(e).await),
            other => other,
        }
    }

    async fn recent_durations(
        &self,
        category: &str,
        complexity: &str,
        limit: usize,
    ) -> Result<Vec<u64>, StoreError> {
        let i = &self.inner;
        // Read what was written: the outbox first, when Redis is there.
        if let Err(e) = i.try_flush(REPLAY_BUDGET).await {
            return Err(i.read_error(e).await);
        }
        match i.durations_redis(category, complexity, limit).await {
            Err(e @ StoreError::Redis(_)) => Err(i.read_error(e).await),
            other => other,
        }
    }

    async fn health(&self) -> StoreHealth {
        let i = &self.inner;
        let pending = i.outbox.count().await;
        let ping = i.ping().await;
        if ping.is_ok() && (i.is_degraded() || matches!(pending, Ok(n) if n > 0)) {
            i.dirty.store(true, Ordering::SeqCst);
            i.wake.notify_one();
        }
        let last_error = i
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last_error
            .clone();
        let (state, detail) = match (&ping, &pending) {
            (Ok(()), Ok(0)) => {
                let indexed: Result<u64, _> = i.query(redis::cmd("ZCARD").arg(i.key("idx"))).await;
                (
                    "ok",
                    match indexed {
                        Ok(n) => format!("{n} executions indexed under `{}:`", i.prefix),
                        Err(e) => e.to_string(),
                    },
                )
            }
            (Ok(()), Ok(n)) => (
                "degraded",
                format!(
                    "Redis is reachable; {n} record(s) in the outbox {} wait to be replayed{}",
                    i.outbox.path.display(),
                    last_error
                        .map(|e| format!(" (last error: {e})"))
                        .unwrap_or_default()
                ),
            ),
            (Err(e), Ok(n)) => (
                "degraded",
                format!(
                    "Redis unreachable: {}; {n} record(s) wait in the outbox {}",
                    inner_message(e),
                    i.outbox.path.display()
                ),
            ),
            (_, Err(e)) => ("degraded", format!("outbox unusable: {e}")),
        };
        StoreHealth {
            backend: "redis".into(),
            location: i.location.clone(),
            state: state.into(),
            outbox_pending: pending.unwrap_or(0),
            detail: Some(detail),
        }
    }
}

#[async_trait]
impl RunStore for RedisStore {
    async fn save_run(&self, run: &Run) -> Result<(), StoreError> {
        let json = serde_json::to_string(run).map_err(|e| StoreError::Corrupt {
            id: run.run_id.to_string(),
            message: e.to_string(),
        })?;
        let id = run.run_id.to_string();
        let i = &self.inner;
        let _g = i.write_lock.lock().await;
        if !i.is_degraded() {
            match i.replay_locked(REPLAY_BUDGET).await {
                Ok(true) => {
                    match i
                        .write_run(&id, run.revision, run.updated_at.timestamp_millis(), &json)
                        .await
                    {
                        Ok(_) => return Ok(()),
                        Err(e) => i.set_degraded(&e),
                    }
                }
                Ok(false) => {}
                Err(e) => i.set_degraded(&e),
            }
        }
        i.outbox.push_run(id, run.revision, json).await?;
        i.dirty.store(true, Ordering::SeqCst);
        i.wake.notify_one();
        Ok(())
    }

    async fn get_run(&self, id: Uuid) -> Result<Option<Run>, StoreError> {
        let i = &self.inner;
        let key = id.to_string();
        if i.dirty.load(Ordering::SeqCst)
            && let Some(json) = i.outbox.run(&key).await?
        {
            return decode_run(&key, &json).map(Some);
        }
        match i
            .query::<Option<String>>(redis::cmd("HGET").arg(i.run_key(&key)).arg("json"))
            .await
        {
            Ok(json) => json.map(|j| decode_run(&key, &j)).transpose(),
            Err(e) => Err(i.read_error(e).await),
        }
    }

    async fn list_runs(&self, limit: usize) -> Result<Vec<Run>, StoreError> {
        let i = &self.inner;
        if let Err(e) = i.try_flush(REPLAY_BUDGET).await {
            return Err(i.read_error(e).await);
        }
        if limit == 0 {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = match i
            .query(
                redis::cmd("ZREVRANGE")
                    .arg(i.key("runs"))
                    .arg(0)
                    .arg(limit.min(isize::MAX as usize) as isize - 1),
            )
            .await
        {
            Ok(ids) => ids,
            Err(e) => return Err(i.read_error(e).await),
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("HGET").arg(i.run_key(id)).arg("json");
        }
        let mut con = i.conn.clone();
        let blobs: Vec<Option<String>> = match i.call(pipe.query_async(&mut con)).await {
            Ok(b) => b,
            Err(e) => return Err(i.read_error(e).await),
        };
        ids.iter()
            .zip(blobs)
            .filter_map(|(id, json)| json.map(|j| decode_run(id, &j)))
            .collect()
    }
}

#[async_trait]
impl ChainStore for RedisStore {
    /// The chain lives in the local file, not in Redis: see "Evidence chain" in the module
    /// documentation.
    async fn chain_append(
        &self,
        execution_id: Uuid,
        response_sha256: &str,
    ) -> Result<ChainLink, StoreError> {
        let hash = response_sha256.to_string();
        // The link and the end of the execution's journal entry in one local transaction:
        // from here on the execution is recorded (its record follows, to Redis or the outbox).
        self.inner
            .outbox
            .with(move |c| {
                let tx = rusqlite::Transaction::new_unchecked(
                    c,
                    rusqlite::TransactionBehavior::Immediate,
                )?;
                let link = super::chain::append_in(&tx, execution_id, &hash)?;
                super::inflight::remove(&tx, execution_id)?;
                tx.commit()?;
                Ok(link)
            })
            .await
    }

    async fn chain_link(&self, pos: ChainPos) -> Result<Option<ChainLink>, StoreError> {
        self.inner
            .outbox
            .with(move |c| super::chain::get(c, pos))
            .await
    }
}

#[async_trait]
impl InFlightJournal for RedisStore {
    async fn inflight_add(&self, entry: &InFlight) -> Result<(), StoreError> {
        let entry = entry.clone();
        self.inner
            .outbox
            .with(move |c| super::inflight::add(c, &entry))
            .await
    }

    async fn inflight_list(&self) -> Result<Vec<InFlightRow>, StoreError> {
        self.inner.outbox.with(|c| super::inflight::list(c)).await
    }

    async fn inflight_get(&self, id: Uuid) -> Result<Option<InFlight>, StoreError> {
        self.inner
            .outbox
            .with(move |c| super::inflight::get(c, id))
            .await
    }

    async fn inflight_claim(
        &self,
        id: Uuid,
        expected: Option<&RunOwner>,
        claimer: &RunOwner,
    ) -> Result<bool, StoreError> {
        let (expected, claimer) = (expected.cloned(), claimer.clone());
        self.inner
            .outbox
            .with(move |c| super::inflight::claim(c, id, expected.as_ref(), &claimer))
            .await
    }

    async fn inflight_remove(&self, id: Uuid) -> Result<(), StoreError> {
        self.inner
            .outbox
            .with(move |c| super::inflight::remove(c, id).map(|_| ()))
            .await
    }
}

/// What `stats` needs of one execution, as kept in `{p}:sum` (borrowed from the reply).
#[derive(Debug, Clone, PartialEq)]
struct Summary<'a> {
    finished_ms: i64,
    status: Status,
    duration_ms: u64,
    cost: Option<f64>,
    category: Option<Cow<'a, str>>,
    complexity: Option<Cow<'a, str>>,
}

/// One line of a summary bucket: `{id}|{summary}`.
#[derive(Debug)]
struct Row<'a> {
    id: &'a str,
    finished_ms: i64,
    s: Summary<'a>,
}

/// Width of a summary bucket (`{p}:sumb:{hour}`); the Lua scripts use the same.
const BUCKET_MS: i64 = 3_600_000;

/// The rows of the buckets that match the filter's status and time bounds (milliseconds, as
/// the SQLite store compares them). The text search is applied by the caller.
fn rows<'a>(blobs: &'a [String], f: &HistoryFilter) -> Result<Vec<Row<'a>>, StoreError> {
    let since = f.since.map(|t| t.timestamp_millis());
    let until = f.until.map(|t| t.timestamp_millis());
    let mut out = Vec::new();
    for blob in blobs {
        for line in blob.split('\n').filter(|l| !l.is_empty()) {
            let row = line
                .split_once('|')
                .and_then(|(id, rest)| Some((id, Summary::parse(rest)?)))
                .ok_or_else(|| StoreError::Corrupt {
                    id: line.split('|').next().unwrap_or("?").to_string(),
                    message: format!("unreadable summary row {line:?}"),
                })?;
            let (id, s) = row;
            if f.status.is_none_or(|st| st == s.status)
                && since.is_none_or(|t| s.finished_ms >= t)
                && until.is_none_or(|t| s.finished_ms <= t)
            {
                out.push(Row {
                    id,
                    finished_ms: s.finished_ms,
                    s,
                });
            }
        }
    }
    Ok(out)
}

/// `finished_ms|status|duration_ms|cost|category|complexity` (see the module doc).
fn summary_of(r: &ExecutionRecord) -> String {
    fn opt(o: &Option<String>) -> String {
        o.as_deref()
            .map_or(String::new(), |s| format!("+{}", esc(s)))
    }
    // JSON has no NaN/infinity: such a cost reads back as unknown, so it is stored as unknown.
    let cost = r
        .result
        .total_cost_usd
        .filter(|c| c.is_finite())
        .map_or(String::new(), |c| c.to_string());
    format!(
        "{}|{}|{}|{}|{}|{}",
        r.finished_at().timestamp_millis(),
        r.status().as_str(),
        r.result.duration_ms,
        cost,
        opt(&r.category),
        opt(&r.complexity)
    )
}

impl<'a> Summary<'a> {
    fn parse(s: &'a str) -> Option<Summary<'a>> {
        let mut f = s.split('|');
        let finished_ms = f.next()?.parse().ok()?;
        let status = parse_status(f.next()?)?;
        let duration_ms = f.next()?.parse().ok()?;
        let cost = match f.next()? {
            "" => None,
            c => Some(c.parse().ok()?),
        };
        let opt = |x: &'a str| -> Option<Option<Cow<'a, str>>> {
            match x {
                "" => Some(None),
                x => Some(Some(unesc(x.strip_prefix('+')?))),
            }
        };
        let category = opt(f.next()?)?;
        let complexity = opt(f.next()?)?;
        if f.next().is_some() {
            return None;
        }
        Some(Summary {
            finished_ms,
            status,
            duration_ms,
            cost,
            category,
            complexity,
        })
    }
}

fn parse_status(s: &str) -> Option<Status> {
    s.parse().ok()
}

/// Escapes the characters the summary and key syntax use.
fn esc(s: &str) -> Cow<'_, str> {
    if !s.contains(['%', '|', ':', '\n']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '|' => out.push_str("%7C"),
            ':' => out.push_str("%3A"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn unesc(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.replace("%7C", "|")
            .replace("%3A", ":")
            .replace("%0A", "\n")
            .replace("%25", "%"),
    )
}

/// The local outbox: records waiting for Redis, in order.
struct Outbox {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
}

const OUTBOX_SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        execution_id TEXT NOT NULL,
        queued_at INTEGER NOT NULL,
        record TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS outbox_by_id ON outbox(execution_id, seq);
    CREATE TABLE IF NOT EXISTS outbox_rejected (
        seq INTEGER PRIMARY KEY,
        execution_id TEXT NOT NULL,
        queued_at INTEGER NOT NULL,
        record TEXT NOT NULL,
        error TEXT NOT NULL,
        rejected_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS outbox_runs (
        run_id TEXT PRIMARY KEY,
        revision INTEGER NOT NULL,
        queued_at INTEGER NOT NULL,
        run TEXT NOT NULL
    );";

impl Outbox {
    fn open(path: &Path) -> Result<Outbox, StoreError> {
        let err = |message: String| StoreError::Open {
            path: path.to_path_buf(),
            message: format!("Redis outbox: {message}"),
        };
        let conn = super::sqlite::open_connection(path)?;
        conn.execute_batch(OUTBOX_SCHEMA)
            .map_err(|e| err(e.to_string()))?;
        conn.execute_batch(super::chain::SCHEMA)
            .map_err(|e| err(e.to_string()))?;
        conn.execute_batch(super::inflight::SCHEMA)
            .map_err(|e| err(e.to_string()))?;
        Ok(Outbox {
            path: path.to_path_buf(),
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard).map_err(|e| StoreError::Sqlite {
                path,
                message: format!("Redis outbox: {e}"),
            })
        })
        .await
        .map_err(|e| StoreError::Internal(e.to_string()))?
    }

    /// Queues a record for Redis; it is recorded from here on, so it leaves the in-flight
    /// journal in the same transaction.
    async fn push(&self, id: Uuid, json: String) -> Result<(), StoreError> {
        self.with(move |c| {
            let tx =
                rusqlite::Transaction::new_unchecked(c, rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO outbox (execution_id, queued_at, record) VALUES (?1, ?2, ?3)",
                rusqlite::params![id.to_string(), now_ms(), json],
            )?;
            super::inflight::remove(&tx, id)?;
            tx.commit()
        })
        .await
    }

    /// Records and run snapshots waiting.
    async fn count(&self) -> Result<u64, StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT (SELECT count(*) FROM outbox) + (SELECT count(*) FROM outbox_runs)",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
        })
        .await
    }

    /// Keeps the newest revision of a run.
    async fn push_run(&self, id: String, revision: u64, json: String) -> Result<(), StoreError> {
        self.with(move |c| {
            c.execute(
                "INSERT INTO outbox_runs (run_id, revision, queued_at, run) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(run_id) DO UPDATE SET revision = excluded.revision,
                    queued_at = excluded.queued_at, run = excluded.run
                 WHERE excluded.revision > outbox_runs.revision",
                rusqlite::params![id, revision as i64, now_ms(), json],
            )
            .map(|_| ())
        })
        .await
    }

    async fn run(&self, id: &str) -> Result<Option<String>, StoreError> {
        let id = id.to_string();
        self.with(move |c| {
            c.query_row("SELECT run FROM outbox_runs WHERE run_id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()
        })
        .await
    }

    async fn runs(&self) -> Result<Vec<(String, u64, String)>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT run_id, revision, run FROM outbox_runs")?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?))
            })?;
            rows.collect()
        })
        .await
    }

    /// Deletes a replayed snapshot unless a newer one arrived meanwhile.
    async fn delete_run(&self, id: String, revision: u64) -> Result<(), StoreError> {
        self.with(move |c| {
            c.execute(
                "DELETE FROM outbox_runs WHERE run_id = ?1 AND revision = ?2",
                rusqlite::params![id, revision as i64],
            )
            .map(|_| ())
        })
        .await
    }

    async fn latest(&self, id: &str) -> Result<Option<String>, StoreError> {
        let id = id.to_string();
        self.with(move |c| {
            c.query_row(
                "SELECT record FROM outbox WHERE execution_id = ?1 ORDER BY seq DESC LIMIT 1",
                [id],
                |r| r.get(0),
            )
            .optional()
        })
        .await
    }

    async fn batch(&self, limit: usize) -> Result<Vec<(i64, String)>, StoreError> {
        self.with(move |c| {
            let mut stmt = c.prepare("SELECT seq, record FROM outbox ORDER BY seq LIMIT ?1")?;
            let rows = stmt.query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
        .await
    }

    /// Deletes entries Redis has confirmed.
    async fn delete(&self, seqs: Vec<i64>) -> Result<(), StoreError> {
        if seqs.is_empty() {
            return Ok(());
        }
        self.with(move |c| {
            let tx = c.transaction()?;
            {
                let mut stmt = tx.prepare("DELETE FROM outbox WHERE seq = ?1")?;
                for s in seqs {
                    stmt.execute([s])?;
                }
            }
            tx.commit()
        })
        .await
    }

    /// Moves an entry that cannot be replayed aside (kept, never silently dropped).
    async fn reject(&self, seq: i64, error: String) -> Result<(), StoreError> {
        self.with(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "INSERT OR REPLACE INTO outbox_rejected
                 (seq, execution_id, queued_at, record, error, rejected_at)
                 SELECT seq, execution_id, queued_at, record, ?2, ?3 FROM outbox WHERE seq = ?1",
                rusqlite::params![seq, error, now_ms()],
            )?;
            tx.execute("DELETE FROM outbox WHERE seq = ?1", [seq])?;
            tx.commit()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::result::ExecutionResult;

    fn rec(cat: Option<&str>, cx: Option<&str>, cost: Option<f64>) -> ExecutionRecord {
        let mut r = ExecutionResult::empty(Uuid::new_v4(), Status::TimedOut, vec![]);
        r.duration_ms = 1234;
        r.total_cost_usd = cost;
        ExecutionRecord::new(
            "t",
            "/",
            cat.map(Into::into),
            cx.map(Into::into),
            chrono::Utc::now(),
            r,
        )
    }

    #[test]
    fn summaries_round_trip_with_awkward_text() {
        for (cat, cx, cost) in [
            (Some("code|x:y%z\nq"), Some("high"), Some(0.1 + 0.2)),
            (None, None, None),
            (Some(""), None, Some(1e-9)),
            (Some("+plus"), Some("-"), Some(12345.678)),
        ] {
            let r = rec(cat, cx, cost);
            let text = summary_of(&r);
            let s = Summary::parse(&text).expect("parses");
            assert_eq!(s.status, Status::TimedOut);
            assert_eq!(s.duration_ms, 1234);
            assert_eq!(s.cost, cost);
            assert_eq!(s.category.as_deref(), cat);
            assert_eq!(s.complexity.as_deref(), cx);
            assert_eq!(s.finished_ms, r.finished_at().timestamp_millis());
        }
        assert_eq!(
            rec(None, None, Some(f64::NAN))
                .result
                .total_cost_usd
                .map(|_| ()),
            Some(())
        );
        let text = summary_of(&rec(None, None, Some(f64::NAN)));
        let nan = Summary::parse(&text).unwrap();
        assert_eq!(nan.cost, None);
    }

    #[test]
    fn escaped_class_names_cannot_collide() {
        assert_ne!(
            format!("{}:{}", esc("a:b"), esc("c")),
            format!("{}:{}", esc("a"), esc("b:c"))
        );
        assert_eq!(unesc(&esc("50%|a:b")), "50%|a:b");
        assert!(Summary::parse("1|nonsense|2|||").is_none());
        assert!(Summary::parse("1|succeeded|2|||x").is_none());
    }

    #[test]
    fn every_status_parses_back() {
        for st in Status::ALL {
            assert_eq!(parse_status(st.as_str()), Some(st));
        }
    }
}
