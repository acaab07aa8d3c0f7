//! Reads: records, pages, statistics and durations from Redis (after the outbox is replayed,
//! so a read sees what was written), with the outbox's newest version first while it has
//! entries. See "Reads" in the [module documentation](super).

use std::sync::atomic::Ordering;

use uuid::Uuid;

use super::summary::{BUCKET_MS, Summary, rows};
use super::{DURATIONS_KEPT, FETCH_CHUNK, Inner, REPLAY_BUDGET};
use crate::store::{
    ExecutionRecord, HistoryFilter, HistoryStats, RedisFailure, StatRow, StoreError, compute_stats,
};
use crate::types::run::Run;

impl Inner {
    /// One record: the outbox's newest version while it has entries, else Redis's.
    pub(super) async fn get(&self, id: Uuid) -> Result<Option<ExecutionRecord>, StoreError> {
        let key = id.to_string();
        // The outbox holds the newest version of anything not yet in Redis.
        if self.dirty.load(Ordering::SeqCst)
            && let Some(json) = self.outbox.latest(&key).await?
        {
            return decode(&key, &json).map(Some);
        }
        match self
            .query::<Option<String>>(redis::cmd("GET").arg(self.exec_key(&key)))
            .await
        {
            Ok(json) => json.map(|j| decode(&key, &j)).transpose(),
            Err(e) => Err(self.read_error(e).await),
        }
    }

    /// A page of records, after replaying the outbox (a read sees what was written).
    pub(super) async fn list(
        &self,
        filter: &HistoryFilter,
    ) -> Result<Vec<ExecutionRecord>, StoreError> {
        // Read what was written: the outbox first, when Redis is there.
        if let Err(e) = self.try_flush(REPLAY_BUDGET).await {
            return Err(self.read_error(e).await);
        }
        match self.list_redis(filter).await {
            Err(e @ StoreError::Redis(_)) => Err(self.read_error(e).await),
            other => other,
        }
    }

    /// Statistics over the filter, after replaying the outbox.
    pub(super) async fn stats(&self, filter: &HistoryFilter) -> Result<HistoryStats, StoreError> {
        // Read what was written: the outbox first, when Redis is there.
        if let Err(e) = self.try_flush(REPLAY_BUDGET).await {
            return Err(self.read_error(e).await);
        }
        match self.stats_redis(filter).await {
            Err(e @ StoreError::Redis(_)) => Err(self.read_error(e).await),
            other => other,
        }
    }

    /// The newest durations of a class, after replaying the outbox.
    pub(super) async fn recent_durations(
        &self,
        category: &str,
        complexity: &str,
        limit: usize,
    ) -> Result<Vec<u64>, StoreError> {
        // Read what was written: the outbox first, when Redis is there.
        if let Err(e) = self.try_flush(REPLAY_BUDGET).await {
            return Err(self.read_error(e).await);
        }
        match self.durations_redis(category, complexity, limit).await {
            Err(e @ StoreError::Redis(_)) => Err(self.read_error(e).await),
            other => other,
        }
    }

    /// One run: the outbox's snapshot while it has entries, else Redis's.
    pub(super) async fn get_run(&self, id: Uuid) -> Result<Option<Run>, StoreError> {
        let key = id.to_string();
        if self.dirty.load(Ordering::SeqCst)
            && let Some(json) = self.outbox.run(&key).await?
        {
            return decode_run(&key, &json).map(Some);
        }
        match self
            .query::<Option<String>>(redis::cmd("HGET").arg(self.run_key(&key)).arg("json"))
            .await
        {
            Ok(json) => json.map(|j| decode_run(&key, &j)).transpose(),
            Err(e) => Err(self.read_error(e).await),
        }
    }

    /// The most recently updated runs, after replaying the outbox.
    pub(super) async fn list_runs(&self, limit: usize) -> Result<Vec<Run>, StoreError> {
        if let Err(e) = self.try_flush(REPLAY_BUDGET).await {
            return Err(self.read_error(e).await);
        }
        if limit == 0 {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = match self
            .query(
                redis::cmd("ZREVRANGE")
                    .arg(self.key("runs"))
                    .arg(0)
                    .arg(limit.min(isize::MAX as usize) as isize - 1),
            )
            .await
        {
            Ok(ids) => ids,
            Err(e) => return Err(self.read_error(e).await),
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("HGET").arg(self.run_key(id)).arg("json");
        }
        let mut con = self.conn.clone();
        let blobs: Vec<Option<String>> = match self.call(pipe.query_async(&mut con)).await {
            Ok(b) => b,
            Err(e) => return Err(self.read_error(e).await),
        };
        ids.iter()
            .zip(blobs)
            .filter_map(|(id, json)| json.map(|j| decode_run(id, &j)))
            .collect()
    }

    /// An error for a read that needed Redis and could not reach it.
    pub(super) async fn read_error(&self, e: StoreError) -> StoreError {
        StoreError::Redis(RedisFailure::Read {
            cause: Box::new(e),
            pending: self.outbox.count().await.unwrap_or(0),
            outbox: self.outbox.path.clone(),
        })
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
            accepted: r.s.accepted,
            repairs: r.s.repairs,
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
                    .ok_or_else(|| StoreError::CorruptSummary {
                        id: "?".into(),
                        detail: format!("unreadable summary {s:?} in {}", self.key("sum")),
                    })
            })
            .collect()
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
        source: e,
    })
}

fn decode(id: &str, json: &str) -> Result<ExecutionRecord, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        id: id.to_string(),
        source: e,
    })
}
