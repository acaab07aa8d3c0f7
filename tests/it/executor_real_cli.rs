//! The executor driving the REAL Claude Code CLI (npm `@anthropic-ai/claude-code`, pinned by
//! `scripts/provision`) against a fake Anthropic Messages API on loopback, with an isolated
//! HOME. This is the end-to-end proof that our argv, stdin handling, stream parsing and
//! outcome classification match the real thing.

use crate::support::fake_anthropic::{FakeApi, Reply, Script, all_text, tool_results};
use crate::support::real_claude::IsolatedEnv;
use cc_executor::exec::progress::NoProgress;
use cc_executor::{ExecutionResult, Executor, Status, TaskRequest};

/// An executor whose `claude` is the real CLI, isolated and pointed at `api`.
fn executor(env: &IsolatedEnv, api: &FakeApi) -> Executor {
    Executor::new(crate::support::real_claude::real_claude_config(
        env,
        &api.base_url,
    ))
    .unwrap()
}

async fn run(env: &IsolatedEnv, api: &FakeApi, req: TaskRequest) -> ExecutionResult {
    let exec = executor(env, api);
    let spec = exec.prepare(req).await.unwrap();
    exec.execute(spec, NoProgress).await
}

fn task(text: &str, mode: &str) -> TaskRequest {
    let mut r = TaskRequest::new(text);
    r.permission_mode = Some(mode.into());
    r.timeout_secs = Some(90);
    r
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_text_answer_succeeds_with_the_clis_metadata() {
    let env = IsolatedEnv::new();
    let api = FakeApi::start(Script::text("Paris is the capital of France.")).await;
    let r = run(
        &env,
        &api,
        task("What is the capital of France?", "default"),
    )
    .await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert_eq!(r.result.as_deref(), Some("Paris is the capital of France."));
    assert_eq!(r.claude_version.as_deref(), Some("2.1.331"));
    assert_eq!(r.api_key_source.as_deref(), Some("ANTHROPIC_API_KEY"));
    assert!(r.session_id.is_some() && r.num_turns.is_some() && r.usage.is_some());
    assert!(all_text(&api.requests()[0]).contains("What is the capital of France?"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_tool_use_creates_the_file_and_is_listed_in_files_written() {
    let env = IsolatedEnv::new();
    let target = env.workdir().join("hello.txt");
    let api = FakeApi::start(Script::sequence(vec![
        Reply::write_file(target.display().to_string(), "hello from the real CLI\n"),
        Reply::text("I wrote hello.txt."),
    ]))
    .await;
    let r = run(
        &env,
        &api,
        task("Create hello.txt with a greeting.", "acceptEdits"),
    )
    .await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "hello from the real CLI\n"
    );
    assert_eq!(r.files_written, vec![target.display().to_string()]);
    assert_eq!(r.tools_used.get("Write"), Some(&1));
    let results = tool_results(&api.requests()[1]);
    assert!(results.iter().all(|t| !t.is_error), "{results:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_denied_by_the_permission_mode_is_unverified_not_succeeded() {
    let env = IsolatedEnv::new();
    let target = env.workdir().join("denied.txt");
    let api = FakeApi::start(Script::sequence(vec![
        Reply::write_file(target.display().to_string(), "should not exist"),
        Reply::text("Done! I created denied.txt."),
    ]))
    .await;
    let r = run(&env, &api, task("Create denied.txt.", "dontAsk")).await;
    // The CLI itself ends this run as a success; we do not.
    assert_eq!(r.status, Status::Unverified, "{r:#?}");
    assert!(!target.exists());
    assert!(r.files_written.is_empty());
    assert_eq!(r.permission_denials.len(), 1);
    assert_eq!(r.permission_denials[0].tool_name, "Write");
    assert!(
        r.warnings.iter().any(|w| w.contains("denied")),
        "{:?}",
        r.warnings
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn http_429_is_rate_limited() {
    let mut env = IsolatedEnv::new();
    env.set_max_retries(0);
    let api = FakeApi::start(Script::always(Reply::api_error(
        429,
        "Number of requests has exceeded your rate limit",
    )))
    .await;
    let r = run(&env, &api, task("Say hi to the world.", "default")).await;
    assert_eq!(r.status, Status::RateLimited, "{r:#?}");
    assert_eq!(r.exit_code, Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_max_turns_limit_is_reported_as_max_turns() {
    let env = IsolatedEnv::new();
    let api = FakeApi::start(Script::sequence(vec![
        Reply::bash("echo one"),
        Reply::bash("echo two"),
        Reply::text("finished"),
    ]))
    .await;
    let mut req = task(
        "Run two commands, one after the other.",
        "bypassPermissions",
    );
    req.max_turns = Some(1);
    let r = run(&env, &api, req).await;
    assert_eq!(r.status, Status::MaxTurns, "{r:#?}");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("maximum number of turns")),
        "{:?}",
        r.warnings
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prompt_starting_with_a_dash_is_a_prompt_not_a_flag() {
    let env = IsolatedEnv::new();
    let api = FakeApi::start(Script::text("Here is some help.")).await;
    let r = run(&env, &api, task("--help me understand flags", "default")).await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert!(all_text(&api.requests()[0]).contains("--help me understand flags"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hung_api_request_is_cut_by_our_deadline_and_the_cli_is_stopped() {
    let env = IsolatedEnv::new();
    let api = FakeApi::start(Script::always(Reply::Hang)).await;
    let mut req = task("Wait for an answer that never comes.", "default");
    // Long enough for the CLI to start and print its init line first even when the rest of
    // the suite keeps the CPUs busy (3 s was not, twice in four runs of the one test binary).
    req.timeout_secs = Some(8);
    let t = std::time::Instant::now();
    let r = run(&env, &api, req).await;
    assert_eq!(r.status, Status::TimedOut, "{r:#?}");
    assert!(t.elapsed() < std::time::Duration::from_secs(30));
    assert!(
        r.session_id.is_some(),
        "the init line was read before the kill"
    );
}

/// The real CLI paused while its request is in flight: the whole tree (node and whatever it
/// started) stops, the answer streams into the socket meanwhile, and after the resume the CLI
/// reads it and the answer is complete.
#[tokio::test(flavor = "multi_thread")]
async fn a_paused_real_cli_resumes_and_its_answer_is_complete() {
    let env = IsolatedEnv::new();
    let answer = "The paused answer arrived whole: alpha beta gamma delta epsilon.";
    let api = FakeApi::start(Script::sequence(vec![Reply::delayed(
        std::time::Duration::from_secs(2),
        Reply::text(answer),
    )]))
    .await;
    let exec = executor(&env, &api);
    let spec = exec
        .prepare(task("Say something after a while.", "default"))
        .await
        .unwrap();
    let id = exec.submit(spec, NoProgress).await.unwrap().execution_id;
    let asked =
        crate::support::fixtures::eventually_async(std::time::Duration::from_secs(30), || {
            !api.main_requests().is_empty()
        })
        .await;
    assert!(
        asked,
        "the CLI never called the API: {:#?}",
        exec.status(id)
    );

    let paused = exec.pause(id).await.unwrap();
    assert!(paused.settled, "{paused:?}");
    let tag = format!("{}={id}", cc_executor::process::EXECUTION_ENV);
    let tree = || -> Vec<char> {
        use cc_executor::process::procfs;
        procfs::pids()
            .into_iter()
            .filter(|pid| procfs::has_env_entry(*pid, tag.as_bytes()))
            .filter_map(procfs::stat)
            .filter(|s| !s.is_zombie())
            .map(|s| s.state)
            .collect()
    };
    let stopped =
        crate::support::fixtures::eventually_async(std::time::Duration::from_secs(5), || {
            let states = tree();
            !states.is_empty() && states.iter().all(|s| *s == 'T')
        })
        .await;
    assert!(stopped, "{:?}", tree());
    // Longer than the reply's delay: it is sent while the CLI cannot read it.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(
        exec.status(id).unwrap().phase,
        cc_executor::exec::registry::Phase::Paused
    );
    exec.resume(id).await.unwrap();
    let r = exec.wait(id).await.unwrap();
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert_eq!(r.result.as_deref(), Some(answer));
    assert_eq!(api.main_requests().len(), 1, "no retry was needed");
}
