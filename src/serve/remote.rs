//! Acting on a running service from another process: `cc-executor pause|resume|cancel ID`.
//!
//! Only the process that runs a task can stop its processes, so these commands ask the
//! service: they find it through its state file (the data dir's `serve/state.json`, checked
//! alive), take the token the way the service does — the configured one (`CC_EXECUTOR_TOKEN`,
//! `[serve] token`), else its token file, never generating one — and call its REST API
//! (`POST /api/v1/executions/{id}/pause|resume`, `DELETE …/executions/{id}` or
//! `…/runs/{id}`). Every way this can fail has its own error saying what to do.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use uuid::Uuid;

use super::client::{self, ClientError};
use super::{ServeError, auth, status};
use crate::config::{Config, Surface};
use crate::process::owner::{self, Liveness};

/// How long one call may take (a pause waits up to 5 s for the process tree to follow; a
/// cancel for the tree to be gone, SIGTERM then `kill_grace_ms` then SIGKILL).
const CALL_LIMIT: Duration = Duration::from_secs(120);

/// What to do to an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Pause,
    Resume,
    /// An execution, or a run (its running task stopped, the run resumable).
    Cancel,
}

/// Why the service could not do it.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error(
        "no cc-executor serve is running on the data dir {data_dir}: start one with `cc-executor serve` (on the same --data-dir), submit the task there, then try again"
    )]
    NotRunning { data_dir: PathBuf },
    #[error("the service on this data dir (pid {pid}, {url}) does not answer: {source}")]
    Unreachable {
        pid: u32,
        url: String,
        #[source]
        source: ClientError,
    },
    #[error(
        "the service at {url} does not offer the REST API this command uses (its surfaces: {surfaces}); restart it with rest among --surfaces"
    )]
    NoRest { url: String, surfaces: String },
    #[error(transparent)]
    TokenFile(#[from] ServeError),
    #[error(
        "the service at {url} refused the token ({detail}); set CC_EXECUTOR_TOKEN (or [serve] token, or CC_EXECUTOR_TOKEN_FILE) to the token it was started with"
    )]
    TokenRefused { url: String, detail: String },
    #[error("{detail}")]
    Unknown { id: Uuid, detail: String },
    #[error("the service refused ({status}): {detail}")]
    Refused { status: u16, detail: String },
}

impl RemoteError {
    /// The HTTP status the service answered with, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            RemoteError::TokenRefused { .. } => Some(401),
            RemoteError::Unknown { .. } => Some(404),
            RemoteError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A live service on a data dir, and the token to present to it.
pub struct Remote {
    url: String,
    pid: u32,
    token: Option<auth::Token>,
}

impl Remote {
    /// The service serving `config`'s data dir, with the token from `config` or its token file.
    pub fn find(config: &Config) -> Result<Remote, RemoteError> {
        let not_running = || RemoteError::NotRunning {
            data_dir: config.data_dir.clone(),
        };
        let file = status::read(&config.data_dir).ok_or_else(not_running)?;
        if owner::liveness(&file.owner) == Liveness::Gone {
            return Err(not_running());
        }
        if !file.surfaces.iter().any(|s| s == Surface::Rest.as_str()) {
            return Err(RemoteError::NoRest {
                url: file.url,
                surfaces: file.surfaces.join(", "),
            });
        }
        let token = match &config.serve.token {
            Some(t) => Some(auth::Token::new(t.clone())),
            None => {
                let path = file
                    .token_file
                    .clone()
                    .unwrap_or_else(|| config.serve.token_file.clone());
                auth::read_token_file(&path)?
            }
        };
        Ok(Remote {
            url: file.url,
            pid: file.owner.pid,
            token,
        })
    }

    /// The service's URL (`http://127.0.0.1:8003`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Asks the service to `action` execution (or, for a cancel, run) `id`; its answer (the
    /// REST API's JSON: `outcome`, `message`, …).
    pub async fn act(&self, action: Action, id: Uuid) -> Result<Value, RemoteError> {
        let base = super::rest::PREFIX;
        let (method, path) = match action {
            Action::Pause => ("POST", format!("{base}/executions/{id}/pause")),
            Action::Resume => ("POST", format!("{base}/executions/{id}/resume")),
            Action::Cancel => ("DELETE", format!("{base}/executions/{id}")),
        };
        match self.call(method, &path, id).await {
            // Not an execution: a cancel may name a run.
            Err(RemoteError::Unknown { .. }) if action == Action::Cancel => {
                self.call("DELETE", &format!("{base}/runs/{id}"), id)
                    .await
                    .map_err(|e| match e {
                        RemoteError::Unknown { .. } => RemoteError::Unknown {
                            id,
                            detail: format!(
                                "unknown execution or run id {id}: it never ran on this service's data dir, or its record was removed"
                            ),
                        },
                        other => other,
                    })
            }
            other => other,
        }
    }

    async fn call(&self, method: &str, path: &str, id: Uuid) -> Result<Value, RemoteError> {
        let token = self.token.as_ref().map(auth::Token::expose);
        let reply = client::send(&self.url, method, path, token, CALL_LIMIT)
            .await
            .map_err(|source| RemoteError::Unreachable {
                pid: self.pid,
                url: self.url.clone(),
                source,
            })?;
        let body: Value = serde_json::from_str(reply.body.trim()).unwrap_or(Value::Null);
        let detail = body["detail"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| reply.body.trim().to_string());
        match reply.status {
            200 => Ok(body),
            401 => Err(RemoteError::TokenRefused {
                url: self.url.clone(),
                detail: if self.token.is_some() {
                    "the token presented is not the service's".into()
                } else {
                    "no token was found to present".into()
                },
            }),
            404 => Err(RemoteError::Unknown { id, detail }),
            status => Err(RemoteError::Refused { status, detail }),
        }
    }
}
