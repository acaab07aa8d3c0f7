//! Shared helpers for integration tests (`mod support;` in a test crate).

pub mod fake_anthropic;
pub mod fake_executor;
pub mod fixtures;
pub mod interop;
pub mod mcp_client;
pub mod raw_stdio;
pub mod real_claude;
pub mod redis_server;
