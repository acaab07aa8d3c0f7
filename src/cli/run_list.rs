//! `cc-executor run-list FILE` (or `--resume RUN_ID`): a task list as one durable run, each
//! task in a fresh Claude Code process; progress on stderr (an overall bar and the current
//! task on a terminal, plain lines otherwise); a summary (or the run as JSON) on stdout.
//! Ctrl-C cancels the run (resumable). Exit codes: 0 every task succeeded; 1 the run failed
//! or stopped at its budget; 2 bad input (nothing ran); 130 cancelled.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE};
use crate::config::Config;
use crate::exec::progress::ProgressEvent;
use crate::plan::read_task_file;
use crate::runs::{
    FailurePolicy, ResumeOptions, Run, RunEvent, RunRequest, RunService, RunState, TaskDefaults,
};

#[derive(Debug, Args)]
pub struct RunListArgs {
    /// The task list: `.json`, `.yaml`/`.yml`, or `.md` (a markdown list of tasks). Not with
    /// `--resume`.
    #[arg(required_unless_present = "resume", conflicts_with = "resume")]
    pub file: Option<PathBuf>,
    /// Go on after a failed task with the tasks that do not depend on it (default: stop).
    #[arg(long, conflicts_with = "repair_on_failure")]
    pub continue_on_failure: bool,
    /// Repair a task its `accept` checks reject (up to 2 times) before the run stops at it.
    #[arg(long)]
    pub repair_on_failure: bool,
    /// Cap on the cost of the whole run, USD (with --resume: a new cap).
    #[arg(long, allow_negative_numbers = true)]
    pub budget_usd: Option<f64>,
    /// Resume a run (interrupted, cancelled, or stopped at its budget) from its first
    /// unfinished task; succeeded tasks are not run again.
    #[arg(long, value_name = "RUN_ID")]
    pub resume: Option<String>,
    /// With --resume: resume even when the run was last driven from another host.
    #[arg(long, requires = "resume")]
    pub force: bool,
    /// Longest wait for a usage limit to reset before a task counts as failed, seconds
    /// (default 21600).
    #[arg(long)]
    pub max_usage_wait_secs: Option<u64>,
    /// Timeout of each task, seconds (default: predicted per task from the history).
    #[arg(long, allow_negative_numbers = true)]
    pub timeout_secs: Option<i64>,
    /// Working directory of every task (inside the allowed roots).
    #[arg(long)]
    pub cwd: Option<String>,
    #[arg(long)]
    pub model: Option<String>,
    /// Permission mode of every task.
    #[arg(long)]
    pub permission_mode: Option<String>,
    /// Print the finished run as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub async fn run_list(config: Config, args: RunListArgs) -> anyhow::Result<u8> {
    let executor = super::open_executor(config).await?;
    let runs = RunService::new(executor.clone());
    let prepared = match (&args.resume, &args.file) {
        (Some(id), _) => {
            let id = match uuid::Uuid::parse_str(id.trim()) {
                Ok(id) => id,
                Err(_) => {
                    eprintln!("cc-executor: --resume needs a run id (a UUID), got `{id}`");
                    return Ok(EXIT_USAGE);
                }
            };
            runs.resume(
                id,
                ResumeOptions {
                    budget_usd: args.budget_usd,
                    force: args.force,
                },
            )
            .await
        }
        (None, Some(path)) => {
            let file = match read_task_file(path) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("cc-executor: {}: {e}", path.display());
                    return Ok(EXIT_USAGE);
                }
            };
            runs.create_with_report(RunRequest {
                tasks: file.items,
                failure_policy: if args.continue_on_failure {
                    FailurePolicy::Continue
                } else if args.repair_on_failure {
                    FailurePolicy::Repair
                } else {
                    FailurePolicy::Stop
                },
                budget_usd: args.budget_usd,
                defaults: TaskDefaults {
                    timeout_secs: args.timeout_secs,
                    cwd: args.cwd.clone(),
                    model: args.model.clone(),
                    permission_mode: args.permission_mode.clone(),
                    ..Default::default()
                },
                max_usage_wait_secs: args.max_usage_wait_secs,
                source: Some(path.display().to_string()),
            })
            .await
            .map(|(run, report)| {
                // The same warnings `plan` prints: a list that refers to "task 1" without
                // depending on it runs, but the person running it should know.
                for line in super::plan::warning_lines(&report) {
                    eprintln!("cc-executor: {line}");
                }
                run
            })
        }
        (None, None) => {
            eprintln!("cc-executor: give a task-list FILE or --resume RUN_ID");
            return Ok(EXIT_USAGE);
        }
    };
    let run = match prepared {
        Ok(run) => run,
        Err(e) => {
            eprintln!("cc-executor: {e}");
            return Ok(EXIT_USAGE);
        }
    };
    let id = run.run_id;
    eprintln!(
        "cc-executor: run {id}: {} task(s){}",
        run.tasks.len(),
        if run.resumes > 0 {
            format!(", resumed with {} already done", run.done())
        } else {
            String::new()
        }
    );
    let display = Display::new(&run);
    let sink = {
        let display = display.clone();
        move |e: RunEvent| display.show(&e)
    };
    runs.start(run, sink);
    let interrupted = tokio::select! {
        _ = runs.wait(id) => false,
        r = tokio::signal::ctrl_c() => r.is_ok(),
    };
    if interrupted {
        display.line("interrupted: cancelling the run (resume it with --resume)".into());
        let _ = runs.cancel(id).await;
    }
    let run = runs.wait(id).await?;
    display.finish();
    executor.shutdown().await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&run)?);
    } else {
        print!("{}", summary(&run));
    }
    Ok(match run.state {
        RunState::Succeeded => EXIT_OK,
        RunState::Cancelled => EXIT_INTERRUPTED,
        _ => EXIT_FAILED,
    })
}

