//! Paths of the binaries under test and process checks shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The `cc-executor` binary built for this test run.
pub fn cc_executor_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cc-executor"))
}

/// The fake `claude` fixture (`examples/fake_claude.rs`); `cargo test` builds examples.
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
