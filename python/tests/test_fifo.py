"""Calls from several threads run one at a time, in the order they were made."""

from __future__ import annotations

import threading
import time
from typing import Dict, List

import cc_executor


def test_fifo_across_eight_threads(config: cc_executor.Config) -> None:
    cc_executor.cc_execute("@fake success")  # the executor is open: calls only queue now
    results: Dict[int, dict] = {}
    errors: List[BaseException] = []

    def call(i: int) -> None:
        try:
            r = cc_executor.cc_execute(f"@fake slow secs=0.2 text=t{i}", json_mode=True)
            assert isinstance(r, dict)
            results[i] = r
        except BaseException as e:  # reported below
            errors.append(e)

    threads = []
    for i in range(8):
        t = threading.Thread(target=call, args=(i,))
        t.start()
        threads.append(t)
        time.sleep(0.05)  # so the calls are made in a known order
    for t in threads:
        t.join(60)
    assert not errors, errors
    ordered = [results[i] for i in range(8)]
    assert [r["result"] for r in ordered] == [f"t{i}" for i in range(8)]
    for a, b in zip(ordered, ordered[1:]):
        assert a["finished_at"] <= b["started_at"], "ran out of order or at once"
