//! Task-list validation: every error kind and every warning kind.

use super::*;

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
