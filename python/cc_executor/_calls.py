"""What the sync API (:mod:`cc_executor`) and the asyncio API (:mod:`cc_executor.aio`) share:
the process-wide default configuration, argument checks whose messages name the argument,
and for each call how it starts (a :class:`~cc_executor._native.Handle`) and how the JSON it
ends with becomes its answer. Only the wait differs between the two APIs.
"""

from __future__ import annotations

# Import time is part of the API's cost (scripts import the package to run one task): `typing`,
# `json` (which pulls in `re`) and `threading` are not loaded at import. Annotations are
# strings (the __future__ import), the types exist for type checkers only, and `json` is
# imported on first use.
import _thread

from . import _native
from ._native import Config
from ._result import ExecutionResult
from .errors import CcExecutorError, TaskFailedError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import os
    from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

    ProgressCallback = Callable[[Dict[str, Any]], Any]
    TaskList = Sequence[Union[str, Mapping[str, Any]]]
    PathLike = Union[str, "os.PathLike[str]"]

# Longest wait for a cancelled call to report its end (the executor stops a process tree
# within its kill grace, 10 s more at most).
_DRAIN_SECS = 120.0

_default: Optional[Config] = None
_default_lock = _thread.allocate_lock()


def default_config() -> Config:
    """The process-wide configuration (``Config.load()`` on first use) and so its executor:
    every call without ``config=`` shares its one FIFO queue."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Config.load()
    return _default


def set_default_config(config: Config) -> None:
    """Makes ``config`` the process-wide configuration for calls without ``config=``."""
    global _default
    if not isinstance(config, Config):
        raise TypeError(f"config must be a cc_executor.Config, got {type(config).__name__}")
    with _default_lock:
        _default = config


def _config(config: Optional[Config]) -> Config:
    if config is None:
        return default_config()
    if not isinstance(config, Config):
        raise TypeError(f"config must be a cc_executor.Config, got {type(config).__name__}")
    return config


def _check_callback(callback: Optional[ProgressCallback]) -> None:
    if callback is not None and not callable(callback):
        raise TypeError(
            f"progress_callback must be callable (it gets one dict per event), got {type(callback).__name__}"
        )


def _check_str(name: str, value: Any, optional: bool = True) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")


def _check_number(name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")


def _check_int(name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")


def _check_str_list(name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a list of str, got {type(value).__name__}")
    for v in value:
        if not isinstance(v, str):
            raise TypeError(f"{name} must be a list of str, got an item of type {type(v).__name__}")


def _dumps(name: str, value: Any) -> str:
    import json

    try:
        return json.dumps(value)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be JSON-serializable: {e}") from None


def _tasks_json(tasks: Any) -> str:
    if isinstance(tasks, (str, bytes)) or not isinstance(tasks, (list, tuple)):
        raise TypeError(
            "tasks must be a list of task texts (str) or {'id', 'task', 'depends_on'} dicts, "
            f"got {type(tasks).__name__}"
        )
    return _dumps("tasks", list(tasks))


def _task_args(
    task: Any,
    timeout: Any,
    cwd: Any,
    model: Any,
    permission_mode: Any,
    allowed_tools: Any,
    disallowed_tools: Any,
    max_turns: Any,
    max_budget_usd: Any,
    append_system_prompt: Any,
    json_schema: Any,
    accept: Any = None,
    repair: Any = None,
) -> Dict[str, Any]:
    """Checks the types (with messages that name the argument) and builds the request."""
    _check_str("task", task, optional=False)
    _check_number("timeout", timeout)
    if cwd is not None and not isinstance(cwd, str) and not hasattr(cwd, "__fspath__"):
        raise TypeError(f"cwd must be a str or os.PathLike, got {type(cwd).__name__}")
    _check_str("model", model)
    _check_str("permission_mode", permission_mode)
    _check_str_list("allowed_tools", allowed_tools)
    _check_str_list("disallowed_tools", disallowed_tools)
    _check_int("max_turns", max_turns)
    _check_number("max_budget_usd", max_budget_usd)
    _check_str("append_system_prompt", append_system_prompt)
    if json_schema is not None and not isinstance(json_schema, dict):
        raise TypeError(f"json_schema must be a dict (a JSON Schema), got {type(json_schema).__name__}")
    if accept is not None and not isinstance(accept, dict):
        raise TypeError(f"accept must be a dict (commands, files, validator), got {type(accept).__name__}")
    _check_int("repair", repair)
    return dict(
        timeout=None if timeout is None else float(timeout),
        cwd=cwd,
        model=model,
        permission_mode=permission_mode,
        allowed_tools=None if allowed_tools is None else list(allowed_tools),
        disallowed_tools=None if disallowed_tools is None else list(disallowed_tools),
        max_turns=max_turns,
        max_budget_usd=None if max_budget_usd is None else float(max_budget_usd),
        append_system_prompt=append_system_prompt,
        json_schema=None if json_schema is None else _dumps("json_schema", json_schema),
        accept=None if accept is None else _dumps("accept", accept),
        repair=repair,
    )


def _on_item(item: Tuple[str, str], callback: Optional[ProgressCallback]) -> Tuple[bool, Any]:
    """One item of a call (shared by the sync and the asyncio drivers): an event goes to the
    callback; ``(True, value)`` once the result is there."""
    import json

    kind, payload = item
    if kind == "event":
        if callback is not None:
            callback(json.loads(payload))
        return False, None
    if kind == "done":
        return True, json.loads(payload)
    raise CcExecutorError("internal error: the call ended without a result")


def _loads(text: str) -> Any:
    import json

    return json.loads(text)


def _failed_task(result: ExecutionResult) -> TaskFailedError:
    why = "; ".join(result.warnings[:1])
    return TaskFailedError(
        f"execution {result.execution_id} ended {result._data.get('status')}" + (f": {why}" if why else ""),
        result,
    )


def _failed_run(run: Dict[str, Any]) -> TaskFailedError:
    reason = run.get("run", {}).get("reason")
    return TaskFailedError(
        f"run {run.get('run_id')} ended {run.get('state')}" + (f": {reason}" if reason else ""),
        run,
    )


# What each call does before and after the wait, shared by this module and `aio`: checks its
# arguments and starts the work (a `Handle`), then turns the JSON it ended with into the answer.


def _start_task(
    task: Any, timeout: Any, cwd: Any, model: Any, permission_mode: Any, allowed_tools: Any,
    disallowed_tools: Any, max_turns: Any, max_budget_usd: Any, append_system_prompt: Any,
    json_schema: Any, accept: Any, repair: Any, progress_callback: Any, config: Any,
) -> _native.Handle:
    args = _task_args(
        task, timeout, cwd, model, permission_mode, allowed_tools, disallowed_tools,
        max_turns, max_budget_usd, append_system_prompt, json_schema, accept, repair,
    )
    _check_callback(progress_callback)
    return _native.start_task(_config(config), task, events=progress_callback is not None, **args)


def _task_result(data: Dict[str, Any], raise_on_failure: bool) -> ExecutionResult:
    result = ExecutionResult(data)
    if raise_on_failure and not result.succeeded:
        raise _failed_task(result)
    return result


def _check_json_mode(json_mode: Any) -> None:
    if not isinstance(json_mode, bool):
        raise TypeError(f"json_mode must be a bool, got {type(json_mode).__name__}")


def _answer(result: ExecutionResult, json_mode: bool) -> Union[str, Dict[str, Any]]:
    if json_mode:
        return result._data
    return result.result or ""


def _start_list(
    tasks: Any, on_failure: Any, budget_usd: Any, defaults: Any, max_usage_wait_secs: Any,
    progress_callback: Any, config: Any,
) -> _native.Handle:
    args = _list_args(tasks, on_failure, budget_usd, defaults, max_usage_wait_secs)
    _check_callback(progress_callback)
    return _native.start_list(_config(config), events=progress_callback is not None, **args)


def _start_resume(
    run_id: Any, budget_usd: Any, force: Any, progress_callback: Any, config: Any
) -> _native.Handle:
    _check_str("run_id", run_id, optional=False)
    _check_number("budget_usd", budget_usd)
    _check_callback(progress_callback)
    return _native.start_resume(
        _config(config), run_id, budget_usd=None if budget_usd is None else float(budget_usd),
        force=bool(force), events=progress_callback is not None,
    )


def _run_result(run: Dict[str, Any], raise_on_failure: bool) -> Dict[str, Any]:
    if raise_on_failure and run.get("state") != "succeeded":
        raise _failed_run(run)
    return run


def _list_args(
    tasks: Any, on_failure: Any, budget_usd: Any, defaults: Any, max_usage_wait_secs: Any
) -> Dict[str, Any]:
    _check_str("on_failure", on_failure, optional=False)
    _check_number("budget_usd", budget_usd)
    _check_int("max_usage_wait_secs", max_usage_wait_secs)
    if defaults is not None and not isinstance(defaults, dict):
        raise TypeError(f"defaults must be a dict of task settings, got {type(defaults).__name__}")
    return dict(
        tasks=_tasks_json(tasks),
        on_failure=on_failure,
        budget_usd=None if budget_usd is None else float(budget_usd),
        defaults=None if defaults is None else _dumps("defaults", dict(defaults)),
        max_usage_wait_secs=max_usage_wait_secs,
    )
