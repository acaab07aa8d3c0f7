//! Paths of the binaries under test and process checks shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The `cc-executor` binary built for this test run.
pub fn cc_executor_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cc-executor"))
}

/// The fake `claude` fixture (`examples/fake_claude/`); `cargo test` builds examples.
pub fn fake_claude_bin() -> PathBuf {
    let p = cc_executor_bin()
        .parent()
        .expect("target dir")
        .join("examples")
        .join("fake_claude");
    assert!(
        p.exists(),
        "{} is missing: `cargo test` builds it (or run `cargo build --examples`)",
        p.display()
    );
    p
}

/// Processes (pid, state) whose process group is `pgid`, zombies included.
pub fn group_processes(pgid: i32) -> Vec<(i32, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 2..].split_ascii_whitespace().collect();
        if fields.len() > 2 && fields[2].parse::<i32>().ok() == Some(pgid) {
            out.push((pid, fields[0].to_string()));
        }
    }
    out
}

/// Is a process with this pid present at all (zombie or not)?
pub fn pid_exists(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// The state letter of a process (`R`, `S`, `Z`, …), `None` when it is gone.
pub fn process_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

/// Is the process there and not a zombie?
pub fn is_alive(pid: i32) -> bool {
    process_state(pid).is_some_and(|s| s != 'Z' && s != 'X')
}

/// The children of `pid` that are zombies (exited, not yet reaped by it).
pub fn zombie_children(pid: i32) -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|s| {
            s.split_ascii_whitespace()
                .filter_map(|p| p.parse::<i32>().ok())
                .collect::<Vec<_>>()
        })
        .filter(|c| process_state(*c) == Some('Z'))
        .collect()
}

/// Polls `check` every 20 ms for up to `limit`; whether it became true.
pub fn eventually(limit: std::time::Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Like [`eventually`], but sleeping on tokio's clock: it does not block a runtime on whose
/// thread the execution under test runs.
pub async fn eventually_async(limit: std::time::Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while !check() {
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    true
}

/// The fake `claude`'s invocation records in `record` (`FAKE_CLAUDE_RECORD_DIR`), in order.
pub fn invocations(record: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(record.join("invocations.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The pids a fake `claude` recorded for the processes it started (`<pid>.pids`).
pub fn recorded_pids(record: &std::path::Path, claude: i64) -> Vec<i32> {
    std::fs::read_to_string(record.join(format!("{claude}.pids")))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Waits until invocation number `n` (1-based) of the fake has recorded a process it started;
/// returns that pid and the fake's parent (the executor's process).
pub async fn nth_daemon(record: &std::path::Path, n: usize) -> (i32, i32) {
    let found = eventually_async(std::time::Duration::from_secs(10), || {
        invocations(record)
            .get(n - 1)
            .is_some_and(|i| !recorded_pids(record, i["pid"].as_i64().unwrap()).is_empty())
    })
    .await;
    assert!(found, "the daemon was never started");
    let inv = &invocations(record)[n - 1];
    let parent = inv["ppid"].as_i64().unwrap() as i32;
    (
        recorded_pids(record, inv["pid"].as_i64().unwrap())[0],
        parent,
    )
}

/// Waits up to `secs` for the group to be completely gone (no live process, no zombie).
pub fn wait_group_gone(pgid: i32, secs: u64) -> Vec<(i32, String)> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let left = group_processes(pgid);
        if left.is_empty() || std::time::Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The configuration the executor tests use with the fake `claude`: everything under `root`
/// (data dir `data/`, invocation records `record/`, `flaky` state `state/`), `root` the only
/// allowed root and the default cwd, a short kill grace, no retries.
pub fn fake_claude_config(root: &std::path::Path) -> cc_executor::Config {
    let o = cc_executor::Overrides {
        claude_bin: Some(fake_claude_bin()),
        data_dir: Some(root.join("data")),
        allowed_roots: Some(vec![root.to_path_buf()]),
        kill_grace_ms: Some(500),
        max_retries: Some(0),
        ..Default::default()
    };
    let mut config =
        cc_executor::Config::resolve(cc_executor::config::FileConfig::default(), None, &o).unwrap();
    config.policy.default_cwd = root.to_path_buf();
    config.child_env.insert(
        "FAKE_CLAUDE_RECORD_DIR".into(),
        root.join("record").display().to_string(),
    );
    config.child_env.insert(
        "FAKE_CLAUDE_STATE_DIR".into(),
        root.join("state").display().to_string(),
    );
    config
}

/// The access token of [`write_fake_login`]; tests check it is never printed.
pub const FAKE_LOGIN_TOKEN: &str = "sk-ant-oat01-fake-login-for-tests";

/// Makes `home` look logged in to Claude Code: `home/.claude/.credentials.json` with a
/// subscription login the real CLI (2.1.331) accepts offline — an access token with the
/// `user:inference` scope, valid for 30 days from now. Nothing in it works against a server.
pub fn write_fake_login(home: &std::path::Path) {
    let dir = home.join(".claude");
    std::fs::create_dir_all(&dir).unwrap();
    let expires_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 30 * 24 * 3600 * 1000;
    let login = serde_json::json!({"claudeAiOauth": {
        "accessToken": FAKE_LOGIN_TOKEN,
        "refreshToken": "sk-ant-ort01-fake-refresh-for-tests",
        "expiresAt": expires_ms as u64,
        "scopes": ["user:inference", "user:profile"],
        "subscriptionType": "max",
    }});
    std::fs::write(dir.join(".credentials.json"), login.to_string()).unwrap();
}
