"""Ingestion throughput: generate an HF-format file of N papers, ingest it twice.

Usage (against a scratch database; it writes papers with ids 9901.xxxxx and deletes them
first):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dailypapers_bench \\
        .venv/bin/python -m bench.ingest_file --records 10000 [--json result.json]

The first run writes every paper (the table holds none of them: they are deleted and the
table vacuumed before); the re-run reads the same file again and must write nothing.
Writes on the papers table during the re-run are measured two ways: statements (SQL
through Django and COPY through psycopg, counted as they are sent) and rows
(pg_stat_user_tables, flushed before and after). `--json PATH` writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

WORDS = (
    "learning",
    "model",
    "language",
    "diffusion",
    "transformer",
    "agent",
    "reasoning",
    "benchmark",
    "vision",
    "multimodal",
    "sparse",
    "attention",
    "retrieval",
    "alignment",
    "reinforcement",
    "policy",
    "scaling",
    "data",
    "training",
    "inference",
    "efficient",
    "robust",
    "graph",
    "neural",
    "generative",
    "evaluation",
    "token",
    "memory",
)
WRITE_PREFIXES = ("INSERT", "UPDATE", "DELETE", "MERGE", "COPY")


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize()


def generate(path: Path, count: int, seed: int = 7) -> None:
    """Write `count` papers in the Hugging Face daily papers format, with realistic sizes.

    Written item by item (the same bytes as one json.dumps of the whole list), so that a
    big file shows progress and never holds every item in memory.
    """
    rng = random.Random(seed)
    start = date(2025, 1, 1)
    started = time.perf_counter()
    with path.open("w", encoding="utf-8") as out:
        out.write("[")
        for n in range(count):
            listed = start + timedelta(days=n % 365)
            published = datetime(listed.year, listed.month, listed.day, tzinfo=UTC) - timedelta(
                days=rng.randint(1, 5)
            )
            authors = [
                {
                    "_id": f"a{n}-{i}",
                    "name": f"{sentence(rng, 1)} {sentence(rng, 1)}",
                    "hidden": False,
                }
                for i in range(rng.randint(1, 12))
            ]
            item = {
                "paper": {
                    "id": f"9901.{n:05d}",
                    "authors": authors,
                    "publishedAt": published.isoformat().replace("+00:00", ".000Z"),
                    "submittedOnDailyAt": f"{listed.isoformat()}T00:00:00.000Z",
                    "title": sentence(rng, rng.randint(6, 16)),
                    "summary": ". ".join(sentence(rng, 18) for _ in range(rng.randint(6, 10))),
                    "upvotes": int(rng.paretovariate(1.2)),
                    "ai_summary": sentence(rng, 25),
                    "ai_keywords": [sentence(rng, 2) for _ in range(rng.randint(0, 10))],
                    "githubRepo": f"https://github.com/lab{n}/repo" if n % 3 == 0 else None,
                    "githubStars": rng.randint(0, 5000) if n % 3 == 0 else None,
                },
                "numComments": rng.randint(0, 5),
                "thumbnail": f"https://example.org/thumbs/9901.{n:05d}.png",
            }
            if n:
                out.write(", ")
            out.write(json.dumps(item))
            if n and n % 10_000 == 0:
                print(
                    f"  generated {n:,} records ({time.perf_counter() - started:.1f} s)",
                    flush=True,
                )
        out.write("]")


@contextmanager
def counting_writes(table: str) -> Iterator[list[str]]:
    """Every statement that writes to `table` while inside: SQL sent through Django's
    connection, and COPY sent through any psycopg cursor (the bulk path)."""
    import psycopg
    from django.db import connection

    seen: list[str] = []

    def is_write(sql: str) -> bool:
        text = sql.lstrip().upper()
        return text.startswith(WRITE_PREFIXES) and table.upper() in text

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any):
        if is_write(str(sql)):
            seen.append(str(sql)[:120])
        return execute(sql, params, many, context)

    original_copy = psycopg.Cursor.copy

    def copy(self: Any, statement: Any, *args: Any, **kwargs: Any) -> Any:
        text = statement if isinstance(statement, str) else str(statement)
        if text.replace('"', "").lstrip().upper().startswith(f"COPY {table.upper()} "):
            seen.append(text[:120])
        return original_copy(self, statement, *args, **kwargs)

    psycopg.Cursor.copy = copy  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(wrapper):
            yield seen
    finally:
        psycopg.Cursor.copy = original_copy  # type: ignore[method-assign]


def rows_written(table: str) -> int | None:
    """Rows inserted, updated and deleted in `table` so far (this server's statistics);
    None before PostgreSQL 15, which cannot flush them on demand."""
    from django.db import connection

    if connection.vendor != "postgresql" or connection.pg_version < 150000:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")  # this backend's pending counts
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables "
            "WHERE relid = %s::regclass",
            [table],
        )
        return cursor.fetchone()[0]


def fresh_table(paper_model: Any) -> None:
    """No bench papers left, no dead rows of earlier runs in the table or its indexes, and
    what earlier steps wrote (the generated data) flushed to disk by a checkpoint, so the
    first run does not pay for their writes."""
    from django.db import connection

    paper_model.objects.filter(arxiv_id__startswith="9901.").delete()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {paper_model._meta.db_table}")
            cursor.execute("CHECKPOINT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--json", type=Path, help="write the results to this file as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the papers afterwards")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection

    from papers.models import Paper
    from papers.services.ingestion import papers_ingest
    from papers.sources import files

    table = Paper._meta.db_table
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}", flush=True)
    fresh_table(Paper)
    results: dict[str, Any] = {"records": args.records}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "papers.json"
        print(f"generating {args.records:,} records ...", flush=True)
        started = time.perf_counter()
        generate(path, args.records)
        results["file_mib"] = round(path.stat().st_size / 2**20, 1)
        print(
            f"file: {results['file_mib']:.1f} MiB in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        for key, label in (("first", "first run"), ("rerun", "re-run")):
            parse_seconds = []

            def fetch(parse_seconds: list[float] = parse_seconds) -> list[Any]:
                started = time.perf_counter()
                items = files.read_file(path)
                parse_seconds.append(time.perf_counter() - started)
                return items

            rows_before = rows_written(table)
            with counting_writes(table) as writes:
                started = time.perf_counter()
                run = papers_ingest(source="file", parameters={"path": "bench"}, fetch=fetch)
                seconds = time.perf_counter() - started
            rows_after = rows_written(table)
            rows = None if rows_after is None else rows_after - rows_before
            results[f"{key}_seconds"] = round(seconds, 3)
            results[f"{key}_rate"] = round(args.records / seconds)
            results[f"{key}_writes"] = len(writes)
            results[f"{key}_rows_written"] = rows
            print(
                f"{label:>9}: {seconds:6.2f} s  {args.records / seconds:8,.0f} papers/s  "
                f"(read and parse {parse_seconds[0]:.2f} s, upsert {seconds - parse_seconds[0]:.2f}"
                f" s; {run.summary}; {len(writes)} write statements, rows written: {rows})",
                flush=True,
            )
    ratio = results["rerun_seconds"] / results["first_seconds"]
    print(f"re-run / first run time ratio: {ratio:.2f}")
    if args.json:
        keys = ("records", "file_mib", "first_seconds", "first_rate", "rerun_seconds")
        keys += ("rerun_rate", "rerun_writes", "rerun_rows_written", "first_writes")
        args.json.write_text(json.dumps({k: results[k] for k in keys}, indent=2) + "\n")
        print(f"results: {args.json}")
    if not args.keep:
        fresh_table(Paper)
    if results["rerun_writes"] or results["rerun_rows_written"]:
        sys.exit("error: the re-run wrote to the papers table")


if __name__ == "__main__":
    main()
