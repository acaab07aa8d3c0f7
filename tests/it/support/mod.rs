//! Shared helpers of the integration tests (`tests/it/main.rs`; `tests/reaper.rs` takes the two it
//! needs by path).

pub mod claude_host;
pub mod fake_anthropic;
pub mod fake_executor;
pub mod fixtures;
pub mod interop;
pub mod mcp_client;
pub mod pool;
pub mod raw_stdio;
pub mod real_claude;
pub mod redis_server;
