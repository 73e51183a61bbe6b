"""Exact nearest neighbours (numpy, what the site runs) against an approximate index (usearch's
HNSW, int8), at the size of the bench database and at all of arXiv (2.7 million papers):
memory, build time, query latency and recall@10 of the approximate index against the exact
answer. Writes its table into docs/SEARCH.md.

    .venv/bin/pip install usearch   # the `bench` extra
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dailypapers_bench .venv/bin/python -m bench.ann

The vectors are the bench database's papers (bench.meaning embeds them); the 2.7 million
are those and copies of them moved a little (Gaussian noise, normalised again), so that
they are spread the way paper vectors are.
"""

from __future__ import annotations

import argparse
import sys
import time
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


def approximate(matrix: np.ndarray, queries: np.ndarray, truth: list[np.ndarray]) -> dict[str, Any]:
    from usearch.index import Index

    index = Index(ndim=matrix.shape[1], metric="cos", dtype="i8", connectivity=16)
    started = time.monotonic()
    step = 100_000
    for start in range(0, len(matrix), step):
        chunk = matrix[start : start + step]
        index.add(np.arange(start, start + len(chunk)), chunk, threads=2)
        print(f"    built {start + len(chunk):,} of {len(matrix):,}", flush=True)
    build = time.monotonic() - started
    timings, hits = [], 0
    for query, expected in zip(queries, truth, strict=True):
        started_q = time.perf_counter()
        result = index.search(query, K, threads=1)
        timings.append((time.perf_counter() - started_q) * 1000)
        hits += len(set(result.keys.tolist()) & set(expected.tolist()))
    found = percentiles(timings)
    return {
        "build_seconds": build,
        "memory_mb": index.memory_usage / 2**20,
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
        print(
            f"  {size:,} exact: {matrix.nbytes / 2**20:,.0f} MB, p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        )
        rows.append(
            f"| {size:,} | exact, numpy float32 | {matrix.nbytes / 2**20:,.0f} | | "
            f"{p50:.1f} | {p99:.1f} | 1.000 |"
        )
        found = approximate(matrix, queries, truth)
        print(
            f"  {size:,} usearch HNSW int8: {found['memory_mb']:,.0f} MB, built in "
            f"{found['build_seconds']:.0f} s, p50 {found['p50']:.2f} ms, p99 {found['p99']:.2f} "
            f"ms, recall@10 {found['recall_at_10']:.3f}"
        )
        rows.append(
            f"| {size:,} | usearch HNSW, int8, 16 links | {found['memory_mb']:,.0f} | "
            f"{found['build_seconds']:.0f} | {found['p50']:.2f} | {found['p99']:.2f} | "
            f"{found['recall_at_10']:.3f} |"
        )
        del matrix
    table = "\n".join(
        [
            "| papers | index | memory MB | build s | query p50 ms | query p99 ms | recall@10 |",
            "|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    print(table)
    if not args.no_report:
        text = args.out.read_text()
        begin, end = "<!-- index:begin -->", "<!-- index:end -->"
        made = "Made by `.venv/bin/python -m bench.ann` (one query at a time, one thread)."
        block = f"{begin}\n{made}\n\n{table}\n{end}"
        if begin in text:
            text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
