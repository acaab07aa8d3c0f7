//! The user's hooks: `pre_execute` and `post_execute` commands from the config file.
//!
//! Each hook is an argv vector run as its own process — no shell unless the user writes one —
//! in its own process group, with the task's working directory, a timeout (the whole group is
//! killed when it passes), the execution's JSON on stdin and `CC_EXECUTOR_EXECUTION_ID`,
//! `CC_EXECUTOR_TASK_FILE` (a `0600` file with the task text) and `CC_EXECUTOR_HOOK` in its
//! environment. Its stdout and stderr are captured (bounded), never passed through: in
//! `mcp` mode our stdout is the protocol channel.
//!
//! A pre hook that exits with code 2 vetoes the task (status `rejected_by_hook`, its stderr is
//! the reason). Any other failure — another exit code, a timeout, a command that cannot be
//! started — is recorded as a warning and the task runs: a broken hook must not silently stop
//! all work, and a hook that wants to stop work says so explicitly. Hooks cannot change the
//! server's state: they are separate processes, and nothing they print is read back except a
//! veto's reason.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;
use uuid::Uuid;

use crate::config::HooksConfig;
use crate::exec::side_command::{self, End, Pipe};
use tokio_util::sync::CancellationToken;

/// Exit code by which a pre hook vetoes a task.
pub const VETO_EXIT_CODE: i32 = 2;
/// Hook runs kept for `get_hook_status`.
const RECENT_RUNS: usize = 200;
/// Bytes of a hook's stderr kept (the veto reason, failure messages).
const STDERR_KEPT: usize = 4096;

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HookKind {
    PreExecute,
    PostExecute,
}

impl HookKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HookKind::PreExecute => "pre_execute",
            HookKind::PostExecute => "post_execute",
        }
    }
}

/// How one hook run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HookOutcome {
    /// Exit code 0.
    Ok,
    /// A pre hook exited with 2: the task did not run.
    Vetoed,
    /// Another exit code, or killed by a signal.
    Failed,
    /// Killed after the timeout.
    TimedOut,
    /// The command could not be started.
    SpawnFailed,
    /// Stopped because the task was cancelled (or the server shut down).
    Cancelled,
}

/// One run of one hook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HookRun {
    pub at: DateTime<Utc>,
    pub kind: HookKind,
    /// The command, argv joined by spaces (for people).
    pub hook: String,
    pub execution_id: Uuid,
    pub outcome: HookOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    /// Why it failed or vetoed (stderr, or the error), when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl HookRun {
    pub fn is_failure(&self) -> bool {
        matches!(
            self.outcome,
            HookOutcome::Failed | HookOutcome::TimedOut | HookOutcome::SpawnFailed
        )
    }
}

/// Totals since the server started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HookCounts {
    pub runs: u64,
    pub failures: u64,
    pub timeouts: u64,
    pub vetoes: u64,
}

/// The recent hook runs of this process.
#[derive(Debug, Default)]
pub struct HookLog {
    state: Mutex<(VecDeque<HookRun>, HookCounts)>,
}

impl HookLog {
    pub fn push(&self, run: HookRun) {
        let mut g = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (recent, counts) = &mut *g;
        counts.runs += 1;
        counts.failures += u64::from(run.is_failure());
        counts.timeouts += u64::from(run.outcome == HookOutcome::TimedOut);
        counts.vetoes += u64::from(run.outcome == HookOutcome::Vetoed);
        if recent.len() == RECENT_RUNS {
            recent.pop_front();
        }
        recent.push_back(run);
    }

    /// Newest first, at most `limit`, and the totals.
    pub fn recent(&self, limit: usize) -> (Vec<HookRun>, HookCounts) {
        let g = self.state.lock().unwrap_or_else(|p| p.into_inner());
        (g.0.iter().rev().take(limit).cloned().collect(), g.1.clone())
    }
}

/// A built-in hook and whether it is on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BuiltinHook {
    pub name: String,
    pub enabled: bool,
    pub description: String,
}

/// A configured hook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConfiguredHook {
    pub kind: HookKind,
    pub argv: Vec<String>,
    pub timeout_secs: u64,
}

/// What `get_hook_status` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HookStatus {
    pub builtin: Vec<BuiltinHook>,
    pub configured: Vec<ConfiguredHook>,
    /// Newest first.
    pub recent_runs: Vec<HookRun>,
    /// Since this server started.
    pub counts: HookCounts,
}

/// The status report from the configuration and the log.
pub fn status(config: &HooksConfig, log: &HookLog, limit: usize) -> HookStatus {
    let (recent_runs, counts) = log.recent(limit);
    let secs = config.timeout.as_secs();
    let configured = config
        .pre_execute
        .iter()
        .map(|a| (HookKind::PreExecute, a))
        .chain(
            config
                .post_execute
                .iter()
                .map(|a| (HookKind::PostExecute, a)),
        )
        .map(|(kind, argv)| ConfiguredHook {
            kind,
            argv: argv.clone(),
            timeout_secs: secs,
        })
        .collect();
    HookStatus {
        builtin: vec![BuiltinHook {
            name: "uuid".into(),
            enabled: config.uuid_hook,
            description: "appends an instruction to echo the execution's UUID to every prompt; \
                          verification checks that it came back"
                .into(),
        }],
        configured,
        recent_runs,
        counts,
    }
}

/// What a hook run sees besides its stdin.
pub struct HookContext<'a> {
    pub execution_id: Uuid,
    pub task_file: &'a Path,
    pub cwd: &'a Path,
    /// `CC_EXECUTOR_RESPONSE_FILE` for post hooks.
    pub response_file: Option<&'a str>,
}

