"""Upvote storm: many members toggle their votes on a few hot papers at once, then the
counters are checked against the vote rows.

Creates `--clients` members (storm-<i>) with one API token each and `--papers` hot papers
(ids 9902.xxxxx; earlier storm members and their votes are removed first), starts gunicorn
with production settings, and runs one client per member for `--seconds`: each upvotes a
random hot paper, then takes the vote back, over and over (`--mode threads`: a thread and
a keep-alive httpx.Client per member; `--mode async`: httpx.AsyncClient on one event loop).
After an unmeasured warm-up, prints progress, then vote operations/s (answers after the
deadline are counted as `late`, not in the rate), errors, p50/p99 latency and the drift
check (Paper.upvote_count against the Upvote rows, per paper); exits non-zero on drift.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dailypapers_bench \\
    REDIS_URL=redis://127.0.0.1:6379/3 .venv/bin/python -m bench.upvote_storm \\
        --clients 200 --papers 5 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from bench.http import server_env, start_gunicorn

USERNAME_PREFIX = "storm-"
PAPER_ID_PREFIX = "9902."
PROGRESS_EVERY = 5.0
FORWARDED_HTTPS = {"X-Forwarded-Proto": "https"}  # production settings redirect plain HTTP


@dataclass(slots=True)
class Stats:
    ok: int = 0
    errors: int = 0
    late: int = 0  # answered after the deadline: not in the throughput or latencies
    latencies: list[float] = field(default_factory=list)  # seconds, successful calls only
    error_samples: dict[str, int] = field(default_factory=dict)

    def error(self, label: str) -> None:
        self.errors += 1
        self.error_samples[label] = self.error_samples.get(label, 0) + 1


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def remove_previous_storm() -> None:
    """Delete earlier storm members; their votes go with the counters moved down, the way
    paper_unvote does it, so the hot papers start without drift."""
    from django.db import transaction
    from django.db.models import Count, F

    from accounts.models import User
    from papers.models import Paper, Upvote

    with transaction.atomic():
        votes = Upvote.objects.filter(user__username__startswith=USERNAME_PREFIX)
        per_paper = votes.values("paper_id").annotate(n=Count("id")).order_by()
        for row in per_paper:
            Paper.objects.filter(pk=row["paper_id"]).update(
                upvote_count=F("upvote_count") - row["n"]
            )
        votes.delete()
        User.objects.filter(username__startswith=USERNAME_PREFIX).delete()


def create_members(count: int) -> list[str]:
    """`count` members, one API token each (made by accounts.services); the plaintexts."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import User
    from accounts.services import api_token_create

    unusable = make_password(None)  # cheap: no hashing for an unusable password
    users = User.objects.bulk_create(
        [User(username=f"{USERNAME_PREFIX}{i}", password=unusable, email="") for i in range(count)]
    )
    return [api_token_create(user=user, name="upvote storm").plaintext for user in users]


def hot_papers(count: int) -> list[str]:
    """Create (or refresh) the hot papers through papers_upsert; their arXiv ids."""
    from papers.models import Paper
    from papers.services import papers_upsert
    from papers.sources.records import Author, PaperRecord

    today = datetime.now(UTC).date()
    ids = [f"{PAPER_ID_PREFIX}{n:05d}" for n in range(1, count + 1)]
    records = [
        PaperRecord(
            source="arxiv",
            arxiv_id=arxiv_id,
            version=1,
            title=f"Hot paper {n} for the upvote storm",
            abstract="A paper everyone votes for at once.",
            authors=[Author("Ada Lovelace", ("Analytical Engines Ltd",)), Author("Alan Turing")],
            published_at=datetime(2026, 4, 1, 12, tzinfo=UTC),
            source_updated_at=datetime(2026, 4, 1, 12, tzinfo=UTC),
            listed_on=today,
            primary_category="cs.AI",
            categories=["cs.AI", "cs.LG"],
        )
        for n, arxiv_id in enumerate(ids, start=1)
    ]
    result = papers_upsert(items=records)
    if result.rejected:
        raise SystemExit(f"hot papers rejected: {result.rejected}")
    Paper.objects.filter(arxiv_id__in=ids).update(hidden=False)
    return ids


