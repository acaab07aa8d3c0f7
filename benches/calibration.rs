//! Calibration replay of the duration predictor (`cc_executor::plan::predict`).
//!
//! Generates a realistic, deterministic history (seeded): eleven categories × five
//! complexities with realistic frequencies; log-normal durations whose median depends on the
//! complexity, the category and a per-class factor no default can know, with a per-class
//! spread (σ 0.45–0.8); 15 % of tasks labelled one complexity off (the classifier is not
//! perfect); 2 % outliers (3–6×); 5 % early crashes (5–30 s, recorded like every execution);
//! and a drift of +50 % over the period (repositories grow, models change).
//!
//! The first 70 % (by time) goes into a real embedded store (`SqliteStore`, `record_batch`).
//! Then every later task is predicted and scored — would its suggested timeout have killed it
//! (actual > timeout), and by how much did it over-allocate (timeout / actual)? Crashed runs
//! are recorded but not scored (they end on their own).
//!
//! Compared: defaults only (a fresh install); history frozen at the split; history replayed
//! (each finished task recorded, as in production) at safety margins 1.25 / 1.5 / 2.0; and the
//! predecessor's rule (max of the last 10 successes × 2 with ≥ 3 samples, else its ×3-baseline
//! defaults), for reference.
//!
//! Run: `cargo bench --bench calibration`. Prints markdown; asserts nothing.

use std::collections::HashMap;
use std::time::Instant;

use cc_executor::plan::{BasedOn, Category, Complexity, Predictor, PredictorConfig};
use cc_executor::store::sqlite::SqliteStore;
use cc_executor::store::{ExecutionRecord, RecordStore};
use cc_executor::{ExecutionResult, Status};
use chrono::Utc;

const TOTAL: usize = 12_000;
const SPLIT: f64 = 0.7;
const SEED: u64 = 0x5eed_cafe;
/// Finished tasks recorded together during the replay (a busy orchestrator's minute).
const REPLAY_BATCH: usize = 10;
/// Executions in the "young store" scenario: about 3 per class, most classes below
/// `min_samples`, so the `similar` rung does the work at first.
const SPARSE: usize = 150;

const CATEGORY_WEIGHTS: [(Category, f64, f64); 11] = [
    // (category, frequency, duration factor)
    (Category::Code, 25.0, 1.0),
    (Category::Refactor, 10.0, 1.2),
    (Category::Test, 12.0, 1.0),
    (Category::Debug, 12.0, 1.3),
    (Category::Review, 6.0, 0.8),
    (Category::Docs, 10.0, 0.7),
    (Category::Research, 5.0, 1.3),
    (Category::Data, 6.0, 1.1),
    (Category::Architecture, 3.0, 1.4),
    (Category::Ops, 5.0, 1.1),
    (Category::General, 6.0, 0.6),
];
const COMPLEXITY_WEIGHTS: [(Complexity, f64, f64); 5] = [
    // (complexity, frequency, median seconds)
    (Complexity::Trivial, 15.0, 12.0),
    (Complexity::Low, 30.0, 45.0),
    (Complexity::Medium, 30.0, 140.0),
    (Complexity::High, 18.0, 450.0),
    (Complexity::Extreme, 7.0, 1100.0),
];

#[derive(Clone)]
struct Task {
    category: Category,
    /// What the classifier said (what is recorded and predicted).
    complexity: Complexity,
    actual_ms: u64,
    crashed: bool,
    minute: i64,
}

fn pick<T: Copy>(rng: &mut fastrand::Rng, table: &[(T, f64, f64)]) -> (T, f64) {
    let total: f64 = table.iter().map(|t| t.1).sum();
    let mut x = rng.f64() * total;
    for &(v, w, f) in table {
        if x < w {
            return (v, f);
        }
        x -= w;
    }
    let last = table[table.len() - 1];
    (last.0, last.2)
}

