//! The classifier: what kind of work a task is (category) and how big (complexity, score
//! 1–10), with every signal that led there.
//!
//! Deterministic and explainable by construction: all knowledge is in the static tables below
//! (phrase → category/weight, phrase → effort weight, item nouns, file extensions, length
//! bands), and the algorithm only adds up what matched:
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

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::text::{SCAN_BYTES, Scan};

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

/// Where every score starts: an unremarkable, short task is "low".
pub const BASE_SCORE: f64 = 2.0;

/// Ties between category totals go to the earlier entry: specific kinds of work before
/// generic ones (a "fix the failing test" is debugging; "write code with tests" is code only
/// when nothing more specific won).
pub const TIE_ORDER: [Category; 11] = [
    Category::Architecture,
    Category::Refactor,
    Category::Debug,
    Category::Test,
    Category::Review,
    Category::Data,
    Category::Ops,
    Category::Docs,
    Category::Research,
    Category::Code,
    Category::General,
];

/// Effort each category adds to the score: designing or debugging tends to take longer than
/// documenting the same scope.
pub const CATEGORY_BASE: &[(Category, f64)] = &[
    (Category::Architecture, 2.0),
    (Category::Refactor, 1.0),
    (Category::Debug, 1.0),
    (Category::Research, 1.0),
    (Category::Code, 1.0),
    (Category::Test, 0.5),
    (Category::Review, 0.5),
    (Category::Data, 0.5),
    (Category::Ops, 0.5),
    (Category::Docs, 0.0),
    (Category::General, 0.0),
];

use Category as C;

