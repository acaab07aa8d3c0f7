//! Acceptance and repair with the REAL Claude Code CLI on the fake Anthropic API: a task that
//! writes a file, checked by a file pattern and by a validator (a second real CLI run, asked
//! for its verdict through `--json-schema`), rejected once and repaired.

use std::sync::{Arc, Mutex};

use crate::support::fake_anthropic::{FakeApi, Reply, Script, all_text, tool_results};
use crate::support::real_claude::IsolatedEnv;
use cc_executor::exec::progress::NoProgress;
use cc_executor::types::accept::{AcceptRequest, CheckKind, FileCheck, RepairRequest};
use cc_executor::{Executor, Status, TaskRequest};
use serde_json::{Value, json};

/// The names of the tools a request offers the model.
fn tools(body: &Value) -> Vec<String> {
    body["tools"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|t| t["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The fake API's side of the exchange: the validator (offered `StructuredOutput`) judges
/// `target` as it is on disk; the task writes 41 the first time and 42 when its prompt is a
/// repair. `verdicts` collects what the validator answered.
fn script(target: &std::path::Path, verdicts: &Arc<Mutex<Vec<Value>>>) -> Script {
    let (target, verdicts) = (target.to_path_buf(), verdicts.clone());
    {
        Script::respond(move |body| {
            let answered = !tool_results(body).is_empty();
            if tools(body).iter().any(|t| t == "StructuredOutput") {
                // The validator: judges the file as it is on disk, through the CLI's tool.
                if answered {
                    return Reply::text("Verdict given.");
                }
                let text = std::fs::read_to_string(&target).unwrap_or_default();
                let valid = text.trim() == "42";
                let verdict = json!({
                    "valid": valid,
                    "reasons": [format!("answer.txt holds {:?}", text.trim())],
                    "fix": if valid { "" } else { "write exactly 42" }
                });
                verdicts.lock().unwrap().push(verdict.clone());
                return Reply::tool_use("StructuredOutput", verdict);
            }
            if answered {
                return Reply::text("I wrote answer.txt.");
            }
            // The task: wrong the first time, right when told what the checks found.
            let repair = all_text(body).contains("rejected by its acceptance checks");
            let content = if repair { "42\n" } else { "41\n" };
            Reply::write_file(target.display().to_string(), content)
        })
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_task_is_rejected_by_a_real_validator_and_repaired() {
    let env = IsolatedEnv::new();
    let target = env.workdir().join("answer.txt");
    let verdicts: Arc<Mutex<Vec<Value>>> = Arc::default();
    let api = FakeApi::start(script(&target, &verdicts)).await;
    let exec = Executor::new(crate::support::real_claude::real_claude_config(
        &env,
        &api.base_url,
    ))
    .unwrap();
    let mut req = TaskRequest::new("Write the answer to everything into answer.txt.");
    req.permission_mode = Some("acceptEdits".into());
    req.timeout_secs = Some(90);
    req.accept = Some(AcceptRequest {
        files: vec![FileCheck {
            path: "answer.txt".into(),
            matches: Some("^42$".into()),
        }],
        validator: Some("answer.txt must contain exactly 42.".into()),
        ..Default::default()
    });
    req.repair = Some(RepairRequest { max_attempts: 1 });
    let spec = exec.prepare(req).await.unwrap();
    let r = exec.execute(spec, NoProgress).await;

    assert_eq!(
        r.status,
        Status::Succeeded,
        "{r:#?}\nrequests: {:#?}",
        api.requests()
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "42\n");
    let link = r.repair.clone().unwrap();
    assert_eq!(link.repairs, 1);
    let a = r.acceptance.as_ref().unwrap();
    assert!(a.passed, "{a:#?}");
    assert_eq!(a.checks[1].kind, CheckKind::Validator);

    // The first attempt: rejected by both checks, the validator's verdict structured.
    let first = exec
        .record(link.executions[0])
        .await
        .unwrap()
        .unwrap()
        .result;
    assert_eq!(first.status, Status::Rejected, "{first:#?}");
    let checks = &first.acceptance.as_ref().unwrap().checks;
    assert!(!checks[0].passed && !checks[1].passed, "{checks:#?}");
    assert!(
        checks[1].detail.contains("fix: write exactly 42"),
        "{checks:#?}"
    );
    let vid = checks[1].execution_id.unwrap();
    let v = exec.record(vid).await.unwrap().unwrap().result;
    assert_eq!(v.validates, Some(first.execution_id));
    assert_eq!(
        v.structured_output.as_ref().unwrap()["valid"],
        false,
        "{v:#?}"
    );
    assert_eq!(verdicts.lock().unwrap().len(), 2);
    // The repair's prompt reached the model with the validator's fix.
    assert!(
        api.main_requests()
            .iter()
            .any(|b| all_text(b).contains("fix: write exactly 42")),
        "the repair prompt did not carry the fix"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_task_list_with_the_repair_policy_repairs_its_rejected_task() {
    use cc_executor::plan::validate::parse_tasks;
    use cc_executor::runs::{
        FailurePolicy, RunRequest, RunService, RunState, TaskDefaults, TaskState,
    };
    let env = IsolatedEnv::new();
    let target = env.workdir().join("answer.txt");
    let verdicts: Arc<Mutex<Vec<Value>>> = Arc::default();
    let api = FakeApi::start(script(&target, &verdicts)).await;
    let exec = Executor::new(crate::support::real_claude::real_claude_config(
        &env,
        &api.base_url,
    ))
    .unwrap();
    let runs = RunService::new(exec.clone());
    let tasks = json!([{
        "id": "answer",
        "task": "Write the answer to everything into answer.txt.",
        "accept": {"files": [{"path": "answer.txt", "matches": "^42$"}],
                   "validator": "answer.txt must contain exactly 42."}
    }]);
    let run = runs
        .create(RunRequest {
            tasks: parse_tasks(&tasks).unwrap(),
            failure_policy: FailurePolicy::Repair,
            defaults: TaskDefaults {
                permission_mode: Some("acceptEdits".into()),
                timeout_secs: Some(90),
                ..Default::default()
            },
            ..Default::default()
        })
        .await
        .unwrap();
    let id = runs.start(run, |_| {});
    let run = runs.wait(id).await.unwrap();
    assert_eq!(run.state, RunState::Succeeded, "{run:#?}");
    let t = &run.tasks[0];
    assert_eq!(
        (t.state, t.repairs, t.executions.len()),
        (TaskState::Succeeded, 1, 2)
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "42\n");
    let first = exec.record(t.executions[0]).await.unwrap().unwrap().result;
    assert_eq!(first.status, Status::Rejected);
    // Both attempts and both validator runs cost, and the run counted all four.
    let v: f64 = [
        &first,
        &exec.record(t.executions[1]).await.unwrap().unwrap().result,
    ]
    .iter()
    .map(|r| r.total_cost_usd.unwrap() + r.acceptance.as_ref().unwrap().cost_usd.unwrap())
    .sum();
    assert!((run.cost_usd - v).abs() < 1e-9, "{} vs {v}", run.cost_usd);
    assert_eq!(verdicts.lock().unwrap().len(), 2);
}
