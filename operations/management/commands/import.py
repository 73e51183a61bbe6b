"""`manage.py import`: restore an archive of `manage.py export` (operations/backup.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from operations import backup


class Command(BaseCommand):
    help = (
        "Restore an archive written by `manage.py export` into this instance, which must be "
        "migrated and empty. All or nothing: a refused or failed import writes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path, help="the archive to restore")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()

        def progress(label: str, rows: int) -> None:
            self.stdout.write(f"{label}: {rows:,} rows")

        try:
            counts = backup.restore(options["archive"], progress=progress)
        except backup.RestoreRefused as refused:
            raise CommandError(refused.message) from refused
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"{sum(counts.values()):,} rows of {len(counts)} models restored in {elapsed:.1f} s"
        )
