"""`manage.py send_digests --frequency daily|weekly [--period ...] [--dry-run]`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from digests.models import Frequency
from digests.periods import digest_period
from digests.services.sending import digests_send_due


class Command(BaseCommand):
    help = (
        "Send the daily or weekly digest to every active subscriber who has not had it. "
        "Safe to run again: nobody gets a second copy. The same service as the scheduled task."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--frequency", required=True, choices=Frequency.values)
        parser.add_argument(
            "--period",
            help="daily: the listing day, a weekday (2026-06-12); weekly: the ISO week "
            "(2026-W24). Default: the one due today (UTC).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="count who would get mail; send nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        frequency = options["frequency"]
        period = None
        if options["period"]:
            try:
                period = digest_period(frequency, options["period"])
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        report = digests_send_due(frequency=frequency, period=period, dry_run=options["dry_run"])
        if report is None:
            self.stdout.write("No daily digest is due on a Saturday or Sunday.")
            return
        self.stdout.write(report.summary())
