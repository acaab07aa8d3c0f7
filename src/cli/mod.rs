//! The terminal interface: a thin adapter over the executor, like the MCP server.
//!
//! - [`run`]: `cc-executor run` — one task, live progress on stderr.
//! - [`doctor`]: `cc-executor doctor` — is everything in place?
//! - [`init`]: `cc-executor init` — how to register the server with Claude Code.
//! - [`history`]: `cc-executor history list|show|stats|export`.
//! - [`plan`]: `cc-executor plan FILE` — validate a task list and suggest a strategy.
//! - [`run_list`]: `cc-executor run-list FILE|--resume RUN_ID` — a task list as a durable run.
//! - [`runs`]: `cc-executor runs list|show` — runs in the store.
//! - [`verify`]: `cc-executor verify [ID | --last N]` — check executions against their evidence.
//! - [`serve`]: `cc-executor serve [status]` — the network service (MCP over HTTP).
//! - [`control`]: `cc-executor pause|resume|cancel ID` — a task of the running `serve`.
//!
//! Exit codes (stable, documented in the README): 0 success; 1 the task ran but did not
//! succeed; 2 bad input or configuration (nothing ran); 3 `claude` missing or not startable;
//! 4 timed out; 130 interrupted.

// The terminal is this adapter's product: it prints results to stdout by design.
#![allow(clippy::print_stdout)]

pub mod control;
pub mod doctor;
pub mod history;
pub mod init;
pub mod plan;
pub mod pool;
pub mod run;
pub mod run_list;
pub mod runs;
pub mod serve;
pub mod verify;
pub mod worker;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{ApiKeyMode, Config, Overrides, PermissionMode, Placement};
use crate::serve::remote::Action;

pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_NO_CLI: u8 = 3;
pub const EXIT_TIMEOUT: u8 = 4;
pub const EXIT_INTERRUPTED: u8 = 130;

/// Run tasks in fresh Claude Code processes, one after another.
///
/// Every task runs in its own `claude -p` process with a clean context, strictly after the
/// previous one, with a hard timeout and an honest, structured result.
#[derive(Debug, Parser)]
#[command(name = "cc-executor", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over stdio (what Claude Code starts; see `cc-executor init`).
    Mcp,
    /// Serve over the network: MCP Streamable HTTP at /mcp (token, loopback by default);
    /// `serve status` says whether one runs.
    Serve(Box<serve::ServeArgs>),
    /// Pause a task of the running `serve` (its process tree stopped, its time limit too).
    Pause(control::ControlArgs),
    /// Resume a task of the running `serve` that was paused.
    Resume(control::ControlArgs),
    /// Cancel a task (or a run) of the running `serve`: its whole process tree is stopped.
    Cancel(control::ControlArgs),
    /// Run one task in a fresh Claude Code process.
    Run(Box<run::RunArgs>),
    /// Run a task list (JSON, YAML, markdown) as one durable, resumable run.
    RunList(Box<run_list::RunListArgs>),
    /// Task-list runs: list, show.
    Runs(runs::RunsArgs),
    /// Check the installation: claude binary and version, data dir, policy.
    Doctor(doctor::DoctorArgs),
    /// Print how to register this server with Claude Code.
    Init(init::InitArgs),
    /// The execution history: list, show, stats, export.
    History(history::HistoryArgs),
    /// Validate a task-list file (JSON, YAML, markdown) and suggest an execution strategy.
    Plan(plan::PlanArgs),
    /// Check executions against their evidence: record, response file hash, hash chain, UUID
    /// echo, Claude Code's transcript, permission denials, files on disk.
    Verify(verify::VerifyArgs),
    /// Run tasks from the worker pool's Redis queues (see --placement pool) until SIGTERM,
    /// which drains it: running tasks finish, nothing new is claimed.
    Worker(worker::WorkerArgs),
    /// The worker pool: `pool status` (workers, their slots and heartbeats; queues, depth,
    /// oldest task).
    Pool(pool::PoolArgs),
}

