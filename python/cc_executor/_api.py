"""The synchronous API: every function runs the library in-process and returns when done.

The work runs on the extension's tokio runtime; this thread waits for its events and result
with the GIL released (other Python threads keep running), in slices of a quarter second,
checking for signals between them: Ctrl-C stops the task's whole process tree and raises
``KeyboardInterrupt``. The progress callback runs here, in the calling thread, in order; an
exception it raises stops the task the same way and propagates unchanged.
"""

from __future__ import annotations

# Import time is part of the API's cost (scripts import this to run one task): `typing`,
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
    from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

    ProgressCallback = Callable[[Dict[str, Any]], Any]
    TaskList = Sequence[Union[str, Mapping[str, Any]]]

# How long one wait lasts before signals are checked again.
_SLICE = 0.25
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


def _drain(handle: _native.Handle) -> None:
    """Waits (bounded) until a cancelled call has ended: its process tree is gone."""
    waited = 0.0
    while waited < _DRAIN_SECS:
        try:
            item = handle.next(1.0, False)
        except BaseException:  # the call's own error: it has ended
            return
        if item is None:
            waited += 1.0
        elif item[0] != "event":
            return


def _drive(handle: _native.Handle, callback: Optional[ProgressCallback]) -> Any:
    """Events to the callback, in order, then the result; stops the work on any exception."""
    import json

    try:
        while True:
            item = handle.next(_SLICE)
            if item is None:
                continue
            kind, payload = item
            if kind == "event":
                if callback is not None:
                    callback(json.loads(payload))
            elif kind == "done":
                return json.loads(payload)
            else:
                raise CcExecutorError("internal error: the call ended without a result")
    except BaseException:
        handle.cancel()
        _drain(handle)
        raise


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


def execute(
    task: str,
    *,
    timeout: Optional[float] = None,
    cwd: Optional[str] = None,
    model: Optional[str] = None,
    permission_mode: Optional[str] = None,
    allowed_tools: Optional[List[str]] = None,
    disallowed_tools: Optional[List[str]] = None,
    max_turns: Optional[int] = None,
    max_budget_usd: Optional[float] = None,
    append_system_prompt: Optional[str] = None,
    json_schema: Optional[Dict[str, Any]] = None,
    accept: Optional[Dict[str, Any]] = None,
    repair: Optional[int] = None,
    progress_callback: Optional[ProgressCallback] = None,
    config: Optional[Config] = None,
    raise_on_failure: bool = False,
) -> ExecutionResult:
    """Runs ``task`` in a fresh Claude Code process and returns what happened.

    Tasks run one at a time, in the order the calls were made (across threads and
    coroutines). A task that ran but did not succeed is returned, not raised (see
    ``result.status``), unless ``raise_on_failure=True``. Invalid or refused requests raise
    :class:`~cc_executor.errors.InvalidTaskError` or :class:`~cc_executor.errors.PolicyError`
    before anything runs.

    ``accept`` (the MCP tool's: ``{"commands": [["pytest", "-q"]], "files": [...],
    "validator": "..."}``) checks the work after it ran: a failed check makes the status
    ``rejected``. ``repair=N`` runs a rejected task again, up to N times, with what the checks
    found (not together with a ``progress_callback``, which follows one execution).
    """
    args = _task_args(
        task, timeout, cwd, model, permission_mode, allowed_tools, disallowed_tools,
        max_turns, max_budget_usd, append_system_prompt, json_schema, accept, repair,
    )
    _check_callback(progress_callback)
    handle = _native.start_task(_config(config), task, events=progress_callback is not None, **args)
    result = ExecutionResult(_drive(handle, progress_callback))
    if raise_on_failure and not result.succeeded:
        raise _failed_task(result)
    return result


