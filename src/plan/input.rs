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

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::validate::{ErrorKind, TaskItem, ValidationError, parse_tasks};

/// Largest task file read: a list of tasks is text written by people or orchestrators; a
/// bigger file is a mistake, and reading it whole would cost its size in memory.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The format of a task file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InputFormat {
    Json,
    Yaml,
    Markdown,
}

impl std::fmt::Display for InputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            InputFormat::Json => "JSON",
            InputFormat::Yaml => "YAML",
            InputFormat::Markdown => "markdown",
        })
    }
}

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

/// The format an extension names, if any.
pub fn format_for_path(path: &Path) -> Option<InputFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "json" => Some(InputFormat::Json),
        "yaml" | "yml" => Some(InputFormat::Yaml),
        "md" | "markdown" | "mdown" | "txt" => Some(InputFormat::Markdown),
        _ => None,
    }
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
        InputFormat::Json => {
            if text.trim().is_empty() {
                return Err(no_tasks(format, "the file is empty"));
            }
            let value: Value = serde_json::from_str(text).map_err(|e| InputError::Syntax {
                format,
                line: e.line().max(1),
                column: Some(e.column().max(1)),
                message: strip_position(&e.to_string()),
            })?;
            from_value(&value, format)?
        }
        InputFormat::Yaml => {
            if text.trim().is_empty() {
                return Err(no_tasks(format, "the file is empty"));
            }
            let value: Value = serde_yaml_ng::from_str(text).map_err(|e| {
                let loc = e.location();
                InputError::Syntax {
                    format,
                    line: loc.as_ref().map_or(1, |l| l.line().max(1)),
                    column: loc.as_ref().map(|l| l.column().max(1)),
                    message: strip_position(&e.to_string()),
                }
            })?;
            from_value(&value, format)?
        }
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

/// Parser messages end with " at line L column C"; the error already says where.
fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn from_value(value: &Value, format: InputFormat) -> Result<Vec<TaskItem>, InputError> {
    let list = match value {
        Value::Object(map) => match map.get("tasks") {
            Some(list) if map.len() == 1 => list,
            _ => {
                return Err(InputError::Tasks {
                    format,
                    errors: vec![ValidationError {
                        kind: ErrorKind::NotAList,
                        message: "expected a list of tasks, or an object with only a `tasks` list"
                            .into(),
                        position: None,
                        task_id: None,
                        line: None,
                        cycle: None,
                    }],
                });
            }
        },
        other => other,
    };
    if list.is_null() {
        return Err(no_tasks(format, "the document is empty"));
    }
    parse_tasks(list).map_err(|errors| InputError::Tasks { format, errors })
}

/// Guesses the format of text without a telling extension.
pub fn sniff_format(text: &str) -> InputFormat {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('[') || t.starts_with('{') {
        return InputFormat::Json;
    }
    if t.starts_with("---\n") || t.starts_with("---\r\n") || t.starts_with("%YAML") {
        return InputFormat::Yaml;
    }
    for line in t.lines().filter(|l| !l.trim().is_empty()).take(200) {
        if is_yaml_key_line(line) {
            return InputFormat::Yaml;
        }
        if let Some((_, rest)) = list_marker(line.trim_start())
            && ["id:", "task:", "depends_on:"]
                .iter()
                .any(|k| rest.trim_start().starts_with(k))
        {
            return InputFormat::Yaml;
        }
    }
    InputFormat::Markdown
}

/// `key:` at column 0 (a YAML mapping), e.g. `tasks:`.
fn is_yaml_key_line(line: &str) -> bool {
    let Some((key, rest)) = line.split_once(':') else {
        return false;
    };
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && key.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && (rest.is_empty() || rest.starts_with(' '))
}

/// Column of the first non-blank character (a tab advances to the next multiple of 4).
fn indent_of(line: &str) -> usize {
    let mut col = 0;
    for c in line.chars() {
        match c {
            ' ' => col += 1,
            '\t' => col += 4 - col % 4,
            _ => break,
        }
    }
    col
}

/// `line` without its first `cols` columns of indentation.
fn dedent(line: &str, cols: usize) -> &str {
    let mut col = 0;
    for (i, c) in line.char_indices() {
        if col >= cols {
            return &line[i..];
        }
        match c {
            ' ' => col += 1,
            '\t' => col += 4 - col % 4,
            _ => return &line[i..],
        }
    }
    ""
}

/// A list marker at the start of `trimmed`: its width including the following spaces, and the
/// rest of the line.
fn list_marker(trimmed: &str) -> Option<(usize, &str)> {
    let bytes = trimmed.as_bytes();
    let marker_len = match bytes.first()? {
        b'-' | b'*' | b'+' => 1,
        b'0'..=b'9' => {
            let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits > 9 || !matches!(bytes.get(digits), Some(b'.') | Some(b')')) {
                return None;
            }
            digits + 1
        }
        _ => return None,
    };
    let after = &trimmed[marker_len..];
    if !(after.is_empty() || after.starts_with(' ') || after.starts_with('\t')) {
        return None;
    }
    // CommonMark: the text starts after 1–4 spaces; more means indented code, counted as 1.
    let spaces = after.len() - after.trim_start().len();
    let width = marker_len + if spaces == 0 || spaces > 4 { 1 } else { spaces };
    Some((width, after.trim_start()))
}

