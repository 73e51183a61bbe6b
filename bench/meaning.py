"""Search by meaning at the size of the bench database (100,000 papers):

1. embedding throughput on one core (papers/s, title and abstract), and the backfill of
   every paper still without a vector (`embed_stale`, as `manage.py embed_papers`);
2. the index in one process: load time, memory, and the exact nearest-neighbour search
   (numpy) for 200 queries;
3. through HTTP (gunicorn, production settings): hybrid search and similar papers for 200
   distinct queries and papers each (none answered from the cache: each is asked once),
   the memory of each web process once its index is loaded, and the "For you" page of a
   member with 200 upvotes against the baseline (wrk).

    .venv/bin/python -m bench.meaning --json var/bench/meaning.json
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.http import (
    BASELINE,
    FORWARDED_HTTPS,
    READER,
    log_in,
    server_env,
    setup_django,
    start_gunicorn,
    wrk,
)
from bench.members import prepare_reader

ROOT = Path(__file__).resolve().parent.parent
THROUGHPUT_SAMPLE = 20_000
QUERIES = 200
FOR_YOU_UPVOTES = 200
WORDS = (
    "faster inference for long documents",
    "robots learning to grasp objects",
    "speech recognition for low resource languages",
    "detecting hallucinations in chat assistants",
    "graph neural networks for molecules",
    "making image generation cheaper",
    "agents that use tools and browse the web",
    "reinforcement learning from human preferences",
    "compressing large models to run on phones",
    "medical image segmentation with little labelled data",
)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
    }


def latency(found: dict[str, float]) -> str:
    return f"p50 {found['p50']:.1f} ms, p99 {found['p99']:.1f} ms"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def embedding_throughput() -> dict[str, float]:
    from papers.embeddings import embed_texts, paper_text
    from papers.models import Paper

    rows = list(Paper.objects.values_list("title", "abstract")[:THROUGHPUT_SAMPLE])
    texts = [paper_text(title, abstract) for title, abstract in rows]
    embed_texts(texts[:100])  # the model, loaded
    started = time.monotonic()
    for start in range(0, len(texts), 256):
        embed_texts(texts[start : start + 256])
    seconds = time.monotonic() - started
    rate = len(texts) / seconds
    print(f"  embedding: {len(texts):,} papers in {seconds:.1f} s, {rate:,.0f} papers/s")
    return {"papers": len(texts), "seconds": seconds, "papers_per_s": rate}


def backfill() -> dict[str, float]:
    from papers.embeddings import embed_stale

    shown = [0.0]
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        if time.monotonic() - shown[0] > 10:
            shown[0] = time.monotonic()
            print(f"  backfill: {done:,} of at most {total:,}", flush=True)

    written = embed_stale(progress=progress)
    seconds = time.monotonic() - started
    print(f"  backfill: {written:,} papers embedded in {seconds:.1f} s")
    return {"written": written, "seconds": seconds}


def index_in_process() -> dict[str, Any]:
    import numpy as np

    from papers import vectors

    before = rss_mb()
    started = time.monotonic()
    index = vectors.index()
    load = time.monotonic() - started
    rng = np.random.default_rng(7)
    timings = []
    for row in rng.integers(0, len(index.ids), QUERIES):
        query = index.matrix[row]
        started = time.perf_counter()
        index.nearest(query, limit=100)
        timings.append((time.perf_counter() - started) * 1000)
    found = {
        "papers": len(index.ids),
        "load_seconds": load,
        "matrix_mb": index.matrix.nbytes / 2**20,
        "process_growth_mb": rss_mb() - before,
        "nearest": percentiles(timings),
    }
    print(
        f"  index: {found['papers']:,} vectors, {found['matrix_mb']:.0f} MB of matrix, loaded "
        f"in {load:.1f} s; nearest 100: {latency(found['nearest'])}"
    )
    return found


def distinct_queries(count: int) -> list[str]:
    """Queries nobody asked before: reader phrases, and word runs of random titles."""
    from papers.models import Paper

    rng = random.Random(11)
    titles = list(Paper.objects.order_by("?").values_list("title", flat=True)[: count * 2])
    found = [f"{phrase} {n}" for n, phrase in enumerate(WORDS)]
    for title in titles:
        words = title.split()
        if len(words) >= 4:
            start = rng.randrange(len(words) - 3)
            found.append(" ".join(words[start : start + 4]))
        if len(found) == count:
            break
    return found[:count]


def warm_up(client: httpx.Client, workers: int) -> None:
    """Ask until every worker has loaded the model and the index (a second or two each, on
    its first search): until 10 answers a worker in a row come quickly. Which worker takes a
    request is the kernel's choice, so a fixed number of requests can miss one."""
    quick, asked = 0, 0
    while quick < 10 * workers and asked < 200 * workers:
        started = time.perf_counter()
        client.get(f"/api/papers/search?q=warming+up+{asked}", headers=FORWARDED_HTTPS)
        quick = quick + 1 if time.perf_counter() - started < 0.3 else 0
        asked += 1