/// Phrase → category vote. Lower case, one to three words, whole words only.
pub const CATEGORY_RULES: &[(&str, Category, f64)] = &[
    // code
    ("implement", C::Code, 2.0),
    ("implementation", C::Code, 1.0),
    ("write", C::Code, 1.0),
    ("create", C::Code, 1.0),
    ("build", C::Code, 1.0),
    ("add", C::Code, 1.0),
    ("function", C::Code, 1.0),
    ("class", C::Code, 1.0),
    ("method", C::Code, 1.0),
    ("endpoint", C::Code, 1.5),
    ("endpoints", C::Code, 1.5),
    ("feature", C::Code, 1.5),
    ("script", C::Code, 1.5),
    ("program", C::Code, 1.0),
    ("module", C::Code, 1.0),
    ("cli", C::Code, 1.0),
    ("api", C::Code, 1.0),
    ("rest api", C::Code, 1.5),
    ("code", C::Code, 1.0),
    ("library", C::Code, 1.0),
    ("python", C::Code, 1.0),
    ("rust", C::Code, 1.0),
    ("javascript", C::Code, 1.0),
    ("typescript", C::Code, 1.0),
    ("java", C::Code, 1.0),
    ("golang", C::Code, 1.0),
    ("algorithm", C::Code, 1.5),
    ("parser", C::Code, 1.0),
    ("component", C::Code, 0.5),
    // refactor
    ("refactor", C::Refactor, 3.0),
    ("refactoring", C::Refactor, 3.0),
    ("restructure", C::Refactor, 2.5),
    ("rename", C::Refactor, 2.0),
    ("extract", C::Refactor, 1.0),
    ("simplify", C::Refactor, 1.5),
    ("clean up", C::Refactor, 2.0),
    ("cleanup", C::Refactor, 2.0),
    ("deduplicate", C::Refactor, 2.0),
    ("reorganize", C::Refactor, 2.0),
    ("reorganise", C::Refactor, 2.0),
    ("modernize", C::Refactor, 2.0),
    ("decouple", C::Refactor, 2.0),
    ("split", C::Refactor, 1.0),
    ("move", C::Refactor, 1.0),
    ("migrate", C::Refactor, 2.5),
    ("port", C::Refactor, 1.5),
    ("optimize", C::Refactor, 1.5),
    ("optimise", C::Refactor, 1.5),
    ("dead code", C::Refactor, 2.0),
    ("technical debt", C::Refactor, 2.0),
    // test
    ("test", C::Test, 2.0),
    ("tests", C::Test, 2.0),
    ("testing", C::Test, 2.0),
    ("unit test", C::Test, 2.5),
    ("unit tests", C::Test, 2.5),
    ("integration test", C::Test, 2.5),
    ("integration tests", C::Test, 2.5),
    ("test suite", C::Test, 2.5),
    ("test cases", C::Test, 2.5),
    ("coverage", C::Test, 2.0),
    ("pytest", C::Test, 2.5),
    ("property based", C::Test, 2.0),
    ("e2e", C::Test, 2.0),
    ("mock", C::Test, 1.5),
    ("mocks", C::Test, 1.5),
    ("fixture", C::Test, 1.5),
    ("fixtures", C::Test, 1.5),
    ("tdd", C::Test, 2.0),
    // Verification at the end of another task ("…; run cargo test") is not test work.
    ("cargo test", C::Test, 0.5),
    ("run the tests", C::Test, 0.5),
    ("run tests", C::Test, 0.5),
    ("tests pass", C::Test, 0.5),
    // debug
    ("debug", C::Debug, 3.0),
    ("debugging", C::Debug, 3.0),
    ("fix", C::Debug, 2.0),
    ("bug", C::Debug, 2.5),
    ("bugs", C::Debug, 2.5),
    ("error", C::Debug, 1.5),
    ("errors", C::Debug, 1.5),
    ("crash", C::Debug, 2.5),
    ("crashes", C::Debug, 2.5),
    ("failing", C::Debug, 2.0),
    ("fails", C::Debug, 2.0),
    ("broken", C::Debug, 2.0),
    ("exception", C::Debug, 2.0),
    ("stack trace", C::Debug, 3.0),
    ("traceback", C::Debug, 3.0),
    ("panic", C::Debug, 2.0),
    ("panics", C::Debug, 2.0),
    ("segfault", C::Debug, 3.0),
    ("regression", C::Debug, 2.0),
    ("not working", C::Debug, 2.0),
    ("doesn t work", C::Debug, 2.0),
    ("flaky", C::Debug, 2.0),
    ("hangs", C::Debug, 2.0),
    ("deadlock", C::Debug, 2.5),
    ("memory leak", C::Debug, 3.0),
    ("diagnose", C::Debug, 2.5),
    ("root cause", C::Debug, 2.5),
    ("troubleshoot", C::Debug, 3.0),
    // review
    ("review", C::Review, 3.0),
    ("code review", C::Review, 3.0),
    ("audit", C::Review, 2.5),
    ("pull request", C::Review, 2.0),
    ("critique", C::Review, 2.5),
    ("assess", C::Review, 1.5),
    ("vulnerabilities", C::Review, 1.5),
    ("feedback", C::Review, 1.5),
    ("lint", C::Review, 1.5),
    ("inspect", C::Review, 1.5),
    ("check for", C::Review, 1.0),
    // docs
    ("document", C::Docs, 2.5),
    ("documentation", C::Docs, 3.0),
    ("docs", C::Docs, 2.5),
    ("readme", C::Docs, 2.5),
    ("docstring", C::Docs, 3.0),
    ("docstrings", C::Docs, 3.0),
    ("doc comments", C::Docs, 3.0),
    ("comments", C::Docs, 1.5),
    ("changelog", C::Docs, 2.5),
    ("release notes", C::Docs, 2.5),
    ("tutorial", C::Docs, 2.0),
    ("guide", C::Docs, 2.5),
    ("summarize", C::Docs, 2.0),
    ("summarise", C::Docs, 2.0),
    ("summary", C::Docs, 1.5),
    ("explain", C::Docs, 1.5),
    ("typo", C::Docs, 2.0),
    ("typos", C::Docs, 2.0),
    ("spelling", C::Docs, 2.0),
    ("blog post", C::Docs, 2.0),
    ("article", C::Docs, 1.5),
    ("essay", C::Docs, 2.0),
    // research
    ("research", C::Research, 3.0),
    ("investigate", C::Research, 1.5),
    ("compare", C::Research, 2.0),
    ("comparison", C::Research, 2.0),
    ("difference between", C::Research, 1.5),
    ("alternatives", C::Research, 2.0),
    ("evaluate", C::Research, 1.5),
    ("survey", C::Research, 2.0),
    ("pros and cons", C::Research, 2.5),
    ("best practices", C::Research, 1.5),
    ("find out", C::Research, 1.5),
    ("look into", C::Research, 1.5),
    ("explore", C::Research, 1.5),
    ("which library", C::Research, 2.0),
    ("recommend", C::Research, 1.5),
    ("state of the", C::Research, 1.0),
    ("literature", C::Research, 2.0),
    // data
    ("data", C::Data, 2.0),
    ("dataset", C::Data, 2.5),
    ("datasets", C::Data, 2.5),
    ("csv", C::Data, 2.5),
    ("json", C::Data, 1.0),
    ("xml", C::Data, 1.5),
    ("parquet", C::Data, 2.5),
    ("sql", C::Data, 1.5),
    ("query", C::Data, 1.5),
    ("queries", C::Data, 1.5),
    ("etl", C::Data, 3.0),
    ("transform", C::Data, 1.5),
    ("convert", C::Data, 1.0),
    ("parse", C::Data, 1.0),
    ("aggregate", C::Data, 2.0),
    ("statistics", C::Data, 2.0),
    ("analyze", C::Data, 1.5),
    ("analyse", C::Data, 1.5),
    ("chart", C::Data, 1.5),
    ("plot", C::Data, 1.5),
    ("spreadsheet", C::Data, 2.5),
    ("pandas", C::Data, 2.5),
    ("dataframe", C::Data, 2.5),
    ("scrape", C::Data, 2.0),
    ("records", C::Data, 1.0),
    // architecture
    ("architecture", C::Architecture, 3.0),
    ("architect", C::Architecture, 3.0),
    ("design", C::Architecture, 2.0),
    ("system design", C::Architecture, 3.0),
    ("microservice", C::Architecture, 2.5),
    ("microservices", C::Architecture, 2.5),
    ("distributed", C::Architecture, 1.5),
    ("scalability", C::Architecture, 2.0),
    ("database schema", C::Architecture, 2.5),
    ("data model", C::Architecture, 2.0),
    ("domain model", C::Architecture, 2.0),
    ("event sourcing", C::Architecture, 2.5),
    ("event driven", C::Architecture, 2.0),
    ("diagram", C::Architecture, 1.5),
    ("rfc", C::Architecture, 2.0),
    ("adr", C::Architecture, 2.5),
    ("blueprint", C::Architecture, 2.0),
    ("trade offs", C::Architecture, 1.0),
    // ops
    ("deploy", C::Ops, 3.0),
    ("deployment", C::Ops, 3.0),
    ("docker", C::Ops, 2.5),
    ("dockerfile", C::Ops, 3.0),
    ("kubernetes", C::Ops, 3.0),
    ("k8s", C::Ops, 3.0),
    ("helm", C::Ops, 2.5),
    ("ci", C::Ops, 2.0),
    ("github actions", C::Ops, 3.0),
    ("pipeline", C::Ops, 1.5),
    ("terraform", C::Ops, 3.0),
    ("ansible", C::Ops, 3.0),
    ("nginx", C::Ops, 2.5),
    ("infrastructure", C::Ops, 2.5),
    ("provision", C::Ops, 2.0),
    ("monitoring", C::Ops, 2.0),
    ("backup", C::Ops, 2.0),
    ("install", C::Ops, 1.5),
    ("configure", C::Ops, 1.5),
    ("systemd", C::Ops, 2.5),
    ("cron", C::Ops, 2.0),
    ("dns", C::Ops, 2.0),
    ("certificate", C::Ops, 1.5),
    ("upgrade", C::Ops, 1.5),
    ("server", C::Ops, 1.0),
];

