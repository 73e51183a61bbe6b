"""Exact nearest neighbours (numpy, VECTOR_INDEX=exact) against the approximate index the
site ships (VECTOR_INDEX=hnsw: usearch's HNSW, float16, papers/ann.py), at the size of the
bench database and at all of arXiv (2.7 million papers): memory, build time, query latency
and recall@10 of the approximate index against the exact answer. The graph is built and
mapped by the site's own code, into a scratch VAR_DIR. Writes its table into docs/SEARCH.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dailypapers_bench .venv/bin/python -m bench.ann

The vectors are the bench database's papers (bench.meaning embeds them); the 2.7 million
are those and copies of them moved a little (Gaussian noise, normalised again), so that
they are spread the way paper vectors are.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.meaning import percentiles

ROOT = Path(__file__).resolve().parent.parent
SIZES = (100_000, 2_700_000)
QUERIES = 200
K = 10
NOISE = 0.35  # of each coordinate's spread: copies stay near their paper, not on it


def paper_vectors() -> np.ndarray:
    from bench.http import setup_django

    setup_django()
    from papers import vectors

    return vectors.index().matrix


def grow(base: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """`size` unit vectors: `base`, then noisy copies of it."""
    if size <= len(base):
        return base[:size]
    spread = base.std(axis=0, keepdims=True)
    parts = [base]
    total = len(base)
    while total < size:
        take = min(len(base), size - total)
        copy = base[:take] + rng.standard_normal((take, base.shape[1]), np.float32) * (
            NOISE * spread
        )
        copy /= np.linalg.norm(copy, axis=1, keepdims=True)
        parts.append(copy.astype(np.float32))
        total += take
    return np.concatenate(parts)


def exact(matrix: np.ndarray, queries: np.ndarray) -> tuple[list[np.ndarray], list[float]]:
    found, timings = [], []
    for query in queries:
        started = time.perf_counter()
        scores = matrix @ query
        top = np.argpartition(-scores, K)[:K]
        top = top[np.argsort(-scores[top])]
        timings.append((time.perf_counter() - started) * 1000)
        found.append(top)
    return found, timings


def anonymous_mb() -> float:
    """This process's memory that is its own (a mapped file's pages are the system's page
    cache, which every process mapping the same graph shares)."""
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("Anonymous:"):
            return int(line.split()[1]) / 1024
    return 0.0


def approximate(matrix: np.ndarray, queries: np.ndarray, truth: list[np.ndarray]) -> dict[str, Any]:
    """Build the graph with papers/ann.py into a scratch VAR_DIR, map it as a web process
    does, and ask it the queries."""
    from django.conf import settings

    from papers import ann

    written = datetime.now(UTC)
    started = time.monotonic()
    shown = [started]

    def rows() -> Any:
        for pk, vector in enumerate(matrix):
            yield pk, vector.astype(np.float16).tobytes(), written

    def progress(done: int, total: int) -> None:
        if time.monotonic() - shown[0] > 30 or done == total:
            shown[0] = time.monotonic()
            print(f"    built {done:,} of {total:,}", flush=True)

    with tempfile.TemporaryDirectory() as scratch:
        settings.VAR_DIR = Path(scratch)
        settings.VECTOR_INDEX = "hnsw"
        ann.build(rows(), total=len(matrix), progress=progress)
        build = time.monotonic() - started
        file_mb = ann.path().stat().st_size / 2**20
        before = anonymous_mb()
        graph = ann.load()
        assert graph is not None
        timings, hits = [], 0
        for query, expected in zip(queries, truth, strict=True):
            started_q = time.perf_counter()
            result = graph.nearest(query, limit=K)
            timings.append((time.perf_counter() - started_q) * 1000)
            hits += len({pk for pk, _score in result} & set(expected.tolist()))
        private = anonymous_mb() - before
        del graph
    found = percentiles(timings)
    return {
        "build_seconds": build,
        "file_mb": file_mb,
        "private_mb": private,
        "p50": found["p50"],
        "p99": found["p99"],
        "recall_at_10": hits / (K * len(queries)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "SEARCH.md")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(3)
    base = paper_vectors()
    from papers import ann

    print(f"{len(base):,} paper vectors from the database")
    rows = []
    for size in SIZES:
        matrix = grow(base, size, rng)
        picks = rng.integers(0, len(matrix), QUERIES)
        queries = matrix[picks] + rng.standard_normal((QUERIES, matrix.shape[1]), np.float32) * 0.01
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        truth, timings = exact(matrix, queries)
        exact_times = percentiles(timings)
        p50, p99 = exact_times["p50"], exact_times["p99"]
        matrix_mb = matrix.nbytes / 2**20
        print(f"  {size:,} exact: {matrix_mb:,.0f} MB, p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        rows.append(
            f"| {size:,} | exact, numpy float32 | {matrix_mb:,.0f} in each process | | "
            f"{p50:.1f} | {p99:.1f} | 1.000 |"
        )
        found = approximate(matrix, queries, truth)
        print(
            f"  {size:,} HNSW float16: {found['file_mb']:,.0f} MB file, "
            f"{found['private_mb']:,.0f} MB of its own, built in {found['build_seconds']:.0f} s, "
            f"p50 {found['p50']:.2f} ms, p99 {found['p99']:.2f} ms, "
            f"recall@10 {found['recall_at_10']:.3f}"
        )
        rows.append(
            f"| {size:,} | usearch HNSW, float16, {ann.CONNECTIVITY} links, search width "
            f"{ann.EXPANSION_SEARCH} | {found['file_mb']:,.0f} mapped and shared, "
            f"{found['private_mb']:,.0f} of its own | {found['build_seconds']:.0f} | "
            f"{found['p50']:.2f} | {found['p99']:.2f} | {found['recall_at_10']:.3f} |"
        )
        del matrix
    table = "\n".join(
        [
            "| papers | index | memory | build s | query p50 ms | query p99 ms | recall@10 |",
            "|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    print(table)
    if not args.no_report:
        text = args.out.read_text()
        begin, end = "<!-- index:begin -->", "<!-- index:end -->"
        made = (
            "Made by `.venv/bin/python -m bench.ann` (one query at a time, one thread; "
            "memory in MB)."
        )
        block = f"{begin}\n{made}\n\n{table}\n{end}"
        if begin in text:
            text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
