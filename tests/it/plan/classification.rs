//! Classification of a task, and the complexity of one task.

use super::*;

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