def cc_execute(
    task: str,
    *,
    json_mode: bool = False,
    timeout: Optional[float] = None,
    cwd: Optional[str] = None,
    model: Optional[str] = None,
    permission_mode: Optional[str] = None,
    allowed_tools: Optional[List[str]] = None,
    disallowed_tools: Optional[List[str]] = None,
    max_turns: Optional[int] = None,
    max_budget_usd: Optional[float] = None,
    append_system_prompt: Optional[str] = None,
    json_schema: Optional[Dict[str, Any]] = None,
    accept: Optional[Dict[str, Any]] = None,
    repair: Optional[int] = None,
    progress_callback: Optional[ProgressCallback] = None,
    config: Optional[Config] = None,
    raise_on_failure: bool = False,
) -> Union[str, Dict[str, Any]]:
    """Runs ``task`` in a fresh Claude Code process: the answer text, or with
    ``json_mode=True`` the whole structured result as a ``dict`` (the MCP tool's JSON:
    ``status``, ``result``, ``files_written``, ``tools_used``, ``permission_denials``, cost,
    timing, …).

    ``progress_callback(event)`` gets each event as a ``dict`` (``kind``, ``message``,
    ``seq``, …; the model's text as ``kind == "text"``), in order, in this thread.
    """
    if not isinstance(json_mode, bool):
        raise TypeError(f"json_mode must be a bool, got {type(json_mode).__name__}")
    result = execute(
        task, timeout=timeout, cwd=cwd, model=model, permission_mode=permission_mode,
        allowed_tools=allowed_tools, disallowed_tools=disallowed_tools, max_turns=max_turns,
        max_budget_usd=max_budget_usd, append_system_prompt=append_system_prompt,
        json_schema=json_schema, accept=accept, repair=repair,
        progress_callback=progress_callback, config=config, raise_on_failure=raise_on_failure,
    )
    if json_mode:
        return result._data
    return result.result or ""


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


def cc_execute_list(
    tasks: TaskList,
    *,
    on_failure: str = "stop",
    budget_usd: Optional[float] = None,
    defaults: Optional[Dict[str, Any]] = None,
    max_usage_wait_secs: Optional[int] = None,
    progress_callback: Optional[ProgressCallback] = None,
    config: Optional[Config] = None,
    raise_on_failure: bool = False,
) -> Dict[str, Any]:
    """Runs a task list as one durable run, each task in a fresh Claude Code process, one
    after another; returns the finished run (the MCP tool ``cc_execute_list``'s JSON:
    ``run_id``, ``state``, ``done``, ``total``, ``cost_usd`` and ``run`` with every task).

    ``tasks``: strings, or dicts ``{"id", "task", "depends_on"}``; a task may use an earlier
    one's answer as ``{{tasks.<id>.result}}``. ``on_failure``: ``"stop"`` at the first failed
    task, or ``"continue"`` with the tasks that do not depend on it. ``defaults``: settings
    for every task (``timeout_secs``, ``model``, ``allowed_tools``, …). The list is checked
    first (:class:`~cc_executor.errors.InvalidTaskError`, nothing runs). A run that stopped
    (a failure, a cancel, Ctrl-C, a crash) can go on with :func:`resume_run`.
    """
    args = _list_args(tasks, on_failure, budget_usd, defaults, max_usage_wait_secs)
    _check_callback(progress_callback)
    handle = _native.start_list(_config(config), events=progress_callback is not None, **args)
    run: Dict[str, Any] = _drive(handle, progress_callback)
    if raise_on_failure and run.get("state") != "succeeded":
        raise _failed_run(run)
    return run


cc_execute_task_list = cc_execute_list


