"""`manage.py export`: the whole site in one archive (operations/backup.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from operations import backup


class Command(BaseCommand):
    help = (
        "Write papers, members, votes, comments, collections, subscriptions and their state "
        "to one archive that `manage.py import` restores into an empty instance (SQLite or "
        "PostgreSQL). Password hashes and tokens stay out unless --with-secrets."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path, help="the file to write, e.g. site.zip")
        parser.add_argument(
            "--with-secrets",
            action="store_true",
            help="include password hashes, API tokens, second factors and OAuth tokens",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        shown = [0.0]

        def progress(label: str, rows: int) -> None:
            if time.monotonic() - shown[0] >= 2:
                shown[0] = time.monotonic()
                self.stdout.write(f"{label}: {rows:,} rows")

        counts = backup.export(
            options["archive"], with_secrets=options["with_secrets"], progress=progress
        )
        for label, rows in counts.items():
            self.stdout.write(f"{label}: {rows:,} rows")
        elapsed = time.monotonic() - started
        secrets = "with" if options["with_secrets"] else "without"
        self.stdout.write(
            f"{sum(counts.values()):,} rows of {len(counts)} models, {secrets} secrets, in "
            f"{options['archive']} ({elapsed:.1f} s)"
        )
