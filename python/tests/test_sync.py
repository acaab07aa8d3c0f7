"""The sync API on the fake claude: answers, json_mode, typed results, progress, failures."""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, List

import pytest

import cc_executor
from cc_executor import ExecutionResult, Status, TaskFailedError


def test_cc_execute_returns_the_answer_text(config: cc_executor.Config) -> None:
    assert cc_executor.cc_execute("@fake success text=four") == "four"


def test_json_mode_returns_the_mcp_tools_structured_result(config: cc_executor.Config) -> None:
    r = cc_executor.cc_execute("@fake success text=hi", json_mode=True)
    assert isinstance(r, dict)
    assert r["status"] == "succeeded"
    assert r["result"] == "hi"
    # The fields of the MCP tool's structured result.
    for key in ("execution_id", "duration_ms", "queue_wait_ms", "tools_used", "files_written",
                "permission_denials", "attempts", "warnings", "started_at", "finished_at",
                "timeout_secs", "timeout_basis"):
        assert key in r, key
    assert r["timeout_basis"]["kind"] == "default"


def test_execute_returns_a_typed_result(config: cc_executor.Config) -> None:
    r = cc_executor.execute("@fake tools", timeout=30)
    assert isinstance(r, ExecutionResult)
    assert r.status is Status.SUCCEEDED and r.succeeded
    assert r.tools_used  # the fake used tools
    assert r.to_dict()["timeout_secs"] == 30
    assert r.execution_id in repr(r)


def test_progress_comes_in_order_with_the_models_text(config: cc_executor.Config) -> None:
    seen: List[Dict[str, Any]] = []
    threads = set()

    def cb(event: Dict[str, Any]) -> None:
        threads.add(threading.get_ident())
        seen.append(event)

    cc_executor.cc_execute("@fake success text=streamed", progress_callback=cb)
    kinds = [e["kind"] for e in seen]
    assert kinds[0] == "queued" and kinds[-1] == "finished", kinds
    assert "started" in kinds and "text" in kinds
    assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1))
    assert any(e.get("text") == "streamed" for e in seen)
    assert all(isinstance(e["message"], str) for e in seen)
    assert threads == {threading.get_ident()}  # called in the calling thread


def test_an_exception_in_the_callback_propagates_and_stops_the_task(config: cc_executor.Config) -> None:
    class Boom(Exception):
        pass

    def cb(event: Dict[str, Any]) -> None:
        if event["kind"] == "started":
            raise Boom("from the callback")

    t0 = time.monotonic()
    with pytest.raises(Boom, match="from the callback"):
        cc_executor.cc_execute("@fake hang", progress_callback=cb)
    assert time.monotonic() - t0 < 20
    last = cc_executor.get_execution_history(limit=1)["executions"][0]
    assert last["status"] == "cancelled"


def test_a_task_that_did_not_succeed_is_a_result_not_an_exception(config: cc_executor.Config) -> None:
    r = cc_executor.execute("@fake api_error")
    assert r.status is Status.API_ERROR
    assert cc_executor.cc_execute("@fake api_error", json_mode=True)["status"] == "api_error"


def test_raise_on_failure_raises_task_failed_with_the_result(config: cc_executor.Config) -> None:
    with pytest.raises(TaskFailedError, match="api_error") as info:
        cc_executor.cc_execute("@fake api_error", raise_on_failure=True)
    assert isinstance(info.value.result, ExecutionResult)
    assert info.value.result.status is Status.API_ERROR


def test_timeout_kills_the_task(config: cc_executor.Config) -> None:
    r = cc_executor.execute("@fake hang", timeout=1)
    assert r.status is Status.TIMED_OUT


def test_missing_claude_is_a_status(fake_claude: Any, tmp_path: Any) -> None:
    cfg = cc_executor.Config.load(claude_bin=tmp_path / "no-such-claude", data_dir=tmp_path / "d")
    assert cc_executor.execute("hello", config=cfg).status is Status.CLI_NOT_FOUND


def test_the_gil_is_released_while_a_task_runs(config: cc_executor.Config) -> None:
    ticks = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.01)

    t = threading.Thread(target=spin)
    t.start()
    try:
        cc_executor.cc_execute("@fake slow secs=1")
    finally:
        stop.set()
        t.join()
    assert ticks > 30  # ~100 if it ran the whole second


def test_json_schema_gives_structured_output(config: cc_executor.Config) -> None:
    r = cc_executor.execute(
        "@fake structured", json_schema={"type": "object", "properties": {"answer": {"type": "string"}}}
    )
    assert r.succeeded
    assert r.structured_output is not None


def test_config_load_reads_the_cli_environment(
    fake_claude: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CC_EXECUTOR_CLAUDE_BIN", str(fake_claude))
    monkeypatch.setenv("CC_EXECUTOR_DATA_DIR", str(tmp_path / "from-env"))
    cfg = cc_executor.Config.load()
    assert str(cfg.claude_bin) == str(fake_claude)
    assert str(cfg.data_dir) == str(tmp_path / "from-env")
    # Keyword arguments win over the environment.
    assert str(cc_executor.Config.load(data_dir=tmp_path / "kw").data_dir) == str(tmp_path / "kw")


def test_config_file_is_read(fake_claude: Any, tmp_path: Any) -> None:
    f = tmp_path / "config.toml"
    f.write_text(f'claude_bin = "{fake_claude}"\ndata_dir = "{tmp_path / "file-data"}"\n')
    cfg = cc_executor.Config.load(config_file=f)
    assert str(cfg.data_dir) == str(tmp_path / "file-data")
    assert '"data_dir"' in cfg.to_json()


def test_accept_rejects_failing_work_and_repair_fixes_it(config: cc_executor.Config, tmp_path: Any) -> None:
    root = tmp_path.resolve()
    cfg = cc_executor.Config.load(
        claude_bin=config.claude_bin, data_dir=root / "data", kill_grace_ms=500, allowed_roots=[root]
    )
    check = {"commands": [["grep", "good", "out.txt"]], "files": [{"path": "out.txt"}]}
    rejected = cc_executor.execute("@fake repairable fixes=0", cwd=str(root), accept=check, config=cfg)
    assert rejected.status == Status.REJECTED
    acceptance = rejected.acceptance
    assert acceptance is not None and acceptance["passed"] is False
    assert "`grep good out.txt` exited 1" in acceptance["checks"][1]["detail"]

    repaired = cc_executor.cc_execute(
        "@fake repairable", cwd=str(root), accept=check, repair=1, json_mode=True, config=cfg
    )
    assert isinstance(repaired, dict)
    assert repaired["status"] == "succeeded"
    assert repaired["repair"]["repairs"] == 1
    assert (root / "out.txt").read_text() == "good\n"

    with pytest.raises(TypeError, match="accept must be a dict"):
        cc_executor.execute("x", accept=["pytest"], config=cfg)  # type: ignore[arg-type]
    from cc_executor.errors import InvalidTaskError

    with pytest.raises(InvalidTaskError, match="accept"):
        cc_executor.execute("x", accept={"commandz": []}, config=cfg)
