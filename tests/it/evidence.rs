//! Evidence and verification with the fake `claude` fixture: response files and receipts,
//! the hash chain and every kind of tampering, the UUID hook, the user's hooks, and bad input.
//! (What needs Claude Code's own transcript — a fully `verified` run — is in
//! `tests/it/evidence_real_cli.rs`, with the real CLI.)

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::fixtures::{cc_executor_bin, fake_claude_bin};
use cc_executor::config::{FileConfig, Overrides};
use cc_executor::evidence::chain::sha256_hex;
use cc_executor::evidence::verify::{CheckState, FileState, Target, Verdict, VerifyError};
use cc_executor::exec::hooks::HookOutcome;
use cc_executor::exec::progress::NoProgress;
use cc_executor::{Config, Executor, Status, TaskRequest};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

type Harness = crate::support::fake_executor::FakeExecutor;

/// What these tests check beyond the shared harness.
trait Checks {
    fn data(&self) -> PathBuf;
    async fn verify(&self, id: uuid::Uuid) -> cc_executor::evidence::verify::ExecutionVerification;
    fn invocations(&self) -> Vec<Value>;
    fn response_file(&self, id: uuid::Uuid) -> PathBuf;
    fn db(&self) -> rusqlite::Connection;
}

impl Checks for Harness {
    fn data(&self) -> PathBuf {
        self.root().join("data")
    }

    async fn verify(&self, id: uuid::Uuid) -> cc_executor::evidence::verify::ExecutionVerification {
        let r = self.executor.verify(Target::One(id), false).await.unwrap();
        assert_eq!(r.executions.len(), 1);
        r.executions.into_iter().next().unwrap()
    }