/// Writes the task text for `CC_EXECUTOR_TASK_FILE` (owner-only, atomic) in
/// `<data_dir>/hooks/<id>.task`.
pub fn write_task_file(data_dir: &Path, id: Uuid, task: &str) -> std::io::Result<PathBuf> {
    let dir = data_dir.join("hooks");
    crate::evidence::artifacts::create_private_dir(&dir)?;
    let path = dir.join(format!("{id}.task"));
    // A scratch copy for the hooks, removed after them: atomic, but no fsync to pay for.
    crate::evidence::artifacts::write_replacing(&path, task.as_bytes(), false)?;
    Ok(path)
}

/// What the hooks of one kind decided.
#[derive(Debug, Default)]
pub struct HookResults {
    /// A pre hook's veto: the hook and its reason.
    pub veto: Option<String>,
    /// Failures (other exit codes, timeouts, commands that could not start).
    pub warnings: Vec<String>,
    /// `cancel` fired: the running hook was stopped and the rest were skipped.
    pub cancelled: bool,
}

/// Runs every hook of one kind in order, logging each run. For pre hooks it stops at the
/// first veto. Cancelling `cancel` stops the running hook (its whole process group).
pub async fn run_all(
    kind: HookKind,
    config: &HooksConfig,
    log: &HookLog,
    ctx: &HookContext<'_>,
    stdin_json: &[u8],
    cancel: &CancellationToken,
) -> HookResults {
    let list = match kind {
        HookKind::PreExecute => &config.pre_execute,
        HookKind::PostExecute => &config.post_execute,
    };
    let mut out = HookResults::default();
    for argv in list {
        let run = run_one(kind, argv, config.timeout, ctx, stdin_json, cancel).await;
        let hook = run.hook.clone();
        let (outcome, message) = (run.outcome, run.message.clone());
        log.push(run);
        match outcome {
            HookOutcome::Ok => {}
            HookOutcome::Cancelled => {
                out.cancelled = true;
                return out;
            }
            HookOutcome::Vetoed => {
                let reason = message.unwrap_or_else(|| "no reason given on stderr".into());
                out.veto = Some(format!("{hook}: {reason}"));
                return out;
            }
            _ => out.warnings.push(format!(
                "{} hook `{hook}` {}",
                kind.as_str(),
                message.unwrap_or_else(|| "failed".into())
            )),
        }
    }
    out
}

/// Runs one hook command.
pub async fn run_one(
    kind: HookKind,
    argv: &[String],
    timeout: Duration,
    ctx: &HookContext<'_>,
    stdin_json: &[u8],
    cancel: &CancellationToken,
) -> HookRun {
    let started = Instant::now();
    let at = Utc::now();
    let hook = argv.join(" ");
    let done = |outcome, exit_code, message: Option<String>| HookRun {
        at,
        kind,
        hook: hook.clone(),
        execution_id: ctx.execution_id,
        outcome,
        exit_code,
        duration_ms: started.elapsed().as_millis().min(u64::MAX as u128) as u64,
        message,
    };
    let Some((program, args)) = argv.split_first() else {
        return done(HookOutcome::SpawnFailed, None, Some("empty command".into()));
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .current_dir(ctx.cwd)
        .env("CC_EXECUTOR_EXECUTION_ID", ctx.execution_id.to_string())
        .env("CC_EXECUTOR_TASK_FILE", ctx.task_file)
        .env("CC_EXECUTOR_HOOK", kind.as_str());
    if let Some(r) = ctx.response_file {
        cmd.env("CC_EXECUTOR_RESPONSE_FILE", r);
    }
    // Its own process group: a timeout or a cancel stops everything the hook started, and
    // leftovers of a hook that exited — in its group or not — are not left running (nor as
    // zombies: they are reaped). Only the end of its stderr is kept (the veto's reason).
    let read = |pipe, which| {
        drain(
            pipe,
            match which {
                Pipe::Stdout => 0,
                Pipe::Stderr => STDERR_KEPT,
            },
        )
    };
    let ran = side_command::run(
        &mut cmd,
        ctx.execution_id,
        Some(stdin_json.to_vec()),
        timeout,
        cancel,
        Duration::ZERO,
        read,
    )
    .await;
    let ran = match ran {
        Ok(ran) => ran,
        Err(e) => {
            return done(
                HookOutcome::SpawnFailed,
                None,
                Some(format!("could not be started: {e}")),
            );
        }
    };
    let end = ran.end;
    let err_text = String::from_utf8_lossy(&ran.stderr).trim().to_string();
    let err_text = (!err_text.is_empty()).then_some(err_text);
    let status = match end {
        End::Exited(s) => s,
        End::TimedOut => {
            return done(
                HookOutcome::TimedOut,
                None,
                Some(format!(
                    "timed out after {} s and was killed",
                    timeout.as_secs()
                )),
            );
        }
        End::Cancelled => {
            return done(
                HookOutcome::Cancelled,
                None,
                Some("stopped: the task was cancelled".into()),
            );
        }
    };
    let code = status.and_then(|s| s.code());
    match code {
        Some(0) => done(HookOutcome::Ok, code, None),
        Some(VETO_EXIT_CODE) if kind == HookKind::PreExecute => {
            done(HookOutcome::Vetoed, code, err_text)
        }
        Some(c) => done(
            HookOutcome::Failed,
            code,
            Some(match err_text {
                Some(t) => format!("exited with code {c}: {t}"),
                None => format!("exited with code {c}"),
            }),
        ),
        None => done(
            HookOutcome::Failed,
            None,
            Some("was killed by a signal".into()),
        ),
    }
}

/// Reads a pipe to its end, keeping at most `keep` bytes.
async fn drain(mut r: impl tokio::io::AsyncRead + Unpin, keep: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = r.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let room = keep.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
    }
    kept
}
