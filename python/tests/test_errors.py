"""Every bad input raises the right exception, with a message that names what is wrong."""

from __future__ import annotations

import pathlib
import uuid
from typing import Any, Callable

import pytest

import cc_executor
from cc_executor import (
    CcExecutorError,
    ConfigError,
    InvalidArgumentError,
    InvalidTaskError,
    PolicyError,
    RunStateError,
    StoreError,
)


def test_the_hierarchy() -> None:
    for cls in (ConfigError, InvalidArgumentError, InvalidTaskError, PolicyError, RunStateError,
                StoreError, cc_executor.TaskFailedError):
        assert issubclass(cls, CcExecutorError)
    assert issubclass(InvalidTaskError, InvalidArgumentError)
    assert issubclass(InvalidArgumentError, ValueError)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: cc_executor.cc_execute(1), "task must be a str"),  # type: ignore[arg-type]
        (lambda: cc_executor.cc_execute("x", timeout="10"), "timeout must be a number"),  # type: ignore[arg-type]
        (lambda: cc_executor.cc_execute("x", timeout=True), "timeout must be a number"),
        (lambda: cc_executor.cc_execute("x", allowed_tools="Bash"), "allowed_tools must be a list of str"),  # type: ignore[arg-type]
        (lambda: cc_executor.cc_execute("x", allowed_tools=[1]), "allowed_tools must be a list of str"),  # type: ignore[list-item]
        (lambda: cc_executor.cc_execute("x", max_turns=1.5), "max_turns must be an int"),  # type: ignore[arg-type]
        (lambda: cc_executor.cc_execute("x", json_mode="yes"), "json_mode must be a bool"),  # type: ignore[arg-type]
        (lambda: cc_executor.cc_execute("x", progress_callback=1), "progress_callback must be callable"),  # type: ignore[arg-type]
        (lambda: cc_executor.cc_execute("x", config={}), "config must be a cc_executor.Config"),  # type: ignore[arg-type]
        (lambda: cc_executor.cc_execute("x", json_schema=[1]), "json_schema must be a dict"),  # type: ignore[arg-type]
        (lambda: cc_executor.cc_execute("x", cwd=3), "cwd must be a str or os.PathLike"),  # type: ignore[arg-type]
        (lambda: cc_executor.cc_execute_list("do it"), "tasks must be a list"),  # type: ignore[arg-type]
        (lambda: cc_executor.cc_execute_list([object()]), "tasks must be JSON-serializable"),  # type: ignore[list-item]
        (lambda: cc_executor.cc_execute_list(["x"], defaults=[1]), "defaults must be a dict"),  # type: ignore[arg-type]
        (lambda: cc_executor.resume_run(7), "run_id must be a str"),  # type: ignore[arg-type]
        (lambda: cc_executor.get_execution_history(limit="5"), "limit must be an int"),  # type: ignore[arg-type]
        (lambda: cc_executor.export_execution_history(1), "format must be a str"),  # type: ignore[arg-type]
        (lambda: cc_executor.set_default_config(None), "config must be a cc_executor.Config"),  # type: ignore[arg-type]
        (lambda: cc_executor.cc_execute("x", model=4), "model must be a str"),  # type: ignore[arg-type]
        (lambda: cc_executor.cc_execute("x", permission_mode=["plan"]), "permission_mode must be a str"),  # type: ignore[arg-type]
        (lambda: cc_executor.cc_execute("x", disallowed_tools=("Bash", 2)), "disallowed_tools must be a list of str"),  # type: ignore[arg-type]
        (lambda: cc_executor.cc_execute("x", max_budget_usd="1"), "max_budget_usd must be a number"),  # type: ignore[arg-type]
        (lambda: cc_executor.cc_execute("x", append_system_prompt=b"x"), "append_system_prompt must be a str"),  # type: ignore[arg-type]
        (lambda: cc_executor.execute(b"x"), "task must be a str"),  # type: ignore[arg-type]
        (lambda: cc_executor.cc_execute_list(["x"], on_failure=None), "on_failure must be a str"),  # type: ignore[arg-type]
        (lambda: cc_executor.cc_execute_list(["x"], budget_usd="2"), "budget_usd must be a number"),  # type: ignore[arg-type]
        (lambda: cc_executor.cc_execute_list(["x"], max_usage_wait_secs=1.5), "max_usage_wait_secs must be an int"),  # type: ignore[arg-type]
        (lambda: cc_executor.cc_execute_list(["x"], progress_callback="print"), "progress_callback must be callable"),  # type: ignore[arg-type]
        (lambda: cc_executor.resume_run("x", budget_usd="2"), "budget_usd must be a number"),  # type: ignore[arg-type]
        (lambda: cc_executor.get_execution_history(status=1), "status must be a str"),  # type: ignore[arg-type]
        (lambda: cc_executor.get_execution_history(since=3600), "since must be a str"),  # type: ignore[arg-type]
        (lambda: cc_executor.export_execution_history("csv", until=1), "until must be a str"),  # type: ignore[arg-type]
        (lambda: cc_executor.verify_execution(5), "execution_id must be a str"),  # type: ignore[arg-type]
        (lambda: cc_executor.verify_execution(last_n="3"), "last_n must be an int"),  # type: ignore[arg-type]
        (lambda: cc_executor.get_task_complexity(None), "task must be a str"),  # type: ignore[arg-type]
        (lambda: cc_executor.validate_task_list("a, b"), "tasks must be a list"),  # type: ignore[arg-type]
        (lambda: cc_executor.suggest_execution_strategy({"a": 1}), "tasks must be a list"),  # type: ignore[arg-type]
    ],
)
def test_wrong_types_are_type_errors(config: cc_executor.Config, call: Callable[[], Any], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        call()


@pytest.mark.parametrize(
    "kwargs, cls, message",
    [
        (dict(task=""), InvalidTaskError, "invalid `task`: must not be empty"),
        (dict(task="x\0y"), InvalidTaskError, "NUL"),
        (dict(task="x" * 2_000_000), InvalidTaskError, "the task is too long"),
        (dict(task="x", timeout=-1), InvalidTaskError, "invalid `timeout`"),
        (dict(task="x", timeout=float("nan")), InvalidTaskError, "invalid `timeout`"),
        (dict(task="x", timeout=10**9), InvalidTaskError, "between 1 and 86400 seconds"),
        (dict(task="x", permission_mode="bogus"), InvalidTaskError, "permission_mode"),
        (dict(task="x", permission_mode="bypassPermissions"), PolicyError, "allow_bypass_permissions"),
        (dict(task="x", max_turns=0), InvalidTaskError, "max_turns"),
        (dict(task="x", max_budget_usd=-2.0), InvalidTaskError, "max_budget_usd"),
        (dict(task="x", cwd="/no/such/dir/anywhere"), InvalidTaskError, "cwd"),
        (dict(task="x", timeout=float("inf")), InvalidTaskError, "invalid `timeout`"),
        (dict(task="x", max_budget_usd=float("nan")), InvalidTaskError, "max_budget_usd"),
        (dict(task="x", max_turns=-(2**40)), InvalidTaskError, "max_turns"),
    ],
)
def test_refused_tasks(config: cc_executor.Config, kwargs: dict, cls: type, message: str) -> None:
    with pytest.raises(cls, match=message):
        cc_executor.cc_execute(**kwargs)
    # Nothing ran.
    assert cc_executor.get_execution_history()["executions"] == []


def test_policy_refusals_name_the_setting(fake_claude: pathlib.Path, tmp_path: pathlib.Path) -> None:
    root = tmp_path / "allowed"
    root.mkdir()
    cfg = cc_executor.Config.load(
        claude_bin=fake_claude, data_dir=tmp_path / "d", allowed_roots=[root], allowed_models=["sonnet"]
    )
    with pytest.raises(PolicyError, match="allowed_roots"):
        cc_executor.cc_execute("x", cwd=str(tmp_path), config=cfg)
    with pytest.raises(PolicyError, match="allowed_models"):
        cc_executor.cc_execute("x", cwd=str(root), model="opus", config=cfg)
    assert cc_executor.cc_execute("@fake success text=ok", cwd=root, model="sonnet", config=cfg) == "ok"


def test_invalid_task_lists(config: cc_executor.Config) -> None:
    with pytest.raises(InvalidTaskError, match="nothing was started"):
        cc_executor.cc_execute_list([])
    with pytest.raises(InvalidTaskError, match="(?s)nothing was started.*cycle"):
        cc_executor.cc_execute_list(
            [{"id": "a", "task": "x", "depends_on": ["b"]}, {"id": "b", "task": "y", "depends_on": ["a"]}]
        )
    with pytest.raises(InvalidTaskError, match="already used by task 1"):
        cc_executor.cc_execute_list([{"id": "a", "task": "x"}, {"id": "a", "task": "y"}])
    with pytest.raises(InvalidArgumentError, match="on_failure"):
        cc_executor.cc_execute_list(["x"], on_failure="retry")
    with pytest.raises(InvalidArgumentError, match="budget_usd"):
        cc_executor.cc_execute_list(["x"], budget_usd=float("nan"))
    with pytest.raises(InvalidArgumentError, match="budget_usd"):
        cc_executor.cc_execute_list(["x"], budget_usd=-1)
    with pytest.raises(InvalidArgumentError, match="defaults"):
        cc_executor.cc_execute_list(["x"], defaults={"no_such_setting": 1})
    with pytest.raises(PolicyError, match="allow_bypass_permissions"):
        cc_executor.cc_execute_list(["x"], defaults={"permission_mode": "bypassPermissions"})
    assert cc_executor.get_execution_history()["executions"] == []


def test_bad_ids_and_filters(config: cc_executor.Config) -> None:
    with pytest.raises(InvalidArgumentError, match="run_id"):
        cc_executor.resume_run("not-a-uuid")
    with pytest.raises(RunStateError, match="unknown run"):
        cc_executor.resume_run(str(uuid.uuid4()))
    with pytest.raises(InvalidArgumentError, match="format"):
        cc_executor.export_execution_history("xml")
    with pytest.raises(InvalidArgumentError, match="since"):
        cc_executor.get_execution_history(since="last tuesday")
    with pytest.raises(InvalidArgumentError, match="limit"):
        cc_executor.get_execution_history(limit=0)
    with pytest.raises(InvalidArgumentError, match="status"):
        cc_executor.get_execution_history(status="great")
    with pytest.raises(InvalidArgumentError, match="unknown execution id"):
        cc_executor.verify_execution(str(uuid.uuid4()))
    with pytest.raises(InvalidArgumentError, match="not both"):
        cc_executor.verify_execution(str(uuid.uuid4()), last_n=2)
    with pytest.raises(InvalidArgumentError, match="execution_id"):
        cc_executor.verify_execution("nope")


def test_bad_configuration(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        cc_executor.Config.load(config_file=tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("default_timeout_secs = 'soon'\n")
    with pytest.raises(ConfigError, match="invalid config file"):
        cc_executor.Config.load(config_file=bad)
    with pytest.raises(InvalidArgumentError, match="default_permission_mode"):
        cc_executor.Config.load(default_permission_mode="whatever")
    with pytest.raises(TypeError):
        cc_executor.Config.load(max_concurrent="two")  # type: ignore[arg-type]
    monkeypatch.setenv("CC_EXECUTOR_MAX_CONCURRENT", "many")
    with pytest.raises(ConfigError, match="invalid environment setting"):
        cc_executor.Config.load()


def test_the_private_wait_takes_any_float(config: cc_executor.Config) -> None:
    from cc_executor import _native

    handle = _native.start_task(config, "@fake success")
    for t in (float("nan"), float("-inf"), -1.0):
        handle.next(t)  # returns (an item or None), never panics
    handle.cancel()


def test_an_unusable_store_is_a_store_error(fake_claude: pathlib.Path, tmp_path: pathlib.Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    cfg = cc_executor.Config.load(claude_bin=fake_claude, data_dir=not_a_dir)
    with pytest.raises(StoreError, match=str(not_a_dir)):
        cc_executor.cc_execute("x", config=cfg)
