//! `cc-executor serve`: the network service (MCP Streamable HTTP at `/mcp`) over one executor
//! — and `cc-executor serve status`: is one running on this data dir, and where. Thin: the
//! service is `crate::serve`; this file maps flags to settings and prints.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{EXIT_FAILED, EXIT_OK};
use crate::config::{Config, ServeOverrides, Surface};

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(subcommand)]
    pub action: Option<ServeAction>,
    /// Address and port to listen on. A non-loopback address needs a token. Default:
    /// 127.0.0.1:8003.
    #[arg(long, env = "CC_EXECUTOR_LISTEN", value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// The bearer token clients must send. Default: the one in the token file, generated there
    /// (owner-only) on the first start and printed once.
    #[arg(
        long,
        env = "CC_EXECUTOR_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// Where the generated token is kept. Default: `<data dir>/serve/token`.
    #[arg(long, env = "CC_EXECUTOR_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// A browser origin allowed to call the service (repeatable; `:*` for any port). Default:
    /// `http://127.0.0.1:*`, `http://localhost:*`, `http://[::1]:*`. Requests without Origin pass.
    #[arg(
        long = "allowed-origin",
        env = "CC_EXECUTOR_ALLOWED_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGIN"
    )]
    pub allowed_origins: Option<Vec<String>>,
    /// A Host name the service answers to besides the loopback names (repeatable): the DNS
    /// name it is reached by when exposed.
    #[arg(
        long = "allowed-host",
        env = "CC_EXECUTOR_ALLOWED_HOSTS",
        value_delimiter = ',',
        value_name = "HOST"
    )]
    pub allowed_hosts: Option<Vec<String>>,
    /// Surfaces to offer (comma-separated): mcp (/mcp), ws (/ws/mcp), rest (/api/v1). Default:
    /// all.
    #[arg(
        long,
        env = "CC_EXECUTOR_SURFACES",
        value_delimiter = ',',
        value_name = "LIST"
    )]
    pub surfaces: Option<Vec<Surface>>,
    /// Open connections at once. Default: 64.
    #[arg(long, env = "CC_EXECUTOR_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Largest request body in KiB. Default: 4096.
    #[arg(long, env = "CC_EXECUTOR_MAX_BODY_KIB", value_name = "KIB")]
    pub max_body_kib: Option<usize>,
    /// Task submissions per minute per token. Default: 60.
    #[arg(long, env = "CC_EXECUTOR_SUBMIT_PER_MINUTE", value_name = "N")]
    pub submit_per_minute: Option<u32>,
    /// Submissions a token may make at once before the rate applies. Default: 10.
    #[arg(long, env = "CC_EXECUTOR_SUBMIT_BURST", value_name = "N")]
    pub submit_burst: Option<u32>,
    /// Close a WebSocket client silent (no message, ping or pong) this many seconds; the
    /// server pings at a third of it. Default: 60.
    #[arg(long, env = "CC_EXECUTOR_WS_IDLE_SECS", value_name = "SECS")]
    pub ws_idle_secs: Option<u64>,
    /// No token (loopback addresses only): for the MCP conformance suite and local
    /// experiments. Anyone on this machine can then run tasks.
    #[arg(long)]
    pub no_auth: bool,
}

#[derive(Debug, Subcommand)]
pub enum ServeAction {
    /// Is a service running on this data dir, and where (its state file and /health).
    /// Exit 0 when one answers, 1 otherwise.
    Status {
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
}

impl ServeArgs {
    pub fn overrides(&self) -> ServeOverrides {
        ServeOverrides {
            listen: self.listen.clone(),
            token: self.token.clone(),
            token_file: self.token_file.clone(),
            allowed_origins: self.allowed_origins.clone(),
            allowed_hosts: self.allowed_hosts.clone(),
            surfaces: self.surfaces.clone(),
            max_connections: self.max_connections,
            max_body_kib: self.max_body_kib,
            submit_per_minute: self.submit_per_minute,
            submit_burst: self.submit_burst,
            ws_idle_secs: self.ws_idle_secs,
            no_auth: self.no_auth,
        }
    }
}

/// The `serve` settings from the environment alone (`CC_EXECUTOR_LISTEN`, …), for commands
/// other than `serve` that show them (`doctor`, `init`); unreadable values are left out there
/// (`serve` itself reports them).
pub fn env_overrides() -> ServeOverrides {
    #[derive(clap::Parser)]
    struct FromEnv {
        #[command(flatten)]
        args: ServeArgs,
    }
    <FromEnv as clap::Parser>::try_parse_from(["cc-executor"])
        .map(|f| f.args.overrides())
        .unwrap_or_default()
}

pub async fn serve(config: Config, args: ServeArgs) -> anyhow::Result<u8> {
    if let Some(ServeAction::Status { json }) = args.action {
        return Ok(status(&config, json).await);
    }
    let settings = config.serve.clone();
    let resolved = crate::serve::auth::resolve_token(&settings)?;
    if let (true, Some(token)) = (resolved.generated, &resolved.token) {
        // Shown once, on the terminal that started the service; never logged.
        eprintln!(
            "cc-executor: generated a token for this service (kept in {}, owner-only; shown only now):\n{}",
            settings.token_file.display(),
            token.expose()
        );
    }
    if settings.no_auth {
        eprintln!(
            "cc-executor: warning: --no-auth: anyone on this machine can run tasks through this service"
        );
    }
    let executor = super::open_executor(config).await?;
    let running =
        crate::serve::shutdown::Running::start(executor, settings, resolved.token).await?;
    let url = crate::serve::status::local_url(running.state().local_addr());
    eprintln!(
        "cc-executor: serving {} at {url} (MCP: {url}{}); SIGTERM or Ctrl-C stops it",
        running
            .state()
            .surfaces()
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        crate::serve::mcp_http::PATH
    );
    running.until_signal().await?;
    Ok(EXIT_OK)
}

async fn status(config: &Config, json: bool) -> u8 {
    let report = crate::serve::status::probe(&config.data_dir).await;
    let up = report.state == "running elsewhere";
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("cc-executor: {e}"),
        }
    } else if up {
        println!(
            "running: pid {}, {} (surfaces: {}), up {}s",
            report.pid.unwrap_or_default(),
            report.url.as_deref().unwrap_or("?"),
            report.surfaces.join(", "),
            report.uptime_secs.unwrap_or_default()
        );
    } else if report.state == "unreachable" {
        println!(
            "unreachable: pid {} is alive and recorded {}, but its /health does not answer",
            report.pid.unwrap_or_default(),
            report.url.as_deref().unwrap_or("?")
        );
    } else {
        println!(
            "not running (no live service on {})",
            config.data_dir.display()
        );
    }
    if up { EXIT_OK } else { EXIT_FAILED }
}