def drift_report(arxiv_ids: list[str]) -> int:
    """Print each hot paper's counter and vote rows; the total absolute difference."""
    from django.db.models import Count

    from papers.models import Paper

    papers = (
        Paper.objects.filter(arxiv_id__in=arxiv_ids)
        .annotate(rows=Count("upvotes"))
        .order_by("arxiv_id")
    )
    print(f"{'paper':<12} {'upvote_count':>12} {'rows':>6} {'diff':>6}")
    drift = 0
    for paper in papers:
        diff = paper.upvote_count - paper.rows
        drift += abs(diff)
        print(f"{paper.arxiv_id:<12} {paper.upvote_count:>12} {paper.rows:>6} {diff:>+6}")
    print(f"drift: {drift}", flush=True)
    return drift


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def record(
    stats: Stats, response: httpx.Response, upvoted: bool, elapsed: float, deadline: float
) -> None:
    """Count one answer: a success only with 200 and the expected vote state."""
    if response.status_code == 200 and time.monotonic() > deadline:
        stats.late += 1
    elif response.status_code != 200:
        stats.error(f"HTTP {response.status_code}")
    elif response.json().get("upvoted") is not upvoted:
        stats.error("wrong vote state")
    else:
        stats.ok += 1
        stats.latencies.append(elapsed)


def report_progress(stats: Stats, elapsed: float) -> None:
    print(
        f"  {elapsed:5.1f}s  {stats.ok:>8} votes  {stats.ok / elapsed:>7.0f}/s  "
        f"{stats.errors} errors",
        flush=True,
    )


async def client(
    http: httpx.AsyncClient,
    token: str,
    paper_ids: list[str],
    stats: Stats,
    deadline: float,
    rng: random.Random,
) -> None:
    """Upvote a random hot paper, take the vote back; repeat until the deadline."""
    headers = {"Authorization": f"Bearer {token}"}
    while time.monotonic() < deadline:
        path = f"/api/papers/{rng.choice(paper_ids)}/upvote"
        for method, upvoted in (("POST", True), ("DELETE", False)):
            started = time.perf_counter()
            try:
                response = await http.request(method, path, headers=headers)
            except httpx.HTTPError as exc:
                stats.error(type(exc).__name__)
                continue
            record(stats, response, upvoted, time.perf_counter() - started, deadline)


async def progress(stats: Stats, started: float, deadline: float) -> None:
    while True:
        await asyncio.sleep(PROGRESS_EVERY)
        now = time.monotonic()
        if now >= deadline:
            return
        report_progress(stats, now - started)


async def storm(
    base: str,
    tokens: list[str],
    paper_ids: list[str],
    seconds: float,
    seed: int,
    *,
    quiet: bool = False,
) -> tuple[Stats, float]:
    """All clients at once on one event loop; the stats and the counted seconds."""
    stats = Stats()
    limits = httpx.Limits(max_connections=len(tokens), max_keepalive_connections=len(tokens))
    async with httpx.AsyncClient(
        base_url=base,
        headers=FORWARDED_HTTPS,
        limits=limits,
        timeout=httpx.Timeout(30.0, pool=None),
    ) as http:
        started = time.monotonic()
        deadline = started + seconds
        reporter = None if quiet else asyncio.create_task(progress(stats, started, deadline))
        await asyncio.gather(
            *(
                client(http, token, paper_ids, stats, deadline, random.Random(seed + i))
                for i, token in enumerate(tokens)
            )
        )
        if reporter is not None:
            reporter.cancel()
    return stats, seconds


