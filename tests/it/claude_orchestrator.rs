//! Claude Code as the real orchestrator: the REAL Claude Code CLI (2.1.331) runs as the MCP
//! HOST of the BUILT `cc-executor mcp` server (configured with `--mcp-config <file>` +
//! `--strict-mcp-config`), its model played by the fake Anthropic API
//! (`tests/it/support/fake_anthropic/`). The host's "model" starts a worker with `cc_execute`
//! (`wait: false`), follows it with `monitor_execution` (long-poll, passing back
//! `since_version`) until it has finished, and quotes the worker's answer. The worker is the
//! fake claude fixture (first test) or the real CLI against the same fake API (second test).
//!
//! Findings on 2.1.331 as host (see also the comments at the code that depends on them):
//! * Naming: `mcp__<server>__<tool>` with the mcp-config key verbatim, hyphen included:
//!   `mcp__cc-executor__cc_execute`, `…__monitor_execution`, `…__cancel_execution`,
//!   `…__check_websocket_status`. With `ENABLE_TOOL_SEARCH=false` all four are in the first
//!   request's `tools` (after the built-ins), with our `inputSchema` passed through verbatim
//!   (`$schema`, `"type": ["string","null"]`, `format: "uint64"`…). `system/init` lists them in
//!   `tools`, the server as `{"name":"cc-executor","status":"connected","source":"dynamic"}`,
//!   and our MCP prompt as the slash command `mcp__cc-executor__cc_execute`. `--allowedTools`
//!   with the full names is enough: no permission prompt, `tool_result_meta.permission_decision
//!   = {decision:"accept", source:"config", reason_type:"rule"}`.
//! * What the model sees: when a result has `structuredContent` (and no `isError`), the
//!   tool_result `content` is a single STRING, `JSON.stringify(structuredContent)` (keys sorted
//!   as serde_json emits them) — our human-readable text block ("started execution …",
//!   "cc_execute <id>: …", the monitor's one-line summary) is DROPPED. With `isError` and no
//!   structured content, the model gets our text and `is_error: true`; the stream-json
//!   `tool_use_result` is then "Error: <text>". The stream-json `tool_use_result` of a
//!   structured result is `{content: <same string>, structuredContent: {…}}`.
//! * Claude Code compiles each outputSchema with ajv and validates `structuredContent` against
//!   it (a mismatch would fail the call: "Structured content does not match the tool's output
//!   schema: …"). Ours pass (both `cc_execute` shapes: the untagged finished/started union, and
//!   `monitor_execution`), but ajv prints one stderr warning per schemars integer format per
//!   compile — `unknown format "uint64" ignored in schema at path "#/properties/duration_ms"`
//!   (also `uint32`, `uint`; 66 lines per run before `mcp::schema` stripped those formats).
//! * `tool_use_meta.display_name` is our `title` annotation for cc_execute ("Run a task in a
//!   fresh Claude Code process") and a title-cased tool name for monitor ("Monitor Execution").
//! * Timing: a `wait: false` call round-trips in 0.1-0.5 s; a monitor long-poll on the 3 s fake
//!   worker returns once, ~2.9 s later, at the finish (`changed: true`; the fake `slow`
//!   scenario emits nothing in between). The real worker (~1 s) makes the long-poll return on
//!   each change: "started: session …", "tool: Write worker-out.txt", finished — 3 monitor
//!   calls, each answered as soon as the change happened. `cost_usd_so_far` stays null until
//!   the finish. Whole runs take ~3-5 s each.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::claude_host::{self, SERVER, is_host_request, json_objects, last_tool_result};
use crate::support::fake_anthropic::*;
use crate::support::fixtures::fake_claude_bin;
use crate::support::real_claude::*;
use serde_json::{Value, json};

/// The whole host run (CLI start, MCP handshake, a few-second worker, a few turns).
const RUN_TIMEOUT: Duration = Duration::from_secs(50);
/// The answer the worker gives; the host must quote it.
const WORKER_TEXT: &str = "WORKER-RESULT-42";
const CC_EXECUTE: &str = "mcp__cc-executor__cc_execute";
const MONITOR: &str = "mcp__cc-executor__monitor_execution";
/// `wait_secs` the host passes to `monitor_execution`.
const MONITOR_WAIT_SECS: u64 = 20;
/// Give up monitoring after this many polls (a bug would otherwise loop until the timeout).
const MAX_MONITOR_CALLS: usize = 20;

