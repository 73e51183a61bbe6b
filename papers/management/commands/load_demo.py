"""`manage.py load_demo`: ingest the bundled demo papers (safe to run on every start)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from papers.services.ingestion import papers_ingest
from papers.sources import files


class Command(BaseCommand):
    help = "Load the bundled demo papers (the 30 Hugging Face daily papers of 2026-06-12)."

    def handle(self, *args: Any, **options: Any) -> None:
        path = settings.DEMO_DATA_FILE
        run = papers_ingest(
            source="file", parameters={"path": str(path)}, fetch=lambda: files.read_file(path)
        )
        if run.status != run.Status.SUCCEEDED:
            raise CommandError(run.error)
        self.stdout.write(f"demo data: {run.summary}")
