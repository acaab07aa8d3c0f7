//! The real Claude Code CLI (`claude -p`, the pinned version) as the MCP host of the service
//! over HTTP: its mcp-config names `/mcp` with `"type": "http"` and the bearer header, its
//! model (the fake Anthropic API) calls `cc_execute` there, the service runs the task (the
//! fake claude as the worker) and the answer comes back to the model, which quotes it. The
//! stdio version of this is `claude_orchestrator.rs`.

use serde_json::{Value, json};

use super::*;
use crate::support::fake_anthropic::*;
use crate::support::real_claude::{IsolatedEnv, run_claude};

const CC_EXECUTE: &str = "mcp__cc-executor__cc_execute";
const WORKER_TEXT: &str = "HTTP-WORKER-RESULT-7";
/// The whole host run (CLI start, MCP over HTTP, a one-second task, two turns).
const RUN_LIMIT: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_calls_cc_execute_on_the_service_over_http_and_quotes_the_answer() {
    let service = Service::start(&[]);
    let task = format!("@fake slow secs=1 text={WORKER_TEXT}\nsay it (claude host over http)");
    let script = {
        let task = task.clone();
        Script::respond(move |body: &Value| match tool_results(body).last() {
            None => {
                let offered = body["tools"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|t| t["name"] == CC_EXECUTE);
                if offered {
                    Reply::tool_use(CC_EXECUTE, json!({"task": task, "wait": true}))
                } else {
                    Reply::text(format!("HOST-GAVE-UP: {CC_EXECUTE} not offered"))
                }
            }
            Some(r) if r.is_error => Reply::text(format!("HOST-GAVE-UP: {}", r.content)),
            Some(r) => Reply::text(format!("The worker said: {}", r.content)),
        })
    };
    let api = FakeApi::start(script).await;
    let mut env = IsolatedEnv::new();
    // Otherwise MCP tools are deferred behind ToolSearch and the first request lacks ours.
    env.set_var("ENABLE_TOOL_SEARCH", "false");
    let config = json!({
        "mcpServers": {
            "cc-executor": {
                "type": "http",
                "url": service.mcp_url(),
                "headers": {"Authorization": format!("Bearer {}", service.token.as_deref().unwrap())},
            }
        }
    });
    let config_path = env.root().join("mcp-http.json");
    std::fs::write(&config_path, config.to_string()).expect("write the mcp config");
    let run = run_claude(
        &env,
        &api.base_url,
        &[
            "--mcp-config",
            config_path.to_str().unwrap(),
            "--strict-mcp-config",
            "--allowedTools",
            CC_EXECUTE,
            "--max-turns",
            "5",
        ],
        "Run the task through cc-executor and tell me what the worker said.",
        RUN_LIMIT,
    )
    .await;

    // Connected over HTTP, with the token.
    let init = run.lines_of("system", Some("init"));
    let init = init
        .first()
        .unwrap_or_else(|| panic!("no init line\n{run}"));
    let server = init["mcp_servers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == "cc-executor")
        .unwrap_or_else(|| panic!("not in init.mcp_servers: {init}"));
    assert_eq!(
        server["status"],
        "connected",
        "{init}\n{}",
        service.stderr()
    );

    // The model got the task's answer from the service and quoted it.
    let result = run.expect_result();
    assert_eq!(result["is_error"], false, "{result}\n{run}");
    let text = result["result"].as_str().unwrap_or_default();
    assert!(
        text.contains(WORKER_TEXT) && !text.contains("HOST-GAVE-UP"),
        "{text}\n{run}\n{}",
        service.stderr()
    );
    assert!(
        text.contains("\"status\":\"succeeded\""),
        "the model saw the structured result: {text}"
    );
    // The service ran it, once.
    let ran: Vec<Value> = service
        .sandbox
        .invocations()
        .into_iter()
        .filter(|r| {
            r["stdin"]
                .as_str()
                .unwrap_or("")
                .contains("claude host over http")
        })
        .collect();
    assert_eq!(ran.len(), 1, "{ran:?}");
}
