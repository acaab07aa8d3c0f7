//! What can go wrong in a store.
//!
//! Each error names what failed (a path, a URL, a record) so that a person can act on it, and
//! keeps the error underneath as its [`source`](std::error::Error::source), so that code can
//! look at it (a SQLite busy code, an I/O error kind) rather than at a message. The messages
//! include the cause's text too: most callers show an error with `{}` alone (tool results,
//! logs), and what they show must say why.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Errors of a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A database file, or its directory, could not be read or created. `context` is put
    /// before the cause (`cannot read it: `), or is empty.
    #[error("cannot open the history database {path}: {context}{source}")]
    OpenFile {
        path: PathBuf,
        context: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// SQLite refused a database file while opening it or bringing its schema up to date.
    /// `context` says which step, when that helps (`migration 3: `, `Redis outbox: `), or is
    /// empty.
    #[error("cannot open the history database {path}: {context}{source}")]
    OpenDatabase {
        path: PathBuf,
        context: String,
        #[source]
        source: rusqlite::Error,
    },
    /// The first read of the file failed: it is corrupt, or not a database (or stayed locked).
    /// It is never overwritten.
    #[error("cannot open the history database {path}: {source} (the file is left untouched)")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// The file is not one this version can use (not a regular file, no WAL mode, a newer
    /// schema); nothing failed underneath, so there is no source.
    #[error("cannot open the history database {path}: {reason}")]
    Unusable { path: PathBuf, reason: String },
    /// A statement on an open history database failed.
    #[error("history database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// A statement on the Redis store's local file (outbox, chain, journal) failed.
    #[error("history database {path}: Redis outbox: {source}")]
    Outbox {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// The Redis URL cannot be used. The redis crate's error is kept as text, with the URL
    /// redacted, and not as a source: its message may quote the URL, password included.
    #[error("invalid Redis URL `{url}`: {message}")]
    RedisUrl { url: String, message: String },
    /// Redis failed, or did not answer in time.
    #[error("Redis: {0}")]
    Redis(#[source] RedisFailure),
    /// A record or a run could not be encoded as JSON, or read back from it.
    #[error("corrupt history record {id}: {source}")]
    Corrupt {
        id: String,
        #[source]
        source: serde_json::Error,
    },
    /// A Redis summary row is not in its format (see `store::redis`); nothing failed
    /// underneath, so `detail` quotes the row.
    #[error("corrupt history record {id}: {detail}")]
    CorruptSummary { id: String, detail: String },
    /// A blocking store task panicked or was cancelled.
    #[error("history store task failed: {0}")]
    Task(#[source] tokio::task::JoinError),
    /// An internal failure that has no error of its own to carry.
    #[error("history store task failed: {0}")]
    Internal(String),
    /// The store could not be opened (see [`super::DeferredStore`]): every call gets that one
    /// failure, shared.
    #[error("the history store could not be opened: {0}")]
    Unavailable(#[source] Arc<StoreError>),
}

/// What went wrong with Redis.
#[derive(Debug, thiserror::Error)]
pub enum RedisFailure {
    /// A command (or the connection under it) failed. `location` is the URL, password
    /// redacted.
    #[error("{location}: {source}")]
    Command {
        location: String,
        #[source]
        source: redis::RedisError,
    },
    /// No answer within the time every call is given.
    #[error("{location}: no answer within {secs} s")]
    Timeout { location: String, secs: u64 },
    /// `PING` answered something else than `PONG`.
    #[error("{location}: unexpected PING answer {answer:?}")]
    UnexpectedPing { location: String, answer: String },
    /// A read that needs Redis failed; `pending` records wait in the `outbox` file meanwhile
    /// (they are not lost, and the read can be tried again).
    #[error(
        "cannot read the history: {}{}",
        .cause.detail(),
        waiting(.pending, .outbox)
    )]
    Read {
        #[source]
        cause: Box<StoreError>,
        pending: u64,
        outbox: PathBuf,
    },
}

impl StoreError {
    /// The text of the error without the `Redis: ` its variant puts first (for messages that
    /// already say it is about Redis).
    pub(crate) fn detail(&self) -> String {
        match self {
            StoreError::Redis(f) => f.to_string(),
            e => e.to_string(),
        }
    }
}

/// The end of a failed read's message: what waits in the outbox, if anything.
fn waiting<'a>(pending: &u64, outbox: &'a Path) -> Waiting<'a> {
    Waiting {
        pending: *pending,
        outbox,
    }
}

struct Waiting<'a> {
    pending: u64,
    outbox: &'a Path,
}

impl fmt::Display for Waiting<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pending > 0 {
            write!(
                f,
                "; {} record(s) wait in the local outbox {} and will be written when Redis is back",
                self.pending,
                self.outbox.display()
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn a_failed_read_says_what_waits_and_keeps_its_cause() {
        let cause = StoreError::Redis(RedisFailure::Timeout {
            location: "redis://h/".into(),
            secs: 3,
        });
        let read = |pending| {
            StoreError::Redis(RedisFailure::Read {
                cause: Box::new(StoreError::Redis(RedisFailure::Timeout {
                    location: "redis://h/".into(),
                    secs: 3,
                })),
                pending,
                outbox: "/d/outbox.sqlite3".into(),
            })
        };
        assert_eq!(cause.detail(), "redis://h/: no answer within 3 s");
        assert_eq!(
            read(0).to_string(),
            "Redis: cannot read the history: redis://h/: no answer within 3 s"
        );
        assert_eq!(
            read(2).to_string(),
            "Redis: cannot read the history: redis://h/: no answer within 3 s; 2 record(s) wait \
             in the local outbox /d/outbox.sqlite3 and will be written when Redis is back"
        );
        let failure = read(2);
        let inner = failure.source().and_then(|f| f.source());
        assert_eq!(inner.map(|e| e.to_string()), Some(cause.to_string()));
    }
}