/// Phrase → score change, and what kind of evidence it is. Positive: scope and difficulty;
/// negative: the task says it is small.
pub const EFFORT_RULES: &[(&str, f64, SignalKind)] = &[
    ("entire", 1.5, SignalKind::EffortKeyword),
    ("whole", 1.0, SignalKind::EffortKeyword),
    ("all files", 1.5, SignalKind::EffortKeyword),
    ("every", 1.0, SignalKind::EffortKeyword),
    ("across", 1.0, SignalKind::EffortKeyword),
    ("comprehensive", 2.0, SignalKind::EffortKeyword),
    ("complete", 1.0, SignalKind::EffortKeyword),
    ("full", 1.0, SignalKind::EffortKeyword),
    ("thorough", 1.5, SignalKind::EffortKeyword),
    ("thoroughly", 1.5, SignalKind::EffortKeyword),
    ("in depth", 1.5, SignalKind::EffortKeyword),
    ("end to end", 1.5, SignalKind::EffortKeyword),
    ("from scratch", 2.0, SignalKind::EffortKeyword),
    ("production", 1.0, SignalKind::EffortKeyword),
    ("production ready", 2.0, SignalKind::EffortKeyword),
    ("robust", 1.0, SignalKind::EffortKeyword),
    ("scalable", 1.5, SignalKind::EffortKeyword),
    ("distributed", 2.0, SignalKind::EffortKeyword),
    ("concurrent", 1.5, SignalKind::EffortKeyword),
    ("concurrency", 1.5, SignalKind::EffortKeyword),
    ("multi threaded", 1.5, SignalKind::EffortKeyword),
    ("performance", 1.0, SignalKind::EffortKeyword),
    ("optimize", 1.0, SignalKind::EffortKeyword),
    ("optimise", 1.0, SignalKind::EffortKeyword),
    ("migrate", 1.5, SignalKind::EffortKeyword),
    ("migration", 1.5, SignalKind::EffortKeyword),
    ("rewrite", 2.0, SignalKind::EffortKeyword),
    ("redesign", 2.0, SignalKind::EffortKeyword),
    ("overhaul", 2.0, SignalKind::EffortKeyword),
    ("microservices", 2.0, SignalKind::EffortKeyword),
    ("authentication", 1.0, SignalKind::EffortKeyword),
    ("machine learning", 2.0, SignalKind::EffortKeyword),
    ("neural network", 2.0, SignalKind::EffortKeyword),
    ("compiler", 2.0, SignalKind::EffortKeyword),
    ("complex", 1.5, SignalKind::EffortKeyword),
    ("large", 1.0, SignalKind::EffortKeyword),
    ("security audit", 1.5, SignalKind::EffortKeyword),
    ("audit", 1.0, SignalKind::EffortKeyword),
    ("root cause", 1.0, SignalKind::EffortKeyword),
    ("intermittent", 1.0, SignalKind::EffortKeyword),
    ("intermittently", 1.0, SignalKind::EffortKeyword),
    ("race condition", 1.5, SignalKind::EffortKeyword),
    ("flaky", 1.0, SignalKind::EffortKeyword),
    ("segfault", 1.0, SignalKind::EffortKeyword),
    ("kubernetes", 1.0, SignalKind::EffortKeyword),
    ("terraform", 1.0, SignalKind::EffortKeyword),
    ("infrastructure", 1.0, SignalKind::EffortKeyword),
    ("list the", -1.0, SignalKind::EffortKeyword),
    ("typo", -2.0, SignalKind::EffortKeyword),
    ("typos", -1.5, SignalKind::EffortKeyword),
    ("simple", -1.0, SignalKind::EffortKeyword),
    ("quick", -1.0, SignalKind::EffortKeyword),
    ("quickly", -1.0, SignalKind::EffortKeyword),
    ("small", -1.0, SignalKind::EffortKeyword),
    ("tiny", -1.5, SignalKind::EffortKeyword),
    ("trivial", -1.5, SignalKind::EffortKeyword),
    ("one line", -1.5, SignalKind::EffortKeyword),
    ("one liner", -1.5, SignalKind::EffortKeyword),
    ("hello world", -2.0, SignalKind::EffortKeyword),
    ("what is", -1.5, SignalKind::EffortKeyword),
    ("what does", -1.0, SignalKind::EffortKeyword),
    ("how many", -1.0, SignalKind::EffortKeyword),
    ("which version", -1.0, SignalKind::EffortKeyword),
    ("briefly", -1.0, SignalKind::EffortKeyword),
    ("print", -1.0, SignalKind::EffortKeyword),
    ("echo", -1.0, SignalKind::EffortKeyword),
    ("codebase", 1.5, SignalKind::Scope),
    ("monorepo", 1.5, SignalKind::Scope),
    ("repository", 1.0, SignalKind::Scope),
    ("repo", 1.0, SignalKind::Scope),
    ("project", 0.5, SignalKind::Scope),
    ("directory", 0.5, SignalKind::Scope),
    ("folder", 0.5, SignalKind::Scope),
    ("workspace", 0.5, SignalKind::Scope),
];

