"""Page cost on a large database: SQL queries and median response time, cached and not.

Usage (fills a scratch database with N generated papers under ids 9901.xxxxx first):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dailypapers_bench \\
        .venv/bin/python -m bench.pages --papers 10000 --runs 30
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    import django

    django.setup()
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client

    from bench.ingest_file import generate
    from papers.models import Paper
    from papers.services.ingestion import papers_ingest
    from papers.sources import files

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}", flush=True)
    if Paper.objects.filter(arxiv_id__startswith="9901.").count() != args.papers:
        Paper.objects.filter(arxiv_id__startswith="9901.").delete()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "papers.json"
            generate(path, args.papers)
            run = papers_ingest(source="file", parameters={}, fetch=lambda: files.read_file(path))
            print(f"loaded: {run.summary}", flush=True)
    busiest = (
        Paper.objects.values("listed_on")
        .annotate(n=django.db.models.Count("id"))
        .order_by("-n")
        .first()
    )
    day = busiest["listed_on"]
    paper = Paper.objects.filter(listed_on=day).order_by("-source_upvotes").first()
    pages = {
        "daily feed": f"/papers/date/{day}",
        "paper page": f"/papers/{paper.arxiv_id}",
        "search": "/papers/search?q=diffusion+transformer",
    }
    client = Client()
    print(f"{'page':<12} {'queries':>7} {'uncached ms':>12} {'cached ms':>10}", flush=True)
    for name, url in pages.items():
        cache.clear()
        queries: list[str] = []

        def count(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            assert client.get(url).status_code == 200
        uncached, cached = [], []
        for _ in range(args.runs):
            cache.clear()
            started = time.perf_counter()
            client.get(url)
            uncached.append((time.perf_counter() - started) * 1000)
        client.get(url)
        for _ in range(args.runs):
            started = time.perf_counter()
            client.get(url)
            cached.append((time.perf_counter() - started) * 1000)
        print(
            f"{name:<12} {len(queries):>7} {statistics.median(uncached):>12.1f} "
            f"{statistics.median(cached):>10.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
