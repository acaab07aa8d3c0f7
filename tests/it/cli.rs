//! The `cc-executor` binary as a person uses it: `run`, `doctor`, `init`, configuration
//! precedence, exit codes, and registration with the real Claude Code CLI (`claude mcp add` /
//! `claude mcp list` in an isolated HOME).

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::fixtures::{
    FAKE_LOGIN_TOKEN, cc_executor_bin, fake_claude_bin, write_fake_login,
};
use crate::support::real_claude::{IsolatedEnv, claude_bin};
use serde_json::Value;

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
        self.records("invocations.jsonl")
    }
    /// Each `claude auth status` the fake answered (the login check).
    fn auth_checks(&self) -> Vec<Value> {
        self.records("auth.jsonl")
    }
    fn records(&self, file: &str) -> Vec<Value> {
        std::fs::read_to_string(self.path().join("record").join(file))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
    /// The fake (and the real) `claude` see this HOME: make it logged in.
    fn log_in(&self) {
        write_fake_login(&self.path());
    }
}

/// An API key that must only ever reach the child, never our output.
const SECRET_KEY: &str = "sk-ant-api03-secret-test-key";

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
    // after it (tests/it/evidence.rs checks the instruction, and the bytes with the hook off).
    let stdin = s.invocations()[0]["stdin"].as_str().unwrap().to_string();
    let task = "@fake tools\n-- starts with dashes and has `quotes` \"too\"\n";
    assert!(stdin.starts_with(task), "{stdin}");
    assert!(
        stdin[task.len()..].contains(v["execution_id"].as_str().unwrap()),
        "{stdin}"
    );
}

