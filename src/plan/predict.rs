//! The duration predictor: how long a task of this category and complexity is likely to take,
//! and the timeout to give it.
//!
//! One ladder, first rung that applies:
//!
//! 1. **history** — at least [`PredictorConfig::min_samples`] recorded executions of the same
//!    category+complexity: the [`PredictorConfig::percentile`] (p95) of the most recent
//!    [`PredictorConfig::window`] of them. A high percentile, not the mean: a timeout must cover
//!    the slow runs, and the mean of a long-tailed distribution kills about a third of them.
//!    Recent only, because durations drift (models, repositories and machines change).
//!    Confidence `n / (n + 5)`, at most 0.95: 0.5 at 5 samples, 0.9 at 45.
//! 2. **similar** — fewer samples: pool the few exact ones with the same category at the
//!    neighbouring complexities (scaled by the ratio of their default durations, because the
//!    complexity band is what drives duration most) and, if that is still fewer than
//!    `min_samples`, the same complexity in other categories (unscaled: at equal complexity,
//!    categories differ much less than complexities do). The pooled percentile is then shrunk
//!    toward the default in log space with weight `n / (n + min_samples)` — a handful of
//!    borrowed samples should move the default, not replace it. Confidence at most 0.5.
//! 3. **default** — nothing recorded: the calibrated [`DEFAULT_DURATIONS`] of the complexity.
//!    Confidence 0.1.
//!
//! `suggested_timeout = ceil(predicted × safety_margin)`, clamped to
//! [`floor_secs`, `ceiling_secs`].
//!
//! Fixes over the predecessor (see `docs/predecessor.md`, "Timeouts"): it called a percentile "avg_time",
//! used only successful runs, required 3 samples for `max × 2`, and multiplied unknown prompts
//! to a 10-minute minimum. Here the statistic is named, the window is bounded, and every
//! answer says what it was based on.
//!
//! The store reports durations of every recorded execution, failures included. A timed-out
//! run counts with its timeout (a lower bound of what it needed), which pushes the percentile
//! up — the safe direction for a timeout.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::classify::{Category, Classification, Complexity};
use crate::store::{HistoryStore, percentile};

/// How predictions become timeouts. Every field has a default; see each for why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PredictorConfig {
    /// Timeout = predicted (p95) × this. Default 1.5: the percentile already leaves one run in
    /// twenty above it; the margin covers drift and runs a little past it. In the calibration
    /// replay (`cargo bench --bench calibration`) p95 × 1.5 kills 2.2 % of the runs that
    /// finished within the ceiling (p90 × 1.5: 5.0 %; p90 × 2: 3.0 %) at a median
    /// over-allocation of about 5×. Over-allocation only costs when a task hangs; an early
    /// kill always costs the whole run. Values below 1 are treated as 1.
    pub safety_margin: f64,
    /// Smallest suggested timeout, seconds. Default 60: starting Claude Code alone takes 4–60 s
    /// on a loaded machine (the predecessor's lesson 7); a shorter timeout kills healthy runs.
    pub floor_secs: u64,
    /// Largest suggested timeout, seconds. Default 3600: a task predicted to need more than an
    /// hour should be split (a fresh process per step is the point of this tool), and a lower
    /// ceiling bounds what a wrong prediction can waste. The executor's own `max_timeout_secs`
    /// still applies ([`super::PlanConfig::from_config`] takes the smaller).
    pub ceiling_secs: u64,
    /// Exact samples needed before history alone is trusted. Default 5: with fewer, any high
    /// percentile is just the maximum of a handful of runs.
    pub min_samples: usize,
    /// Most recent executions considered per category+complexity. Default 50: enough for a
    /// stable p95 (the third-largest of 50), recent enough to follow drift.
    pub window: usize,
    /// The percentile predicted, 0–1. Default 0.95 (see `safety_margin` for the numbers).
    pub percentile: f64,
}

impl Default for PredictorConfig {
    fn default() -> Self {
        PredictorConfig {
            safety_margin: 1.5,
            floor_secs: 60,
            ceiling_secs: 3600,
            min_samples: 5,
            window: 50,
            percentile: 0.95,
        }
    }
}

impl PredictorConfig {
    /// The same settings made consistent: margin ≥ 1, floor ≤ ceiling, `min_samples` ≥ 1,
    /// `window` ≥ `min_samples`, percentile in (0, 1]. Nonsense values never panic; they are
    /// bent to the nearest sensible one.
    pub fn normalized(&self) -> PredictorConfig {
        let margin = if self.safety_margin.is_finite() {
            self.safety_margin.clamp(1.0, 100.0)
        } else {
            1.0
        };
        let percentile = if self.percentile.is_finite() && self.percentile > 0.0 {
            self.percentile.min(1.0)
        } else {
            0.95
        };
        let min_samples = self.min_samples.max(1);
        PredictorConfig {
            safety_margin: margin,
            floor_secs: self.floor_secs.min(self.ceiling_secs).max(1),
            ceiling_secs: self.ceiling_secs.max(self.floor_secs).max(1),
            min_samples,
            window: self.window.max(min_samples),
            percentile,
        }
    }
}

