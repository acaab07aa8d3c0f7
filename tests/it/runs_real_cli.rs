//! A task-list run driving the REAL Claude Code CLI against the fake Anthropic API (isolated
//! HOME): task 2 writes a file with the Write tool, task 3's prompt is built from task 2's
//! answer and written files — what reaches the model is checked on the wire.

use crate::support::fake_anthropic::{FakeApi, Reply, Script, all_text, tool_results};
use crate::support::real_claude::IsolatedEnv;
use cc_executor::Executor;
use cc_executor::plan::validate::parse_tasks;
use cc_executor::runs::{RunRequest, RunService, RunState, TaskDefaults, TaskState};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn a_three_task_list_where_task_three_uses_what_task_two_wrote() {
    let env = IsolatedEnv::new();
    let notes = env.workdir().join("notes.txt");
    let notes_path = notes.display().to_string();
    // A well-behaved model: it does the work and echoes the execution id it was given.
    let api = FakeApi::start(Script::respond(move |body| {
        let text = all_text(body);
        let id = execution_id_in(&text);
        let answered_tool = !tool_results(body).is_empty();
        if text.contains("TASK-ONE") {
            Reply::text(format!("The codename is BLUEBIRD.\nEXECUTION_UUID: {id}"))
        } else if text.contains("TASK-TWO") && !answered_tool {
            Reply::write_file(notes_path.clone(), "release notes for BLUEBIRD\n")
        } else if text.contains("TASK-TWO") {
            Reply::text(format!(
                "I wrote the release notes to notes.txt.\nEXECUTION_UUID: {id}"
            ))
        } else {
            Reply::text(format!("Summary received.\nEXECUTION_UUID: {id}"))
        }
    }))
    .await;

    let config = crate::support::real_claude::real_claude_config(&env, &api.base_url);
    let executor = Executor::new(config).unwrap();
    let runs = RunService::new(executor.clone());

    let tasks = parse_tasks(&json!([
        {"id": "name", "task": "TASK-ONE: what is the project codename?"},
        {"id": "notes", "task": "TASK-TWO: write release notes for {{tasks.name.result}} to notes.txt"},
        {"id": "summary", "task": "TASK-THREE: check this claim: {{tasks.notes.result}}\nFiles: {{tasks.notes.files_written}}"}
    ]))
    .unwrap();
    let run = runs
        .create(RunRequest {
            tasks,
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
    assert!(run.tasks.iter().all(|t| t.state == TaskState::Succeeded));
    assert_eq!(
        std::fs::read_to_string(&notes).unwrap(),
        "release notes for BLUEBIRD\n"
    );
    assert_eq!(
        run.tasks[1].files_written,
        vec![notes.display().to_string()]
    );

    // What the model saw: task 2 got task 1's answer, task 3 task 2's answer and file.
    let requests = api.main_requests();
    let two = requests
        .iter()
        .find(|r| all_text(r).contains("TASK-TWO"))
        .unwrap();
    assert!(
        all_text(two).contains("write release notes for The codename is BLUEBIRD. to notes.txt"),
        "{}",
        all_text(two)
    );
    let three = requests
        .iter()
        .find(|r| all_text(r).contains("TASK-THREE"))
        .unwrap();
    let text = all_text(three);
    assert!(
        text.contains("check this claim: I wrote the release notes to notes.txt."),
        "{text}"
    );
    assert!(
        text.contains(&format!("Files: {}", notes.display())),
        "{text}"
    );
    assert!(!text.contains("{{tasks."), "{text}");
    assert!(run.cost_usd > 0.0);
    // Each task passed on its answer without its own UUID echo (the next task has its own).
    let first_id = run.tasks[0].execution_id.unwrap().to_string();
    assert!(!all_text(two).contains(&format!("EXECUTION_UUID: {first_id}")));

    // Every task of the run is verified against its evidence and Claude Code's transcript.
    let report = executor
        .verify(cc_executor::evidence::verify::Target::Last(3), false)
        .await
        .unwrap();
    assert_eq!(report.counts.verified, 3, "{report:#?}");
}

/// The execution id the UUID hook put at the end of the prompt.
fn execution_id_in(text: &str) -> String {
    text.rsplit("Execution id: ")
        .next()
        .and_then(|rest| rest.get(..36))
        .unwrap_or("")
        .to_string()
}
