"""How an execution ended: :class:`Status` (its own module: ``enum`` is imported only when a
status is looked at, not by ``import cc_executor``)."""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """How an execution ended (one per execution, decided by the library)."""

    SUCCEEDED = "succeeded"
    UNVERIFIED = "unverified"
    RATE_LIMITED = "rate_limited"
    OVERLOADED = "overloaded"
    AUTH_FAILED = "auth_failed"
    MAX_TURNS = "max_turns"
    BUDGET_EXCEEDED = "budget_exceeded"
    API_ERROR = "api_error"
    TIMED_OUT = "timed_out"
    STALLED = "stalled"
    CANCELLED = "cancelled"
    CRASHED = "crashed"
    CLI_NOT_FOUND = "cli_not_found"
    SPAWN_FAILED = "spawn_failed"
    REJECTED_BY_HOOK = "rejected_by_hook"
    INTERRUPTED = "interrupted"
    OUTPUT_TOO_LARGE = "output_too_large"
    REJECTED = "rejected"


__all__ = ["Status"]
