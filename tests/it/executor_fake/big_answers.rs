//! Big answers: memory bounded by the answer, and it comes back.

use super::*;
use cc_executor::store::{HISTORY_ANSWER_HEAD, HISTORY_ANSWER_MAX};

#[tokio::test]
async fn an_answer_too_big_for_the_history_stays_in_its_response_file_and_reads_back_whole() {
    let h = Harness::new();
    let bytes = 3 * 1024 * 1024;
    let r = h.run(&format!("@fake big_record bytes={bytes}\nbig")).await;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.warnings);
    let answer = r.result.clone().unwrap();
    assert!(answer.len() >= bytes && answer.len() > HISTORY_ANSWER_MAX);

    // The store keeps its beginning and a reference to the whole …
    let stored = h
        .executor
        .store()
        .get(r.execution_id)
        .await
        .unwrap()
        .unwrap();
    let kept = stored.result.result.as_deref().unwrap();
    assert!(kept.len() <= HISTORY_ANSWER_HEAD && answer.starts_with(kept));
    let reference = stored.answer_elsewhere.clone().unwrap();
    assert_eq!(reference.bytes, answer.len() as u64);

    // … and every reader gets the whole answer back.
    let full = h.executor.record(r.execution_id).await.unwrap().unwrap();
    assert_eq!(full.result.result.as_deref(), Some(answer.as_str()));
    assert!(full.answer_elsewhere.is_none());
    let waited = h.executor.wait(r.execution_id).await.unwrap();
    assert_eq!(waited.result.as_deref(), Some(answer.as_str()));

    // Not cached in memory (over the per-result budget), yet a lookup has it.
    let live = h.executor.status(r.execution_id).unwrap();
    assert!(live.result.is_none(), "a big result is not kept in memory");
    let looked = h.executor.lookup(r.execution_id).await.unwrap();
    assert_eq!(
        looked.result.unwrap().result.as_deref(),
        Some(answer.as_str())
    );

    // Verification accepts the record with its reference as matching the response file.
    let report = h
        .executor
        .verify(
            cc_executor::evidence::verify::Target::One(r.execution_id),
            false,
        )
        .await
        .unwrap();
    let text = serde_json::to_string(&report).unwrap();
    assert!(
        text.contains(r#""record_matches_response""#) && !text.contains("disagree"),
        "{text}"
    );
}

#[tokio::test]
async fn a_big_answer_only_on_the_assistant_line_is_read_back_from_the_raw_output() {
    // The CLI's known bug: an empty `result` while the model did answer. The answer is
    // over what the collector keeps in memory, so it comes back from the raw file.
    let h = Harness::new();
    let bytes = 2 * 1024 * 1024;
    let r = h
        .run(&format!("@fake empty_result bytes={bytes}\nbig"))
        .await;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.warnings);
    let answer = r.result.unwrap();
    assert_eq!(answer.len(), bytes);
    assert!(answer.starts_with("lorem ipsum"));
}

#[tokio::test]
async fn small_results_stay_cached_big_ones_do_not() {
    let h = Harness::new();
    let small = h.run("@fake success text=tiny\nsmall").await;
    let big = h.run("@fake big_record bytes=1500000\nbig").await;
    assert!(
        h.executor
            .status(small.execution_id)
            .unwrap()
            .result
            .is_some()
    );
    assert!(
        h.executor
            .status(big.execution_id)
            .unwrap()
            .result
            .is_none()
    );
}
