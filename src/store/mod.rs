//! The history store: every execution, durably — failures, timeouts and cancellations
//! included — because verification, timeout prediction, task-list resume and people's own
//! questions ("what did it cost this week?") all read it.
//!
//! One trait, [`HistoryStore`], two real backends:
//! - [`sqlite`]: the embedded default (WAL, safe for several server processes at once);
//! - [`redis`]: shared across orchestrators and machines, with a local outbox so that nothing
//!   is lost while Redis is away.
//!
//! [`open`] picks the backend from the configuration.

pub(crate) mod chain;
pub mod inflight;
pub mod query;
pub mod redis;
pub mod sqlite;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::Config;
use crate::evidence::EvidenceDraft;
use crate::evidence::chain::{ChainLink, ChainPos};
use crate::exec::result::{ExecutionResult, Status};
use crate::runs::{Run, RunOwner};
pub use inflight::{InFlight, InFlightRow};

/// Errors of a store. Each names what failed so a person can act on it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the history database {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("history database {path}: {message}")]
    Sqlite { path: PathBuf, message: String },
    #[error("invalid Redis URL `{url}`: {message}")]
    RedisUrl { url: String, message: String },
    #[error("Redis: {0}")]
    Redis(String),
    #[error("corrupt history record {id}: {message}")]
    Corrupt { id: String, message: String },
    #[error("invalid filter: {0}")]
    Filter(String),
    #[error("history store task failed: {0}")]
    Internal(String),
    #[error("the history store could not be opened: {0}")]
    Unavailable(String),
}

/// One execution as the history keeps it: what was asked, where, how it was classified, and
/// the full result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecutionRecord {
    pub execution_id: Uuid,
    pub task: String,
    /// SHA-256 of the task text (hex): finds repeats without comparing texts.
    pub task_hash: String,
    pub cwd: String,
    /// From the planner, when it classified the task.
    pub category: Option<String>,
    pub complexity: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub result: ExecutionResult,
    /// Set when the answer was too big to keep in the history store (over
    /// [`HISTORY_ANSWER_MAX`]): then `result.result` holds only its first
    /// [`HISTORY_ANSWER_HEAD`] bytes, and the whole answer is in the execution's response file
    /// (its evidence), from which readers load it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_elsewhere: Option<AnswerRef>,
}

/// Answers up to this size are kept whole in the history store; bigger ones stay in the
/// response file (a store row, or a Redis value, of hundreds of MB helps nobody).
pub const HISTORY_ANSWER_MAX: usize = 1024 * 1024;
/// How much of a bigger answer the history keeps (its beginning).
pub const HISTORY_ANSWER_HEAD: usize = 64 * 1024;

/// Where a big answer is, and how to recognise it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AnswerRef {
    /// Its length in bytes.
    pub bytes: u64,
    /// SHA-256 (hex) of its UTF-8 bytes.
    pub sha256: String,
}

impl ExecutionRecord {
    /// Moves a big answer out of the record, leaving its head and an [`AnswerRef`]: the form
    /// the history store keeps. `None` when the answer is small (the record is unchanged).
    /// [`ExecutionRecord::restore_answer`] puts it back.
    pub fn stash_big_answer(&mut self) -> Option<String> {
        if self.result.result.as_ref()?.len() <= HISTORY_ANSWER_MAX {
            return None;
        }
        let answer = self.result.result.take()?;
        let mut end = HISTORY_ANSWER_HEAD.min(answer.len());
        while !answer.is_char_boundary(end) {
            end -= 1;
        }
        self.result.result = Some(answer[..end].to_string());
        self.answer_elsewhere = Some(AnswerRef {
            bytes: answer.len() as u64,
            sha256: crate::evidence::chain::sha256_hex(answer.as_bytes()),
        });
        Some(answer)
    }

    /// Undoes [`ExecutionRecord::stash_big_answer`]; also takes a whole answer read back from
    /// the response file, when it is the one the reference names.
    pub fn restore_answer(&mut self, answer: String) -> bool {
        if let Some(r) = &self.answer_elsewhere
            && (r.bytes != answer.len() as u64
                || r.sha256 != crate::evidence::chain::sha256_hex(answer.as_bytes()))
        {
            return false;
        }
        self.result.result = Some(answer);
        self.answer_elsewhere = None;
        true
    }

    /// Stands in for a record lost to an internal failure (a panicked blocking task).
    pub fn lost(id: Uuid) -> Self {
        let result = ExecutionResult::empty(
            id,
            Status::Crashed,
            vec!["internal error: the execution record was lost while being written".into()],
        );
        ExecutionRecord::new("", "", None, None, result.started_at, result)
    }

