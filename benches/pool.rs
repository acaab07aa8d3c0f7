//! The worker pool against local placement, measured side by side in one run:
//!
//! 1. **Enqueue → start latency**: one task at a time, from `Executor::execute` to the fake
//!    `claude`'s init line reaching the caller's progress sink (`Started`), with an idle pool of
//!    one worker (placement `pool`: enqueue, claim, spawn, first event back through Redis) and
//!    with local placement (spawn, first event). Median and p99.
//! 2. **Throughput**: `CC_BENCH_POOL_TASKS` (default 64) `@fake success` tasks submitted at
//!    once, spread over as many queues as there are workers (a queue runs one task at a time),
//!    with 1, 4 and 16 `cc-executor worker` processes (one slot each), against a local executor
//!    with `max_concurrent` = 1, 4, 16. Tasks per second, wall time from the first submit to the
//!    last result.
//!
//! A real `redis-server` on loopback (no persistence), the fake `claude` as the task, the
//! orchestrator in this process (the library with `placement = pool`). Needs `redis-server`
//! and `cargo build --release --bins --examples` (or `CC_BENCH_BIN_DIR`). Prints results;
//! asserts nothing. The last lines are markdown table rows for `scripts/bench`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "common/mod.rs"]
mod common;
#[allow(unused_imports)]
use common::*;

use cc_executor::exec::progress::ProgressEvent;
use cc_executor::{Config, Executor, TaskRequest};

struct Redis {
    child: Child,
    url: String,
}

