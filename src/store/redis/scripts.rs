//! The Lua scripts, one `.lua` file each (in `lua/`), loaded into the binary. Each script is
//! atomic in Redis: a record's index entries, aggregates and retention clock change together or
//! not at all. The write and trim scripts share the helper functions of `lua/prelude.lua`,
//! prepended to each.

use redis::Script;

/// The scripts, hashed once when the store opens (`EVALSHA`, loaded on first `NOSCRIPT`).
pub(super) struct Scripts {
    /// Writes one record: `lua/write.lua`.
    pub(super) write: Script,
    /// Trims executions older than the retention: `lua/trim.lua`.
    pub(super) trim: Script,
    /// Summaries of the newest executions of a class: `lua/durations.lua`.
    pub(super) durations: Script,
    /// Saves a run unless a newer revision is stored: `lua/save_run.lua`.
    pub(super) save_run: Script,
}

impl Scripts {
    pub(super) fn load() -> Self {
        Scripts {
            write: Script::new(concat!(
                include_str!("lua/prelude.lua"),
                include_str!("lua/write.lua")
            )),
            trim: Script::new(concat!(
                include_str!("lua/prelude.lua"),
                include_str!("lua/trim.lua")
            )),
            durations: Script::new(include_str!("lua/durations.lua")),
            save_run: Script::new(include_str!("lua/save_run.lua")),
        }
    }
}
