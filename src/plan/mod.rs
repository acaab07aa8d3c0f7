//! Planning: one estimator used everywhere.
//!
//! - [`classify`](mod@classify): category, complexity and a 1–10 score with the signals behind them —
//!   table-driven, deterministic.
//! - [`predict`]: duration and timeout from the history of similar executions (p95,
//!   sample-size-aware confidence), falling back to calibrated defaults; says what it was
//!   based on.
//! - [`complexity`]: the answer about one task (`get_task_complexity`): classification,
//!   prediction, recommended method, prompt warnings.
//! - [`validate`]: task-list validation (`validate_task_list`): typed errors, warnings,
//!   per-task assessment, total duration, risk.
//! - [`strategy`]: per-task plan, dependency waves, tips and markdown
//!   (`suggest_execution_strategy`).
//! - [`input`]: task-list files (JSON, YAML, markdown) for `plan FILE` / `run-list FILE`.
//!
//! Adapters stay thin: build a [`Planner`] per request (it caches store reads for that
//! request), call one method, serialize the answer. Every input and output type is serde +
//! `JsonSchema`.
//!
//! ```no_run
//! # async fn demo(store: std::sync::Arc<dyn cc_executor::store::HistoryStore>, config: &cc_executor::Config) {
//! use cc_executor::plan::{PlanConfig, Planner};
//! let planner = Planner::new(Some(&*store), PlanConfig::from_config(config));
//! let answer = planner.task_complexity("Refactor src/db.rs to use a connection pool").await;
//! println!("{} s timeout", answer.prediction.suggested_timeout_secs);
//! let report = planner.validate(&serde_json::json!(["Write the parser", "Test task 1"])).await;
//! assert!(report.valid);
//! # }
//! ```
//!
//! The only state is the history store, read through
//! [`crate::store::RecordStore::recent_durations`]; nothing here writes.

pub mod checks;
pub mod classify;
pub mod complexity;
pub mod graph;
pub mod input;
pub mod predict;
pub mod references;
pub mod strategy;
pub mod text;
pub mod validate;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use classify::{Category, Classification, Complexity, Signal, SignalKind, classify};
pub use complexity::{Method, PromptWarning, PromptWarningKind, TaskComplexity};
pub use input::{InputError, InputFormat, TaskFile, parse_task_file, read_task_file};
pub use predict::{BasedOn, Prediction, Predictor, PredictorConfig, predict_duration};
pub use strategy::{ExecutionStrategy, StrategyTask, Wave};
pub use validate::{
    ErrorKind, Risk, RiskLevel, TaskAssessment, TaskInput, TaskItem, TaskObject, ValidationError,
    ValidationReport, ValidationWarning, WarningKind, parse_tasks,
};

use crate::config::Config;
use crate::store::HistoryStore;

/// The prompt token limit assumed without a [`Config`] (the executor's default).
pub const DEFAULT_MAX_PROMPT_TOKENS: usize = 180_000;

/// Settings of the planner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PlanConfig {
    pub predictor: PredictorConfig,
    /// Prompts estimated above this many tokens get a `too_long` warning (the executor
    /// refuses them).
    pub max_prompt_tokens: usize,
    /// Where tasks run by default: the project whose test command a strategy proposes as an
    /// acceptance check.
    pub check_dir: Option<std::path::PathBuf>,
}

impl Default for PlanConfig {
    fn default() -> Self {
        PlanConfig {
            predictor: PredictorConfig::default(),
            max_prompt_tokens: DEFAULT_MAX_PROMPT_TOKENS,
            check_dir: None,
        }
    }
}

impl PlanConfig {
    /// The planner's settings for an executor's configuration: its token limit, and a
    /// timeout ceiling no higher than the executor's `max_timeout` (a suggested timeout the
    /// executor would refuse helps nobody).
    pub fn from_config(config: &Config) -> Self {
        let mut predictor = PredictorConfig::default();
        let max = config.max_timeout.as_secs().max(1);
        predictor.ceiling_secs = predictor.ceiling_secs.min(max);
        predictor.floor_secs = predictor.floor_secs.min(predictor.ceiling_secs);
        PlanConfig {
            predictor,
            max_prompt_tokens: config.max_prompt_tokens,
            check_dir: Some(config.policy.default_cwd.clone()),
        }
    }
}

