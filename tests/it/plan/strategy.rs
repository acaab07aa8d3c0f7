//! Strategy: waves, timeouts and the markdown of a plan.

use super::*;

// ---------------------------------------------------------------------------------------------
// Strategy

#[test]
fn strategy_waves_timeouts_and_markdown() {
    let tasks = json!([
        {"id": "setup", "task": "Create the workspace with cargo new and add serde"},
        {"id": "parser", "task": "Implement the parser in src/parse.rs", "depends_on": ["setup"]},
        {"id": "cli", "task": "Implement the CLI in src/main.rs", "depends_on": ["setup"]},
        {"id": "tests", "task": "Write integration tests for the parser and the CLI", "depends_on": ["parser", "cli"]},
        {"id": "capital", "task": "What is the capital of France?"},
    ]);
    let s = block(planner().strategy(&tasks));
    assert!(s.valid);
    assert_eq!(s.execution, "sequential");
    let waves: Vec<Vec<&str>> = s
        .waves
        .iter()
        .map(|w| w.task_ids.iter().map(String::as_str).collect())
        .collect();
    assert_eq!(
        waves,
        vec![
            vec!["setup", "capital"],
            vec!["parser", "cli"],
            vec!["tests"]
        ]
    );
    let by_id: HashMap<_, _> = s.tasks.iter().map(|t| (t.id.as_str(), t)).collect();
    assert_eq!(by_id["tests"].wave, Some(3));
    assert_eq!(by_id["capital"].method, Method::Direct);
    assert!(
        s.tasks
            .iter()
            .all(|t| t.timeout_secs >= 60 && t.timeout_secs <= 3600)
    );
    assert!(s.parallel_secs.unwrap() < s.sequential_secs);
    assert!(
        s.tips
            .iter()
            .any(|t| t.contains("Sequential execution stays the default")),
        "{:?}",
        s.tips
    );
    assert!(
        s.tips.iter().any(|t| t.contains("directly")),
        "{:?}",
        s.tips
    );
    for needle in [
        "# Execution strategy",
        "| # | id |",
        "## Waves",
        "## Tips",
        "cc_execute",
        "direct",
    ] {
        assert!(
            s.markdown.contains(needle),
            "{needle} missing:\n{}",
            s.markdown
        );
    }
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["tasks"][0]["method"], "cc_execute");
}

#[test]
fn strategy_of_an_invalid_list_has_errors_and_no_waves_for_cycles() {
    let s = block(planner().strategy(&json!([
        {"id": "a", "task": "do the first thing", "depends_on": ["b"]},
        {"id": "b", "task": "do the second thing", "depends_on": ["a"]},
    ])));
    assert!(!s.valid);
    assert!(s.waves.is_empty());
    assert!(s.tasks.iter().all(|t| t.wave.is_none()));
    assert!(s.markdown.contains("## Errors"));
    assert!(s.tips[0].contains("fix the"));
}
