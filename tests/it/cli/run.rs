//! `run` and `run-list`: what they print, in what order, and what reaches `claude`.

use super::*;

#[test]
fn run_prints_the_answer_and_exits_zero_only_on_success() {
    let s = Scratch::new();
    let mut c = s.cmd();
    c.args([
        "run",
        "@fake success text=forty-two\nwhat is six times seven",
    ]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "forty-two");
    // Live progress and the summary go to stderr, never stdout.
    let err = text(&out.stderr);
    assert!(
        err.contains("started") && err.contains("succeeded"),
        "{err}"
    );

    let mut c = s.cmd();
    c.args(["run", "@fake max_turns\nloop forever"]);
    assert_eq!(output(c, None).status.code(), Some(1));

    let mut c = s.cmd();
    c.args(["run", "--timeout-secs", "1", "@fake hang\nhang forever"]);
    assert_eq!(output(c, None).status.code(), Some(4));

    let mut c = s.cmd();
    c.args([
        "run",
        "--claude-bin",
        "/nonexistent/claude",
        "do a thing now",
    ]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("npm install"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn run_json_reads_the_task_from_stdin_and_prints_the_full_result() {
    let s = Scratch::new();
    let mut c = s.cmd();
    c.args(["run", "--json", "-"]);
    let out = output(
        c,
        Some("@fake tools\n-- starts with dashes and has `quotes` \"too\"\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: Value =
        serde_json::from_slice(&out.stdout).expect("stdout is exactly one JSON document");
    assert_eq!(v["status"], "succeeded");
    assert!(v["execution_id"].as_str().unwrap().len() == 36);
    assert_eq!(v["tools_used"]["Write"], 2);
    // The task reaches claude verbatim; the UUID hook (on by default) appends its instruction
    // after it (tests/it/evidence/ checks the instruction, and the bytes with the hook off).
    let stdin = s.invocations()[0]["stdin"].as_str().unwrap().to_string();
    let task = "@fake tools\n-- starts with dashes and has `quotes` \"too\"\n";
    assert!(stdin.starts_with(task), "{stdin}");
    assert!(
        stdin[task.len()..].contains(v["execution_id"].as_str().unwrap()),
        "{stdin}"
    );
}

/// Every log line of an execution carries its id and task class (the `execution` span), so
/// a log can always be tied to its task, even when several run.
#[test]
fn an_executions_log_lines_name_the_execution_and_its_class() {
    let s = Scratch::new();
    let mut c = s.cmd();
    c.env("RUST_LOG", "cc_executor=debug").args([
        "run",
        "--json",
        "@fake success\nwrite unit tests for the parser",
    ]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["execution_id"].as_str().unwrap();
    let log = text(&out.stderr);
    let started = log
        .lines()
        .find(|l| l.contains("claude started"))
        .unwrap_or_else(|| panic!("no 'claude started' line in:\n{log}"));
    assert!(
        started.contains(&format!("execution{{execution_id={id} category=")),
        "{started}"
    );
    assert!(started.contains("complexity="), "{started}");
}

#[test]
fn claudecode_is_removed_from_the_childs_environment() {
    let s = Scratch::new();
    let mut c = s.cmd();
    c.env("CLAUDECODE", "1")
        .args(["run", "@fake success\nanything at all"]);
    assert_eq!(output(c, None).status.code(), Some(0));
    assert_eq!(s.invocations()[0]["env_has_claudecode"], false);
}

#[test]
fn requests_piped_before_stdin_closes_are_all_answered() {
    let s = Scratch::new();
    let msgs = [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"pipe","version":"1"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"check_websocket_status","arguments":{}}}"#,
    ]
    .join("\n")
        + "\n";
    for round in 0..10 {
        let mut c = s.cmd();
        c.arg("mcp");
        let out = output(c, Some(&msgs));
        let mut answered: Vec<i64> = text(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["id"].as_i64())
            .collect();
        // JSON-RPC answers in any order; what matters is that none is lost.
        answered.sort_unstable();
        assert_eq!(answered, [1, 2, 3], "round {round}: {}", text(&out.stderr));
        assert_eq!(out.status.code(), Some(0));
    }
}

/// Progress and the summary come out in order, every time: "finished" is printed before the
/// summary line, never after it (the executor announces "finished" on its own task, after the
/// result is available to the caller).
#[test]
fn run_prints_all_progress_before_the_summary_every_time() {
    let s = Scratch::new();
    for round in 0..20 {
        let mut c = s.cmd();
        c.args(["run", "@fake tools\nwrite two files"]);
        let out = output(c, None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        let lines: Vec<&str> = err.lines().collect();
        let at = |prefix: &str| {
            lines
                .iter()
                .position(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("round {round}: no `{prefix}` line in\n{err}"))
        };
        let order = [
            at("cc-executor: starting"),
            at("cc-executor: started"),
            at("cc-executor: tool: Write"),
            at("cc-executor: finished: succeeded"),
            at("cc-executor: succeeded in "),
        ];
        assert!(order.is_sorted(), "round {round}: out of order\n{err}");
        assert_eq!(
            order[4],
            lines.len() - 1,
            "round {round}: the summary is the last line\n{err}"
        );
        assert_eq!(
            lines.iter().filter(|l| l.contains("finished:")).count(),
            1,
            "round {round}: one finished line\n{err}"
        );
    }
}

/// `run-list`: everything about a task is printed between its "started" and its end, and the
/// run's end is the last line — every time (each execution's own "finished" is announced on
/// the executor's task and could otherwise land after the next task started, or after the
/// run ended).
#[test]
fn run_list_prints_each_tasks_progress_in_order_every_time() {
    let s = Scratch::new();
    let ids = ["a", "b", "c"];
    let list: String = ids
        .iter()
        .map(|id| format!("- id: {id}\n  task: \"@fake tools\\ntask {id}\"\n"))
        .collect();
    std::fs::write(s.path().join("list.yaml"), list).unwrap();
    for round in 0..10 {
        let mut c = s.cmd();
        c.args(["run-list", "list.yaml"]);
        let out = output(c, None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        let lines: Vec<&str> = err.lines().collect();
        let mut next = 0;
        for (n, id) in ids.iter().enumerate() {
            let start = format!("cc-executor: task {}/3 `{id}` started", n + 1);
            let end = format!("cc-executor: task `{id}` succeeded");
            let first = lines.iter().position(|l| l.starts_with(&start));
            let last = lines.iter().position(|l| l.starts_with(&end));
            let (Some(first), Some(last)) = (first, last) else {
                panic!("round {round}: task {id} not reported\n{err}");
            };
            assert!(next <= first && first < last, "round {round}\n{err}");
            let tag = format!("`{id}`");
            for (i, l) in lines.iter().enumerate() {
                if l.contains(&tag) {
                    assert!(
                        (first..=last).contains(&i),
                        "round {round}: `{l}` is outside task {id}\n{err}"
                    );
                }
            }
            next = last + 1;
        }
        assert_eq!(
            lines.last().copied(),
            Some("cc-executor: run succeeded"),
            "round {round}\n{err}"
        );
    }
}

/// `run-list` warns about the list exactly as `plan` does (a task that mentions "task 1"
/// without depending on it), before it runs; a clean list gets no warning.
#[test]
fn run_list_prints_the_warnings_plan_prints() {
    let s = Scratch::new();
    std::fs::write(
        s.path().join("list.yaml"),
        "- \"@fake success\\nCreate notes.txt with a summary of the repository\"\n\
         - \"@fake success\\nUsing the output of task 1, write a changelog entry\"\n",
    )
    .unwrap();
    let mut c = s.cmd();
    c.args(["plan", "list.yaml"]);
    let plan = output(c, None);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan.stderr));
    let planned: Vec<String> = text(&plan.stdout)
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .map(str::to_string)
        .collect();
    assert_eq!(planned.len(), 1, "{}", text(&plan.stdout));
    assert!(planned[0].contains("task 1"), "{planned:?}");

    let mut c = s.cmd();
    c.args(["run-list", "list.yaml"]);
    let run = output(c, None);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let err = text(&run.stderr);
    let warned: Vec<String> = err
        .lines()
        .filter_map(|l| l.strip_prefix("cc-executor: "))
        .filter(|l| l.starts_with("warning:"))
        .map(str::to_string)
        .collect();
    assert_eq!(warned, planned, "{err}");
    let first_task = err.lines().position(|l| l.contains("task 1/2")).unwrap();
    let warning = err.lines().position(|l| l.contains("warning:")).unwrap();
    assert!(warning < first_task, "warned before anything ran\n{err}");

    std::fs::write(
        s.path().join("clean.yaml"),
        "- \"@fake success\\nCreate notes.txt with a summary of the repository\"\n",
    )
    .unwrap();
    let mut c = s.cmd();
    c.args(["run-list", "clean.yaml"]);
    let run = output(c, None);
    assert_eq!(run.status.code(), Some(0));
    assert!(
        !text(&run.stderr).contains("warning:"),
        "{}",
        text(&run.stderr)
    );
}

/// The login check costs a process start: one per cc-executor process, not one per task.
#[test]
fn the_login_is_asked_once_for_a_whole_run_list() {
    let s = Scratch::new();
    s.log_in();
    std::fs::write(
        s.path().join("list.yaml"),
        "- \"@fake success\\nfirst\"\n- \"@fake success\\nsecond\"\n- \"@fake success\\nthird\"\n",
    )
    .unwrap();
    let mut c = s.cmd();
    c.env("ANTHROPIC_API_KEY", SECRET_KEY)
        .args(["run-list", "list.yaml"]);
    let out = output(c, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let keys: Vec<bool> = s
        .invocations()
        .iter()
        .map(|v| v["anthropic_api_key_set"].as_bool().unwrap())
        .collect();
    assert_eq!(keys, [false, false, false]);
    assert_eq!(s.auth_checks().len(), 1);
}