/// Input of `get_task_complexity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskComplexityRequest {
    /// The task prompt to size up.
    pub task: String,
}

/// Input of `validate_task_list` and `suggest_execution_strategy`.
///
/// `tasks` is kept as JSON so that every malformed item is reported with its position
/// ([`parse_tasks`]) instead of failing the whole call on the first one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskListRequest {
    /// The tasks in order: prompts, or `{"id", "task", "depends_on": [ids that must succeed
    /// first]}` (`id` defaults to the position).
    #[schemars(with = "Vec<TaskInput>")]
    pub tasks: Value,
}

/// The planner for one request: a predictor over the history store plus the settings.
pub struct Planner<'a> {
    predictor: Predictor<'a>,
    max_prompt_tokens: usize,
    check_dir: Option<std::path::PathBuf>,
}

impl<'a> Planner<'a> {
    /// `store: None` plans from the calibrated defaults only.
    pub fn new(store: Option<&'a dyn HistoryStore>, config: PlanConfig) -> Self {
        Planner {
            predictor: Predictor::new(store, config.predictor),
            max_prompt_tokens: config.max_prompt_tokens,
            check_dir: config.check_dir,
        }
    }

    pub fn predictor(&self) -> &Predictor<'a> {
        &self.predictor
    }

    /// `get_task_complexity`.
    pub async fn task_complexity(&self, task: &str) -> TaskComplexity {
        complexity::task_complexity(task, &self.predictor, self.max_prompt_tokens).await
    }

    /// `validate_task_list` on the JSON the tool received.
    pub async fn validate(&self, tasks: &Value) -> ValidationReport {
        validate::validate_value(tasks, &self.predictor, self.max_prompt_tokens).await
    }

    /// Validation of parsed items (a task file).
    pub async fn validate_items(&self, items: &[TaskItem]) -> ValidationReport {
        validate::validate_tasks(items, &self.predictor, self.max_prompt_tokens).await
    }

    /// `suggest_execution_strategy` on the JSON the tool received.
    pub async fn strategy(&self, tasks: &Value) -> ExecutionStrategy {
        let (items, errors) = validate::parse_tasks_lenient(tasks);
        let total = tasks.as_array().map_or(0, Vec::len);
        let dir = self.check_dir.as_deref();
        strategy::build(
            &items,
            errors,
            total,
            &self.predictor,
            self.max_prompt_tokens,
            dir,
        )
        .await
    }

    /// The strategy for parsed items (a task file: `plan FILE`).
    pub async fn strategy_items(&self, items: &[TaskItem]) -> ExecutionStrategy {
        let dir = self.check_dir.as_deref();
        strategy::build(
            items,
            Vec::new(),
            items.len(),
            &self.predictor,
            self.max_prompt_tokens,
            dir,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn futures_are_send_for_the_mcp_server() {
        let planner = Planner::new(None, PlanConfig::default());
        let v = serde_json::json!(["a"]);
        let f1 = planner.task_complexity("x");
        let f2 = planner.validate(&v);
        let f3 = planner.strategy(&v);
        assert_send(&f1);
        assert_send(&f2);
        assert_send(&f3);
    }

    #[test]
    fn config_follows_the_executor() {
        let dir = std::env::temp_dir();
        let overrides = crate::config::Overrides {
            data_dir: Some(dir.clone()),
            allowed_roots: Some(vec![dir]),
            ..Default::default()
        };
        let mut config =
            Config::resolve(crate::config::FileConfig::default(), None, &overrides).unwrap();
        config.max_timeout = std::time::Duration::from_secs(30);
        config.max_prompt_tokens = 1234;
        let plan = PlanConfig::from_config(&config);
        assert_eq!(plan.max_prompt_tokens, 1234);
        assert_eq!(plan.predictor.ceiling_secs, 30);
        assert_eq!(plan.predictor.floor_secs, 30);
    }

    #[test]
    fn request_schemas_describe_task_items() {
        let schema = serde_json::to_value(schemars::schema_for!(TaskListRequest)).unwrap();
        let text = schema.to_string();
        assert!(text.contains("depends_on"), "{text}");
        assert_eq!(schema["type"], "object");
    }
}