/// Settings shared by all commands. Each flag also reads an environment variable; a flag beats
/// its variable, which beats the config file, which beats the default.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Config file (TOML). Default: $XDG_CONFIG_HOME/cc-executor/config.toml if it exists.
    #[arg(long, global = true, env = "CC_EXECUTOR_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The claude binary (path or name on PATH). Default: claude.
    #[arg(
        long,
        global = true,
        env = "CC_EXECUTOR_CLAUDE_BIN",
        value_name = "PATH"
    )]
    pub claude_bin: Option<PathBuf>,
    /// Data directory (raw outputs). Default: $XDG_DATA_HOME/cc-executor.
    #[arg(long, global = true, env = "CC_EXECUTOR_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Timeout of a task that names none, in seconds. Default: 600.
    #[arg(
        long,
        global = true,
        env = "CC_EXECUTOR_TIMEOUT_SECS",
        value_name = "SECS"
    )]
    pub default_timeout_secs: Option<u64>,
    /// Time between SIGTERM and SIGKILL when stopping a task, in ms. Default: 5000.
    #[arg(
        long,
        global = true,
        env = "CC_EXECUTOR_KILL_GRACE_MS",
        value_name = "MS"
    )]
    pub kill_grace_ms: Option<u64>,
    /// Tasks running at once; the rest wait in FIFO order. Default: 1.
    #[arg(
        long,
        global = true,
        env = "CC_EXECUTOR_MAX_CONCURRENT",
        value_name = "N"
    )]
    pub max_concurrent: Option<usize>,
    /// Retries of rate-limited/overloaded tasks. Default: 2.
    #[arg(long, global = true, env = "CC_EXECUTOR_MAX_RETRIES", value_name = "N")]
    pub max_retries: Option<u32>,
    /// Largest single stream-json record read, in MiB (a bigger answer ends
    /// `output_too_large`, kept in the raw output file). Default: 64.
    #[arg(
        long,
        global = true,
        env = "CC_EXECUTOR_MAX_RECORD_MIB",
        value_name = "MIB"
    )]
    pub max_record_mib: Option<usize>,
    /// Policy: permission mode of a task that names none. Default: acceptEdits.
    #[arg(
        long,
        global = true,
        env = "CC_EXECUTOR_DEFAULT_PERMISSION_MODE",
        value_name = "MODE"
    )]
    pub default_permission_mode: Option<PermissionMode>,
    /// Policy: permission modes tasks may use (comma-separated). Default: all but bypassPermissions.
    #[arg(
        long,
        global = true,
        env = "CC_EXECUTOR_ALLOWED_PERMISSION_MODES",
        value_delimiter = ',',
        value_name = "MODES"
    )]
    pub allowed_permission_modes: Option<Vec<PermissionMode>>,
    /// Policy: allow bypassPermissions at all. Default: false.
    #[arg(long, global = true, env = "CC_EXECUTOR_ALLOW_BYPASS_PERMISSIONS", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub allow_bypass_permissions: Option<bool>,
    /// Policy: directories tasks may run in (':'-separated, repeatable). Default: the current directory.
    #[arg(
        long = "allowed-root",
        global = true,
        env = "CC_EXECUTOR_ALLOWED_ROOTS",
        value_delimiter = ':',
        value_name = "DIR"
    )]
    pub allowed_roots: Option<Vec<PathBuf>>,
    /// Policy: models tasks may use (comma-separated). Default: any.
    #[arg(
        long,
        global = true,
        env = "CC_EXECUTOR_ALLOWED_MODELS",
        value_delimiter = ',',
        value_name = "MODELS"
    )]
    pub allowed_models: Option<Vec<String>>,
    /// Policy: model of a task that names none. Default: Claude Code's own.
    #[arg(
        long,
        global = true,
        env = "CC_EXECUTOR_DEFAULT_MODEL",
        value_name = "MODEL"
    )]
    pub default_model: Option<String>,
    /// Policy: tool rules every task may use without asking, added to its own
    /// `allowed_tools` (comma-separated), e.g. `Bash(pytest:*)`. Default: none.
    #[arg(
        long,
        global = true,
        env = "CC_EXECUTOR_DEFAULT_ALLOWED_TOOLS",
        value_delimiter = ',',
        value_name = "RULES"
    )]
    pub default_allowed_tools: Option<Vec<String>>,
    /// History in Redis instead of the embedded SQLite store (`redis://[user:pass@]host:port[/db]`).
    #[arg(
        long,
        global = true,
        env = "REDIS_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub redis_url: Option<String>,
    /// Where tasks run: local (a claude this process starts) or pool (enqueued in Redis for
    /// `cc-executor worker`s; needs --redis-url). Default: local.
    #[arg(
        long,
        global = true,
        env = "CC_EXECUTOR_PLACEMENT",
        value_name = "local|pool",
        value_parser = parse_placement
    )]
    pub placement: Option<Placement>,
    /// With --placement pool: the named queue this process's tasks join, shared with every
    /// process that names it. Default: a queue of this process's own (and one per task-list run).
    #[arg(
        long,
        global = true,
        env = "CC_EXECUTOR_POOL_QUEUE",
        value_name = "NAME"
    )]
    pub pool_queue: Option<String>,
    /// Who pays: whether claude gets ANTHROPIC_API_KEY. auto: removed when claude has its own
    /// login, passed when it has none; pass: always (API billing); remove: never. Default: auto.
    #[arg(
        long,
        global = true,
        env = "CC_EXECUTOR_API_KEY",
        value_name = "auto|pass|remove",
        value_parser = parse_api_key
    )]
    pub api_key: Option<ApiKeyMode>,
    /// Deprecated spelling of --api-key (true = pass, false = remove); kept so that existing
    /// `claude mcp add` lines still start.
    #[arg(long, global = true, env = "CC_EXECUTOR_PASS_API_KEY", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", hide = true)]
    pub pass_api_key: Option<bool>,
    /// Let the history raise the timeout of a task that names none, for task classes known to
    /// run longer (never below the default timeout). Default: true. A value needs `=`
    /// (`--learned-timeouts=false`), so the flag alone may stand before the command.
    #[arg(long, global = true, env = "CC_EXECUTOR_LEARNED_TIMEOUTS", value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub learned_timeouts: Option<bool>,
    /// Stop a task whose output and CPU use both stopped this long ago, as `stalled`; 0 turns
    /// the watchdog off. Default: 600.
    #[arg(
        long,
        global = true,
        env = "CC_EXECUTOR_STALL_TIMEOUT_SECS",
        value_name = "SECS"
    )]
    pub stall_timeout_secs: Option<u64>,
    /// Cancel a task paused (`pause_execution`) longer than this without a resume. Default:
    /// 3600.
    #[arg(
        long,
        global = true,
        env = "CC_EXECUTOR_MAX_PAUSE_SECS",
        value_name = "SECS"
    )]
    pub max_pause_secs: Option<u64>,
}

