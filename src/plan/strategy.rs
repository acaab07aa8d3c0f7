//! The execution strategy (`suggest_execution_strategy`): per task the method, timeout and
//! dependencies; the dependency graph as waves; tips; and the whole plan as markdown.
//!
//! Waves: wave 1 holds the tasks that depend on nothing, wave k the tasks whose dependencies
//! are all in earlier waves. Tasks of one wave are independent of each other — that is the
//! only claim. Sequential execution in list order stays the default (one fresh process after
//! another is what keeps long work reliable); the waves say where parallelism *would* be
//! safe as far as declared dependencies go, not that it should be used.

use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::classify::{Category, Complexity};
use super::complexity::Method;
use super::graph::waves;
use super::predict::{BasedOn, Predictor};
use super::text::preview;
use super::validate::{
    Risk, TaskItem, ValidationError, ValidationWarning, WarningKind, analyze, parse_tasks_lenient,
};

/// Characters of a task shown in the strategy and its markdown.
pub const PREVIEW_CHARS: usize = 100;

/// Warnings listed in the markdown (all of them are in `warnings`).
const MARKDOWN_WARNINGS: usize = 50;

/// The plan for one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StrategyTask {
    pub position: usize,
    pub id: String,
    /// The first characters of the task.
    pub task_preview: String,
    pub method: Method,
    /// Why that method.
    pub reason: String,
    pub category: Category,
    pub complexity: Complexity,
    pub predicted_secs: u64,
    /// The timeout to run it with (`timeout_secs` of `cc_execute`).
    pub timeout_secs: u64,
    pub based_on: BasedOn,
    pub depends_on: Vec<String>,
    /// 1-based wave; absent when the dependencies have a cycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<usize>,
}

/// Tasks that depend only on earlier waves and not on each other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Wave {
    /// 1-based.
    pub number: usize,
    pub task_ids: Vec<String>,
    /// The longest predicted duration in the wave, seconds (its length if run in parallel).
    pub predicted_secs: u64,
}

/// The answer of `suggest_execution_strategy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecutionStrategy {
    /// Whether the list validated without errors (see `errors`).
    pub valid: bool,
    pub errors: Vec<ValidationError>,
    pub warnings: Vec<ValidationWarning>,
    pub risk: Risk,
    /// `sequential`: tasks run one after another in list order (the default and the
    /// recommendation; the waves only show what is independent).
    pub execution: String,
    pub tasks: Vec<StrategyTask>,
    /// Empty when the dependencies have a cycle.
    pub waves: Vec<Wave>,
    /// Sum of predicted durations: the sequential run, seconds.
    pub sequential_secs: u64,
    /// Sum over waves of their longest task: the run if every wave ran fully in parallel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_secs: Option<u64>,
    pub tips: Vec<String>,
    /// The whole plan for people.
    pub markdown: String,
}

/// The strategy for a task list given as JSON (what the MCP tool receives).
pub async fn suggest_strategy_value(
    value: &Value,
    predictor: &Predictor<'_>,
    max_prompt_tokens: usize,
) -> ExecutionStrategy {
    let (items, errors) = parse_tasks_lenient(value);
    let total = value.as_array().map_or(0, Vec::len);
    build(&items, errors, total, predictor, max_prompt_tokens, None).await
}

/// The strategy for parsed task items (from [`super::validate::parse_tasks`] or a file).
pub async fn suggest_strategy(
    items: &[TaskItem],
    predictor: &Predictor<'_>,
    max_prompt_tokens: usize,
) -> ExecutionStrategy {
    build(
        items,
        Vec::new(),
        items.len(),
        predictor,
        max_prompt_tokens,
        None,
    )
    .await
}

