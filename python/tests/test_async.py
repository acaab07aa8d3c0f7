"""cc_executor.aio: coroutines on the running loop; cancelling one stops the process tree."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from typing import Any, Dict, List

import pytest

import cc_executor
from cc_executor import aio

from conftest import assert_run_progress, processes_of


def test_async_cc_execute_and_json_mode(config: cc_executor.Config) -> None:
    async def main() -> None:
        assert await aio.cc_execute("@fake success text=async") == "async"
        r = await aio.cc_execute("@fake success text=j", json_mode=True)
        assert isinstance(r, dict) and r["status"] == "succeeded"
        res = await aio.execute("@fake success text=typed")
        assert res.result == "typed"

    asyncio.run(main())


def test_async_progress_runs_on_the_loop_in_order(config: cc_executor.Config) -> None:
    seen: List[Dict[str, Any]] = []
    loop_thread: List[int] = []

    async def main() -> None:
        loop_thread.append(threading.get_ident())

        def cb(e: Dict[str, Any]) -> None:
            assert threading.get_ident() == loop_thread[0]
            seen.append(e)

        await aio.cc_execute("@fake success text=x", progress_callback=cb)

    asyncio.run(main())
    assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1))
    assert seen[0]["kind"] == "queued" and seen[-1]["kind"] == "finished"


def test_task_cancel_kills_the_process_tree(config: cc_executor.Config) -> None:
    ids: List[str] = []

    async def main() -> None:
        started = asyncio.Event()

        def cb(e: Dict[str, Any]) -> None:
            if e["kind"] == "started":
                ids.append(e["execution_id"])
                started.set()

        task = asyncio.create_task(aio.cc_execute("@fake grandchild mode=hang", timeout=60, progress_callback=cb))
        await asyncio.wait_for(started.wait(), 20)
        await asyncio.sleep(0.5)  # the grandchild is up
        assert len(processes_of(ids[0])) >= 2  # claude and its grandchild
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    t0 = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - t0 < 30
    h = cc_executor.get_execution_history(limit=1)["executions"][0]
    assert h["status"] == "cancelled" and h["execution_id"] == ids[0]
    assert processes_of(ids[0]) == []


def test_wait_for_timeout_cancels_too(config: cc_executor.Config) -> None:
    async def main() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(aio.cc_execute("@fake hang"), 1.0)

    asyncio.run(main())
    assert cc_executor.get_execution_history(limit=1)["executions"][0]["status"] == "cancelled"


def test_coroutines_share_the_fifo_line(config: cc_executor.Config) -> None:
    async def main() -> List[Dict[str, Any]]:
        coros = [aio.cc_execute(f"@fake slow secs=0.2 text={i}", json_mode=True) for i in range(4)]
        return list(await asyncio.gather(*coros))  # type: ignore[arg-type]

    results = asyncio.run(main())
    assert [r["result"] for r in results] == ["0", "1", "2", "3"]
    for a, b in zip(results, results[1:]):
        assert a["finished_at"] <= b["started_at"]


def test_async_queries(config: cc_executor.Config) -> None:
    async def main() -> None:
        await aio.cc_execute("@fake success")
        h = await aio.get_execution_history(limit=5)
        assert len(h["executions"]) == 1
        assert (await aio.verify_execution())["verdict"] in ("verified", "unverified")
        assert "classification" in await aio.get_task_complexity("fix the bug")
        assert (await aio.validate_task_list(["a", "b"]))["valid"] is True
        assert "markdown" in await aio.suggest_execution_strategy(["a", "b"])
        assert (await aio.export_execution_history("jsonl")).count("\n") == 1

    asyncio.run(main())


def test_async_task_list_progress_is_tagged_and_in_order(config: cc_executor.Config) -> None:
    events: List[Dict[str, Any]] = []
    loop_thread: List[int] = []

    async def main() -> Dict[str, Any]:
        loop_thread.append(threading.get_ident())

        def cb(e: Dict[str, Any]) -> None:
            assert threading.get_ident() == loop_thread[0]
            events.append(e)

        return await aio.cc_execute_list(
            [{"id": "one", "task": "@fake success text=first"}, "@fake success text=2nd"],
            progress_callback=cb,
        )

    run = asyncio.run(main())
    assert run["state"] == "succeeded"
    # A task given as text gets its position as its id.
    assert_run_progress(events, ["one", run["run"]["tasks"][1]["id"]], ["first", "2nd"])


def test_cancelling_an_async_task_list_cancels_the_run_and_it_resumes(config: cc_executor.Config) -> None:
    seen: List[Dict[str, Any]] = []

    async def main() -> None:
        second_started = asyncio.Event()

        def cb(e: Dict[str, Any]) -> None:
            seen.append(e)
            if e["kind"] == "started" and e["task_id"] == "b":
                second_started.set()

        task = asyncio.create_task(
            aio.cc_execute_list(
                [{"id": "a", "task": "@fake success text=first"}, {"id": "b", "task": "@fake slow secs=2 text=b"}],
                progress_callback=cb,
            )
        )
        await asyncio.wait_for(second_started.wait(), 20)
        assert processes_of(seen[-1]["execution_id"])
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    cancelled = [e for e in seen if e["kind"] == "started" and e["task_id"] == "b"][0]
    assert processes_of(cancelled["execution_id"]) == []
    history = cc_executor.get_execution_history(limit=1)["executions"][0]
    assert history["execution_id"] == cancelled["execution_id"] and history["status"] == "cancelled"
    # Cancelled, not finished: it resumes at the task it stopped in.
    resumed = asyncio.run(aio.resume_run(cancelled["run_id"]))
    assert resumed["state"] == "succeeded"
    a, b = resumed["run"]["tasks"]
    assert len(a["executions"]) == 1 and b["executions"][0] == cancelled["execution_id"]


def test_async_bad_inputs_raise_from_the_coroutine(config: cc_executor.Config) -> None:
    async def main() -> None:
        with pytest.raises(TypeError, match="task must be a str"):
            await aio.cc_execute(3)  # type: ignore[arg-type]
        with pytest.raises(cc_executor.InvalidTaskError, match="must not be empty"):
            await aio.execute("")
        with pytest.raises(cc_executor.InvalidTaskError, match="nothing was started"):
            await aio.cc_execute_list([])
        with pytest.raises(cc_executor.InvalidArgumentError, match="run_id"):
            await aio.resume_run("nope")
        with pytest.raises(cc_executor.InvalidArgumentError, match="format"):
            await aio.export_execution_history("xml")

    asyncio.run(main())
    assert cc_executor.get_execution_history()["executions"] == []


def test_no_python_runs_on_the_runtimes_threads(config: cc_executor.Config) -> None:
    # A runtime thread that took the GIL to wake the loop (call_soon_threadsafe) could be
    # caught by the interpreter's exit and abort the process; the extension wakes the loop
    # through a socket instead.
    calls: List[int] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        original = loop.call_soon_threadsafe

        def recording(*args: Any, **kwargs: Any) -> Any:
            calls.append(threading.get_ident())
            return original(*args, **kwargs)

        loop.call_soon_threadsafe = recording  # type: ignore[method-assign]
        events: List[Dict[str, Any]] = []
        assert await aio.cc_execute("@fake success text=x", progress_callback=events.append) == "x"
        assert await aio.cc_execute("@fake success text=y") == "y"
        await aio.cc_execute_list(["@fake success"], progress_callback=events.append)
        assert events

    asyncio.run(main())
    assert calls == []


def test_calls_that_end_at_once_never_leave_the_loop_waiting(config: cc_executor.Config) -> None:
    # The call fails before it starts, and the work drops its end of the channel right after:
    # the loop must be woken for that too (pytest-timeout fails this test if it hangs).
    async def main() -> None:
        for _ in range(300):
            with pytest.raises(cc_executor.InvalidTaskError):
                await aio.execute("")

    asyncio.run(main())


EXIT_CHILD = """
import asyncio, sys, cc_executor
from cc_executor import aio
cfg = cc_executor.Config.load(claude_bin=sys.argv[1], data_dir=sys.argv[2])
async def main():
    for _ in range(300):
        try:
            await aio.execute("", config=cfg)
        except cc_executor.InvalidTaskError:
            pass
    print(await aio.cc_execute("@fake success text=last", config=cfg))
asyncio.run(main())
"""


def test_a_process_that_used_asyncio_exits_cleanly(fake_claude: Any, tmp_path: Any) -> None:
    out = subprocess.run(
        [sys.executable, "-c", EXIT_CHILD, str(fake_claude), str(tmp_path / "data")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert (out.returncode, out.stdout) == (0, "last\n"), out.stderr
