//! Opening an embedded database file, and its schema: the file checks, WAL and durability
//! settings every store file gets, and the versioned migrations of the history database.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::store::StoreError;

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
    // 3 (evidence): the hash chain over response files; see `crate::types::chain`.
    crate::store::chain::SCHEMA,
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
    crate::store::inflight::SCHEMA,
    // 6: acceptance checks (NULL: none; 1 passed, 0 rejected) and the place in a repair loop,
    // read by the statistics from the covering index like the rest.
    "ALTER TABLE executions ADD COLUMN accepted INTEGER;
     ALTER TABLE executions ADD COLUMN repairs INTEGER NOT NULL DEFAULT 0;
     DROP INDEX executions_stats;
     CREATE INDEX executions_stats ON executions(finished_at, status, duration_ms, cost, category, complexity, accepted, repairs);",
];

/// Opens (or creates, owner-only) a SQLite file for durable shared use: a corrupt or foreign
/// file is an error naming the path and is never overwritten; busy timeout; WAL (retried: a
/// new file's switch to WAL can race another process); `synchronous = FULL`. Both the history
/// and the Redis outbox open their files through here.
pub(crate) fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let file = |context: &'static str| {
        move |source| StoreError::OpenFile {
            path: path.to_path_buf(),
            context,
            source,
        }
    };
    let db = |source| StoreError::OpenDatabase {
        path: path.to_path_buf(),
        context: String::new(),
        source,
    };
    let unusable = |reason: String| StoreError::Unusable {
        path: path.to_path_buf(),
        reason,
    };
    if path.exists() {
        let meta = std::fs::metadata(path).map_err(file(""))?;
        if !meta.is_file() {
            return Err(unusable("not a regular file".into()));
        }
        // Unreadable (permissions) is reported as such, not as "not a database".
        std::fs::File::open(path).map_err(file("cannot read it: "))?;
    } else {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(file(""))?;
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
            Err(e) => return Err(file("")(e)),
        }
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(db)?;
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
            Err(source) => {
                return Err(StoreError::Unreadable {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    };
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(unusable(format!("cannot switch to WAL mode (got {mode})")));
    }
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        .map_err(db)?;
    Ok(conn)
}

/// Brings the schema of the history database at `path` up to date (see [`MIGRATIONS`]).
pub(super) fn migrate(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let db = |context: String| {
        move |source| StoreError::OpenDatabase {
            path: path.to_path_buf(),
            context,
            source,
        }
    };
    let version = |c: &Connection| -> Result<usize, StoreError> {
        c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
            .map(|v| v as usize)
            .map_err(db(String::new()))
    };
    if version(conn)? > MIGRATIONS.len() {
        return Err(StoreError::Unusable {
            path: path.to_path_buf(),
            reason: format!(
                "schema version {} is newer than this cc-executor understands ({}); upgrade cc-executor",
                version(conn)?,
                MIGRATIONS.len()
            ),
        });
    }
    if version(conn)? == MIGRATIONS.len() {
        return Ok(()); // up to date: no write lock, no transaction
    }
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        // The write lock is taken before the version is read, so two processes opening a new
        // file at once cannot both apply the same migration.
        conn.execute_batch("BEGIN IMMEDIATE")
            .map_err(db(String::new()))?;
        let applied = (|| {
            if version(conn)? <= i {
                conn.execute_batch(sql)
                    .map_err(db(format!("migration {}: ", i + 1)))?;
                conn.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
                    .map_err(db(String::new()))?;
            }
            Ok::<(), StoreError>(())
        })();
        match applied {
            Ok(()) => conn.execute_batch("COMMIT").map_err(db(String::new()))?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_no_database_is_refused_with_sqlites_own_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite3");
        std::fs::write(&path, b"not a database, a note".repeat(100)).unwrap();
        let err = open_connection(&path).expect_err("refused");
        let msg = err.to_string();
        assert!(msg.contains("(the file is left untouched)"), "{msg}");
        match err {
            StoreError::Unreadable { source, .. } => assert_eq!(
                source.sqlite_error_code(),
                Some(rusqlite::ErrorCode::NotADatabase)
            ),
            e => panic!("expected Unreadable, got {e:?}"),
        }
    }
}
