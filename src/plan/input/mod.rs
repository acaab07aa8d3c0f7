//! Task-list files: JSON, YAML or a markdown list, read into [`TaskItem`]s (for `plan FILE` and
//! `run-list FILE`).
//!
//! **Format**: by extension (`.json`; `.yaml`/`.yml`; `.md`/`.markdown`/`.txt`), else sniffed
//! from the content: `[` or `{` first → JSON; a `---` document marker, a top-level `key:` line
//! or list items that are `id:`/`task:`/`depends_on:` mappings → YAML; anything else →
//! markdown. A file that does not parse as its format is an error with its line (and column).
//!
//! **JSON and YAML**: a list of tasks (strings or `{id?, task, depends_on?}`, see
//! [`super::validate`]), or an object whose only key is `tasks` holding that list.
//!
//! **Markdown**: every top-level list item is a task.
//!
//! ```markdown
//! # Release 1.2            ← headings, a preamble before the first item, blank lines,
//!                            <!-- comments --> and `---` rules are ignored
//! - [setup] Create the workspace and a `Cargo.toml`
//! - [api] Implement the HTTP API in src/api.rs (depends: setup)
//!   Further lines of a task are indented (at least as far as its text);
//!   nested lists and code blocks inside a task are kept as part of its text.
//! 1. Write the README (depends on: api, setup)
//! - [ ] Check boxes (`[ ]`, `[x]`) before an id are dropped
//! ```
//!
//! - `[id]` right after the marker (and checkbox) names the task; ids cannot contain spaces or
//!   commas. Without one, the id is the 1-based position, as in JSON. (A `[text](url)` link is
//!   text, not an id.)
//! - `(depends: a, b)`, `(depends on: a, b)` or `(after: a)` at the end of the item's first
//!   line declares dependencies by id.
//! - Text after the list has started that is neither indented under an item nor a lazy
//!   continuation of the previous line is an error (with its line): silently dropping a
//!   paragraph that was meant as a task would be worse.
//!
//! In the code: `format` picks the format, `structured` reads JSON and YAML, `markdown` reads
//! markdown lists; this module reads the file and holds the error type.

mod format;
mod markdown;
mod structured;

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::validate::{TaskItem, ValidationError};

pub use format::{InputFormat, format_for_path, sniff_format};
pub use markdown::parse_markdown;

/// Largest task file read: a list of tasks is text written by people or orchestrators; a
/// bigger file is a mistake, and reading it whole would cost its size in memory.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Why a task file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is larger than {max} bytes; a task file is a list of tasks", max = MAX_FILE_BYTES)]
    TooLarge { path: PathBuf },
    #[error("invalid {format} at line {line}{}: {message}", column.map(|c| format!(", column {c}")).unwrap_or_default())]
    Syntax {
        format: InputFormat,
        line: usize,
        column: Option<usize>,
        message: String,
    },
    #[error("no tasks found in the {format} file: {message}")]
    NoTasks {
        format: InputFormat,
        message: String,
    },
    #[error("the {format} file is not a valid task list: {}", summary(errors))]
    Tasks {
        format: InputFormat,
        errors: Vec<ValidationError>,
    },
}

fn summary(errors: &[ValidationError]) -> String {
    let mut parts: Vec<String> = errors.iter().take(5).map(|e| e.message.clone()).collect();
    if errors.len() > 5 {
        parts.push(format!("… and {} more", errors.len() - 5));
    }
    parts.join("; ")
}

impl InputError {
    /// The line the problem is on, when there is one.
    pub fn line(&self) -> Option<usize> {
        match self {
            InputError::Syntax { line, .. } => Some(*line),
            InputError::Tasks { errors, .. } => errors.iter().find_map(|e| e.line),
            _ => None,
        }
    }
}

/// A task file's tasks and the format they were read as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskFile {
    pub format: InputFormat,
    pub items: Vec<TaskItem>,
}

/// Reads and parses a task file.
pub fn read_task_file(path: &Path) -> Result<TaskFile, InputError> {
    let read_err = |source| InputError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(InputError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    let bytes = std::fs::read(path).map_err(read_err)?;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.as_bytes();
            let line = 1 + bytes[..valid].iter().filter(|b| **b == b'\n').count();
            let column = 1 + valid
                - bytes[..valid]
                    .iter()
                    .rposition(|b| *b == b'\n')
                    .map_or(0, |p| p + 1);
            return Err(InputError::Syntax {
                format: format_for_path(path).unwrap_or(InputFormat::Markdown),
                line,
                column: Some(column),
                message: "the file is not UTF-8 text".into(),
            });
        }
    };
    parse_task_file(path, &text)
}

/// Parses a task file's text, the format chosen by the path's extension or sniffed.
pub fn parse_task_file(path: &Path, text: &str) -> Result<TaskFile, InputError> {
    parse_task_text(text, format_for_path(path))
}

/// Parses task-list text in the given format (sniffed when `None`).
pub fn parse_task_text(text: &str, format: Option<InputFormat>) -> Result<TaskFile, InputError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let format = format.unwrap_or_else(|| sniff_format(text));
    let items = match format {
        InputFormat::Json => structured::parse_json(text)?,
        InputFormat::Yaml => structured::parse_yaml(text)?,
        InputFormat::Markdown => parse_markdown(text)?,
    };
    if items.is_empty() {
        return Err(no_tasks(format, "the list is empty"));
    }
    Ok(TaskFile { format, items })
}

fn no_tasks(format: InputFormat, message: &str) -> InputError {
    InputError::NoTasks {
        format,
        message: message.into(),
    }
}