/// Phrases that mark a sequence of steps; each distinct one adds
/// [`MULTI_STEP_WEIGHT`], up to [`MULTI_STEP_CAP`].
pub const MULTI_STEP_RULES: &[&str] = &[
    "then",
    "and then",
    "after that",
    "afterwards",
    "finally",
    "next",
    "first",
    "second",
    "third",
    "lastly",
    "once done",
    "followed by",
    "step by step",
    "also",
    "including",
    "as well as",
    "plus",
];
pub const MULTI_STEP_WEIGHT: f64 = 0.5;

/// Words skipped when looking for a task's leading verb.
pub const POLITE_WORDS: &[&str] = &[
    "please", "can", "could", "would", "will", "you", "kindly", "now", "i", "we", "want", "need",
    "like", "to", "let", "s", "us",
];

/// Verbs of work that changes something or needs room. Several distinct ones in a task count
/// as steps (each beyond the first adds [`MULTI_STEP_WEIGHT`]); any one makes a trivial task
/// worth a fresh process rather than a direct answer.
pub const ACTION_VERBS: &[&str] = &[
    "write",
    "create",
    "implement",
    "build",
    "add",
    "fix",
    "refactor",
    "edit",
    "modify",
    "update",
    "change",
    "delete",
    "remove",
    "rename",
    "run",
    "execute",
    "deploy",
    "install",
    "generate",
    "migrate",
    "test",
    "debug",
    "convert",
    "move",
    "replace",
    "commit",
    "push",
    "format",
    "configure",
    "set up",
    "setup",
    "scaffold",
    "review",
    "analyze",
    "analyse",
    "research",
    "investigate",
    "document",
    "optimize",
    "optimise",
    "profile",
    "audit",
];
pub const MULTI_STEP_CAP: f64 = 2.0;

