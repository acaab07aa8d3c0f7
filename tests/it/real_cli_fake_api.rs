//! The REAL Claude Code CLI (2.1.331, `scripts/provision`) run directly — no shell, prompt on
//! stdin, `-p --output-format stream-json --verbose` — against the fake Anthropic API of
//! `tests/it/support/fake_anthropic/` on loopback, in an isolated HOME/TMPDIR. These tests prove
//! the fake is faithful enough for the CLI and pin down the real behaviour we depend on.
//!
//! Observed on 2.1.331 (also summarised in the assertions below):
//! * Startup: the first `/v1/messages` request arrives ~0.1 s after spawn when run alone,
//!   0.6–2.9 s when 5–8 CLIs start at once. A trivial run takes 0.5–3 s.
//! * Traffic with `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`: only
//!   `POST /v1/messages?beta=true` with `"stream": true` — no side requests (no title, quota,
//!   Bash-prefix or token-count calls), no other endpoints. No `~/.claude.json` seeding is
//!   needed. Main requests carry `x-api-key`, `anthropic-version: 2023-06-01`, an
//!   `anthropic-beta` list, `x-claude-code-session-id`, and a `system` block list whose second
//!   block is "You are a Claude agent, built on Anthropic's Claude Agent SDK."; sub-agent
//!   requests add `cc_is_subagent=true` to the first (billing-header) system block. The stdin
//!   prompt arrives as the last text block of the first user message, after a
//!   `<system-reminder>` block; `messages` also holds a `role: "system"` environment message.
//! * Requests list 12 tools (`Agent, Bash, Edit, ListAgents, Read, ReportFindings,
//!   ScheduleWakeup, Skill, ToolSearch, Workflow, DeferredToolPlaceholder, Write`) while
//!   `system/init` lists 22: the rest are deferred behind ToolSearch.
//! * Exit codes: 0 for success and for a denied write; 1 for API errors and `error_max_turns`.
//! * Retries (`CLAUDE_CODE_MAX_RETRIES=N`): 429, 529, 401 and 500 each make N+1 requests, one
//!   `system/api_retry` line per retry; backoff ≈ 0.5 s, 1.1 s, 2.4 s, 4.6 s, 9.2 s, 19 s
//!   (529 with N=6: 7 requests over 37 s — no special 3-attempt cap for 529 here). N=0: one
//!   request, no `api_retry` line, done in ~0.3 s after the request. `retry-after: 3` is
//!   honoured (delay 3650 ms); `retry-after: 0` is ignored (normal backoff).
//! * HTTP 400 is not governed by the retry setting: 6 requests within ~70 ms, each dropping
//!   more `anthropic-beta` flags, no `api_retry` lines, then `api_error_status: 400`.
//! * Every API error ends `subtype:"success", is_error:true, terminal_reason:"api_error"`,
//!   `api_error_status` and `api_error_type` (the Anthropic error type) set, `result` = the
//!   synthetic assistant text: 429 "API Error: Request rejected (429) · <message>",
//!   529/500 "API Error: 529 <message>. This is a server-side issue…", 401
//!   "Failed to authenticate. API Error: 401 <message>" — or, when the message is the real
//!   API's "invalid x-api-key", "Invalid API key · Fix external API key". `errors` is absent.
//! * A Write the permission mode does not allow (`dontAsk`): `system/permission_denied` with
//!   `decision_reason_type: "mode"`, an `is_error` tool_result, and — if the model then says
//!   "Done" — `subtype:success, is_error:false`, exit 0, with `permission_denials[0].tool_input
//!   .file_path` made absolute. A FALSE SUCCESS. In the default mode with
//!   `--allowedTools "Bash(echo:*)"`, `echo hi > b.txt` is denied too ("Output redirection …
//!   needs approval").
//! * `--max-turns 1` + a tool use: the tool runs, then `error_max_turns`, `num_turns: 2`,
//!   `stop_reason: "tool_use"`, no `result` key, `errors: ["Reached maximum number of turns
//!   (1)"]`, exit 1; the tool result is never sent back (1 request).
//! * A hung request (`Reply::Hang`) with `API_TIMEOUT_MS=2000`, retries 0: after ~2 s,
//!   `is_error:true`, `api_error_status: null`, result "Request timed out. …", exit 1.
//! * A background sub-agent (the `Agent` tool runs in the background by default) makes the
//!   CLI print TWO `result` lines: one when the main turn ends, one after the task
//!   notification's extra turn (see `background_agent_gives_two_result_lines`).