/// What the host responder saw and decided, for the assertions and the log.
#[derive(Debug, Clone)]
struct Step {
    /// The tool the reply called (full MCP name), or `None` for the final text.
    called: Option<String>,
    input: Value,
    /// The last tool result of the request that led to this reply: (tool name, content as the
    /// model sees it, is_error).
    after_result: Option<(String, String, bool)>,
}

/// The raw `content` of the last `tool_result` block (string or block list, as sent).
fn last_tool_result_raw(body: &Value) -> Value {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["content"].as_array())
        .flatten()
        .rfind(|b| b["type"] == "tool_result")
        .map(|b| b["content"].clone())
        .unwrap_or(Value::Null)
}

/// The first UUID (8-4-4-4-12 hex) in `text`.
fn find_uuid(text: &str) -> Option<String> {
    (0..text.len().saturating_sub(35)).find_map(|i| {
        let cand = text.get(i..i + 36)?;
        let ok = cand.char_indices().all(|(j, c)| match j {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
        ok.then(|| cand.to_string())
    })
}

/// The execution id in a `cc_execute` / `monitor_execution` result as the model sees it: the
/// `execution_id` member of the JSON — NOT the first UUID in the text: the JSON's keys come
/// sorted, so a finished result's `attempts[0].session_id` precedes `execution_id` (our first
/// version of this test monitored the worker's session id and got "unknown execution id").
fn execution_id_in(content: &str) -> Option<String> {
    json_objects(content)
        .iter()
        .find_map(|v| {
            v["execution_id"]
                .as_str()
                .or_else(|| v["executions"][0]["execution_id"].as_str())
                .map(str::to_string)
        })
        .or_else(|| find_uuid(content))
}

/// From a `monitor_execution` result as the model sees it: `Some(answer)` once the execution
/// has finished (`answer` = the worker's `result`), `None` while it is queued or running.
fn finished_answer(content: &str) -> Option<String> {
    json_objects(content).iter().find_map(|v| {
        let e = v["executions"].as_array()?.first()?;
        (e["phase"] == "finished").then(|| {
            e["result"]["result"]
                .as_str()
                .unwrap_or("<finished without result text>")
                .to_string()
        })
    })
}

/// The host model: cc_execute(task, wait:false) → monitor_execution (since_version) until
/// finished → "The worker said: <result>". Anything unexpected ends the run with a
/// `HOST-GAVE-UP: …` text that the assertions print.
fn host_reply(body: &Value, task: &str, steps: &Mutex<Vec<Step>>) -> Reply {
    let after_result = last_tool_result(body);
    let record = |called: Option<&str>, input: Value| {
        steps.lock().unwrap().push(Step {
            called: called.map(str::to_string),
            input,
            after_result: after_result.clone(),
        });
    };
    let give_up = |text: String| {
        let text = format!("HOST-GAVE-UP: {text}");
        record(None, json!(text));
        Reply::text(text)
    };
    let Some((tool, content, is_error)) = after_result.clone() else {
        let input = json!({"task": task, "wait": false});
        record(Some(CC_EXECUTE), input.clone());
        return Reply::tool_use(CC_EXECUTE, input);
    };
    if is_error {
        return give_up(format!("{tool} returned an error: {content}"));
    }
    let monitor_calls = steps
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.called.as_deref() == Some(MONITOR))
        .count();
    // Pass back the last answer's `version` as `since_version` (as the tool describes), so a
    // change between two polls is not missed.
    let since = json_objects(&content)
        .iter()
        .find_map(|v| v["executions"].is_array().then(|| v["version"].as_u64())?);
    let next_monitor = |id: String| {
        let mut input = json!({"execution_id": id, "wait_secs": MONITOR_WAIT_SECS});
        if let Some(v) = since {
            input["since_version"] = json!(v);
        }
        record(Some(MONITOR), input.clone());
        Reply::tool_use(MONITOR, input)
    };
    match tool.as_str() {
        CC_EXECUTE => match execution_id_in(&content) {
            Some(id) => next_monitor(id),
            None => give_up(format!("no execution_id in: {content}")),
        },
        MONITOR => {
            if let Some(answer) = finished_answer(&content) {
                let text = format!("The worker said: {answer}");
                record(None, json!(text));
                return Reply::text(text);
            }
            if monitor_calls >= MAX_MONITOR_CALLS {
                return give_up(format!("still not finished after {monitor_calls} polls"));
            }
            match execution_id_in(&content) {
                Some(id) => next_monitor(id),
                None => give_up(format!("no execution_id in monitor result {content}")),
            }
        }
        _ => give_up(format!("unexpected tool result from {tool:?}: {content}")),
    }
}

/// Writes the mcp-config file that makes Claude Code start our server with `worker_bin` as
/// the CLI it runs tasks with.
fn write_mcp_config(env: &IsolatedEnv, worker_bin: &Path) -> PathBuf {
    let data = env.root().join("cc-executor-data");
    let args: [&OsStr; 7] = [
        "--claude-bin".as_ref(),
        worker_bin.as_os_str(),
        "--data-dir".as_ref(),
        data.as_os_str(),
        "--allowed-root".as_ref(),
        env.workdir().as_os_str(),
        "mcp".as_ref(),
    ];
    claude_host::write_mcp_config(env, args)
}

/// One orchestrated run and what the fake API saw.
struct Orchestration {
    env: IsolatedEnv,
    run: ClaudeRun,
    steps: Vec<Step>,
    /// Tool names of the host's first request.
    host_tools: Vec<String>,
    /// Time between consecutive host requests (≈ the duration of the tool call in between).
    host_gaps: Vec<Duration>,
    /// Request bodies of worker CLIs (requests without our MCP tools).
    worker_requests: Vec<Value>,
}

/// Runs the real CLI as host of our server; worker requests (if the worker is the real CLI
/// too) are answered by `worker`.
async fn orchestrate(
    task: &str,
    worker_bin: &Path,
    worker: impl Fn(&Value) -> Reply + Send + Sync + 'static,
) -> Orchestration {
    let steps: Arc<Mutex<Vec<Step>>> = Arc::default();
    let script = {
        let (steps, task) = (steps.clone(), task.to_string());
        Script::respond(move |body| {
            if is_host_request(body) {
                host_reply(body, &task, &steps)
            } else {
                worker(body)
            }
        })
    };
    let api = FakeApi::start(script).await;
    let mut env = IsolatedEnv::new();
    // Without this, MCP tools are deferred behind ToolSearch and the first request's `tools`
    // would not list ours.
    env.set_var("ENABLE_TOOL_SEARCH", "false");
    let config = write_mcp_config(&env, worker_bin);
    let run = run_claude(
        &env,
        &api.base_url,
        &[
            "--mcp-config",
            config.to_str().unwrap(),
            "--strict-mcp-config",
            "--allowedTools",
            CC_EXECUTE,
            MONITOR,
            "--max-turns",
            "30",
        ],
        "Run the worker task through cc-executor and tell me what it said.",
        RUN_TIMEOUT,
    )
    .await;

    let host: Vec<Recorded> = api
        .log()
        .into_iter()
        .filter(|r| r.kind == RequestKind::Main && is_host_request(&r.body))
        .collect();
    let host_tools: Vec<String> = host
        .first()
        .and_then(|r| r.body["tools"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect();
    let worker_requests: Vec<Value> = api
        .main_requests()
        .into_iter()
        .filter(|b| !is_host_request(b))
        .collect();

    // ---- the log: what Claude Code showed the model --------------------------------------
    eprintln!("tools in the host's first request: {host_tools:?}");
    for t in host
        .first()
        .and_then(|r| r.body["tools"].as_array())
        .into_iter()
        .flatten()
        .filter(|t| t["name"].as_str().is_some_and(|n| n.starts_with("mcp__")))
    {
        eprintln!("MCP tool as sent to the model: {t}");
    }
    let steps = steps.lock().unwrap().clone();
    for (i, s) in steps.iter().enumerate() {
        if let Some((tool, content, is_error)) = &s.after_result {
            eprintln!("step {i}: after {tool} (is_error {is_error}) the model saw:\n  {content}");
        }
        eprintln!("step {i}: host replies {:?} {}", s.called, s.input);
    }
    for (i, r) in host.iter().enumerate().skip(1) {
        eprintln!(
            "host request {i}: raw last tool_result content = {}",
            last_tool_result_raw(&r.body)
        );
    }
    let host_gaps: Vec<Duration> = host.windows(2).map(|w| w[1].at - w[0].at).collect();
    eprintln!(
        "host request times: {:?}",
        host.iter().map(|r| r.at).collect::<Vec<_>>()
    );
    eprintln!("gaps between host requests (≈ tool call durations): {host_gaps:?}");
    eprintln!("worker requests: {}", worker_requests.len());
    eprintln!("host run took {:?}, exit {:?}", run.elapsed, run.status);
    Orchestration {
        env,
        run,
        steps,
        host_tools,
        host_gaps,
        worker_requests,
    }
}

/// The assertions both tests share; returns the finished execution as the last monitor call
/// showed it to the model.
fn assert_orchestrated(o: &Orchestration) -> Value {
    let run = &o.run;

    // ---- the host connected to our server and offered its tools --------------------------
    let init = run.lines_of("system", Some("init"));
    let init = init
        .first()
        .unwrap_or_else(|| panic!("no init line\n{run}"));
    let server = init["mcp_servers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == SERVER)
        .unwrap_or_else(|| panic!("{SERVER} not in init.mcp_servers: {}", init["mcp_servers"]));
    assert_eq!(server["status"], "connected", "init line: {init}");
    let init_tools: Vec<&str> = init["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str())
        .collect();
    assert!(
        init_tools.contains(&CC_EXECUTE) && init_tools.contains(&MONITOR),
        "init.tools lacks our tools: {init_tools:?}"
    );
    assert!(
        o.host_tools.iter().any(|t| t == CC_EXECUTE) && o.host_tools.iter().any(|t| t == MONITOR),
        "the host's first request lacks our tools (deferred behind ToolSearch?): {:?}",
        o.host_tools
    );

    // ---- our server's answers were accepted ----------------------------------------------
    // Claude Code validates structuredContent against the tool's outputSchema (ajv); a
    // mismatch fails the call with "Structured content does not match the tool's output
    // schema: …".
    let stderr_of = |needle: &str| run.stderr.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(
        stderr_of("does not match the tool's output schema"),
        0,
        "{run}"
    );
    assert_eq!(stderr_of("Failed to valid"), 0, "{run}");
    // Our schemas carry no non-standard formats (`uint64`, …) that ajv would warn about.
    assert_eq!(stderr_of("unknown format"), 0, "{run}");

    // ---- the conversation went as scripted -----------------------------------------------
    let steps = &o.steps;
    let called: Vec<&str> = steps.iter().filter_map(|s| s.called.as_deref()).collect();
    assert_eq!(
        called.first(),
        Some(&CC_EXECUTE),
        "calls: {called:?}\n{run}"
    );
    assert_eq!(steps[0].input["wait"], false);
    let (tool, started, is_error) = steps
        .get(1)
        .and_then(|s| s.after_result.clone())
        .unwrap_or_else(|| panic!("no cc_execute result reached the model\n{run}"));
    assert_eq!(tool, CC_EXECUTE);
    assert!(!is_error, "cc_execute failed: {started}\n{run}");
    // What the model sees of `cc_execute(wait:false)`: the JSON of structuredContent only.
    let started_json = json_objects(&started)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("the model did not get JSON from cc_execute: {started:?}"));
    assert_eq!(
        started_json["status"],
        "started",
        "cc_execute with wait:false must answer at once with {{execution_id, status:\"started\", \
         …}}; it took {:?} and answered: {started}",
        o.host_gaps.first()
    );
    assert!(started_json["next_step"].is_string(), "{started_json}");
    let id = started_json["execution_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no execution_id: {started_json}"));
    assert!(
        called.len() >= 2 && called[1..].iter().all(|c| *c == MONITOR),
        "expected cc_execute then monitor_execution calls: {called:?}\n{run}"
    );
    for s in &steps[1..] {
        if s.called.as_deref() == Some(MONITOR) {
            assert_eq!(s.input["execution_id"], id, "monitored the wrong id");
        }
    }

    // ---- the host's answer quotes the worker ---------------------------------------------
    let result = run.expect_result();
    assert_eq!(result["is_error"], false, "host result: {result}\n{run}");
    let text = result["result"].as_str().unwrap_or_default();
    assert!(
        text.contains(WORKER_TEXT) && !text.contains("HOST-GAVE-UP"),
        "host result does not quote the worker: {text:?}\n{run}"
    );
    assert!(
        run.lines_of("system", Some("permission_denied")).is_empty(),
        "a tool was denied\n{run}"
    );

    // ---- no MCP call was long ------------------------------------------------------------
    // Host request N+1 is sent when the tool call answered by request N returns: the gap is
    // the tool call's duration plus the fake's streaming and the CLI's turn overhead.
    assert_eq!(
        o.host_gaps.len(),
        called.len(),
        "one host request per tool result"
    );
    assert!(
        o.host_gaps[0] < Duration::from_secs(2),
        "cc_execute(wait:false) took {:?}",
        o.host_gaps[0]
    );
    for g in &o.host_gaps[1..] {
        assert!(
            *g < Duration::from_secs(MONITOR_WAIT_SECS / 2),
            "a monitor call ran {g:?}: it should return when the execution changes/finishes"
        );
    }
    // The last monitor call returned because the execution finished, long before its wait,
    // and carried the full result.
    let (tool, last, _) = steps.last().unwrap().after_result.clone().unwrap();
    assert_eq!(tool, MONITOR);
    let last = json_objects(&last)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("monitor result is not JSON: {last}"));
    let exec = last["executions"][0].clone();
    assert_eq!(exec["phase"], "finished", "{last}");
    assert_eq!(exec["status"], "succeeded", "{last}");
    assert_eq!(exec["result"]["status"], "succeeded", "{last}");
    let waited = last["waited_ms"].as_u64().unwrap_or(u64::MAX);
    assert!(waited < MONITOR_WAIT_SECS * 1000 / 2, "{last}");
    // The long-poll held the calls while the worker ran: the host did not busy-poll (a host
    // round trip costs ~50-150 ms, so a busy poller would make dozens of calls).
    let monitor_calls = called.len() - 1;
    assert!(
        monitor_calls <= 8,
        "{monitor_calls} monitor calls: the long-poll does not wait"
    );
    assert!(run.elapsed < RUN_TIMEOUT);
    exec
}

/// Host = real CLI, worker = the fake claude fixture (a 3 s task).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_orchestrates_a_fake_worker_through_cc_execute_and_monitor() {
    let task = format!("@fake slow secs=3 text={WORKER_TEXT}\nsay {WORKER_TEXT}");
    let o = orchestrate(&task, &fake_claude_bin(), |body| {
        Reply::text(format!(
            "UNEXPECTED non-host request to the fake API: {}",
            last_user_text(body)
        ))
    })
    .await;
    assert!(
        o.worker_requests.is_empty(),
        "the fake worker made API requests?"
    );
    let exec = assert_orchestrated(&o);
    assert_eq!(exec["result"]["result"], WORKER_TEXT);
    // The worker slept 3 s: the execution took that long, yet no tool call did.
    assert!(exec["elapsed_ms"].as_u64().unwrap_or(0) >= 3000, "{exec}");
}

/// Host AND worker = the real CLI, both against the same fake API: the responder tells them
/// apart by our MCP tools in the request (the worker CLI is started by our server without
/// any MCP config). The worker writes a file, then answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_orchestrates_a_real_claude_worker() {
    let o = orchestrate(
        "Write worker-out.txt, then answer with the marker.",
        &claude_bin(),
        |body| {
            if tool_results(body).is_empty() {
                Reply::write_file("worker-out.txt", "written by the worker\n")
            } else {
                Reply::text(WORKER_TEXT)
            }
        },
    )
    .await;
    assert!(
        o.worker_requests.len() >= 2,
        "expected the worker's write turn and answer turn, saw {} worker requests\n{}",
        o.worker_requests.len(),
        o.run
    );
    assert!(
        all_text(&o.worker_requests[0]).contains("Write worker-out.txt"),
        "the worker did not get the task as its prompt"
    );
    let exec = assert_orchestrated(&o);
    assert_eq!(exec["result"]["result"], WORKER_TEXT, "{exec}");
    let written = o.env.workdir().join("worker-out.txt");
    assert_eq!(
        std::fs::read_to_string(&written).ok().as_deref(),
        Some("written by the worker\n"),
        "the worker's file at {}",
        written.display()
    );
    let files = exec["result"]["files_written"].to_string();
    assert!(files.contains("worker-out.txt"), "files_written: {files}");
    assert_eq!(exec["tools_used"]["Write"], 1, "{exec}");
}
