//! What every REST handler does with a request before the work: read the body within the
//! service's limit (413), parse it into the request type naming the field that is wrong
//! (400 for text that is not JSON, 422 for JSON of the wrong shape), parse ids (400), admit a
//! submission under the per-token rate (429 with `Retry-After`), and the problems for unknown
//! paths and methods.

use axum::body::{Body, Bytes};
use axum::extract::OriginalUri;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::super::ServeState;
use super::super::problem::{Problem, problem, too_many};

/// Reads the whole body, refusing one over `serve.max_body_kib` (by its `Content-Length`
/// before reading, or while reading).
pub async fn read_body(
    state: &ServeState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Bytes, Response> {
    let limit = state.settings().max_body_bytes();
    let too_large = || {
        problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than {limit} bytes (serve.max_body_kib = {}); send a smaller task or raise the limit",
                state.settings().max_body_kib
            ),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())
}

/// The body as a `T`: 400 when it is not JSON at all, 422 when it is JSON of the wrong shape
/// — naming the field (`timeout_secs: invalid type: string "x", expected i64`, `unknown
/// field `taks``, `missing field `task``).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, Problem> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            format!("the body is empty: send {what} as JSON (Content-Type: application/json)"),
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            format!("the body is not valid JSON ({e}): send {what} as JSON"),
        )
    })?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let detail = if path == "." || path.is_empty() {
            format!("the body is not {what}: {inner}")
        } else {
            format!("the body is not {what}: field `{path}`: {inner}")
        };
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
    })
}

/// An id from the path; 400 naming the parameter when it is not a UUID.
pub fn parse_id(what: &str, text: &str) -> Result<Uuid, Problem> {
    Uuid::parse_str(text.trim()).map_err(|_| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            format!("`{text}` is not {what} id: ids are UUIDs such as 0b6f9a9e-6c1d-4f0e-9d7e-2a1c3b4d5e6f"),
        )
    })
}

/// Admits one more task submission for the caller who sent `headers`; `Some`: the refusal,
/// 429 with `Retry-After`.
pub fn admit(state: &ServeState, headers: &HeaderMap, what: &str) -> Option<Response> {
    state
        .admit_submission(&super::super::auth::rate_key(headers))
        .err()
        .map(|wait| {
            tracing::info!("refused: 429 for a REST {what} (submission rate)");
            too_many(
                format!(
                    "too many task submissions: at most {} per minute (bursts of {}) per token \
                     (serve.submit_per_minute, serve.submit_burst); retry after the time in Retry-After",
                    state.settings().submit_per_minute,
                    state.settings().submit_burst
                ),
                wait,
            )
        })
}

/// A query string that does not parse (axum's rejection names the field).
pub fn bad_query(rejection: axum::extract::rejection::QueryRejection) -> Response {
    problem(StatusCode::BAD_REQUEST, rejection.body_text())
}

/// Any path below `/api/v1` that is not a route.
pub async fn not_found(OriginalUri(uri): OriginalUri) -> Response {
    problem(
        StatusCode::NOT_FOUND,
        format!(
            "{} is not a route of this API; the routes are listed in {}/openapi.json",
            uri.path(),
            super::PREFIX
        ),
    )
}

/// A route asked with a method it does not have.
pub async fn method_not_allowed(
    method: axum::http::Method,
    OriginalUri(uri): OriginalUri,
) -> Response {
    problem(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{method} is not allowed on {}; the methods of each route are listed in {}/openapi.json",
            uri.path(),
            super::PREFIX
        ),
    )
}
