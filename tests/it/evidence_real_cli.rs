//! Verification of executions run by the REAL Claude Code CLI (pinned by `scripts/provision`)
//! against the fake Anthropic API, with an isolated HOME: the fake model sees the prompt, so
//! it can echo the execution's UUID — or not — exactly as a real model would; Claude Code
//! writes its own session transcript in the isolated HOME, which verification reads.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::fake_anthropic::{FakeApi, Reply, Script, all_text};
use crate::support::real_claude::IsolatedEnv;
use cc_executor::evidence::verify::{
    CheckState, ExecutionVerification, FileState, Target, Verdict,
};
use cc_executor::exec::progress::NoProgress;
use cc_executor::{ExecutionResult, Executor, Status, TaskRequest};
use serde_json::Value;

fn executor(env: &IsolatedEnv, api: &FakeApi) -> Executor {
    Executor::new(crate::support::real_claude::real_claude_config(
        env,
        &api.base_url,
    ))
    .unwrap()
}

async fn run(exec: &Executor, text: &str, mode: &str) -> ExecutionResult {
    let mut r = TaskRequest::new(text);
    r.permission_mode = Some(mode.into());
    r.timeout_secs = Some(90);
    let spec = exec.prepare(r).await.unwrap();
    exec.execute(spec, NoProgress).await
}

async fn verify(exec: &Executor, id: uuid::Uuid) -> ExecutionVerification {
    let mut r = exec.verify(Target::One(id), false).await.unwrap();
    r.executions.remove(0)
}

fn state(v: &ExecutionVerification, name: &str) -> CheckState {
    v.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}: {v:#?}"))
        .state
}

/// The UUID the prompt asked the model to echo (what a model reads in its prompt).
fn uuid_in_prompt(body: &Value) -> String {
    let text = all_text(body);
    let at = text
        .find("Execution id: ")
        .expect("the UUID hook's instruction");
    text[at + 14..at + 14 + 36].to_string()
}

/// Main request N gets `first[N]`, then an answer that echoes the UUID.
fn then_echo(first: Vec<Reply>, answer: &'static str) -> Script {
    let n = Arc::new(AtomicUsize::new(0));
    Script::respond(move |body| {
        let i = n.fetch_add(1, Ordering::SeqCst);
        match first.get(i) {
            Some(r) => r.clone(),
            None => Reply::text(format!(
                "{answer}\nEXECUTION_UUID: {}",
                uuid_in_prompt(body)
            )),
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_that_echoes_the_uuid_is_verified_against_the_clis_own_transcript() {
    let env = IsolatedEnv::new();
    let api = FakeApi::start(then_echo(vec![], "Paris is the capital of France.")).await;
    let exec = executor(&env, &api);
    let r = run(&exec, "What is the capital of France?", "default").await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert_eq!(r.uuid_echo.as_ref().map(|u| u.echoed), Some(true));
    // Claude Code's transcript, in the isolated HOME, where the result says it is.
    let session = r.session_id.clone().unwrap();
    let transcript = env.transcript_path(&session);
    assert_eq!(r.transcript_path.as_deref(), transcript.to_str());
    assert!(transcript.exists());
    let v = verify(&exec, r.execution_id).await;
    assert_eq!(v.verdict, Verdict::Verified, "{v:#?}");
    for name in [
        "record",
        "response_file",
        "chain",
        "record_matches_response",
        "status",
        "uuid_echo",
        "transcript",
        "permission_denials",
        "files",
    ] {
        assert_eq!(state(&v, name), CheckState::Pass, "{name}: {v:#?}");
    }
    assert!(v.reasons.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_without_the_uuid_is_unverified_with_the_reason() {
    let env = IsolatedEnv::new();
    let api = FakeApi::start(Script::text("Done!")).await;
    let exec = executor(&env, &api);
    let r = run(&exec, "Summarise the README.", "default").await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    let v = verify(&exec, r.execution_id).await;
    assert_eq!(v.verdict, Verdict::Unverified, "{v:#?}");
    assert_eq!(state(&v, "uuid_echo"), CheckState::Fail);
    assert_eq!(state(&v, "transcript"), CheckState::Pass, "{v:#?}");
    assert_eq!(v.reasons.len(), 1, "{:?}", v.reasons);
    assert!(v.reasons[0].contains("does not contain the execution UUID"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_written_file_is_as_written_until_someone_edits_it() {
    let env = IsolatedEnv::new();
    let target = env.workdir().join("hello.txt");
    let api = FakeApi::start(then_echo(
        vec![Reply::write_file(
            target.display().to_string(),
            "hello from the real CLI\n",
        )],
        "I wrote hello.txt.",
    ))
    .await;
    let exec = executor(&env, &api);
    let r = run(&exec, "Create hello.txt with a greeting.", "acceptEdits").await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert_eq!(r.written_files.len(), 1);
    assert_eq!(r.written_files[0].source, "write_content");
    let v = verify(&exec, r.execution_id).await;
    assert_eq!(v.verdict, Verdict::Verified, "{v:#?}");
    assert_eq!(v.files[0].state, FileState::AsWritten);

    std::fs::write(&target, "edited by a person\n").unwrap();
    let v = verify(&exec, r.execution_id).await;
    assert_eq!(v.files[0].state, FileState::ModifiedSince, "{v:#?}");
    assert_ne!(v.files[0].sha256_now, v.files[0].sha256_written);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_write_is_unverified_although_the_cli_says_success() {
    let env = IsolatedEnv::new();
    let target = env.workdir().join("denied.txt");
    let api = FakeApi::start(then_echo(
        vec![Reply::write_file(target.display().to_string(), "nope")],
        "Done! I created denied.txt.",
    ))
    .await;
    let exec = executor(&env, &api);
    let r = run(&exec, "Create denied.txt.", "dontAsk").await;
    assert!(!target.exists());
    let v = verify(&exec, r.execution_id).await;
    assert_eq!(v.verdict, Verdict::Unverified, "{v:#?}");
    assert_eq!(state(&v, "permission_denials"), CheckState::Fail);
    assert_eq!(state(&v, "uuid_echo"), CheckState::Pass);
    assert!(
        v.reasons
            .iter()
            .any(|r| r.contains("denied") && r.contains("Write")),
        "{:?}",
        v.reasons
    );
}
