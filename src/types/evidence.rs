//! What an execution's evidence is: where its response file is and its link in the hash
//! chain, the UUID echo, the files it wrote. Written and checked by `evidence`, stored by
//! `store`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::chain::ChainLink;

/// Where an execution's evidence is, and its link in the chain. Set on the result after the
/// response file was written, so the response file itself has it empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EvidenceRef {
    pub response_file: String,
    /// SHA-256 of the response file's bytes.
    pub response_sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt_file: Option<String>,
    pub chain: ChainLink,
}

/// An execution's evidence before its chain link exists: the response file is on disk, the
/// store appends the link (see [`crate::store::RecordStore::record_linked`]).
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceDraft {
    pub response_file: String,
    pub response_sha256: String,
    pub receipt_file: Option<String>,
}

impl EvidenceDraft {
    pub fn linked(self, chain: ChainLink) -> EvidenceRef {
        EvidenceRef {
            response_file: self.response_file,
            response_sha256: self.response_sha256,
            receipt_file: self.receipt_file,
            chain,
        }
    }
}

/// Whether the answer echoed the execution's UUID (the built-in UUID hook).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UuidEcho {
    /// The UUID the prompt asked for (the execution id).
    pub uuid: uuid::Uuid,
    /// It appears in the final answer (or the structured output).
    pub echoed: bool,
    /// The answer is a JSON object (JSON mode).
    pub json_mode: bool,
    /// In JSON mode: `execution_uuid` is the object's last key and holds the UUID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_key: Option<bool>,
}

/// A file the run says it wrote, with what it wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WrittenFile {
    /// Absolute path.
    pub path: String,
    /// SHA-256 of the content as written; `None` when the file was gone right after the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Where the hash comes from: `write_content` (the `content` of the last successful Write),
    /// or `after_run` (the file read right after the run: Edit/MultiEdit/NotebookEdit events do
    /// not carry the resulting content).
    pub source: String,
}