fn is_thematic_break(trimmed: &str) -> bool {
    let chars: Vec<char> = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
    chars.len() >= 3 && matches!(chars[0], '-' | '*' | '_') && chars.iter().all(|c| *c == chars[0])
}

fn is_heading(trimmed: &str) -> bool {
    let hashes = trimmed.bytes().take_while(|b| *b == b'#').count();
    (1..=6).contains(&hashes)
        && trimmed[hashes..]
            .chars()
            .next()
            .is_none_or(|c| c == ' ' || c == '\t')
}

fn is_fence(trimmed: &str) -> bool {
    trimmed.starts_with("```") || trimmed.starts_with("~~~")
}

struct Builder {
    line: usize,
    content_indent: usize,
    id: Option<String>,
    deps: Vec<String>,
    text: String,
    pending_blank: usize,
    fence_open: bool,
}

impl Builder {
    fn push(&mut self, line: &str) {
        for _ in 0..self.pending_blank {
            self.text.push('\n');
        }
        self.pending_blank = 0;
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(line);
        if is_fence(line.trim_start()) {
            self.fence_open = !self.fence_open;
        }
    }
}

fn md_error(line: usize, message: String) -> InputError {
    InputError::Syntax {
        format: InputFormat::Markdown,
        line,
        column: None,
        message,
    }
}

