//! Issue 17's "done when", end to end: the REAL Claude Code CLI as the MCP host, its model
//! played by the fake Anthropic API, drives a task list through `cc-executor mcp --redis-url
//! <real redis> --placement pool` (started by the CLI from its `--mcp-config`), and the tasks
//! run on two real `cc-executor worker` processes, in the list's order, each result in the
//! shared Redis history.
//!
//! The host's "model": `cc_execute_list` (`wait: false`) → `monitor_execution` on the `run_id`
//! (long-poll, passing back `since_version`) until the run is neither pending nor running → a
//! final text quoting the run's state and its tasks' answers.
//!
//! Layout: the CLI's isolated root (`IsolatedEnv::root`) is the workers' root too — their
//! allowed root (it holds the CLI's work dir, which is the MCP server's cwd and so the tasks'
//! cwd), their data dirs and logs, and `rec/`, where the fake claude they run records each
//! invocation with its parent's pid.

use std::ffi::OsString;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::support::claude_host::{self, is_host_request, json_objects, last_tool_result};
use crate::support::fake_anthropic::{FakeApi, Reply, Script, last_user_text};
use crate::support::fixtures::{fake_claude_bin, invocations};
use crate::support::real_claude::{IsolatedEnv, run_claude};

const CC_EXECUTE_LIST: &str = "mcp__cc-executor__cc_execute_list";
const MONITOR: &str = "mcp__cc-executor__monitor_execution";
/// Tasks in the list.
const TASKS: usize = 3;
/// `wait_secs` the host passes to `monitor_execution`.
const MONITOR_WAIT_SECS: u64 = 20;
/// Give up after this many polls (a bug would otherwise loop until the timeout).
const MAX_MONITOR_CALLS: usize = 20;
/// The whole host run: CLI start, MCP handshake, three 0.3 s tasks through the pool, a few
/// turns.
const RUN_TIMEOUT: Duration = Duration::from_secs(90);
/// The final text starts with this; `HOST-GAVE-UP` when the script met something unexpected.
const FINAL_PREFIX: &str = "HOST-LIST-DONE";

fn task(n: usize) -> String {
    format!("@fake slow secs=0.3 text=answer-{n}\nhost list marker-{n}")
}

/// One reply of the host's model and the tool result that led to it.
#[derive(Debug, Clone)]
struct Step {
    /// The tool the reply called, or `None` for the final text (then `input` is the text).
    called: Option<String>,
    input: Value,
    after_result: Option<(String, String, bool)>,
}

