"""The typed view of what the executor returns: :class:`ExecutionResult`.

A plain class over the result ``dict`` (the MCP tool's JSON), not a dataclass, and
:class:`~cc_executor.Status` is loaded on first use: ``dataclasses`` or ``enum`` alone would
cost more than the rest of ``import cc_executor``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

    from ._status import Status


class ExecutionResult:
    """What one execution did: status, answer, files written, tools used, cost and timing.

    Every field of the JSON is also in :meth:`to_dict` (the same JSON as the MCP tool
    ``cc_execute`` returns); the common ones are attributes here.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Dict[str, Any]) -> None:
        self._data = data

    @property
    def execution_id(self) -> str:
        """The execution's id (a UUID): for ``verify_execution`` and the history."""
        return str(self._data["execution_id"])

    @property
    def status(self) -> Status:
        """How it ended; anything but ``SUCCEEDED`` means the work may not be done."""
        from ._status import Status

        try:
            return Status(self._data["status"])
        except ValueError:  # a status newer than this module: keep the text
            return self._data["status"]  # type: ignore[no-any-return]

    @property
    def succeeded(self) -> bool:
        return self._data.get("status") == "succeeded"

    @property
    def result(self) -> Optional[str]:
        """The final answer text (``None`` when the process gave none)."""
        return self._data.get("result")

    @property
    def structured_output(self) -> Any:
        """With ``json_schema``: the structured output Claude Code validated."""
        return self._data.get("structured_output")

    @property
    def files_written(self) -> List[str]:
        return list(self._data.get("files_written", []))

    @property
    def tools_used(self) -> Dict[str, int]:
        return dict(self._data.get("tools_used", {}))

    @property
    def permission_denials(self) -> List[Dict[str, Any]]:
        return list(self._data.get("permission_denials", []))

    @property
    def warnings(self) -> List[str]:
        """Why the status is what it is, prompt warnings, noise worth knowing."""
        return list(self._data.get("warnings", []))

    @property
    def total_cost_usd(self) -> Optional[float]:
        return self._data.get("total_cost_usd")

    @property
    def duration_ms(self) -> int:
        return int(self._data.get("duration_ms", 0))

    @property
    def queue_wait_ms(self) -> int:
        return int(self._data.get("queue_wait_ms", 0))

    @property
    def session_id(self) -> Optional[str]:
        return self._data.get("session_id")

    @property
    def model(self) -> Optional[str]:
        return self._data.get("model")

    @property
    def exit_code(self) -> Optional[int]:
        return self._data.get("exit_code")

    @property
    def acceptance(self) -> Optional[Dict[str, Any]]:
        """The acceptance checks (``accept``): ``{"passed", "checks": [{"kind", "passed",
        "detail", "duration_ms", "execution_id"?}]}``; ``None`` without checks."""
        return self._data.get("acceptance")

    @property
    def repair(self) -> Optional[Dict[str, Any]]:
        """Its place in a repair loop: ``{"repairs", "executions"}``; ``None`` without one."""
        return self._data.get("repair")

    def to_dict(self) -> Dict[str, Any]:
        """The whole result, as the MCP tool returns it (a copy)."""
        return dict(self._data)

    def __repr__(self) -> str:
        answer = self.result or ""
        if len(answer) > 60:
            answer = answer[:57] + "..."
        return (
            f"ExecutionResult(execution_id={self.execution_id!r}, "
            f"status={self._data.get('status')!r}, result={answer!r})"
        )


__all__ = ["ExecutionResult"]
