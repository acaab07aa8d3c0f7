//! Acceptance checks and repair with `placement = pool`: the checks run on the worker that did
//! the work, right after its attempt; the repair loop runs at the orchestrator, each attempt a
//! pooled task of its own; the worker records every attempt with its place in the loop.

use serde_json::json;

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_pooled_task_is_checked_on_its_worker_and_repaired_with_every_attempt_linked() {
    let redis = RedisServer::start();
    let s = orchestrator(&redis, &[]).await;
    let ws = workers(&s, &redis, 1, 5000);
    let r = s
        .call(
            "cc_execute",
            json!({
                "task": "@fake repairable\nwrite out.txt pool-accept",
                "accept": {"commands": [["grep", "good", "out.txt"]]},
                "repair": {"max_attempts": 2}
            }),
        )
        .await;
    assert_ne!(r.is_error, Some(true), "{r:?}");
    let d = data(&r).clone();
    assert_eq!(d["status"], "succeeded", "{d}");
    assert_eq!(d["acceptance"]["passed"], true, "{d}");
    assert_eq!(d["repair"]["repairs"], 1, "{d}");
    let attempts: Vec<String> = d["repair"]["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    assert_eq!(attempts.len(), 2, "{d}");

    // Both attempts ran on the worker.
    let ran = runs_of(&s, "pool-accept");
    assert_eq!(ran.len(), 2, "{ran:?}");
    for run in &ran {
        assert_eq!(run["ppid"].as_i64(), Some(i64::from(ws[0].pid())), "{run}");
    }

    // The worker recorded each attempt: the first rejected with the failing check, the repair
    // linked to it (the link travelled with the pooled task).
    let records = tokio::task::spawn_blocking({
        let (root, url, ids) = (s.root(), redis.url(), attempts.clone());
        move || {
            ids.iter()
                .map(|id| history_record(&root, &url, id).expect("recorded"))
                .collect::<Vec<_>>()
        }
    })
    .await
    .unwrap();
    assert_eq!(records[0]["result"]["status"], "rejected", "{}", records[0]);
    assert!(
        records[0]["result"]["acceptance"]["checks"][0]["detail"]
            .as_str()
            .unwrap_or("")
            .contains("grep good out.txt"),
        "{}",
        records[0]
    );
    assert_eq!(
        records[1]["result"]["status"], "succeeded",
        "{}",
        records[1]
    );
    assert_eq!(
        records[1]["result"]["repair"]["executions"][0], attempts[0],
        "{}",
        records[1]
    );
}