/// Durations assumed when nothing is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultDuration {
    pub complexity: Complexity,
    /// Typical run, seconds.
    pub median_secs: u64,
    /// The high percentile the prediction stands for, seconds.
    pub predicted_secs: u64,
}

/// The defaults per complexity. Calibrated so that, with the default margin and floor, the
/// timeouts are the predecessor's field-tested ones (its ×3-baseline `max_time`: low 180 s,
/// medium 540 s; `complex` 1800 s for high) and the medians match typical Claude Code runs (a
/// lookup ~10 s including start-up; a multi-file change minutes). Trivial: 30 s → 60 s
/// (floor); extreme: 2400 s → 3600 s (ceiling).
pub const DEFAULT_DURATIONS: [DefaultDuration; 5] = [
    DefaultDuration {
        complexity: Complexity::Trivial,
        median_secs: 10,
        predicted_secs: 30,
    },
    DefaultDuration {
        complexity: Complexity::Low,
        median_secs: 40,
        predicted_secs: 120,
    },
    DefaultDuration {
        complexity: Complexity::Medium,
        median_secs: 120,
        predicted_secs: 360,
    },
    DefaultDuration {
        complexity: Complexity::High,
        median_secs: 420,
        predicted_secs: 1200,
    },
    DefaultDuration {
        complexity: Complexity::Extreme,
        median_secs: 1200,
        predicted_secs: 2400,
    },
];

/// The default of one complexity.
pub fn default_duration(complexity: Complexity) -> DefaultDuration {
    DEFAULT_DURATIONS[complexity.rank()]
}

/// What a prediction was based on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BasedOn {
    /// Enough executions of the same category and complexity.
    History,
    /// A few exact executions pooled with neighbouring classes, shrunk toward the default.
    Similar,
    /// Nothing recorded: the calibrated defaults.
    Default,
}

impl BasedOn {
    /// The spelling used in JSON and in text (`history`, `similar`, `default`).
    pub fn as_str(self) -> &'static str {
        match self {
            BasedOn::History => "history",
            BasedOn::Similar => "similar",
            BasedOn::Default => "default",
        }
    }
}

impl std::fmt::Display for BasedOn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A predicted duration and the timeout to use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Prediction {
    pub category: Category,
    pub complexity: Complexity,
    pub based_on: BasedOn,
    /// Executions the prediction used (exact ones for `history`, pooled for `similar`).
    pub sample_size: usize,
    /// 0–1: how much to trust the prediction (grows with the sample size).
    pub confidence: f64,
    /// The high percentile (p95 by default) of the duration, seconds.
    pub predicted_secs: u64,
    /// The typical (median) duration, seconds.
    pub median_secs: u64,
    /// `predicted_secs × safety_margin`, clamped to the floor and ceiling.
    pub suggested_timeout_secs: u64,
    /// How the numbers were obtained, for people.
    pub explanation: String,
    /// Anything unusual: the store could not be read, the timeout hit the ceiling.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

type Samples = Result<Arc<Vec<u64>>, String>;

/// Predicts durations from a history store (or from defaults when there is none).
///
/// Store reads are cached per category+complexity for the predictor's lifetime: validating a
/// list of 10 000 tasks costs at most one read per class (55), and every task of a list is
/// judged against the same snapshot. Create one per request.
pub struct Predictor<'a> {
    store: Option<&'a dyn HistoryStore>,
    config: PredictorConfig,
    cache: Mutex<HashMap<(Category, Complexity), Samples>>,
    predictions: Mutex<HashMap<(Category, Complexity), Prediction>>,
}

impl<'a> Predictor<'a> {
    /// `store: None` predicts from the defaults only.
    pub fn new(store: Option<&'a dyn HistoryStore>, config: PredictorConfig) -> Self {
        Predictor {
            store,
            config: config.normalized(),
            cache: Mutex::new(HashMap::new()),
            predictions: Mutex::new(HashMap::new()),
        }
    }

    /// The (normalized) configuration in use.
    pub fn config(&self) -> &PredictorConfig {
        &self.config
    }

