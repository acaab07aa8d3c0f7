"""The ``cc-executor`` console script: the Rust CLI, run from the extension module.

The same program as the ``cc-executor`` binary (same commands, flags, exit codes), so
``pipx install cc-executor`` / ``uv tool install cc-executor`` give the command to people
without cargo.
"""

from __future__ import annotations

import signal
import sys


def main() -> None:
    """Runs the CLI with this process's arguments and exits with its code."""
    from . import _native

    # The CLI handles Ctrl-C itself where it matters (a running task is stopped, exit 130);
    # elsewhere it must end the process, as it does for the binary — not raise
    # KeyboardInterrupt in a Python frame that is not running.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.exit(_native.cli_main(sys.argv))


if __name__ == "__main__":
    main()
