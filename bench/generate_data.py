"""Fill a scratch PostgreSQL database with realistic data, fast.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dailypapers_bench \\
        .venv/bin/python -m bench.generate_data --papers=100000

Papers spread over the last few years with realistic title, abstract and author lengths,
members, upvotes with a power-law spread per paper, and digest subscribers with a mix of
frequencies and topics. Rows go in with COPY; it refuses a database that already has papers
unless --force is given, since it is meant for benchmarks, not for a real site.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

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
# Primary categories about as often as arXiv lists them; cross-lists drawn from the same.
CATEGORY_MIX = {
    "cs.LG": 14, "cs.CV": 10, "cs.CL": 8, "cs.AI": 6, "quant-ph": 5, "stat.ML": 4,
    "hep-th": 4, "astro-ph.GA": 4, "cond-mat.mtrl-sci": 4, "cs.RO": 3, "math.OC": 3,
    "math.AP": 3, "math.PR": 3, "eess.SP": 3, "cs.CR": 3, "q-bio.NC": 2, "gr-qc": 2,
    "physics.optics": 2, "econ.EM": 1, "q-fin.ST": 1,
}  # fmt: skip


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(count))


class GenerateError(Exception):
    """The database is not one to fill (not PostgreSQL, or it has papers already)."""


def generate(
    *,
    papers: int = 100_000,
    users: int = 20_000,
    upvotes: int = 1_000_000,
    subscribers: int = 10_000,
    years: int = 3,
    seed: int = 7,
    force: bool = False,
    say: Callable[[str], None] = print,
) -> None:
    """Fill the database (Django set up) with papers, members, votes and subscribers."""
    from django.db import connection

    from papers.models import Paper

    if connection.vendor != "postgresql":
        raise GenerateError("generate_data needs PostgreSQL (set DATABASE_URL)")
    if Paper.objects.exists() and not force:
        raise GenerateError("this database already has papers; use --force on a scratch one")
    if upvotes > papers * users:
        raise GenerateError("more upvotes than (paper, member) pairs")
    generator = _Generator(random.Random(seed), say)
    started = time.perf_counter()
    paper_ids = generator.papers(papers, years)
    user_ids = generator.users(users)
    generator.upvotes(paper_ids, user_ids, upvotes)
    generator.subscribers(subscribers)
    say(f"done in {time.perf_counter() - started:.1f} s")


class _Generator:
    def __init__(self, rng: random.Random, say: Callable[[str], None]) -> None:
        self.rng = rng
        self.say = say

    def papers(self, count: int, years: int) -> list[int]:
        from django.utils import timezone

        from papers.models import Paper
        from papers.services.ingestion import papers_upsert
        from papers.sources.records import Author, PaperRecord

        rng = self.rng
        today = timezone.now().date()
        first = today - timedelta(days=365 * years)
        span = (today - first).days
        per_month: dict[str, int] = {}
        codes, weights = list(CATEGORY_MIX), list(CATEGORY_MIX.values())
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
            cats = rng.choices(codes, weights, k=1 + min(2, int(rng.expovariate(1.5))))
            cats = list(dict.fromkeys(cats))
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
                    primary_category=cats[0],
                    categories=cats,
                    source_upvotes=min(int(rng.paretovariate(1.3)) - 1, 5000),
                    ai_keywords=[_words(rng, 2) for _ in range(rng.randint(0, 8))],
                    github_repo=f"https://github.com/lab{n}/code" if n % 3 == 0 else None,
                    github_stars=rng.randint(0, 3000) if n % 3 == 0 else None,
                )
            )
            if len(chunk) == 10_000 or n == count - 1:
                papers_upsert(items=chunk, today=today)
                chunk = []
                self.say(f"papers: {n + 1:,} of {count:,}")
        return list(Paper.objects.values_list("id", flat=True))

    def users(self, count: int) -> list[int]:
        from django.db import connection, transaction
        from django.utils import timezone

        from accounts.models import User

        now = timezone.now()
        start = User.objects.filter(username__startswith="gen-").count()
        with connection.cursor() as cursor, transaction.atomic():
            columns = (
                "password, is_superuser, username, first_name, last_name, email, is_staff, "
                "is_active, date_joined, display_name, notify_by_email, bio, website, "
                "show_upvotes"
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
                            True,
                            "",
                            "",
                            False,
                        )
                    )
        self.say(f"members: {count:,}")
        return list(User.objects.filter(username__startswith="gen-").values_list("id", flat=True))

    def upvotes(self, paper_ids: list[int], user_ids: list[int], total: int) -> None:
        from django.db import connection, transaction
        from django.utils import timezone

        from papers.models import Upvote

        rng = self.rng
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
                        self.say(f"upvotes: {written:,} of {total:,}")
            cursor.execute(
                "UPDATE papers_paper p SET upvote_count = v.n FROM "
                "(SELECT paper_id, count(*) AS n FROM papers_upvote GROUP BY paper_id) v "
                "WHERE v.paper_id = p.id"
            )
        self.say(f"upvotes: {Upvote.objects.count():,} rows, counters updated")

    def subscribers(self, count: int) -> None:
        from django.utils import timezone

        from digests.models import Subscription

        rng = self.rng
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
        self.say(f"subscribers: {count:,}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--upvotes", type=int, default=1_000_000)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--force", action="store_true", help="even if papers exist")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    try:
        generate(**vars(args), say=lambda text: print(text, flush=True))
    except GenerateError as exc:
        sys.exit(f"generate_data: {exc}")


if __name__ == "__main__":
    main()
