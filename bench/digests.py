"""Digest throughput: build and send N personalised digests to a local SMTP server.

Usage (against a scratch database, migrated first; it deletes and recreates its own
subscribers, *@bench.invalid, and papers, 9902.xxxxx):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dailypapers_bench \\
        .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dailypapers_bench \\
        .venv/bin/python -m bench.digests --subscribers 10000

The SMTP server (aiosmtpd, accepting and counting every message) runs in a process of its
own so it does not compete with the sender for the interpreter. Then the same period is
sent again, which must send nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing
import os
import random
import resource
import socket
import threading
import time
from pathlib import Path
from typing import Any

from bench.ingest_file import WORDS, sentence

FRIDAY = dt.date(2026, 6, 12)
EMAIL_DOMAIN = "bench.invalid"
PAPER_PREFIX = "9902."


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _smtp_server(port: int, received: Any, size: Any, ready: Any) -> None:
    """Accept every message and count it (runs in a child process)."""
    from aiosmtpd.controller import Controller

    class Counter:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with received.get_lock():
                received.value += 1
                size.value += len(envelope.original_content or b"")
            return "250 OK"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    try:
        asyncio.run(asyncio.sleep(10**9))
    finally:
        controller.stop()


def _peak_mib(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # kilobytes on Linux


def generate(count: int, papers: int, keyword_share: float, seed: int = 11) -> None:
    """Papers for Friday's listing, and `count` confirmed subscribers (some with topics)."""
    from django.utils import timezone

    from digests.models import Subscription
    from papers.models import Paper

    rng = random.Random(seed)
    Subscription.objects.filter(email__endswith=f"@{EMAIL_DOMAIN}").delete()
    Paper.objects.filter(arxiv_id__startswith=PAPER_PREFIX).delete()
    Paper.objects.bulk_create(
        Paper(
            arxiv_id=f"{PAPER_PREFIX}{n:05d}",
            version=1,
            title=sentence(rng, rng.randint(6, 14)),
            abstract=". ".join(sentence(rng, 18) for _ in range(rng.randint(5, 9))) + ".",
            authors=[{"name": f"{sentence(rng, 1)} {sentence(rng, 1)}"} for _ in range(8)],
            listed_on=FRIDAY,
            published_at=dt.datetime(2026, 6, 11, tzinfo=dt.UTC),
            ai_summary=sentence(rng, 30) + "." if n % 2 else "",
            ai_keywords=[sentence(rng, 1) for _ in range(4)],
            source_upvotes=int(rng.paretovariate(1.1)),
        )
        for n in range(papers)
    )
    confirmed = timezone.now() - dt.timedelta(days=1)
    subscribers = []
    for n in range(count):
        keywords = []
        if rng.random() < keyword_share:
            keywords = rng.sample(WORDS, rng.randint(1, 3))
        subscribers.append(
            Subscription(
                email=f"reader{n}@{EMAIL_DOMAIN}",
                frequency="daily",
                keywords=keywords,
                confirmation_sent_at=confirmed,
                confirmed_at=confirmed,
            )
        )
    Subscription.objects.bulk_create(subscribers, batch_size=2000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--papers", type=int, default=60, help="papers in the period")
    parser.add_argument("--keyword-share", type=float, default=0.3, help="share with topics")
    parser.add_argument("--batch-size", type=int, help="messages per SMTP connection")
    parser.add_argument("--keep", action="store_true", help="keep the generated rows")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from digests.models import Delivery, Subscription
    from digests.periods import daily_period
    from digests.services.sending import digests_send_due
    from papers.models import Paper

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}", flush=True)
    started = time.perf_counter()
    generate(args.subscribers, args.papers, args.keyword_share)
    print(
        f"generated {args.subscribers:,} subscribers and {args.papers} papers "
        f"in {time.perf_counter() - started:.1f} s",
        flush=True,
    )

    port = _free_port()
    received = multiprocessing.Value("i", 0)
    size = multiprocessing.Value("q", 0)
    ready = multiprocessing.Event()
    server = multiprocessing.Process(
        target=_smtp_server, args=(port, received, size, ready), daemon=True
    )
    server.start()
    if not ready.wait(timeout=30):
        raise SystemExit("the SMTP server did not start")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    if args.batch_size:
        settings.DIGEST_BATCH_SIZE = args.batch_size
    period = daily_period(FRIDAY)

    done = threading.Event()

    def progress() -> None:
        while not done.wait(2):
            print(f"  {received.value:>7,} messages received", flush=True)

    reporter = threading.Thread(target=progress, daemon=True)
    reporter.start()
    try:
        results = []
        mails = []
        for label in ("first run", "re-run"):
            started = time.perf_counter()
            before = received.value
            report = digests_send_due(frequency="daily", period=period)
            seconds = time.perf_counter() - started
            sent = received.value - before
            results.append(seconds)
            mails.append(sent)
            print(
                f"{label:>9}: {seconds:6.2f} s  {sent:>7,} mails  "
                f"{sent / seconds:7,.0f} mails/s  ({report.summary()})",
                flush=True,
            )
    finally:
        done.set()
    statuses = dict(
        Delivery.objects.filter(period=period.key, subscription__email__endswith=EMAIL_DOMAIN)
        .values_list("status")
        .annotate(n=django.db.models.Count("id"))
    )
    print(f"deliveries: {statuses}")
    print(f"received by the SMTP server: {received.value:,} ({size.value / 2**20:.1f} MiB)")
    sender_mib = _peak_mib(resource.RUSAGE_SELF)
    print(f"peak memory (sender, ru_maxrss): {sender_mib:.0f} MiB")
    server.terminate()
    server.join(timeout=10)
    server_mib = _peak_mib(resource.RUSAGE_CHILDREN)
    print(f"peak memory (SMTP server): {server_mib:.0f} MiB")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "subscribers": args.subscribers,
                    "first_seconds": results[0],
                    "first_mails": mails[0],
                    "rerun_seconds": results[1],
                    "rerun_mails": mails[1],
                    "mib_received": size.value / 2**20,
                    "sender_peak_mib": sender_mib,
                    "smtp_peak_mib": server_mib,
                },
                indent=2,
            )
        )
    if not args.keep:
        Subscription.objects.filter(email__endswith=f"@{EMAIL_DOMAIN}").delete()
        Paper.objects.filter(arxiv_id__startswith=PAPER_PREFIX).delete()


if __name__ == "__main__":
    main()
