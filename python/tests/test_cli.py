"""The wheel's `cc-executor` command: the same CLI as the Rust binary."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(sys.executable).parent / "cc-executor"


def run(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture
def env(fake_claude: pathlib.Path, tmp_path: pathlib.Path) -> dict:
    e = {k: v for k, v in os.environ.items() if not k.startswith("CC_EXECUTOR_")}
    e.update(CC_EXECUTOR_CLAUDE_BIN=str(fake_claude), CC_EXECUTOR_DATA_DIR=str(tmp_path / "data"))
    return e


def test_the_console_script_is_installed() -> None:
    assert SCRIPT.exists() or shutil.which("cc-executor")


def test_version_and_help(env: dict) -> None:
    out = run("--version", env=env)
    assert out.returncode == 0 and out.stdout.startswith("cc-executor ")
    assert "run" in run("--help", env=env).stdout


def test_run_and_history(env: dict) -> None:
    out = run("run", "--json", "@fake success text=from-cli", env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["result"] == "from-cli"
    failed = run("run", "@fake api_error", env=env)
    assert failed.returncode == 1  # the CLI's exit code for a task that did not succeed
    listed = run("history", "export", "--format", "jsonl", env=env)
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 2


def test_usage_errors_exit_2(env: dict) -> None:
    out = run("run", "--permission-mode", "bogus", "x", env=env)
    assert out.returncode == 2
    assert "permission" in out.stderr
