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
//! - `ticks [n=10 every=0.2 grandchild=0]`: `n` steps, one every `every` seconds, each a `Bash`
//!   tool use and its result, then success; `grandchild=1` first starts a sleeping grandchild
//!   (a tree to pause and continue as a whole).
//! - `tools [write= edit= failed= content= command= real_write=0]`,
//!   `permission_denied [path= | command=]` (a denied Write, or a denied Bash command),
//!   `structured [answer=42]` (needs `--json-schema`).
//! - Acceptance and repair: `repairable [file=out.txt bad=bad good=good fixes=1 prompt_log=]`
//!   writes `bad` into `file`, or `good` when its prompt is a repair (and `fixes=1`), and can
//!   log every prompt it gets; `verdict [file=out.txt contains=good fix=…]` (needs
//!   `--json-schema`) returns `{valid, reasons, fix}`: valid when `file` contains `contains`.
//! - exit 1: `max_turns`, `budget`, `api_error [status=400 retries=0]`,
//!   `rate_limited|overloaded|auth_failed [retries=2 sleep_ms=0]`, `not_logged_in`,
//!   `usage_limit [resets=now+3600 | resets_in=SECS]`, `rate_limit_event [resets=now+3600 text=…]`,
//!   `flaky [fail=1 status=429 key=flaky fail_with=usage_limit resets_in=SECS]` (needs
//!   `FAKE_CLAUDE_STATE_DIR`; exit 0 once the first `fail` invocations have failed).
//! - Any scenario with a result line: `cost=USD` sets its `total_cost_usd`.
//! - Unknown scenario: message on stderr, exit 2, no stdout.
//!
//! Layout: `cli.rs` parses the flags, `spec.rs` finds the scenario, `ctx.rs` holds the run
//! context and writes the stream-json lines, `scenarios/` dispatches a scenario name and holds
//! the scenarios by kind; `grandchild.rs` and `auth.rs` are the other entry points (the
//! grandchild process, `auth status`); `util.rs` the small helpers.

// A test fixture that must ignore or catch signals like the real CLI can (nix::signal).
#![allow(unsafe_code)]

mod auth;
mod cli;
mod ctx;
mod grandchild;
mod scenarios;
mod spec;
mod util;

use std::io::{self, Read};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use auth::auth_main;
use cli::parse_args;
use ctx::Ctx;
use grandchild::grandchild_main;
use scenarios::SCENARIOS;
use spec::find_spec;
use util::{now_nanos, record_dir, record_line, splitmix, warn};

/// The Claude Code version whose output the fake reproduces (`docs/claude-cli.md`).
pub(crate) const VERSION: &str = "2.1.331";
/// The model reported when `--model` is not given.
pub(crate) const DEFAULT_MODEL: &str = "claude-sonnet-4-5";
/// The first argument of the fake's own grandchild processes (see `grandchild.rs`).
pub(crate) const GRANDCHILD_ARG: &str = "--fake-grandchild";

/// The command line, with any non-UTF-8 bytes replaced (never panics).
fn argv_lossy() -> Vec<String> {
    std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
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