/// clap names the flag in its error even when the value came from the variable: name both.
fn parse_placement(s: &str) -> Result<Placement, String> {
    s.parse()
        .map_err(|e| format!("{e}; set by --placement or CC_EXECUTOR_PLACEMENT"))
}

/// clap names the flag in its error even when the value came from the variable: name both.
fn parse_api_key(s: &str) -> Result<ApiKeyMode, String> {
    s.parse()
        .map_err(|e| format!("{e}; set by --api-key or CC_EXECUTOR_API_KEY"))
}

impl GlobalArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config_file: self.config.clone(),
            claude_bin: self.claude_bin.clone(),
            data_dir: self.data_dir.clone(),
            default_timeout_secs: self.default_timeout_secs,
            kill_grace_ms: self.kill_grace_ms,
            max_concurrent: self.max_concurrent,
            default_permission_mode: self.default_permission_mode,
            allowed_permission_modes: self.allowed_permission_modes.clone(),
            allow_bypass_permissions: self.allow_bypass_permissions,
            allowed_roots: self.allowed_roots.clone(),
            allowed_models: self.allowed_models.clone(),
            default_allowed_tools: self.default_allowed_tools.clone(),
            default_model: self.default_model.clone(),
            api_key: self.api_key,
            pass_api_key: self.pass_api_key,
            max_retries: self.max_retries,
            max_record_mib: self.max_record_mib,
            redis_url: self.redis_url.clone(),
            placement: self.placement,
            pool_queue: self.pool_queue.clone(),
            learned_timeouts: self.learned_timeouts,
            stall_timeout_secs: self.stall_timeout_secs,
            max_pause_secs: self.max_pause_secs,
            serve: Default::default(),
        }
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    ExitCode::from(main_from(std::env::args_os()))
}

