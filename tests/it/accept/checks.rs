//! The executor's checks and repair loop, with the fake `claude`.

use cc_executor::types::accept::{AcceptRequest, CheckKind, FileCheck, RepairRequest};
use cc_executor::{Status, TaskRequest};
use serde_json::json;

type Harness = crate::support::fake_executor::FakeExecutor;

fn request(task: &str, accept: AcceptRequest, repairs: i64) -> TaskRequest {
    let mut r = TaskRequest::new(task);
    r.accept = Some(accept);
    r.repair = (repairs > 0).then_some(RepairRequest {
        max_attempts: repairs,
    });
    r
}

fn grep_good() -> AcceptRequest {
    AcceptRequest {
        commands: vec![vec!["grep".into(), "good".into(), "out.txt".into()]],
        ..Default::default()
    }
}

/// The prompts the fake got, in order (its `prompt_log`).
fn prompts(h: &Harness) -> Vec<String> {
    std::fs::read_to_string(h.root().join("prompts.log"))
        .unwrap_or_default()
        .split("\n=====\n")
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn a_failing_check_command_is_repaired_once_and_the_repair_prompt_carries_its_failure() {
    let h = Harness::new();
    let log = h.root().join("prompts.log");
    let task = format!(
        "@fake repairable prompt_log={}\nwrite out.txt",
        log.display()
    );
    let r = h.run_request(request(&task, grep_good(), 2)).await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    let acceptance = r.acceptance.as_ref().expect("acceptance");
    assert!(acceptance.passed);
    assert_eq!(acceptance.checks[0].kind, CheckKind::Command);
    assert!(
        acceptance.checks[0]
            .detail
            .contains("`grep good out.txt` exited 0")
    );
    let link = r.repair.as_ref().expect("repair link");
    assert_eq!(link.repairs, 1);
    assert_eq!(link.executions.len(), 2);
    assert_eq!(link.executions[1], r.execution_id);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("accepted after 1 repair"))
    );

    // The first attempt is its own execution, recorded `rejected` with the failing output.
    let first = h
        .executor
        .record(link.executions[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.result.status, Status::Rejected);
    let failed = &first.result.acceptance.as_ref().unwrap().checks[0];
    assert!(
        !failed.passed && failed.detail.contains("exited 1"),
        "{failed:?}"
    );
    assert_eq!(first.result.repair.as_ref().unwrap().repairs, 0);

    // The second prompt is the task plus what the check said.
    let p = prompts(&h);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(!p[0].contains("rejected by its acceptance checks"));
    assert!(p[1].starts_with(&task), "{}", p[1]);
    assert!(p[1].contains("`grep good out.txt` exited 1"), "{}", p[1]);
    assert!(p[1].contains(&link.executions[0].to_string()));
    assert_eq!(
        std::fs::read_to_string(h.root().join("out.txt")).unwrap(),
        "good\n"
    );
}

#[tokio::test]
async fn without_repair_a_failing_check_is_rejected_not_unverified_and_files_are_checked() {
    let h = Harness::new();
    let accept = AcceptRequest {
        files: vec![
            FileCheck {
                path: "out.txt".into(),
                matches: Some("^bad$".into()),
            },
            FileCheck {
                path: "sub/../out.txt".into(),
                matches: Some("good".into()),
            },
            FileCheck {
                path: "missing.txt".into(),
                matches: None,
            },
        ],
        ..Default::default()
    };
    let r = h
        .run_request(request("@fake repairable\nwrite out.txt", accept, 0))
        .await;
    assert_eq!(r.status, Status::Rejected, "{r:#?}");
    assert!(r.repair.is_none(), "no loop without `repair`");
    let a = r.acceptance.unwrap();
    assert!(!a.passed);
    let passed: Vec<bool> = a.checks.iter().map(|c| c.passed).collect();
    assert_eq!(passed, [true, false, false], "{:#?}", a.checks);
    assert!(a.checks[1].detail.contains("does not match `good`"));
    assert!(a.checks[2].detail.contains("does not exist"));
    assert!(
        r.warnings[0].contains("2 acceptance check(s) failed"),
        "{:?}",
        r.warnings
    );
}

