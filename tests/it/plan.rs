//! The planner: classification, prediction against real stores (SQLite and a real
//! `redis-server`), task-list validation (every error and warning kind), strategy waves, task
//! files, property tests and hostile input.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use crate::support::redis_server::RedisServer;
use cc_executor::plan::input::{parse_markdown, parse_task_text, sniff_format};
use cc_executor::plan::{
    BasedOn, Category, Complexity, ErrorKind, InputError, InputFormat, Method, PlanConfig, Planner,
    PredictorConfig, PromptWarningKind, RiskLevel, TaskInput, TaskListRequest, ValidationReport,
    WarningKind, classify, parse_task_file, parse_tasks, read_task_file,
};
use cc_executor::store::redis::RedisStore;
use cc_executor::store::sqlite::SqliteStore;
use cc_executor::store::{ExecutionRecord, HistoryStore};
use cc_executor::{ExecutionResult, Status};
use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{Value, json};
use uuid::Uuid;

fn planner() -> Planner<'static> {
    Planner::new(None, PlanConfig::default())
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn validate(v: Value) -> ValidationReport {
    block(planner().validate(&v))
}

fn error_kinds(r: &ValidationReport) -> Vec<ErrorKind> {
    r.errors.iter().map(|e| e.kind).collect()
}

fn warning_kinds(r: &ValidationReport) -> Vec<WarningKind> {
    r.warnings.iter().map(|w| w.kind).collect()
}

// ---------------------------------------------------------------------------------------------
// Classification