fn normal(rng: &mut fastrand::Rng) -> f64 {
    // Box–Muller.
    let u1 = rng.f64().max(1e-12);
    let u2 = rng.f64();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn generate() -> Vec<Task> {
    let mut rng = fastrand::Rng::with_seed(SEED);
    // Per class: a factor the defaults cannot know, and a spread.
    let mut class: HashMap<(Category, Complexity), (f64, f64)> = HashMap::new();
    for (c, _, _) in CATEGORY_WEIGHTS {
        for (x, _, _) in COMPLEXITY_WEIGHTS {
            let factor = (0.35 * normal(&mut rng)).exp();
            let sigma = 0.45 + 0.35 * rng.f64();
            class.insert((c, x), (factor, sigma));
        }
    }
    (0..TOTAL)
        .map(|i| {
            let t = i as f64 / TOTAL as f64;
            let (category, cat_factor) = pick(&mut rng, &CATEGORY_WEIGHTS);
            let (label, _) = pick(&mut rng, &COMPLEXITY_WEIGHTS);
            // 15 % mislabelled by one level.
            let mut true_rank = label.rank() as i64;
            if rng.f64() < 0.15 {
                true_rank += if rng.bool() { 1 } else { -1 };
            }
            let true_rank = true_rank.clamp(0, 4) as usize;
            let truth = Complexity::ALL[true_rank];
            let median = COMPLEXITY_WEIGHTS[true_rank].2;
            let (factor, sigma) = class[&(category, truth)];
            let mut secs = median * cat_factor * factor * (sigma * normal(&mut rng)).exp();
            secs *= 1.0 + 0.5 * t; // drift
            if rng.f64() < 0.02 {
                secs *= 3.0 + 3.0 * rng.f64();
            }
            let crashed = rng.f64() < 0.05;
            if crashed {
                secs = 5.0 + 25.0 * rng.f64();
            }
            Task {
                category,
                complexity: label,
                actual_ms: (secs.max(2.0) * 1000.0) as u64,
                crashed,
                minute: i as i64 * 5,
            }
        })
        .collect()
}

fn to_record(t: &Task) -> ExecutionRecord {
    let status = if t.crashed {
        Status::Crashed
    } else {
        Status::Succeeded
    };
    let mut r = ExecutionResult::empty(uuid::Uuid::new_v4(), status, vec![]);
    let finished = (Utc::now() - chrono::Duration::days(7)) + chrono::Duration::minutes(t.minute);
    r.duration_ms = t.actual_ms;
    r.started_at = finished - chrono::Duration::milliseconds(t.actual_ms as i64);
    r.finished_at = finished;
    ExecutionRecord::new(
        "synthetic task",
        "/repo",
        Some(t.category.as_str().into()),
        Some(t.complexity.as_str().into()),
        r.started_at,
        r,
    )
}

#[derive(Default)]
struct Score {
    killed: usize,
    /// Killed although they finished within the ceiling (the predictor's own misses).
    killed_within: usize,
    ratios: Vec<f64>,
    based_on: HashMap<&'static str, usize>,
}

impl Score {
    fn add(&mut self, task: &Task, timeout_secs: u64, based_on: &'static str) {
        if task.crashed {
            return;
        }
        let actual = task.actual_ms as f64 / 1000.0;
        if actual > timeout_secs as f64 {
            self.killed += 1;
            if actual <= PredictorConfig::default().ceiling_secs as f64 {
                self.killed_within += 1;
            }
        }
        self.ratios.push(timeout_secs as f64 / actual);
        *self.based_on.entry(based_on).or_default() += 1;
    }

    fn row(&mut self, name: &str) -> String {
        self.ratios.sort_by(f64::total_cmp);
        let n = self.ratios.len().max(1);
        let q = |p: f64| self.ratios[((p * n as f64) as usize).min(n - 1)];
        let mut mix: Vec<_> = self.based_on.iter().collect();
        mix.sort();
        let mix: Vec<String> = mix
            .iter()
            .map(|(k, v)| format!("{k} {:.0} %", **v as f64 * 100.0 / n as f64))
            .collect();
        format!(
            "| {name} | {:.1} % | {:.1} % | {:.2}× | {:.2}× | {} |",
            self.killed as f64 * 100.0 / n as f64,
            self.killed_within as f64 * 100.0 / n as f64,
            q(0.5),
            q(0.9),
            mix.join(", ")
        )
    }
}

fn label(b: BasedOn) -> &'static str {
    match b {
        BasedOn::History => "history",
        BasedOn::Similar => "similar",
        BasedOn::Default => "default",
    }
}

/// The predecessor's rule (`docs/predecessor.md`, "Timeouts"): with ≥ 3 recorded successes, `max × 2` of the last
/// ten; else its ×3-baseline default `max_time`.
fn predecessor_timeout(history: Option<&Vec<u64>>, complexity: Complexity) -> u64 {
    match history {
        Some(h) if h.len() >= 3 => {
            let last10 = &h[h.len().saturating_sub(10)..];
            (last10.iter().max().copied().unwrap_or(0) as f64 / 1000.0 * 2.0).ceil() as u64
        }
        _ => match complexity {
            Complexity::Trivial => 45,
            Complexity::Low => 180,
            Complexity::Medium => 540,
            Complexity::High => 1080,
            Complexity::Extreme => 2700,
        },
    }
}