/// Every log line of an execution carries its id and task class (the `execution` span), so
/// a log can always be tied to its task, even when several run.
#[test]
fn an_executions_log_lines_name_the_execution_and_its_class() {
    let s = Scratch::new();
    let mut c = s.cmd();
    c.env("RUST_LOG", "cc_executor=debug").args([
        "run",
        "--json",
        "@fake success\nwrite unit tests for the parser",
    ]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["execution_id"].as_str().unwrap();
    let log = text(&out.stderr);
    let started = log
        .lines()
        .find(|l| l.contains("claude started"))
        .unwrap_or_else(|| panic!("no 'claude started' line in:\n{log}"));
    assert!(
        started.contains(&format!("execution{{execution_id={id} category=")),
        "{started}"
    );
    assert!(started.contains("complexity="), "{started}");
}

#[test]
fn claudecode_is_removed_from_the_childs_environment() {
    let s = Scratch::new();
    let mut c = s.cmd();
    c.env("CLAUDECODE", "1")
        .args(["run", "@fake success\nanything at all"]);
    assert_eq!(output(c, None).status.code(), Some(0));
    assert_eq!(s.invocations()[0]["env_has_claudecode"], false);
}

/// Who pays: the child gets ANTHROPIC_API_KEY under `auto` only when claude has no login of
/// its own, always under `pass`, never under `remove`; the result reports what the CLI used
/// (its init line's `apiKeySource`), and the login is asked only when it decides something.
#[test]
fn the_api_key_reaches_claude_only_when_the_api_key_setting_says_so() {
    // (--api-key, logged in, key expected in the child)
    let cases = [
        (None, false, true),
        (None, true, false),
        (Some("auto"), true, false),
        (Some("pass"), true, true),
        (Some("remove"), false, false),
        (Some("remove"), true, false),
    ];
    for (mode, logged_in, expect_key) in cases {
        let s = Scratch::new();
        if logged_in {
            s.log_in();
        }
        let mut c = s.cmd();
        c.env("ANTHROPIC_API_KEY", SECRET_KEY);
        if let Some(m) = mode {
            c.args(["--api-key", m]);
        }
        c.args(["run", "--json", "@fake success\nsay hi"]);
        let out = output(c, None);
        let case = format!("{mode:?}, logged in: {logged_in}");
        assert_eq!(out.status.code(), Some(0), "{case}: {}", text(&out.stderr));
        let inv = s.invocations();
        assert_eq!(inv[0]["anthropic_api_key_set"], expect_key, "{case}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            v["api_key_source"],
            if expect_key {
                "ANTHROPIC_API_KEY"
            } else {
                "none"
            },
            "{case}"
        );
        // `claude auth status` runs only under auto (where it decides), without the key.
        let checks = s.auth_checks();
        if mode.unwrap_or("auto") == "auto" {
            assert_eq!(checks.len(), 1, "{case}");
            assert_eq!(checks[0]["anthropic_api_key_set"], false, "{case}");
            assert_eq!(
                checks[0]["argv"],
                serde_json::json!(["auth", "status", "--json"])
            );
        } else {
            assert!(checks.is_empty(), "{case}: {checks:?}");
        }
        assert!(!text(&out.stderr).contains(SECRET_KEY), "{case}");
    }
    // No key at all: nothing to decide, nothing asked.
    let s = Scratch::new();
    let mut c = s.cmd();
    c.args(["run", "@fake success\nsay hi"]);
    assert_eq!(output(c, None).status.code(), Some(0));
    assert_eq!(s.invocations()[0]["anthropic_api_key_set"], false);
    assert!(s.auth_checks().is_empty());
}

#[test]
fn api_key_flag_beats_its_variable_which_beats_the_config_file() {
    let s = Scratch::new();
    let cfg_dir = s.path().join("config/cc-executor");
    std::fs::create_dir_all(&cfg_dir).unwrap();
    std::fs::write(cfg_dir.join("config.toml"), "api_key = \"remove\"\n").unwrap();
    let run = |env: Option<&str>, flag: Option<&str>| {
        let mut c = s.cmd();
        c.env("ANTHROPIC_API_KEY", SECRET_KEY);
        if let Some(v) = env {
            c.env("CC_EXECUTOR_API_KEY", v);
        }
        if let Some(f) = flag {
            c.args(["--api-key", f]);
        }
        c.args(["run", "@fake success\nsay hi"]);
        let out = output(c, None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    };
    run(None, None); // file: remove
    run(Some("pass"), None); // variable beats the file
    run(Some("pass"), Some("remove")); // flag beats the variable
    let got: Vec<bool> = s
        .invocations()
        .iter()
        .map(|v| v["anthropic_api_key_set"].as_bool().unwrap())
        .collect();
    assert_eq!(got, [false, true, false]);
}

#[test]
fn a_bad_api_key_value_is_refused_naming_the_setting() {
    let s = Scratch::new();
    let cfg = s.path().join("bad.toml");
    std::fs::write(&cfg, "api_key = \"maybe\"\n").unwrap();
    let mut c = s.cmd();
    c.args([
        "--config",
        cfg.to_str().unwrap(),
        "run",
        "@fake success\nhi",
    ]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("`api_key`") && err.contains("`maybe`") && err.contains("auto, pass, remove"),
        "{err}"
    );
    let mut c = s.cmd();
    c.env("CC_EXECUTOR_API_KEY", "maybe")
        .args(["run", "@fake success\nhi"]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("CC_EXECUTOR_API_KEY") && err.contains("auto, pass, remove"),
        "{err}"
    );
    assert!(s.invocations().is_empty(), "nothing ran");
}

#[test]
fn the_deprecated_pass_api_key_still_works_and_says_so() {
    let s = Scratch::new();
    let cfg = s.path().join("old.toml");
    std::fs::write(&cfg, "pass_api_key = false\n").unwrap();
    let mut c = s.cmd();
    c.env("ANTHROPIC_API_KEY", SECRET_KEY).args([
        "--config",
        cfg.to_str().unwrap(),
        "run",
        "@fake success\nhi",
    ]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(
        err.contains("deprecated") && err.contains("api_key = \"remove\""),
        "{err}"
    );
    let mut c = s.cmd();
    c.env("ANTHROPIC_API_KEY", SECRET_KEY).args([
        "--pass-api-key=false",
        "run",
        "@fake success\nhi",
    ]);
    assert_eq!(output(c, None).status.code(), Some(0));
    let mut c = s.cmd();
    c.env("ANTHROPIC_API_KEY", SECRET_KEY).args([
        "--pass-api-key=true",
        "run",
        "@fake success\nhi",
    ]);
    assert_eq!(output(c, None).status.code(), Some(0));
    let got: Vec<bool> = s
        .invocations()
        .iter()
        .map(|v| v["anthropic_api_key_set"].as_bool().unwrap())
        .collect();
    assert_eq!(got, [false, false, true]);
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

fn doctor(s: &Scratch, tweak: impl FnOnce(&mut Command)) -> (Option<i32>, Value) {
    let mut c = s.cmd();
    tweak(&mut c);
    c.args(["doctor", "--json"]);
    let out = output(c, None);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        !all.contains(SECRET_KEY) && !all.contains(FAKE_LOGIN_TOKEN),
        "a credential was printed: {all}"
    );
    let v =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("doctor --json: {e}: {all}"));
    (out.status.code(), v)
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no `{name}` check: {report:#}"))
}

#[test]
fn doctor_reports_the_claude_version_and_a_writable_data_dir() {
    let s = Scratch::new();
    s.log_in();
    let (code, v) = doctor(&s, |_| {});
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["ok"], true);
    assert!(
        check(&v, "claude")["detail"]
            .as_str()
            .unwrap()
            .contains("2.1.331 (Claude Code)")
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

/// A `claude` that is not logged in, with no API key to pass, cannot run anything: doctor
/// fails (exit 1) and says how to fix it. A key alone is enough (it is passed, and doctor
/// says it is billed to the API); under `remove` it is not.
#[test]
fn doctor_fails_when_claude_is_not_logged_in_and_no_key_is_passed() {
    let s = Scratch::new(); // HOME is empty
    let mut c = s.cmd();
    c.arg("doctor");
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stdout);
    let line = said.lines().find(|l| l.contains(" auth ")).unwrap();
    assert!(line.starts_with("FAIL"), "{said}");
    assert!(
        line.contains("no login of its own") && line.contains("log in"),
        "{line}"
    );
    let (code, v) = doctor(&s, |_| {});
    assert_eq!(code, Some(1));
    assert_eq!(v["credential"]["uses"], "none");
    assert_eq!(v["credential"]["login"]["logged_in"], false);

    let (code, v) = doctor(&s, |c| {
        c.env("ANTHROPIC_API_KEY", SECRET_KEY);
    });
    assert_eq!(code, Some(0), "{v:#}");
    let auth = check(&v, "auth")["detail"].as_str().unwrap();
    assert!(
        auth.starts_with("API key passed") && auth.contains("billed to the API"),
        "{auth}"
    );

    let (code, v) = doctor(&s, |c| {
        c.env("ANTHROPIC_API_KEY", SECRET_KEY)
            .args(["--api-key", "remove"]);
    });
    assert_eq!(code, Some(1), "{v:#}");
    assert_eq!(v["credential"]["api_key_passed"], false);
}

#[test]
fn doctor_says_which_credential_is_used_and_why() {
    let s = Scratch::new();
    s.log_in();
    let (code, v) = doctor(&s, |c| {
        c.env("ANTHROPIC_API_KEY", SECRET_KEY);
    });
    assert_eq!(code, Some(0), "{v:#}");
    let auth = check(&v, "auth")["detail"].as_str().unwrap();
    assert!(
        auth.starts_with("API key removed")
            && auth.contains("subscription login (max)")
            && auth.contains("api_key = auto"),
        "{auth}"
    );
    assert_eq!(v["credential"]["uses"], "own_login");
    assert_eq!(v["credential"]["login"]["checked_with"], "auth_status");

    let (_, v) = doctor(&s, |c| {
        c.env("ANTHROPIC_API_KEY", SECRET_KEY)
            .env("CC_EXECUTOR_API_KEY", "pass");
    });
    let auth = check(&v, "auth")["detail"].as_str().unwrap();
    assert!(
        auth.starts_with("API key passed") && auth.contains("is not used"),
        "{auth}"
    );

    // A CLI without `auth status`: the stored login is read instead, and doctor says so.
    let (code, v) = doctor(&s, |c| {
        c.env("FAKE_CLAUDE_AUTH_STATUS", "unsupported");
    });
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["credential"]["login"]["checked_with"], "credentials_file");
    assert!(
        check(&v, "auth")["detail"]
            .as_str()
            .unwrap()
            .contains("stored login file"),
        "{v:#}"
    );
}

#[test]
fn doctor_says_plainly_when_the_binary_is_not_claude_code() {
    let s = Scratch::new();
    let mut c = s.cmd();
    c.args(["--claude-bin", "/bin/true", "doctor"]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stdout);
    assert!(
        said.contains("FAIL claude") && said.contains("`/bin/true` is not Claude Code"),
        "{said}"
    );
    assert!(said.contains("FAIL auth      not checked"), "{said}");
}

/// The real CLI agrees: an empty HOME is not logged in, the fake stored login is a login
/// (read by `claude auth status`, offline), and a key in the environment is then removed.
#[test]
fn doctor_with_the_real_cli_checks_its_login() {
    let env = IsolatedEnv::new();
    let s = Scratch::new();
    let real = |c: &mut Command| {
        c.env("CC_EXECUTOR_CLAUDE_BIN", claude_bin())
            .env("HOME", env.home())
            .env("TMPDIR", env.tmpdir());
    };
    let (code, v) = doctor(&s, real);
    assert_eq!(code, Some(1), "{v:#}");
    assert_eq!(v["credential"]["uses"], "none");
    assert_eq!(v["credential"]["login"]["checked_with"], "auth_status");

    write_fake_login(env.home());
    let (code, v) = doctor(&s, real);
    assert_eq!(code, Some(0), "{v:#}");
    assert!(
        check(&v, "claude")["detail"]
            .as_str()
            .unwrap()
            .contains("(Claude Code)")
    );
    let login = &v["credential"]["login"];
    assert_eq!(login["logged_in"], true, "{v:#}");
    assert_eq!(login["method"], "claude.ai");
    assert_eq!(login["subscription"], "max");
    assert_eq!(login["checked_with"], "auth_status");

    let (code, v) = doctor(&s, |c| {
        real(c);
        c.env("ANTHROPIC_API_KEY", SECRET_KEY);
    });
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["credential"]["api_key_passed"], false);
    assert_eq!(v["credential"]["uses"], "own_login");
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
        let mut answered: Vec<i64> = text(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["id"].as_i64())
            .collect();
        // JSON-RPC answers in any order; what matters is that none is lost.
        answered.sort_unstable();
        assert_eq!(answered, [1, 2, 3], "round {round}: {}", text(&out.stderr));
        assert_eq!(out.status.code(), Some(0));
    }
}

