//! What a run reports: the answer, the prompt on stdin, every error outcome, retries.

use super::*;

#[tokio::test]
async fn a_successful_run_reports_everything_the_cli_said() {
    let h = Harness::new();
    let r = h.run("@fake success text=all-good\nsay all-good").await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert_eq!(r.result.as_deref(), Some("all-good"));
    assert!(r.session_id.is_some());
    assert_eq!(r.claude_version.as_deref(), Some("2.1.331"));
    assert!(r.model.is_some());
    assert!(r.total_cost_usd.unwrap() > 0.0);
    assert!(r.num_turns.is_some() && r.usage.is_some() && r.duration_api_ms.is_some());
    assert_eq!(r.attempts.len(), 1);
    assert_eq!(r.exit_code, Some(0));
    // The full raw stream is on disk, owner-only.
    let raw = PathBuf::from(r.raw_output_path.as_ref().unwrap());
    let text = std::fs::read_to_string(&raw).unwrap();
    assert!(text.contains("\"type\":\"system\"") && text.contains("all-good"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&raw).unwrap().permissions().mode() & 0o777,
        0o600
    );
    h.assert_tree_gone();
}

#[tokio::test]
async fn the_prompt_reaches_claude_byte_for_byte_on_stdin_never_in_argv() {
    // The UUID hook appends to the prompt (tests/it/evidence/); off, the bytes are exactly ours.
    let h = Harness::with(|c| c.hooks.uuid_hook = false);
    let tricky = "@fake echo\n$(touch /tmp/pwned) `id` ; rm -rf / | cat && echo \"double\" 'single' \\n \u{1F600} -- --help\ntrailing backslash \\";
    let r = h.run(tricky).await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert_eq!(r.result.as_deref(), Some(tricky));
    let inv = h.invocations();
    assert_eq!(inv[0]["stdin"], tricky);
    let argv: Vec<String> = serde_json::from_value(inv[0]["argv"].clone()).unwrap();
    assert!(argv.iter().all(|a| !a.contains("pwned")), "{argv:?}");
    assert!(!PathBuf::from("/tmp/pwned").exists());
}

#[tokio::test]
async fn a_300_kib_prompt_runs_although_one_argv_entry_is_capped_at_128_kib() {
    let h = Harness::with(|c| c.hooks.uuid_hook = false);
    let mut prompt = String::from("@fake echo\n");
    while prompt.len() < 300 * 1024 {
        prompt.push_str("lorem ipsum dolor sit amet ");
    }
    let r = h.run(&prompt).await;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.warnings);
    assert_eq!(r.result.as_deref().map(str::len), Some(prompt.len()));
    assert_eq!(h.invocations()[0]["stdin_len"], prompt.len());
}

#[tokio::test]
async fn exit_without_a_result_line_is_a_crash_even_with_exit_code_zero() {
    let h = Harness::new();
    let r = h.run("@fake sigint_exit0\ninterrupted").await;
    assert_eq!(r.status, Status::Crashed, "{r:#?}");
    assert_eq!(r.exit_code, Some(0));
    assert!(
        r.warnings.iter().any(|w| w.contains("not success")),
        "{:?}",
        r.warnings
    );

    let r = h.run("@fake crash\nfall over").await;
    assert_eq!(r.status, Status::Crashed);
    assert_eq!(r.exit_code, Some(1));
    assert!(!r.stderr_tail.is_empty());
    h.assert_tree_gone();
}

#[tokio::test]
async fn noise_and_unknown_events_are_tolerated_and_reported() {
    let h = Harness::new();
    let r = h.run("@fake noise\nbe noisy").await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert!(
        r.warnings.iter().any(|w| w.contains("not stream-json")),
        "{:?}",
        r.warnings
    );

    let r = h.run("@fake unknown_events\nfrom the future").await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert!(
        r.warnings.iter().all(|w| !w.contains("unreadable")),
        "{:?}",
        r.warnings
    );
}

#[tokio::test]
async fn a_single_20_mb_record_is_read_whole() {
    let h = Harness::new();
    let r = h.run("@fake big_record mb=20\nbig answer").await;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.warnings);
    assert_eq!(r.result.as_deref().map(str::len), Some(20 * 1024 * 1024));
}

#[tokio::test]
async fn a_record_over_the_cap_is_reported_not_a_crash_of_ours() {
    let h = Harness::with(|c| c.max_record_bytes = 1024 * 1024);
    let r = h.run("@fake big_record mb=2\nbig answer").await;
    // Both the assistant line and the result line were over the cap: the run has no
    // readable result — its own status, not a crash — and the warning says why.
    assert_eq!(r.status, Status::OutputTooLarge, "{r:#?}");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("exceeded the record cap")),
        "{:?}",
        r.warnings
    );
    let raw = std::fs::metadata(r.raw_output_path.unwrap()).unwrap();
    assert!(
        raw.len() > 4 * 1024 * 1024,
        "nothing is lost: the raw file has it all"
    );
}

#[tokio::test]
async fn a_megabyte_of_stderr_does_not_deadlock_and_only_a_tail_is_kept() {
    let h = Harness::new();
    let r = h.run("@fake stderr_flood kb=2048\nchatty").await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    let cap = h.executor.config().tail_bytes;
    assert!(!r.stderr_tail.is_empty() && r.stderr_tail.len() <= cap);
}

