//! One execution: what is on record about it is read once, then every check runs in a fixed
//! order (the report lists them in it) and the verdict is the worst of them.

use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::checks::Checks;
use super::{
    ExecutionVerification, VerifyError, chain_link, outcome, record, record_matches, response_file,
    transcript, verdict, written_files,
};
use crate::evidence::artifacts::read_response;
use crate::store::{ExecutionRecord, HistoryStore, StoreError};
use crate::types::chain::{ChainLink, ChainPos};
use crate::types::evidence::EvidenceRef;

/// What is on record about one execution, read once; the checks judge it.
pub(super) struct OnRecord {
    pub(super) id: Uuid,
    /// The history store's record.
    pub(super) record: Option<ExecutionRecord>,
    /// The store's chain link for this execution.
    pub(super) link: Option<ChainLink>,
    /// The evidence the record says was written: the response file's hash, the link's copy.
    pub(super) claimed: Option<EvidenceRef>,
    /// Always where this data dir keeps it, not wherever a (possibly edited) record points.
    pub(super) response_path: PathBuf,
    pub(super) file_exists: bool,
}

impl OnRecord {
    /// The record or the chain says that evidence was written.
    pub(super) fn has_evidence(&self) -> bool {
        self.claimed.is_some() || self.link.is_some()
    }

    /// A record and nothing else: no evidence was ever written for it (recorded before
    /// evidence existed, or writing it failed). Unverified, not tampered.
    pub(super) fn without_evidence(&self) -> bool {
        self.record.is_some() && !self.has_evidence() && !self.file_exists
    }
}

/// Reads the record, the chain link and the response file; an id none of them knows is
/// [`VerifyError::Unknown`].
async fn read(
    data_dir: &Path,
    store: &dyn HistoryStore,
    id: Uuid,
) -> Result<(OnRecord, response_file::Response), VerifyError> {
    let record = store.get(id).await?;
    let link = store.chain_link(ChainPos::Execution(id)).await?;
    let claimed = record.as_ref().and_then(|r| r.result.evidence.clone());
    let response_path = crate::evidence::response_path(data_dir, id);
    let response = {
        let p = response_path.clone();
        tokio::task::spawn_blocking(move || read_response(&p))
            .await
            .map_err(|e| StoreError::Internal(e.to_string()))?
    };
    let file_exists = !matches!(response, Ok(None));
    if record.is_none() && link.is_none() && !file_exists {
        return Err(VerifyError::Unknown(id));
    }
    let on_record = OnRecord {
        id,
        record,
        link,
        claimed,
        response_path,
        file_exists,
    };
    Ok((on_record, response))
}

/// Verifies one execution.
pub async fn verify_one(
    data_dir: &Path,
    store: &dyn HistoryStore,
    id: Uuid,
) -> Result<ExecutionVerification, VerifyError> {
    let (e, response) = read(data_dir, store, id).await?;
    let mut c = Checks::default();
    record::check(&mut c, &e);
    let doc = response_file::check(&mut c, &e, response);
    chain_link::check(&mut c, store, &e, doc.is_some()).await?;
    record_matches::check(&mut c, e.record.as_ref(), doc.as_ref());

    // The rest reads what the execution claims: the response file when there is one (it is
    // hash-protected), else the record.
    let subject: Option<&ExecutionRecord> = doc.as_ref().map(|d| &d.record).or(e.record.as_ref());
    let mut files = Vec::new();
    if let Some(s) = subject {
        outcome::status(&mut c, s);
        outcome::uuid_echo(&mut c, s);
        transcript::check(&mut c, &s.result).await;
        outcome::permission_denials(&mut c, s);
        files = written_files::check(&mut c, &s.result).await;
    }

    let checks = c.0;
    let (verdict, reasons) = verdict::judge(&checks);
    Ok(ExecutionVerification {
        execution_id: id,
        verdict,
        reasons,
        checks,
        files,
        status: subject.map(|s| s.result.status),
        task: subject.map(|s| crate::types::text::truncate_chars(&s.task, 200)),
        response_file: e.file_exists.then(|| e.response_path.display().to_string()),
    })
}
