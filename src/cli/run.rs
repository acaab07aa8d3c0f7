//! `cc-executor run [OPTIONS] [TASK|-]`: one task, live progress on stderr, the answer (or the
//! result JSON with `--json`) on stdout. Ctrl-C stops the task's whole process tree.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;

use super::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_NO_CLI, EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE};
use crate::config::Config;
use crate::exec::progress::ProgressEvent;
use crate::exec::result::{ExecutionResult, Status};
use crate::exec::spec::TaskRequest;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The task (prompt). `-` or nothing reads it from stdin. A task starting with `-` must
    /// come after `--` or on stdin.
    #[arg(value_name = "TASK|-")]
    pub task: Option<String>,
    /// Hard timeout in seconds (default: the configured default timeout).
    #[arg(long, allow_negative_numbers = true)]
    pub timeout_secs: Option<i64>,
    /// Working directory (inside the allowed roots).
    #[arg(long)]
    pub cwd: Option<String>,
    /// Model name or alias.
    #[arg(long)]
    pub model: Option<String>,
    /// Permission mode (default, acceptEdits, plan, dontAsk, auto, manual, bypassPermissions).
    #[arg(long)]
    pub permission_mode: Option<String>,
    /// Tools allowed without asking (repeatable or comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub allowed_tools: Option<Vec<String>>,
    /// Tools removed from the model's reach (repeatable or comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub disallowed_tools: Option<Vec<String>>,
    /// Maximum agent turns.
    #[arg(long, allow_negative_numbers = true)]
    pub max_turns: Option<i64>,
    /// Maximum API cost in USD.
    #[arg(long, allow_negative_numbers = true)]
    pub max_budget_usd: Option<f64>,
    /// Text appended to the system prompt.
    #[arg(long, allow_hyphen_values = true)]
    pub append_system_prompt: Option<String>,
    /// JSON Schema for a structured answer: inline JSON or @FILE.
    #[arg(long)]
    pub json_schema: Option<String>,
    /// Continue this session instead of starting fresh.
    #[arg(long)]
    pub resume_session_id: Option<String>,
    /// Acceptance checks, as `cc_execute`'s `accept`: inline JSON or @FILE.
    #[arg(long, value_name = "JSON|@FILE")]
    pub accept: Option<String>,
    /// A command that must exit 0 after the task (repeatable; a JSON argv list such as
    /// '["pytest","-q"]', or words split at spaces). Added to `--accept`.
    #[arg(long, value_name = "CMD")]
    pub accept_command: Vec<String>,
    /// Repairs allowed when a check fails (`repair.max_attempts`).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub repair: Option<i64>,
    /// Print the full result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

impl RunArgs {
    fn into_request(self) -> anyhow::Result<(TaskRequest, bool)> {
        let task = match self.task.as_deref() {
            None | Some("-") => {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .context("cannot read the task from stdin")?;
                s
            }
            Some(t) => t.to_string(),
        };
        let json_schema = match self.json_schema {
            None => None,
            Some(s) => Some(
                serde_json::from_str(&inline_or_file(s, "--json-schema")?)
                    .context("--json-schema is not valid JSON")?,
            ),
        };
        let mut accept: Option<crate::types::accept::AcceptRequest> = match self.accept {
            None => None,
            Some(s) => Some(
                serde_json::from_str(&inline_or_file(s, "--accept")?)
                    .context("--accept is not a valid `accept` object")?,
            ),
        };
        for c in self.accept_command {
            let argv: Vec<String> = if c.trim_start().starts_with('[') {
                serde_json::from_str(&c).with_context(|| {
                    format!("--accept-command {c} is not a JSON list of strings")
                })?
            } else {
                c.split_whitespace().map(str::to_string).collect()
            };
            accept
                .get_or_insert_with(Default::default)
                .commands
                .push(argv);
        }
        let repair = self
            .repair
            .map(|n| crate::types::accept::RepairRequest { max_attempts: n });
        Ok((
            TaskRequest {
                task,
                timeout_secs: self.timeout_secs,
                cwd: self.cwd,
                model: self.model,
                permission_mode: self.permission_mode,
                allowed_tools: self.allowed_tools,
                disallowed_tools: self.disallowed_tools,
                max_turns: self.max_turns,
                max_budget_usd: self.max_budget_usd,
                append_system_prompt: self.append_system_prompt,
                json_schema,
                resume_session_id: self.resume_session_id,
                wait: None,
                accept,
                repair,
            },
            self.json,
        ))
    }
}

/// A flag's value: inline text, or the contents of the file named after `@`.
fn inline_or_file(value: String, flag: &str) -> anyhow::Result<String> {
    match value.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(PathBuf::from(path))
            .with_context(|| format!("cannot read {flag} file {path}")),
        None => Ok(value),
    }
}

pub async fn run(config: Config, args: RunArgs) -> anyhow::Result<u8> {
    let (request, json) = args.into_request()?;
    let executor = super::open_executor(config).await?;
    let spec = match executor.prepare(request).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cc-executor: {e}");
            return Ok(EXIT_USAGE);
        }
    };
    for w in &spec.warnings {
        eprintln!("cc-executor: warning: {w}");
    }
    // Which timeout, and why: a kill at the deadline is never a surprise.
    eprintln!("cc-executor: timeout {}", spec.timeout_basis.detail);

    let progress = Progress::new();
    let sink = {
        let progress = progress.clone();
        move |e: ProgressEvent| progress.show(&e)
    };
    let cancel = CancellationToken::new();
    let interrupted = cancel.clone();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            interrupted.cancel();
        }
    });
    let result = executor.execute_with_cancel(spec, sink, cancel).await;
    ctrl_c.abort();
    // The sink skips the executor's own "finished" (see `Progress::show`); it is printed
    // here, after every other event and before the summary.
    progress.print(&ProgressEvent::Finished {
        status: result.status,
    });
    progress.finish();

    if json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        if let Some(text) = &result.result {
            println!("{text}");
        }
        eprintln!("cc-executor: {}", result.summary());
    }
    Ok(exit_code(&result))
}

/// The documented exit code for a finished execution.
pub fn exit_code(result: &ExecutionResult) -> u8 {
    match result.status {
        Status::Succeeded => EXIT_OK,
        Status::CliNotFound | Status::SpawnFailed => EXIT_NO_CLI,
        Status::TimedOut => EXIT_TIMEOUT,
        Status::Cancelled => EXIT_INTERRUPTED,
        _ => EXIT_FAILED,
    }
}

/// Live progress on stderr: a spinner on a terminal, plain lines otherwise.
#[derive(Clone)]
struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress { bar }
    }

    /// What the sink does with an event. Every event but `Finished` is emitted on the
    /// executor's task before the result becomes available to `execute`, so it is printed
    /// before `execute` returns. `Finished` is emitted only after the result is available (the
    /// registry must know the result before anyone is told), so printed from here it could
    /// come after the summary; the caller prints it instead (`print`), in order.
    fn show(&self, event: &ProgressEvent) {
        if !matches!(event, ProgressEvent::Finished { .. }) {
            self.print(event);
        }
    }

    fn print(&self, event: &ProgressEvent) {
        let message = event.message();
        match &self.bar {
            Some(bar) => match event {
                ProgressEvent::Heartbeat { .. } => bar.set_message(message),
                _ => {
                    bar.println(format!("  {message}"));
                    bar.set_message(message);
                }
            },
            None => eprintln!("cc-executor: {message}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
