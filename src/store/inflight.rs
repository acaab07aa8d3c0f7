//! The journal of executions in flight: acknowledged, not yet recorded.
//!
//! An execution is written here (one durable insert) before its id is given to anyone, and
//! leaves when its history record is stored — in the same transaction as its evidence chain
//! link, so there is no moment when it is in neither place. A server that dies (SIGKILL, OOM,
//! power) leaves its rows behind; the next server on the same data dir finds those whose owner
//! process is gone, stops what is left of their process trees and records them as
//! `interrupted` (see `Executor::recover_interrupted`). So nothing acknowledged vanishes.
//!
//! The table lives in the store's local SQLite file (the history database, or the Redis
//! store's outbox file): liveness of a process is a question about this host, and the rows
//! must be writable while Redis is away.
//!
//! Several recoverers (two servers starting at once) never record an execution twice: each
//! claims a row with a compare-and-set on `claimed_by` first, and only the winner records it.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::types::run::RunOwner;

/// The table; created by a migration of the embedded store and by the Redis store's file.
pub(crate) const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS inflight (
        execution_id TEXT PRIMARY KEY,
        entry TEXT NOT NULL,
        claimed_by TEXT
    );";

/// What is known of an execution before it runs: enough to record it if its server dies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InFlight {
    pub execution_id: Uuid,
    pub task: String,
    pub cwd: String,
    pub category: Option<String>,
    pub complexity: Option<String>,
    pub timeout_secs: u64,
    pub submitted_at: DateTime<Utc>,
    /// The process that runs it.
    pub owner: RunOwner,
}

/// A row and its claim.
#[derive(Debug, Clone, PartialEq)]
pub struct InFlightRow {
    pub entry: InFlight,
    /// The recoverer that claimed it, if any (it may have died too).
    pub claimed_by: Option<RunOwner>,
}

fn to_sql_err(e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

/// Adds an execution (one transaction; durable when the connection syncs fully).
pub(crate) fn add(conn: &Connection, entry: &InFlight) -> rusqlite::Result<()> {
    let json = serde_json::to_string(entry).map_err(to_sql_err)?;
    conn.execute(
        "INSERT OR REPLACE INTO inflight (execution_id, entry, claimed_by) VALUES (?1, ?2, NULL)",
        rusqlite::params![entry.execution_id.to_string(), json],
    )?;
    Ok(())
}

/// Removes an execution: it is recorded (call it in the transaction that records it).
pub(crate) fn remove(conn: &Connection, id: Uuid) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "DELETE FROM inflight WHERE execution_id = ?1",
        [id.to_string()],
    )? > 0)
}

/// Every execution in flight, oldest first. Rows that cannot be read are skipped (and logged):
/// one bad row must not stop the recovery of the others.
pub(crate) fn list(conn: &Connection) -> rusqlite::Result<Vec<InFlightRow>> {
    let mut stmt = conn.prepare("SELECT execution_id, entry, claimed_by FROM inflight")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, entry, claimed) = row?;
        match serde_json::from_str::<InFlight>(&entry) {
            Ok(entry) => out.push(InFlightRow {
                entry,
                claimed_by: claimed.and_then(|c| serde_json::from_str(&c).ok()),
            }),
            Err(e) => tracing::warn!(%id, "unreadable in-flight entry skipped: {e}"),
        }
    }
    out.sort_by_key(|r| r.entry.submitted_at);
    Ok(out)
}

/// Claims a row for recovery if its claim is still `expected` (compare-and-set): `true` when
/// this caller won it.
pub(crate) fn claim(
    conn: &Connection,
    id: Uuid,
    expected: Option<&RunOwner>,
    claimer: &RunOwner,
) -> rusqlite::Result<bool> {
    let expected = expected
        .map(serde_json::to_string)
        .transpose()
        .map_err(to_sql_err)?;
    let claimer = serde_json::to_string(claimer).map_err(to_sql_err)?;
    Ok(conn.execute(
        "UPDATE inflight SET claimed_by = ?1 WHERE execution_id = ?2 AND claimed_by IS ?3",
        rusqlite::params![claimer, id.to_string(), expected],
    )? == 1)
}

/// One execution's entry, if it is in flight.
pub(crate) fn get(conn: &Connection, id: Uuid) -> rusqlite::Result<Option<InFlight>> {
    let entry: Option<String> = conn
        .query_row(
            "SELECT entry FROM inflight WHERE execution_id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    entry
        .map(|e| serde_json::from_str(&e))
        .transpose()
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(SCHEMA).unwrap();
        c
    }

    fn owner(pid: u32) -> RunOwner {
        RunOwner {
            host: "h".into(),
            pid,
            pid_start: Some(7),
        }
    }

    fn entry() -> InFlight {
        InFlight {
            execution_id: Uuid::new_v4(),
            task: "t".into(),
            cwd: "/w".into(),
            category: None,
            complexity: None,
            timeout_secs: 600,
            submitted_at: Utc::now(),
            owner: owner(1),
        }
    }

    #[test]
    fn entries_are_added_listed_and_removed() {
        let c = conn();
        let e = entry();
        add(&c, &e).unwrap();
        assert_eq!(list(&c).unwrap()[0].entry, e);
        assert_eq!(get(&c, e.execution_id).unwrap(), Some(e.clone()));
        assert!(remove(&c, e.execution_id).unwrap());
        assert!(!remove(&c, e.execution_id).unwrap());
        assert!(list(&c).unwrap().is_empty());
    }

    #[test]
    fn only_one_recoverer_wins_a_claim_and_a_dead_claimer_can_be_replaced() {
        let c = conn();
        let e = entry();
        add(&c, &e).unwrap();
        assert!(claim(&c, e.execution_id, None, &owner(2)).unwrap());
        assert!(!claim(&c, e.execution_id, None, &owner(3)).unwrap());
        // Recoverer 2 died: another takes over from the claim it saw.
        assert!(claim(&c, e.execution_id, Some(&owner(2)), &owner(3)).unwrap());
        assert_eq!(list(&c).unwrap()[0].claimed_by, Some(owner(3)));
    }
}
