//! The tool surface: what `tools/list` answers, checked against the code that defines it, the
//! results the tools really return, the portability rules hosts apply, and what a model needs
//! from the descriptions.

use std::collections::BTreeMap;

use crate::support::mcp_client::{Server, data, start};
use cc_executor::mcp::surface::{TOOLS_JSON, TOOLS_JSON_PATH, generate_json};
use rmcp::model::CallToolResult;
use serde_json::{Value, json};

/// `src/mcp/tools.json` is what the server serves; the code (tool attributes and Rust types)
/// is what it must say. With `CC_EXECUTOR_UPDATE_TOOLS=1` this test rewrites the file.
#[test]
fn the_checked_in_tool_list_is_what_the_code_generates() {
    let generated = generate_json().expect("the tool list generates");
    if std::env::var_os("CC_EXECUTOR_UPDATE_TOOLS").is_some() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(TOOLS_JSON_PATH);
        std::fs::write(&path, &generated).expect("write tools.json");
        return;
    }
    if generated != TOOLS_JSON {
        let first = generated
            .lines()
            .zip(TOOLS_JSON.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(generated.lines().count().min(TOOLS_JSON.lines().count()));
        panic!(
            "{TOOLS_JSON_PATH} is out of date: it differs from what the code generates from line {} on.\n\
             Regenerate it with `CC_EXECUTOR_UPDATE_TOOLS=1 cargo test --test it surface::`, review the \
             diff, and accept the new snapshot of tools/list (`cargo insta review`, or \
             `INSTA_UPDATE=always cargo test --test it surface::`).",
            first + 1
        );
    }
}

/// The tools as the server lists them (compact JSON values, as on the wire).
async fn listed(server: &Server<()>) -> Vec<Value> {
    let tools = server
        .client
        .peer()
        .list_all_tools()
        .await
        .expect("tools/list");
    tools
        .iter()
        .map(|t| serde_json::to_value(t).expect("tool as JSON"))
        .collect()
}

/// The whole `tools/list`, as a reviewed snapshot: any change to a name, a description, an
/// annotation or a schema shows up in review. Also: it is exactly the checked-in file, and it
/// stays small.
#[tokio::test(flavor = "multi_thread")]
async fn tools_list_is_the_reviewed_snapshot() {
    let server = start((), &[]).await;
    let tools = listed(&server).await;
    let file: Value = serde_json::from_str(TOOLS_JSON).expect("tools.json is JSON");
    assert_eq!(
        Value::Array(tools.clone()),
        file,
        "served list != {TOOLS_JSON_PATH}"
    );
    let bytes = serde_json::to_vec(&tools).unwrap().len();
    assert!(bytes <= 60 * 1024, "tools/list is {bytes} bytes");
    insta::assert_json_snapshot!("tools_list", tools);
}

/// Every node of a schema, with its path.
fn nodes<'a>(path: String, v: &'a Value, out: &mut Vec<(String, &'a Value)>) {
    let Some(o) = v.as_object() else { return };
    out.push((path.clone(), v));
    for key in ["properties", "$defs", "patternProperties"] {
        if let Some(Value::Object(m)) = o.get(key) {
            for (k, sub) in m {
                nodes(format!("{path}.{key}.{k}"), sub, out);
            }
        }
    }
    for key in ["anyOf", "oneOf", "allOf", "prefixItems"] {
        if let Some(Value::Array(a)) = o.get(key) {
            for (i, sub) in a.iter().enumerate() {
                nodes(format!("{path}.{key}[{i}]"), sub, out);
            }
        }
    }
    for key in [
        "items",
        "additionalProperties",
        "not",
        "contains",
        "propertyNames",
    ] {
        if let Some(sub) = o.get(key) {
            nodes(format!("{path}.{key}"), sub, out);
        }
    }
}

