//! Response files, receipts and chain links, the UUID hook, written files, the data dir.

use super::*;

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
