"""cc_executor: run Claude Code (``claude -p``) tasks from Python, in-process.

The cc-executor Rust executor itself — not a wrapper around a command: tasks run strictly one
after another (FIFO across threads and coroutines), each in a fresh Claude Code process with
a hard timeout and process-tree cancellation, recorded in the same history as the CLI and the
MCP server use.

>>> from cc_executor import cc_execute
>>> cc_execute("What is 2 + 2?")                    # the answer text
>>> cc_execute("…", json_mode=True)["status"]       # the whole structured result

Coroutine versions are in :mod:`cc_executor.aio`. Settings come from the same config file and
``CC_EXECUTOR_*`` environment variables as the CLI (:meth:`Config.load`).
"""

from __future__ import annotations

from ._api import (
    cc_execute,
    cc_execute_list,
    cc_execute_task_list,
    execute,
    export_execution_history,
    get_execution_history,
    get_task_complexity,
    resume_run,
    suggest_execution_strategy,
    validate_task_list,
    verify_execution,
)
from ._calls import default_config, set_default_config
from ._native import Config, __version__
from ._result import ExecutionResult
from .errors import (
    CcExecutorError,
    ConfigError,
    InvalidArgumentError,
    InvalidTaskError,
    PolicyError,
    RunStateError,
    StoreError,
    TaskFailedError,
)


TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._status import Status


def __getattr__(name: str) -> object:
    # Loaded on first use: `cc_executor.aio` imports asyncio, `Status` the enum module; each
    # would cost more than the rest of `import cc_executor`.
    if name == "aio":
        import importlib

        return importlib.import_module(".aio", __name__)
    if name == "Status":
        from ._status import Status

        return Status
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "__version__",
    "Config",
    "ExecutionResult",
    "Status",
    "cc_execute",
    "execute",
    "cc_execute_list",
    "cc_execute_task_list",
    "resume_run",
    "get_execution_history",
    "export_execution_history",
    "verify_execution",
    "get_task_complexity",
    "validate_task_list",
    "suggest_execution_strategy",
    "default_config",
    "set_default_config",
    "CcExecutorError",
    "ConfigError",
    "InvalidArgumentError",
    "InvalidTaskError",
    "PolicyError",
    "RunStateError",
    "StoreError",
    "TaskFailedError",
]
