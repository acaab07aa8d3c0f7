//! The scenario to play: `@fake <scenario> [key=value ...]` on a prompt line, else
//! `FAKE_CLAUDE_SCENARIO`, else `success`.

use std::collections::BTreeMap;

pub(crate) struct Spec {
    pub(crate) name: String,
    pub(crate) opts: BTreeMap<String, String>,
    pub(crate) source: &'static str,
}

/// Whitespace-separated tokens; double quotes group (and are removed).
pub(crate) fn tokenize(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut have = false;
    for c in s.chars() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                have = true;
            }
            c if c.is_whitespace() && !in_quotes => {
                if have {
                    out.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            c => {
                cur.push(c);
                have = true;
            }
        }
    }
    if have {
        out.push(cur);
    }
    out
}

pub(crate) fn parse_spec(s: &str, source: &'static str) -> Spec {
    let toks = tokenize(s);
    let name = toks.first().cloned().unwrap_or_else(|| "success".into());
    let opts = toks[toks.len().min(1)..]
        .iter()
        .map(|t| match t.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (t.clone(), "1".to_string()),
        })
        .collect();
    Spec { name, opts, source }
}

pub(crate) fn find_spec(prompt: &str) -> Spec {
    for line in prompt.lines() {
        let t = line.trim();
        if t == "@fake" {
            return parse_spec("", "prompt");
        }
        if let Some(rest) = t.strip_prefix("@fake")
            && rest.starts_with(char::is_whitespace)
        {
            return parse_spec(rest, "prompt");
        }
    }
    match std::env::var("FAKE_CLAUDE_SCENARIO") {
        Ok(s) if !s.trim().is_empty() => parse_spec(&s, "env"),
        _ => parse_spec("success", "default"),
    }
}