/// Item nouns after a number ("12 endpoints", "five tests") and how many of them make one
/// unit of work: 200 words of prose are about one item's effort, 5 bullet points too.
pub const ITEM_NOUNS: &[(&str, f64)] = &[
    ("tests", 1.0),
    ("test cases", 1.0),
    ("functions", 1.0),
    ("endpoints", 1.0),
    ("files", 1.0),
    ("pages", 1.0),
    ("modules", 1.0),
    ("components", 1.0),
    ("features", 1.0),
    ("bugs", 1.0),
    ("issues", 1.0),
    ("items", 1.0),
    ("tasks", 1.0),
    ("steps", 1.0),
    ("examples", 1.0),
    ("questions", 1.0),
    ("sections", 1.0),
    ("classes", 1.0),
    ("methods", 1.0),
    ("scripts", 1.0),
    ("screens", 1.0),
    ("tables", 1.0),
    ("services", 1.0),
    ("routes", 1.0),
    ("commands", 1.0),
    ("scenarios", 1.0),
    ("haikus", 1.0),
    ("poems", 1.0),
    ("stories", 1.0),
    ("chapters", 1.0),
    ("languages", 1.0),
    ("crates", 1.0),
    ("packages", 1.0),
    ("libraries", 1.0),
    ("apis", 1.0),
    ("microservices", 1.0),
    ("words", 200.0),
    ("word", 200.0),
    ("lines", 50.0),
    ("bullets", 5.0),
    ("bullet points", 5.0),
    ("points", 5.0),
    ("sentences", 5.0),
    ("paragraphs", 2.0),
];

/// Score points by units of requested work (at least `n` units → points).
pub const ITEM_BANDS: &[(f64, f64)] = &[
    (200.0, 4.0),
    (50.0, 3.0),
    (10.0, 2.0),
    (4.0, 1.0),
    (2.0, 0.5),
];

/// Score points by words scanned (at least `n` words → points); a task longer than the scan
/// window gets the top band.
pub const LENGTH_BANDS: &[(usize, f64)] =
    &[(600, 2.5), (250, 2.0), (100, 1.5), (40, 1.0), (12, 0.5)];

/// Score points by distinct file paths mentioned.
pub const FILE_BANDS: &[(usize, f64)] = &[(10, 2.5), (4, 1.5), (2, 1.0), (1, 0.5)];