def storm_threads(
    base: str, tokens: list[str], paper_ids: list[str], seconds: float, seed: int
) -> tuple[Stats, float]:
    """One thread per client, each with its own keep-alive httpx.Client."""
    stats = Stats()
    lock = threading.Lock()
    clients = [  # made before the clock starts: each one builds an SSL context
        httpx.Client(
            base_url=base,
            headers={**FORWARDED_HTTPS, "Authorization": f"Bearer {token}"},
            timeout=30.0,
        )
        for token in tokens
    ]
    started = time.monotonic()
    deadline = started + seconds

    def run(i: int, http: httpx.Client) -> None:
        rng = random.Random(seed + i)
        with http:
            while time.monotonic() < deadline:
                path = f"/api/papers/{rng.choice(paper_ids)}/upvote"
                for method, upvoted in (("POST", True), ("DELETE", False)):
                    begun = time.perf_counter()
                    try:
                        response = http.request(method, path)
                    except httpx.HTTPError as exc:
                        with lock:
                            stats.error(type(exc).__name__)
                        continue
                    elapsed = time.perf_counter() - begun
                    with lock:
                        record(stats, response, upvoted, elapsed, deadline)

    threads = [
        threading.Thread(target=run, args=(i, http), daemon=True) for i, http in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    next_report = started + PROGRESS_EVERY
    while any(thread.is_alive() for thread in threads):
        time.sleep(0.2)
        now = time.monotonic()
        if next_report <= now < deadline:
            next_report += PROGRESS_EVERY
            report_progress(stats, now - started)
    return stats, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200, help="members voting at once")
    parser.add_argument("--papers", type=int, default=5, help="hot papers they vote on")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1)
    parser.add_argument("--port", type=int, default=8902)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument(
        "--mode",
        choices=("threads", "async"),
        default="threads",  # a little ahead of asyncio on 2 cores: 83-88 against 66-79 votes/s
        help="how the clients run",
    )
    args = parser.parse_args()

    env = server_env(args.port)
    os.environ.update(env)  # the same settings for the data setup here and the server
    setup_django()
    print(f"creating {args.clients} members and {args.papers} hot papers ...", flush=True)
    remove_previous_storm()
    tokens = create_members(args.clients)
    paper_ids = hot_papers(args.papers)
    if drift_report(paper_ids):
        raise SystemExit("the hot papers drift before the storm: fix that first")

    print(f"starting gunicorn with {args.workers} workers ...", flush=True)
    server = start_gunicorn(env, workers=args.workers, port=args.port)
    base = f"http://127.0.0.1:{args.port}"
    try:
        if args.warmup > 0:  # each worker's first requests are slow: not measured
            print(f"warming up for {args.warmup:g} s ...", flush=True)
            asyncio.run(storm(base, tokens, paper_ids, args.warmup, args.seed, quiet=True))
        print(
            f"storm: {args.clients} clients ({args.mode}), {args.papers} papers, "
            f"{args.seconds:g} s ...",
            flush=True,
        )
        if args.mode == "threads":
            stats, elapsed = storm_threads(base, tokens, paper_ids, args.seconds, args.seed)
        else:
            stats, elapsed = asyncio.run(storm(base, tokens, paper_ids, args.seconds, args.seed))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    print(
        f"{'clients':>7} {'votes':>8} {'votes/s':>8} {'errors':>6} {'late':>5} "
        f"{'p50 ms':>7} {'p99 ms':>7}"
    )
    print(
        f"{args.clients:>7} {stats.ok:>8} {stats.ok / elapsed:>8.0f} {stats.errors:>6} "
        f"{stats.late:>5} "
        f"{percentile(stats.latencies, 50) * 1000:>7.1f} "
        f"{percentile(stats.latencies, 99) * 1000:>7.1f}"
    )
    for label, n in sorted(stats.error_samples.items()):
        print(f"  error {label}: {n}")
    if drift_report(paper_ids):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
