"""The exceptions of cc_executor.

Every message is the library's own, the same words the ``cc-executor`` CLI and the MCP tools
say, so an error reads the same wherever it is met. A task that ran but did not succeed is not
an error by default (its ``status`` says so); ``raise_on_failure=True`` turns it into
:class:`TaskFailedError`.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class CcExecutorError(Exception):
    """Base class of every cc_executor error (also raised for internal errors)."""


class ConfigError(CcExecutorError):
    """The configuration file or a ``CC_EXECUTOR_*`` environment variable is invalid."""


class InvalidArgumentError(CcExecutorError, ValueError):
    """An argument has a bad value (a history filter, an id, a format).

    Also a :class:`ValueError`, what Python code expects for a bad value.
    """


class InvalidTaskError(InvalidArgumentError):
    """The task or task list is invalid (empty, too long, a bad field, a dependency cycle).

    Nothing was started.
    """


class PolicyError(CcExecutorError):
    """The configured policy refuses the request (a permission mode, model or directory).

    The message names the setting that would allow it. Nothing was started.
    """


class StoreError(CcExecutorError):
    """The history store could not be opened, read or written."""


class RunStateError(CcExecutorError):
    """A run cannot be resumed in its state (unknown, finished, running elsewhere, or out of
    budget)."""


class TaskFailedError(CcExecutorError):
    """With ``raise_on_failure=True``: the task (or run) ran but did not succeed.

    ``result`` holds what happened: an :class:`~cc_executor.ExecutionResult` for one task, the
    run as a ``dict`` for a task list.
    """

    def __init__(self, message: str, result: Any) -> None:
        super().__init__(message)
        self.result = result


__all__ = [
    "CcExecutorError",
    "ConfigError",
    "InvalidArgumentError",
    "InvalidTaskError",
    "PolicyError",
    "StoreError",
    "RunStateError",
    "TaskFailedError",
]
