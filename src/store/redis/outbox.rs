//! The local outbox: a SQLite file next to the data that keeps records (and run snapshots)
//! while Redis is away, in order, until the background task replays them. See "Outbox" in the
//! [module documentation](super).
//!
//! The same file holds the evidence chain and the in-flight journal (see [`super::local`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

use super::now_ms;
use crate::store::StoreError;

/// The local outbox: records waiting for Redis, in order.
pub(super) struct Outbox {
    pub(super) path: PathBuf,
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
    pub(super) fn open(path: &Path) -> Result<Outbox, StoreError> {
        let err = |source| StoreError::OpenDatabase {
            path: path.to_path_buf(),
            context: "Redis outbox: ".into(),
            source,
        };
        let conn = crate::store::sqlite::open_connection(path)?;
        conn.execute_batch(OUTBOX_SCHEMA).map_err(err)?;
        conn.execute_batch(crate::store::chain::SCHEMA)
            .map_err(err)?;
        conn.execute_batch(crate::store::inflight::SCHEMA)
            .map_err(err)?;
        Ok(Outbox {
            path: path.to_path_buf(),
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    pub(super) async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard).map_err(|source| StoreError::Outbox { path, source })
        })
        .await
        .map_err(StoreError::Task)?
    }

    /// Queues a record for Redis; it is recorded from here on, so it leaves the in-flight
    /// journal in the same transaction.
    pub(super) async fn push(&self, id: Uuid, json: String) -> Result<(), StoreError> {
        self.with(move |c| {
            let tx =
                rusqlite::Transaction::new_unchecked(c, rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO outbox (execution_id, queued_at, record) VALUES (?1, ?2, ?3)",
                rusqlite::params![id.to_string(), now_ms(), json],
            )?;
            crate::store::inflight::remove(&tx, id)?;
            tx.commit()
        })
        .await
    }

    /// Records and run snapshots waiting.
    pub(super) async fn count(&self) -> Result<u64, StoreError> {
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
    pub(super) async fn push_run(
        &self,
        id: String,
        revision: u64,
        json: String,
    ) -> Result<(), StoreError> {
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

    pub(super) async fn run(&self, id: &str) -> Result<Option<String>, StoreError> {
        let id = id.to_string();
        self.with(move |c| {
            c.query_row("SELECT run FROM outbox_runs WHERE run_id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()
        })
        .await
    }

    pub(super) async fn runs(&self) -> Result<Vec<(String, u64, String)>, StoreError> {
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
    pub(super) async fn delete_run(&self, id: String, revision: u64) -> Result<(), StoreError> {
        self.with(move |c| {
            c.execute(
                "DELETE FROM outbox_runs WHERE run_id = ?1 AND revision = ?2",
                rusqlite::params![id, revision as i64],
            )
            .map(|_| ())
        })
        .await
    }

    pub(super) async fn latest(&self, id: &str) -> Result<Option<String>, StoreError> {
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

    pub(super) async fn batch(&self, limit: usize) -> Result<Vec<(i64, String)>, StoreError> {
        self.with(move |c| {
            let mut stmt = c.prepare("SELECT seq, record FROM outbox ORDER BY seq LIMIT ?1")?;
            let rows = stmt.query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
        .await
    }

    /// Deletes entries Redis has confirmed.
    pub(super) async fn delete(&self, seqs: Vec<i64>) -> Result<(), StoreError> {
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
    pub(super) async fn reject(&self, seq: i64, error: String) -> Result<(), StoreError> {
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
