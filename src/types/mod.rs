//! The bottom layer: plain data every other layer speaks — results, runs, timeouts, the small
//! text helpers — with their serde/JSON Schema shapes and pure helpers, and no I/O. Nothing
//! here imports from another module of the crate (the layering test in `layers.rs` keeps it
//! so); behaviour that needs configuration or a store is implemented where that lives.

pub mod accept;
pub mod chain;
pub mod evidence;
pub mod modes;
pub mod result;
pub mod run;
pub mod task;
pub mod text;
pub mod timeout;