/// Progress and the summary come out in order, every time: "finished" is printed before the
/// summary line, never after it (the executor announces "finished" on its own task, after the
/// result is available to the caller).
#[test]
fn run_prints_all_progress_before_the_summary_every_time() {
    let s = Scratch::new();
    for round in 0..20 {
        let mut c = s.cmd();
        c.args(["run", "@fake tools\nwrite two files"]);
        let out = output(c, None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        let lines: Vec<&str> = err.lines().collect();
        let at = |prefix: &str| {
            lines
                .iter()
                .position(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("round {round}: no `{prefix}` line in\n{err}"))
        };
        let order = [
            at("cc-executor: starting"),
            at("cc-executor: started"),
            at("cc-executor: tool: Write"),
            at("cc-executor: finished: succeeded"),
            at("cc-executor: succeeded in "),
        ];
        assert!(order.is_sorted(), "round {round}: out of order\n{err}");
        assert_eq!(
            order[4],
            lines.len() - 1,
            "round {round}: the summary is the last line\n{err}"
        );
        assert_eq!(
            lines.iter().filter(|l| l.contains("finished:")).count(),
            1,
            "round {round}: one finished line\n{err}"
        );
    }
}

/// `run-list`: everything about a task is printed between its "started" and its end, and the
/// run's end is the last line — every time (each execution's own "finished" is announced on
/// the executor's task and could otherwise land after the next task started, or after the
/// run ended).
#[test]
fn run_list_prints_each_tasks_progress_in_order_every_time() {
    let s = Scratch::new();
    let ids = ["a", "b", "c"];
    let list: String = ids
        .iter()
        .map(|id| format!("- id: {id}\n  task: \"@fake tools\\ntask {id}\"\n"))
        .collect();
    std::fs::write(s.path().join("list.yaml"), list).unwrap();
    for round in 0..10 {
        let mut c = s.cmd();
        c.args(["run-list", "list.yaml"]);
        let out = output(c, None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        let lines: Vec<&str> = err.lines().collect();
        let mut next = 0;
        for (n, id) in ids.iter().enumerate() {
            let start = format!("cc-executor: task {}/3 `{id}` started", n + 1);
            let end = format!("cc-executor: task `{id}` succeeded");
            let first = lines.iter().position(|l| l.starts_with(&start));
            let last = lines.iter().position(|l| l.starts_with(&end));
            let (Some(first), Some(last)) = (first, last) else {
                panic!("round {round}: task {id} not reported\n{err}");
            };
            assert!(next <= first && first < last, "round {round}\n{err}");
            let tag = format!("`{id}`");
            for (i, l) in lines.iter().enumerate() {
                if l.contains(&tag) {
                    assert!(
                        (first..=last).contains(&i),
                        "round {round}: `{l}` is outside task {id}\n{err}"
                    );
                }
            }
            next = last + 1;
        }
        assert_eq!(
            lines.last().copied(),
            Some("cc-executor: run succeeded"),
            "round {round}\n{err}"
        );
    }
}

/// `run-list` warns about the list exactly as `plan` does (a task that mentions "task 1"
/// without depending on it), before it runs; a clean list gets no warning.
#[test]
fn run_list_prints_the_warnings_plan_prints() {
    let s = Scratch::new();
    std::fs::write(
        s.path().join("list.yaml"),
        "- \"@fake success\\nCreate notes.txt with a summary of the repository\"\n\
         - \"@fake success\\nUsing the output of task 1, write a changelog entry\"\n",
    )
    .unwrap();
    let mut c = s.cmd();
    c.args(["plan", "list.yaml"]);
    let plan = output(c, None);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stderr));
    let planned: Vec<String> = text(&plan.stdout)
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .map(str::to_string)
        .collect();
    assert_eq!(planned.len(), 1, "{}", text(&plan.stdout));
    assert!(planned[0].contains("task 1"), "{planned:?}");

    let mut c = s.cmd();
    c.args(["run-list", "list.yaml"]);
    let run = output(c, None);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let err = text(&run.stderr);
    let warned: Vec<String> = err
        .lines()
        .filter_map(|l| l.strip_prefix("cc-executor: "))
        .filter(|l| l.starts_with("warning:"))
        .map(str::to_string)
        .collect();
    assert_eq!(warned, planned, "{err}");
    let first_task = err.lines().position(|l| l.contains("task 1/2")).unwrap();
    let warning = err.lines().position(|l| l.contains("warning:")).unwrap();
    assert!(warning < first_task, "warned before anything ran\n{err}");

    std::fs::write(
        s.path().join("clean.yaml"),
        "- \"@fake success\\nCreate notes.txt with a summary of the repository\"\n",
    )
    .unwrap();
    let mut c = s.cmd();
    c.args(["run-list", "clean.yaml"]);
    let run = output(c, None);
    assert_eq!(run.status.code(), Some(0));
    assert!(
        !text(&run.stderr).contains("warning:"),
        "{}",
        text(&run.stderr)
    );
}

