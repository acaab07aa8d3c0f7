"""Ctrl-C during a sync call: the task's process tree is stopped and KeyboardInterrupt raised."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import cc_executor

from conftest import processes_of


CHILD = textwrap.dedent(
    """
    import sys, cc_executor
    cfg = cc_executor.Config.load(claude_bin=sys.argv[1], data_dir=sys.argv[2], kill_grace_ms=500)
    def cb(e):
        if e["kind"] == "started":
            print("started", e["execution_id"], flush=True)
    try:
        cc_executor.cc_execute("@fake grandchild mode=hang", config=cfg, progress_callback=cb, timeout=60)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(42)
    print("not interrupted", flush=True)
    """
)


def test_sigint_stops_the_tree_and_raises_keyboard_interrupt(
    fake_claude: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CC_EXECUTOR_")}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(fake_claude), str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()  # the child prints it once the task runs
        assert line.startswith("started "), (line, proc.stderr.read() if proc.stderr else "")
        execution_id = line.split()[1]
        time.sleep(0.5)  # the grandchild is up
        assert len(processes_of(execution_id)) >= 2  # claude and its grandchild
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert time.monotonic() - t0 < 15
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 42, (out, err)
    assert "interrupted" in out
    cfg = cc_executor.Config.load(claude_bin=fake_claude, data_dir=data)
    last = cc_executor.get_execution_history(limit=1, config=cfg)["executions"][0]
    assert last["status"] == "cancelled" and last["execution_id"] == execution_id
    assert processes_of(execution_id) == []


LIST_CHILD = textwrap.dedent(
    """
    import sys, cc_executor
    cfg = cc_executor.Config.load(claude_bin=sys.argv[1], data_dir=sys.argv[2], kill_grace_ms=500)
    def cb(e):
        if e["kind"] == "started" and e["task_id"] == "b":
            print("started", e["run_id"], e["execution_id"], flush=True)
    try:
        cc_executor.cc_execute_list(
            [{"id": "a", "task": "@fake success text=first"},
             {"id": "b", "task": "@fake slow secs=2 text=second"}],
            config=cfg, progress_callback=cb,
        )
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(42)
    print("not interrupted", flush=True)
    """
)


def test_sigint_during_a_task_list_saves_the_run_for_resume(
    fake_claude: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CC_EXECUTOR_")}
    proc = subprocess.Popen(
        [sys.executable, "-c", LIST_CHILD, str(fake_claude), str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        assert line.startswith("started "), (line, proc.stderr.read() if proc.stderr else "")
        run_id, execution_id = line.split()[1:3]
        assert processes_of(execution_id)  # the second task's claude is running
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 42, (out, err)
    assert processes_of(execution_id) == []
    cfg = cc_executor.Config.load(claude_bin=fake_claude, data_dir=data)
    resumed = cc_executor.resume_run(run_id, config=cfg)
    assert resumed["state"] == "succeeded"
    tasks = resumed["run"]["tasks"]
    assert len(tasks[0]["executions"]) == 1  # the first task was not run again
    assert tasks[1]["executions"][0] == execution_id and len(tasks[1]["executions"]) == 2
