//! The predictor on real stores: SQLite and a real `redis-server`.

use super::*;

// ---------------------------------------------------------------------------------------------
// Predictor on real stores

fn record(category: &str, complexity: &str, secs: u64, minute: i64) -> ExecutionRecord {
    // Relative to now (whole seconds), so the history is as recent on any date the suite runs.
    let day_ago = Utc::now().timestamp() - 86_400;
    let finished = Utc.timestamp_opt(day_ago, 0).unwrap() + Duration::minutes(minute);
    let mut r = ExecutionResult::empty(Uuid::new_v4(), Status::Succeeded, vec![]);
    r.duration_ms = secs * 1000;
    r.started_at = finished - Duration::seconds(secs as i64);
    r.finished_at = finished;
    ExecutionRecord::new(
        "a task",
        "/w",
        Some(category.into()),
        Some(complexity.into()),
        r.started_at,
        r,
    )
}

async fn predictor_switches_with_history(store: Arc<dyn HistoryStore>, backend: &str) {
    let config = PredictorConfig::default();
    let fresh = |store: &Arc<dyn HistoryStore>| {
        let store = Arc::clone(store);
        let config = config.clone();
        async move {
            let p = cc_executor::plan::Predictor::new(Some(&*store), config);
            p.predict(Category::Code, Complexity::Medium).await
        }
    };

    let none = fresh(&store).await;
    assert_eq!(none.based_on, BasedOn::Default, "{backend}");
    assert_eq!((none.sample_size, none.predicted_secs), (0, 360));
    assert_eq!(none.suggested_timeout_secs, 540);

    // Two exact samples: similar (pooled, shrunk toward the default).
    store
        .record_batch(&[
            record("code", "medium", 200, 1),
            record("code", "medium", 220, 2),
        ])
        .await
        .unwrap();
    let few = fresh(&store).await;
    assert_eq!(few.based_on, BasedOn::Similar, "{backend}: {few:?}");
    assert_eq!(few.sample_size, 2);
    assert!(
        few.predicted_secs > 220 && few.predicted_secs < 360,
        "{backend}: {few:?}"
    );
    assert!(few.confidence > none.confidence);

    // Neighbouring complexity of the same category counts, scaled.
    store
        .record_batch(
            &(0..6)
                .map(|i| record("docs", "low", 60, 10 + i))
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    let p = cc_executor::plan::Predictor::new(Some(&*store), config.clone());
    let docs = p.predict(Category::Docs, Complexity::Medium).await;
    assert_eq!(docs.based_on, BasedOn::Similar, "{backend}: {docs:?}");
    assert_eq!(docs.sample_size, 6);
    assert!(
        docs.explanation.contains("docs/low"),
        "{}",
        docs.explanation
    );

    // Enough exact samples: history, p95 of the window.
    let more: Vec<_> = (0..8)
        .map(|i| record("code", "medium", 100 + 10 * i as u64, 20 + i))
        .collect();
    store.record_batch(&more).await.unwrap();
    let many = fresh(&store).await;
    assert_eq!(many.based_on, BasedOn::History, "{backend}: {many:?}");
    assert_eq!(many.sample_size, 10);
    // Durations 100..170 and 200, 220: nearest-rank p95 of 10 = the 10th = 220.
    assert_eq!(many.predicted_secs, 220, "{backend}: {many:?}");
    assert_eq!(many.suggested_timeout_secs, 330);
    let p90 = cc_executor::plan::Predictor::new(
        Some(&*store),
        PredictorConfig {
            percentile: 0.9,
            ..config.clone()
        },
    );
    assert_eq!(
        p90.predict(Category::Code, Complexity::Medium)
            .await
            .predicted_secs,
        200
    );
    assert!(many.confidence > few.confidence);

    // The window keeps only the most recent executions.
    let small_window = PredictorConfig {
        window: 5,
        ..config.clone()
    };
    let p = cc_executor::plan::Predictor::new(Some(&*store), small_window);
    let recent = p.predict(Category::Code, Complexity::Medium).await;
    assert_eq!(recent.sample_size, 5);
    assert_eq!(recent.predicted_secs, 170, "newest five are 130..170");
    assert!(
        recent.explanation.contains("p95 of the 5 most recent"),
        "{}",
        recent.explanation
    );

    // Floor and ceiling.
    store
        .record_batch(
            &(0..6)
                .map(|i| record("general", "trivial", 2, 40 + i))
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    store
        .record_batch(
            &(0..6)
                .map(|i| record("ops", "extreme", 3 * 3600, 50 + i))
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    let p = cc_executor::plan::Predictor::new(Some(&*store), config.clone());
    let tiny = p.predict(Category::General, Complexity::Trivial).await;
    assert_eq!(
        (
            tiny.based_on,
            tiny.predicted_secs,
            tiny.suggested_timeout_secs
        ),
        (BasedOn::History, 2, 60)
    );
    let huge = p.predict(Category::Ops, Complexity::Extreme).await;
    assert_eq!(huge.suggested_timeout_secs, 3600, "{backend}");
    assert!(huge.notes.iter().any(|n| n.contains("ceiling")));
    let custom = cc_executor::plan::Predictor::new(
        Some(&*store),
        PredictorConfig {
            floor_secs: 10,
            ceiling_secs: 7200,
            safety_margin: 2.0,
            ..config
        },
    );
    assert_eq!(
        custom
            .predict(Category::General, Complexity::Trivial)
            .await
            .suggested_timeout_secs,
        10
    );
    assert_eq!(
        custom
            .predict(Category::Ops, Complexity::Extreme)
            .await
            .suggested_timeout_secs,
        7200
    );

    // The planner uses the store for whole lists too.
    let planner = Planner::new(Some(&*store), PlanConfig::default());
    let r = planner
        .validate(&json!(["What is the capital of France?"]))
        .await;
    assert_eq!(
        r.tasks[0].based_on,
        BasedOn::History,
        "{backend}: {:?}",
        r.tasks[0]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn predictor_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("history.sqlite3")).unwrap();
    predictor_switches_with_history(Arc::new(store), "sqlite").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn predictor_on_redis() {
    let dir = tempfile::tempdir().unwrap();
    let server = RedisServer::start();
    let store = RedisStore::open(
        &server.url(),
        "cc_plan_test",
        30,
        dir.path().join("outbox.sqlite3"),
    )
    .await
    .unwrap();
    predictor_switches_with_history(Arc::new(store), "redis").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_store_falls_back_to_defaults_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = RedisServer::start();
    let store = RedisStore::open(
        &server.url(),
        "cc_plan_down",
        30,
        dir.path().join("outbox.sqlite3"),
    )
    .await
    .unwrap();
    server.stop();
    let p = cc_executor::plan::Predictor::new(Some(&store), PredictorConfig::default());
    let prediction = p.predict(Category::Code, Complexity::Low).await;
    assert_eq!(prediction.based_on, BasedOn::Default);
    assert_eq!(prediction.suggested_timeout_secs, 180);
    assert!(!prediction.notes.is_empty(), "{prediction:?}");
}
