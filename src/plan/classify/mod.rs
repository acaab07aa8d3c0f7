//! The classifier: what kind of work a task is (category) and how big (complexity, score
//! 1–10), with every signal that led there.
//!
//! Deterministic and explainable by construction: all knowledge is in static tables
//! (`rules`: phrase → category/weight, phrase → effort weight, item nouns, file extensions,
//! length bands), and the algorithm (`scoring`) only adds up what matched:
//!
//! 1. **Category**: every matched category phrase adds its weight to its category; the highest
//!    total wins, ties broken by [`TIE_ORDER`] (the more specific kind of work first: a task
//!    that says "refactor" and "test" equally is refactoring that ends with tests). No match:
//!    `general`.
//! 2. **Score**: [`BASE_SCORE`] + the category's base effort + effort phrases (scope words
//!    raise it, "typo"/"quick"/"what is" lower it) + length band + number of requested items
//!    ("12 endpoints", an embedded list) + files and directories mentioned + multi-step
//!    phrasing ("then", "finally", `;`). Rounded and clamped to 1–10.
//! 3. **Complexity** is a band of the score: 1–2 trivial, 3–4 low, 5–6 medium, 7–8 high,
//!    9–10 extreme.
//!
//! Unlike the predecessor (five keyword lists that disagreed, substring tests so that "sum"
//! matched "summary", and a different answer per tool), this is the only classifier, matches
//! whole words, and returns its reasons.

mod rules;
mod scoring;

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use rules::{
    ACTION_VERBS, BASE_SCORE, CATEGORY_BASE, CATEGORY_RULES, DIRECTORY_BANDS, DIRECTORY_ROOTS,
    EFFORT_RULES, FILE_BANDS, FILE_EXTENSIONS, ITEM_BANDS, ITEM_NOUNS, LENGTH_BANDS,
    MULTI_STEP_CAP, MULTI_STEP_RULES, MULTI_STEP_WEIGHT, POLITE_WORDS, TIE_ORDER,
};
pub use scoring::{classify, classify_scan};

/// What kind of work a task is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Code,
    Refactor,
    Test,
    Debug,
    Review,
    Docs,
    Research,
    Data,
    Architecture,
    Ops,
    General,
}

impl Category {
    pub const ALL: [Category; 11] = [
        Category::Code,
        Category::Refactor,
        Category::Test,
        Category::Debug,
        Category::Review,
        Category::Docs,
        Category::Research,
        Category::Data,
        Category::Architecture,
        Category::Ops,
        Category::General,
    ];

    /// The spelling used in JSON and in the history store.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Code => "code",
            Category::Refactor => "refactor",
            Category::Test => "test",
            Category::Debug => "debug",
            Category::Review => "review",
            Category::Docs => "docs",
            Category::Research => "research",
            Category::Data => "data",
            Category::Architecture => "architecture",
            Category::Ops => "ops",
            Category::General => "general",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown category `{s}`"))
    }
}

/// How big a task is; a band of the 1–10 score.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Complexity {
    Trivial,
    Low,
    Medium,
    High,
    Extreme,
}

impl Complexity {
    pub const ALL: [Complexity; 5] = [
        Complexity::Trivial,
        Complexity::Low,
        Complexity::Medium,
        Complexity::High,
        Complexity::Extreme,
    ];

    /// The spelling used in JSON and in the history store.
    pub fn as_str(self) -> &'static str {
        match self {
            Complexity::Trivial => "trivial",
            Complexity::Low => "low",
            Complexity::Medium => "medium",
            Complexity::High => "high",
            Complexity::Extreme => "extreme",
        }
    }

    /// Position in [`Complexity::ALL`] (0 = trivial).
    pub fn rank(self) -> usize {
        self as usize
    }

    /// The band of a score: 1–2 trivial, 3–4 low, 5–6 medium, 7–8 high, 9–10 extreme.
    pub fn from_score(score: u8) -> Complexity {
        match score {
            0..=2 => Complexity::Trivial,
            3..=4 => Complexity::Low,
            5..=6 => Complexity::Medium,
            7..=8 => Complexity::High,
            _ => Complexity::Extreme,
        }
    }
}

impl fmt::Display for Complexity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Complexity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Complexity::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown complexity `{s}`"))
    }
}

/// What kind of evidence a [`Signal`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// The starting score and the category's base effort.
    Base,
    /// A phrase that votes for a category (weight: its vote).
    CategoryKeyword,
    /// A phrase that raises or lowers the effort (weight: score change).
    EffortKeyword,
    /// Words about the size of the scope: codebase, repository, project…
    Scope,
    /// The length of the task text.
    Length,
    /// Requested items: "12 endpoints", "five tests", an embedded list.
    Items,
    /// File paths mentioned.
    Files,
    /// Directory paths mentioned.
    Directories,
    /// Multi-step phrasing: "then", "finally", `;`.
    MultiStep,
}

/// One piece of evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Signal {
    pub kind: SignalKind,
    /// What was seen, for people.
    pub detail: String,
    /// Its contribution: a vote for the category (`category_keyword`) or score points.
    pub weight: f64,
}

/// What a task is and how big, with the reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Classification {
    pub category: Category,
    pub complexity: Complexity,
    /// 1 (a lookup) … 10 (a project); `complexity` is its band.
    pub score: u8,
    pub signals: Vec<Signal>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_bands() {
        assert_eq!(Complexity::from_score(1), Complexity::Trivial);
        assert_eq!(Complexity::from_score(4), Complexity::Low);
        assert_eq!(Complexity::from_score(6), Complexity::Medium);
        assert_eq!(Complexity::from_score(8), Complexity::High);
        assert_eq!(Complexity::from_score(10), Complexity::Extreme);
    }
}
