//! The verdict: the worst state among an execution's checks, and the worst verdict among the
//! executions of a report — never a default `verified`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ExecutionVerification;
use super::checks::{Check, CheckState};

/// The overall judgement of one execution.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check passed.
    Verified,
    /// Some evidence is missing or contradicts the claimed work (see `reasons`).
    Unverified,
    /// A hash or chain check failed: something was edited, deleted, inserted or fabricated.
    Tampered,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Verified => "verified",
            Verdict::Unverified => "unverified",
            Verdict::Tampered => "tampered",
        }
    }
}

/// Counts per verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerdictCounts {
    pub verified: u64,
    pub unverified: u64,
    pub tampered: u64,
}

/// One execution's verdict, and the reasons: the detail of every failed check.
pub(super) fn judge(checks: &[Check]) -> (Verdict, Vec<String>) {
    let verdict = if checks.iter().any(|k| k.state == CheckState::Tampered) {
        Verdict::Tampered
    } else if checks.iter().any(|k| k.state == CheckState::Fail) {
        Verdict::Unverified
    } else {
        Verdict::Verified
    };
    let reasons = checks
        .iter()
        .filter(|k| matches!(k.state, CheckState::Fail | CheckState::Tampered))
        .map(|k| format!("{}: {}", k.name, k.detail))
        .collect();
    (verdict, reasons)
}

/// The counts of a report, and its verdict: the worst of all, `unverified` when there is
/// nothing (an empty report proves nothing).
pub(super) fn tally(executions: &[ExecutionVerification]) -> (Verdict, VerdictCounts) {
    let mut counts = VerdictCounts::default();
    for e in executions {
        match e.verdict {
            Verdict::Verified => counts.verified += 1,
            Verdict::Unverified => counts.unverified += 1,
            Verdict::Tampered => counts.tampered += 1,
        }
    }
    let verdict = executions
        .iter()
        .map(|e| e.verdict)
        .max()
        .unwrap_or(Verdict::Unverified);
    (verdict, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_is_the_worst_check() {
        assert!(Verdict::Tampered > Verdict::Unverified && Verdict::Unverified > Verdict::Verified);
    }
}
