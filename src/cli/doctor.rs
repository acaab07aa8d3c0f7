//! `cc-executor doctor`: is `claude` installed (which version), is the data dir writable, what
//! does the policy allow. Exit code 0 when everything needed to run a task is in place.

use clap::Args;
use serde::Serialize;

use super::{EXIT_FAILED, EXIT_OK};
use crate::config::{Config, Policy};
use crate::exec::Executor;
use crate::exec::probe;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// One check and its outcome.
#[derive(Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub ok: bool,
    pub checks: Vec<Check>,
    pub config_file: Option<String>,
    pub policy: Policy,
    pub pass_api_key: bool,
    pub anthropic_api_key_set: bool,
}

pub async fn doctor(config: Config, args: DoctorArgs) -> u8 {
    let mut checks = Vec::new();
    checks.push(match probe::probe(&config.claude_bin).await {
        Ok(info) => Check {
            name: "claude",
            ok: true,
            detail: format!("{} ({})", info.version, info.path.display()),
        },
        Err(e) => Check {
            name: "claude",
            ok: false,
            detail: e.to_string(),
        },
    });
    let data_dir = config.data_dir.display().to_string();
    let config_file = config.config_file.as_ref().map(|p| p.display().to_string());
    let policy = config.policy.clone();
    let pass_api_key = config.pass_api_key;
    let store = match crate::store::open(&config).await {
        Ok(store) => {
            let h = store.health().await;
            let detail = format!(
                "{} at {}: {}{}{}",
                h.backend,
                h.location,
                h.state,
                if h.outbox_pending > 0 {
                    format!(", {} record(s) waiting in the outbox", h.outbox_pending)
                } else {
                    String::new()
                },
                h.detail.map(|d| format!(" ({d})")).unwrap_or_default()
            );
            Some((
                Check {
                    name: "store",
                    ok: h.state == "ok",
                    detail,
                },
                store,
            ))
        }
        Err(e) => {
            checks.push(Check {
                name: "store",
                ok: false,
                detail: e.to_string(),
            });
            None
        }
    };
    let store_check = store.map(|(check, store)| {
        checks.push(check);
        store
    });
    let ready = match store_check {
        Some(store) => Executor::with_store(config, store).map(|_| ()),
        None => Executor::new(config).map(|_| ()),
    };
    checks.push(match ready {
        Ok(()) => Check {
            name: "data_dir",
            ok: true,
            detail: format!("{data_dir} is writable"),
        },
        Err(e) => Check {
            name: "data_dir",
            ok: false,
            detail: e.to_string(),
        },
    });
    let report = Report {
        ok: checks.iter().all(|c| c.ok),
        checks,
        config_file,
        policy,
        pass_api_key,
        anthropic_api_key_set: std::env::var_os("ANTHROPIC_API_KEY").is_some(),
    };
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("cc-executor: {e}"),
        }
    } else {
        print_report(&report);
    }
    if report.ok { EXIT_OK } else { EXIT_FAILED }
}

fn print_report(r: &Report) {
    for c in &r.checks {
        println!(
            "{} {:<9} {}",
            if c.ok { "ok  " } else { "FAIL" },
            c.name,
            c.detail
        );
    }
    let p = &r.policy;
    println!(
        "config    {}",
        r.config_file
            .as_deref()
            .unwrap_or("none (defaults, flags and environment)")
    );
    println!(
        "policy    permission mode {} (allowed: {}); bypassPermissions {}",
        p.default_permission_mode,
        p.allowed_permission_modes
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        if p.allow_bypass_permissions {
            "allowed"
        } else {
            "refused"
        }
    );
    println!(
        "          roots: {}; default cwd: {}",
        p.allowed_roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        p.default_cwd.display()
    );
    println!(
        "          models: {}",
        if p.allowed_models.is_empty() {
            "any".to_string()
        } else {
            p.allowed_models.join(", ")
        }
    );
    println!(
        "auth      {}",
        match (r.anthropic_api_key_set, r.pass_api_key) {
            (true, true) => "ANTHROPIC_API_KEY is set and passed to claude",
            (true, false) => "ANTHROPIC_API_KEY is set but removed: claude uses its own login",
            (false, _) => "claude uses its own login (no ANTHROPIC_API_KEY)",
        }
    );
}
