//! The real Claude Code CLI, isolated and pointed at a [`FakeApi`](super::fake_anthropic::FakeApi).
//!
//! * [`claude_bin`] — `CC_TEST_CLAUDE_BIN`, else `<crate>/.tools/claude-code/node_modules/.bin/claude`
//!   (installed by `scripts/provision`); panics when missing: these tests never skip.
//! * [`IsolatedEnv`] — fresh HOME, TMPDIR and working directory in one tempdir, and the env
//!   vars that make the CLI run offline against the fake API ([`IsolatedEnv::env_vars`]).
//! * [`run_claude`] — run it once (`-p --output-format stream-json --verbose`, prompt on stdin)
//!   and collect its stream-json lines.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::AsyncWriteExt;

/// Env vars removed from the child's environment on top of what [`IsolatedEnv::env_vars`] sets:
/// a parent Claude Code session, or host config/credentials, must not leak into the test run.
pub const VARS_TO_REMOVE: &[&str] = &[
    "CLAUDECODE",
    "CLAUDE_CODE_ENTRYPOINT",
    "CLAUDE_CONFIG_DIR",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_MODEL",
    "ANTHROPIC_SMALL_FAST_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "ANTHROPIC_CUSTOM_HEADERS",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
];

/// Retries the CLI makes on its own API errors unless the test says otherwise
/// (`CLAUDE_CODE_MAX_RETRIES`; the CLI's default is 10, ~3 minutes of backoff).
pub const DEFAULT_MAX_RETRIES: u32 = 1;

/// Path of the real `claude` binary. Panics (with "run scripts/provision") when it is missing.
pub fn claude_bin() -> PathBuf {
    let path = match std::env::var_os("CC_TEST_CLAUDE_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(".tools/claude-code/node_modules/.bin/claude"),
    };
    assert!(
        path.is_file(),
        "the real Claude Code CLI is not installed at {} — run scripts/provision \
         (or set CC_TEST_CLAUDE_BIN to a claude binary)",
        path.display()
    );
    path
}