    pub fn new(
        task: &str,
        cwd: &str,
        category: Option<String>,
        complexity: Option<String>,
        submitted_at: DateTime<Utc>,
        result: ExecutionResult,
    ) -> Self {
        ExecutionRecord {
            execution_id: result.execution_id,
            task: task.to_string(),
            task_hash: task_hash(task),
            cwd: cwd.to_string(),
            category,
            complexity,
            submitted_at,
            result,
            answer_elsewhere: None,
        }
    }

    pub fn status(&self) -> Status {
        self.result.status
    }

    /// The time the history is ordered by.
    pub fn finished_at(&self) -> DateTime<Utc> {
        self.result.finished_at
    }

    fn usage_tokens(&self, key: &str) -> Option<u64> {
        self.result.usage.as_ref()?.get(key)?.as_u64()
    }

    /// A compact row for lists and CSV.
    pub fn summary(&self) -> ExecutionSummary {
        let r = &self.result;
        ExecutionSummary {
            execution_id: self.execution_id,
            status: r.status,
            task: crate::claude::collect::truncate_chars(&self.task, 200),
            cwd: self.cwd.clone(),
            model: r.model.clone(),
            category: self.category.clone(),
            complexity: self.complexity.clone(),
            submitted_at: self.submitted_at,
            finished_at: r.finished_at,
            queue_wait_ms: r.queue_wait_ms,
            duration_ms: r.duration_ms,
            total_cost_usd: r.total_cost_usd,
            input_tokens: self.usage_tokens("input_tokens"),
            output_tokens: self.usage_tokens("output_tokens"),
            num_turns: r.num_turns,
            attempts: r.attempts.len() as u32,
            files_written: r.files_written.len() as u32,
            permission_denials: r.permission_denials.len() as u32,
            exit_code: r.exit_code,
            session_id: r.session_id.clone(),
        }
    }
}

/// SHA-256 of a task text, hex.
pub fn task_hash(task: &str) -> String {
    Sha256::digest(task.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One line of history: what lists, the tool and CSV show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecutionSummary {
    pub execution_id: Uuid,
    pub status: Status,
    /// The first 200 characters of the task.
    pub task: String,
    pub cwd: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complexity: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub queue_wait_ms: u64,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_cost_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_turns: Option<u32>,
    pub attempts: u32,
    pub files_written: u32,
    pub permission_denials: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

/// Which executions a query is about. Times compare with `finished_at`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryFilter {
    pub status: Option<Status>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Case-insensitive substring of the task text.
    pub search: Option<String>,
    pub limit: usize,
    pub offset: usize,
}

impl HistoryFilter {
    pub fn matches(&self, r: &ExecutionRecord) -> bool {
        let at = r.finished_at();
        self.status.is_none_or(|s| r.status() == s)
            && self.since.is_none_or(|t| at >= t)
            && self.until.is_none_or(|t| at <= t)
            && self
                .search
                .as_ref()
                .is_none_or(|q| r.task.to_lowercase().contains(&q.to_lowercase()))
    }
}

/// Aggregates over a set of executions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Stats {
    pub count: u64,
    pub succeeded: u64,
    /// succeeded / count (0 when empty).
    pub success_rate: f64,
    pub duration_p50_ms: u64,
    pub duration_p90_ms: u64,
    pub duration_max_ms: u64,
    pub total_cost_usd: f64,
    /// Over executions with a known cost.
    pub mean_cost_usd: f64,
}

/// Statistics overall and per category/complexity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HistoryStats {
    pub overall: Stats,
    /// Keyed `category/complexity` (`-` when unknown).
    pub by_category: BTreeMap<String, Stats>,
}

/// One row as statistics need it.
#[derive(Debug, Clone, Copy)]
pub struct StatRow<'a> {
    pub status: Status,
    pub duration_ms: u64,
    pub cost: Option<f64>,
    pub category: Option<&'a str>,
    pub complexity: Option<&'a str>,
}

/// Computes statistics from rows; both backends use it, so their numbers agree.
pub fn compute_stats<'a>(rows: impl IntoIterator<Item = StatRow<'a>>) -> HistoryStats {
    let mut b = StatsBuilder::default();
    for row in rows {
        b.add(&row);
    }
    b.finish()
}

/// Statistics built up row by row — and kept, so that a store can add new executions to them
/// instead of reading everything again.
///
/// One pass accumulates counts, costs and durations per category/complexity (groups are few:
/// a linear lookup, remembering the last hit, beats hashing 100 000 keys); percentiles come
/// from selection (`select_nth_unstable`, linear) rather than sorting.
#[derive(Debug, Clone, Default)]
pub struct StatsBuilder {
    overall: Acc,
    groups: Vec<(Option<String>, Option<String>, Acc)>,
    last: usize,
}