def timed_gets(client: httpx.Client, urls: list[str]) -> dict[str, float]:
    timings = []
    for url in urls:
        started = time.perf_counter()
        response = client.get(url, headers=FORWARDED_HTTPS)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code} {response.text[:200]}")
    return percentiles(timings)


def worker_rss_mb(server: subprocess.Popen[bytes]) -> list[float]:
    """The resident memory of each gunicorn worker (children of the master)."""
    found = []
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                found.append(int(line.split()[1]) / 1024)
    return found


def for_you_member() -> None:
    """READER, with FOR_YOU_UPVOTES upvotes on papers of the last weeks."""
    from django.contrib.auth import get_user_model
    from django.db.models import F
    from django.utils import timezone

    from papers.models import Paper, Upvote

    member = get_user_model().objects.get(username=READER.username)
    have = Upvote.objects.filter(user=member).count()
    if have >= FOR_YOU_UPVOTES:
        return
    since = timezone.now().date() - timezone.timedelta(days=90)
    voted = Upvote.objects.filter(user=member).values("paper_id")
    papers = list(
        Paper.objects.visible()
        .filter(listed_on__gte=since)
        .exclude(pk__in=voted)
        .order_by("?")
        .values_list("pk", flat=True)[: FOR_YOU_UPVOTES - have]
    )
    Upvote.objects.bulk_create([Upvote(user=member, paper_id=pk) for pk in papers])
    Paper.objects.filter(pk__in=papers).update(upvote_count=F("upvote_count") + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--port", type=int, default=8094)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    setup_django()
    from papers.models import Paper

    results: dict[str, Any] = {"throughput": embedding_throughput(), "backfill": backfill()}
    results["index"] = index_in_process()
    prepare_reader(READER)
    for_you_member()
    queries = distinct_queries(QUERIES)
    papers = list(
        Paper.objects.visible().order_by("?").values_list("arxiv_id", flat=True)[:QUERIES]
    )

    env = server_env(args.port)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    server = start_gunicorn(env, workers=args.workers, port=args.port)
    base = f"http://127.0.0.1:{args.port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            warm_up(client, args.workers)
            search = timed_gets(client, [f"/api/papers/search?q={q}&limit=20" for q in queries])
            page = timed_gets(client, [f"/papers/search?q={q}+page" for q in queries[:50]])
            similar = timed_gets(client, [f"/api/papers/{p}/similar" for p in papers])
        results["search_api"], results["search_page"], results["similar"] = search, page, similar
        print(f"  hybrid search (API, {QUERIES} distinct queries): {latency(search)}")
        print(f"  hybrid search (page, 50 distinct queries): {latency(page)}")
        print(f"  similar papers ({QUERIES} distinct papers): {latency(similar)}")
        results["worker_rss_mb"] = worker_rss_mb(server)
        print(
            f"  web processes: {', '.join(f'{mb:.0f}' for mb in results['worker_rss_mb'])} MB each"
        )

        cookie = log_in(base, READER)
        headers = {"Cookie": cookie}
        url = f"{base}/for-you"
        wrk(url, duration=1, connections=10, headers=headers)  # built once
        target = wrk(url, duration=args.seconds, connections=10, headers=headers)
        baseline = wrk(f"{base}{BASELINE}", duration=args.seconds, connections=10, headers=headers)
        results["for_you"] = {
            **target,
            "baseline_rps": baseline["rps"],
            "ratio": target["rps"] / baseline["rps"],
        }
        print(
            f"  For you ({FOR_YOU_UPVOTES} upvotes): {target['rps']:,.0f} req/s against "
            f"{baseline['rps']:,.0f} (ratio {target['rps'] / baseline['rps']:.2f}), "
            f"p99 {target['p99']:.1f} ms"
        )
    finally:
        server.terminate()
        server.wait()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