#[test]
fn classification_table() {
    use Category as C;
    use Complexity as X;
    // (task, category, lowest acceptable complexity, highest)
    let table: &[(&str, Category, Complexity, Complexity)] = &[
        ("What is 2 + 2?", C::General, X::Trivial, X::Trivial),
        ("Print hello world", C::General, X::Trivial, X::Trivial),
        (
            "List the files in the current directory",
            C::General,
            X::Trivial,
            X::Low,
        ),
        (
            "What is the difference between a mutex and a semaphore?",
            C::Research,
            X::Trivial,
            X::Low,
        ),
        ("Fix the typo in README.md", C::Docs, X::Trivial, X::Low),
        (
            "Summarise CHANGELOG.md in five bullets",
            C::Docs,
            X::Trivial,
            X::Low,
        ),
        (
            "Write a Python function to calculate factorial",
            C::Code,
            X::Low,
            X::Low,
        ),
        (
            "Rename the variable `cnt` to `count` in src/lib.rs",
            C::Refactor,
            X::Trivial,
            X::Low,
        ),
        (
            "Write unit tests for the parser in src/parse.rs",
            C::Test,
            X::Low,
            X::Medium,
        ),
        (
            "Create a Dockerfile for this project",
            C::Ops,
            X::Low,
            X::Medium,
        ),
        (
            "Refactor src/db.rs to use a connection pool; run cargo test",
            C::Refactor,
            X::Medium,
            X::Medium,
        ),
        (
            "Review the pull request diff in src/auth/ for security vulnerabilities",
            C::Review,
            X::Low,
            X::Medium,
        ),
        (
            "Research the best Rust crates for YAML parsing and compare their pros and cons",
            C::Research,
            X::Low,
            X::Medium,
        ),
        (
            "Convert data/sales.csv to JSON and aggregate the totals per region",
            C::Data,
            X::Low,
            X::Medium,
        ),
        (
            "Analyze the dataset in data/users.parquet and plot the signup statistics by month",
            C::Data,
            X::Low,
            X::Medium,
        ),
        (
            "Add docstrings to every public function in the repository",
            C::Docs,
            X::Low,
            X::Medium,
        ),
        (
            "Audit the codebase for SQL injection",
            C::Review,
            X::Low,
            X::Medium,
        ),
        (
            "Build a CLI tool in Rust that parses logs, aggregates errors per service and prints a report",
            C::Code,
            X::Low,
            X::Medium,
        ),
        (
            "Deploy the app to Kubernetes with a Helm chart and set up GitHub Actions CI",
            C::Ops,
            X::Medium,
            X::High,
        ),
        (
            "Why does the server crash with a segfault when the config file is missing? Find the root cause and fix it",
            C::Debug,
            X::Medium,
            X::High,
        ),
        (
            "Debug the flaky integration test in tests/api_test.py that fails intermittently in CI",
            C::Debug,
            X::Medium,
            X::High,
        ),
        (
            "Write a comprehensive 5000 word guide to async Rust",
            C::Docs,
            X::Medium,
            X::High,
        ),
        (
            "Implement a REST API with authentication, rate limiting, and 12 endpoints, then write tests and documentation",
            C::Code,
            X::High,
            X::Extreme,
        ),
        (
            "Design the architecture for a distributed event-sourcing system with microservices",
            C::Architecture,
            X::High,
            X::Extreme,
        ),
        (
            "Migrate the entire codebase from Python 2 to Python 3, update every module, fix all failing tests, and document the changes",
            C::Refactor,
            X::High,
            X::Extreme,
        ),
        (
            "Optimize the performance of the database queries across the whole application; profile first, then add indexes, then rewrite the slowest queries",
            C::Refactor,
            X::High,
            X::Extreme,
        ),
    ];
    assert!(table.len() >= 20);
    let mut failures = Vec::new();
    for (task, category, lo, hi) in table {
        let c = classify(task);
        if c.category != *category || c.complexity < *lo || c.complexity > *hi {
            failures.push(format!(
                "{task:?}: got {}/{} (score {}), expected {category}/{lo}..={hi}; signals {:?}",
                c.category, c.complexity, c.score, c.signals
            ));
        }
        assert_eq!(Complexity::from_score(c.score), c.complexity);
        assert!((1..=10).contains(&c.score));
        assert_eq!(classify(task), c, "deterministic");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn classification_explains_itself() {
    let c = classify("Implement 12 endpoints in src/api.rs and src/routes.rs, then write tests");
    let kinds: HashSet<_> = c.signals.iter().map(|s| s.kind).collect();
    use cc_executor::plan::SignalKind as K;
    for k in [
        K::Base,
        K::CategoryKeyword,
        K::Items,
        K::Files,
        K::MultiStep,
    ] {
        assert!(kinds.contains(&k), "{k:?} missing in {:?}", c.signals);
    }
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["category"], "code");
    assert!(json["signals"][0]["detail"].is_string());
}

// ---------------------------------------------------------------------------------------------
// One task

#[test]
fn task_complexity_recommends_a_method_and_warns() {
    let p = planner();
    let lookup = block(p.task_complexity("What is the capital of France?"));
    assert_eq!(lookup.recommended_method, Method::Direct, "{lookup:?}");
    assert_eq!(lookup.prediction.based_on, BasedOn::Default);
    assert_eq!(lookup.prediction.suggested_timeout_secs, 60);

    let work =
        block(p.task_complexity("Refactor src/db.rs to use a connection pool; run cargo test"));
    assert_eq!(work.recommended_method, Method::CcExecute);
    assert!(work.warnings.is_empty(), "{:?}", work.warnings);
    assert!(work.estimated_tokens > 10);

    let small_change = block(p.task_complexity("Fix the typo in README.md"));
    assert_eq!(small_change.classification.complexity, Complexity::Trivial);
    assert_eq!(
        small_change.recommended_method,
        Method::CcExecute,
        "it changes a file"
    );

    let kinds = |t: &str| -> Vec<PromptWarningKind> {
        block(p.task_complexity(t))
            .warnings
            .iter()
            .map(|w| w.kind)
            .collect()
    };
    assert!(kinds("-rf the build directory please now").contains(&PromptWarningKind::LeadingDash));
    assert!(
        kinds("Please walk me through setting up the database")
            .contains(&PromptWarningKind::Interactive)
    );
    assert!(kinds("fix").contains(&PromptWarningKind::TooVague));
    assert!(kinds("just fix it").contains(&PromptWarningKind::TooVague));
    assert!(
        kinds("Use the API from above to add a login page")
            .contains(&PromptWarningKind::MissingContext)
    );

    let small = Planner::new(
        None,
        PlanConfig {
            max_prompt_tokens: 10,
            ..Default::default()
        },
    );
    let long =
        block(small.task_complexity("Write a long essay about the history of computing machines"));
    assert!(
        long.warnings
            .iter()
            .any(|w| w.kind == PromptWarningKind::TooLong)
    );
}

// ---------------------------------------------------------------------------------------------
// Validation: every error kind

#[test]
fn every_error_kind() {
    let cases: Vec<(Value, ErrorKind)> = vec![
        (json!({"task": "not a list"}), ErrorKind::NotAList),
        (json!("a string"), ErrorKind::NotAList),
        (json!(null), ErrorKind::NotAList),
        (json!([]), ErrorKind::EmptyList),
        (json!([42]), ErrorKind::MalformedTask),
        (json!([["nested", ["list"]]]), ErrorKind::MalformedTask),
        (json!([{"id": "a"}]), ErrorKind::MalformedTask),
        (json!([{"task": 5}]), ErrorKind::MalformedTask),
        (
            json!([{"task": "x y z", "prompt": "typo"}]),
            ErrorKind::MalformedTask,
        ),
        (
            json!([{"task": "x y z", "depends_on": [{"id": "a"}]}]),
            ErrorKind::MalformedTask,
        ),
        (
            json!([{"task": "x y z", "id": 1.5}]),
            ErrorKind::MalformedTask,
        ),
        (json!(["   "]), ErrorKind::EmptyTask),
        (
            json!([{"id": "", "task": "write the code"}]),
            ErrorKind::InvalidId,
        ),
        (
            json!([{"id": "a\u{1}b", "task": "write the code"}]),
            ErrorKind::InvalidId,
        ),
        (
            json!([{"id": "x".repeat(500), "task": "write the code"}]),
            ErrorKind::InvalidId,
        ),
        (
            json!([{"id": "a", "task": "one thing here"}, {"id": "a", "task": "another thing here"}]),
            ErrorKind::DuplicateId,
        ),
        (
            json!(["first task here", {"id": "1", "task": "second task here"}]),
            ErrorKind::DuplicateId,
        ),
        (
            json!([{"id": "a", "task": "one thing here", "depends_on": ["zzz"]}]),
            ErrorKind::UnknownDependency,
        ),
        (
            json!([{"id": "a", "task": "one thing here", "depends_on": ["b"]}, {"id": "b", "task": "another thing here"}]),
            ErrorKind::ForwardDependency,
        ),
        (
            json!([{"id": "a", "task": "one thing here", "depends_on": "a"}]),
            ErrorKind::Cycle,
        ),
    ];
    for (input, kind) in cases {
        let r = validate(input.clone());
        assert!(!r.valid, "{input}");
        assert!(
            error_kinds(&r).contains(&kind),
            "{input}: expected {kind:?}, got {:?}",
            r.errors
        );
        assert_eq!(r.risk.level, RiskLevel::High);
        for e in &r.errors {
            assert!(!e.message.is_empty());
        }
        // parse_tasks agrees for item-level problems.
        if matches!(kind, ErrorKind::NotAList | ErrorKind::MalformedTask) {
            assert!(parse_tasks(&input).is_err());
        }
    }
}

#[test]
fn malformed_items_are_reported_with_their_positions() {
    let r = validate(json!(["fine task one", 7, {"task": "fine task three"}, {"nope": 1}]));
    let positions: Vec<_> = r.errors.iter().map(|e| e.position).collect();
    assert_eq!(positions, vec![Some(2), Some(4), Some(4)], "{:?}", r.errors);
    assert_eq!(r.total_tasks, 4);
    assert_eq!(r.tasks.len(), 2, "the well-formed ones are still assessed");
    assert!(
        r.errors[0].message.contains("task 2 is a number"),
        "{}",
        r.errors[0].message
    );
}

#[test]
fn cycles_are_reported_with_their_path() {
    let r = validate(json!([
        {"id": "a", "task": "do a thing", "depends_on": ["c"]},
        {"id": "b", "task": "do b thing", "depends_on": ["a"]},
        {"id": "c", "task": "do c thing", "depends_on": ["b"]},
    ]));
    let cycle = r
        .errors
        .iter()
        .find(|e| e.kind == ErrorKind::Cycle)
        .unwrap();
    assert_eq!(cycle.cycle.as_deref().unwrap(), ["a", "c", "b", "a"]);
    assert!(cycle.message.contains("a → c → b → a"), "{}", cycle.message);
    assert!(r.suggested_order.is_none());
}

#[test]
fn forward_dependencies_are_errors_with_a_suggested_order() {
    let r = validate(json!([
        {"id": "docs", "task": "document the API", "depends_on": ["api"]},
        {"id": "setup", "task": "create the workspace"},
        {"id": "api", "task": "implement the API", "depends_on": ["setup"]},
    ]));
    assert_eq!(error_kinds(&r), vec![ErrorKind::ForwardDependency]);
    assert!(
        r.errors[0].message.contains("move task 3 before task 1"),
        "{}",
        r.errors[0].message
    );
    assert_eq!(r.suggested_order.unwrap(), ["setup", "api", "docs"]);
}

#[test]
fn a_valid_list_is_valid() {
    let r = validate(json!([
        "Create the workspace with cargo new and add serde",
        {"id": "api", "task": "Implement the HTTP API in src/api.rs", "depends_on": ["1"]},
        {"task": "Write integration tests for the HTTP API in tests/api.rs", "depends_on": ["api"]},
    ]));
    assert!(r.valid, "{:?}", r.errors);
    assert!(r.errors.is_empty());
    assert_eq!(r.total_tasks, 3);
    assert_eq!(r.tasks[2].id, "3");
    assert!(r.estimated_total_secs >= r.estimated_typical_secs);
    assert!(r.total_timeout_secs >= r.estimated_total_secs);
    assert_eq!(
        r.estimated_total_minutes,
        (r.estimated_total_secs as f64 / 6.0).round() / 10.0
    );
}

// ---------------------------------------------------------------------------------------------
// Validation: every warning kind

#[test]
fn every_warning_kind() {
    let cases: Vec<(Value, WarningKind)> = vec![
        (
            json!(["Write the parser module", "write  the PARSER module"]),
            WarningKind::DuplicateTask,
        ),
        (
            json!([
                "-v print the version of the tool",
                "Second task is fine here"
            ]),
            WarningKind::LeadingDash,
        ),
        (
            json!(["Help me decide which database to use for the project"]),
            WarningKind::Interactive,
        ),
        (json!(["fix"]), WarningKind::TooVague),
        (
            json!(["Write the parser", "Now improve it and so on"]),
            WarningKind::TooVague,
        ),
        (
            json!(["Write the parser module\u{0} now"]),
            WarningKind::ContainsNul,
        ),
    ];
    for (input, kind) in cases {
        let r = validate(input.clone());
        assert!(r.valid, "warnings only: {input}: {:?}", r.errors);
        assert!(
            warning_kinds(&r).contains(&kind),
            "{input}: expected {kind:?}, got {:?}",
            r.warnings
        );
    }
    let small = Planner::new(
        None,
        PlanConfig {
            max_prompt_tokens: 5,
            ..Default::default()
        },
    );
    let r = block(small.validate(&json!([
        "Write a long essay about the history of computing"
    ])));
    assert!(warning_kinds(&r).contains(&WarningKind::TooLong));
    assert_eq!(
        r.risk.level,
        RiskLevel::High,
        "cc_execute would refuse it: {:?}",
        r.risk
    );
}

#[test]
fn implicit_references_are_warned_unless_declared() {
    let undeclared = [
        "Extend the parser from task 1 with error recovery",
        "Run step 1 again with the --release flag enabled",
        "Using the previous step's output, write the README",
        "Summarise the above in the CHANGELOG file",
        "Add a login page that uses the API from above",
        "Format the code as before and commit it",
        "After task 1, deploy the service to staging",
    ];
    for text in undeclared {
        let r = validate(json!(["Write the parser module in src/parse.rs", text]));
        let refs: Vec<_> = r
            .warnings
            .iter()
            .filter(|w| w.kind == WarningKind::ImplicitReference)
            .collect();
        assert_eq!(refs.len(), 1, "{text}: {:?}", r.warnings);
        assert_eq!(refs[0].position, 2);
        assert!(r.valid);
        assert!(r.risk.level >= RiskLevel::Medium);

        // Declared: no warning.
        let r = validate(json!([
            "Write the parser module in src/parse.rs",
            {"task": text, "depends_on": ["1"]}
        ]));
        assert!(
            !warning_kinds(&r).contains(&WarningKind::ImplicitReference),
            "{text}: {:?}",
            r.warnings
        );
    }

    // Through a chain of declared dependencies: fine.
    let r = validate(json!([
        "Write the parser module in src/parse.rs",
        {"task": "Write tests for the parser module", "depends_on": ["1"]},
        {"task": "Fix whatever the tests of task 1 found", "depends_on": ["2"]},
    ]));
    assert!(
        !warning_kinds(&r).contains(&WarningKind::ImplicitReference),
        "{:?}",
        r.warnings
    );

    // References to later, missing tasks, and from the first task.
    for (list, needle) in [
        (
            json!([
                "Use the result of task 2 in the docs",
                "Write the parser module"
            ]),
            "runs later",
        ),
        (
            json!(["Write the parser module", "Extend task 9 with recovery"]),
            "no task",
        ),
        (
            json!(["Reformat the code as before, then commit"]),
            "first task",
        ),
    ] {
        let r = validate(list);
        let w = r
            .warnings
            .iter()
            .find(|w| w.kind == WarningKind::ImplicitReference);
        assert!(
            w.is_some_and(|w| w.message.contains(needle)),
            "{needle}: {:?}",
            r.warnings
        );
    }

    // A task's own numbered steps are not references.
    let r = validate(json!([
        "Write the parser",
        "Step 1: read src/parse.rs.\nStep 2: add tests"
    ]));
    assert!(
        !warning_kinds(&r).contains(&WarningKind::ImplicitReference),
        "{:?}",
        r.warnings
    );
}

#[test]
fn risk_levels_are_explained() {
    let low = validate(json!(["Write unit tests for the parser in src/parse.rs"]));
    assert_eq!(low.risk.level, RiskLevel::Low, "{:?}", low.risk);
    assert!(!low.risk.reasons.is_empty());

    let medium = validate(json!([
        "Write the parser",
        "Help me choose the right name for the crate"
    ]));
    assert_eq!(medium.risk.level, RiskLevel::Medium, "{:?}", medium.risk);

    let extreme = "Migrate the entire codebase from Python 2 to Python 3, update every module, fix all failing tests, and document the changes";
    let high = validate(json!([
        extreme,
        format!("{extreme} again"),
        format!("{extreme} once more")
    ]));
    assert_eq!(high.risk.level, RiskLevel::High, "{:?}", high.risk);
    assert!(high.risk.reasons.iter().any(|r| r.contains("extreme")));
}

#[test]
fn task_input_deserializes_with_the_same_rules_and_has_a_schema() {
    let items: Vec<TaskInput> =
        serde_json::from_value(json!(["a b c", {"id": 7, "task": "x", "depends_on": "a"}]))
            .unwrap();
    assert_eq!(items[0], TaskInput::Text("a b c".into()));
    match &items[1] {
        TaskInput::Object(o) => {
            assert_eq!(o.id.as_deref(), Some("7"));
            assert_eq!(o.depends_on.as_deref(), Some(&["a".to_string()][..]));
        }
        other => panic!("{other:?}"),
    }
    let err = serde_json::from_value::<TaskInput>(json!({"task": "x", "bogus": 1})).unwrap_err();
    assert!(err.to_string().contains("unknown field `bogus`"), "{err}");

    let req: TaskListRequest = serde_json::from_value(json!({"tasks": ["a", 1]})).unwrap();
    assert!(req.tasks.is_array(), "kept as JSON for per-item errors");
    assert!(serde_json::from_value::<TaskListRequest>(json!({"tasks": [], "x": 1})).is_err());
    let schema = serde_json::to_value(schemars::schema_for!(TaskListRequest)).unwrap();
    assert_eq!(schema["properties"]["tasks"]["type"], "array", "{schema}");
}

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

// ---------------------------------------------------------------------------------------------
// Task files

#[test]
fn task_files_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "list.json",
            r#"[{"id": "a", "task": "Write the parser"}, {"task": "Test it", "depends_on": ["a"]}]"#,
        ),
        (
            "list.yaml",
            "tasks:\n  - id: a\n    task: Write the parser\n  - task: Test it\n    depends_on: [a]\n",
        ),
        (
            "list.yml",
            "- id: a\n  task: Write the parser\n- task: Test it\n  depends_on: a\n",
        ),
        (
            "list.md",
            "# Plan\n\n- [a] Write the parser\n- Test it (depends: a)\n",
        ),
        ("list", "1. [a] Write the parser\n2. Test it (after: a)\n"),
        (
            "list.tasks",
            "[{\"id\": \"a\", \"task\": \"Write the parser\"}, {\"task\": \"Test it\", \"depends_on\": [\"a\"]}]",
        ),
    ];
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let file = read_task_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let shape: Vec<(&str, &str, Vec<&str>)> = file
            .items
            .iter()
            .map(|i| {
                (
                    i.id.as_str(),
                    i.task.as_str(),
                    i.depends_on.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                ("a", "Write the parser", vec![]),
                ("2", "Test it", vec!["a"])
            ],
            "{name}"
        );
        let report = block(planner().validate_items(&file.items));
        assert!(report.valid, "{name}: {:?}", report.errors);
    }
}

