//! Operations: `pool status`, the SIGTERM drain, doctor on Redis persistence, the worker's own
//! policy.

use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::{Value, json};

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn pool_status_shows_workers_and_queues_and_sigterm_drains_a_worker_without_dropping_its_task()
 {
    let redis = RedisServer::start();
    let s = orchestrator(&redis, &["--pool-queue", "status-q"]).await;
    let mut ws = workers(&s, &redis, 2, 5000);
    let (root, url) = (s.root(), redis.url());
    assert!(
        eventually_async(Duration::from_secs(20), || {
            pool_status(&root, &url)["workers"]
                .as_array()
                .unwrap()
                .len()
                == 2
        })
        .await
    );
    let r = s
        .call(
            "cc_execute",
            json!({"task": "@fake slow secs=5\ndrained marker-d", "wait": false}),
        )
        .await;
    let id = data(&r)["execution_id"].as_str().unwrap().to_string();
    assert!(
        eventually_async(Duration::from_secs(20), || !runs_of(&s, "marker-d")
            .is_empty())
        .await
    );
    let busy = |status: &Value| -> u64 {
        status["workers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["busy"].as_u64().unwrap())
            .sum()
    };
    // The heartbeat that says so follows the claim.
    assert!(
        eventually_async(Duration::from_secs(10), || busy(&pool_status(&root, &url))
            == 1)
        .await
    );
    let status = pool_status(&root, &url);
    let q = &status["queues"][0];
    assert_eq!(q["name"], "status-q", "{status}");
    assert_eq!(q["depth"], 1, "{status}");
    assert!(q["in_flight"].is_string(), "{status}");

    // SIGTERM to the worker running it: it finishes the task, then leaves.
    let ran = runs_of(&s, "marker-d");
    let holder = ws
        .iter()
        .position(|w| i64::from(w.pid()) == ran[0]["ppid"].as_i64().unwrap())
        .unwrap();
    ws[holder].signal(Signal::SIGTERM);
    let e = finished(&s, &id).await;
    assert_eq!(e["result"]["status"], "succeeded", "{e}");
    let exit = tokio::task::spawn_blocking(move || {
        let code = ws[holder].wait();
        (code, ws)
    })
    .await
    .unwrap()
    .0;
    assert!(exit.success(), "{exit:?}");
    let status = pool_status(&root, &url);
    assert_eq!(status["workers"].as_array().unwrap().len(), 1, "{status}");
    assert_eq!(status["queues"][0]["depth"], 0, "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_says_what_a_redis_without_persistence_can_lose() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let doctor = || {
        let out = std::process::Command::new(crate::support::fixtures::cc_executor_bin())
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env(
                "CC_EXECUTOR_CLAUDE_BIN",
                crate::support::fixtures::fake_claude_bin(),
            )
            .args([
                "--redis-url",
                &redis.url(),
                "--placement",
                "pool",
                "--data-dir",
            ])
            .arg(dir.path().join("data"))
            .args(["doctor", "--json"])
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "redis_persistence")
            .cloned()
            .expect("a redis_persistence check")
    };
    let off = doctor();
    assert_eq!(off["ok"], false, "{off}");
    let detail = off["detail"].as_str().unwrap();
    assert!(
        detail.contains("appendonly no") && detail.contains("loses every queued task"),
        "{detail}"
    );

    assert!(
        redis
            .send(&["CONFIG", "SET", "appendonly", "yes"])
            .starts_with("+OK")
    );
    let on = doctor();
    assert_eq!(on["ok"], true, "{on}");
    assert!(
        on["detail"]
            .as_str()
            .unwrap()
            .contains("appendfsync everysec"),
        "{on}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_bounds_a_task_by_its_own_policy() {
    let redis = RedisServer::start();
    let s = orchestrator(&redis, &[]).await;
    let _w = Worker::start(
        &s.root(),
        &redis.url(),
        "strict",
        5000,
        &["--allowed-models", "sonnet"],
    );
    let r = s
        .call(
            "cc_execute",
            json!({"task": "@fake success\nrefused marker-p", "model": "opus", "wait": false}),
        )
        .await;
    assert_ne!(
        r.is_error,
        Some(true),
        "the orchestrator's own policy allows it: {r:?}"
    );
    let e = finished(&s, data(&r)["execution_id"].as_str().unwrap()).await;
    assert_eq!(e["result"]["status"], "spawn_failed", "{e}");
    let warnings = e["result"]["warnings"].to_string();
    assert!(
        warnings.contains("refused by the policy of pool worker `strict`")
            && warnings.contains("allowed_models"),
        "{warnings}"
    );
    assert!(runs_of(&s, "marker-p").is_empty(), "it ran");
}
