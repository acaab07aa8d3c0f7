//! Is a service running, and where? A running `serve` keeps a small state file in its data
//! dir (`serve/state.json`: its process, URL, surfaces, start time), written owner-only when
//! it starts listening and removed when it exits cleanly. Anyone on the same data dir reads
//! it, checks that the process recorded is alive (pid *and* start time, so a recycled pid is
//! never taken for it), and asks the URL's `/health`. That answers `cc-executor serve status`
//! and a stdio server's `check_websocket_status` ([`Probe`]); the service itself answers from
//! memory ([`InProcess`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::health::Health;
use super::{ServeError, ServeState};
use crate::mcp::check_websocket_status::{NetworkService, ServiceReport};
use crate::process::owner::{self, Liveness};
use crate::types::run::RunOwner;

/// What the state file says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StateFile {
    /// The serving process (host, pid, pid start time).
    pub owner: RunOwner,
    /// Where a client on this machine reaches it (`http://127.0.0.1:8003`).
    pub url: String,
    /// The address it listens on.
    pub listen: String,
    pub surfaces: Vec<String>,
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// The file its token is kept in, when it uses the token file (not a token given on its
    /// command line or in the environment): where `cc-executor pause|resume|cancel` read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
}

/// `<data_dir>/serve/state.json`.
pub fn state_path(data_dir: &Path) -> PathBuf {
    data_dir.join("serve").join("state.json")
}

/// The state file, if there is a readable one.
pub fn read(data_dir: &Path) -> Option<StateFile> {
    let text = std::fs::read_to_string(state_path(data_dir)).ok()?;
    serde_json::from_str(&text).ok()
}

/// The URL a local client uses for a service listening on `addr` (an unspecified address is
/// reached on loopback).
pub fn local_url(addr: std::net::SocketAddr) -> String {
    let ip = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => std::net::Ipv4Addr::LOCALHOST.into(),
        ip if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    format!("http://{}", std::net::SocketAddr::new(ip, addr.port()))
}

/// Refuses to start when a live service already serves this data dir.
pub fn check_not_running(data_dir: &Path) -> Result<(), ServeError> {
    match read(data_dir) {
        Some(s) if matches!(owner::liveness(&s.owner), Liveness::Alive) => {
            Err(ServeError::AlreadyRunning {
                pid: s.owner.pid,
                url: s.url,
            })
        }
        _ => Ok(()),
    }
}

/// Writes the state file of the service `state` (atomically, owner-only).
pub fn write(state: &ServeState) -> Result<PathBuf, ServeError> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = state_path(&state.executor().config().data_dir);
    let err = |source| ServeError::StateFile {
        path: path.clone(),
        source,
    };
    let record = StateFile {
        owner: owner::current(),
        url: local_url(state.local_addr()),
        listen: state.local_addr().to_string(),
        surfaces: state.surfaces().iter().map(|s| s.to_string()).collect(),
        started_at: state.started_at(),
        token_file: (state.settings().token.is_none() && !state.settings().no_auth)
            .then(|| state.settings().token_file.clone()),
    };
    let text = serde_json::to_vec_pretty(&record).map_err(|e| err(std::io::Error::other(e)))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension(format!("json.{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(err)?;
    std::io::Write::write_all(&mut file, &text).map_err(err)?;
    std::fs::rename(&tmp, &path).map_err(err)?;
    Ok(path)
}

/// Removes the state file if it is still this process's.
pub fn remove(data_dir: &Path) {
    if read(data_dir).is_some_and(|s| owner::liveness(&s.owner) == Liveness::Us) {
        let _ = std::fs::remove_file(state_path(data_dir));
    }
}

/// `GET /health` of the service at `url` (`http://ip:port`), bounded by `limit`.
pub async fn probe_health(url: &str, limit: Duration) -> Result<Health, String> {
    let reply = super::client::send(url, "GET", "/health", None, limit)
        .await
        .map_err(|e| e.to_string())?;
    if reply.status != 200 {
        return Err(format!("/health answered {}", reply.status));
    }
    serde_json::from_str::<Health>(reply.body.trim())
        .map_err(|e| format!("/health is not cc-executor's: {e}"))
}

/// What is known of a service on `data_dir` from outside it.
pub async fn probe(data_dir: &Path) -> ServiceReport {
    let Some(file) = read(data_dir) else {
        return ServiceReport {
            state: "not running".into(),
            ..Default::default()
        };
    };
    if owner::liveness(&file.owner) == Liveness::Gone {
        return ServiceReport {
            state: "not running".into(),
            ..Default::default()
        };
    }
    let mut report = ServiceReport {
        state: "unreachable".into(),
        url: Some(file.url.clone()),
        surfaces: file.surfaces.clone(),
        pid: Some(file.owner.pid),
        ..Default::default()
    };
    if let Ok(health) = probe_health(&file.url, Duration::from_secs(2)).await {
        report.state = "running elsewhere".into();
        report.uptime_secs = Some(health.uptime_secs);
        report.surfaces = health.surfaces;
    }
    report
}

/// The service in this very process.
pub struct InProcess {
    state: ServeState,
}

impl InProcess {
    pub fn new(state: ServeState) -> InProcess {
        InProcess { state }
    }
}

#[async_trait::async_trait]
impl NetworkService for InProcess {
    async fn report(&self) -> ServiceReport {
        ServiceReport {
            state: "running".into(),
            url: Some(local_url(self.state.local_addr())),
            surfaces: self
                .state
                .surfaces()
                .iter()
                .map(|s| s.to_string())
                .collect(),
            connections: Some(self.state.connections().open()),
            uptime_secs: Some(self.state.uptime().as_secs()),
            pid: Some(std::process::id()),
        }
    }
}

/// A service on a data dir, seen from another process (a stdio server).
pub struct Probe {
    data_dir: PathBuf,
}

impl Probe {
    pub fn new(data_dir: PathBuf) -> Probe {
        Probe { data_dir }
    }
}

#[async_trait::async_trait]
impl NetworkService for Probe {
    async fn report(&self) -> ServiceReport {
        probe(&self.data_dir).await
    }
}