use std::time::Duration;

use crate::support::fake_anthropic::*;
use crate::support::real_claude::*;
use serde_json::json;

const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// Asserts what every run against the fake shows: only main `/v1/messages` requests.
fn assert_only_main_requests(api: &FakeApi) {
    let log = api.log();
    assert!(
        log.iter().all(|r| r.kind == RequestKind::Main),
        "unexpected side/other requests: {:?}",
        log.iter()
            .filter(|r| r.kind != RequestKind::Main)
            .map(|r| (r.kind, &r.method, &r.uri))
            .collect::<Vec<_>>()
    );
    for r in &log {
        assert_eq!(r.uri, "/v1/messages?beta=true");
        assert_eq!(r.body["stream"], true);
        assert!(r.header("x-api-key").is_some());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_text_answer_is_success() {
    let api = FakeApi::start(Script::text("Hello from the fake API")).await;
    let env = IsolatedEnv::new();
    let run = run_claude(&env, &api.base_url, &[], "say hi", RUN_TIMEOUT).await;

    assert_eq!(run.exit_code(), Some(0), "{run}");
    let init = &run.lines[0];
    assert_eq!(init["type"], "system", "{run}");
    assert_eq!(init["subtype"], "init");
    assert_eq!(init["claude_code_version"], "2.1.331");
    assert_eq!(init["apiKeySource"], "ANTHROPIC_API_KEY");
    assert_eq!(init["cwd"], env.workdir().to_str().unwrap());
    let result = run.expect_result();
    assert_eq!(result["subtype"], "success", "{run}");
    assert_eq!(result["is_error"], false);
    assert_eq!(result["terminal_reason"], "completed");
    assert_eq!(result["stop_reason"], "end_turn");
    assert_eq!(result["num_turns"], 1);
    assert_eq!(result["result"], "Hello from the fake API");
    assert_eq!(result["session_id"], init["session_id"]);
    // The result line is the last line; `type` is not its first key.
    assert_eq!(run.lines.last(), Some(result));
    assert!(!run.stdout.lines().last().unwrap().starts_with("{\"type\""));

    assert_only_main_requests(&api);
    let reqs = api.requests();
    assert_eq!(reqs.len(), 1);
    assert!(last_user_text(&reqs[0]).ends_with("say hi"));
    assert!(
        reqs[0]["system"]
            .to_string()
            .contains("You are a Claude agent")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn write_with_accept_edits_creates_the_file() {
    let api = FakeApi::start(Script::sequence(vec![
        Reply::write_file("out.txt", "written by the fake model\n"),
        Reply::text("Done"),
    ]))
    .await;
    let env = IsolatedEnv::new();
    let run = run_claude(
        &env,
        &api.base_url,
        &["--permission-mode", "acceptEdits"],
        "create out.txt",
        RUN_TIMEOUT,
    )
    .await;

    assert_eq!(run.exit_code(), Some(0), "{run}");
    let content = std::fs::read_to_string(env.workdir().join("out.txt")).expect("out.txt");
    assert_eq!(content, "written by the fake model\n");
    let result = run.expect_result();
    assert_eq!(result["subtype"], "success", "{run}");
    assert_eq!(result["is_error"], false);
    assert_eq!(result["result"], "Done");
    assert_eq!(result["num_turns"], 2);
    assert_eq!(result["permission_denials"], json!([]));
    // The tool result line carries the permission decision.
    let user = run.lines_of("user", None);
    assert_eq!(user.len(), 1, "{run}");
    assert_eq!(
        user[0]["tool_result_meta"][0]["permission_decision"]["decision"],
        "accept"
    );

    // The second request carries the (successful) tool result back to the model.
    assert_only_main_requests(&api);
    let reqs = api.requests();
    assert_eq!(reqs.len(), 2);
    let results = tool_results(&reqs[1]);
    assert_eq!(results.len(), 1);
    assert!(!results[0].is_error);
    assert!(results[0].content.contains("File created successfully"));
}

#[tokio::test(flavor = "multi_thread")]
async fn write_in_dont_ask_mode_is_denied_but_ends_success() {
    let api = FakeApi::start(Script::sequence(vec![
        Reply::write_file("out.txt", "should not be written"),
        Reply::text("Done"),
    ]))
    .await;
    let env = IsolatedEnv::new();
    let run = run_claude(
        &env,
        &api.base_url,
        &["--permission-mode", "dontAsk"],
        "create out.txt",
        RUN_TIMEOUT,
    )
    .await;

    assert!(!env.workdir().join("out.txt").exists());
    let denied = run.lines_of("system", Some("permission_denied"));
    assert_eq!(denied.len(), 1, "{run}");
    assert_eq!(denied[0]["tool_name"], "Write");
    assert_eq!(denied[0]["decision_reason_type"], "mode");
    // FINDING: a false success — exit 0, subtype success, is_error false.
    assert_eq!(run.exit_code(), Some(0), "{run}");
    let result = run.expect_result();
    assert_eq!(result["subtype"], "success");
    assert_eq!(result["is_error"], false);
    assert_eq!(result["result"], "Done");
    let denials = result["permission_denials"].as_array().expect("denials");
    assert_eq!(denials.len(), 1);
    assert_eq!(denials[0]["tool_name"], "Write");
    assert_eq!(denials[0]["tool_use_id"], denied[0]["tool_use_id"]);
    // The relative path the model sent is reported absolute.
    assert_eq!(
        denials[0]["tool_input"]["file_path"],
        env.workdir().join("out.txt").to_str().unwrap()
    );

    let reqs = api.requests();
    assert_eq!(reqs.len(), 2);
    let results = tool_results(&reqs[1]);
    assert!(results[0].is_error);
    assert!(results[0].content.contains("denied"));
}

/// Runs one API-error scenario and checks the common shape; returns the run and the API.
async fn api_error_run(reply: Reply, max_retries: u32) -> (ClaudeRun, FakeApi) {
    let api = FakeApi::start(Script::always(reply)).await;
    let mut env = IsolatedEnv::new();
    env.set_max_retries(max_retries);
    let run = run_claude(&env, &api.base_url, &[], "hi", RUN_TIMEOUT).await;
    assert_eq!(run.exit_code(), Some(1), "{run}");
    let result = run.expect_result();
    // FINDING: API errors keep subtype "success"; only is_error tells.
    assert_eq!(result["subtype"], "success", "{run}");
    assert_eq!(result["is_error"], true);
    assert_eq!(result["terminal_reason"], "api_error");
    assert!(result.get("errors").is_none());
    // The CLI makes a synthetic assistant message out of the error.
    let synthetic = run
        .lines_of("assistant", None)
        .into_iter()
        .find(|l| l["message"]["model"] == "<synthetic>")
        .cloned()
        .unwrap_or_else(|| panic!("no synthetic assistant line\n{run}"));
    assert_eq!(synthetic["is_api_error_message"], true);
    assert_eq!(
        synthetic["message"]["content"][0]["text"], result["result"],
        "{run}"
    );
    assert_only_main_requests(&api);
    (run, api)
}

/// The `result` text an API-error run must end with.
#[derive(Clone, Copy)]
enum ResultText {
    /// Not checked.
    Any,
    Exactly(&'static str),
    StartsWith(&'static str),
}

/// One API-error scenario: what the fake API answers every request with, the retries the CLI
/// is allowed (`CLAUDE_CODE_MAX_RETRIES`), and what the run must show.
struct ApiErrorCase {
    /// What the case checks (its name in a failure).
    name: &'static str,
    reply: Reply,
    max_retries: u32,
    /// `api_error_status` and, when given, `api_error_type`.
    status: u16,
    error_type: Option<&'static str>,
    result: ResultText,
    /// How many `/v1/messages` requests the CLI made.
    requests: usize,
    /// The one `system/api_retry` line (its `error_status` is `status`) and its `error`;
    /// `None`: no `api_retry` line at all.
    retry_error: Option<&'static str>,
    /// Whatever else this case checks.
    more: fn(&ClaudeRun, &FakeApi),
}

/// Every API error the CLI can get, one table: the same scenario (a run whose every request
/// fails) with a different error, and the status, text, requests and retry lines each one
/// must give. A failure names its case.
#[tokio::test(flavor = "multi_thread")]
async fn api_errors_end_in_api_error_with_their_status_and_retries() {
    let cases = vec![
        ApiErrorCase {
            name: "http_429_ends_in_api_error_after_the_configured_retries",
            reply: Reply::api_error(429, "slow down"),
            max_retries: 1,
            status: 429,
            error_type: Some("rate_limit_error"),
            result: ResultText::Exactly("API Error: Request rejected (429) · slow down"),
            // CLAUDE_CODE_MAX_RETRIES=1: 2 requests, 1 api_retry line, ~0.5 s backoff.
            requests: 2,
            retry_error: Some("rate_limit"),
            more: |run, api| {
                let retries = run.lines_of("system", Some("api_retry"));
                assert_eq!(retries[0]["attempt"], 1);
                assert_eq!(retries[0]["max_retries"], 1);
                let delay = retries[0]["retry_delay_ms"].as_u64().unwrap();
                assert!((300..=1500).contains(&delay), "retry delay {delay} ms");
                let log = api.log();
                let gap = log[1].at - log[0].at;
                assert!(gap >= Duration::from_millis(300), "{gap:?}");
                assert!(run.elapsed < Duration::from_secs(15), "{:?}", run.elapsed);
            },
        },
        ApiErrorCase {
            name: "http_429_with_no_retries_makes_one_request",
            reply: Reply::rate_limited(30),
            max_retries: 0,
            status: 429,
            error_type: None,
            result: ResultText::Any,
            requests: 1,
            retry_error: None,
            more: |run, _| {
                // No retry, so `retry-after: 30` costs nothing.
                assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
            },
        },
        ApiErrorCase {
            name: "http_529_ends_in_api_error",
            reply: Reply::api_error(529, "Overloaded"),
            max_retries: 1,
            status: 529,
            error_type: Some("overloaded_error"),
            result: ResultText::StartsWith(
                "API Error: 529 Overloaded. This is a server-side issue",
            ),
            requests: 2,
            retry_error: Some("overloaded"),
            more: |_, _| {},
        },
        ApiErrorCase {
            name: "http_401_ends_in_api_error",
            reply: Reply::api_error(401, "invalid x-api-key"),
            max_retries: 1,
            status: 401,
            error_type: Some("authentication_error"),
            // FINDING: the text depends on the error message. The real API's "invalid
            // x-api-key" becomes "Invalid API key · Fix external API key"; any other message
            // (e.g. "bad key") gives "Failed to authenticate. API Error: 401 bad key".
            result: ResultText::Exactly("Invalid API key · Fix external API key"),
            // 401 is retried like 429.
            requests: 2,
            retry_error: Some("authentication_failed"),
            more: |_, _| {},
        },
        ApiErrorCase {
            name: "http_400_is_retried_without_betas_regardless_of_retry_setting",
            reply: Reply::api_error(400, "bad request"),
            max_retries: 0,
            status: 400,
            error_type: Some("invalid_request_error"),
            result: ResultText::Exactly("API Error: 400 bad request"),
            // 6 requests even with CLAUDE_CODE_MAX_RETRIES=0, and no api_retry line...
            requests: 6,
            retry_error: None,
            more: |_, api| {
                // ...with fewer and fewer beta flags.
                let betas: Vec<usize> = api
                    .log()
                    .iter()
                    .map(|r| r.header("anthropic-beta").unwrap_or("").split(',').count())
                    .collect();
                assert!(betas.windows(2).any(|w| w[1] < w[0]), "{betas:?}");
            },
        },
    ];
    // One after the other: several CLIs starting at once slow each other down (see the
    // module docs), and some cases bound the run's time. Each case is a task of its own, so
    // one that fails is reported with its name and the others still run.
    let mut failed = Vec::new();
    for case in cases {
        let name = case.name;
        if let Err(e) = tokio::spawn(api_error_case(case)).await {
            let why = match e.try_into_panic() {
                Ok(p) => p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default(),
                Err(e) => e.to_string(),
            };
            failed.push(format!("case {name}: {why}"));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

async fn api_error_case(case: ApiErrorCase) {
    let (run, api) = api_error_run(case.reply, case.max_retries).await;
    let result = run.expect_result();
    assert_eq!(result["api_error_status"], case.status, "{run}");
    if let Some(error_type) = case.error_type {
        assert_eq!(result["api_error_type"], error_type, "{run}");
    }
    match case.result {
        ResultText::Any => {}
        ResultText::Exactly(text) => assert_eq!(result["result"], text, "{run}"),
        ResultText::StartsWith(text) => assert!(
            result["result"].as_str().unwrap().starts_with(text),
            "{run}"
        ),
    }
    // The fake saw only main requests (checked above), so the log is the requests.
    assert_eq!(api.requests().len(), case.requests, "{run}");
    assert_eq!(api.log().len(), case.requests, "{run}");
    let retries = run.lines_of("system", Some("api_retry"));
    match case.retry_error {
        None => assert!(retries.is_empty(), "{run}"),
        Some(error) => {
            assert_eq!(retries.len(), 1, "{run}");
            assert_eq!(retries[0]["error_status"], case.status, "{run}");
            assert_eq!(retries[0]["error"], error, "{run}");
        }
    }
    (case.more)(&run, &api);
}

#[tokio::test(flavor = "multi_thread")]
async fn max_turns_one_with_a_tool_use_is_error_max_turns() {
    let api = FakeApi::start(Script::sequence(vec![
        Reply::write_file("turn.txt", "tool ran"),
        Reply::text("Done"),
    ]))
    .await;
    let env = IsolatedEnv::new();
    let run = run_claude(
        &env,
        &api.base_url,
        &["--permission-mode", "acceptEdits", "--max-turns", "1"],
        "write turn.txt",
        RUN_TIMEOUT,
    )
    .await;

    assert_eq!(run.exit_code(), Some(1), "{run}");
    let result = run.expect_result();
    assert_eq!(result["subtype"], "error_max_turns", "{run}");
    assert_eq!(result["is_error"], true);
    assert_eq!(result["terminal_reason"], "max_turns");
    // FINDING: no `result` key at all; the message is in `errors[]`.
    assert!(result.get("result").is_none(), "{run}");
    let errors = result["errors"].as_array().expect("errors[]");
    assert!(!errors.is_empty());
    assert_eq!(errors[0], "Reached maximum number of turns (1)");
    assert_eq!(result["stop_reason"], "tool_use");
    assert_eq!(result["num_turns"], 2);
    // The tool still ran before the limit hit; the tool result was never sent back.
    assert_eq!(
        std::fs::read_to_string(env.workdir().join("turn.txt")).unwrap(),
        "tool ran"
    );
    assert_eq!(api.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn prompt_starting_with_dashes_on_stdin_is_a_prompt() {
    let api = FakeApi::start(Script::respond(|body| {
        Reply::text(format!(
            "saw: {}",
            last_user_text(body).lines().last().unwrap_or_default()
        ))
    }))
    .await;
    let env = IsolatedEnv::new();
    let run = run_claude(&env, &api.base_url, &[], "--help me", RUN_TIMEOUT).await;

    assert_eq!(run.exit_code(), Some(0), "{run}");
    let result = run.expect_result();
    assert_eq!(result["is_error"], false);
    assert_eq!(result["result"], "saw: --help me");
    assert_eq!(api.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn transcript_file_holds_the_answer() {
    // A responder that echoes a marker found in the prompt.
    let api = FakeApi::start(Script::respond(|body| {
        let text = all_text(body);
        let marker = text
            .split_whitespace()
            .find(|w| w.starts_with("MARK-"))
            .unwrap_or("no-marker");
        Reply::text(format!("Echo {marker}"))
    }))
    .await;
    let env = IsolatedEnv::new();
    let marker = format!("MARK-{}", std::process::id());
    let prompt = format!("please echo {marker} back");
    let run = run_claude(&env, &api.base_url, &[], &prompt, RUN_TIMEOUT).await;
    assert_eq!(run.exit_code(), Some(0), "{run}");
    let answer = format!("Echo {marker}");
    assert_eq!(run.expect_result()["result"], answer.as_str());

    // ~/.claude/projects/<cwd, every non-alphanumeric char → '-'>/<session_id>.jsonl
    let session_id = run.session_id().expect("session id");
    let projects: Vec<String> = std::fs::read_dir(env.home().join(".claude/projects"))
        .expect("projects dir")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(projects, vec![project_dir_name(env.workdir())]);
    // The workdir (".tmp-cc_real.XXXX/work_dir.1") has '.', '_' and '/': all become '-'.
    assert!(projects[0].contains("--tmp-cc-real-"), "{projects:?}");
    assert!(projects[0].ends_with("-work-dir-1"), "{projects:?}");
    let path = env.transcript_path(&session_id);
    let transcript = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("transcript {}: {e}", path.display()));
    let entries: Vec<serde_json::Value> = transcript
        .lines()
        .map(|l| serde_json::from_str(l).expect("transcript line is JSON"))
        .collect();
    let last_assistant = entries
        .iter()
        .rev()
        .find(|e| e["type"] == "assistant")
        .expect("assistant entry");
    assert_eq!(
        last_assistant["message"]["content"][0]["text"],
        answer.as_str()
    );
    assert_eq!(last_assistant["sessionId"], session_id.as_str());
    assert!(entries.iter().any(|e| {
        e["type"] == "user"
            && e["message"]["content"]
                .as_str()
                .is_some_and(|c| c.contains(&marker))
    }));
}

#[tokio::test(flavor = "multi_thread")]
async fn background_agent_gives_two_result_lines() {
    let api = FakeApi::start(Script::respond(|body| {
        if is_subagent_request(body) {
            Reply::text("sub-agent answer")
        } else if tool_results(body).is_empty() {
            Reply::tool_use(
                "Agent",
                json!({"description": "helper", "prompt": "do the thing",
                       "subagent_type": "general-purpose"}),
            )
        } else {
            Reply::text("Done parent")
        }
    }))
    .await;
    let env = IsolatedEnv::new();
    let run = run_claude(
        &env,
        &api.base_url,
        &["--permission-mode", "bypassPermissions"],
        "delegate",
        RUN_TIMEOUT,
    )
    .await;

    assert_eq!(run.exit_code(), Some(0), "{run}");
    let started = run.lines_of("system", Some("task_started"));
    assert_eq!(started.len(), 1, "{run}");
    assert_eq!(started[0]["is_backgrounded"], true);
    let results = run.lines_of("result", None);
    assert_eq!(results.len(), 2, "{run}");
    // Both carry the parent's final text; `result_index` counts them.
    assert_eq!(results[0]["result_index"], 0);
    assert_eq!(results[1]["result_index"], 1);
    assert!(
        results.iter().all(|r| r["result"] == "Done parent"),
        "{run}"
    );
    assert!(results.iter().all(|r| r["is_error"] == false));
    // Sub-agent lines carry parent_tool_use_id.
    assert!(
        run.lines_of("assistant", None)
            .iter()
            .any(|l| l["parent_tool_use_id"].is_string()
                && l["message"]["content"][0]["text"] == "sub-agent answer"),
        "{run}"
    );
    assert_eq!(
        api.requests()
            .iter()
            .filter(|b| is_subagent_request(b))
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hung_request_times_out_with_api_timeout_ms() {
    let api = FakeApi::start(Script::always(Reply::Hang)).await;
    let mut env = IsolatedEnv::new();
    env.set_max_retries(0).set_var("API_TIMEOUT_MS", "2000");
    let run = run_claude(&env, &api.base_url, &[], "hi", RUN_TIMEOUT).await;

    assert_eq!(run.exit_code(), Some(1), "{run}");
    let result = run.expect_result();
    assert_eq!(result["subtype"], "success", "{run}");
    assert_eq!(result["is_error"], true);
    assert_eq!(result["terminal_reason"], "api_error");
    // No HTTP status: the request never got an answer.
    assert!(result["api_error_status"].is_null());
    assert!(
        result["result"]
            .as_str()
            .unwrap()
            .starts_with("Request timed out."),
        "{run}"
    );
    let log = api.log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status, 0);
    assert!(run.elapsed >= Duration::from_secs(2), "{:?}", run.elapsed);
}

/// A raw HTTP/1.1 exchange with the fake (no HTTP client among the dev-dependencies).
fn http(api: &FakeApi, method: &str, path: &str, body: &serde_json::Value) -> (u16, String) {
    use std::io::{Read, Write};
    let addr = api.base_url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the fake API");
    let body = body.to_string();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The fake's own contract, without the CLI: side requests do not consume scripted replies,
/// non-streaming requests get a JSON `Message`, `count_tokens` works, unknown routes are 404.
#[test]
fn fake_api_contract_without_the_cli() {
    let api = FakeApi::start_blocking(Script::sequence(vec![
        Reply::text("first"),
        Reply::text_and_tool_use("second", "Bash", json!({"command": "true"})),
        Reply::rate_limited(7),
    ]));
    let main = |text: &str| {
        json!({"model": "m", "max_tokens": 10, "tools": [],
               "system": [{"type": "text", "text": "You are a Claude agent, built on Anthropic's Claude Agent SDK."}],
               "messages": [{"role": "user", "content": text}]})
    };
    let side = json!({"model": "haiku", "max_tokens": 10, "system": "Generate a title",
                      "messages": [{"role": "user", "content": "x"}]});

    let (status, body) = http(&api, "POST", "/v1/messages", &main("a"));
    assert_eq!(status, 200);
    let msg: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(msg["content"][0]["text"], "first");
    assert_eq!(msg["stop_reason"], "end_turn");

    let (status, body) = http(&api, "POST", "/v1/messages?beta=true", &side);
    assert_eq!(status, 200);
    assert!(body.contains("Fake side reply"));

    let mut streaming = main("b");
    streaming["stream"] = json!(true);
    let (status, body) = http(&api, "POST", "/v1/messages?beta=true", &streaming);
    assert_eq!(status, 200);
    for event in [
        "message_start",
        "content_block_start",
        "text_delta",
        "input_json_delta",
        "content_block_stop",
        "message_delta",
        "\"stop_reason\":\"tool_use\"",
        "message_stop",
    ] {
        assert!(body.contains(event), "{event} missing in\n{body}");
    }

    for _ in 0..2 {
        // The last reply repeats.
        let (status, body) = http(&api, "POST", "/v1/messages", &main("c"));
        assert_eq!(status, 429);
        let err: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(err["type"], "error");
        assert_eq!(err["error"]["type"], "rate_limit_error");
    }

    let (status, body) = http(&api, "POST", "/v1/messages/count_tokens", &main("d"));
    assert_eq!(status, 200);
    assert!(body.contains("input_tokens"));
    let (status, _) = http(&api, "GET", "/v1/models", &json!(null));
    assert_eq!(status, 404);

    assert_eq!(api.main_requests().len(), 4);
    assert_eq!(api.side_requests().len(), 1);
    assert_eq!(api.requests().len(), 5);
    assert_eq!(api.unknown_requests().len(), 1);
    let log = api.log();
    assert_eq!(log.last().unwrap().uri, "/v1/models");
    assert_eq!(log[3].header("x-missing"), None);
    assert_eq!(log[3].status, 429);
    assert!(log.iter().any(|r| r.kind == RequestKind::CountTokens));
}
