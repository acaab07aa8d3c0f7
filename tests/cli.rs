//! The `cc-executor` binary as a person uses it: `run`, `doctor`, `init`, configuration
//! precedence, exit codes, and registration with the real Claude Code CLI (`claude mcp add` /
//! `claude mcp list` in an isolated HOME).

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use support::fixtures::{cc_executor_bin, fake_claude_bin};
use support::real_claude::{IsolatedEnv, claude_bin};

/// A scratch directory used as cwd, allowed root, data dir and fake-claude record dir.
struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new() -> Self {
        Scratch(tempfile::tempdir().unwrap())
    }
    fn path(&self) -> std::path::PathBuf {
        self.0.path().canonicalize().unwrap()
    }
    fn cmd(&self) -> Command {
        let mut c = Command::new(cc_executor_bin());
        let p = self.path();
        c.current_dir(&p)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &p)
            .env("XDG_CONFIG_HOME", p.join("config"))
            .env("XDG_DATA_HOME", p.join("xdg-data"))
            .env("CC_EXECUTOR_CLAUDE_BIN", fake_claude_bin())
            .env("FAKE_CLAUDE_RECORD_DIR", p.join("record"));
        c
    }
    fn invocations(&self) -> Vec<Value> {
        std::fs::read_to_string(self.path().join("record/invocations.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn output(mut cmd: Command, stdin: Option<&str>) -> Output {
    use std::io::Write;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn run_prints_the_answer_and_exits_zero_only_on_success() {
    let s = Scratch::new();
    let mut c = s.cmd();
    c.args([
        "run",
        "@fake success text=forty-two\nwhat is six times seven",
    ]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "forty-two");
    // Live progress and the summary go to stderr, never stdout.
    let err = text(&out.stderr);
    assert!(
        err.contains("started") && err.contains("succeeded"),
        "{err}"
    );

    let mut c = s.cmd();
    c.args(["run", "@fake max_turns\nloop forever"]);
    assert_eq!(output(c, None).status.code(), Some(1));

    let mut c = s.cmd();
    c.args(["run", "--timeout-secs", "1", "@fake hang\nhang forever"]);
    assert_eq!(output(c, None).status.code(), Some(4));

    let mut c = s.cmd();
    c.args([
        "run",
        "--claude-bin",
        "/nonexistent/claude",
        "do a thing now",
    ]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("npm install"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn run_json_reads_the_task_from_stdin_and_prints_the_full_result() {
    let s = Scratch::new();
    let mut c = s.cmd();
    c.args(["run", "--json", "-"]);
    let out = output(
        c,
        Some("@fake tools\n-- starts with dashes and has `quotes` \"too\"\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: Value =
        serde_json::from_slice(&out.stdout).expect("stdout is exactly one JSON document");
    assert_eq!(v["status"], "succeeded");
    assert!(v["execution_id"].as_str().unwrap().len() == 36);
    assert_eq!(v["tools_used"]["Write"], 2);
    // The task reaches claude verbatim; the UUID hook (on by default) appends its instruction
    // after it (tests/evidence.rs checks the instruction, and the bytes with the hook off).
    let stdin = s.invocations()[0]["stdin"].as_str().unwrap().to_string();
    let task = "@fake tools\n-- starts with dashes and has `quotes` \"too\"\n";
    assert!(stdin.starts_with(task), "{stdin}");
    assert!(
        stdin[task.len()..].contains(v["execution_id"].as_str().unwrap()),
        "{stdin}"
    );
}

#[test]
fn claudecode_is_removed_from_the_childs_environment() {
    let s = Scratch::new();
    let mut c = s.cmd();
    c.env("CLAUDECODE", "1")
        .env("ANTHROPIC_API_KEY", "sk-test")
        .args(["run", "@fake success\nanything at all"]);
    assert_eq!(output(c, None).status.code(), Some(0));
    let inv = &s.invocations()[0];
    assert_eq!(inv["env_has_claudecode"], false);
    assert_eq!(inv["anthropic_api_key_set"], true, "passed by default");

    let mut c = s.cmd();
    c.env("ANTHROPIC_API_KEY", "sk-test").args([
        "--pass-api-key=false",
        "run",
        "@fake success\nanything at all",
    ]);
    assert_eq!(output(c, None).status.code(), Some(0));
    assert_eq!(s.invocations()[1]["anthropic_api_key_set"], false);
}

#[test]
fn flags_beat_environment_which_beats_the_config_file() {
    let s = Scratch::new();
    let cfg_dir = s.path().join("config/cc-executor");
    std::fs::create_dir_all(&cfg_dir).unwrap();
    std::fs::write(
        cfg_dir.join("config.toml"),
        "[policy]\ndefault_permission_mode = \"plan\"\n\n[env]\nFROM_CONFIG = \"yes\"\n",
    )
    .unwrap();
    let run = |extra_env: Option<(&str, &str)>, flags: &[&str]| {
        let mut c = s.cmd();
        if let Some((k, v)) = extra_env {
            c.env(k, v);
        }
        c.args(flags)
            .args(["run", "@fake success\nreport your mode"]);
        let out = output(c, None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    };
    run(None, &[]);
    run(
        Some(("CC_EXECUTOR_DEFAULT_PERMISSION_MODE", "dontAsk")),
        &[],
    );
    run(
        Some(("CC_EXECUTOR_DEFAULT_PERMISSION_MODE", "dontAsk")),
        &["--default-permission-mode", "default"],
    );
    let modes: Vec<String> = s
        .invocations()
        .iter()
        .map(|v| v["flags"]["permission_mode"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(modes, ["plan", "dontAsk", "default"]);
}

#[test]
fn bad_input_and_bad_configuration_exit_2_with_a_clear_message() {
    let s = Scratch::new();
    let cases: &[(&[&str], &str)] = &[
        (
            &["run", "--timeout-secs", "0", "do the thing now"],
            "timeout_secs",
        ),
        (
            &["run", "--timeout-secs", "-5", "do the thing now"],
            "timeout_secs",
        ),
        (
            &["run", "--cwd", "/", "do the thing now"],
            "policy.allowed_roots",
        ),
        (
            &[
                "run",
                "--permission-mode",
                "bypassPermissions",
                "do the thing now",
            ],
            "policy.allow_bypass_permissions",
        ),
        (
            &[
                "--allowed-models",
                "sonnet",
                "run",
                "--model",
                "opus",
                "do the thing now",
            ],
            "policy.allowed_models",
        ),
        (&["--max-concurrent", "0", "doctor"], "max_concurrent"),
        (
            &["--config", "/nonexistent/config.toml", "doctor"],
            "/nonexistent/config.toml",
        ),
    ];
    for (args, needle) in cases {
        let mut c = s.cmd();
        c.args(*args);
        let out = output(c, None);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(needle),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let mut c = s.cmd();
    c.args(["run", "-"]);
    let out = output(c, Some(&"x".repeat(800_000)));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("tokens"),
        "{}",
        text(&out.stderr)
    );
    assert!(s.invocations().is_empty(), "nothing ran");
}

#[test]
fn doctor_reports_the_claude_version_and_a_writable_data_dir() {
    let s = Scratch::new();
    let mut c = s.cmd();
    c.args(["doctor", "--json"]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert!(
        v["checks"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("2.1.331")
    );

    let mut c = s.cmd();
    c.args(["--claude-bin", "/nonexistent/claude", "doctor"]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("FAIL claude"),
        "{}",
        text(&out.stdout)
    );

    // A data dir that cannot be created is named.
    let mut c = s.cmd();
    let file = s.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    c.args(["--data-dir", &format!("{}/sub", file.display()), "doctor"]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("a-file/sub"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn claude_mcp_add_registers_the_server_and_claude_mcp_list_reports_it_connected() {
    let env = IsolatedEnv::new();
    let claude = |args: &[&str]| {
        let mut c = Command::new(claude_bin());
        for (k, v) in env.env_vars("http://127.0.0.1:9") {
            c.env(k, v);
        }
        c.env_remove("CLAUDECODE")
            .current_dir(env.workdir())
            .args(args)
            .stdin(Stdio::null());
        c.output().unwrap()
    };
    let bin = cc_executor_bin();
    let fake = fake_claude_bin();
    let add = claude(&[
        "mcp",
        "add",
        "cc-executor",
        "--",
        bin.to_str().unwrap(),
        "--claude-bin",
        fake.to_str().unwrap(),
        "mcp",
    ]);
    assert!(
        add.status.success(),
        "{}{}",
        text(&add.stdout),
        text(&add.stderr)
    );
    let list = claude(&["mcp", "list"]);
    // `claude mcp list` exits 0 even when a server fails: read what it says.
    let said = text(&list.stdout);
    let line = said
        .lines()
        .find(|l| l.starts_with("cc-executor"))
        .unwrap_or_else(|| panic!("not listed: {said}{}", text(&list.stderr)));
    assert!(line.contains("Connected"), "{line}");
    assert!(Path::new(&env.home().join(".claude.json")).exists());
}

#[test]
fn init_prints_a_registration_line_and_an_mcp_json_entry() {
    let s = Scratch::new();
    let mut c = s.cmd();
    c.args(["init", "--json"]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mcpServers"]["cc-executor"]["args"][0], "mcp");
    let mut c = s.cmd();
    c.arg("init");
    assert!(text(&output(c, None).stdout).contains("claude mcp add"));
}

#[test]
fn requests_piped_before_stdin_closes_are_all_answered() {
    let s = Scratch::new();
    let msgs = [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"pipe","version":"1"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"check_websocket_status","arguments":{}}}"#,
    ]
    .join("\n")
        + "\n";
    for round in 0..10 {
        let mut c = s.cmd();
        c.arg("mcp");
        let out = output(c, Some(&msgs));
        let answered: Vec<i64> = text(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["id"].as_i64())
            .collect();
        assert_eq!(answered, [1, 2, 3], "round {round}: {}", text(&out.stderr));
        assert_eq!(out.status.code(), Some(0));
    }
}
