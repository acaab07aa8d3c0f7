//! Which format a task file is in: by extension when it names one, else sniffed from the
//! content (see the [module docs](super) for the rules).

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::markdown::list_marker;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(sniff_format("  [\"a\"]"), InputFormat::Json);
        assert_eq!(sniff_format("tasks:\n  - a\n"), InputFormat::Yaml);
        assert_eq!(sniff_format("- task: a\n  id: x\n"), InputFormat::Yaml);
        assert_eq!(sniff_format("# Tasks\n- do a\n"), InputFormat::Markdown);
        assert_eq!(sniff_format("- do a\n- do b\n"), InputFormat::Markdown);
    }
}
