//! Starting and stopping the service.
//!
//! Start: refuse when a live service already serves this data dir, bind, write the state
//! file. Stop (SIGTERM or SIGINT), in this order, as `cc-executor mcp` does:
//!
//! 1. stop accepting connections (axum's graceful shutdown);
//! 2. stop every queued and running task (process trees: SIGTERM → grace → SIGKILL; each is
//!    recorded in the history with its status, `cancelled`), so their calls answer;
//! 3. give those answers a moment to go out, then end every open stream and session;
//! 4. remove the state file and return (the binary exits 0).

use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::auth::Token;
use super::limits::LimitedListener;
use super::{ServeError, ServeState, status};
use crate::config::ServeConfig;
use crate::exec::Executor;
use crate::runs::RunService;

/// Longest the answers of stopped tasks are waited for before streams are cut.
const ANSWER_GRACE: Duration = Duration::from_secs(2);

/// A bound, listening service.
pub struct Running {
    state: ServeState,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    stop_accepting: CancellationToken,
}

impl Running {
    /// Binds `settings.listen` and starts serving (the state file is written once bound).
    pub async fn start(
        executor: Executor,
        settings: ServeConfig,
        token: Option<Token>,
    ) -> Result<Running, ServeError> {
        let data_dir = executor.config().data_dir.clone();
        status::check_not_running(&data_dir)?;
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| ServeError::Bind {
                    addr: settings.listen,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| ServeError::Bind {
            addr: settings.listen,
            source,
        })?;
        let runs = RunService::new(executor.clone());
        let state = ServeState::new(executor, runs, settings, token, local_addr);
        status::write(&state)?;
        let app = super::router(state.clone());
        let stop_accepting = CancellationToken::new();
        let stop = stop_accepting.clone();
        let listener = LimitedListener::new(listener, state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        });
        tracing::info!(
            "listening on {} ({})",
            status::local_url(local_addr),
            state
                .surfaces()
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        Ok(Running {
            state,
            server,
            stop_accepting,
        })
    }

    pub fn state(&self) -> &ServeState {
        &self.state
    }

    /// Serves until SIGTERM or SIGINT (or the server fails), then shuts down.
    pub async fn until_signal(self) -> Result<(), ServeError> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut sigint = signal(SignalKind::interrupt()).map_err(ServeError::Signals)?;
        let mut sigterm = signal(SignalKind::terminate()).map_err(ServeError::Signals)?;
        let Running {
            state,
            mut server,
            stop_accepting,
        } = self;
        let failed = tokio::select! {
            _ = sigint.recv() => { tracing::info!("SIGINT: shutting down"); None }
            _ = sigterm.recv() => { tracing::info!("SIGTERM: shutting down"); None }
            r = &mut server => Some(match r {
                Ok(Ok(())) => std::io::Error::other("the server stopped"),
                Ok(Err(e)) => e,
                Err(e) => std::io::Error::other(e),
            }),
        };
        // A server that ended is not waited for again.
        let running = if failed.is_none() {
            Some(&mut server)
        } else {
            None
        };
        stop(&state, &stop_accepting, running).await;
        match failed {
            Some(e) => Err(ServeError::Server(e)),
            None => Ok(()),
        }
    }
}

/// Steps 1–4 of the module docs.
async fn stop(
    state: &ServeState,
    stop_accepting: &CancellationToken,
    server: Option<&mut tokio::task::JoinHandle<std::io::Result<()>>>,
) {
    stop_accepting.cancel();
    let (running, queued) = state.executor().queue_counts();
    if running + queued > 0 {
        tracing::warn!("stopping {running} running and {queued} queued execution(s)");
    }
    crate::mcp::stop_tasks(state.executor()).await;
    if let Some(server) = server {
        let answered = tokio::time::timeout(ANSWER_GRACE, &mut *server)
            .await
            .is_ok();
        state.shutdown_token().cancel();
        if !answered
            && tokio::time::timeout(Duration::from_secs(5), &mut *server)
                .await
                .is_err()
        {
            tracing::warn!("some connections did not close within 5 s");
            server.abort();
        }
    } else {
        state.shutdown_token().cancel();
    }
    status::remove(&state.executor().config().data_dir);
}
