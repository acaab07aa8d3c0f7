//! What can go wrong in a store.

use std::path::PathBuf;

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
