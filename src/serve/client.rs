//! A small HTTP/1.1 client for a service on this machine: `serve status` and
//! `check_websocket_status` probe its `/health`, and `cc-executor pause|resume|cancel` call its
//! REST API ([`super::remote`]).
//!
//! Why not an HTTP client crate: the peer is always our own service at the loopback URL its
//! state file records — plain HTTP, one request per connection, a small JSON answer. That is
//! a request line, a few headers and a body (`Content-Length` or chunked, as hyper sends it);
//! a general client (connection pools, TLS, redirects, proxies from the environment) would
//! add a lot of compiled code and behaviour to a CLI command that needs none of it.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The largest answer read (the REST answers this client asks for are a few KiB).
const MAX_ANSWER: u64 = 1024 * 1024;

/// An answer: its status code and body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {authority}: {source}")]
    Connect {
        authority: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the connection to {authority} failed: {source}")]
    Io {
        authority: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{authority} did not answer within {limit:?}")]
    Timeout { authority: String, limit: Duration },
    #[error("{authority} did not answer in HTTP/1.1: {why}")]
    Malformed { authority: String, why: String },
    #[error("`{url}` is not an http:// URL of this machine")]
    Url { url: String },
}

/// Sends `method path` to the service at `url` (`http://ip:port`) with `token` as a bearer
/// token, an empty body, and reads the whole answer — within `limit`.
pub async fn send(
    url: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    limit: Duration,
) -> Result<Reply, ClientError> {
    let authority = url
        .strip_prefix("http://")
        .map(|a| a.trim_end_matches('/'))
        .filter(|a| !a.is_empty() && !a.contains('/'))
        .ok_or_else(|| ClientError::Url { url: url.into() })?;
    let io = |source| ClientError::Io {
        authority: authority.into(),
        source,
    };
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(authority)
            .await
            .map_err(|source| ClientError::Connect {
                authority: authority.into(),
                source,
            })?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json\r\n\
             Content-Length: 0\r\nConnection: close\r\n"
        );
        if let Some(t) = token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.map_err(io)?;
        let mut raw = Vec::new();
        stream
            .take(MAX_ANSWER)
            .read_to_end(&mut raw)
            .await
            .map_err(io)?;
        parse(&raw).map_err(|why| ClientError::Malformed {
            authority: authority.into(),
            why,
        })
    };
    tokio::time::timeout(limit, exchange)
        .await
        .map_err(|_| ClientError::Timeout {
            authority: authority.into(),
            limit,
        })?
}

/// Status line, headers, body (de-chunked when `Transfer-Encoding: chunked`).
fn parse(raw: &[u8]) -> Result<Reply, String> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no end of the headers")?;
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("no status line: `{status_line}`"))?;
    let chunked = lines.any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("transfer-encoding")
                && v.trim().eq_ignore_ascii_case("chunked")
        })
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_string()
    };
    Ok(Reply { status, body })
}

/// The body of a chunked message.
fn dechunk(mut rest: &str) -> Result<String, String> {
    let mut body = String::new();
    loop {
        let (size_line, after) = rest.split_once("\r\n").ok_or("a cut chunk")?;
        let size_text = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("a bad chunk size `{size_text}`"))?;
        if size == 0 {
            return Ok(body);
        }
        let chunk = after.get(..size).ok_or("a cut chunk")?;
        body.push_str(chunk);
        rest = after
            .get(size..)
            .and_then(|r| r.strip_prefix("\r\n"))
            .ok_or("a chunk without its end")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_with_a_length_or_chunked() {
        let r = parse(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "{}"));
        let r = parse(
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4;x=y\r\n\":1}\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!((r.status, r.body.as_str()), (404, "{\"a\":1}"));
        assert!(parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err());
        assert!(parse(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(parse(b"HTTP/1.1 200 OK\r\n").is_err());
    }
}
