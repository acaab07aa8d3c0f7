//! The one piece of cc-executor that needs `unsafe`, kept in a crate of its own so the main
//! library can `#![forbid(unsafe_code)]`.
//!
//! [`die_with_parent`] sets `PR_SET_PDEATHSIG` in the child between `fork` and `exec`: when the
//! server is SIGKILLed (no destructor runs, nothing can stop the task's tree), the kernel still
//! kills the `claude` it started, so no task runs on unattended.
//!
//! Caveat the caller must respect: the signal fires when the *thread* that forked exits, not
//! the process. Spawn from threads that live as long as the runtime (tokio workers, the
//! `block_on` thread), never from `spawn_blocking` (its threads exit after a few idle seconds).

/// Arranges for the child `cmd` spawns to be SIGKILLed when the spawning thread exits, and
/// for it not to start at all if that already happened (the parent died before the `prctl`
/// took effect: then no signal would ever come).
pub fn die_with_parent(cmd: &mut tokio::process::Command) {
    use nix::sys::signal::Signal;
    let parent = nix::unistd::getpid();
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe operations are allowed. It makes two system calls (prctl, getppid),
    // builds `io::Error`s from raw errno values (no allocation), takes no lock and touches no
    // state shared with other threads; `parent` is a plain integer copied into the closure.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            if nix::unistd::getppid() != parent {
                return Err(std::io::Error::from(nix::errno::Errno::ESRCH));
            }
            Ok(())
        });
    }
}