impl StatsBuilder {
    pub fn add(&mut self, row: &StatRow<'_>) {
        self.overall.add(row);
        let same = |g: &(Option<String>, Option<String>, Acc)| {
            g.0.as_deref() == row.category && g.1.as_deref() == row.complexity
        };
        if !self.groups.get(self.last).is_some_and(same) {
            self.last = match self.groups.iter().position(same) {
                Some(i) => i,
                None => {
                    self.groups.push((
                        row.category.map(str::to_string),
                        row.complexity.map(str::to_string),
                        Acc::default(),
                    ));
                    self.groups.len() - 1
                }
            };
        }
        self.groups[self.last].2.add(row);
    }

    /// The statistics of everything added so far (the builder stays usable).
    pub fn finish(&self) -> HistoryStats {
        HistoryStats {
            overall: self.overall.stats(),
            by_category: self
                .groups
                .iter()
                .map(|(cat, cx, acc)| {
                    (
                        format!(
                            "{}/{}",
                            cat.as_deref().unwrap_or("-"),
                            cx.as_deref().unwrap_or("-")
                        ),
                        acc.stats(),
                    )
                })
                .collect(),
        }
    }
}

/// Running aggregates of one group.
#[derive(Debug, Clone, Default)]
struct Acc {
    succeeded: u64,
    durations: Vec<u64>,
    cost_sum: f64,
    costs: u64,
}

impl Acc {
    fn add(&mut self, r: &StatRow<'_>) {
        self.succeeded += u64::from(r.status == Status::Succeeded);
        self.durations.push(r.duration_ms);
        if let Some(c) = r.cost {
            self.cost_sum += c;
            self.costs += 1;
        }
    }

    fn stats(&self) -> Stats {
        let n = self.durations.len();
        if n == 0 {
            return Stats::default();
        }
        let mut durations = self.durations.clone();
        let p50 = select_percentile(&mut durations, 0.5);
        let p90 = select_percentile(&mut durations, 0.9);
        let max = self.durations.iter().copied().max().unwrap_or(0);
        Stats {
            count: n as u64,
            succeeded: self.succeeded,
            success_rate: self.succeeded as f64 / n as f64,
            duration_p50_ms: p50,
            duration_p90_ms: p90,
            duration_max_ms: max,
            total_cost_usd: self.cost_sum,
            mean_cost_usd: if self.costs == 0 {
                0.0
            } else {
                self.cost_sum / self.costs as f64
            },
        }
    }
}

/// Nearest-rank percentile by selection (reorders `values`; linear time).
fn select_percentile(values: &mut [u64], p: f64) -> u64 {
    if values.is_empty() {
        return 0;
    }
    let rank = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len());
    *values.select_nth_unstable(rank - 1).1
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_gives_the_same_percentiles_as_sorting() {
        let mut rng = fastrand::Rng::with_seed(7);
        for n in [1usize, 2, 3, 10, 99, 1000] {
            let v: Vec<u64> = (0..n).map(|_| rng.u64(0..500)).collect();
            let mut sorted = v.clone();
            sorted.sort_unstable();
            for p in [0.5, 0.9, 1.0] {
                assert_eq!(
                    select_percentile(&mut v.clone(), p),
                    percentile(&sorted, p),
                    "{n} {p}"
                );
            }
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=10).collect();
        assert_eq!(percentile(&v, 0.5), 5);
        assert_eq!(percentile(&v, 0.9), 9);
        assert_eq!(percentile(&v, 1.0), 10);
        assert_eq!(percentile(&[7], 0.9), 7);
        assert_eq!(percentile(&[], 0.5), 0);
    }

    #[test]
    fn stats_are_grouped_by_category_and_complexity() {
        let rows = [
            StatRow {
                status: Status::Succeeded,
                duration_ms: 100,
                cost: Some(1.0),
                category: Some("code"),
                complexity: Some("low"),
            },
            StatRow {
                status: Status::TimedOut,
                duration_ms: 300,
                cost: None,
                category: Some("code"),
                complexity: Some("low"),
            },
            StatRow {
                status: Status::Succeeded,
                duration_ms: 50,
                cost: Some(0.5),
                category: None,
                complexity: None,
            },
        ];
        let s = compute_stats(rows);
        assert_eq!(s.overall.count, 3);
        assert_eq!(s.overall.succeeded, 2);
        assert!((s.overall.mean_cost_usd - 0.75).abs() < 1e-9);
        assert_eq!(s.overall.duration_max_ms, 300);
        let code = &s.by_category["code/low"];
        assert_eq!((code.count, code.duration_p50_ms), (2, 100));
        assert_eq!(s.by_category["-/-"].count, 1);
    }
}
