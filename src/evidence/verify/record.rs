//! The `record` check: the history store has the execution's record. A response file or a
//! chain link without one means the record was deleted, or the evidence was fabricated.

use super::checks::{CheckState, Checks};
use super::one::OnRecord;

/// Adds the `record` check.
pub(super) fn check(c: &mut Checks, e: &OnRecord) {
    match &e.record {
        Some(_) => c.add("record", CheckState::Pass, "in the history store"),
        None => c.add(
            "record",
            CheckState::Tampered,
            "no history record, although a response file or chain link exists: the record was deleted, or the evidence was fabricated",
        ),
    }
}