/// The host model's script; every reply is recorded in `steps`.
fn host_reply(body: &Value, steps: &Mutex<Vec<Step>>) -> Reply {
    let after_result = last_tool_result(body);
    let record = |called: Option<&str>, input: Value| {
        steps.lock().unwrap().push(Step {
            called: called.map(str::to_string),
            input,
            after_result: after_result.clone(),
        });
    };
    let finish = |text: String| {
        record(None, json!(text));
        Reply::text(text)
    };
    let give_up = |why: String| finish(format!("HOST-GAVE-UP: {why}"));
    let monitor = |run_id: &str, since: u64| {
        let input =
            json!({"run_id": run_id, "wait_secs": MONITOR_WAIT_SECS, "since_version": since});
        record(Some(MONITOR), input.clone());
        Reply::tool_use(MONITOR, input)
    };
    let Some((tool, content, is_error)) = after_result.clone() else {
        let tasks: Vec<String> = (1..=TASKS).map(task).collect();
        let input = json!({"tasks": tasks, "wait": false});
        record(Some(CC_EXECUTE_LIST), input.clone());
        return Reply::tool_use(CC_EXECUTE_LIST, input);
    };
    if is_error {
        return give_up(format!("{tool} returned an error: {content}"));
    }
    let Some(answer) = json_objects(&content).into_iter().next() else {
        return give_up(format!("{tool} answered no JSON: {content}"));
    };
    match tool.as_str() {
        CC_EXECUTE_LIST => match answer["run_id"].as_str() {
            Some(run_id) => monitor(run_id, 0),
            None => give_up(format!("no run_id in: {content}")),
        },
        MONITOR => {
            let run = &answer["runs"][0]["run"];
            let (Some(run_id), Some(state)) = (run["run_id"].as_str(), run["state"].as_str())
            else {
                return give_up(format!("no run in the monitor result: {content}"));
            };
            if !["pending", "running"].contains(&state) {
                let answers: Vec<&str> = run["tasks"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| t["result_summary"].as_str().unwrap_or("<none>"))
                    .collect();
                return finish(format!(
                    "{FINAL_PREFIX}: run {run_id} is {state}; answers: {}",
                    answers.join(", ")
                ));
            }
            let polls = steps
                .lock()
                .unwrap()
                .iter()
                .filter(|s| s.called.as_deref() == Some(MONITOR))
                .count();
            if polls >= MAX_MONITOR_CALLS {
                return give_up(format!("run still {state} after {polls} polls"));
            }
            match answer["version"].as_u64() {
                Some(v) => monitor(run_id, v),
                None => give_up(format!("no version in the monitor result: {content}")),
            }
        }
        _ => give_up(format!("unexpected tool result from {tool:?}: {content}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_as_host_runs_a_task_list_on_two_pool_workers_in_order() {
    let redis = RedisServer::start();
    let url = redis.url();
    let steps: Arc<Mutex<Vec<Step>>> = Arc::default();
    let script = {
        let steps = steps.clone();
        Script::respond(move |body| {
            if is_host_request(body) {
                host_reply(body, &steps)
            } else {
                Reply::text(format!(
                    "UNEXPECTED non-host request to the fake API: {}",
                    last_user_text(body)
                ))
            }
        })
    };
    let api = FakeApi::start(script).await;
    let mut env = IsolatedEnv::new();
    // Without this, MCP tools are deferred behind ToolSearch (see claude_orchestrator.rs).
    env.set_var("ENABLE_TOOL_SEARCH", "false");
    let root = env.root().canonicalize().unwrap();
    let workers: Vec<Worker> = (1..=2)
        .map(|i| Worker::start(&root, &url, &format!("w{i}"), 5000, &[]))
        .collect();
    let worker_pids: Vec<i64> = workers.iter().map(|w| i64::from(w.pid())).collect();
    let args: Vec<OsString> = vec![
        "--claude-bin".into(),
        fake_claude_bin().into(),
        "--data-dir".into(),
        root.join("cc-executor-data").into(),
        "--allowed-root".into(),
        env.workdir().into(),
        "--redis-url".into(),
        url.clone().into(),
        "--placement".into(),
        "pool".into(),
        "mcp".into(),
    ];
    let config = claude_host::write_mcp_config(&env, &args);
    let run = run_claude(
        &env,
        &api.base_url,
        &[
            "--mcp-config",
            config.to_str().unwrap(),
            "--strict-mcp-config",
            "--allowedTools",
            CC_EXECUTE_LIST,
            MONITOR,
            "--max-turns",
            "40",
        ],
        "Run the task list through cc-executor's worker pool and tell me how it went.",
        RUN_TIMEOUT,
    )
    .await;
    let steps = steps.lock().unwrap().clone();
    let logs = || {
        workers
            .iter()
            .map(|w| format!("--- {} log ---\n{}", w.name, w.log_text()))
            .collect::<Vec<_>>()
            .join("\n")
    };
    for (i, s) in steps.iter().enumerate() {
        if let Some((tool, content, is_error)) = &s.after_result {
            eprintln!("step {i}: after {tool} (is_error {is_error}) the model saw:\n  {content}");
        }
        eprintln!("step {i}: host replies {:?} {}", s.called, s.input);
    }
    eprintln!("host run took {:?}, exit {:?}", run.elapsed, run.status);

    // ---- the CLI ran the script to its end and exited 0 with the final text --------------
    assert!(run.status.success(), "{run}\n{}", logs());
    let result = run.expect_result();
    assert_eq!(result["is_error"], false, "{result}\n{run}");
    let final_text = steps
        .last()
        .filter(|s| s.called.is_none())
        .and_then(|s| s.input.as_str())
        .unwrap_or_else(|| panic!("the host's model gave no final text\n{run}"));
    assert!(
        final_text.starts_with(FINAL_PREFIX),
        "{final_text}\n{run}\n{}",
        logs()
    );
    assert_eq!(result["result"], final_text, "{run}");
    let called: Vec<&str> = steps.iter().filter_map(|s| s.called.as_deref()).collect();
    assert_eq!(called[0], CC_EXECUTE_LIST, "{called:?}");
    assert!(
        called[1..].iter().all(|c| *c == MONITOR) && called.len() >= 2,
        "{called:?}"
    );

    // ---- cc_execute_list answered at once; the monitor followed that run to its end ------
    let (_, started, _) = steps[1].after_result.clone().unwrap();
    let started = json_objects(&started).into_iter().next().unwrap();
    let run_id = started["run_id"].as_str().unwrap().to_string();
    assert!(
        ["pending", "running"].contains(&started["state"].as_str().unwrap()),
        "cc_execute_list(wait:false) should answer before the run ends: {started}"
    );
    for s in steps
        .iter()
        .filter(|s| s.called.as_deref() == Some(MONITOR))
    {
        assert_eq!(s.input["run_id"], run_id.as_str());
    }
    let (tool, last, _) = steps.last().unwrap().after_result.clone().unwrap();
    assert_eq!(tool, MONITOR);
    let last = json_objects(&last).into_iter().next().unwrap();
    let view = &last["runs"][0]["run"];
    assert_eq!(view["state"], "succeeded", "{last}");
    assert!(final_text.contains("is succeeded"), "{final_text}");
    let tasks = view["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), TASKS, "{view}");
    for (i, t) in tasks.iter().enumerate() {
        assert_eq!(t["status"], "succeeded", "{view}");
        assert!(
            final_text.contains(&format!("answer-{}", i + 1)),
            "{final_text}"
        );
    }

    // ---- each task ran once, on a worker process, in the list's order --------------------
    let recorded = invocations(&root.join("rec"));
    let (mut starts, mut ran_on) = (Vec::new(), Vec::new());
    for n in 1..=TASKS {
        let marker = format!("host list marker-{n}");
        let ran: Vec<&Value> = recorded
            .iter()
            .filter(|i| i["stdin"].as_str().unwrap_or("").contains(&marker))
            .collect();
        assert_eq!(ran.len(), 1, "task {n} ran {} times: {ran:?}", ran.len());
        let ppid = ran[0]["ppid"].as_i64().unwrap();
        assert!(
            worker_pids.contains(&ppid),
            "task {n} was not run by a worker ({worker_pids:?}): {}",
            ran[0]
        );
        starts.push(ran[0]["time_ms"].as_u64().unwrap());
        ran_on.push(ppid);
    }
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
    eprintln!("workers {worker_pids:?}; tasks ran on {ran_on:?}, started at (ms) {starts:?}");

    // ---- every result is in the shared Redis history, under the run's execution ids ------
    for (i, t) in tasks.iter().enumerate() {
        let id = t["execution_id"].as_str().unwrap().to_string();
        let rec = tokio::task::spawn_blocking({
            let (root, url) = (root.clone(), url.clone());
            move || history_record(&root, &url, &id)
        })
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("task {} is not in the shared history", i + 1));
        assert_eq!(rec["result"]["status"], "succeeded", "{rec}");
        assert_eq!(
            rec["result"]["result"],
            format!("answer-{}", i + 1),
            "{rec}"
        );
    }
    assert!(run.elapsed < RUN_TIMEOUT);
}