/// The rules schema-checking hosts apply (the MCP Inspector's `--strict` lint): no `type`
/// arrays (clients that map schemas onto a single-`type` dialect reject them), no schema that
/// accepts anything; and every schema says its type, directly or through `$ref`/`anyOf`.
#[test]
fn every_schema_is_portable() {
    let tools: Vec<Value> = serde_json::from_str(TOOLS_JSON).unwrap();
    let mut problems = Vec::new();
    for tool in &tools {
        for kind in ["inputSchema", "outputSchema"] {
            let mut all = Vec::new();
            nodes(format!("{}.{kind}", tool["name"]), &tool[kind], &mut all);
            assert_eq!(tool[kind]["type"], "object", "{} {kind}", tool["name"]);
            for (path, node) in all {
                if path.ends_with(".additionalProperties") && node.is_boolean() {
                    continue;
                }
                if node["type"].is_array() {
                    problems.push(format!("{path}: type array {}", node["type"]));
                }
                let typed = node["type"].is_string()
                    || node["$ref"].is_string()
                    || ["anyOf", "oneOf", "allOf"]
                        .iter()
                        .any(|k| node[*k].as_array().is_some_and(|a| !a.is_empty()));
                if !typed {
                    problems.push(format!("{path}: no type: {node}"));
                }
                if node["format"]
                    .as_str()
                    .is_some_and(|f| !["date-time", "uuid"].contains(&f))
                {
                    problems.push(format!("{path}: format {}", node["format"]));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What a model reads: every tool has a title, a description without Rust doc syntax, and
/// annotations; closed sets are enums; `cc_execute` teaches permissions.
#[test]
fn descriptions_are_written_for_a_model() {
    let tools: Vec<Value> = serde_json::from_str(TOOLS_JSON).unwrap();
    assert_eq!(tools.len(), 12);
    let mut texts = Vec::new();
    for tool in &tools {
        let name = tool["name"].as_str().unwrap();
        assert!(
            tool["title"].as_str().is_some_and(|t| t.len() > 10),
            "{name}: title"
        );
        let description = tool["description"].as_str().unwrap_or("");
        assert!(description.len() > 100, "{name}: description");
        assert!(
            tool["annotations"]["readOnlyHint"].is_boolean()
                && tool["annotations"]["openWorldHint"].is_boolean(),
            "{name}: annotations"
        );
        texts.push((name.to_string(), description.to_string()));
        let mut all = Vec::new();
        nodes(name.to_string(), &tool["inputSchema"], &mut all);
        for (path, node) in all {
            if let Some(d) = node["description"].as_str() {
                texts.push((path, d.to_string()));
            }
        }
        let mut out = Vec::new();
        nodes(name.to_string(), &tool["outputSchema"], &mut out);
        assert!(
            out.iter().all(|(_, n)| n.get("description").is_none()),
            "{name}: output schemas carry no descriptions"
        );
    }
    for (path, text) in &texts {
        for rust in [
            "[`",
            "::",
            "Option<",
            "Vec<",
            "None",
            "Some(",
            "crate",
            "CcExecute",
        ] {
            assert!(!text.contains(rust), "{path}: `{rust}` in {text:?}");
        }
        // Doc-comment line wrapping is undone: a newline starts a paragraph or a list item.
        for (i, _) in text.match_indices('\n') {
            let next = &text[i + 1..];
            assert!(
                next.starts_with('\n') || next.starts_with("- ") || text[..i].ends_with('\n'),
                "{path}: a wrapped line in {text:?}"
            );
        }
    }
    let tool = |n: &str| tools.iter().find(|t| t["name"] == n).unwrap();
    let cc = tool("cc_execute");
    let d = cc["description"].as_str().unwrap();
    for needed in [
        "acceptEdits",
        "allowed_tools",
        "Bash(pytest:*)",
        "permission_mode",
        "wait: false",
    ] {
        assert!(
            d.contains(needed),
            "cc_execute description lacks {needed}: {d}"
        );
    }
    let props = &cc["inputSchema"]["properties"];
    let modes = props["permission_mode"]["enum"].as_array().expect("enum");
    for m in [
        "acceptEdits",
        "plan",
        "dontAsk",
        "default",
        "bypassPermissions",
    ] {
        assert!(modes.contains(&json!(m)), "{m}");
    }
    assert!(
        props["allowed_tools"]["description"]
            .as_str()
            .unwrap()
            .contains("Bash(pytest:*)")
    );
    let list = &tool("cc_execute_list")["inputSchema"]["properties"];
    assert_eq!(
        list["failure_policy"]["enum"],
        json!(["stop", "continue", "repair"])
    );
    assert!(list["defaults"]["properties"]["permission_mode"]["enum"].is_array());
    let history = &tool("get_execution_history")["inputSchema"]["properties"];
    assert!(
        history["status"]["enum"]
            .as_array()
            .is_some_and(|e| e.contains(&json!("timed_out")))
    );
    for read_only in [
        "monitor_execution",
        "get_execution_history",
        "verify_execution",
    ] {
        assert_eq!(
            tool(read_only)["annotations"]["readOnlyHint"],
            true,
            "{read_only}"
        );
    }
    for acting in ["cc_execute", "cc_execute_list", "cancel_execution"] {
        assert_eq!(
            tool(acting)["annotations"]["readOnlyHint"],
            false,
            "{acting}"
        );
        assert_eq!(
            tool(acting)["annotations"]["destructiveHint"],
            true,
            "{acting}"
        );
    }
}

/// Validates `r`'s structured content against `tool`'s declared output schema.
struct Checker {
    validators: BTreeMap<String, jsonschema::Validator>,
    checked: BTreeMap<String, usize>,
}

impl Checker {
    fn new(tools: &[Value]) -> Self {
        let validators = tools
            .iter()
            .map(|t| {
                let v = jsonschema::options()
                    .should_validate_formats(true)
                    .build(&t["outputSchema"])
                    .unwrap_or_else(|e| {
                        panic!("{}: output schema does not compile: {e}", t["name"])
                    });
                // Not vacuous: every result has fields it must carry.
                assert!(
                    !v.is_valid(&json!({})),
                    "{}: accepts an empty object",
                    t["name"]
                );
                (t["name"].as_str().unwrap().to_string(), v)
            })
            .collect();
        Checker {
            validators,
            checked: BTreeMap::new(),
        }
    }

    fn check(&mut self, tool: &str, r: &CallToolResult) -> Value {
        let content = data(r).clone();
        let errors: Vec<String> = self.validators[tool]
            .iter_errors(&content)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{tool}: the result does not match its output schema:\n{}\n{content:#}",
            errors.join("\n")
        );
        *self.checked.entry(tool.to_string()).or_default() += 1;
        content
    }
}

async fn checked(s: &Server<()>, c: &mut Checker, tool: &str, args: Value) -> Value {
    let r = s.call(tool, args).await;
    c.check(tool, &r)
}

/// Waits (long-polls) until `id` — an execution or a run — has finished.
async fn until_finished(s: &Server<()>, c: &mut Checker, id: &str) -> Value {
    for _ in 0..60 {
        let m = checked(
            s,
            c,
            "monitor_execution",
            json!({"execution_id": id, "wait_secs": 2}),
        )
        .await;
        let run_done = m["runs"][0]["run"]["state"]
            .as_str()
            .is_some_and(|st| !["pending", "running", "waiting_for_usage_reset"].contains(&st));
        let exec_done = m["runs"].as_array().is_some_and(Vec::is_empty)
            && m["executions"][0]["phase"] == "finished";
        if run_done || exec_done {
            return m;
        }
    }
    panic!("{id} did not finish");
}

/// Real results of every tool, in the states that change their shape (success, failures of
/// several kinds, files written, denials, a structured answer, a handle, a queue, a run
/// running, cancelled and finished, evidence verified), match the output schema each tool
/// declares.
#[tokio::test(flavor = "multi_thread")]
async fn real_results_match_the_declared_output_schemas() {
    let s = start((), &[]).await;
    let tools = listed(&s).await;
    let mut c = Checker::new(&tools);

    // cc_execute, blocking: the shapes of a finished result.
    let ok = checked(
        &s,
        &mut c,
        "cc_execute",
        json!({"task": "@fake success text=hi cost=0.01"}),
    )
    .await;
    assert_eq!(ok["status"], "succeeded");
    let id = ok["execution_id"].as_str().unwrap().to_string();
    // What is not known is left out: a `null` would break the contract.
    let mut with_null = ok.clone();
    with_null["session_id"] = Value::Null;
    assert!(!c.validators["cc_execute"].is_valid(&with_null));
    checked(
        &s,
        &mut c,
        "cc_execute",
        json!({"task": "@fake tools write=a.txt content=x\nwrite it"}),
    )
    .await;
    checked(
        &s,
        &mut c,
        "cc_execute",
        json!({"task": "@fake permission_denied\ntry"}),
    )
    .await;
    checked(
        &s,
        &mut c,
        "cc_execute",
        json!({"task": "@fake structured answer=42",
               "json_schema": {"type": "object", "properties": {"answer": {"type": "integer"}}}}),
    )
    .await;
    // Acceptance checks and a repair: the result carries `acceptance` and `repair`.
    let repaired = checked(
        &s,
        &mut c,
        "cc_execute",
        json!({"task": "@fake repairable\nwrite out.txt",
               "accept": {"commands": [["grep", "good", "out.txt"]], "files": [{"path": "out.txt", "matches": "good"}],
                          "validator": "@fake verdict\nout.txt says good"},
               "repair": {"max_attempts": 1}}),
    )
    .await;
    assert_eq!(repaired["status"], "succeeded", "{repaired:#}");
    assert_eq!(
        repaired["acceptance"]["checks"].as_array().map(Vec::len),
        Some(3)
    );
    assert_eq!(repaired["repair"]["repairs"], 1);
    checked(
        &s,
        &mut c,
        "cc_execute",
        json!({"task": "@fake success", "accept": {"files": [{"path": "missing"}]}}),
    )
    .await;
    checked(&s, &mut c, "cc_execute", json!({"task": "@fake crash"})).await;
    checked(
        &s,
        &mut c,
        "cc_execute",
        json!({"task": "@fake usage_limit resets_in=3600"}),
    )
    .await;
    checked(
        &s,
        &mut c,
        "cc_execute",
        json!({"task": "@fake hang", "timeout_secs": 1}),
    )
    .await;

    // wait: false — a handle, then a queued one; monitor one, the list, then cancel both.
    let running = checked(
        &s,
        &mut c,
        "cc_execute",
        json!({"task": "@fake slow secs=30", "wait": false}),
    )
    .await;
    assert_eq!(running["status"], "started");
    let queued = checked(
        &s,
        &mut c,
        "cc_execute",
        json!({"task": "@fake success", "wait": false}),
    )
    .await;
    let (rid, qid) = (
        running["execution_id"].as_str().unwrap().to_string(),
        queued["execution_id"].as_str().unwrap().to_string(),
    );
    checked(
        &s,
        &mut c,
        "monitor_execution",
        json!({"execution_id": rid, "wait_secs": 0.2}),
    )
    .await;
    checked(
        &s,
        &mut c,
        "monitor_execution",
        json!({"execution_id": qid}),
    )
    .await;
    checked(&s, &mut c, "monitor_execution", json!({})).await;
    checked(&s, &mut c, "monitor_execution", json!({"execution_id": id})).await;
    let paused = checked(&s, &mut c, "pause_execution", json!({"execution_id": rid})).await;
    assert_eq!(paused["outcome"], "paused");
    assert_eq!(paused["phase"], "paused");
    let resumed = checked(
        &s,
        &mut c,
        "pause_execution",
        json!({"execution_id": rid, "resume": true}),
    )
    .await;
    assert_eq!(resumed["outcome"], "resumed");
    let cancelled = checked(&s, &mut c, "cancel_execution", json!({"execution_id": qid})).await;
    assert_eq!(cancelled["outcome"], "cancelled");
    checked(&s, &mut c, "cancel_execution", json!({"execution_id": rid})).await;
    checked(&s, &mut c, "cancel_execution", json!({"execution_id": rid})).await;

    // A run: started, followed while it runs, cancelled, resumed to its end; a failing run.
    let run = checked(
        &s,
        &mut c,
        "cc_execute_list",
        json!({"tasks": [
            {"id": "a", "task": "@fake success text=alpha"},
            {"id": "b", "task": "@fake slow secs=30\nbeta after {{tasks.a.result}}"}
        ], "budget_usd": 5, "defaults": {"permission_mode": "acceptEdits", "allowed_tools": ["Bash(pytest:*)"]}}),
    )
    .await;
    let run_id = run["run_id"].as_str().unwrap().to_string();
    for _ in 0..60 {
        let m = checked(
            &s,
            &mut c,
            "monitor_execution",
            json!({"run_id": run_id, "wait_secs": 2}),
        )
        .await;
        if m["runs"][0]["run"]["current_task"] == "b"
            && m["runs"][0]["current_execution"].is_object()
        {
            break;
        }
    }
    checked(&s, &mut c, "monitor_execution", json!({})).await;
    let stopped = checked(&s, &mut c, "cancel_execution", json!({"run_id": run_id})).await;
    assert_eq!(stopped["outcome"], "cancelled");
    checked(&s, &mut c, "cancel_execution", json!({"run_id": run_id})).await;
    let failed = checked(
        &s,
        &mut c,
        "cc_execute_list",
        json!({"tasks": ["@fake crash", "@fake success"], "wait": true, "failure_policy": "continue"}),
    )
    .await;
    assert_eq!(failed["state"], "failed");
    until_finished(&s, &mut c, failed["run_id"].as_str().unwrap()).await;

    // The read-only tools.
    checked(&s, &mut c, "check_websocket_status", json!({})).await;
    checked(&s, &mut c, "get_execution_history", json!({})).await;
    checked(
        &s,
        &mut c,
        "get_execution_history",
        json!({"status": "succeeded", "include_stats": false}),
    )
    .await;
    checked(
        &s,
        &mut c,
        "get_task_complexity",
        json!({"task": "Refactor the parser in src/parse.rs and run its tests"}),
    )
    .await;
    checked(
        &s,
        &mut c,
        "get_task_complexity",
        json!({"task": "What is 2 + 2?"}),
    )
    .await;
    let tasks = json!([
        {"id": "a", "task": "Write the parser in src/parser.rs", "depends_on": ["b"]},
        {"id": "b", "task": "Write the lexer in src/lexer.rs", "depends_on": ["a"]},
        {"id": "a", "task": "Then do what task 3 said"}
    ]);
    checked(&s, &mut c, "validate_task_list", json!({"tasks": tasks})).await;
    checked(
        &s,
        &mut c,
        "validate_task_list",
        json!({"tasks": ["Write src/a.rs", "Test src/a.rs"]}),
    )
    .await;
    checked(
        &s,
        &mut c,
        "suggest_execution_strategy",
        json!({"tasks": tasks}),
    )
    .await;
    checked(
        &s,
        &mut c,
        "suggest_execution_strategy",
        json!({"tasks": [{"id": "x", "task": "Write src/x.rs"}, {"id": "y", "task": "Test src/x.rs", "depends_on": ["x"]}, "Document it"]}),
    )
    .await;
    checked(
        &s,
        &mut c,
        "verify_execution",
        json!({"execution_id": id, "markdown": true}),
    )
    .await;
    checked(&s, &mut c, "verify_execution", json!({"last_n": 5})).await;
    checked(
        &s,
        &mut c,
        "verify_execution",
        json!({"execution_id": run_id}),
    )
    .await;
    checked(&s, &mut c, "get_hook_status", json!({})).await;

    let unchecked: Vec<&String> = c
        .validators
        .keys()
        .filter(|t| !c.checked.contains_key(*t))
        .collect();
    assert!(
        unchecked.is_empty(),
        "no real result checked for {unchecked:?}"
    );
}

/// The model reads the whole tool list in every session: it stays under 30 KB (30,000 bytes)
/// as the client receives it — the `tools/list` response line, envelope included.
#[test]
fn the_tool_list_a_client_receives_is_under_30_kb() {
    let mut s = crate::support::raw_stdio::Server::start();
    let id = s.request("tools/list", serde_json::json!({}));
    let answer = s
        .until_answer(id)
        .into_iter()
        .find(|m| m["id"] == id)
        .expect("an answer");
    let bytes = serde_json::to_string(&answer).unwrap().len();
    assert!(answer["result"]["tools"].as_array().unwrap().len() >= 12);
    assert!(bytes <= 30_000, "tools/list is {bytes} bytes");
}
