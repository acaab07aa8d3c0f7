"""The asyncio API: the same functions as :mod:`cc_executor`, as coroutines.

A task runs on the extension's tokio runtime; the coroutine awaits its events and result on
the running loop, so the progress callback runs on the loop, in order. Cancelling the
coroutine's task (``task.cancel()``, ``asyncio.wait_for`` running out, a TaskGroup failing)
stops the execution and its whole process tree before ``CancelledError`` propagates. Every
call shares the one FIFO queue of its ``Config`` with the sync API and other threads.
"""

from __future__ import annotations

import asyncio

from . import _api, _calls, _native
from ._native import Config
from ._result import ExecutionResult

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Union

    from ._calls import PathLike, ProgressCallback, TaskList


class _Wake:
    """Wakes the coroutine waiting on a call when the call has something for it: the
    extension writes a byte to a socket the event loop watches (``add_reader``), so no Python
    ever runs on the runtime's threads and the loop only runs when there is work."""

    __slots__ = ("_loop", "_handle", "_fd", "_waiter", "_closed")

    def __init__(self, loop: asyncio.AbstractEventLoop, handle: _native.Handle) -> None:
        self._loop = loop
        self._handle = handle
        self._fd = handle.wake_fd()
        self._waiter: Optional[asyncio.Future[None]] = None
        self._closed = False
        loop.add_reader(self._fd, self._ready)

    def _ready(self) -> None:
        self._handle.clear_wake()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait(self) -> bool:
        """Until the call may have something; False once the loop stopped watching."""
        if self._closed:
            return False
        self._waiter = self._loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None
        return not self._closed

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._loop.remove_reader(self._fd)
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_result(None)


async def _drain(handle: _native.Handle, wake: _Wake) -> None:
    """Waits until a cancelled call has ended: its process tree is gone."""
    while True:
        try:
            item = handle.next(0.0, False)
        except BaseException:  # the call's own error: it has ended
            return
        if item is None:
            if not await wake.wait():
                return
        elif item[0] != "event":
            return


async def _drive(handle: _native.Handle, callback: Optional[ProgressCallback]) -> Any:
    """Events to the callback on the loop, in order, then the result; stops the work on any
    exception, cancellation included."""
    wake = _Wake(asyncio.get_running_loop(), handle)
    try:
        while True:
            # Ask first, then wait: an item that comes in between leaves the socket readable.
            item = handle.next(0.0, False)
            if item is None:
                await wake.wait()
                continue
            done, value = _calls._on_item(item, callback)
            if done:
                return value
    except BaseException:
        handle.cancel()
        # Wait (bounded) until the process tree is gone, even while being cancelled.
        try:
            await asyncio.wait_for(asyncio.shield(_drain(handle, wake)), _calls._DRAIN_SECS)
        except BaseException:
            pass
        raise
    finally:
        wake.close()


async def execute(
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
    """Coroutine version of :func:`cc_executor.execute`."""
    handle = _calls._start_task(
        task, timeout, cwd, model, permission_mode, allowed_tools, disallowed_tools, max_turns,
        max_budget_usd, append_system_prompt, json_schema, accept, repair, progress_callback, config,
    )
    return _calls._task_result(await _drive(handle, progress_callback), raise_on_failure)


async def cc_execute(
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
    """Coroutine version of :func:`cc_executor.cc_execute`."""
    _calls._check_json_mode(json_mode)
    result = await execute(
        task, timeout=timeout, cwd=cwd, model=model, permission_mode=permission_mode,
        allowed_tools=allowed_tools, disallowed_tools=disallowed_tools, max_turns=max_turns,
        max_budget_usd=max_budget_usd, append_system_prompt=append_system_prompt,
        json_schema=json_schema, accept=accept, repair=repair,
        progress_callback=progress_callback, config=config,
        raise_on_failure=raise_on_failure,
    )
    return _calls._answer(result, json_mode)


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
    handle = _calls._start_list(
        tasks, on_failure, budget_usd, defaults, max_usage_wait_secs, progress_callback, config
    )
    return _calls._run_result(await _drive(handle, progress_callback), raise_on_failure)


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
    handle = _calls._start_resume(run_id, budget_usd, force, progress_callback, config)
    return _calls._run_result(await _drive(handle, progress_callback), raise_on_failure)


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