#[test]
fn invalid_files_get_errors_with_line_numbers() {
    let cases: &[(&str, &str, usize)] = &[
        ("bad.json", "[\n  \"a\",\n  \"b\"\n  \"c\"\n]", 4),
        ("bad.yaml", "tasks:\n  - a\n  - b\n - c: [\n", 4),
        ("bad.md", "- one\n- two\n\nA stray paragraph.\n", 4),
        ("bad2.md", "- one\n- [two Write it\n", 2),
        (
            "deep.json",
            &format!("{}{}", "[".repeat(1000), "]".repeat(1000)),
            1,
        ),
    ];
    for (name, text, line) in cases {
        let err = parse_task_file(std::path::Path::new(name), text).unwrap_err();
        assert_eq!(err.line(), Some(*line), "{name}: {err}");
        assert!(
            err.to_string().contains(&format!("line {line}")),
            "{name}: {err}"
        );
    }
    // Shape errors name the task; an empty file says so.
    let err = parse_task_text("[\"ok task\", 3]", Some(InputFormat::Json)).unwrap_err();
    assert!(matches!(err, InputError::Tasks { .. }), "{err}");
    assert!(err.to_string().contains("task 2"), "{err}");
    let err = parse_task_text("   \n", Some(InputFormat::Yaml)).unwrap_err();
    assert!(matches!(err, InputError::NoTasks { .. }), "{err}");
    let err = parse_task_text("{\"other\": []}", None).unwrap_err();
    assert!(err.to_string().contains("`tasks`"), "{err}");
    // Not UTF-8: the line of the first bad byte.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.md");
    std::fs::write(&path, b"- one\n- caf\xe9\n").unwrap();
    assert_eq!(read_task_file(&path).unwrap_err().line(), Some(2));
    assert!(matches!(
        read_task_file(&dir.path().join("missing.md")),
        Err(InputError::Read { .. })
    ));
}

