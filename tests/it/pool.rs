//! The worker pool (`--placement pool`), end to end on real processes: a real redis-server,
//! real `cc-executor worker` processes and the MCP server (`cc-executor mcp`) with the fake
//! claude as the task. Order per queue, results in the shared history, a worker killed
//! (SIGKILL) or stopped (SIGSTOP) past its lease, cancel and monitor across processes,
//! `pool status` and the drain on SIGTERM.

use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::{Value, json};

use crate::support::fixtures::{eventually_async, wait_group_gone};
use crate::support::mcp_client::{Server, data, start};
use crate::support::pool::{Worker, history_record, pool_status};
use crate::support::redis_server::RedisServer;

/// The MCP server with `--placement pool` on `redis`, and workers sharing its root.
async fn orchestrator(redis: &RedisServer, extra: &[&str]) -> Server<()> {
    let url = redis.url();
    let mut args = vec!["--redis-url", url.as_str(), "--placement", "pool"];
    args.extend_from_slice(extra);
    start((), &args).await
}

fn workers(s: &Server<()>, redis: &RedisServer, n: usize, lease_ms: u64) -> Vec<Worker> {
    (1..=n)
        .map(|i| Worker::start(&s.root(), &redis.url(), &format!("w{i}"), lease_ms, &[]))
        .collect()
}

/// Long-polls `monitor_execution` until the execution has finished; its entry.
async fn finished(s: &Server<()>, id: &str) -> Value {
    let mut version = 0u64;
    for _ in 0..200 {
        let m = s
            .call(
                "monitor_execution",
                json!({"execution_id": id, "wait_secs": 20, "since_version": version}),
            )
            .await;
        assert_ne!(m.is_error, Some(true), "{m:?}");
        let d = data(&m).clone();
        version = d["version"].as_u64().unwrap();
        let e = d["executions"][0].clone();
        if e["phase"] == "finished" {
            return e;
        }
    }
    panic!("execution {id} did not finish");
}