/// Name of the directory under `~/.claude/projects/` that holds the transcripts of sessions run
/// in `cwd`: every character that is not an ASCII letter or digit becomes `-`
/// (`/tmp/.tmpAb_1/work` → `-tmp--tmpAb-1-work`). Verified against 2.1.331 in
/// `tests/it/real_cli_fake_api.rs` (`transcript_file_holds_the_answer`).
pub fn project_dir_name(cwd: &Path) -> String {
    cwd.to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// A throwaway HOME + TMPDIR + working directory for one CLI run (or a few sharing state).
pub struct IsolatedEnv {
    root: tempfile::TempDir,
    home: PathBuf,
    tmpdir: PathBuf,
    workdir: PathBuf,
    max_retries: u32,
    extra: Vec<(String, String)>,
}

impl Default for IsolatedEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl IsolatedEnv {
    /// Creates `<tmp>/.tmpXXXX/{home,tmp,work_dir.1}` (canonicalized paths). The odd workdir
    /// name exercises the transcript-path rule (`_` and `.` become `-`).
    pub fn new() -> IsolatedEnv {
        let root = tempfile::Builder::new()
            .prefix(".tmp-cc_real.")
            .tempdir()
            .expect("tempdir");
        let base = root.path().canonicalize().expect("canonicalize tempdir");
        let (home, tmpdir, workdir) =
            (base.join("home"), base.join("tmp"), base.join("work_dir.1"));
        for d in [&home, &tmpdir, &workdir] {
            std::fs::create_dir_all(d).expect("create isolated dir");
        }
        IsolatedEnv {
            root,
            home,
            tmpdir,
            workdir,
            max_retries: DEFAULT_MAX_RETRIES,
            extra: Vec::new(),
        }
    }

    /// The CLI's `HOME` (it writes `~/.claude.json` and `~/.claude/` there).
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The CLI's `TMPDIR` (it writes `claude-<uid>/` and `cc-socks/` there).
    pub fn tmpdir(&self) -> &Path {
        &self.tmpdir
    }

    /// A working directory for the CLI (not a git repository).
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// Sets `CLAUDE_CODE_MAX_RETRIES` (the CLI makes N+1 requests on a retryable error).
    pub fn set_max_retries(&mut self, n: u32) -> &mut Self {
        self.max_retries = n;
        self
    }

    /// Adds or overrides an env var (e.g. `API_TIMEOUT_MS`).
    pub fn set_var(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let key = key.into();
        self.extra.retain(|(k, _)| *k != key);
        self.extra.push((key, value.into()));
        self
    }

    /// The env vars for running the CLI offline against the fake API at `base_url`. Apply them
    /// on top of the parent env with [`VARS_TO_REMOVE`] removed (as [`Self::configure`] does).
    ///
    /// No `~/.claude.json` seeding or onboarding settings are needed for `-p` with an API key:
    /// 2.1.331 creates its config on the first run and never prompts.
    pub fn env_vars(&self, base_url: &str) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = [
            ("HOME", self.home.to_string_lossy().into_owned()),
            ("TMPDIR", self.tmpdir.to_string_lossy().into_owned()),
            ("ANTHROPIC_BASE_URL", base_url.to_string()),
            (
                "ANTHROPIC_API_KEY",
                "sk-ant-api03-fake-key-for-tests".to_string(),
            ),
            ("CLAUDE_CODE_MAX_RETRIES", self.max_retries.to_string()),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_string()),
            ("DISABLE_AUTOUPDATER", "1".to_string()),
            // Lets `--dangerously-skip-permissions` / bypassPermissions run as root.
            ("IS_SANDBOX", "1".to_string()),
            ("NO_COLOR", "1".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in &self.extra {
            vars.retain(|(key, _)| key != k);
            vars.push((k.clone(), v.clone()));
        }
        vars
    }

    /// Removes [`VARS_TO_REMOVE`] from `cmd`'s env and sets [`Self::env_vars`]; cwd = workdir.
    pub fn configure(&self, cmd: &mut tokio::process::Command, base_url: &str) {
        for k in VARS_TO_REMOVE {
            cmd.env_remove(k);
        }
        cmd.envs(self.env_vars(base_url)).current_dir(&self.workdir);
    }

    /// `~/.claude/projects/<project_dir_name(workdir)>/<session_id>.jsonl`.
    pub fn transcript_path(&self, session_id: &str) -> PathBuf {
        self.transcript_path_in(&self.workdir, session_id)
    }

    /// The transcript of a session run with cwd `cwd`.
    pub fn transcript_path_in(&self, cwd: &Path, session_id: &str) -> PathBuf {
        self.home
            .join(".claude/projects")
            .join(project_dir_name(cwd))
            .join(format!("{session_id}.jsonl"))
    }

    /// The tempdir holding everything (deleted on drop).
    pub fn root(&self) -> &Path {
        self.root.path()
    }
}

/// One finished CLI run.
#[derive(Debug)]
pub struct ClaudeRun {
    pub status: ExitStatus,
    /// Every stdout line that parsed as JSON, in order.
    pub lines: Vec<Value>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl ClaudeRun {
    pub fn exit_code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The `result` line (the last line of a finished run), if any.
    pub fn result(&self) -> Option<&Value> {
        self.lines.iter().rev().find(|l| l["type"] == "result")
    }

    /// The `result` line; panics with the whole output when there is none.
    pub fn expect_result(&self) -> &Value {
        self.result()
            .unwrap_or_else(|| panic!("no result line in the CLI's output\n{self}"))
    }

    /// Lines with this `type` and, if given, `subtype`.
    pub fn lines_of(&self, ty: &str, subtype: Option<&str>) -> Vec<&Value> {
        self.lines
            .iter()
            .filter(|l| l["type"] == ty && subtype.is_none_or(|s| l["subtype"] == s))
            .collect()
    }

    /// `session_id` of the `system/init` line.
    pub fn session_id(&self) -> Option<String> {
        self.lines_of("system", Some("init"))
            .first()
            .and_then(|l| l["session_id"].as_str())
            .map(str::to_string)
    }
}

impl std::fmt::Display for ClaudeRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "exit: {:?} after {:?}", self.status, self.elapsed)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout)?;
        write!(f, "--- stderr ---\n{}", self.stderr)
    }
}

/// Runs `claude -p --output-format stream-json --verbose <args>` in `env`'s workdir against
/// `base_url`, writes `prompt` to stdin and closes it, and waits (at most `timeout`; then kills
/// it and panics).
pub async fn run_claude(
    env: &IsolatedEnv,
    base_url: &str,
    args: &[&str],
    prompt: &str,
    timeout: Duration,
) -> ClaudeRun {
    let mut cmd = tokio::process::Command::new(claude_bin());
    cmd.args(["-p", "--output-format", "stream-json", "--verbose"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    env.configure(&mut cmd, base_url);
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn the claude CLI");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(prompt.as_bytes())
        .await
        .expect("write prompt");
    drop(stdin);
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(out) => out.expect("wait for the claude CLI"),
        Err(_) => panic!("the claude CLI did not finish within {timeout:?} (args {args:?})"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let lines = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    ClaudeRun {
        status: output.status,
        lines,
        stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// The configuration the executor tests use with the real CLI: `claude` isolated in `env` and
/// pointed at the fake API at `base_url`, every permission mode allowed, the work dir the only
/// root, no retries of ours.
pub fn real_claude_config(env: &IsolatedEnv, base_url: &str) -> cc_executor::Config {
    use cc_executor::config::PermissionMode;
    let work = env.workdir().to_path_buf();
    let o = cc_executor::Overrides {
        claude_bin: Some(claude_bin()),
        data_dir: Some(env.root().join("data")),
        allowed_roots: Some(vec![work.clone()]),
        allowed_permission_modes: Some(PermissionMode::ALL.to_vec()),
        allow_bypass_permissions: Some(true),
        max_retries: Some(0),
        kill_grace_ms: Some(2000),
        ..Default::default()
    };
    let mut config =
        cc_executor::Config::resolve(cc_executor::config::FileConfig::default(), None, &o).unwrap();
    config.policy.default_cwd = work;
    config.child_env = env.env_vars(base_url).into_iter().collect();
    config
}
