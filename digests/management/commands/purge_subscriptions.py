"""`manage.py purge_subscriptions [--dry-run]`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from digests.services.subscriptions import subscriptions_purge_unconfirmed


class Command(BaseCommand):
    help = (
        "Delete the digest subscriptions nobody confirmed within "
        "DIGEST_UNCONFIRMED_PURGE_DAYS of asking. The same service as the scheduled task."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count them; delete nothing")

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        count = subscriptions_purge_unconfirmed(dry_run=dry_run)
        days = settings.DIGEST_UNCONFIRMED_PURGE_DAYS
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(f"{verb} {count} subscriptions unconfirmed after {days} days")
