"""`manage.py generate_data`: fill a scratch PostgreSQL database with realistic data, fast.

Papers spread over the last few years with realistic title, abstract and author lengths,
members, upvotes with a power-law spread per paper, and digest subscribers with a mix of
frequencies and topics. Rows go in with COPY; it refuses a database that already has papers
unless --force is given, since it is meant for benchmarks, not for a real site.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from digests.models import Subscription
from papers.models import Paper, Upvote
from papers.services.ingestion import papers_upsert
from papers.sources.records import Author, PaperRecord

WORDS = (
    "learning model language diffusion transformer agent reasoning benchmark vision "
    "multimodal sparse attention retrieval alignment reinforcement policy scaling data "
    "training inference efficient robust graph neural generative evaluation token memory "
    "quantization distillation video speech robotics planning optimization latent contrastive "
    "federated privacy causal uncertainty calibration compression kernel spectral adversarial"
).split()
FIRST = "Ada Alan Grace Yann Fei Andrew Daphne Yoshua Geoffrey Demis Ilya Chelsea".split()
LAST = "Lovelace Turing Hopper LeCun Li Ng Koller Bengio Hinton Hassabis Sutskever Finn".split()
TOPICS = ["diffusion", "reasoning", "robotics", "agents", "speech", "video", "alignment"]


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(count))


class Command(BaseCommand):
    help = "Fill a scratch PostgreSQL database with generated papers, members, votes, subscribers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--papers", type=int, default=100_000)
        parser.add_argument("--users", type=int, default=20_000)
        parser.add_argument("--upvotes", type=int, default=1_000_000)
        parser.add_argument("--subscribers", type=int, default=10_000)
        parser.add_argument("--years", type=int, default=3)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--force", action="store_true", help="even if papers exist")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("generate_data needs PostgreSQL (set DATABASE_URL)")
        if Paper.objects.exists() and not options["force"]:
            raise CommandError("this database already has papers; use --force on a scratch one")
        if options["upvotes"] > options["papers"] * options["users"]:
            raise CommandError("more upvotes than (paper, member) pairs")
        rng = random.Random(options["seed"])
        started = time.perf_counter()
        paper_ids = self._papers(rng, options["papers"], options["years"])
        user_ids = self._users(options["users"])
        self._upvotes(rng, paper_ids, user_ids, options["upvotes"])
        self._subscribers(rng, options["subscribers"])
        self.stdout.write(f"done in {time.perf_counter() - started:.1f} s")

    def _say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def _papers(self, rng: random.Random, count: int, years: int) -> list[int]:
        today = timezone.now().date()
        first = today - timedelta(days=365 * years)
        span = (today - first).days
        per_month: dict[str, int] = {}
        chunk: list[PaperRecord] = []
        for n in range(count):
            listed = first + timedelta(days=rng.randrange(span + 1))
            month = f"{listed:%y%m}"
            per_month[month] = per_month.get(month, 0) + 1
            published = datetime(listed.year, listed.month, listed.day, tzinfo=UTC)
            authors = [
                Author(f"{rng.choice(FIRST)} {rng.choice(LAST)}")
                for _ in range(max(1, int(rng.lognormvariate(1.5, 0.6))))
            ]
            chunk.append(
                PaperRecord(
                    source="hf",
                    arxiv_id=f"{month}.{per_month[month]:05d}",
                    version=1,
                    title=_words(rng, rng.randint(6, 16)).capitalize(),
                    abstract=". ".join(
                        _words(rng, rng.randint(14, 24)).capitalize()
                        for _ in range(rng.randint(6, 11))
                    )
                    + ".",
                    authors=authors,
                    published_at=published - timedelta(days=rng.randint(1, 4)),
                    listed_on=listed,
                    source_upvotes=min(int(rng.paretovariate(1.3)) - 1, 5000),
                    ai_keywords=[_words(rng, 2) for _ in range(rng.randint(0, 8))],
                    github_repo=f"https://github.com/lab{n}/code" if n % 3 == 0 else None,
                    github_stars=rng.randint(0, 3000) if n % 3 == 0 else None,
                )
            )
            if len(chunk) == 10_000 or n == count - 1:
                papers_upsert(items=chunk, today=today)
                chunk = []
                self._say(f"papers: {n + 1:,} of {count:,}")
        return list(Paper.objects.values_list("id", flat=True))

    def _users(self, count: int) -> list[int]:
        now = timezone.now()
        start = User.objects.filter(username__startswith="gen-").count()
        with connection.cursor() as cursor, transaction.atomic():
            columns = (
                "password, is_superuser, username, first_name, last_name, email, is_staff, "
                "is_active, date_joined, display_name"
            )
            with cursor.cursor.copy(f"COPY accounts_user ({columns}) FROM STDIN") as copy:
                for n in range(start, start + count):
                    copy.write_row(
                        (
                            "!",
                            False,
                            f"gen-{n}",
                            "",
                            "",
                            f"gen-{n}@example.org",
                            False,
                            True,
                            now,
                            "",
                        )
                    )
        self._say(f"members: {count:,}")
        return list(User.objects.filter(username__startswith="gen-").values_list("id", flat=True))

    def _upvotes(
        self, rng: random.Random, paper_ids: list[int], user_ids: list[int], total: int
    ) -> None:
        # A power-law share per paper: a few papers get most of the votes.
        weights = [rng.paretovariate(1.1) for _ in paper_ids]
        scale = total / sum(weights)
        counts = [min(len(user_ids), int(w * scale)) for w in weights]
        shortfall = total - sum(counts)
        for index in rng.sample(range(len(paper_ids)), k=len(paper_ids)):
            if shortfall <= 0:
                break
            extra = min(shortfall, len(user_ids) - counts[index])
            counts[index] += extra
            shortfall -= extra
        now = timezone.now()
        written = 0
        with connection.cursor() as cursor, transaction.atomic():
            with cursor.cursor.copy(
                "COPY papers_upvote (user_id, paper_id, created_at) FROM STDIN"
            ) as copy:
                for paper_id, count in zip(paper_ids, counts, strict=True):
                    for user_id in rng.sample(user_ids, count):
                        copy.write_row((user_id, paper_id, now))
                    written += count
                    if count and written // 100_000 != (written - count) // 100_000:
                        self._say(f"upvotes: {written:,} of {total:,}")
            cursor.execute(
                "UPDATE papers_paper p SET upvote_count = v.n FROM "
                "(SELECT paper_id, count(*) AS n FROM papers_upvote GROUP BY paper_id) v "
                "WHERE v.paper_id = p.id"
            )
        self._say(f"upvotes: {Upvote.objects.count():,} rows, counters updated")

    def _subscribers(self, rng: random.Random, count: int) -> None:
        now = timezone.now()
        start = Subscription.objects.filter(email__startswith="reader-").count()
        batch = [
            Subscription(
                email=f"reader-{n}@example.org",
                frequency=rng.choice(["daily", "daily", "weekly"]),
                keywords=rng.sample(TOPICS, k=rng.randint(1, 3)) if rng.random() < 0.3 else [],
                confirmation_sent_at=now,
                confirmed_at=now,
            )
            for n in range(start, start + count)
        ]
        Subscription.objects.bulk_create(batch, batch_size=2_000)
        self._say(f"subscribers: {count:,}")
