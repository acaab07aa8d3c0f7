//! The service itself: `GET /health` (what `check_websocket_status` reports — the `claude`
//! binary and its version, executions running and queued, runs, the history store, uptime, and
//! this service's address, surfaces and connections) and `GET /auth/status` (can tasks
//! authenticate, and with which kind of credential — never the credential).
//!
//! Unlike the token-free `/health` at the root, both need the token: they say what runs on
//! this machine and how it pays.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::Rest;
use super::executions::tool_answer;
use super::openapi::Refusals;
use super::types::AuthStatus;
use crate::exec::probe::{self, Credential, KeySource, LoginCheck, Uses};

/// The service's health: `check_websocket_status`'s answer (`status` is `ok`, or `degraded`
/// when `claude` cannot be run or the store is degraded).
#[utoipa::path(
    get,
    path = "/api/v1/health",
    tag = "service",
    responses(
        (status = 200, description = "Queue, store, claude, uptime, the service", body = crate::mcp::check_websocket_status::HealthOutput),
        Refusals,
    )
)]
pub async fn health(State(rest): State<Rest>) -> Response {
    tool_answer(
        rest.tools.check_websocket_status().await,
        StatusCode::INTERNAL_SERVER_ERROR,
    )
}

/// Is Claude Code logged in, and which credential will tasks use: its own login (a
/// subscription, a token, a helper, a provider) or an `ANTHROPIC_API_KEY` — as `doctor`
/// reports it. Holds no secret.
#[utoipa::path(
    get,
    path = "/api/v1/auth/status",
    tag = "service",
    responses(
        (status = 200, description = "Who pays for tasks, and why", body = AuthStatus),
        Refusals,
    )
)]
pub async fn auth_status(State(rest): State<Rest>) -> Response {
    let credential = probe::credential(rest.serve.executor().config(), LoginCheck::Always).await;
    Json(auth(credential)).into_response()
}

/// The answer for `credential`.
fn auth(credential: Credential) -> AuthStatus {
    let source = match credential.uses {
        Uses::OwnLogin => credential
            .login
            .as_ref()
            .map(|l| l.describe())
            .unwrap_or_else(|| "Claude Code's own login".into()),
        Uses::ApiKey => match credential.api_key {
            Some(KeySource::ConfigEnv) => "ANTHROPIC_API_KEY from the config's [env] section".into(),
            _ => "ANTHROPIC_API_KEY from the environment".into(),
        },
        Uses::Nothing => "nothing: tasks fail with \"Not logged in\"; run `claude` and log in, or set ANTHROPIC_API_KEY".into(),
        Uses::Unchecked => "not checked".into(),
    };
    AuthStatus {
        authenticated: matches!(credential.uses, Uses::OwnLogin | Uses::ApiKey),
        source,
        credential,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ApiKeyMode;

    #[test]
    fn unchecked_is_not_claimed_as_authenticated() {
        let a = auth(probe::decide(ApiKeyMode::Auto, None, None));
        assert!(!a.authenticated);
        assert_eq!(a.source, "not checked");
    }

    #[test]
    fn an_api_key_names_where_it_comes_from_never_its_value() {
        let a = auth(probe::decide(
            ApiKeyMode::Pass,
            Some(KeySource::Environment),
            None,
        ));
        assert!(a.authenticated);
        assert!(a.source.contains("environment"), "{}", a.source);
    }
}
