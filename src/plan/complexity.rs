//! The answer about one task (`get_task_complexity`): classification, predicted duration and
//! timeout, how to run it, and what in its wording is risky.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::classify::{Classification, Complexity, classify_scan};
use super::predict::{Prediction, Predictor};
use super::references::{Target, find_references};
use super::text::Scan;
use crate::types::task::estimate_tokens;

/// How to run a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A fresh Claude Code process (`cc_execute`): work that changes things or needs room.
    CcExecute,
    /// The orchestrator answers itself: a trivial lookup does not earn a process start.
    Direct,
}

impl Method {
    /// The spelling used in JSON and in text (`cc_execute`, `direct`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::CcExecute => "cc_execute",
            Method::Direct => "direct",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of risk a prompt carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PromptWarningKind {
    /// Starts with `-`: a leftover list marker, or a flag to a command line.
    LeadingDash,
    /// Asks for a conversation the non-interactive process cannot have.
    Interactive,
    /// Too short or too unspecific for a process that knows nothing else.
    TooVague,
    /// Over the prompt token limit: `cc_execute` would refuse it.
    TooLong,
    /// Contains a NUL byte: `cc_execute` would refuse it.
    ContainsNul,
    /// Refers to earlier work or other tasks the fresh process cannot see.
    MissingContext,
}

/// One risk in a prompt's wording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PromptWarning {
    pub kind: PromptWarningKind,
    pub message: String,
}

/// Phrases that ask for interaction (`claude -p` cannot ask back; the run stalls or guesses).
pub const INTERACTIVE_PHRASES: &[&str] = &[
    "guide me",
    "help me",
    "walk me through",
    "ask me",
    "let me know",
    "wait for my",
    "wait for me",
    "confirm with me",
    "check with me",
    "get back to me",
    "prompt me",
    "i will provide",
    "i ll provide",
    "i will tell you",
    "i ll tell you",
    "discuss with me",
    "let s discuss",
    "interactively",
    "interactive session",
];

/// Phrases that say nothing concrete; warned about in short tasks (under
/// [`VAGUE_MAX_WORDS`] words), where nothing else says what is meant.
pub const VAGUE_PHRASES: &[&str] = &[
    "fix it",
    "do it",
    "make it work",
    "make it better",
    "improve it",
    "clean it up",
    "the thing",
    "the stuff",
    "something",
    "etc",
    "and so on",
    "whatever",
];

/// Tasks with fewer words than this are "vague" when they use a [`VAGUE_PHRASES`] phrase.
pub const VAGUE_MAX_WORDS: usize = 12;

/// Tasks with fewer words than this are always "vague".
pub const MIN_WORDS: usize = 3;

/// Risks in a prompt's wording (not its references: see [`task_complexity`] and the list
/// validator for those). `task` is the whole text, `scan` its scan.
pub fn prompt_warnings(task: &str, scan: &Scan, max_prompt_tokens: usize) -> Vec<PromptWarning> {
    let mut out = Vec::new();
    if task.trim_start().starts_with('-') {
        out.push(PromptWarning {
            kind: PromptWarningKind::LeadingDash,
            message: "the task starts with `-`: it may be a leftover list marker, and on a command line (`cc-executor run`) it must go after `--` or on stdin".into(),
        });
    }
    if let Some((i, n, _)) = scan
        .matches(|e| e.interactive.then_some(()))
        .into_iter()
        .next()
    {
        out.push(PromptWarning {
            kind: PromptWarningKind::Interactive,
            message: format!(
                "the task asks for interaction (`{}`), but the Claude process runs non-interactively and cannot ask back; state the decision or the input in the task",
                scan.phrase(i, n).unwrap_or_default()
            ),
        });
    }
    let words = scan.word_count();
    if words < MIN_WORDS && !scan.truncated {
        out.push(PromptWarning {
            kind: PromptWarningKind::TooVague,
            message: format!(
                "the task is very short ({words} word(s)); a fresh process knows nothing of your context, so spell out what to do and where"
            ),
        });
    } else if words < VAGUE_MAX_WORDS
        && let Some((i, n, _)) = scan.matches(|e| e.vague.then_some(())).into_iter().next()
    {
        out.push(PromptWarning {
            kind: PromptWarningKind::TooVague,
            message: format!(
                "the task is vague (`{}`); name the files, the behaviour wanted and how to check it",
                scan.phrase(i, n).unwrap_or_default()
            ),
        });
    }
    let tokens = estimate_tokens(task);
    if tokens > max_prompt_tokens {
        out.push(PromptWarning {
            kind: PromptWarningKind::TooLong,
            message: format!(
                "the task is about {tokens} tokens (4 characters per token), over the limit of {max_prompt_tokens}: cc_execute will refuse it; split it or put the data in a file the task reads"
            ),
        });
    }
    if memchr::memchr(0, task.as_bytes()).is_some() {
        out.push(PromptWarning {
            kind: PromptWarningKind::ContainsNul,
            message: "the task contains a NUL byte: cc_execute will refuse it".into(),
        });
    }
    out
}

/// Whether a task changes something or needs room (an action verb appears).
pub fn has_action(scan: &Scan) -> bool {
    !scan.matches(|e| e.action.then_some(())).is_empty()
}

/// The method for a task and why.
pub fn recommend_method(classification: &Classification, scan: &Scan) -> (Method, String) {
    if classification.complexity == Complexity::Trivial && !has_action(scan) {
        (
            Method::Direct,
            "a trivial lookup with no changes to make: answering it directly is faster than starting a process".into(),
        )
    } else if classification.complexity == Complexity::Trivial {
        (
            Method::CcExecute,
            "small, but it changes something: a fresh process does it with its own tools and a timeout".into(),
        )
    } else {
        (
            Method::CcExecute,
            format!(
                "{} {} work: a fresh context keeps it focused and a timeout bounds it",
                classification.complexity, classification.category
            ),
        )
    }
}

/// Everything the planner says about one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskComplexity {
    pub classification: Classification,
    pub prediction: Prediction,
    pub recommended_method: Method,
    /// Why that method.
    pub method_reason: String,
    /// Estimated prompt tokens (4 characters per token, the executor's rule).
    pub estimated_tokens: usize,
    /// Risks in the wording; empty when none.
    pub warnings: Vec<PromptWarning>,
}

/// Classifies, predicts and checks one task.
pub async fn task_complexity(
    task: &str,
    predictor: &Predictor<'_>,
    max_prompt_tokens: usize,
) -> TaskComplexity {
    let scan = Scan::new(task);
    let classification = classify_scan(&scan);
    let prediction = predictor.predict_for(&classification).await;
    let (recommended_method, method_reason) = recommend_method(&classification, &scan);
    let mut warnings = prompt_warnings(task, &scan, max_prompt_tokens);
    if let Some(r) = find_references(&scan).into_iter().next() {
        let what = match r.target {
            Target::Number(_) => "another task",
            Target::Earlier => "earlier work",
        };
        warnings.push(PromptWarning {
            kind: PromptWarningKind::MissingContext,
            message: format!(
                "the task refers to {what} (`{}`), but it runs in a fresh process that has not seen it: include what it needs (paths, names, results)",
                r.phrase
            ),
        });
    }
    TaskComplexity {
        classification,
        prediction,
        recommended_method,
        method_reason,
        estimated_tokens: estimate_tokens(task),
        warnings,
    }
}