    fn invocations(&self) -> Vec<Value> {
        std::fs::read_to_string(self.root().join("record/invocations.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect()
    }

    fn response_file(&self, id: uuid::Uuid) -> PathBuf {
        self.data().join("evidence").join(format!("{id}.json"))
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.data().join("history.sqlite3")).unwrap()
    }
}

fn check<'a>(
    v: &'a cc_executor::evidence::verify::ExecutionVerification,
    name: &str,
) -> &'a cc_executor::evidence::verify::Check {
    v.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}: {v:#?}"))
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// A task the fake answers by echoing its stdin — which, with the UUID hook, holds the UUID.
const ECHO: &str = "@fake echo\nSay something.";

#[tokio::test]
async fn every_execution_leaves_a_private_response_file_a_receipt_and_a_chain_link() {
    let h = Harness::new();
    let a = h.run(ECHO).await;
    let b = h.run("@fake success text=plain").await;
    for r in [&a, &b] {
        let ev = r.evidence.as_ref().unwrap_or_else(|| panic!("{r:#?}"));
        let file = PathBuf::from(&ev.response_file);
        assert_eq!(file, h.response_file(r.execution_id));
        assert_eq!(
            sha256_hex(&std::fs::read(&file).unwrap()),
            ev.response_sha256
        );
        assert_eq!(mode(&file), 0o600);
        let receipt = std::fs::read_to_string(ev.receipt_file.as_ref().unwrap()).unwrap();
        assert!(receipt.contains("**Status:** `succeeded`"), "{receipt}");
        assert!(
            receipt.contains(&format!("verify {}", r.execution_id)),
            "{receipt}"
        );
        assert!(receipt.contains(&ev.response_sha256), "{receipt}");
        // The record in the store carries the same link.
        let stored = h
            .executor
            .store()
            .get(r.execution_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.result.evidence.as_ref(), Some(ev));
        // The response file holds the task, the timings and the UUID.
        let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        assert_eq!(doc["execution_uuid"], r.execution_id.to_string());
        assert!(doc["record"]["task"].as_str().unwrap().starts_with("@fake"));
        assert!(doc["record"]["result"]["duration_ms"].is_u64());
        assert!(doc["record"]["result"]["evidence"].is_null());
    }
    assert_eq!(mode(&h.data().join("evidence")), 0o700);
    let (la, lb) = (
        &a.evidence.as_ref().unwrap().chain,
        &b.evidence.as_ref().unwrap().chain,
    );
    assert_eq!(lb.seq, la.seq + 1);
    assert_eq!(lb.prev_hash, la.hash);
    let head = h
        .executor
        .store()
        .chain_link(cc_executor::evidence::chain::ChainPos::Head)
        .await
        .unwrap();
    assert_eq!(head.as_ref(), Some(lb));
}

#[tokio::test]
async fn the_uuid_hook_asks_for_the_uuid_and_records_whether_it_came_back() {
    let h = Harness::new();
    let echoed = h.run(ECHO).await;
    let id = echoed.execution_id.to_string();
    let stdin = h.invocations()[0]["stdin"].as_str().unwrap().to_string();
    assert!(stdin.starts_with(ECHO) && stdin.contains(&id), "{stdin}");
    let u = echoed.uuid_echo.as_ref().unwrap();
    assert!(u.echoed && !u.json_mode);
    let v = h.verify(echoed.execution_id).await;
    assert_eq!(check(&v, "uuid_echo").state, CheckState::Pass, "{v:#?}");

    let silent = h.run("@fake success text=Done!").await;
    assert_eq!(silent.uuid_echo.as_ref().map(|u| u.echoed), Some(false));
    assert!(
        silent.warnings.iter().any(|w| w.contains("UUID")),
        "{:?}",
        silent.warnings
    );
    let v = h.verify(silent.execution_id).await;
    assert_eq!(v.verdict, Verdict::Unverified, "{v:#?}");
    assert_eq!(check(&v, "uuid_echo").state, CheckState::Fail);
    assert!(
        v.reasons.iter().any(|r| r.starts_with("uuid_echo:")),
        "{:?}",
        v.reasons
    );
    // The history record is untouched by verification and the task text is the user's own.
    let stored = h
        .executor
        .store()
        .get(silent.execution_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.task, "@fake success text=Done!");
}

#[tokio::test]
async fn json_answers_are_checked_for_the_uuid_as_their_last_key() {
    let h = Harness::new();
    // The fake answers `{"answer":"7"}`: JSON, without the key. (Where the key is, and whether
    // it is last, is covered with key order in the unit tests of `evidence::uuid_hook`.)
    let r = h.run("@fake structured answer=7").await;
    assert_eq!(r.result.as_deref(), Some(r#"{"answer":"7"}"#));
    let u = r.uuid_echo.unwrap();
    assert_eq!(
        (u.echoed, u.json_mode, u.last_key),
        (false, true, Some(false))
    );
    let v = h.verify(r.execution_id).await;
    assert_eq!(check(&v, "uuid_echo").state, CheckState::Fail);
}

#[tokio::test]
async fn with_the_uuid_hook_off_the_prompt_is_untouched_and_the_check_is_skipped() {
    let h = Harness::with(|c| c.hooks.uuid_hook = false);
    let r = h.run(ECHO).await;
    assert_eq!(h.invocations()[0]["stdin"], ECHO);
    assert!(r.uuid_echo.is_none());
    let v = h.verify(r.execution_id).await;
    assert_eq!(check(&v, "uuid_echo").state, CheckState::Skip);
}

#[tokio::test]
async fn written_files_are_as_written_then_modified_since_then_missing() {
    let h = Harness::new();
    let target = h.root().join("out.txt");
    let r = h
        .run(&format!(
            "@fake tools write={} content=hello real_write=1",
            target.display()
        ))
        .await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    let w = r
        .written_files
        .iter()
        .find(|f| f.path == target.display().to_string())
        .unwrap();
    assert_eq!(w.source, "write_content");
    assert_eq!(w.sha256.as_deref(), Some(sha256_hex(b"hello").as_str()));
    // The fake also reports an Edit of a file it never creates: hashed after the run, gone.
    let edited = r
        .written_files
        .iter()
        .find(|f| f.source == "after_run")
        .unwrap();
    assert_eq!(edited.sha256, None);

    let state = |v: &cc_executor::evidence::verify::ExecutionVerification, p: &Path| {
        v.files
            .iter()
            .find(|f| f.path == p.display().to_string())
            .unwrap()
            .state
    };
    let v = h.verify(r.execution_id).await;
    assert_eq!(state(&v, &target), FileState::AsWritten);
    assert_eq!(state(&v, Path::new(&edited.path)), FileState::Missing);
    assert_eq!(check(&v, "files").state, CheckState::Fail);

    std::fs::write(&target, "changed later").unwrap();
    let v = h.verify(r.execution_id).await;
    assert_eq!(state(&v, &target), FileState::ModifiedSince);
    assert!(
        check(&v, "files").detail.contains("changed since the run"),
        "{v:#?}"
    );

    std::fs::remove_file(&target).unwrap();
    let v = h.verify(r.execution_id).await;
    assert_eq!(state(&v, &target), FileState::Missing);
}

#[tokio::test]
async fn denied_writes_are_unverified_with_the_denial_named() {
    let h = Harness::new();
    let r = h.run("@fake permission_denied").await;
    assert_eq!(r.status, Status::Unverified, "{r:#?}");
    let v = h.verify(r.execution_id).await;
    assert_eq!(v.verdict, Verdict::Unverified);
    let d = check(&v, "permission_denials");
    assert_eq!(d.state, CheckState::Fail);
    assert!(d.detail.contains("Write"), "{d:?}");
}

/// Three executions with intact evidence.
async fn three(h: &Harness) -> [uuid::Uuid; 3] {
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(h.run(&format!("@fake echo\nstep {i}")).await.execution_id);
    }
    for id in &ids {
        let v = h.verify(*id).await;
        // Intact, but the fake writes no Claude Code transcript: unverified, never tampered.
        assert_eq!(v.verdict, Verdict::Unverified, "{v:#?}");
        assert_eq!(check(&v, "response_file").state, CheckState::Pass);
        assert_eq!(check(&v, "chain").state, CheckState::Pass);
        assert_eq!(check(&v, "record_matches_response").state, CheckState::Pass);
    }
    [ids[0], ids[1], ids[2]]
}

#[tokio::test]
async fn an_edited_response_file_is_tampered() {
    let h = Harness::new();
    let [_, b, _] = three(&h).await;
    let path = h.response_file(b);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"succeeded\"", "\"succeeded\" ")).unwrap();
    let v = h.verify(b).await;
    assert_eq!(v.verdict, Verdict::Tampered);
    let c = check(&v, "response_file");
    assert_eq!(c.state, CheckState::Tampered);
    assert!(c.detail.contains("(edited)"), "{c:?}");
}

