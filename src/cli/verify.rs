//! `cc-executor verify [ID | --last N] [--report FILE] [--json]`: the same checks and JSON as
//! the `verify_execution` tool, from the terminal.
//!
//! Exit codes: 0 every execution verified; 1 some unverified or tampered; 2 bad input (an
//! unknown id, `--last 0`, an unreadable store).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::config::Config;
use crate::evidence::verify::{CheckState, Target, Verdict, VerifyError};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The execution to verify (default: the newest one), or a run id: every execution of its
    /// tasks.
    #[arg(conflicts_with = "last")]
    pub id: Option<String>,
    /// Verify the newest N executions (at most 100), and look for response files that have no
    /// chain link.
    #[arg(long, value_name = "N")]
    pub last: Option<i64>,
    /// Also write the report as markdown to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Print the full report as JSON (the `verify_execution` output).
    #[arg(long)]
    pub json: bool,
}

pub async fn verify(config: Config, args: VerifyArgs) -> anyhow::Result<u8> {
    let target = match (&args.id, args.last) {
        (Some(id), _) => match uuid::Uuid::parse_str(id.trim()) {
            Ok(u) => Target::One(u),
            Err(_) => {
                eprintln!("cc-executor: `{id}` is not an execution id (a UUID)");
                return Ok(EXIT_USAGE);
            }
        },
        (None, Some(n)) if n < 1 => {
            eprintln!("cc-executor: --last must be at least 1 (at most 100), got {n}");
            return Ok(EXIT_USAGE);
        }
        (None, Some(n)) => Target::Last(usize::try_from(n).unwrap_or(usize::MAX)),
        (None, None) => Target::Last(1),
    };
    let executor = super::open_executor(config).await?;
    let report = match executor.verify(target, args.report.is_some()).await {
        Ok(r) => r,
        Err(e @ (VerifyError::Unknown(_) | VerifyError::ZeroLast)) => {
            eprintln!("cc-executor: {e}");
            return Ok(EXIT_USAGE);
        }
        Err(e) => return Err(e.into()),
    };
    if let (Some(path), Some(md)) = (&args.report, &report.markdown) {
        std::fs::write(path, md)
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for n in &report.notes {
            println!("note: {n}");
        }
        for e in &report.executions {
            println!("{}  {}", e.execution_id, e.verdict.as_str().to_uppercase());
            for k in &e.checks {
                let mark = match k.state {
                    CheckState::Pass => "ok  ",
                    CheckState::Fail => "FAIL",
                    CheckState::Tampered => "TAMP",
                    CheckState::Skip => "skip",
                };
                println!("  {mark} {:<24} {}", k.name, k.detail);
            }
            for f in &e.files {
                println!(
                    "       file {} {}",
                    serde_json::to_value(f.state)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    f.path
                );
            }
        }
        println!(
            "verdict: {} ({} verified, {} unverified, {} tampered)",
            report.verdict.as_str(),
            report.counts.verified,
            report.counts.unverified,
            report.counts.tampered
        );
    }
    Ok(
        if report.verdict == Verdict::Verified && !report.executions.is_empty() {
            EXIT_OK
        } else {
            EXIT_FAILED
        },
    )
}
