"""Ingestion throughput: generate an HF-format file of N papers, ingest it twice.

Usage (against a scratch database; it writes papers with ids 9901.xxxxx and deletes them
first):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dailypapers_bench \\
        .venv/bin/python -m bench.ingest_file --records 10000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

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


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize()


def generate(path: Path, count: int, seed: int = 7) -> None:
    """Write `count` papers in the Hugging Face daily papers format, with realistic sizes."""
    rng = random.Random(seed)
    start = date(2025, 1, 1)
    items = []
    for n in range(count):
        listed = start + timedelta(days=n % 365)
        published = datetime(listed.year, listed.month, listed.day, tzinfo=UTC) - timedelta(
            days=rng.randint(1, 5)
        )
        authors = [
            {"_id": f"a{n}-{i}", "name": f"{sentence(rng, 1)} {sentence(rng, 1)}", "hidden": False}
            for i in range(rng.randint(1, 12))
        ]
        items.append(
            {
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
        )
        if n and n % 10_000 == 0:
            print(f"  generated {n:,} records", flush=True)
    path.write_text(json.dumps(items))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection

    from papers.models import Paper
    from papers.services import papers_ingest
    from papers.sources import files

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}", flush=True)
    Paper.objects.filter(arxiv_id__startswith="9901.").delete()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "papers.json"
        print(f"generating {args.records:,} records ...", flush=True)
        generate(path, args.records)
        print(f"file: {path.stat().st_size / 2**20:.1f} MiB", flush=True)
        results = []
        for label in ("first run", "re-run"):
            started = time.perf_counter()
            run = papers_ingest(
                source="file", parameters={"path": "bench"}, fetch=lambda: files.read_file(path)
            )
            seconds = time.perf_counter() - started
            results.append(seconds)
            print(
                f"{label:>9}: {seconds:6.2f} s  {args.records / seconds:8,.0f} papers/s  "
                f"({run.summary})",
                flush=True,
            )
    print(f"re-run / first run time ratio: {results[1] / results[0]:.2f}")
    if "--keep" not in sys.argv:
        Paper.objects.filter(arxiv_id__startswith="9901.").delete()


if __name__ == "__main__":
    main()
