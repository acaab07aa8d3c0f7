//! Verification over MCP, from the terminal, and with the Redis store.

use super::*;

async fn call(
    client: &rmcp::service::RunningService<rmcp::RoleClient, ()>,
    tool: &str,
    args: Value,
) -> rmcp::model::CallToolResult {
    let params = CallToolRequestParams::new(tool.to_string())
        .with_arguments(serde_json::from_value(args).unwrap());
    client.peer().call_tool(params).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_execution_and_get_hook_status_over_mcp() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let config = root.join("config.toml");
    std::fs::write(
        &config,
        "[hooks]\ntimeout_secs = 5\npre_execute = [[\"sh\", \"-c\", \"cat >/dev/null; echo oops >&2; exit 3\"]]\n",
    )
    .unwrap();
    let mut cmd = tokio::process::Command::new(cc_executor_bin());
    cmd.arg("--data-dir")
        .arg(root.join("data"))
        .arg("--config")
        .arg(&config)
        .arg("mcp")
        .env("CC_EXECUTOR_CLAUDE_BIN", fake_claude_bin())
        .env_remove("REDIS_URL")
        .current_dir(&root);
    let client = ().serve(TokioChildProcess::new(cmd).unwrap()).await.unwrap();
    let tools = client.peer().list_all_tools().await.unwrap();
    for name in ["verify_execution", "get_hook_status"] {
        let t = tools.iter().find(|t| t.name == name).unwrap();
        assert_eq!(
            t.annotations.as_ref().and_then(|a| a.read_only_hint),
            Some(true)
        );
    }
    let run = call(&client, "cc_execute", json!({"task": ECHO})).await;
    let id = run.structured_content.unwrap()["execution_id"]
        .as_str()
        .unwrap()
        .to_string();

    let v = call(
        &client,
        "verify_execution",
        json!({"execution_id": id, "markdown": true}),
    )
    .await;
    assert_ne!(v.is_error, Some(true), "{v:?}");
    let s = v.structured_content.unwrap();
    assert_eq!(s["executions"][0]["execution_id"], id);
    // Intact evidence; the fake claude leaves no transcript, so not `verified`.
    assert_eq!(s["verdict"], "unverified", "{s:#}");
    let checks = s["executions"][0]["checks"].as_array().unwrap();
    let state = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["state"].clone())
            .unwrap()
    };
    assert_eq!(state("chain"), "pass");
    assert_eq!(state("uuid_echo"), "pass");
    assert_eq!(state("transcript"), "fail");
    assert!(
        s["markdown"]
            .as_str()
            .unwrap()
            .contains("# cc-executor verification")
    );

    for (args, needle) in [
        (json!({"last_n": 0}), "at least 1"),
        (
            json!({"execution_id": uuid::Uuid::new_v4().to_string()}),
            "unknown execution id",
        ),
        (json!({"execution_id": "nope"}), "must be an execution id"),
        (json!({"execution_id": id, "last_n": 2}), "not both"),
    ] {
        let r = call(&client, "verify_execution", args.clone()).await;
        assert_eq!(r.is_error, Some(true), "{args}: {r:?}");
        let text = format!("{:?}", r.content);
        assert!(text.contains(needle), "{args}: {text}");
    }
    let capped = call(&client, "verify_execution", json!({"last_n": 1_000_000})).await;
    let notes = capped.structured_content.unwrap()["notes"].to_string();
    assert!(notes.contains("capped at 100"), "{notes}");

    let hs = call(&client, "get_hook_status", json!({})).await;
    let hs = hs.structured_content.unwrap();
    assert_eq!(hs["builtin"][0]["name"], "uuid");
    assert_eq!(hs["builtin"][0]["enabled"], true);
    assert_eq!(hs["configured"][0]["kind"], "pre_execute");
    assert_eq!(hs["configured"][0]["timeout_secs"], 5);
    assert_eq!(hs["counts"]["runs"], 1);
    assert_eq!(hs["counts"]["failures"], 1);
    assert_eq!(hs["recent_runs"][0]["exit_code"], 3);
    assert!(
        hs["recent_runs"][0]["message"]
            .as_str()
            .unwrap()
            .contains("exited with code 3")
    );
    client.cancel().await.unwrap();
}

#[test]
fn cc_executor_verify_prints_checks_writes_a_report_and_exits_by_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let data = root.join("data");
    let cli = |args: &[&str]| {
        std::process::Command::new(cc_executor_bin())
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .env("CC_EXECUTOR_CLAUDE_BIN", fake_claude_bin())
            .env_remove("REDIS_URL")
            .current_dir(&root)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let run = cli(&["run", "--json", "@fake permission_denied"]);
    let r: Value = serde_json::from_slice(&run.stdout).unwrap();
    let id = r["execution_id"].as_str().unwrap().to_string();
    let report = root.join("report.md");
    let out = cli(&["verify", &id, "--report", report.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains(&format!("{id}  UNVERIFIED")), "{stdout}");
    assert!(stdout.contains("FAIL permission_denials"), "{stdout}");
    assert!(stdout.contains("ok   chain"), "{stdout}");
    assert!(
        std::fs::read_to_string(&report)
            .unwrap()
            .contains("| permission_denials | FAIL |")
    );
    let json_out = cli(&["verify", "--last", "5", "--json"]);
    let v: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(v["counts"]["unverified"], 1);
    assert_eq!(cli(&["verify", "--last", "0"]).status.code(), Some(2));
    let unknown = cli(&["verify", &uuid::Uuid::new_v4().to_string()]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown execution id"));
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_redis_store_the_chain_stays_local_and_verification_works_the_same() {
    let server = crate::support::redis_server::RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let o = Overrides {
        claude_bin: Some(fake_claude_bin()),
        data_dir: Some(root.join("data")),
        allowed_roots: Some(vec![root.clone()]),
        redis_url: Some(server.url()),
        max_retries: Some(0),
        ..Default::default()
    };
    let mut config = Config::resolve(FileConfig::default(), None, &o).unwrap();
    config.policy.default_cwd = root.clone();
    let store = cc_executor::store::open(&config).await.unwrap();
    let exec = Executor::with_store(config, store).unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let spec = exec.prepare(TaskRequest::new(ECHO)).await.unwrap();
        ids.push(exec.execute(spec, NoProgress).await.execution_id);
    }
    let outbox = rusqlite::Connection::open(root.join("data/outbox.sqlite3")).unwrap();
    let links: i64 = outbox
        .query_row("SELECT count(*) FROM evidence_chain", [], |r| r.get(0))
        .unwrap();
    assert_eq!(links, 2, "the chain lives in the local file");
    let stored = exec.store().get(ids[1]).await.unwrap().unwrap();
    assert_eq!(
        stored.result.evidence.unwrap().chain.seq,
        2,
        "the record carries its link"
    );
    let v = exec.verify(Target::One(ids[1]), false).await.unwrap();
    let e = &v.executions[0];
    assert_eq!(check(e, "chain").state, CheckState::Pass, "{e:#?}");
    assert_eq!(check(e, "response_file").state, CheckState::Pass);
    std::fs::remove_file(root.join(format!("data/evidence/{}.json", ids[0]))).unwrap();
    let v = exec.verify(Target::Last(2), false).await.unwrap();
    assert_eq!(v.verdict, Verdict::Tampered);
    assert_eq!(v.counts.tampered, 1, "{v:#?}");
}
