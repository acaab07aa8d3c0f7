//! Acknowledged means durable: an execution whose id was given out survives a SIGKILL of the
//! server that accepted it — the next server on the same data dir stops what is left of its
//! process tree and records it as `interrupted`, visible in `monitor_execution` and the
//! history. The same for `cc-executor run` killed mid-task.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::fixtures::{cc_executor_bin, fake_claude_bin, pid_exists};
use crate::support::raw_stdio::Server;
use serde_json::{Value, json};

fn structured(v: &Value) -> &Value {
    &v["result"]["structuredContent"]
}

/// Pids the fake `claude`s recorded: each claude and the grandchildren it started.
fn recorded_pids(dir: &std::path::Path) -> Vec<i32> {
    let mut pids = Vec::new();
    let rec = dir.join("record");
    for entry in std::fs::read_dir(&rec).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(pid) = name.strip_suffix(".pids") {
            pids.push(pid.parse().unwrap());
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            pids.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            );
        }
    }
    pids
}

fn is_live(pid: i32) -> bool {
    pid_exists(pid)
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(true)
}

/// Polls until `ok`; `secs` is a generous deadline for a loaded CI machine (2 CPUs, other
/// builds), not a timing claim: the condition normally holds within milliseconds.
fn wait_for(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn executions_acknowledged_before_a_sigkill_are_recorded_interrupted_by_the_next_server() {
    let mut s = Server::start();
    // One runs (and starts a grandchild), two wait in the queue; all three are acknowledged.
    let calls = [
        json!({"task": "@fake grandchild mode=hang\nrunning one", "wait": false}),
        json!({"task": "@fake success\nqueued two", "wait": false}),
        json!({"task": "@fake success\nqueued three", "wait": false}),
    ];
    let (ids, msgs): (Vec<i64>, Vec<Value>) =
        calls.into_iter().map(|a| s.call("cc_execute", a)).unzip();
    s.write_all(&msgs);
    let answers = s.answers(&ids);
    let execution_ids: Vec<String> = ids
        .iter()
        .map(|id| {
            structured(&answers[id])["execution_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let root = s.dir.path().to_path_buf();
    wait_for("the grandchild to start", 30, || {
        recorded_pids(&root).len() >= 2
    });
    let tree = recorded_pids(&root);

    let dir = s.kill9();
    let mut s = Server::start_in(dir);
    // No process of the dead server's task outlives the start of the next one.
    wait_for("the leftover tree to be stopped", 30, || {
        tree.iter().all(|p| !is_live(*p))
    });
    for eid in &execution_ids {
        let (id, m) = s.call(
            "monitor_execution",
            json!({"execution_id": eid, "wait_secs": 30, "since_version": 0}),
        );
        s.write_all(&[m]);
        let a = s.answers(&[id]).remove(&id).unwrap();
        let st = &structured(&a)["executions"][0];
        assert_eq!(st["phase"], "finished", "{a}");
        assert_eq!(st["status"], "interrupted", "{a}");
    }
    let (id, m) = s.call("get_execution_history", json!({"limit": 10}));
    s.write_all(&[m]);
    let a = s.answers(&[id]).remove(&id).unwrap();
    let history = structured(&a)["executions"].to_string();
    for eid in &execution_ids {
        assert!(history.contains(eid.as_str()), "{eid} missing: {history}");
    }
    // The running one says it was running, with what it printed; the others never started.
    let (id, m) = s.call(
        "monitor_execution",
        json!({"execution_id": execution_ids[0]}),
    );
    s.write_all(&[m]);
    let a = s.answers(&[id]).remove(&id).unwrap();
    let result = &structured(&a)["executions"][0]["result"];
    let warnings = result["warnings"].to_string();
    assert!(warnings.contains("while it was running"), "{warnings}");
    assert!(result["raw_output_path"].is_string(), "{result}");
    assert!(result["session_id"].is_string(), "{result}");
}

#[test]
fn a_run_killed_mid_task_is_interrupted_in_the_history_on_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().canonicalize().unwrap();
    let cmd = |args: &[&str]| {
        let mut c = Command::new(cc_executor_bin());
        c.args(args)
            .current_dir(&p)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &p)
            .env("XDG_CONFIG_HOME", p.join("config"))
            .env("XDG_DATA_HOME", p.join("xdg-data"))
            .env("CC_EXECUTOR_CLAUDE_BIN", fake_claude_bin())
            .env("FAKE_CLAUDE_RECORD_DIR", p.join("record"));
        c
    };
    let mut run = cmd(&["run", "@fake hang\nkilled mid-task"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let invocations =
        || std::fs::read_to_string(p.join("record/invocations.jsonl")).unwrap_or_default();
    wait_for("the task to start", 30, || !invocations().is_empty());
    let first: Value = serde_json::from_str(invocations().lines().next().unwrap()).unwrap();
    let claude = first["pid"].as_i64().unwrap() as i32;
    run.kill().unwrap();
    run.wait().unwrap();

    let out = cmd(&["history", "list", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("recorded as interrupted"), "{stderr}");
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = list.to_string();
    assert!(text.contains("\"interrupted\""), "{text}");
    assert!(text.contains("killed mid-task"), "{text}");
    wait_for("the leftover claude to be gone", 30, || !is_live(claude));
}
