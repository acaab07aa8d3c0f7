//! `cc-executor plan FILE`: validation and strategy for a task-list file (JSON, YAML or a
//! markdown list), the same answers as `validate_task_list` and `suggest_execution_strategy`.
//! Exit code 1 when the list is invalid, 2 when the file cannot be read or parsed.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::config::Config;
use crate::plan::{ExecutionStrategy, PlanConfig, Planner, ValidationReport, read_task_file};

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The task list: `.json`, `.yaml`/`.yml`, or `.md` (a markdown list of tasks).
    pub file: PathBuf,
    /// Print `{validation, strategy}` as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct PlanOutput<'a> {
    validation: &'a ValidationReport,
    strategy: Option<&'a ExecutionStrategy>,
}

pub async fn plan(config: Config, args: PlanArgs) -> anyhow::Result<u8> {
    let file = match read_task_file(&args.file) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cc-executor: {}: {e}", args.file.display());
            return Ok(EXIT_USAGE);
        }
    };
    // Planning reads the history (for learned durations) but works without one.
    let store = crate::store::open(&config).await.ok();
    let planner = Planner::new(store.as_deref(), PlanConfig::from_config(&config));
    let report = planner.validate_items(&file.items).await;
    let strategy = if report.valid {
        Some(planner.strategy_items(&file.items).await)
    } else {
        None
    };
    if args.json {
        let out = PlanOutput {
            validation: &report,
            strategy: strategy.as_ref(),
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "{}: {} task(s), {} error(s), {} warning(s); about {} min; risk {}",
            if report.valid { "valid" } else { "INVALID" },
            report.total_tasks,
            report.errors.len(),
            report.warnings.len(),
            report.estimated_total_minutes,
            report.risk.level
        );
        for e in &report.errors {
            println!("error:   {}", e.message);
        }
        for line in warning_lines(&report) {
            println!("{line}");
        }
        if let Some(s) = &strategy {
            println!("\n{}", s.markdown);
        }
    }
    Ok(if report.valid { EXIT_OK } else { EXIT_FAILED })
}

/// The planner's warnings about a task list, one line each: what `plan` prints, and what
/// `run-list` prints before it runs the list (one wording for both).
pub fn warning_lines(report: &ValidationReport) -> Vec<String> {
    report
        .warnings
        .iter()
        .map(|w| format!("warning: {}", w.message))
        .collect()
}
