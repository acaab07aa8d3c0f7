//! `cc-executor runs list|show`: task-list runs from the store, the same data
//! `monitor_execution` reports for a run id. A run whose driver is gone shows as
//! `interrupted`, with the command that resumes it.

use clap::{Args, Subcommand};

use super::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::config::Config;
use crate::runs::RunService;

#[derive(Debug, Args)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub command: RunsCommand,
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Recent runs, most recently updated first.
    List {
        /// How many (default 20, at most 500).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// One run in full: every task's state, execution id, cost and error.
    Show {
        /// Run id.
        id: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn runs(config: Config, args: RunsArgs) -> anyhow::Result<u8> {
    let executor = super::open_executor(config).await?;
    let runs = RunService::new(executor);
    match args.command {
        RunsCommand::List { limit, json } => {
            if limit == 0 || limit > 500 {
                eprintln!("cc-executor: --limit must be between 1 and 500 (got {limit})");
                return Ok(EXIT_USAGE);
            }
            let list = runs.list(limit).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("no runs");
            } else {
                for r in &list {
                    println!(
                        "{}  {:<24} {:>3}/{:<3} ${:<8.4} {}  {}",
                        r.run_id,
                        r.state.as_str(),
                        r.done,
                        r.total,
                        r.cost_usd,
                        r.updated_at.format("%Y-%m-%d %H:%M:%S"),
                        r.source.as_deref().unwrap_or("")
                    );
                }
            }
            Ok(EXIT_OK)
        }
        RunsCommand::Show { id, json } => {
            let Ok(id) = uuid::Uuid::parse_str(id.trim()) else {
                eprintln!("cc-executor: a run id is a UUID, got `{id}`");
                return Ok(EXIT_USAGE);
            };
            let Some(status) = runs.status(id).await? else {
                eprintln!("cc-executor: unknown run {id}: no such run in the history store");
                return Ok(EXIT_FAILED);
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&status.run)?);
            } else {
                print!("{}", super::run_list::summary(&status.run));
            }
            Ok(EXIT_OK)
        }
    }
}