#[tokio::test]
async fn a_deleted_response_file_is_tampered() {
    let h = Harness::new();
    let [_, _, c3] = three(&h).await;
    std::fs::remove_file(h.response_file(c3)).unwrap();
    let v = h.verify(c3).await;
    assert_eq!(v.verdict, Verdict::Tampered);
    let c = check(&v, "response_file");
    assert!(c.detail.contains("missing"), "{c:?}");
}

#[tokio::test]
async fn a_fabricated_response_file_is_tampered_and_found_by_last_n() {
    let h = Harness::new();
    let [a, _, _] = three(&h).await;
    let fake = uuid::Uuid::new_v4();
    let text = std::fs::read_to_string(h.response_file(a))
        .unwrap()
        .replace(&a.to_string(), &fake.to_string());
    std::fs::write(h.response_file(fake), text).unwrap();
    let v = h.verify(fake).await;
    assert_eq!(v.verdict, Verdict::Tampered, "{v:#?}");
    assert_eq!(check(&v, "record").state, CheckState::Tampered);
    assert!(
        check(&v, "response_file")
            .detail
            .contains("no link in the evidence chain"),
        "{v:#?}"
    );
    let report = h.executor.verify(Target::Last(3), false).await.unwrap();
    assert_eq!(report.verdict, Verdict::Tampered);
    assert_eq!(report.counts.tampered, 1, "{report:#?}");
    assert!(report.executions.iter().any(|e| e.execution_id == fake));
}