/// Score points by distinct directory paths mentioned.
pub const DIRECTORY_BANDS: &[(usize, f64)] = &[(3, 1.5), (1, 1.0)];

/// Extensions that make a token a file path.
pub const FILE_EXTENSIONS: &[&str] = &[
    "rs",
    "py",
    "js",
    "mjs",
    "ts",
    "tsx",
    "jsx",
    "go",
    "java",
    "kt",
    "swift",
    "c",
    "h",
    "cc",
    "cpp",
    "hpp",
    "cs",
    "rb",
    "php",
    "scala",
    "md",
    "rst",
    "txt",
    "toml",
    "yaml",
    "yml",
    "json",
    "csv",
    "tsv",
    "sql",
    "sh",
    "bash",
    "zsh",
    "html",
    "css",
    "scss",
    "vue",
    "svelte",
    "lock",
    "cfg",
    "ini",
    "xml",
    "proto",
    "ipynb",
    "lua",
    "ex",
    "exs",
    "tf",
    "gradle",
    "dockerfile",
    "env",
    "conf",
    "log",
    "parquet",
    "pdf",
];

/// First path segments that make `seg/…` a directory even without a trailing `/`.
pub const DIRECTORY_ROOTS: &[&str] = &[
    "src",
    "lib",
    "tests",
    "test",
    "docs",
    "doc",
    "app",
    "apps",
    "pkg",
    "cmd",
    "crates",
    "packages",
    "scripts",
    "bin",
    "config",
    "internal",
    "examples",
    "benches",
    "static",
    "public",
    "assets",
    "migrations",
    "infra",
    "deploy",
    "services",
];

fn band<T: PartialOrd + Copy>(bands: &[(T, f64)], value: T) -> f64 {
    bands
        .iter()
        .find(|(min, _)| value >= *min)
        .map_or(0.0, |(_, w)| *w)
}

/// Classifies one task text. Deterministic: the same text always gets the same answer.
pub fn classify(task: &str) -> Classification {
    classify_scan(&Scan::new(task))
}