#[tokio::test]
async fn a_validator_says_invalid_then_valid_and_its_runs_are_recorded_and_linked() {
    let h = Harness::new();
    let log = h.root().join("prompts.log");
    let accept = AcceptRequest {
        validator: Some(
            "@fake verdict file=out.txt contains=good fix=\"put good in out.txt\"\nout.txt must say good"
                .into(),
        ),
        ..Default::default()
    };
    let task = format!(
        "@fake repairable prompt_log={}\nwrite out.txt",
        log.display()
    );
    let r = h.run_request(request(&task, accept, 1)).await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    let check = &r.acceptance.as_ref().unwrap().checks[0];
    assert_eq!(check.kind, CheckKind::Validator);
    assert!(
        check.passed && check.detail.starts_with("valid:"),
        "{check:?}"
    );
    let link = r.repair.clone().unwrap();
    let first = h
        .executor
        .record(link.executions[0])
        .await
        .unwrap()
        .unwrap()
        .result;
    let rejected = &first.acceptance.as_ref().unwrap().checks[0];
    assert!(!rejected.passed, "{rejected:?}");
    assert!(
        rejected.detail.contains("fix: put good in out.txt"),
        "{rejected:?}"
    );

    // Each verdict came from its own recorded execution, which names what it validated, ran
    // read-only and was asked for a structured verdict.
    for (judged, check) in [(first.execution_id, rejected), (r.execution_id, check)] {
        let vid = check.execution_id.expect("the validator's execution");
        let v = h.executor.record(vid).await.unwrap().unwrap().result;
        assert_eq!(v.validates, Some(judged));
        assert_eq!(v.status, Status::Succeeded);
        assert!(v.evidence.is_some(), "recorded with evidence");
    }
    let inv = crate::accept::invocations(&h);
    let validator_argv = inv
        .iter()
        .map(|i| i["argv"].to_string())
        .find(|a| a.contains("--json-schema"))
        .expect("a validator invocation");
    assert!(
        validator_argv.contains("--permission-mode=default"),
        "{validator_argv}"
    );
    assert!(
        validator_argv.contains(r#"\"required\":[\"valid\""#),
        "{validator_argv}"
    );
    // The repair was told the validator's fix.
    let p = prompts(&h);
    assert!(p[1].contains("fix: put good in out.txt"), "{}", p[1]);
}

#[tokio::test]
async fn repairs_exhausted_end_rejected_with_every_attempt_linked_to_the_first() {
    let h = Harness::new();
    let task = "@fake repairable fixes=0\nwrite out.txt";
    let r = h.run_request(request(task, grep_good(), 2)).await;
    assert_eq!(r.status, Status::Rejected, "{r:#?}");
    let link = r.repair.clone().unwrap();
    assert_eq!(link.repairs, 2);
    assert_eq!(link.executions.len(), 3);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("still rejected after 2 repair(s)"))
    );
    for (i, id) in link.executions.iter().enumerate() {
        let rec = h.executor.record(*id).await.unwrap().unwrap().result;
        assert_eq!(rec.status, Status::Rejected);
        let l = rec.repair.unwrap();
        assert_eq!(l.executions[0], link.executions[0]);
        assert_eq!(l.repairs as usize, i);
        assert_eq!(l.executions, link.executions[..=i]);
    }
    // Every attempt has intact evidence (the fake writes no transcript: never `verified`).
    for id in &link.executions {
        let report = h
            .executor
            .verify(cc_executor::evidence::verify::Target::One(*id), false)
            .await
            .unwrap();
        assert_ne!(
            report.verdict,
            cc_executor::evidence::verify::Verdict::Tampered,
            "{report:#?}"
        );
    }
}

#[tokio::test]
async fn a_hanging_check_command_is_killed_at_its_timeout_and_reported() {
    let h = Harness::new();
    let accept = AcceptRequest {
        commands: vec![vec!["sleep".into(), "600".into()]],
        timeout_secs: Some(1),
        ..Default::default()
    };
    let r = h.run_request(request("@fake success", accept, 0)).await;
    assert_eq!(r.status, Status::Rejected, "{r:#?}");
    let check = &r.acceptance.unwrap().checks[0];
    assert!(
        check
            .detail
            .contains("`sleep 600` timed out after 1 s and was killed"),
        "{check:?}"
    );
    // Nothing of it is left: no process carries the execution's id any more.
    let tag = format!("CC_EXECUTOR_EXECUTION_ID={}", r.execution_id);
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            std::fs::read(e.path().join("environ"))
                .map(|env| env.split(|b| *b == 0).any(|v| v == tag.as_bytes()))
                .unwrap_or(false)
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "left running: {left:?}");
}

#[tokio::test]
async fn checks_that_escape_the_allowed_roots_are_refused_before_the_task_runs() {
    let h = Harness::new();
    let escaping = [
        AcceptRequest {
            files: vec![FileCheck {
                path: "../../../etc/passwd".into(),
                matches: None,
            }],
            ..Default::default()
        },
        AcceptRequest {
            files: vec![FileCheck {
                path: "/etc/hostname".into(),
                matches: None,
            }],
            ..Default::default()
        },
        AcceptRequest {
            commands: vec![vec!["../../../bin/true".into()]],
            ..Default::default()
        },
    ];
    for accept in escaping {
        let e = h
            .executor
            .prepare(request("@fake success", accept, 0))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("policy.allowed_roots") && e.contains("outside"),
            "{e}"
        );
    }
    assert!(
        !h.root().join("record/invocations.jsonl").exists(),
        "nothing ran"
    );
}

