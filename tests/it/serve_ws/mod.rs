//! `cc-executor serve`'s WebSocket surface (`/ws/mcp`), driven by real clients against the
//! built binary with the fake claude:
//!
//! - `python`: the Python `websockets` client (`tests/python/ws_client.py`, the library pinned
//!   by `scripts/provision`) speaking the predecessor's protocol — execute → started / output /
//!   completed, two executions on one connection in FIFO order, CANCEL (the process group is
//!   gone), reattach after a dropped connection (seq continuous), `command` refused, the token
//!   and Origin checks on the upgrade, `cancel_on_disconnect` both ways, PAUSE (the tree is
//!   stopped, state `T`) and RESUME (it finishes), usage-limit and 429 retries as
//!   `error.rate_limit_exceeded` (with the reset time).
//! - `protocol`: a Rust client (`tokio-tungstenite`) for JSON-RPC errors with their ids, the
//!   close codes (1009 over the size limit, 1001 at shutdown) and the submission rate limit.
//! - `keepalive`: a raw client (no automatic pongs): silent, it is closed with 1001 and the
//!   reason after `serve.ws_idle_secs`; pinging (JSON `ping` or ping frames), it stays open and
//!   every ping is answered.
//! - `load`: 200 idle connections and 20 submitting ones: the server's memory stays bounded
//!   and the tasks finish in submission order.
//!
//! Every server binds port 0 and is found through its state file; nothing waits on a clock
//! except the bounds that turn a hang into a failure.

mod client;
mod keepalive;
mod load;
mod protocol;
mod python;
pub mod server;
