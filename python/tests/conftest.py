"""Fixtures for the Python suite: a fresh configuration per test, on the fake `claude`.

The fake (`target/debug/examples/fake_claude`, or `CC_EXECUTOR_TEST_FAKE_CLAUDE`) plays the
scenario named in the prompt (`@fake success text=X`, `@fake slow secs=2`, `@fake hang`, …):
the real executor runs it as it would run Claude Code. Each test gets its own data dir (its
own history) and no config file of the user's.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any, Dict, Iterator, List

import pytest

import cc_executor

REPO = pathlib.Path(__file__).resolve().parents[2]
FAKE_CLAUDE = pathlib.Path(
    os.environ.get("CC_EXECUTOR_TEST_FAKE_CLAUDE", REPO / "target" / "debug" / "examples" / "fake_claude")
)


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No config file, history or variable of the person running the tests leaks in."""
    for name in list(os.environ):
        if name.startswith("CC_EXECUTOR_") and name != "CC_EXECUTOR_TEST_FAKE_CLAUDE":
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture
def fake_claude() -> pathlib.Path:
    if not FAKE_CLAUDE.exists():
        pytest.fail(f"the fake claude is missing: {FAKE_CLAUDE} (cargo build --example fake_claude)")
    return FAKE_CLAUDE


@pytest.fixture
def data_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path / "data"


@pytest.fixture
def config(fake_claude: pathlib.Path, data_dir: pathlib.Path, tmp_path: pathlib.Path) -> cc_executor.Config:
    """A configuration on the fake claude, also the process default for the test."""
    cfg = cc_executor.Config.load(claude_bin=fake_claude, data_dir=data_dir, kill_grace_ms=500)
    cc_executor.set_default_config(cfg)
    return cfg


def processes_of(execution_id: str) -> List[int]:
    """Live processes started for an execution: each carries CC_EXECUTOR_EXECUTION_ID=<id>
    in its environment (how the executor itself finds a task's processes)."""
    needle = f"CC_EXECUTOR_EXECUTION_ID={execution_id}".encode()
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # A zombie has exited; only its parent's wait is missing.
        state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"
        if needle in env.split(b"\0") and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.fixture
def events() -> Iterator[List[dict]]:
    yield []


def assert_run_progress(events: List[Dict[str, Any]], task_ids: List[str], texts: List[str]) -> None:
    """What a task list's progress callback must have seen, in order: per task
    `task_started`, every event of its execution (as `cc_execute` gives them: `seq` 1, 2, …,
    the model's text — one containing `texts[i]` — included, up to `finished`),
    `task_finished`; then `run_finished`. Every
    task event names its task (`task_id`, `task_index`) and execution; every event the run."""
    run_ids = {e["run_id"] for e in events}
    assert len(run_ids) == 1, run_ids
    assert events[-1]["kind"] == "run_finished", [e["kind"] for e in events]
    i = 0
    for index, (task_id, text) in enumerate(zip(task_ids, texts)):
        start = events[i]
        assert start["kind"] == "task_started", (i, start)
        assert (start["task_id"], start["task_index"], start["position"]) == (task_id, index, index + 1)
        execution = []
        i += 1
        while events[i]["kind"] != "task_finished":
            execution.append(events[i])
            i += 1
        end = events[i]
        assert (end["task_id"], end["task_index"]) == (task_id, index), end
        i += 1
        kinds = [e["kind"] for e in execution]
        assert kinds[0] == "queued" and kinds[-1] == "finished", kinds
        assert "started" in kinds and "text" in kinds, kinds
        assert [e["seq"] for e in execution] == list(range(1, len(execution) + 1)), kinds
        assert any(e["kind"] == "text" and text in e["text"] for e in execution), execution
        for e in execution:
            assert (e["task_id"], e["task_index"]) == (task_id, index), e
            assert e["execution_id"] == start["execution_id"], e
            assert e["message"].startswith(f"`{task_id}`: "), e
    assert i == len(events) - 1, [e["kind"] for e in events[i:]]