#[tokio::test]
async fn bad_accept_and_repair_specs_get_errors_that_name_the_field() {
    let h = Harness::new();
    let cases: Vec<(TaskRequest, &str)> = vec![
        (
            request("x", AcceptRequest::default(), 0),
            "give at least one of",
        ),
        (
            request(
                "x",
                AcceptRequest {
                    commands: vec![vec![]],
                    ..Default::default()
                },
                0,
            ),
            "command 1 is empty",
        ),
        (
            request(
                "x",
                AcceptRequest {
                    files: vec![FileCheck {
                        path: "a".into(),
                        matches: Some("(".into()),
                    }],
                    ..Default::default()
                },
                0,
            ),
            "not a valid regex",
        ),
        (
            request(
                "x",
                AcceptRequest {
                    validator: Some("  ".into()),
                    ..Default::default()
                },
                0,
            ),
            "accept.validator",
        ),
        (
            request(
                "x",
                AcceptRequest {
                    commands: vec![vec!["true".into()]],
                    timeout_secs: Some(0),
                    ..Default::default()
                },
                0,
            ),
            "accept.timeout_secs",
        ),
        (request("x", grep_good(), 9), "repair.max_attempts"),
        (
            {
                let mut r = TaskRequest::new("x");
                r.repair = Some(RepairRequest { max_attempts: 1 });
                r
            },
            "needs something to check",
        ),
    ];
    for (req, want) in cases {
        let e = h.executor.prepare(req).await.unwrap_err().to_string();
        assert!(e.contains(want), "{e} (wanted {want})");
    }
    // Unknown fields are refused by the wire shape itself.
    let e = serde_json::from_value::<TaskRequest>(
        json!({"task": "x", "accept": {"command": [["true"]]}}),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("unknown field `command`"), "{e}");
    // A non-blocking submission cannot carry a repair loop.
    let spec = h
        .executor
        .prepare(request("@fake success", grep_good(), 1))
        .await
        .unwrap();
    let e = h
        .executor
        .submit(spec, cc_executor::exec::progress::NoProgress)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("`repair` needs a call that waits"), "{e}");
}

#[tokio::test]
async fn a_json_schema_is_a_check_and_a_failed_task_is_not_checked() {
    let h = Harness::new();
    let mut r = request(
        "@fake structured answer=42",
        AcceptRequest {
            files: vec![FileCheck {
                path: "nothing-here".into(),
                matches: None,
            }],
            ..Default::default()
        },
        0,
    );
    r.json_schema = Some(json!({"type": "object", "properties": {"answer": {"type": "string"}}}));
    let res = h.run_request(r).await;
    let a = res.acceptance.unwrap();
    assert_eq!(a.checks[0].kind, CheckKind::JsonSchema);
    assert!(a.checks[0].passed);
    assert!(!a.checks[1].passed);
    assert_eq!(res.status, Status::Rejected);

    let crashed = h.run_request(request("@fake crash", grep_good(), 0)).await;
    assert_eq!(crashed.status, Status::Crashed);
    assert!(
        crashed.acceptance.is_none(),
        "nothing to check: it did not finish"
    );
}

/// `sleep` processes that carry the execution's id in their environment (its check command;
/// the fake `claude` carries the id too, but is not `sleep`).
fn tagged(id: uuid::Uuid) -> Vec<String> {
    let tag = format!("CC_EXECUTOR_EXECUTION_ID={id}");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == "sleep")
                && std::fs::read(e.path().join("environ"))
                    .map(|env| env.split(|b| *b == 0).any(|v| v == tag.as_bytes()))
                    .unwrap_or(false)
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test]
async fn cancelling_while_a_check_runs_cancels_the_execution_and_stops_the_check() {
    let h = Harness::new();
    let accept = AcceptRequest {
        commands: vec![vec!["sleep".into(), "600".into()]],
        ..Default::default()
    };
    let spec = h
        .executor
        .prepare(request("@fake success", accept, 0))
        .await
        .unwrap();
    let id = h
        .executor
        .submit(spec, cc_executor::exec::progress::NoProgress)
        .await
        .unwrap()
        .execution_id;
    let checking =
        crate::support::fixtures::eventually_async(std::time::Duration::from_secs(30), || {
            !tagged(id).is_empty()
        })
        .await;
    assert!(checking, "the check command never started");
    h.executor.cancel(id).await;
    let r = h.executor.wait(id).await.unwrap();
    assert_eq!(r.status, Status::Cancelled, "{r:#?}");
    assert!(
        r.warnings[0].contains("cancelled while its acceptance checks ran"),
        "{:?}",
        r.warnings
    );
    assert!(tagged(id).is_empty(), "the check's processes are gone");
}
