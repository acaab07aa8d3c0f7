//! `cc-executor history list|show|stats|export`: the execution history from the terminal,
//! the same data `get_execution_history` returns.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use super::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::config::Config;
use crate::store::query::HistoryQuery;
use crate::store::{ExecutionRecord, HistoryFilter, HistoryStore};

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub command: HistoryCommand,
}

#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Recent executions, newest first.
    List {
        #[command(flatten)]
        filter: FilterArgs,
        /// How many (default 20, at most 500).
        #[arg(long)]
        limit: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// One execution in full.
    Show {
        /// Execution id.
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Count, success rate, duration percentiles and cost, overall and per category.
    Stats {
        #[command(flatten)]
        filter: FilterArgs,
        #[arg(long)]
        json: bool,
    },
    /// Every matching execution as JSON (an array of full records), JSON Lines or CSV.
    Export {
        #[arg(long, value_enum, default_value = "json")]
        format: ExportFormat,
        /// Write here instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        filter: FilterArgs,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Json,
    Jsonl,
    Csv,
}

#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Only this status (succeeded, timed_out, …).
    #[arg(long)]
    pub status: Option<String>,
    /// Finished at or after: RFC 3339, a date (2026-11-25) or an age (7d, 12h).
    #[arg(long)]
    pub since: Option<String>,
    /// Finished at or before (same forms).
    #[arg(long)]
    pub until: Option<String>,
    /// Text the task must contain (case-insensitive).
    #[arg(long)]
    pub search: Option<String>,
}

impl FilterArgs {
    fn query(&self, limit: Option<i64>) -> HistoryQuery {
        HistoryQuery {
            limit,
            status: self.status.clone(),
            since: self.since.clone(),
            until: self.until.clone(),
            search: self.search.clone(),
            include_stats: None,
        }
    }
}

pub async fn history(config: Config, args: HistoryArgs) -> anyhow::Result<u8> {
    // Through the executor: what a dead process left unfinished is recorded first, so the
    // history shows it (`interrupted`).
    let executor = super::open_executor(config).await?;
    let store = executor.store().clone();
    let filter = |f: &FilterArgs, limit| f.query(limit).to_filter();
    match args.command {
        HistoryCommand::List {
            filter: f,
            limit,
            json,
        } => {
            let filter = match filter(&f, limit) {
                Ok(x) => x,
                Err(m) => return usage(&m),
            };
            let records = store.list(&filter).await?;
            if json {
                let rows: Vec<_> = records.iter().map(|r| r.summary()).collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                print_table(&records);
            }
            Ok(EXIT_OK)
        }
        HistoryCommand::Show { id, json } => {
            let uuid = match uuid::Uuid::parse_str(id.trim()) {
                Ok(u) => u,
                Err(_) => return usage(&format!("`{id}` is not an execution id (a UUID)")),
            };
            // Through the executor: an answer too big for the store comes from its file.
            match executor.record(uuid).await? {
                Some(r) if json => println!("{}", serde_json::to_string_pretty(&r)?),
                Some(r) => print_record(&r),
                None => {
                    eprintln!("cc-executor: no execution {uuid} in the history");
                    return Ok(EXIT_FAILED);
                }
            }
            Ok(EXIT_OK)
        }
        HistoryCommand::Stats { filter: f, json } => {
            let filter = match filter(&f, None) {
                Ok(x) => x,
                Err(m) => return usage(&m),
            };
            let stats = store.stats(&filter).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&stats)?);
            } else {
                println!(
                    "{:<28} {:>7} {:>8} {:>9} {:>9} {:>9} {:>10}",
                    "category/complexity", "count", "success", "p50 s", "p90 s", "max s", "cost $"
                );
                let mut rows = vec![("overall".to_string(), &stats.overall)];
                rows.extend(stats.by_category.iter().map(|(k, v)| (k.clone(), v)));
                for (k, s) in rows {
                    println!(
                        "{:<28} {:>7} {:>7.1}% {:>9.1} {:>9.1} {:>9.1} {:>10.4}",
                        k,
                        s.count,
                        s.success_rate * 100.0,
                        s.duration_p50_ms as f64 / 1000.0,
                        s.duration_p90_ms as f64 / 1000.0,
                        s.duration_max_ms as f64 / 1000.0,
                        s.total_cost_usd
                    );
                }
                let o = &stats.overall;
                if o.checked > 0 {
                    let pct = |n: u64| n as f64 * 100.0 / o.checked as f64;
                    println!(
                        "acceptance checks: {} task(s) checked; passed first time {} ({:.1}%), after repair {} more ({:.1}% in all)",
                        o.checked,
                        o.passed_first,
                        pct(o.passed_first),
                        o.passed_repaired,
                        pct(o.passed_first + o.passed_repaired)
                    );
                }
            }
            Ok(EXIT_OK)
        }
        HistoryCommand::Export {
            format,
            output,
            filter: f,
        } => {
            let filter = match filter(&f, None) {
                Ok(x) => x,
                Err(m) => return usage(&m),
            };
            let records = all_records(store.as_ref(), filter).await?;
            let mut out: Box<dyn Write> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("cannot create {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            export(&records, format, &mut out)?;
            out.flush()?;
            if let Some(path) = output {
                eprintln!(
                    "cc-executor: exported {} execution(s) to {}",
                    records.len(),
                    path.display()
                );
            }
            Ok(EXIT_OK)
        }
    }
}