def resume_run(
    run_id: str,
    *,
    budget_usd: Optional[float] = None,
    force: bool = False,
    progress_callback: Optional[ProgressCallback] = None,
    config: Optional[Config] = None,
    raise_on_failure: bool = False,
) -> Dict[str, Any]:
    """Goes on with a stored run from its first unfinished task (succeeded tasks are not run
    again); ``budget_usd`` sets a new cap, ``force`` resumes a run last driven from another
    host. Returns the finished run like :func:`cc_execute_list`."""
    _check_str("run_id", run_id, optional=False)
    _check_number("budget_usd", budget_usd)
    _check_callback(progress_callback)
    handle = _native.start_resume(
        _config(config), run_id, budget_usd=None if budget_usd is None else float(budget_usd),
        force=bool(force), events=progress_callback is not None,
    )
    run: Dict[str, Any] = _drive(handle, progress_callback)
    if raise_on_failure and run.get("state") != "succeeded":
        raise _failed_run(run)
    return run


def get_execution_history(
    *,
    limit: Optional[int] = None,
    status: Optional[str] = None,
    since: Optional[str] = None,
    until: Optional[str] = None,
    search: Optional[str] = None,
    include_stats: bool = True,
    config: Optional[Config] = None,
) -> Dict[str, Any]:
    """Past executions, newest first (``limit``: default 20, at most 500), with statistics over
    every match (``stats``). ``since``/``until``: RFC 3339, a date, or an age (``"7d"``)."""
    _check_int("limit", limit)
    for name, v in (("status", status), ("since", since), ("until", until), ("search", search)):
        _check_str(name, v)
    out: Dict[str, Any] = _loads(
        _native.history(
            _config(config), limit=limit, status=status, since=since, until=until,
            search=search, include_stats=bool(include_stats),
        )
    )
    return out


def export_execution_history(
    format: str = "json",
    *,
    limit: Optional[int] = None,
    status: Optional[str] = None,
    since: Optional[str] = None,
    until: Optional[str] = None,
    search: Optional[str] = None,
    config: Optional[Config] = None,
) -> str:
    """Every matching execution (or the newest ``limit``), oldest first, as the text of a
    ``json`` array, ``jsonl`` lines or ``csv`` — what ``cc-executor history export`` writes."""
    _check_str("format", format, optional=False)
    _check_int("limit", limit)
    for name, v in (("status", status), ("since", since), ("until", until), ("search", search)):
        _check_str(name, v)
    return _native.export_history(
        _config(config), format=format, limit=limit, status=status, since=since,
        until=until, search=search,
    )


def verify_execution(
    execution_id: Optional[str] = None,
    *,
    last_n: Optional[int] = None,
    markdown: bool = False,
    config: Optional[Config] = None,
) -> Dict[str, Any]:
    """Checks an execution (or every execution of a run, by its ``run_id``), or the newest
    ``last_n``, against its evidence; default: the newest one. ``verdict``: ``verified``,
    ``unverified`` (with reasons) or ``tampered``."""
    _check_str("execution_id", execution_id)
    _check_int("last_n", last_n)
    out: Dict[str, Any] = _loads(
        _native.verify(_config(config), execution_id, last_n=last_n, markdown=bool(markdown))
    )
    return out


def get_task_complexity(task: str, *, config: Optional[Config] = None) -> Dict[str, Any]:
    """Sizes up a task before running it: category, complexity, predicted duration and
    timeout from the history, the recommended method, warnings about the prompt."""
    _check_str("task", task, optional=False)
    out: Dict[str, Any] = _loads(_native.task_complexity(_config(config), task))
    return out


def validate_task_list(tasks: TaskList, *, config: Optional[Config] = None) -> Dict[str, Any]:
    """Checks a task list as ``cc_execute_list`` will (errors, warnings, estimates, risk);
    an invalid list is an answer (``valid: False``), not an exception."""
    out: Dict[str, Any] = _loads(_native.validate_tasks(_config(config), _tasks_json(tasks)))
    return out


def suggest_execution_strategy(tasks: TaskList, *, config: Optional[Config] = None) -> Dict[str, Any]:
    """Plans a task list: per task the method and timeout, dependency waves, tips, and the
    plan as ``markdown``."""
    out: Dict[str, Any] = _loads(_native.strategy(_config(config), _tasks_json(tasks)))
    return out


__all__ = [
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
]
