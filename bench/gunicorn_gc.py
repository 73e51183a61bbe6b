"""gunicorn hooks for the benchmarks: each worker notes its garbage collections.

With BENCH_GC_DIR set, every worker appends a line to `<pid>.log` there for each collection
of the older generations (1 and 2) and for any collection of 1 ms or more: when it started
(time.monotonic, the same clock in every process), how long it took in seconds, the CPU
time it used (less than the first when the worker was made to wait for a core), and its
generation. bench.http reads them for the windows it measured, so a p99 can be set beside
the full collections that fell in it.

    gunicorn config.wsgi --config=bench/gunicorn_gc.py
"""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path
from typing import Any


def post_fork(server: Any, worker: Any) -> None:
    folder = os.environ.get("BENCH_GC_DIR")
    if not folder:
        return
    log = (Path(folder) / f"{os.getpid()}.log").open("a", buffering=1)
    started: list[float] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[:] = [time.monotonic(), time.thread_time()]
            return
        if not started:
            return
        begun, took = started[0], time.monotonic() - started[0]
        worked = time.thread_time() - started[1]
        if info["generation"] or took >= 0.001:
            log.write(f"{begun:.6f} {took:.6f} {worked:.6f} {info['generation']}\n")

    gc.callbacks.append(note)
