//! References between the tasks of a run: `{{tasks.<id>.result}}` (the task's final answer)
//! and `{{tasks.<id>.files_written}}` (the files it wrote, one per line).
//!
//! Expansion is a single pass over the task text as written: text that comes *out* of a
//! result is never scanned again, so an answer that happens to contain `{{tasks.x.result}}`
//! cannot pull in anything else.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a reference asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Result,
    FilesWritten,
}

/// One `{{tasks.<id>.<field>}}` in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub task_id: String,
    pub field: Field,
    /// Byte range of the whole `{{…}}` in the text.
    pub span: std::ops::Range<usize>,
}

/// Every `{{ … }}` that starts with `tasks.`: a reference, or an error naming what is wrong
/// with it. Other `{{ … }}` (templates meant for Claude) are left alone.
pub fn references(text: &str) -> Result<Vec<Reference>, String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find("{{").map(|i| from + i) {
        let Some(close) = text[open + 2..].find("}}").map(|i| open + 2 + i) else {
            break;
        };
        let inner = text[open + 2..close].trim();
        from = close + 2;
        let Some(rest) = inner.strip_prefix("tasks.") else {
            continue;
        };
        let (id, field) = rest.rsplit_once('.').ok_or_else(|| {
            format!("`{{{{{inner}}}}}` is not a task reference: write {{{{tasks.<id>.result}}}} or {{{{tasks.<id>.files_written}}}}")
        })?;
        let field = match field {
            "result" => Field::Result,
            "files_written" => Field::FilesWritten,
            other => {
                return Err(format!(
                    "`{{{{{inner}}}}}` asks for `{other}`; a task reference gives `result` or `files_written`"
                ));
            }
        };
        if id.is_empty() {
            return Err(format!("`{{{{{inner}}}}}` names no task"));
        }
        out.push(Reference {
            task_id: id.to_string(),
            field,
            span: open..close + 2,
        });
    }
    Ok(out)
}

/// Replaces every reference with what `lookup` gives for it; the first lookup error is the
/// error of the whole expansion.
pub fn expand(
    text: &str,
    mut lookup: impl FnMut(&str, Field) -> Result<String, String>,
) -> Result<String, String> {
    let refs = references(text)?;
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for r in refs {
        out.push_str(&text[at..r.span.start]);
        out.push_str(&lookup(&r.task_id, r.field)?);
        at = r.span.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

/// How a list of written files appears in a task text.
pub fn files_text(files: &[String]) -> String {
    if files.is_empty() {
        "(no files written)".into()
    } else {
        files.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_references_and_leaves_other_braces_alone() {
        let refs = references(
            "use {{tasks.a.result}} and {{ tasks.build-2.files_written }}; keep {{name}}",
        )
        .unwrap();
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[0].task_id, "a");
        assert_eq!(refs[0].field, Field::Result);
        assert_eq!(refs[1].task_id, "build-2");
        assert_eq!(refs[1].field, Field::FilesWritten);
    }

    #[test]
    fn ids_may_contain_dots() {
        let refs = references("{{tasks.v1.2.result}}").unwrap();
        assert_eq!(refs[0].task_id, "v1.2");
    }

    #[test]
    fn malformed_references_are_errors_that_say_how_to_write_them() {
        let e = references("{{tasks.a.cost}}").unwrap_err();
        assert!(e.contains("`cost`"), "{e}");
        let e = references("{{tasks.a}}").unwrap_err();
        assert!(e.contains("tasks.<id>.result"), "{e}");
        let e = references("{{tasks..result}}").unwrap_err();
        assert!(e.contains("names no task"), "{e}");
    }

    #[test]
    fn expansion_is_one_pass() {
        let out = expand("A={{tasks.a.result}} B={{tasks.b.result}}", |id, _| {
            Ok(if id == "a" {
                "{{tasks.b.result}}".to_string()
            } else {
                "bee".to_string()
            })
        })
        .unwrap();
        assert_eq!(out, "A={{tasks.b.result}} B=bee");
    }

    #[test]
    fn lookup_errors_stop_the_expansion() {
        let e = expand("x {{tasks.a.result}}", |_, _| Err("task `a` failed".into())).unwrap_err();
        assert_eq!(e, "task `a` failed");
    }

    #[test]
    fn unclosed_braces_are_text() {
        assert_eq!(
            expand("a {{tasks.x.result", |_, _| Ok(String::new())).unwrap(),
            "a {{tasks.x.result"
        );
    }
}
