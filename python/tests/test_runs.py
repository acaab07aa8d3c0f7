"""Task lists as durable runs: a failure, a stop, and a resume that does not repeat work."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

import cc_executor
from cc_executor import RunStateError, TaskFailedError

from conftest import assert_run_progress

TWO_TASKS = [
    {"id": "edit", "task": "@fake tools"},
    {"id": "answer", "task": "@fake success text=second"},
]
TWO_TEXTS = ["I'll make the requested changes.", "second"]


def test_progress_has_every_tasks_events_tagged_and_in_order(config: cc_executor.Config) -> None:
    events: List[Dict[str, Any]] = []
    run = cc_executor.cc_execute_list(TWO_TASKS, progress_callback=events.append)
    assert run["state"] == "succeeded"
    assert_run_progress(events, ["edit", "answer"], TWO_TEXTS)
    tools = [e["name"] for e in events if e["kind"] == "tool_use"]
    assert tools and all(e["task_id"] == "edit" for e in events if e["kind"] == "tool_use"), tools
    # The same execution ids as the run record.
    started = [e["execution_id"] for e in events if e["kind"] == "task_started"]
    assert started == [t["execution_id"] for t in run["run"]["tasks"]]


def test_a_failure_stops_the_run_and_skips_the_rest(config: cc_executor.Config) -> None:
    events: List[Dict[str, Any]] = []
    run = cc_executor.cc_execute_list(
        ["@fake success text=a", "@fake api_error", "@fake success text=c"],
        progress_callback=events.append,
    )
    assert run["state"] == "failed"
    assert [t["state"] for t in run["run"]["tasks"]] == ["succeeded", "failed", "skipped"]
    assert run["done"] == 3 and run["total"] == 3
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "task_started" and kinds[-1] == "run_finished", kinds
    assert all(isinstance(e["message"], str) for e in events)
    # A failed run is finished: there is nothing to resume.
    with pytest.raises(RunStateError, match="already finished"):
        cc_executor.resume_run(run["run_id"])


def test_on_failure_continue_runs_the_independent_tasks(config: cc_executor.Config) -> None:
    run = cc_executor.cc_execute_task_list(
        ["@fake api_error", "@fake success text=b"], on_failure="continue"
    )
    assert [t["state"] for t in run["run"]["tasks"]] == ["failed", "succeeded"]


def test_raise_on_failure_for_a_run(config: cc_executor.Config) -> None:
    with pytest.raises(TaskFailedError, match="failed") as info:
        cc_executor.cc_execute_list(["@fake api_error"], raise_on_failure=True)
    assert info.value.result["state"] == "failed"


def test_a_stopped_run_resumes_without_repeating_finished_tasks(config: cc_executor.Config) -> None:
    class Stop(Exception):
        pass

    run_id: List[str] = []

    def stop_at_second(e: Dict[str, Any]) -> None:
        run_id.append(e["run_id"])
        if e["kind"] == "task_started" and e["position"] == 2:
            raise Stop()

    with pytest.raises(Stop):
        cc_executor.cc_execute_list(
            [
                {"id": "a", "task": "@fake success text=first"},
                {"id": "b", "task": "@fake slow secs=1 text=second"},
            ],
            progress_callback=stop_at_second,
        )
    runs_seen = cc_executor.get_execution_history(limit=5)["executions"]
    first_exec = [e for e in runs_seen if e["status"] == "succeeded"]
    assert len(first_exec) == 1
    resumed = cc_executor.resume_run(run_id[0])
    assert resumed["state"] == "succeeded"
    tasks = resumed["run"]["tasks"]
    assert [t["state"] for t in tasks] == ["succeeded", "succeeded"]
    # The first task was not run again: still its one execution.
    assert tasks[0]["execution_id"] == first_exec[0]["execution_id"]
    assert len(tasks[0]["executions"]) == 1


def test_task_references_and_dependencies(config: cc_executor.Config) -> None:
    run = cc_executor.cc_execute_list(
        [
            {"id": "a", "task": "@fake success text=alpha"},
            {"id": "b", "task": "@fake echo\nuse {{tasks.a.result}}"},
        ]
    )
    assert run["state"] == "succeeded"
    assert run["run"]["tasks"][1]["depends_on"] == ["a"]
