//! `cc-executor doctor`: is `claude` installed and really Claude Code (which version), does it
//! have a credential and who pays (its own login or the API key, and why), is the data dir
//! writable, what does the policy allow. Exit code 0 only when everything needed to run a task
//! is in place: a `claude` that is not Claude Code, or one that is not logged in while no API
//! key is passed, is a failure (exit 1), because every task would fail.

use clap::Args;
use serde::Serialize;

use super::{EXIT_FAILED, EXIT_OK};
use crate::config::{Config, Policy};
use crate::exec::Executor;
use crate::exec::probe::{self, Credential, LoginCheck, Uses};

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
    /// Deprecated settings in use.
    pub warnings: Vec<String>,
    pub policy: Policy,
    /// Who pays; null when `claude` is not usable (then its login is not asked).
    pub credential: Option<Credential>,
    /// The network service (`cc-executor serve`): its settings and whether one runs.
    pub serve: ServeReport,
}

/// `cc-executor serve` as doctor sees it.
#[derive(Debug, Serialize)]
pub struct ServeReport {
    pub listen: String,
    pub surfaces: Vec<String>,
    /// Where the token comes from: `configured`, `token file` (exists), `generated on first
    /// start`, or `none (--no-auth)`; never the token.
    pub token: String,
    pub token_file: String,
    /// A service on this data dir: `running elsewhere` (with its URL), `not running`, …
    pub service: crate::mcp::check_websocket_status::ServiceReport,
}

pub async fn doctor(config: Config, args: DoctorArgs) -> u8 {
    let mut checks = Vec::new();
    let claude = probe::probe(&config.claude_bin).await;
    let usable = claude.is_ok();
    checks.push(match claude {
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
    // Only a binary that answered as Claude Code is run with `auth status`: an arbitrary
    // program given as --claude-bin must not be run with arguments it does not know.
    let credential = if usable {
        Some(probe::credential(&config, LoginCheck::Always).await)
    } else {
        None
    };
    checks.push(match &credential {
        Some(c) => Check {
            name: "auth",
            ok: c.uses != Uses::Nothing,
            detail: c.reason.clone(),
        },
        None => Check {
            name: "auth",
            ok: false,
            detail: format!(
                "not checked: claude is not usable (api_key = {}, ANTHROPIC_API_KEY {})",
                config.api_key,
                if std::env::var_os(probe::API_KEY_VAR).is_some() {
                    "set"
                } else {
                    "not set"
                }
            ),
        },
    });
    let data_dir = config.data_dir.display().to_string();
    let serve = serve_report(&config).await;
    let config_file = config.config_file.as_ref().map(|p| p.display().to_string());
    let policy = config.policy.clone();
    let warnings = config.warnings.clone();
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
    if let Some(url) = &config.redis_url {
        checks.push(redis_persistence(&config, url).await);
    }
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
        warnings,
        policy,
        credential,
        serve,
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

/// Whether the Redis (history, and with `placement = pool` the queues) keeps what it
/// acknowledged across a crash. Without AOF a pool can lose queued tasks: a failure there;
/// for the history alone it is said, not failed (the outbox covers Redis being away, not
/// Redis forgetting).
async fn redis_persistence(config: &Config, url: &str) -> Check {
    let pooled = config.placement == crate::config::Placement::Pool;
    let found = match crate::pool::Pool::connect(url, &config.redis_prefix, 1) {
        Ok(pool) => {
            tokio::time::timeout(std::time::Duration::from_secs(5), pool.persistence()).await
        }
        Err(e) => {
            return Check {
                name: "redis_persistence",
                ok: false,
                detail: e.to_string(),
            };
        }
    };
    match found {
        Ok(Ok(p)) => Check {
            name: "redis_persistence",
            ok: p.durable() || !pooled,
            detail: p.consequence(),
        },
        Ok(Err(e)) => Check {
            name: "redis_persistence",
            ok: !pooled,
            detail: format!("cannot read the persistence settings (CONFIG GET): {e}"),
        },
        Err(_) => Check {
            name: "redis_persistence",
            ok: !pooled,
            detail: "cannot read the persistence settings: Redis did not answer in 5 s".into(),
        },
    }
}

async fn serve_report(config: &Config) -> ServeReport {
    let s = &config.serve;
    let token = if s.no_auth {
        "none (--no-auth)"
    } else if s.token.is_some() {
        "configured"
    } else if s.token_file.exists() {
        "token file"
    } else {
        "generated on first start"
    };
    ServeReport {
        listen: s.listen.to_string(),
        surfaces: s.surfaces.iter().map(|x| x.to_string()).collect(),
        token: token.into(),
        token_file: s.token_file.display().to_string(),
        service: crate::serve::status::probe(&config.data_dir).await,
    }
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
    let s = &r.serve;
    println!(
        "serve     {} ({}); token: {} ({}); {}{}",
        s.listen,
        s.surfaces.join(", "),
        s.token,
        s.token_file,
        s.service.state,
        s.service
            .url
            .as_deref()
            .map(|u| format!(" at {u}"))
            .unwrap_or_default()
    );
    for w in &r.warnings {
        println!("warning   {w}");
    }
}
