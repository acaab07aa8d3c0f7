//! The planner as users reach it: the MCP tools on the built binary (rmcp client),
//! `cc-executor plan FILE`, and timeouts the executor learns from its own history.

use std::process::{Command, Stdio};

use crate::support::fixtures::{cc_executor_bin, fake_claude_bin};
use cc_executor::config::{FileConfig, Overrides};
use cc_executor::exec::progress::NoProgress;
use cc_executor::exec::timeout::TimeoutKind;
use cc_executor::store::{ExecutionRecord, HistoryFilter};
use cc_executor::{Config, ExecutionResult, Executor, Status, TaskRequest};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

async fn call(
    client: &rmcp::service::RunningService<rmcp::RoleClient, ()>,
    tool: &str,
    args: Value,
) -> Value {
    let params = CallToolRequestParams::new(tool.to_string())
        .with_arguments(serde_json::from_value(args).unwrap());
    let r = client.peer().call_tool(params).await.unwrap();
    assert_ne!(r.is_error, Some(true), "{tool}: {r:?}");
    r.structured_content.expect("structured content")
}

/// The text block of a successful call.
async fn call_text(
    client: &rmcp::service::RunningService<rmcp::RoleClient, ()>,
    tool: &str,
    args: Value,
) -> String {
    let params = CallToolRequestParams::new(tool.to_string())
        .with_arguments(serde_json::from_value(args).unwrap());
    let r = client.peer().call_tool(params).await.unwrap();
    assert_ne!(r.is_error, Some(true), "{tool}: {r:?}");
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_planning_tools_answer_over_mcp() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(cc_executor_bin());
    cmd.args([
        "--data-dir",
        dir.path().join("data").to_str().unwrap(),
        "mcp",
    ])
    .env("CC_EXECUTOR_CLAUDE_BIN", fake_claude_bin())
    .env_remove("REDIS_URL")
    .current_dir(dir.path());
    let client = ().serve(TokioChildProcess::new(cmd).unwrap()).await.unwrap();
    let tools = client.peer().list_all_tools().await.unwrap();
    for name in [
        "get_task_complexity",
        "validate_task_list",
        "suggest_execution_strategy",
    ] {
        let t = tools
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} listed"));
        assert_eq!(
            t.annotations.as_ref().and_then(|a| a.read_only_hint),
            Some(true),
            "{name}"
        );
    }

    let c = call(
        &client,
        "get_task_complexity",
        json!({"task": "Refactor src/db.rs to use a connection pool and update every caller"}),
    )
    .await;
    assert_eq!(c["classification"]["category"], "refactor");
    assert_eq!(c["prediction"]["based_on"], "default");
    assert!(c["prediction"]["suggested_timeout_secs"].as_u64().unwrap() >= 60);
    // The text says the same words as the JSON, never Rust's names for them.
    let text = call_text(
        &client,
        "get_task_complexity",
        json!({"task": "Refactor src/db.rs to use a connection pool and update every caller"}),
    )
    .await;
    assert!(
        text.contains("based on default") && text.contains("method cc_execute"),
        "{text}"
    );
    let text = call_text(
        &client,
        "validate_task_list",
        json!({"tasks": ["Write the parser module in src/parser.rs"]}),
    )
    .await;
    assert!(text.contains("risk low"), "{text}");

    let v = call(
        &client,
        "validate_task_list",
        json!({"tasks": [
            {"id": "a", "task": "Write the parser module in src/parser.rs", "depends_on": ["b"]},
            {"id": "b", "task": "Write the lexer module in src/lexer.rs", "depends_on": ["a"]}
        ]}),
    )
    .await;
    assert_eq!(v["valid"], false);
    let kinds: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"cycle"), "{kinds:?}");

    let tasks = json!({"tasks": [
        {"id": "api", "task": "Create the REST API in /repo/api with a GET /users endpoint"},
        {"id": "docs", "task": "Document the project layout in /repo/README.md"},
        {"id": "tests", "task": "Write tests for GET /users in /repo/api/tests", "depends_on": ["api"]}
    ]});
    let s = call(&client, "suggest_execution_strategy", tasks.clone()).await;
    let waves = s["waves"].as_array().unwrap();
    assert_eq!(waves.len(), 2, "{s}");
    // The plan as markdown is the text block, not repeated in the structured content.
    assert!(s.get("markdown").is_none(), "{s}");
    let text = call_text(&client, "suggest_execution_strategy", tasks).await;
    assert!(text.contains("# Execution strategy"), "{text}");
    client.cancel().await.unwrap();
}