/// The run for people: one line for the run, one per task, and how to resume.
pub fn summary(run: &Run) -> String {
    let mut s = format!(
        "run {} {}: {}/{} task(s) done, {} succeeded, ${:.4}, {:.1}s\n",
        run.run_id,
        run.state,
        run.done(),
        run.tasks.len(),
        run.count(crate::runs::TaskState::Succeeded),
        run.cost_usd,
        run.duration_ms as f64 / 1000.0
    );
    if let Some(r) = &run.reason {
        s.push_str(&format!("  {r}\n"));
    }
    for t in &run.tasks {
        s.push_str(&format!("  {:>3}. {:<10} {}", t.position, t.state, t.id));
        if let Some(e) = t.execution_id {
            s.push_str(&format!("  [{e}]"));
        }
        if let Some(c) = t.cost_usd {
            s.push_str(&format!("  ${c:.4}"));
        }
        if let Some(e) = &t.error {
            s.push_str(&format!("  — {e}"));
        } else if let Some(r) = &t.result_summary {
            s.push_str(&format!("  — {}", r.replace('\n', " ")));
        }
        s.push('\n');
    }
    if !run.state.is_final() && run.state != RunState::Pending {
        s.push_str(&format!(
            "resume with: cc-executor run-list --resume {}\n",
            run.run_id
        ));
    }
    s
}

/// Progress on stderr: on a terminal an overall bar (tasks done, elapsed, cost) over a spinner
/// for the current task; otherwise one line per event (heartbeats left out).
#[derive(Clone)]
struct Display {
    bars: Option<(MultiProgress, ProgressBar, ProgressBar)>,
    cost: Arc<Mutex<f64>>,
}

impl Display {
    fn new(run: &Run) -> Self {
        let bars = std::io::stderr().is_terminal().then(|| {
            let multi = MultiProgress::new();
            let overall = multi.add(ProgressBar::new(run.tasks.len() as u64));
            overall.set_style(
                ProgressStyle::with_template(
                    "[{elapsed_precise}] {bar:30} {pos}/{len} tasks {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            overall.set_position(run.done() as u64);
            let current = multi.add(ProgressBar::new_spinner());
            current.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            current.enable_steady_tick(Duration::from_millis(120));
            overall.enable_steady_tick(Duration::from_millis(500));
            (multi, overall, current)
        });
        Display {
            bars,
            cost: Arc::new(Mutex::new(run.cost_usd)),
        }
    }

    fn line(&self, message: String) {
        match &self.bars {
            Some((multi, _, _)) => {
                let _ = multi.println(format!("  {message}"));
            }
            None => eprintln!("cc-executor: {message}"),
        }
    }

    fn show(&self, event: &RunEvent) {
        let message = event.message();
        match event {
            RunEvent::Execution { event: e, .. } => {
                if let Some((_, _, current)) = &self.bars {
                    current.set_message(message);
                } else if !matches!(e, ProgressEvent::Heartbeat { .. }) {
                    eprintln!("cc-executor: {message}");
                }
            }
            RunEvent::TaskStarted { .. } => {
                if let Some((_, _, current)) = &self.bars {
                    current.reset_elapsed();
                    current.set_message(message.clone());
                }
                self.line(message);
            }
            RunEvent::TaskFinished { cost_usd, .. } => {
                let total = {
                    let mut c = self.cost.lock().unwrap_or_else(|p| p.into_inner());
                    *c += cost_usd.unwrap_or(0.0);
                    *c
                };
                if let Some((_, overall, _)) = &self.bars {
                    overall.inc(1);
                    overall.set_message(format!("${total:.4}"));
                }
                self.line(message);
            }
            RunEvent::WaitingForUsageReset { .. } | RunEvent::Finished { .. } => {
                if let Some((_, _, current)) = &self.bars {
                    current.set_message(message.clone());
                }
                self.line(message);
            }
        }
    }

    fn finish(&self) {
        if let Some((_, overall, current)) = &self.bars {
            current.finish_and_clear();
            overall.finish();
        }
    }
}