#[tokio::test]
async fn swapped_response_files_are_tampered() {
    let h = Harness::new();
    let [a, b, _] = three(&h).await;
    let (pa, pb) = (h.response_file(a), h.response_file(b));
    let (ta, tb) = (std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap());
    std::fs::write(&pa, tb).unwrap();
    std::fs::write(&pb, ta).unwrap();
    for id in [a, b] {
        let v = h.verify(id).await;
        assert_eq!(v.verdict, Verdict::Tampered);
        let c = check(&v, "response_file");
        assert!(c.detail.contains("belongs to execution"), "{c:?}");
    }
}

#[tokio::test]
async fn reordered_inserted_or_deleted_chain_links_are_tampered() {
    let h = Harness::new();
    let [a, b, c] = three(&h).await;
    let db = h.db();
    // Reorder: a and b swap places in the chain.
    db.execute_batch(&format!(
        "UPDATE evidence_chain SET seq = -1 WHERE execution_id = '{a}';
         UPDATE evidence_chain SET seq = 1 WHERE execution_id = '{b}';
         UPDATE evidence_chain SET seq = 2 WHERE execution_id = '{a}';"
    ))
    .unwrap();
    for id in [a, b, c] {
        let v = h.verify(id).await;
        assert_eq!(v.verdict, Verdict::Tampered, "{id}: {v:#?}");
        assert_eq!(check(&v, "chain").state, CheckState::Tampered);
    }
    // Put them back, then delete the middle link.
    db.execute_batch(&format!(
        "UPDATE evidence_chain SET seq = -1 WHERE execution_id = '{a}';
         UPDATE evidence_chain SET seq = 2 WHERE execution_id = '{b}';
         UPDATE evidence_chain SET seq = 1 WHERE execution_id = '{a}';"
    ))
    .unwrap();
    assert_eq!(h.verify(b).await.verdict, Verdict::Unverified);
    db.execute(
        &format!("DELETE FROM evidence_chain WHERE execution_id = '{b}'"),
        [],
    )
    .unwrap();
    let vb = h.verify(b).await;
    assert_eq!(check(&vb, "chain").state, CheckState::Tampered, "{vb:#?}");
    for id in [a, c] {
        let v = h.verify(id).await;
        let ch = check(&v, "chain");
        assert_eq!(ch.state, CheckState::Tampered, "{id}: {v:#?}");
        assert!(ch.detail.contains("#2 is missing"), "{ch:?}");
    }
    // Insert a fabricated link in its place: it does not hash into the chain.
    db.execute(
        &format!(
            "INSERT INTO evidence_chain VALUES (2, '{b}', '{}', 'x', 'y', 0)",
            sha256_hex(b"forged")
        ),
        [],
    )
    .unwrap();
    let v = h.verify(b).await;
    assert_eq!(check(&v, "chain").state, CheckState::Tampered, "{v:#?}");
    assert_eq!(check(&v, "response_file").state, CheckState::Tampered);
}

#[tokio::test]
async fn an_edited_history_record_disagrees_with_its_response_file() {
    let h = Harness::new();
    let r = h.run("@fake permission_denied").await;
    let id = r.execution_id;
    h.db()
        .execute(
            &format!(
                "UPDATE executions SET record = replace(record, '\"status\":\"unverified\"', '\"status\":\"succeeded\"'), status = 'succeeded' WHERE id = '{id}'"
            ),
            [],
        )
        .unwrap();
    assert_eq!(
        h.executor
            .store()
            .get(id)
            .await
            .unwrap()
            .unwrap()
            .result
            .status,
        Status::Succeeded
    );
    let v = h.verify(id).await;
    assert_eq!(v.verdict, Verdict::Tampered);
    let c = check(&v, "record_matches_response");
    assert!(c.detail.contains("status"), "{c:?}");
}

