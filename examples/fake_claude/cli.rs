//! The command line, parsed the way the real CLI's parser (commander) reads it: known flags
//! into their slots, everything else kept verbatim so the recorded invocation shows it.

use serde_json::{Value, json};

#[derive(Default)]
pub(crate) struct Flags {
    pub(crate) print: bool,
    pub(crate) verbose: bool,
    pub(crate) output_format: Option<String>,
    pub(crate) input_format: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) permission_mode: Option<String>,
    pub(crate) max_turns: Option<String>,
    pub(crate) allowed_tools: Vec<String>,
    pub(crate) disallowed_tools: Vec<String>,
    pub(crate) max_budget_usd: Option<String>,
    pub(crate) json_schema: Option<String>,
    pub(crate) append_system_prompt: Option<String>,
    pub(crate) resume: Option<String>,
    pub(crate) session_id: Option<String>,
    pub(crate) fork_session: bool,
    /// Unknown or uninteresting flags (and their values), verbatim.
    pub(crate) other: Vec<String>,
    /// Prompt arguments (after `--`, or bare words not consumed by a flag).
    pub(crate) positional: Vec<String>,
}

impl Flags {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "print": self.print,
            "verbose": self.verbose,
            "output_format": self.output_format,
            "input_format": self.input_format,
            "model": self.model,
            "permission_mode": self.permission_mode,
            "max_turns": self.max_turns,
            "allowed_tools": self.allowed_tools,
            "disallowed_tools": self.disallowed_tools,
            "max_budget_usd": self.max_budget_usd,
            "json_schema": self.json_schema,
            "append_system_prompt": self.append_system_prompt,
            "resume": self.resume,
            "session_id": self.session_id,
            "fork_session": self.fork_session,
            "other": self.other,
            "positional": self.positional,
        })
    }
}

/// Flags that always take exactly one value (the next argument is taken even if it starts with
/// `-`, as commander does for required option-arguments).
pub(crate) const VALUE_FLAGS: &[&str] = &[
    "--output-format",
    "--input-format",
    "--model",
    "--permission-mode",
    "--max-turns",
    "--max-budget-usd",
    "--json-schema",
    "--append-system-prompt",
    "--system-prompt",
    "--session-id",
    "--fallback-model",
    "--tools",
    "--settings",
    "--setting-sources",
    "--agents",
    "--agent",
];

/// Variadic flags: consume following arguments until one starts with `-`.
pub(crate) const VARIADIC_FLAGS: &[&str] = &[
    "--allowedTools",
    "--allowed-tools",
    "--disallowedTools",
    "--disallowed-tools",
    "--add-dir",
    "--mcp-config",
    "--betas",
];

/// Boolean flags we know of (recorded in `other`).
pub(crate) const BOOL_FLAGS: &[&str] = &[
    "--no-session-persistence",
    "--strict-mcp-config",
    "--dangerously-skip-permissions",
    "--include-partial-messages",
    "--replay-user-messages",
    "--continue",
    "-c",
    "--debug",
    "-d",
];

pub(crate) fn parse_args(args: &[String]) -> Flags {
    let mut f = Flags::default();
    let mut i = 0;
    let mut only_positional = false;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if only_positional || !a.starts_with('-') || a == "-" {
            f.positional.push(a.clone());
            continue;
        }
        if a == "--" {
            only_positional = true;
            continue;
        }
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if a.starts_with("--") => (n, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        match name {
            "-p" | "--print" => f.print = true,
            "--verbose" => f.verbose = true,
            "--fork-session" => f.fork_session = true,
            "-r" | "--resume" => {
                // Optional value in the real CLI.
                let v = inline.or_else(|| {
                    if i < args.len() && !args[i].starts_with('-') {
                        i += 1;
                        Some(args[i - 1].clone())
                    } else {
                        None
                    }
                });
                f.resume = Some(v.unwrap_or_default());
            }
            n if BOOL_FLAGS.contains(&n) => f.other.push(a.clone()),
            n if VARIADIC_FLAGS.contains(&n) => {
                let mut vals = Vec::new();
                if let Some(v) = inline {
                    vals.push(v);
                } else {
                    while i < args.len() && !args[i].starts_with('-') {
                        vals.push(args[i].clone());
                        i += 1;
                    }
                }
                match n {
                    "--allowedTools" | "--allowed-tools" => f.allowed_tools.extend(vals),
                    "--disallowedTools" | "--disallowed-tools" => f.disallowed_tools.extend(vals),
                    _ => {
                        f.other.push(n.to_string());
                        f.other.extend(vals);
                    }
                }
            }
            n if VALUE_FLAGS.contains(&n) => {
                let v = inline.or_else(|| {
                    let v = args.get(i).cloned();
                    if v.is_some() {
                        i += 1;
                    }
                    v
                });
                let slot = match n {
                    "--output-format" => &mut f.output_format,
                    "--input-format" => &mut f.input_format,
                    "--model" => &mut f.model,
                    "--permission-mode" => &mut f.permission_mode,
                    "--max-turns" => &mut f.max_turns,
                    "--max-budget-usd" => &mut f.max_budget_usd,
                    "--json-schema" => &mut f.json_schema,
                    "--append-system-prompt" => &mut f.append_system_prompt,
                    "--session-id" => &mut f.session_id,
                    _ => {
                        f.other.push(n.to_string());
                        f.other.extend(v);
                        continue;
                    }
                };
                *slot = v;
            }
            n if n.starts_with("--") => {
                // Unknown long flag: tolerated. `--x=v` keeps its value; `--x v` takes `v` when
                // it does not look like a flag.
                f.other.push(a.clone());
                if inline.is_none() && i < args.len() && !args[i].starts_with('-') {
                    f.other.push(args[i].clone());
                    i += 1;
                }
            }
            _ => f.other.push(a.clone()),
        }
    }
    f
}
