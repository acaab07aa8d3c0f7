//! Control across processes: cancel, pause and resume, monitor, the event stream replayed
//! from any point, a usage limit parking the pool.

use std::time::Duration;

use serde_json::{Value, json};

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn cancel_and_monitor_reach_a_task_on_another_process() {
    let redis = RedisServer::start();
    let s = orchestrator(&redis, &[]).await;
    let _ws = workers(&s, &redis, 1, 5000);
    let r = s
        .call(
            "cc_execute",
            json!({"task": "@fake grandchild mode=hang\ncancel marker-c", "wait": false}),
        )
        .await;
    let id = data(&r)["execution_id"].as_str().unwrap().to_string();
    // Monitor: the worker's progress reaches this process's registry.
    let mut version = 0u64;
    let (running, counts) = loop {
        let m = s
            .call(
                "monitor_execution",
                json!({"execution_id": id, "wait_secs": 20, "since_version": version}),
            )
            .await;
        let d = data(&m).clone();
        version = d["version"].as_u64().unwrap();
        let e = d["executions"][0].clone();
        if e["phase"] == "running"
            && e["last_event"]
                .as_str()
                .is_some_and(|t| t.contains("started"))
        {
            break (e, (d["running"].clone(), d["queued"].clone()));
        }
        assert_ne!(e["phase"], "finished", "{e}");
    };
    // The answer's counts say what runs in the pool for this orchestrator, not its local
    // line (which only hands tasks over).
    assert_eq!(counts, (json!(1), json!(0)), "{running}");
    assert!(
        running["last_event"].as_str().unwrap().contains("session"),
        "{running}"
    );

    let ran = runs_of(&s, "marker-c");
    let pgid = ran[0]["pgid"].as_i64().unwrap() as i32;
    let c = s
        .call("cancel_execution", json!({"execution_id": id}))
        .await;
    assert_eq!(data(&c)["status"], "cancelled", "{c:?}");
    let left = tokio::task::spawn_blocking(move || wait_group_gone(pgid, 10))
        .await
        .unwrap();
    assert!(left.is_empty(), "survivors: {left:?}");

    // A task still waiting in its queue is withdrawn: it never runs.
    let first = s
        .call(
            "cc_execute",
            json!({"task": "@fake slow secs=2\nfirst marker-f", "wait": false}),
        )
        .await;
    let second = s
        .call(
            "cc_execute",
            json!({"task": "@fake success\nwaiting marker-w", "wait": false}),
        )
        .await;
    let wid = data(&second)["execution_id"].as_str().unwrap().to_string();
    let c = s
        .call("cancel_execution", json!({"execution_id": wid}))
        .await;
    assert_eq!(data(&c)["status"], "cancelled", "{c:?}");
    let fid = data(&first)["execution_id"].as_str().unwrap().to_string();
    assert_eq!(finished(&s, &fid).await["result"]["status"], "succeeded");
    assert!(runs_of(&s, "marker-w").is_empty(), "a withdrawn task ran");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_usage_limit_parks_the_pool_until_it_resets_and_waiting_tasks_say_so() {
    let redis = RedisServer::start();
    let s = orchestrator(&redis, &[]).await;
    let _ws: Vec<Worker> = (1..=2)
        .map(|i| {
            Worker::start(
                &s.root(),
                &redis.url(),
                &format!("w{i}"),
                5000,
                &["--max-retries", "0"],
            )
        })
        .collect();
    let r = s
        .call(
            "cc_execute",
            json!({"task": "@fake usage_limit resets_in=4\nlimited marker-u", "wait": false}),
        )
        .await;
    let limited = finished(&s, data(&r)["execution_id"].as_str().unwrap()).await;
    assert_eq!(limited["result"]["status"], "rate_limited", "{limited}");
    let resets_at =
        chrono::DateTime::parse_from_rfc3339(limited["result"]["resets_at"].as_str().unwrap())
            .unwrap()
            .timestamp_millis();
    let (root, url) = (s.root(), redis.url());
    assert_eq!(pool_status(&root, &url)["parked_until_ms"], resets_at);

    // Another queue (a run's own), another worker free: it still waits for the reset, visibly.
    let started = s
        .call(
            "cc_execute_list",
            json!({"tasks": [{"id": "next", "task": "@fake success\nafter marker-n"}]}),
        )
        .await;
    let run_id = data(&started)["run_id"].as_str().unwrap().to_string();
    // Its execution, once the run has started it.
    let mut version = 0u64;
    let id = loop {
        let m = s
            .call(
                "monitor_execution",
                json!({"run_id": run_id, "wait_secs": 20, "since_version": version}),
            )
            .await;
        let run = data(&m)["runs"][0].clone();
        version = run["version"].as_u64().unwrap();
        if let Some(id) = run["run"]["tasks"][0]["execution_id"].as_str() {
            break id.to_string();
        }
    };
    let mut saw_waiting = false;
    let mut version = 0u64;
    loop {
        let m = s
            .call(
                "monitor_execution",
                json!({"execution_id": id, "wait_secs": 20, "since_version": version}),
            )
            .await;
        let d = data(&m).clone();
        version = d["version"].as_u64().unwrap();
        let e = d["executions"][0].clone();
        if e["phase"] == "waiting_for_usage_reset" {
            saw_waiting = e["last_event"]
                .as_str()
                .unwrap_or("")
                .contains("usage limit; waiting");
        }
        if e["phase"] == "finished" {
            assert_eq!(e["result"]["status"], "succeeded", "{e}");
            break;
        }
    }
    assert!(
        saw_waiting,
        "the waiting task never said it waits for the reset"
    );
    let next = runs_of(&s, "marker-n");
    assert_eq!(next.len(), 1);
    assert!(
        next[0]["time_ms"].as_i64().unwrap() >= resets_at,
        "started before the reset: {} < {resets_at}",
        next[0]["time_ms"]
    );
    assert_eq!(runs_of(&s, "marker-u").len(), 1, "no other attempt burned");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_executions_event_stream_replays_from_any_point_for_a_reattaching_reader() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let config = crate::support::fixtures::fake_claude_config(&root);
    let prefix = config.redis_prefix.clone();
    let exec = library_orchestrator(config, &redis).await;
    let _w = Worker::start(&root, &redis.url(), "w1", 5000, &[]);
    let spec = exec
        .prepare(cc_executor::TaskRequest::new(
            "@fake tools pace_ms=50\nreplayed marker-r",
        ))
        .await
        .unwrap();
    let r = exec
        .execute(spec, cc_executor::exec::progress::NoProgress)
        .await;
    assert_eq!(r.status, cc_executor::Status::Succeeded, "{r:#?}");

    // A reader that was never attached gets everything, in order: claimed, progress, result.
    let pool = cc_executor::pool::Pool::connect(&redis.url(), &prefix, 1).unwrap();
    let all = pool.events(r.execution_id, "0", 1000).await.unwrap();
    let kinds: Vec<String> = all
        .iter()
        .map(|(_, e)| {
            serde_json::from_str::<Value>(e).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds.first().map(String::as_str),
        Some("claimed"),
        "{kinds:?}"
    );
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("result"),
        "{kinds:?}"
    );
    assert!(
        kinds.iter().filter(|k| *k == "progress").count() >= 3,
        "{kinds:?}"
    );
    let progress: Vec<Value> = all
        .iter()
        .map(|(_, e)| serde_json::from_str::<Value>(e).unwrap())
        .filter(|e| e["type"] == "progress")
        .collect();
    assert!(
        progress.iter().any(|e| e["event"]["kind"] == "started"),
        "{progress:?}"
    );
    assert!(
        progress.iter().any(|e| e["event"]["kind"] == "tool_use"),
        "{progress:?}"
    );

    // One that reattaches after the third entry gets exactly the rest.
    let rest = pool.events(r.execution_id, &all[2].0, 1000).await.unwrap();
    assert_eq!(rest, all[3..].to_vec());
}

#[tokio::test(flavor = "multi_thread")]
async fn pause_and_resume_reach_a_task_on_another_process() {
    use crate::support::fixtures::process_state;
    let redis = RedisServer::start();
    let s = orchestrator(&redis, &[]).await;
    let _w = Worker::start(&s.root(), &redis.url(), "w1", 5000, &[]);
    let r = s
        .call(
            "cc_execute",
            json!({"task": "@fake slow secs=2\npaused marker-z", "wait": false}),
        )
        .await;
    let id = data(&r)["execution_id"].as_str().unwrap().to_string();
    assert!(
        eventually_async(Duration::from_secs(20), || !runs_of(&s, "marker-z")
            .is_empty())
        .await
    );
    let pid = runs_of(&s, "marker-z")[0]["pid"].as_i64().unwrap() as i32;
    let p = s.call("pause_execution", json!({"execution_id": id})).await;
    assert_eq!(data(&p)["outcome"], "paused", "{p:?}");
    assert!(
        eventually_async(Duration::from_secs(10), || process_state(pid) == Some('T')).await,
        "the worker did not stop the tree"
    );
    let p = s
        .call(
            "pause_execution",
            json!({"execution_id": id, "resume": true}),
        )
        .await;
    assert_eq!(data(&p)["outcome"], "resumed", "{p:?}");
    assert!(
        eventually_async(Duration::from_secs(10), || process_state(pid) != Some('T')).await,
        "the worker did not continue the tree"
    );
    let e = finished(&s, &id).await;
    assert_eq!(e["result"]["status"], "succeeded", "{e}");
    assert!(
        e["result"]["warnings"]
            .to_string()
            .contains("paused 1 time"),
        "{e}"
    );
}