#[tokio::test]
async fn bad_verify_input_is_a_clear_error() {
    let h = Harness::new();
    let unknown = uuid::Uuid::new_v4();
    let e = h
        .executor
        .verify(Target::One(unknown), false)
        .await
        .unwrap_err();
    assert!(
        matches!(e, VerifyError::Unknown(id) if id == unknown),
        "{e}"
    );
    assert!(e.to_string().contains("unknown execution id"));
    let e = h.executor.verify(Target::Last(0), false).await.unwrap_err();
    assert!(matches!(e, VerifyError::ZeroLast));
    h.run(ECHO).await;
    let r = h
        .executor
        .verify(Target::Last(usize::MAX), true)
        .await
        .unwrap();
    assert_eq!(r.executions.len(), 1);
    assert!(
        r.notes.iter().any(|n| n.contains("capped at 100")),
        "{:?}",
        r.notes
    );
    let md = r.markdown.unwrap();
    assert!(md.contains("| uuid_echo | pass |"), "{md}");
}

#[test]
fn a_data_dir_that_is_not_writable_is_a_clear_error_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let bad = file.join("data");
    let o = Overrides {
        data_dir: Some(bad.clone()),
        ..Default::default()
    };
    let config = Config::resolve(FileConfig::default(), None, &o).unwrap();
    let e = Executor::new(config).unwrap_err().to_string();
    assert!(
        e.contains(&bad.display().to_string()) && e.contains("not usable"),
        "{e}"
    );
    for args in [vec!["verify"], vec!["mcp"]] {
        let out = std::process::Command::new(cc_executor_bin())
            .arg("--data-dir")
            .arg(&bad)
            .args(&args)
            .env_remove("REDIS_URL")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("is not usable"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

fn hook(script: &str) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script.into()]
}

#[tokio::test]
async fn a_pre_hook_that_exits_2_vetoes_the_task() {
    let h = Harness::with(|c| {
        c.hooks.pre_execute = vec![hook(
            "cat >/dev/null; echo 'no deploys on Friday' >&2; exit 2",
        )]
    });
    let r = h.run(ECHO).await;
    assert_eq!(r.status, Status::RejectedByHook, "{r:#?}");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("no deploys on Friday")),
        "{:?}",
        r.warnings
    );
    assert!(h.invocations().is_empty(), "claude must not run");
    let stored = h
        .executor
        .store()
        .get(r.execution_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.result.status, Status::RejectedByHook);
    let s = h.executor.hook_status(10);
    assert_eq!(s.counts.vetoes, 1);
    assert_eq!(s.recent_runs[0].outcome, HookOutcome::Vetoed);
    assert_eq!(s.recent_runs[0].exit_code, Some(2));
}

#[tokio::test]
async fn a_pre_hook_that_times_out_or_fails_is_a_warning_and_the_task_runs() {
    let h = Harness::with(|c| {
        c.hooks.timeout = Duration::from_secs(1);
        c.hooks.pre_execute = vec![vec!["sleep".into(), "30".into()], hook("exit 1")];
    });
    let t = std::time::Instant::now();
    let r = h.run(ECHO).await;
    assert!(t.elapsed() < Duration::from_secs(15));
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("sleep 30") && w.contains("timed out")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings.iter().any(|w| w.contains("exited with code 1")),
        "{:?}",
        r.warnings
    );
    let s = h.executor.hook_status(10);
    assert_eq!(
        (s.counts.runs, s.counts.failures, s.counts.timeouts),
        (2, 2, 1)
    );
    assert_eq!(s.recent_runs[1].outcome, HookOutcome::TimedOut);
    assert_eq!(s.configured.len(), 2);
    assert!(s.builtin[0].enabled);
}