#[test]
fn plan_file_exit_codes_follow_the_validation() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, body: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        let out = Command::new(cc_executor_bin())
            .args([
                "--data-dir",
                dir.path().join("data").to_str().unwrap(),
                "plan",
            ])
            .arg(&path)
            .env_remove("REDIS_URL")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, out) = run(
        "ok.md",
        "- [api] Create the REST API in /repo/api with a GET /users endpoint\n- [tests] Write tests for GET /users in /repo/api/tests (depends: api)\n",
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("Waves"), "{out}");
    let (code, out) = run(
        "ok.yaml",
        "- id: 1\n  task: Create the REST API in /repo/api\n- id: 2\n  task: Write tests for it in /repo/api/tests\n  depends_on: [1]\n",
    );
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = run(
        "cycle.json",
        r#"[{"id":"a","task":"Write the parser in src/p.rs","depends_on":["b"]},{"id":"b","task":"Write the lexer in src/l.rs","depends_on":["a"]}]"#,
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("cycle"), "{out}");
    let (code, out) = run("broken.json", "[\n  {\"task\": \"x\"},,\n]");
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("line 2"), "{out}");
    let (code, out) = run("broken.yaml", "- task: a\n  depends_on: [x\n- task: b\n");
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("line"), "{out}");
}

#[tokio::test]
async fn tasks_without_a_timeout_get_one_learned_from_history() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let o = Overrides {
        claude_bin: Some(fake_claude_bin()),
        data_dir: Some(root.join("data")),
        allowed_roots: Some(vec![root.clone()]),
        ..Default::default()
    };
    let mut config = Config::resolve(FileConfig::default(), None, &o).unwrap();
    config.policy.default_cwd = root.clone();
    let exec = Executor::new(config).unwrap();
    let task = "Write unit tests for the date parser in src/dates.rs and make them pass";

    let fresh = exec.prepare(TaskRequest::new(task)).await.unwrap();
    assert_eq!(
        fresh.timeout_basis.kind,
        TimeoutKind::Default,
        "{:?}",
        fresh.timeout_basis
    );
    assert_eq!(fresh.timeout.as_secs(), 600, "nothing learned yet");
    let (cat, cx) = (
        fresh.category.clone().unwrap(),
        fresh.complexity.clone().unwrap(),
    );

    // Twenty recorded runs of this class, all about 20 minutes.
    let records: Vec<ExecutionRecord> = (0..20)
        .map(|i| {
            let mut r = ExecutionResult::empty(uuid::Uuid::new_v4(), Status::Succeeded, vec![]);
            r.duration_ms = 1_200_000 + i * 1000;
            ExecutionRecord::new(
                task,
                "/",
                Some(cat.clone()),
                Some(cx.clone()),
                chrono::Utc::now(),
                r,
            )
        })
        .collect();
    exec.store().record_batch(&records).await.unwrap();
    let learned = exec.prepare(TaskRequest::new(task)).await.unwrap();
    assert_eq!(
        learned.timeout_basis.kind,
        TimeoutKind::Learned,
        "{:?}",
        learned.timeout_basis
    );
    assert_eq!(learned.timeout_basis.samples, Some(20));
    assert!(
        learned.timeout.as_secs() >= 1200,
        "{:?} covers the recorded durations",
        learned.timeout
    );
    assert!(learned.timeout > fresh.timeout);

    let mut req = TaskRequest::new(task);
    req.timeout_secs = Some(42);
    let explicit = exec.prepare(req).await.unwrap();
    assert_eq!(
        (explicit.timeout.as_secs(), explicit.timeout_basis.kind),
        (42, TimeoutKind::Explicit)
    );

    // Every run is recorded with its class, so the next prediction learns from it.
    let spec = exec
        .prepare(TaskRequest::new(format!("@fake success\n{task}")))
        .await
        .unwrap();
    let r = exec.execute(spec, NoProgress).await;
    let rec = exec.store().get(r.execution_id).await.unwrap().unwrap();
    assert_eq!(
        (rec.category.as_deref(), rec.complexity.is_some()),
        (Some(cat.as_str()), true)
    );
    let n = exec
        .store()
        .list(&HistoryFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .len();
    assert_eq!(n, 21);
}
