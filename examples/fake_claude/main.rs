//! `fake_claude`: a scripted stand-in for the Claude Code CLI (`claude`).
//!
//! **This is a test fixture, not a shipped feature of cc-executor.** It exists so that
//! fault-injection tests and benchmarks can drive the executor through every outcome the real
//! CLI produces (see `docs/claude-cli.md`) without a network, an account or the
//! real binary. It is built by `cargo test` / `cargo build --examples` as
//! `target/debug/examples/fake_claude`.
//!
//! Invocation mirrors the real CLI: `fake_claude -p --output-format stream-json --verbose
//! [flags]` with the prompt on stdin (read to EOF). `fake_claude --version` prints
//! `2.1.331 (Claude Code)`.
//!
//! The scenario comes from the first prompt line of the form `@fake <scenario> [key=value ...]`,
//! else from env `FAKE_CLAUDE_SCENARIO` (same syntax), else `success`. Values may be
//! double-quoted to contain spaces (`text="hello world"`).
//!
//! Env:
//! - `FAKE_CLAUDE_RECORD_DIR`: append one JSON line per invocation to `invocations.jsonl`
//!   (written before any output) and grandchild pids to `<pid>.pids`.
//! - `FAKE_CLAUDE_STATE_DIR`: counter files for the `flaky` scenario.
//! - `FAKE_CLAUDE_AUTH_STATUS=unsupported`: `auth status` fails like a CLI without it.
//!
//! `fake_claude auth status [--json]` answers from the environment and `$HOME/.claude/
//! .credentials.json` like the real CLI (see `auth_main`).
//!
//! Global options (any scenario): `pace_ms=N` sleeps N ms after every stdout line;
//! `turns=N` sets `num_turns` on the result.
//!
//! Scenarios (options in brackets, defaults after `=`); exit 0 unless noted:
//! - `success [text=…]`; `echo` (result = exact stdin; with prompt arguments:
//!   args + `\n` + stdin); `slow [secs=2]` (fractional ok);
//!   `empty_result [text=the real answer | bytes=N]` (result `""`).
//! - `hang`, `ignore_sigterm`: init, then sleep forever (the latter ignores SIGTERM).
//! - `crash`: init + assistant, stderr message, exit 1. `exit_code [code=1]`: init, exit N.
//! - `sigint_exit0 [wait=0]`: `[Request interrupted by user]` user line, no result, exit 0
//!   (`wait=1`: only after a real SIGINT arrives).
//! - `noise`, `unknown_events`, `stderr_flood [kb=1024]`: tolerance tests, then success.
//! - `big_record [mb=20 | bytes=N]`, `flood [bytes=16777216 line=4096]`: size/throughput.
//! - `grandchild [mode=linger|hold_stdout|hang|setsid|double_fork secs=600 ignore_sigterm=0
//!   wait=0]`: a grandchild that sleeps `secs`. `setsid`: it leaves our process group and
//!   session at once (`setsid()`); `double_fork`: the child starts a `setsid` grandchild of its
//!   own and exits (the classic daemon escape), and the answer waits for that. The escaping
//!   process's pid is what `<pid>.pids` records. `wait=SECS`: answer only after that long.
//! - `busy [secs=3 where=self|grandchild]`: init, then no output while burning CPU for `secs`
//!   (in itself, or in a grandchild it waits for), then success.
//! - `tools [write= edit= failed= content= command= real_write=0]`,
//!   `permission_denied [path= | command=]` (a denied Write, or a denied Bash command),
//!   `structured [answer=42]` (needs `--json-schema`).
//! - exit 1: `max_turns`, `budget`, `api_error [status=400 retries=0]`,
//!   `rate_limited|overloaded|auth_failed [retries=2 sleep_ms=0]`, `not_logged_in`,
//!   `usage_limit [resets=now+3600 | resets_in=SECS]`, `rate_limit_event [resets=now+3600 text=…]`,
//!   `flaky [fail=1 status=429 key=flaky fail_with=usage_limit resets_in=SECS]` (needs
//!   `FAKE_CLAUDE_STATE_DIR`; exit 0 once the first `fail` invocations have failed).
//! - Any scenario with a result line: `cost=USD` sets its `total_cost_usd`.
//! - Unknown scenario: message on stderr, exit 2, no stdout.

use std::collections::BTreeMap;
use std::ffi::c_int;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{SigHandler, Signal, signal};
use serde_json::{Value, json};

const VERSION: &str = "2.1.331";
const DEFAULT_MODEL: &str = "claude-sonnet-4-5";
const GRANDCHILD_ARG: &str = "--fake-grandchild";

const SCENARIOS: &[&str] = &[
    "success",
    "echo",
    "slow",
    "hang",
    "ignore_sigterm",
    "crash",
    "sigint_exit0",
    "noise",
    "big_record",
    "flood",
    "grandchild",
    "tools",
    "permission_denied",
    "empty_result",
    "max_turns",
    "api_error",
    "rate_limited",
    "overloaded",
    "auth_failed",
    "not_logged_in",
    "usage_limit",
    "rate_limit_event",
    "budget",
    "structured",
    "flaky",
    "exit_code",
    "unknown_events",
    "stderr_flood",
    "busy",
];

static SIGINT_SEEN: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: c_int) {
    SIGINT_SEEN.store(true, Ordering::SeqCst);
}

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Flags {
    print: bool,
    verbose: bool,
    output_format: Option<String>,
    input_format: Option<String>,
    model: Option<String>,
    permission_mode: Option<String>,
    max_turns: Option<String>,
    allowed_tools: Vec<String>,
    disallowed_tools: Vec<String>,
    max_budget_usd: Option<String>,
    json_schema: Option<String>,
    append_system_prompt: Option<String>,
    resume: Option<String>,
    session_id: Option<String>,
    fork_session: bool,
    /// Unknown or uninteresting flags (and their values), verbatim.
    other: Vec<String>,
    /// Prompt arguments (after `--`, or bare words not consumed by a flag).
    positional: Vec<String>,
}