/// Classifies an already scanned task (the validator scans each task once).
pub fn classify_scan(scan: &Scan) -> Classification {
    let mut signals = Vec::new();

    // 1. Category: votes from the table; the leading verb of an imperative counts twice.
    let lead = leading_word(scan);
    let mut totals = [0.0f64; Category::ALL.len()];
    let category_hits = scan.matches(|e| e.category);
    for (i, _, (category, weight)) in &category_hits {
        totals[*category as usize] += weight * lead_factor(*i, lead, *weight);
    }
    let mut category = Category::General;
    let mut best = 0.0;
    for c in TIE_ORDER {
        if totals[c as usize] > best {
            best = totals[c as usize];
            category = c;
        }
    }
    for (i, n, (c, weight)) in category_hits {
        let factor = lead_factor(i, lead, weight);
        signals.push(Signal {
            kind: SignalKind::CategoryKeyword,
            detail: format!(
                "`{}`{} suggests {c}",
                scan.phrase(i, n).unwrap_or_default(),
                if factor > 1.0 {
                    " (leading verb, counts twice)"
                } else {
                    ""
                }
            ),
            weight: weight * factor,
        });
    }

    // 2. Score.
    let category_base = CATEGORY_BASE
        .iter()
        .find(|(c, _)| *c == category)
        .map_or(0.0, |(_, w)| *w);
    let mut score = BASE_SCORE + category_base;
    signals.push(Signal {
        kind: SignalKind::Base,
        detail: format!("base score {BASE_SCORE} + {category_base} for {category} work"),
        weight: BASE_SCORE + category_base,
    });

    for (i, n, (weight, kind)) in scan.matches(|e| e.effort) {
        score += weight;
        signals.push(Signal {
            kind,
            detail: format!("`{}`", scan.phrase(i, n).unwrap_or_default()),
            weight,
        });
    }

    let words = scan.word_count();
    let length = if scan.truncated {
        LENGTH_BANDS[0].1
    } else {
        band(LENGTH_BANDS, words)
    };
    if length > 0.0 {
        score += length;
        signals.push(Signal {
            kind: SignalKind::Length,
            detail: if scan.truncated {
                format!("longer than {} KiB", SCAN_BYTES / 1024)
            } else {
                format!("{words} words")
            },
            weight: length,
        });
    }

    let (units, item_details) = requested_items(scan);
    let items = band(ITEM_BANDS, units);
    if items > 0.0 {
        score += items;
        signals.push(Signal {
            kind: SignalKind::Items,
            detail: format!(
                "requests {} ({:.0} units of work)",
                item_details.join(", "),
                units
            ),
            weight: items,
        });
    }

    let (files, dirs) = paths(scan);
    let file_points = band(FILE_BANDS, files.len());
    if file_points > 0.0 {
        score += file_points;
        signals.push(Signal {
            kind: SignalKind::Files,
            detail: format!("mentions {} file(s): {}", files.len(), list_some(&files)),
            weight: file_points,
        });
    }
    let dir_points = band(DIRECTORY_BANDS, dirs.len());
    if dir_points > 0.0 {
        score += dir_points;
        signals.push(Signal {
            kind: SignalKind::Directories,
            detail: format!(
                "mentions {} directory(ies): {}",
                dirs.len(),
                list_some(&dirs)
            ),
            weight: dir_points,
        });
    }

    let markers: Vec<&str> = scan
        .matches(|e| e.multi_step.then_some(()))
        .into_iter()
        .filter_map(|(i, n, _)| scan.phrase(i, n))
        .collect();
    let verbs: Vec<&str> = scan
        .matches(|e| e.action.then_some(()))
        .into_iter()
        .filter_map(|(i, n, _)| scan.phrase(i, n))
        .collect();
    let extra_verbs = verbs.len().saturating_sub(1);
    let semicolons = scan.lower.bytes().filter(|b| *b == b';').count().min(2);
    let steps =
        ((markers.len() + semicolons + extra_verbs) as f64 * MULTI_STEP_WEIGHT).min(MULTI_STEP_CAP);
    if steps > 0.0 {
        score += steps;
        let mut seen: Vec<String> = markers.iter().map(|m| format!("`{m}`")).collect();
        if semicolons > 0 {
            seen.push(format!("{semicolons} `;`"));
        }
        if extra_verbs > 0 {
            seen.push(format!("{} actions ({})", verbs.len(), verbs.join(", ")));
        }
        signals.push(Signal {
            kind: SignalKind::MultiStep,
            detail: format!("multi-step phrasing: {}", seen.join(", ")),
            weight: steps,
        });
    }

    let score = score.round().clamp(1.0, 10.0) as u8;
    Classification {
        category,
        complexity: Complexity::from_score(score),
        score,
        signals,
    }
}

/// Position of the first word that is not a politeness ("please", "can you", "I want you
/// to"): the imperative verb of the task, if it has one.
fn leading_word(scan: &Scan) -> usize {
    (0..scan.word_count().min(8))
        .find(|&i| !POLITE_WORDS.contains(&scan.word(i)))
        .unwrap_or(0)
}

/// A specific category phrase (weight above 1: not a generic verb like "write" or "add")
/// that leads the task counts twice: "Migrate …, fix the failing tests" is a migration.
fn lead_factor(position: usize, lead: usize, weight: f64) -> f64 {
    if position == lead && weight > 1.0 {
        2.0
    } else {
        1.0
    }
}

fn list_some(items: &[String]) -> String {
    let mut shown: Vec<&str> = items.iter().take(5).map(String::as_str).collect();
    if items.len() > 5 {
        shown.push("…");
    }
    shown.join(", ")
}

/// Units of requested work: "N <item noun>" phrases (the noun may follow the number after up
/// to two other words: "5 more unit tests") plus the lines of a list embedded in the task.
fn requested_items(scan: &Scan) -> (f64, Vec<String>) {
    let mut units = 0.0;
    let mut details = Vec::new();
    for i in 0..scan.word_count() {
        let Some(n) = scan.number(i) else {
            continue;
        };
        'noun: for skip in 1..=3 {
            for len in (1..=2).rev() {
                if let Some(per_unit) = scan.entry(i + skip, len).and_then(|e| e.item_unit) {
                    units += n as f64 / per_unit;
                    details.push(format!(
                        "{n} {}",
                        scan.phrase(i + skip, len).unwrap_or_default()
                    ));
                    break 'noun;
                }
            }
        }
    }
    let list_lines = scan
        .lower
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            let first = t.as_bytes().first().copied().unwrap_or(b' ');
            t.starts_with("- ")
                || t.starts_with("* ")
                || first.is_ascii_digit()
                    && t.split_once(['.', ')']).is_some_and(|(n, rest)| {
                        !n.is_empty()
                            && n.len() <= 3
                            && n.bytes().all(|b| b.is_ascii_digit())
                            && rest.starts_with(' ')
                    })
        })
        .count();
    if list_lines >= 2 {
        units += list_lines as f64;
        details.push(format!("a list of {list_lines} lines"));
    }
    (units, details)
}

