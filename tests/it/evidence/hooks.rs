//! The user's pre and post hooks.

use super::*;

fn hook(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into()]
}

#[tokio::test]
async fn a_pre_hook_that_exits_2_vetoes_the_task() {
    let h = Harness::with(|c| {
        c.hooks.pre_execute = vec![hook(
            "cat >/dev/null; echo 'no deploys on Friday' >&2; exit 2",
        )]
    });
    let r = h.run(ECHO).await;
    assert_eq!(r.status, Status::RejectedByHook, "{r:#?}");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("no deploys on Friday")),
        "{:?}",
        r.warnings
    );
    assert!(h.invocations().is_empty(), "claude must not run");
    let stored = h
        .executor
        .store()
        .get(r.execution_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.result.status, Status::RejectedByHook);
    let s = h.executor.hook_status(10);
    assert_eq!(s.counts.vetoes, 1);
    assert_eq!(s.recent_runs[0].outcome, HookOutcome::Vetoed);
    assert_eq!(s.recent_runs[0].exit_code, Some(2));
}

#[tokio::test]
async fn a_pre_hook_that_times_out_or_fails_is_a_warning_and_the_task_runs() {
    let h = Harness::with(|c| {
        c.hooks.timeout = Duration::from_secs(1);
        c.hooks.pre_execute = vec![vec!["sleep".into(), "30".into()], hook("exit 1")];
    });
    let t = std::time::Instant::now();
    let r = h.run(ECHO).await;
    assert!(t.elapsed() < Duration::from_secs(15));
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("sleep 30") && w.contains("timed out")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings.iter().any(|w| w.contains("exited with code 1")),
        "{:?}",
        r.warnings
    );
    let s = h.executor.hook_status(10);
    assert_eq!(
        (s.counts.runs, s.counts.failures, s.counts.timeouts),
        (2, 2, 1)
    );
    assert_eq!(s.recent_runs[1].outcome, HookOutcome::TimedOut);
    assert_eq!(s.configured.len(), 2);
    assert!(s.builtin[0].enabled);
}

#[tokio::test]
async fn a_post_hook_gets_the_execution_json_and_its_environment() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().join("post");
    let h = Harness::with(|c| {
        c.hooks.post_execute = vec![vec![
            "sh".into(),
            "-c".into(),
            r#"cat > "$0.json"; printf %s "$CC_EXECUTOR_EXECUTION_ID" > "$0.id"; cat "$CC_EXECUTOR_TASK_FILE" > "$0.task"; printf %s "$CC_EXECUTOR_HOOK" > "$0.kind""#.into(),
            o.display().to_string(),
        ]]
    });
    let r = h.run(ECHO).await;
    let read = |ext: &str| std::fs::read_to_string(format!("{}.{ext}", o.display())).unwrap();
    let v: Value = serde_json::from_str(&read("json")).unwrap();
    assert_eq!(v["event"], "post_execute");
    assert_eq!(v["execution"]["execution_id"], r.execution_id.to_string());
    assert_eq!(v["execution"]["result"]["status"], "succeeded");
    assert!(v["execution"]["result"]["evidence"]["response_file"].is_string());
    assert_eq!(read("id"), r.execution_id.to_string());
    assert_eq!(read("task"), ECHO);
    assert_eq!(read("kind"), "post_execute");
    let s = h.executor.hook_status(10);
    assert_eq!(s.recent_runs[0].outcome, HookOutcome::Ok);
    // The task file is removed afterwards.
    assert!(
        !h.data()
            .join("hooks")
            .join(format!("{}.task", r.execution_id))
            .exists()
    );
}

#[tokio::test]
async fn cancelling_during_a_pre_hook_stops_the_hooks_process_group() {
    let out = tempfile::tempdir().unwrap();
    let pid_file = out.path().join("pid");
    let h = Harness::with(|c| {
        c.hooks.timeout = Duration::from_secs(60);
        c.hooks.pre_execute = vec![vec![
            "sh".into(),
            "-c".into(),
            // The pid written is a grandchild: killing only the hook's own process would
            // leave it running.
            r#"sleep 30 & echo $! > "$0"; wait"#.into(),
            pid_file.display().to_string(),
        ]];
    });
    let spec = h.executor.prepare(TaskRequest::new(ECHO)).await.unwrap();
    let sub = h.executor.submit(spec, NoProgress).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let pid = loop {
        if let Ok(t) = std::fs::read_to_string(&pid_file)
            && let Ok(p) = t.trim().parse::<i32>()
        {
            break p;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the hook never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let t = std::time::Instant::now();
    h.executor.cancel(sub.execution_id).await.unwrap();
    let r = h.executor.wait(sub.execution_id).await.unwrap();
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(r.status, Status::Cancelled, "{r:#?}");
    assert!(h.invocations().is_empty(), "claude must not run");
    let gone = std::time::Instant::now() + Duration::from_secs(5);
    while crate::support::fixtures::pid_exists(pid) && std::time::Instant::now() < gone {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !crate::support::fixtures::pid_exists(pid),
        "hook process {pid} survived"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn what_a_hook_prints_never_reaches_the_mcp_channel() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let config = root.join("config.toml");
    std::fs::write(
        &config,
        "[hooks]\npre_execute = [[\"sh\", \"-c\", \"cat; echo not-json-rpc\"]]\npost_execute = [[\"sh\", \"-c\", \"cat; echo also-not-json-rpc\"]]\n",
    )
    .unwrap();
    let mut child = tokio::process::Command::new(cc_executor_bin())
        .arg("--data-dir")
        .arg(root.join("data"))
        .arg("--config")
        .arg(&config)
        .arg("mcp")
        .env("CC_EXECUTOR_CLAUDE_BIN", fake_claude_bin())
        .env_remove("REDIS_URL")
        .current_dir(&root)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for msg in [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "cc_execute", "arguments": {"task": ECHO}}}),
    ] {
        stdin
            .write_all(format!("{msg}\n").as_bytes())
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let answered = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let v: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("non-protocol line on stdout: {line:?} ({e})"));
            assert_eq!(v["jsonrpc"], "2.0", "{line}");
            let done = v["id"] == 2;
            seen.push(v);
            if done {
                return;
            }
        }
    })
    .await;
    assert!(answered.is_ok(), "no answer to tools/call: {seen:?}");
    let last = seen.last().unwrap();
    assert_eq!(
        last["result"]["structuredContent"]["status"], "succeeded",
        "{last}"
    );
    drop(stdin);
    while let Ok(Some(line)) = lines.next_line().await {
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("non-protocol line on stdout: {line:?} ({e})"));
        assert_eq!(v["jsonrpc"], "2.0", "{line}");
    }
    let _ = child.wait().await;
}
