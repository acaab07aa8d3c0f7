//! The `response_file` check: the response file exists, belongs to this execution, and its
//! SHA-256 is the one its chain link (and the record) names. Any mismatch is tampering: the
//! file was edited, swapped, deleted or fabricated.

use super::checks::{CheckState, Checks};
use super::one::OnRecord;
use crate::evidence::artifacts::ResponseDocument;
use crate::types::chain::sha256_hex;

/// The response file as read: its bytes and its document, `None` when there is none.
pub(super) type Response = std::io::Result<Option<(Vec<u8>, ResponseDocument)>>;

/// Adds the `response_file` check; returns the document when the file could be read, for the
/// checks that compare it with the record and read what it claims.
pub(super) fn check(c: &mut Checks, e: &OnRecord, response: Response) -> Option<ResponseDocument> {
    if e.without_evidence() {
        let why = e
            .record
            .as_ref()
            .and_then(|r| {
                r.result
                    .warnings
                    .iter()
                    .find(|w| w.contains("evidence"))
                    .cloned()
            })
            .unwrap_or_else(|| {
                "no evidence was written for this execution (recorded before evidence existed?)"
                    .into()
            });
        c.add("response_file", CheckState::Fail, why);
    }
    let path = e.response_path.display();
    match response {
        Ok(None) if e.has_evidence() => {
            c.add(
                "response_file",
                CheckState::Tampered,
                format!(
                    "the response file {path} is missing (deleted?) although the chain links it"
                ),
            );
            None
        }
        Ok(None) => None,
        Err(err) => {
            c.add(
                "response_file",
                CheckState::Tampered,
                format!("the response file {path} is not a readable response file: {err}"),
            );
            None
        }
        Ok(Some((bytes, d))) => {
            let sha = sha256_hex(&bytes);
            let problems = problems(e, &sha, &d);
            if problems.is_empty() {
                c.add(
                    "response_file",
                    CheckState::Pass,
                    format!("{path} (sha256 {sha})"),
                );
            } else {
                c.add(
                    "response_file",
                    CheckState::Tampered,
                    format!("the response file {path}: {}", problems.join("; ")),
                );
            }
            Some(d)
        }
    }
}

/// What is wrong with a response file whose SHA-256 is `sha`: another execution's, not the
/// hash its link names, or not the hash the record names.
fn problems(e: &OnRecord, sha: &str, d: &ResponseDocument) -> Vec<String> {
    let id = e.id;
    let mut problems = Vec::new();
    if d.execution_uuid != id || d.record.execution_id != id {
        problems.push(format!(
            "it belongs to execution {}, not {id} (moved or swapped)",
            d.record.execution_id
        ));
    }
    match &e.link {
        Some(l) if l.response_sha256 != sha => problems.push(format!(
            "its SHA-256 is {sha} but chain link #{} says {} (edited)",
            l.seq, l.response_sha256
        )),
        Some(_) => {}
        None => {
            problems.push("it has no link in the evidence chain (fabricated or inserted)".into())
        }
    }
    if let Some(claimed) = &e.claimed
        && claimed.response_sha256 != sha
        && e.link
            .as_ref()
            .is_none_or(|l| l.response_sha256 != claimed.response_sha256)
    {
        problems.push(format!(
            "the history record names SHA-256 {} for it",
            claimed.response_sha256
        ));
    }
    problems
}