/// The fake's invocations whose prompt contains `marker`.
fn runs_of(s: &Server<()>, marker: &str) -> Vec<Value> {
    s.invocations()
        .into_iter()
        .filter(|i| i["stdin"].as_str().unwrap_or("").contains(marker))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_list_runs_on_two_workers_in_order_with_every_result_in_the_shared_history() {
    let redis = RedisServer::start();
    let s = orchestrator(&redis, &[]).await;
    let ws = workers(&s, &redis, 2, 5000);
    let worker_pids: Vec<i64> = ws.iter().map(|w| i64::from(w.pid())).collect();
    let tasks: Vec<Value> = (1..=5)
        .map(|i| json!({"id": format!("t{i}"), "task": format!("@fake slow secs=0.2 text=answer-{i}\nlist task marker-{i}")}))
        .collect();
    let started = s.call("cc_execute_list", json!({"tasks": tasks})).await;
    assert_ne!(started.is_error, Some(true), "{started:?}");
    let run_id = data(&started)["run_id"].as_str().unwrap().to_string();
    let mut version = 0u64;
    let run = loop {
        let m = s
            .call(
                "monitor_execution",
                json!({"run_id": run_id, "wait_secs": 20, "since_version": version}),
            )
            .await;
        let d = data(&m).clone();
        let run = d["runs"][0].clone();
        version = run["version"].as_u64().unwrap();
        if !["pending", "running"].contains(&run["run"]["state"].as_str().unwrap()) {
            break run;
        }
    };
    assert_eq!(run["run"]["state"], "succeeded", "{run}");

    // Each task ran once, on a worker (the fake's parent), in the list's order.
    let mut starts = Vec::new();
    for i in 1..=5 {
        let ran = runs_of(&s, &format!("marker-{i}"));
        assert_eq!(ran.len(), 1, "task {i} ran {} times", ran.len());
        assert!(
            worker_pids.contains(&ran[0]["ppid"].as_i64().unwrap()),
            "task {i} was not run by a worker: {}",
            ran[0]
        );
        starts.push(ran[0]["time_ms"].as_u64().unwrap());
    }
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");

    // Every result is in the shared history, under the id the orchestrator gave out.
    for task in run["run"]["tasks"].as_array().unwrap() {
        let id = task["execution_id"].as_str().unwrap();
        let n = &task["id"].as_str().unwrap()[1..];
        let rec = tokio::task::spawn_blocking({
            let (root, url, id) = (s.root(), redis.url(), id.to_string());
            move || history_record(&root, &url, &id)
        })
        .await
        .unwrap()
        .expect("recorded in the shared history");
        assert_eq!(rec["result"]["status"], "succeeded", "{rec}");
        assert_eq!(rec["result"]["result"], format!("answer-{n}"), "{rec}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_named_queue_runs_one_task_at_a_time_in_arrival_order_whichever_worker_is_free() {
    let redis = RedisServer::start();
    let s = orchestrator(&redis, &["--pool-queue", "shared"]).await;
    let _ws = workers(&s, &redis, 3, 5000);
    let mut ids = Vec::new();
    for i in 1..=6 {
        let r = s
            .call(
                "cc_execute",
                json!({"task": format!("@fake slow secs=0.3\nqueued marker-{i}"), "wait": false}),
            )
            .await;
        ids.push(data(&r)["execution_id"].as_str().unwrap().to_string());
    }
    let mut spans = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let e = finished(&s, id).await;
        assert_eq!(e["result"]["status"], "succeeded", "{e}");
        let ran = runs_of(&s, &format!("marker-{}", i + 1));
        assert_eq!(ran.len(), 1);
        let start = ran[0]["time_ms"].as_u64().unwrap();
        spans.push((start, e["result"]["duration_ms"].as_u64().unwrap()));
    }
    // In order, and never two at once: each starts after the one before has run its 300 ms.
    for w in spans.windows(2) {
        assert!(w[1].0 >= w[0].0 + 300, "overlap or out of order: {spans:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_killed_mid_task_loses_it_after_the_lease_and_it_is_never_run_twice() {
    let redis = RedisServer::start();
    let s = orchestrator(&redis, &[]).await;
    let mut ws = workers(&s, &redis, 2, 1500);
    let r = s
        .call(
            "cc_execute",
            json!({"task": "@fake hang\nkilled marker-k", "wait": false}),
        )
        .await;
    let id = data(&r)["execution_id"].as_str().unwrap().to_string();
    assert!(
        eventually_async(Duration::from_secs(20), || !runs_of(&s, "marker-k")
            .is_empty())
        .await,
        "never started"
    );
    let ran = runs_of(&s, "marker-k");
    let holder = ws
        .iter()
        .position(|w| i64::from(w.pid()) == ran[0]["ppid"].as_i64().unwrap())
        .expect("run by a worker");
    ws[holder].signal(Signal::SIGKILL);
    ws[holder].wait();

    let e = finished(&s, &id).await;
    assert_eq!(e["result"]["status"], "interrupted", "{e}");
    let warnings = e["result"]["warnings"].to_string();
    assert!(warnings.contains("lost"), "{warnings}");
    assert!(warnings.contains(&format!("w{}", holder + 1)), "{warnings}");
    // Not run again.
    assert_eq!(runs_of(&s, "marker-k").len(), 1);
    let rec = tokio::task::spawn_blocking({
        let (root, url) = (s.root(), redis.url());
        move || history_record(&root, &url, &id)
    })
    .await
    .unwrap()
    .expect("recorded");
    assert_eq!(rec["result"]["status"], "interrupted", "{rec}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_stopped_past_its_lease_stops_its_own_tree_when_it_wakes_and_records_it() {
    let redis = RedisServer::start();
    let s = orchestrator(&redis, &[]).await;
    let ws = workers(&s, &redis, 2, 1500);
    let r = s
        .call(
            "cc_execute",
            json!({"task": "@fake hang\nstopped marker-s", "wait": false}),
        )
        .await;
    let id = data(&r)["execution_id"].as_str().unwrap().to_string();
    assert!(
        eventually_async(Duration::from_secs(20), || !runs_of(&s, "marker-s")
            .is_empty())
        .await
    );
    let ran = runs_of(&s, "marker-s");
    let pgid = ran[0]["pgid"].as_i64().unwrap() as i32;
    let holder = ws
        .iter()
        .find(|w| i64::from(w.pid()) == ran[0]["ppid"].as_i64().unwrap())
        .expect("run by a worker");
    holder.signal(Signal::SIGSTOP);
    // The other worker takes it over once the lease lapsed and records it lost.
    let e = finished(&s, &id).await;
    assert_eq!(e["result"]["status"], "interrupted", "{e}");
    assert!(e["result"]["warnings"].to_string().contains("lost"), "{e}");
    holder.signal(Signal::SIGCONT);

    // Awake, the stale worker finds its fence superseded and stops the tree itself.
    let left = tokio::task::spawn_blocking(move || wait_group_gone(pgid, 20))
        .await
        .unwrap();
    assert!(left.is_empty(), "survivors: {left:?}");
    let (root, url, name) = (s.root(), redis.url(), holder.name.clone());
    let said = eventually_async(Duration::from_secs(20), || {
        history_record(&root, &url, &id).is_some_and(|r| {
            r["result"]["status"] == "interrupted" && r.to_string().contains("superseded")
        })
    })
    .await;
    assert!(said, "the history does not say it was superseded");
    assert!(
        holder.log_text().contains("superseded"),
        "{}",
        holder.log_text()
    );
    assert!(
        history_record(&root, &url, &id)
            .unwrap()
            .to_string()
            .contains(&format!("`{name}`"))
    );
    assert_eq!(runs_of(&s, "marker-s").len(), 1, "never run twice");
}

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
    let running = loop {
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
            break e;
        }
        assert_ne!(e["phase"], "finished", "{e}");
    };
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
async fn redis_restarted_mid_run_loses_no_acknowledged_task_and_workers_reconnect() {
    let mut redis = RedisServer::start();
    let s = orchestrator(&redis, &["--pool-queue", "restart-q"]).await;
    let _w = Worker::start(&s.root(), &redis.url(), "w1", 5000, &[]);
    let running = s
        .call(
            "cc_execute",
            json!({"task": "@fake slow secs=2\nduring marker-a", "wait": false}),
        )
        .await;
    let waiting = s
        .call(
            "cc_execute",
            json!({"task": "@fake success text=after-restart\nqueued marker-b", "wait": false}),
        )
        .await;
    assert!(
        eventually_async(Duration::from_secs(20), || !runs_of(&s, "marker-a")
            .is_empty())
        .await
    );
    // Persisted (as with AOF), then the server dies and comes back on the same port.
    redis.save();
    redis.restart();
    for r in [&running, &waiting] {
        let id = data(r)["execution_id"].as_str().unwrap().to_string();
        let e = finished(&s, &id).await;
        assert_eq!(e["result"]["status"], "succeeded", "{e}");
    }
    assert_eq!(runs_of(&s, "marker-a").len(), 1);
    assert_eq!(runs_of(&s, "marker-b").len(), 1);
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
async fn three_orchestrators_four_workers_fifty_tasks_each_stay_in_order_per_queue() {
    const TASKS: usize = 50;
    let redis = RedisServer::start();
    let servers = [
        orchestrator(&redis, &[]).await,
        orchestrator(&redis, &[]).await,
        orchestrator(&redis, &[]).await,
    ];
    // The workers have a root of their own, may run in every orchestrator's root, and record
    // every invocation of the fake in one place.
    let wroot = tempfile::tempdir().unwrap();
    let wroot_path = wroot.path().canonicalize().unwrap();
    let roots: Vec<String> = servers
        .iter()
        .map(|s| s.root().display().to_string())
        .collect();
    let mut extra = Vec::new();
    for r in &roots {
        extra.extend(["--allowed-root", r.as_str()]);
    }
    let _ws: Vec<Worker> = (1..=4)
        .map(|i| Worker::start(&wroot_path, &redis.url(), &format!("w{i}"), 5000, &extra))
        .collect();
    let submit = |o: usize| {
        let s = &servers[o];
        async move {
            let mut ids = Vec::new();
            for n in 0..TASKS {
                let r = s
                    .call(
                        "cc_execute",
                        json!({"task": format!("@fake slow secs=0.05\nfifo o{o}-n{n:03}"), "wait": false}),
                    )
                    .await;
                ids.push(data(&r)["execution_id"].as_str().unwrap().to_string());
            }
            for id in &ids {
                assert_eq!(finished(s, id).await["result"]["status"], "succeeded");
            }
        }
    };
    tokio::join!(submit(0), submit(1), submit(2));

    let all = crate::support::fixtures::invocations(&wroot_path.join("rec"));
    for o in 0..3 {
        let mine: Vec<(u64, String)> = all
            .iter()
            .filter_map(|i| {
                let stdin = i["stdin"].as_str()?;
                let at = stdin.find(&format!("fifo o{o}-n"))?;
                Some((i["time_ms"].as_u64()?, stdin[at..at + 10].to_string()))
            })
            .collect();
        assert_eq!(mine.len(), TASKS, "orchestrator {o}: every task once");
        let mut by_start = mine.clone();
        by_start.sort();
        let order: Vec<&str> = by_start.iter().map(|(_, m)| m.as_str()).collect();
        let mut expected = order.clone();
        expected.sort();
        assert_eq!(order, expected, "orchestrator {o}: out of order");
        // One at a time: each starts after the one before has run its 50 ms.
        assert!(
            by_start.windows(2).all(|w| w[1].0 >= w[0].0 + 50),
            "orchestrator {o}: two in flight at once"
        );
    }
}

/// A library orchestrator (`Executor` with `placement = pool`) on `root`, with the shared
/// Redis history.
async fn library_orchestrator(
    mut config: cc_executor::Config,
    redis: &RedisServer,
) -> cc_executor::Executor {
    config.redis_url = Some(redis.url());
    config.placement = cc_executor::config::Placement::Pool;
    let store = cc_executor::store::open(&config).await.unwrap();
    cc_executor::Executor::with_store(config, store).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idempotent_task_whose_worker_died_runs_again_on_another() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let exec =
        library_orchestrator(crate::support::fixtures::fake_claude_config(&root), &redis).await;
    let mut ws: Vec<Worker> = (1..=2)
        .map(|i| Worker::start(&root, &redis.url(), &format!("w{i}"), 1500, &[]))
        .collect();
    let mut spec = exec
        .prepare(cc_executor::TaskRequest::new(
            "@fake slow secs=2\nidempotent marker-i",
        ))
        .await
        .unwrap();
    spec.idempotent = true;
    let running = tokio::spawn({
        let exec = exec.clone();
        async move {
            exec.execute(spec, cc_executor::exec::progress::NoProgress)
                .await
        }
    });
    let record = root.join("rec");
    let of = |marker: &str| -> Vec<Value> {
        crate::support::fixtures::invocations(&record)
            .into_iter()
            .filter(|i| i["stdin"].as_str().unwrap_or("").contains(marker))
            .collect()
    };
    assert!(eventually_async(Duration::from_secs(20), || !of("marker-i").is_empty()).await);
    let first = of("marker-i")[0]["ppid"].as_i64().unwrap();
    let holder = ws.iter().position(|w| i64::from(w.pid()) == first).unwrap();
    ws[holder].signal(Signal::SIGKILL);
    ws[holder].wait();

    let r = running.await.unwrap();
    assert_eq!(r.status, cc_executor::Status::Succeeded, "{r:#?}");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("run again") && w.contains("retry")),
        "{:?}",
        r.warnings
    );
    let runs = of("marker-i");
    assert_eq!(runs.len(), 2, "run again once, by the other worker");
    assert_ne!(runs[1]["ppid"].as_i64().unwrap(), first);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_real_claude_code_cli_runs_a_pooled_task_on_the_fake_api() {
    use crate::support::fake_anthropic::{FakeApi, Script};
    use crate::support::real_claude::{
        IsolatedEnv, VARS_TO_REMOVE, claude_bin, real_claude_config,
    };
    let redis = RedisServer::start();
    let env = IsolatedEnv::new();
    let api = FakeApi::start(Script::text("Pooled answer from the real CLI.")).await;
    let exec = library_orchestrator(real_claude_config(&env, &api.base_url), &redis).await;

    // The worker: the real CLI, isolated, pointed at the fake API through its own config file.
    let mut file = format!(
        "claude_bin = {:?}\nkill_grace_ms = 2000\n[env]\n",
        claude_bin().display().to_string()
    );
    for (k, v) in env.env_vars(&api.base_url) {
        file.push_str(&format!("{k} = {v:?}\n"));
    }
    let config = env.root().join("worker.toml");
    std::fs::write(&config, file).unwrap();
    let mut cmd = std::process::Command::new(crate::support::fixtures::cc_executor_bin());
    for k in VARS_TO_REMOVE {
        cmd.env_remove(k);
    }
    let mut worker = cmd
        .env("REDIS_URL", redis.url())
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(env.root().join("worker-data"))
        .arg("--allowed-root")
        .arg(env.workdir())
        .args(["--max-retries", "0", "worker", "--name", "real-1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();

    let mut request = cc_executor::TaskRequest::new("What should the pool answer?");
    request.timeout_secs = Some(90);
    let spec = exec.prepare(request).await.unwrap();
    let r = exec
        .execute(spec, cc_executor::exec::progress::NoProgress)
        .await;
    let _ = worker.kill();
    let _ = worker.wait();
    assert_eq!(r.status, cc_executor::Status::Succeeded, "{r:#?}");
    assert_eq!(
        r.result.as_deref(),
        Some("Pooled answer from the real CLI.")
    );
    assert_eq!(r.claude_version.as_deref(), Some("2.1.331"));
    // Recorded by the worker in the shared history, under the orchestrator's id.
    let rec = exec
        .store()
        .get(r.execution_id)
        .await
        .unwrap()
        .expect("in the history");
    assert_eq!(rec.result.status, cc_executor::Status::Succeeded);
    assert!(rec.result.raw_output_path.unwrap().contains("worker-data"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_orchestrator_killed_after_enqueueing_leaves_the_task_to_its_worker() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let _w = Worker::start(&root, &redis.url(), "w1", 5000, &[]);
    let orchestrator = |args: &[&str]| {
        let mut cmd = std::process::Command::new(crate::support::fixtures::cc_executor_bin());
        cmd.env(
            "CC_EXECUTOR_CLAUDE_BIN",
            crate::support::fixtures::fake_claude_bin(),
        )
        .env("REDIS_URL", redis.url())
        .env("XDG_CONFIG_HOME", root.join("config"))
        .arg("--data-dir")
        .arg(root.join("data-orchestrator"))
        .arg("--allowed-root")
        .arg(&root)
        .args(["--placement", "pool"])
        .args(args)
        .current_dir(&root)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
        cmd
    };
    let mut run = orchestrator(&["run", "@fake slow secs=6\nsurvives marker-o"])
        .spawn()
        .unwrap();
    let record = root.join("rec");
    let started = eventually_async(Duration::from_secs(20), || {
        crate::support::fixtures::invocations(&record)
            .iter()
            .any(|i| i["stdin"].as_str().unwrap_or("").contains("marker-o"))
    })
    .await;
    assert!(started);
    let inv = crate::support::fixtures::invocations(&record)[0].clone();
    let fake_pid = inv["pid"].as_i64().unwrap() as i32;
    run.kill().unwrap();
    run.wait().unwrap();
    assert!(
        crate::support::fixtures::is_alive(fake_pid),
        "killed with the orchestrator"
    );

    // The next process on that data dir settles what its predecessor left: nothing here.
    let out = orchestrator(&["history", "list", "--json"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("interrupted"));
    assert!(
        crate::support::fixtures::is_alive(fake_pid),
        "the worker's task was killed"
    );

    // The worker finishes it and records it in the shared history.
    let recorded = eventually_async(Duration::from_secs(20), || {
        let out = orchestrator(&["history", "list", "--json"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.contains("marker-o") && text.contains("succeeded")
    })
    .await;
    assert!(recorded, "not recorded as succeeded");
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
async fn serve_places_rest_submissions_in_the_pool_and_cancels_them_there() {
    use crate::serve_rest::{Service, curl};
    let redis = RedisServer::start();
    let url = redis.url();
    let s = Service::start(&["--redis-url", &url, "--placement", "pool"]).await;
    let w = Worker::start(&s.root(), &url, "w1", 5000, &[]);

    let r = curl(&[
        "-d",
        r#"{"task":"@fake success text=served-by-the-pool"}"#,
        &s.api("/executions"),
    ])
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["execution_id"].as_str().unwrap().to_string();
    let mut result = Value::Null;
    for _ in 0..300 {
        let got = curl(&[&s.api(&format!("/executions/{id}/result"))]).await;
        if got.status == 200 {
            result = got.json();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(result["status"], "succeeded", "{result}");
    assert_eq!(result["result"], "served-by-the-pool");
    assert_eq!(
        s.invocation(1).await["ppid"].as_i64().unwrap(),
        i64::from(w.pid())
    );

    let r = curl(&["-d", r#"{"task":"@fake hang"}"#, &s.api("/executions")]).await;
    let id = r.json()["execution_id"].as_str().unwrap().to_string();
    let pgid = s.invocation(2).await["pgid"].as_i64().unwrap() as i32;
    let cancel = curl(&["-X", "DELETE", &s.api(&format!("/executions/{id}"))]).await;
    assert_eq!(cancel.status, 200, "{}", cancel.body);
    assert_eq!(cancel.json()["status"], "cancelled", "{}", cancel.body);
    let left = tokio::task::spawn_blocking(move || wait_group_gone(pgid, 10))
        .await
        .unwrap();
    assert!(left.is_empty(), "survivors: {left:?}");
}