/// The CLI on the given arguments (the first is the program name), returning the exit code
/// as a number: what the Python package's `cc-executor` console script calls, since it runs
/// in a Python process whose own `argv` starts with the interpreter.
pub fn main_from<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    // `mcp` is parsed by a small command line first (cold start; see `parse_mcp`).
    let cli = parse_mcp(args.iter().cloned()).unwrap_or_else(|| Cli::parse_from(args));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cc-executor: cannot start the async runtime: {e}");
            return EXIT_FAILED;
        }
    };
    let code = runtime.block_on(dispatch(cli));
    // stdin reads cannot be cancelled; do not wait for them on the way out.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    code
}

/// `cc-executor [GLOBAL OPTIONS] mcp [GLOBAL OPTIONS]` parsed with a command line that knows
/// only the global options and `mcp`; anything else (another command, `--help`, `--version`,
/// an error) is `None`, and the full parser handles it as always.
///
/// Why: an MCP host starts the server for every session, and building the full command line —
/// every subcommand with every option, the global ones copied into each — was the largest
/// part of the time before `initialize` can be answered. The options are the same
/// definitions ([`GlobalArgs`]), so whatever parses here parses the same way in the full
/// parser (a test compares them).
fn parse_mcp<I, T>(args: I) -> Option<Cli>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::FromArgMatches;
    let lean = GlobalArgs::augment_args(clap::Command::new("cc-executor"))
        .subcommand(clap::Command::new("mcp"));
    let matches = lean.try_get_matches_from(args).ok()?;
    match matches.subcommand() {
        Some(("mcp", _)) => Some(Cli {
            global: GlobalArgs::from_arg_matches(&matches).ok()?,
            command: Command::Mcp,
        }),
        _ => None,
    }
}

async fn dispatch(cli: Cli) -> u8 {
    let mut overrides = cli.global.overrides();
    overrides.serve = match &cli.command {
        Command::Serve(args) => args.overrides(),
        // `doctor` and `init` show the serve settings: the environment's too.
        // `pause`/`resume`/`cancel` read the token as `serve` does (CC_EXECUTOR_TOKEN, …).
        Command::Doctor(_)
        | Command::Init(_)
        | Command::Pause(_)
        | Command::Resume(_)
        | Command::Cancel(_) => serve::env_overrides(),
        _ => Default::default(),
    };
    let config = match Config::load(&overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cc-executor: {e}");
            return EXIT_USAGE;
        }
    };
    // Deprecated settings keep working, but not silently (doctor lists them itself).
    if !matches!(cli.command, Command::Doctor(_)) {
        for w in &config.warnings {
            eprintln!("cc-executor: warning: {w}");
        }
    }
    let result = match cli.command {
        Command::Mcp => serve(config).await,
        Command::Serve(args) => serve::serve(config, *args).await,
        Command::Pause(args) => control::control(config, Action::Pause, args).await,
        Command::Resume(args) => control::control(config, Action::Resume, args).await,
        Command::Cancel(args) => control::control(config, Action::Cancel, args).await,
        Command::Run(args) => run::run(config, *args).await,
        Command::RunList(args) => run_list::run_list(config, *args).await,
        Command::Runs(args) => runs::runs(config, args).await,
        Command::Doctor(args) => Ok(doctor::doctor(config, args).await),
        Command::Init(args) => init::init(&config, args),
        Command::History(args) => history::history(config, args).await,
        Command::Plan(args) => plan::plan(config, args).await,
        Command::Verify(args) => verify::verify(config, args).await,
        Command::Worker(args) => worker::worker(config, args).await,
        Command::Pool(args) => pool::pool(config, args).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cc-executor: {}", error_chain(&e));
            EXIT_USAGE
        }
    }
}