/// The strategy; `check_dir`: where tasks run by default, whose project decides the test
/// command proposed as an acceptance check (see [`super::checks`]).
pub(crate) async fn build(
    items: &[TaskItem],
    parse_errors: Vec<ValidationError>,
    total: usize,
    predictor: &Predictor<'_>,
    max_prompt_tokens: usize,
    check_dir: Option<&std::path::Path>,
) -> ExecutionStrategy {
    let analysis = analyze(items, parse_errors, total, predictor, max_prompt_tokens).await;
    let report = analysis.report;
    let layered = if analysis.acyclic {
        waves(&analysis.deps)
    } else {
        None
    };
    let mut wave_of = vec![None; items.len()];
    let mut wave_list = Vec::new();
    if let Some(layers) = &layered {
        for (w, layer) in layers.iter().enumerate() {
            for &u in layer {
                wave_of[u] = Some(w + 1);
            }
            wave_list.push(Wave {
                number: w + 1,
                task_ids: layer.iter().map(|&u| items[u].id.clone()).collect(),
                predicted_secs: layer
                    .iter()
                    .map(|&u| report.tasks[u].predicted_secs)
                    .max()
                    .unwrap_or(0),
            });
        }
    }
    let tasks: Vec<StrategyTask> = items
        .iter()
        .zip(&report.tasks)
        .zip(analysis.method_reasons)
        .enumerate()
        .map(|(u, ((item, a), reason))| StrategyTask {
            position: item.position,
            id: item.id.clone(),
            task_preview: preview(&item.task, PREVIEW_CHARS),
            method: a.recommended_method,
            reason,
            category: a.category,
            complexity: a.complexity,
            predicted_secs: a.predicted_secs,
            timeout_secs: a.suggested_timeout_secs,
            based_on: a.based_on,
            depends_on: item.depends_on.clone(),
            wave: wave_of[u],
        })
        .collect();
    let parallel_secs = layered
        .as_ref()
        .map(|_| wave_list.iter().map(|w| w.predicted_secs).sum());
    let mut tips = tips(
        &report.errors,
        &report.warnings,
        &tasks,
        &wave_list,
        report.estimated_total_secs,
        parallel_secs,
        predictor.config().ceiling_secs,
    );
    tips.extend(check_tips(items, &report.warnings, check_dir));
    let mut strategy = ExecutionStrategy {
        valid: report.valid,
        errors: report.errors,
        warnings: report.warnings,
        risk: report.risk,
        execution: "sequential".into(),
        tasks,
        waves: wave_list,
        sequential_secs: report.estimated_total_secs,
        parallel_secs,
        tips,
        markdown: String::new(),
    };
    strategy.markdown = render_markdown(&strategy, report.estimated_typical_secs);
    strategy
}

fn minutes(secs: u64) -> String {
    if secs < 90 {
        format!("{secs} s")
    } else if secs < 5400 {
        format!("{:.0} min", secs as f64 / 60.0)
    } else {
        format!("{:.1} h", secs as f64 / 3600.0)
    }
}

/// Proposed acceptance checks for the tasks that change code without one: the test command
/// their text names or their project implies, grouped by command.
fn check_tips(
    items: &[TaskItem],
    warnings: &[ValidationWarning],
    check_dir: Option<&std::path::Path>,
) -> Vec<String> {
    let mut by_command: Vec<(Vec<String>, String, Vec<&str>)> = Vec::new();
    let mut unknown: Vec<&str> = Vec::new();
    for w in warnings
        .iter()
        .filter(|w| w.kind == WarningKind::NoAcceptanceCheck)
    {
        let Some(item) = items.iter().find(|i| i.position == w.position) else {
            continue;
        };
        match super::checks::suggest_command(&item.task, check_dir) {
            Some((argv, why)) => match by_command.iter_mut().find(|(a, _, _)| *a == argv) {
                Some((_, _, ids)) => ids.push(&item.id),
                None => by_command.push((argv, why, vec![&item.id])),
            },
            None => unknown.push(&item.id),
        }
    }
    let mut out: Vec<String> = by_command
        .into_iter()
        .map(|(argv, why, ids)| {
            let argv = serde_json::to_string(&argv).unwrap_or_default();
            format!(
                "check task(s) {} by their tests ({why}): `\"accept\": {{\"commands\": [{argv}]}}`, with `\"failure_policy\": \"repair\"` (or `repair` on `cc_execute`) to have a failure fixed",
                list_ids(&ids)
            )
        })
        .collect();
    if !unknown.is_empty() {
        out.push(format!(
            "check task(s) {} with `accept`: the command that tests the change (`commands`), the files it must leave (`files`), or a `validator`",
            list_ids(&unknown)
        ));
    }
    out
}