/// The login check costs a process start: one per cc-executor process, not one per task.
#[test]
fn the_login_is_asked_once_for_a_whole_run_list() {
    let s = Scratch::new();
    s.log_in();
    std::fs::write(
        s.path().join("list.yaml"),
        "- \"@fake success\\nfirst\"\n- \"@fake success\\nsecond\"\n- \"@fake success\\nthird\"\n",
    )
    .unwrap();
    let mut c = s.cmd();
    c.env("ANTHROPIC_API_KEY", SECRET_KEY)
        .args(["run-list", "list.yaml"]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let keys: Vec<bool> = s
        .invocations()
        .iter()
        .map(|v| v["anthropic_api_key_set"].as_bool().unwrap())
        .collect();
    assert_eq!(keys, [false, false, false]);
    assert_eq!(s.auth_checks().len(), 1);
}

#[test]
fn init_writes_a_permission_profile_that_every_task_then_gets() {
    let s = Scratch::new();
    let cfg_dir = s.path().join("config/cc-executor");
    std::fs::create_dir_all(&cfg_dir).unwrap();
    let cfg = cfg_dir.join("config.toml");
    std::fs::write(&cfg, "# my own note\nmax_concurrent = 1 # keep\n").unwrap();

    let mut c = s.cmd();
    c.args(["init", "--profile", "edit+test"]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("edit+test"));
    let written = std::fs::read_to_string(&cfg).unwrap();
    assert!(
        written.contains("# my own note") && written.contains("# keep"),
        "{written}"
    );
    assert!(written.contains("Bash(pytest:*)"), "{written}");

    // A task now gets the profile's tool rules (added to its own).
    let mut c = s.cmd();
    c.args(["run", "--allowed-tools", "Read", "@fake success\nprofiled"]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let argv: Vec<String> = serde_json::from_value(s.invocations()[0]["argv"].clone()).unwrap();
    let at = argv.iter().position(|a| a == "--allowedTools").unwrap();
    assert!(
        argv[at + 1..].contains(&"Bash(pytest:*)".to_string()),
        "{argv:?}"
    );
    assert!(argv[at + 1..].contains(&"Read".to_string()), "{argv:?}");

    // `init` lists the profiles; an unknown one is refused with the names.
    let mut c = s.cmd();
    c.arg("init");
    let listed = text(&output(c, None).stdout);
    for name in ["read-only", "edit", "edit+test", "trusted"] {
        assert!(listed.contains(&format!("--profile {name}")), "{listed}");
    }
    let mut c = s.cmd();
    c.args(["init", "--profile", "everything"]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("read-only, edit, edit+test, trusted"));
}

#[test]
fn an_unverified_result_names_the_allowed_tools_entry_that_would_have_allowed_it() {
    let s = Scratch::new();
    let mut c = s.cmd();
    c.args([
        "run",
        "--json",
        "@fake permission_denied command=\"pytest -q tests\"",
    ]);
    let out = output(c, None);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "unverified", "{v:#}");
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains(r#"allowed_tools: [\"Bash(pytest:*)\"]"#),
        "{warnings}"
    );
}