/// Parses a markdown task list (see the module docs for the syntax).
pub fn parse_markdown(text: &str) -> Result<Vec<TaskItem>, InputError> {
    let mut items: Vec<TaskItem> = Vec::new();
    let mut current: Option<Builder> = None;
    let mut preamble_fence = false;
    let mut in_comment = false;
    let mut after_blank = false;

    let finish = |b: Builder, items: &mut Vec<TaskItem>| {
        let position = items.len() + 1;
        let (id, id_assigned) = match b.id {
            Some(id) => (id, false),
            None => (position.to_string(), true),
        };
        items.push(TaskItem {
            position,
            id,
            id_assigned,
            task: b.text.trim_end().to_string(),
            depends_on: b.deps,
            line: Some(b.line),
        });
    };

    for (index, raw) in text.split('\n').enumerate() {
        let lineno = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim_start();
        let indent = indent_of(line);

        if let Some(b) = current.as_mut()
            && (b.fence_open || (!trimmed.is_empty() && indent >= b.content_indent))
        {
            if trimmed.is_empty() {
                b.pending_blank += 1;
            } else {
                b.push(dedent(line, b.content_indent));
            }
            after_blank = false;
            continue;
        }
        if preamble_fence {
            preamble_fence = !is_fence(trimmed);
            continue;
        }
        if trimmed.is_empty() {
            if let Some(b) = current.as_mut() {
                b.pending_blank += 1;
            }
            after_blank = true;
            continue;
        }
        if in_comment {
            if trimmed.contains("-->") {
                in_comment = false;
            }
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix("<!--") {
            in_comment = !comment.contains("-->");
            continue;
        }
        let was_after_blank = std::mem::replace(&mut after_blank, false);
        if indent < 4 && is_thematic_break(trimmed) {
            if let Some(b) = current.take() {
                finish(b, &mut items);
            }
            continue;
        }
        if indent < 4 && is_heading(trimmed) {
            if let Some(b) = current.take() {
                finish(b, &mut items);
            }
            continue;
        }
        if let Some((width, rest)) = list_marker(trimmed)
            && (indent < 4 || current.is_some())
        {
            if let Some(b) = current.take() {
                finish(b, &mut items);
            }
            let (id, deps, head) = parse_item_head(rest, lineno)?;
            let mut b = Builder {
                line: lineno,
                content_indent: indent + width,
                id,
                deps,
                text: String::new(),
                pending_blank: 0,
                fence_open: false,
            };
            b.push(head);
            current = Some(b);
            continue;
        }
        if let Some(b) = current.as_mut()
            && !was_after_blank
        {
            // A lazy continuation line of the item's paragraph.
            b.push(trimmed);
            continue;
        }
        if items.is_empty() && current.is_none() {
            preamble_fence = is_fence(trimmed);
            continue; // preamble: a title, a description
        }
        return Err(md_error(
            lineno,
            "text outside a list item: every task is a `- task` or `1. task` item, and its further lines are indented under it".into(),
        ));
    }
    if let Some(b) = current.take() {
        finish(b, &mut items);
    }
    if items.is_empty() {
        return Err(no_tasks(
            InputFormat::Markdown,
            "no list items (a markdown task file lists tasks as `- task` or `1. task` lines)",
        ));
    }
    Ok(items)
}

/// Checkbox, `[id]`, text and `(depends: …)` of an item's first line.
fn parse_item_head(
    rest: &str,
    lineno: usize,
) -> Result<(Option<String>, Vec<String>, &str), InputError> {
    let mut rest = rest.trim();
    for cb in ["[ ]", "[x]", "[X]"] {
        if let Some(after) = rest.strip_prefix(cb)
            && (after.is_empty() || after.starts_with([' ', '\t']))
        {
            rest = after.trim_start();
            break;
        }
    }
    let mut id = None;
    if let Some(inner) = rest.strip_prefix('[') {
        let Some(end) = inner.find(']') else {
            return Err(md_error(
                lineno,
                "`[` opens a task id but is not closed with `]`".into(),
            ));
        };
        let after = &inner[end + 1..];
        if after.is_empty() || after.starts_with([' ', '\t']) {
            let name = inner[..end].trim();
            check_md_id(name, lineno, "task id")?;
            id = Some(name.to_string());
            rest = after.trim_start();
        }
    }
    let mut deps = Vec::new();
    let lower = rest.to_ascii_lowercase();
    let start = ["(depends", "(after:"]
        .iter()
        .filter_map(|p| lower.rfind(p))
        .max();
    if let Some(start) = start {
        let tail = rest[start..].trim_end();
        let Some(inner) = tail.strip_suffix(')') else {
            return Err(md_error(
                lineno,
                "`(depends: …` must end the item's first line and be closed with `)`".into(),
            ));
        };
        let inner = &inner[1..];
        let lower_inner = inner.to_ascii_lowercase();
        let list = ["depends on:", "depends:", "depends on ", "after:"]
            .iter()
            .find(|p| lower_inner.starts_with(**p))
            .map(|p| &inner[p.len()..])
            .ok_or_else(|| {
                md_error(
                    lineno,
                    "write dependencies as `(depends: a, b)` or `(after: a)`".into(),
                )
            })?;
        for dep in list.split(',') {
            let dep = dep.trim();
            check_md_id(dep, lineno, "dependency")?;
            deps.push(dep.to_string());
        }
        rest = rest[..start].trim_end();
    }
    Ok((id, deps, rest))
}

fn check_md_id(id: &str, lineno: usize, what: &str) -> Result<(), InputError> {
    if id.is_empty() {
        return Err(md_error(lineno, format!("empty {what}")));
    }
    if id.contains(|c: char| c.is_whitespace() || c == ',' || c.is_control()) {
        return Err(md_error(
            lineno,
            format!(
                "{what} `{}` is not an id: ids cannot contain spaces or commas",
                super::text::preview(id, 40)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_items_ids_deps_and_continuations() {
        let md = "# Plan\n\nSome intro.\n\n- [setup] Create the workspace\n- [api] Build the API (depends: setup)\n  with details\n\n  and a second paragraph\n  - a nested point\n1. [ ] Write docs (depends on: api, setup)\n";
        let items = parse_markdown(md).unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].id, "setup");
        assert_eq!(items[1].depends_on, vec!["setup"]);
        assert_eq!(
            items[1].task,
            "Build the API\nwith details\n\nand a second paragraph\n- a nested point"
        );
        assert_eq!(items[1].line, Some(6));
        assert_eq!(items[2].id, "3");
        assert!(items[2].id_assigned);
        assert_eq!(items[2].depends_on, vec!["api", "setup"]);
        assert_eq!(items[2].task, "Write docs");
    }

    #[test]
    fn markdown_errors_have_lines() {
        let e = parse_markdown("- one\n\nstray paragraph\n").unwrap_err();
        assert_eq!(e.line(), Some(3));
        let e = parse_markdown("- a\n- [b Build\n").unwrap_err();
        assert_eq!(e.line(), Some(2));
        let e = parse_markdown("- a\n- b (depends: a\n").unwrap_err();
        assert_eq!(e.line(), Some(2));
        let e = parse_markdown("- a (depends: x y)\n").unwrap_err();
        assert_eq!(e.line(), Some(1));
        assert!(matches!(
            parse_markdown("just prose\n"),
            Err(InputError::NoTasks { .. })
        ));
    }

    #[test]
    fn links_are_not_ids() {
        let items = parse_markdown("- [docs](http://x) update them\n").unwrap();
        assert_eq!(items[0].id, "1");
        assert_eq!(items[0].task, "[docs](http://x) update them");
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff_format("  [\"a\"]"), InputFormat::Json);
        assert_eq!(sniff_format("tasks:\n  - a\n"), InputFormat::Yaml);
        assert_eq!(sniff_format("- task: a\n  id: x\n"), InputFormat::Yaml);
        assert_eq!(sniff_format("# Tasks\n- do a\n"), InputFormat::Markdown);
        assert_eq!(sniff_format("- do a\n- do b\n"), InputFormat::Markdown);
    }
}
