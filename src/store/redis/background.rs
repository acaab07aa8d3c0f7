//! The background task: replays the outbox into Redis when it is reachable again, and trims
//! executions older than the retention (see "Writes" and "Outbox" in the
//! [module documentation](super)).

use std::sync::Weak;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::{
    IDLE_INTERVAL, Inner, REPLAY_BATCH, RETRY_INTERVAL, TRIM_BATCH, TRIM_INTERVAL, now_ms,
};
use crate::store::{ExecutionRecord, StoreError};
use crate::types::run::Run;

/// Retries and housekeeping: replays the outbox when Redis is reachable, trims by retention.
pub(super) async fn background(inner: Weak<Inner>) {
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

impl Inner {
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
    pub(super) async fn replay_locked(&self, budget: usize) -> Result<bool, StoreError> {
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
    pub(super) async fn try_flush(&self, budget: usize) -> Result<(), StoreError> {
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
    pub(super) async fn maintain(&self) {
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
}
