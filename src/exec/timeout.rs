//! Which timeout a task runs with, and why.
//!
//! The rule, in order:
//! 1. **explicit** — the task's own `timeout_secs` always wins.
//! 2. **default** — otherwise the configured `default_timeout_secs`. It is a floor: nothing
//!    learned ever makes a task's time shorter, because a history of quick runs says nothing
//!    about the next task of the same class (a classifier puts "parse CSV files into dicts" and
//!    "what is 2 + 2" side by side), and being killed halfway costs the whole run.
//! 3. **learned** — with `learned_timeouts` on, the history may *raise* it: when at least the
//!    predictor's minimum of recorded runs of the task's own class (category + complexity)
//!    have a p95 × margin above the default, that is the timeout — the class is known to run
//!    long. Borrowed or calibrated estimates (`similar`, `default` predictions) never raise
//!    it: they are not evidence about this class. Capped by `max_timeout_secs`.
//!
//! Every result and every submission carries the [`TimeoutBasis`], so a kill is never a
//! mystery: the caller sees which rule applied and on what evidence.

use std::time::Duration;

use crate::config::Config;
use crate::plan::predict::{BasedOn, Prediction};

pub use crate::types::timeout::{TimeoutBasis, TimeoutKind};

impl TimeoutBasis {
    /// The configured default, with no history consulted (defined here, not with the type in
    /// [`crate::types`]: it reads the configuration).
    pub fn default_timeout(config: &Config) -> Self {
        TimeoutBasis {
            kind: TimeoutKind::Default,
            category: None,
            complexity: None,
            samples: None,
            p95_secs: None,
            detail: format!(
                "{} s: default_timeout_secs{}",
                config.default_timeout.as_secs(),
                if config.learned_timeouts {
                    ""
                } else {
                    " (learned_timeouts is off)"
                }
            ),
        }
    }
}

/// The timeout of a task that names none, given the prediction for its class (see the module
/// docs for the rule).
pub fn from_prediction(config: &Config, p: &Prediction) -> (Duration, TimeoutBasis) {
    let default = config.default_timeout.as_secs();
    let class = format!("{}/{}", p.category, p.complexity);
    let mut basis = TimeoutBasis {
        kind: TimeoutKind::Default,
        category: Some(p.category.as_str().to_string()),
        complexity: Some(p.complexity.as_str().to_string()),
        samples: None,
        p95_secs: None,
        detail: String::new(),
    };
    if p.based_on != BasedOn::History {
        basis.detail = format!(
            "{default} s: default_timeout_secs (too few recorded {class} runs to learn from)"
        );
        return (config.default_timeout, basis);
    }
    basis.samples = Some(p.sample_size);
    basis.p95_secs = Some(p.predicted_secs);
    let learned = p.suggested_timeout_secs.min(config.max_timeout.as_secs());
    if learned <= default {
        basis.detail = format!(
            "{default} s: default_timeout_secs (the {} recent {class} runs, p95 {} s, need no more; history only ever raises it)",
            p.sample_size, p.predicted_secs
        );
        return (config.default_timeout, basis);
    }
    basis.kind = TimeoutKind::Learned;
    basis.detail = format!(
        "{learned} s: learned — p95 of the {} recent {class} runs is {} s, with margin {learned} s, above default_timeout_secs ({default} s)",
        p.sample_size, p.predicted_secs
    );
    (Duration::from_secs(learned), basis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FileConfig, Overrides};
    use crate::plan::{Category, Complexity};

    fn config() -> Config {
        let o = Overrides {
            data_dir: Some("/tmp/x".into()),
            ..Default::default()
        };
        Config::resolve(FileConfig::default(), None, &o).unwrap()
    }

    fn prediction(based_on: BasedOn, n: usize, p95: u64, suggested: u64) -> Prediction {
        Prediction {
            category: Category::Code,
            complexity: Complexity::Low,
            based_on,
            sample_size: n,
            confidence: 0.5,
            predicted_secs: p95,
            median_secs: p95,
            suggested_timeout_secs: suggested,
            explanation: String::new(),
            notes: vec![],
        }
    }

    #[test]
    fn quick_history_never_lowers_the_default() {
        let c = config();
        let (t, b) = from_prediction(&c, &prediction(BasedOn::History, 8, 12, 60));
        assert_eq!(t, Duration::from_secs(600));
        assert_eq!(b.kind, TimeoutKind::Default);
        assert_eq!(
            (b.samples, b.p95_secs),
            (Some(8), Some(12)),
            "the evidence is kept"
        );
    }

    #[test]
    fn only_the_class_own_history_raises_it_and_max_timeout_caps_it() {
        let mut c = config();
        let (t, b) = from_prediction(&c, &prediction(BasedOn::History, 20, 1210, 1815));
        assert_eq!((t.as_secs(), b.kind), (1815, TimeoutKind::Learned));
        assert_eq!(b.samples, Some(20));
        assert_eq!(b.category.as_deref(), Some("code"));
        for weak in [BasedOn::Similar, BasedOn::Default] {
            let (t, b) = from_prediction(&c, &prediction(weak, 3, 1200, 1800));
            assert_eq!(
                (t.as_secs(), b.kind),
                (600, TimeoutKind::Default),
                "{weak:?}"
            );
            assert_eq!(b.samples, None);
        }
        c.max_timeout = Duration::from_secs(1000);
        let (t, _) = from_prediction(&c, &prediction(BasedOn::History, 20, 1210, 1815));
        assert_eq!(t.as_secs(), 1000);
    }

    #[test]
    fn the_basis_is_tagged_by_kind_in_json() {
        let v = serde_json::to_value(TimeoutBasis::explicit(42)).unwrap();
        assert_eq!(v["kind"], "explicit");
        assert!(v.get("samples").is_none());
    }
}
