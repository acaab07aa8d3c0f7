//! `/health`: is the service up — without a token, so probes, load balancers and
//! `cc-executor serve status` can ask. It says only what any caller who can reach the port may
//! know (that it runs, its version, surfaces and uptime); the queue, the store and the
//! `claude` binary are for callers with the token (`check_websocket_status` over `/mcp`, and
//! the REST surface's health when it is built). `Host` and `Origin` are checked as for every
//! route.

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::ServeState;

/// The path of the health endpoint.
pub const PATH: &str = "/health";

/// What `/health` answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// `cc-executor`: a probe knows it reached this service, not another on the port.
    pub service: String,
    pub version: String,
    pub surfaces: Vec<String>,
    pub uptime_secs: u64,
    pub pid: u32,
}

/// `/health` over `state`.
pub fn router(state: ServeState) -> axum::Router {
    axum::Router::new()
        .route(PATH, get(health))
        .with_state(state)
}

async fn health(State(state): State<ServeState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        service: crate::mcp::SERVER_NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        surfaces: state.surfaces().iter().map(|s| s.to_string()).collect(),
        uptime_secs: state.uptime().as_secs(),
        pid: std::process::id(),
    })
}