#[test]
fn markdown_details() {
    let items = parse_markdown(
        "Intro text.\n\n```\n- not a task\n```\n\n<!-- a\ncomment -->\n- [x] [done-id] Done item\n- Multi-line\n  ```sh\n  cargo test\n\n  ```\n---\n## Next\n* Third\n+ Fourth\n",
    )
    .unwrap();
    let tasks: Vec<(&str, &str)> = items
        .iter()
        .map(|i| (i.id.as_str(), i.task.as_str()))
        .collect();
    assert_eq!(
        tasks,
        vec![
            ("done-id", "Done item"),
            ("2", "Multi-line\n```sh\ncargo test\n\n```"),
            ("3", "Third"),
            ("4", "Fourth")
        ]
    );
    assert_eq!(sniff_format("- task: x\n"), InputFormat::Yaml);
}

// ---------------------------------------------------------------------------------------------
// Predictor on real stores

fn record(category: &str, complexity: &str, secs: u64, minute: i64) -> ExecutionRecord {
    // Relative to now (whole seconds), so the history is as recent on any date the suite runs.
    let day_ago = Utc::now().timestamp() - 86_400;
    let finished = Utc.timestamp_opt(day_ago, 0).unwrap() + Duration::minutes(minute);
    let mut r = ExecutionResult::empty(Uuid::new_v4(), Status::Succeeded, vec![]);
    r.duration_ms = secs * 1000;
    r.started_at = finished - Duration::seconds(secs as i64);
    r.finished_at = finished;
    ExecutionRecord::new(
        "a task",
        "/w",
        Some(category.into()),
        Some(complexity.into()),
        r.started_at,
        r,
    )
}

