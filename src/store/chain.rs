//! The evidence hash chain's table: where the links of [`crate::types::chain`] are kept,
//! append-only, and read back.
//!
//! The pure part (what a link is, how its hash is computed) stays in `evidence::chain`; this is
//! the SQL half, kept with the store because it shares the store's files and transactions: the
//! embedded store appends a link and writes the record that carries it in one commit, and the
//! Redis store keeps the chain in its local outbox file (see "Evidence chain" in
//! [`super::redis`]).
//!
//! Appends are safe across processes: [`append`] reads the head and inserts the next link in
//! one `BEGIN IMMEDIATE` transaction, so two servers sharing a data dir serialise on SQLite's
//! write lock and can never both link to the same predecessor.

use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

use crate::types::chain::{ChainLink, ChainPos, GENESIS, link_hash};

/// The table, created by a migration of the embedded store and by the Redis store's local file.
pub(crate) const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS evidence_chain (
        seq INTEGER PRIMARY KEY,
        execution_id TEXT NOT NULL UNIQUE,
        response_sha256 TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        appended_at INTEGER NOT NULL
    );";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, String, String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn to_link(
    (seq, id, response_sha256, prev_hash, hash): (i64, String, String, String, String),
) -> rusqlite::Result<ChainLink> {
    let execution_id = Uuid::parse_str(&id).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(ChainLink {
        seq: u64::try_from(seq).unwrap_or(0),
        execution_id,
        response_sha256,
        prev_hash,
        hash,
    })
}

const COLUMNS: &str = "seq, execution_id, response_sha256, prev_hash, hash";

/// Reads one link.
pub(crate) fn get(conn: &Connection, pos: ChainPos) -> rusqlite::Result<Option<ChainLink>> {
    let found = match pos {
        ChainPos::Head => conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM evidence_chain ORDER BY seq DESC LIMIT 1"),
                [],
                row,
            )
            .optional()?,
        ChainPos::Seq(seq) => conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM evidence_chain WHERE seq = ?1"),
                [i64::try_from(seq).unwrap_or(i64::MAX)],
                row,
            )
            .optional()?,
        ChainPos::Execution(id) => conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM evidence_chain WHERE execution_id = ?1"),
                [id.to_string()],
                row,
            )
            .optional()?,
    };
    found.map(to_link).transpose()
}

/// Appends the link of `execution_id` after the current head, in one write transaction (the
/// head cannot move in between, even with other processes appending). Appending an execution
/// that already has a link with the same response hash returns that link (a retried append);
/// with another hash it is an error — a link is never rewritten.
pub(crate) fn append(
    conn: &Connection,
    execution_id: Uuid,
    response_sha256: &str,
) -> rusqlite::Result<ChainLink> {
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    let link = append_in(&tx, execution_id, response_sha256)?;
    tx.commit()?;
    Ok(link)
}

/// [`append`] inside a write transaction the caller holds (and commits): a store can append
/// the link and write the record that carries it in one commit.
pub(crate) fn append_in(
    tx: &Connection,
    execution_id: Uuid,
    response_sha256: &str,
) -> rusqlite::Result<ChainLink> {
    if let Some(existing) = get(tx, ChainPos::Execution(execution_id))? {
        if existing.response_sha256 == response_sha256 {
            return Ok(existing);
        }
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
            Some(format!(
                "execution {execution_id} is already in the evidence chain (link {}) with another response hash; links are never rewritten",
                existing.seq
            )),
        ));
    }
    let head = get(tx, ChainPos::Head)?;
    let (seq, prev_hash) = match &head {
        Some(h) => (h.seq + 1, h.hash.clone()),
        None => (1, GENESIS.to_string()),
    };
    let link = ChainLink {
        seq,
        execution_id,
        response_sha256: response_sha256.to_string(),
        hash: link_hash(seq, execution_id, response_sha256, &prev_hash),
        prev_hash,
    };
    tx.execute(
        "INSERT INTO evidence_chain (seq, execution_id, response_sha256, prev_hash, hash, appended_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        rusqlite::params![
            i64::try_from(link.seq).unwrap_or(i64::MAX),
            link.execution_id.to_string(),
            link.response_sha256,
            link.prev_hash,
            link.hash,
            chrono::Utc::now().timestamp_millis(),
        ],
    )?;
    Ok(link)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::chain::sha256_hex;

    fn conn() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(SCHEMA).unwrap();
        c
    }

    #[test]
    fn links_follow_each_other_and_recompute() {
        let c = conn();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let la = append(&c, a, &sha256_hex(b"a")).unwrap();
        let lb = append(&c, b, &sha256_hex(b"b")).unwrap();
        assert_eq!((la.seq, la.prev_hash.as_str()), (1, GENESIS));
        assert_eq!((lb.seq, lb.prev_hash.as_str()), (2, la.hash.as_str()));
        assert!(la.is_self_consistent() && lb.is_self_consistent());
        assert_eq!(get(&c, ChainPos::Head).unwrap(), Some(lb.clone()));
        assert_eq!(get(&c, ChainPos::Seq(1)).unwrap(), Some(la.clone()));
        assert_eq!(get(&c, ChainPos::Execution(b)).unwrap(), Some(lb));
        let mut edited = la;
        edited.response_sha256 = sha256_hex(b"edited");
        assert!(!edited.is_self_consistent());
    }

    #[test]
    fn appending_again_is_idempotent_but_never_rewrites() {
        let c = conn();
        let a = Uuid::new_v4();
        let first = append(&c, a, "h1").unwrap();
        assert_eq!(append(&c, a, "h1").unwrap(), first);
        let err = append(&c, a, "h2").unwrap_err();
        assert!(err.to_string().contains("never rewritten"), "{err}");
    }
}