impl Flags {
    fn to_json(&self) -> Value {
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
const VALUE_FLAGS: &[&str] = &[
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
const VARIADIC_FLAGS: &[&str] = &[
    "--allowedTools",
    "--allowed-tools",
    "--disallowedTools",
    "--disallowed-tools",
    "--add-dir",
    "--mcp-config",
    "--betas",
];

/// Boolean flags we know of (recorded in `other`).
const BOOL_FLAGS: &[&str] = &[
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

fn parse_args(args: &[String]) -> Flags {
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

// ---------------------------------------------------------------------------------------------
// Scenario spec
// ---------------------------------------------------------------------------------------------

struct Spec {
    name: String,
    opts: BTreeMap<String, String>,
    source: &'static str,
}

/// Whitespace-separated tokens; double quotes group (and are removed).
fn tokenize(s: &str) -> Vec<String> {
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

fn parse_spec(s: &str, source: &'static str) -> Spec {
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

fn find_spec(prompt: &str) -> Spec {
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

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn warn(msg: &str) {
    let _ = writeln!(io::stderr(), "{msg}");
}

/// Serialize fields in the given order (serde_json's map would sort them).
fn obj(fields: Vec<(&str, Value)>) -> String {
    let mut s = String::from("{");
    for (i, (k, v)) in fields.into_iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&Value::from(k).to_string());
        s.push(':');
        s.push_str(&v.to_string());
    }
    s.push('}');
    s
}

/// Deterministic filler text of exactly `n` bytes (ASCII, with a newline every ~80 bytes).
fn filler(n: usize) -> String {
    const WORDS: &str = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod \
                         tempor incididunt ut labore et dolore magna aliqua\n";
    let mut s = String::with_capacity(n);
    while s.len() < n {
        let take = (n - s.len()).min(WORDS.len());
        s.push_str(&WORDS[..take]);
    }
    s
}

fn sleep_forever() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn record_line(dir: &Path, file: &str, line: &str) {
    let _ = fs::create_dir_all(dir);
    let res = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(file))
        .and_then(|mut f| {
            let mut buf = Vec::with_capacity(line.len() + 1);
            buf.extend_from_slice(line.as_bytes());
            buf.push(b'\n');
            f.write_all(&buf)?;
            f.flush()
        });
    if let Err(e) = res {
        warn(&format!(
            "fake_claude: cannot write {file} in {}: {e}",
            dir.display()
        ));
    }
}

fn record_dir() -> Option<PathBuf> {
    std::env::var_os("FAKE_CLAUDE_RECORD_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

#[derive(Default)]
struct ResultLine<'a> {
    subtype: &'a str,
    is_error: bool,
    /// `None` omits the `result` key entirely (error_max_turns, error_max_budget_usd).
    result: Option<&'a str>,
    terminal_reason: &'a str,
    stop_reason: Value,
    errors: Option<Vec<String>>,
    api_error_status: Option<u16>,
    permission_denials: Vec<Value>,
    structured_output: Option<Value>,
    zero_cost: bool,
    extra: Vec<(&'a str, Value)>,
}

// ---------------------------------------------------------------------------------------------
// Run context
// ---------------------------------------------------------------------------------------------

struct Ctx {
    flags: Flags,
    opts: BTreeMap<String, String>,
    prompt: String,
    session_id: String,
    model: String,
    cwd: String,
    start: Instant,
    rng: u64,
    pace: Option<Duration>,
    record_dir: Option<PathBuf>,
}

impl Ctx {
    fn opt(&self, k: &str) -> Option<&str> {
        self.opts.get(k).map(String::as_str)
    }

    fn opt_u64(&self, k: &str, default: u64) -> u64 {
        self.opt(k).and_then(|v| v.parse().ok()).unwrap_or(default)
    }

    /// `resets=EPOCH_SECS`, or `resets_in=SECS` from now; default in an hour.
    fn resets_at(&self) -> u64 {
        match self.opt("resets_in").and_then(|v| v.parse::<u64>().ok()) {
            Some(d) => now_secs() + d,
            None => self.opt_u64("resets", now_secs() + 3600),
        }
    }

    fn opt_f64(&self, k: &str, default: f64) -> f64 {
        self.opt(k).and_then(|v| v.parse().ok()).unwrap_or(default)
    }

    fn uuid(&mut self) -> String {
        let a = splitmix(&mut self.rng);
        let b = splitmix(&mut self.rng);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            ((b >> 48) & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }

    /// Anthropic-style id: `msg_01…`, `toolu_01…`.
    fn id(&mut self, prefix: &str) -> String {
        const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut s = format!("{prefix}_01");
        for _ in 0..22 {
            s.push(B62[(splitmix(&mut self.rng) % 62) as usize] as char);
        }
        s
    }

    fn write_raw(&self, bytes: &[u8]) {
        let mut out = io::stdout().lock();
        if out.write_all(bytes).and_then(|_| out.flush()).is_err() {
            warn("fake_claude: stdout closed");
            std::process::exit(1);
        }
    }

    fn emit(&self, line: &str) {
        {
            let mut out = io::stdout().lock();
            let r = out
                .write_all(line.as_bytes())
                .and_then(|_| out.write_all(b"\n"))
                .and_then(|_| out.flush());
            if r.is_err() {
                warn("fake_claude: stdout closed");
                std::process::exit(1);
            }
        }
        if let Some(p) = self.pace {
            std::thread::sleep(p);
        }
    }

    fn permission_mode(&self) -> String {
        self.flags
            .permission_mode
            .clone()
            .unwrap_or_else(|| "default".into())
    }

    fn init(&mut self) {
        let api_key_source = if std::env::var_os("ANTHROPIC_API_KEY").is_some() {
            "ANTHROPIC_API_KEY"
        } else {
            "none"
        };
        let uuid = self.uuid();
        let line = obj(vec![
            ("type", json!("system")),
            ("subtype", json!("init")),
            ("cwd", json!(self.cwd)),
            ("session_id", json!(self.session_id)),
            (
                "tools",
                json!([
                    "Task",
                    "Bash",
                    "Glob",
                    "Grep",
                    "ExitPlanMode",
                    "Read",
                    "Edit",
                    "Write",
                    "NotebookEdit",
                    "WebFetch",
                    "TodoWrite",
                    "WebSearch",
                    "BashOutput",
                    "KillShell",
                    "SlashCommand"
                ]),
            ),
            ("mcp_servers", json!([])),
            ("model", json!(self.model)),
            ("permissionMode", json!(self.permission_mode())),
            (
                "slash_commands",
                json!([
                    "compact",
                    "context",
                    "cost",
                    "init",
                    "review",
                    "security-review"
                ]),
            ),
            ("apiKeySource", json!(api_key_source)),
            ("claude_code_version", json!(VERSION)),
            ("output_style", json!("default")),
            (
                "agents",
                json!(["general-purpose", "statusline-setup", "Explore", "Plan"]),
            ),
            ("skills", json!([])),
            ("plugins", json!([])),
            ("uuid", json!(uuid)),
            ("fast_mode_state", json!("off")),
        ]);
        self.emit(&line);
    }

    fn system(&mut self, subtype: &str, extra: Vec<(&str, Value)>) {
        let uuid = self.uuid();
        let mut fields = vec![("type", json!("system")), ("subtype", json!(subtype))];
        fields.extend(extra);
        fields.push(("session_id", json!(self.session_id)));
        fields.push(("uuid", json!(uuid)));
        self.emit(&obj(fields));
    }

    fn assistant_full(&mut self, content: Value, error: Option<&str>, synthetic: bool) {
        let msg_id = if synthetic {
            self.uuid()
        } else {
            self.id("msg")
        };
        let usage = if synthetic {
            json!({"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                   "cache_read_input_tokens": 0})
        } else {
            json!({"input_tokens": 4, "output_tokens": 12, "cache_creation_input_tokens": 1234,
                   "cache_read_input_tokens": 5678, "service_tier": "standard"})
        };
        let message = json!({
            "model": if synthetic { "<synthetic>" } else { self.model.as_str() },
            "id": msg_id,
            "type": "message",
            "role": "assistant",
            "content": content,
            "stop_reason": if synthetic { json!("stop_sequence") } else { Value::Null },
            "stop_sequence": if synthetic { json!("") } else { Value::Null },
            "usage": usage,
            "context_management": null,
        });
        let uuid = self.uuid();
        let mut fields = vec![
            ("type", json!("assistant")),
            ("message", message),
            ("parent_tool_use_id", Value::Null),
            ("session_id", json!(self.session_id)),
            ("uuid", json!(uuid)),
        ];
        if let Some(e) = error {
            fields.push(("error", json!(e)));
        }
        self.emit(&obj(fields));
    }

    fn say(&mut self, text: &str) {
        self.assistant_full(json!([{"type": "text", "text": text}]), None, false);
    }

    fn synthetic(&mut self, text: &str, error: &str) {
        self.assistant_full(json!([{"type": "text", "text": text}]), Some(error), true);
    }

    fn tool_use(&mut self, name: &str, input: Value) -> String {
        let id = self.id("toolu");
        self.assistant_full(
            json!([{"type": "tool_use", "id": id, "name": name, "input": input}]),
            None,
            false,
        );
        id
    }

    fn tool_result(
        &mut self,
        id: &str,
        content: &str,
        is_error: bool,
        detail: Value,
        meta: Option<Value>,
    ) {
        let uuid = self.uuid();
        let mut fields = vec![
            ("type", json!("user")),
            (
                "message",
                json!({"role": "user", "content": [
                    {"tool_use_id": id, "type": "tool_result", "content": content,
                     "is_error": is_error}
                ]}),
            ),
            ("parent_tool_use_id", Value::Null),
            ("session_id", json!(self.session_id)),
            ("uuid", json!(uuid)),
            ("tool_use_result", detail),
        ];
        if let Some(m) = meta {
            fields.push(("tool_result_meta", m));
        }
        self.emit(&obj(fields));
    }

    fn result(&mut self, r: ResultLine<'_>) {
        let duration_ms = (self.start.elapsed().as_millis() as u64).max(1);
        let (input, output, cache_create, cache_read) = if r.zero_cost {
            (0u64, 0u64, 0u64, 0u64)
        } else {
            let out_len = r.result.map_or(0, str::len) as u64;
            (
                3 + self.prompt.len() as u64 / 4,
                5 + out_len / 4,
                1234,
                5678,
            )
        };
        let cost = (input as f64 * 3.0
            + output as f64 * 15.0
            + cache_create as f64 * 3.75
            + cache_read as f64 * 0.3)
            / 1_000_000.0;
        let usage = json!({
            "input_tokens": input,
            "cache_creation_input_tokens": cache_create,
            "cache_read_input_tokens": cache_read,
            "output_tokens": output,
            "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
            "service_tier": "standard",
            "cache_creation": {"ephemeral_1h_input_tokens": 0,
                               "ephemeral_5m_input_tokens": cache_create},
        });
        let model_usage = json!({ self.model.clone(): {
            "inputTokens": input,
            "outputTokens": output,
            "cacheReadInputTokens": cache_read,
            "cacheCreationInputTokens": cache_create,
            "webSearchRequests": 0,
            "costUSD": cost,
            "contextWindow": 200000,
            "maxOutputTokens": 64000,
        }});
        let uuid = self.uuid();
        let mut fields: Vec<(&str, Value)> = vec![
            ("duration_ms", json!(duration_ms)),
            ("duration_api_ms", json!(duration_ms * 3 / 4)),
            ("is_error", json!(r.is_error)),
            ("num_turns", json!(self.turns_guess())),
        ];
        if let Some(text) = r.result {
            fields.push(("result", json!(text)));
        }
        fields.extend([
            ("stop_reason", r.stop_reason),
            ("session_id", json!(self.session_id)),
            ("total_cost_usd", json!(self.opt_f64("cost", cost))),
            ("usage", usage),
            ("modelUsage", model_usage),
            ("permission_denials", json!(r.permission_denials)),
            ("terminal_reason", json!(r.terminal_reason)),
            ("fast_mode_state", json!("off")),
            ("uuid", json!(uuid)),
        ]);
        if let Some(errors) = r.errors {
            fields.push(("errors", json!(errors)));
        }
        fields.push(("subtype", json!(r.subtype)));
        fields.push(("type", json!("result")));
        if let Some(status) = r.api_error_status {
            fields.push(("api_error_status", json!(status)));
        }
        if let Some(so) = r.structured_output {
            fields.push(("structured_output", so));
        }
        fields.extend(r.extra);
        self.emit(&obj(fields));
    }

    fn turns_guess(&self) -> u64 {
        self.opt_u64("turns", 1)
    }

    fn success_result(&mut self, text: &str) {
        self.result(ResultLine {
            subtype: "success",
            result: Some(text),
            terminal_reason: "completed",
            stop_reason: json!("end_turn"),
            ..Default::default()
        });
    }

    /// Assistant text line + success result; exit code 0.
    fn succeed(&mut self, text: &str) -> i32 {
        self.say(text);
        self.success_result(text);
        0
    }

    fn default_text(&self) -> String {
        self.opt("text")
            .unwrap_or("Hello from fake_claude.")
            .to_string()
    }

    fn sleep_secs(&self, secs: f64) {
        if secs > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(secs));
        }
    }

    // -----------------------------------------------------------------------------------------
    // Error flows
    // -----------------------------------------------------------------------------------------

    /// `retries` × `system/api_retry`, a synthetic assistant "API Error: …" line and an
    /// `is_error:true` result with `terminal_reason:"api_error"`. Returns exit code 1.
    fn api_failure(&mut self, status: u16, retries: u64) -> i32 {
        let (kind, etype, emsg) = match status {
            400 => (
                "invalid_request",
                "invalid_request_error",
                "messages: text content blocks must be non-empty",
            ),
            401 => (
                "authentication_failed",
                "authentication_error",
                "invalid x-api-key",
            ),
            402 => ("billing_error", "billing_error", "credit balance too low"),
            429 => (
                "rate_limit",
                "rate_limit_error",
                "This request would exceed the rate limit for your organization of 50 \
                 requests per minute.",
            ),
            529 => ("overloaded", "overloaded_error", "Overloaded"),
            500..=599 => ("server_error", "api_error", "Internal server error"),
            _ => ("unknown", "api_error", "Unexpected error"),
        };
        let retry_kind = match kind {
            "rate_limit" | "overloaded" | "authentication_failed" | "server_error" => kind,
            _ => "unknown",
        };
        let sleep_ms = self.opt_u64("sleep_ms", 0);
        for attempt in 1..=retries {
            let delay = (500u64 << (attempt - 1).min(6)).min(32_000);
            self.system(
                "api_retry",
                vec![
                    ("attempt", json!(attempt)),
                    ("max_retries", json!(10)),
                    ("retry_delay_ms", json!(delay)),
                    ("error_status", json!(status)),
                    ("error", json!(retry_kind)),
                ],
            );
            if sleep_ms > 0 {
                std::thread::sleep(Duration::from_millis(sleep_ms));
            }
        }
        let request_id = self.id("req");
        let text = format!(
            "API Error: {status} {}",
            format_args!(
                r#"{{"type":"error","error":{{"type":{},"message":{}}},"request_id":{}}}"#,
                json!(etype),
                json!(emsg),
                json!(request_id)
            )
        );
        self.synthetic(&text, kind);
        self.result(ResultLine {
            subtype: "success",
            is_error: true,
            result: Some(&text),
            terminal_reason: "api_error",
            stop_reason: json!("stop_sequence"),
            api_error_status: Some(status),
            zero_cost: true,
            ..Default::default()
        });
        1
    }

    /// A synthetic assistant text and an `is_error:true` result with the same text.
    fn text_failure(&mut self, text: &str, error: &str, status: Option<u16>) -> i32 {
        self.synthetic(text, error);
        self.result(ResultLine {
            subtype: "success",
            is_error: true,
            result: Some(text),
            terminal_reason: "api_error",
            stop_reason: json!("stop_sequence"),
            api_error_status: status,
            zero_cost: true,
            ..Default::default()
        });
        1
    }

    // -----------------------------------------------------------------------------------------
    // Scenarios
    // -----------------------------------------------------------------------------------------

    fn run(&mut self, name: &str) -> i32 {
        if name == "ignore_sigterm" {
            // SAFETY: installing SIG_IGN has no handler code to be unsafe.
            if let Err(e) = unsafe { signal(Signal::SIGTERM, SigHandler::SigIgn) } {
                warn(&format!("fake_claude: cannot ignore SIGTERM: {e}"));
            }
        }
        if name == "flaky" && std::env::var_os("FAKE_CLAUDE_STATE_DIR").is_none_or(|v| v.is_empty())
        {
            warn("fake_claude: the flaky scenario needs FAKE_CLAUDE_STATE_DIR");
            return 2;
        }
        self.init();
        match name {
            "success" => {
                let t = self.default_text();
                self.succeed(&t)
            }
            "echo" => {
                let t = self.echo_text();
                self.succeed(&t)
            }
            "slow" => {
                self.sleep_secs(self.opt_f64("secs", 2.0));
                let t = self.default_text();
                self.succeed(&t)
            }
            "hang" | "ignore_sigterm" => sleep_forever(),
            "crash" => {
                self.say("Let me look into that.");
                warn(
                    "Error: fake_claude simulated crash\n    at processTicksAndRejections \
                     (node:internal/process/task_queues:95:5)",
                );
                1
            }
            "sigint_exit0" => self.sigint_exit0(),
            "noise" => self.noise(),
            "big_record" => {
                let bytes = match self.opt("bytes").and_then(|v| v.parse::<usize>().ok()) {
                    Some(b) => b,
                    None => (self.opt_f64("mb", 20.0) * 1024.0 * 1024.0) as usize,
                };
                let text = filler(bytes);
                self.succeed(&text)
            }
            "flood" => self.flood(),
            "grandchild" => self.grandchild(),
            "busy" => self.busy(),
            "tools" => self.tools(),
            "permission_denied" => self.permission_denied(),
            "empty_result" => {
                let t = match self.opt("bytes").and_then(|v| v.parse::<usize>().ok()) {
                    Some(n) => filler(n),
                    None => self.opt("text").unwrap_or("the real answer").to_string(),
                };
                self.say(&t);
                self.success_result("");
                0
            }
            "max_turns" => {
                let n = self
                    .flags
                    .max_turns
                    .as_deref()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1);
                let id = self.tool_use(
                    "Bash",
                    json!({"command": "ls", "description": "List files"}),
                );
                self.tool_result(
                    &id,
                    "Cargo.toml\nsrc",
                    false,
                    json!({"stdout": "Cargo.toml\nsrc", "stderr": "", "interrupted": false,
                           "isImage": false}),
                    None,
                );
                self.opts.insert("turns".into(), (n + 1).to_string());
                self.result(ResultLine {
                    subtype: "error_max_turns",
                    is_error: true,
                    result: None,
                    terminal_reason: "max_turns",
                    stop_reason: json!("tool_use"),
                    errors: Some(vec![format!("Reached maximum number of turns ({n})")]),
                    ..Default::default()
                });
                1
            }
            "api_error" => {
                let status = self.opt_u64("status", 400) as u16;
                let retries = self.opt_u64("retries", 0);
                self.api_failure(status, retries)
            }
            "rate_limited" => {
                let retries = self.opt_u64("retries", 2);
                self.api_failure(429, retries)
            }
            "overloaded" => {
                let retries = self.opt_u64("retries", 2);
                self.api_failure(529, retries)
            }
            "auth_failed" => {
                let retries = self.opt_u64("retries", 2);
                self.api_failure(401, retries)
            }
            "not_logged_in" => self.text_failure(
                "Not logged in · Please run /login",
                "authentication_failed",
                None,
            ),
            "usage_limit" => {
                let resets = self.resets_at();
                let text = format!("Claude AI usage limit reached|{resets}");
                self.text_failure(&text, "rate_limit", None)
            }
            "rate_limit_event" => {
                let resets = self.opt_u64("resets", now_secs() + 3600);
                let uuid = self.uuid();
                let line = obj(vec![
                    ("type", json!("rate_limit_event")),
                    (
                        "rate_limit_info",
                        json!({"status": "rejected", "resetsAt": resets,
                               "rateLimitType": "five_hour", "utilization": 1.0,
                               "isUsingOverage": false, "overageStatus": "rejected"}),
                    ),
                    ("uuid", json!(uuid)),
                    ("session_id", json!(self.session_id)),
                ]);
                self.emit(&line);
                let text = self
                    .opt("text")
                    .unwrap_or("You've hit your limit · resets 5pm (Europe/Vilnius)")
                    .to_string();
                self.text_failure(&text, "rate_limit", Some(429))
            }
            "budget" => {
                let budget = self
                    .flags
                    .max_budget_usd
                    .clone()
                    .unwrap_or_else(|| "0.01".into());
                self.say("Working on it.");
                self.result(ResultLine {
                    subtype: "error_max_budget_usd",
                    is_error: true,
                    result: None,
                    terminal_reason: "budget_exhausted",
                    stop_reason: json!("tool_use"),
                    errors: Some(vec![format!("Reached maximum budget (${budget})")]),
                    ..Default::default()
                });
                1
            }
            "structured" => self.structured(),
            "flaky" => self.flaky(),
            "exit_code" => {
                let code = self.opt_u64("code", 1) as i32;
                warn(&format!("fake_claude: exiting with code {code}"));
                code
            }
            "unknown_events" => self.unknown_events(),
            "stderr_flood" => self.stderr_flood(),
            other => unreachable!("scenario {other} validated earlier"),
        }
    }

    fn echo_text(&self) -> String {
        if self.flags.positional.is_empty() {
            self.prompt.clone()
        } else if self.prompt.is_empty() {
            self.flags.positional.join(" ")
        } else {
            format!("{}\n{}", self.flags.positional.join(" "), self.prompt)
        }
    }

    fn sigint_exit0(&mut self) -> i32 {
        if self.opt("wait") == Some("1") {
            let handler = SigHandler::Handler(on_sigint);
            // SAFETY: the handler only stores to an atomic.
            if let Err(e) = unsafe { signal(Signal::SIGINT, handler) } {
                warn(&format!("fake_claude: cannot install SIGINT handler: {e}"));
            }
            self.say("Working on it…");
            while !SIGINT_SEEN.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let uuid = self.uuid();
        let line = obj(vec![
            ("type", json!("user")),
            (
                "message",
                json!({"role": "user",
                       "content": [{"type": "text", "text": "[Request interrupted by user]"}]}),
            ),
            ("parent_tool_use_id", Value::Null),
            ("session_id", json!(self.session_id)),
            ("uuid", json!(uuid)),
        ]);
        self.emit(&line);
        0
    }

    fn noise(&mut self) -> i32 {
        warn("[DEBUG] fake_claude: loading settings");
        self.emit("Warning: something is not quite right with your configuration");
        self.emit("");
        self.emit("   ");
        self.emit("\u{1b}[33mdebug\u{1b}[0m: colored diagnostics");
        warn("(node:1234) ExperimentalWarning: stderr chatter");
        // A truncated JSON line (invalid JSON that starts with '{').
        self.emit(r#"{"type":"assistant","message":{"content":[{"type":"te"#);
        // Valid JSON that is not an object / has no type.
        self.emit("[1,2,3]");
        self.emit(r#"{"no_type_here":true}"#);
        // A valid line delivered in two writes 50 ms apart.
        let sid = self.session_id.clone();
        let id = self.id("msg");
        let uuid = self.uuid();
        let split = obj(vec![
            ("type", json!("assistant")),
            (
                "message",
                json!({"model": self.model, "id": id, "type": "message", "role": "assistant",
                       "content": [{"type": "text", "text": "split line"}],
                       "stop_reason": null, "stop_sequence": null,
                       "usage": {"input_tokens": 1, "output_tokens": 2}}),
            ),
            ("parent_tool_use_id", Value::Null),
            ("session_id", json!(sid)),
            ("uuid", json!(uuid)),
        ]);
        let (a, b) = split.split_at(split.len() / 2);
        self.write_raw(a.as_bytes());
        std::thread::sleep(Duration::from_millis(50));
        self.write_raw(format!("{b}\n").as_bytes());
        // A CRLF-terminated valid line.
        let id = self.id("msg");
        let uuid = self.uuid();
        let crlf = obj(vec![
            ("type", json!("assistant")),
            (
                "message",
                json!({"model": self.model, "id": id, "type": "message", "role": "assistant",
                       "content": [{"type": "text", "text": "crlf line"}],
                       "stop_reason": null, "stop_sequence": null,
                       "usage": {"input_tokens": 1, "output_tokens": 2}}),
            ),
            ("parent_tool_use_id", Value::Null),
            ("session_id", json!(sid)),
            ("uuid", json!(uuid)),
        ]);
        self.emit(&format!("{crlf}\r"));
        self.emit("Warning: one more diagnostic line");
        warn("fake_claude: more stderr chatter");
        let t = self.opt("text").unwrap_or("noise survived").to_string();
        self.succeed(&t)
    }

    fn flood(&mut self) -> i32 {
        let total = self.opt_u64("bytes", 16 << 20);
        let line_target = self.opt_u64("line", 4096).max(512) as usize;
        let uuid = self.uuid();
        let tpl = obj(vec![
            ("type", json!("assistant")),
            (
                "message",
                json!({"model": self.model, "id": "@@ID@@", "type": "message",
                       "role": "assistant",
                       "content": [{"type": "text", "text": "@@TEXT@@"}],
                       "stop_reason": null, "stop_sequence": null,
                       "usage": {"input_tokens": 1, "output_tokens": 1000}}),
            ),
            ("parent_tool_use_id", Value::Null),
            ("session_id", json!(self.session_id)),
            ("uuid", json!(uuid)),
        ]);
        // Size the text so each line (incl. a 16-char id and '\n') is about `line_target`.
        let overhead = tpl.len() - "@@ID@@".len() - "@@TEXT@@".len() + 16 + 1;
        let text_len = line_target.saturating_sub(overhead).max(16);
        let text = Value::from(filler(text_len)).to_string();
        let tpl = tpl.replace("\"@@TEXT@@\"", &text);
        let (pre, post) = tpl.split_once("@@ID@@").expect("template has an id");
        let out = io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map(File::from)
            .expect("dup stdout");
        let mut w = BufWriter::with_capacity(1 << 20, out);
        let mut written: u64 = 0;
        let mut lines: u64 = 0;
        while written < total {
            let r = w
                .write_all(pre.as_bytes())
                .and_then(|_| write!(w, "msg_flood_{lines:06}"))
                .and_then(|_| w.write_all(post.as_bytes()))
                .and_then(|_| w.write_all(b"\n"));
            if r.is_err() {
                warn("fake_claude: stdout closed");
                return 1;
            }
            written += (pre.len() + 16 + post.len() + 1) as u64;
            lines += 1;
        }
        if w.flush().is_err() {
            warn("fake_claude: stdout closed");
            return 1;
        }
        drop(w);
        let t = format!("flood done: {lines} lines, {written} bytes");
        self.success_result(&t);
        0
    }

    fn grandchild(&mut self) -> i32 {
        let mode = self.opt("mode").unwrap_or("linger").to_string();
        let modes = ["linger", "hold_stdout", "hang", "setsid", "double_fork"];
        if !modes.contains(&mode.as_str()) {
            warn(&format!(
                "fake_claude: grandchild mode must be {}, got {mode}",
                modes.join("|")
            ));
            return 2;
        }
        let secs = self.opt_f64("secs", 600.0);
        let mut cmd = Command::new(own_exe());
        cmd.arg(GRANDCHILD_ARG).arg(secs.to_string());
        if self.opt("ignore_sigterm") == Some("1") {
            cmd.arg("--ignore-sigterm");
        }
        let pids_file = self
            .record_dir
            .as_ref()
            .map(|d| d.join(format!("{}.pids", std::process::id())));
        match (mode.as_str(), &pids_file) {
            ("setsid", _) => {
                cmd.arg("--setsid");
            }
            ("double_fork", Some(file)) => {
                cmd.arg("--double-fork").arg(file);
            }
            ("double_fork", None) => {
                warn("fake_claude: grandchild mode=double_fork needs FAKE_CLAUDE_RECORD_DIR");
                return 2;
            }
            _ => {}
        }
        cmd.stdin(Stdio::null());
        if mode == "hold_stdout" {
            cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit());
        } else {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                warn(&format!("fake_claude: cannot spawn grandchild: {e}"));
                return 1;
            }
        };
        let gpid = child.id();
        if mode == "double_fork" {
            // The middle process records its own child's pid and exits at once; once it has,
            // the escapee is on its own.
            let mut child = child;
            let _ = child.wait();
        } else {
            // Deliberately neither waited for nor killed: it must outlive us.
            std::mem::forget(child);
            if let Some(dir) = &self.record_dir {
                record_line(
                    dir,
                    &format!("{}.pids", std::process::id()),
                    &gpid.to_string(),
                );
            }
        }
        self.emit(&obj(vec![
            ("type", json!("system")),
            ("subtype", json!("fake_grandchild")),
            ("pid", json!(gpid)),
            ("mode", json!(mode)),
            ("session_id", json!(self.session_id)),
        ]));
        if mode == "hang" {
            sleep_forever();
        }
        self.sleep_secs(self.opt_f64("wait", 0.0));
        let t = self.default_text();
        self.succeed(&t)
    }

    fn busy(&mut self) -> i32 {
        let secs = self.opt_f64("secs", 3.0);
        match self.opt("where").unwrap_or("self") {
            "self" => burn_cpu(secs),
            "grandchild" => {
                let spawned = Command::new(own_exe())
                    .arg(GRANDCHILD_ARG)
                    .arg(secs.to_string())
                    .arg("--busy")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn();
                match spawned {
                    Ok(mut child) => {
                        if let Some(dir) = &self.record_dir {
                            record_line(
                                dir,
                                &format!("{}.pids", std::process::id()),
                                &child.id().to_string(),
                            );
                        }
                        let _ = child.wait();
                    }
                    Err(e) => {
                        warn(&format!(
                            "fake_claude: cannot spawn the busy grandchild: {e}"
                        ));
                        return 1;
                    }
                }
            }
            other => {
                warn(&format!(
                    "fake_claude: busy where must be self|grandchild, got {other}"
                ));
                return 2;
            }
        }
        let t = self.default_text();
        self.succeed(&t)
    }

    fn tools(&mut self) -> i32 {
        let cwd = PathBuf::from(&self.cwd);
        let path = |k: &str, default: &str, ctx: &Ctx| -> String {
            ctx.opt(k)
                .map(str::to_string)
                .unwrap_or_else(|| cwd.join(default).to_string_lossy().into_owned())
        };
        let write = path("write", "fake_claude_written.txt", self);
        let edit = path("edit", "fake_claude_edited.txt", self);
        let failed = path("failed", "fake_claude_failed.txt", self);
        let content = self
            .opt("content")
            .unwrap_or("hello from fake_claude\n")
            .to_string();
        let command = self.opt("command").unwrap_or("echo hello").to_string();

        self.say("I'll make the requested changes.");

        if self.opt("real_write") == Some("1") {
            let p = Path::new(&write);
            if let Some(parent) = p.parent() {
                let _ = fs::create_dir_all(parent);
            }
            if let Err(e) = fs::write(p, &content) {
                warn(&format!("fake_claude: real_write of {write} failed: {e}"));
            }
        }
        let id = self.tool_use("Write", json!({"file_path": write, "content": content}));
        self.tool_result(
            &id,
            &format!("File created successfully at: {write}"),
            false,
            json!({"type": "create", "filePath": write, "content": content,
                   "structuredPatch": [], "originalFile": null}),
            None,
        );

        let id = self.tool_use(
            "Edit",
            json!({"file_path": edit, "old_string": "foo", "new_string": "bar",
                   "replace_all": false}),
        );
        self.tool_result(
            &id,
            &format!(
                "The file {edit} has been updated. Here's the result of running `cat -n` on a \
                 snippet of the edited file:\n     1\tbar"
            ),
            false,
            json!({"filePath": edit, "oldString": "foo", "newString": "bar",
                   "originalFile": "foo\n", "structuredPatch": [], "userModified": false,
                   "replaceAll": false}),
            None,
        );

        let id = self.tool_use(
            "Write",
            json!({"file_path": failed, "content": "this write fails\n"}),
        );
        let err = format!("EACCES: permission denied, open '{failed}'");
        self.tool_result(
            &id,
            &format!("<tool_use_error>{err}</tool_use_error>"),
            true,
            json!(format!("Error: {err}")),
            None,
        );

        let id = self.tool_use(
            "Bash",
            json!({"command": command, "description": "Run a command"}),
        );
        self.tool_result(
            &id,
            "hello",
            false,
            json!({"stdout": "hello", "stderr": "", "interrupted": false, "isImage": false}),
            None,
        );

        self.opts
            .entry("turns".into())
            .or_insert_with(|| "5".into());
        let t = self
            .opt("text")
            .map(str::to_string)
            .unwrap_or_else(|| format!("Done! I wrote {write} and edited {edit}."));
        self.succeed(&t)
    }

    fn permission_denied(&mut self) -> i32 {
        let path = self.opt("path").map(str::to_string).unwrap_or_else(|| {
            Path::new(&self.cwd)
                .join("fake_claude_denied.txt")
                .to_string_lossy()
                .into_owned()
        });
        let content = "this write is denied\n";
        // `command=…` denies a Bash command instead of a Write.
        let (tool, input) = match self.opt("command") {
            Some(cmd) => (
                "Bash",
                json!({"command": cmd, "description": "Run a command"}),
            ),
            None => ("Write", json!({"file_path": path, "content": content})),
        };
        let id = self.tool_use(tool, input.clone());
        let mode = self.permission_mode();
        let message = format!(
            "Permission to use {tool} has been denied because Claude Code is running in \
             {mode} mode."
        );
        self.system(
            "permission_denied",
            vec![
                ("tool_name", json!(tool)),
                ("tool_use_id", json!(id)),
                ("decision_reason_type", json!("mode")),
                ("message", json!(message)),
            ],
        );
        self.tool_result(
            &id,
            &format!(
                "Claude requested permissions to write to {path}, but you haven't granted it \
                 yet."
            ),
            true,
            json!(format!(
                "Error: Claude requested permissions to write to {path}, but you haven't \
                 granted it yet."
            )),
            Some(json!([{"id": id,
                         "permission_decision": {"decision": "deny", "source": "mode"},
                         "non_execution_kind": "permission_denied"}])),
        );
        self.say("Done!");
        self.opts
            .entry("turns".into())
            .or_insert_with(|| "2".into());
        self.result(ResultLine {
            subtype: "success",
            result: Some("Done!"),
            terminal_reason: "completed",
            stop_reason: json!("end_turn"),
            permission_denials: vec![
                json!({"tool_name": tool, "tool_use_id": id, "tool_input": input}),
            ],
            ..Default::default()
        });
        0
    }

    fn structured(&mut self) -> i32 {
        let answer = self.opt("answer").unwrap_or("42").to_string();
        let so = json!({"answer": answer});
        if self.flags.json_schema.is_none() {
            warn("fake_claude: structured scenario without --json-schema; no structured_output");
            let t = so.to_string();
            return self.succeed(&t);
        }
        let id = self.tool_use("StructuredOutput", so.clone());
        self.tool_result(
            &id,
            "Structured output provided successfully",
            false,
            json!("Structured output provided successfully"),
            None,
        );
        let text = so.to_string();
        self.result(ResultLine {
            subtype: "success",
            result: Some(&text),
            terminal_reason: "completed",
            stop_reason: json!("end_turn"),
            structured_output: Some(so),
            ..Default::default()
        });
        0
    }

    fn flaky(&mut self) -> i32 {
        let Some(dir) = std::env::var_os("FAKE_CLAUDE_STATE_DIR").filter(|v| !v.is_empty()) else {
            warn("fake_claude: the flaky scenario needs FAKE_CLAUDE_STATE_DIR");
            return 2;
        };
        let key = self.opt("key").unwrap_or("flaky").to_string();
        let path = PathBuf::from(dir).join(format!("{key}.count"));
        let n: u64 = fs::read_to_string(&path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        if let Some(parent) = path.parent() {
            let _ = fs::create_dir_all(parent);
        }
        if let Err(e) = fs::write(&path, (n + 1).to_string()) {
            warn(&format!(
                "fake_claude: cannot write {}: {e}",
                path.display()
            ));
        }
        let fail = self.opt_u64("fail", 1);
        let status = self.opt_u64("status", 429) as u16;
        warn(&format!(
            "fake_claude: flaky attempt {} (fail first {fail})",
            n + 1
        ));
        if n < fail {
            match self.opt("fail_with") {
                Some("usage_limit") => {
                    let text = format!("Claude AI usage limit reached|{}", self.resets_at());
                    self.text_failure(&text, "rate_limit", None)
                }
                _ => self.api_failure(status, 0),
            }
        } else {
            let t = self
                .opt("text")
                .map(str::to_string)
                .unwrap_or_else(|| format!("flaky succeeded on attempt {}", n + 1));
            self.succeed(&t)
        }
    }

    fn unknown_events(&mut self) -> i32 {
        let sid = self.session_id.clone();
        self.emit(&obj(vec![
            ("type", json!("brand_new_type")),
            ("payload", json!({"x": 1, "nested": {"y": [1, 2, 3]}})),
            ("session_id", json!(sid)),
        ]));
        self.system(
            "compact_boundary",
            vec![(
                "compact_metadata",
                json!({"trigger": "auto", "pre_tokens": 123456}),
            )],
        );
        self.system(
            "hook_started",
            vec![
                ("hook_id", json!("h1")),
                ("hook_name", json!("SessionStart:startup")),
                ("hook_event", json!("SessionStart")),
            ],
        );
        self.system("brand_new_subtype", vec![("whatever", json!({"a": null}))]);
        let uuid = self.uuid();
        self.emit(&obj(vec![
            ("type", json!("stream_event")),
            (
                "event",
                json!({"type": "content_block_delta", "index": 0,
                       "delta": {"type": "text_delta", "text": "partial "}}),
            ),
            ("parent_tool_use_id", Value::Null),
            ("session_id", json!(sid)),
            ("uuid", json!(uuid)),
        ]));
        let uuid = self.uuid();
        self.emit(&obj(vec![
            ("type", json!("rate_limit_event")),
            (
                "rate_limit_info",
                json!({"status": "allowed", "resetsAt": now_secs() + 7200,
                       "rateLimitType": "five_hour", "utilization": 0.1}),
            ),
            ("uuid", json!(uuid)),
            ("session_id", json!(sid)),
        ]));
        self.assistant_full(
            json!([
                {"type": "thinking", "thinking": "Let me think.", "signature": "c2lnbmF0dXJl"},
                {"type": "brand_new_block", "data": {"k": "v"}},
            ]),
            None,
            false,
        );
        self.emit(&obj(vec![
            ("type", json!("system")),
            ("subtype", json!("status")),
            ("status", json!("compacting")),
            ("brand_new_field", json!(true)),
            ("session_id", json!(sid)),
        ]));
        let text = self
            .opt("text")
            .unwrap_or("the answer after unknown events")
            .to_string();
        self.say(&text);
        self.result(ResultLine {
            subtype: "success",
            result: Some(&text),
            terminal_reason: "completed",
            stop_reason: json!("end_turn"),
            extra: vec![
                ("brand_new_result_field", json!({"nested": [1, 2]})),
                ("another_unknown", Value::Null),
            ],
            ..Default::default()
        });
        0
    }

    fn stderr_flood(&mut self) -> i32 {
        let kb = self.opt_u64("kb", 1024);
        let line = format!("{}\n", "e".repeat(1023));
        let mut err = io::stderr().lock();
        for i in 0..kb {
            if err.write_all(line.as_bytes()).is_err() {
                break;
            }
            if i % 64 == 63 {
                let _ = err.flush();
                self.say(&format!("progress: {} KiB of stderr written", i + 1));
            }
        }
        let _ = err.flush();
        drop(err);
        let t = self.default_text();
        self.succeed(&t)
    }
}

// ---------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------

/// The command line, with any non-UTF-8 bytes replaced (never panics).
fn argv_lossy() -> Vec<String> {
    std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

/// This executable, to start grandchildren of the fake.
fn own_exe() -> PathBuf {
    std::env::current_exe()
        .unwrap_or_else(|_| PathBuf::from(std::env::args_os().next().unwrap_or_default()))
}

/// Keeps one core busy for `secs` without printing anything.
fn burn_cpu(secs: f64) {
    let end = Instant::now() + Duration::from_secs_f64(secs.max(0.0));
    let mut x: u64 = 1;
    while Instant::now() < end {
        for _ in 0..10_000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

/// `--fake-grandchild SECS [--ignore-sigterm] [--setsid | --double-fork PIDS_FILE | --busy]`.
fn grandchild_main(args: &[String]) -> ! {
    let flag = |name: &str| args.iter().any(|a| a == name);
    let secs: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(600.0);
    if let Some(i) = args.iter().position(|a| a == "--double-fork") {
        // The middle of a double fork: start the escapee, say who it is, and go.
        let Some(file) = args.get(i + 1).map(PathBuf::from) else {
            std::process::exit(2);
        };
        let mut cmd = Command::new(own_exe());
        cmd.arg(GRANDCHILD_ARG)
            .arg(secs.to_string())
            .arg("--setsid");
        if flag("--ignore-sigterm") {
            cmd.arg("--ignore-sigterm");
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match cmd.spawn() {
            Ok(child) => {
                if let (Some(dir), Some(name)) = (file.parent(), file.file_name()) {
                    record_line(dir, &name.to_string_lossy(), &child.id().to_string());
                }
                std::mem::forget(child);
                std::process::exit(0)
            }
            Err(_) => std::process::exit(1),
        }
    }
    if flag("--setsid") {
        // Out of the task's process group and session: `killpg` no longer reaches it.
        let _ = nix::unistd::setsid();
    }
    if flag("--ignore-sigterm") {
        // SAFETY: installing SIG_IGN.
        let _ = unsafe { signal(Signal::SIGTERM, SigHandler::SigIgn) };
    }
    if flag("--busy") {
        burn_cpu(secs);
    } else {
        std::thread::sleep(Duration::from_secs_f64(secs.max(0.0)));
    }
    std::process::exit(0)
}

/// `auth status [--json|--text]`, answered like 2.1.331 does, offline: an API key, then a
/// token in the environment, then a stored login (`$CLAUDE_CONFIG_DIR` or `$HOME/.claude`,
/// `.credentials.json` with an access token and the `user:inference` scope). Exit 1 when not
/// logged in. Each call appends `{argv, anthropic_api_key_set, home}` to `auth.jsonl` in
/// `FAKE_CLAUDE_RECORD_DIR` (not to `invocations.jsonl`, which counts tasks).
/// `FAKE_CLAUDE_AUTH_STATUS=unsupported` answers like a CLI without the subcommand.
fn auth_main(args: &[String]) -> ! {
    if let Some(dir) = record_dir() {
        let rec = json!({
            "argv": args,
            "anthropic_api_key_set": std::env::var_os("ANTHROPIC_API_KEY").is_some(),
            "home": std::env::var("HOME").unwrap_or_default(),
        });
        record_line(&dir, "auth.jsonl", &rec.to_string());
    }
    if std::env::var("FAKE_CLAUDE_AUTH_STATUS").as_deref() == Ok("unsupported")
        || args.get(1).map(String::as_str) != Some("status")
    {
        warn("error: unknown command 'auth'");
        std::process::exit(1);
    }
    let set = |v: &str| std::env::var_os(v).is_some_and(|t| !t.is_empty());
    let dir = match std::env::var_os("CLAUDE_CONFIG_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".claude"),
    };
    let stored = fs::read_to_string(dir.join(".credentials.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v.get("claudeAiOauth").cloned())
        .filter(|o| {
            o["accessToken"].as_str().is_some_and(|t| !t.is_empty())
                && o["scopes"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|x| x == "user:inference"))
        });
    let mut answer = json!({"loggedIn": true, "apiProvider": "firstParty"});
    if set("ANTHROPIC_API_KEY") {
        answer["authMethod"] = json!("api_key");
        answer["apiKeySource"] = json!("ANTHROPIC_API_KEY");
    } else if set("CLAUDE_CODE_OAUTH_TOKEN") || set("ANTHROPIC_AUTH_TOKEN") {
        answer["authMethod"] = json!("oauth_token");
    } else if let Some(o) = stored {
        answer["authMethod"] = json!("claude.ai");
        answer["subscriptionType"] = o["subscriptionType"].clone();
    } else {
        answer["loggedIn"] = json!(false);
        answer["authMethod"] = json!("none");
    }
    let logged_in = answer["loggedIn"] == true;
    if args.iter().any(|a| a == "--text") {
        println!(
            "{}",
            if logged_in {
                "Logged in"
            } else {
                "Not logged in. Run claude auth login to authenticate."
            }
        );
    } else {
        println!("{answer:#}");
    }
    std::process::exit(if logged_in { 0 } else { 1 })
}

fn main() {
    let argv = argv_lossy();
    let args: Vec<String> = argv[argv.len().min(1)..].to_vec();
    if args.first().map(String::as_str) == Some(GRANDCHILD_ARG) {
        grandchild_main(&args);
    }
    let before_dd = args.iter().take_while(|a| *a != "--");
    if before_dd.clone().any(|a| a == "--version" || a == "-v") {
        println!("{VERSION} (Claude Code)");
        std::process::exit(0);
    }
    if args.first().map(String::as_str) == Some("auth") {
        auth_main(&args);
    }

    let flags = parse_args(&args);
    let pid = std::process::id();
    let pgid = nix::unistd::getpgrp().as_raw();
    let rec_dir = record_dir();
    let cwd = std::env::current_dir()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base_record = |scenario: Value, stdin: &[u8]| {
        json!({
            "pid": pid,
            "ppid": nix::unistd::getppid().as_raw(),
            "pgid": pgid,
            "argv": argv,
            "stdin": String::from_utf8_lossy(stdin),
            "stdin_len": stdin.len(),
            "stdin_utf8": std::str::from_utf8(stdin).is_ok(),
            "env_has_claudecode": std::env::var_os("CLAUDECODE").is_some(),
            "anthropic_api_key_set": std::env::var_os("ANTHROPIC_API_KEY").is_some(),
            "cwd": cwd,
            "scenario": scenario,
            "flags": flags.to_json(),
            "time_ms": (now_nanos() / 1_000_000) as u64,
        })
    };

    // Argument validation, like the real CLI (which refuses before reading stdin).
    let arg_error = if !flags.print {
        Some("Error: fake_claude only supports print mode (-p/--print)".to_string())
    } else if flags.output_format.as_deref() != Some("stream-json") {
        Some(format!(
            "Error: fake_claude only supports --output-format stream-json (got {})",
            flags.output_format.as_deref().unwrap_or("text")
        ))
    } else if !flags.verbose {
        Some("Error: When using --print, --output-format=stream-json requires --verbose".into())
    } else {
        None
    };
    if let Some(msg) = arg_error {
        if let Some(dir) = &rec_dir {
            let mut rec = base_record(Value::Null, b"");
            rec["error"] = json!(msg);
            record_line(dir, "invocations.jsonl", &rec.to_string());
        }
        warn(&msg);
        std::process::exit(1);
    }

    let mut stdin = Vec::new();
    if let Err(e) = io::stdin().lock().read_to_end(&mut stdin) {
        warn(&format!("fake_claude: error reading stdin: {e}"));
    }
    let prompt = String::from_utf8_lossy(&stdin).into_owned();
    let spec = {
        let mut search = flags.positional.join("\n");
        search.push('\n');
        search.push_str(&prompt);
        find_spec(&search)
    };
    let known = SCENARIOS.contains(&spec.name.as_str());

    if let Some(dir) = &rec_dir {
        let mut rec = base_record(json!(spec.name), &stdin);
        rec["scenario_source"] = json!(spec.source);
        rec["options"] = json!(spec.opts);
        if !known {
            rec["error"] = json!("unknown scenario");
        }
        record_line(dir, "invocations.jsonl", &rec.to_string());
    }
    if !known {
        warn(&format!(
            "fake_claude: unknown scenario '{}' (known: {})",
            spec.name,
            SCENARIOS.join(", ")
        ));
        std::process::exit(2);
    }

    let mut rng = (now_nanos() as u64) ^ ((pid as u64) << 32) ^ 0xC1A0_DE00_F00D_u64;
    splitmix(&mut rng);
    let mut ctx = Ctx {
        model: flags.model.clone().unwrap_or_else(|| DEFAULT_MODEL.into()),
        flags,
        pace: spec
            .opts
            .get("pace_ms")
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis),
        opts: spec.opts,
        prompt,
        session_id: String::new(),
        cwd,
        start: Instant::now(),
        rng,
        record_dir: rec_dir,
    };
    ctx.session_id = match (&ctx.flags.resume, &ctx.flags.session_id) {
        (Some(r), _) if !r.is_empty() && !ctx.flags.fork_session => r.clone(),
        (_, Some(s)) if !s.is_empty() => s.clone(),
        _ => ctx.uuid(),
    };
    let code = ctx.run(&spec.name);
    std::process::exit(code);
}