async fn predictor_switches_with_history(store: Arc<dyn HistoryStore>, backend: &str) {
    let config = PredictorConfig::default();
    let fresh = |store: &Arc<dyn HistoryStore>| {
        let store = Arc::clone(store);
        let config = config.clone();
        async move {
            let p = cc_executor::plan::Predictor::new(Some(&*store), config);
            p.predict(Category::Code, Complexity::Medium).await
        }
    };

    let none = fresh(&store).await;
    assert_eq!(none.based_on, BasedOn::Default, "{backend}");
    assert_eq!((none.sample_size, none.predicted_secs), (0, 360));
    assert_eq!(none.suggested_timeout_secs, 540);

    // Two exact samples: similar (pooled, shrunk toward the default).
    store
        .record_batch(&[
            record("code", "medium", 200, 1),
            record("code", "medium", 220, 2),
        ])
        .await
        .unwrap();
    let few = fresh(&store).await;
    assert_eq!(few.based_on, BasedOn::Similar, "{backend}: {few:?}");
    assert_eq!(few.sample_size, 2);
    assert!(
        few.predicted_secs > 220 && few.predicted_secs < 360,
        "{backend}: {few:?}"
    );
    assert!(few.confidence > none.confidence);

    // Neighbouring complexity of the same category counts, scaled.
    store
        .record_batch(
            &(0..6)
                .map(|i| record("docs", "low", 60, 10 + i))
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    let p = cc_executor::plan::Predictor::new(Some(&*store), config.clone());
    let docs = p.predict(Category::Docs, Complexity::Medium).await;
    assert_eq!(docs.based_on, BasedOn::Similar, "{backend}: {docs:?}");
    assert_eq!(docs.sample_size, 6);
    assert!(
        docs.explanation.contains("docs/low"),
        "{}",
        docs.explanation
    );

    // Enough exact samples: history, p95 of the window.
    let more: Vec<_> = (0..8)
        .map(|i| record("code", "medium", 100 + 10 * i as u64, 20 + i))
        .collect();
    store.record_batch(&more).await.unwrap();
    let many = fresh(&store).await;
    assert_eq!(many.based_on, BasedOn::History, "{backend}: {many:?}");
    assert_eq!(many.sample_size, 10);
    // Durations 100..170 and 200, 220: nearest-rank p95 of 10 = the 10th = 220.
    assert_eq!(many.predicted_secs, 220, "{backend}: {many:?}");
    assert_eq!(many.suggested_timeout_secs, 330);
    let p90 = cc_executor::plan::Predictor::new(
        Some(&*store),
        PredictorConfig {
            percentile: 0.9,
            ..config.clone()
        },
    );
    assert_eq!(
        p90.predict(Category::Code, Complexity::Medium)
            .await
            .predicted_secs,
        200
    );
    assert!(many.confidence > few.confidence);

    // The window keeps only the most recent executions.
    let small_window = PredictorConfig {
        window: 5,
        ..config.clone()
    };
    let p = cc_executor::plan::Predictor::new(Some(&*store), small_window);
    let recent = p.predict(Category::Code, Complexity::Medium).await;
    assert_eq!(recent.sample_size, 5);
    assert_eq!(recent.predicted_secs, 170, "newest five are 130..170");
    assert!(
        recent.explanation.contains("p95 of the 5 most recent"),
        "{}",
        recent.explanation
    );

    // Floor and ceiling.
    store
        .record_batch(
            &(0..6)
                .map(|i| record("general", "trivial", 2, 40 + i))
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    store
        .record_batch(
            &(0..6)
                .map(|i| record("ops", "extreme", 3 * 3600, 50 + i))
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    let p = cc_executor::plan::Predictor::new(Some(&*store), config.clone());
    let tiny = p.predict(Category::General, Complexity::Trivial).await;
    assert_eq!(
        (
            tiny.based_on,
            tiny.predicted_secs,
            tiny.suggested_timeout_secs
        ),
        (BasedOn::History, 2, 60)
    );
    let huge = p.predict(Category::Ops, Complexity::Extreme).await;
    assert_eq!(huge.suggested_timeout_secs, 3600, "{backend}");
    assert!(huge.notes.iter().any(|n| n.contains("ceiling")));
    let custom = cc_executor::plan::Predictor::new(
        Some(&*store),
        PredictorConfig {
            floor_secs: 10,
            ceiling_secs: 7200,
            safety_margin: 2.0,
            ..config
        },
    );
    assert_eq!(
        custom
            .predict(Category::General, Complexity::Trivial)
            .await
            .suggested_timeout_secs,
        10
    );
    assert_eq!(
        custom
            .predict(Category::Ops, Complexity::Extreme)
            .await
            .suggested_timeout_secs,
        7200
    );

    // The planner uses the store for whole lists too.
    let planner = Planner::new(Some(&*store), PlanConfig::default());
    let r = planner
        .validate(&json!(["What is the capital of France?"]))
        .await;
    assert_eq!(
        r.tasks[0].based_on,
        BasedOn::History,
        "{backend}: {:?}",
        r.tasks[0]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn predictor_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("history.sqlite3")).unwrap();
    predictor_switches_with_history(Arc::new(store), "sqlite").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn predictor_on_redis() {
    let dir = tempfile::tempdir().unwrap();
    let server = RedisServer::start();
    let store = RedisStore::open(
        &server.url(),
        "cc_plan_test",
        30,
        dir.path().join("outbox.sqlite3"),
    )
    .await
    .unwrap();
    predictor_switches_with_history(Arc::new(store), "redis").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_store_falls_back_to_defaults_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = RedisServer::start();
    let store = RedisStore::open(
        &server.url(),
        "cc_plan_down",
        30,
        dir.path().join("outbox.sqlite3"),
    )
    .await
    .unwrap();
    server.stop();
    let p = cc_executor::plan::Predictor::new(Some(&store), PredictorConfig::default());
    let prediction = p.predict(Category::Code, Complexity::Low).await;
    assert_eq!(prediction.based_on, BasedOn::Default);
    assert_eq!(prediction.suggested_timeout_secs, 180);
    assert!(!prediction.notes.is_empty(), "{prediction:?}");
}

// ---------------------------------------------------------------------------------------------
// Hostile input

#[test]
fn ten_thousand_tasks_answer_quickly() {
    let n = 10_000;
    // A chain (every task depends on the previous), with references and duplicates sprinkled in.
    let chain: Vec<Value> = (0..n)
        .map(|i| {
            let text = match i % 5 {
                0 => format!("Implement feature {i} in src/feature_{i}.rs, then add tests"),
                1 => format!("Write the docs for task {i}"),
                2 => "Run the test suite and fix failures".to_string(),
                3 => format!("Use the previous step's output for report {i}"),
                _ => format!("Refactor module {i} to remove duplication"),
            };
            if i == 0 {
                json!({"id": format!("t{i}"), "task": text})
            } else {
                json!({"id": format!("t{i}"), "task": text, "depends_on": [format!("t{}", i - 1)]})
            }
        })
        .collect();
    let chain = Value::Array(chain);
    let t = Instant::now();
    let r = validate(chain.clone());
    let validate_time = t.elapsed();
    assert!(r.valid, "{:?}", &r.errors[..r.errors.len().min(3)]);
    assert_eq!(r.tasks.len(), n);
    assert!(warning_kinds(&r).contains(&WarningKind::DuplicateTask));

    let t = Instant::now();
    let s = block(planner().strategy(&chain));
    let strategy_time = t.elapsed();
    assert_eq!(s.waves.len(), n, "a chain is one task per wave");

    // A 10 000-long cycle: found without recursion.
    let mut cyclic = chain.clone();
    cyclic[0]["depends_on"] = json!([format!("t{}", n - 1)]);
    let t = Instant::now();
    let r = validate(cyclic);
    let cycle_time = t.elapsed();
    let cycle = r
        .errors
        .iter()
        .find(|e| e.kind == ErrorKind::Cycle)
        .unwrap();
    assert_eq!(cycle.cycle.as_ref().unwrap().len(), n + 1);
    assert!(cycle.message.len() < 1000, "the message elides the middle");

    // Independent tasks, all identical, all with ids by position.
    let same = Value::Array(vec![json!("Write the same thing again"); n]);
    let t = Instant::now();
    let r = validate(same);
    let dup_time = t.elapsed();
    assert_eq!(
        r.warnings
            .iter()
            .filter(|w| w.kind == WarningKind::DuplicateTask)
            .count(),
        n - 1
    );
    eprintln!(
        "10 000 tasks (debug build): validate chain {validate_time:?}, strategy {strategy_time:?}, 10 000-cycle {cycle_time:?}, 10 000 duplicates {dup_time:?}"
    );
}

#[test]
fn a_task_of_several_megabytes_is_not_slow() {
    let mut big = String::from("Refactor the parser in src/parse.rs. Then task 1 again. ");
    while big.len() < 8 * 1024 * 1024 {
        big.push_str("lorem ipsum dolor sit amet, the previous step; implement test fix deploy 12 endpoints ");
    }
    let t = Instant::now();
    let r = validate(json!(["Write the parser module first", big.clone(), big]));
    let elapsed = t.elapsed();
    assert!(r.valid);
    assert!(warning_kinds(&r).contains(&WarningKind::TooLong));
    assert!(warning_kinds(&r).contains(&WarningKind::DuplicateTask));
    let c = &r.tasks[1];
    assert!(c.score >= 5, "length counts: {c:?}");
    let t2 = Instant::now();
    let one = block(planner().task_complexity(&"x ".repeat(4 * 1024 * 1024)));
    let single = t2.elapsed();
    assert!(
        one.warnings
            .iter()
            .any(|w| w.kind == PromptWarningKind::TooLong)
    );
    eprintln!("two 8 MB tasks validated in {elapsed:?}; one 8 MB task assessed in {single:?}");
}

#[test]
fn deeply_nested_and_malformed_objects_get_clear_errors() {
    // serde_json refuses more than 128 levels; the planner sees what the MCP layer can hand it.
    let deep_text = format!("{}\"x\"{}", "[".repeat(120), "]".repeat(120));
    let deep: Value = serde_json::from_str(&deep_text).unwrap();
    let r = validate(json!([deep.clone()]));
    assert_eq!(error_kinds(&r), vec![ErrorKind::MalformedTask]);
    assert!(r.errors[0].message.contains("task 1 is an array"));
    let r = validate(deep);
    assert!(!r.valid);

    let mut nested_obj = json!("leaf");
    for _ in 0..100 {
        nested_obj = json!({"task": nested_obj});
    }
    let r = validate(json!([nested_obj]));
    assert_eq!(error_kinds(&r), vec![ErrorKind::MalformedTask]);
    assert!(
        r.errors[0].message.contains("`task` must be a string"),
        "{}",
        r.errors[0].message
    );

    let many_keys: serde_json::Map<String, Value> =
        (0..10_000).map(|i| (format!("k{i}"), json!(i))).collect();
    let r = validate(json!([Value::Object(many_keys)]));
    assert!(r.errors.len() <= 5, "bounded per item: {}", r.errors.len());

    let r = validate(json!([{"task": "x y z", "depends_on": vec![json!(null); 1000]}]));
    assert!(!r.valid);
    assert!(r.errors.len() <= 5);
}

// ---------------------------------------------------------------------------------------------
// Properties

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        prop_oneof![Just("id"), Just("task"), Just("depends_on"), Just("1")].prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("id".to_string()),
                    Just("task".to_string()),
                    Just("depends_on".to_string()),
                    ".{0,8}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Task lists shaped like real ones: small id alphabet (so duplicates and unknown ids happen),
/// dependencies anywhere (so forward deps and cycles happen), texts with references.
fn arb_list() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        Just("Write the parser".to_string()),
        Just("Fix task 2 and the previous step".to_string()),
        Just("".to_string()),
        Just("-v walk me through it".to_string()),
        "[a-z ]{0,30}",
        ".{0,60}",
    ];
    let id = prop_oneof![Just(None), (0u8..12).prop_map(|i| Some(format!("{i}")))];
    let deps = prop::collection::vec((0u8..12).prop_map(|i| format!("{i}")), 0..4);
    let item = prop_oneof![
        text.clone().prop_map(Value::String),
        (id, text, prop::option::of(deps)).prop_map(|(id, task, deps)| {
            let mut m = serde_json::Map::new();
            if let Some(id) = id {
                m.insert("id".into(), json!(id));
            }
            m.insert("task".into(), json!(task));
            if let Some(d) = deps {
                m.insert("depends_on".into(), json!(d));
            }
            Value::Object(m)
        }),
    ];
    prop::collection::vec(item, 0..14).prop_map(Value::Array)
}

/// Markdown made of the pieces the parser cares about, in any order.
fn arb_markdown() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("- "),
        Just("1. "),
        Just("* "),
        Just("  "),
        Just("\t"),
        Just("[a] "),
        Just("[ ] "),
        Just("[b"),
        Just("(depends: a)"),
        Just("(depends: a, b"),
        Just("(after: x y)"),
        Just("```"),
        Just("# "),
        Just("<!-- "),
        Just("-->"),
        Just("---"),
        Just("task 1 "),
        Just("é"),
        Just("\n"),
        Just("\n\n"),
        Just("text "),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn markdown_parsing_never_panics(text in arb_markdown()) {
        match parse_markdown(&text) {
            Ok(items) => {
                for (i, item) in items.iter().enumerate() {
                    prop_assert_eq!(item.position, i + 1);
                    prop_assert!(item.line.is_some());
                }
                let r = block(planner().validate_items(&items));
                prop_assert_eq!(r.valid, r.errors.is_empty());
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn validation_never_panics_on_arbitrary_json(v in arb_json()) {
        let r = validate(v.clone());
        prop_assert_eq!(r.valid, r.errors.is_empty());
        let s = block(planner().strategy(&v));
        prop_assert_eq!(s.valid, r.valid);
        let _ = serde_json::from_value::<TaskInput>(v);
    }

    #[test]
    fn waves_respect_every_dependency(v in arb_list()) {
        let r = validate(v.clone());
        prop_assert_eq!(r.valid, r.errors.is_empty());
        let s = block(planner().strategy(&v));
        if s.valid {
            let wave_of: HashMap<&str, usize> = s.tasks.iter().map(|t| (t.id.as_str(), t.wave.unwrap())).collect();
            // Every task exactly once.
            let mut seen = HashSet::new();
            for w in &s.waves {
                for id in &w.task_ids {
                    prop_assert!(seen.insert(id.clone()), "{} twice", id);
                    prop_assert_eq!(wave_of[id.as_str()], w.number);
                }
            }
            prop_assert_eq!(seen.len(), s.tasks.len());
            // Dependencies in strictly earlier waves.
            for t in &s.tasks {
                for d in &t.depends_on {
                    prop_assert!(wave_of[d.as_str()] < wave_of[t.id.as_str()], "{} -> {}", t.id, d);
                }
            }
        } else {
            prop_assert!(!s.errors.is_empty());
        }
    }

    #[test]
    fn markdown_and_text_parsing_never_panic(text in "(.{0,20}\n){0,12}", fmt in 0u8..4) {
        let format = match fmt { 0 => Some(InputFormat::Json), 1 => Some(InputFormat::Yaml), 2 => Some(InputFormat::Markdown), _ => None };
        if let Ok(file) = parse_task_text(&text, format) {
            let r = block(planner().validate_items(&file.items));
            prop_assert_eq!(r.valid, r.errors.is_empty());
        }
    }
}
