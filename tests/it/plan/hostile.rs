//! Hostile input: huge lists, huge tasks, deep nesting.

use super::*;

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
