//! How much one caller, and all of them, may ask of the service: the connection limit (a
//! listener that answers one connection too many with 503 and closes it) and the task
//! submission rate per token (a token bucket: `submit_burst` at once, then
//! `submit_per_minute`). The body size limit is where bodies are read (see `mcp_http`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use super::ServeState;

/// Token buckets, one per caller key (a digest of the token presented).
pub struct RateLimiter {
    per_minute: u32,
    burst: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    pub fn new(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_minute: per_minute.max(1),
            burst: burst.max(1),
            buckets: Mutex::default(),
        }
    }

    /// Takes one submission from `key`'s bucket, or says how long until one is there.
    pub fn admit(&self, key: &str) -> Result<(), Duration> {
        let rate = f64::from(self.per_minute) / 60.0; // per second
        let burst = f64::from(self.burst);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

/// A TCP listener that holds at most `max_connections` open connections: one more is answered
/// `503 Service Unavailable` (problem+json, `Retry-After: 1`) and closed, so a client learns
/// why instead of hanging in the backlog. Counts connections in the [`ServeState`].
pub struct LimitedListener {
    inner: TcpListener,
    state: ServeState,
}

impl LimitedListener {
    pub fn new(inner: TcpListener, state: ServeState) -> LimitedListener {
        LimitedListener { inner, state }
    }
}

/// An accepted connection; the open count goes down when it is dropped.
pub struct Counted {
    stream: TcpStream,
    state: ServeState,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.state
            .connections()
            .open
            .fetch_sub(1, Ordering::Relaxed);
    }
}

impl axum::serve::Listener for LimitedListener {
    type Io = Counted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = match self.inner.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, as axum does.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let counters = self.state.connections();
            let max = self.state.settings().max_connections as u64;
            if counters.open.fetch_add(1, Ordering::Relaxed) >= max {
                counters.open.fetch_sub(1, Ordering::Relaxed);
                counters.refused.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    "refused a connection from {addr}: {max} open (serve.max_connections)"
                );
                tokio::spawn(refuse(stream, max));
                continue;
            }
            counters.total.fetch_add(1, Ordering::Relaxed);
            let _ = stream.set_nodelay(true);
            return (
                Counted {
                    stream,
                    state: self.state.clone(),
                },
                addr,
            );
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// Answers a connection over the limit with 503 and closes it.
async fn refuse(mut stream: TcpStream, max: u64) {
    let body = serde_json::to_string(&super::problem::Problem::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        format!("this service already has {max} open connections (serve.max_connections); try again later"),
    ))
    .unwrap_or_default();
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: {}\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        super::problem::PROBLEM_JSON,
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_passes_then_the_rate_applies_per_key() {
        let limiter = RateLimiter::new(60, 3);
        for _ in 0..3 {
            assert!(limiter.admit("a").is_ok());
        }
        let wait = limiter.admit("a").unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(limiter.admit("b").is_ok(), "another key has its own bucket");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(
            limiter.admit("a").is_ok(),
            "one refilled after a second at 60/min"
        );
        assert!(limiter.admit("a").is_err());
        tokio::time::advance(Duration::from_secs(60)).await;
        for _ in 0..3 {
            assert!(
                limiter.admit("a").is_ok(),
                "refilled up to the burst, no more"
            );
        }
        assert!(limiter.admit("a").is_err());
    }
}