    /// Recent durations (ms) of a class, newest first; cached.
    async fn samples(&self, category: Category, complexity: Complexity) -> Samples {
        let key = (category, complexity);
        if let Some(hit) = self.cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return hit;
        }
        let fetched = match self.store {
            None => Ok(Arc::new(Vec::new())),
            Some(store) => store
                .recent_durations(category.as_str(), complexity.as_str(), self.config.window)
                .await
                .map(Arc::new)
                .map_err(|e| e.to_string()),
        };
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, fetched.clone());
        }
        fetched
    }

    /// Predicts the duration of a classified task.
    pub async fn predict_for(&self, classification: &Classification) -> Prediction {
        self.predict(classification.category, classification.complexity)
            .await
    }

    /// Predicts the duration of a task of this category and complexity (computed once per
    /// class for the predictor's lifetime).
    pub async fn predict(&self, category: Category, complexity: Complexity) -> Prediction {
        let key = (category, complexity);
        if let Some(hit) = self
            .predictions
            .lock()
            .ok()
            .and_then(|c| c.get(&key).cloned())
        {
            return hit;
        }
        let prediction = self.compute(category, complexity).await;
        if let Ok(mut cache) = self.predictions.lock() {
            cache.insert(key, prediction.clone());
        }
        prediction
    }

    async fn compute(&self, category: Category, complexity: Complexity) -> Prediction {
        let cfg = &self.config;
        let mut notes = Vec::new();
        let default = default_duration(complexity);

        let exact = match self.samples(category, complexity).await {
            Ok(s) => s,
            Err(e) => {
                notes.push(format!(
                    "the history store could not be read ({e}); using defaults"
                ));
                return self.finish_default(category, complexity, notes);
            }
        };

        if exact.len() >= cfg.min_samples {
            let mut sorted = exact.to_vec();
            sorted.sort_unstable();
            let n = sorted.len();
            let p = percentile(&sorted, cfg.percentile);
            let median = percentile(&sorted, 0.5);
            let explanation = format!(
                "p{} of the {n} most recent {category}/{complexity} executions",
                pct(cfg.percentile)
            );
            return self.finish(
                category,
                complexity,
                BasedOn::History,
                n,
                (n as f64 / (n as f64 + 5.0)).min(0.95),
                p,
                median,
                explanation,
                notes,
            );
        }

        // Similar: exact few + same category at neighbouring complexities (scaled) + same
        // complexity in other categories (only if still short).
        let mut pool: Vec<u64> = exact.to_vec();
        let mut sources = Vec::new();
        if !exact.is_empty() {
            sources.push(format!("{} exact", exact.len()));
        }
        let rank = complexity.rank();
        let neighbours = [rank.checked_sub(1), Some(rank + 1)];
        for r in neighbours.into_iter().flatten() {
            let Some(&other) = Complexity::ALL.get(r) else {
                continue;
            };
            match self.samples(category, other).await {
                Ok(s) if !s.is_empty() => {
                    let scale = default.predicted_secs as f64
                        / default_duration(other).predicted_secs as f64;
                    pool.extend(s.iter().map(|d| (*d as f64 * scale).round() as u64));
                    sources.push(format!(
                        "{} {category}/{other} (scaled ×{scale:.2})",
                        s.len()
                    ));
                }
                Ok(_) => {}
                Err(e) => notes.push(format!("history for {category}/{other} unreadable: {e}")),
            }
        }
        if pool.len() < cfg.min_samples {
            for other in Category::ALL {
                if other == category {
                    continue;
                }
                match self.samples(other, complexity).await {
                    Ok(s) if !s.is_empty() => {
                        pool.extend(s.iter().copied());
                        sources.push(format!("{} {other}/{complexity}", s.len()));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        notes.push(format!("history for {other}/{complexity} unreadable: {e}"))
                    }
                }
            }
        }
        if pool.is_empty() {
            return self.finish_default(category, complexity, notes);
        }

        pool.sort_unstable();
        let n = pool.len();
        let w = n as f64 / (n as f64 + cfg.min_samples as f64);
        let blend = |pooled_ms: u64, default_secs: u64| -> u64 {
            let pooled = (pooled_ms.max(1)) as f64;
            let def = (default_secs.max(1) * 1000) as f64;
            (w * pooled.ln() + (1.0 - w) * def.ln()).exp().round() as u64
        };
        let p = blend(percentile(&pool, cfg.percentile), default.predicted_secs);
        let median = blend(percentile(&pool, 0.5), default.median_secs);
        let explanation = format!(
            "p{} of {n} similar executions ({}), weighted {:.0} % against the {complexity} default of {} s",
            pct(cfg.percentile),
            sources.join(", "),
            w * 100.0,
            default.predicted_secs
        );
        self.finish(
            category,
            complexity,
            BasedOn::Similar,
            n,
            0.5 * w,
            p,
            median,
            explanation,
            notes,
        )
    }

    fn finish_default(
        &self,
        category: Category,
        complexity: Complexity,
        notes: Vec<String>,
    ) -> Prediction {
        let d = default_duration(complexity);
        self.finish(
            category,
            complexity,
            BasedOn::Default,
            0,
            0.1,
            d.predicted_secs * 1000,
            d.median_secs * 1000,
            format!("no recorded executions like this one: the default for {complexity} tasks"),
            notes,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        category: Category,
        complexity: Complexity,
        based_on: BasedOn,
        sample_size: usize,
        confidence: f64,
        predicted_ms: u64,
        median_ms: u64,
        explanation: String,
        mut notes: Vec<String>,
    ) -> Prediction {
        let cfg = &self.config;
        let predicted_secs = predicted_ms.div_ceil(1000).max(1);
        let median_secs = median_ms.div_ceil(1000).clamp(1, predicted_secs);
        let raw = (predicted_secs as f64 * cfg.safety_margin).ceil();
        let suggested = if raw >= cfg.ceiling_secs as f64 {
            if raw > cfg.ceiling_secs as f64 {
                notes.push(format!(
                    "{predicted_secs} s × {} = {raw} s is above the ceiling of {} s: the timeout is capped; consider splitting the task",
                    cfg.safety_margin, cfg.ceiling_secs
                ));
            }
            cfg.ceiling_secs
        } else {
            (raw as u64).max(cfg.floor_secs)
        };
        Prediction {
            category,
            complexity,
            based_on,
            sample_size,
            confidence: (confidence * 100.0).round() / 100.0,
            predicted_secs,
            median_secs,
            suggested_timeout_secs: suggested,
            explanation: format!(
                "{explanation}: {predicted_secs} s; timeout {predicted_secs} s × {} = {suggested} s (floor {} s, ceiling {} s)",
                cfg.safety_margin, cfg.floor_secs, cfg.ceiling_secs
            ),
            notes,
        }
    }
}

