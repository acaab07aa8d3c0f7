"""Type stubs of the extension module ``cc_executor._native`` (built from ``python/src``).

Private: use :mod:`cc_executor` and :mod:`cc_executor.aio`. Results cross the boundary as
JSON text and events as ``(kind, json)`` pairs.
"""

import os
import pathlib
from typing import List, Optional, Tuple, Union

__version__: str

_Path = Union[str, "os.PathLike[str]"]
_Next = Tuple[str, str]

class Config:
    """Settings for tasks, read as the ``cc-executor`` CLI reads them (keyword arguments >
    ``CC_EXECUTOR_*`` environment variables > the config file > defaults), and the executor
    they run on: every call with the same ``Config`` object shares one FIFO queue and one
    history store."""

    @staticmethod
    def load(
        *,
        config_file: Optional[_Path] = None,
        claude_bin: Optional[_Path] = None,
        data_dir: Optional[_Path] = None,
        default_timeout_secs: Optional[int] = None,
        kill_grace_ms: Optional[int] = None,
        max_concurrent: Optional[int] = None,
        default_permission_mode: Optional[str] = None,
        allowed_permission_modes: Optional[List[str]] = None,
        allow_bypass_permissions: Optional[bool] = None,
        allowed_roots: Optional[List[_Path]] = None,
        allowed_models: Optional[List[str]] = None,
        default_model: Optional[str] = None,
        default_allowed_tools: Optional[List[str]] = None,
        api_key: Optional[str] = None,
        max_retries: Optional[int] = None,
        max_record_mib: Optional[int] = None,
        redis_url: Optional[str] = None,
        learned_timeouts: Optional[bool] = None,
        stall_timeout_secs: Optional[int] = None,
    ) -> "Config":
        """Reads the configuration; raises ``ConfigError`` for an invalid file or variable."""
    def to_json(self) -> str:
        """The resolved settings as JSON (secrets hidden)."""
    @property
    def warnings(self) -> List[str]: ...
    @property
    def data_dir(self) -> pathlib.Path:
        """Where the history, response files and raw outputs live."""
    @property
    def claude_bin(self) -> pathlib.Path:
        """The Claude Code CLI that runs the tasks (a name is looked up on PATH)."""

class Handle:
    """A running call: its events, then its result or error; cancelling stops it."""

    def next(self, timeout: float, check_signals: bool = True) -> Optional[_Next]: ...
    def wake_fd(self) -> int: ...
    def clear_wake(self) -> None: ...
    def cancel(self) -> None: ...

def start_task(
    config: Config,
    task: str,
    *,
    timeout: Optional[float] = None,
    cwd: Optional[_Path] = None,
    model: Optional[str] = None,
    permission_mode: Optional[str] = None,
    allowed_tools: Optional[List[str]] = None,
    disallowed_tools: Optional[List[str]] = None,
    max_turns: Optional[int] = None,
    max_budget_usd: Optional[float] = None,
    append_system_prompt: Optional[str] = None,
    json_schema: Optional[str] = None,
    accept: Optional[str] = None,
    repair: Optional[int] = None,
    events: bool = False,
) -> Handle: ...
def start_list(
    config: Config,
    tasks: str,
    *,
    on_failure: str = "stop",
    budget_usd: Optional[float] = None,
    defaults: Optional[str] = None,
    max_usage_wait_secs: Optional[int] = None,
    events: bool = False,
) -> Handle: ...
def start_resume(
    config: Config,
    run_id: str,
    *,
    budget_usd: Optional[float] = None,
    force: bool = False,
    events: bool = False,
) -> Handle: ...
def history(
    config: Config,
    *,
    limit: Optional[int] = None,
    status: Optional[str] = None,
    since: Optional[str] = None,
    until: Optional[str] = None,
    search: Optional[str] = None,
    include_stats: bool = True,
) -> str: ...
def export_history(
    config: Config,
    *,
    format: str = "json",
    limit: Optional[int] = None,
    status: Optional[str] = None,
    since: Optional[str] = None,
    until: Optional[str] = None,
    search: Optional[str] = None,
) -> str: ...
def verify(
    config: Config,
    execution_id: Optional[str] = None,
    *,
    last_n: Optional[int] = None,
    markdown: bool = False,
) -> str: ...
def task_complexity(config: Config, task: str) -> str: ...
def validate_tasks(config: Config, tasks: str) -> str: ...
def strategy(config: Config, tasks: str) -> str: ...
def cli_main(argv: List[str]) -> int: ...
def _bench_direct(claude_bin: _Path, prompt: str) -> float: ...
def _bench_library(config: Config, prompt: str) -> float: ...
