//! The planner knows about acceptance checks: `validate_task_list` warns about a task that
//! changes code without one, `suggest_execution_strategy` proposes the project's test command.

use cc_executor::plan::validate::WarningKind;
use cc_executor::plan::{PlanConfig, Planner};
use serde_json::json;

use crate::support::mcp_client::{data, start};

fn list() -> serde_json::Value {
    json!([
        {"id": "add", "task": "Implement a function add(a, b) in src/lib.rs that returns the sum."},
        {"id": "sub", "task": "Implement a function sub(a, b) in src/lib.rs that returns the difference.",
         "accept": {"commands": [["cargo", "test"]]}},
        {"id": "py", "task": "Fix the failing function in calc.py; pytest must pass."},
        {"id": "docs", "task": "Summarize what README.md says about installation, in three sentences."}
    ])
}

#[tokio::test]
async fn code_tasks_without_a_check_are_warned_about_and_get_the_projects_test_command() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
    let planner = Planner::new(
        None,
        PlanConfig {
            check_dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        },
    );
    let report = planner.validate(&list()).await;
    assert!(report.valid, "{report:#?}");
    let warned: Vec<&str> = report
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::NoAcceptanceCheck)
        .map(|w| w.task_id.as_str())
        .collect();
    assert_eq!(warned, ["add", "py"], "{:#?}", report.warnings);

    let strategy = planner.strategy(&list()).await;
    let tips = strategy.tips.join("\n");
    assert!(
        tips.contains(r#"check task(s) add by their tests (Cargo.toml in "#)
            && tips.contains(r#"[["cargo","test"]]"#),
        "{tips}"
    );
    assert!(
        tips.contains(r#"check task(s) py by their tests (named in the task)"#)
            && tips.contains(r#"[["pytest","-q"]]"#),
        "{tips}"
    );
    assert!(tips.contains("failure_policy"), "{tips}");
}

#[tokio::test]
async fn over_mcp_the_strategy_proposes_checks_from_the_servers_working_directory() {
    let s = start((), &[]).await;
    std::fs::write(s.root().join("package.json"), "{}").unwrap();
    let r = s
        .call(
            "suggest_execution_strategy",
            json!({"tasks": ["Implement a function add(a, b) in src/index.js that returns the sum."]}),
        )
        .await;
    let tips = data(&r)["tips"].to_string();
    assert!(tips.contains(r#"[[\"npm\",\"test\"]]"#), "{tips}");
    let r = s
        .call(
            "validate_task_list",
            json!({"tasks": ["Implement a function add(a, b) in src/index.js that returns the sum."]}),
        )
        .await;
    assert_eq!(
        data(&r)["warnings"][0]["kind"],
        "no_acceptance_check",
        "{:#}",
        data(&r)
    );
}
