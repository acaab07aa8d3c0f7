"""The real Claude Code CLI (pinned, installed by scripts/provision), offline against the
integration tests' fake Anthropic API (`examples/fake_anthropic_api.rs`): the package drives
the real thing end to end, not only the fake `claude`."""

from __future__ import annotations

import asyncio
import os
import pathlib
import subprocess
from typing import Any, Dict, Iterator, List

import pytest

import cc_executor
from cc_executor import aio

from conftest import REPO, assert_run_progress, processes_of

CLAUDE = pathlib.Path(
    os.environ.get("CC_TEST_CLAUDE_BIN", REPO / ".tools" / "claude-code" / "node_modules" / ".bin" / "claude")
)
FAKE_API = pathlib.Path(
    os.environ.get("CC_EXECUTOR_TEST_FAKE_API", REPO / "target" / "debug" / "examples" / "fake_anthropic_api")
)

# A parent Claude Code session, or the host's config and credentials, must not leak in (as in
# tests/it/support/real_claude.rs).
VARS_TO_REMOVE = [
    "CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT", "CLAUDE_CONFIG_DIR", "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_MODEL",
    "ANTHROPIC_SMALL_FAST_MODEL", "ANTHROPIC_DEFAULT_HAIKU_MODEL", "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL", "ANTHROPIC_CUSTOM_HEADERS", "HTTP_PROXY", "HTTPS_PROXY",
    "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
]


@pytest.fixture
def real_config(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[cc_executor.Config]:
    if not CLAUDE.exists():
        pytest.fail(f"the Claude Code CLI is missing at {CLAUDE}: run scripts/provision")
    if not FAKE_API.exists():
        pytest.fail(f"the fake API is missing at {FAKE_API}: cargo build --example fake_anthropic_api")
    api = subprocess.Popen([str(FAKE_API)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert api.stdout is not None
    base_url = api.stdout.readline().strip()
    assert base_url.startswith("http://127.0.0.1:"), base_url
    home, tmp, work = tmp_path / "home", tmp_path / "tmp", tmp_path / "work"
    for d in (home, tmp, work):
        d.mkdir()
    for name in VARS_TO_REMOVE:
        monkeypatch.delenv(name, raising=False)
    for k, v in {
        "HOME": str(home), "TMPDIR": str(tmp), "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "sk-ant-api03-fake-key-for-tests", "CLAUDE_CODE_MAX_RETRIES": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1",
        "IS_SANDBOX": "1", "NO_COLOR": "1",
    }.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(work)
    try:
        yield cc_executor.Config.load(
            claude_bin=CLAUDE, data_dir=tmp_path / "data", api_key="pass", kill_grace_ms=1000
        )
    finally:
        if api.stdin:
            api.stdin.close()
        try:
            api.wait(10)
        except subprocess.TimeoutExpired:
            api.kill()


def test_real_cli_answers_through_the_package(real_config: cc_executor.Config) -> None:
    events: List[Dict[str, Any]] = []
    r = cc_executor.cc_execute(
        "Say hello to the Python package.", json_mode=True, config=real_config,
        progress_callback=events.append, timeout=120,
    )
    assert isinstance(r, dict)
    assert r["status"] == "succeeded", r
    assert r["result"].startswith("fake API answer: ") and "Say hello to the Python package." in r["result"]
    assert r["claude_version"].startswith("2.")
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "queued" and kinds[-1] == "finished" and "text" in kinds, kinds


def test_real_cli_task_list_progress_has_each_tasks_text(real_config: cc_executor.Config) -> None:
    events: List[Dict[str, Any]] = []
    run = cc_executor.cc_execute_list(
        [{"id": "a", "task": "Name a colour."}, {"id": "b", "task": "Name a fruit."}],
        config=real_config, progress_callback=events.append, defaults={"timeout_secs": 120},
    )
    assert run["state"] == "succeeded", run
    assert_run_progress(events, ["a", "b"], ["Name a colour.", "Name a fruit."])


def test_real_cli_cancel_stops_node_and_everything_it_started(real_config: cc_executor.Config) -> None:
    ids: List[str] = []

    async def main() -> None:
        started = asyncio.Event()

        def cb(e: Dict[str, Any]) -> None:
            if e["kind"] == "started":
                ids.append(e["execution_id"])
                started.set()

        task = asyncio.create_task(
            aio.cc_execute("@api slow 60", config=real_config, progress_callback=cb, timeout=120)
        )
        await asyncio.wait_for(started.wait(), 60)
        await asyncio.sleep(1.0)
        assert processes_of(ids[0]), "the CLI is not running"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    last = cc_executor.get_execution_history(limit=1, config=real_config)["executions"][0]
    assert last["status"] == "cancelled" and last["execution_id"] == ids[0]
    assert processes_of(ids[0]) == []
