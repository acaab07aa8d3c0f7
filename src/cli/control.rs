//! `cc-executor pause ID`, `resume ID`, `cancel ID`: act on a task of the `serve` running on
//! this data dir (see [`crate::serve::remote`]: the state file, the token, the REST API).
//!
//! Exit codes: 0 the task is now as asked (paused, resumed, cancelled or stopping; pausing a
//! paused one too); 1 nothing changed because it could not apply (not paused, already
//! finished); 2 nothing was done (no service, unknown id, token refused, …).

use clap::Args;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use crate::config::Config;
use crate::exec::pause::PauseChange;
use crate::exec::result::Status;
use crate::exec::words::{
    CancelOutcome, Vocabulary, cancel_message, pause_message, run_cancel_message,
};
use crate::serve::remote::{Action, Remote};
use crate::types::run::RunState;

#[derive(Debug, Args)]
pub struct ControlArgs {
    /// The execution id (`cancel` also takes a run id).
    pub id: Uuid,
    /// Print the service's answer as JSON (on failure: `{"error", "status"}`).
    #[arg(long)]
    pub json: bool,
}

/// How this CLI names next steps: its own commands.
struct CliWords;

impl Vocabulary for CliWords {
    fn resume(&self, id: Uuid) -> String {
        format!("`cc-executor resume {id}`")
    }
    fn follow(&self, id: Uuid) -> String {
        format!("`cc-executor history show {id}` once it has ended")
    }
    fn resume_run(&self, id: Uuid) -> String {
        format!("`cc-executor run-list --resume {id}`")
    }
}

pub async fn control(config: Config, action: Action, args: ControlArgs) -> anyhow::Result<u8> {
    let answer = match Remote::find(&config) {
        Ok(remote) => remote.act(action, args.id).await,
        Err(e) => Err(e),
    };
    let mut body = match answer {
        Ok(body) => body,
        Err(e) => {
            let message = crate::types::text::truncate_chars(&e.to_string(), 2000);
            if args.json {
                println!("{}", json!({"error": message, "status": e.status()}));
            } else {
                eprintln!("cc-executor: {message}");
            }
            return Ok(EXIT_USAGE);
        }
    };
    let (message, changed) = describe(action, args.id, &body);
    if args.json {
        if let Value::Object(map) = &mut body {
            map.insert("message".into(), Value::String(message));
        }
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        println!("{message}");
    }
    Ok(if changed { EXIT_OK } else { EXIT_FAILED })
}

/// The answer in this CLI's words, and whether the task is now as asked.
fn describe(action: Action, id: Uuid, body: &Value) -> (String, bool) {
    let outcome = body["outcome"].as_str().unwrap_or_default();
    let fallback = || body["message"].as_str().unwrap_or(outcome).to_string();
    if action != Action::Cancel {
        return match PauseChange::parse(outcome) {
            Some(change) => {
                let paused_ms = body["paused_ms"].as_u64();
                let m = pause_message(id, change, paused_ms, true, None, &CliWords);
                let changed = matches!(
                    change,
                    PauseChange::Paused | PauseChange::AlreadyPaused | PauseChange::Resumed
                );
                (m, changed)
            }
            // `already_finished`.
            None => (fallback(), false),
        };
    }
    let Some(outcome) = CancelOutcome::parse(outcome) else {
        return (fallback(), false);
    };
    let changed = outcome != CancelOutcome::AlreadyFinished;
    let run = body["run_id"].as_str().and_then(|r| r.parse::<Uuid>().ok());
    let state = serde_json::from_value::<RunState>(body["state"].clone()).ok();
    if let (Some(run), Some(state)) = (run, state) {
        let (done, total) = (
            body["done"].as_u64().unwrap_or(0) as usize,
            body["total"].as_u64().unwrap_or(0) as usize,
        );
        return (
            run_cancel_message(run, changed, state, done, total, &CliWords),
            changed,
        );
    }
    let status = serde_json::from_value::<Status>(body["status"].clone()).ok();
    (cancel_message(id, outcome, status, &CliWords), changed)
}
