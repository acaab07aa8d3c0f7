//! The bearer token: where it comes from, and the check every request but `/health` passes.
//!
//! The token is the configured one (`--token`, `CC_EXECUTOR_TOKEN`, `[serve] token`), else the
//! one in `serve.token_file` (default `<data_dir>/serve/token`), else a new one written there
//! owner-only (0600) on the first `serve` and shown once on stderr — so a service is never
//! without one unless `--no-auth` (loopback only) says so. The token is never logged.
//!
//! Comparison is in constant time: both sides are hashed (SHA-256, so their lengths do not
//! show either) and the digests compared with an xor-fold that looks at every byte. Eight
//! lines, no dependency; a crate such as `subtle` would add its optimisation barriers, which
//! matter little here because the compared values are digests, not the token itself.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};

use super::problem::problem;
use super::{ServeError, ServeState};
use crate::config::ServeConfig;

/// A bearer token. Its `Debug` hides it: it may end up in a log line by accident otherwise.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(token: impl Into<String>) -> Token {
        Token(token.into())
    }

    /// The token itself (to print it once, or to hand it to a client in a test).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Does `presented` equal this token? In constant time.
    pub fn matches(&self, presented: &str) -> bool {
        let a = Sha256::digest(self.0.as_bytes());
        let b = Sha256::digest(presented.as_bytes());
        let diff = a
            .iter()
            .zip(b.iter())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y));
        std::hint::black_box(diff) == 0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

/// The token the service requires, and whether it was just generated (then the caller shows
/// it once, with the file it is kept in).
#[derive(Debug)]
pub struct Resolved {
    /// `None`: `--no-auth`.
    pub token: Option<Token>,
    /// Set when the token was generated now.
    pub generated: bool,
}

/// The configured token, else the token file's, else a new one written to the token file.
/// First refuses settings that would expose the service (see
/// [`ServeConfig::check_exposure`]).
pub fn resolve_token(settings: &ServeConfig) -> Result<Resolved, ServeError> {
    settings.check_exposure(settings.token_file.exists())?;
    if settings.no_auth {
        return Ok(Resolved {
            token: None,
            generated: false,
        });
    }
    if let Some(t) = &settings.token {
        return Ok(Resolved {
            token: Some(Token::new(t.clone())),
            generated: false,
        });
    }
    let path = &settings.token_file;
    match read_token_file(path)? {
        Some(token) => Ok(Resolved {
            token: Some(token),
            generated: false,
        }),
        None => Ok(Resolved {
            token: Some(generate(path)?),
            generated: true,
        }),
    }
}

/// The token in `path`, if the file exists; an error when it is readable by others.
pub(crate) fn read_token_file(path: &Path) -> Result<Option<Token>, ServeError> {
    let err = |source| ServeError::TokenFile {
        path: path.to_path_buf(),
        source,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err(e)),
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(ServeError::TokenFileOpen {
            path: path.to_path_buf(),
            mode,
        });
    }
    let text = std::fs::read_to_string(path).map_err(err)?;
    let token = text.trim();
    if token.is_empty() {
        return Ok(None);
    }
    Ok(Some(Token::new(token)))
}

/// 256 bits from the OS's random source (two v4 UUIDs, 244 random bits), hex; written to
/// `path` owner-only, never over an existing file.
fn generate(path: &Path) -> Result<Token, ServeError> {
    let err = |source| ServeError::TokenFile {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(err)?;
    }
    let token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(err)?;
    file.write_all(format!("{token}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(err)?;
    Ok(Token::new(token))
}

/// The token an `Authorization: Bearer …` header presents.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The token a request presents: `Authorization: Bearer …`, else — for browsers' WebSockets,
/// which cannot set headers — a `bearer.<token>` entry of `Sec-WebSocket-Protocol` (the
/// server never echoes it: it selects another subprotocol, see `serve/ws`).
pub fn presented(headers: &HeaderMap) -> Option<&str> {
    bearer(headers).or_else(|| {
        headers
            .get_all(header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .find_map(|p| p.trim().strip_prefix("bearer."))
    })
}

/// The key a caller's task submissions are counted under: a digest of the token presented
/// (never the token), or `anonymous` without one (`--no-auth`).
pub fn rate_key(headers: &HeaderMap) -> String {
    match presented(headers) {
        Some(t) => crate::types::text::sha256_hex(t.as_bytes())
            .chars()
            .take(16)
            .collect(),
        None => "anonymous".into(),
    }
}

/// The middleware: 401 unless the request presents the service's token.
pub async fn require_token(State(state): State<ServeState>, req: Request, next: Next) -> Response {
    let Some(token) = state.token() else {
        return next.run(req).await;
    };
    let (detail, error) = match presented(req.headers()) {
        Some(presented) if token.matches(presented) => return next.run(req).await,
        Some(_) => (
            "the bearer token is wrong: send the token this service was started with \
             (printed once when it was generated; kept in its token file)",
            "Bearer realm=\"cc-executor\", error=\"invalid_token\"",
        ),
        None => (
            "a bearer token is required: send `Authorization: Bearer <token>` (the token is \
             printed once when `cc-executor serve` generates it, and kept in its token file)",
            "Bearer realm=\"cc-executor\"",
        ),
    };
    tracing::info!(path = %req.uri().path(), "refused: 401 ({})", if error.contains("invalid") { "wrong token" } else { "no token" });
    let mut response = problem(StatusCode::UNAUTHORIZED, detail);
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(error));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_by_value_and_never_show() {
        let t = Token::new("0123456789abcdef");
        assert!(t.matches("0123456789abcdef"));
        assert!(!t.matches("0123456789abcdeF"));
        assert!(!t.matches("0123456789abcdef0"));
        assert!(!t.matches(""));
        assert_eq!(format!("{t:?}"), "Token(***)");
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer abc"),
        );
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
        h.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("jsonrpc, bearer.t0k"),
        );
        assert_eq!(presented(&h), Some("t0k"));
    }

    #[test]
    fn a_generated_token_is_owner_only_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("serve").join("token");
        let first = generate(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(first.expose().len(), 64);
        let again = read_token_file(&path).unwrap().unwrap();
        assert!(first.matches(again.expose()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            read_token_file(&path),
            Err(ServeError::TokenFileOpen { .. })
        ));
    }
}
