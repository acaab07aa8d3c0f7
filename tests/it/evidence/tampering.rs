//! The hash chain and every kind of tampering, and bad verify input.

use super::*;

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
