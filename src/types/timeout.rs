//! Where a task's timeout came from (the rule that chooses it is in `exec::timeout`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which rule chose a timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeoutKind {
    /// The task's own `timeout_secs`.
    Explicit,
    /// The configured `default_timeout_secs`.
    Default,
    /// Raised above the default by the history of the task's class.
    Learned,
}

/// Where a task's timeout came from, with the evidence when the history was consulted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TimeoutBasis {
    pub kind: TimeoutKind,
    /// The task's class, when the history was consulted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complexity: Option<String>,
    /// How many recorded runs of that class the history holds (up to the predictor's window),
    /// when there were enough to learn from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<usize>,
    /// Their 95th-percentile duration, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95_secs: Option<u64>,
    /// The same, for people.
    pub detail: String,
}

impl TimeoutBasis {
    /// The task named its own timeout.
    pub fn explicit(secs: u64) -> Self {
        TimeoutBasis {
            kind: TimeoutKind::Explicit,
            category: None,
            complexity: None,
            samples: None,
            p95_secs: None,
            detail: format!("{secs} s: the task's timeout_secs"),
        }
    }
}
