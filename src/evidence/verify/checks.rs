//! One check's outcome, and the list every check of an execution is added to, in order.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    Pass,
    /// Evidence missing or contradicting: makes the verdict `unverified`.
    Fail,
    /// A hash or the chain is broken: makes the verdict `tampered`.
    Tampered,
    /// Not applicable (e.g. the UUID hook was off); says why.
    Skip,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Check {
    pub name: String,
    pub state: CheckState,
    pub detail: String,
}

/// Collects checks and judges.
#[derive(Default)]
pub(super) struct Checks(pub(super) Vec<Check>);

impl Checks {
    pub(super) fn add(&mut self, name: &str, state: CheckState, detail: impl Into<String>) {
        self.0.push(Check {
            name: name.into(),
            state,
            detail: detail.into(),
        });
    }
}
