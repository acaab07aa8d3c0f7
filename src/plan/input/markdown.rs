//! Markdown task files: every top-level list item is a task, with an optional `[id]` and
//! `(depends: …)` on its first line and further lines indented under it (the syntax is in the
//! [module docs](super)). A line-by-line reader that follows just enough of CommonMark — list
//! markers, indentation, fences, headings, rules, comments — to say where each task starts and
//! ends, and to reject stray text with its line rather than drop it.

use super::{InputError, InputFormat, no_tasks};
use crate::plan::validate::TaskItem;

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
pub(super) fn list_marker(trimmed: &str) -> Option<(usize, &str)> {
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
            accept: None,
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
                crate::plan::text::preview(id, 40)
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
}
