"""The synchronous API: every function runs the library in-process and returns when done.

The work runs on the extension's tokio runtime; this thread waits for its events and result
with the GIL released (other Python threads keep running), in slices of a quarter second,
checking for signals between them: Ctrl-C stops the task's whole process tree and raises
``KeyboardInterrupt``. The progress callback runs here, in the calling thread, in order; an
exception it raises stops the task the same way and propagates unchanged.
"""

from __future__ import annotations

from . import _native
from ._calls import (
    _DRAIN_SECS,
    _answer,
    _check_int,
    _check_json_mode,
    _check_str,
    _config,
    _loads,
    _on_item,
    _run_result,
    _start_list,
    _start_resume,
    _start_task,
    _task_result,
    _tasks_json,
)
from ._native import Config
from ._result import ExecutionResult

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Union

    from ._calls import PathLike, ProgressCallback, TaskList

# How long one wait lasts before signals are checked again.
_SLICE = 0.25


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
    try:
        while True:
            item = handle.next(_SLICE)
            if item is not None:
                done, value = _on_item(item, callback)
                if done:
                    return value
    except BaseException:
        handle.cancel()
        _drain(handle)
        raise


def execute(
    task: str,
    *,
    timeout: Optional[float] = None,
    cwd: Optional[PathLike] = None,
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
    handle = _start_task(
        task, timeout, cwd, model, permission_mode, allowed_tools, disallowed_tools, max_turns,
        max_budget_usd, append_system_prompt, json_schema, accept, repair, progress_callback, config,
    )
    return _task_result(_drive(handle, progress_callback), raise_on_failure)


def cc_execute(
    task: str,
    *,
    json_mode: bool = False,
    timeout: Optional[float] = None,
    cwd: Optional[PathLike] = None,
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
    _check_json_mode(json_mode)
    result = execute(
        task, timeout=timeout, cwd=cwd, model=model, permission_mode=permission_mode,
        allowed_tools=allowed_tools, disallowed_tools=disallowed_tools, max_turns=max_turns,
        max_budget_usd=max_budget_usd, append_system_prompt=append_system_prompt,
        json_schema=json_schema, accept=accept, repair=repair,
        progress_callback=progress_callback, config=config,
        raise_on_failure=raise_on_failure,
    )
    return _answer(result, json_mode)


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
    handle = _start_list(
        tasks, on_failure, budget_usd, defaults, max_usage_wait_secs, progress_callback, config
    )
    return _run_result(_drive(handle, progress_callback), raise_on_failure)


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
    handle = _start_resume(run_id, budget_usd, force, progress_callback, config)
    return _run_result(_drive(handle, progress_callback), raise_on_failure)


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
]
