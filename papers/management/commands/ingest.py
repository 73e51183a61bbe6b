"""`manage.py ingest hf|arxiv|arxiv-rss|oai|file ...`: fetch papers and upsert them."""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from papers.models import Harvest
from papers.services.ingestion import (
    HarvestBusy,
    UpsertResult,
    papers_harvest_oai,
    papers_ingest_arxiv_categories,
    papers_ingest_arxiv_ids,
    papers_ingest_arxiv_rss,
    papers_ingest_file,
    papers_ingest_hf,
)
from papers.sources import arxiv, oai

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
    help = "Ingest papers from Hugging Face, arXiv (API, RSS or OAI-PMH) or a local file."

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

        p_oai = sub.add_parser(
            "oai", help="all of arXiv over OAI-PMH, by datestamp; resumes where it stopped"
        )
        p_oai.add_argument("--from", dest="since", type=_date, help="first datestamp")
        p_oai.add_argument("--until", type=_date, help="last datestamp (default: no limit)")
        p_oai.add_argument("--format", choices=oai.FORMATS, default=None, dest="metadata_prefix")
        p_oai.add_argument("--set", default="", dest="set_spec", help="e.g. cs (default: all)")

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
        elif source == "oai":
            run = self._harvest(options)
        else:
            run = papers_ingest_file(path=options["path"])
        if run.status != run.Status.SUCCEEDED:
            raise CommandError(run.error or "ingestion failed")
        self.stdout.write(run.summary)
        if run.rejected and options["verbosity"] > 1:
            for rejection in run.rejections:
                self.stderr.write(f"rejected {rejection['ref']}: {rejection['reason']}")

    def _harvest(self, options: dict[str, Any]) -> Any:
        since, until = options["since"], options["until"]
        if since and until and until < since:
            raise CommandError(f"--until {until} is before --from {since}")

        def progress(harvest: Harvest, page: UpsertResult) -> None:
            of = f" of {harvest.complete_size:,}" if harvest.complete_size else ""
            self.stdout.write(
                f"page {harvest.pages}: {harvest.records:,} records{of}; this page created "
                f"{page.created}, updated {page.updated}, unchanged {page.unchanged}, "
                f"rejected {len(page.rejected)}"
            )

        try:
            run = papers_harvest_oai(
                since=since,
                until=until,
                metadata_prefix=options["metadata_prefix"] or settings.ARXIV_OAI_FORMAT,
                set_spec=options["set_spec"].strip(),
                progress=progress,
            )
        except HarvestBusy as exc:
            raise CommandError(str(exc)) from None
        if run.status != run.Status.SUCCEEDED:
            raise CommandError(f"{run.error}; run the same command again to resume")
        return run

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