#[tokio::test]
async fn each_error_outcome_of_the_cli_has_its_own_status() {
    let h = Harness::new();
    let cases = [
        ("max_turns", Status::MaxTurns),
        ("api_error status=400", Status::ApiError),
        ("rate_limited", Status::RateLimited),
        ("overloaded", Status::Overloaded),
        ("auth_failed", Status::AuthFailed),
        ("not_logged_in", Status::AuthFailed),
        ("usage_limit", Status::RateLimited),
        ("rate_limit_event", Status::RateLimited),
        ("budget", Status::BudgetExceeded),
        ("permission_denied", Status::Unverified),
    ];
    for (scenario, want) in cases {
        let r = h.run(&format!("@fake {scenario}\nthe task")).await;
        assert_eq!(r.status, want, "{scenario}: {r:#?}");
        if want != Status::Unverified {
            assert!(!r.warnings.is_empty(), "{scenario}: a reason is given");
        }
    }
}

#[tokio::test]
async fn usage_limits_say_when_they_reset() {
    let h = Harness::new();
    let r = h.run("@fake usage_limit resets=1900000000\nthe task").await;
    assert_eq!(r.status, Status::RateLimited);
    assert_eq!(r.resets_at.unwrap().timestamp(), 1_900_000_000);
    let r = h
        .run("@fake rate_limit_event resets=1900000500\nthe task")
        .await;
    assert_eq!(r.resets_at.unwrap().timestamp(), 1_900_000_500);
}

#[tokio::test]
async fn denied_writes_make_a_claimed_success_unverified() {
    let h = Harness::new();
    let r = h.run("@fake permission_denied\nwrite the file").await;
    assert_eq!(r.status, Status::Unverified);
    assert_eq!(r.permission_denials.len(), 1);
    assert_eq!(r.permission_denials[0].tool_name, "Write");
    assert!(r.files_written.is_empty());
    assert_eq!(r.result.as_deref(), Some("Done!"));
}

#[tokio::test]
async fn tools_and_files_written_come_from_successful_tool_uses_only() {
    let h = Harness::new();
    let root = h.root();
    let r = h
        .run(&format!(
            "@fake tools write={0}/a.txt edit={0}/b.txt failed={0}/c.txt\nedit things",
            root.display()
        ))
        .await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert_eq!(
        r.files_written,
        vec![
            format!("{}/a.txt", root.display()),
            format!("{}/b.txt", root.display())
        ]
    );
    assert_eq!(r.tools_used.get("Write"), Some(&2));
    assert_eq!(r.tools_used.get("Edit"), Some(&1));
    assert_eq!(r.tools_used.get("Bash"), Some(&1));
}

#[tokio::test]
async fn an_empty_result_falls_back_to_the_last_assistant_text() {
    let h = Harness::new();
    let r = h.run("@fake empty_result\nanswer me").await;
    assert_eq!(r.status, Status::Succeeded);
    assert_eq!(r.result.as_deref(), Some("the real answer"));
}

#[tokio::test]
async fn structured_output_and_flags_reach_the_cli() {
    let h = Harness::new();
    let mut req = TaskRequest::new("@fake structured\nanswer in JSON");
    req.json_schema = Some(serde_json::json!({"type": "object"}));
    req.max_turns = Some(7);
    req.append_system_prompt = Some("--terse".into());
    req.allowed_tools = Some(vec!["Read".into(), "Bash(git log:*)".into()]);
    req.permission_mode = Some("plan".into());
    let r = h.run_request(req).await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert_eq!(
        r.structured_output,
        Some(serde_json::json!({"answer": "42"}))
    );
    let flags = &h.invocations()[0]["flags"];
    assert_eq!(flags["max_turns"], "7");
    assert_eq!(flags["append_system_prompt"], "--terse");
    assert_eq!(flags["permission_mode"], "plan");
    assert_eq!(
        flags["allowed_tools"],
        serde_json::json!(["Read", "Bash(git log:*)"])
    );
}

#[tokio::test]
async fn transient_failures_are_retried_with_backoff_and_every_attempt_is_recorded() {
    let h = Harness::with(|c| {
        c.retry.max_retries = 2;
        c.retry.base_delay_ms = 50;
    });
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let spec = h
        .executor
        .prepare(TaskRequest::new("@fake flaky fail=2 status=529\ntry hard"))
        .await
        .unwrap();
    let r = h
        .executor
        .execute(spec, move |e: ProgressEvent| seen.lock().unwrap().push(e))
        .await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    let statuses: Vec<Status> = r.attempts.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses,
        [Status::Overloaded, Status::Overloaded, Status::Succeeded]
    );
    assert_eq!(h.invocations().len(), 3);
    let retries = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, ProgressEvent::Retrying { .. }))
        .count();
    assert_eq!(retries, 2);

    // Bounded: with one retry allowed, two failures end the execution.
    let h = Harness::with(|c| {
        c.retry.max_retries = 1;
        c.retry.base_delay_ms = 10;
    });
    let r = h.run("@fake flaky fail=5 status=429\ntry hard").await;
    assert_eq!(r.status, Status::RateLimited);
    assert_eq!(r.attempts.len(), 2);
}

#[tokio::test]
async fn a_missing_or_unstartable_claude_is_reported_as_such() {
    let h = Harness::with(|c| c.claude_bin = "/nonexistent/claude".into());
    let r = h.run("do something useful please").await;
    assert_eq!(r.status, Status::CliNotFound);
    assert!(
        r.warnings.iter().any(|w| w.contains("npm install")),
        "{:?}",
        r.warnings
    );

    let dir = tempfile::tempdir().unwrap();
    let not_exec = dir.path().join("claude");
    std::fs::write(&not_exec, "not a program").unwrap();
    let h = Harness::with(|c| c.claude_bin = not_exec.clone());
    let r = h.run("do something useful please").await;
    assert_eq!(r.status, Status::SpawnFailed, "{r:#?}");
}
