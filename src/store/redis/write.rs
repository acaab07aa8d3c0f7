//! Writes: a record or a run snapshot goes to Redis through its script when Redis is there
//! and the outbox is empty, else into the outbox (in order, durably) for the background task.

use std::sync::atomic::Ordering;

use super::summary::summary_of;
use super::{DURATIONS_KEPT, Inner, REPLAY_BUDGET, TRIM_BATCH, now_ms};
use crate::store::{ExecutionRecord, StoreError};
use crate::types::run::Run;

impl Inner {
    /// Stores a record: to Redis when it is reachable and nothing waits before it, else to the
    /// outbox (durable either way when this returns).
    pub(super) async fn record(&self, record: &ExecutionRecord) -> Result<(), StoreError> {
        let json = serde_json::to_string(record).map_err(|e| StoreError::Corrupt {
            id: record.execution_id.to_string(),
            source: e,
        })?;
        let _g = self.write_lock.lock().await;
        let id = record.execution_id;
        if !self.is_degraded() {
            match self.replay_locked(REPLAY_BUDGET).await {
                Ok(true) => match self.write_one(record, &json).await {
                    Ok(_) => {
                        self.outbox
                            .with(move |c| crate::store::inflight::remove(c, id).map(|_| ()))
                            .await?;
                        return Ok(());
                    }
                    Err(e) => self.set_degraded(&e),
                },
                // Still a backlog: this record goes after it, in the outbox.
                Ok(false) => {}
                Err(e) => self.set_degraded(&e),
            }
        }
        self.outbox.push(id, json).await?;
        self.dirty.store(true, Ordering::SeqCst);
        self.wake.notify_one();
        Ok(())
    }

    /// Saves a run snapshot, like [`Self::record`] (the outbox keeps only its newest revision).
    pub(super) async fn save_run(&self, run: &Run) -> Result<(), StoreError> {
        let json = serde_json::to_string(run).map_err(|e| StoreError::Corrupt {
            id: run.run_id.to_string(),
            source: e,
        })?;
        let id = run.run_id.to_string();
        let _g = self.write_lock.lock().await;
        if !self.is_degraded() {
            match self.replay_locked(REPLAY_BUDGET).await {
                Ok(true) => {
                    match self
                        .write_run(&id, run.revision, run.updated_at.timestamp_millis(), &json)
                        .await
                    {
                        Ok(_) => return Ok(()),
                        Err(e) => self.set_degraded(&e),
                    }
                }
                Ok(false) => {}
                Err(e) => self.set_degraded(&e),
            }
        }
        self.outbox.push_run(id, run.revision, json).await?;
        self.dirty.store(true, Ordering::SeqCst);
        self.wake.notify_one();
        Ok(())
    }

    /// Writes one record with the write script (atomic, idempotent). Returns the script's
    /// outcome: 1 new, 2 replaced, 0 unchanged.
    pub(super) async fn write_one(
        &self,
        r: &ExecutionRecord,
        json: &str,
    ) -> Result<i64, StoreError> {
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

    /// Writes one run snapshot with the save script. `Ok(false)`: a newer revision is stored.
    pub(super) async fn write_run(
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
}
