//! The CLI: `run-list`, `runs`, a crash in the middle of a run, and bad input.

use super::*;

// ---- The CLI: `run-list`, `runs`, a crash in the middle of a run, and bad input ----------

/// `cc-executor` with the fake claude, a data dir and an allowed root in `root`.
fn cli_command(root: &Path, redis: Option<&str>) -> Command {
    let mut cmd = Command::new(cc_executor_bin());
    cmd.current_dir(root)
        .env("CC_EXECUTOR_CLAUDE_BIN", fake_claude_bin())
        .env("CC_EXECUTOR_DATA_DIR", root.join("data"))
        .env("CC_EXECUTOR_ALLOWED_ROOTS", root)
        .env("FAKE_CLAUDE_RECORD_DIR", root.join("record"))
        .env("XDG_CONFIG_HOME", root.join("config"))
        .env_remove("REDIS_URL")
        .stdin(Stdio::null());
    if let Some(url) = redis {
        cmd.env("REDIS_URL", url);
    }
    cmd
}

fn cli(root: &Path, redis: Option<&str>, args: &[&str]) -> Output {
    cli_command(root, redis).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn invocations(root: &Path) -> Vec<Value> {
    std::fs::read_to_string(root.join("record/invocations.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The issue's crash test: SIGKILL `cc-executor` in the middle of task 2 of 4, then resume:
/// tasks 2–4 run exactly once more, task 1 never again, the interrupted execution is in the
/// history as `crashed`, and what was left of it is killed. Task 2's `claude` dies with the
/// server (parent-death signal); the grandchild it started in a session of its own does not,
/// and is what the resume must find and kill.
fn a_run_killed_mid_task_resumes_where_it_stopped(redis: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(
        root.join("list.md"),
        "# Release\n\n1. @fake success text=one-done\n   first\n2. @fake grandchild mode=setsid secs=60 wait=8\n   second\n3. @fake success\n   third\n4. @fake success\n   fourth\n",
    )
    .unwrap();
    let mut child = cli_command(&root, redis)
        .args(["run-list", "list.md"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let run_id = loop {
        let line = lines.next().expect("run id line").unwrap();
        if let Some(rest) = line.strip_prefix("cc-executor: run ") {
            break rest.split(':').next().unwrap().to_string();
        }
    };
    // Keep draining stderr so the child never blocks on it.
    std::thread::spawn(move || for _ in lines {});
    let deadline = Instant::now() + Duration::from_secs(20);
    while invocations(&root).len() < 2 {
        assert!(Instant::now() < deadline, "task 2 never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
    let claude = invocations(&root)[1]["pid"].as_i64().unwrap() as i32;
    let pids = root.join(format!("record/{claude}.pids"));
    let orphan: i32 = std::fs::read_to_string(&pids)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while pid_exists(claude) && !is_zombie(claude) {
        assert!(
            Instant::now() < deadline,
            "the interrupted claude {claude} outlived its parent"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        pid_exists(orphan) && !is_zombie(orphan),
        "the grandchild in its own session outlives the server (until the resume)"
    );

    let show = cli(&root, redis, &["runs", "show", &run_id, "--json"]);
    assert!(show.status.success(), "{}", text(&show.stderr));
    let stored: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(stored["state"], "interrupted", "{stored:#}");
    assert_eq!(stored["tasks"][0]["state"], "succeeded");
    assert_eq!(stored["tasks"][1]["state"], "running");
    let interrupted = stored["tasks"][1]["execution_id"]
        .as_str()
        .unwrap()
        .to_string();

    let resumed = cli(&root, redis, &["run-list", "--resume", &run_id, "--json"]);
    assert!(
        resumed.status.success(),
        "{}\n{}",
        text(&resumed.stdout),
        text(&resumed.stderr)
    );
    let run: Value = serde_json::from_slice(&resumed.stdout).unwrap();
    assert_eq!(run["state"], "succeeded", "{run:#}");
    assert_eq!(run["resumes"], 1);
    let stdins: Vec<String> = invocations(&root)
        .iter()
        .map(|v| v["stdin"].as_str().unwrap().to_string())
        .collect();
    let count = |word: &str| {
        stdins
            .iter()
            .filter(|s| s.lines().any(|l| l.trim() == word))
            .count()
    };
    assert_eq!(
        (
            count("first"),
            count("second"),
            count("third"),
            count("fourth")
        ),
        (1, 2, 1, 1),
        "{stdins:#?}"
    );
    let executions = run["tasks"][1]["executions"].as_array().unwrap();
    assert_eq!(executions.len(), 2);
    assert_eq!(executions[0], interrupted.as_str());

    // The history shows the interrupted attempt, and that its leftover was killed.
    let hist = cli(&root, redis, &["history", "show", &interrupted, "--json"]);
    assert!(hist.status.success(), "{}", text(&hist.stderr));
    let rec: Value = serde_json::from_slice(&hist.stdout).unwrap();
    let result = &rec["result"];
    assert_eq!(result["status"], "interrupted", "{rec:#}");
    let warnings = result["warnings"].to_string();
    assert!(warnings.contains("interrupted"), "{warnings}");
    assert!(
        warnings.contains("1 leftover process(es) killed"),
        "{warnings}"
    );
    // It has evidence like any execution: verification finds it intact, and not verified.
    let verify = cli(&root, redis, &["verify", &interrupted, "--json"]);
    let report: Value = serde_json::from_slice(&verify.stdout).unwrap();
    let v = &report["executions"][0];
    assert_eq!(v["verdict"], "unverified", "{report:#}");
    assert!(v["response_file"].is_string(), "{report:#}");
    assert!(
        v["reasons"].to_string().contains("interrupted"),
        "{report:#}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while pid_exists(orphan) && !is_zombie(orphan) {
        assert!(
            Instant::now() < deadline,
            "the leftover {orphan} still runs"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // Now it is finished: a second resume is refused.
    let again = cli(&root, redis, &["run-list", "--resume", &run_id]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("already finished"),
        "{}",
        text(&again.stderr)
    );
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(true)
}

#[test]
fn crash_and_resume_on_sqlite() {
    a_run_killed_mid_task_resumes_where_it_stopped(None);
}

#[test]
fn crash_and_resume_on_redis() {
    let server = RedisServer::start();
    a_run_killed_mid_task_resumes_where_it_stopped(Some(&server.url()));
}

#[test]
fn run_list_and_runs_from_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(
        root.join("list.yaml"),
        "- id: a\n  task: \"@fake success text=alpha\\nfirst\"\n- id: b\n  task: \"@fake echo\\ngot {{tasks.a.result}}\"\n",
    )
    .unwrap();
    let out = cli(&root, None, &["run-list", "list.yaml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("succeeded: 2/2 task(s) done"), "{stdout}");
    assert!(stdout.contains("got alpha"), "{stdout}");
    let list = cli(&root, None, &["runs", "list", "--json"]);
    let runs: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(runs[0]["state"], "succeeded");
    assert_eq!(runs[0]["total"], 2);
    assert!(runs[0]["source"].as_str().unwrap().ends_with("list.yaml"));
    let human = text(&cli(&root, None, &["runs", "list"]).stdout);
    assert!(
        human.contains("succeeded") && human.contains("2/2"),
        "{human}"
    );
}

#[test]
fn bad_input_to_run_list_is_a_clear_error_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    // Not valid JSON: the error names the line.
    std::fs::write(
        root.join("broken.json"),
        "[\n  \"one\",\n  \"two\"\n  \"three\"\n]\n",
    )
    .unwrap();
    let out = cli(&root, None, &["run-list", "broken.json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("broken.json") && err.contains("line 4"),
        "{err}"
    );
    // Not valid YAML (line and column), and a markdown file without a list.
    std::fs::write(
        root.join("broken.yaml"),
        "- id: a\n  task: \"x\"\n- id: b\n  task: [unclosed\n",
    )
    .unwrap();
    let out = cli(&root, None, &["run-list", "broken.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("invalid YAML at line 5"), "{err}");
    std::fs::write(root.join("prose.md"), "# Title\n\nJust prose, no list.\n").unwrap();
    let out = cli(&root, None, &["run-list", "prose.md"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no tasks found"),
        "{}",
        text(&out.stderr)
    );
    // A cycle: every validation error is listed, nothing starts.
    std::fs::write(
        root.join("cycle.json"),
        r#"[{"id":"a","task":"do a","depends_on":["b"]},{"id":"b","task":"do b","depends_on":["a"]}]"#,
    )
    .unwrap();
    let out = cli(&root, None, &["run-list", "cycle.json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("not valid, nothing was started"), "{err}");
    assert!(err.contains("task 1"), "{err}");
    // Unknown and malformed run ids.
    let unknown = uuid::Uuid::new_v4().to_string();
    let out = cli(&root, None, &["run-list", "--resume", &unknown]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown run"),
        "{}",
        text(&out.stderr)
    );
    let out = cli(&root, None, &["run-list", "--resume", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("UUID"), "{}", text(&out.stderr));
    let out = cli(&root, None, &["runs", "show", &unknown]);
    assert_eq!(out.status.code(), Some(1));
    // A file and --resume together, and neither.
    let out = cli(
        &root,
        None,
        &["run-list", "cycle.json", "--resume", &unknown],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = cli(&root, None, &["run-list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(invocations(&root).is_empty());
}