impl Redis {
    fn start(dir: &Path) -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (run scripts/provision)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis {
            child,
            url: format!("redis://127.0.0.1:{port}/"),
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(bins: &Bins, root: &Path, data: &str, redis: Option<&str>, slots: usize) -> Config {
    let o = cc_executor::Overrides {
        claude_bin: Some(bins.fake.clone()),
        data_dir: Some(root.join(data)),
        allowed_roots: Some(vec![root.to_path_buf()]),
        max_retries: Some(0),
        learned_timeouts: Some(false),
        max_concurrent: Some(slots),
        redis_url: redis.map(str::to_string),
        placement: redis.map(|_| cc_executor::config::Placement::Pool),
        ..Default::default()
    };
    let mut c = Config::resolve(cc_executor::config::FileConfig::default(), None, &o)
        .expect("a valid config");
    c.policy.default_cwd = root.to_path_buf();
    c.hooks.uuid_hook = false;
    c
}

fn workers(bins: &Bins, root: &Path, url: &str, n: usize) -> Vec<Child> {
    (0..n)
        .map(|i| {
            let mut cmd = Command::new(&bins.ours);
            clean_env(&mut cmd, root);
            cmd.env("CC_EXECUTOR_CLAUDE_BIN", &bins.fake)
                .env("REDIS_URL", url)
                .arg("--data-dir")
                .arg(root.join(format!("worker-{n}-{i}")))
                .arg("--allowed-root")
                .arg(root)
                .args(["--max-retries", "0", "--learned-timeouts=false"])
                .args(["worker", "--name", &format!("bench-{n}-{i}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start a worker")
        })
        .collect()
}

fn stop(children: Vec<Child>) {
    for mut c in children {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(c.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = c.wait();
    }
}

/// Runs one task; the time from the call to its `Started` event.
async fn latency(exec: &Executor, queue: Option<String>) -> Option<f64> {
    let mut spec = exec.prepare(TaskRequest::new("@fake success")).await.ok()?;
    spec.pool_queue = queue;
    let started: Arc<Mutex<Option<Instant>>> = Arc::default();
    let sink = {
        let started = started.clone();
        move |e: ProgressEvent| {
            if matches!(e, ProgressEvent::Started { .. }) {
                started
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert_with(Instant::now);
            }
        }
    };
    let t0 = Instant::now();
    let r = exec.execute(spec, sink).await;
    if r.status != cc_executor::Status::Succeeded {
        eprintln!("pool bench: a task ended {:?}: {:?}", r.status, r.warnings);
        return None;
    }
    let at = (*started.lock().unwrap_or_else(|p| p.into_inner()))?;
    Some(ms(at - t0))
}

/// `tasks` tasks at once over `queues` queues; tasks per second.
async fn throughput(exec: &Executor, tasks: usize, queues: usize, tag: &str) -> f64 {
    let t0 = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..tasks {
        let exec = exec.clone();
        let queue = format!("{tag}-{}", i % queues.max(1));
        set.spawn(async move {
            let Ok(mut spec) = exec.prepare(TaskRequest::new("@fake success")).await else {
                return false;
            };
            spec.pool_queue = Some(queue);
            exec.execute(spec, cc_executor::exec::progress::NoProgress)
                .await
                .status
                == cc_executor::Status::Succeeded
        });
    }
    let mut ok = 0;
    while let Some(r) = set.join_next().await {
        ok += usize::from(r.unwrap_or(false));
    }
    if ok != tasks {
        eprintln!(
            "pool bench: {} of {tasks} tasks did not succeed",
            tasks - ok
        );
    }
    tasks as f64 / t0.elapsed().as_secs_f64()
}

fn p99(v: &[f64]) -> f64 {
    let s = sorted(v);
    s.get(((s.len() as f64) * 0.99).ceil() as usize - 1)
        .copied()
        .unwrap_or(f64::NAN)
}

fn main() {
    let bins = Bins::locate();
    let runs = runs_from_env(30);
    let tasks: usize = std::env::var("CC_BENCH_POOL_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| (1..=10_000).contains(n))
        .unwrap_or(64);
    let tmp = tempfile::tempdir().expect("temporary directory");
    let root = tmp.path().canonicalize().expect("tempdir path");
    let redis = Redis::start(&root);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let rows = rt.block_on(async {
        let pooled = {
            let c = config(&bins, &root, "orchestrator", Some(&redis.url), 1);
            let store = cc_executor::store::open(&c).await.expect("the Redis store");
            Executor::with_store(c, store).expect("the pooled executor")
        };
        let mut rows = Vec::new();

        // 1. Latency, one at a time.
        let one = workers(&bins, &root, &redis.url, 1);
        let (mut pool_lat, mut local_lat) = (Vec::new(), Vec::new());
        let local = Executor::new(config(&bins, &root, "local-1", None, 1)).expect("local");
        // Warm-up on both sides.
        let _ = latency(&pooled, Some("lat".into())).await;
        let _ = latency(&local, None).await;
        for _ in 0..runs {
            if let Some(l) = latency(&pooled, Some("lat".into())).await {
                pool_lat.push(l);
            }
            if let Some(l) = latency(&local, None).await {
                local_lat.push(l);
            }
        }
        stop(one);
        println!(
            "pool: enqueue→start over {runs} runs: pool median {:.1} ms, p99 {:.1} ms; local median {:.1} ms, p99 {:.1} ms",
            median(&pool_lat),
            p99(&pool_lat),
            median(&local_lat),
            p99(&local_lat)
        );
        rows.push(format!(
            "| Pool: submit → `claude` started (idle pool, 1 worker) | — | pool median {:.1} ms, p99 {:.1} ms; local median {:.1} ms, p99 {:.1} ms ({runs} runs each) | {:.2}× | — |",
            median(&pool_lat),
            p99(&pool_lat),
            median(&local_lat),
            p99(&local_lat),
            median(&pool_lat) / median(&local_lat)
        ));

        // 2. Throughput with 1, 4, 16 workers against as many local slots.
        for n in [1usize, 4, 16] {
            let ws = workers(&bins, &root, &redis.url, n);
            // Let them register before the clock starts.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let pool_tps = throughput(&pooled, tasks, n, &format!("tp{n}")).await;
            stop(ws);
            let local = Executor::new(config(&bins, &root, &format!("local-{n}x"), None, n))
                .expect("local");
            let local_tps = throughput(&local, tasks, n, "unused").await;
            println!(
                "pool: {tasks} tasks, {n} worker(s): pool {pool_tps:.1} tasks/s, local ({n} slots) {local_tps:.1} tasks/s"
            );
            rows.push(format!(
                "| Pool throughput, {n} worker(s) vs {n} local slot(s), {tasks} `@fake success` tasks | — | pool {pool_tps:.1} tasks/s; local {local_tps:.1} tasks/s | {:.2}× | — |",
                pool_tps / local_tps
            ));
        }
        pooled.shutdown().await;
        rows
    });
    println!("table rows:");
    for r in rows {
        println!("{r}");
    }
}
