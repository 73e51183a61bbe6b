"""`manage.py ingest hf|arxiv|arxiv-rss|file ...`: fetch papers and upsert them."""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from papers.services.ingestion import (
    papers_ingest_arxiv_categories,
    papers_ingest_arxiv_ids,
    papers_ingest_arxiv_rss,
    papers_ingest_file,
    papers_ingest_hf,
)
from papers.sources import arxiv

MAX_DAYS = 366


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of days") from None
    if not 1 <= days <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"--days must be between 1 and {MAX_DAYS}")
    return days


def _range(first: date, last: date) -> list[date]:
    if last < first:
        raise CommandError(f"--until {last} is before --since {first}")
    if (last - first).days >= MAX_DAYS:
        raise CommandError(f"at most {MAX_DAYS} days at a time")
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


class Command(BaseCommand):
    help = "Ingest papers from Hugging Face, arXiv (API or RSS) or a local file."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="source", required=True, parser_class=CommandParser)

        p_hf = sub.add_parser("hf", help="Hugging Face daily papers")
        when = p_hf.add_mutually_exclusive_group()
        when.add_argument("--date", type=_date, help="one day (default: today, UTC)")
        when.add_argument("--since", type=_date, help="first day of a range")
        p_hf.add_argument("--until", type=_date, help="last day of a range (default: today)")

        p_ax = sub.add_parser("arxiv", help="the arXiv API, by category and date, or by id")
        p_ax.add_argument("--category", action="append", default=[], help="e.g. cs.AI")
        which = p_ax.add_mutually_exclusive_group(required=True)
        which.add_argument("--date", type=_date, help="papers submitted that day")
        which.add_argument("--days", type=_days, help="papers submitted in the last N days")
        which.add_argument("--id", action="append", dest="ids", help="an arXiv id")

        p_rss = sub.add_parser("arxiv-rss", help="today's arXiv RSS announcements")
        p_rss.add_argument("--category", action="append", required=True, help="e.g. cs.AI")

        p_file = sub.add_parser("file", help="a local HF JSON, arXiv Atom or RSS file")
        p_file.add_argument("path", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        source = options["source"]
        if source == "hf":
            run = papers_ingest_hf(days=self._hf_days(options))
        elif source == "arxiv" and options["ids"]:
            run = papers_ingest_arxiv_ids(ids=options["ids"])
        elif source == "arxiv":
            since, until = self._arxiv_window(options)
            run = papers_ingest_arxiv_categories(
                categories=options["category"], since=since, until=until
            )
        elif source == "arxiv-rss":
            run = papers_ingest_arxiv_rss(categories=options["category"])
        else:
            run = papers_ingest_file(path=options["path"])
        if run.status != run.Status.SUCCEEDED:
            raise CommandError(run.error or "ingestion failed")
        self.stdout.write(run.summary)
        if run.rejected and options["verbosity"] > 1:
            for rejection in run.rejections:
                self.stderr.write(f"rejected {rejection['ref']}: {rejection['reason']}")

    def _hf_days(self, options: dict[str, Any]) -> list[date]:
        today = timezone.now().date()
        if options["since"]:
            return _range(options["since"], options["until"] or today)
        if options["until"]:
            raise CommandError("--until goes with --since")
        return [options["date"] or today]

    def _arxiv_window(self, options: dict[str, Any]) -> tuple[date, date]:
        if not options["category"]:
            raise CommandError("--category is required with --date or --days")
        if options["date"]:
            return options["date"], options["date"]
        return arxiv.days_window(options["days"], timezone.now().date())