/// An error and its causes on one line, leaving out a cause whose words the message already
/// says (the library's errors name their cause in their own message, for callers that print
/// only `{}`; printing the chain too would say it twice).
fn error_chain(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !line.contains(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line
}

/// The executor with the configured history store (embedded, or Redis), after recording what
/// a process that died left unfinished on this data dir (`interrupted`).
pub async fn open_executor(config: Config) -> anyhow::Result<crate::Executor> {
    crate::exec::prepare_data_dir(&config.data_dir)?;
    let store = crate::store::open(&config).await?;
    let executor = crate::Executor::with_store(config, store)?;
    report_recovery(executor.recover_interrupted().await);
    Ok(executor)
}

/// Says on stderr what a recovery pass found (nothing when there was nothing).
pub(crate) fn report_recovery(
    r: Result<crate::exec::recover::Recovered, crate::store::StoreError>,
) {
    match r {
        Ok(r) if !r.interrupted.is_empty() => {
            let ids: Vec<String> = r.interrupted.iter().map(|i| i.to_string()).collect();
            eprintln!(
                "cc-executor: {} execution(s) left unfinished by a process that died are now recorded as interrupted ({}){}",
                ids.len(),
                ids.join(", "),
                if r.processes_killed > 0 {
                    format!("; {} leftover process(es) killed", r.processes_killed)
                } else {
                    String::new()
                }
            );
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("could not look for interrupted executions: {e}"),
    }
}

async fn serve(config: Config) -> anyhow::Result<u8> {
    // The store opens once the client has been answered (cold start); a store that cannot be
    // opened still stops the server with a clear error.
    let store = crate::store::DeferredStore::new(&config);
    // `check_websocket_status` looks for a network service on the same data dir.
    let service = std::sync::Arc::new(crate::serve::status::Probe::new(config.data_dir.clone()));
    let executor = crate::Executor::with_store(config, std::sync::Arc::new(store.clone()))?;
    crate::mcp::serve_stdio(executor, store, Some(service)).await?;
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    /// The lean `mcp` parser reads the global options exactly as the full one does, and leaves
    /// everything that is not `mcp` to it.
    #[test]
    fn the_lean_mcp_parser_agrees_with_the_full_one() {
        for argv in [
            &["cc-executor", "mcp"][..],
            &[
                "cc-executor",
                "--claude-bin",
                "/x/claude",
                "--data-dir",
                "d",
                "mcp",
            ],
            &[
                "cc-executor",
                "mcp",
                "--data-dir",
                "mcp",
                "--allowed-root",
                "/a",
            ],
            &[
                "cc-executor",
                "--allowed-root",
                "/a",
                "--allowed-root",
                "/b",
                "mcp",
            ],
            &[
                "cc-executor",
                "--default-timeout-secs",
                "30",
                "mcp",
                "--max-concurrent",
                "1",
            ],
        ] {
            let lean = super::parse_mcp(argv).expect("an mcp command line");
            let full = super::Cli::try_parse_from(argv).expect("parses");
            assert_eq!(format!("{lean:?}"), format!("{full:?}"), "{argv:?}");
        }
        for argv in [
            &["cc-executor", "--help"][..],
            &["cc-executor", "--version"],
            &["cc-executor", "doctor"],
            &["cc-executor", "mcp", "--bogus"],
            &["cc-executor", "--default-timeout-secs", "x", "mcp"],
            &["cc-executor", "run", "mcp"],
        ] {
            assert!(super::parse_mcp(argv).is_none(), "{argv:?}");
        }
    }

    #[test]
    fn a_cause_the_message_already_names_is_said_once() {
        let e = anyhow::Error::new(std::io::Error::other("disk full"))
            .context("cannot write x: disk full");
        assert_eq!(super::error_chain(&e), "cannot write x: disk full");
        let e = anyhow::Error::new(std::io::Error::other("disk full")).context("cannot write x");
        assert_eq!(super::error_chain(&e), "cannot write x: disk full");
    }
}
