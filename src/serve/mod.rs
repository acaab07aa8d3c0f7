//! `cc-executor serve`: one network service over the one [`Executor`] — every surface queues
//! into the same FIFO line as the others (and as a stdio server's would, were it this process).
//!
//! Each surface is a file that takes the shared [`ServeState`] and returns an
//! [`axum::Router`]; [`router`] merges the enabled ones under the layers every request passes
//! through, outermost first:
//!
//! 1. the connection limit ([`limits::LimitedListener`]: one connection over
//!    `serve.max_connections` is answered 503 and closed);
//! 2. `Host` and `Origin` ([`guard`]: DNS-rebinding protection, 421/403);
//! 3. the bearer token ([`auth`]: 401) — on every route but `/health`;
//! 4. the surface itself; task submissions pass the per-token rate limit
//!    ([`ServeState::admit_submission`]: 429 with `Retry-After`) and take their place in line
//!    as they arrive ([`mcp_http`]).
//!
//! Surfaces: [`mcp_http`] (`/mcp`, MCP Streamable HTTP), [`ws`] (`/ws/mcp`, the predecessor's
//! WebSocket JSON-RPC), [`rest`] (`/api/v1`), [`health`] (`/health`). Another surface plugs in
//! the same way: a `fn router(state: ServeState) -> Router` in its own file, a [`Surface`]
//! variant, and one line in [`router`].
//!
//! Refusals are `application/problem+json` ([`problem`]) with the reason in `detail`.
//! [`status`] keeps the state file that tells other processes a service runs (and where), and
//! answers `cc-executor serve status` and `check_websocket_status`; [`shutdown`] is what
//! SIGTERM/SIGINT do.

pub mod auth;
pub mod client;
pub mod guard;
pub mod health;
pub mod limits;
pub mod mcp_http;
pub mod problem;
pub mod remote;
pub mod rest;
pub mod shutdown;
pub mod status;
pub mod ws;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::{ServeConfig, Surface};
use crate::exec::Executor;
use crate::runs::RunService;

/// Errors of starting or running the service.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot use the token file {path}: {source}")]
    TokenFile {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the token file {path} is readable by others (mode {mode:o}); make it owner-only: chmod 600 {path}"
    )]
    TokenFileOpen { path: std::path::PathBuf, mode: u32 },
    #[error("cannot write the service's state file {path}: {source}")]
    StateFile {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "a service already runs on this data dir (pid {pid}, {url}); stop it first or use another --data-dir"
    )]
    AlreadyRunning { pid: u32, url: String },
    #[error(transparent)]
    Unsafe(#[from] crate::config::ConfigError),
    #[error("cannot install signal handlers: {0}")]
    Signals(#[source] std::io::Error),
    #[error("the server failed: {0}")]
    Server(#[source] std::io::Error),
}

/// What every surface shares: the one executor and run service, the resolved settings, the
/// address actually bound, when the service started, its connection counters, the rate limiter
/// and the shutdown signal. Cheap to clone.
#[derive(Clone)]
pub struct ServeState {
    inner: Arc<Inner>,
}

struct Inner {
    executor: Executor,
    runs: RunService,
    settings: ServeConfig,
    token: Option<auth::Token>,
    local_addr: SocketAddr,
    started: tokio::time::Instant,
    started_at: chrono::DateTime<chrono::Utc>,
    connections: Connections,
    submissions: limits::RateLimiter,
    shutdown: CancellationToken,
}

/// Connection counters (the listener keeps them).
#[derive(Default)]
pub struct Connections {
    open: AtomicU64,
    total: AtomicU64,
    refused: AtomicU64,
}

impl Connections {
    /// Open now.
    pub fn open(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }
    /// Accepted since start.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
    /// Refused over the limit since start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

impl ServeState {
    /// The state of a service bound to `local_addr`. `token`: what requests must present
    /// (`None` only with `no_auth`).
    pub fn new(
        executor: Executor,
        runs: RunService,
        settings: ServeConfig,
        token: Option<auth::Token>,
        local_addr: SocketAddr,
    ) -> ServeState {
        let submissions =
            limits::RateLimiter::new(settings.submit_per_minute, settings.submit_burst);
        ServeState {
            inner: Arc::new(Inner {
                executor,
                runs,
                settings,
                token,
                local_addr,
                started: tokio::time::Instant::now(),
                started_at: chrono::Utc::now(),
                connections: Connections::default(),
                submissions,
                shutdown: CancellationToken::new(),
            }),
        }
    }

    pub fn executor(&self) -> &Executor {
        &self.inner.executor
    }

    pub fn runs(&self) -> &RunService {
        &self.inner.runs
    }

    pub fn settings(&self) -> &ServeConfig {
        &self.inner.settings
    }

    /// The token requests must present (`None`: `--no-auth`).
    pub fn token(&self) -> Option<&auth::Token> {
        self.inner.token.as_ref()
    }

    /// The address actually bound (the port is known even when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    /// `http://ADDR` of this service.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.inner.local_addr)
    }

    pub fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }

    pub fn started_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.inner.started_at
    }

    pub fn connections(&self) -> &Connections {
        &self.inner.connections
    }

    pub fn surfaces(&self) -> &[Surface] {
        &self.inner.settings.surfaces
    }

    /// Cancelled when the service shuts down: long-lived responses (SSE streams, later
    /// WebSocket connections) end on it.
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.inner.shutdown
    }

    /// May the caller who presented `key` (see [`auth::rate_key`]) submit one more task now?
    /// `Err(wait)`: not before `wait` has passed (the 429's `Retry-After`). Every surface
    /// calls this before a submission takes its place in line.
    pub fn admit_submission(&self, key: &str) -> Result<(), Duration> {
        self.inner.submissions.admit(key)
    }
}

/// The service's router: every enabled surface, then the guard layers (see the module docs).
pub fn router(state: ServeState) -> axum::Router {
    let mut app = axum::Router::new();
    for surface in state.surfaces() {
        app = app.merge(match surface {
            Surface::Mcp => mcp_http::router(state.clone()),
            Surface::Ws => ws::router(state.clone()),
            Surface::Rest => rest::router(state.clone()),
        });
    }
    app = app.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        auth::require_token,
    ));
    // `/health` needs no token (probes and load balancers have none); Host and Origin are
    // checked for it as for everything else.
    app.merge(health::router(state.clone()))
        .layer(axum::middleware::from_fn_with_state(
            state,
            guard::check_host_and_origin,
        ))
}

/// Binds `settings.listen`, serves until SIGTERM/SIGINT, then shuts down as [`shutdown`]
/// says. The token is resolved (and generated on first use: then it is in the token file, and
/// shown nowhere — the CLI shows it once, see `cli/serve.rs`) before anything listens.
pub async fn serve(executor: Executor, settings: ServeConfig) -> Result<(), ServeError> {
    let resolved = auth::resolve_token(&settings)?;
    let running = shutdown::Running::start(executor, settings, resolved.token).await?;
    running.until_signal().await
}