#[tokio::test]
async fn a_post_hook_gets_the_execution_json_and_its_environment() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().join("post");
    let h = Harness::with(|c| {
        c.hooks.post_execute = vec![vec![
            "sh".into(),
            "-c".into(),
            r#"cat > "$0.json"; printf %s "$CC_EXECUTOR_EXECUTION_ID" > "$0.id"; cat "$CC_EXECUTOR_TASK_FILE" > "$0.task"; printf %s "$CC_EXECUTOR_HOOK" > "$0.kind""#.into(),
            o.display().to_string(),
        ]]
    });
    let r = h.run(ECHO).await;
    let read = |ext: &str| std::fs::read_to_string(format!("{}.{ext}", o.display())).unwrap();
    let v: Value = serde_json::from_str(&read("json")).unwrap();
    assert_eq!(v["event"], "post_execute");
    assert_eq!(v["execution"]["execution_id"], r.execution_id.to_string());
    assert_eq!(v["execution"]["result"]["status"], "succeeded");
    assert!(v["execution"]["result"]["evidence"]["response_file"].is_string());
    assert_eq!(read("id"), r.execution_id.to_string());
    assert_eq!(read("task"), ECHO);
    assert_eq!(read("kind"), "post_execute");
    let s = h.executor.hook_status(10);
    assert_eq!(s.recent_runs[0].outcome, HookOutcome::Ok);
    // The task file is removed afterwards.
    assert!(
        !h.data()
            .join("hooks")
            .join(format!("{}.task", r.execution_id))
            .exists()
    );
}

async fn call(
    client: &rmcp::service::RunningService<rmcp::RoleClient, ()>,
    tool: &str,
    args: Value,
) -> rmcp::model::CallToolResult {
    let params = CallToolRequestParams::new(tool.to_string())
        .with_arguments(serde_json::from_value(args).unwrap());
    client.peer().call_tool(params).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_execution_and_get_hook_status_over_mcp() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let config = root.join("config.toml");
    std::fs::write(
        &config,
        "[hooks]\ntimeout_secs = 5\npre_execute = [[\"sh\", \"-c\", \"cat >/dev/null; echo oops >&2; exit 3\"]]\n",
    )
    .unwrap();
    let mut cmd = tokio::process::Command::new(cc_executor_bin());
    cmd.arg("--data-dir")
        .arg(root.join("data"))
        .arg("--config")
        .arg(&config)
        .arg("mcp")
        .env("CC_EXECUTOR_CLAUDE_BIN", fake_claude_bin())
        .env_remove("REDIS_URL")
        .current_dir(&root);
    let client = ().serve(TokioChildProcess::new(cmd).unwrap()).await.unwrap();
    let tools = client.peer().list_all_tools().await.unwrap();
    for name in ["verify_execution", "get_hook_status"] {
        let t = tools.iter().find(|t| t.name == name).unwrap();
        assert_eq!(
            t.annotations.as_ref().and_then(|a| a.read_only_hint),
            Some(true)
        );
    }
    let run = call(&client, "cc_execute", json!({"task": ECHO})).await;
    let id = run.structured_content.unwrap()["execution_id"]
        .as_str()
        .unwrap()
        .to_string();

    let v = call(
        &client,
        "verify_execution",
        json!({"execution_id": id, "markdown": true}),
    )
    .await;
    assert_ne!(v.is_error, Some(true), "{v:?}");
    let s = v.structured_content.unwrap();
    assert_eq!(s["executions"][0]["execution_id"], id);
    // Intact evidence; the fake claude leaves no transcript, so not `verified`.
    assert_eq!(s["verdict"], "unverified", "{s:#}");
    let checks = s["executions"][0]["checks"].as_array().unwrap();
    let state = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["state"].clone())
            .unwrap()
    };
    assert_eq!(state("chain"), "pass");
    assert_eq!(state("uuid_echo"), "pass");
    assert_eq!(state("transcript"), "fail");
    assert!(
        s["markdown"]
            .as_str()
            .unwrap()
            .contains("# cc-executor verification")
    );

    for (args, needle) in [
        (json!({"last_n": 0}), "at least 1"),
        (
            json!({"execution_id": uuid::Uuid::new_v4().to_string()}),
            "unknown execution id",
        ),
        (json!({"execution_id": "nope"}), "must be an execution id"),
        (json!({"execution_id": id, "last_n": 2}), "not both"),
    ] {
        let r = call(&client, "verify_execution", args.clone()).await;
        assert_eq!(r.is_error, Some(true), "{args}: {r:?}");
        let text = format!("{:?}", r.content);
        assert!(text.contains(needle), "{args}: {text}");
    }
    let capped = call(&client, "verify_execution", json!({"last_n": 1_000_000})).await;
    let notes = capped.structured_content.unwrap()["notes"].to_string();
    assert!(notes.contains("capped at 100"), "{notes}");

    let hs = call(&client, "get_hook_status", json!({})).await;
    let hs = hs.structured_content.unwrap();
    assert_eq!(hs["builtin"][0]["name"], "uuid");
    assert_eq!(hs["builtin"][0]["enabled"], true);
    assert_eq!(hs["configured"][0]["kind"], "pre_execute");
    assert_eq!(hs["configured"][0]["timeout_secs"], 5);
    assert_eq!(hs["counts"]["runs"], 1);
    assert_eq!(hs["counts"]["failures"], 1);
    assert_eq!(hs["recent_runs"][0]["exit_code"], 3);
    assert!(
        hs["recent_runs"][0]["message"]
            .as_str()
            .unwrap()
            .contains("exited with code 3")
    );
    client.cancel().await.unwrap();
}