fn pct(p: f64) -> u32 {
    (p * 100.0).round() as u32
}

/// One-shot prediction (no cache shared with other calls).
pub async fn predict_duration(
    store: &dyn HistoryStore,
    config: &PredictorConfig,
    classification: &Classification,
) -> Prediction {
    Predictor::new(Some(store), config.clone())
        .predict_for(classification)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_names_are_the_json_names() {
        use crate::plan::complexity::Method;
        use crate::plan::validate::RiskLevel;
        for b in [BasedOn::History, BasedOn::Similar, BasedOn::Default] {
            assert_eq!(serde_json::to_value(b).unwrap(), b.to_string());
        }
        for m in [Method::CcExecute, Method::Direct] {
            assert_eq!(serde_json::to_value(m).unwrap(), m.to_string());
        }
        for r in [RiskLevel::Low, RiskLevel::Medium, RiskLevel::High] {
            assert_eq!(serde_json::to_value(r).unwrap(), r.to_string());
        }
    }

    #[tokio::test]
    async fn defaults_without_a_store() {
        let p = Predictor::new(None, PredictorConfig::default());
        let low = p.predict(Category::Code, Complexity::Low).await;
        assert_eq!(low.based_on, BasedOn::Default);
        assert_eq!(low.predicted_secs, 120);
        assert_eq!(low.suggested_timeout_secs, 180);
        let trivial = p.predict(Category::General, Complexity::Trivial).await;
        assert_eq!(trivial.suggested_timeout_secs, 60, "floor");
        let extreme = p.predict(Category::Code, Complexity::Extreme).await;
        assert_eq!(extreme.suggested_timeout_secs, 3600, "ceiling");
        let wide = Predictor::new(
            None,
            PredictorConfig {
                safety_margin: 2.0,
                ..Default::default()
            },
        );
        let capped = wide.predict(Category::Code, Complexity::Extreme).await;
        assert_eq!(capped.suggested_timeout_secs, 3600);
        assert!(capped.notes[0].contains("ceiling"), "{:?}", capped.notes);
    }

    #[test]
    fn nonsense_config_is_bent_not_fatal() {
        let c = PredictorConfig {
            safety_margin: f64::NAN,
            floor_secs: 500,
            ceiling_secs: 10,
            min_samples: 0,
            window: 0,
            percentile: -3.0,
        }
        .normalized();
        assert_eq!(c.safety_margin, 1.0);
        assert!(c.floor_secs <= c.ceiling_secs);
        assert_eq!(c.min_samples, 1);
        assert!(c.window >= 1);
        assert_eq!(c.percentile, 0.95);
    }

    #[test]
    fn defaults_are_increasing() {
        for w in DEFAULT_DURATIONS.windows(2) {
            assert!(w[0].predicted_secs < w[1].predicted_secs);
            assert!(w[0].median_secs < w[1].median_secs);
        }
        for (i, d) in DEFAULT_DURATIONS.iter().enumerate() {
            assert_eq!(d.complexity.rank(), i);
        }
    }
}