fn tips(
    errors: &[ValidationError],
    warnings: &[ValidationWarning],
    tasks: &[StrategyTask],
    waves: &[Wave],
    sequential: u64,
    parallel: Option<u64>,
    ceiling: u64,
) -> Vec<String> {
    let mut out = Vec::new();
    if !errors.is_empty() {
        out.push(format!(
            "fix the {} error(s) first; the list cannot run as written",
            errors.len()
        ));
    }
    if warnings
        .iter()
        .any(|w| w.kind == WarningKind::ImplicitReference)
    {
        out.push("declare the dependencies the warnings name (`depends_on`), and put into each task what it needs from earlier ones: every task starts in a fresh process".into());
    }
    let direct: Vec<&str> = tasks
        .iter()
        .filter(|t| t.method == Method::Direct)
        .map(|t| t.id.as_str())
        .collect();
    if !direct.is_empty() {
        out.push(format!(
            "{} trivial lookup(s) can be answered directly without starting a process (task {})",
            direct.len(),
            list_ids(&direct)
        ));
    }
    let extreme: Vec<&str> = tasks
        .iter()
        .filter(|t| t.complexity == Complexity::Extreme)
        .map(|t| t.id.as_str())
        .collect();
    if !extreme.is_empty() {
        out.push(format!(
            "split the extreme task(s) {} into smaller, separately checkable steps",
            list_ids(&extreme)
        ));
    }
    let capped = tasks.iter().filter(|t| t.timeout_secs >= ceiling).count();
    if capped > 0 {
        out.push(format!(
            "{capped} task(s) reach the timeout ceiling ({ceiling} s): a run that needs longer will be cut"
        ));
    }
    if tasks.iter().any(|t| t.predicted_secs > 100) {
        out.push("run tasks predicted over ~2 min with `wait: false` and poll `monitor_execution`: MCP hosts cut or background tool calls after 60–120 s".into());
    }
    if let (Some(widest), Some(par)) = (waves.iter().max_by_key(|w| w.task_ids.len()), parallel)
        && widest.task_ids.len() > 1
        && par < sequential
    {
        out.push(format!(
            "{} wave(s) for {} task(s); wave {} has {} independent tasks. Sequential execution stays the default; running each wave in parallel (max_concurrent ≥ {}) would shorten the predicted total from {} to {}, if those tasks do not touch the same files",
            waves.len(),
            tasks.len(),
            widest.number,
            widest.task_ids.len(),
            widest.task_ids.len(),
            minutes(sequential),
            minutes(par)
        ));
    }
    let defaults = tasks
        .iter()
        .filter(|t| t.based_on == BasedOn::Default)
        .count();
    if defaults * 2 > tasks.len() {
        out.push("most predictions are defaults (little recorded history); they sharpen as executions are recorded".into());
    }
    if out.is_empty() {
        out.push(
            "the list looks ready: run the tasks in order with cc_execute, each with its timeout"
                .into(),
        );
    }
    out
}

fn list_ids(ids: &[&str]) -> String {
    let mut shown: Vec<String> = ids.iter().take(10).map(|i| preview(i, 30)).collect();
    if ids.len() > 10 {
        shown.push(format!("… ({} more)", ids.len() - 10));
    }
    shown.join(", ")
}

/// Text safe inside a markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn render_markdown(s: &ExecutionStrategy, typical_secs: u64) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Execution strategy\n");
    let _ = writeln!(
        md,
        "**{} task(s)** · risk **{}** · about {} (sum of predictions; typically {}) · execution: {}\n",
        s.tasks.len(),
        match s.risk.level {
            super::validate::RiskLevel::Low => "low",
            super::validate::RiskLevel::Medium => "medium",
            super::validate::RiskLevel::High => "high",
        },
        minutes(s.sequential_secs),
        minutes(typical_secs),
        s.execution
    );
    for r in &s.risk.reasons {
        let _ = writeln!(md, "- {}", cell(r));
    }
    md.push('\n');
    if !s.errors.is_empty() {
        let _ = writeln!(md, "## Errors\n");
        for e in &s.errors {
            let _ = writeln!(md, "- {}", cell(&e.message));
        }
        md.push('\n');
    }
    if !s.warnings.is_empty() {
        let _ = writeln!(md, "## Warnings\n");
        for w in s.warnings.iter().take(MARKDOWN_WARNINGS) {
            let _ = writeln!(md, "- {}", cell(&w.message));
        }
        if s.warnings.len() > MARKDOWN_WARNINGS {
            let _ = writeln!(md, "- … and {} more", s.warnings.len() - MARKDOWN_WARNINGS);
        }
        md.push('\n');
    }
    let _ = writeln!(md, "## Tasks\n");
    let _ = writeln!(
        md,
        "| # | id | task | method | kind | predicted | timeout | depends on | wave |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
    for t in &s.tasks {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {}/{} | {} | {} s | {} | {} |",
            t.position,
            cell(&preview(&t.id, 30)),
            cell(&preview(&t.task_preview, 60)),
            match t.method {
                Method::CcExecute => "cc_execute",
                Method::Direct => "direct",
            },
            t.category,
            t.complexity,
            minutes(t.predicted_secs),
            t.timeout_secs,
            cell(&t.depends_on.join(", ")),
            t.wave.map_or("–".into(), |w| w.to_string())
        );
    }
    md.push('\n');
    if !s.waves.is_empty() {
        let _ = writeln!(
            md,
            "## Waves\n\nTasks in one wave do not depend on each other; each wave only on earlier ones.\n"
        );
        for w in &s.waves {
            let ids: Vec<&str> = w.task_ids.iter().map(String::as_str).collect();
            let _ = writeln!(
                md,
                "{}. {} (longest {})",
                w.number,
                cell(&list_ids(&ids)),
                minutes(w.predicted_secs)
            );
        }
        md.push('\n');
    }
    let _ = writeln!(md, "## Tips\n");
    for t in &s.tips {
        let _ = writeln!(md, "- {}", cell(t));
    }
    md
}
