//! The hash chain over execution records.
//!
//! Each execution's evidence gets one link: its position (`seq`), the SHA-256 of its response
//! file's exact bytes, the hash of the previous link, and its own hash over all of those. The
//! links are kept, append-only, in a table of the store (`evidence_chain`); the newest row is
//! the chain head. So:
//!
//! - an edited response file no longer has the hash its link names;
//! - a deleted response file leaves a link without its file;
//! - a fabricated response file (or history record) has no link, or claims a position whose
//!   link names another execution;
//! - an edited, removed, inserted or reordered link breaks the recomputed hash or the
//!   `prev_hash` of its successor.
//!
//! We hash the file's bytes rather than a re-serialised form of its JSON: bytes are what was
//! written and what a person can check with `sha256sum`, and no float or key-order detail of a
//! JSON library can make an intact file look edited.
//!
//! This module is the pure half: what a link is and how its hash is computed, no I/O. The
//! table, its appends and reads are the store's (`crate::store::chain`): appends are safe
//! across processes there, in one `BEGIN IMMEDIATE` transaction, so two servers sharing a data
//! dir serialise on SQLite's write lock and can never both link to the same predecessor.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use super::text::sha256_hex;

/// `prev_hash` of the first link.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One link of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChainLink {
    /// Position, from 1.
    pub seq: u64,
    pub execution_id: Uuid,
    /// SHA-256 (hex) of the response file's bytes.
    pub response_sha256: String,
    /// `hash` of link `seq - 1` ([`GENESIS`] for the first).
    pub prev_hash: String,
    /// [`link_hash`] of the fields above.
    pub hash: String,
}

impl ChainLink {
    /// Whether `hash` is what the other fields hash to.
    pub fn is_self_consistent(&self) -> bool {
        self.hash
            == link_hash(
                self.seq,
                self.execution_id,
                &self.response_sha256,
                &self.prev_hash,
            )
    }
}

/// Which link to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainPos {
    /// The newest link (the head).
    Head,
    Seq(u64),
    Execution(Uuid),
}

/// The hash of a link: SHA-256 of a versioned, newline-separated text of its fields, so it can
/// be recomputed by hand (`printf 'cc-executor-chain-v1\n%s\n%s\n%s\n%s\n' … | sha256sum`).
pub fn link_hash(seq: u64, execution_id: Uuid, response_sha256: &str, prev_hash: &str) -> String {
    sha256_hex(
        format!("cc-executor-chain-v1\n{seq}\n{execution_id}\n{response_sha256}\n{prev_hash}\n")
            .as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_hash_covers_every_field() {
        let id = Uuid::new_v4();
        let link = ChainLink {
            seq: 1,
            execution_id: id,
            response_sha256: sha256_hex(b"a"),
            prev_hash: GENESIS.to_string(),
            hash: link_hash(1, id, &sha256_hex(b"a"), GENESIS),
        };
        assert!(link.is_self_consistent());
        let mut edited = link;
        edited.response_sha256 = sha256_hex(b"edited");
        assert!(!edited.is_self_consistent());
    }
}
