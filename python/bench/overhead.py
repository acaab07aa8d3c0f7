"""Per-call overhead of the Python API over the Rust library and over the fake `claude` run
directly, and the time `import cc_executor` adds to a Python start — side by side, one run.

Paths, interleaved after a warm-up (the order rotates every round, so drift hits all alike):

- direct:   spawn the fake `claude` with the argv the executor builds, prompt on stdin,
            stdout to EOF, wait (timed in Rust, `_native._bench_direct`).
- library:  `Executor::prepare` + `execute` in Rust, no Python in between
            (`_native._bench_library`): what a Rust caller pays.
- cc_execute, cc_execute + progress_callback, aio.cc_execute: the Python API, timed in
  Python around the call.

Besides wall time, the CPU time this process spent per call (all its threads — Python's and
the runtime's — not the `claude` child): wall time on a loaded machine is mostly waiting for a
CPU at each hand-over between threads, CPU time is the work the layer adds.

Import: `python -c "import cc_executor"` minus `python -c "pass"`, medians of fresh processes.

    python python/bench/overhead.py --fake-claude target/release/examples/fake_claude

Use a release wheel (`maturin build --release`) and a release fake claude for numbers worth
quoting. Prints a markdown table; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Tuple

import cc_executor
from cc_executor import _native, aio

PROMPT = "@fake success"


def _timed(call: Callable[[], object]) -> Callable[[], Tuple[float, float]]:
    """Wall time around the call, and the CPU time of this process (every thread: Python's
    and the runtime's, not the `claude` child) during it."""

    def run() -> Tuple[float, float]:
        c, t = time.process_time(), time.perf_counter()
        call()
        return time.perf_counter() - t, time.process_time() - c

    return run


def _cpu(call: Callable[[], float]) -> Callable[[], Tuple[float, float]]:
    """Wall time as timed inside Rust, and this process's CPU time around the call."""

    def run() -> Tuple[float, float]:
        c = time.process_time()
        wall = call()
        return wall, time.process_time() - c

    return run


def _startup(code: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fake-claude", required=True)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--import-runs", type=int, default=30)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data:
        cfg = cc_executor.Config.load(claude_bin=args.fake_claude, data_dir=data)
        loop = asyncio.new_event_loop()
        paths: Dict[str, Callable[[], Tuple[float, float]]] = {
            "fake claude run directly": _cpu(lambda: _native._bench_direct(args.fake_claude, PROMPT)),
            "Rust library (prepare + execute)": _cpu(lambda: _native._bench_library(cfg, PROMPT)),
            "Python cc_execute": _timed(lambda: cc_executor.cc_execute(PROMPT, config=cfg)),
            "Python cc_execute + progress_callback": _timed(
                lambda: cc_executor.cc_execute(PROMPT, config=cfg, progress_callback=lambda e: None)
            ),
            "Python aio.cc_execute": _timed(
                lambda: loop.run_until_complete(aio.cc_execute(PROMPT, config=cfg))
            ),
        }
        names = list(paths)
        for _ in range(args.warmup):
            for name in names:
                paths[name]()
        samples: Dict[str, List[float]] = {n: [] for n in names}
        cpu: Dict[str, List[float]] = {n: [] for n in names}
        for i in range(args.runs):
            order = names[i % len(names):] + names[: i % len(names)]
            for name in order:
                wall, used = paths[name]()
                samples[name].append(wall)
                cpu[name].append(used)
        loop.close()

    med = {n: statistics.median(s) * 1000 for n, s in samples.items()}
    med_cpu = {n: statistics.median(s) * 1000 for n, s in cpu.items()}
    direct = med["fake claude run directly"]
    library = med["Rust library (prepare + execute)"]
    library_cpu = med_cpu["Rust library (prepare + execute)"]
    bare = _startup("pass", args.import_runs) * 1000
    with_import = _startup("import cc_executor", args.import_runs) * 1000
    with_aio = _startup("import cc_executor.aio", args.import_runs) * 1000

    print(f"overhead.py: {args.runs} timed runs per path after {args.warmup} warm-up runs, interleaved; "
          f"import: {args.import_runs} fresh processes each; Python {sys.version.split()[0]}")
    print()
    print("| path | median per call | over direct | over the Rust library | CPU of this process per call | CPU over the Rust library |")
    print("|---|---|---|---|---|---|")
    for n in names:
        ours = not (n.startswith("fake") or n.startswith("Rust"))
        over_lib = f"{med[n] - library:+.2f} ms" if ours else "—"
        over_direct = "—" if n.startswith("fake") else f"{med[n] - direct:+.2f} ms"
        cpu_over = f"{med_cpu[n] - library_cpu:+.2f} ms" if ours else "—"
        print(f"| {n} | {med[n]:.2f} ms | {over_direct} | {over_lib} | {med_cpu[n]:.2f} ms | {cpu_over} |")
    print()
    print("| import | median | added to `python -c pass` |")
    print("|---|---|---|")
    print(f"| `python -c pass` | {bare:.1f} ms | — |")
    print(f"| `import cc_executor` | {with_import:.1f} ms | {with_import - bare:+.1f} ms |")
    print(f"| `import cc_executor.aio` | {with_aio:.1f} ms | {with_aio - bare:+.1f} ms |")


if __name__ == "__main__":
    main()