#[test]
fn cc_executor_verify_prints_checks_writes_a_report_and_exits_by_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let data = root.join("data");
    let cli = |args: &[&str]| {
        std::process::Command::new(cc_executor_bin())
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .env("CC_EXECUTOR_CLAUDE_BIN", fake_claude_bin())
            .env_remove("REDIS_URL")
            .current_dir(&root)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let run = cli(&["run", "--json", "@fake permission_denied"]);
    let r: Value = serde_json::from_slice(&run.stdout).unwrap();
    let id = r["execution_id"].as_str().unwrap().to_string();
    let report = root.join("report.md");
    let out = cli(&["verify", &id, "--report", report.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains(&format!("{id}  UNVERIFIED")), "{stdout}");
    assert!(stdout.contains("FAIL permission_denials"), "{stdout}");
    assert!(stdout.contains("ok   chain"), "{stdout}");
    assert!(
        std::fs::read_to_string(&report)
            .unwrap()
            .contains("| permission_denials | FAIL |")
    );
    let json_out = cli(&["verify", "--last", "5", "--json"]);
    let v: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(v["counts"]["unverified"], 1);
    assert_eq!(cli(&["verify", "--last", "0"]).status.code(), Some(2));
    let unknown = cli(&["verify", &uuid::Uuid::new_v4().to_string()]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown execution id"));
}

#[tokio::test]
async fn cancelling_during_a_pre_hook_stops_the_hooks_process_group() {
    let out = tempfile::tempdir().unwrap();
    let pid_file = out.path().join("pid");
    let h = Harness::with(|c| {
        c.hooks.timeout = Duration::from_secs(60);
        c.hooks.pre_execute = vec![vec![
            "sh".into(),
            "-c".into(),
            // The pid written is a grandchild: killing only the hook's own process would
            // leave it running.
            r#"sleep 30 & echo $! > "$0"; wait"#.into(),
            pid_file.display().to_string(),
        ]];
    });
    let spec = h.executor.prepare(TaskRequest::new(ECHO)).await.unwrap();
    let sub = h.executor.submit(spec, NoProgress).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let pid = loop {
        if let Ok(t) = std::fs::read_to_string(&pid_file)
            && let Ok(p) = t.trim().parse::<i32>()
        {
            break p;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the hook never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let t = std::time::Instant::now();
    h.executor.cancel(sub.execution_id).await.unwrap();
    let r = h.executor.wait(sub.execution_id).await.unwrap();
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(r.status, Status::Cancelled, "{r:#?}");
    assert!(h.invocations().is_empty(), "claude must not run");
    let gone = std::time::Instant::now() + Duration::from_secs(5);
    while crate::support::fixtures::pid_exists(pid) && std::time::Instant::now() < gone {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !crate::support::fixtures::pid_exists(pid),
        "hook process {pid} survived"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_redis_store_the_chain_stays_local_and_verification_works_the_same() {
    let server = crate::support::redis_server::RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let o = Overrides {
        claude_bin: Some(fake_claude_bin()),
        data_dir: Some(root.join("data")),
        allowed_roots: Some(vec![root.clone()]),
        redis_url: Some(server.url()),
        max_retries: Some(0),
        ..Default::default()
    };
    let mut config = Config::resolve(FileConfig::default(), None, &o).unwrap();
    config.policy.default_cwd = root.clone();
    let store = cc_executor::store::open(&config).await.unwrap();
    let exec = Executor::with_store(config, store).unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let spec = exec.prepare(TaskRequest::new(ECHO)).await.unwrap();
        ids.push(exec.execute(spec, NoProgress).await.execution_id);
    }
    let outbox = rusqlite::Connection::open(root.join("data/outbox.sqlite3")).unwrap();
    let links: i64 = outbox
        .query_row("SELECT count(*) FROM evidence_chain", [], |r| r.get(0))
        .unwrap();
    assert_eq!(links, 2, "the chain lives in the local file");
    let stored = exec.store().get(ids[1]).await.unwrap().unwrap();
    assert_eq!(
        stored.result.evidence.unwrap().chain.seq,
        2,
        "the record carries its link"
    );
    let v = exec.verify(Target::One(ids[1]), false).await.unwrap();
    let e = &v.executions[0];
    assert_eq!(check(e, "chain").state, CheckState::Pass, "{e:#?}");
    assert_eq!(check(e, "response_file").state, CheckState::Pass);
    std::fs::remove_file(root.join(format!("data/evidence/{}.json", ids[0]))).unwrap();
    let v = exec.verify(Target::Last(2), false).await.unwrap();
    assert_eq!(v.verdict, Verdict::Tampered);
    assert_eq!(v.counts.tampered, 1, "{v:#?}");
}

#[tokio::test]
async fn a_deleted_history_record_is_found_through_the_chain_by_last_n() {
    let h = Harness::new();
    let [_, _, c] = three(&h).await;
    h.db()
        .execute(&format!("DELETE FROM executions WHERE id = '{c}'"), [])
        .unwrap();
    let report = h.executor.verify(Target::Last(2), false).await.unwrap();
    let e = report
        .executions
        .iter()
        .find(|e| e.execution_id == c)
        .unwrap_or_else(|| panic!("{report:#?}"));
    assert_eq!(e.verdict, Verdict::Tampered);
    assert_eq!(check(e, "record").state, CheckState::Tampered);
    assert_eq!(report.verdict, Verdict::Tampered);
}

#[tokio::test(flavor = "multi_thread")]
async fn what_a_hook_prints_never_reaches_the_mcp_channel() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let config = root.join("config.toml");
    std::fs::write(
        &config,
        "[hooks]\npre_execute = [[\"sh\", \"-c\", \"cat; echo not-json-rpc\"]]\npost_execute = [[\"sh\", \"-c\", \"cat; echo also-not-json-rpc\"]]\n",
    )
    .unwrap();
    let mut child = tokio::process::Command::new(cc_executor_bin())
        .arg("--data-dir")
        .arg(root.join("data"))
        .arg("--config")
        .arg(&config)
        .arg("mcp")
        .env("CC_EXECUTOR_CLAUDE_BIN", fake_claude_bin())
        .env_remove("REDIS_URL")
        .current_dir(&root)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for msg in [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "cc_execute", "arguments": {"task": ECHO}}}),
    ] {
        stdin
            .write_all(format!("{msg}\n").as_bytes())
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let answered = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let v: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("non-protocol line on stdout: {line:?} ({e})"));
            assert_eq!(v["jsonrpc"], "2.0", "{line}");
            let done = v["id"] == 2;
            seen.push(v);
            if done {
                return;
            }
        }
    })
    .await;
    assert!(answered.is_ok(), "no answer to tools/call: {seen:?}");
    let last = seen.last().unwrap();
    assert_eq!(
        last["result"]["structuredContent"]["status"], "succeeded",
        "{last}"
    );
    drop(stdin);
    while let Ok(Some(line)) = lines.next_line().await {
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("non-protocol line on stdout: {line:?} ({e})"));
        assert_eq!(v["jsonrpc"], "2.0", "{line}");
    }
    let _ = child.wait().await;
}