#[tokio::main]
async fn main() {
    let t0 = Instant::now();
    let tasks = generate();
    let split = (TOTAL as f64 * SPLIT) as usize;
    let (train, test) = tasks.split_at(split);
    let scored = test.iter().filter(|t| !t.crashed).count();
    let beyond_ceiling = test
        .iter()
        .filter(|t| !t.crashed && t.actual_ms > PredictorConfig::default().ceiling_secs * 1000)
        .count();

    let dir = tempfile::tempdir().expect("tempdir");
    let frozen = SqliteStore::open(&dir.path().join("frozen.sqlite3")).expect("open store");
    let replay = SqliteStore::open(&dir.path().join("replay.sqlite3")).expect("open store");
    let sparse = SqliteStore::open(&dir.path().join("sparse.sqlite3")).expect("open store");
    let sparse_seed: Vec<ExecutionRecord> = train[train.len() - SPARSE..]
        .iter()
        .map(to_record)
        .collect();
    sparse.record_batch(&sparse_seed).await.expect("seed");
    let train_records: Vec<ExecutionRecord> = train.iter().map(to_record).collect();
    for chunk in train_records.chunks(2000) {
        frozen.record_batch(chunk).await.expect("seed");
        replay.record_batch(chunk).await.expect("seed");
    }

    let base = PredictorConfig::default();
    let mut rows = Vec::new();

    // Defaults only.
    let mut s = Score::default();
    let p = Predictor::new(None, base.clone());
    for t in test {
        let pr = p.predict(t.category, t.complexity).await;
        s.add(t, pr.suggested_timeout_secs, label(pr.based_on));
    }
    rows.push(s.row("defaults only (fresh install)"));

    // History frozen at the split.
    let mut s = Score::default();
    let p = Predictor::new(Some(&frozen), base.clone());
    for t in test {
        let pr = p.predict(t.category, t.complexity).await;
        s.add(t, pr.suggested_timeout_secs, label(pr.based_on));
    }
    rows.push(s.row("history frozen at the split"));

    // History replayed: every finished task is recorded. One replay, several percentiles and
    // margins (they do not change what is recorded).
    let variants = [
        (0.9, 1.25),
        (0.9, 1.5),
        (0.9, 2.0),
        (0.95, 1.25),
        (0.95, 1.5),
        (0.95, 2.0),
    ];
    let mut scores: Vec<Score> = variants.iter().map(|_| Score::default()).collect();
    let mut pending = Vec::new();
    for t in test {
        for ((pct, margin), score) in variants.iter().zip(&mut scores) {
            let cfg = PredictorConfig {
                percentile: *pct,
                safety_margin: *margin,
                ..base.clone()
            };
            let pr = Predictor::new(Some(&replay), cfg)
                .predict(t.category, t.complexity)
                .await;
            score.add(t, pr.suggested_timeout_secs, label(pr.based_on));
        }
        pending.push(to_record(t));
        if pending.len() == REPLAY_BATCH {
            replay.record_batch(&pending).await.expect("record");
            pending.clear();
        }
    }
    for ((pct, margin), mut score) in variants.iter().zip(scores) {
        rows.push(score.row(&format!("history replayed, p{:.0} ×{margin}", pct * 100.0)));
    }

    // A young store: replayed from a sparse start, default margins.
    let mut s = Score::default();
    let mut pending = Vec::new();
    for t in test.iter().take(600) {
        let pr = Predictor::new(Some(&sparse), base.clone())
            .predict(t.category, t.complexity)
            .await;
        s.add(t, pr.suggested_timeout_secs, label(pr.based_on));
        pending.push(to_record(t));
        if pending.len() == REPLAY_BATCH {
            sparse.record_batch(&pending).await.expect("record");
            pending.clear();
        }
    }
    rows.push(s.row(&format!(
        "young store ({SPARSE} executions), first 600 replayed"
    )));

    // The predecessor's rule, replayed in memory (it recorded successes only).
    let mut s = Score::default();
    let mut successes: HashMap<(Category, Complexity), Vec<u64>> = HashMap::new();
    for t in train.iter().filter(|t| !t.crashed) {
        successes
            .entry((t.category, t.complexity))
            .or_default()
            .push(t.actual_ms);
    }
    for t in test {
        let key = (t.category, t.complexity);
        let timeout = predecessor_timeout(successes.get(&key), t.complexity);
        s.add(t, timeout, "—");
        if !t.crashed {
            successes.entry(key).or_default().push(t.actual_ms);
        }
    }
    rows.push(s.row("predecessor: max of last 10 × 2, else ×3 defaults (no ceiling)"));

    println!(
        "## Timeout calibration replay\n\n{TOTAL} synthetic executions (seed {SEED:#x}), first {:.0} % as history, {} later ones scored ({} crashes recorded, not scored). Floor {} s, ceiling {} s, window {}; rows without a percentile use the defaults (p{:.0} × {}).\n",
        SPLIT * 100.0,
        scored,
        test.len() - scored,
        base.floor_secs,
        base.ceiling_secs,
        base.window,
        base.percentile * 100.0,
        base.safety_margin
    );
    println!(
        "{beyond_ceiling} scored tasks ({:.1} %) ran longer than the ceiling: any strategy with the ceiling kills them.\n",
        beyond_ceiling as f64 * 100.0 / scored as f64
    );
    println!(
        "| strategy | killed too early | of them within the ceiling | median timeout / actual | p90 timeout / actual | based on |"
    );
    println!("|---|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
    println!("\n(ran in {:.1} s)", t0.elapsed().as_secs_f64());
}