/// Distinct file paths and directory paths among the whitespace-separated tokens.
fn paths(scan: &Scan) -> (Vec<String>, Vec<String>) {
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for raw in scan.lower.split_whitespace() {
        if !raw.bytes().any(|b| b == b'/' || b == b'.')
            && !raw.contains("dockerfile")
            && !raw.contains("makefile")
        {
            continue;
        }
        let token = raw
            .trim_matches(|c: char| "\"'`()[]{}<>,;:!?*".contains(c))
            .trim_end_matches('.');
        if token.len() < 2 || token.len() > 300 || token.contains("://") {
            continue;
        }
        let last = token.rsplit('/').next().unwrap_or(token);
        let is_file = last.rsplit_once('.').is_some_and(|(stem, ext)| {
            (!stem.is_empty() || last.starts_with('.')) && FILE_EXTENSIONS.contains(&ext)
        }) || last == "dockerfile"
            || last == "makefile";
        if is_file {
            files.push(token.to_string());
        } else if token.contains('/') {
            let first = token
                .trim_start_matches("./")
                .split('/')
                .next()
                .unwrap_or("");
            let looks_like_dir = token.ends_with('/')
                || token.starts_with('/')
                || token.starts_with("./")
                || token.starts_with("../")
                || token.starts_with("~/")
                || token.matches('/').count() >= 2
                || DIRECTORY_ROOTS.contains(&first);
            if looks_like_dir && token.chars().any(char::is_alphanumeric) {
                dirs.push(token.trim_end_matches('/').to_string());
            }
        }
    }
    files.sort();
    files.dedup();
    dirs.sort();
    dirs.dedup();
    (files, dirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_lower_case_and_short() {
        for (p, _, _) in CATEGORY_RULES {
            assert_eq!(*p, p.to_lowercase());
            assert!(p.split(' ').count() <= 3, "{p}");
        }
        for (p, _, _) in EFFORT_RULES {
            assert_eq!(*p, p.to_lowercase());
            assert!(p.split(' ').count() <= 3, "{p}");
        }
        for (p, _) in ITEM_NOUNS {
            assert!(p.split(' ').count() <= 2, "{p}");
        }
    }

    #[test]
    fn score_bands() {
        assert_eq!(Complexity::from_score(1), Complexity::Trivial);
        assert_eq!(Complexity::from_score(4), Complexity::Low);
        assert_eq!(Complexity::from_score(6), Complexity::Medium);
        assert_eq!(Complexity::from_score(8), Complexity::High);
        assert_eq!(Complexity::from_score(10), Complexity::Extreme);
    }

    #[test]
    fn files_and_directories_are_found() {
        let scan =
            Scan::new("Edit src/db.rs, README.md and tests/ (see src/plan and a/b/c); and/or");
        let (files, dirs) = paths(&scan);
        assert_eq!(files, vec!["readme.md", "src/db.rs"]);
        assert_eq!(dirs, vec!["a/b/c", "src/plan", "tests"]);
    }

    #[test]
    fn requested_items_count_numbers_and_lists() {
        let (units, _) = requested_items(&Scan::new("Add 12 endpoints and five more unit tests"));
        assert_eq!(units, 17.0);
        let (units, _) = requested_items(&Scan::new("Do:\n- a\n- b\n1. c"));
        assert_eq!(units, 3.0);
    }

    #[test]
    fn explanation_names_the_signals() {
        let c = classify("Refactor src/db.rs to use a connection pool; run cargo test");
        assert_eq!(c.category, Category::Refactor);
        assert!(c.signals.iter().any(|s| s.kind == SignalKind::Files));
        assert!(c.signals.iter().any(|s| s.kind == SignalKind::MultiStep));
    }
}
