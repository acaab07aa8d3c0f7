//! `Host` and `Origin`: the DNS-rebinding protection the MCP spec requires of HTTP servers.
//!
//! - **Host.** A rebinding attack makes a browser send requests for the attacker's *name* to
//!   our address, so the request's `Host` names the attacker. Allowed: the loopback names
//!   (`localhost`, `127.x.x.x`, `[::1]`), the names in `serve.allowed_hosts`, and — when the
//!   service listens on a non-loopback address — IP literals (no DNS name, nothing to
//!   rebind). Anything else: 421 Misdirected Request.
//! - **Origin.** Browsers send `Origin` on cross-site requests; a page may reach the service
//!   only from an origin in `serve.allowed_origins` (default: the loopback origins, any port).
//!   Non-browser clients send none and pass. Anything else: 403.

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::ServeState;
use super::problem::problem;

/// The middleware: 421 for a `Host` this service does not answer to, 403 for an `Origin` not
/// on the allow-list.
pub async fn check_host_and_origin(
    State(state): State<ServeState>,
    req: Request,
    next: Next,
) -> Response {
    let settings = state.settings();
    // HTTP/1.1 carries `Host`; HTTP/2 the URI's authority.
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    let Some(host) = host else {
        return problem(StatusCode::BAD_REQUEST, "the request names no Host");
    };
    let listen_loopback = state.local_addr().ip().is_loopback();
    if !host_allowed(&host, listen_loopback, &settings.allowed_hosts) {
        tracing::info!("refused: Host `{host}` is not a name of this service");
        return problem(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "Host `{host}` is not a name this service answers to (DNS-rebinding protection); \
                 allowed: the loopback names{}{}",
                if listen_loopback {
                    ""
                } else {
                    ", IP addresses"
                },
                if settings.allowed_hosts.is_empty() {
                    " (add names with --allowed-host)".to_string()
                } else {
                    format!(", {}", settings.allowed_hosts.join(", "))
                }
            ),
        );
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !settings
            .allowed_origins
            .iter()
            .any(|allowed| origin_matches(allowed, origin))
        {
            tracing::info!("refused: Origin `{origin}` is not allowed");
            return problem(
                StatusCode::FORBIDDEN,
                format!(
                    "Origin `{origin}` is not allowed to use this service; allowed origins: {} \
                     (add one with --allowed-origin)",
                    settings.allowed_origins.join(", ")
                ),
            );
        }
    }
    next.run(req).await
}

/// The host part of a `Host` value (`name`, `name:port`, `[v6]:port`), lowercased.
fn host_name(host: &str) -> String {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        host.rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(name, _)| name)
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Is `host` one this service answers to?
pub fn host_allowed(host: &str, listen_loopback: bool, extra: &[String]) -> bool {
    let name = host_name(host);
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    if let Ok(ip) = name.parse::<IpAddr>() {
        return ip.is_loopback() || !listen_loopback;
    }
    extra.iter().any(|allowed| {
        let allowed = allowed.trim().to_ascii_lowercase();
        // `name` allows every port; `name:port` only that one.
        if allowed.contains(':') && !allowed.starts_with('[') {
            allowed == host.trim().to_ascii_lowercase()
        } else {
            host_name(&allowed) == name
        }
    })
}

/// Does the browser origin `origin` match the allow-list entry `allowed`? Scheme and host
/// must be equal; the port too, unless the entry says `:*` (an origin without a port has its
/// scheme's default). `null` matches only an entry `null`.
pub fn origin_matches(allowed: &str, origin: &str) -> bool {
    let allowed = allowed.trim().to_ascii_lowercase();
    let origin = origin.trim().to_ascii_lowercase();
    if allowed == "null" || origin == "null" {
        return allowed == origin;
    }
    let (Some((a_scheme, a_rest)), Some((o_scheme, o_rest))) =
        (allowed.split_once("://"), origin.split_once("://"))
    else {
        return false;
    };
    if a_scheme != o_scheme {
        return false;
    }
    let default_port = if o_scheme == "https" { "443" } else { "80" };
    let (a_host, a_port) = split_port(a_rest);
    let (o_host, o_port) = split_port(o_rest);
    a_host == o_host
        && match a_port {
            Some("*") => true,
            Some(p) => p == o_port.unwrap_or(default_port),
            None => o_port.is_none_or(|p| p == default_port),
        }
}

/// `host[:port]` (IPv6 in brackets) → (host, port).
fn split_port(authority: &str) -> (&str, Option<&str>) {
    let authority = authority.trim_end_matches('/');
    if authority.starts_with('[') {
        return match authority.find("]:") {
            Some(i) => (&authority[..=i], Some(&authority[i + 2..])),
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_pass_and_other_names_do_not() {
        for host in [
            "localhost:8003",
            "127.0.0.1:8003",
            "[::1]:8003",
            "LOCALHOST",
            "127.0.0.2",
        ] {
            assert!(host_allowed(host, true, &[]), "{host}");
        }
        for host in [
            "evil.example.com",
            "evil.example.com:8003",
            "10.0.0.5:8003",
            "localhost.evil.com",
        ] {
            assert!(!host_allowed(host, true, &[]), "{host}");
        }
        assert!(
            host_allowed("10.0.0.5:8003", false, &[]),
            "an IP cannot be rebound"
        );
        assert!(!host_allowed("evil.example.com", false, &[]));
        let extra = ["cc.example.com".to_string()];
        assert!(host_allowed("cc.example.com:8003", false, &extra));
        let extra = ["cc.example.com:443".to_string()];
        assert!(!host_allowed("cc.example.com:8003", false, &extra));
        assert!(host_allowed("cc.example.com:443", false, &extra));
    }

    #[test]
    fn origins_match_by_scheme_host_and_port() {
        assert!(origin_matches(
            "http://localhost:*",
            "http://localhost:3000"
        ));
        assert!(origin_matches("http://localhost:*", "http://localhost"));
        assert!(!origin_matches(
            "http://localhost:*",
            "https://localhost:3000"
        ));
        assert!(!origin_matches(
            "http://localhost:*",
            "http://localhost.evil.com:3000"
        ));
        assert!(origin_matches(
            "https://app.example.com",
            "https://app.example.com:443"
        ));
        assert!(!origin_matches(
            "https://app.example.com:8443",
            "https://app.example.com"
        ));
        assert!(origin_matches("http://[::1]:*", "http://[::1]:5173"));
        assert!(!origin_matches("http://127.0.0.1:*", "null"));
        assert!(origin_matches("null", "null"));
    }
}
