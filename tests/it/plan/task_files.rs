//! Task files in every format, their errors and markdown details.

use super::*;

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