fn usage(message: &str) -> anyhow::Result<u8> {
    eprintln!("cc-executor: {message}");
    Ok(EXIT_USAGE)
}

/// Every record the filter matches, oldest first (pages through the store).
pub async fn all_records(
    store: &dyn HistoryStore,
    mut filter: HistoryFilter,
) -> anyhow::Result<Vec<ExecutionRecord>> {
    let mut all = Vec::new();
    filter.limit = 500;
    filter.offset = 0;
    loop {
        let page = store.list(&filter).await?;
        let n = page.len();
        all.extend(page);
        if n < filter.limit {
            break;
        }
        filter.offset += n;
    }
    all.reverse();
    Ok(all)
}

/// One CSV row: the summary with the full task text.
#[derive(Serialize)]
struct CsvRow<'a> {
    execution_id: String,
    status: &'a str,
    submitted_at: String,
    finished_at: String,
    task: &'a str,
    cwd: &'a str,
    model: Option<&'a str>,
    category: Option<&'a str>,
    complexity: Option<&'a str>,
    queue_wait_ms: u64,
    duration_ms: u64,
    total_cost_usd: Option<f64>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    num_turns: Option<u32>,
    attempts: u32,
    files_written: String,
    permission_denials: u32,
    exit_code: Option<i32>,
    session_id: Option<&'a str>,
}

pub fn export(
    records: &[ExecutionRecord],
    format: ExportFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match format {
        ExportFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, records)?;
            writeln!(out)?;
        }
        ExportFormat::Jsonl => {
            for r in records {
                serde_json::to_writer(&mut *out, r)?;
                writeln!(out)?;
            }
        }
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            for r in records {
                let s = r.summary();
                w.serialize(CsvRow {
                    execution_id: r.execution_id.to_string(),
                    status: r.status().as_str(),
                    submitted_at: r.submitted_at.to_rfc3339(),
                    finished_at: r.finished_at().to_rfc3339(),
                    task: &r.task,
                    cwd: &r.cwd,
                    model: r.result.model.as_deref(),
                    category: r.category.as_deref(),
                    complexity: r.complexity.as_deref(),
                    queue_wait_ms: s.queue_wait_ms,
                    duration_ms: s.duration_ms,
                    total_cost_usd: s.total_cost_usd,
                    input_tokens: s.input_tokens,
                    output_tokens: s.output_tokens,
                    num_turns: s.num_turns,
                    attempts: s.attempts,
                    files_written: r.result.files_written.join("\n"),
                    permission_denials: s.permission_denials,
                    exit_code: s.exit_code,
                    session_id: r.result.session_id.as_deref(),
                })?;
            }
            w.flush()?;
        }
    }
    Ok(())
}

fn print_table(records: &[ExecutionRecord]) {
    if records.is_empty() {
        println!("no executions");
        return;
    }
    println!(
        "{:<36}  {:<20}  {:<15} {:>8} {:>9}  task",
        "execution_id", "finished (UTC)", "status", "secs", "cost $"
    );
    for r in records {
        let s = r.summary();
        println!(
            "{:<36}  {:<20}  {:<15} {:>8.1} {:>9}  {}",
            s.execution_id,
            s.finished_at.format("%Y-%m-%d %H:%M:%S"),
            s.status.as_str(),
            s.duration_ms as f64 / 1000.0,
            s.total_cost_usd
                .map(|c| format!("{c:.4}"))
                .unwrap_or_else(|| "-".into()),
            crate::claude::collect::truncate_chars(
                &s.task.split_whitespace().collect::<Vec<_>>().join(" "),
                60
            )
        );
    }
}

fn print_record(r: &ExecutionRecord) {
    let res = &r.result;
    println!("execution  {}", r.execution_id);
    println!("status     {}", res.status);
    println!("submitted  {}", r.submitted_at.to_rfc3339());
    println!("finished   {}", res.finished_at.to_rfc3339());
    println!(
        "duration   {:.1}s (queue {:.1}s)",
        res.duration_ms as f64 / 1000.0,
        res.queue_wait_ms as f64 / 1000.0
    );
    if let Some(c) = res.total_cost_usd {
        println!("cost       ${c:.4}");
    }
    println!("cwd        {}", r.cwd);
    if let Some(s) = &res.session_id {
        println!("session    {s}");
    }
    for f in &res.files_written {
        println!("wrote      {f}");
    }
    for d in &res.permission_denials {
        println!("denied     {}", d.tool_name);
    }
    for w in &res.warnings {
        println!("warning    {w}");
    }
    println!("\ntask:\n{}", r.task);
    if let Some(text) = &res.result {
        println!("\nresult:\n{text}");
    }
}
