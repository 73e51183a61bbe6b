"""`manage.py embed_papers`: give every paper its vector (papers/embeddings.py)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from papers.embeddings import MODEL_NAME, embed_stale
from papers.progress import progress_lines


class Command(BaseCommand):
    help = (
        "Embed every paper that has no vector by the current model, or whose title or "
        "abstract changed since. Resumable: a stopped run leaves what it wrote done."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        progress = progress_lines(self.stdout.write, "papers", of="of at most")
        written = embed_stale(progress=progress)
        elapsed = time.monotonic() - started
        self.stdout.write(f"{written:,} papers embedded with {MODEL_NAME} in {elapsed:.1f} s")
