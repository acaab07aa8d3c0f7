"""The asyncio API: the same functions as :mod:`cc_executor`, as coroutines.

A task runs on the extension's tokio runtime; the coroutine awaits its events and result on
the running loop, so the progress callback runs on the loop, in order. Cancelling the
coroutine's task (``task.cancel()``, ``asyncio.wait_for`` running out, a TaskGroup failing)
stops the execution and its whole process tree before ``CancelledError`` propagates. Every
call shares the one FIFO queue of its ``Config`` with the sync API and other threads.
"""

from __future__ import annotations

import asyncio
import json

from . import _api, _native
from ._native import Config
from ._result import ExecutionResult
from .errors import CcExecutorError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Union

    from ._api import ProgressCallback, TaskList


async def _drain(handle: _native.Handle) -> None:
    while True:
        try:
            kind, _ = await handle.next_async()
        except BaseException:
            return
        if kind != "event":
            return


async def _drive(handle: _native.Handle, callback: Optional[ProgressCallback]) -> Any:
    try:
        while True:
            kind, payload = await handle.next_async()
            if kind == "event":
                if callback is not None:
                    callback(json.loads(payload))
            elif kind == "done":
                return json.loads(payload)
            else:
                raise CcExecutorError("internal error: the call ended without a result")
    except BaseException:
        handle.cancel()
        # Wait (bounded) until the process tree is gone, even while being cancelled.
        try:
            await asyncio.wait_for(asyncio.shield(_drain(handle)), _api._DRAIN_SECS)
        except BaseException:
            pass
        raise


async def execute(
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
    """Coroutine version of :func:`cc_executor.execute`."""
    args = _api._task_args(
        task, timeout, cwd, model, permission_mode, allowed_tools, disallowed_tools,
        max_turns, max_budget_usd, append_system_prompt, json_schema, accept, repair,
    )
    _api._check_callback(progress_callback)
    handle = _native.start_task(_api._config(config), task, events=progress_callback is not None, **args)
    result = ExecutionResult(await _drive(handle, progress_callback))
    if raise_on_failure and not result.succeeded:
        raise _api._failed_task(result)
    return result


async def cc_execute(
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
    """Coroutine version of :func:`cc_executor.cc_execute`."""
    if not isinstance(json_mode, bool):
        raise TypeError(f"json_mode must be a bool, got {type(json_mode).__name__}")
    result = await execute(
        task, timeout=timeout, cwd=cwd, model=model, permission_mode=permission_mode,
        allowed_tools=allowed_tools, disallowed_tools=disallowed_tools, max_turns=max_turns,
        max_budget_usd=max_budget_usd, append_system_prompt=append_system_prompt,
        json_schema=json_schema, accept=accept, repair=repair,
        progress_callback=progress_callback, config=config, raise_on_failure=raise_on_failure,
    )
    if json_mode:
        return result._data
    return result.result or ""


async def cc_execute_list(
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
    """Coroutine version of :func:`cc_executor.cc_execute_list`; cancelling it cancels the
    run (resumable with :func:`resume_run`)."""
    args = _api._list_args(tasks, on_failure, budget_usd, defaults, max_usage_wait_secs)
    _api._check_callback(progress_callback)
    handle = _native.start_list(_api._config(config), events=progress_callback is not None, **args)
    run: Dict[str, Any] = await _drive(handle, progress_callback)
    if raise_on_failure and run.get("state") != "succeeded":
        raise _api._failed_run(run)
    return run


cc_execute_task_list = cc_execute_list


async def resume_run(
    run_id: str,
    *,
    budget_usd: Optional[float] = None,
    force: bool = False,
    progress_callback: Optional[ProgressCallback] = None,
    config: Optional[Config] = None,
    raise_on_failure: bool = False,
) -> Dict[str, Any]:
    """Coroutine version of :func:`cc_executor.resume_run`."""
    _api._check_str("run_id", run_id, optional=False)
    _api._check_number("budget_usd", budget_usd)
    _api._check_callback(progress_callback)
    handle = _native.start_resume(
        _api._config(config), run_id, budget_usd=None if budget_usd is None else float(budget_usd),
        force=bool(force), events=progress_callback is not None,
    )
    run: Dict[str, Any] = await _drive(handle, progress_callback)
    if raise_on_failure and run.get("state") != "succeeded":
        raise _api._failed_run(run)
    return run


# The read-only operations are quick (a store query, the planner): a worker thread runs the
# sync version, which releases the GIL while it works.


async def get_execution_history(
    *,
    limit: Optional[int] = None,
    status: Optional[str] = None,
    since: Optional[str] = None,
    until: Optional[str] = None,
    search: Optional[str] = None,
    include_stats: bool = True,
    config: Optional[Config] = None,
) -> Dict[str, Any]:
    """Coroutine version of :func:`cc_executor.get_execution_history`."""
    return await asyncio.get_running_loop().run_in_executor(
        None,
        lambda: _api.get_execution_history(
            limit=limit, status=status, since=since, until=until, search=search,
            include_stats=include_stats, config=config,
        ),
    )


async def export_execution_history(
    format: str = "json",
    *,
    limit: Optional[int] = None,
    status: Optional[str] = None,
    since: Optional[str] = None,
    until: Optional[str] = None,
    search: Optional[str] = None,
    config: Optional[Config] = None,
) -> str:
    """Coroutine version of :func:`cc_executor.export_execution_history`."""
    return await asyncio.get_running_loop().run_in_executor(
        None,
        lambda: _api.export_execution_history(
            format, limit=limit, status=status, since=since, until=until, search=search,
            config=config,
        ),
    )


async def verify_execution(
    execution_id: Optional[str] = None,
    *,
    last_n: Optional[int] = None,
    markdown: bool = False,
    config: Optional[Config] = None,
) -> Dict[str, Any]:
    """Coroutine version of :func:`cc_executor.verify_execution`."""
    return await asyncio.get_running_loop().run_in_executor(
        None,
        lambda: _api.verify_execution(execution_id, last_n=last_n, markdown=markdown, config=config),
    )


async def get_task_complexity(task: str, *, config: Optional[Config] = None) -> Dict[str, Any]:
    """Coroutine version of :func:`cc_executor.get_task_complexity`."""
    return await asyncio.get_running_loop().run_in_executor(
        None, lambda: _api.get_task_complexity(task, config=config)
    )


async def validate_task_list(tasks: TaskList, *, config: Optional[Config] = None) -> Dict[str, Any]:
    """Coroutine version of :func:`cc_executor.validate_task_list`."""
    return await asyncio.get_running_loop().run_in_executor(
        None, lambda: _api.validate_task_list(tasks, config=config)
    )


async def suggest_execution_strategy(
    tasks: TaskList, *, config: Optional[Config] = None
) -> Dict[str, Any]:
    """Coroutine version of :func:`cc_executor.suggest_execution_strategy`."""
    return await asyncio.get_running_loop().run_in_executor(
        None, lambda: _api.suggest_execution_strategy(tasks, config=config)
    )


__all__ = [
    "execute",
    "cc_execute",
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
